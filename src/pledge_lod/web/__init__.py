"""The Flask app: Linked Data for people and programs, read-only, from one release.

``create_app`` wires the pieces: the store (opened read-only by each worker), the
routes of :mod:`.routes`, the SPARQL endpoint's blueprint, request guards, the headers
every response gets, and error handlers that never let a traceback reach a client.
``web`` reads data only through :mod:`pledge_lod.store`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from ..config import Settings
from ..release.history import History
from ..sparql import create_blueprint
from ..store import (
    ReleaseGone,
    Store,
    StoreError,
    StoreUnavailable,
    TimeTravelUnavailable,
    open_store,
)
from . import openapi, reconcile, routes, search
from .caches import ResponseCache
from .http import error_response, finish
from .site import PageLimits, Site, site

PACKAGE = Path(__file__).resolve().parent.parent
MAX_SEGMENT = 256
log = logging.getLogger("pledge_lod.web")


def create_app(settings: Settings, store: Store | None = None) -> Flask:
    """The WSGI app for ``settings``; opens the store unless one is given. Each part
    gets the settings it reads: the pages their limits, the request guard its sizes,
    the response cache its budget, the OpenAPI description the limits it states."""
    app = Flask(
        "pledge_lod",
        template_folder=str(PACKAGE / "templates"),
        static_folder=str(PACKAGE / "static"),
        static_url_path="/static",
    )
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    #: The settings the app was made with, for tools and tests (no part reads them here).
    app.config["PLEDGE_LOD_SETTINGS"] = settings
    if store is None:
        store = open_store(settings)
    history = History.open(settings.releases_dir)
    app.extensions["pledge_lod"] = Site(PageLimits.from_settings(settings), store, history)

    app.register_blueprint(routes.bp)
    app.register_blueprint(search.bp)  # /search, /search/suggest, /opensearch.xml
    app.register_blueprint(reconcile.bp)  # /reconcile: Reconciliation Service API 0.2
    app.register_blueprint(create_blueprint(settings, store))
    openapi.register(app, openapi.ApiLimits.from_settings(settings))  # /openapi.json
    app.context_processor(_site_context)
    app.before_request(RequestGuard(settings.max_url_bytes, settings.max_request_bytes))
    app.after_request(finish)
    app.after_request(_kept_once_recorded)
    _register_error_handlers(app)

    if settings.response_cache_bytes > 0:
        # Innermost WSGI layer (a server's ProxyFix goes around it): repeat requests for
        # documents get the app's own complete answers back without running Flask.
        app.wsgi_app = ResponseCache(  # type: ignore[method-assign]
            app.wsgi_app, store, settings.response_cache_bytes, routes.CACHEABLE_ROOTS
        )
    return app


def _kept_once_recorded(resp: Response) -> Response:
    """``no-store`` on what a release not yet recorded as a version answers
    (:meth:`Site.awaiting_record`): no cache, this app's or another, keeps it."""
    snap = g.get("pledge_lod_snapshot")
    if snap is not None and site().awaiting_record(snap.release.id):
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _site_context() -> dict[str, object]:
    """The footer's licence, when this request already read the release."""
    snap = g.get("pledge_lod_snapshot")
    if snap is None:
        return {}
    try:
        return {"site": site().release_data(snap.release).dataset(snap)}
    except StoreError:  # pragma: no cover - the page renders without it
        return {}


class RequestGuard:
    """Refuse what no route should ever see: over-long URLs and bodies (every route
    reads at most ``max_request_bytes``), dot segments, NUL, backslashes, encoded
    slashes, over-long segments. Werkzeug's routing and the manifest lookups would
    refuse them too; this answers early and plainly."""

    def __init__(self, max_url_bytes: int, max_request_bytes: int):
        self.max_url_bytes = max_url_bytes
        self.max_request_bytes = max_request_bytes

    def __call__(self) -> Response | None:
        raw = (
            request.environ.get("RAW_URI")
            or request.environ.get("REQUEST_URI")
            or request.full_path
        )
        if len(raw) > self.max_url_bytes:
            return error_response(414, f"the URL is longer than {self.max_url_bytes} bytes")
        length = request.content_length
        if (
            length is not None
            and length > self.max_request_bytes
            and not request.path.startswith("/sparql")  # the endpoint says it its own way
        ):
            return error_response(
                413, f"the request body is {length} bytes; at most "
                f"{self.max_request_bytes} are accepted"
            )
        return None if _plain_path(request.path, raw) else error_response(404, "no such resource")


def _plain_path(path: str, raw: str) -> bool:
    """No NUL, backslash, encoded slash, dot segment or over-long segment."""
    lowered = raw.split("?", 1)[0].lower()
    if "\x00" in path or "\\" in path or any(s in lowered for s in ("%2f", "%5c", "%00")):
        return False
    segments = path.split("/")
    return not any(seg in (".", "..") or len(seg) > MAX_SEGMENT for seg in segments)


def _register_error_handlers(app: Flask) -> None:
    """Errors in the format asked for, and never a traceback to a client."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if exc.code is None or exc.code < 400:  # pragma: no cover - redirects raised as errors
            return exc.get_response()
        keep = {
            k: val
            for k, val in exc.get_headers()
            if k.lower() not in ("content-type", "content-length")
        }
        message = exc.description or exc.name
        return error_response(exc.code, message, headers=keep)

    @app.errorhandler(StoreUnavailable)
    def _unavailable(exc: StoreUnavailable) -> Response:
        log.warning("store unavailable: %s", exc)
        return error_response(
            503,
            "the data store is not available right now; try again shortly",
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.errorhandler(TimeTravelUnavailable)
    def _no_time_travel(exc: TimeTravelUnavailable) -> Response:
        return error_response(501, str(exc))

    @app.errorhandler(ReleaseGone)
    def _gone(exc: ReleaseGone) -> Response:
        return error_response(410, f"{exc}; its TimeMap lists the mementos still kept")

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> Response:
        log.exception("error serving %s %s", request.method, request.path)
        return error_response(500, "something went wrong on our side; it has been logged")


__all__ = ["create_app"]
