"""One snapshot per request, following the release that is current: when a new release
is switched in, the next requests serve its data with its validators (old ETags no
longer match), and nothing cached from the old release leaks into the new one. And a
genuine bug answers a plain 500 page, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from conftest import build_release, copy_data
from pledge_lod.store.embedded import RECHECK_S
from test_web_support import client_for, graph_of, make_app

BASE = "http://127.0.0.1:9"


def test_a_new_release_is_served_with_new_validators(tmp_path: Path) -> None:
    data = copy_data(tmp_path / "data")
    releases = tmp_path / "releases"
    assert build_release(data, releases, BASE).returncode == 0
    client = client_for(releases)
    path = sorted((data / "pledges").glob("*.yaml"))[0]
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    slug = record["id"]
    first = client.get(f"/doc/pledge/{slug}.ttl")
    html_first = client.get(f"/doc/pledge/{slug}.html")
    assert first.status_code == 200
    etag = first.headers["ETag"]

    record["title"] = "A title changed in the second release"
    path.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    assert build_release(data, releases, BASE).returncode == 0
    time.sleep(RECHECK_S + 0.2)

    second = client.get(f"/doc/pledge/{slug}.ttl", headers={"If-None-Match": etag})
    assert second.status_code == 200, "the old ETag must not match the new release"
    assert second.headers["ETag"] != etag
    g = graph_of(second.data, "turtle")
    assert "A title changed in the second release" in {str(o) for o in g.objects()}
    assert b"A title changed in the second release" in client.get(f"/doc/pledge/{slug}.html").data
    assert html_first.headers["ETag"] != client.get(f"/doc/pledge/{slug}.html").headers["ETag"]
    feed = client.get("/pledges.atom").data.decode()
    assert "A title changed in the second release" in feed


def test_a_bug_answers_a_plain_500(releases_dir: Path) -> None:
    app = make_app(releases_dir)
    app.testing = False  # let the error handlers work as in production

    @app.get("/__boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    client = app.test_client()
    for accept in ("text/html", "text/turtle", "application/ld+json", "*/*"):
        resp = client.get("/__boom", headers={"Accept": accept})
        assert resp.status_code == 500
        assert b"Traceback" not in resp.data and b"secret internal detail" not in resp.data
        assert resp.headers["Cache-Control"] == "no-store"
