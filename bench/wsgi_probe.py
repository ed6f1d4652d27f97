"""What one cached document costs the app in Python, with no HTTP and no load generator.

    python -m bench.wsgi_probe RELEASES HOT_PATHS [--requests N]

Calls the real app (``pledge_lod.web.create_app``) and the floor app through the same
WSGI test client, in one process that does nothing else, for the hot set in every
format, and prints one JSON line: microseconds per request for each. The difference is
the app's own per-request work (routing, negotiation, cache lookup, headers); it bounds
what the app can serve per core whatever the server around it, which is what limits the
dereferencing ratio when it is missed.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from werkzeug.test import Client

from . import floor_app
from .deref import FORMATS


def per_request_us(client: Client, paths: list[str], accept: str, requests: int) -> float:
    """Mean microseconds per GET, after one warm-up pass over ``paths``."""
    headers = {"Accept": accept, "X-Bench-Set": "hot"}
    for path in paths:
        client.get(path, headers=headers).close()
    started = time.perf_counter()
    for i in range(requests):
        response = client.get(paths[i % len(paths)], headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{paths[i % len(paths)]} ({accept}): {response.status_code}")
        response.close()
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("releases", type=Path)
    parser.add_argument("paths", type=Path)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    from pledge_lod.config import Settings
    from pledge_lod.web import create_app

    paths = [p for p in args.paths.read_text(encoding="utf-8").splitlines() if p]
    apps: dict[str, Callable] = {
        "app": create_app(Settings(releases_dir=args.releases)),
        "floor": floor_app.application,
    }
    out = {
        fmt: {name: round(per_request_us(Client(app), paths, accept, args.requests), 1)
              for name, app in apps.items()}
        for fmt, accept in FORMATS.items()
    }  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()
