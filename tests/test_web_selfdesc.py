"""The dataset describes itself: VoID/DCAT at /.well-known/void, the dumps (exactly the
release's files), sitemap, robots.txt, the ontology and shapes with pages documenting
every term, and the JSON-LD context."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest
import rdflib
from flask.testing import FlaskClient
from rdflib import RDF, RDFS, URIRef
from rdflib.namespace import SKOS, VOID

from support.web import client_for, graph_of, sitemap_paths

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
OWL = rdflib.OWL


@pytest.fixture(scope="module")
def client(releases_dir: Path) -> FlaskClient:
    return client_for(releases_dir)


@pytest.fixture(scope="module")
def release(releases_dir: Path) -> tuple[Path, dict]:
    current = (releases_dir / "current").resolve()
    return current, json.loads((current / "manifest.json").read_text(encoding="utf-8"))


def test_void_describes_the_dataset(client: FlaskClient, base_url: str) -> None:
    g = graph_of(client.get("/.well-known/void", headers={"Accept": "text/turtle"}).data, "turtle")
    ds = URIRef(f"{base_url}/.well-known/void#dataset")
    assert (ds, RDF.type, VOID.Dataset) in g
    assert (ds, VOID.sparqlEndpoint, URIRef(f"{base_url}/sparql")) in g
    assert list(g.objects(ds, VOID.dataDump))
    assert list(g.objects(ds, VOID.exampleResource))
    assert str(g.value(ds, VOID.uriSpace)) == f"{base_url}/id/"
    assert int(g.value(ds, VOID.triples)) > 0  # type: ignore[arg-type]
    assert list(g.objects(ds, VOID.classPartition)) and list(g.objects(ds, VOID.propertyPartition))
    assert list(g.subjects(RDF.type, VOID.Linkset))
    assert list(g.objects(ds, DCAT.distribution))
    for fmt, mtype in (
        ("ttl", "text/turtle"),
        ("jsonld", "application/ld+json"),
        ("nt", "application/n-triples"),
        ("rdf", "application/rdf+xml"),
        ("html", "text/html"),
    ):
        resp = client.get(f"/.well-known/void.{fmt}")
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith(mtype)
    html = client.get("/.well-known/void", headers={"Accept": "text/html"}).data.decode()
    assert "Distributions" in html and "/dumps/pledges.nt" in html


def test_void_dumps_are_served(client: FlaskClient, base_url: str) -> None:
    g = graph_of(client.get("/.well-known/void.ttl").data, "turtle")
    dumps = [str(o) for o in g.objects(None, VOID.dataDump)]
    assert dumps
    for url in dumps:
        assert url.startswith(base_url + "/dumps/")
        assert client.head(url[len(base_url) :]).status_code == 200, url


def test_dumps_are_exactly_the_release_files(
    client: FlaskClient, release: tuple[Path, dict]
) -> None:
    _current, manifest = release
    names = [n[len("dumps/") :] for n in manifest["files"] if n.startswith("dumps/")]
    assert names
    for name in names:
        resp = client.get(f"/dumps/{name}")
        assert resp.status_code == 200, name
        assert hashlib.sha256(resp.data).hexdigest() == manifest["files"][f"dumps/{name}"]["sha256"]
        expected = {
            "nt": "application/n-triples",
            "ttl": "text/turtle",
            "jsonld": "application/ld+json",
            "gz": "application/gzip",
        }[name.rsplit(".", 1)[1]]
        assert resp.headers["Content-Type"].split(";")[0] == expected, name
        assert "Content-Encoding" not in resp.headers, name
        assert resp.headers.get("ETag") and resp.headers.get("Last-Modified")
        assert (
            client.get(
                f"/dumps/{name}", headers={"If-None-Match": resp.headers["ETag"]}
            ).status_code
            == 304
        )
        if name.endswith(".gz") and f"dumps/{name[:-3]}" in manifest["files"]:
            plain = client.get(f"/dumps/{name[:-3]}").data
            assert gzip.decompress(resp.data) == plain
        elif name.endswith(".gz"):  # the whole dataset is published gzipped only
            assert name.startswith("dataset.") and gzip.decompress(resp.data)
    ranged = client.get("/dumps/pledges.nt", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.data) == 10
    for name in (
        "manifest.json",
        "store",
        "pledges.xml",
        "..%2Fmanifest.json",
        ".hidden",
        "void.ttl",
    ):
        assert client.get(f"/dumps/{name}").status_code == 404, name


def test_sitemap_and_robots(client: FlaskClient, releases_dir: Path, base_url: str) -> None:
    resp = client.get("/sitemap.xml")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/xml")
    paths = sitemap_paths(releases_dir)
    assert "/" in paths and any(p.startswith("/doc/pledge/") for p in paths)
    for path in paths:
        assert client.get(path, headers={"Accept": "text/html"}).status_code == 200, path
    robots = client.get("/robots.txt").data.decode()
    assert f"Sitemap: {base_url}/sitemap.xml" in robots
    assert re.search(r"^User-agent: \*$", robots, re.M)


def test_ontology_dereferences_and_documents_every_term(client: FlaskClient, base_url: str) -> None:
    g = graph_of(client.get("/def/pledge", headers={"Accept": "text/turtle"}).data, "turtle")
    onto = URIRef(f"{base_url}/def/pledge")
    assert (onto, RDF.type, OWL.Ontology) in g
    terms = sorted(set(g.subjects(RDFS.isDefinedBy, onto)))
    assert terms
    html = client.get("/def/pledge", headers={"Accept": "text/html"}).data.decode()
    for term in terms:
        local = str(term).rsplit("#", 1)[1]
        block = re.search(
            rf'<div class="term" id="{re.escape(local)}">(.*?)</div>\s*'
            r'(?=<div class="term"|</section>)',
            html,
            re.S,
        )
        assert block, f"no entry for {local}"
        text = block.group(1)
        assert str(g.value(term, RDFS.label)) in text
        assert (
            str(g.value(term, SKOS.definition)).replace("'", "&#39;").replace('"', "&#34;")[:60]
            in text
        )
        for prop, name in (
            (RDFS.domain, "Domain"),
            (RDFS.range, "Range"),
            (RDFS.subPropertyOf, "Subproperty of"),
            (RDFS.subClassOf, "Subclass of"),
        ):
            if g.value(term, prop) is not None:
                assert f"<dt>{name}</dt>" in text, (local, name)
    version = g.value(onto, OWL.versionIRI)
    assert version is not None
    assert (
        client.get(str(version)[len(base_url) :], headers={"Accept": "text/turtle"}).status_code
        == 200
    )
    assert client.get("/def/pledge/9.9.9").status_code == 404
    # Hash IRIs of terms dereference to the ontology document.
    assert client.get("/def/pledge.rdf").status_code == 200


def test_shapes_dereference_with_their_messages(client: FlaskClient, base_url: str) -> None:
    g = graph_of(client.get("/def/shapes", headers={"Accept": "text/turtle"}).data, "turtle")
    shapes = list(g.subjects(RDF.type, SH.NodeShape))
    assert shapes
    html = client.get("/def/shapes", headers={"Accept": "text/html"}).data.decode()
    for shape in shapes:
        assert f'id="{str(shape).rsplit("#", 1)[1]}"' in html
    for message in list(g.objects(None, SH.message))[:50]:
        assert str(message).replace("'", "&#39;").replace('"', "&#34;")[:40] in html
    for ext in ("ttl", "jsonld", "nt", "rdf", "html"):
        assert client.get(f"/def/shapes.{ext}").status_code == 200


def test_context_document(client: FlaskClient) -> None:
    resp = client.get("/context.jsonld")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/ld+json")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    ctx = resp.get_json()["@context"]
    assert ctx["pl"].endswith("/def/pledge#")


def test_graph_names_lead_to_their_descriptions(client: FlaskClient) -> None:
    for name, target in (
        ("data", "/.well-known/void"),
        ("ontology", "/def/pledge"),
        ("shapes", "/def/shapes"),
    ):
        resp = client.get(f"/graph/{name}")
        assert resp.status_code == 303 and resp.headers["Location"].endswith(target)
    assert client.get("/graph/other").status_code == 404
