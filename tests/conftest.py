"""Shared fixtures: a release of the bundled data, and a live server on 127.0.0.1.

The release is built once per test session (per xdist worker), in the test process
(``support/releases.py``): the fast tier's tests drive ``create_app(settings).test_client()``
on it. It is built with the base the live server will answer on,
so that the IRIs in the data dereference for real clients (rdflib, rapper, jsonld.js,
Chromium) of the slow tier. The helpers live in ``tests/support/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.paths import DATA, ROOT
from support.processes import free_port, wait_until_up
from support.releases import build_release

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



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the live server (gunicorn in a subprocess) is in the slow tier, wherever
    its module is; the other slow tests are marked in their modules."""
    for item in items:
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


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
