"""What the search index adds to a first build (issue 17: at most 60 s at 1M).

The index is written in a child process beside the rest of the build (the store's
completion, the sitemap, the compaction, the dumps), so its cost is not a stage of its
own: it is the difference between a first build with it and the same build without it.
This runs both, each into an empty releases folder, in the order given (alternate them
over rounds on a shared machine), and prints their stage lines side by side::

    .venv/bin/python -m bench.search_in_build --data DATA --work DIR [--rounds 1]
        [--order without,with]

``without`` is the same build in a process whose search index job is replaced by one
that writes nothing, and whose mapping makes no search rows (the release then has no
index; nothing else changes). Each releases folder is removed once its build is
measured, so a 1M run needs the room of one release at a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from .build_phase import BuildStats, build
from .procs import free_port, machine_info

#: The build, in a process whose search index job writes nothing.
_WITHOUT = """
import sys
from pledge_lod.build import run


class NoIndex:
    def __init__(self, *args, **kwargs):
        pass

    def written(self):
        return "search index: left out (benchmark)"

    def cancel(self):
        pass


run.SearchIndexJob = NoIndex
run.RowsFile = lambda path: None  # nor the rows a first build's mapping makes for it
from pledge_lod.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _build(python: str, variant: str, data: Path, releases: Path, base: str,
           timeout: float, env: dict[str, str]) -> BuildStats:  # fmt: skip
    if variant == "with":
        return build(python, data, releases, base, timeout, env)
    # build_phase.build runs ``PYTHON -m pledge_lod build ...``: a wrapper script in the
    # place of the interpreter takes ``-m pledge_lod`` off and runs _WITHOUT.
    # The script goes in a file of its own: quoted inline for the shell, an apostrophe in
    # it ended the quote and the build ran as nothing at all.
    script = releases.parent / "build-without-index.py"
    script.write_text(_WITHOUT, encoding="utf-8")
    wrapper = releases.parent / "python-without-index"
    wrapper.write_text(f'#!/bin/sh\nshift 2\nexec "{python}" "{script}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return build(str(wrapper), data, releases, base, timeout, env)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="pledge-lod data folder")
    p.add_argument("--work", type=Path, required=True, help="room for one release at a time")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--order", default="without,with")
    args = p.parse_args(argv)
    order = [o.strip() for o in args.order.split(",")]
    if not set(order) <= {"with", "without"}:
        p.error("--order: a comma-separated list of 'with' and 'without'")
    python, env = sys.executable, {**os.environ, "PYTHONUNBUFFERED": "1"}
    args.work.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{free_port()}"
    runs: list[tuple[int, str, BuildStats, tuple[float, float], str]] = []
    for round_ in range(1, args.rounds + 1):
        for variant in order:
            releases = args.work / f"releases-{variant}"
            shutil.rmtree(releases, ignore_errors=True)
            started = time.strftime("%H:%M UTC", time.gmtime())
            before = os.getloadavg()[0]
            stats = _build(python, variant, args.data, releases, base, 7200, env)
            runs.append((round_, variant, stats, (before, os.getloadavg()[0]), started))
            print(f"round {round_}, {variant} the index: {stats.wall_s:.1f} s", file=sys.stderr)
            _print_stages(variant, stats)
            shutil.rmtree(releases, ignore_errors=True)
    m = machine_info()
    print(f"\nMachine: {m}. Data: {args.data}.\n")
    print("| round | index | started | build wall s | pledges | triples | load average (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for round_, variant, stats, load, started in runs:
        print(f"| {round_} | {variant} | {started} | {stats.wall_s:,.1f} | {stats.pledges:,} | "
              f"{stats.triples:,} | {load[0]:.1f}-{load[1]:.1f} |")  # fmt: skip
    for round_ in range(1, args.rounds + 1):
        walls = {v: s.wall_s for r, v, s, _, _ in runs if r == round_}
        if {"with", "without"} <= walls.keys():
            added = walls["with"] - walls["without"]
            print(f"\nRound {round_}: the index adds {added:,.1f} s "
                  f"({walls['with'] / walls['without']:.3f}x).")  # fmt: skip
    return 0


def _print_stages(variant: str, stats: BuildStats) -> None:
    print(f"\n{variant} the index: stage lines (ended at s, took s)\n")
    for s in stats.stages:
        print(f"- {s.ended_s:8.1f} {s.seconds:8.1f}  {s.what}")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
