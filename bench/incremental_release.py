"""A one-record change published as a complete release: the store made from the previous
release's store plus the changes, against the same rebuild with the store loaded in full.

Synthesises data (or takes it) and builds it once; the releases folder is then copied,
and the copy's current release loses its store, so that its rebuilds load the store in
full (the fallback the build takes without a usable previous store). Each round changes
one record and rebuilds both folders, in alternating order (interleaved: both see the
same load), and the copy's new release loses its store again. Prints a Markdown section
for ``bench/RESULTS.md`` with the medians and each run's stage timings. Usage::

    .venv/bin/python -m bench.incremental_release --pledges 100000 --rounds 3 [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .build_phase import BuildStats, build, change_one_record, data_folder
from .procs import free_port, machine_info


def _drop_store(releases: Path) -> None:
    """The current release without its store: the next build cannot start from it."""
    shutil.rmtree((releases / "current").resolve() / "store")


def _cpu_s() -> float:
    """User and system CPU of the finished children (a build and its own children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _stage_line(stats: BuildStats) -> str:
    return "; ".join(f"{s.what} {s.seconds:.1f} s" for s in stats.stages if s.seconds >= 0.5)


def _report(
    argv: list[str] | None, started: str, load: tuple[float, float, float],
    first: BuildStats, runs: dict[str, list[BuildStats]], cpu: dict[str, list[float]],
) -> list[str]:
    """The section's lines for bench/RESULTS.md: command, machine, the medians."""
    m = machine_info()
    med = {k: statistics.median(s.wall_s for s in v) for k, v in runs.items()}
    return [
        f"- Command: `.venv/bin/python -m bench.incremental_release "
        f"{' '.join(argv or sys.argv[1:])}`",
        f"- Started {started}; load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} at the "
        f"start, {'/'.join(f'{x:.1f}' for x in os.getloadavg())} at the end",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, Linux "
        f"{m['kernel']}, Python {m['python']}",
        f"- Data: {first.pledges:,} pledges, {first.triples:,} triples; first build "
        f"{first.wall_s:,.1f} s",
        "",
        "| rebuild after one changed record | runs | median s | each run s | "
        "median CPU s (all processes) |",
        "|---|---|---|---|---|",
        *(
            f"| {kind} | {len(v)} | {med[kind]:,.1f} | "
            f"{', '.join(f'{s.wall_s:,.1f}' for s in v)} | "
            f"{statistics.median(cpu[kind]):,.1f} |"
            for kind, v in runs.items()
        ),
        "",
        *(f"- {kind} run {i + 1}: {_stage_line(s)}" for kind, v in runs.items()
          for i, s in enumerate(v)),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pledges", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--data", type=Path, help="synthetic data already made with this seed")
    p.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="pledge-incremental-"))
    python, env = sys.executable, {**os.environ, "PYTHONUNBUFFERED": "1"}
    timeout = 600 + args.pledges * 0.02
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    runs: dict[str, list[BuildStats]] = {"incremental": [], "full": []}
    cpu: dict[str, list[float]] = {"incremental": [], "full": []}
    try:
        data = data_folder(python, args.data, args.pledges, args.seed, work / "data",
                           timeout, env)
        base = f"http://127.0.0.1:{free_port()}"
        folders = {"incremental": work / "releases", "full": work / "releases-full"}
        first = build(python, data, folders["incremental"], base, timeout, env)
        shutil.copytree(folders["incremental"], folders["full"], symlinks=True)
        _drop_store(folders["full"])
        for n in range(args.rounds):
            change_one_record(data)
            order = ["incremental", "full"] if n % 2 == 0 else ["full", "incremental"]
            for kind in order:
                before = _cpu_s()
                runs[kind].append(build(python, data, folders[kind], base, timeout, env))
                cpu[kind].append(_cpu_s() - before)
            _drop_store(folders["full"])
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(_report(argv, started, load, first, runs, cpu)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
