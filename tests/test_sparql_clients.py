"""Standard clients against a live server: SPARQLWrapper, rdflib's SPARQLStore, curl.

Every client, every way of sending (GET, form POST, direct POST), every format: the
answers must equal what Oxigraph itself gives for the same query on the release store.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator

import pyoxigraph
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import Result
from SPARQLWrapper import (
    CSV,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    URLENCODED,
    XML,
    SPARQLWrapper,
)

from support.sparql import Server, shared_server

pytestmark = pytest.mark.slow  # the slow tier: SPARQL clients against the shared gunicorn server

DC = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"


@pytest.fixture(scope="module")
def server() -> Server:
    return shared_server()


@pytest.fixture(scope="module")
def store(server: Server) -> Iterator[pyoxigraph.Store]:
    yield pyoxigraph.Store.read_only(str(server.releases / "current" / "store"))


class Queries:
    def __init__(self, base: str):
        pl = f"{base}/def/pledge#"
        self.select = (f"PREFIX foaf: <{FOAF}>\nSELECT ?agent ?name WHERE {{\n"
                       f"  GRAPH <{base}/graph/data> {{ ?agent foaf:name ?name }}\n}}\n"
                       "ORDER BY ?agent ?name")
        self.ask_true = f"ASK {{ ?p a <{pl}Pledge> }}"
        self.ask_false = f"ASK {{ ?p a <{pl}NoSuchClass> }}"
        self.construct = (f"PREFIX dcterms: <{DC}>\nCONSTRUCT {{ ?p dcterms:title ?t }}\n"
                          f"WHERE {{ ?p a <{pl}Pledge> ; dcterms:title ?t }}")
        self.describe = f"DESCRIBE <{base}/id/place/peru>"


@pytest.fixture(scope="module")
def queries(server: Server) -> Queries:
    return Queries(server.url)


def expected_rows(store: pyoxigraph.Store, query: str) -> list[tuple[str, ...]]:
    solutions = store.query(query, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [tuple(s[n].value for n in names) for s in solutions]


def expected_graph(store: pyoxigraph.Store, query: str) -> set[tuple[str, str, str]]:
    return {(t.subject.value, t.predicate.value, t.object.value)
            for t in store.query(query, use_default_graph_as_union=True)}


def rows_of(result: Result) -> list[tuple[str, ...]]:
    return [tuple(str(v) for v in row) for row in result]


def triples_of(g: rdflib.Graph) -> set[tuple[str, str, str]]:
    return {(str(s), str(p), str(o)) for s, p, o in g}


def test_the_queries_have_answers(store: pyoxigraph.Store, queries: Queries) -> None:
    assert len(expected_rows(store, queries.select)) > 10
    assert any("ü" in name for _a, name in expected_rows(store, queries.select))
    assert len(expected_graph(store, queries.construct)) > 5
    assert len(expected_graph(store, queries.describe)) > 3


# -- SPARQLWrapper ----------------------------------------------------------------------

WAYS = {"get": None, "form": URLENCODED, "direct": POSTDIRECTLY}


def wrapper(server: Server, query: str, way: str, fmt: str) -> SPARQLWrapper:
    sparql = SPARQLWrapper(server.url + "/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(fmt)
    if WAYS[way] is not None:
        sparql.setMethod(POST)
        sparql.setRequestMethod(WAYS[way])
    return sparql


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select(server: Server, store, queries: Queries, way: str, fmt: str) -> None:
    response = wrapper(server, queries.select, way, fmt).query()
    expected = expected_rows(store, queries.select)
    if fmt == JSON:
        data = response.convert()
        rows = [(b["agent"]["value"], b["name"]["value"]) for b in data["results"]["bindings"]]
    else:
        body = response.response.read()
        rows = rows_of(Result.parse(io.BytesIO(body), format=fmt))
    assert rows == expected


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_ask(server: Server, queries: Queries, way: str, fmt: str) -> None:
    for query, answer in ((queries.ask_true, True), (queries.ask_false, False)):
        result = wrapper(server, query, way, fmt).query()
        if fmt == JSON:
            assert result.convert()["boolean"] is answer
        elif fmt == XML:
            doc = result.convert()
            assert doc.getElementsByTagName("boolean")[0].firstChild.data == str(answer).lower()
        else:  # CSV/TSV of a boolean: Oxigraph writes the word
            assert result.response.read().strip() == str(answer).lower().encode()


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("fmt,parse_as", [(TURTLE, "turtle"), (RDFXML, None), (XML, None),
                                          (JSONLD, None), (N3, "n3")])
@pytest.mark.parametrize("form", ["construct", "describe"])
def test_sparqlwrapper_graphs(server: Server, store, queries: Queries, way: str, fmt: str,
                              parse_as: str | None, form: str) -> None:
    query = getattr(queries, form)
    result = wrapper(server, query, way, fmt).query()
    if parse_as is None:  # SPARQLWrapper itself turns RDF/XML and JSON-LD into a Graph
        graph = result.convert()
    else:
        graph = rdflib.Graph().parse(data=result.convert(), format=parse_as)
    assert triples_of(graph) == expected_graph(store, query)


def test_sparqlwrapper_ntriples_by_conneg(server: Server, store, queries: Queries) -> None:
    sparql = wrapper(server, queries.construct, "get", TURTLE)
    sparql.setOnlyConneg(True)
    sparql.addCustomHttpHeader("Accept", "application/n-triples")
    result = sparql.query()
    assert result.info()["content-type"].startswith("application/n-triples")
    graph = rdflib.Graph().parse(data=result.response.read(), format="nt")
    assert triples_of(graph) == expected_graph(store, queries.construct)


def test_sparqlwrapper_dataset_parameters(server: Server) -> None:
    sparql = SPARQLWrapper(server.url + "/sparql")
    sparql.addParameter("default-graph-uri", "http://kasei.us/2009/09/sparql/data/data1.rdf")
    sparql.addParameter("named-graph-uri", "http://kasei.us/2009/09/sparql/data/data2.rdf")
    sparql.setQuery("SELECT ?s ?g WHERE { { ?s a ?t } UNION { GRAPH ?g { ?s a ?t } } } ORDER BY ?s")
    sparql.setReturnFormat(JSON)
    rows = [(b["s"]["value"], b.get("g", {}).get("value"))
            for b in sparql.query().convert()["results"]["bindings"]]
    assert rows == [("http://kasei.us/2009/09/sparql/data/data1.rdf", None),
                    ("http://kasei.us/2009/09/sparql/data/data2.rdf",
                     "http://kasei.us/2009/09/sparql/data/data2.rdf")]


# -- rdflib's SPARQLStore ------------------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
@pytest.mark.parametrize("return_format", ["xml", "json", "csv", "tsv"])
def test_rdflib_sparqlstore(server: Server, store, queries: Queries, method: str,
                            return_format: str) -> None:
    remote = SPARQLStore(query_endpoint=server.url + "/sparql", method=method,
                         returnFormat=return_format)
    graph = rdflib.Graph(remote)
    assert rows_of(graph.query(queries.select)) == expected_rows(store, queries.select)
    if return_format in {"xml", "json"}:
        assert graph.query(queries.ask_true).askAnswer is True
        assert graph.query(queries.ask_false).askAnswer is False
    remote.close()


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore_graphs(server: Server, store, queries: Queries, method: str) -> None:
    remote = SPARQLStore(query_endpoint=server.url + "/sparql", method=method)
    for query in (queries.construct, queries.describe):
        result = rdflib.Graph(remote).query(query)
        assert triples_of(result.graph) == expected_graph(store, query)
    remote.close()


# -- curl ---------------------------------------------------------------------------------

RESULT_ACCEPTS = {"application/sparql-results+json": "json",
                  "application/sparql-results+xml": "xml", "text/csv": "csv",
                  "text/tab-separated-values": "tsv"}
GRAPH_ACCEPTS = {"text/turtle": "turtle", "application/n-triples": "nt",
                 "application/rdf+xml": "xml", "application/ld+json": "json-ld"}


def curl(server: Server, query: str, way: str, accept: str) -> tuple[int, str, bytes]:
    url = server.url + "/sparql"
    args = ["curl", "-sS", "--max-time", "30", "-H", f"Accept: {accept}"]
    if way == "get":
        args += ["-G", "--data-urlencode", "query@-", url]
    elif way == "form":
        args += ["--data-urlencode", "query@-", url]
    else:
        args += ["-H", "Content-Type: application/sparql-query", "--data-binary", "@-", url]
    args[1:1] = ["-o", "-", "-w", "\n%{http_code} %{content_type}"]
    done = subprocess.run(args, input=query.encode(), capture_output=True, timeout=60, check=True)
    body, _, tail = done.stdout.rpartition(b"\n")
    status, _, media = tail.decode().partition(" ")
    return int(status), media, body


@pytest.mark.parametrize("way", ["get", "form", "direct"])
@pytest.mark.parametrize("accept", list(RESULT_ACCEPTS))
def test_curl_select(server: Server, store, queries: Queries, way: str, accept: str) -> None:
    status, media, body = curl(server, queries.select, way, accept)
    assert status == 200 and media.split(";")[0] == accept
    result = Result.parse(io.BytesIO(body), format=RESULT_ACCEPTS[accept])
    assert rows_of(result) == expected_rows(store, queries.select)


@pytest.mark.parametrize("way", ["get", "form", "direct"])
@pytest.mark.parametrize("accept", list(GRAPH_ACCEPTS))
def test_curl_graphs(server: Server, store, queries: Queries, way: str, accept: str) -> None:
    for query in (queries.construct, queries.describe):
        status, media, body = curl(server, query, way, accept)
        assert status == 200 and media.split(";")[0] == accept
        graph = rdflib.Graph().parse(data=body, format=GRAPH_ACCEPTS[accept])
        assert triples_of(graph) == expected_graph(store, query)


@pytest.mark.parametrize("way", ["get", "form", "direct"])
def test_curl_ask_and_errors(server: Server, queries: Queries, way: str) -> None:
    status, media, body = curl(server, queries.ask_true, way, "application/sparql-results+json")
    assert status == 200 and b'"boolean":true' in body
    status, media, body = curl(server, "SELECT * WHERE { ?s ?p }", way, "*/*")
    assert status == 400 and media.startswith("text/plain")
    assert b"syntax error: line 1, column 25: " in body  # where, in SPARQL 1.1 terms
    status, media, body = curl(server, queries.select, way, "image/png")
    assert status == 406 and b"application/sparql-results+json" in body


def test_the_remote_backend_relays_to_another_endpoint(server: Server, store,
                                                       queries: Queries) -> None:
    """Backend "remote": guarded queries go, unchanged, to the store's snapshot, which
    forwards them by the protocol on the release's dataset (here: this live endpoint)."""
    import dataclasses

    from pledge_lod.config import Settings
    from pledge_lod.http.formats import BY_KEY
    from pledge_lod.release.layout import read_current
    from pledge_lod.store import QueryLimits, QuerySyntaxError, UserQuery
    from pledge_lod.store.remote import QueryClient, RemoteRunner, RemoteSnapshot

    release = read_current(server.releases)
    w3c = {f"w3c{n}": f"http://kasei.us/2009/09/sparql/data/data{n}.rdf" for n in (1, 2, 3)}
    release = dataclasses.replace(release, graphs={**release.graphs, **w3c})
    # The live endpoint holds every graph under its published name.
    snapshot = RemoteSnapshot(release, QueryClient(server.url + "/sparql", 5.0), release.graphs)
    runner = RemoteRunner(QueryLimits.from_settings(Settings(query_timeout_s=5)))

    def job(text: str, results: str | None, graph: str | None) -> UserQuery:
        return UserQuery(text, "http://e/sparql", None, None, True,
                         BY_KEY[results] if results else None, BY_KEY[graph] if graph else None)

    answer = runner.run(job(queries.select, "csv", "ttl"), snapshot)
    assert answer.kind == "results" and answer.format == "csv"
    assert rows_of(Result.parse(io.BytesIO(answer.body), format="csv")) == \
        expected_rows(store, queries.select)
    answer = runner.run(job(queries.construct, "json", "nt"), snapshot)
    assert answer.kind == "graph" and answer.format == "nt"
    graph = rdflib.Graph().parse(data=answer.body, format="nt")
    assert triples_of(graph) == expected_graph(store, queries.construct)
    with pytest.raises(QuerySyntaxError):
        runner.run(job("ASK {", "json", None), snapshot)
