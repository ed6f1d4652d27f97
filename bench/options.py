"""The benchmark's command line: ``python -m bench --help``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .context import FULL_SIZE

HERE = Path(__file__).resolve().parent
DESCRIPTION = "The pledge_lod benchmark: one command, every figure of issue 5 from one run."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from pledge_lod.config import Settings

    p = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION)
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
