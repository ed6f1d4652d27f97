"""The cost of recording a first version (every triple created) without a build: the
changes of a data file against an empty history, its RDF Patch and the history index,
as a build makes them (:func:`pledge_lod.build.changes.changeset_for`, ``write_changeset``,
``record``'s ``record_version``). Run it under ``/usr/bin/time -v`` for the peak RSS::

    .venv/bin/python -m bench.first_version DATA.nt CHUNKS.json.gz WORK [--in-memory]

``--in-memory`` groups every triple in memory (the code before the changes were
streamed); by default the changes are streamed (:mod:`pledge_lod.build.change_stream`).
WORK must not exist: it becomes a releases folder holding the patch and the history.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import time
from pathlib import Path

from pledge_lod.build.changes import changeset_for
from pledge_lod.release.history import record_version, write_patch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the data file (N-Triples, as a build writes it)")
    parser.add_argument("chunks", type=Path, help="its chunk index (chunks.json.gz)")
    parser.add_argument("work", type=Path, help="a new folder for the patch and the history")
    parser.add_argument("--in-memory", action="store_true", help="group every triple in memory")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True)
    with gzip.open(args.chunks, "rt", encoding="utf-8") as f:
        chunks = {k: (v[0], v[1], v[2]) for k, v in json.load(f).items()}
    started = time.perf_counter()
    changeset = changeset_for(args.work, args.data, chunks, in_memory=(1 << 62) if
                              args.in_memory else 0)  # fmt: skip
    computed = time.perf_counter()
    patch = args.work / "changes.rdfp.gz"
    made = ("first", "2026-12-03T00:00:00Z")
    write_patch(patch, changeset.changes, made[0], None, (1, made[1]))
    written = time.perf_counter()
    record_version(args.work, made, changeset.changes, changeset.summary, patch, True)
    recorded = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "mode": "in memory" if args.in_memory else "streamed",
        "summary": changeset.summary,
        "changes_s": round(computed - started, 1),
        "patch_s": round(written - computed, 1),
        "index_s": round(recorded - written, 1),
        "total_s": round(recorded - started, 1),
        "peak_rss_mb": round(peak),
        "patch_bytes": patch.stat().st_size,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
