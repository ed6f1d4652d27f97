"""The release's search index made from the previous release's index plus the changes,
against the index written whole from the same data, in one process.

Takes a releases folder whose current release was built after another one (e.g. by
``bench.incremental_release`` or two ``pledge-lod build`` runs around one edit) and
writes that release's index again, alternately whole (``write_search_index``) and from
its predecessor's index plus its changes (``release_search_index``), into a work folder;
then, to choose the share of changed rows above which the whole write wins, the index
of the current release from its own index with every resource of the first N sources
marked changed. Prints a Markdown section for ``bench/RESULTS.md``. Usage::

    .venv/bin/python -m bench.search_incremental --releases REL --data DATA [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pledge_lod.build import search
from pledge_lod.build.changes import Changeset, ChunkIndex, diff, load_chunks
from pledge_lod.build.pipeline import load_kos
from pledge_lod.rdf.vocab import Iris
from pledge_lod.release import layout
from pledge_lod.release.history import Change, History


def _nt(release: Path) -> Path:
    return release / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]


def _timed(call) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _subjects(nt: Path, spans: list[tuple[int, int]]) -> set[str]:
    out = set()
    with nt.open("rb") as f:
        for offset, length in spans:
            f.seek(offset)
            for line in f.read(length).split(b"\n"):
                if line.startswith(b"<"):
                    out.add(line[1 : line.index(b">")].decode())
    return out


def _sweep(
    releases: Path, new: Path, kos: list, iris: Iris, chunks: ChunkIndex, counts: list[int],
    work: Path,
) -> list[tuple[int, int, float, float]]:  # fmt: skip
    """The incremental path from ``new``'s own index with every resource of the first
    ``count`` sources marked changed: (sources, resources, wall s, CPU s)."""
    out = []
    search.MAX_CHANGED_SHARE = 1.0  # measured here, not refused
    keys = sorted(chunks.chunks)
    for count in counts:
        marked = {k: (o, n, "changed") for k, (o, n, _d) in chunks.chunks.items()
                  if k in keys[:count]}  # fmt: skip
        fake = ChunkIndex()
        fake.chunks = {**chunks.chunks, **marked}
        subjects = _subjects(_nt(new), [m[:2] for m in marked.values()])
        since = search.Since(releases, Changeset(
            [Change(i, "updated", (), ()) for i in sorted(subjects)], new.name), fake)
        folder = work / f"sweep-{count}"
        folder.mkdir()
        wall, cpu, _said = _timed(
            lambda f=folder, s=since: search.release_search_index(f, _nt(new), kos, iris, s)
        )
        out.append((count, len(subjects), wall, cpu))
        shutil.rmtree(folder)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--releases", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True, help="the data folder (its KOS)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sources", default="1,5,10,20,40", help="changed sources of the sweep")
    argv = sys.argv[1:] if argv is None else argv
    args = p.parse_args(argv)
    versions = History.open(args.releases).versions()
    prev, new = (args.releases / v.release_id for v in versions[-2:])
    base = json.loads((new / layout.MANIFEST).read_text())["base"]
    iris, kos = Iris(base), load_kos(args.data)
    chunks = ChunkIndex()
    chunks.chunks = load_chunks(new, _nt(new))
    changes = diff(_nt(prev), load_chunks(prev, _nt(prev)), _nt(new), chunks.chunks)
    since = search.Since(args.releases, Changeset(changes, prev.name), chunks)
    load, started = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    times: dict[str, list[tuple[float, float]]] = {"full": [], "incremental": []}
    said: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        work = Path(tmp)
        for n in range(args.rounds):
            for kind in ("full", "incremental") if n % 2 == 0 else ("incremental", "full"):
                folder = work / f"{kind}-{n}"
                folder.mkdir()
                given = since if kind == "incremental" else None
                wall, cpu, said[kind] = _timed(
                    lambda f=folder, g=given: search.release_search_index(f, _nt(new), kos, iris, g)
                )
                times[kind].append((wall, cpu))
                shutil.rmtree(folder)
        counts = [int(c) for c in args.sources.split(",")]
        sweep = _sweep(args.releases, new, kos, iris, chunks, counts, work)
    rows = json.loads((new / search.STAMP_FILE).read_text())["rows"]
    head = (f"Releases: {prev.name} then {new.name} ({len(changes)} resources changed), "
            f"{rows:,} index rows, {len(chunks.chunks)} sources")  # fmt: skip
    print("\n".join(_report(argv, started, load, head, times, said, sweep)))
    return 0


def _report(
    argv: list[str] | None, started: str, load: tuple[float, float, float], head: str,
    times: dict[str, list[tuple[float, float]]], said: dict[str, str],
    sweep: list[tuple[int, int, float, float]],
) -> list[str]:  # fmt: skip
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in times.items()}  # fmt: skip
    ratio = med["full"][0] / med["incremental"][0]
    out = [
        f"## Search index: the previous one plus the changes, {started}",
        "",
        f"- Command: `python -m bench.search_incremental {' '.join(argv or [])}`".rstrip(),
        f"- {head}; load average at the start {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}, "
        f"at the end {os.getloadavg()[0]:.2f}.",
        "",
        "| path | runs | median wall s | median CPU s | progress line |",
        "|---|---|---|---|---|",
    ]
    out += [f"| {k} | {len(times[k])} | {med[k][0]:.2f} | {med[k][1]:.2f} | {said[k]} |"
            for k in ("full", "incremental")]  # fmt: skip
    out += ["", f"Ratio (full / incremental, median wall time): {ratio:.1f}x.", "",
            "| sources changed | resources changed | wall s | CPU s |",
            "|---|---|---|---|"]  # fmt: skip
    out += [f"| {c} | {n:,} | {w:.2f} | {u:.2f} |" for c, n, w, u in sweep]
    return out


if __name__ == "__main__":
    raise SystemExit(main())
