"""Triples -> bytes in each RDF format.

Turtle, N-Triples and RDF/XML are written by pyoxigraph (fast, in Rust). JSON-LD is
compacted by rdflib against the published context (pyoxigraph writes JSON-LD but cannot
compact it to a given context), then the inline context is replaced by its URL, which
means the same since it is the same context. rdflib is thus on the JSON-LD path only, and
its output is cached like every other serialisation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import rdflib
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from ..http.formats import JSONLD, NTRIPLES, RDFXML, TURTLE, Format
from ..rdf import vocab as v
from .context import context_for

_OX_FORMATS = {
    TURTLE.key: RdfFormat.TURTLE,
    NTRIPLES.key: RdfFormat.N_TRIPLES,
    RDFXML.key: RdfFormat.RDF_XML,
}
_TYPE = v.RDF_TYPE


def ordered(triples: Iterable[Triple], first: str | None = None) -> list[Triple]:
    """Deterministic order, grouped by subject: the main subject first, rdf:type first
    within a subject. Serialisers group consecutive triples, so this is what makes the
    Turtle read like a description of one thing."""

    def key(t: Triple) -> tuple[int, str, int, str, str]:
        s = t.subject
        return (
            0 if first is not None and s.value == first else 1 if isinstance(s, NamedNode) else 2,
            s.value,
            0 if t.predicate.value == _TYPE else 1,
            t.predicate.value,
            str(t.object),
        )

    return sorted(set(triples), key=key)


def to_bytes(
    triples: Sequence[Triple], fmt: Format, base: str, context_url: str, first: str | None = None
) -> bytes:
    """Serialise already-ordered triples in ``fmt`` (``first``: the main subject)."""
    if fmt.key == JSONLD.key:
        return jsonld(triples, base, context_url, first)
    prefixes = _used_prefixes(triples, v.Iris(base).prefixes()) if fmt is not NTRIPLES else None
    return serialize(triples, format=_OX_FORMATS[fmt.key], prefixes=prefixes)


def _used_prefixes(triples: Sequence[Triple], prefixes: dict[str, str]) -> dict[str, str]:
    """Only the prefixes a document uses, so that every Turtle file is not 20 lines of
    @prefix before the data."""
    used: set[str] = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, NamedNode):
                used.add(term.value)
            elif isinstance(term, Literal) and term.datatype is not None:
                used.add(term.datatype.value)
    out = {}
    for name, ns in prefixes.items():
        if any(iri.startswith(ns) and _local_ok(iri[len(ns) :]) for iri in used):
            out[name] = ns
    return out


def _local_ok(local: str) -> bool:
    return bool(local) and all(c.isalnum() or c in "-_" for c in local)


def _to_rdflib(term: NamedNode | BlankNode | Literal) -> rdflib.term.Node:
    if isinstance(term, NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    dt = term.datatype.value if term.datatype is not None else None
    if dt == v.XSD + "string":
        dt = None
    # normalize=False: keep the lexical form exactly as published (no "2023" -> 2023).
    return rdflib.Literal(term.value, datatype=dt, normalize=False)


def jsonld(
    triples: Sequence[Triple], base: str, context_url: str, first: str | None = None
) -> bytes:
    """Compact JSON-LD with ``"@context": context_url``; in a ``@graph``, the node
    ``first`` comes first and the rest keep the triples' subject order."""
    graph = rdflib.Graph()
    for t in triples:
        graph.add((_to_rdflib(t.subject), _to_rdflib(t.predicate), _to_rdflib(t.object)))
    context = context_for(base)
    text = graph.serialize(format="json-ld", context=context, auto_compact=True)
    doc = json.loads(text)
    if isinstance(doc, dict):
        # "@context" first, then "id"/"@graph": easier to read.
        doc = {"@context": context_url, **{k: val for k, val in doc.items() if k != "@context"}}
        nodes = doc.get("@graph")
        if isinstance(nodes, list):
            order = {}
            for t in triples:
                order.setdefault(t.subject.value, len(order))
            if first is not None:
                order[first] = -1
            nodes.sort(key=lambda node: order.get(_node_id(node, context), len(order)))
    else:  # an empty graph serialises as a bare list
        doc = {"@context": context_url, "@graph": doc}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _node_id(node: object, context: dict[str, object]) -> str:
    """A @graph node's IRI, with a compact IRI ("pl:Pledge") expanded again."""
    value = node.get("id", node.get("@id", "")) if isinstance(node, dict) else ""
    if not isinstance(value, str):
        return ""
    prefix, colon, rest = value.partition(":")
    ns = context.get(prefix) if colon and not rest.startswith("//") else None
    return ns + rest if isinstance(ns, str) else value


def script_safe(json_bytes: bytes) -> str:
    """JSON text that can sit inside an HTML ``<script>`` element: every ``<``, ``>`` and
    ``&`` (which in JSON only occur inside strings) written as a \\u escape, so that no
    ``</script>`` or ``<!--`` in the data can end the element early."""
    text = json_bytes.decode("utf-8")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
