"""Shared fixtures: a release of the bundled data, and a live server on 127.0.0.1.

The release is built with the base the live server will answer on, so that the IRIs in
the data dereference for real clients (rdflib, rapper, jsonld.js, Chromium).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
#: The source listing pages, the project's own source material.
SEEDS = DATA / "sources"
#: W3C SPARQL 1.1 test material (w3c/rdf-tests), copied with its licence.
W3C = ROOT / "tests" / "w3c" / "sparql11"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``pledge-lod`` as a user would, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pledge_lod", *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_data(target: Path) -> Path:
    """A private copy of the bundled data that a test may damage."""
    shutil.copytree(DATA, target)
    return target


def build_release(
    data_dir: Path, releases_dir: Path, base: str
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "build",
        "--quiet",
        "--data",
        str(data_dir),
        "--releases",
        str(releases_dir),
        "--base",
        base,
        "--jobs",
        "1",
    )


@pytest.fixture(scope="session")
def server_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def base_url(server_port: int) -> str:
    return f"http://127.0.0.1:{server_port}"


@pytest.fixture(scope="session")
def releases_dir(tmp_path_factory: pytest.TempPathFactory, base_url: str) -> Path:
    """The bundled data built into a private releases folder, with the live server's base."""
    folder = tmp_path_factory.mktemp("releases")
    result = build_release(DATA, folder, base_url)
    assert result.returncode == 0, result.stderr
    return folder


def wait_until_up(
    url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up in {timeout}s")


@pytest.fixture(scope="session")
def live_server(releases_dir: Path, server_port: int, base_url: str) -> Iterator[str]:
    """``pledge-lod serve`` (gunicorn) on 127.0.0.1, as in production; yields its base URL."""
    log = releases_dir.parent / "server.log"
    with log.open("wb") as out:
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
                str(server_port),
                "--workers",
                "2",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(base_url + "/", proc)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
