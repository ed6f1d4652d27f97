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
import tempfile
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


# -- the repository stands on its own --------------------------------------------------
#
# Every file a test opens or lists beside the repository (under its parent folder, e.g. a
# ``../shared`` of reading material) but outside it is recorded, and the test during
# which it happened fails. Temporary folders, the Python installation and hidden
# entries (caches, settings) are not the project's material even when they lie there.
_INSIDE = str(ROOT)
_BESIDE = str(ROOT.parent).rstrip(os.sep) + os.sep
_NOT_MATERIAL = tuple(
    {os.path.abspath(p).rstrip(os.sep) + os.sep
     for p in (tempfile.gettempdir(), os.path.realpath(tempfile.gettempdir()), sys.prefix,
               sys.base_prefix, sys.exec_prefix)}
)
_AUDITED = frozenset({"open", "os.listdir", "os.scandir", "glob.glob"})
OUTSIDE_READS: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event not in _AUDITED or not args or isinstance(args[0], int) or args[0] is None:
        return
    try:
        path = os.path.abspath(os.fsdecode(args[0]))
    except (TypeError, ValueError):
        return
    if (
        path.startswith(_BESIDE)
        and path != _INSIDE
        and not path.startswith(_INSIDE + os.sep)
        and not path.startswith(_NOT_MATERIAL)
        and not path[len(_BESIDE) :].startswith(".")
    ):
        OUTSIDE_READS.append(path)


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def _reads_only_the_repository() -> Iterator[None]:
    """Fail the test that read a file beside the repository (or, for reads made while
    the test modules were imported, the first test after them)."""
    yield
    if OUTSIDE_READS:
        found = sorted(set(OUTSIDE_READS))
        OUTSIDE_READS.clear()
        pytest.fail(f"read outside the repository ({len(found)}): " + ", ".join(found[:5]))


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
