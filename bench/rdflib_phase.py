"""rdflib-endpoint serving the release's N-Triples dump, timed on the same SPARQL mix."""

from __future__ import annotations

import time
from importlib import metadata
from pathlib import Path
from typing import Any

from .context import Context, say
from .procs import BenchError, Server, TreeSampler, free_port, sample_tree, wait_http
from .sparql_mix import JSON_RESULTS, QueryTiming, measure_rdflib


def rdflib_phase(
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

