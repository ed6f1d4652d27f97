"""Answers of a remote store as pyoxigraph terms, so that nothing above the store
interface can tell this backend from the embedded one.

JSON results are read here rather than by ``pyoxigraph.parse_query_results``: that
parser refuses Virtuoso's blank node labels (``nodeID://b123``: "Invalid bnode value")
and keeps its booleans as ``"1"^^xsd:boolean``, which is not the term Oxigraph gives
(``"true"``). Graphs (N-Triples, Turtle) are parsed by pyoxigraph.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple

from ...release.on_store import XSD
from ..base import SelectResult, StoreUnavailable, Term
from .http import Response

JSON_RESULTS = "application/sparql-results+json"
NTRIPLES = "application/n-triples"

_BNODE_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _bnode(value: str) -> BlankNode:
    # Virtuoso labels blank nodes nodeID://b123 in JSON and _:b123 in N-Triples.
    if value.startswith("nodeID://"):
        value = value[len("nodeID://") :]
    elif value.startswith("_:"):
        value = value[2:]
    return BlankNode(_BNODE_UNSAFE.sub("_", value) or "b")


def term_from_json(data: Mapping[str, Any]) -> Term:
    """One SPARQL JSON results term (including the older ``typed-literal``) as pyoxigraph's."""
    kind, value = data.get("type"), data.get("value")
    if not isinstance(value, str):
        raise ValueError(f"a result term without a value: {data!r}")
    if kind == "uri":
        return NamedNode(value)
    if kind == "bnode":
        return _bnode(value)
    if kind in ("literal", "typed-literal"):
        lang = data.get("xml:lang")
        if lang:
            return Literal(value, language=str(lang))
        datatype = data.get("datatype")
        if datatype:
            if datatype == XSD + "boolean" and value in ("1", "0"):  # Virtuoso's booleans
                value = "true" if value == "1" else "false"
            if datatype == XSD + "string":
                return Literal(value)  # the same term; built the way Oxigraph builds it
            return Literal(value, datatype=NamedNode(str(datatype)))
        return Literal(value)
    raise ValueError(f"unknown result term type {kind!r}")


def parse_json_results(body: bytes) -> SelectResult | bool:
    """SPARQL 1.1 Query Results JSON: a SelectResult, or a bool for ASK."""
    data = json.loads(body.decode("utf-8"))
    if "boolean" in data:
        return bool(data["boolean"])
    names = [str(v) for v in data.get("head", {}).get("vars", [])]
    rows = []
    for binding in data.get("results", {}).get("bindings", []):
        rows.append({name: term_from_json(term) for name, term in binding.items()})
    return SelectResult(names, rows)


def parse_graph(body: bytes, media_type: str) -> list[Triple]:
    fmt = RdfFormat.from_media_type(media_type) or RdfFormat.N_TRIPLES
    return [quad.triple for quad in pyoxigraph.parse(body, format=fmt)]


def results_of(response: Response) -> SelectResult | bool:
    try:
        return parse_json_results(response.body)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreUnavailable(f"the store's answer is not SPARQL JSON results ({exc})",
                               retry_after=5) from exc


def triples_of(response: Response) -> list[Triple]:
    media = NTRIPLES if response.media_type == "text/plain" else response.media_type
    try:
        return parse_graph(response.body, media)
    except (ValueError, SyntaxError) as exc:
        raise StoreUnavailable(f"the store's answer is not {media} ({exc})",
                               retry_after=5) from exc
