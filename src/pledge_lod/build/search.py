"""The rows of the release's search index, read from the mapped N-Triples and the KOS.

Every resource's labels, alternative labels, titles and texts are indexed, one row per
language (en, es, fr, and ``""`` for literals without a tag), with its type and the
facets search filters by. The type is what the data says (``rdf:type``, the scheme a
concept is in, or the minted IRI's kind), never a guess: a resource none of these name
is not indexed.

Incremental builds: the release id is a digest of every input (:func:`.assemble.release_id`),
so an unchanged build reuses the existing release, index included, without redoing
anything. A changed build (:func:`release_search_index`) starts from the latest
version's index when that release is kept and its index was made from the same inputs
but the data (the stamp in ``search.json``: index format, base, KOS): a copy of it
without the rows of every resource the changeset names, plus the rows of those that
still exist, read from the new data's changed sources only (a resource's rows depend
on its own triples, which all come from one source, and on the KOS). Otherwise, or
when the changes are many, the index is written whole from the data N-Triples, its
rows read by worker processes in the build (:mod:`.search_parts`, :mod:`.search_job`;
bench/RESULTS.md has the times).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, groupby
from pathlib import Path

from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, parse

from ..rdf import vocab as v
from ..release import layout
from ..release.search_index import (
    INDEX_DIR,
    INDEX_VERSION,
    Row,
    folded,
    update_index,
    write_index,
)
from .changes import Changeset, ChunkIndex, load_chunks
from .search_parts import in_order, parts, worker_pool

LABELS = (v.RDFS_LABEL, v.SKOS + "prefLabel", v.SCHEMA + "name", v.FOAF + "name")
ALTS = (v.SKOS + "altLabel", v.SCHEMA + "alternateName", v.DCTERMS + "title", v.SKOS + "notation")
TEXTS = (
    v.DCTERMS + "abstract",
    v.DCTERMS + "description",
    v.SCHEMA + "description",
    v.SKOS + "definition",
)
#: SDG KOS classes by search type.
KOS_TYPES = {
    v.SDGO + "Goal": "goal",
    v.SDGO + "Target": "target",
    v.SDGO + "Indicator": "indicator",
}
#: Concept schemes of the project's own registries, by the last segment of their IRI.
SCHEME_TYPES = {"themes": "theme", "kinds": "kind", "gcm-objectives": "gcm-objective"}
#: Minted IRI kinds (``{base}/id/{kind}/…``) by search type.
ID_TYPES = {"pledge": "pledge", "place": "place", "agent": "agent", "programme": "programme"}
_COLUMNS = {
    **dict.fromkeys(LABELS, "label"), **dict.fromkeys(ALTS, "alt"), **dict.fromkeys(TEXTS, "text")
}
#: (predicate, object value, language: ``""`` untagged, None when the object is no literal)
Fact = tuple[str, str, str | None]
#: N-Triples escapes in a literal (ECHAR, UCHAR), as pyoxigraph's parser reads them.
_ESCAPE = re.compile(r"\\(?:([tbnrf\"'\\])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


#: What the release's index was made from besides the data (beside the index folder).
STAMP_FILE = "search.json"
#: Above this share of the previous index's rows changed, the index is written whole.
#: At 100k, replacing 42% of the rows took half the time of the whole write
#: (bench/RESULTS.md); the margin keeps deleted rows, which stay in the index (and in
#: its term statistics) until Tantivy merges their segments, a minority.
MAX_CHANGED_SHARE = 0.5


@dataclass(frozen=True)
class Since:
    """What an index can be made from besides the data: the releases folder (whose
    latest version's index it may start from), the changes against that version, and
    where each source's triples lie in the new data."""

    releases_dir: Path
    changeset: Changeset | None
    chunks: ChunkIndex | None


def release_search_index(
    folder: Path, data_nt: Path, kos: list[Triple], iris: v.Iris, since: Since | None = None
) -> str:
    """Write the index of the release being assembled in ``folder`` and its stamp: the
    previous version's index plus the changes when it can be, else whole. Returns the
    progress line, which says which."""
    return write_planned(plan_search_index(folder, data_nt, kos, iris, since))


@dataclass(frozen=True)
class IndexPlan:
    """What :func:`write_planned` writes, decided beforehand (plain values, which a child
    process is given: :mod:`.search_job`): the index of the release in ``folder``, from
    the ``previous`` release's index plus the rows of the ``changed`` resources read
    from the ``spans`` of the data, or whole (``why``)."""

    folder: Path
    data_nt: Path
    kos: list[Triple]
    iris: v.Iris
    stamp: dict[str, object]
    previous: Path | None = None
    why: str = ""
    changed: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()

    def line(self, rows: int) -> str:
        """The build's progress line once the index holds ``rows`` rows."""
        if self.previous is not None:
            changed = len(self.changed)
            return f"search index: previous one plus {changed} resources changed ({rows} rows)"
        return f"search index: {rows} rows written ({self.why})"


def plan_search_index(
    folder: Path, data_nt: Path, kos: list[Triple], iris: v.Iris, since: Since | None = None
) -> IndexPlan:
    """How the index of the release in ``folder`` is to be written (reads only the
    previous release's stamp and chunk index)."""
    stamp = _stamp(kos, iris)
    previous = _previous(since, stamp) if since is not None else "no previous release"
    if isinstance(previous, Path) and since is not None and since.changeset is not None:
        changed = tuple(sorted({c.iri for c in since.changeset.changes}))
        spans = tuple(_changed_spans(previous, since.chunks))
        return IndexPlan(folder, data_nt, kos, iris, stamp, previous, "", changed, spans)
    return IndexPlan(folder, data_nt, kos, iris, stamp, why=str(previous))


def write_planned(plan: IndexPlan, workers: int = 1) -> str:
    """Write the planned index and its stamp; returns the progress line. ``workers``:
    for a whole write (:func:`write_search_index`)."""
    if plan.previous is not None:
        count = _update(plan)
    else:
        count = write_search_index(plan.folder / INDEX_DIR, plan.data_nt, plan.kos, plan.iris,
                                   workers)  # fmt: skip
    text = json.dumps({**plan.stamp, "rows": count}, indent=2, sort_keys=True)
    (plan.folder / STAMP_FILE).write_text(text + "\n", encoding="utf-8")
    return plan.line(count)


def _update(plan: IndexPlan) -> int:
    """The previous release's index without the changed resources' rows, plus the
    rows of those still in the data; how many rows it holds."""
    assert plan.previous is not None
    changed = set(plan.changed)
    kos_changed = sorted((t for t in plan.kos if str(t.subject)[1:-1] in changed),
                         key=lambda t: str(t.subject))  # fmt: skip
    rows = chain(
        (r for r in _nt_rows(plan.data_nt, plan.iris, list(plan.spans)) if r.iri in changed),
        _rows([iter(kos_changed)], plan.iris),
    )
    previous = plan.previous / INDEX_DIR
    return update_index(previous, plan.folder / INDEX_DIR, plan.changed, rows)[1]


def _stamp(kos: list[Triple], iris: v.Iris) -> dict[str, object]:
    """The inputs of an index but the data: an index with the same stamp can be updated
    with the data's changes alone."""
    digest = hashlib.sha256()
    for line in sorted(str(t) for t in kos):
        digest.update(line.encode() + b"\n")
    return {"index_version": INDEX_VERSION, "base": iris.base, "vocab": iris.vocab,
            "kos": digest.hexdigest()}  # fmt: skip


def _previous(since: Since, stamp: dict[str, object]) -> Path | str:
    """The previous version's release folder if its index can be updated with the
    changes; else why not."""
    changeset = since.changeset
    if changeset is None or changeset.previous_release is None or since.chunks is None:
        return "no previous release"
    folder = since.releases_dir / changeset.previous_release
    try:
        theirs = json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "the previous release is not kept or has no index stamp"
    if not isinstance(theirs, dict) or not (folder / INDEX_DIR / "meta.json").is_file():
        return "the previous release has no index"
    rows = theirs.pop("rows", 0)
    if theirs != stamp:
        return "the previous index was made from another KOS, base or index format"
    if len(changeset.changes) > MAX_CHANGED_SHARE * (rows if isinstance(rows, int) else 0):
        return f"{len(changeset.changes)} resources changed"
    if "(whole)" in load_chunks(folder, folder / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]):
        return "the previous release has no chunk index"
    return folder


def _changed_spans(previous: Path, chunks: ChunkIndex | None) -> list[tuple[int, int]]:
    """Where the new data's sources whose digest differs from the previous release's
    lie: every changed resource's new triples are there."""
    if chunks is None:
        return []
    chunks.finish()
    nt = previous / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]
    theirs = load_chunks(previous, nt)
    return sorted(
        (offset, length) for key, (offset, length, digest) in chunks.chunks.items()
        if theirs.get(key, (0, 0, None))[2] != digest
    )  # fmt: skip


def write_search_index(
    path: Path, data_nt: Path, kos: list[Triple], iris: v.Iris, workers: int = 1
) -> int:
    """Write the index folder from the release's data N-Triples and the KOS, whole.

    ``workers`` > 1: the data's rows read by that many forked processes
    (:mod:`.search_parts`; the same rows) and Tantivy indexing with two threads: for a
    process without threads of its own, such as the build's index child."""
    kos_sorted = sorted(kos, key=lambda t: str(t.subject))
    kos_rows = _rows([iter(kos_sorted)], iris)
    if workers <= 1:
        return write_index(path, chain(_nt_rows(data_nt, iris), kos_rows))
    cuts = parts(data_nt, workers, _wanted(iris))
    tasks = [(data_nt, iris, offset, length) for offset, length in cuts]
    with worker_pool(workers) as pool:
        rows = in_order(pool, _part_rows, tasks, workers)
        return write_index(path, chain(rows, kos_rows), threads=2)


def _part_rows(data_nt: Path, iris: v.Iris, offset: int, length: int) -> list[Row]:
    """A worker's task: the rows of one part of the data."""
    return list(_nt_rows(data_nt, iris, [(offset, length)]))


def _rows(sources: list[Iterator[Triple]], iris: v.Iris) -> Iterator[Row]:
    """Rows of triples grouped by subject (the KOS is sorted by subject above)."""
    for triples in sources:
        for subject, group in groupby(triples, key=lambda t: t.subject):
            if isinstance(subject, NamedNode):
                yield from resource_rows(subject.value, [_fact(t) for t in group], iris)


def _fact(t: Triple) -> Fact:
    o = t.object
    return t.predicate.value, o.value, (o.language or "") if isinstance(o, Literal) else None


def _nt_rows(
    data_nt: Path, iris: v.Iris, spans: list[tuple[int, int]] | None = None
) -> Iterator[Row]:
    """Rows of the data N-Triples (grouped by subject, as the build writes them), or of
    the ``spans`` of it (offset, length) only."""
    for iri, facts in nt_facts(data_nt, _wanted(iris), spans):
        yield from resource_rows(iri, facts, iris)


def _wanted(iris: v.Iris) -> re.Pattern[bytes]:
    """The predicates :func:`resource_rows` reads, as they stand between a line's subject
    and object; ``rdf:type`` only with a KOS class as its object (every pledge has a type
    that the index does not use). The IRIs as one tree of common prefixes: every line is
    tried, and the regular expression engine tries the branches of an alternation one by
    one (half the time of a flat list of the IRIs, measured)."""
    preds = [*_COLUMNS, v.SKOS + "inScheme", iris.term("sdgGoal"), v.SDGO + "isTargetOf",
             v.DCTERMS + "spatial", iris.term("country")]
    kos = b"|".join(re.escape(c.encode()) for c in KOS_TYPES)
    typed = re.escape(v.RDF_TYPE.encode()) + rb"(?=> <(?:" + kos + rb")>)"
    tree = _prefix_tree(sorted({p.encode() for p in preds}))
    return re.compile(rb"> <(" + tree + b"|" + typed + rb")> ([^\n]*) \.\r?\n")


def _prefix_tree(words: list[bytes]) -> bytes:
    """An alternation matching exactly ``words`` (sorted, distinct), their common
    prefixes factored out."""
    if len(words) == 1:
        return re.escape(words[0])
    branches = []
    for _first, group in groupby(words, key=lambda w: w[:1]):
        ws = list(group)
        common = next((ws[0][:i] for i, (a, b) in enumerate(zip(ws[0], ws[-1], strict=False))
                       if a != b),
                      ws[0])  # sorted: the first and last words' common prefix is all's
        branches.append(
            re.escape(common) + _prefix_tree([w[len(common):] for w in ws])
            if len(ws) > 1 else re.escape(ws[0])
        )
    return b"(?:" + b"|".join(branches) + b")"


def nt_facts(
    data_nt: Path, wanted: re.Pattern[bytes], spans: list[tuple[int, int]] | None = None
) -> Iterator[tuple[str, list[Fact]]]:
    """(subject IRI, its facts) for the N-Triples lines whose predicate ``wanted`` finds.

    The build's N-Triples are millions of lines in pyoxigraph's canonical form (one
    ``<s> <p> o .`` a line); parsing every triple into Python objects only to drop most
    of them took most of the index's time (bench/RESULTS.md, issue 17), so the lines
    wanted are found in large blocks by one regular expression. A line with an escape
    (``\\``) or in another form is parsed by pyoxigraph, so values are the parser's."""
    subject, facts = b"", []
    preds: dict[bytes, str] = {}
    tags: dict[bytes, str] = {b"": ""}  # a literal's tail (``@en``, ``^^<…>``): its language
    for block in _blocks(data_nt, spans):
        for m in wanted.finditer(block):
            at = m.start()
            start = block.rfind(b"\n", 0, at) + 1
            s = block[start:at]
            pred, obj = m.groups()
            if (s != subject and (s[:1] != b"<" or b" " in s or b"\\" in s)) or (
                b"\\" in obj and obj[:1] != b'"'
            ):
                iri, fact = _parsed(block[start:m.end()])
                s = b"<" + iri.encode()
            elif obj[:1] == b'"':  # a literal: its text and language
                end = obj.rfind(b'"')
                text = obj[1:end].decode()
                tail = obj[end + 1:]
                lang = tags.get(tail)
                if lang is None:
                    lang = tags[tail] = tail[1:].decode().lower() if tail[:1] == b"@" else ""
                fact = (preds.get(pred) or preds.setdefault(pred, pred.decode()),
                        _ESCAPE.sub(_unescaped, text) if "\\" in text else text, lang)
            else:
                p = preds.get(pred) or preds.setdefault(pred, pred.decode())
                fact = _object(p, obj.decode())
            if s != subject:
                if facts:
                    yield subject[1:].decode(), facts
                subject, facts = s, []
            facts.append(fact)
    if facts:
        yield subject[1:].decode(), facts


def _blocks(
    path: Path, spans: list[tuple[int, int]] | None = None, size: int = 1 << 23
) -> Iterator[bytes]:
    """The file, or its ``spans`` (offset, length: whole lines each), in blocks of
    whole lines."""
    with open(path, "rb") as f:
        for offset, length in spans if spans is not None else [(0, -1)]:
            f.seek(offset)
            rest, left = b"", length
            while left and (block := f.read(size if left < 0 else min(size, left))):
                left -= len(block) if left > 0 else 0
                block = rest + block
                cut = block.rfind(b"\n") + 1
                rest = block[cut:]
                yield block[:cut]
            if rest:
                yield rest + b"\n"


def _object(p: str, o: str) -> Fact:
    """A fact from an N-Triples object term (an IRI without escapes, or a literal)."""
    if o.startswith('"'):
        end = o.rfind('"')
        tail, text = o[end + 1:], o[1:end]
        if "\\" in text:
            text = _ESCAPE.sub(_unescaped, text)
        return p, text, tail[1:].lower() if tail.startswith("@") else ""
    return p, o[1:-1] if o.startswith("<") else o[2:], None


def _unescaped(m: re.Match[str]) -> str:
    return _ECHAR[m[1]] if m[1] else chr(int(m[2] or m[3], 16))


def _parsed(line: bytes) -> tuple[str, Fact]:
    triple = next(iter(parse(line + b"\n", format=RdfFormat.N_TRIPLES))).triple
    return triple.subject.value, _fact(triple)


def resource_rows(iri: str, facts: Iterable[Fact], iris: v.Iris) -> Iterator[Row]:
    """One resource's rows: one per language its labels and texts are in."""
    kind, facets, by_lang = _columns(facts, iris.vocab)
    if kind is None:
        prefix = iris.base + "/id/"
        minted = iri[len(prefix):].split("/", 1)[0] if iri.startswith(prefix) else ""
        kind = ID_TYPES.get(minted)
    if kind is None or not by_lang:
        return
    if kind in ("goal", "place"):
        facets.append((kind, iri))
    row_facets = tuple(dict.fromkeys(facets))
    fallback = ""  # one language (most resources): its own names, or none anywhere
    if len(by_lang) > 1:
        fallback = _first_label(by_lang)
        _merge_alternatives(by_lang)
    for lang, cols in sorted(by_lang.items()):
        labels = cols.get("label") or cols.get("alt") or [fallback]
        alternatives = _alternatives(labels[0], [*labels[1:], *cols.get("alt", ())])
        yield Row(iri, kind, lang, labels[0], alternatives, "\n".join(cols.get("text", ())),
                  row_facets)  # fmt: skip


def _columns(
    facts: Iterable[Fact], vocab: str
) -> tuple[str | None, list[tuple[str, str]], dict[str, dict[str, list[str]]]]:
    """A resource's type (if its facts say it), facets, and names and texts by language
    and column."""
    kind = None
    facets: list[tuple[str, str]] = []
    by_lang: dict[str, dict[str, list[str]]] = {}
    roles = _roles(vocab)
    for p, o, lang in facts:
        role = roles.get(p)
        if role is None:
            continue
        if role == "type":
            kind = KOS_TYPES.get(o, kind)
        elif role == "scheme":
            kind = SCHEME_TYPES.get(o.rsplit("/", 1)[-1], kind)
        elif role in ("goal", "place"):
            facets.append((role, o))
        elif lang is not None:
            texts = by_lang.setdefault(lang, {})
            texts.setdefault(role, []).append(o)
    return kind, facets, by_lang


def _merge_alternatives(by_lang: dict[str, dict[str, list[str]]]) -> None:
    """A language with alternative names only (an untagged "Straseni" beside
    "Strășeni"@en, a typed notation) is no row of its own: its names are alternatives
    of the row that holds the resource's label, so that a hit always shows that label."""
    main = next((lang for lang in ("en", "", *sorted(by_lang))
                 if by_lang.get(lang, {}).get("label")), None)  # fmt: skip
    if main is None:
        return
    for lang, cols in list(by_lang.items()):
        if lang != main and not cols.get("label") and not cols.get("text"):
            by_lang[main].setdefault("alt", []).extend(cols.get("alt", []))
            del by_lang[lang]


def _alternatives(label: str, names: list[str]) -> str:
    """The alternative names of a row, each once, none that folds to the label or to
    one before it: a synthetic pledge's title is also its label, and indexed twice it
    doubled the postings every name query walks (bench/RESULTS.md, issue 17). A name
    equal to one before it folds alike without asking the analyzer, which was a fifth
    of a whole write's time (a pledge's title is its label, a place's name too)."""
    out: list[str] = []
    if not names:
        return ""
    given = {label}
    seen: set[tuple[str, ...]] | None = None
    for name in names:
        if name in given:
            continue
        given.add(name)
        if seen is None:
            seen = {folded(label)}
        key = folded(name)
        if key not in seen:
            seen.add(key)
            out.append(name)
    return " | ".join(out)


@functools.cache
def _roles(vocab: str) -> dict[str, str]:
    """What each predicate :func:`resource_rows` reads tells: a column, a facet, a type."""
    return {
        **_COLUMNS,
        v.RDF_TYPE: "type",
        v.SKOS + "inScheme": "scheme",
        vocab + "sdgGoal": "goal",
        v.SDGO + "isTargetOf": "goal",
        v.DCTERMS + "spatial": "place",
        vocab + "country": "place",
    }


def _first_label(by_lang: dict[str, dict[str, list[str]]]) -> str:
    for lang in ("en", "", *sorted(by_lang)):
        cols = by_lang.get(lang, {})
        if cols.get("label") or cols.get("alt"):
            return (cols.get("label") or cols["alt"])[0]
    return ""
