"""The OpenAPI description of the routes into the past: Memento's TimeGates, mementos
and TimeMaps (:mod:`.routes.memento`), the release history and its feeds
(:mod:`.routes.changes`). A part of :mod:`.openapi`, kept apart to keep
that module readable; it uses its helpers."""

from __future__ import annotations

from typing import Any

from ..http.formats import ATOM, DATASET_FORMATS, DOC_FORMATS, HTML, LINK_FORMAT, RDF_FORMATS
from ..rdf import vocab as v
from .openapi import _PAGE, _common_errors, _content, _error, _get, _medias, _param, _ref

_PATH = _param("path", "path", "The original resource's path: doc/{kind}/{name} (a document, "
               "with or without an extension) or dumps/{name}",
               {"type": "string", "maxLength": 300})
_DATETIME = _param("datetime", "path", "The memento's datetime, YYYYMMDDhhmmss in UTC",
                   {"type": "string", "pattern": "^[0-9]{14}$"})
_ACCEPT_DATETIME = _param(
    "Accept-Datetime", "header", "The date wanted, an HTTP date in the RFC 1123 format "
    "(RFC 7089 section 2.1.1), e.g. Thu, 03 Dec 2026 12:00:00 GMT",
    {"type": "string", "maxLength": 64})
_DUMP_MEDIA = ["application/n-triples", "text/turtle", "application/ld+json", "application/gzip"]


def _doc_params() -> list[dict[str, Any]]:
    return [
        _param("kind", "path", "Kind of thing", {"type": "string", "enum": list(v.KINDS)}),
        _param("name", "path", "Identifier, optionally with an extension",
               {"type": "string", "maxLength": 220}),
    ]


def _errors() -> dict[str, Any]:
    return {
        **_common_errors(),
        "501": _error("Time travel needs the embedded store; this server has a remote one"),
    }


def history_paths() -> dict[str, Any]:
    """TimeGates, mementos and TimeMaps: the generic form ({path}) and the documents'."""
    found = {"description": "Redirect to the memento (Location); Link names the original, "
                            "the TimeMap and the first, last, previous and next mementos",
             "headers": {"Location": {"schema": {"type": "string"}},
                         "Link": {"schema": {"type": "string"}}}}
    timegate = {"302": found, **_errors(),
                "400": _error("Accept-Datetime is not an RFC 1123 date; the message says so")}
    memento = {
        "200": {"description": "The resource as it was in that release, with "
                               "Memento-Datetime and the Memento Link relations",
                "content": _content([*_medias(DOC_FORMATS), *_DUMP_MEDIA])},
        "302": {"description": "Another second: the memento in force then (Location)"},
        "304": _ref("NotModified"),
        "410": _error("The release of that datetime is not kept any more"),
        **_errors(),
    }
    timemap = {"200": {"description": "The TimeMap (RFC 7089 section 5)",
                       "content": _content([LINK_FORMAT.media_type])}, **_errors()}
    tag = "Time travel"
    return {
        "/timegate/{path}": _get("Memento TimeGate of a document or dump: 302 to the memento "
                                 "of the date asked for", timegate, [_PATH, _ACCEPT_DATETIME],
                                 tag=tag),
        "/timegate/doc/{kind}/{name}": _get("Memento TimeGate of a document", timegate,
                                            [*_doc_params(), _ACCEPT_DATETIME], tag=tag),
        "/memento/{datetime}/{path}": _get("A memento: a document or dump as an earlier "
                                           "release served it", memento, [_DATETIME, _PATH],
                                           tag=tag),
        "/memento/{datetime}/doc/{kind}/{name}": _get(
            "A memento of a document, negotiated like the document", memento,
            [_DATETIME, *_doc_params()], tag=tag),
        "/timemap/{path}": _get("The TimeMap of a document or dump", timemap, [_PATH], tag=tag),
        "/timemap/doc/{kind}/{name}": _get("The TimeMap of a document", timemap,
                                           _doc_params(), tag=tag),
    }


_NUMBER = _param("number", "path", "Version number, from 1", {"type": "integer", "minimum": 1,
                                                               "maximum": 999_999_999})


def _ok(medias: list[str], what: str) -> dict[str, Any]:
    return {"200": {"description": what, "content": _content(medias)},
            "304": _ref("NotModified")}


def changes_paths() -> dict[str, Any]:
    """/changes, its Atom feed, the Linked Data Event Stream and the version chain."""
    tag = "Changes"
    pages = {**_ok(_medias((HTML, *RDF_FORMATS, ATOM)), "Versions, newest first"),
             **_common_errors(bad_request=True)}
    after = _param("after", "query", "The IRI after which the page starts (the last one of "
                   "the previous page)", {"type": "string", "maxLength": 2000})
    gone = _error("That version's release (or changeset) is not kept any more")
    return {
        "/changes": _get("The release history: every version's summary and the records it "
                         "touched (HTML), or its Atom feed", pages, [_PAGE], tag=tag),
        "/changes.atom": _get("The release history as an Atom feed, one entry per version",
                              pages, [_PAGE], tag=tag),
        "/changes/ldes": _get("The Linked Data Event Stream's root node (LDES 1.0, TREE)",
                              {**_ok(_medias((*DATASET_FORMATS, HTML, *RDF_FORMATS)),
                                     "The root node"),
                               **_common_errors()}, tag=tag),
        "/changes/{number}": _get(
            "One version's changes: its LDES node (TriG, N-Quads) or a page for people",
            {**_ok(_medias((HTML, *DATASET_FORMATS, *RDF_FORMATS)),
                   "The version's members, page by page"),
             **_common_errors(bad_request=True)}, [_NUMBER, after], tag=tag),
        "/history/doc/{kind}/{slug}": _get(
            "The versions that changed one resource, with their mementos",
            {**_ok(_medias(DOC_FORMATS), "Its versions"), **_common_errors()},
            [_param("kind", "path", "Kind of thing", {"type": "string", "enum": list(v.KINDS)}),
             _param("slug", "path", "Its identifier", {"type": "string", "maxLength": 200})],
            tag=tag),
        "/releases/{number}": _get(
            "A version's IRI (dcat:hasVersion): 303 See Other to its changes",
            {"303": {"description": "See Location"}, **_common_errors()}, [_NUMBER], tag=tag),
        "/releases/{number}/changes.rdfp.gz": _get(
            "A version's changes as an RDF Patch, gzipped",
            {**_ok(["application/gzip"], "The RDF Patch"), "410": gone, **_common_errors()},
            [_NUMBER], tag=tag),
        "/releases/{number}/dumps/{name}": _get(
            "A version's dump, while its release is kept",
            {**_ok(_DUMP_MEDIA[:3], "The dump"), "410": gone, **_errors()},
            [_NUMBER, _param("name", "path", "pledges.nt, pledges.ttl or pledges.jsonld",
                             {"type": "string", "maxLength": 121})], tag=tag),
    }
