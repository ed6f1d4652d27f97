"""Every representation the site and the SPARQL endpoint produce, in one table.

A format is written once: its key (the ``format`` parameter's canonical value, the
worker's serialiser name, the cache keys), its media type and the aliases real clients
send for it, its file extension (``/doc/...ttl``, download names), its kind, and its
W3C format IRI for the service description. What a route offers is an ordered tuple of
these (the first wins for ``*/*`` or no Accept header); :mod:`.negotiation` chooses.

Kinds: ``graph`` (an RDF graph: documents, CONSTRUCT/DESCRIBE answers), ``results``
(SPARQL result sets: SELECT/ASK), ``html`` (pages for people), ``feed`` (Atom) and
``text`` (robots.txt, plain error bodies), ``json`` (the OpenAPI description) and
``links`` (Memento TimeMaps).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

GRAPH = "graph"
RESULTS = "results"
HTML_KIND = "html"
FEED = "feed"
TEXT_KIND = "text"
JSON_KIND = "json"
LINKS_KIND = "links"


@dataclass(frozen=True, eq=False)
class Format:
    """One representation we can produce. Compared and hashed by identity: each format
    is one constant of this table, and the negotiation's cache hashes the offer on every
    request."""

    key: str
    kind: str
    media_type: str
    label: str
    extension: str
    #: Other media types clients send for this format (matched after the canonical ones).
    aliases: tuple[str, ...] = ()
    #: Other values of the ``format`` parameter (besides ``key`` and the media type).
    names: tuple[str, ...] = ()
    #: W3C format IRI's local name (http://www.w3.org/ns/formats/), if it has one.
    w3c: str = ""
    #: Whether the Content-Type says ``charset=utf-8``: only where the media type's
    #: registration defines a charset parameter (JSON-LD, N-Triples and the SPARQL JSON
    #: and XML results define none: they are always UTF-8 or say it inside).
    charset: bool = True

    @property
    def content_type(self) -> str:
        """The Content-Type header value."""
        return f"{self.media_type}; charset=utf-8" if self.charset else self.media_type


HTML = Format("html", HTML_KIND, "text/html", "HTML", "html", ("application/xhtml+xml",),
              ("html",))
# Turtle is valid N3, and N-Triples was served as text/plain before it had a type of its
# own: old clients (rdflib's format="n3"/"nt") still ask for those.
TURTLE = Format("ttl", GRAPH, "text/turtle", "Turtle", "ttl",
                ("application/turtle", "application/x-turtle", "text/n3", "text/rdf+n3",
                 "application/rdf+n3"), ("ttl", "turtle", "n3"), "Turtle")
JSONLD = Format("jsonld", GRAPH, "application/ld+json", "JSON-LD", "jsonld",
                ("application/json", "application/x-json+ld"), ("jsonld", "json-ld", "json"),
                "JSON-LD", charset=False)
NTRIPLES = Format("nt", GRAPH, "application/n-triples", "N-Triples", "nt", ("text/plain",),
                  ("nt", "ntriples", "n-triples"), "N-Triples", charset=False)
RDFXML = Format("rdf", GRAPH, "application/rdf+xml", "RDF/XML", "rdf",
                ("application/xml", "text/xml"), ("rdf", "rdfxml", "rdf+xml", "xml", "owl"),
                "RDF_XML")
SPARQL_JSON = Format("json", RESULTS, "application/sparql-results+json", "SPARQL JSON", "srj",
                     ("application/json", "text/javascript", "application/javascript"),
                     ("json", "srj"), "SPARQL_Results_JSON", charset=False)
SPARQL_XML = Format("xml", RESULTS, "application/sparql-results+xml", "SPARQL XML", "srx",
                    ("application/xml", "text/xml"), ("xml", "srx"), "SPARQL_Results_XML",
                    charset=False)
CSV = Format("csv", RESULTS, "text/csv", "CSV", "csv", (), ("csv",), "SPARQL_Results_CSV")
TSV = Format("tsv", RESULTS, "text/tab-separated-values", "TSV", "tsv", (), ("tsv",),
             "SPARQL_Results_TSV")
ATOM = Format("atom", FEED, "application/atom+xml", "Atom feed", "atom", (), ("atom",))
TEXT = Format("txt", TEXT_KIND, "text/plain", "Plain text", "txt", (), ("text", "txt"))
#: A Memento TimeMap (RFC 7089 section 5): links in the CoRE Link Format (RFC 6690),
#: whose registration defines no charset parameter (it is UTF-8).
LINK_FORMAT = Format("link", LINKS_KIND, "application/link-format", "TimeMap (link format)",
                     "link", charset=False)
#: Datasets (named graphs): the Linked Data Event Stream's pages, whose members'
#: states are named graphs (LDES 1.0, "Versions and transactions").
TRIG = Format("trig", GRAPH, "application/trig", "TriG", "trig", (), ("trig",), "TriG")
NQUADS = Format("nq", GRAPH, "application/n-quads", "N-Quads", "nq", (), ("nq", "nquads"),
                "N-Quads", charset=False)
#: A page of the Linked Data Event Stream: TriG first (readable), N-Quads.
DATASET_FORMATS: tuple[Format, ...] = (TRIG, NQUADS)
OPENAPI = Format("openapi", JSON_KIND, "application/json", "OpenAPI description", "json",
                 charset=False)

#: The whole table, in the order the service description lists result formats.
FORMATS: tuple[Format, ...] = (
    SPARQL_JSON, SPARQL_XML, CSV, TSV, TURTLE, NTRIPLES, RDFXML, JSONLD, HTML, ATOM, TEXT,
    OPENAPI,
)
BY_KEY = MappingProxyType({f.key: f for f in FORMATS})

# -- what each route offers, in order of preference for */* ------------------------------

#: A resource document, VoID, the vocabulary, the shapes: RDF after HTML.
RDF_FORMATS: tuple[Format, ...] = (TURTLE, JSONLD, NTRIPLES, RDFXML)
DOC_FORMATS: tuple[Format, ...] = (HTML, *RDF_FORMATS)
#: A paged listing: a document that is also an Atom feed.
LISTING_FORMATS: tuple[Format, ...] = (*DOC_FORMATS, ATOM)
#: What an error body can be written in.
ERROR_FORMATS: tuple[Format, ...] = (*DOC_FORMATS, TEXT)
#: The SPARQL endpoint's answers, by kind (the query page last: only when asked for).
RESULT_FORMATS: tuple[Format, ...] = (SPARQL_JSON, SPARQL_XML, CSV, TSV)
GRAPH_RESULT_FORMATS: tuple[Format, ...] = (TURTLE, NTRIPLES, RDFXML, JSONLD)


def formats_of(kind: str, html: bool = True) -> tuple[Format, ...]:
    """The endpoint's offer for a ``kind`` of answer (``results`` or ``graph``), with
    the query page last when ``html``."""
    chosen = RESULT_FORMATS if kind == RESULTS else GRAPH_RESULT_FORMATS
    return (*chosen, HTML) if html else chosen
