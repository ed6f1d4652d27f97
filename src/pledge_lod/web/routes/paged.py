"""Paged listings (all pledges, and by facet: goal, place, programme...) and their
Atom feeds (see :mod:`pledge_lod.web.listings`)."""

from __future__ import annotations

from flask import Response, request

from ...http.formats import ATOM, HTML, LISTING_FORMATS, RDF_FORMATS, Format
from ...http.negotiation import split_ext
from ...store import Snapshot
from .. import pages
from ..http import Link, alternates, error_response, not_acceptable, represent, root
from ..listings import ALL, FACETS, Facet, NoSuchPage, Page, atom, build_page
from ..serialize import ordered
from ..site import ReleaseData, Rendered, site
from .common import (
    BadRequest,
    bp,
    built,
    cached_rendering,
    choose,
    embedded_jsonld,
    format_links,
    html,
    page_number,
    rdf_bytes,
    release_now,
)

# -- listings and feeds -----------------------------------------------------------------------


@bp.get("/pledges")
@bp.get("/pledges.<ext>")
def all_pledges(ext: str | None = None) -> Response:
    if ext is not None:
        _name, fmt = split_ext("pledges." + ext, LISTING_FORMATS)
        if fmt is None:
            return error_response(
                404, f"no format {ext!r}: use one of .html .ttl .jsonld .nt .rdf .atom"
            )
        return _listing(ALL, None, fmt)
    return _listing(ALL, None, None)


@bp.get("/<any(" + ",".join(FACETS) + "):facet>/<name>")
def listing(facet: str, name: str) -> Response:
    slug, ext_fmt = split_ext(name, LISTING_FORMATS)
    return _listing(FACETS[facet], slug, ext_fmt)


def _listing(facet: Facet, slug: str | None, ext_fmt: Format | None) -> Response:
    snap, rd = release_now()
    fmt, negotiated = choose(ext_fmt, LISTING_FORMATS)
    path = facet.path(slug)
    try:
        number = page_number()
    except BadRequest as exc:
        return error_response(400, str(exc), fmt, negotiated=negotiated)
    query = f"?page={number}" if "page" in request.args else ""
    links = alternates(path, LISTING_FORMATS, query=query, skip=ext_fmt)
    if fmt is None:
        return not_acceptable(LISTING_FORMATS, links)
    if slug is not None and not facet.valid(slug):
        return error_response(
            404, f"there is no {facet.name} {slug!r} in this dataset", fmt, negotiated=negotiated
        )
    size = max(1, site().limits.page_size)
    try:
        page: Page | None = built(
            (rd.release.id, path, number, size),
            lambda: build_page(snap, rd, facet, slug, number, size),
        )
    except NoSuchPage:
        return error_response(
            404, f"there is no page {number} of {path}", fmt, negotiated=negotiated
        )
    if page is None:
        return error_response(
            404, f"there is no {facet.name} {slug!r} in this dataset", fmt, negotiated=negotiated
        )
    ext = f".{ext_fmt.extension}" if ext_fmt else ""
    for rel, n in page.nav().items():
        links.append(Link(f"{root()}{path}{ext}?page={n}", rel))
    if fmt is not ATOM:
        links.append(Link(f"{root()}{path}.atom", "alternate", ATOM.media_type, "Atom feed"))

    def make() -> Rendered:
        return _render(page, fmt, snap, rd, path, query)

    rendered = cached_rendering((rd.release.id, root(), path, fmt.key, number, size), make)
    return represent(
        rendered.body,
        fmt,
        rd,
        f"{fmt.extension}-p{number}",
        negotiated=negotiated,
        content_location=f"{root()}{path}.{fmt.extension}{query}",
        links=links,
    )


def _render(
    page: Page, fmt: Format, snap: Snapshot, rd: ReleaseData, path: str, query: str
) -> Rendered:
    """One page of a listing in ``fmt``: the feed, the HTML page or RDF."""
    if fmt is ATOM:
        return Rendered(atom(page, rd, rd.dataset(snap)), ATOM.content_type)
    if fmt is HTML:
        labels = rd.term_labels(snap)
        view = pages.listing_view(
            page, rd, root(), labels, lambda n: f"{root()}{path}?page={n}"
        )
        feed = f"{root()}{path}.atom"
        body = html(
            "listing.html",
            view=view,
            page=page,
            feed=feed,
            jsonld=embedded_jsonld(ordered(page.triples, rd.base + path), rd, rd.base + path),
            alternates=[
                *alternates(path, RDF_FORMATS, query=query),
                Link(feed, "alternate", ATOM.media_type, "Atom feed"),
            ],
            formats=format_links(path, (*RDF_FORMATS, ATOM), query),
        )
        return Rendered(body, fmt.content_type)
    coll = rd.base + path
    return Rendered(rdf_bytes(ordered(page.triples, coll), fmt, rd, coll), fmt.content_type)
