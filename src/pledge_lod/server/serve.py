"""``pledge-lod serve``: gunicorn in production, the Flask server with ``--dev``.

Before anything listens, the release is checked in this process: no release, a damaged
one, or a base that differs from the one it was built for is a one-line message and exit
code 1, not a traceback from every worker. Workers then open the store themselves
(``preload_app=False``): each has its own read-only Oxigraph handle and caches.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..config import Settings
from ..store import ReleaseError, StoreUnavailable, UnknownBackend, check_store


class ServeError(Exception):
    """Why the server cannot start; the message is for the person running it."""


def check_release(settings: Settings, base_given: bool) -> str:
    """The base of the release that will be served; ServeError if it cannot be.

    The store's backend checks what it would serve (:func:`pledge_lod.store.check_store`).
    Nothing to serve: refuse to start. The store unreachable: start anyway (workers answer
    503 until it is back) and say so."""
    try:
        release = check_store(settings)
    except (ReleaseError, UnknownBackend) as exc:
        raise ServeError(str(exc)) from exc
    except StoreUnavailable as exc:
        print(f"pledge-lod serve: warning: {exc}; serving 503 until it answers",
              file=sys.stderr, flush=True)  # fmt: skip
        return settings.base
    except ValueError as exc:  # settings the backend cannot use (no store URL, say)
        raise ServeError(str(exc)) from exc
    if base_given and release.base.rstrip("/") != settings.base.rstrip("/"):
        raise ServeError(
            f"the release in {settings.releases_dir} was built for base {release.base}, not "
            f"{settings.base}: rebuild it with `pledge-lod build --base {settings.base} "
            f"--releases {settings.releases_dir}` or drop --base"
        )
    return release.base


def _app_factory(settings: Settings):
    """The app as a server runs it: behind ``proxy_hops`` trusted reverse proxies, the
    client's address (for the per-client SPARQL limit and the access log) is taken from
    their ``X-Forwarded-For``; with none, a client cannot choose its own address."""
    from ..web import create_app

    app = create_app(settings)
    if settings.proxy_hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    return app


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gthread workers: each worker serves ``threads`` requests at once from one store
    handle and one cache. ``timeout`` is the silent-worker limit (gthread heartbeats
    while requests run); requests themselves are bounded by the store's limits.

    The worker class is gthread with one change (:mod:`.gunicorn_worker`): a connection gets
    a thread only once its whole request has arrived, so clients that send slowly cannot
    hold the threads; they get 408 after ``request_read_timeout_s``."""
    from .gunicorn_worker import worker_class

    options: dict[str, Any] = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": max(1, settings.workers),
        "worker_class": worker_class(settings.request_read_timeout_s, settings.max_request_bytes),
        "threads": max(1, settings.threads),
        "timeout": 60,
        "graceful_timeout": 15,
        "keepalive": 5,
        "preload_app": False,
        "limit_request_line": min(8190, max(1024, settings.max_url_bytes + 512)),
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "pledge-lod",
        "control_socket_disable": True,
    }
    if os.path.isdir("/dev/shm"):
        options["worker_tmp_dir"] = "/dev/shm"
    return options


def run_gunicorn(settings: Settings) -> None:  # pragma: no cover - exercised by live tests
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def __init__(self, options: dict[str, Any]):
            self.options = options
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key.lower(), value)

        def load(self):
            return _app_factory(settings)

    Application(gunicorn_options(settings)).run()


def run_dev(settings: Settings) -> None:  # pragma: no cover - interactive
    app = _app_factory(settings)
    app.run(host=settings.host, port=settings.port, threaded=True, debug=False, use_reloader=False)


def serving_line(base: str, host: str, port: int, dev: bool) -> str:
    """What is served where: the address once when the IRIs are minted on it; else both
    (behind a proxy, ``https://data.example.org/`` answered on ``127.0.0.1:8080``)."""
    where = f"http://{host}:{port}/"
    site = base.rstrip("/") + "/"
    server = "Flask development server" if dev else "gunicorn"
    if site == where:
        return f"serving {where} ({server})"
    return f"serving the IRIs of {site} on {where} ({server})"


def serve(settings: Settings, *, dev: bool = False, base_given: bool = False) -> int:
    """Check the release, then serve until interrupted. Returns the exit code."""
    try:
        base = check_release(settings, base_given)
    except ServeError as exc:
        print(f"pledge-lod serve: {exc}", file=sys.stderr)
        return 1
    print(f"pledge-lod serve: {serving_line(base, settings.host, settings.port, dev)}",
          file=sys.stderr, flush=True)
    if dev:
        run_dev(settings)
    else:
        run_gunicorn(settings)
    return 0
