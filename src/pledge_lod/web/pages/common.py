"""What every page model shares: links, values, and where a link to an IRI goes.

Templates only lay out what the page models hand them; every decision about what a link
points to (our document, our listing of an SDG goal, Wikidata's page) is made here, in
one place, so that the pages and the crawler test agree on where links go.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from ...rdf import vocab as v
from ..labels import CLASS_LABELS, local_name, term_label
from ..listings import sdg_listing
from ..site import ReleaseData

_WIKIDATA_RE = re.compile(r"^https?://www\.wikidata\.org/entity/(Q[0-9]+)$")
_GEONAMES_RE = re.compile(r"^https?://sws\.geonames\.org/([0-9]+)/?$")


@dataclass
class LinkView:
    href: str
    text: str
    external: bool = False
    lang: str | None = None
    note: str | None = None
    #: A second, outward link shown next to this one (the UN's page for an SDG goal).
    also: LinkView | None = None


@dataclass
class ValueView:
    text: str | None = None
    lang: str | None = None
    link: LinkView | None = None
    long: bool = False
    note: str | None = None


class Linker:
    """Where a link to an IRI goes, and what it says."""

    def __init__(
        self,
        rd: ReleaseData,
        labels: Mapping[str, Literal],
        root: str,
        term_labels: Mapping[str, str],
    ):
        self.rd = rd
        self.labels = labels
        self.root = root
        self.terms = term_labels

    def href(self, iri: str) -> str:
        local = self.rd.local(iri)
        if local is not None:
            if local.startswith("/id/"):
                return self.root + "/doc/" + local[4:]
            return self.root + local
        path = sdg_listing(iri)
        if path:
            return self.root + path
        return iri

    def link(self, iri: str) -> LinkView:
        label = self.labels.get(iri)
        text = label.value if label is not None else None
        lang = label.language if label is not None else None
        local = self.rd.local(iri)
        if local is not None:
            if text is None:
                text = term_label(iri, self.terms) if "/def/" in local else local_name(iri)
            return LinkView(self.href(iri), text, lang=lang)
        path = sdg_listing(iri)
        if path:
            code = iri.rsplit("/", 1)[1]
            name = f"SDG {'target ' if '.' in code else ''}{code}"
            shown = f"{name}: {text}" if text else name
            return LinkView(
                self.root + path, shown, lang=lang, also=LinkView(iri, "UN SDG", external=True)
            )
        m = _WIKIDATA_RE.match(iri)
        if m:
            return LinkView(
                f"https://www.wikidata.org/wiki/{m.group(1)}",
                f"Wikidata {m.group(1)}",
                external=True,
                note=iri,
            )
        m = _GEONAMES_RE.match(iri)
        if m:
            return LinkView(
                f"https://www.geonames.org/{m.group(1)}",
                f"GeoNames {m.group(1)}",
                external=True,
                note=iri,
            )
        if text is None and (iri in CLASS_LABELS or iri.startswith(tuple(v.PREFIXES.values()))):
            text = term_label(iri, self.terms)
        return LinkView(iri, text or iri, external=True, lang=lang)


def value_view(term: object, linker: Linker) -> ValueView:
    if isinstance(term, NamedNode):
        return ValueView(link=linker.link(term.value))
    if isinstance(term, BlankNode):
        return ValueView(text="(an unnamed node)")
    assert isinstance(term, Literal)
    dt = term.datatype.value if term.datatype is not None else ""
    if dt == v.XSD + "boolean":
        return ValueView(text="yes" if term.value in ("true", "1") else "no")
    note = None
    if dt in (v.XSD + "date", v.XSD + "gYear", v.XSD + "dateTime"):
        note = {"date": "date", "gYear": "year", "dateTime": "date and time"}[dt.rsplit("#", 1)[1]]
    return ValueView(
        text=term.value, lang=term.language or None, long=len(term.value) > 140, note=note
    )


class Triples:
    """Triples indexed by subject and predicate: the view builders look up a lot."""

    def __init__(self, triples: Iterable[Triple]):
        self.index: dict[str, dict[str, list[object]]] = {}
        for t in triples:
            self.index.setdefault(t.subject.value, {}).setdefault(t.predicate.value, []).append(
                t.object
            )

    def objects(self, s: str, p: str) -> list[object]:
        return self.index.get(s, {}).get(p, [])

    def first(self, s: str, p: str) -> object | None:
        vals = self.objects(s, p)
        return vals[0] if vals else None


def term_link(iri: str, linker: Linker) -> LinkView:
    """A link to a vocabulary term: an outside term without a label shows its CURIE."""
    link = linker.link(iri)
    if link.external and link.text == iri:
        link.text = curie(iri, linker.rd.iris.vocab)
    return link


def curie(iri: str, vocab: str | None = None) -> str:
    """``pl:country``, ``schema:Place``: the short name a reader of Turtle knows."""
    prefixes = {**v.PREFIXES, **({"pl": vocab} if vocab else {})}
    for prefix, ns in prefixes.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def sort_text(val: ValueView) -> str:
    """How values sort on a page: by what they show, ignoring case."""
    return (val.link.text if val.link else val.text or "").lower()
