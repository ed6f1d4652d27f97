"""The Flask app: Linked Data for people and programs, read-only, from one release.

``create_app`` wires the pieces: the store (opened read-only by each worker), the
routes of :mod:`.views`, the SPARQL endpoint's blueprint, request guards, the headers
every response gets, and error handlers that never let a traceback reach a client.
``web`` reads data only through :mod:`pledge_lod.store`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from ..config import Settings
from ..sparql import create_blueprint
from ..store import Store, StoreError, StoreUnavailable, open_store
from . import reconcile, search, views
from .http import error_response, finish
from .response_cache import ResponseCache
from .site import Site

PACKAGE = Path(__file__).resolve().parent.parent
MAX_SEGMENT = 256
log = logging.getLogger("pledge_lod.web")


def create_app(settings: Settings, store: Store | None = None) -> Flask:
    """The WSGI app for ``settings``; opens the store unless one is given."""
    app = Flask(
        "pledge_lod",
        template_folder=str(PACKAGE / "templates"),
        static_folder=str(PACKAGE / "static"),
        static_url_path="/static",
    )
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    if store is None:
        store = open_store(settings)
    app.extensions["pledge_lod"] = Site(settings, store)

    app.register_blueprint(views.bp)
    app.register_blueprint(search.bp)  # /search, /search/suggest, /opensearch.xml
    app.register_blueprint(reconcile.bp)  # /reconcile: Reconciliation Service API 0.2
    app.register_blueprint(create_blueprint(settings, store))
    from .openapi import register as register_openapi

    register_openapi(app, settings)  # /openapi.json

    @app.context_processor
    def _site_context() -> dict[str, object]:
        """The footer's licence, when this request already read the release."""
        snap = g.get("pledge_lod_snapshot")
        if snap is None:
            return {}
        try:
            return {"site": app.extensions["pledge_lod"].release_data(snap.release).dataset(snap)}
        except StoreError:  # pragma: no cover - the page renders without it
            return {}

    @app.before_request
    def _guard() -> Response | None:
        """Refuse what no route should ever see: over-long URLs and bodies (every route
        reads at most ``max_request_bytes``), dot segments, NUL,
        backslashes, encoded slashes, over-long segments. Werkzeug's routing and the
        manifest lookups would refuse them too; this answers early and plainly."""
        raw = (
            request.environ.get("RAW_URI")
            or request.environ.get("REQUEST_URI")
            or request.full_path
        )
        if len(raw) > settings.max_url_bytes:
            return error_response(414, f"the URL is longer than {settings.max_url_bytes} bytes")
        length = request.content_length
        if (
            length is not None
            and length > settings.max_request_bytes
            and not request.path.startswith("/sparql")  # the endpoint says it its own way
        ):
            return error_response(
                413, f"the request body is {length} bytes; at most "
                f"{settings.max_request_bytes} are accepted"
            )
        path = request.path
        lowered = raw.split("?", 1)[0].lower()
        if (
            "\x00" in path
            or "\\" in path
            or "%2f" in lowered
            or "%5c" in lowered
            or "%00" in lowered
        ):
            return error_response(404, "no such resource")
        segments = path.split("/")
        if any(seg in (".", "..") for seg in segments) or any(
            len(seg) > MAX_SEGMENT for seg in segments
        ):
            return error_response(404, "no such resource")
        return None

    @app.after_request
    def _headers(resp: Response) -> Response:
        return finish(resp)

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

    @app.errorhandler(Exception)
    def _bug(exc: Exception) -> Response:
        log.exception("error serving %s %s", request.method, request.path)
        return error_response(500, "something went wrong on our side; it has been logged")

    if settings.response_cache_bytes > 0:
        # Innermost WSGI layer (a server's ProxyFix goes around it): repeat requests for
        # documents get the app's own complete answers back without running Flask.
        app.wsgi_app = ResponseCache(  # type: ignore[method-assign]
            app.wsgi_app, store, settings.response_cache_bytes, views.CACHEABLE_ROOTS
        )
    return app


__all__ = ["create_app"]
