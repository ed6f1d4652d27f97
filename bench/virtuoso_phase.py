"""A private Virtuoso loaded by ``pledge-lod publish``, then the SPARQL mix on it directly
and through the app's remote backend, beside the app on the embedded store."""

from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .context import QUERY_TIMEOUT_S, START_TIMEOUT_S, Context, say, start_app
from .procs import BenchError, Server, free_port, run_measured, sample_tree, wait_http
from .sparql_mix import JSON_RESULTS
from .virtuoso_mix import Dataset, Virtuoso, new_virtuoso
from .virtuoso_mix import measure as measure_virtuoso

#: Triples per Graph Store request of ``pledge-lod publish`` (its default).
PUBLISH_CHUNK = 50_000


def virtuoso_phase(
    ctx: Context,
    releases: Path,
    release: Path,
    triples: int,
    queries: list,
    work: Path,
) -> dict[str, Any]:
    """A private Virtuoso loaded by ``pledge-lod publish``, then the mix on it directly and
    through the app on the remote backend, interleaved with the app on the embedded store.
    Virtuoso and both apps are stopped before returning, on every path."""
    args = ctx.args
    if args.no_virtuoso:
        return {"measured": False, "note": "left out (--no-virtuoso)"}
    if args.virtuoso_max_triples and triples > args.virtuoso_max_triples:
        return {"measured": False, "note": (
            f"left out: {triples:,} triples is beyond --virtuoso-max-triples "
            f"({args.virtuoso_max_triples:,})")}  # fmt: skip
    store = new_virtuoso(work / "virtuoso", triples, QUERY_TIMEOUT_S)
    out: dict[str, Any] = {"measured": True, "buffers": store.buffers}
    apps: list[Server] = []
    try:
        say("  Virtuoso: starting a private instance")
        started = time.monotonic()
        store.start(timeout=START_TIMEOUT_S)
        out["start_s"] = round(time.monotonic() - started, 2)
        out["version"] = _virtuoso_version(store.query_url)
        say("  Virtuoso: pledge-lod publish")
        out["publish"] = _publish(ctx, store, releases, triples)
        say(f"  Virtuoso: {out['publish']['triples']:,} triples published in "
            f"{out['publish']['wall_s']:.1f} s; running the mix")  # fmt: skip
        dataset = Dataset.current(store.query_url)
        if dataset.release != release.name:
            raise BenchError(f"Virtuoso serves release {dataset.release}, not {release.name}")
        remote = {"PLEDGE_LOD_BACKEND": "remote", "PLEDGE_LOD_REMOTE_QUERY_URL": store.query_url,
                  "PLEDGE_LOD_REMOTE_TIMEOUT_S": str(QUERY_TIMEOUT_S),
                  "PLEDGE_LOD_RELEASES_DIR": str(releases)}  # fmt: skip
        for env in (remote, None):
            apps.append(start_app(ctx, releases, free_port(), work, env))
        for app in apps:
            wait_http(app, "/sparql?query=ASK%7B%7D", START_TIMEOUT_S, JSON_RESULTS)
        on_virtuoso, embedded = apps
        timings = measure_virtuoso(queries, embedded.port, on_virtuoso.port, store.http_port,
                                   dataset, args.sparql_runs, args.sparql_budget,
                                   timeout_s=QUERY_TIMEOUT_S)  # fmt: skip
        out["queries"] = [t.to_json() for t in timings]
        assert store.process is not None
        tree = sample_tree(store.process.pid)
        out["rss_mb"] = max(tree.rss_mb.values()) if tree else None
    finally:
        for app in apps:
            ctx.servers.stop(app)
        say("  Virtuoso: stopping")
        store.stop(timeout=60)
    return out


def _virtuoso_version(query_url: str) -> str:
    """Virtuoso's version, from the Server header of its answers."""
    url = query_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
    request = urllib.request.Request(url, headers={"Accept": JSON_RESULTS})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return resp.headers.get("Server", "")


def _publish(ctx: Context, store: Virtuoso, releases: Path, triples: int) -> dict[str, Any]:
    """``pledge-lod publish --to`` the instance, as a deployment would (credentials in the
    environment, off the command line); wall time and the triples it verified."""
    argv = [ctx.python, "-m", "pledge_lod", "publish", "--to", store.query_url, "--releases",
            str(releases), "--timeout", str(QUERY_TIMEOUT_S), "--chunk", str(PUBLISH_CHUNK)]
    env = {**ctx.env, "PLEDGE_LOD_REMOTE_USER": store.user,
           "PLEDGE_LOD_REMOTE_PASSWORD": store.password}  # fmt: skip
    done = run_measured(argv, 300 + triples * 0.0002, env)
    if done.returncode != 0:
        raise BenchError(f"pledge-lod publish failed ({done.returncode}): "
                         f"{done.stderr.strip()[-800:]}\n{store.log_tail(10)}")  # fmt: skip
    verified = re.search(r"all (\d+) triples verified", done.stderr)
    if verified is None:
        raise BenchError(f"pledge-lod publish did not verify the load: {done.stderr[-800:]}")
    return {"wall_s": round(done.wall_s, 2), "triples": int(verified.group(1)),
            "peak_rss_mb": round(done.max_rss_mb), "chunk": PUBLISH_CHUNK}  # fmt: skip

