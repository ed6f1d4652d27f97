"""Shared fixtures: a release of the bundled data, and a live server on 127.0.0.1.

The release is built once per test session (per xdist worker): the fast tier's tests
drive ``create_app(settings).test_client()`` on it. It is built by ``pledge-lod build`` in
a subprocess: a build run in the test process after other tests fails to load its store
(see ``support/releases.py``). It is built with the base the live server will answer on,
so that the IRIs in the data dereference for real clients (rdflib, rapper, jsonld.js,
Chromium) of the slow tier. The helpers live in ``tests/support/``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.paths import DATA, ROOT
from support.processes import free_port, wait_until_up
from support.releases import build_release


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
