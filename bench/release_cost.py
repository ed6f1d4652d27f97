"""What publishing a release costs at the cost of what changed (issue 18): a one-record
change published as a complete release (validated, store, dumps, search index, VoID,
changeset, switched), several rounds; then one release changing many pledges, with what
recording its history adds to its build.

Builds the data once (or takes a releases folder already built from it), then rebuilds
in place; prints a Markdown section for ``bench/RESULTS.md`` with the medians and every
build's stages. Usage::

    .venv/bin/python -m bench.release_cost --pledges 1000000 --data DIR --work DIR \\
        --rounds 3 --many 10000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .build_phase import BuildStats, build, change_one_record, data_folder
from .history_cost import change_many_records, steps
from .incremental_release import _cpu_s, _stage_line
from .procs import free_port, machine_info


def _timed_build(data: Path, releases: Path, base: str,
                 timeout: float, env: dict[str, str]) -> tuple[BuildStats, float]:  # fmt: skip
    before = _cpu_s()
    stats = build(sys.executable, data, releases, base, timeout, env)
    return stats, _cpu_s() - before


def _report(argv: list[str] | None, started: str, load: tuple[float, float, float],
            first: BuildStats | None, ones: list[tuple[BuildStats, float]],
            many: tuple[int, BuildStats, float] | None) -> list[str]:  # fmt: skip
    m = machine_info()
    lines = [
        f"- Command: `.venv/bin/python -m bench.release_cost {' '.join(argv or sys.argv[1:])}`",
        f"- Started {started}; load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} at the "
        f"start, {'/'.join(f'{x:.1f}' for x in os.getloadavg())} at the end",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, Linux "
        f"{m['kernel']}, Python {m['python']}",
    ]
    if first is not None:
        lines.append(f"- First build: {first.pledges:,} pledges, {first.triples:,} triples, "
                     f"{first.wall_s:,.1f} s ({_stage_line(first)})")  # fmt: skip
    walls = [s.wall_s for s, _ in ones]
    lines += [
        "", "| release | builds | median s | each s | median CPU s (all processes) |",
        "|---|---|---|---|---|",
        f"| one record changed | {len(ones)} | {statistics.median(walls):,.1f} | "
        f"{', '.join(f'{w:,.1f}' for w in walls)} | "
        f"{statistics.median(c for _, c in ones):,.1f} |",
    ]  # fmt: skip
    if many is not None:
        n, stats, cpu = many
        lines.append(f"| {n:,} pledges changed | 1 | {stats.wall_s:,.1f} | {stats.wall_s:,.1f} | "
                     f"{cpu:,.1f} |")  # fmt: skip
        s = steps(stats)
        lines += ["", f"Recording the history of the {n:,}-pledge release: changes computed "
                  f"{s['changes computed']:.2f} s, changeset written {s['changeset written']:.2f}"
                  f" s, version recorded {s['version recorded']:.2f} s."]  # fmt: skip
    lines.append("")
    lines += [f"- one record, build {i + 1}: {_stage_line(s)}" for i, (s, _) in enumerate(ones)]
    if many is not None:
        lines.append(f"- {many[0]:,} pledges: {_stage_line(many[1])}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pledges", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rounds", type=int, default=3, help="one-record rebuilds")
    p.add_argument("--many", type=int, default=10_000, help="pledges changed in the last build")
    p.add_argument("--data", type=Path, help="synthetic data already made with this seed")
    p.add_argument("--releases", type=Path,
                   help="a releases folder already built from --data, which is then edited "
                   "in place (the build cache knows its files by their path)")  # fmt: skip
    p.add_argument("--base", default="", help="the base --releases was built with")
    p.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="pledge-release-cost-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    timeout = 600 + args.pledges * 0.02
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    if args.releases is not None and args.data is not None:
        data = args.data  # the folder was built from it: the build cache knows its files
    else:
        data = data_folder(sys.executable, args.data, args.pledges, args.seed, work / "data",
                           timeout, env)  # fmt: skip
    releases = args.releases or work / "releases"
    base = args.base or f"http://127.0.0.1:{free_port()}"
    first = None
    if args.releases is None:
        first = build(sys.executable, data, releases, base, timeout, env)
    ones = []
    for _ in range(args.rounds):
        change_one_record(data)
        ones.append(_timed_build(data, releases, base, timeout, env))
    many = None
    if args.many:
        n = change_many_records(data, args.many)
        stats, cpu = _timed_build(data, releases, base, timeout, env)
        many = (n, stats, cpu)
    print("\n".join(_report(argv, started, load, first, ones, many)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
