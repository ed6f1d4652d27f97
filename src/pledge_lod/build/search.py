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

from collections.abc import Iterable, Iterator
from itertools import groupby
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


def write_search_index(path: Path, data_nt: Path, kos: list[Triple], iris: v.Iris) -> int:
    """Write the release's index file from its data N-Triples and the KOS."""
    data = parse(path=str(data_nt), format=RdfFormat.N_TRIPLES)
    kos_sorted = sorted(kos, key=lambda t: str(t.subject))
    triples = (quad.triple for quad in data)
    return write_index(path, _rows([triples, iter(kos_sorted)], iris))


def _rows(sources: list[Iterator[Triple]], iris: v.Iris) -> Iterator[Row]:
    """The data N-Triples are grouped by subject; the KOS is sorted by subject above."""
    for triples in sources:
        for subject, group in groupby(triples, key=lambda t: t.subject):
            if isinstance(subject, NamedNode):
                yield from resource_rows(subject.value, list(group), iris)


def resource_rows(iri: str, triples: Iterable[Triple], iris: v.Iris) -> Iterator[Row]:
    """One resource's rows: one per language its labels and texts are in."""
    kind = None
    facets: list[tuple[str, str]] = []
    by_lang: dict[str, dict[str, list[str]]] = {}
    for t in triples:
        p, o = t.predicate.value, t.object
        if p == v.RDF_TYPE and o.value in KOS_TYPES:
            kind = KOS_TYPES[o.value]
        elif p == v.SKOS + "inScheme":
            kind = SCHEME_TYPES.get(o.value.rsplit("/", 1)[-1], kind)
        elif p in (iris.term("sdgGoal"), v.SDGO + "isTargetOf"):
            facets.append(("goal", o.value))
        elif p in (v.DCTERMS + "spatial", iris.term("country")):
            facets.append(("place", o.value))
        elif isinstance(o, Literal):
            column = _COLUMNS.get(p)
            if column:
                texts = by_lang.setdefault(o.language or "", {})
                texts.setdefault(column, []).append(o.value)
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


def _first_label(by_lang: dict[str, dict[str, list[str]]]) -> str:
    for lang in ("en", "", *sorted(by_lang)):
        cols = by_lang.get(lang, {})
        if cols.get("label") or cols.get("alt"):
            return (cols.get("label") or cols["alt"])[0]
    return ""
