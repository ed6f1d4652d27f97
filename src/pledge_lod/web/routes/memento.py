"""Time travel (RFC 7089): TimeGates, mementos and TimeMaps of documents and dumps.

What is an original resource, how mementos are named and which exist: :mod:`..memento`.
A memento is the current route's own answer, made from the pinned release's snapshot
(the request's snapshot is set to it before the route runs), with the Memento headers
in place of the current document's links.
"""

from __future__ import annotations

from flask import Response, g, request

from ...http.formats import LINK_FORMAT
from ...store import TimeTravelUnavailable
from .. import memento as mm
from ..http import error_response
from ..site import site
from . import files, things
from .common import bp, release_now


def _original(path: str) -> mm.Original:
    found = mm.original_of(path)
    if found is None:
        raise _NotTravelling(f"/{path} has no past here: {mm.WHAT_TRAVELS}")
    return found


class _NotTravelling(Exception):
    """A path time travel is not offered for, or a resource no kept release holds."""


@bp.errorhandler(_NotTravelling)
def _not_travelling(exc: _NotTravelling) -> Response:
    return error_response(404, str(exc))


@bp.errorhandler(mm.BadDatetime)
def _bad_datetime(exc: mm.BadDatetime) -> Response:
    resp = error_response(400, str(exc))
    resp.vary.add("Accept-Datetime")
    return resp


def _timeline(path: str) -> tuple[mm.Original, list[mm.Memento], mm.Links]:
    """The original at ``path``, its mementos, pruned ones included (404 when none is
    kept), and its links. ``path`` may also be the original's absolute URL, as Memento
    aggregators write TimeGate URLs (``/timegate/http://host/doc/...``)."""
    store = site().store
    if not mm.can_travel(store):  # 501, before anything else
        raise TimeTravelUnavailable(mm.no_time_travel(store))
    _snap, rd = release_now()
    for prefix in (rd.base + "/", rd.base.replace("://", ":/", 1) + "/"):
        if path.startswith(prefix):  # (a proxy may merge the slashes after the scheme)
            path = path[len(prefix):]
            break
    original = _original(path)
    mementos = mm.mementos_of(site().store, original, rd)
    if not mm.kept_only(mementos):
        raise _NotTravelling(f"no kept release has /{path}")
    return original, mementos, mm.Links(rd.base, original)


@bp.get("/timegate/<path:path>")
def timegate(path: str) -> Response:
    """302 to the memento of the date in Accept-Datetime (RFC 7089 section 4.2.1)."""
    wanted = mm.parse_accept_datetime(request.headers.get("Accept-Datetime"))
    _orig, everything, links = _timeline(path)
    mementos = mm.kept_only(everything)
    chosen = mm.select(mementos, wanted)
    resp = Response(status=302)
    resp.headers["Location"] = links.memento_url(chosen)
    resp.headers["Link"] = links.header(mementos, chosen, timegate=False)
    resp.vary.add("Accept-Datetime")
    resp.cache_control.public = True
    resp.cache_control.max_age = 60
    return resp


@bp.get("/timemap/<path:path>")
def timemap(path: str) -> Response:
    """Every memento of one original resource (RFC 7089 section 5), always in the link
    format whatever the Accept header: it is the one serialisation the RFC defines."""
    _orig, everything, links = _timeline(path)
    resp = Response(links.timemap(mm.kept_only(everything)), content_type=LINK_FORMAT.content_type)
    resp.cache_control.public = True
    resp.cache_control.max_age = 60
    return resp


@bp.get("/memento/<stamp>/<path:path>")
def memento(stamp: str, path: str) -> Response:
    """The resource as it was in the release of ``stamp``; another second in the range
    of the mementos is redirected to the memento in force then, as web archives do."""
    moment = mm.parse_stamp(stamp)
    if moment is None:
        return error_response(404, f"{stamp!r} is not a memento datetime: give 14 digits, "
                                   "YYYYMMDDhhmmss, in UTC")
    original, everything, links = _timeline(path)
    chosen = mm.select(everything, moment)
    mementos = mm.kept_only(everything)
    if not chosen.kept:
        return _gone(chosen, mementos, links)
    if chosen.moment != moment:
        resp = Response(status=302)
        resp.headers["Location"] = links.memento_url(chosen)
        resp.headers["Link"] = links.header(mementos, chosen)
        resp.cache_control.public = True
        resp.cache_control.max_age = 60
        return resp
    g.pledge_lod_snapshot = site().store.pinned(chosen.release_id)
    if original.dump is not None:
        resp = files.dump(original.dump)
    else:
        assert original.kind is not None
        resp = things.document(original.kind, original.path.rsplit("/", 1)[1])
    if resp.status_code in (200, 304, 206):
        resp.headers["Memento-Datetime"] = chosen.http_date
        resp.headers["Link"] = links.header(mementos, chosen)
        resp.headers["Cache-Control"] = mm.IMMUTABLE
        resp.headers.pop("Expires", None)  # send_file's, for the current file's max-age
        if "Content-Location" in resp.headers:
            fixed = resp.headers["Content-Location"].replace("/doc/", f"/memento/{stamp}/doc/", 1)
            resp.headers["Content-Location"] = fixed
    return resp


def _gone(chosen: mm.Memento, mementos: list[mm.Memento], links: mm.Links) -> Response:
    """410: the version in force at that second is recorded, its release pruned; Link
    names the nearest memento still kept (and the TimeMap of them all)."""
    nearest = mm.nearest_kept(mementos, chosen)
    assert nearest is not None  # _timeline answered 404 when none is kept
    resp = error_response(
        410, f"version {chosen.version} of {chosen.http_date} is not kept any more; the "
        f"nearest one kept is {links.memento_url(nearest)}",
        headers={"Link": links.header(mementos, nearest)})
    return resp
