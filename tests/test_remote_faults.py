"""Faults on the remote backend, with a live Virtuoso that the test stops, restarts and
freezes: requests get a 503 with Retry-After and a clear message within the time limit
(never a hang, never a 500), and the app recovers by itself when the store is back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from pledge_lod.config import Settings
from pledge_lod.store import ReleaseError
from pledge_lod.store.remote import RemoteStore
from pledge_lod.web import create_app
from support.paths import DATA
from support.processes import free_port, run_cli
from support.releases import build_release
from support.virtuoso import Virtuoso, require_virtuoso

pytestmark = pytest.mark.slow  # the slow tier: a private Virtuoso

TIMEOUT_S = 2.0
BASE = "http://127.0.0.1:18765"


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    require_virtuoso()
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("releases")
    result = build_release(DATA, folder, BASE)
    assert result.returncode == 0, result.stderr
    return folder


def _settings(v: Virtuoso, folder: Path) -> Settings:
    return Settings(base=BASE, releases_dir=folder, backend="remote",
                    remote_query_url=v.query_url, remote_timeout_s=TIMEOUT_S)


def test_nothing_published_is_a_clear_error(virtuoso: Virtuoso, releases: Path) -> None:
    with pytest.raises(ReleaseError, match=r"nothing is published.*pledge-lod publish"):
        RemoteStore.open(_settings(virtuoso, releases))


def test_the_app_starts_while_the_store_is_down(releases: Path) -> None:
    settings = Settings(base=BASE, releases_dir=releases, backend="remote",
                        remote_query_url=f"http://127.0.0.1:{free_port()}/sparql",
                        remote_timeout_s=TIMEOUT_S)
    client = create_app(settings).test_client()
    response, elapsed = _timed(client, "/doc/place/zurich")
    _assert_unavailable(response, elapsed, 2)
    assert "cannot be reached" not in response.get_data(as_text=True)  # no internals shown


def test_serve_says_nothing_is_published(virtuoso: Virtuoso, releases: Path) -> None:
    env = {**virtuoso.env(), "PLEDGE_LOD_RELEASES_DIR": str(releases),
           "PLEDGE_LOD_REMOTE_QUERY_URL": virtuoso.root + "/sparql?fresh"}
    empty = run_cli("serve", "--port", str(free_port()), env=env, timeout=60)
    assert empty.returncode == 1 and "nothing is published" in empty.stderr
    assert "Traceback" not in empty.stderr


@pytest.fixture(scope="module")
def app(virtuoso: Virtuoso, releases: Path) -> FlaskClient:
    published = run_cli("publish", "--releases", str(releases), env=virtuoso.env())
    assert published.returncode == 0, published.stderr
    return create_app(_settings(virtuoso, releases)).test_client()


@pytest.fixture(scope="module")
def fresh_paths(releases: Path) -> Iterator[str]:
    """Paths no request has asked for yet (the app caches rendered documents)."""
    sitemap = (releases / "current" / "sitemap.xml").read_text()
    paths = [u[len(BASE):] for u in re.findall(r"<loc>([^<]+)</loc>", sitemap)]
    return iter([p for p in paths if p.startswith("/doc/")])


def _timed(client: FlaskClient, path: str, **kw):
    started = time.monotonic()
    response = client.get(path, headers={"Accept": "text/turtle"}, **kw)
    return response, time.monotonic() - started


def _assert_unavailable(response, elapsed: float, limit: float) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert int(response.headers["Retry-After"]) >= 1
    assert "not available" in response.get_data(as_text=True)
    assert elapsed < limit, elapsed


def _wait_for_200(client: FlaskClient, paths: Iterator[str], seconds: float = 60) -> float:
    started = time.monotonic()
    deadline = started + seconds
    path = next(paths)
    while True:
        response, _ = _timed(client, path)
        if response.status_code == 200:
            return time.monotonic() - started
        assert response.status_code == 503, response.status_code
        assert time.monotonic() < deadline, "the app did not recover"
        time.sleep(0.2)


def test_store_stopped_then_restarted(virtuoso: Virtuoso, app: FlaskClient,
                                      fresh_paths: Iterator[str]) -> None:
    response, _ = _timed(app, next(fresh_paths))
    assert response.status_code == 200
    virtuoso.stop()
    try:
        for _ in range(3):
            response, elapsed = _timed(app, next(fresh_paths))
            _assert_unavailable(response, elapsed, TIMEOUT_S + 2)
        response = app.get("/goal/5", headers={"Accept": "text/html"})
        assert response.status_code == 503 and "Retry-After" in response.headers
        query = app.post("/sparql", data={"query": "ASK { ?s ?p ?o }"},
                         headers={"Accept": "application/sparql-results+json"})
        assert query.status_code == 503
    finally:
        virtuoso.start()
    # the same app, not restarted, answers again
    assert _wait_for_200(app, fresh_paths) < 60
    query = app.post("/sparql", data={"query": "ASK { ?s ?p ?o }"},
                     headers={"Accept": "application/sparql-results+json"})
    assert query.status_code == 200


def test_store_hung(virtuoso: Virtuoso, app: FlaskClient, fresh_paths: Iterator[str]) -> None:
    response, _ = _timed(app, next(fresh_paths))
    assert response.status_code == 200
    virtuoso.pause()  # accepts connections, never answers
    try:
        for _ in range(2):
            response, elapsed = _timed(app, next(fresh_paths))
            _assert_unavailable(response, elapsed, TIMEOUT_S + 3)
    finally:
        virtuoso.resume()
    assert _wait_for_200(app, fresh_paths) < 30
