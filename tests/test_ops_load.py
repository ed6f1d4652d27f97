"""Load: ``pledge-lod serve`` (gunicorn, as in production) against a load generator in a
second process, mixing dereferencing in every format, ``/id/`` redirects, conditional
requests, listings, Atom feeds, the self-description and SPARQL. No request may fail;
p50/p99 are printed and written to ``ops-load.json`` in the test's folder.

The test runs 24 clients for 10 s; with ``PLEDGE_LOD_LONG=1`` it is the long run (32
clients, 60 s); ``PLEDGE_LOD_LOAD_CLIENTS`` and ``PLEDGE_LOD_LOAD_SECONDS``
change either, and ``PLEDGE_LOD_LOAD_RESULT=FILE`` keeps the long run's JSON.

SPARQL: the server allows ``max_queries_per_client`` (2) queries at once per client
address and runs ``max_concurrent_queries`` (2) per worker; every generator thread comes
from 127.0.0.1, i.e. one client, so the generator sends at most 2 at once and is never
refused. Refusals (429/503) would be counted apart from failures, and must be zero too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support.gunicorn import gunicorn_server, load_result, start_load, summary

pytestmark = pytest.mark.slow  # the slow tier: gunicorn under load

LONG = os.environ.get("PLEDGE_LOD_LONG") == "1"


def run_load(releases: Path, folder: Path, clients: int, seconds: float) -> dict:
    out = folder / "ops-load.json"
    with gunicorn_server(releases, folder / "server.log") as server:
        proc = start_load(server.url, out, clients=clients, duration=seconds)
        result = load_result(proc, out, timeout=seconds + 120)
        log = server.log_text()
    print("\nload:", summary(result))
    print("load: p99 by kind (ms):", json.dumps({k: round(v, 1) for k, v in
                                                  result["kind_p99_ms"].items()}))
    assert result["failures"] == 0, json.dumps(result["failure_samples"][:10], indent=1)
    assert result["sparql_refused"] == 0, result["status"]
    assert result["requests"] >= 10 * seconds, summary(result)  # it really was load
    for kind in ("document", "document_ext", "redirect", "conditional", "listing", "feed",
                 "self", "sparql"):
        assert result["by_kind"].get(kind, 0) > 0, (kind, result["by_kind"])
    assert result["status"].get("304", 0) > 0, "conditional requests were answered 304"
    assert result["plan"]["docs"] >= 50 and result["plan"]["listings"] >= 5, result["plan"]
    assert "Traceback" not in log and "[ERROR]" not in log, log[-3000:]
    return result


def test_load_fails_no_request(releases_dir: Path, tmp_path: Path) -> None:
    """24 clients for 10 s; with PLEDGE_LOD_LONG=1, the long run (32 clients, 60 s)."""
    clients = int(os.environ.get("PLEDGE_LOD_LOAD_CLIENTS", "32" if LONG else "24"))
    seconds = float(os.environ.get("PLEDGE_LOD_LOAD_SECONDS", "60" if LONG else "10"))
    result = run_load(releases_dir, tmp_path, clients, seconds)
    keep = os.environ.get("PLEDGE_LOD_LOAD_RESULT")
    if keep:
        result.pop("watch", None)
        Path(keep).write_text(json.dumps(result, indent=1), encoding="utf-8")
