"""``pledge-lod serve``: refuses to start, with one clear line and exit code 1, when
there is nothing (sound) to serve or the base does not match; otherwise serves under
gunicorn (the live_server fixture) or the Flask server with --dev."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from gunicorn.workers.gthread import ThreadWorker

from pledge_lod.config import Settings
from pledge_lod.server.serve import gunicorn_options
from support.paths import ROOT
from support.processes import free_port, run_cli, wait_until_up

pytestmark = pytest.mark.slow  # the slow tier: pledge-lod serve in subprocesses


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_refuses_without_a_release(tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--releases", str(tmp_path / "none"), "--port", str(free_port()), timeout=60
    )
    assert_refused(result, "pledge-lod build")


def test_refuses_a_damaged_release(tmp_path: Path) -> None:
    broken = tmp_path / "releases" / "abc"
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "releases" / "current").symlink_to("abc")
    result = run_cli(
        "serve", "--releases", str(tmp_path / "releases"), "--port", str(free_port()), timeout=60
    )
    assert_refused(result, "damaged")


def test_refuses_a_release_whose_store_is_damaged(releases_dir: Path, tmp_path: Path) -> None:
    current = (releases_dir / "current").resolve()
    copy = tmp_path / "releases" / current.name
    shutil.copytree(current, copy, ignore=shutil.ignore_patterns("store"))
    (copy / "store").mkdir()
    (copy / "store" / "CURRENT").write_text("garbage\n", encoding="utf-8")
    (tmp_path / "releases" / "current").symlink_to(current.name)
    result = run_cli(
        "serve", "--releases", str(tmp_path / "releases"), "--port", str(free_port()), timeout=60
    )
    assert_refused(result, "store", "pledge-lod build")


def test_refuses_a_release_built_for_another_base(releases_dir: Path, base_url: str) -> None:
    result = run_cli(
        "serve",
        "--releases",
        str(releases_dir),
        "--base",
        "https://data.example.org",
        "--port",
        str(free_port()),
        timeout=60,
    )
    assert_refused(result, base_url, "https://data.example.org", "pledge-lod build --base")


def test_dev_server_serves(releases_dir: Path, base_url: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pledge_lod",
            "serve",
            "--dev",
            "--releases",
            str(releases_dir),
            "--base",
            base_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", proc)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/doc/place/terrassa.ttl", timeout=10
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/turtle")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_gunicorn_runs_gthread_workers_that_open_the_store_themselves() -> None:
    options = gunicorn_options(Settings(workers=3, threads=4, port=9999))
    assert issubclass(options["worker_class"], ThreadWorker)  # gthread: server/gunicorn_worker.py
    assert options["workers"] == 3 and options["threads"] == 4
    assert options["preload_app"] is False
    assert options["bind"] == "127.0.0.1:9999"


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_sigterm_stops_master_and_workers(releases_dir: Path) -> None:
    """A clean, quick shutdown: no worker may outlive its master."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pledge_lod",
            "serve",
            "--releases",
            str(releases_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", proc)
        for path in ("/doc/place/terrassa.ttl", "/goal/5", "/sparql?query=ASK%7B%7D"):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).read()
        workers = _children(proc.pid)
        assert workers, "gunicorn runs worker processes"
        started = time.monotonic()
        proc.terminate()
        proc.wait(timeout=12)
        assert time.monotonic() - started < 12
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
            time.sleep(0.1)
        assert not any(Path(f"/proc/{w}").exists() for w in workers), "a worker outlived its master"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_live_server_is_gunicorn(live_server: str) -> None:
    with urllib.request.urlopen(live_server + "/robots.txt", timeout=10) as resp:
        assert resp.headers.get("Server", "").startswith("gunicorn")
