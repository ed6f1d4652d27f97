"""What every phase of a benchmark run shares: its options and servers (``Context``),
the time limits, the progress line, and starting the app under test.

The phases (``serve_phase``, ``rdflib_phase``, ``virtuoso_phase``) each take a
``Context``; ``run`` plans them per size and ``options`` reads the command line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .procs import Server, Servers

FULL_SIZE = 1_000_000
START_TIMEOUT_S = 180.0
#: The query time limit of every server in the SPARQL phases (app, its remote backend,
#: Virtuoso's own MaxQueryExecutionTime): generous, the default 10 s would cut the mix
#: at 1M pledges, where Oxigraph takes about 4 minutes on the OPTIONAL-heavy page.
QUERY_TIMEOUT_S = 900


@dataclass
class Context:
    """What every size's run shares: options, the servers registry, the work folder."""

    args: argparse.Namespace
    servers: Servers
    work: Path
    tool: str
    python: str
    env: dict[str, str]


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def settle() -> None:
    """Write back what the last step wrote before timing the next one, so that the
    kernel's writeback of it (1 GB of synthetic data, a release of about 10 GB at 1M
    pledges) cannot fall into the next measurement. At 1M it took 0.8-1.2 s: the
    kernel had mostly kept up."""
    started = time.monotonic()
    os.sync()
    say(f"  files written back to disk in {time.monotonic() - started:.1f} s (not timed)")


def start_app(
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

