"""The release history served: /changes for people, its Atom feed, the Linked Data Event
Stream (LDES 1.0 on TREE) that a client follows from its start or resumes from an older
version to reach the current data, and the version chain's files (/releases/{n})."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import rdflib
from flask.testing import FlaskClient
from rdflib import RDF, BNode, Literal, URIRef

from support.history import ADDED, EDITED, REMOVED, Built, build_history
from support.processes import free_port
from support.web import client_for, diff_text, same_graph

pytestmark = pytest.mark.slow  # three builds in subprocesses

TREE = rdflib.Namespace("https://w3id.org/tree#")
LDES = rdflib.Namespace("https://w3id.org/ldes#")
AS = rdflib.Namespace("https://www.w3.org/ns/activitystreams#")
DCTERMS = rdflib.DCTERMS
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def base() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, base: str) -> tuple[Path, list[Built]]:
    _data, releases, built = build_history(tmp_path_factory.mktemp("changes"), base)
    return releases, built


@pytest.fixture(scope="module")
def client(history: tuple[Path, list[Built]]) -> FlaskClient:
    return client_for(history[0])


def _dump(path: Path) -> rdflib.Graph:
    return rdflib.Graph().parse(path, format="nt")


# -- a small LDES client, as the spec describes one ------------------------------------


@dataclass
class Member:
    iri: str
    kind: str  # Create, Update, Delete
    of: str
    created: datetime
    state: set[tuple] = field(default_factory=set)


@dataclass
class LdesClient:
    """Follows the TREE relations from the root node; with ``since``, skips every node
    whose relations say its members are all older (a LessThan or LessThanOrEqualTo
    relation at or before ``since``)."""

    http: FlaskClient
    fetched: list[str] = field(default_factory=list)

    def _node(self, url: str) -> rdflib.Dataset:
        path = urlsplit(url)
        resp = self.http.get(path.path + (f"?{path.query}" if path.query else ""),
                             headers={"Accept": "application/trig"})
        assert resp.status_code == 200, url
        assert resp.mimetype == "application/trig"
        self.fetched.append(url)
        ds = rdflib.Dataset()
        ds.parse(data=resp.data, format="trig")
        return ds

    def _wanted(self, ds: rdflib.Dataset, node: URIRef, since: datetime | None) -> list[str]:
        conditions: dict[str, list[tuple[URIRef, datetime | None]]] = {}
        for rel in ds.objects(node, TREE.relation):
            target = str(ds.value(rel, TREE.node))
            value = ds.value(rel, TREE.value)
            moment = value.toPython() if isinstance(value, Literal) else None
            conditions.setdefault(target, []).append((ds.value(rel, RDF.type), moment))
        out = []
        for target, rels in conditions.items():
            older = any(kind in (TREE.LessThanRelation, TREE.LessThanOrEqualToRelation)
                        and since is not None and moment is not None and moment <= since
                        for kind, moment in rels)
            if not older:
                out.append(target)
        return out

    def members(self, root: str, since: datetime | None = None) -> list[Member]:
        ds = self._node(root)
        streams = list(ds.subjects(RDF.type, LDES.EventStream))
        assert len(streams) == 1
        stream = streams[0]
        assert ds.value(stream, LDES.timestampPath) == DCTERMS.created
        assert ds.value(stream, LDES.versionOfPath) == DCTERMS.isVersionOf
        assert ds.value(stream, LDES.versionDeleteObject) == AS.Delete
        todo, seen, found = self._wanted(ds, URIRef(root), since), {root}, []
        while todo:
            url = todo.pop(0)
            if url in seen:
                continue
            seen.add(url)
            ds = self._node(url)
            for m in ds.objects(stream, TREE.member):
                created = ds.value(m, DCTERMS.created).toPython()
                if since is not None and created <= since:
                    continue
                kind = str(ds.value(m, RDF.type)).rsplit("#", 1)[1]
                state = set(ds.graph(m).triples((None, None, None)))
                found.append(Member(str(m), kind, str(ds.value(m, DCTERMS.isVersionOf)),
                                    created, state))
            todo += [u for u in self._wanted(ds, URIRef(url), since) if u not in seen]
        return sorted(found, key=lambda m: m.created)


def _apply(state: dict[str, set[tuple]], members: list[Member]) -> rdflib.Graph:
    for m in members:
        if m.kind == "Delete":
            assert not m.state, m.iri  # a tombstone carries no state
            state.pop(m.of, None)
        else:
            state[m.of] = m.state
    g = rdflib.Graph()
    for triples in state.values():
        for t in triples:
            g.add(t)
    return g


def _by_subject(g: rdflib.Graph) -> dict[str, set[tuple]]:
    assert not any(isinstance(s, BNode) for s in g.subjects())
    out: dict[str, set[tuple]] = {}
    for t in g:
        out.setdefault(str(t[0]), set()).add(t)
    return out


def test_a_client_from_the_start_rebuilds_the_current_dump(
    client: FlaskClient, history: tuple[Path, list[Built]], base: str
) -> None:
    _releases, built = history
    ldes = LdesClient(client)
    members = ldes.members(f"{base}/changes/ldes")
    rebuilt = _apply({}, members)
    current = _dump(built[-1].dump_nt)
    assert same_graph(rebuilt, current), diff_text(rebuilt, current)
    # Every version was visited; version 1 created every resource of the first release.
    assert {f"{base}/changes/{n}" for n in (1, 2, 3)} <= set(ldes.fetched)
    first = [m for m in members if m.created == built[0].created]
    assert {m.kind for m in first} == {"Create"}
    assert len(first) == len(_by_subject(_dump(built[0].dump_nt)))
    later = [(m.kind, m.of.rsplit("/", 1)[1]) for m in members if m.created > built[0].created]
    assert sorted(later) == sorted([("Update", EDITED), ("Delete", REMOVED), ("Create", ADDED)])


@pytest.mark.parametrize("resume_from", [0, 1])
def test_a_client_resuming_applies_only_what_is_new(
    client: FlaskClient, history: tuple[Path, list[Built]], base: str, resume_from: int
) -> None:
    _releases, built = history
    old = built[resume_from]
    ldes = LdesClient(client)
    members = ldes.members(f"{base}/changes/ldes", since=old.created)
    assert all(m.created > old.created for m in members)
    rebuilt = _apply(_by_subject(_dump(old.dump_nt)), members)
    current = _dump(built[-1].dump_nt)
    assert same_graph(rebuilt, current), diff_text(rebuilt, current)
    # The versions it had already seen were not fetched again.
    skipped = {f"{base}/changes/{n}" for n in range(1, resume_from + 2)}
    assert not skipped & set(ldes.fetched), ldes.fetched


def test_the_atom_feed_has_one_entry_per_version_newest_first(
    client: FlaskClient, history: tuple[Path, list[Built]]
) -> None:
    _releases, built = history
    resp = client.get("/changes.atom")
    assert resp.status_code == 200
    assert resp.mimetype == "application/atom+xml"
    feed = ET.fromstring(resp.data)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Version 3", "Version 2",
                                                             "Version 1"]
    stamps = [e.findtext(f"{ATOM}updated") for e in entries]
    assert stamps == [b.created.strftime("%Y-%m-%dT%H:%M:%SZ") for b in reversed(built)]
    assert feed.findtext(f"{ATOM}updated") == stamps[0]
    summaries = [e.findtext(f"{ATOM}summary") for e in entries]
    assert summaries[0].startswith("Version 3: 1 records added, 0 changed, 1 removed")
    assert summaries[1].startswith("Version 2: 0 records added, 1 changed, 0 removed")
    for entry in entries:  # every link dereferences
        for link in entry.findall(f"{ATOM}link"):
            got = client.get(urlsplit(link.get("href")).path,
                             headers={"Accept": link.get("type")})
            assert got.status_code == 200, link.get("href")
            assert got.mimetype == link.get("type"), link.get("href")


def test_the_history_page_lists_versions_and_the_records_they_touched(
    client: FlaskClient,
) -> None:
    page = client.get("/changes", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert page.index("Version 3") < page.index("Version 2") < page.index("Version 1")
    assert f'href="/doc/pledge/{EDITED}"' in page
    assert f'href="/doc/pledge/{ADDED}"' in page
    one = client.get("/changes/2", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f'href="/doc/pledge/{EDITED}"' in one and ADDED not in one
    assert client.get("/changes/99").status_code == 404
    # Past SQLite's 64-bit integers (schemathesis found a 500 here): no such version.
    for path in ("/changes/244585119753914843136", "/releases/244585119753914843136",
                 "/releases/244585119753914843136/changes.rdfp.gz"):  # fmt: skip
        assert client.get(path).status_code == 404, path
    assert client.get("/changes?page=0").status_code == 400
    assert client.get("/changes/2?after=not%20an%20iri").status_code == 400


def test_the_version_chain_s_files_dereference(
    client: FlaskClient, history: tuple[Path, list[Built]]
) -> None:
    _releases, built = history
    for number, release in enumerate(built, start=1):
        assert client.get(f"/releases/{number}").status_code == 303
        dump = client.get(f"/releases/{number}/dumps/pledges.nt")
        assert dump.status_code == 200
        assert dump.data == release.dump_nt.read_bytes()
        patch = client.get(f"/releases/{number}/changes.rdfp.gz")
        assert patch.status_code == 200
        assert patch.mimetype == "application/gzip"
        assert "TX ." in gzip.decompress(patch.data).decode("utf-8")
    assert client.get("/releases/9/dumps/pledges.nt").status_code == 404
    assert client.get("/releases/1/dumps/secret.txt").status_code == 404


def test_each_document_says_when_it_last_changed_and_lists_its_versions(
    client: FlaskClient, history: tuple[Path, list[Built]]
) -> None:
    _releases, built = history
    dcat_version = URIRef("http://www.w3.org/ns/dcat#version")
    expected = {EDITED: (2, built[1]), ADDED: (3, built[2]),
                "municipality-of-straseni": (1, built[0])}
    for slug, (number, release) in expected.items():
        g = rdflib.Graph().parse(data=client.get(f"/doc/pledge/{slug}.nt").data, format="nt")
        doc = next(s for s in g.subjects(rdflib.FOAF.primaryTopic, None))
        assert g.value(doc, DCTERMS.modified).toPython() == release.created, slug
        assert str(g.value(doc, dcat_version)) == str(number), slug
        page = client.get(f"/doc/pledge/{slug}").get_data(as_text=True)
        assert f'href="/changes/{number}">version {number}</a>' in page, slug
    # A memento says when the resource had last changed as of its own release.
    old = client.get(f"/memento/{built[0].stamp}/doc/pledge/{EDITED}.nt")
    g = rdflib.Graph().parse(data=old.data, format="nt")
    doc = next(s for s in g.subjects(rdflib.FOAF.primaryTopic, None))
    assert str(g.value(doc, dcat_version)) == "1"
    # Its versions, each with its memento while the release is kept.
    page = client.get(f"/history/doc/pledge/{EDITED}").get_data(as_text=True)
    assert f'href="/memento/{built[0].stamp}/doc/pledge/{EDITED}"' in page
    assert f'href="/doc/pledge/{EDITED}">as it is now' in page  # version 2 is current
    gone = client.get(f"/history/doc/pledge/{REMOVED}").get_data(as_text=True)
    assert "deleted" in gone and f'href="/memento/{built[0].stamp}/doc/pledge/{REMOVED}"' in gone
    assert client.get("/history/doc/pledge/never-was").status_code == 404
