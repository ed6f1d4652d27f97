"""The home page, things (``/id/...``: 303 to their document) and their documents
(``/doc/...``: negotiated, or fixed by an extension)."""

from __future__ import annotations

from flask import Response, redirect

from ...http.formats import DOC_FORMATS, HTML, RDF_FORMATS, Format
from ...http.negotiation import split_ext
from ...rdf import vocab as v
from .. import pages
from ..documents import Description, describe, valid_slug
from ..home import home_context
from ..http import Link, alternates, error_response, not_acceptable, represent, root
from ..memento import had_past, original_links
from ..site import ReleaseData, Rendered, site
from .common import (
    bp,
    built,
    cached_rendering,
    choose,
    embedded_jsonld,
    format_links,
    graph_triples,
    html,
    rdf_bytes,
    release_now,
    void_rendered,
)

# -- home ------------------------------------------------------------------------------------


@bp.get("/")
def home() -> Response:
    snap, rd = release_now()
    fmt, _negotiated = choose(None, DOC_FORMATS)
    links = [
        *alternates("/.well-known/void", RDF_FORMATS),
        Link(f"{root()}/.well-known/void", "describedby", "text/turtle"),
    ]
    if fmt is None:
        return not_acceptable(DOC_FORMATS, links)
    if fmt is not HTML:
        rendered = void_rendered(snap, rd, fmt)
        return represent(
            rendered.body,
            fmt,
            rd,
            f"home-{fmt.extension}",
            negotiated=True,
            content_location=f"{root()}/.well-known/void.{fmt.extension}",
            links=links,
        )

    def make() -> Rendered:
        triples = graph_triples(snap, rd, "void")
        return Rendered(
            html(
                "home.html",
                **home_context(snap, rd, root()),
                jsonld=embedded_jsonld(triples, rd),
                alternates=links[:-1],
            ),
            HTML.content_type,
        )

    rendered = cached_rendering((rd.release.id, root(), "/", "html"), make)
    return represent(rendered.body, fmt, rd, "home-html", negotiated=True, links=links)


# -- things and their documents ---------------------------------------------------------------


@bp.get("/id/<any(" + ",".join(v.KINDS) + "):kind>/<slug>")
def thing(kind: str, slug: str) -> Response:
    """303 See Other to the document (Cool URIs for the Semantic Web, section 4.3)."""
    snap, rd = release_now()
    if not valid_slug(slug) or not (
        rd.ask(snap, rd.queries.exists, rd.iris.thing(kind, slug))
        or had_past(f"/doc/{kind}/{slug}", rd)  # its document says it is gone
    ):
        return error_response(404, f"there is no {kind} {slug!r} in this dataset")
    target = f"{root()}/doc/{kind}/{slug}"
    resp = redirect(target, code=303)
    resp.vary.add("Accept")
    resp.headers["Link"] = Link(target, "describedby").header()
    resp.cache_control.public = True
    resp.cache_control.max_age = 3600
    return resp


@bp.get("/doc/<any(" + ",".join(v.KINDS) + "):kind>/<name>")
def document(kind: str, name: str) -> Response:
    slug, ext_fmt = split_ext(name, DOC_FORMATS)
    snap, rd = release_now()
    path = f"/doc/{kind}/{slug}"
    fmt, negotiated = choose(ext_fmt, DOC_FORMATS)
    links = alternates(path, DOC_FORMATS, skip=ext_fmt)
    if fmt is None:
        return not_acceptable(DOC_FORMATS, links)
    if not valid_slug(slug):
        return error_response(
            404, f"there is no {kind} {slug!r} in this dataset", fmt, negotiated=negotiated
        )
    limits = site().limits
    desc: Description | None = built(
        (rd.release.id, path),
        lambda: describe(snap, rd, kind, slug, limits.backlink_limit, limits.page_size,
                         site().history),
    )
    if desc is None:
        return _missing(rd, kind, slug, name, fmt, negotiated)
    links.append(Link(f"{root()}/id/{kind}/{slug}", "describes"))
    links += original_links(rd, f"/doc/{kind}/{name}")
    if desc.listing:
        links.append(
            Link(root() + desc.listing, "related", "text/html", "Its pledges, page by page")
        )

    def make() -> Rendered:
        if fmt is HTML:
            labels = rd.term_labels(snap)
            view = pages.resource_view(desc, rd, root(), labels)
            body = html(
                "resource.html",
                view=view,
                desc=desc,
                kind=kind,
                jsonld=embedded_jsonld(desc.triples, rd, desc.thing),
                alternates=alternates(path, RDF_FORMATS),
                formats=format_links(path, RDF_FORMATS),
            )
            return Rendered(body, fmt.content_type)
        return Rendered(rdf_bytes(desc.triples, fmt, rd, desc.thing), fmt.content_type)

    rendered = cached_rendering((rd.release.id, root(), path, fmt.key), make)
    return represent(
        rendered.body,
        fmt,
        rd,
        fmt.extension,
        negotiated=negotiated,
        content_location=f"{root()}{path}.{fmt.extension}",
        links=links,
    )


def _missing(
    rd: ReleaseData, kind: str, slug: str, name: str, fmt: Format, negotiated: bool
) -> Response:
    """404, or 410 Gone with the links to its past when a kept release still has it."""
    if had_past(f"/doc/{kind}/{slug}", rd):
        gone = ", ".join(link.header() for link in original_links(rd, f"/doc/{kind}/{name}"))
        return error_response(
            410, f"the {kind} {slug!r} was removed from this dataset; its earlier versions "
            "are listed in its TimeMap (see the Link header)", fmt,
            negotiated=negotiated, headers={"Link": gone},
        )
    return error_response(
        404, f"there is no {kind} {slug!r} in this dataset", fmt, negotiated=negotiated
    )
