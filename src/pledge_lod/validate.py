"""SHACL validation of the mapped data, reported as ``FILE: record: field: message``.

pyshacl works on rdflib graphs, which are slow to build and validate at a million
pledges. So the data is validated in chunks: each chunk holds a slice of the pledges plus
the small "context" every pledge's constraints look at (the registries' types and
schemes, the SDG KOS's goal and target types), and pyshacl is asked only about that
chunk's pledges (``focus_nodes``). Shape evaluation of a focus node only reads the node's
own triples and the types of what it links to, so the union of the chunk reports equals
one whole-graph run; ``tests/test_validate.py`` checks that on data with violations.
Chunks run in parallel processes.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import rdflib
from pyoxigraph import RdfFormat, Triple, serialize
from pyshacl import validate as shacl_validate
from rdflib.namespace import RDF, SH

from . import vocab as v
from .records import Problem

ONTOLOGY_FILE = "pledge.ttl"
SHAPES_FILE = "shapes.ttl"

# The only predicates a pledge's constraints read on the nodes it links to.
_CONTEXT_PREDICATES = frozenset({v.RDF_TYPE, v.SKOS + "inScheme"})


@dataclass(frozen=True)
class Schema:
    """The ontology and shapes of one deployment, as Turtle text resolved against its base."""

    ontology_ttl: str
    shapes_ttl: str
    base: str
    source_digest: str  # of the files as written (the resolved text has random blank nodes)

    @classmethod
    def load(cls, ontology_dir: Path, shapes_dir: Path, iris: v.Iris) -> Schema:
        paths = (ontology_dir / ONTOLOGY_FILE, shapes_dir / SHAPES_FILE)
        ontology = _read_resolved(paths[0], iris.ontology)
        shapes = _read_resolved(paths[1], iris.shapes)
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()
        return cls(ontology, shapes, iris.base, digest)

    def digest(self) -> str:
        return self.source_digest


class SchemaError(Exception):
    """The ontology or the shapes themselves are broken."""


def _read_resolved(path: Path, base: str) -> str:
    """Parse a Turtle file with relative IRIs against ``base``; return absolute N-Triples."""
    try:
        graph = rdflib.Graph().parse(path, format="turtle", publicID=base)
    except FileNotFoundError as exc:
        raise SchemaError(f"{path}: file is missing") from exc
    except Exception as exc:  # rdflib raises many parser exception types
        raise SchemaError(f"{path}: not valid Turtle: {exc}") from exc
    # Sorted: rdflib's output order follows Python's randomised string hashing.
    lines = sorted(line for line in graph.serialize(format="nt").splitlines() if line.strip())
    return "\n".join(lines) + "\n"


def schema_problems(schema: Schema, data_terms: Iterable[str], iris: v.Iris) -> list[Problem]:
    """Check the ontology and shapes together with the data: every term the data uses
    from the project namespace is defined with a label and a definition, and the shapes
    graph is itself valid SHACL."""
    problems: list[Problem] = []
    onto = rdflib.Graph().parse(data=schema.ontology_ttl, format="nt")
    label, definition = rdflib.RDFS.label, rdflib.URIRef(v.SKOS + "definition")
    for term in sorted(set(data_terms)):
        node = rdflib.URIRef(term)
        if (node, None, None) not in onto:
            problems.append(
                Problem(
                    "ontology/pledge.ttl",
                    term,
                    "-",
                    "the data uses this term but the ontology does not define it",
                )
            )
            continue
        for prop, name in ((label, "rdfs:label"), (definition, "skos:definition")):
            if (node, prop, None) not in onto:
                problems.append(Problem("ontology/pledge.ttl", term, name, "is missing"))
    shapes = rdflib.Graph().parse(data=schema.shapes_ttl, format="nt")
    meta_ok, _, meta_text = shacl_validate(
        rdflib.Graph(), shacl_graph=shapes, meta_shacl=True, advanced=True, inference="none"
    )
    if not meta_ok:  # pragma: no cover - only with broken shapes
        problems.append(
            Problem("shapes/shapes.ttl", "-", "-", f"not valid SHACL: {meta_text[:500]}")
        )
    return problems


@dataclass
class Context:
    """What every chunk needs besides its own pledges: N-Triples text."""

    ntriples: str
    located: dict[str, tuple[str, str]] = field(default_factory=dict)


def context_triples(registry_triples: Sequence[Triple], kos_types: Sequence[Triple]) -> str:
    keep = [t for t in registry_triples if t.predicate.value in _CONTEXT_PREDICATES]
    return serialize([*keep, *kos_types], format=RdfFormat.N_TRIPLES).decode()


@dataclass(frozen=True)
class ChunkResult:
    problems: list[tuple[str, str, str, str]]  # focus node, field, message, severity
    conforms: bool


def _validate_chunk(
    shapes_nt: str,
    context_nt: str,
    chunk_nt: str,
    focus: list[str] | None,
    field_of: dict[str, str],
) -> ChunkResult:
    """Run pyshacl on one chunk. Top-level so that worker processes can run it."""
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)  # ill-typed literals are reported
    data = rdflib.Graph()
    data.parse(data=context_nt, format="nt")
    data.parse(data=chunk_nt, format="nt")
    shapes = rdflib.Graph().parse(data=shapes_nt, format="nt")
    conforms, report, _ = shacl_validate(
        data,
        shacl_graph=shapes,
        inference="none",
        advanced=True,
        allow_warnings=True,
        focus_nodes=[rdflib.URIRef(f) for f in focus] if focus else None,
    )
    found: list[tuple[str, str, str, str]] = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus_node = str(report.value(result, SH.focusNode))
        path = report.value(result, SH.resultPath)
        shape = report.value(result, SH.sourceShape)
        name = shapes.value(shape, SH.name) if shape is not None else None
        fld = str(name) if name is not None else field_of.get(str(path), _short(path))
        message = report.value(result, SH.resultMessage)
        value = report.value(result, SH.value)
        text = str(message) if message is not None else "does not conform"
        if value is not None and str(value) not in text:
            text += f" (found {_show(value)})"
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1].lower()
        found.append((focus_node, fld, text, "error" if severity == "violation" else severity))
    return ChunkResult(sorted(set(found)), bool(conforms))


def _short(path: object) -> str:
    if path is None:
        return "-"
    text = str(path)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _show(value: object, limit: int = 60) -> str:
    """A value as a steward would recognise it: short text, or the id of a linked record."""
    text = str(value)
    if isinstance(value, rdflib.Literal):
        short = text if len(text) <= limit else text[: limit - 1] + "…"
        return f'"{short}"' + (f"@{value.language}" if value.language else "")
    return text.rsplit("/id/", 1)[-1] if "/id/" in text else f"<{text}>"


class Validator:
    """Validates the registries and streamed pledge chunks; collects located problems."""

    def __init__(
        self,
        schema: Schema,
        iris: v.Iris,
        located: dict[str, tuple[str, str]],
        field_of: dict[str, str],
        jobs: int = 0,
    ):
        self.schema = schema
        self.iris = iris
        self.located = located
        self.field_of = field_of
        self.jobs = jobs or os.cpu_count() or 1
        self.problems: list[Problem] = []
        self.conforms = True
        self.checked = 0

    def locate(self, node: str) -> tuple[str, str]:
        prefix = self.iris.base + "/id/"
        if node.startswith(prefix):
            key = node[len(prefix) :]
            if key in self.located:
                return self.located[key]
            return ("?", key)
        return ("?", node)

    def _collect(self, result: ChunkResult) -> None:
        self.conforms = self.conforms and result.conforms
        for node, fld, message, severity in result.problems:
            file, record = self.locate(node)
            self.problems.append(Problem(file, record, fld, message, severity))

    def validate_registries(self, registry_nt: str, kos_nt: str) -> None:
        """Every registry entry, with everything (registries are small)."""
        self._collect(
            _validate_chunk(self.schema.shapes_ttl, kos_nt, registry_nt, None, self.field_of)
        )

    def validate_chunks(self, context_nt: str, chunks: Iterator[tuple[str, list[str]]]) -> None:
        """Each chunk is (N-Triples, focus node IRIs). Runs in parallel where it helps."""
        shapes = self.schema.shapes_ttl
        if self.jobs == 1:
            for nt, focus in chunks:
                self._collect(_validate_chunk(shapes, context_nt, nt, focus, self.field_of))
                self.checked += len(focus)
            return
        with ProcessPoolExecutor(max_workers=self.jobs) as pool:
            pending = []
            for nt, focus in chunks:
                pending.append(
                    (
                        len(focus),
                        pool.submit(_validate_chunk, shapes, context_nt, nt, focus, self.field_of),
                    )
                )
                if len(pending) >= self.jobs * 2:  # bound memory: a few chunks in flight
                    n, fut = pending.pop(0)
                    self._collect(fut.result())
                    self.checked += n
            for n, fut in pending:
                self._collect(fut.result())
                self.checked += n

    def report_turtle(self) -> str:
        """The SHACL validation report of the whole release, as Turtle."""
        g = rdflib.Graph()
        g.bind("sh", SH)
        report = rdflib.URIRef(f"{self.iris.base}/.well-known/void#shacl-report")
        g.add((report, RDF.type, SH.ValidationReport))
        g.add((report, SH.conforms, rdflib.Literal(self.conforms)))
        for n, p in enumerate(sorted(self.problems, key=str)):
            r = rdflib.URIRef(f"{report}-{n}")
            g.add((report, SH.result, r))
            g.add((r, RDF.type, SH.ValidationResult))
            g.add((r, SH.resultMessage, rdflib.Literal(str(p))))
        return g.serialize(format="turtle")
