"""An OpenAPI 3.1 description of the HTTP interface, served at ``/openapi.json``.

It lists every route the server answers (``tests/test_ops_fuzz.py`` checks that no route
is left out), the formats each offers, by ``Accept`` header or by extension, and the
statuses a client may meet. Clients and API tools read it; the test suite feeds it to
schemathesis to fuzz the live server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response

from .. import __version__
from ..config import Settings
from ..http.formats import (
    DOC_FORMATS,
    ERROR_FORMATS,
    GRAPH,
    JSONLD,
    LISTING_FORMATS,
    OPENAPI,
    RESULT_FORMATS,
    TEXT,
    Format,
    formats_of,
)
from ..rdf import vocab as v
from .http import represent
from .listings import FACETS
from .site import site, snapshot

_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_ERRORS_IN = tuple(f.media_type for f in ERROR_FORMATS)


def _content(media_types: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {m: {"schema": {"type": "string"}} for m in media_types}


def _medias(formats: tuple[Format, ...]) -> list[str]:
    return [f.media_type for f in formats]


def _error(description: str, media: tuple[str, ...] = _ERRORS_IN) -> dict[str, Any]:
    return {"description": description, "content": _content(media)}


#: Error responses shared by the Linked Data routes (``components.responses``).
_ERROR_RESPONSES = {
    "BadRequest": ("400", "A query parameter has a value that cannot be used"),
    "NotFound": ("404", "No such resource (the body says so in the format asked for)"),
    "TooLarge": ("413", "The request has a body larger than the limit"),
    "UriTooLong": ("414", "The URL is longer than the limit"),
    "Unavailable": ("503", "The data store is not available right now; see Retry-After"),
}


def _components() -> dict[str, Any]:
    responses = {name: _error(text) for name, (_code, text) in _ERROR_RESPONSES.items()}
    responses["NotAcceptable"] = {
        "description": "None of the formats in Accept is offered; the body lists those "
                       "that are", "content": _TEXT}
    responses["JsonBadRequest"] = _error(
        "The request cannot be answered; a JSON object says why", ("application/json",))
    responses["NotModified"] = {
        "description": "Not modified since the copy named in If-None-Match or "
                       "If-Modified-Since"}
    return {"responses": responses}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _common_errors(*, bad_request: bool = False) -> dict[str, Any]:
    out = {code: _ref(name) for name, (code, _text) in _ERROR_RESPONSES.items()
           if bad_request or code != "400"}
    out["406"] = _ref("NotAcceptable")
    return out


def _json_errors() -> dict[str, Any]:
    """The JSON services (autocomplete, reconciliation) answer a bad request in JSON."""
    return {**_common_errors(bad_request=True), "400": _ref("JsonBadRequest")}


def _ok(formats: tuple[Format, ...], what: str) -> dict[str, Any]:
    return {
        "200": {
            "description": what,
            "headers": {
                "ETag": {"description": "Release id and representation",
                         "schema": {"type": "string"}},
                "Last-Modified": {"schema": {"type": "string"}},
                "Link": {"description": "Alternates in the other formats",
                         "schema": {"type": "string"}},
            },
            "content": _content(_medias(formats)),
        },
        "304": _ref("NotModified"),
    }


def _param(name: str, where: str, description: str, schema: dict[str, Any],
           required: bool | None = None) -> dict[str, Any]:
    param = {"name": name, "in": where, "description": description, "schema": schema}
    if where == "path" or required:
        param["required"] = True
    return param


_SLUG = {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 200}
_PAGE = _param("page", "query", "Page number, from 1", {"type": "integer", "minimum": 1,
                                                          "maximum": 999_999_999})
_IF_NONE_MATCH = _param("If-None-Match", "header", "ETag of a copy the client holds",
                        {"type": "string"})


def _ext_names(formats: tuple[Format, ...]) -> str:
    return ", ".join(f".{f.extension} ({f.label})" for f in formats)


def _get(summary: str, responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None,
         description: str | None = None, tag: str = "Linked Data") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if description:
        op["description"] = description
    params = [*(parameters or []), _IF_NONE_MATCH]
    op["parameters"] = params
    return {"get": op}


@dataclass(frozen=True)
class ApiLimits:
    """The limits the description states (the part of the settings it reads)."""

    max_queries_per_client: int
    query_timeout_s: float
    max_request_bytes: int
    max_url_bytes: int
    max_query_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiLimits:
        return cls(
            settings.max_queries_per_client,
            settings.query_timeout_s,
            settings.max_request_bytes,
            settings.max_url_bytes,
            settings.max_query_bytes,
        )


def document(limits: ApiLimits, base: str) -> dict[str, Any]:
    """The OpenAPI description of a server whose IRIs have ``base``."""
    paths: dict[str, Any] = {
        **_document_paths(),
        **_listing_paths(),
        **_self_description_paths(),
        **_file_paths(),
        **_search_paths(),
    }
    from .openapi_history import changes_paths, history_paths  # built on the helpers here

    paths.update(history_paths())
    paths.update(changes_paths())
    paths["/sparql"] = _sparql(limits)
    paths["/sparql/"] = _sparql(limits)
    return {
        "openapi": "3.1.0",
        "info": _info(limits),
        "servers": [{"url": base}],
        "paths": paths,
        "components": _components(),
    }


def _search_paths() -> dict[str, Any]:
    """Search, autocomplete, the OpenSearch description and the Reconciliation Service."""
    text = _param("q", "query", "Words to look for (a phrase in double quotes)",
                  {"type": "string", "maxLength": 500})
    filters = [_param(name, "query", what, {"type": "string", "maxLength": 200})
               for name, what in (("type", "Type of resource"), ("goal", "SDG goal number"),
                                  ("place", "Place identifier"), ("lang", "Language tag"))]
    ok_json = {"200": {"description": "JSON", "content": _content(["application/json"])}}
    paths: dict[str, Any] = {
        "/search": _get("Search every label, title and text", {
            **_ok(DOC_FORMATS, "One page of results"), **_common_errors(bad_request=True)},
            [text, *filters, _PAGE], tag="Search"),
        "/search.{ext}": _get("Search, in one format", {
            **_ok(DOC_FORMATS, "One page of results"), **_common_errors(bad_request=True)},
            [_param("ext", "path", "Format",
                    {"type": "string", "enum": [f.extension for f in DOC_FORMATS]}),
             text, *filters, _PAGE], tag="Search"),
        "/search/suggest": _get("Autocomplete (OpenSearch suggestions)", {
            "200": {"description": "Suggestions",
                    "content": _content(["application/x-suggestions+json"])},
            **_json_errors()}, [text], tag="Search"),
        "/opensearch.xml": _get("OpenSearch description", {
            "200": {"description": "OpenSearch 1.1",
                    "content": _content(["application/opensearchdescription+xml"])}},
            tag="Search"),
    }
    recon = "Reconciliation Service API 0.2"
    manifest = _get(f"{recon}: the manifest, or a batch of queries (queries=JSON)",
                    {**ok_json, **_json_errors()},
                    [_param("queries", "query", "A batch of reconciliation queries, as JSON",
                            {"type": "string", "maxLength": 8000})], tag="Reconciliation")
    paths["/reconcile"] = {**manifest, "post": {**manifest["get"]}}
    paths["/reconcile/suggest/{kind}"] = _get(f"{recon}: suggest entities, types or properties",
        {**ok_json, **_json_errors()},
        [_param("kind", "path", "entity, type or property",
                {"type": "string", "enum": ["entity", "type", "property"]}),
         _param("prefix", "query", "What the user typed", {"type": "string", "maxLength": 200})],
        tag="Reconciliation")  # fmt: skip
    paths["/reconcile/preview"] = _get(f"{recon}: a preview of one entity",
        {"200": {"description": "HTML", "content": _content(["text/html"])},
         **_json_errors()},
        [_param("id", "query", "The entity's IRI", {"type": "string", "maxLength": 500})],
        tag="Reconciliation")  # fmt: skip
    paths["/reconcile/propose_properties"] = _get(f"{recon}: properties for data extension",
        {**ok_json, **_json_errors()},
        [_param("type", "query", "A type id (empty: a column of no particular type)",
                {"type": "string", "maxLength": 200}),
         _param("limit", "query", "At most this many properties", {"type": "integer",
                                                                    "minimum": 1})],
        tag="Reconciliation")  # fmt: skip
    return paths


def _document_paths() -> dict[str, Any]:
    """The home page, things and their documents."""
    kinds = list(v.KINDS)
    doc_exts = _ext_names(DOC_FORMATS)
    paths: dict[str, Any] = {}
    paths["/"] = _get(
        "Home page; RDF clients get the dataset's VoID/DCAT description",
        {**_ok(DOC_FORMATS, "The home page or the dataset description"), **_common_errors()},
    )
    paths["/id/{kind}/{slug}"] = _get(
        "The IRI of a thing: 303 See Other to the document about it",
        {
            "303": {"description": "See the document at Location",
                    "headers": {"Location": {"schema": {"type": "string"}}}},
            **_common_errors(),
        },
        [
            _param("kind", "path", "Kind of thing", {"type": "string", "enum": kinds}),
            _param("slug", "path", "Its identifier", _SLUG),
        ],
    )
    paths["/doc/{kind}/{name}"] = _get(
        "The document about a thing, in the format negotiated or fixed by an extension",
        {**_ok(DOC_FORMATS, "The document"), **_common_errors(),
         "410": _error("Removed from the dataset; Link names its Memento TimeGate and TimeMap")},
        [
            _param("kind", "path", "Kind of thing", {"type": "string", "enum": kinds}),
            _param("name", "path", f"Identifier, optionally with an extension: {doc_exts}",
                   {"type": "string", "maxLength": 220}),
        ],
    )
    return paths


def _listing_paths() -> dict[str, Any]:
    """All pledges and the listings by facet, with their feeds."""
    listing_exts = _ext_names(LISTING_FORMATS)
    paths: dict[str, Any] = {}
    paths["/pledges"] = _get(
        "All pledges and practices, page by page",
        {**_ok(LISTING_FORMATS, "One page of the listing"), **_common_errors(bad_request=True)},
        [_PAGE],
        tag="Listings",
    )
    paths["/pledges.{ext}"] = _get(
        "All pledges and practices in one format (Atom: the feed)",
        {**_ok(LISTING_FORMATS, "One page of the listing"), **_common_errors(bad_request=True)},
        [_param("ext", "path", "Format", {"type": "string",
                                          "enum": [f.extension for f in LISTING_FORMATS]}), _PAGE],
        tag="Listings",
    )
    for name, facet in FACETS.items():
        slug_schema = {"type": "string", "maxLength": 220}
        paths[f"/{name}/{{name}}"] = _get(
            facet.title.replace("{label}", "…").replace("{slug}", "…"),
            {**_ok(LISTING_FORMATS, "One page of the listing"),
             **_common_errors(bad_request=True)},
            [
                _param("name", "path", f"Identifier (SDG goals and targets: their number or "
                       f"code), optionally with an extension: {listing_exts}", slug_schema),
                _PAGE,
            ],
            tag="Listings",
        )
    return paths


def _self_description_paths() -> dict[str, Any]:
    """VoID, the vocabulary, the shapes, the context, named graphs, this description."""
    doc_exts = _ext_names(DOC_FORMATS)
    paths: dict[str, Any] = {}
    paths["/.well-known/{name}"] = _get(
        "The dataset's VoID and DCAT description (name: void, optionally with an extension)",
        {**_ok(DOC_FORMATS, "The description"), **_common_errors()},
        [_param("name", "path", f"void, or void with an extension: {doc_exts}",
                {"type": "string", "maxLength": 40})],
        tag="Self-description",
    )
    paths["/def/{name}"] = _get(
        "The vocabulary (pledge) or the SHACL shapes (shapes), optionally with an extension",
        {**_ok(DOC_FORMATS, "The ontology or the shapes"), **_common_errors()},
        [_param("name", "path", f"pledge or shapes, optionally with an extension: {doc_exts}",
                {"type": "string", "maxLength": 40})],
        tag="Self-description",
    )
    paths["/def/pledge/{version}"] = _get(
        "A version IRI of the vocabulary: the current version answers with it",
        {**_ok(DOC_FORMATS, "The ontology"), **_common_errors()},
        [_param("version", "path", "Version", {"type": "string", "maxLength": 40})],
        tag="Self-description",
    )
    paths["/context.jsonld"] = _get(
        "The JSON-LD context that documents refer to",
        {**_ok((JSONLD,), "The context"), **_common_errors()},
        tag="Self-description",
    )
    paths["/graph/{name}"] = _get(
        "A named graph's IRI: 303 See Other to what describes it",
        {"303": {"description": "See Location"}, **_common_errors()},
        [_param("name", "path", "Graph name",
                {"type": "string", "enum": ["data", "void", "sdg-kos", "ontology", "shapes"]})],
        tag="Self-description",
    )
    paths["/openapi.json"] = _get(
        "This description", {**_ok((OPENAPI,), "OpenAPI 3.1"), **_common_errors()},
        tag="Self-description",
    )
    return paths


def _file_paths() -> dict[str, Any]:
    """Files of the release and of the site: dumps, sitemaps, robots.txt, static."""
    paths: dict[str, Any] = {}
    paths["/dumps/{name}"] = _get(
        "A dump of the whole dataset, exactly the file the release lists",
        {
            "200": {"description": "The file", "content": _content(
                ["application/n-triples", "text/turtle", "application/ld+json",
                 "application/gzip"])},
            "304": _ref("NotModified"),
            **_common_errors(),
        },
        [_param("name", "path", "File name, e.g. pledges.nt.gz",
                {"type": "string", "maxLength": 121})],
        tag="Files",
    )
    paths["/sitemap.xml"] = _get(
        "The sitemap (an index when there are more than 50,000 documents)",
        {"200": {"description": "Sitemap", "content": _content(["application/xml"])},
         "304": _ref("NotModified"), **_common_errors()},
        tag="Files",
    )
    paths["/sitemaps/{name}"] = _get(
        "A part of a large sitemap",
        {"200": {"description": "Sitemap part", "content": _content(["application/xml"])},
         "304": _ref("NotModified"), **_common_errors()},
        [_param("name", "path", "File name", {"type": "string", "maxLength": 121})],
        tag="Files",
    )
    paths["/robots.txt"] = _get(
        "robots.txt, with the sitemap", {**_ok((TEXT,), "robots.txt"), **_common_errors()},
        tag="Files",
    )
    paths["/static/{filename}"] = _get(
        "Style sheets, scripts and icons of the HTML pages",
        {"200": {"description": "The file", "content": _content(
            ["text/css", "text/javascript", "image/svg+xml"])},
         "304": _ref("NotModified"), **_common_errors()},
        [_param("filename", "path", "File name", {"type": "string", "maxLength": 200})],
        tag="Files",
    )
    return paths


def _info(limits: ApiLimits) -> dict[str, Any]:
    """The title and the limits a client meets."""
    return {
        "title": "pledge_lod: migration pledges and practices as Linked Open Data",
        "version": __version__,
        "description": (
            "Read-only Linked Data: every thing has an IRI under /id/ that redirects "
            "(303) to its document under /doc/, served as HTML, Turtle, JSON-LD, "
            "N-Triples or RDF/XML by content negotiation (Accept) or by extension. "
            "Listings are paged (?page=N) and have Atom feeds. /sparql is a SPARQL 1.1 "
            f"Protocol endpoint: at most {limits.max_queries_per_client} queries at "
            f"once per client (then 429), {limits.query_timeout_s:g} s per query "
            f"(then 503). Request bodies up to {limits.max_request_bytes} bytes, URLs "
            f"up to {limits.max_url_bytes} bytes."
        ),
        "license": {"name": "MIT", "identifier": "MIT"},
    }


def _sparql(limits: ApiLimits) -> dict[str, Any]:
    results = _medias((*RESULT_FORMATS, *formats_of(GRAPH)))
    responses = {
        "200": {"description": "Query results, or the service description without a query",
                "content": _content(results)},
        "400": {"description": "Malformed request or query (the message says what to fix)",
                "content": _content(["text/plain", "text/html"])},
        "403": {"description": "Updates are refused: this endpoint is read-only",
                "content": _content(["text/plain", "text/html"])},
        "406": {"description": "No acceptable format", "content": _TEXT},
        "413": {"description": f"Query over {limits.max_query_bytes} bytes or body over "
                               f"{limits.max_request_bytes} bytes",
                "content": _content(["text/plain", "text/html"])},
        "414": {"description": "URL too long", "content": _content(["text/plain", "text/html"])},
        "415": {"description": "Unsupported media type of the body",
                "content": _content(["text/plain", "text/html"])},
        "429": {"description": f"More than {limits.max_queries_per_client} queries at once "
                               "from this client; see Retry-After",
                "content": _content(["text/plain", "text/html"])},
        "503": {"description": "Busy, or the query ran out of time; see Retry-After",
                "content": _content(["text/plain", "text/html"])},
    }
    query = _param("query", "query", "The SPARQL query", {"type": "string",
                                                          "maxLength": limits.max_query_bytes})
    graphs = [
        _param(name, "query", "Dataset IRI (repeatable)",
               {"type": "array", "items": {"type": "string", "format": "iri"}})
        for name in ("default-graph-uri", "named-graph-uri")
    ]
    return {
        "get": {
            "summary": "Run a SPARQL query given in the URL; without one, the service "
                       "description (or, for a browser, the query page)",
            "tags": ["SPARQL"],
            "parameters": [query, *graphs],
            "responses": responses,
        },
        "post": {
            "summary": "Run a SPARQL query sent in the body (form or application/sparql-query)",
            "tags": ["SPARQL"],
            "parameters": graphs,
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"type": "object", "required": ["query"],
                                   "properties": {"query": {"type": "string"}}},
                    },
                    "application/sparql-query": {"schema": {"type": "string"}},
                },
            },
            "responses": responses,
        },
    }


def register(app: Flask, limits: ApiLimits) -> None:
    """Serve the description at ``/openapi.json`` (its server URL is the release's base)."""

    def openapi() -> Response:
        snap = snapshot()
        rd = site().release_data(snap.release)
        body = json.dumps(document(limits, rd.base), separators=(",", ":")).encode("utf-8")
        return represent(body, OPENAPI, rd, "openapi", negotiated=False)

    app.add_url_rule("/openapi.json", "openapi", openapi, methods=["GET"])


__all__ = ["ApiLimits", "document", "register"]
