"""The benchmark command runs end to end at a small size and writes its tables.

Only that it runs: no timing is asserted (the figures belong in bench/RESULTS.md, from a
real run on the real sizes). wrk is the load generator the results are meant to come
from, so in CI (``CI=true``) a missing wrk is a failure; locally the run falls back to
the Python load generator. The same for Virtuoso (the mix on the external store): in CI
a missing Virtuoso is a failure, as in tests/support/virtuoso.py; locally the run leaves that
phase out with ``--no-virtuoso``, so the rest of the benchmark is still checked. The
answers on Virtuoso must be the embedded store's, row for row.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.history import REMOVED, build_history
from support.virtuoso import missing as virtuoso_missing
from support.web import client_for

pytestmark = pytest.mark.slow  # the slow tier: the benchmark in subprocesses, wrk, Virtuoso

ROOT = Path(__file__).resolve().parents[1]
#: The benchmark as its users run it, from the repository root.
RUN = [sys.executable, "-m", "bench"]
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
VIRTUOSO_TITLES = (
    "### Virtuoso: loading the release",
    "### SPARQL mix on Virtuoso beside the embedded store (medians)",
)
HTTP_DATE = "%a, %d %b %Y %H:%M:%S GMT"
MIX_KEYS = {"per-goal", "place", "text", "describe", "page", "ask"}


def _tool() -> str:
    if shutil.which("wrk"):
        return "wrk"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("wrk is not installed: CI must run the benchmark with it (tests/tools)")
    return "python"


def _with_virtuoso() -> bool:
    """Whether the run includes the Virtuoso phase: always in CI (missing: a failure)."""
    message = virtuoso_missing()
    if message is None:
        return True
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    return False


def test_bench_runs_at_a_small_size(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    with_virtuoso = _with_virtuoso()
    argv = [*RUN, "--sizes", "300", "--duration", "2",
            "--out", str(tmp_path / "out"), "--results", str(results), "--tool", _tool(),
            "--sparql-runs", "3", "--rdflib-runs", "1",
            "--work", str(tmp_path / "work")]  # fmt: skip
    if not with_virtuoso:
        argv.append("--no-virtuoso")
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=420,
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
    for which in ("hot", "random"):  # app and floor alternated, three rounds each
        for fmt, d in size["deref"][which].items():
            assert len(d["round_ratios"]) == 3, (which, fmt)
            assert d["ratio"] == sorted(d["round_ratios"])[1], (which, fmt)
    keys = {q["key"] for q in size["sparql"]}
    assert keys == MIX_KEYS
    for q in size["sparql"]:  # the three engines answered the same thing
        counts = {v for v in q["rows"].values() if v is not None}
        assert len(counts) == 1, q
    if with_virtuoso:
        _check_virtuoso(size["virtuoso"], text, size["build"]["triples"])
    else:
        assert size["virtuoso"] == {"measured": False, "note": "left out (--no-virtuoso)"}
    # Virtuoso (virtuoso-t -f, its own session) is stopped with the size: none left over.
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "work")], capture_output=True,
                              text=True, check=False)  # fmt: skip
    assert leftover.stdout.strip() == "", leftover.stdout


def _check_virtuoso(v: dict, text: str, data_triples: int) -> None:
    """Virtuoso was loaded with the whole release and answered the mix as the embedded
    store does: the same rows, in the same order; DESCRIBE, whose contents SPARQL leaves
    to each engine, either the same triples or explained in the report."""
    for title in VIRTUOSO_TITLES:
        assert title in text, f"{title!r} missing from RESULTS.md"
    assert v["measured"] is True
    assert v["publish"]["triples"] > data_triples and v["publish"]["wall_s"] > 0
    assert {q["key"] for q in v["queries"]} == MIX_KEYS
    for q in v["queries"]:
        assert q["runs"] >= 3 and q["embedded_ms"] > 0 and q["direct_ms"] > 0, q
        assert q["app_ms"] > 0, q
        if q["key"] == "describe" and q["agreement"]["virtuoso"] != "same":
            assert "DESCRIBE: SPARQL 1.1 leaves" in text
            continue
        assert q["agreement"] == {"virtuoso": "same", "app": "same"}, q
        assert len(set(q["rows"].values())) == 1, q


def test_bench_without_virtuoso_fails_and_names_the_installer(tmp_path: Path) -> None:
    """Virtuoso not installed: the run stops at once, saying how to install it, rather
    than leave the comparison out unnoticed; --no-virtuoso is the way to leave it out."""
    empty = tmp_path / "bin"
    empty.mkdir()
    argv = [*RUN, "--sizes", "300", "--out", str(tmp_path / "out"),
            "--results", str(tmp_path / "RESULTS.md"), "--work", str(tmp_path / "work")]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": str(empty)}, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "tests/tools/install.sh" in done.stderr and "--no-virtuoso" in done.stderr
    assert not (tmp_path / "RESULTS.md").exists() and not (tmp_path / "work").exists()


def test_bench_keeps_older_runs(tmp_path: Path) -> None:
    """A second run goes on top; the first run's section stays below, unchanged."""
    from bench.report import MARKER, write_results

    results = tmp_path / "RESULTS.md"
    run = {"started": "then", "finished": "then", "wall_s": 1.0, "command": "python -m bench",
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


def test_build_only_measures_a_build_and_a_rebuild(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.build_only", "--pledges", "1500",
         "--work", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "1,500 pledges" in out
    assert "| pledges: 1500 mapped; 1500 validated |" in out
    # The rebuild read and validated only the file with the changed record (1,000 a file).
    assert "| pledges: 1500 mapped; 1000 validated, 500 unchanged since the last build |" in out
    # The first build loads the store; the rebuild makes it from the first one's plus
    # the changes (issue 18).
    assert out.count("| store loaded |") == 1
    assert re.search(r"store made from release [0-9a-f]{16} plus the changes", out), out


def test_release_cost_times_one_record_releases_and_a_many_pledge_one(tmp_path: Path) -> None:
    """bench.release_cost: the one-record rebuilds' medians, and the many-pledge release
    with what its history cost."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.release_cost", "--pledges", "2500", "--rounds", "2",
         "--many", "1200", "--work", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "- First build: 2,500 pledges" in out
    assert re.search(r"\| one record changed \| 2 \| [0-9.,]+ \|", out), out
    assert re.search(r"\| 1,200 pledges changed \| 1 \|", out), out
    # Each build's stages (those of half a second or more: at this size, few).
    rounds = [line for line in out.splitlines() if line.startswith("- one record, build")]
    assert len(rounds) == 2
    assert re.search(r"Recording the history of the 1,200-pledge release: changes computed "
                     r"[0-9.]+ s", out), out  # fmt: skip


def test_memento_load_measures_mementos_beside_current_documents(tmp_path: Path) -> None:
    """bench.memento_load on three small releases: five documents of the version before
    the current one, their mementos found through the TimeGate, every format loaded on
    the four sides; every memento answered 200 with its datetime, under load too."""
    _data, releases, built = build_history(tmp_path, "http://127.0.0.1:8790")
    out = tmp_path / "memento.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.memento_load", "--releases", str(releases), "--hot", "5",
         "--duration", "1", "--rounds", "1", "--tool", _tool(), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    older = built[1]  # the most recent kept version before the current one
    assert result["memento"]["release"] == older.release_id
    assert result["current"]["release"] == built[2].release_id
    assert result["hot"] == 5 and result["mementos_checked"] == 5 * 5
    assert [p.split("/", 3)[3] for p in result["paths"]["memento"]] == [
        p.lstrip("/") for p in result["paths"]["current"]]
    assert all(p.startswith(f"/memento/{older.stamp}/doc/pledge/")
               for p in result["paths"]["memento"])
    assert f"/doc/pledge/{REMOVED}" not in result["paths"]["current"]  # gone: not compared
    assert set(result["formats"]) == {"ttl", "jsonld", "nt", "rdf", "html"}
    for fmt, r in result["formats"].items():
        for side in ("app_current", "app_memento", "floor_current", "floor_memento"):
            assert r[side]["requests"] > 0 and r[side]["errors"] == 0, (fmt, side)
        assert set(r["ratios"]) == {"current/floor", "memento/floor", "memento/current"}
        assert r["bytes"]["memento"] > 0
        assert f"| {fmt} | " in done.stdout
    assert "--releases REL" in done.stdout and str(tmp_path) not in done.stdout
    client = client_for(releases)  # the paths measured are the mementos, as a client sees
    for path in result["paths"]["memento"]:
        resp = client.get(path, headers={"Accept": "text/turtle"})
        assert resp.status_code == 200, path
        assert resp.headers["Memento-Datetime"] == older.created.strftime(HTTP_DATE), path

    only_first = tmp_path / "one-version"  # the first version alone: nothing older
    only_first.mkdir()
    (only_first / "current").symlink_to(built[0].folder)
    shutil.copytree(releases / "history", only_first / "history")
    done = subprocess.run([sys.executable, "-m", "bench.memento_load", "--releases",
                           str(only_first)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1
    assert "no kept version older than the current one" in done.stderr, done.stderr


def _serve_wsgi(app, stack: list) -> int:  # type: ignore[no-untyped-def]
    """``app`` on 127.0.0.1 in a thread; the server is shut down by the test's cleanup."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.append(server)
    return server.server_port


@pytest.mark.parametrize(("delay_s", "expected_runs"), [(0.0, 4), (0.3, 1)])
def test_mix_times_a_query_longer_than_its_budget_by_its_first_run(
    tmp_path: Path, delay_s: float, expected_runs: int
) -> None:
    """A query answered within the budget gets the asked-for rounds; one whose first
    answer alone outlasts the budget (minutes, at 1M) is timed by that answer and by the
    engine's first run, never repeated; the floor is still sampled."""
    import time

    import pyoxigraph
    from bench import floor_app
    from bench.sparql_mix import JSON_RESULTS, Query, measure_mix

    def endpoint(environ, start_response):  # type: ignore[no-untyped-def]
        time.sleep(delay_s)
        body = b'{"head":{},"boolean":true}'
        start_response("200 OK", [("Content-Type", JSON_RESULTS),
                                  ("Content-Length", str(len(body)))])  # fmt: skip
        return [body]

    store = pyoxigraph.Store(str(tmp_path / "store"))
    store.add(pyoxigraph.Quad(pyoxigraph.NamedNode("http://example.org/s"),
                              pyoxigraph.NamedNode("http://example.org/p"),
                              pyoxigraph.Literal("o")))  # fmt: skip
    del store  # the engine process opens it read-only
    servers: list = []
    try:
        app_port = _serve_wsgi(endpoint, servers)
        floor_port = _serve_wsgi(floor_app.application, servers)
        (timing,) = measure_mix([Query("ask", "ASK", "ASK {}", JSON_RESULTS)], app_port,
                                floor_port, tmp_path / "store", runs=4, budget_s=0.2,
                                timeout_s=30)  # fmt: skip
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert timing.runs == expected_runs
    assert timing.rows == {"http": 1, "engine": 1}
    assert (timing.http_ms >= 300) is (delay_s > 0)
    assert timing.engine_ms > 0 and timing.floor_ms > 0 and timing.floor_trivial_ms > 0
