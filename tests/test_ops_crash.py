"""Crashes: a gunicorn worker killed (SIGKILL) under load loses at most the requests it had
in flight, the master replaces it and the server keeps answering; a damaged or missing
release makes ``pledge-lod serve`` refuse to start with one line saying what to do.

(tests/test_web_serve.py already covers: no releases folder, a manifest that is not JSON,
a store that cannot be opened, a release built for another base.)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from support.gunicorn import gunicorn_server, load_result, start_load, summary
from support.processes import free_port, run_cli
from test_web_serve import assert_refused

pytestmark = pytest.mark.slow  # the slow tier: gunicorn under load, killed

CLIENTS = 16


def _query_workers_of(pid: int) -> list[int]:
    """The SPARQL query worker processes a gunicorn worker started."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    found = []
    for child in (int(x) for x in path.read_text().split()) if path.exists() else []:
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"pledge_lod.store.embedded.query_process" in cmd:
            found.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_worker_loses_only_its_requests_in_flight(
    releases_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "load.json"
    with gunicorn_server(releases_dir, tmp_path / "server.log") as server:
        proc = start_load(server.url, out, clients=CLIENTS, duration=9)
        time.sleep(3.5)
        workers = server.workers()
        assert len(workers) == 2, workers
        victim = workers[0]
        orphans = _query_workers_of(victim)
        killed_at = time.time()
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = server.workers()
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.1)
        replaced_after = time.time() - killed_at
        result = load_result(proc, out, timeout=120)
        assert victim not in server.workers() and len(server.workers()) == 2
        log = server.log_text()
    print(f"\nworker {victim} killed; replaced after {replaced_after:.1f} s;", summary(result))
    failures = result["failure_samples"]
    print("failures (s after the kill):", json.dumps(
        [(round(f["t_end"] - killed_at, 2), f["kind"], f["error"][:60]) for f in failures]))
    # At most one request in flight per client; each failed when the worker died (not
    # later: the master's new worker serves the retries and everything after).
    assert result["failures"] <= CLIENTS, summary(result)
    for failure in failures:
        assert failure["t"] <= killed_at + 0.5 and failure["t_end"] <= killed_at + 3, failure
    assert result["requests"] > 100
    assert "Traceback" not in log
    # The dead worker's query processes saw their socket close and exited.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in orphans):
        time.sleep(0.1)
    assert not any(_alive(p) for p in orphans), "a query worker outlived its gunicorn worker"


def _copy_release(releases_dir: Path, target: Path) -> Path:
    current = (releases_dir / "current").resolve()
    copy = target / "releases" / current.name
    shutil.copytree(current, copy, symlinks=True)
    (target / "releases" / "current").symlink_to(current.name)
    return copy


def _damage_manifest_missing(release: Path) -> None:
    (release / "manifest.json").unlink()


def _damage_manifest_truncated(release: Path) -> None:
    text = (release / "manifest.json").read_text(encoding="utf-8")
    (release / "manifest.json").write_text(text[: len(text) // 2], encoding="utf-8")


def _damage_manifest_wrong_format(release: Path) -> None:
    data = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    data["format"] = 99
    (release / "manifest.json").write_text(json.dumps(data), encoding="utf-8")


def _damage_store_removed(release: Path) -> None:
    shutil.rmtree(release / "store")


def _damage_store_emptied(release: Path) -> None:
    shutil.rmtree(release / "store")
    (release / "store").mkdir()


def _damage_dump_missing(release: Path) -> None:
    (release / "dumps" / "pledges.nt.gz").unlink()


def _damage_current_dangling(release: Path) -> None:
    shutil.rmtree(release)


def _damage_current_not_a_link(release: Path) -> None:
    link = release.parent / "current"
    link.unlink()
    link.mkdir()


DAMAGE = {
    "manifest deleted": (_damage_manifest_missing, ["pledge-lod build"]),
    "manifest cut short": (_damage_manifest_truncated, ["damaged", "pledge-lod build"]),
    "manifest of another format": (_damage_manifest_wrong_format, ["format", "rebuild"]),
    "store removed": (_damage_store_removed, ["missing store/", "pledge-lod build"]),
    "store emptied": (_damage_store_emptied, ["store", "pledge-lod build"]),
    "dump missing": (_damage_dump_missing, ["missing dumps/pledges.nt.gz", "pledge-lod build"]),
    "current dangling": (_damage_current_dangling, ["pledge-lod build"]),
    "current not a link": (_damage_current_not_a_link, ["pledge-lod build"]),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_serve_refuses_a_damaged_release(releases_dir: Path, tmp_path: Path, damage: str) -> None:
    release = _copy_release(releases_dir, tmp_path)
    spoil, words = DAMAGE[damage]
    spoil(release)
    result = run_cli(
        "serve", "--releases", str(tmp_path / "releases"), "--port", str(free_port()), timeout=60
    )
    assert_refused(result, *words)
