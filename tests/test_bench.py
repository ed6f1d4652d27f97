"""The benchmark command runs end to end at a small size and writes its tables.

Only that it runs: no timing is asserted (the figures belong in bench/RESULTS.md, from a
real run on the real sizes). wrk is the load generator the results are meant to come
from, so in CI (``CI=true``) a missing wrk is a failure; locally the run falls back to
the Python load generator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "bench" / "run.py"
TABLE_TITLES = (
    "### Data and build",
    "#### Build stages, 300 pledges",
    "### Server",
    "### Dereferencing, hot set",
    "### Dereferencing, uniformly random over all documents",
    "### Per-request cost without HTTP",
    "### SPARQL mix (medians)",
    "### Rebuild after one changed record",
    "### Targets",
)


def _tool() -> str:
    if shutil.which("wrk"):
        return "wrk"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("wrk is not installed: CI must run the benchmark with it (tests/tools)")
    return "python"


def test_bench_runs_at_a_small_size(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    argv = [sys.executable, str(RUN), "--sizes", "300", "--duration", "2",
            "--out", str(tmp_path / "out"), "--results", str(results), "--tool", _tool(),
            "--sparql-runs", "3", "--rdflib-runs", "1",
            "--work", str(tmp_path / "work")]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    text = results.read_text(encoding="utf-8")
    for title in TABLE_TITLES:
        assert title in text, f"{title!r} missing from RESULTS.md"
    for fmt in ("ttl", "jsonld", "nt", "rdf", "html"):
        assert f"| 300 | {fmt} |" in text
    assert "- Command: `" in text and "--sizes 300" in text

    raw = json.loads(next((tmp_path / "out").glob("run-*.json")).read_text(encoding="utf-8"))
    (size,) = raw["sizes"]
    assert size["errors"] == []
    assert size["build"]["pledges"] == 300 and size["build"]["stages"]
    keys = {q["key"] for q in size["sparql"]}
    assert keys == {"per-goal", "place", "text", "describe", "page", "ask"}
    for q in size["sparql"]:  # the three engines answered the same thing
        counts = {v for v in q["rows"].values() if v is not None}
        assert len(counts) == 1, q


def test_bench_keeps_older_runs(tmp_path: Path) -> None:
    """A second run goes on top; the first run's section stays below, unchanged."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from report import MARKER, write_results
    finally:
        sys.path.remove(str(ROOT / "bench"))
    results = tmp_path / "RESULTS.md"
    run = {"started": "then", "finished": "then", "wall_s": 1.0, "command": "bench/run.py",
           "loadavg_end": [0.0, 0.0, 0.0], "sizes": [],
           "machine": {"nproc": 2, "cpu": "", "memory_gib": 1, "kernel": "", "python": "",
                       "loadavg_start": [0.0, 0.0, 0.0]},
           "settings": {"tool": "wrk", "wrk_threads": 2, "connections": 1, "duration": 1,
                        "workers": 1, "threads": 1, "hot": 1, "seed": 1}}  # fmt: skip
    write_results(results, run)
    first = results.read_text(encoding="utf-8")
    results.write_text(first + "hand-written note\n", encoding="utf-8")
    write_results(results, {**run, "started": "now"})
    text = results.read_text(encoding="utf-8")
    assert text.index("## Run of now") < text.index("## Run of then")
    assert text.count(MARKER) == 2 and "hand-written note" in text
