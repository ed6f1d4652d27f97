"""/search, /search/suggest and /opensearch.xml through HTTP: negotiated results with
highlighted snippets, RDF describing the results, filters and paging, a search box and
an OpenSearch link on every page, and a 400 naming the problem for bad input."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rdflib
from flask.testing import FlaskClient

from support.web import client_for, graph_of, local_context

HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
SCHEMA = rdflib.Namespace("https://schema.org/")
OS = "{http://a9.com/-/spec/opensearch/1.1/}"
SDG = "http://metadata.un.org/sdg/"


@pytest.fixture(scope="module")
def client(releases_dir: Path) -> FlaskClient:
    return client_for(releases_dir, search_page_size=5)


def test_html_results_with_labels_types_and_marked_snippets(client: FlaskClient) -> None:
    resp = client.get("/search?q=STRASENI", headers={"Accept": "text/html"})
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.data.decode()
    assert '<a href="/id/place/straseni" lang="en">Strășeni</a>' in html  # names are @en
    assert '<p class="meta">Place · en</p>' in html
    assert "<mark>Strășeni</mark>" in html
    assert 'rel="alternate" type="text/turtle"' in html


def test_snippets_escape_the_data(client: FlaskClient) -> None:
    html = client.get("/search?q=%3Cscript%3E+dallas").data.decode()
    assert "<script>" not in html.split("</header>", 1)[1].split("<footer")[0]


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
     ("application/n-triples", "nt"), ("application/rdf+xml", "xml")],
)
def test_rdf_describes_the_results(client: FlaskClient, accept: str, fmt: str) -> None:
    resp = client.get("/search?q=poverty&type=goal", headers={"Accept": accept})
    assert resp.status_code == 200 and resp.mimetype == accept
    assert "Accept" in resp.headers.get("Vary", "")
    data = resp.data
    if fmt == "json-ld":  # the served context instead of a network fetch
        data = json.dumps(local_context(client, json.loads(data))).encode()
    g = graph_of(data, fmt)
    page = next(g.subjects(rdflib.RDF.type, SCHEMA.SearchResultsPage))
    assert (page, rdflib.RDF.type, HYDRA.Collection) in g
    assert int(next(g.objects(page, HYDRA.totalItems))) == 1  # type: ignore[arg-type]
    assert list(g.objects(page, HYDRA.member)) == [rdflib.URIRef(SDG + "1")]
    labels = {str(lab) for lab in g.objects(rdflib.URIRef(SDG + "1"), rdflib.RDFS.label)}
    assert "End poverty in all its forms everywhere" in labels



def test_search_page_size_is_its_own_setting(releases_dir: Path) -> None:
    """A page of results holds ``search_page_size`` hits whatever the listings' page
    size (20 by default), in HTML and in RDF (where a resource hit in two languages is
    one member)."""

    def hits(client: FlaskClient, url: str) -> tuple[int, int, int]:
        g = graph_of(client.get(url, headers={"Accept": "text/turtle"}).data, "turtle")
        page = next(g.subjects(rdflib.RDF.type, SCHEMA.SearchResultsPage))
        total = int(next(g.objects(page, HYDRA.totalItems)))  # type: ignore[arg-type]
        html = client.get(url, headers={"Accept": "text/html"}).data.decode()
        return total, len(list(g.objects(page, HYDRA.member))), html.count('<div class="title">')

    client = client_for(releases_dir, page_size=2, search_page_size=7)
    total, members, shown = hits(client, "/search?q=poverty")
    assert total > 7 and shown == 7 and 0 < members <= 7
    listing = client.get("/pledges", headers={"Accept": "text/html"}).data.decode()
    assert listing.split('<ol class="items"', 1)[1].count('<div class="title">') == 2
    total, members, shown = hits(client_for(releases_dir), "/search?q=migration")
    assert total > 20 and shown == 20 and 0 < members <= 20

def test_extension_fixes_the_format(client: FlaskClient) -> None:
    resp = client.get("/search.ttl?q=dallas", headers={"Accept": "text/html"})
    assert resp.mimetype == "text/turtle"
    assert client.get("/search.exe?q=dallas").status_code == 404


def test_filters_and_paging(client: FlaskClient) -> None:
    def members(url: str) -> tuple[int, list[str]]:
        g = graph_of(client.get(url, headers={"Accept": "text/turtle"}).data, "turtle")
        page = next(g.subjects(rdflib.RDF.type, SCHEMA.SearchResultsPage))
        total = int(next(g.objects(page, HYDRA.totalItems)))  # type: ignore[arg-type]
        return total, sorted(str(m) for m in g.objects(page, HYDRA.member))

    total, first = members("/search?q=poverty&lang=en")
    assert total > 5 and len(first) == 5
    _, second = members("/search?q=poverty&lang=en&page=2")
    assert second and not set(first) & set(second)
    _, goal = members("/search?q=poverty&type=target&goal=1")
    assert goal and all(m.startswith(SDG + "1.") for m in goal)
    resp = client.get("/search?q=poverty&lang=en", headers={"Accept": "text/turtle"})
    assert "page=2" in resp.headers["Link"] and 'rel="next"' in resp.headers["Link"]
    _, french = members("/search?q=pauvreté&lang=fr&type=goal")
    assert french == [SDG + "1"]
    assert members("/search?q=pauvreté&lang=es")[0] == 0
    _, placed = members("/search?q=municipality&type=pledge&place=straseni")
    assert placed and all("/id/pledge/" in m for m in placed)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("/search?q=%22", "no words"), ("/search?q=a&type=planet", "type"),
        ("/search?q=a&lang=de", "lang"), ("/search?q=a&goal=18", "goal"),
        ("/search?q=a&place=..%2Fx", "place"), ("/search?q=a&page=0", "page"),
        ("/search?q=a&page=abc", "page"), ("/search?q=a&q=b", "once"),
        ("/search?q=" + "x" * 10_000, "at most"), ("/search?q=a%00", "NUL"),
        ("/search/suggest?q=", "?q="), ("/search/suggest?q=%5E%2A", "no words"),
    ],
)
def test_bad_requests_name_the_problem(client: FlaskClient, url: str, problem: str) -> None:
    resp = client.get(url, headers={"Accept": "application/ld+json"})
    assert resp.status_code in (400, 414), resp.data[:200]
    if resp.status_code == 400:
        assert problem in resp.data.decode()


@pytest.mark.parametrize(
    "q", ['"', "NEAR(a b)", "title:dallas", "*", "^x", "a AND OR NOT b", "{label}:x", "'"],
)
def test_hostile_queries_never_500(client: FlaskClient, q: str) -> None:
    for url in ("/search", "/search/suggest"):
        assert client.get(url, query_string={"q": q}).status_code in (200, 400)


def test_without_words_rdf_gets_an_empty_results_page(client: FlaskClient) -> None:
    g = graph_of(client.get("/search.ttl").data, "turtle")
    page = next(g.subjects(rdflib.RDF.type, SCHEMA.SearchResultsPage))
    assert int(next(g.objects(page, HYDRA.totalItems))) == 0  # type: ignore[arg-type]
    assert not list(g.objects(page, HYDRA.member))


def test_a_page_past_the_end_is_404(client: FlaskClient) -> None:
    assert client.get("/search?q=dallas&page=99").status_code == 404


def test_suggestions_follow_opensearch(client: FlaskClient) -> None:
    resp = client.get("/search/suggest?q=zur")
    assert resp.mimetype == "application/x-suggestions+json"
    query, labels, descriptions, urls = json.loads(resp.data)
    assert query == "zur" and "Zürich" in labels
    assert len(labels) == len(descriptions) == len(urls) <= 10
    assert urls[labels.index("Zürich")].endswith("/id/place/zurich")
    goals = json.loads(client.get("/search/suggest?q=pauvr&type=goal&lang=fr").data)
    assert goals[1][0].startswith("Éliminer la pauvreté")


def test_every_page_has_a_search_box_and_opensearch_link(client: FlaskClient) -> None:
    for path in ("/", "/pledges", "/search?q=dallas"):
        html = client.get(path, headers={"Accept": "text/html"}).data.decode()
        assert 'action="/search"' in html and 'name="q"' in html
        assert '<link rel="search" type="application/opensearchdescription+xml"' in html


def test_opensearch_description(client: FlaskClient) -> None:
    resp = client.get("/opensearch.xml", base_url="http://example.org")
    assert resp.mimetype == "application/opensearchdescription+xml"
    root = ET.fromstring(resp.data)
    assert root.tag == OS + "OpenSearchDescription"
    assert len(root.findtext(OS + "ShortName") or "") <= 16
    urls = {u.get("type"): u.get("template") for u in root.findall(OS + "Url")}
    assert urls["text/html"] == "http://example.org/search?q={searchTerms}"
    assert urls["application/x-suggestions+json"].endswith("/search/suggest?q={searchTerms}")


def test_a_release_without_an_index_says_what_to_do(releases_dir: Path, tmp_path: Path) -> None:
    """A release built before releases carried an index: 503 naming the fix, never a 500."""
    current = (releases_dir / "current").resolve()
    old = tmp_path / "releases"
    shutil.copytree(current, old / current.name, symlinks=True)
    shutil.rmtree(old / current.name / "search")
    manifest_path = old / current.name / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"] = {k: f for k, f in manifest["files"].items() if not k.startswith("search/")}
    manifest_path.write_text(json.dumps(manifest))
    (old / "current").symlink_to(current.name)
    client = client_for(old)
    for url in ("/search?q=dallas", "/search/suggest?q=dal", "/reconcile/suggest/entity?prefix=d"):
        resp = client.get(url, headers={"Accept": "application/ld+json"})
        assert resp.status_code == 503 and "pledge-lod build" in resp.data.decode(), url
