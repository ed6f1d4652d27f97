"""Full-text search for people and programs, from the release's own index file.

=================================  =====================================================
``/search?q=…[&type&goal&place&lang&page]``  results, negotiated like every document
``/search.{ext}?q=…``               the same results in one format
``/search/suggest?q=…``             autocomplete (OpenSearch suggestions JSON)
``/opensearch.xml``                 the OpenSearch 1.1 description browsers install
=================================  =====================================================

The index is a folder of the release (:mod:`pledge_lod.release.search_index`), so app
servers on the remote backend, which hold the release folder without its store, answer
exactly as the embedded one does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlencode
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Response, render_template, request
from markupsafe import Markup, escape
from pyoxigraph import Literal, NamedNode, Triple
from werkzeug.exceptions import ServiceUnavailable

from ..http.formats import DOC_FORMATS, HTML, RDF_FORMATS, Format
from ..http.negotiation import NotAcceptable, negotiate
from ..rdf import vocab as v
from ..release.search_index import (
    INDEX_DIR,
    LANGUAGES,
    MARK_END,
    MARK_START,
    TYPES,
    Filters,
    Hit,
    Page,
    QueryError,
    SearchIndex,
)
from ..store import Snapshot
from .context import HYDRA
from .documents import valid_slug
from .http import Link, error_response, not_acceptable, represent, root
from .serialize import to_bytes
from .site import ReleaseData, site, snapshot

bp = Blueprint("search", __name__)

SUGGESTIONS = "application/x-suggestions+json"
OPENSEARCH = "application/opensearchdescription+xml"
SUGGEST_LIMIT = 10
MAX_PAGE = 10_000
TYPE_NAMES = {
    "pledge": "Pledge", "place": "Place", "agent": "Organisation or person",
    "programme": "Programme", "theme": "Theme", "kind": "Kind of pledge",
    "gcm-objective": "GCM objective", "goal": "SDG goal", "target": "SDG target",
    "indicator": "SDG indicator",
}


class BadSearch(Exception):
    """A parameter we cannot use; answered 400 with the message."""


@dataclass(frozen=True)
class Request:
    text: str
    filters: Filters
    number: int


def index_of(rd: ReleaseData) -> SearchIndex:
    """The release's index, opened once per release and worker; a release made before
    releases had one is answered 503 with what to do (never a traceback)."""
    try:
        return rd.memo("search-index", lambda: SearchIndex(rd.release.path / INDEX_DIR))
    except (FileNotFoundError, ValueError) as exc:
        raise ServiceUnavailable(
            f"release {rd.release.id} has no search index; build a new release with "
            "`pledge-lod build` to search it"
        ) from exc


def _one(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadSearch(f"give ?{name}= once")
    return values[0].strip() if values and values[0].strip() else None


def _filters(rd: ReleaseData) -> Filters:
    kind, goal, place, lang = (_one(n) for n in ("type", "goal", "place", "lang"))
    if kind and kind not in TYPES:
        raise BadSearch(f"type must be one of {', '.join(TYPES)}, not {kind[:40]!r}")
    if lang and lang not in LANGUAGES:
        raise BadSearch(f"lang must be one of {', '.join(LANGUAGES)}, not {lang[:40]!r}")
    if goal:
        if goal.isdigit() and 1 <= int(goal) <= 17:
            goal = v.sdg_goal(int(goal))
        elif not (goal.startswith(v.SDG) and goal[len(v.SDG):].isdigit()):
            raise BadSearch(f"goal must be an SDG goal number (1 to 17) or IRI, not {goal[:60]!r}")
    if place:
        prefix = rd.iris.thing("place", "")
        slug = place[len(prefix):] if place.startswith(prefix) else place
        if not valid_slug(slug):
            raise BadSearch(f"place must be a place's identifier or IRI, not {place[:60]!r}")
        place = prefix + slug
    return Filters(type=kind, goal=goal, place=place, lang=lang)


def _parse(rd: ReleaseData, need_text: bool) -> Request:
    text = _one("q") or ""
    if need_text and not text:
        raise BadSearch("give the words to look for as ?q=")
    raw = _one("page") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadSearch(f"page must be a whole number from 1 to {MAX_PAGE}, not {raw[:40]!r}")
    return Request(text, _filters(rd), int(raw))


def _query(req: Request, number: int | None = None) -> str:
    f = req.filters
    goal = f.goal[len(v.SDG):] if f.goal else None  # the number: shorter, and as accepted
    place = f.place.rsplit("/", 1)[-1] if f.place else None
    pairs = [("q", req.text), ("type", f.type), ("goal", goal), ("place", place)]
    pairs += [("lang", f.lang), ("page", str(number) if number and number > 1 else None)]
    return urlencode([(k, val) for k, val in pairs if val])


@bp.get("/search")
@bp.get("/search.<ext>")
def search(ext: str | None = None) -> Response:
    if ext is not None:
        fmt: Format | None = next((f for f in DOC_FORMATS if f.extension == ext), None)
        if fmt is None:
            return error_response(404, f"search results are not offered as .{ext[:20]}")
        negotiated = False
    else:
        try:
            fmt, negotiated = negotiate(DOC_FORMATS, request.headers.get("Accept")), True
        except NotAcceptable:
            return not_acceptable(DOC_FORMATS)
    snap = snapshot()
    rd = site().release_data(snap.release)
    try:
        req = _parse(rd, need_text=False)
        size = max(1, site().limits.search_page_size)
        # Without words: the form in HTML, an empty results page in RDF (every link to
        # /search dereferences in every format).
        page = None if fmt is HTML else Page([], 0, 0, size)
        if req.text:
            page = index_of(rd).search(req.text, req.filters, (req.number - 1) * size, size,
                                       snippets=fmt is HTML)
    except (BadSearch, QueryError) as exc:
        return error_response(400, str(exc), fmt, negotiated=negotiated)
    last = max(1, -(-page.total // size)) if page else 1
    if req.number > last:
        return error_response(404, f"there is no page {req.number} of these results", fmt)
    here = _query(req, req.number)
    links = [Link(f"{root()}/search.{f.extension}?{here}", "alternate", f.media_type)
             for f in RDF_FORMATS]
    for rel, n in _nav(req.number, last).items():
        links.append(Link(f"{root()}/search?{_query(req, n)}", rel))
    if fmt is HTML:
        body = _html(snap, rd, req, page, last, links)
    else:
        iri = f"{rd.base}/search?{_query(req, req.number)}"
        triples = _triples(iri, req, page, rd, last) if page is not None else []
        body = to_bytes(triples, fmt, rd.base, rd.base + "/context.jsonld", iri)
    tag = hashlib.sha256(_query(req, req.number).encode()).hexdigest()[:16]
    return represent(body, fmt, rd, f"search-{fmt.extension}-{tag}", negotiated=negotiated,
                     links=links)


def _nav(number: int, last: int) -> dict[str, int]:
    out = {"first": 1, "last": last}
    if number > 1:
        out["prev"] = number - 1
    if number < last:
        out["next"] = number + 1
    return out


def snippet_html(hit: Hit) -> Markup:
    """The index's snippet with its matches as ``<mark>``; everything else escaped."""
    text = str(escape(hit.snippet))
    return Markup(text.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


class ShownHit(NamedTuple):
    """One hit as the page shows it. Not a dict: Jinja looks a name up as an attribute
    first, and a dict's failed attribute lookup (an exception per name) made about half
    of a 50-hit page's rendering; a named tuple is also quicker to make than a frozen
    dataclass."""

    href: str
    external: bool
    label: str
    lang: str
    type: str
    snippet: Markup


def _html(
    snap: Snapshot, rd: ReleaseData, req: Request, page: Page | None, last: int,
    links: Sequence[Link],
) -> bytes:
    mount = root()
    hits = []
    for hit in page.hits if page else []:
        local = rd.local(hit.iri)
        hits.append(ShownHit(
            href=f"{mount}{local}" if local else hit.iri, external=local is None,
            label=hit.label, lang=hit.lang, type=TYPE_NAMES.get(hit.type, hit.type),
            snippet=snippet_html(hit),
        ))
    nav = [
        (rel, text, f"{root()}/search?{_query(req, n)}" if n is not None else None)
        for rel, text, n in (
            ("prev", "Previous", req.number - 1 if req.number > 1 else None),
            ("next", "Next", req.number + 1 if req.number < last else None),
        )
    ]
    formats = [{"href": link.href, "type": link.type, "label": f.label}
               for link, f in zip(links, RDF_FORMATS, strict=False)]
    html = render_template(
        "search.html", req=req, page=page, hits=hits, last=last, nav=nav, types=TYPE_NAMES,
        languages=LANGUAGES, formats=formats, alternates=links[: len(RDF_FORMATS)],
        site=rd.dataset(snap),
    )
    return html.encode("utf-8")


def _triples(iri: str, req: Request, page: Page, rd: ReleaseData, last: int) -> list[Triple]:
    """The page as a schema:SearchResultsPage and a Hydra collection of its hits."""
    node, rdf_type = NamedNode(iri), NamedNode(v.RDF_TYPE)
    view = NamedNode(iri)
    out = [
        Triple(node, rdf_type, NamedNode(v.SCHEMA + "SearchResultsPage")),
        Triple(node, rdf_type, NamedNode(HYDRA + "Collection")),
        Triple(node, rdf_type, NamedNode(HYDRA + "PartialCollectionView")),
        Triple(node, NamedNode(v.RDFS_LABEL), Literal(
            f"Search results for {req.text}" if req.text else "Search: give the words as ?q="
        )),
        Triple(node, NamedNode(HYDRA + "totalItems"),
               Literal(str(page.total), datatype=NamedNode(v.XSD + "integer"))),
        Triple(node, NamedNode(v.DCTERMS + "isPartOf"), NamedNode(rd.iris.dataset)),
    ]
    for hit in page.hits:
        member = NamedNode(hit.iri)
        out.append(Triple(node, NamedNode(HYDRA + "member"), member))
        label = Literal(hit.label, language=hit.lang) if hit.lang else Literal(hit.label)
        out.append(Triple(member, NamedNode(v.RDFS_LABEL), label))
    names = {"first": "first", "prev": "previous", "next": "next", "last": "last"}
    for rel, n in _nav(req.number, last).items():
        out.append(Triple(view, NamedNode(HYDRA + names[rel]),
                          NamedNode(f"{rd.base}/search?{_query(req, n)}")))
    return out


@bp.get("/search/suggest")
def suggest() -> Response:
    """OpenSearch suggestions: ``[query, [labels], [descriptions], [urls]]``."""
    snap = snapshot()
    rd = site().release_data(snap.release)
    try:
        req = _parse(rd, need_text=True)
        hits = index_of(rd).suggest(req.text, req.filters, SUGGEST_LIMIT)
    except (BadSearch, QueryError) as exc:
        return _json({"error": {"status": 400, "message": str(exc)}}, "application/json", 400)
    body = [
        req.text,
        [h.label for h in hits],
        [TYPE_NAMES.get(h.type, h.type) for h in hits],
        [h.iri for h in hits],
    ]
    return _json(body, SUGGESTIONS)


def _json(data: object, media: str, status: int = 200) -> Response:
    resp = Response(json.dumps(data, ensure_ascii=False), status=status, content_type=media)
    resp.cache_control.public = True
    resp.cache_control.max_age = 60
    return resp


@bp.get("/opensearch.xml")
def opensearch() -> Response:
    """The OpenSearch 1.1 description (with the suggestions URL), for browsers."""
    snap = snapshot()
    rd = site().release_data(snap.release)
    base = xml_escape(request.host_url.rstrip("/") + root(), {'"': "&quot;"})
    title = rd.dataset(snap).title
    urls = "".join(
        f'  <Url type="{media}" method="get" template="{base}{path}"/>\n'
        for media, path in (
            ("text/html", "/search?q={searchTerms}"),
            (SUGGESTIONS, "/search/suggest?q={searchTerms}"),
            ("application/ld+json", "/search.jsonld?q={searchTerms}"),
        )
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">\n'
        f"  <ShortName>{xml_escape(title[:16])}</ShortName>\n"
        f"  <Description>Search {xml_escape(title)}: pledges, places, organisations, "
        "programmes and the SDGs</Description>\n"
        "  <InputEncoding>UTF-8</InputEncoding>\n"
        f"{urls}"
        f'  <Url type="{OPENSEARCH}" rel="self" template="{base}/opensearch.xml"/>\n'
        "</OpenSearchDescription>\n"
    )
    return Response(xml, content_type=f"{OPENSEARCH}; charset=utf-8")
