"""The VoID statistics, counted while mapping, are what SPARQL counts in the served store:
after a full build, and after a rebuild that takes most files' counts from the cache."""

from __future__ import annotations

import json
import re
from pathlib import Path

import rdflib
from rdflib.namespace import RDF, VOID

from support.paths import DATA
from support.processes import cli, run_cli

BASE = "http://127.0.0.1:8771"
SCHEMA_PLACE = "https://schema.org/Place"
SPACES = ("http://www.wikidata.org/entity/", "https://sws.geonames.org/",
          "http://metadata.un.org/sdg/")


def _select(releases: Path, query: str) -> list[dict[str, str]]:
    done = run_cli("query", "--releases", str(releases), "--format", "json", query)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["results"]["bindings"]
    return [{k: cell["value"] for k, cell in row.items()} for row in rows]


def _sparql_counts(releases: Path, graph: str) -> dict[str, object]:
    g = f"GRAPH <{graph}>"
    totals = _select(
        releases,
        "SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects) "
        "(COUNT(DISTINCT ?p) AS ?properties) (COUNT(DISTINCT ?o) AS ?objects) "
        f"WHERE {{ {g} {{ ?s ?p ?o }} }}",
    )[0]
    entities = _select(releases, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {g} {{ ?s a ?c }} }}")
    classes = _select(
        releases, f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {g} {{ ?s a ?c }} }} GROUP BY ?c"
    )
    properties = _select(
        releases, f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ {g} {{ ?s ?p ?o }} }} GROUP BY ?p"
    )
    links: dict[tuple[str, str], int] = {}
    for space in SPACES:
        for row in _select(
            releases,
            f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ {g} {{ ?s ?p ?o }} FILTER(isIRI(?o) && "
            f'STRSTARTS(STR(?o), "{space}") && ?p != <{RDF.type}>) }} GROUP BY ?p',
        ):
            links[(row["p"], space)] = int(row["n"])
    examples = set()
    for cls in (f"{BASE}/def/pledge#Pledge", SCHEMA_PLACE):
        query = f"SELECT (MIN(STR(?s)) AS ?first) WHERE {{ {g} {{ ?s a <{cls}> }} }}"
        row = _select(releases, query)
        examples |= {row[0]["first"]} if row and "first" in row[0] else set()
    documents = _select(
        releases,
        f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {g} {{ ?s ?p ?o }} "
        f'FILTER(STRSTARTS(STR(?s), "{BASE}/id/")) }}',
    )
    return {
        "triples": int(totals["triples"]),
        "subjects": int(totals["subjects"]),
        "properties": int(totals["properties"]),
        "objects": int(totals["objects"]),
        "entities": int(entities[0]["n"]),
        "classes": {r["c"]: int(r["n"]) for r in classes},
        "property partitions": {r["p"]: int(r["n"]) for r in properties},
        "links": links,
        "examples": examples,
        "documents": int(documents[0]["n"]),
    }


def _void_counts(release: Path) -> dict[str, object]:
    g = rdflib.Graph().parse(release / "void.ttl", format="turtle")
    ds = rdflib.URIRef(f"{BASE}/.well-known/void#dataset")

    def number(node: rdflib.term.Node, prop: rdflib.URIRef) -> int:
        return int(g.value(node, prop))  # type: ignore[arg-type]

    links = {}
    for linkset in g.subjects(RDF.type, VOID.Linkset):
        target = g.value(linkset, VOID.objectsTarget)
        space = str(g.value(target, VOID.uriSpace))
        links[(str(g.value(linkset, VOID.linkPredicate)), space)] = number(linkset, VOID.triples)
    sitemaps = [release / name for name in json.loads((release / "manifest.json").read_text())
                ["sitemaps"]]
    locs = sum(len(re.findall(r"<url><loc>", p.read_text())) for p in sitemaps)
    classes = {
        str(g.value(part, VOID["class"])): number(part, VOID.entities)
        for part in g.objects(ds, VOID.classPartition)
    }
    assert number(ds, VOID.classes) == len(classes)
    return {
        "triples": number(ds, VOID.triples),
        "subjects": number(ds, VOID.distinctSubjects),
        "properties": number(ds, VOID.properties),
        "objects": number(ds, VOID.distinctObjects),
        "entities": number(ds, VOID.entities),
        "classes": classes,
        "property partitions": {
            str(g.value(part, VOID.property)): number(part, VOID.triples)
            for part in g.objects(ds, VOID.propertyPartition)
        },
        "links": links,
        "examples": {str(o) for o in g.objects(ds, VOID.exampleResource)},
        "documents": locs - 1,  # and the home page
    }


def _build(data: Path, releases: Path) -> Path:
    done = cli("build", "--data", str(data), "--releases", str(releases), "--base", BASE)
    assert done.returncode == 0, done.stderr
    return (releases / "current").resolve()


def test_void_counts_are_the_stores_counts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = cli("synth", "--pledges", "2500", "--seed", "11", "--data", str(DATA),
                   "--out", str(data))
    assert made.returncode == 0, made.stderr
    releases = tmp_path / "releases"
    release = _build(data, releases)
    graph = json.loads((release / "manifest.json").read_text())["graphs"]["data"]
    counted = _void_counts(release)
    assert counted == _sparql_counts(releases, graph)
    assert counted["documents"] > 2500 and counted["links"]

    # One file changed (its first pledge gone): the other files' counts come from the
    # build cache, and the sums still match the store.
    batch = data / "pledges" / "batch-00002.yaml"
    text = batch.read_text()
    batch.write_text(text[text.index("\n- id: ") + 1 :])
    rebuilt = _build(data, releases)
    assert rebuilt != release
    again = _void_counts(rebuilt)
    assert again == _sparql_counts(releases, graph)
    assert again["triples"] < counted["triples"]
