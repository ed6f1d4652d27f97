"""The floor: the same gunicorn setup as ``pledge-lod serve``, answering precomputed bytes.

Whatever the server does beyond this - routing, content negotiation, reading the store,
serialising, caching - is what the ratio "throughput / floor" measures. The options come
from :func:`pledge_lod.server.serve.gunicorn_options`, so the worker class, the number of
workers and threads, keep-alive and the access log are exactly the real server's.

Which bytes: ``BENCH_FLOOR_SIZES`` (JSON) maps a load set name (the ``X-Bench-Set``
request header) and an ``Accept`` value to a body size, so each format's load gets a
body as large as the real documents of that format; ``/bytes/N`` answers N bytes (the
SPARQL comparison uses it with each query's real response size). Bodies are built once
per size and reused.

    python -m bench.floor_app --port 18081 --workers 2 --threads 8
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_BYTES = 2048
MAX_BYTES = 64 * 1024 * 1024

_SIZES: dict[str, dict[str, int]] = json.loads(os.environ.get("BENCH_FLOOR_SIZES", "{}"))
_BODIES: dict[int, bytes] = {}


def _body(size: int) -> bytes:
    body = _BODIES.get(size)
    if body is None:
        body = _BODIES[size] = (b"x" * 63 + b"\n") * (size // 64) + b"x" * (size % 64)
    return body


for _table in _SIZES.values():  # precompute every configured body before any request
    for _size in _table.values():
        _body(int(_size))


def _size_for(environ: dict[str, Any]) -> int:
    path = environ.get("PATH_INFO", "")
    if path.startswith("/bytes/"):
        try:
            return max(0, min(MAX_BYTES, int(path[len("/bytes/") :])))
        except ValueError:
            return DEFAULT_BYTES
    table = _SIZES.get(environ.get("HTTP_X_BENCH_SET", ""), {})
    return int(table.get(environ.get("HTTP_ACCEPT", ""), DEFAULT_BYTES))


def application(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """Fixed bytes for any path: no routing, no negotiation, no store."""
    body = _body(_size_for(environ))
    accept = environ.get("HTTP_ACCEPT", "")
    ctype = accept if accept and "," not in accept and "*" not in accept else "text/plain"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def main() -> None:  # pragma: no cover - runs as the floor server's process
    from gunicorn.app.base import BaseApplication

    from pledge_lod.config import Settings
    from pledge_lod.server.serve import gunicorn_options

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=Settings.workers)
    parser.add_argument("--threads", type=int, default=Settings.threads)
    args = parser.parse_args()
    settings = Settings(host="127.0.0.1", port=args.port, workers=args.workers,
                        threads=args.threads)  # fmt: skip
    options = gunicorn_options(settings)
    options["proc_name"] = "pledge-lod-floor"

    class Floor(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings and value is not None:
                    self.cfg.set(key.lower(), value)

        def load(self) -> Callable[..., Any]:
            return application

    Floor().run()


if __name__ == "__main__":
    main()
