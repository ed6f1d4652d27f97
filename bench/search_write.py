"""The search index written whole from a data N-Triples file: wall and CPU seconds.

Runs ``write_search_index`` (build/search.py) on a release's data file in a fresh
process per write (its worker processes' CPU counted), round by round: this checkout's
code with one reader and with the worker processes the build's index child uses, and,
given ``--before SRC`` (the ``src`` folder of another checkout, e.g. from ``git
archive``), that code too, interleaved, so that the machine's load weighs on all alike.
Prints a Markdown table for ``bench/RESULTS.md``. Usage::

    .venv/bin/python -m bench.search_write --nt DATA.nt --work DIR [--before SRC]
        [--workers 1 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: One write, in the child: the index folder, the data, the KOS folder, the base, the
#: workers (the code before the parallel reader takes no such argument).
_WRITE = """
import sys
from pathlib import Path
from pledge_lod.build.pipeline import load_kos
from pledge_lod.build.search import write_search_index
from pledge_lod.rdf.vocab import Iris
out, nt, data, base, workers = sys.argv[1:6]
extra = {"workers": int(workers)} if int(workers) > 1 else {}
print(write_search_index(Path(out), Path(nt), load_kos(Path(data)), Iris(base), **extra))
"""


def base_of(nt: Path) -> str:
    """The deployment's base: the first subject's IRI up to its ``/id/``."""
    with nt.open("rb") as f:
        subject = f.readline().split(b" ", 1)[0].decode()
    if "/id/" not in subject:
        raise SystemExit(f"{nt}: the first subject ({subject}) is no minted IRI; give --base")
    return subject[1:subject.index("/id/")]


def write_once(src: Path, nt: Path, out: Path, base: str, workers: int) -> tuple[float, float, int]:
    """(wall s, CPU s of the process and its workers, rows) of one whole write."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRITE, str(out), str(nt), str(ROOT / "data"), base, str(workers)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"the write failed ({src}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    shutil.rmtree(out, ignore_errors=True)
    return wall, cpu, int(done.stdout.split()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nt", type=Path, required=True, help="a release's data N-Triples")
    parser.add_argument("--work", type=Path, required=True, help="a folder for the indexes")
    parser.add_argument("--base", help="the deployment's base (default: from the data)")
    parser.add_argument("--before", type=Path, help="another checkout's src folder")
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="the src folder measured as this checkout's (default: its own)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    base = args.base or base_of(args.nt)
    variants = [("this checkout", args.src.resolve(), w) for w in args.workers]
    if args.before is not None:
        variants.insert(0, ("before", args.before.resolve(), 1))
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"`{' '.join(sys.argv)}`, {args.nt.stat().st_size:,} bytes of N-Triples\n")
    print("| round | code | workers | rows | wall s | CPU s | load average (1 min) |")
    print("|---|---|---|---|---|---|---|")
    for number in range(1, args.rounds + 1):
        for name, src, workers in variants:
            load = os.getloadavg()[0]
            wall, cpu, rows = write_once(src, args.nt, args.work / "search", base, workers)
            print(f"| {number} | {name} | {workers} | {rows:,} | {wall:.1f} | {cpu:.1f} | "
                  f"{load:.1f}-{os.getloadavg()[0]:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
