"""Memento (RFC 7089) over the kept releases: TimeGates, mementos and TimeMaps of the
documents and dumps, checked against each release's own dump and its own current
answers, and driven by the Memento project's Python client (``memento-client``)."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import rdflib
import requests
from flask.testing import FlaskClient
from memento_client import MementoClient
from rdflib import URIRef
from rdflib.namespace import DCTERMS
from werkzeug.serving import make_server

from pledge_lod.build.changes import record
from pledge_lod.config import Settings
from pledge_lod.release.history import History, archived_changeset, read_headers
from pledge_lod.release.layout import read_release
from pledge_lod.store.remote.store import Connection, RemoteStore
from pledge_lod.web import create_app
from support.history import ADDED, EDITED, NEW_TITLE, REMOVED, Built, build_history
from support.processes import cli, free_port
from support.releases import copy_data
from support.web import client_for, graph_of

pytestmark = pytest.mark.slow  # three builds in subprocesses, a live server

HTTP_DATE = "%a, %d %b %Y %H:%M:%S GMT"


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, port: int) -> tuple[Path, list[Built]]:
    _data, releases, built = build_history(tmp_path_factory.mktemp("memento"), _base(port))
    return releases, built


def _base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def client(history: tuple[Path, list[Built]]) -> FlaskClient:
    return client_for(history[0])


def _as_current(release: Built, root: Path) -> FlaskClient:
    """An app that serves ``release`` as its current one (a folder whose ``current``
    points at it, with the same history), for comparing a memento with the document
    its release served."""
    folder = root / f"only-{release.release_id}"
    folder.mkdir(exist_ok=True)
    link = folder / "current"
    if not link.is_symlink():
        link.symlink_to(release.folder)
        (folder / "history").symlink_to(release.folder.parent / "history")
    return client_for(folder)


def _pledges(dump: Path) -> dict[str, rdflib.Graph]:
    """The release's own dump, as the triples about each pledge."""
    g = rdflib.Graph().parse(dump, format="nt")
    out: dict[str, rdflib.Graph] = {}
    for s, p, o in g:
        if isinstance(s, URIRef) and "/id/pledge/" in str(s):
            out.setdefault(str(s).rsplit("/", 1)[1], rdflib.Graph()).add((s, p, o))
    return out


def _links(header: str) -> dict[str, list[str]]:
    """rel -> URLs, with MementoClient's own parser of Link headers."""
    out: dict[str, list[str]] = {}
    for url, params in MementoClient.parse_link_header(header).items():
        for rel in params.get("rel", []):
            out.setdefault(rel, []).append(url)
    return out


def test_documents_and_dumps_point_at_their_timegate_and_timemap(client: FlaskClient) -> None:
    for path in (f"/doc/pledge/{EDITED}", f"/doc/pledge/{EDITED}.ttl", "/dumps/pledges.nt"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        links = _links(resp.headers["Link"])
        original = links["original"][0]
        base = original[: -len(path)]
        assert original == base + path
        assert links["timegate"] == [f"{base}/timegate{path}"]
        assert links["timemap"] == [f"{base}/timemap{path}"]
        # Pattern 2.1: the original is not its own TimeGate, and is not a memento.
        assert "accept-datetime" not in resp.headers.get("Vary", "").lower()
        assert "Memento-Datetime" not in resp.headers


def test_the_timegate_picks_the_release_in_force_at_the_date(
    client: FlaskClient, history: tuple[Path, list[Built]]
) -> None:
    _releases, built = history
    path = f"/doc/pledge/{EDITED}"
    cases = [(b.created, b) for b in built]
    cases += [(b.created + timedelta(seconds=1), b) for b in built[:-1] if
              b.created + timedelta(seconds=1) < built[built.index(b) + 1].created]
    cases.append((built[0].created - timedelta(days=400), built[0]))  # before them all
    for moment, expected in cases:
        resp = client.get(f"/timegate{path}",
                          headers={"Accept-Datetime": moment.strftime(HTTP_DATE)})
        assert resp.status_code == 302
        assert resp.headers["Location"].endswith(f"/memento/{expected.stamp}{path}")
        assert "accept-datetime" in resp.headers["Vary"].lower()
        links = _links(resp.headers["Link"])
        assert links["original"][0].endswith(path)
        assert links["first"][0].endswith(f"/memento/{built[0].stamp}{path}")
        assert links["last"][0].endswith(f"/memento/{built[-1].stamp}{path}")
        assert len(links["memento"]) == len({*links["first"], *links["last"],
                                             *links.get("prev", []), *links.get("next", []),
                                             resp.headers["Location"]})
    latest = client.get(f"/timegate{path}")  # no Accept-Datetime: the most recent
    assert latest.headers["Location"].endswith(f"/memento/{built[-1].stamp}{path}")


@pytest.mark.parametrize("accept_datetime", [
    "2026-12-03T12:00:00Z", "Thu, 03 Dec 2026 12:00:00 +0000", "Thursday, 03-Dec-26 12:00:00 GMT",
    "Thu, 31 Feb 2026 12:00:00 GMT", "yesterday",
])
def test_a_bad_accept_datetime_is_400_naming_the_format(
    client: FlaskClient, accept_datetime: str
) -> None:
    resp = client.get(f"/timegate/doc/pledge/{EDITED}",
                      headers={"Accept-Datetime": accept_datetime, "Accept": "text/plain"})
    assert resp.status_code == 400
    assert "RFC 1123" in resp.get_data(as_text=True)


def test_every_memento_is_its_release_s_own_document(
    client: FlaskClient, history: tuple[Path, list[Built]], tmp_path: Path
) -> None:
    _releases, built = history
    for release in built:
        own = _as_current(release, tmp_path)
        pledges = _pledges(release.dump_nt)
        assert pledges
        for slug, triples in pledges.items():
            path = f"/doc/pledge/{slug}"
            for accept in ("text/turtle", "application/ld+json", "text/html"):
                resp = client.get(f"/memento/{release.stamp}{path}", headers={"Accept": accept})
                assert resp.status_code == 200, (release.stamp, path)
                assert resp.mimetype == accept
                assert resp.headers["Memento-Datetime"] == release.created.strftime(HTTP_DATE)
                assert "immutable" in resp.headers["Cache-Control"]
                links = _links(resp.headers["Link"])
                assert links["original"][0].endswith(path)
                assert links["timegate"][0].endswith(f"/timegate{path}")
                # The very answer the release gave when it was current.
                assert resp.data == own.get(path, headers={"Accept": accept}).data
            doc = graph_of(client.get(f"/memento/{release.stamp}{path}.nt").data, "nt")
            missing = [t for t in triples if t not in doc]
            assert not missing, (release.stamp, slug, missing[:3])
        # The dumps' mementos are the release's own files.
        dump = client.get(f"/memento/{release.stamp}/dumps/pledges.nt")
        assert dump.status_code == 200
        assert dump.data == release.dump_nt.read_bytes()
    titles = [graph_of(client.get(f"/memento/{b.stamp}/doc/pledge/{EDITED}.nt").data, "nt")
              for b in built]
    assert [NEW_TITLE in {str(o) for o in g.objects()} for g in titles] == [False, True, True]


def test_timemaps_list_the_releases_that_hold_the_resource(
    client: FlaskClient, history: tuple[Path, list[Built]]
) -> None:
    _releases, built = history
    expected = {EDITED: built, REMOVED: built[:2], ADDED: built[2:]}
    for slug, holders in expected.items():
        path = f"/doc/pledge/{slug}"
        resp = client.get(f"/timemap{path}")
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/link-format"
        links = MementoClient.parse_link_header(resp.get_data(as_text=True).replace("\n", ""))
        mementos = {url: params for url, params in links.items()
                    if "memento" in params["rel"]}
        assert sorted(mementos) == sorted(
            u for u in mementos if any(u.endswith(f"/memento/{b.stamp}{path}") for b in holders)
        )
        assert len(mementos) == len(holders)
        for b in holders:
            (url,) = [u for u in mementos if f"/memento/{b.stamp}/" in u]
            assert mementos[url]["datetime"] == [b.created.strftime(HTTP_DATE)]
            assert client.get(urlsplit(url).path).status_code == 200
        self_link = next(p for p in links.values() if "self" in p["rel"])
        assert self_link["from"] == [holders[0].created.strftime(HTTP_DATE)]
        assert self_link["until"] == [holders[-1].created.strftime(HTTP_DATE)]


def test_what_has_no_memento_says_so(
    client: FlaskClient, history: tuple[Path, list[Built]]
) -> None:
    _releases, built = history
    assert client.get("/timegate/sparql").status_code == 404
    assert client.get("/timegate/doc/pledge/never-was-a-pledge").status_code == 404
    assert client.get("/timemap/doc/pledge/never-was-a-pledge").status_code == 404
    assert client.get(f"/memento/2026/doc/pledge/{EDITED}").status_code == 404
    # A removed pledge has no memento in the release that removed it: the second in
    # force then is the last release that had it.
    late = client.get(f"/memento/{built[2].stamp}/doc/pledge/{REMOVED}")
    assert late.status_code == 302
    assert late.headers["Location"].endswith(f"/memento/{built[1].stamp}/doc/pledge/{REMOVED}")
    # Its current document is gone, not unknown: 410 with the links to its past, and
    # its thing URI still leads there.
    assert client.get(f"/id/pledge/{REMOVED}").status_code == 303
    gone = client.get(f"/doc/pledge/{REMOVED}", headers={"Accept": "text/turtle"})
    assert gone.status_code == 410
    assert _links(gone.headers["Link"])["timegate"][0].endswith(f"/timegate/doc/pledge/{REMOVED}")
    assert client.get("/doc/pledge/never-was-a-pledge").status_code == 404


def test_time_travel_on_the_remote_store_is_501(tmp_path: Path) -> None:
    settings = Settings(releases_dir=tmp_path)
    store = RemoteStore(Connection(f"http://127.0.0.1:{free_port()}/sparql", 0.5, tmp_path))
    client = create_app(settings, store=store).test_client()
    resp = client.get(f"/timegate/doc/pledge/{EDITED}", headers={"Accept": "text/plain"})
    assert resp.status_code == 501
    assert "embedded store" in resp.get_data(as_text=True)


@pytest.fixture(scope="module")
def live(history: tuple[Path, list[Built]], port: int) -> Iterator[str]:
    """The app on a real HTTP server on 127.0.0.1 (the Memento client speaks HTTP)."""
    app = create_app(Settings(releases_dir=history[0]))
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _base(port)
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_the_memento_client_finds_the_native_timegate_and_the_past(
    live: str, history: tuple[Path, list[Built]]
) -> None:
    _releases, built = history
    # Its fallback is a public aggregator: here, this server's own TimeGate, so that
    # nothing leaves the machine even if the native one were not found.
    with requests.Session() as session:
        mc = MementoClient(timegate_uri=f"{live}/timegate/", session=session)
        for release in built:
            pledges = _pledges(release.dump_nt)
            for slug in (EDITED, REMOVED, ADDED):
                if slug not in pledges:
                    continue
                thing = f"{live}/id/pledge/{slug}"
                moment = release.created.replace(tzinfo=None)
                info = mc.get_memento_info(thing, moment)
                assert info["timegate_uri"] == f"{live}/timegate/doc/pledge/{slug}"
                assert info["original_uri"] == f"{live}/doc/pledge/{slug}"
                closest = info["mementos"]["closest"]
                assert closest["uri"] == [f"{live}/memento/{release.stamp}/doc/pledge/{slug}"]
                assert closest["datetime"] == moment
                assert closest["http_status_code"] == 200
                body = session.get(closest["uri"][0], headers={"Accept": "text/turtle"})
                got = graph_of(body.content, "turtle")
                missing = [t for t in pledges[slug] if t not in got]
                assert not missing, (release.stamp, slug, missing[:3])


def test_a_memento_of_a_pruned_release_is_410_with_the_nearest_kept(
    history: tuple[Path, list[Built]], tmp_path: Path
) -> None:
    releases, built = history
    copy = tmp_path / "releases"
    shutil.copytree(releases, copy, symlinks=True)
    shutil.rmtree(copy / built[0].release_id)  # what pruning does; the history stays
    client = client_for(copy)
    path = f"/doc/pledge/{EDITED}"
    gone = client.get(f"/memento/{built[0].stamp}{path}", headers={"Accept": "text/plain"})
    assert gone.status_code == 410
    assert f"/memento/{built[1].stamp}{path}" in gone.get_data(as_text=True)
    links = _links(gone.headers["Link"])
    assert links["memento"] and links["memento"][0].endswith(f"/memento/{built[1].stamp}{path}")
    # The TimeGate and the TimeMap offer only what is kept.
    early = client.get(f"/timegate{path}", headers={
        "Accept-Datetime": built[0].created.strftime(HTTP_DATE)})
    assert early.headers["Location"].endswith(f"/memento/{built[1].stamp}{path}")
    timemap = client.get(f"/timemap{path}").get_data(as_text=True)
    assert built[0].stamp not in timemap and built[1].stamp in timemap
    # The kept releases' dumps are still mementos.
    assert client.get(f"/memento/{built[1].stamp}/dumps/pledges.nt").status_code == 200


def test_what_is_served_before_the_release_is_recorded_is_not_kept(
    history: tuple[Path, list[Built]], tmp_path: Path
) -> None:
    """A build switches ``current``, then records the version. A document asked for in
    between (or after a build stopped there) does not know its newest version yet: it
    says ``no-store``, and nothing of it is kept, so that once the version is recorded
    the document states it."""
    releases, built = history
    folder = tmp_path / "gap"
    folder.mkdir()
    for b in built:
        (folder / b.release_id).symlink_to(b.folder)
    (folder / "current").symlink_to(built[-1].folder)
    shutil.copytree(releases / "history", folder / "history")
    with sqlite3.connect(folder / "history" / "history.sqlite") as db:  # the last not recorded
        db.execute("DELETE FROM changes WHERE version = 3")
        db.execute("DELETE FROM versions WHERE number = 3")
    client = client_for(folder)
    path = f"/doc/pledge/{ADDED}.ttl"  # created by the third release
    version = URIRef("http://www.w3.org/ns/dcat#version")
    for _ in range(2):
        resp = client.get(path)
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == "no-store"
        assert not list(graph_of(resp.data, "turtle").objects(None, version))

    record(folder, read_release(folder / built[-1].release_id), None)
    resp = client.get(path)
    assert resp.status_code == 200
    assert "no-store" not in resp.headers.get("Cache-Control", "")
    assert [str(o) for o in graph_of(resp.data, "turtle").objects(None, version)] == ["3"]


def test_versions_built_in_the_same_second_are_distinct_mementos(tmp_path: Path) -> None:
    """Three builds with one SOURCE_DATE_EPOCH (as fast as builds in one second): an
    edit, then the first data again (its release reused, published anew). Each version
    is dated a second after the one before, and the manifest, the changeset, VoID and
    the history say the same date; the TimeMap lists three mementos and the TimeGate
    gives each at its own date, with its own title."""
    epoch = 1_700_000_000
    env = {"SOURCE_DATE_EPOCH": str(epoch)}
    data, releases = copy_data(tmp_path / "data"), tmp_path / "releases"
    source = data / "pledges" / f"{EDITED}.yaml"
    original = source.read_text(encoding="utf-8")
    old_title = "Boosting Green Employment and Enterprise Opportunities in Ghana"
    ids = []
    for text in (original, original.replace(f"title: {old_title}", f"title: {NEW_TITLE}"),
                 original):  # fmt: skip
        source.write_text(text, encoding="utf-8")
        result = cli("build", "--quiet", "--data", str(data), "--releases", str(releases),
                     "--base", _base(8773), "--jobs", "1", env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr
        ids.append((releases / "current").resolve().name)
    assert ids[0] == ids[2] != ids[1]
    moments = [datetime.fromtimestamp(epoch + n, UTC) for n in range(3)]
    stamps = [m.strftime("%Y-%m-%dT%H:%M:%SZ") for m in moments]
    versions = History.open(releases).versions()
    assert [(v.release_id, v.created) for v in versions] == list(zip(ids, stamps, strict=True))
    # The release built as version 2 states its date everywhere; version 3, a release
    # published again, is dated by the history and its own patch there.
    second = releases / ids[1]
    assert read_release(second).created == stamps[1]
    assert read_headers(second / "changes.rdfp.gz")["created"] == stamps[1]
    assert read_headers(archived_changeset(releases, 3))["created"] == stamps[2]
    void = rdflib.Graph().parse(second / "void.ttl", format="turtle")
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    issued = {str(void.value(node, dcat.version)): void.value(node, DCTERMS.issued).toPython()
              for node in void.objects(None, dcat.hasVersion)}  # fmt: skip
    assert issued == {"1": moments[0], "2": moments[1]}

    client = client_for(releases)
    path = f"/doc/pledge/{EDITED}"
    timemap = client.get(f"/timemap{path}").get_data(as_text=True).replace("\n", "")
    dated = [p["datetime"][0] for p in MementoClient.parse_link_header(timemap).values()
             if "memento" in p["rel"]]  # fmt: skip
    assert sorted(dated) == sorted(m.strftime(HTTP_DATE) for m in moments)
    for moment, title in zip(moments, (old_title, NEW_TITLE, old_title), strict=True):
        asked = {"Accept-Datetime": moment.strftime(HTTP_DATE)}
        gate = client.get(f"/timegate{path}", headers=asked)
        assert gate.status_code == 302
        assert gate.headers["Location"].endswith(f"/memento/{moment:%Y%m%d%H%M%S}{path}")
        memento = client.get(urlsplit(gate.headers["Location"]).path,
                             headers={"Accept": "text/turtle"})  # fmt: skip
        assert memento.status_code == 200
        assert memento.headers["Memento-Datetime"] == moment.strftime(HTTP_DATE)
        assert title in memento.get_data(as_text=True)
