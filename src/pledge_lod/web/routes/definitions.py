"""The dataset's self-description: VoID and DCAT (``/.well-known/void``), the
vocabulary (``/def/pledge``), the SHACL shapes (``/def/shapes``), the JSON-LD context,
and the IRIs of the named graphs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, redirect
from pyoxigraph import Triple

from ...http.formats import DOC_FORMATS, HTML, JSONLD, RDF_FORMATS, Format
from ...http.negotiation import split_ext
from ...rdf import vocab as v
from .. import pages
from ..context import context_document
from ..http import alternates, error_response, not_acceptable, represent, root
from ..site import ReleaseData, Rendered
from .common import (
    bp,
    cached_rendering,
    choose,
    embedded_jsonld,
    format_links,
    graph_triples,
    html,
    rdf_bytes,
    release_now,
)


@bp.get("/.well-known/<name>")
def void(name: str) -> Response:
    stem, ext_fmt = split_ext(name, DOC_FORMATS)
    if stem != "void":
        return error_response(404, f"nothing at /.well-known/{name}")
    return _self_description(
        "/.well-known/void",
        "void",
        ext_fmt,
        "void.html",
        lambda triples, rd, labels: {"view": pages.void_view(triples, rd, root(), labels)},
    )


@bp.get("/def/<name>")
def definitions(name: str) -> Response:
    stem, ext_fmt = split_ext(name, DOC_FORMATS)
    if stem == "pledge":
        return _self_description(
            "/def/pledge",
            "ontology",
            ext_fmt,
            "ontology.html",
            _ontology_context,
        )
    if stem == "shapes":
        return _self_description(
            "/def/shapes",
            "shapes",
            ext_fmt,
            "shapes.html",
            lambda triples, rd, labels: {
                "shapes": pages.shapes_view(triples, rd, root(), labels),
                "meta": pages.graph_meta(triples, rd.iris.shapes),
            },
        )
    return error_response(404, f"nothing is defined at /def/{name}")


def _ontology_context(triples: list[Triple], rd: ReleaseData, labels: dict[str, str]) -> dict:
    meta, terms = pages.ontology_view(triples, rd, root(), labels)
    return {"meta": meta, "terms": terms, "namespace": rd.iris.vocab}


@bp.get("/def/pledge/<version>")
def ontology_version(version: str) -> Response:
    """The version IRI of the ontology: the current version answers with the ontology."""
    snap, rd = release_now()
    triples = graph_triples(snap, rd, "ontology")
    wanted = f"{rd.iris.ontology}/{version}"
    if not any(
        t.predicate.value == v.OWL + "versionIRI" and t.object.value == wanted for t in triples
    ):
        return error_response(404, f"there is no version {version!r} of the vocabulary here")
    return definitions("pledge")


def _self_description(
    path: str,
    graph: str,
    ext_fmt: Format | None,
    template: str,
    view: Callable[[list[Triple], ReleaseData, dict[str, str]], dict[str, Any]],
) -> Response:
    snap, rd = release_now()
    fmt, negotiated = choose(ext_fmt, DOC_FORMATS)
    links = alternates(path, DOC_FORMATS, skip=ext_fmt)
    if fmt is None:
        return not_acceptable(DOC_FORMATS, links)
    triples = graph_triples(snap, rd, graph)

    def make() -> Rendered:
        if fmt is HTML:
            context = view(triples, rd, rd.term_labels(snap))
            body = html(
                template,
                **context,
                jsonld=embedded_jsonld(triples, rd),
                path=path,
                alternates=alternates(path, RDF_FORMATS),
                formats=format_links(path, RDF_FORMATS),
            )
            return Rendered(body, fmt.content_type)
        return Rendered(rdf_bytes(triples, fmt, rd), fmt.content_type)

    rendered = cached_rendering((rd.release.id, root(), path, fmt.key), make)
    return represent(
        rendered.body,
        fmt,
        rd,
        f"{graph}-{fmt.extension}",
        negotiated=negotiated,
        content_location=f"{root()}{path}.{fmt.extension}",
        links=links,
    )


@bp.get("/context.jsonld")
def context() -> Response:
    _snap, rd = release_now()
    body = context_document(rd.base)
    return represent(body, JSONLD, rd, "context", negotiated=False)


@bp.get("/graph/<name>")
def named_graph(name: str) -> Response:
    """A named graph's IRI (they appear in the SPARQL service description): 303 to the
    document that describes or holds it."""
    targets = {
        "data": "/.well-known/void",
        "void": "/.well-known/void",
        "sdg-kos": "/.well-known/void",
        "ontology": "/def/pledge",
        "shapes": "/def/shapes",
    }
    if name not in targets:
        return error_response(404, f"there is no graph {name!r}")
    resp = redirect(root() + targets[name], code=303)
    resp.vary.add("Accept")
    return resp
