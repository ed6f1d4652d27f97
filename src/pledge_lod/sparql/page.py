"""The query page for people: an editor, examples, a results table, downloads.

Everything is rendered on the server, so the page works without JavaScript (a plain
form with a textarea, GET to the endpoint itself; a browser's Accept header selects
HTML). ``static/sparql.js`` only adds conveniences (Ctrl+Enter, example picker, tab
key). Results for the table come from the worker as SPARQL JSON (or N-Triples for
graphs) and are turned into rows here; IRIs become links.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import render_template

from ..config import Settings
from ..http.formats import GRAPH, RESULTS, formats_of
from .description import limit_sentences
from .examples import examples
from .tables import Table

__all__ = ["Table", "download_links", "render_page"]


def download_links(endpoint: str, query: str, kind: str, params: list[tuple[str, str]]
                   ) -> list[dict[str, str]]:
    """One GET link per format of ``kind``: the same request with ``format=``."""
    links = []
    for fmt in formats_of(kind, html=False):
        href = endpoint + "?" + urlencode([("query", query), *params, ("format", fmt.key)])
        links.append({"href": href, "label": fmt.label, "media_type": fmt.media_type,
                      "filename": f"results.{fmt.extension}"})
    return links


def render_page(
    settings: Settings,
    base: str,
    endpoint: str,
    query: str | None = None,
    table: Table | None = None,
    error: str | None = None,
    graphs: list[str] | None = None,
) -> str:
    """The query page, with results or an error when there are some. ``base`` is the
    served release's base: the examples use its namespaces."""
    examples_list = examples(base)
    return render_template(
        "sparql.html",
        endpoint=endpoint,
        query=query if query is not None else examples_list[0].query.strip() + "\n",
        examples=examples_list,
        table=table,
        error=error,
        limits=limit_sentences(settings),
        result_formats=formats_of(RESULTS, html=False),
        graph_formats=formats_of(GRAPH, html=False),
        graphs=graphs or [],
    )
