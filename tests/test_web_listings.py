"""Paged listings and Atom feeds: exact paging at the edges (empty, one page, exactly
full, one over), first/prev/next/last as links and Link headers, Hydra in RDF, bad page
values answered 400, and feeds that are valid Atom (RFC 4287)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
import rdflib
import yaml
from flask.testing import FlaskClient
from rdflib import URIRef

from pledge_lod.web.listings import FACETS
from support.releases import build_release, copy_data
from support.web import CHROME, client_for, graph_of, one_per_kind

ATOM = "{http://www.w3.org/2005/Atom}"
HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")


@pytest.fixture(scope="module")
def total(releases_dir: Path) -> int:
    client = client_for(releases_dir)
    g = graph_of(client.get("/pledges.ttl").data, "turtle")
    return int(next(g.objects(None, HYDRA.totalItems)))  # type: ignore[arg-type]


def links_of(resp) -> dict[str, str]:
    """rel -> target of the Link header."""
    out = {}
    for part in resp.headers.get("Link", "").split(", <"):
        m = re.match(r'<?([^>]+)>; rel="([^"]+)"', part)
        if m:
            out.setdefault(m.group(2), m.group(1))
    return out


def items_on(client: FlaskClient, path: str) -> list[str]:
    html = client.get(path, headers={"Accept": "text/html"}).data.decode()
    section = html.split('<ol class="items"', 1)
    return (
        re.findall(r'<div class="title"><a href="([^"]+)"', section[1]) if len(section) > 1 else []
    )


def test_exactly_full_page(releases_dir: Path, total: int) -> None:
    client = client_for(releases_dir, page_size=total)
    resp = client.get("/pledges", headers={"Accept": "text/html"})
    assert resp.status_code == 200
    assert len(items_on(client, "/pledges")) == total
    links = links_of(resp)
    assert links["first"].endswith("/pledges?page=1") and links["last"].endswith("/pledges?page=1")
    assert "next" not in links and "prev" not in links
    assert client.get("/pledges?page=2").status_code == 404
    g = graph_of(client.get("/pledges.ttl").data, "turtle")
    assert len(list(g.objects(None, HYDRA.member))) == total


def test_one_over_a_full_page(releases_dir: Path, total: int) -> None:
    client = client_for(releases_dir, page_size=total - 1)
    first = client.get("/pledges")
    assert links_of(first)["next"].endswith("/pledges?page=2")
    assert links_of(first)["last"].endswith("/pledges?page=2")
    assert len(items_on(client, "/pledges")) == total - 1
    second = client.get("/pledges?page=2")
    assert second.status_code == 200
    assert len(items_on(client, "/pledges?page=2")) == 1
    links = links_of(second)
    assert links["prev"].endswith("/pledges?page=1") and "next" not in links
    assert client.get("/pledges?page=3").status_code == 404
    html = second.data.decode()
    assert 'rel="prev"' in html and 'rel="next"' not in html
    assert "page 2 of 2" in html


def test_one_page_not_full(releases_dir: Path, total: int) -> None:
    client = client_for(releases_dir, page_size=total + 1)
    assert len(items_on(client, "/pledges")) == total
    assert "next" not in links_of(client.get("/pledges"))
    assert client.get("/pledges?page=2").status_code == 404


def test_pages_partition_the_listing(releases_dir: Path, total: int) -> None:
    client = client_for(releases_dir, page_size=2)
    seen: list[str] = []
    url = "/pledges"
    for _ in range(total + 2):
        resp = client.get(url, headers={"Accept": "text/turtle"})
        assert resp.status_code == 200, url
        g = graph_of(resp.data, "turtle")
        members = sorted(str(m) for m in g.objects(None, HYDRA.member))
        assert 1 <= len(members) <= 2
        seen += members
        nxt = links_of(resp).get("next")
        if not nxt:
            break
        url = nxt
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen)


def test_empty_listing(releases_dir: Path) -> None:
    client = client_for(releases_dir)
    empty_goal = next(
        n for n in range(1, 18) if "0 records" in client.get(f"/goal/{n}").data.decode()
    )
    resp = client.get(f"/goal/{empty_goal}", headers={"Accept": CHROME})
    assert resp.status_code == 200
    assert items_on(client, f"/goal/{empty_goal}") == []
    assert links_of(resp)["last"].endswith("?page=1")
    assert client.get(f"/goal/{empty_goal}?page=2").status_code == 404
    g = graph_of(client.get(f"/goal/{empty_goal}.ttl").data, "turtle")
    assert int(next(g.objects(None, HYDRA.totalItems))) == 0  # type: ignore[arg-type]
    feed = ET.fromstring(client.get(f"/goal/{empty_goal}.atom").data)
    check_feed(feed)
    assert feed.findall(f"{ATOM}entry") == []


@pytest.fixture(scope="module")
def no_pledges_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled registries with every pledge a draft: nothing is published."""
    work = tmp_path_factory.mktemp("empty")
    data = copy_data(work / "data")
    for path in (data / "pledges").glob("*.yaml"):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        record["status"] = "draft"
        path.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    releases = work / "releases"
    result = build_release(data, releases, "http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr
    return releases


def test_a_release_without_pledges_still_serves(no_pledges_release: Path) -> None:
    client = client_for(no_pledges_release)
    for path in ("/", "/pledges", "/pledges.ttl", "/goal/5", "/.well-known/void"):
        assert client.get(path, headers={"Accept": CHROME}).status_code == 200, path
    assert items_on(client, "/pledges") == []
    assert client.get("/pledges?page=2").status_code == 404
    check_feed(ET.fromstring(client.get("/pledges.atom").data))


@pytest.mark.parametrize(
    "value", ["-1", "0", "abc", "1.5", "", "1e3", "10" + "0" * 30, " 1", "0x10", "１"]
)
def test_bad_page_values_are_400(releases_dir: Path, value: str) -> None:
    client = client_for(releases_dir)
    for accept in ("text/html", "text/turtle", "application/ld+json"):
        resp = client.get("/pledges", query_string={"page": value}, headers={"Accept": accept})
        assert resp.status_code == 400, (value, accept)
        assert b"page" in resp.data
    assert client.get("/goal/5.atom", query_string={"page": value}).status_code == 400
    assert client.get("/pledges?page=1&page=2").status_code == 400


def test_page_past_the_end_is_404_not_500(releases_dir: Path) -> None:
    client = client_for(releases_dir)
    for path in ("/pledges?page=999999999", "/goal/5?page=5", "/goal/5.atom?page=77"):
        assert client.get(path).status_code == 404, path


def test_listing_links_in_rdf(releases_dir: Path, base_url: str) -> None:
    client = client_for(releases_dir, page_size=3)
    g = graph_of(client.get("/pledges?page=2", headers={"Accept": "text/turtle"}).data, "turtle")
    view = URIRef(f"{base_url}/pledges?page=2")
    assert g.value(view, HYDRA.first) == URIRef(f"{base_url}/pledges?page=1")
    assert g.value(view, HYDRA.previous) == URIRef(f"{base_url}/pledges?page=1")
    assert g.value(view, HYDRA.next) == URIRef(f"{base_url}/pledges?page=3")
    assert (URIRef(f"{base_url}/pledges"), HYDRA.view, view) in g


def test_every_facet_lists_and_feeds(releases_dir: Path) -> None:
    client = client_for(releases_dir)
    samples = one_per_kind(releases_dir)
    slugs = {
        "goal": "5",
        "target": "10.7",
        "objective": samples["objective"],
        "theme": samples["theme"],
        "place": samples["place"],
        "programme": samples["programme"],
        "agent": samples["agent"],
        "submitter": samples["agent"],
        "kind": samples["kind"],
        "listing": samples["listing"],
    }
    assert set(slugs) == set(FACETS)
    for facet, slug in slugs.items():
        for suffix in ("", ".html", ".ttl", ".jsonld", ".nt", ".rdf", ".atom"):
            resp = client.get(f"/{facet}/{slug}{suffix}")
            assert resp.status_code == 200, (facet, suffix)
        check_feed(ET.fromstring(client.get(f"/{facet}/{slug}.atom").data))
        assert client.get(f"/{facet}/no-such-{facet}").status_code == 404
    assert client.get("/goal/18").status_code == 404
    assert client.get("/target/10.99").status_code == 404
    assert (
        client.get("/goal/5", headers={"Accept": "application/atom+xml"})
        .headers["Content-Type"]
        .startswith("application/atom+xml")
    )


def test_country_listing_includes_its_places(releases_dir: Path, base_url: str) -> None:
    client = client_for(releases_dir)
    g = graph_of(client.get("/place/spain.ttl").data, "turtle")
    members = set(g.objects(URIRef(f"{base_url}/place/spain"), HYDRA.member))
    assert members, "pledges in Terrassa are pledges in Spain"


def _rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_feed(feed: ET.Element) -> None:
    """The RFC 4287 rules a feed can be checked against without a network."""
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, name
    _rfc3339(feed.findtext(f"{ATOM}updated") or "")
    assert re.match(r"^[a-z][a-z0-9+.-]*:", feed.findtext(f"{ATOM}id") or "")
    assert feed.findall(f"{ATOM}author"), "feed-level author (entries have none)"
    assert all(a.findtext(f"{ATOM}name") for a in feed.findall(f"{ATOM}author"))
    links = feed.findall(f"{ATOM}link")
    assert [link for link in links if link.get("rel") == "self"]
    alternates = {
        (link.get("type"), link.get("hreflang")) for link in links if link.get("rel") == "alternate"
    }
    assert len(alternates) == len([link for link in links if link.get("rel") == "alternate"])
    ids = []
    for entry in feed.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        _rfc3339(entry.findtext(f"{ATOM}updated") or "")
        ids.append(entry.findtext(f"{ATOM}id"))
        if not entry.findall(f"{ATOM}content"):
            assert [x for x in entry.findall(f"{ATOM}link") if x.get("rel") in (None, "alternate")]
        assert len(entry.findall(f"{ATOM}summary")) <= 1
    assert len(ids) == len(set(ids))


def test_feed_entries_are_the_pledges(releases_dir: Path, base_url: str) -> None:
    client = client_for(releases_dir)
    feed = ET.fromstring(client.get("/goal/5.atom").data)
    check_feed(feed)
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        iri = entry.findtext(f"{ATOM}id") or ""
        assert iri.startswith(f"{base_url}/id/pledge/")
        alternate = next(x for x in entry.findall(f"{ATOM}link") if x.get("rel") == "alternate")
        assert client.get(alternate.get("href", "").replace(base_url, "")).status_code == 200
    self_link = next(x for x in feed.findall(f"{ATOM}link") if x.get("rel") == "self")
    assert self_link.get("href", "").startswith(f"{base_url}/goal/5.atom")
