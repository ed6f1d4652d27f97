"""The rows of the release's search index, read from the mapped N-Triples and the KOS.

Every resource's labels, alternative labels, titles and texts are indexed, one row per
language (en, es, fr, and ``""`` for literals without a tag), with its type and the
facets search filters by. The type is what the data says (``rdf:type``, the scheme a
concept is in, or the minted IRI's kind), never a guess: a resource none of these name
is not indexed.

Incremental builds: the release id is a digest of every input (:func:`.assemble.release_id`),
so an unchanged build reuses the existing release, index included, without redoing
anything; a changed build rewrites the index from the data N-Triples in one streaming
pass (bench/RESULTS.md has the time at 100k). Reusing per-file rows, as the build cache
does for mapped N-Triples (build/cache.py), is not done yet.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from itertools import chain, groupby
from pathlib import Path

from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, parse

from ..rdf import vocab as v
from ..release.search_index import Row, write_index

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


def write_search_index(path: Path, data_nt: Path, kos: list[Triple], iris: v.Iris) -> int:
    """Write the release's index file from its data N-Triples and the KOS."""
    kos_sorted = sorted(kos, key=lambda t: str(t.subject))
    return write_index(path, chain(_nt_rows(data_nt, iris), _rows([iter(kos_sorted)], iris)))


def _rows(sources: list[Iterator[Triple]], iris: v.Iris) -> Iterator[Row]:
    """Rows of triples grouped by subject (the KOS is sorted by subject above)."""
    for triples in sources:
        for subject, group in groupby(triples, key=lambda t: t.subject):
            if isinstance(subject, NamedNode):
                yield from resource_rows(subject.value, [_fact(t) for t in group], iris)


def _fact(t: Triple) -> Fact:
    o = t.object
    return t.predicate.value, o.value, (o.language or "") if isinstance(o, Literal) else None


def _nt_rows(data_nt: Path, iris: v.Iris) -> Iterator[Row]:
    """Rows of the data N-Triples (grouped by subject, as the build writes them)."""
    for iri, facts in nt_facts(data_nt, _wanted(iris)):
        yield from resource_rows(iri, facts, iris)


def _wanted(iris: v.Iris) -> re.Pattern[bytes]:
    """The predicates :func:`resource_rows` reads, as they stand between a line's subject
    and object; ``rdf:type`` only with a KOS class as its object (every pledge has a type
    that the index does not use)."""
    preds = [*_COLUMNS, v.SKOS + "inScheme", iris.term("sdgGoal"), v.SDGO + "isTargetOf",
             v.DCTERMS + "spatial", iris.term("country")]
    kos = b"|".join(re.escape(c.encode()) for c in KOS_TYPES)
    alternatives = [re.escape(p.encode()) for p in preds]
    alternatives.append(re.escape(v.RDF_TYPE.encode()) + rb"(?=> <(?:" + kos + rb")>)")
    return re.compile(rb"> <(" + b"|".join(alternatives) + rb")> ([^\n]*) \.\r?\n")


def nt_facts(data_nt: Path, wanted: re.Pattern[bytes]) -> Iterator[tuple[str, list[Fact]]]:
    """(subject IRI, its facts) for the N-Triples lines whose predicate ``wanted`` finds.

    The build's N-Triples are millions of lines in pyoxigraph's canonical form (one
    ``<s> <p> o .`` a line); parsing every triple into Python objects only to drop most
    of them took most of the index's time (bench/RESULTS.md, issue 17), so the lines
    wanted are found in large blocks by one regular expression. A line with an escape
    (``\\``) or in another form is parsed by pyoxigraph, so values are the parser's."""
    subject, facts = b"", []
    preds: dict[bytes, str] = {}
    for block in _blocks(data_nt):
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


def _blocks(path: Path, size: int = 1 << 23) -> Iterator[bytes]:
    """The file in blocks of whole lines."""
    rest = b""
    with open(path, "rb") as f:
        while block := f.read(size):
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
    kind = None
    facets: list[tuple[str, str]] = []
    by_lang: dict[str, dict[str, list[str]]] = {}
    roles = _roles(iris.vocab)
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
    if kind is None:
        prefix = iris.base + "/id/"
        minted = iri[len(prefix):].split("/", 1)[0] if iri.startswith(prefix) else ""
        kind = ID_TYPES.get(minted)
    if kind is None or not by_lang:
        return
    if kind == "goal":
        facets.append(("goal", iri))
    if kind == "place":
        facets.append(("place", iri))
    fallback = _first_label(by_lang)
    # A language with alternative names only (an untagged "Straseni" beside "Strășeni"@en,
    # a typed notation) is no row of its own: its names are alternatives of the row
    # that holds the resource's label, so that a hit always shows that label.
    main = next((lang for lang in ("en", "", *sorted(by_lang))
                 if by_lang.get(lang, {}).get("label")), None)
    for lang, cols in list(by_lang.items()):
        if main is not None and lang != main and not cols.get("label") and not cols.get("text"):
            by_lang[main].setdefault("alt", []).extend(cols.get("alt", []))
            del by_lang[lang]
    for lang, cols in sorted(by_lang.items()):
        labels = cols.get("label") or cols.get("alt") or [fallback]
        yield Row(
            iri=iri,
            type=kind,
            lang=lang,
            label=labels[0],
            alt=" | ".join(dict.fromkeys([*labels[1:], *cols.get("alt", [])])),
            text="\n".join(cols.get("text", [])),
            facets=tuple(dict.fromkeys(facets)),
        )


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
