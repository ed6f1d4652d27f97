"""The data graph's statistics, counted while its triples are mapped.

VoID publishes counts of the data graph (triples, distinct subjects and objects, classes,
properties, linksets) and the sitemap lists its documents. Asking the freshly loaded
store for them means GROUP BYs and DISTINCTs over every triple: more than two minutes at
a million pledges, on one core, after everything else. The mapping already holds every
triple, so each mapping worker counts the part it maps (one pledge file, or the
registries) and the build adds the parts up, which costs a few seconds spread over the
workers, and the counts of an unchanged file come from the build cache with its triples.

Parts add up because no two parts share a subject: every triple a pledge maps to has
the pledge as its subject, pledge ids are unique (a second use fails the build), and
the registries describe only their own entries. :meth:`GraphStats.merge` checks this.
Within a part, repeated triples count once, as in the store.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from ..rdf import vocab as v

#: The URI spaces of the datasets we link to (void.LINK_TARGETS); VoID describes one
#: linkset per space and link predicate.
LINK_SPACES = (v.WIKIDATA, v.GEONAMES, v.SDG)
_LINK_SPACES = tuple(b"<" + space.encode() for space in LINK_SPACES)
_RDF_TYPE = f"<{v.RDF_TYPE}>".encode()


def _name(term: bytes) -> str:
    """An IRI's text from its N-Triples form; a blank node stays ``_:label``."""
    return term[1:-1].decode() if term[:1] == b"<" else term.decode()


class GraphStats:
    """Counts of a set of triples, and of a union of such sets (:meth:`merge`)."""

    def __init__(self) -> None:
        self.triples = 0
        self.properties: Counter[str] = Counter()  # predicate -> triples
        self.classes: Counter[str] = Counter()  # class -> subjects typed with it
        self.first: dict[str, str] = {}  # class -> its smallest subject IRI
        self.typed = 0  # subjects with at least one type (VoID's entities)
        self.subjects: set[str] = set()  # IRIs, and blank nodes as _:label
        # Objects by a 128-bit digest of their N-Triples form: a million pledges have
        # millions of distinct literals, and only their number is published.
        self.objects: set[bytes] = set()
        self.links: Counter[tuple[str, str]] = Counter()  # (predicate, space) -> triples

    def add(self, nt: bytes) -> None:
        """Count the triples of ``nt``, whose subjects are in no other part.

        ``nt`` is Oxigraph's N-Triples: one triple a line, its terms separated by single
        spaces (no IRI or blank node holds one), so splitting a line twice yields the
        subject, the predicate and the object with " ." after it. Counting the lines is
        about twice as fast as walking the triples' Python objects."""
        lines = set(nt.split(b"\n"))
        lines.discard(b"")
        parts = [line.split(b" ", 2) for line in lines]
        self.triples += len(parts)
        # Terms repeat (a pledge's every line has its subject; thousands link one goal):
        # each distinct one is decoded or digested once.
        self.subjects.update(map(_name, set(map(itemgetter(0), parts))))
        for p, n in Counter(map(itemgetter(1), parts)).items():
            self.properties[_name(p)] += n
        digest = hashlib.blake2b
        distinct_objects = set(map(itemgetter(2), parts))
        self.objects.update(digest(o[:-2], digest_size=16).digest() for o in distinct_objects)
        typed: set[str] = set()
        for s, _, o in (part for part in parts if part[1] == _RDF_TYPE):
            if o[:1] != b"<":
                continue
            subject, cls = _name(s), o[1:-3].decode()
            typed.add(subject)
            self.classes[cls] += 1
            first = self.first.get(cls)
            if s[:1] == b"<" and (first is None or subject < first):
                self.first[cls] = subject
        for _, p, o in parts:
            if p != _RDF_TYPE and o.startswith(_LINK_SPACES):
                space = next(space for space in _LINK_SPACES if o.startswith(space))
                self.links[(_name(p), space[1:].decode())] += 1
        self.typed += len(typed)

    def merge(self, other: GraphStats) -> None:
        """Add the counts of a part whose subjects are in none of the parts so far."""
        before = len(self.subjects)
        self.subjects |= other.subjects
        if len(self.subjects) != before + len(other.subjects):
            raise ValueError("two parts of the data graph describe the same subject")
        self.triples += other.triples
        self.properties.update(other.properties)
        self.classes.update(other.classes)
        for cls, subject in other.first.items():
            if cls not in self.first or subject < self.first[cls]:
                self.first[cls] = subject
        self.typed += other.typed
        self.objects |= other.objects
        self.links.update(other.links)

    def documents(self, prefix: str) -> list[str]:
        """The subject IRIs under ``prefix`` (the things with a page), sorted."""
        return sorted(s for s in self.subjects if s.startswith(prefix))

    def counts(self) -> GraphCounts:
        """What is published of these statistics (the sets only by their size)."""
        return GraphCounts(
            self.triples, len(self.subjects), len(self.objects), self.typed,
            Counter(self.properties), Counter(self.classes), dict(self.first),
            Counter(self.links),
        )  # fmt: skip


@dataclass
class GraphCounts:
    """The data graph's counts as VoID and the manifest publish them: the sizes of
    :class:`GraphStats`' sets, not the sets. A release's counts are kept by the build
    (:mod:`.release_counts`), and the next release's are derived from them and its
    changes, where the sets would be a million IRIs and millions of digests to read."""

    triples: int
    subjects: int
    objects: int
    typed: int
    properties: Counter[str]
    classes: Counter[str]
    first: dict[str, str]
    links: Counter[tuple[str, str]]

    def to_json(self) -> dict[str, Any]:
        return {
            "triples": self.triples, "subjects": self.subjects, "objects": self.objects,
            "typed": self.typed, "properties": dict(self.properties),
            "classes": dict(self.classes), "first": self.first,
            "links": [[p, space, n] for (p, space), n in sorted(self.links.items())],
        }  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> GraphCounts:
        return cls(
            int(raw["triples"]), int(raw["subjects"]), int(raw["objects"]), int(raw["typed"]),
            Counter({str(k): int(n) for k, n in raw["properties"].items()}),
            Counter({str(k): int(n) for k, n in raw["classes"].items()}),
            {str(k): str(s) for k, s in raw["first"].items()},
            Counter({(str(p), str(space)): int(n) for p, space, n in raw["links"]}),
        )  # fmt: skip
