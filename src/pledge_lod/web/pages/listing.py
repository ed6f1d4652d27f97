"""The page of a paged listing: one item per member, with its kind, places and years."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pyoxigraph import Literal

from ...rdf import vocab as v
from ..listings import Page
from ..site import ReleaseData
from .common import Linker, LinkView

SUMMARY_CHARS = 320
#: The line above a listing's title, by facet.
KICKERS = {
    "goal": "Sustainable Development Goal",
    "target": "SDG target",
    "objective": "Global Compact for Migration objective",
    "theme": "Thematic area",
    "place": "Place",
    "programme": "Programme",
    "agent": "Person or organisation",
    "submitter": "Submitter",
    "kind": "Kind of record",
    "listing": "Source listing page",
}


@dataclass
class ItemView:
    link: LinkView
    meta: list[str]
    summary: str | None
    summary_lang: str | None


@dataclass
class ListingView:
    title: str
    kicker: str
    topic: LinkView | None
    total: int
    number: int
    last: int
    items: list[ItemView]
    nav: list[tuple[str, str, str | None]]  # (rel, text, href or None when not a link)


def listing_view(
    page: Page,
    rd: ReleaseData,
    root: str,
    term_labels: Mapping[str, str],
    href_for_page: Callable[[int], str],
) -> ListingView:
    linker = Linker(rd, page.labels, root, term_labels)
    by_subject: dict[str, dict[str, list[object]]] = {}
    for t in page.triples:
        by_subject.setdefault(t.subject.value, {}).setdefault(t.predicate.value, []).append(
            t.object
        )
    items = [_item_view(m, by_subject.get(m, {}), linker) for m in page.members]
    topic = linker.link(page.topic) if page.topic else None
    kicker = KICKERS.get(page.facet.name, "Listing")
    nav: list[tuple[str, str, str | None]] = []
    links = page.nav()
    for rel, text in (("first", "First"), ("prev", "Previous"), ("next", "Next"), ("last", "Last")):
        n = links.get(rel)
        nav.append((rel, text, href_for_page(n) if n is not None and n != page.number else None))
    return ListingView(page.title, kicker, topic, page.total, page.number, page.last, items, nav)


def _item_view(member: str, props: dict[str, list[object]], linker: Linker) -> ItemView:
    """One member: its link, a line of facts (kind, places, years) and its summary."""
    meta = []
    for kind in props.get(v.DCTERMS + "type", []):
        meta.append(linker.link(kind.value).text)  # type: ignore[attr-defined]
    places = sorted(linker.link(p.value).text for p in props.get(v.DCTERMS + "spatial", []))  # type: ignore[attr-defined]
    if places:
        meta.append(", ".join(places))
    years = [
        o.value[:4]  # type: ignore[attr-defined]
        for key in (v.SCHEMA + "startDate", v.SCHEMA + "endDate")
        for o in props.get(key, [])[:1]
    ]
    if years:
        meta.append("–".join(years))
    abstract = next(
        (o for o in props.get(v.DCTERMS + "abstract", []) if isinstance(o, Literal)), None
    )
    summary = None
    if abstract is not None:
        summary = abstract.value
        if len(summary) > SUMMARY_CHARS:
            summary = summary[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
    return ItemView(
        linker.link(member), meta, summary, abstract.language if abstract is not None else None
    )
