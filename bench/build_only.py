"""Build one size only: synth (or given data), build, then rebuild after one changed
record, each stage timed with its peak memory, printed as the Markdown tables of
``bench/RESULTS.md``.

For the largest size, where the whole of ``python -m bench`` takes hours, so that a change to the
build can be measured on its own. Usage::

    .venv/bin/python -m bench.build_only --pledges 1000000 [--data DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .build_phase import BuildStats, build, change_one_record, synthesize
from .procs import free_port, machine_info


def _table(stats: BuildStats) -> list[str]:
    out = ["| stage (progress line) | ended at s | took s | peak memory MB (PSS, all processes) |",
           "|---|---|---|---|"]  # fmt: skip
    out += [f"| {s.what} | {s.ended_s:,.1f} | {s.seconds:,.1f} | {s.peak_pss_mb:,.0f} |"
            for s in stats.stages]  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pledges", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--data", type=Path, help="synthetic data already made with this seed")
    p.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="pledge-build-only-"))
    python, env = sys.executable, {**os.environ, "PYTHONUNBUFFERED": "1"}
    timeout = 180 + args.pledges * 0.02  # a shared machine: see bench.run.build_limit_s
    try:
        data = work / "data"
        if args.data:
            shutil.copytree(args.data, data)  # the rebuild edits a file: not the caller's
            synth_s = None
        else:
            synth_s = synthesize(python, args.pledges, args.seed, data, timeout, env)
        releases, base = work / "releases", f"http://127.0.0.1:{free_port()}"
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        load = os.getloadavg()
        first = build(python, data, releases, base, timeout, env)
        change_one_record(data)
        again = build(python, data, releases, base, timeout, env, no_switch=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    m = machine_info()
    lines = [
        f"- Command: `.venv/bin/python -m bench.build_only {' '.join(argv or sys.argv[1:])}`",
        f"- Started {started}; load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} at the "
        f"start, {'/'.join(f'{x:.1f}' for x in os.getloadavg())} at the end",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, Linux "
        f"{m['kernel']}, Python {m['python']}",
        f"- Synth: {synth_s:.1f} s" if synth_s is not None else "- Synth: data given",
        f"- Build: {first.wall_s:.1f} s ({first.wall_s / 60:.1f} min), {first.pledges:,} pledges,"
        f" {first.triples:,} triples; peak memory {first.peak_tree_pss_mb:,.0f} MB (PSS, all "
        f"processes), largest process {first.peak_rss_mb:,.0f} MB RSS",
        "",
        *_table(first),
        "",
        f"- Rebuild after one changed record (`--no-switch`): {again.wall_s:.1f} s; stages "
        f"mentioning validation {again.seconds_matching('validat'):.1f} s; peak memory "
        f"{again.peak_tree_pss_mb:,.0f} MB (PSS)",
        "",
        *_table(again),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
