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
from collections.abc import Iterable

from pyoxigraph import NamedNode, Triple

from . import vocab as v

#: The URI spaces of the datasets we link to (void.LINK_TARGETS); VoID describes one
#: linkset per space and link predicate.
LINK_SPACES = (v.WIKIDATA, v.GEONAMES, v.SDG)


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

    def add(self, triples: Iterable[Triple]) -> None:
        """Count ``triples``, whose subjects are in no other part."""
        seen: set[tuple[str, str, str]] = set()
        subjects: set[str] = set()
        typed: set[str] = set()
        for t in triples:
            s, p, o = t.subject, t.predicate.value, t.object
            subject = s.value if isinstance(s, NamedNode) else f"_:{s.value}"
            o_text = str(o)
            if (subject, p, o_text) in seen:
                continue
            seen.add((subject, p, o_text))
            subjects.add(subject)
            self.triples += 1
            self.properties[p] += 1
            self.objects.add(hashlib.blake2b(o_text.encode(), digest_size=16).digest())
            if not isinstance(o, NamedNode):
                continue
            if p == v.RDF_TYPE:
                typed.add(subject)
                self.classes[o.value] += 1
                first = self.first.get(o.value)
                if isinstance(s, NamedNode) and (first is None or subject < first):
                    self.first[o.value] = subject
                continue
            for space in LINK_SPACES:
                if o.value.startswith(space):
                    self.links[(p, space)] += 1
        self.subjects |= subjects
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
