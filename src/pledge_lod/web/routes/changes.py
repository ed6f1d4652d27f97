"""The release history (:mod:`..changes`): ``/changes`` for people, its Atom feed, the
Linked Data Event Stream, and the files the VoID/DCAT version chain names
(``/releases/{n}``, its dump and its changeset).

The history grows only when a build records a version, so answers carry an ETag of the
latest version (not of the current release: the build records the version just after
switching the release) and a short max-age.
"""

from __future__ import annotations

import re

from flask import Response, redirect, request, send_file

from ...http.formats import ATOM, DATASET_FORMATS, HTML, RDF_FORMATS, Format
from ...release.history import Version
from ...release.layout import DUMP_FORMATS, ReleaseInfo
from .. import changes as ch
from .. import memento as mm
from ..http import alternates, error_response, not_acceptable, root
from ..site import site
from .common import BadRequest, bp, choose, html, page_number, rdf_bytes, release_now

#: Every page is offered in every RDF format too, as every document is (the formats of
#: triples carry the LDES's members and relations; TriG and N-Quads also their states).
_CHANGES_FORMATS: tuple[Format, ...] = (HTML, *RDF_FORMATS, ATOM)
_ROOT_FORMATS: tuple[Format, ...] = (*DATASET_FORMATS, HTML, *RDF_FORMATS)
_NODE_FORMATS: tuple[Format, ...] = (HTML, *DATASET_FORMATS, *RDF_FORMATS)
_HISTORY_FORMATS: tuple[Format, ...] = (HTML, *RDF_FORMATS)
_IRI_RE = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s<>\"{}|\\^`]{1,2000}$", re.IGNORECASE)


def _answer(body: bytes, fmt: Format, tag: str, negotiated: bool) -> Response:
    latest = site().history.latest()
    resp = Response(body, content_type=fmt.content_type)
    resp.set_etag(f"v{latest.number if latest else 0}-{tag}")
    resp.cache_control.public = True
    resp.cache_control.max_age = 60
    if negotiated:
        resp.vary.add("Accept")
    return resp.make_conditional(request)


def _version(number: int) -> Version:
    found = site().history.version(number)
    if found is None:
        raise _NoVersion(f"there is no version {number}; /changes lists them all")
    return found


class _NoVersion(Exception):
    pass


@bp.errorhandler(_NoVersion)
def _no_version(exc: _NoVersion) -> Response:
    return error_response(404, str(exc))


@bp.get("/changes")
@bp.get("/changes.atom")
def changes() -> Response:
    """Every version, newest first, paged; or (Atom) the newest page of them."""
    fixed = ATOM if request.path.endswith(".atom") else None
    fmt, negotiated = choose(fixed, _CHANGES_FORMATS)
    if fmt is None:
        return not_acceptable(_CHANGES_FORMATS)
    try:
        number = page_number()
    except BadRequest as exc:
        return error_response(400, str(exc), fmt if fmt is HTML else None)
    snap, rd = release_now()
    history = site().history
    newest_first = list(reversed(history.versions()))
    per = ch.VERSIONS_PER_PAGE
    last = max(1, -(-len(newest_first) // per))
    if number > last:
        return error_response(404, f"there are {last} pages of versions", None)
    shown = newest_first[(number - 1) * per : number * per]
    if fmt in RDF_FORMATS:
        triples = ch.default_graph(ch.root_node(rd.base, history.versions()))
        return _answer(rdf_bytes(triples, fmt, rd), fmt, f"changes-{fmt.key}", negotiated)
    if fmt is ATOM:
        kept = {ver.number for ver in shown if history.changeset_path(ver.number)
                or history.archived_changeset_path(ver.number)}
        body = ch.atom(rd.base, rd.dataset(snap), shown, kept)
        return _answer(body, fmt, f"changes-atom-{number}", negotiated)
    nav = []
    if number > 1:
        nav.append(("prev", "Newer versions", f"{root()}/changes?page={number - 1}"))
    if number < last:
        nav.append(("next", "Older versions", f"{root()}/changes?page={number + 1}"))
    views = [ch.version_view(rd, root(), history, ver) for ver in shown]
    body = html("changes.html", title="Changes to the dataset", versions=views, nav=nav,
                single=False, root=root())
    resp = _answer(body, fmt, f"changes-html-{number}", negotiated)
    resp.headers["Link"] = ", ".join(link.header() for link in [
        *alternates("/changes", (ATOM,))])
    return resp


@bp.get("/changes/ldes")
def ldes_root() -> Response:
    """The root node of the Linked Data Event Stream."""
    fmt, negotiated = choose(None, _ROOT_FORMATS)
    if fmt is None:
        return not_acceptable(_ROOT_FORMATS)
    if fmt is HTML:
        return changes()  # the same versions, for people
    _snap, rd = release_now()
    quads = ch.root_node(rd.base, site().history.versions())
    if fmt in RDF_FORMATS:
        body = rdf_bytes(ch.default_graph(quads), fmt, rd)
    else:
        body = ch.dataset_bytes(quads, fmt.key)
    return _answer(body, fmt, f"ldes-{fmt.key}", negotiated)


@bp.get("/changes/<int:number>")
def version_page(number: int) -> Response:
    """One version's changes, page by page (``?after=`` an IRI): its LDES node in TriG
    or N-Quads, or a page for people."""
    fmt, negotiated = choose(None, _NODE_FORMATS)
    if fmt is None:
        return not_acceptable(_NODE_FORMATS)
    after = request.args.get("after")
    if after is not None and not _IRI_RE.match(after):
        return error_response(400, "after must be the IRI of a resource (the last one on "
                                   "the previous page)", fmt if fmt is HTML else None)
    ver = _version(number)
    _snap, rd = release_now()
    history = site().history
    quads, page = ch.version_node(rd.base, history, ver, after)
    tag = f"node-{number}-{fmt.key}-{after or ''}"
    if fmt in RDF_FORMATS:
        return _answer(rdf_bytes(ch.default_graph(quads), fmt, rd), fmt, tag, negotiated)
    if fmt is not HTML:
        return _answer(ch.dataset_bytes(quads, fmt.key), fmt, tag, negotiated)
    view = ch.version_view(rd, root(), history, ver, shown=0)
    view = ch.VersionView(view.number, view.created, view.release_id, view.summary,
                          ch.touched(rd, root(), page), view.total, view.href)
    nav = []
    if len(page) == ch.CHANGES_PER_PAGE:
        nav.append(("next", "More changes",
                    ch.node_url(root(), number, page[-1].iri)))
    body = html("changes.html", title=f"Version {number}", versions=[view], nav=nav,
                single=True, root=root())
    return _answer(body, fmt, tag, negotiated)


@bp.get("/releases/<int:number>")
def release_version(number: int) -> Response:
    """A version's IRI (the DCAT version chain names it): 303 to its changes."""
    _version(number)
    resp = redirect(f"{root()}/changes/{number}", code=303)
    resp.cache_control.public = True
    resp.cache_control.max_age = 3600
    return resp


@bp.get("/releases/<int:number>/changes.rdfp.gz")
def changeset(number: int) -> Response:
    """A version's RDF Patch, gzipped, as the history keeps it (application/gzip, no
    Content-Encoding: the file is the gzip file the DCAT distribution describes)."""
    _version(number)
    history = site().history
    path = history.changeset_path(number) or history.archived_changeset_path(number)
    if path is None:
        return error_response(410, f"version {number}'s changeset is not kept any more")
    resp = send_file(path, mimetype="application/gzip", conditional=True,
                     etag=f"changeset-{number}", max_age=86400)
    resp.cache_control.public = True
    return resp


@bp.get("/releases/<int:number>/dumps/<name>")
def version_dump(number: int, name: str) -> Response:
    """A version's dump, from its release folder while it is kept (410 after)."""
    ver = _version(number)
    files = {f for f, _media in DUMP_FORMATS.values()}
    if name not in files:
        return error_response(404, f"there is no dump {name!r}; one of {', '.join(sorted(files))}")
    _snap, rd = release_now()
    if rd.release.id == ver.release_id:  # the current version's: on every backend
        release: ReleaseInfo | None = rd.release
    elif not mm.can_travel(site().store):
        return error_response(501, "the dumps of earlier versions are served from the "
                                   "embedded store's release folders")
    else:
        release = {info.id: info for info in site().store.kept_releases()}.get(ver.release_id)
    if release is None:
        return error_response(410, f"version {number}'s release is not kept any more; its "
                                   f"changes are at /changes/{number}")
    media = {f: m for f, m in DUMP_FORMATS.values()}[name]
    resp = send_file(release.file(f"dumps/{name}"), mimetype=media, conditional=True,
                     etag=f"{ver.release_id}-dump-{name}", max_age=86400)
    resp.cache_control.public = True
    return resp


@bp.get("/history/doc/<kind>/<slug>")
def resource_history(kind: str, slug: str) -> Response:
    """The versions that changed one resource, each with its memento while kept."""
    fmt, negotiated = choose(None, _HISTORY_FORMATS)
    if fmt is None:
        return not_acceptable(_HISTORY_FORMATS)
    _snap, rd = release_now()
    original = mm.original_of(f"doc/{kind}/{slug}")
    if original is None or original.slug != slug:
        return error_response(404, f"there is no {kind} {slug!r} with a history here", fmt)
    versions = ch.resource_versions(site().history, rd.release, rd.iris.thing(kind, slug))
    if not versions:
        return error_response(404, f"no recorded version changed the {kind} {slug!r}", fmt)
    if fmt is not HTML:
        page = rd.base + ch.history_path(kind, slug)
        triples = ch.default_graph(ch.resource_quads(rd.base, versions, page,
                                                     rd.iris.thing(kind, slug)))
        return _answer(rdf_bytes(triples, fmt, rd), fmt, f"history-{kind}-{slug}-{fmt.key}",
                       negotiated)
    kept = {}
    if mm.can_travel(site().store):
        kept = {m.version: m for m in mm.mementos_of(site().store, original, rd) if m.kept}
    links = mm.Links(rd.base, original)
    # The version the current release shows links the document itself, not a memento.
    current = versions[-1][0].number if versions[-1][1].kind != "deleted" else None
    rows = [{"number": ver.number, "created": ver.created, "kind": change.kind,
             "added": len(change.added), "removed": len(change.removed),
             "current": ver.number == current,
             "href": f"{root()}/doc/{kind}/{slug}" if ver.number == current
             else root() + mm.memento_path(kept[ver.number], original)
             if ver.number in kept else None}
            for ver, change in versions]
    body = html("resource_history.html", title=f"{kind} {slug}", rows=rows, root=root(),
                doc=f"{root()}/doc/{kind}/{slug}", timemap=links.timemap_url)
    return _answer(body, fmt, f"history-{kind}-{slug}-html", negotiated)
