"""Results as rows of cells: for the query page's table and the command line's.

Input is what the worker produced: SPARQL 1.1 Query Results JSON for result sets,
N-Triples for graphs. IRIs become links only when they are web IRIs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, parse

#: Rows shown in the page; the downloads have everything.
MAX_ROWS = 1000


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None
    note: str | None = None  # datatype or language of a literal


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell | None]]
    total: int
    boolean: bool | None = None
    downloads: list[dict[str, str]] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


XSD = "http://www.w3.org/2001/XMLSchema#"


def _short(datatype: str | None) -> str | None:
    """xsd:integer rather than the full IRI; plain strings need no note."""
    if datatype is None or datatype == XSD + "string":
        return None
    return "xsd:" + datatype[len(XSD):] if datatype.startswith(XSD) else datatype


def _safe_href(iri: str) -> str | None:
    """Only web IRIs become links: a javascript: IRI in a result must not run on click."""
    return iri if iri.lower().startswith(("http://", "https://")) else None


def _json_cell(term: dict[str, Any] | None) -> Cell | None:
    if term is None:
        return None
    kind, value = term.get("type"), str(term.get("value", ""))
    if kind == "uri":
        return Cell(value, href=_safe_href(value))
    if kind == "bnode":
        return Cell(f"_:{value}")
    if kind == "triple":
        return Cell(json.dumps(value, ensure_ascii=False))
    lang = term.get("xml:lang")
    return Cell(value, note=f"@{lang}" if lang else _short(term.get("datatype")))


def table_from_json(body: bytes) -> Table:
    """A table from SPARQL 1.1 Query Results JSON."""
    data = json.loads(body)
    if "boolean" in data:
        return Table([], [], 0, boolean=bool(data["boolean"]))
    columns = list(data.get("head", {}).get("vars", []))
    bindings = data.get("results", {}).get("bindings", [])
    rows = [[_json_cell(b.get(c)) for c in columns] for b in bindings[:MAX_ROWS]]
    return Table(columns, rows, len(bindings))


def _term_cell(term: Any) -> Cell:
    if isinstance(term, NamedNode):
        return Cell(term.value, href=_safe_href(term.value))
    if isinstance(term, BlankNode):
        return Cell(f"_:{term.value}")
    if isinstance(term, Literal):
        note = f"@{term.language}" if term.language else _short(term.datatype.value)
        return Cell(term.value, note=note)
    return Cell(str(term))


def table_from_ntriples(body: bytes) -> Table:
    """A subject/predicate/object table from N-Triples."""
    triples = list(parse(body, format=RdfFormat.N_TRIPLES))
    rows: list[list[Cell | None]] = [
        [_term_cell(t.subject), _term_cell(t.predicate), _term_cell(t.object)]
        for t in triples[:MAX_ROWS]
    ]
    return Table(["subject", "predicate", "object"], rows, len(triples))


