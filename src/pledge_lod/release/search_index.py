"""The release's full-text index: a Tantivy index folder, written by the build, read by the web.

Tantivy was chosen over SQLite FTS5 by measuring both here (bench/RESULTS.md, 100k
pledges): FTS5 scores and counts every matching row (search p50 847 ms), Tantivy keeps
the top hits only (p50 2 ms) and builds 5x faster. The index is a folder of the release,
so it is listed in the manifest and travels with the release folder (app servers on the
remote backend hold that folder without its store). The analyzer (simple tokenizer,
lowercase, ASCII folding) folds case and accents (``Strășeni`` = ``STRASENI``); field
boosts put a label match above a match deep in a text.

A person's text never reaches a query parser: it is cut into words by the index's own
analyzer and each word becomes a term (or phrase) query built here, so ``NEAR``, ``OR``,
``title:``, ``*`` and ``^`` are words or separators, never operators.
"""

from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import tantivy

from .layout import link_or_copy

INDEX_DIR = "search"
#: Part of the release id (build/assemble.py): a new index format makes a new release
#: even from unchanged data, instead of reusing one without (or with an older) index.
INDEX_VERSION = 2  # 2: no alternative label that folds to the label
#: Boosts of the label, alternative label and text fields.
BOOSTS = {"label": 10.0, "alt": 4.0, "text": 1.0}
#: The fields that hold a resource's names.
NAMES = ("label", "alt")
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
FACETS = ("goal", "place")
_NO_LANG = "-"  # the stored language of literals without a tag (a term cannot be empty)
_PHRASE = re.compile(r'"([^"]*)"')
_ANALYZER = "folded"


class QueryError(ValueError):
    """Search text that cannot be searched; the message says what to change."""


class Row(NamedTuple):
    """One resource in one language (``""``: literals without a language tag).

    A named tuple: a whole write makes a million of them, which a tuple makes and
    pickles (from the row reader's worker processes) at a fraction of a dataclass's cost."""

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


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


@functools.cache
def _folding() -> tantivy.TextAnalyzer:
    return _analyzer()


def folded(text: str) -> tuple[str, ...]:
    """``text`` as the index's analyzer reads it (words, case and accents folded): two
    names with the same words are the same to every search."""
    return tuple(_folding().analyze(text))


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for name in BOOSTS:
        sb.add_text_field(name, stored=True, tokenizer_name=_ANALYZER)
    for name in ("iri", "type", "lang", "facet"):
        sb.add_text_field(name, stored=True, tokenizer_name="raw")
    return sb.build()


def write_index(path: Path, rows: Iterable[Row], threads: int = 1) -> int:
    """Write the index folder at ``path`` from ``rows``; returns how many rows it holds.

    ``threads``: Tantivy's indexing threads. Tantivy, not the Python feeding it, is the
    slower side of a whole write (bench/RESULTS.md, issue 17 whole write); a second
    thread uses the other core when it is free, each thread making its own segments."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return _commit(tantivy.Index(_schema(), path=str(path)), (), rows, threads)


def _commit(
    index: tantivy.Index, deleted: Iterable[str], rows: Iterable[Row], threads: int = 1
) -> int:
    """Delete the rows of the ``deleted`` IRIs and add ``rows``, in one commit; returns
    how many rows were added."""
    index.register_tokenizer(_ANALYZER, _analyzer())
    writer = index.writer(heap_size=128_000_000 * threads, num_threads=threads)
    for iri in deleted:
        writer.delete_documents_by_term("iri", iri)
    added = 0
    for row in rows:
        writer.add_document(_document(row))
        added += 1
    writer.commit()
    writer.wait_merging_threads()
    return added


def update_index(
    previous: Path, path: Path, deleted: Iterable[str], rows: Iterable[Row]
) -> tuple[int, int]:
    """Write the index folder at ``path`` from the index at ``previous``, without the
    rows of the ``deleted`` IRIs and with ``rows`` added, in one commit; returns how many
    rows were added and how many it holds.

    The segment files are hard-linked, and the files Tantivy rewrites (``meta.json``,
    ``.managed.json``, the lock files) copied: Tantivy writes a segment's files once,
    under names of their own (a new commit's deletions go to a new ``.del`` file),
    replaces the two JSON files with a rename, and deletes files it no longer uses, so
    the previous release's index keeps its content (``tests/test_search_incremental.py``
    compares its files' digests before and after). At a million pledges that saves
    copying 500 MB, and the manifest takes a linked file's digest from the previous
    release's manifest.
    Deleted rows stay in their segment (flagged) until a merge, and still count in the
    term statistics BM25 scores with, so scores may differ slightly from a full write
    of the same rows; which rows match, and their order when scores are apart, do not."""
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(previous, path, copy_function=_link_segment)
    index = tantivy.Index.open(str(path))
    added = _commit(index, deleted, rows)
    index.reload()
    return added, index.searcher().num_docs


#: What Tantivy may rewrite in place of a folder it commits to: copied, never linked.
_REWRITTEN = frozenset({"meta.json", ".managed.json", ".tantivy-meta.lock", ".tantivy-writer.lock"})


def _link_segment(source: str, target: str) -> None:
    if Path(source).name in _REWRITTEN:
        shutil.copyfile(source, target)
    else:
        link_or_copy(source, target)


def _document(row: Row) -> tantivy.Document:
    # One dict, converted in one call: a fifth less time than field by field (measured).
    fields = {"iri": row.iri, "type": row.type, "lang": row.lang or _NO_LANG,
              "label": row.label, "alt": row.alt, "text": row.text}
    if row.facets:
        fields["facet"] = [f"{name}={value}" for name, value in row.facets]
    return tantivy.Document.from_dict(fields)


def parse_terms(
    text: str, analyze: tantivy.TextAnalyzer | None = None, cut: bool = False
) -> list[list[str]]:
    """What a person typed as the index's own tokens: one list per word or ``"quoted
    phrase"``; refuses text with nothing to search for, NUL, or too much of it.

    ``cut`` keeps the first :data:`MAX_TERMS` words instead of refusing more: a name
    to reconcile is a cell of someone's spreadsheet (a pledge's title can be twenty
    words), and its candidates are scored against the whole name anyway."""
    if "\x00" in text:
        raise QueryError("the search text contains a NUL character")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the search text is {len(text)} characters; at most {MAX_QUERY_CHARS}")
    analyzer = analyze or _analyzer()
    phrases: list[str] = []
    rest = _PHRASE.sub(lambda m: phrases.append(m.group(1)) or " ", text)
    groups = [analyzer.analyze(p) for p in phrases]
    groups += [[t] for word in rest.replace('"', " ").split() for t in analyzer.analyze(word)]
    groups = [g for g in groups if g]
    if not groups:
        raise QueryError("the search text has no words to look for (letters or digits)")
    if len(groups) > MAX_TERMS and cut:
        groups = groups[:MAX_TERMS]
    elif len(groups) > MAX_TERMS:
        raise QueryError(f"the search text has {len(groups)} words; at most {MAX_TERMS}")
    return groups


class SearchIndex:
    """A release's index, opened read-only (the release never changes)."""

    def __init__(self, path: Path):
        if not (path / "meta.json").is_file():
            raise FileNotFoundError(path)
        self.path = path
        self._index = tantivy.Index.open(str(path))
        self._index.register_tokenizer(_ANALYZER, _analyzer())
        self._schema = self._index.schema
        self._analyze = _analyzer()

    def _word(self, tokens: list[str], fields: Iterable[str], prefix: bool) -> tantivy.Query:
        """One word or phrase in any of ``fields``, boosted by field."""
        parts = []
        for field in fields:
            if prefix:
                q = tantivy.Query.phrase_prefix_query(self._schema, field, tokens)
            elif len(tokens) == 1:
                q = tantivy.Query.term_query(self._schema, field, tokens[0])
            else:
                q = tantivy.Query.phrase_query(self._schema, field, tokens)
            parts.append((tantivy.Occur.Should, tantivy.Query.boost_query(q, BOOSTS[field])))
        return tantivy.Query.boolean_query(parts)

    def _query(
        self, text: str, filters: Filters, fields: Iterable[str] = tuple(BOOSTS),
        prefix_last: bool = False, any_word: bool = False, cut: bool = False,
    ) -> tantivy.Query:
        groups = parse_terms(text, self._analyze, cut)
        words = [
            self._word(g, fields, prefix_last and i == len(groups) - 1)
            for i, g in enumerate(groups)
        ]
        filtered = self._filters(filters)
        if any_word and len(words) > 1:  # at least one word, then every filter
            anyof = [(tantivy.Occur.Should, q) for q in words]
            words = [tantivy.Query.boolean_query(anyof)]
        # One flat conjunction: a boolean query nested in another adds a layer of
        # scorers each matching document goes through (the same documents and scores,
        # about 15% slower at 1M, bench/RESULTS.md); a single clause is the query itself.
        clauses = words + filtered
        if len(clauses) == 1:
            return clauses[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in clauses])

    def _filters(self, filters: Filters) -> list[tantivy.Query]:
        out = []
        if filters.type:
            out.append(tantivy.Query.term_query(self._schema, "type", filters.type))
        if filters.lang:
            out.append(tantivy.Query.term_set_query(
                self._schema, "lang", [filters.lang, _NO_LANG]
            ))
        for name in FACETS:
            value = getattr(filters, name)
            if value:
                out.append(tantivy.Query.term_query(self._schema, "facet", f"{name}={value}"))
        return out

    def _hit(self, searcher: tantivy.Searcher, score: float, address: object,
             snippets: tantivy.SnippetGenerator | None) -> Hit:
        doc = searcher.doc(address)
        lang = doc.get_first("lang")
        snippet = ""
        if snippets is not None:
            snippet = _marked(snippets.snippet_from_doc(doc))
        return Hit(doc.get_first("iri"), doc.get_first("type"),
                   "" if lang == _NO_LANG else lang, doc.get_first("label"), snippet, score)

    def search(
        self, text: str, filters: Filters, offset: int = 0, limit: int = 20,
        any_word: bool = False, snippets: bool = True,
    ) -> Page:
        """Hits for ``text`` best first, one per resource and language; with
        ``snippets=False`` their snippets are left empty (the RDF pages show none, and
        each costs a pass over the hit's text)."""
        query = self._query(text, filters, any_word=any_word)
        searcher = self._index.searcher()
        result = searcher.search(query, limit, count=True, offset=offset)
        if not snippets:
            hits = [self._hit(searcher, s, a, None) for s, a in result.hits]
            return Page(hits, result.count or 0, offset, limit)
        generator = tantivy.SnippetGenerator.create(searcher, query, self._schema, "text")
        generator.set_max_num_chars(200)
        hits = [self._hit(searcher, s, a, generator) for s, a in result.hits]
        groups = parse_terms(text, self._analyze)
        hits = [h if h.snippet else _label_snippet(h, groups, self._analyze) for h in hits]
        return Page(hits, result.count or 0, offset, limit)

    def matches(
        self, text: str, filters: Filters, limit: int = 20, any_word: bool = False,
        fields: Iterable[str] = tuple(BOOSTS),
    ) -> list[tuple[str, str]]:
        """(IRI, type) of the hits of :meth:`search` (in ``fields``), in its order,
        without their count or snippets: reconciliation needs neither, and counting
        every match is costly on a large index (bench/RESULTS.md, issue 17). A text
        of more words than a search takes is cut to its first ones, not refused."""
        query = self._query(text, filters, fields, any_word=any_word, cut=True)
        searcher = self._index.searcher()
        docs = [searcher.doc(a) for _s, a in searcher.search(query, limit, count=False).hits]
        return [(d.get_first("iri"), d.get_first("type")) for d in docs]

    def suggest(self, text: str, filters: Filters, limit: int = 10) -> list[Hit]:
        """Labels starting with what a person has typed so far, best first."""
        query = self._query(text, filters, fields=("label", "alt"), prefix_last=True)
        searcher = self._index.searcher()
        result = searcher.search(query, limit * 3, count=False)
        seen: set[str] = set()
        hits = []
        for score, address in result.hits:  # one suggestion per resource
            hit = self._hit(searcher, score, address, None)
            if hit.iri not in seen and len(hits) < limit:
                seen.add(hit.iri)
                hits.append(hit)
        return hits

    def _rows(self, iri: str) -> list[tantivy.Document]:
        searcher = self._index.searcher()
        query = tantivy.Query.term_query(self._schema, "iri", iri)
        return [searcher.doc(a) for _s, a in searcher.search(query, 50, count=False).hits]

    def labels(self, iri: str) -> dict[str, str]:
        """The labels of one indexed resource by language."""
        out = {}
        for doc in self._rows(iri):
            lang = doc.get_first("lang")
            out["" if lang == _NO_LANG else lang] = doc.get_first("label")
        return out

    def names(self, iri: str) -> list[str]:
        """Every label and alternative label of one resource, in every language."""
        return self.names_and_facets(iri)[0]

    def facets(self, iri: str) -> set[tuple[str, str]]:
        """The facet values of one resource (its goals and places)."""
        return self.names_and_facets(iri)[1]

    def names_and_facets(self, iri: str) -> tuple[list[str], set[tuple[str, str]]]:
        """:meth:`names` and :meth:`facets` from one read of the resource's rows."""
        names: list[str] = []
        facets = set()
        for doc in self._rows(iri):
            alt = doc.get_first("alt") or ""
            names += [doc.get_first("label"), *(a for a in alt.split(" | ") if a)]
            for value in doc.get_all("facet"):
                name, _eq, rest = value.partition("=")
                facets.add((name, rest))
        return list(dict.fromkeys(names)), facets

    def entry(self, iri: str) -> Hit | None:
        """One resource's English (or untagged, or first) row, for previews."""
        docs = sorted(self._rows(iri), key=lambda d: (
            d.get_first("lang") != "en", d.get_first("lang") != _NO_LANG, d.get_first("lang")
        ))
        if not docs:
            return None
        d = docs[0]
        lang = d.get_first("lang")
        return Hit(iri, d.get_first("type"), "" if lang == _NO_LANG else lang,
                   d.get_first("label"), (d.get_first("text") or "")[:300], 0.0)


def _marked(snippet: tantivy.Snippet) -> str:
    """The fragment with its matches between markers (the ranges are byte offsets)."""
    text = snippet.fragment().encode("utf-8")
    out, pos = [], 0
    for r in sorted(snippet.highlighted(), key=lambda r: r.start):
        out += [text[pos:r.start], MARK_START.encode(), text[r.start:r.end], MARK_END.encode()]
        pos = r.end
    return b"".join([*out, text[pos:]]).decode("utf-8", "replace")


def _label_snippet(hit: Hit, groups: list[list[str]], analyzer: tantivy.TextAnalyzer) -> Hit:
    """No match in the text: the label, its matching words marked."""
    wanted = {t for g in groups for t in g}
    words = [
        f"{MARK_START}{w}{MARK_END}" if set(analyzer.analyze(w)) & wanted else w
        for w in hit.label.split(" ")
    ]
    return Hit(hit.iri, hit.type, hit.lang, hit.label, " ".join(words), hit.score)
