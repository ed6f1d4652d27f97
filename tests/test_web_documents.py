"""What the documents hold: own triples, labels of what they link to, links back
(bounded, with the listing for more), document metadata, JSON-LD equal to Turtle, HTML
that embeds the same data safely."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import rdflib
import yaml
from flask.testing import FlaskClient
from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, SKOS

from support.paths import DATA
from support.releases import build_release, copy_data
from support.web import (
    client_for,
    diff_text,
    graph_of,
    local_context,
    one_per_kind,
    same_graph,
    sitemap_paths,
)

NAMES = (RDFS.label, SKOS.prefLabel, URIRef("https://schema.org/name"))


@pytest.fixture(scope="module")
def client(releases_dir: Path) -> FlaskClient:
    return client_for(releases_dir)


@pytest.fixture(scope="module")
def dump(releases_dir: Path) -> rdflib.Graph:
    return rdflib.Graph().parse(
        (releases_dir / "current" / "dumps" / "pledges.nt").resolve(), format="nt"
    )


def doc_paths(releases_dir: Path) -> list[str]:
    return [p for p in sitemap_paths(releases_dir) if p.startswith("/doc/")]


def test_every_document_holds_its_own_triples_exactly(
    client: FlaskClient, releases_dir: Path, dump: rdflib.Graph, base_url: str
) -> None:
    for path in doc_paths(releases_dir):
        thing = URIRef(base_url + path.replace("/doc/", "/id/", 1))
        g = graph_of(client.get(path + ".ttl").data, "turtle")
        own = set(g.triples((thing, None, None)))
        expected = set(dump.triples((thing, None, None)))
        assert own == expected, path


def test_labels_and_types_of_everything_linked(
    client: FlaskClient, releases_dir: Path, base_url: str
) -> None:
    for path in doc_paths(releases_dir):
        thing = URIRef(base_url + path.replace("/doc/", "/id/", 1))
        g = graph_of(client.get(path + ".ttl").data, "turtle")
        for p, o in g.predicate_objects(thing):
            if p == RDF.type or not isinstance(o, URIRef):
                continue
            if str(o).startswith(base_url + "/id/") or str(o).startswith(
                "http://metadata.un.org/sdg/"
            ):
                assert any(g.objects(o, name) for name in NAMES), (path, o)
                assert any(g.objects(o, RDF.type)), (path, o)
        for s, _p, label in g.triples((None, SKOS.prefLabel, None)):
            if str(s).startswith("http://metadata.un.org/sdg/"):
                assert isinstance(label, Literal) and label.language in (None, "en"), (s, label)


def test_goals_and_targets_point_to_our_listings(
    client: FlaskClient, samples_for_goals: str, base_url: str
) -> None:
    g = graph_of(client.get(f"/doc/pledge/{samples_for_goals}.ttl").data, "turtle")
    goal = URIRef("http://metadata.un.org/sdg/5")
    assert (goal, RDFS.seeAlso, URIRef(f"{base_url}/goal/5")) in g


@pytest.fixture(scope="module")
def samples_for_goals() -> str:
    for path in sorted((DATA / "pledges").glob("*.yaml")):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        if 5 in (record.get("goals") or []) and record.get("status") == "published":
            return record["id"]
    pytest.fail("no bundled pledge for SDG 5")


def test_document_metadata(client: FlaskClient, releases_dir: Path, base_url: str) -> None:
    for kind, slug in one_per_kind(releases_dir).items():
        g = graph_of(client.get(f"/doc/{kind}/{slug}.ttl").data, "turtle")
        doc = URIRef(f"{base_url}/doc/{kind}/{slug}")
        assert (doc, FOAF.primaryTopic, URIRef(f"{base_url}/id/{kind}/{slug}")) in g
        assert (doc, DCTERMS.isPartOf, URIRef(f"{base_url}/.well-known/void#dataset")) in g
        assert (doc, RDF.type, FOAF.Document) in g
        assert list(g.objects(doc, DCTERMS.license)), kind
        assert list(g.objects(doc, DCTERMS.modified)), kind


def test_places_agents_programmes_and_concepts_link_back_to_their_pledges(
    client: FlaskClient, dump: rdflib.Graph, base_url: str
) -> None:
    pledge_class = URIRef(base_url + "/def/pledge#Pledge")
    checked = 0
    for pledge in dump.subjects(RDF.type, pledge_class):
        for p, o in dump.predicate_objects(pledge):
            if not (isinstance(o, URIRef) and str(o).startswith(base_url + "/id/")):
                continue
            path = str(o)[len(base_url) :].replace("/id/", "/doc/", 1)
            g = graph_of(client.get(path + ".ttl").data, "turtle")
            assert (pledge, p, o) in g, (path, p)
            assert list(g.objects(pledge, RDFS.label)), path
            checked += 1
    assert checked > 20


def test_backlinks_are_bounded_and_point_to_the_listing(releases_dir: Path, base_url: str) -> None:
    small = client_for(releases_dir, backlink_limit=1)
    # The place with most pledges of the bundled data.
    full = client_for(releases_dir)
    home = full.get("/", headers={"Accept": "text/html"}).data.decode()
    top_place = re.search(r'href="/place/([a-z0-9-]+)">[^<]+</a></td><td class="n">(\d+)', home)
    assert top_place, "the home page lists places with counts"
    slug, total = top_place.group(1), int(top_place.group(2))
    g = graph_of(small.get(f"/doc/place/{slug}.ttl").data, "turtle")
    pledges = set(g.subjects(DCTERMS.spatial, URIRef(f"{base_url}/id/place/{slug}")))
    assert len(pledges) <= 1
    assert (
        URIRef(f"{base_url}/doc/place/{slug}"),
        RDFS.seeAlso,
        URIRef(f"{base_url}/place/{slug}"),
    ) in g
    html = small.get(f"/doc/place/{slug}.html").data.decode()
    assert f'href="/place/{slug}"' in html and f"({total})" in html


def test_jsonld_is_the_same_graph_as_turtle(client: FlaskClient, releases_dir: Path) -> None:
    paths = [
        *doc_paths(releases_dir),
        "/goal/5",
        "/pledges",
        "/def/pledge",
        "/def/shapes",
        "/.well-known/void",
    ]
    for path in paths:
        ttl = graph_of(client.get(path, headers={"Accept": "text/turtle"}).data, "turtle")
        doc = json.loads(client.get(path, headers={"Accept": "application/ld+json"}).data)
        assert isinstance(doc["@context"], str)
        js = rdflib.Graph().parse(data=json.dumps(local_context(client, doc)), format="json-ld")
        assert same_graph(ttl, js), f"{path}\n{diff_text(ttl, js)}"
        nt = graph_of(client.get(path, headers={"Accept": "application/n-triples"}).data, "nt")
        xml = graph_of(client.get(path, headers={"Accept": "application/rdf+xml"}).data, "xml")
        assert same_graph(ttl, nt) and same_graph(ttl, xml), path


def test_jsonld_is_compact_and_readable(client: FlaskClient, releases_dir: Path) -> None:
    slug = one_per_kind(releases_dir)["pledge"]
    doc = json.loads(client.get(f"/doc/pledge/{slug}.jsonld").data)
    main = doc["@graph"][0]
    assert main["id"].endswith(f"/id/pledge/{slug}")
    assert main["type"] == "Pledge"
    assert "title" in main and "spatial" in main and "kind" in main


def test_published_context_is_stable(client: FlaskClient) -> None:
    ctx = client.get("/context.jsonld").get_json()["@context"]
    # Terms documents depend on: never renamed or re-typed.
    for term, iri in {
        "label": "http://www.w3.org/2000/01/rdf-schema#label",
        "title": "http://purl.org/dc/terms/title",
        "spatial": "http://purl.org/dc/terms/spatial",
        "sameAs": "http://www.w3.org/2002/07/owl#sameAs",
        "prefLabel": "http://www.w3.org/2004/02/skos/core#prefLabel",
    }.items():
        assert ctx[term]["@id"] == iri
    assert ctx["spatial"]["@type"] == "@id"
    assert ctx["id"] == "@id" and ctx["type"] == "@type"


def embedded_jsonld(html: str) -> list[str]:
    return re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)


def test_html_embeds_the_same_data_and_links_alternates(
    client: FlaskClient, releases_dir: Path
) -> None:
    for path in [*doc_paths(releases_dir)[:40], "/goal/5", "/def/pledge", "/.well-known/void", "/"]:
        html = client.get(path, headers={"Accept": "text/html"}).data.decode()
        blocks = embedded_jsonld(html)
        assert len(blocks) == 1, path
        doc = json.loads(blocks[0])
        js = rdflib.Graph().parse(data=json.dumps(local_context(client, doc)), format="json-ld")
        ttl = graph_of(client.get(path, headers={"Accept": "text/turtle"}).data, "turtle")
        assert same_graph(ttl, js), path
        for mtype in (
            "text/turtle",
            "application/ld+json",
            "application/n-triples",
            "application/rdf+xml",
        ):
            assert f'<link rel="alternate" type="{mtype}"' in html, (path, mtype)
        assert "<script>" not in html and "<script src" not in html


def test_html_shows_labels_not_iris(client: FlaskClient, releases_dir: Path, base_url: str) -> None:
    slug = one_per_kind(releases_dir)["pledge"]
    html = client.get(f"/doc/pledge/{slug}.html").data.decode()
    main = html.split("<main", 1)[1].split("</article>", 1)[0]
    # Links to our own resources show their names, never the IRI.
    for text in re.findall(r'<a href="/doc/[^"]+">([^<]+)</a>', main):
        assert not text.startswith("http"), text
    assert f">{base_url}/id/" not in main


@pytest.fixture(scope="module")
def nasty_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A release whose pledge title and summary try to break out of the HTML."""
    work = tmp_path_factory.mktemp("nasty")
    data = copy_data(work / "data")
    path = sorted((data / "pledges").glob("*.yaml"))[0]
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    title = 'Evil </script><script>alert("x")</script> <b>bold</b> & <!-- comment'
    record["title"] = title
    record["summary"] = "Summary with </SCRIPT> and <img src=x onerror=alert(1)>"
    path.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    releases = work / "releases"
    result = build_release(data, releases, "http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr
    return releases, record["id"], title


def test_markup_in_the_data_is_shown_as_text(nasty_release: tuple[Path, str, str]) -> None:
    releases, slug, title = nasty_release
    client = client_for(releases)
    for path in (f"/doc/pledge/{slug}", "/pledges", "/goal/5"):
        html = client.get(path, headers={"Accept": "text/html"}).data.decode()
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert html.count("</script>") == 1, path  # only the end of the JSON-LD block
        assert html.lower().count("</script") == 1
        assert "<b>bold</b>" not in html
    html = client.get(f"/doc/pledge/{slug}", headers={"Accept": "text/html"}).data.decode()
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        or "&lt;script&gt;alert(&quot;x&quot;)" in html
    )
    doc = json.loads(embedded_jsonld(html)[0])
    assert doc["@graph"][0]["title"]["@value"] == title
    feed = client.get("/pledges.atom").data
    import xml.etree.ElementTree as ET

    titles = [e.text for e in ET.fromstring(feed).iter("{http://www.w3.org/2005/Atom}title")]
    assert title in titles
