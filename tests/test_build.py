"""`pledge-lod build`: the bundled data becomes a complete, deterministic release."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyoxigraph
import pytest
import rdflib
from rdflib.compare import isomorphic

from support.paths import DATA, SEEDS
from support.processes import run_cli
from support.releases import build_release, copy_data

BASE = "http://127.0.0.1:8765"
PL = BASE + "/def/pledge#"
DCT = "http://purl.org/dc/terms/"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    releases = tmp_path_factory.mktemp("rel")
    result = build_release(DATA, releases, BASE)
    assert result.returncode == 0, result.stderr
    assert "now current" in result.stdout
    return (releases / "current").resolve()


def _graph(path: Path, fmt: str) -> rdflib.Graph:
    return rdflib.Graph().parse(path, format=fmt)


def _seed_titles() -> set[str]:
    """Every item title on the two seed pages (the lines followed by a blank line and then
    a 'Submitted by' line or a summary), read independently of the importer."""
    titles = set()
    for path in SEEDS.glob("*.txt"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines[:-2]):
            if lines[i + 1] == "" and lines[i + 2].startswith("Submitted by"):
                titles.add(line.strip())
    return titles


def test_every_seed_pledge_is_linked(release: Path) -> None:
    g = _graph(release / "dumps" / "pledges.nt", "nt")
    pledge_class = rdflib.URIRef(PL + "Pledge")
    pledges = set(g.subjects(rdflib.RDF.type, pledge_class))
    assert len(pledges) == 13
    titles = {str(g.value(p, rdflib.URIRef(DCT + "title"))) for p in pledges}
    assert _seed_titles() <= titles  # the teaser-layout items, found independently
    for p in pledges:
        place = g.value(p, rdflib.URIRef(DCT + "spatial"))
        assert (
            place is not None
            and (place, rdflib.RDF.type, rdflib.URIRef("https://schema.org/Place")) in g
        )
        assert g.value(p, rdflib.URIRef(PL + "submitterVerified")) is not None
        goals = set(g.objects(p, rdflib.URIRef(PL + "sdgGoal")))
        themes = set(g.objects(p, rdflib.URIRef(PL + "thematicArea")))
        assert goals or themes, p
        for goal in goals:
            assert re.fullmatch(r"http://metadata\.un\.org/sdg/([1-9]|1[0-7])", str(goal))
    dallas = rdflib.URIRef(BASE + "/id/pledge/the-city-of-dallas-community-ambassador-program")
    assert (
        dallas,
        rdflib.URIRef(PL + "sdgGoal"),
        rdflib.URIRef("http://metadata.un.org/sdg/5"),
    ) in g
    assert (
        dallas,
        rdflib.URIRef(PL + "thematicArea"),
        rdflib.URIRef(BASE + "/id/theme/livelihoods-and-job-creation"),
    ) in g
    assert (
        dallas,
        rdflib.URIRef(PL + "submittedBy"),
        rdflib.URIRef(BASE + "/id/agent/anqi-zhang"),
    ) in g
    ghana = rdflib.URIRef(
        BASE + "/id/pledge/boosting-green-employment-and-enterprise-opportunities-in"
    )
    assert g.value(ghana, rdflib.URIRef(PL + "submitterVerified")).toPython() is False
    assert g.value(ghana, rdflib.URIRef(PL + "submittedBy")) is None


def test_dumps_parse_with_oxigraph_and_are_isomorphic(release: Path) -> None:
    dumps = release / "dumps"
    fmts = {
        "pledges.nt": pyoxigraph.RdfFormat.N_TRIPLES,
        "pledges.ttl": pyoxigraph.RdfFormat.TURTLE,
        "pledges.jsonld": pyoxigraph.RdfFormat.JSON_LD,
    }
    sets = {}
    for name, fmt in fmts.items():
        sets[name] = {str(q.triple) for q in pyoxigraph.parse(path=str(dumps / name), format=fmt)}
        with gzip.open(dumps / (name + ".gz")) as gz:
            assert gz.read() == (dumps / name).read_bytes()
    assert sets["pledges.nt"] == sets["pledges.ttl"] == sets["pledges.jsonld"]
    nt = _graph(dumps / "pledges.nt", "nt")
    assert isomorphic(nt, _graph(dumps / "pledges.ttl", "turtle"))
    assert isomorphic(nt, _graph(dumps / "pledges.jsonld", "json-ld"))


def test_release_holds_store_void_report_and_sitemap(release: Path) -> None:
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["base"] == BASE
    assert manifest["counts"]["pledges"] == 13
    for name, meta in manifest["files"].items():
        assert (release / name).stat().st_size == meta["bytes"]
    store = pyoxigraph.Store.read_only(str(release / "store"))
    graphs = {g.value for g in store.named_graphs()}
    assert set(manifest["graphs"].values()) <= graphs
    goals = store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://metadata.un.org/sdg/ontology#Goal> }",
        default_graph=[pyoxigraph.NamedNode(manifest["graphs"]["sdg-kos"])],
    )
    assert int(next(iter(goals))["n"].value) == 17
    void = _graph(release / "void.ttl", "turtle")
    VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
    ds = rdflib.URIRef(BASE + "/.well-known/void#dataset")
    assert int(void.value(ds, VOID.triples)) == manifest["counts"]["triples"]
    assert (ds, VOID.sparqlEndpoint, rdflib.URIRef(BASE + "/sparql")) in void
    assert len(list(void.objects(ds, VOID.dataDump))) == 6
    assert len(list(void.objects(ds, VOID.classPartition))) >= 5
    linksets = {str(void.value(ls, VOID.objectsTarget)) for ls in void.objects(ds, VOID.subset)}
    assert {
        BASE + "/.well-known/void#" + k for k in ("wikidata", "geonames", "un-sdg-kos")
    } <= linksets
    report = _graph(release / "shacl-report.ttl", "turtle")
    SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    assert next(report.objects(None, SH.conforms)).toPython() is True
    sitemap = (release / "sitemap.xml").read_text()
    assert f"<loc>{BASE}/doc/pledge/municipality-of-straseni</loc>" in sitemap


def test_same_input_gives_byte_identical_dumps(release: Path, tmp_path: Path) -> None:
    other = tmp_path / "again"
    result = build_release(DATA, other, BASE)
    assert result.returncode == 0, result.stderr
    again = (other / "current").resolve()
    assert again.name == release.name  # the release id is a digest of the content
    for name in (
        "pledges.nt",
        "pledges.ttl",
        "pledges.jsonld",
        "pledges.nt.gz",
        "pledges.ttl.gz",
        "pledges.jsonld.gz",
    ):
        assert (again / "dumps" / name).read_bytes() == (release / "dumps" / name).read_bytes(), (
            name
        )


def test_failed_build_leaves_the_good_release(tmp_path: Path) -> None:
    data = copy_data(tmp_path / "data")
    releases = tmp_path / "releases"
    assert build_release(data, releases, BASE).returncode == 0
    good = (releases / "current").resolve()
    before = sorted(p.name for p in releases.iterdir())
    pledge = data / "pledges" / "municipality-of-straseni.yaml"
    pledge.write_text(pledge.read_text().replace("locality: straseni\n", ""))
    result = build_release(data, releases, BASE)
    assert result.returncode == 1
    assert "nothing was published" in result.stderr
    assert (releases / "current").resolve() == good
    assert sorted(p.name for p in releases.iterdir()) == before
    assert (good / "dumps" / "pledges.nt").stat().st_size > 0


def test_build_shows_progress_and_validate_writes_nothing(tmp_path: Path) -> None:
    releases = tmp_path / "releases"
    result = run_cli("validate", "--data", str(DATA), "--releases", str(releases), "--base", BASE)
    assert result.returncode == 0, result.stderr
    assert "valid: 13 pledges" in result.stdout
    assert "registries" in result.stderr  # progress lines
    # Nothing published: at most the build cache, never a release.
    assert not releases.exists() or [p.name for p in releases.iterdir()] == [".cache"]
