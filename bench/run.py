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

This module is the run plan (per size: synth, build, the phases, the rebuild) and the
run's record. Each phase is a module of its own (``serve_phase``, ``rdflib_phase``,
``virtuoso_phase``, ``build_phase``), the command line is ``options``, and what they
share (the ``Context``, time limits, starting the app) is ``context``.
"""


from __future__ import annotations

import datetime as dt
import json
import os
import random
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from .build_phase import build, change_one_record, synthesize
from .context import QUERY_TIMEOUT_S, Context, say, settle
from .deref import document_paths, load_tool, pick_hot, write_paths
from .options import parse_args
from .procs import Servers, free_port, machine_info, signals_raise
from .rdflib_phase import rdflib_phase
from .report import write_results
from .serve_phase import serve_and_measure
from .sparql_mix import first_existing, mix
from .virtuoso_mix import missing
from .virtuoso_phase import virtuoso_phase

RANDOM_SIZE_SAMPLE = 50


def build_limit_s(pledges: int) -> float:
    """How long a build may take before the run gives up: 0.02 s a pledge (5.6 h at 1M)
    leaves room for a machine shared with other work (at load 12-17 a 100k build with
    the search index and the history took 513 s; bench/RESULTS.md, issue 16)."""
    return 180 + pledges * 0.02


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
    settle()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    say(f"{pledges:,} pledges: build")
    stats = build(ctx.python, data, releases, base, build_limit_s(pledges), ctx.env)
    result["build"] = stats.to_json()
    say(f"  built in {stats.wall_s:.1f} s: {stats.triples:,} triples")
    settle()
    release = Path(stats.release_dir)
    paths = document_paths(release, base)
    hot = pick_hot(paths, args.hot, args.seed)
    sample = random.Random(args.seed + 1).sample(paths, min(RANDOM_SIZE_SAMPLE, len(paths)))
    files = {"hot": write_paths(hot, work / "hot.txt"),
             "random": write_paths(paths, work / "random.txt")}  # fmt: skip
    queries = mix(base, stats.pledges, _place(release), hot[0].rsplit("/", 1)[1])
    skipped = {k.strip() for k in args.skip_queries.split(",") if k.strip()}
    queries = [q for q in queries if q.key not in skipped]
    timings = serve_and_measure(ctx, releases, port, work, files, {"hot": hot, "random": sample},
                                 queries, release, result)  # fmt: skip
    result["rdflib"] = rdflib_phase(ctx, release, stats.triples, queries, timings, work)
    result["sparql"] = [t.to_json() for t in timings]
    result["virtuoso"] = virtuoso_phase(ctx, releases, release, stats.triples, queries, work)
    if not args.no_revalidate:
        say(f"{pledges:,} pledges: rebuild after one changed record")
        changed = change_one_record(data)
        again = build(ctx.python, data, releases, base, build_limit_s(pledges), ctx.env,
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


# -- the run ------------------------------------------------------------------------------


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
