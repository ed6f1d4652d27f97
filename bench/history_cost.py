"""What recording a release's history adds to a build: the changes computed against the
previous version, the RDF Patch written into the release, the version recorded in the
history index, and the chunk digests taken while the data is written.

Synthesises data (or takes it), builds it (version 1: every resource created), then
rebuilds after changing one record, then after changing 1,000 records (every title of one
synthetic batch file), and prints a Markdown section for ``bench/RESULTS.md``. Usage::

    .venv/bin/python -m bench.history_cost --pledges 100000 [--data DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .build_phase import BuildStats, build, change_one_record, data_folder
from .procs import free_port, machine_info

#: The progress lines of the history's steps, with the seconds they state.
STEPS = {
    "changes computed": re.compile(r"^changes computed in ([0-9.]+) s"),
    "changeset written": re.compile(r"^changeset written in ([0-9.]+) s"),
    "version recorded": re.compile(r"^recorded as version \d+ in ([0-9.]+) s"),
}


def change_many_records(data: Path, count: int) -> int:
    """Change the title of ``count`` pledges, from the second batch file on (a synthetic
    batch holds 1,000); returns how many."""
    done = 0
    for batch in sorted((data / "pledges").glob("*.yaml"))[1:]:
        if done >= count:
            break
        text = batch.read_text(encoding="utf-8")
        changed, n = re.subn(r'(?m)^(\s*title: ")', r"\1Changed for the history bench: ", text,
                             count=count - done)  # fmt: skip
        batch.write_text(changed, encoding="utf-8")
        done += n
    return done


def digest_seconds(nt: Path) -> float:
    """The chunk index's cost during mapping: a blake2b of every byte of the data."""
    started = time.perf_counter()
    h = hashlib.blake2b(digest_size=16)
    with nt.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return time.perf_counter() - started


def steps(stats: BuildStats) -> dict[str, float]:
    found = dict.fromkeys(STEPS, 0.0)
    for stage in stats.stages:
        for name, pattern in STEPS.items():
            match = pattern.match(stage.what)
            if match:
                found[name] = float(match.group(1))
    return found


def row(label: str, stats: BuildStats, digest_s: float, changed: str) -> str:
    s = steps(stats)
    total = sum(s.values()) + digest_s
    return (f"| {label} | {changed} | {stats.wall_s:,.1f} | {s['changes computed']:.2f} | "
            f"{s['changeset written']:.2f} | {s['version recorded']:.2f} | {digest_s:.2f} | "
            f"{total:.2f} | {100 * total / stats.wall_s:.1f} % |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pledges", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--many", type=int, default=1000, help="records changed in the last build")
    p.add_argument("--data", type=Path, help="synthetic data already made with this seed")
    p.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="pledge-history-cost-"))
    python, env = sys.executable, {**os.environ, "PYTHONUNBUFFERED": "1"}
    timeout = 600 + args.pledges * 0.02
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    try:
        data = data_folder(python, args.data, args.pledges, args.seed, work / "data",
                           timeout, env)
        releases, base = work / "releases", f"http://127.0.0.1:{free_port()}"
        nt = releases / "current" / "dumps" / "pledges.nt"
        first = build(python, data, releases, base, timeout, env)
        digest_s = digest_seconds(nt)
        change_one_record(data)
        one = build(python, data, releases, base, timeout, env)
        many = change_many_records(data, args.many)
        more = build(python, data, releases, base, timeout, env)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    m = machine_info()
    print("\n".join([
        f"- Command: `.venv/bin/python -m bench.history_cost {' '.join(argv or sys.argv[1:])}`",
        f"- Started {started}; load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} at the "
        f"start, {'/'.join(f'{x:.1f}' for x in os.getloadavg())} at the end",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, Linux "
        f"{m['kernel']}, Python {m['python']}",
        f"- Data: {first.pledges:,} pledges, {first.triples:,} triples",
        "",
        "| build | records changed | build s | changes computed s | changeset written s | "
        "version recorded s | chunk digests s | history total s | share of build |",
        "|---|---|---|---|---|---|---|---|---|",
        row("first (version 1)", first, digest_s, f"all {first.pledges:,} created"),
        row("one record", one, digest_s, "1"),
        row(f"{many:,} records", more, digest_s, f"{many:,}"),
    ]))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
