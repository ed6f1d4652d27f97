"""The result formats, and choosing one by Accept or by the ``format`` parameter.

SELECT and ASK answer with result sets (JSON, XML, CSV, TSV); CONSTRUCT and DESCRIBE
with graphs (Turtle, N-Triples, RDF/XML, JSON-LD). Browsers also get ``html``, the query
page with a results table. The serialisation itself is Oxigraph's, in the worker.

Choice, in order: a recognised ``format`` parameter (short names such as ``json``,
``ttl``, or a media type; what SPARQLWrapper also sends); else the Accept header, parsed
by Werkzeug (q-values, wildcards), against the canonical media types first and then the
aliases real clients send (``application/json``, ``application/xml``, ``text/plain``
...); with no Accept header, the first format of the kind. Nothing acceptable: 406 with
the list of what is offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

RESULTS = "results"
GRAPH = "graph"
HTML = "html"


@dataclass(frozen=True)
class Format:
    key: str
    kind: str  # RESULTS, GRAPH or HTML
    media_type: str
    label: str
    extension: str
    #: Other media types clients send for this format.
    aliases: tuple[str, ...] = ()
    #: Other values of the ``format`` parameter.
    names: tuple[str, ...] = ()
    #: W3C format IRI (http://www.w3.org/ns/formats/), for the service description.
    w3c: str = ""

    @property
    def content_type(self) -> str:
        """The Content-Type header: text types say their charset."""
        if self.media_type.startswith("text/"):
            return f"{self.media_type}; charset=utf-8"
        return self.media_type


FORMATS: tuple[Format, ...] = (
    Format("json", RESULTS, "application/sparql-results+json", "SPARQL JSON", "srj",
           ("application/json", "text/javascript", "application/javascript"),
           ("json", "srj"), "SPARQL_Results_JSON"),
    Format("xml", RESULTS, "application/sparql-results+xml", "SPARQL XML", "srx",
           ("application/xml", "text/xml"), ("xml", "srx"), "SPARQL_Results_XML"),
    Format("csv", RESULTS, "text/csv", "CSV", "csv", (), ("csv",), "SPARQL_Results_CSV"),
    Format("tsv", RESULTS, "text/tab-separated-values", "TSV", "tsv", (), ("tsv",),
           "SPARQL_Results_TSV"),
    Format("ttl", GRAPH, "text/turtle", "Turtle", "ttl",
           ("application/turtle", "application/x-turtle", "text/n3", "text/rdf+n3",
            "application/rdf+n3"), ("ttl", "turtle", "n3"), "Turtle"),
    Format("nt", GRAPH, "application/n-triples", "N-Triples", "nt", ("text/plain",),
           ("nt", "ntriples", "n-triples"), "N-Triples"),
    Format("rdf", GRAPH, "application/rdf+xml", "RDF/XML", "rdf",
           ("application/xml", "text/xml"), ("rdf", "rdfxml", "rdf+xml", "xml", "owl"),
           "RDF_XML"),
    Format("jsonld", GRAPH, "application/ld+json", "JSON-LD", "jsonld",
           ("application/json", "application/x-json+ld"), ("jsonld", "json-ld", "json"),
           "JSON-LD"),
    Format("html", HTML, "text/html", "HTML", "html", ("application/xhtml+xml",), ("html",)),
)
BY_KEY = {f.key: f for f in FORMATS}


class NotAcceptable(Exception):
    """No offered format is acceptable; ``offered`` lists the media types."""

    def __init__(self, message: str, offered: list[str]):
        super().__init__(message)
        self.offered = offered


def formats_of(kind: str, html: bool = True) -> list[Format]:
    chosen = [f for f in FORMATS if f.kind == kind]
    return chosen + ([BY_KEY["html"]] if html else [])


def _by_name(value: str, candidates: list[Format]) -> Format | None:
    value = value.strip().lower()
    media = value.split(";", 1)[0].strip()
    for f in candidates:
        if value == f.key or value in f.names or media == f.media_type:
            return f
    for f in candidates:
        if media in f.aliases:
            return f
    return None


def negotiate(
    kind: str, accept: str | None, names: list[str], html: bool = True
) -> Format:
    """The format for a ``kind`` of answer; raise :class:`NotAcceptable` if none fits."""
    if names:
        candidates = formats_of(kind, html)
        for name in names:
            found = _by_name(name, candidates)
            if found:
                return found
        raise NotAcceptable(
            f"format={names[0][:100]!r} is not offered for this answer; "
            f"use one of: {', '.join(f.key for f in candidates)}",
            [f.media_type for f in candidates],
        )
    if accept is None or not accept.strip():
        return formats_of(kind, html)[0]
    return _by_accept(kind, accept, html)


@lru_cache(maxsize=256)
def _by_accept(kind: str, accept: str, html: bool) -> Format:
    """The best format for one Accept value. Cached: clients send the same few values
    again and again, and parsing one was the largest piece of the endpoint's own Python
    work for a point query (a refusal raises, so it is never cached)."""
    candidates = formats_of(kind, html)
    offered = [f.media_type for f in candidates]
    parsed = parse_accept_header(accept, MIMEAccept)
    # Canonical media types win over aliases at equal quality; HTML only when asked for.
    best = parsed.best_match(offered + [a for f in candidates for a in f.aliases])
    if best is None:
        raise NotAcceptable(
            f"none of the media types in Accept ({accept[:200]}) is offered for this answer",
            offered,
        )
    for f in candidates:
        if best == f.media_type or best in f.aliases:
            return f
    raise AssertionError("unreachable: best_match returns one of the offered types")
