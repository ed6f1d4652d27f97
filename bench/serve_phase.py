"""The app served under gunicorn beside the floor app: dereferencing loads, the SPARQL
mix over HTTP, then the app's own cost per request without HTTP (``wsgi_probe``)."""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

from .context import QUERY_TIMEOUT_S, START_TIMEOUT_S, Context, say, start_app
from .deref import FORMATS, interleaved, mean_body_bytes, run_load
from .procs import BenchError, Server, TreeSampler, free_port, port_is_free, wait_http
from .sparql_mix import QueryTiming, measure_mix


def serve_and_measure(
    ctx: Context,
    releases: Path,
    port: int,
    work: Path,
    files: dict[str, Path],
    samples: dict[str, list[str]],
    queries: list,
    release: Path,
    result: dict[str, Any],
) -> list[QueryTiming]:
    """Start the server and the floor, run the dereferencing loads and the SPARQL mix."""
    args = ctx.args
    if not port_is_free(port):
        port = free_port()  # the release does not depend on the port it is served on
    app = start_app(ctx, releases, port, work)
    startup = wait_http(app, samples["hot"][0], START_TIMEOUT_S, FORMATS["ttl"])
    sampler = TreeSampler(interval_s=0.5)
    sampler.start(app.pid)
    try:
        sizes = {name: {accept: mean_body_bytes(port, docs, accept) for accept in FORMATS.values()}
                 for name, docs in samples.items()}  # fmt: skip
        floor = start_floor(ctx, sizes, work)
        wait_http(floor, "/bytes/2", START_TIMEOUT_S)
        result["deref"] = {name: _deref_set(ctx, name, port, floor.port, files[name], sizes[name])
                           for name in ("hot", "random")}  # fmt: skip
        say("  SPARQL mix: HTTP, engine, floor")
        timings = measure_mix(queries, port, floor.port, release / "store", args.sparql_runs,
                              args.sparql_budget, timeout_s=QUERY_TIMEOUT_S + 30)  # fmt: skip
    finally:
        sampler.stop()
    result["server"] = {
        "startup_s": round(startup, 3),
        "web_workers": sampler.count_at_depth(1),
        "web_worker_peak_rss_mb": sampler.peak_rss_by_depth(1),
        "query_worker_peak_rss_mb": sampler.peak_rss_by_depth(2),
        "tree_peak_pss_mb": sampler.peak_pss_mb(),
    }
    ctx.servers.stop_all()
    say("  per-request cost in-process (WSGI, no HTTP)")
    result["wsgi_probe"] = _wsgi_probe(ctx, releases, files["hot"], sizes["hot"])
    return timings


def _wsgi_probe(
    ctx: Context, releases: Path, hot: Path, sizes: dict[str, int]
) -> dict[str, dict[str, float]]:
    """µs per cached document for the app and the floor, same client, no HTTP: the
    app's own share of each request, which bounds its throughput per core."""
    argv = [ctx.python, "-m", "bench.wsgi_probe", str(releases), str(hot), "--requests",
            str(max(200, 200 * ctx.args.duration))]  # fmt: skip
    env = {**ctx.env, "BENCH_FLOOR_SIZES": json.dumps({"hot": sizes})}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"wsgi_probe failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_floor(ctx: Context, sizes: dict[str, dict[str, int]], work: Path) -> Server:
    port = free_port()
    argv = [ctx.python, "-m", "bench.floor_app", "--port", str(port), "--workers",
            str(ctx.args.workers), "--threads", str(ctx.args.threads)]  # fmt: skip
    env = {**ctx.env, "BENCH_FLOOR_SIZES": json.dumps(sizes)}
    return ctx.servers.start("floor", argv, port, work / "floor.log", env)


def _deref_set(
    ctx: Context, name: str, port: int, floor_port: int, paths: Path, sizes: dict[str, int]
) -> dict[str, Any]:
    """Each format loaded on the server, then at once on the floor (noise hits both)."""
    args = ctx.args
    out: dict[str, Any] = {}
    for fmt, accept in FORMATS.items():
        say(f"  dereferencing, {name} set, {fmt}")
        if name == "hot":  # fill the server's document cache first; the floor has none
            run_load(ctx.tool, port, paths, accept, name, max(1, min(2, args.duration // 2)),
                     args.connections, args.wrk_threads)  # fmt: skip
        app, floor, ratios = interleaved(ctx.tool, (port, floor_port), paths, accept, name,
                                         args.duration, args.load_rounds, args.connections,
                                         args.wrk_threads)  # fmt: skip
        out[fmt] = {"bytes": sizes[accept], "app": app.to_json(), "floor": floor.to_json(),
                    "ratio": round(statistics.median(ratios), 3),
                    "round_ratios": [round(r, 3) for r in ratios]}  # fmt: skip
    return out

