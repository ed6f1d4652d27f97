"""SHACL validation of a release's data, reported as ``FILE: record: field: message``.

The shapes are compiled to SPARQL (:mod:`.compiler`) and run on the Oxigraph store the
build has just loaded: fast enough for a million pledges, where pyshacl would take hours.
pyshacl remains the reference engine (``--engine pyshacl``) and checks that the shapes
graph is itself valid SHACL; a test holds the two engines to the same results.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
import pyshacl
import rdflib
from pyshacl import validate as shacl_validate
from rdflib.namespace import RDF, SH

from ..rdf import vocab as v
from ..records import Problem
from .compiler import Check, Violation, compile_shapes

ONTOLOGY_FILE = "pledge.ttl"
SHAPES_FILE = "shapes.ttl"


class SchemaError(Exception):
    """The ontology or the shapes themselves are broken."""


@dataclass(frozen=True)
class Schema:
    """The ontology and shapes of one deployment, as N-Triples resolved against its base."""

    ontology_nt: str
    shapes_nt: str
    base: str
    source_digest: str  # of the files as written (the resolved text has random blank nodes)

    @classmethod
    def load(cls, ontology_dir: Path, shapes_dir: Path, iris: v.Iris) -> Schema:
        paths = (ontology_dir / ONTOLOGY_FILE, shapes_dir / SHAPES_FILE)
        ontology = _read_resolved(paths[0], iris.ontology)
        shapes = _read_resolved(paths[1], iris.shapes)
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()
        return cls(ontology, shapes, iris.base, digest)

    def shapes_graph(self) -> rdflib.Graph:
        return rdflib.Graph().parse(data=self.shapes_nt, format="nt")


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


def term_problems(schema: Schema, data_terms: Iterable[str]) -> list[Problem]:
    """Every term the data uses from the project namespace is defined in the ontology
    with a label and a definition."""
    problems: list[Problem] = []
    onto = rdflib.Graph().parse(data=schema.ontology_nt, format="nt")
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
    return problems


def shapes_problems(schema: Schema) -> list[Problem]:
    """The shapes graph is itself valid SHACL (pyshacl against SHACL-SHACL). It depends
    on the shapes alone and costs seconds (tens of them on a busy machine), so a build
    keeps its answer by the shapes' digest (:data:`META_CHECK` names the checker)."""
    meta_ok, _, meta_text = shacl_validate(
        rdflib.Graph(), shacl_graph=schema.shapes_graph(), meta_shacl=True, inference="none"
    )
    if meta_ok:
        return []
    return [Problem("shapes/shapes.ttl", "-", "-", f"not valid SHACL: {meta_text[:500]}")]


#: What :func:`shapes_problems` answers with, besides the shapes: a key part for a cache.
META_CHECK = f"pyshacl-{pyshacl.__version__}"


def compiled_checks(
    store: pyoxigraph.Store, schema: Schema, graphs: list[str] | None = None
) -> list[Check]:
    """The shapes compiled to SPARQL checks for the data in ``store`` (class targets
    follow rdfs:subClassOf only when the data has any)."""
    scope = (
        {"default_graph": [pyoxigraph.NamedNode(g) for g in graphs]}
        if graphs
        else {"use_default_graph_as_union": True}
    )
    has_subclasses = store.query(
        "ASK { ?a <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?b }", **scope
    )
    return compile_shapes(schema.shapes_graph(), subclasses=bool(has_subclasses))


def pyshacl_violations(data_nt: str, schema: Schema) -> list[Violation]:
    """The reference engine: one whole-graph pyshacl run."""
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)  # ill-typed literals are reported
    data = rdflib.Graph().parse(data=data_nt, format="nt")
    shapes = schema.shapes_graph()
    _, report, _ = shacl_validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True
    )
    found = {}
    details = set(report.objects(None, SH.detail))  # nested results of sh:node, not ours
    for result in report.subjects(RDF.type, SH.ValidationResult):
        if result in details:
            continue
        shape = report.value(result, SH.sourceShape)
        constraint = report.value(result, SH.sourceConstraint)
        message = report.value(result, SH.resultMessage)
        name = shapes.value(shape, SH.name)
        value = report.value(result, SH.value)
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1].lower()
        focus = str(report.value(result, SH.focusNode))
        text = str(message) if message is not None else f"does not conform to {constraint}"
        ox_value = _to_oxigraph(value) if value is not None else None
        key = (focus, str(shape), text, str(ox_value))
        found[key] = Violation(
            focus,
            str(shape),
            str(name) if name else "-",
            text,
            "error" if severity == "violation" else severity,
            ox_value,
        )
    return [found[k] for k in sorted(found)]


def _to_oxigraph(node: rdflib.term.Node):
    if isinstance(node, rdflib.URIRef):
        return pyoxigraph.NamedNode(str(node))
    if isinstance(node, rdflib.BNode):
        return pyoxigraph.BlankNode(str(node))
    if node.language:
        return pyoxigraph.Literal(str(node), language=node.language)
    dt = node.datatype or rdflib.XSD.string
    return pyoxigraph.Literal(str(node), datatype=pyoxigraph.NamedNode(str(dt)))


def _show(value: object, limit: int = 60) -> str:
    """A value as a steward would recognise it: short text, or the id of a linked record."""
    if isinstance(value, pyoxigraph.Literal):
        text = value.value
        short = text if len(text) <= limit else text[: limit - 1] + "…"
        return f'"{short}"' + (f"@{value.language}" if value.language else "")
    text = getattr(value, "value", str(value))
    return text.rsplit("/id/", 1)[-1] if "/id/" in text else f"<{text}>"


def locate(
    violations: Iterable[Violation], located: dict[str, tuple[str, str]], iris: v.Iris
) -> list[Problem]:
    """Turn violations into problems a steward can act on: file, record, field."""
    prefix = iris.base + "/id/"
    problems = []
    for viol in violations:
        key = viol.focus[len(prefix) :] if viol.focus.startswith(prefix) else viol.focus
        file, record = located.get(key, ("?", key))
        text = viol.message
        if viol.value is not None and viol.focus != getattr(viol.value, "value", None):
            shown = _show(viol.value)
            if shown not in text:
                text += f" (found {shown})"
        problems.append(Problem(file, record, viol.field, text, viol.severity))
    return problems


def report_turtle(problems: list[Problem], iris: v.Iris) -> str:
    """The SHACL validation report of the release, as Turtle."""
    g = rdflib.Graph()
    g.bind("sh", SH)
    report = rdflib.URIRef(f"{iris.base}/.well-known/void#shacl-report")
    g.add((report, RDF.type, SH.ValidationReport))
    errors = [p for p in problems if p.severity == "error"]
    g.add((report, SH.conforms, rdflib.Literal(not errors)))
    for n, p in enumerate(sorted(problems, key=str)):
        r = rdflib.URIRef(f"{report}-{n}")
        g.add((report, SH.result, r))
        g.add((r, RDF.type, SH.ValidationResult))
        g.add((r, SH.resultMessage, rdflib.Literal(str(p))))
    return g.serialize(format="turtle")
