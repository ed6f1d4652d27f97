"""The pledge_lod benchmark: one command, every figure of issue 5 from one run.

    .venv/bin/python -m bench --sizes 1000,10000,100000 [--full] [--out bench/out]
                               [--duration 10] [--connections 16] [--no-virtuoso]

For each size: synthesise data (fixed seed), build a release (time and peak memory per
stage), serve it under gunicorn next to the floor app (same gunicorn setup, precomputed
bytes), and measure from this process - a second process - on 127.0.0.1:

* dereferencing: req/s, p50, p99 per format, hot set and uniformly random, for the
  server and the floor, interleaved format by format (``deref.py``);
* the SPARQL mix over HTTP, in-process with pyoxigraph, on the floor, and on
  rdflib-endpoint serving the same dump (``sparql_mix.py``);
* the same mix on Virtuoso: a private instance (``tests/support/virtuoso.py``) loaded with
  ``pledge-lod publish --to``, queried directly and through our app on the remote backend,
  beside the embedded store (``virtuoso_mix.py``; ``--no-virtuoso`` leaves it out, and
  without Virtuoso installed the run stops at once rather than leave it out silently);
* a rebuild after one changed record (the re-validation target).

It writes the run's raw JSON to ``--out`` and inserts a section at the top of
``--results`` (bench/RESULTS.md; older sections are kept below). Every phase has a
time limit; every server runs in its own process group and is stopped on any exit.
Exit code 0 when every phase of every size completed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .build_phase import build, change_one_record, synthesize
from .deref import (
    FORMATS,
    document_paths,
    interleaved,
    load_tool,
    mean_body_bytes,
    pick_hot,
    run_load,
    write_paths,
)
from .procs import (
    BenchError,
    Server,
    Servers,
    TreeSampler,
    free_port,
    machine_info,
    port_is_free,
    run_measured,
    sample_tree,
    signals_raise,
    wait_http,
)
from .report import write_results
from .sparql_mix import (
    JSON_RESULTS,
    QueryTiming,
    first_existing,
    measure_mix,
    measure_rdflib,
    mix,
)
from .virtuoso_mix import Dataset, Virtuoso, missing, new_virtuoso
from .virtuoso_mix import measure as measure_virtuoso

HERE = Path(__file__).resolve().parent
FULL_SIZE = 1_000_000
START_TIMEOUT_S = 180.0
#: The query time limit of every server in the SPARQL phases (app, its remote backend,
#: Virtuoso's own MaxQueryExecutionTime): generous, the default 10 s would cut the mix
#: at 1M pledges, where Oxigraph takes about 4 minutes on the OPTIONAL-heavy page.
QUERY_TIMEOUT_S = 900
#: Triples per Graph Store request of ``pledge-lod publish`` (its default).
PUBLISH_CHUNK = 50_000
RANDOM_SIZE_SAMPLE = 50


@dataclass
class Context:
    """What every size's run shares: options, the servers registry, the work folder."""

    args: argparse.Namespace
    servers: Servers
    work: Path
    tool: str
    python: str
    env: dict[str, str]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from pledge_lod.config import Settings

    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000",
                   help="pledge counts, comma-separated (default: %(default)s)")
    p.add_argument("--full", action="store_true", help=f"add {FULL_SIZE:,} pledges")
    p.add_argument("--out", type=Path, default=HERE / "out", help="folder for the raw JSON")
    p.add_argument("--results", type=Path, default=HERE / "RESULTS.md",
                   help="the Markdown results file to add this run to (default: %(default)s)")
    p.add_argument("--duration", type=int, default=10, help="seconds per load measurement")
    p.add_argument("--load-rounds", type=int, default=3,
                   help="alternating rounds of app and floor per load measurement; "
                        "--duration is split between them (default: %(default)s)")
    p.add_argument("--connections", type=int, default=16, help="concurrent connections")
    p.add_argument("--wrk-threads", type=int, default=os.cpu_count() or 2,
                   help="wrk threads (default: one per CPU)")
    p.add_argument("--workers", type=int, default=Settings.workers, help="gunicorn workers")
    p.add_argument("--threads", type=int, default=Settings.threads, help="threads per worker")
    p.add_argument("--hot", type=int, default=50, help="documents in the hot set")
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic data")
    p.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator (auto: wrk when installed)")
    p.add_argument("--sparql-runs", type=int, default=15, help="timed runs per query")
    p.add_argument("--skip-queries", default="", metavar="KEYS",
                   help="leave these queries of the mix out (comma-separated keys: per-goal, "
                        "place, text, describe, page), e.g. when one runs longer than the "
                        "query time limit at the size measured")
    p.add_argument("--sparql-budget", type=float, default=30.0,
                   help="seconds per query after which runs stop (at least 3 runs; a query "
                        "whose first answer takes longer is timed by that answer alone)")
    p.add_argument("--rdflib-runs", type=int, default=3, help="timed runs per query on rdflib")
    p.add_argument("--rdflib-budget", type=float, default=90.0,
                   help="seconds per query on rdflib-endpoint after which runs stop")
    p.add_argument("--rdflib-max-triples", type=int, default=3_000_000,
                   help="do not start rdflib-endpoint on more triples than this")
    p.add_argument("--rdflib-memory-mb", type=int, default=0, metavar="MB",
                   help="cap rdflib-endpoint's memory (RLIMIT_DATA); a dump it cannot load "
                        "within it is reported as such (default: no cap)")
    p.add_argument("--no-revalidate", action="store_true",
                   help="skip the rebuild after one changed record")
    p.add_argument("--no-virtuoso", action="store_true",
                   help="leave out the SPARQL mix on Virtuoso (otherwise Virtuoso must be "
                        "installed: tests/tools/install.sh)")
    p.add_argument("--virtuoso-max-triples", type=int, default=0, metavar="N",
                   help="leave the Virtuoso comparison out of sizes with more triples than N, "
                        "e.g. to run it at 100k but not at 1M in one run (default: no limit)")
    p.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    p.add_argument("--keep-data", action="store_true", help="keep data and releases")
    args = p.parse_args(argv)
    args.size_list = [int(x) for x in args.sizes.split(",") if x.strip()]
    if args.full and FULL_SIZE not in args.size_list:
        args.size_list.append(FULL_SIZE)
    known = {"per-goal", "place", "text", "describe", "page", "ask"}
    if unknown := {k.strip() for k in args.skip_queries.split(",") if k.strip()} - known:
        p.error(f"--skip-queries: no query {', '.join(sorted(unknown))} in the mix "
                f"(keys: {', '.join(sorted(known))})")
    if not args.size_list or min(args.size_list) < 100:
        p.error("--sizes: give pledge counts of at least 100")
    return args


# -- one size -----------------------------------------------------------------------------


def run_size(ctx: Context, pledges: int) -> dict[str, Any]:
    """Every measurement for one size; a failed phase is recorded and ends the size."""
    result: dict[str, Any] = {"pledges_requested": pledges, "errors": []}
    work = ctx.work / f"n{pledges}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        _measure_size(ctx, pledges, work, result)
    except Exception as exc:  # any failure ends this size, not the run: record it
        result["errors"].append(f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        ctx.servers.stop_all()
        if not ctx.args.keep_data:
            shutil.rmtree(work, ignore_errors=True)
    result["loadavg_end"] = list(os.getloadavg())
    return result


def _measure_size(ctx: Context, pledges: int, work: Path, result: dict[str, Any]) -> None:
    args, data, releases = ctx.args, work / "data", work / "releases"
    say(f"{pledges:,} pledges: synth")
    result["synth_s"] = synthesize(ctx.python, pledges, args.seed, data,
                                   60 + pledges * 0.003, ctx.env)  # fmt: skip
    _settle()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    say(f"{pledges:,} pledges: build")
    stats = build(ctx.python, data, releases, base, 180 + pledges * 0.004, ctx.env)
    result["build"] = stats.to_json()
    say(f"  built in {stats.wall_s:.1f} s: {stats.triples:,} triples")
    _settle()
    release = Path(stats.release_dir)
    paths = document_paths(release, base)
    hot = pick_hot(paths, args.hot, args.seed)
    sample = random.Random(args.seed + 1).sample(paths, min(RANDOM_SIZE_SAMPLE, len(paths)))
    files = {"hot": write_paths(hot, work / "hot.txt"),
             "random": write_paths(paths, work / "random.txt")}  # fmt: skip
    queries = mix(base, stats.pledges, _place(release), hot[0].rsplit("/", 1)[1])
    skipped = {k.strip() for k in args.skip_queries.split(",") if k.strip()}
    queries = [q for q in queries if q.key not in skipped]
    timings = _serve_and_measure(ctx, releases, port, work, files, {"hot": hot, "random": sample},
                                 queries, release, result)  # fmt: skip
    result["rdflib"] = _rdflib_phase(ctx, release, stats.triples, queries, timings, work)
    result["sparql"] = [t.to_json() for t in timings]
    result["virtuoso"] = _virtuoso_phase(ctx, releases, release, stats.triples, queries, work)
    if not args.no_revalidate:
        say(f"{pledges:,} pledges: rebuild after one changed record")
        changed = change_one_record(data)
        again = build(ctx.python, data, releases, base, 180 + pledges * 0.004, ctx.env,
                      no_switch=True)  # fmt: skip
        result["revalidate"] = {
            "changed_file": Path(changed).name,
            "build_wall_s": again.wall_s,
            "validate_s": again.seconds_matching("validat"),
            "peak_tree_pss_mb": again.peak_tree_pss_mb,
            "stages": [vars(s) for s in again.stages],
        }


def _place(release: Path) -> str:
    """The place whose pledges the mix asks for: the first synthetic place that exists."""
    base = json.loads((release / "manifest.json").read_text(encoding="utf-8"))["base"]
    candidates = [f"synth-place-{i}" for i in range(1, 20)]
    return first_existing(
        release / "store",
        candidates,
        lambda slug: f"ASK {{ ?p <http://purl.org/dc/terms/spatial> <{base}/id/place/{slug}> }}",
    )


def _serve_and_measure(
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
    app = _start_app(ctx, releases, port, work)
    startup = wait_http(app, samples["hot"][0], START_TIMEOUT_S, FORMATS["ttl"])
    sampler = TreeSampler(interval_s=0.5)
    sampler.start(app.pid)
    try:
        sizes = {name: {accept: mean_body_bytes(port, docs, accept) for accept in FORMATS.values()}
                 for name, docs in samples.items()}  # fmt: skip
        floor = _start_floor(ctx, sizes, work)
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


def _start_app(
    ctx: Context,
    releases: Path,
    port: int,
    work: Path,
    remote: dict[str, str] | None = None,
) -> Server:
    """``pledge-lod serve`` on the release's embedded store, or, given ``remote``
    (PLEDGE_LOD_* settings of the remote backend), on the external store."""
    argv = [ctx.python, "-m", "pledge_lod", "serve", "--releases", str(releases), "--host",
            "127.0.0.1", "--port", str(port), "--workers", str(ctx.args.workers), "--threads",
            str(ctx.args.threads)]  # fmt: skip
    env = {**ctx.env, "PLEDGE_LOD_QUERY_TIMEOUT_S": str(QUERY_TIMEOUT_S), **(remote or {})}
    name = "pledge-lod serve" + (" (remote backend)" if remote else "")
    log = work / ("serve-remote.log" if remote else "serve.log")
    return ctx.servers.start(name, argv, port, log, env)


def _start_floor(ctx: Context, sizes: dict[str, dict[str, int]], work: Path) -> Server:
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


# -- rdflib-endpoint ----------------------------------------------------------------------


def _rdflib_phase(
    ctx: Context,
    release: Path,
    triples: int,
    queries: list,
    timings: list[QueryTiming],
    work: Path,
) -> dict[str, Any]:
    """Serve the release's N-Triples dump with rdflib-endpoint and run the same mix."""
    args = ctx.args
    exe = Path(ctx.python).parent / "rdflib-endpoint"
    if not exe.exists():
        return {"measured": False, "note": "rdflib-endpoint is not installed in this "
                "environment (`.venv/bin/pip install -r bench/requirements.txt`)"}
    if triples > args.rdflib_max_triples:
        return {"measured": False, "note": (
            f"{triples:,} triples is beyond --rdflib-max-triples ({args.rdflib_max_triples:,}): "
            "rdflib's in-memory store needs about 95 s and several GB to load 1.4M triples, "
            "so about 10x that here, and its queries take minutes each")}  # fmt: skip
    say("  rdflib-endpoint: loading the dump")
    port = free_port()
    argv = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port),
            str(release / "dumps" / "pledges.nt")]  # fmt: skip
    if args.rdflib_memory_mb:
        # A cap (prlimit execs the server), so that a dump too large for the machine ends
        # in rdflib's own MemoryError, not in the kernel's OOM killer picking a process.
        argv = ["prlimit", f"--data={args.rdflib_memory_mb * 1024 * 1024}", "--", *argv]
    server = ctx.servers.start("rdflib-endpoint", argv, port, work / "rdflib.log", ctx.env)
    loading = TreeSampler(1.0)
    loading.start(server.pid)
    try:
        ask = "/?query=ASK%7B%7D"
        try:
            load_s = wait_http(server, ask, 120 + triples * 0.0005, JSON_RESULTS)
        except BenchError:
            if server.alive():
                raise
            return {"measured": False, "note": _rdflib_failed(server, args.rdflib_memory_mb,
                                                              loading.peak_rss_by_depth(0))}
        finally:
            loading.stop()
        tree = sample_tree(server.pid)
        rss = max(tree.rss_mb.values()) if tree else None
        say(f"  rdflib-endpoint: loaded in {load_s:.0f} s; running the mix")
        measure_rdflib(timings, queries, port, args.rdflib_runs, args.rdflib_budget,
                       timeout_s=600)  # fmt: skip
    finally:
        ctx.servers.stop(server)
    runs = ", ".join(f"{t.key} {t.rdflib_runs}" for t in timings)
    return {"measured": True, "load_s": load_s, "rss_mb": rss,
            "version": metadata.version("rdflib-endpoint"),
            "runs_note": f"timed runs per query: {runs} (after one untimed warm-up run "
                         "where the first answer took under 2 s)."}  # fmt: skip


def _settle() -> None:
    """Write back what the last step wrote before timing the next one, so that the
    kernel's writeback of it (1 GB of synthetic data, a release of about 10 GB at 1M
    pledges) cannot fall into the next measurement. At 1M it took 0.8-1.2 s: the
    kernel had mostly kept up."""
    started = time.monotonic()
    os.sync()
    say(f"  files written back to disk in {time.monotonic() - started:.1f} s (not timed)")


def _rdflib_failed(server: Server, memory_mb: int, peak_mb: float) -> str:
    """Why rdflib-endpoint stopped while loading the dump, for the report."""
    seconds = time.monotonic() - server.started
    log = server.log_tail(40)
    if "MemoryError" in log or "Cannot allocate memory" in log:
        cap = f"its cap of {memory_mb:,} MB (--rdflib-memory-mb)" if memory_mb else "memory"
        return (f"ran out of {cap} after {seconds:.0f} s of loading the dump "
                f"(peak RSS {peak_mb:,.0f} MB); it never answered a query")
    last = next((line for line in reversed(log.splitlines()) if line.strip()), "")
    return (f"exited after {seconds:.0f} s of loading the dump, before answering a query "
            f"(peak RSS {peak_mb:,.0f} MB): {last[:200]}")


# -- Virtuoso -----------------------------------------------------------------------------


def _virtuoso_phase(
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
            apps.append(_start_app(ctx, releases, free_port(), work, env))
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


# -- the run ------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _command(argv: list[str]) -> str:
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) \
        else sys.executable
    return shlex.join([python, "-m", "bench", *argv])


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if not args.no_virtuoso and (why := missing()) is not None:
        say(f"{why}; or give --no-virtuoso to leave the Virtuoso comparison out")
        return 2
    tool = load_tool(args.tool)
    work = args.work or Path(tempfile.mkdtemp(prefix="pledge-bench-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ctx = Context(args, Servers(), work, tool, sys.executable, env)
    started = time.monotonic()
    run: dict[str, Any] = {
        "started": _now(),
        "command": _command(argv),
        "machine": machine_info(),
        "settings": {"tool": tool, "duration": args.duration, "load_rounds": args.load_rounds,
                     "connections": args.connections,
                     "wrk_threads": args.wrk_threads, "workers": args.workers,
                     "threads": args.threads, "hot": args.hot, "seed": args.seed,
                     "sparql_runs": args.sparql_runs, "rdflib_runs": args.rdflib_runs,
                     "rdflib_memory_mb": args.rdflib_memory_mb,
                     "skipped_queries": args.skip_queries,
                     "virtuoso": not args.no_virtuoso, "query_timeout_s": QUERY_TIMEOUT_S},
        "sizes": [],
    }  # fmt: skip
    interrupted = False
    try:
        with signals_raise():
            for pledges in args.size_list:
                run["sizes"].append(run_size(ctx, pledges))
    except (KeyboardInterrupt, SystemExit):  # stopped: still report the sizes finished
        interrupted = True
        say("interrupted: writing the results of the sizes that finished")
    finally:
        ctx.servers.stop_all()
        if args.work is None and not args.keep_data:
            shutil.rmtree(work, ignore_errors=True)
    run["finished"] = _now() + (" (interrupted)" if interrupted else "")
    run["wall_s"] = time.monotonic() - started
    run["loadavg_end"] = list(os.getloadavg())
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = args.out / f"run-{stamp}.json"
    raw.write_text(json.dumps(run, indent=1), encoding="utf-8")
    write_results(args.results, run)
    say(f"wrote {raw} and {args.results}")
    failed = [s for s in run["sizes"] if s["errors"]]
    return 1 if failed or interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
