"""The response cache (web/caches/responses.py) replays the app's complete answers: through
the WSGI interface, every cached answer is the one the app gives without the cache -
status, header list in order, body - for every format, Accept header, redirect, HEAD
and conditional request; a release switch (forward or back) is served at once; memory
stays within the configured bound; a fault in the layer never becomes an error."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from pledge_lod.release.layout import current_id, switch_current
from pledge_lod.store.embedded import RECHECK_S
from pledge_lod.web.caches import ResponseCache
from support.releases import build_release, copy_data
from support.web import ACCEPT_CASES, UNACCEPTABLE, make_app, one_per_kind, sitemap_paths

EXTS = ("", ".html", ".ttl", ".jsonld", ".nt", ".rdf")
Answer = tuple[str, list[tuple[str, str]], bytes]


def answer(client: FlaskClient, path: str, method: str = "GET", **headers: str) -> Answer:
    resp = client.open(path, method=method, headers=headers)
    return resp.status, resp.headers.to_wsgi_list(), resp.get_data()


def layer(app: Flask) -> ResponseCache:
    assert isinstance(app.wsgi_app, ResponseCache)
    return app.wsgi_app


class CountingApp:
    """Stands between the cache and Flask: how many requests reached the app."""

    def __init__(self, app: Any) -> None:
        self.app, self.calls = app, 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls += 1
        return self.app(environ, start_response)


def counting(app: Flask) -> CountingApp:
    cache = layer(app)
    counter = CountingApp(cache.app)
    cache.app = counter
    return counter


@pytest.fixture(scope="module")
def plain(releases_dir: Path) -> FlaskClient:
    """The app without the layer: the reference every cached answer must equal."""
    app = make_app(releases_dir, response_cache_bytes=0)
    assert not isinstance(app.wsgi_app, ResponseCache)
    return app.test_client()


@pytest.fixture()
def cached_app(releases_dir: Path) -> Flask:
    return make_app(releases_dir)


def sample_paths(releases_dir: Path) -> list[str]:
    docs = [f"/doc/{kind}/{slug}" for kind, slug in sorted(one_per_kind(releases_dir).items())]
    return [
        *(doc + ext for doc in docs for ext in EXTS),
        *(doc.replace("/doc/", "/id/") for doc in docs),
        "/",
        "/pledges",
        "/pledges.atom",
        "/pledges.ttl?page=1",
        "/pledges?page=99999",
        "/pledges?page=x",
        "/def/pledge",
        "/def/shapes.ttl",
        "/.well-known/void",
        "/context.jsonld",
        "/robots.txt",
        "/graph/data",
        "/doc/pledge/no-such-pledge",
        "/id/place/no-such-place",
    ]


def test_cached_answers_equal_the_apps_own(
    releases_dir: Path, plain: FlaskClient, cached_app: Flask
) -> None:
    client = cached_app.test_client()
    app_calls = counting(cached_app)
    accepts = ["text/turtle", "text/html", "application/ld+json", "*/*", "image/png"]
    asked = 0
    for path in sample_paths(releases_dir):
        for accept in accepts:
            for method in ("GET", "HEAD"):
                want = answer(plain, path, method, Accept=accept)
                first = answer(client, path, method, Accept=accept)
                again = answer(client, path, method, Accept=accept)
                assert first == want, (method, path, accept)
                assert again == want, (method, path, accept)
                if method == "HEAD":
                    assert again[2] == b""
                    assert again[1] == answer(plain, path, "GET", Accept=accept)[1]
                asked += 1
    # Every kind of answer above is replayed: the app saw each (method, path, Accept) once.
    assert app_calls.calls == asked


def test_every_accept_header_gets_its_own_variant(
    releases_dir: Path, plain: FlaskClient, cached_app: Flask
) -> None:
    client = cached_app.test_client()
    doc = "/doc/pledge/" + one_per_kind(releases_dir)["pledge"]
    for _round in range(2):  # the second round is answered from the cache, interleaved
        for accept, media in ACCEPT_CASES.items():
            got = answer(client, doc, Accept=accept)
            assert got == answer(plain, doc, Accept=accept), accept
            assert dict(got[1])["Content-Type"].split(";")[0] == media, accept
        for accept in UNACCEPTABLE:
            got = answer(client, doc, Accept=accept)
            assert got[0].startswith("406") and got == answer(plain, doc, Accept=accept)


def test_conditional_requests_get_the_apps_304_from_the_cache(
    releases_dir: Path, plain: FlaskClient, cached_app: Flask
) -> None:
    client = cached_app.test_client()
    app_calls = counting(cached_app)
    for path in ("/doc/pledge/" + one_per_kind(releases_dir)["pledge"], "/pledges"):
        for accept in ("text/turtle", "text/html"):
            first = client.get(path, headers={"Accept": accept})
            etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
            for validators in (
                {"If-None-Match": etag},
                {"If-None-Match": f'"other", {etag}'},
                {"If-Modified-Since": modified},
                {"If-None-Match": '"something-else"'},
                {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
                {"If-None-Match": "*"},
                {"If-Modified-Since": "not a date"},
            ):
                want = answer(plain, path, Accept=accept, **validators)
                for method in ("GET", "HEAD"):
                    calls = app_calls.calls
                    assert answer(client, path, method, Accept=accept, **validators)[:2] == (
                        answer(plain, path, method, Accept=accept, **validators)[:2]
                    )
                    again = answer(client, path, method, Accept=accept, **validators)
                    assert again == answer(plain, path, method, Accept=accept, **validators)
                    assert app_calls.calls <= calls + 2  # the HEAD miss, a first 304
                assert want[0].startswith("304") == (
                    "something-else" not in str(validators) and "2001" not in str(validators)
                    and "not a date" not in str(validators)
                ), validators  # fmt: skip
    # Once each variant is known, conditional requests no longer reach the app.
    calls = app_calls.calls
    path = "/doc/pledge/" + one_per_kind(releases_dir)["pledge"]
    etag = client.get(path, headers={"Accept": "text/turtle"}).headers["ETag"]
    for _ in range(5):
        resp = client.get(path, headers={"Accept": "text/turtle", "If-None-Match": etag})
        assert resp.status_code == 304
    assert app_calls.calls == calls


def test_a_first_request_that_is_conditional_is_answered_and_cached(
    releases_dir: Path, plain: FlaskClient, cached_app: Flask
) -> None:
    """A crawler's revisit may be the first request a worker sees for a document."""
    path = "/doc/place/" + one_per_kind(releases_dir)["place"] + ".jsonld"
    etag = plain.get(path).headers["ETag"]
    client = cached_app.test_client()
    app_calls = counting(cached_app)
    assert answer(client, path, **{"If-None-Match": etag}) == answer(
        plain, path, **{"If-None-Match": etag}
    )
    assert answer(client, path)[0].startswith("200")
    calls = app_calls.calls
    assert answer(client, path, **{"If-None-Match": etag})[0].startswith("304")
    assert answer(client, path) == answer(plain, path)
    assert app_calls.calls == calls


def test_what_is_not_a_document_is_not_cached(releases_dir: Path, cached_app: Flask) -> None:
    client = cached_app.test_client()
    cache = layer(cached_app)
    for path in ("/sparql?query=ASK%20%7B%7D", "/dumps/pledges.nt", "/sitemap.xml",
                 "/openapi.json", "/static/sparql.css"):  # fmt: skip
        assert client.get(path).status_code == 200, path
    assert client.options("/pledges").status_code == 200
    assert client.get("/pledges", data=b"x" * 10).status_code == 200  # a body: not replayed
    assert len(cache) == 0


def test_a_server_error_is_never_kept(releases_dir: Path, cached_app: Flask) -> None:
    cached_app.testing = False  # the error handlers answer, as in production
    client = cached_app.test_client()
    path = "/doc/pledge/" + one_per_kind(releases_dir)["pledge"]
    working = cached_app.view_functions["web.document"]

    def broken(**_args: str) -> None:
        raise RuntimeError("a bug")

    cached_app.view_functions["web.document"] = broken
    assert client.get(path).status_code == 500
    assert client.get(path).status_code == 500
    cached_app.view_functions["web.document"] = working
    assert client.get(path).status_code == 200
    assert len(layer(cached_app)) == 1


class _Raising:
    """A store whose snapshot fails in the layer (the app keeps its own store)."""

    def snapshot(self) -> Any:
        raise RuntimeError("a bug in the layer's path")


def test_a_fault_in_the_layer_is_answered_by_the_app(
    releases_dir: Path, plain: FlaskClient, cached_app: Flask
) -> None:
    path = "/doc/pledge/" + one_per_kind(releases_dir)["pledge"]
    client = cached_app.test_client()
    # Headers Werkzeug cannot make sense of: the app answers as it always does, twice.
    for headers in ({"Accept": "text/turtle;q=abc"}, {"If-Modified-Since": "garbage"},
                    {"Accept": ",,;;,"}, {"If-None-Match": 'W/"'}):  # fmt: skip
        assert answer(client, path, **headers) == answer(plain, path, **headers)
        assert answer(client, path, **headers) == answer(plain, path, **headers)
    layer(cached_app).store = _Raising()  # type: ignore[assignment]
    for accept in ("text/turtle", "text/html"):
        assert answer(client, path, Accept=accept) == answer(plain, path, Accept=accept)


def test_memory_stays_within_the_configured_bound(releases_dir: Path, plain: FlaskClient) -> None:
    limit = 96 * 1024
    app = make_app(releases_dir, response_cache_bytes=limit)
    cache = layer(app)
    client = app.test_client()
    paths = [p for p in sitemap_paths(releases_dir) if p.startswith("/doc/")]
    seen = 0
    for path in paths:
        for accept in ("text/turtle", "text/html", "application/n-triples"):
            got = answer(client, path, Accept=accept)
            assert cache.bytes_used <= limit
            seen += len(got[2])
    assert seen > 3 * limit, "the test must ask for more than the cache can hold"
    assert len(cache) > 5
    # Evicted and kept answers alike are still right.
    for path in paths[:3] + paths[-3:]:
        assert answer(client, path, Accept="text/html") == answer(plain, path, Accept="text/html")


def test_the_count_of_bytes_is_not_an_underestimate(releases_dir: Path) -> None:
    """What the entries really hold (measured by dropping them) is at most what the
    bound counts, so the configured bytes are an honest limit."""
    app = make_app(releases_dir)
    cache = layer(app)
    client = app.test_client()
    paths = [p for p in sitemap_paths(releases_dir) if p.startswith("/doc/")]
    gc.collect()
    tracemalloc.start()
    try:
        for path in paths:
            for method in ("GET", "HEAD"):
                client.open(path, method=method, headers={"Accept": "text/turtle"}).close()
        assert len(cache) == 2 * len(paths)
        counted = cache.bytes_used
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        cache.entries_for("another-release")  # drops every entry
        gc.collect()
        freed = before - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(cache) == 0 and cache.bytes_used == 0
    assert 0 <= freed <= counted, (freed, counted)


def _retitle(data: Path, title: str) -> str:
    path = sorted((data / "pledges").glob("*.yaml"))[0]
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    record["title"] = title
    path.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    return str(record["id"])


@pytest.fixture(scope="module")
def two_releases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, str, str, str]]:
    """A releases folder holding two releases that differ in one pledge's title (and
    that pledge's slug)."""
    tmp = tmp_path_factory.mktemp("switch")
    data = copy_data(tmp / "data")
    releases = tmp / "releases"
    assert build_release(data, releases, "http://127.0.0.1:9").returncode == 0
    first = current_id(releases)
    slug = _retitle(data, "A title changed in the second release")
    assert build_release(data, releases, "http://127.0.0.1:9").returncode == 0
    second = current_id(releases)
    assert first and second and first != second
    yield releases, first, second, slug


def test_a_release_switch_is_served_at_once_forward_and_back(
    two_releases: tuple[Path, str, str, str],
) -> None:
    releases, first, second, slug = two_releases
    switch_current(releases, first)
    app = make_app(releases)
    cache = layer(app)
    client = app.test_client()
    plain_client = make_app(releases, response_cache_bytes=0).test_client()
    urls = [f"/doc/pledge/{slug}{ext}" for ext in EXTS] + ["/pledges", "/pledges.atom"]
    marker = b"A title changed in the second release"

    def everything() -> dict[str, Answer]:
        return {url: answer(client, url, Accept="text/turtle") for url in urls}

    old = everything()
    assert old == everything()  # now from the cache
    assert not any(marker in a[2] for a in old.values())
    for target, changed in ((second, True), (first, False)):
        switch_current(releases, target)
        time.sleep(RECHECK_S + 0.2)  # the store looks at `current` this often
        now = everything()
        assert now == {url: answer(plain_client, url, Accept="text/turtle") for url in urls}
        assert all((marker in now[url][2]) == changed for url in urls if "atom" in url or "doc"
                   in url), target  # fmt: skip
        assert all(target in dict(a[1]).get("ETag", target) for a in now.values())
        assert now == everything()
        assert len(cache) == len(urls)  # the other release's answers were dropped
    assert everything() == old
