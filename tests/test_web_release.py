"""One snapshot per request, following the release that is current: when a new release
is switched in, the next requests serve its data with its validators (old ETags no
longer match), and nothing cached from the old release leaks into the new one. And a
genuine bug answers a plain 500 page, never a traceback."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import pytest
import yaml

from pledge_lod.release import layout
from pledge_lod.store.embedded import RECHECK_S
from support.releases import build_release, copy_data
from support.web import client_for, graph_of, make_app

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


def test_current_at_an_unservable_release_keeps_the_old_one_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = copy_data(tmp_path / "data")
    releases = tmp_path / "releases"
    assert build_release(data, releases, BASE).returncode == 0
    good = layout.current_id(releases)
    client = client_for(releases)
    assert client.get("/").status_code == 200

    # A release whose store is gone, switched in by hand (as an operator might).
    broken = releases / "0000000000000bad"
    shutil.copytree(releases / good, broken, ignore=shutil.ignore_patterns("store"))
    manifest = json.loads((broken / layout.MANIFEST).read_text(encoding="utf-8"))
    manifest["id"] = broken.name
    (broken / layout.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    layout.switch_current(releases, broken.name)

    with caplog.at_level(logging.ERROR, logger="pledge_lod.store.embedded"):
        for _ in range(3):
            time.sleep(RECHECK_S + 0.1)
            answer = client.get("/doc/pledge/" + _a_pledge(data) + ".ttl")
            assert answer.status_code == 200
            assert good in answer.headers["ETag"], "still the good release"
    said = [r.getMessage() for r in caplog.records if "cannot be served" in r.getMessage()]
    assert len(said) == 1, said  # once, not on every check
    assert broken.name in said[0] and "missing store" in said[0]  # what is wrong, and where
    assert f"still serving release {good}" in said[0]


def _a_pledge(data: Path) -> str:
    path = sorted((data / "pledges").glob("*.yaml"))[0]
    return yaml.safe_load(path.read_text(encoding="utf-8"))["id"]
