"""The SQLite FTS5 index measured against Tantivy (bench/search_engines.py): the first
implementation of the release's search index, kept here so the comparison in
bench/RESULTS.md can be run again."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

INDEX_FILE = "search.sqlite"
#: Ranking weights of the label, alternative label and text columns.
WEIGHTS = (10.0, 4.0, 1.0)
MAX_QUERY_CHARS = 500
MAX_TERMS = 16
LANGUAGES = ("en", "es", "fr")
#: The types a hit can have, which ``?type=`` filters by.
TYPES = (
    "pledge", "place", "agent", "programme", "theme", "kind", "gcm-objective",
    "goal", "target", "indicator",
)
#: Snippet highlight markers (private-use characters), replaced by the page's markup.
MARK_START, MARK_END = "\ue000", "\ue001"

_SCHEMA = """
CREATE VIRTUAL TABLE doc USING fts5(
    label, alt, text, iri UNINDEXED, type UNINDEXED, lang UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'
);
CREATE TABLE facet (doc INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE resource (iri TEXT NOT NULL, doc INTEGER NOT NULL);
"""
# Built after the rows are in: one sort instead of a B-tree insert per row. The FTS
# table's UNINDEXED columns cannot be looked up by value, hence ``resource``.
_INDEXES = """
CREATE INDEX facet_by_value ON facet (name, value, doc);
CREATE INDEX resource_by_iri ON resource (iri, doc);
"""
_BY_IRI = "rowid IN (SELECT doc FROM resource WHERE iri = ?)"
FACETS = ("goal", "place")
_PHRASE = re.compile(r'"([^"]*)"')


class QueryError(ValueError):
    """Search text that cannot be searched; the message says what to change."""


@dataclass(frozen=True)
class Row:
    """One resource in one language (``""``: literals without a language tag)."""

    iri: str
    type: str
    lang: str
    label: str
    alt: str = ""
    text: str = ""
    facets: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Hit:
    iri: str
    type: str
    lang: str
    label: str
    snippet: str
    score: float


@dataclass(frozen=True)
class Page:
    hits: list[Hit]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class Filters:
    type: str | None = None
    goal: str | None = None
    place: str | None = None
    lang: str | None = None


def write_index(path: Path, rows: Iterable[Row]) -> int:
    """Write the index file at ``path`` from ``rows``; returns how many rows it holds."""
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        count = 0
        with con:
            for row in rows:
                cur = con.execute(
                    "INSERT INTO doc (label, alt, text, iri, type, lang) VALUES (?,?,?,?,?,?)",
                    (row.label, row.alt, row.text, row.iri, row.type, row.lang),
                )
                con.execute("INSERT INTO resource VALUES (?,?)", (row.iri, cur.lastrowid))
                con.executemany(
                    "INSERT INTO facet VALUES (?,?,?)",
                    [(cur.lastrowid, name, value) for name, value in row.facets],
                )
                count += 1
        con.executescript(_INDEXES)
        con.execute("INSERT INTO doc(doc) VALUES ('optimize')")
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    return count


def match_expression(text: str, prefix_last: bool = False, any_word: bool = False) -> str:
    """An FTS5 MATCH expression for what a person typed: every word or ``"quoted
    phrase"`` becomes an FTS5 string (all must match, or with ``any_word`` any of them:
    reconciliation's fallback for a name with a typo); with ``prefix_last`` the last word
    also matches as a prefix, for autocomplete."""
    if "\x00" in text:
        raise QueryError("the search text contains a NUL character")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the search text is {len(text)} characters; at most {MAX_QUERY_CHARS}")
    terms: list[str] = []
    rest = _PHRASE.sub(lambda m: terms.append(m.group(1)) or " ", text)
    phrases = len(terms)
    terms.extend(rest.replace('"', " ").split())
    terms = [t for t in terms if any(ch.isalnum() for ch in t)]
    if not terms:
        raise QueryError("the search text has no words to look for (letters or digits)")
    if len(terms) > MAX_TERMS:
        raise QueryError(f"the search text has {len(terms)} words; at most {MAX_TERMS}")
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    if prefix_last and len(terms) > phrases:
        quoted[-1] += "*"
    return (" OR " if any_word else " ").join(quoted)


class SearchIndex:
    """A release's index, opened read-only (immutable: the release never changes)."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise FileNotFoundError(path)
        self.path = path
        self._local = threading.local()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
            con = sqlite3.connect(uri, uri=True, check_same_thread=False)
            self._local.con = con
        return con

    def search(
        self, text: str, filters: Filters, offset: int = 0, limit: int = 20, any_word: bool = False
    ) -> Page:
        """Hits for ``text`` best first, one per resource and language."""
        where, params = _where(match_expression(text, any_word=any_word), filters)
        con = self._con()
        total = con.execute(f"SELECT count(*) FROM doc WHERE {where}", params).fetchone()[0]
        w = ", ".join(str(x) for x in WEIGHTS)
        rows = con.execute(
            "SELECT iri, type, lang, label, "
            f"snippet(doc, -1, '{MARK_START}', '{MARK_END}', '…', 16), bm25(doc, {w}) "
            f"FROM doc WHERE {where} ORDER BY bm25(doc, {w}), rowid LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return Page([Hit(*r) for r in rows], total, offset, limit)

    def suggest(self, text: str, filters: Filters, limit: int = 10) -> list[Hit]:
        """Labels starting with what a person has typed so far, best first."""
        expr = "{label alt} : (" + match_expression(text, prefix_last=True) + ")"
        where, params = _where(expr, filters)
        w = ", ".join(str(x) for x in WEIGHTS)
        rows = self._con().execute(
            f"SELECT iri, type, lang, label, '', bm25(doc, {w}) FROM doc WHERE {where} "
            f"ORDER BY bm25(doc, {w}), rowid LIMIT ?",
            [*params, limit * 3],
        ).fetchall()
        seen: set[str] = set()
        hits = []
        for r in rows:  # one suggestion per resource, in its best-ranked language
            if r[0] not in seen and len(hits) < limit:
                seen.add(r[0])
                hits.append(Hit(*r))
        return hits

    def labels(self, iri: str) -> dict[str, str]:
        """The labels of one indexed resource by language."""
        rows = self._con().execute(f"SELECT lang, label FROM doc WHERE {_BY_IRI}", (iri,))
        return dict(rows.fetchall())

    def names(self, iri: str) -> list[str]:
        """Every label and alternative label of one resource, in every language."""
        out: list[str] = []
        rows = self._con().execute(f"SELECT label, alt FROM doc WHERE {_BY_IRI}", (iri,))
        for label, alt in rows:
            out += [label, *(a for a in alt.split(" | ") if a)]
        return list(dict.fromkeys(out))

    def facets(self, iri: str) -> set[tuple[str, str]]:
        """The facet values of one resource (its goals and places)."""
        rows = self._con().execute(
            "SELECT DISTINCT name, value FROM facet WHERE doc IN "
            "(SELECT doc FROM resource WHERE iri = ?)", (iri,)
        )
        return set(rows.fetchall())

    def entry(self, iri: str) -> Hit | None:
        """One resource's English (or untagged, or first) row, for previews."""
        row = self._con().execute(
            f"SELECT iri, type, lang, label, substr(text, 1, 300), 0 FROM doc WHERE {_BY_IRI} "
            "ORDER BY lang != 'en', lang != '', lang LIMIT 1", (iri,)
        ).fetchone()
        return Hit(*row) if row else None


def _where(expr: str, filters: Filters) -> tuple[str, list[object]]:
    clauses, params = ["doc MATCH ?"], [expr]
    if filters.type:
        clauses.append("type = ?")
        params.append(filters.type)
    if filters.lang:
        clauses.append("lang IN (?, '')")
        params.append(filters.lang)
    for name in FACETS:
        value = getattr(filters, name)
        if value:
            clauses.append("rowid IN (SELECT doc FROM facet WHERE name = ? AND value = ?)")
            params.extend([name, value])
    return " AND ".join(clauses), params
