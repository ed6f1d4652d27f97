"""The pages of the vocabulary (``/def/pledge``) and of the SHACL shapes (``/def/shapes``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Triple

from ...rdf import vocab as v
from ..labels import labels_of, local_name
from ..site import ReleaseData
from .common import Linker, LinkView, Triples, curie, term_link

#: How the kinds of term read.
_TERM_KINDS = {
    v.OWL + "Class": "Class",
    v.OWL + "ObjectProperty": "Object property",
    v.OWL + "DatatypeProperty": "Datatype property",
    v.RDF + "Property": "Property",
    v.OWL + "AnnotationProperty": "Annotation property",
}
#: A term's facts that link to other terms, in the order shown.
_TERM_FACTS = (
    ("Domain", v.RDFS + "domain"),
    ("Range", v.RDFS + "range"),
    ("Subclass of", v.RDFS + "subClassOf"),
    ("Subproperty of", v.RDFS + "subPropertyOf"),
    ("Equivalent to", v.OWL + "equivalentProperty"),
    ("Inverse of", v.OWL + "inverseOf"),
)
_ONTOLOGY_META = (
    ("title", v.DCTERMS + "title"),
    ("description", v.DCTERMS + "description"),
    ("comment", v.RDFS + "comment"),
    ("version", v.OWL + "versionInfo"),
    ("license", v.DCTERMS + "license"),
)


@dataclass
class TermView:
    anchor: str
    iri: str
    label: str
    kind: str
    definition: str | None
    facts: list[tuple[str, list[LinkView]]]


def ontology_view(
    triples: Sequence[Triple], rd: ReleaseData, root: str, term_labels: Mapping[str, str]
) -> tuple[dict[str, str], list[TermView]]:
    """The ontology's own metadata and one entry per term it defines."""
    idx = Triples(triples)
    labels = labels_of(triples)
    linker = Linker(rd, labels, root, term_labels)
    onto = rd.iris.ontology
    meta: dict[str, str] = {}
    for key, pred in _ONTOLOGY_META:
        vals = idx.objects(onto, pred)
        if vals:
            meta[key] = vals[0].value  # type: ignore[attr-defined]
    defined = sorted(
        {
            t.subject.value
            for t in triples
            if t.predicate.value == v.RDFS + "isDefinedBy" and t.object.value == onto
        }
    )
    terms = [_term_view(iri, idx, labels.get(iri), linker) for iri in defined]
    terms.sort(key=lambda term: (0 if "Class" in term.kind else 1, term.anchor.lower()))
    return meta, terms


def _term_view(iri: str, idx: Triples, label: Literal | None, linker: Linker) -> TermView:
    types = [_TERM_KINDS.get(o.value, local_name(o.value)) for o in idx.objects(iri, v.RDF_TYPE)]  # type: ignore[attr-defined]
    definition = idx.objects(iri, v.SKOS + "definition") or idx.objects(iri, v.RDFS + "comment")
    facts = []
    for name, pred in _TERM_FACTS:
        objs = [o for o in idx.objects(iri, pred) if isinstance(o, NamedNode)]
        if objs:
            facts.append((name, [term_link(o.value, linker) for o in objs]))
    return TermView(
        local_name(iri),
        iri,
        label.value if label is not None else local_name(iri),
        ", ".join(sorted(types)) or "Term",
        definition[0].value if definition else None,  # type: ignore[attr-defined]
        facts,
    )


def graph_meta(triples: Sequence[Triple], subject: str) -> dict[str, str]:
    """Label and comment of a graph's own description (the shapes graph's ``<>``)."""
    idx = Triples(triples)
    out: dict[str, str] = {}
    for key, pred in (("label", v.RDFS_LABEL), ("comment", v.RDFS + "comment")):
        vals = idx.objects(subject, pred)
        if vals:
            out[key] = vals[0].value  # type: ignore[attr-defined]
    return out


# -- shapes ----------------------------------------------------------------------------------


@dataclass
class ShapePropView:
    anchor: str
    name: str
    path: str
    constraints: list[str]
    message: str | None
    severity: str


@dataclass
class ShapeView:
    anchor: str
    label: str
    targets: list[LinkView]
    message: str | None
    properties: list[ShapePropView]


_CONSTRAINTS = (
    "minCount",
    "maxCount",
    "datatype",
    "class",
    "nodeKind",
    "pattern",
    "minLength",
    "maxLength",
    "minInclusive",
    "maxInclusive",
    "hasValue",
    "in",
    "node",
    "lessThan",
    "lessThanOrEquals",
    "uniqueLang",
    "languageIn",
    "or",
)
#: Constraints whose value is an RDF list.
_LIST_CONSTRAINTS = ("in", "languageIn", "or")


def _rdf_list(idx: Triples, head: object, limit: int = 200) -> list[object]:
    out: list[object] = []
    node = head
    for _ in range(limit):
        if isinstance(node, NamedNode) and node.value == v.RDF + "nil":
            break
        firsts = idx.objects(getattr(node, "value", ""), v.RDF + "first")
        if not firsts:
            break
        out.append(firsts[0])
        rests = idx.objects(getattr(node, "value", ""), v.RDF + "rest")
        if not rests:
            break
        node = rests[0]
    return out


def _show(term: object, vocab: str | None = None) -> str:
    if isinstance(term, NamedNode):
        return curie(term.value, vocab)
    if isinstance(term, Literal):
        return term.value
    return "…"


def shapes_view(
    triples: Sequence[Triple], rd: ReleaseData, root: str, term_labels: Mapping[str, str]
) -> list[ShapeView]:
    """Node shapes with their target classes and the rules (and messages) of their
    property shapes and SPARQL constraints."""
    idx = Triples(triples)
    sh = v.SH
    labels = labels_of(triples)
    linker = Linker(rd, labels, root, term_labels)
    node_shapes = sorted(
        {
            t.subject.value
            for t in triples
            if t.predicate.value == v.RDF_TYPE and t.object.value == sh + "NodeShape"
        }
    )
    shapes = []
    for iri in node_shapes:
        refs = [*idx.objects(iri, sh + "property"), *idx.objects(iri, sh + "sparql")]
        props = [_shape_prop_view(ref, idx, rd.iris.vocab) for ref in refs]
        label = labels.get(iri)
        targets = [
            term_link(o.value, linker)
            for o in idx.objects(iri, sh + "targetClass")
            if isinstance(o, NamedNode)
        ]
        messages = idx.objects(iri, sh + "message")
        shapes.append(
            ShapeView(
                local_name(iri),
                label.value if label is not None else local_name(iri),
                targets,
                messages[0].value if messages else None,  # type: ignore[attr-defined]
                props,
            )
        )
    return shapes


def _shape_prop_view(ref: object, idx: Triples, vocab: str) -> ShapePropView:
    """A property shape or SPARQL constraint: its name, path, rules and message."""
    sh = v.SH
    rid = getattr(ref, "value", "")
    names = idx.objects(rid, sh + "name")
    paths = idx.objects(rid, sh + "path")
    messages = idx.objects(rid, sh + "message")
    severity = idx.objects(rid, sh + "severity")
    cons = []
    for c in _CONSTRAINTS:
        for o in idx.objects(rid, sh + c):
            if c in _LIST_CONSTRAINTS:
                shown = ", ".join(_show(x, vocab) for x in _rdf_list(idx, o))
                cons.append(f"{c}: {shown}")
            else:
                cons.append(f"{c}: {_show(o, vocab)}")
    if idx.objects(rid, sh + "select"):
        cons.append("a SPARQL rule")
    named = isinstance(ref, NamedNode)
    return ShapePropView(
        anchor=local_name(rid) if named else "",
        name=names[0].value if names else (local_name(rid) if named else ""),  # type: ignore[attr-defined]
        path=_show(paths[0], vocab) if paths else "",
        constraints=cons,
        message=messages[0].value if messages else None,  # type: ignore[attr-defined]
        severity=local_name(severity[0].value) if severity else "Violation",  # type: ignore[attr-defined]
    )
