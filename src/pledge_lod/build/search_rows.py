"""A resource's rows in the search index: what its facts make of it.

Every resource's labels, alternative labels, titles and texts are indexed, one row per
language (en, es, fr, and ``""`` for literals without a tag), with its type and the
facets search filters by. The type is what the data says (``rdf:type``, the scheme a
concept is in, or the minted IRI's kind), never a guess: a resource none of these name
is not indexed. The facts come from the data file's lines (:mod:`.search_lines`), from
triples (the KOS; a first build's pledges as the mapping workers make them,
:mod:`.search_mapped`), the same rows either way.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from itertools import groupby

from pyoxigraph import Literal, NamedNode, Triple

from ..rdf import vocab as v
from ..release.search_index import Row, folded

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


def triple_rows(triples: Iterable[Triple], iris: v.Iris) -> Iterator[Row]:
    """The rows :func:`nt_facts` and :func:`resource_rows` make of these triples'
    N-Triples lines, made from the triples themselves: the lines the reader reads,
    grouped by subject as they come. For the mapping workers, which hold each pledge's
    triples before they are written (:mod:`.search_rows`)."""
    roles = _roles(iris.vocab)
    subject: object = None
    facts: list[Fact] = []
    for t in triples:
        p = t.predicate.value
        if p not in roles:
            continue
        o = t.object
        if p == v.RDF_TYPE and o.value not in KOS_TYPES:
            continue  # a line the reader does not read
        s = t.subject
        if s != subject:
            if facts and isinstance(subject, NamedNode):
                yield from resource_rows(subject.value, facts, iris)
            subject, facts = s, []
        facts.append((p, o.value, (o.language or "") if isinstance(o, Literal) else None))
    if facts and isinstance(subject, NamedNode):
        yield from resource_rows(subject.value, facts, iris)


def _rows(sources: list[Iterator[Triple]], iris: v.Iris) -> Iterator[Row]:
    """Rows of triples grouped by subject (the KOS is sorted by subject above)."""
    for triples in sources:
        for subject, group in groupby(triples, key=lambda t: t.subject):
            if isinstance(subject, NamedNode):
                yield from resource_rows(subject.value, [_fact(t) for t in group], iris)


def _fact(t: Triple) -> Fact:
    o = t.object
    return t.predicate.value, o.value, (o.language or "") if isinstance(o, Literal) else None


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
