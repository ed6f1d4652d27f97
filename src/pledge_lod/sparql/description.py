"""The SPARQL 1.1 Service Description the endpoint answers with on a bare GET.

It says what the endpoint is and does, in the ``sd:`` vocabulary: ``sd:endpoint`` (the
URL that was asked, under the configured base, never the request's Host), SPARQL 1.1
Query as its one language, a ``sd:resultFormat`` for each format offered, the default
dataset with every named graph of the release and, from the release's manifest, each
graph's ``void:triples`` and the default graph's (the counts VoID states: the dataset
dumps hold exactly these graphs), and:

* ``sd:feature sd:UnionDefaultGraph`` - claimed, because it is true: when neither the
  request nor the query names a dataset, the default graph is the union of all graphs;
* ``sd:BasicFederatedQuery`` - NOT claimed: SERVICE is refused;
* ``sd:SPARQL11Update`` - NOT claimed: updates are refused.

The limits (time, query size, result size, concurrency, memory) are stated with
``rdfs:comment`` on the service, one sentence each, because neither ``sd:`` nor the
project vocabulary has properties for them; a person reads them, and the HTTP errors
repeat the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from ..config import Settings
from ..http.formats import FORMATS, GRAPH, RESULTS
from ..rdf import vocab as v

SD = v.SD
FORMATS_NS = "http://www.w3.org/ns/formats/"
ENTAILMENT_SIMPLE = "http://www.w3.org/ns/entailment/Simple"
RDF_FORMATS = {
    "ttl": RdfFormat.TURTLE,
    "nt": RdfFormat.N_TRIPLES,
    "rdf": RdfFormat.RDF_XML,
    "jsonld": RdfFormat.JSON_LD,
}


def limit_sentences(settings: Settings) -> list[str]:
    """The limits, in words: the service description and the query page show them."""
    s = settings
    sentences = [
        f"Time limit: {s.query_timeout_s:g} seconds per query; a query that runs longer is "
        "stopped and answered with HTTP 503.",
        f"Query size limit: {s.max_query_bytes} bytes of query text (HTTP 413 beyond).",
        f"Result size limit: {s.max_result_bytes} bytes of serialised results (HTTP 400 "
        "beyond; add LIMIT).",
        f"Concurrency: at most {s.max_concurrent_queries} queries run at once per server "
        f"process, at most {s.max_queries_per_client} per client (HTTP 429 beyond); a query "
        f"waits at most {s.query_queue_wait_s:g} seconds for a free slot (HTTP 503 with "
        "Retry-After beyond).",
        "Read-only: SPARQL Update is refused (HTTP 403). No query makes a network request: "
        "SERVICE is refused (HTTP 400), FROM and FROM NAMED name graphs of this dataset.",
    ]
    if s.query_memory_mb > 0:
        sentences.insert(4, f"Memory limit: {s.query_memory_mb} MB per running query.")
    return sentences


def service_triples(
    settings: Settings,
    iris: v.Iris,
    endpoint: str,
    graphs: Iterable[str],
    counts: Mapping[str, int] | None = None,
    default_triples: int | None = None,
) -> list[Triple]:
    """The description of the endpoint at ``endpoint`` serving ``graphs``, with their
    triple counts by graph IRI (``counts``) and the default graph's when known."""
    triples = NamedNode(v.VOID + "triples")

    def sd(name: str) -> NamedNode:
        return NamedNode(SD + name)

    rdf_type = NamedNode(v.RDF_TYPE)
    service = NamedNode(f"{iris.sparql}#service")
    dataset = NamedNode(f"{iris.sparql}#dataset")
    default_graph = NamedNode(f"{iris.sparql}#default-graph")
    out = [
        Triple(service, rdf_type, sd("Service")),
        Triple(service, sd("endpoint"), NamedNode(endpoint)),
        Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        Triple(service, sd("defaultEntailmentRegime"), NamedNode(ENTAILMENT_SIMPLE)),
        Triple(NamedNode(ENTAILMENT_SIMPLE), rdf_type, sd("EntailmentRegime")),
        Triple(service, NamedNode(v.RDFS_LABEL),
               Literal("pledge_lod SPARQL endpoint", language="en")),
        Triple(service, sd("defaultDataset"), dataset),
        Triple(dataset, rdf_type, sd("Dataset")),
        Triple(dataset, sd("defaultGraph"), default_graph),
        Triple(dataset, NamedNode(v.RDFS + "seeAlso"), NamedNode(f"{iris.base}/.well-known/void")),
        Triple(default_graph, rdf_type, sd("Graph")),
        Triple(
            default_graph,
            NamedNode(v.RDFS + "comment"),
            Literal("The union of all the named graphs of the dataset.", language="en"),
        ),
    ]
    if default_triples is not None:
        out.append(Triple(default_graph, triples, _integer(default_triples)))
    for fmt in FORMATS:
        if fmt.kind in {RESULTS, GRAPH} and fmt.w3c:
            out.append(Triple(service, sd("resultFormat"), NamedNode(FORMATS_NS + fmt.w3c)))
    for sentence in limit_sentences(settings):
        out.append(Triple(service, NamedNode(v.RDFS + "comment"), Literal(sentence, language="en")))
    for name in sorted(set(graphs)):
        node, graph = BlankNode(), BlankNode()
        out += [
            Triple(dataset, sd("namedGraph"), node),
            Triple(node, rdf_type, sd("NamedGraph")),
            Triple(node, sd("name"), NamedNode(name)),
            Triple(node, sd("graph"), graph),
            Triple(graph, rdf_type, sd("Graph")),
        ]
        if counts and name in counts:
            out.append(Triple(graph, triples, _integer(counts[name])))
    return out


def _integer(n: int) -> Literal:
    return Literal(str(n), datatype=NamedNode(v.XSD + "integer"))


def serialize_description(triples: list[Triple], key: str) -> bytes:
    """The description in the format ``key`` (ttl, nt, rdf, jsonld)."""
    prefixes = {"sd": SD, "rdfs": v.RDFS, "format": FORMATS_NS, "void": v.VOID}
    if RDF_FORMATS[key] in {RdfFormat.TURTLE}:
        return serialize(triples, format=RDF_FORMATS[key], prefixes=prefixes)
    return serialize(triples, format=RDF_FORMATS[key])
