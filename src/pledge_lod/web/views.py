"""The routes: dereferencing, documents, listings, feeds and the dataset's self-description.

=================================  =====================================================
``/``                               home page (RDF: the dataset description)
``/id/{kind}/{slug}``               a thing: 303 See Other to its document
``/doc/{kind}/{slug}[.ext]``        the document about it (conneg, or fixed by .ext)
``/pledges``, ``/{facet}/{slug}``   paged listings (see :mod:`.listings`), ``.atom`` feeds
``/def/pledge[.ext]``               the ontology (and ``/def/pledge/{version}``)
``/def/shapes[.ext]``               the SHACL shapes
``/.well-known/void[.ext]``         VoID and DCAT
``/context.jsonld``                 the JSON-LD context documents refer to
``/dumps/{file}``                   the release's dumps, exactly the files it lists
``/sitemap.xml``, ``/sitemaps/..``  the release's sitemap (index)
``/robots.txt``                     with the Sitemap line
``/graph/{name}``                   a named graph's IRI: 303 to what describes it
=================================  =====================================================

Extensions: ``.html``, ``.ttl``, ``.jsonld``, ``.nt``, ``.rdf`` (and ``.atom`` on listings).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, send_file
from markupsafe import Markup
from pyoxigraph import Triple

from ..http.conneg import (
    ATOM,
    DOC_FORMATS,
    HTML,
    JSONLD,
    LISTING_FORMATS,
    RDF_FORMATS,
    TEXT,
    Format,
    negotiate,
    split_ext,
)
from ..rdf import vocab as v
from ..release.layout import DUMP_FORMATS
from ..store import Snapshot
from . import pages
from .context import context_document
from .documents import Description, describe, valid_slug
from .home import home_context
from .http import Link, alternates, error_response, not_acceptable, represent, root
from .listings import ALL, FACETS, Facet, NoSuchPage, Page, atom, build_page
from .serialize import jsonld, ordered, script_safe, to_bytes
from .site import ReleaseData, Rendered, site, snapshot

bp = Blueprint("web", __name__)

_MISSING = object()
_PAGE_RE = re.compile(r"^[1-9][0-9]{0,8}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
_MEDIA_BY_SUFFIX = {
    ".gz": "application/gzip",
    **{name[len("pledges") :]: media for name, media in DUMP_FORMATS.values()},
}


#: First path segments of the routes whose answers are pure functions of the release,
#: path, query and Accept (plus the conditional headers, through :func:`.http.represent`):
#: :mod:`.response_cache` replays them. Not the SPARQL endpoint, files or static assets.
#: A route added here must read nothing else of the request.
CACHEABLE_ROOTS: frozenset[str] = frozenset(
    {"", "id", "doc", "pledges", "def", ".well-known", "context.jsonld", "robots.txt", "graph"}
    | set(FACETS)
)


class BadRequest(Exception):
    """A query-string value we cannot use; answered 400 with the message."""


def page_number() -> int:
    """``?page=N``: a whole number from 1; anything else is the client's mistake (400)."""
    values = request.args.getlist("page")
    if not values:
        return 1
    if len(values) > 1:
        raise BadRequest("give ?page= once")
    raw = values[0]
    if not _PAGE_RE.match(raw):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise BadRequest(f"page must be a whole number from 1 to 999999999, not {shown!r}")
    return int(raw)


def _ctx() -> tuple[Snapshot, ReleaseData]:
    snap = snapshot()
    return snap, site().release_data(snap.release)


def _context_url(rd: ReleaseData) -> str:
    return rd.base + "/context.jsonld"


def _choose(ext_fmt: Format | None, formats: Sequence[Format]) -> tuple[Format | None, bool]:
    if ext_fmt is not None:
        return ext_fmt, False
    return negotiate(request.accept_mimetypes, formats), True


def _cached(key: tuple[Any, ...], make: Callable[[], Rendered]) -> Rendered:
    """A rendered representation from the worker's LRU, made on a miss. Keys start with
    the release id, so a new release never meets an old rendering."""
    return site().rendered.get_or_make(key, make)


def _object(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """A built document/page, shared by all its formats (also remembers "not found")."""
    cache = site().objects
    found = cache.get(key)
    if found is None:
        found = cache.put(key, _MISSING if (made := make()) is None else made)
    return None if found is _MISSING else found


def _html(template: str, **context: Any) -> bytes:
    return render_template(template, **context).encode("utf-8")


def _rdf(
    triples: Sequence[Triple], fmt: Format, rd: ReleaseData, first: str | None = None
) -> bytes:
    return to_bytes(triples, fmt, rd.base, _context_url(rd), first)


def _embedded(triples: Sequence[Triple], rd: ReleaseData, first: str | None = None) -> Markup:
    """JSON-LD for a ``<script type="application/ld+json">``: escaped for that spot by
    :func:`script_safe` (HTML-escaping would corrupt the JSON, so it is marked safe)."""
    return Markup(script_safe(jsonld(triples, rd.base, _context_url(rd), first)))


# -- home ------------------------------------------------------------------------------------


@bp.get("/")
def home() -> Response:
    snap, rd = _ctx()
    fmt, _negotiated = _choose(None, DOC_FORMATS)
    links = [
        *alternates("/.well-known/void", RDF_FORMATS),
        Link(f"{root()}/.well-known/void", "describedby", "text/turtle"),
    ]
    if fmt is None:
        return not_acceptable(DOC_FORMATS, links)
    if fmt is not HTML:
        rendered = _void_rendered(snap, rd, fmt)
        return represent(
            rendered.body,
            fmt,
            rd,
            f"home-{fmt.ext}",
            negotiated=True,
            content_location=f"{root()}/.well-known/void.{fmt.ext}",
            links=links,
        )

    def make() -> Rendered:
        triples = _graph(snap, rd, "void")
        return Rendered(
            _html(
                "home.html",
                **home_context(snap, rd, root()),
                jsonld=_embedded(triples, rd),
                alternates=links[:-1],
            ),
            HTML.content_type,
        )

    rendered = _cached((rd.release.id, root(), "/", "html"), make)
    return represent(rendered.body, fmt, rd, "home-html", negotiated=True, links=links)


# -- things and their documents ---------------------------------------------------------------


@bp.get("/id/<any(" + ",".join(v.KINDS) + "):kind>/<slug>")
def thing(kind: str, slug: str) -> Response:
    """303 See Other to the document (Cool URIs for the Semantic Web, section 4.3)."""
    snap, rd = _ctx()
    if not valid_slug(slug) or not rd.ask(snap, rd.queries.exists, rd.iris.thing(kind, slug)):
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
    snap, rd = _ctx()
    path = f"/doc/{kind}/{slug}"
    fmt, negotiated = _choose(ext_fmt, DOC_FORMATS)
    links = alternates(path, DOC_FORMATS, skip=ext_fmt)
    if fmt is None:
        return not_acceptable(DOC_FORMATS, links)
    if not valid_slug(slug):
        return error_response(
            404, f"there is no {kind} {slug!r} in this dataset", fmt, negotiated=negotiated
        )
    settings = site().settings
    desc: Description | None = _object(
        (rd.release.id, path),
        lambda: describe(snap, rd, kind, slug, settings.backlink_limit, settings.page_size),
    )
    if desc is None:
        return error_response(
            404, f"there is no {kind} {slug!r} in this dataset", fmt, negotiated=negotiated
        )
    links.append(Link(f"{root()}/id/{kind}/{slug}", "describes"))
    if desc.listing:
        links.append(
            Link(root() + desc.listing, "related", "text/html", "Its pledges, page by page")
        )

    def make() -> Rendered:
        if fmt is HTML:
            labels = rd.term_labels(snap)
            view = pages.resource_view(desc, rd, root(), labels)
            body = _html(
                "resource.html",
                view=view,
                desc=desc,
                kind=kind,
                jsonld=_embedded(desc.triples, rd, desc.thing),
                alternates=alternates(path, RDF_FORMATS),
                formats=_format_links(path, RDF_FORMATS),
            )
            return Rendered(body, fmt.content_type)
        return Rendered(_rdf(desc.triples, fmt, rd, desc.thing), fmt.content_type)

    rendered = _cached((rd.release.id, root(), path, fmt.name), make)
    return represent(
        rendered.body,
        fmt,
        rd,
        fmt.ext,
        negotiated=negotiated,
        content_location=f"{root()}{path}.{fmt.ext}",
        links=links,
    )


def _format_links(path: str, formats: Sequence[Format], query: str = "") -> list[dict[str, str]]:
    return [
        {"href": f"{root()}{path}.{f.ext}{query}", "label": f.label, "type": f.media_type}
        for f in formats
    ]


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
    snap, rd = _ctx()
    fmt, negotiated = _choose(ext_fmt, LISTING_FORMATS)
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
    size = max(1, site().settings.page_size)
    try:
        page: Page | None = _object(
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
    ext = f".{ext_fmt.ext}" if ext_fmt else ""
    for rel, n in page.nav().items():
        links.append(Link(f"{root()}{path}{ext}?page={n}", rel))
    if fmt is not ATOM:
        links.append(Link(f"{root()}{path}.atom", "alternate", ATOM.media_type, "Atom feed"))

    def make() -> Rendered:
        if fmt is ATOM:
            return Rendered(atom(page, rd, rd.dataset(snap)), ATOM.content_type)
        if fmt is HTML:
            labels = rd.term_labels(snap)
            view = pages.listing_view(
                page, rd, root(), labels, lambda n: f"{root()}{path}?page={n}"
            )
            feed = f"{root()}{path}.atom"
            body = _html(
                "listing.html",
                view=view,
                page=page,
                feed=feed,
                jsonld=_embedded(ordered(page.triples, rd.base + path), rd, rd.base + path),
                alternates=[
                    *alternates(path, RDF_FORMATS, query=query),
                    Link(feed, "alternate", ATOM.media_type, "Atom feed"),
                ],
                formats=_format_links(path, (*RDF_FORMATS, ATOM), query),
            )
            return Rendered(body, fmt.content_type)
        coll = rd.base + path
        return Rendered(_rdf(ordered(page.triples, coll), fmt, rd, coll), fmt.content_type)

    rendered = _cached((rd.release.id, root(), path, fmt.name, number, size), make)
    return represent(
        rendered.body,
        fmt,
        rd,
        f"{fmt.ext}-p{number}",
        negotiated=negotiated,
        content_location=f"{root()}{path}.{fmt.ext}{query}",
        links=links,
    )


# -- vocabulary, shapes, VoID -------------------------------------------------------------------


def _graph(snap: Snapshot, rd: ReleaseData, name: str) -> list[Triple]:
    key = (rd.release.id, "graph", name)
    return _object(key, lambda: ordered(snap.construct(rd.queries.graph(name))))


def _void_rendered(snap: Snapshot, rd: ReleaseData, fmt: Format) -> Rendered:
    made = _cached(
        (rd.release.id, root(), "/.well-known/void", fmt.name),
        lambda: Rendered(_rdf(_graph(snap, rd, "void"), fmt, rd), fmt.content_type),
    )
    return made


@bp.get("/.well-known/<name>")
def void(name: str) -> Response:
    stem, ext_fmt = split_ext(name, DOC_FORMATS)
    if stem != "void":
        return error_response(404, f"nothing at /.well-known/{name}")
    return _self_description(
        "/.well-known/void",
        "void",
        ext_fmt,
        "void.html",
        lambda triples, rd, labels: {"view": pages.void_view(triples, rd, root(), labels)},
    )


@bp.get("/def/<name>")
def definitions(name: str) -> Response:
    stem, ext_fmt = split_ext(name, DOC_FORMATS)
    if stem == "pledge":
        return _self_description(
            "/def/pledge",
            "ontology",
            ext_fmt,
            "ontology.html",
            _ontology_context,
        )
    if stem == "shapes":
        return _self_description(
            "/def/shapes",
            "shapes",
            ext_fmt,
            "shapes.html",
            lambda triples, rd, labels: {
                "shapes": pages.shapes_view(triples, rd, root(), labels),
                "meta": pages.graph_meta(triples, rd.iris.shapes),
            },
        )
    return error_response(404, f"nothing is defined at /def/{name}")


def _ontology_context(triples: list[Triple], rd: ReleaseData, labels: dict[str, str]) -> dict:
    meta, terms = pages.ontology_view(triples, rd, root(), labels)
    return {"meta": meta, "terms": terms, "namespace": rd.iris.vocab}


@bp.get("/def/pledge/<version>")
def ontology_version(version: str) -> Response:
    """The version IRI of the ontology: the current version answers with the ontology."""
    snap, rd = _ctx()
    triples = _graph(snap, rd, "ontology")
    wanted = f"{rd.iris.ontology}/{version}"
    if not any(
        t.predicate.value == v.OWL + "versionIRI" and t.object.value == wanted for t in triples
    ):
        return error_response(404, f"there is no version {version!r} of the vocabulary here")
    return definitions("pledge")


def _self_description(
    path: str,
    graph: str,
    ext_fmt: Format | None,
    template: str,
    view: Callable[[list[Triple], ReleaseData, dict[str, str]], dict[str, Any]],
) -> Response:
    snap, rd = _ctx()
    fmt, negotiated = _choose(ext_fmt, DOC_FORMATS)
    links = alternates(path, DOC_FORMATS, skip=ext_fmt)
    if fmt is None:
        return not_acceptable(DOC_FORMATS, links)
    triples = _graph(snap, rd, graph)

    def make() -> Rendered:
        if fmt is HTML:
            context = view(triples, rd, rd.term_labels(snap))
            body = _html(
                template,
                **context,
                jsonld=_embedded(triples, rd),
                path=path,
                alternates=alternates(path, RDF_FORMATS),
                formats=_format_links(path, RDF_FORMATS),
            )
            return Rendered(body, fmt.content_type)
        return Rendered(_rdf(triples, fmt, rd), fmt.content_type)

    rendered = _cached((rd.release.id, root(), path, fmt.name), make)
    return represent(
        rendered.body,
        fmt,
        rd,
        f"{graph}-{fmt.ext}",
        negotiated=negotiated,
        content_location=f"{root()}{path}.{fmt.ext}",
        links=links,
    )


@bp.get("/context.jsonld")
def context() -> Response:
    _snap, rd = _ctx()
    body = context_document(rd.base)
    return represent(body, JSONLD, rd, "context", negotiated=False)


@bp.get("/graph/<name>")
def named_graph(name: str) -> Response:
    """A named graph's IRI (they appear in the SPARQL service description): 303 to the
    document that describes or holds it."""
    targets = {
        "data": "/.well-known/void",
        "void": "/.well-known/void",
        "sdg-kos": "/.well-known/void",
        "ontology": "/def/pledge",
        "shapes": "/def/shapes",
    }
    if name not in targets:
        return error_response(404, f"there is no graph {name!r}")
    resp = redirect(root() + targets[name], code=303)
    resp.vary.add("Accept")
    return resp


# -- files of the release ---------------------------------------------------------------------


def _release_file(name: str, media: str, tag: str) -> Response:
    snap, rd = _ctx()
    try:
        path = snap.release.file(name)
    except KeyError:
        return error_response(404, f"this release has no file {name!r}")
    resp = send_file(
        path,
        mimetype=media,
        conditional=True,
        etag=f"{rd.release.id}-{tag}",
        last_modified=rd.created,
        max_age=300,
    )
    resp.cache_control.public = True
    return resp


@bp.get("/dumps/<name>")
def dump(name: str) -> Response:
    """A dump, exactly as the release wrote it. ``.gz`` files are served as
    ``application/gzip`` *without* Content-Encoding: the file is the gzip file that the
    DCAT description (dcat:compressFormat) announces and its checksum covers; with
    Content-Encoding, browsers and HTTP libraries would unpack it on the fly and save a
    file named ``.gz`` that is not gzip."""
    if not _FILE_RE.match(name) or f"dumps/{name}" not in snapshot().release.files:
        return error_response(404, f"there is no dump {name!r}; see /.well-known/void for the list")
    suffix = "." + name.rsplit(".", 1)[-1]
    media = _MEDIA_BY_SUFFIX.get(suffix, "application/octet-stream")
    return _release_file(f"dumps/{name}", media, f"dump-{name}")


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    return _release_file("sitemap.xml", "application/xml", "sitemap")


@bp.get("/sitemaps/<name>")
def sitemap_part(name: str) -> Response:
    if not _FILE_RE.match(name):
        return error_response(404, f"there is no sitemap {name!r}")
    return _release_file(f"sitemaps/{name}", "application/xml", f"sitemap-{name}")


@bp.get("/robots.txt")
def robots() -> Response:
    _snap, rd = _ctx()
    text = f"User-agent: *\nDisallow: /sparql\nAllow: /\nSitemap: {rd.base}/sitemap.xml\n"
    return represent(text.encode(), TEXT, rd, "robots", negotiated=False)
