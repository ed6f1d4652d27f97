"""The SPARQL endpoint's dataset is the published dataset.

The release dumps every named graph the endpoint serves (``dumps/dataset.nq.gz`` and
``dumps/dataset.trig.gz``), VoID and the Service Description state its graphs and their
counts, and anyone holding the dump alone can reproduce the endpoint's answers and the
release's SHACL report. Everything is read over HTTP from ``pledge-lod serve``.
"""

from __future__ import annotations

import gzip
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import rdflib
from pyoxigraph import (
    DefaultGraph,
    QueryResultsFormat,
    RdfFormat,
    Store,
    parse_query_results,
)
from pyshacl import validate

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
DUMPS = {"nq": ("dataset.nq.gz", RdfFormat.N_QUADS), "trig": ("dataset.trig.gz", RdfFormat.TRIG)}

#: Aggregates over the default graph (and per graph): both ways, the same answers.
AGGREGATES = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT (COUNT(DISTINCT ?s) AS ?s_) (COUNT(DISTINCT ?o) AS ?o_) WHERE { ?s ?p ?o }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c",
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p",
    "SELECT ?g ?p (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ?p",
    "SELECT ?lang (COUNT(*) AS ?n) "
    "WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } GROUP BY (LANG(?l) AS ?lang)",
    # across graphs: pledges (data graph) per goal typed in the KOS graph
    "SELECT ?goal (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x ?link ?goal . "
    "?goal a <http://metadata.un.org/sdg/ontology#Goal> } GROUP BY ?goal",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) }",
]


def _get(url: str, accept: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=60) as resp:
        assert resp.status == 200
        return resp.read()


def _load(live_server: str, key: str) -> Store:
    name, fmt = DUMPS[key]
    store = Store()
    store.load(gzip.decompress(_get(f"{live_server}/dumps/{name}", "*/*")), format=fmt)
    return store


def _rows(result) -> list[tuple[str, ...]]:
    return sorted(tuple(str(term) for term in row) for row in result)


@pytest.fixture(scope="module")
def description(live_server: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=_get(live_server + "/sparql", "text/turtle"), format="turtle")


@pytest.fixture(scope="module")
def void(live_server: str) -> rdflib.Graph:
    ttl = _get(live_server + "/.well-known/void", "text/turtle")
    return rdflib.Graph().parse(data=ttl, format="turtle")


def _declared(g: rdflib.Graph) -> tuple[dict[str, int], int]:
    """Triples by graph name, and the default graph's, as a description states them."""
    dataset = next(o for o in g.objects(None, SD.defaultDataset))
    counts = {}
    for named in g.objects(dataset, SD.namedGraph):
        graph = g.value(named, SD.graph)
        counts[str(g.value(named, SD.name))] = int(g.value(graph, VOID.triples))
    default = int(g.value(g.value(dataset, SD.defaultGraph), VOID.triples))
    return counts, default


def test_the_dumps_hold_what_the_descriptions_count(
    live_server: str, description: rdflib.Graph, void: rdflib.Graph
) -> None:
    """Both dumps hold every graph the Service Description declares, with the counts it
    and VoID state, the VoID graph's own count included."""
    counts, default = _declared(description)
    assert len(counts) == 5 and sum(counts.values()) >= default > 0
    service = next(description.subjects(SD.defaultDataset, None))
    assert (service, SD.feature, SD.UnionDefaultGraph) in description
    dataset = rdflib.URIRef(live_server + "/.well-known/void#sparql-dataset")
    assert (dataset, VOID.sparqlEndpoint, rdflib.URIRef(live_server + "/sparql")) in void
    assert _declared_in_void(void, dataset) == (counts, default)
    dumps = {str(o) for o in void.objects(dataset, VOID.dataDump)}
    assert dumps == {f"{live_server}/dumps/{name}" for name, _ in DUMPS.values()}
    for key in DUMPS:
        store = _load(live_server, key)
        found = {
            str(r["g"].value): int(r["n"].value)
            for r in store.query(
                "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
            )
        }
        assert found == counts, key
        union = store.query(
            "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
            "WHERE { GRAPH ?g { ?s ?p ?o } } }"
        )
        assert int(next(iter(union))["n"].value) == default
        assert not list(store.quads_for_pattern(None, None, None, DefaultGraph()))


def _declared_in_void(g: rdflib.Graph, dataset: rdflib.URIRef) -> tuple[dict[str, int], int]:
    counts = {}
    for named in g.objects(dataset, SD.namedGraph):
        graph = g.value(named, SD.graph)
        assert (dataset, VOID.subset, graph) in g
        counts[str(g.value(named, SD.name))] = int(g.value(graph, VOID.triples))
    assert int(g.value(dataset, VOID.triples)) == sum(counts.values())
    return counts, int(g.value(g.value(dataset, SD.defaultGraph), VOID.triples))


@pytest.mark.parametrize("key", sorted(DUMPS))
def test_aggregates_over_the_dumps_are_the_endpoints(live_server: str, key: str) -> None:
    """Each aggregate, asked of the endpoint and of the dump loaded into a fresh store
    with the default graph the Service Description declares (the union of the named
    graphs), gives the same answer."""
    store = _load(live_server, key)
    for query in AGGREGATES:
        url = live_server + "/sparql?" + urllib.parse.urlencode({"query": query})
        body = _get(url, "application/sparql-results+json")
        endpoint = _rows(parse_query_results(body, format=QueryResultsFormat.JSON))
        assert endpoint, query
        assert _rows(store.query(query, use_default_graph_as_union=True)) == endpoint, query


def test_the_release_validates_again_from_its_dump_alone(
    live_server: str, releases_dir: Path
) -> None:
    """The data graph of the dump, checked against the dump's shapes graph with the other
    graphs beside it (its nodes the focus, as the build checks it), gives the release's
    own SHACL report; the data graph alone does not (the goals' types are in the KOS)."""
    dataset = rdflib.Dataset()
    nq = gzip.decompress(_get(f"{live_server}/dumps/dataset.nq.gz", "*/*")).decode()
    dataset.parse(data=nq, format="nquads")

    def graph(name: str) -> rdflib.Graph:
        return dataset.graph(rdflib.URIRef(f"{live_server}/graph/{name}"))

    shapes, data = graph("shapes"), rdflib.Graph()
    for t in graph("data"):
        data.add(t)
    focus = sorted({s for s in data.subjects() if isinstance(s, rdflib.URIRef)})
    alone, _, _ = validate(data, shacl_graph=shapes, inference="none", advanced=True,
                           allow_warnings=True, focus_nodes=focus)  # fmt: skip
    assert alone is False
    for name in ("sdg-kos", "ontology", "void"):
        for t in graph(name):
            data.add(t)
    conforms, report, _ = validate(data, shacl_graph=shapes, inference="none", advanced=True,
                                   allow_warnings=True, focus_nodes=focus)  # fmt: skip
    published = rdflib.Graph().parse(releases_dir / "current" / "shacl-report.ttl")
    report_node = next(published.subjects(rdflib.RDF.type, SH.ValidationReport))
    assert published.value(report_node, SH.conforms).toPython() is conforms
    details = set(report.objects(None, SH.detail))
    results = set(report.subjects(rdflib.RDF.type, SH.ValidationResult)) - details
    assert len(results) == len(set(published.objects(report_node, SH.result)))
