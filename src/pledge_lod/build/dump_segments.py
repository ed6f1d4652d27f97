"""The dumps of a release as segments, one per source, so that the next release copies
what did not change.

The data file is written source by source (the registries, then each pledge file: see
:class:`.changes.ChunkIndex`), and no subject's triples span two sources. Each source's
triples are therefore a piece of every dump on their own: a run of Turtle statements, a
run of JSON-LD node objects, a run of N-Quads lines, and, compressed on their own, a gzip
member (RFC 1952: a gzip file is a series of members, which every reader decompresses as
one stream). Every dump is written as a head, the sources' segments in data order, and a
tail; :class:`SegmentIndex` notes where each segment lies in each file
(``segments.json.gz`` in the release).

A rebuild after one edit then renders the changed sources only and copies every other
segment's bytes from the previous release's files: at a million pledges the dumps are
gigabytes of Turtle, JSON-LD and gzip that would take minutes to serialise and compress
again. A full build renders every source the same way, so the two give the same bytes
(``tests/test_incremental_release.py``). The index is reused only if everything a
segment's bytes depend on besides its source is the same (:func:`stamp`: this format,
the prefixes, the data graph's name, the serialiser's and the compressor's versions).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import isal
import pyoxigraph
from isal import igzip
from pyoxigraph import NamedNode, RdfFormat, Triple, parse, serialize

SEGMENTS_FILE = "segments.json.gz"
#: 1: per-source segments of the pledges dumps and of the dataset dumps' data graph.
SEGMENTS_VERSION = 1
#: The files made of segments (in the release's dumps folder) and what each holds.
NT_GZ, TTL, TTL_GZ, JSONLD, JSONLD_GZ = (
    "pledges.nt.gz",
    "pledges.ttl",
    "pledges.ttl.gz",
    "pledges.jsonld",
    "pledges.jsonld.gz",
)
NQ_GZ, TRIG_GZ = "dataset.nq.gz", "dataset.trig.gz"
FILES = (NT_GZ, TTL, TTL_GZ, JSONLD, JSONLD_GZ, NQ_GZ, TRIG_GZ)
#: The dataset dumps are finished by the build once VoID is written (more members).
COMPLETE = (NT_GZ, TTL, TTL_GZ, JSONLD, JSONLD_GZ)
#: A statement no prefix abbreviates: what is left of its Turtle is the prefixes' head.
_PROBE = Triple(NamedNode("urn:x-probe:s"), NamedNode("urn:x-probe:p"), NamedNode("urn:x-probe:o"))


def member(data: bytes) -> bytes:
    """One deterministic gzip member (no name, no timestamp).

    ISA-L's level 2 compresses N-Triples about twelve times faster than zlib's default
    level 6, for files about a fifth larger: at a million pledges, seconds instead of
    two minutes of CPU. Any gzip reader reads them."""
    return igzip.compress(data, compresslevel=2, mtime=0) if data else b""


def prefix_head(fmt: RdfFormat, prefixes: dict[str, str]) -> bytes:
    """The ``@prefix`` lines Oxigraph writes before the first statement in ``fmt``."""
    out = serialize([_PROBE], format=fmt, prefixes=prefixes)
    return out[: out.index(b"<urn:x-probe:s>")]


def stamp(prefixes: dict[str, str], data_graph: str) -> dict[str, str]:
    """What a segment's bytes depend on besides its source's N-Triples."""
    text = json.dumps(sorted(prefixes.items()))
    return {
        "format": str(SEGMENTS_VERSION),
        "prefixes": hashlib.sha256(text.encode()).hexdigest(),
        "data_graph": data_graph,
        "pyoxigraph": pyoxigraph.__version__,
        "isal": isal.__version__,
    }


@dataclass(frozen=True)
class Renderer:
    """Renders one source's N-Triples as its segment of every dump."""

    prefixes: dict[str, str]
    data_graph: str
    ttl_head: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ttl_head", prefix_head(RdfFormat.TURTLE, self.prefixes))

    def heads(self) -> dict[str, bytes]:
        """What each file starts with, before the first source's segment."""
        trig = prefix_head(RdfFormat.TRIG, self.prefixes) + f"<{self.data_graph}> {{\n".encode()
        return {TTL: self.ttl_head, TTL_GZ: member(self.ttl_head), JSONLD: b"[",
                JSONLD_GZ: member(b"["), TRIG_GZ: member(trig)}  # fmt: skip

    @staticmethod
    def tails() -> dict[str, bytes]:
        """What the pledges dumps end with (the dataset dumps: :func:`dataset_tails`)."""
        return {JSONLD: b"]", JSONLD_GZ: member(b"]")}

    def render(self, nt: bytes, first: bool) -> dict[str, bytes]:
        """The segments of one source's N-Triples (``first``: no separator before it)."""
        triples = list(parse(nt, format=RdfFormat.N_TRIPLES))
        ttl = serialize(triples, format=RdfFormat.TURTLE, prefixes=self.prefixes)
        if not ttl.startswith(self.ttl_head):  # pragma: no cover - Oxigraph changed
            raise RuntimeError("Turtle without the expected prefixes")
        ttl = ttl[len(self.ttl_head) :]
        nodes = serialize(triples, format=RdfFormat.JSON_LD)[1:-1]  # "[...]" -> "..."
        jsonld = nodes if first or not nodes else b"," + nodes
        # N-Triples lines end in " .\n" and no literal holds a raw line break.
        nq = nt.replace(b" .\n", f" <{self.data_graph}> .\n".encode())
        ttl_gz = member(ttl)
        return {NT_GZ: member(nt), TTL: ttl, TTL_GZ: ttl_gz, JSONLD: jsonld,
                JSONLD_GZ: member(jsonld), NQ_GZ: member(nq), TRIG_GZ: ttl_gz}  # fmt: skip


@dataclass
class SegmentIndex:
    """Where each source's segment lies in each dump file, and the source's digest."""

    stamp: dict[str, str]
    first: str | None = None  # the source without a separator before its JSON-LD
    digests: dict[str, str] = field(default_factory=dict)
    spans: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)  # file -> key
    sha256: dict[str, str] = field(default_factory=dict)  # of the files written whole
    copied: int = 0  # sources whose segments came from the previous release

    def save(self, release: Path) -> None:
        text = json.dumps(
            {"stamp": self.stamp, "first": self.first, "digests": self.digests,
             "spans": self.spans, "sha256": self.sha256, "copied": self.copied},
            sort_keys=True,
        ).encode()  # fmt: skip
        (release / SEGMENTS_FILE).write_bytes(gzip.compress(text, mtime=0))

    @classmethod
    def read(cls, release: Path, wanted: dict[str, str]) -> SegmentIndex | None:
        """A release's index if its segments were made as ``wanted`` says; else None."""
        try:
            with gzip.open(release / SEGMENTS_FILE, "rt", encoding="utf-8") as f:
                raw = json.load(f)
            if raw["stamp"] != wanted:
                return None
            spans = {name: {k: (int(v[0]), int(v[1])) for k, v in by_key.items()}
                     for name, by_key in raw["spans"].items()}  # fmt: skip
            return cls(raw["stamp"], raw["first"], dict(raw["digests"]), spans,
                       dict(raw["sha256"]), int(raw["copied"]))  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def reusable(self, key: str, digest: str, first: bool) -> bool:
        """Whether ``key``'s segments hold these bytes, with the same separator."""
        return (
            self.digests.get(key) == digest
            and (self.first == key) == first
            and all(key in self.spans.get(name, {}) for name in FILES)
        )
