"""The Flask side of the endpoint: one view at ``/sparql`` and ``/sparql/``.

A request goes: protocol (:mod:`.protocol`) -> guard (:mod:`.guard`) -> format
(:mod:`pledge_lod.http.negotiation`) -> the per-client bound (:mod:`.admission`) -> the
store's query runner, on the release the request's snapshot pins -> response. A bare GET is
answered with the service description (:mod:`.description`), or the query page for a
browser (:mod:`.page`). Every failure is a 4xx or 503 with a message saying what to do;
the user's query goes to the engine exactly as sent (after the guard), and nothing from
a request is ever pasted into query text.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request

from ..config import Settings
from ..http.formats import BY_KEY, GRAPH, HTML, RESULTS, TEXT, Format, formats_of
from ..http.negotiation import NotAcceptable as FormatNotAcceptable
from ..http.negotiation import negotiate
from ..rdf import vocab as v
from ..store import (
    Answer,
    NotAcceptable,
    QueryLimits,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    Store,
    StoreError,
    StoreUnavailable,
    UserQuery,
)
from . import guard
from .admission import Admission, ClientLimit
from .description import serialize_description, service_triples
from .page import download_links, render_page
from .protocol import ALLOWED_METHODS, ProtocolError, ProtocolRequest, parse_request
from .syntax import explain
from .tables import Table, table_from_json, table_from_ntriples

log = logging.getLogger(__name__)

#: Parser messages can list every token the grammar expected; keep the start.
MAX_MESSAGE = 1500
COMMON_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Retry-After, Vary",
    "Vary": "Accept",
    "X-Content-Type-Options": "nosniff",
}


class Endpoint:
    """The endpoint's state: settings, the store, the per-client bound, and the query
    runner the store made for this endpoint's limits (``executor``)."""

    def __init__(self, settings: Settings, store: Store):
        self.settings = settings
        self.store = store
        self.admission = Admission.from_settings(settings)
        self.executor = store.query_runner(QueryLimits.from_settings(settings))

    def close(self) -> None:
        """Stop the query runner (its worker processes, on the embedded store)."""
        self.executor.close()

    # -- the view -------------------------------------------------------------------

    def view(self) -> Response:
        try:
            return self._handle()
        except ProtocolError as exc:
            return self._error(exc.status, exc.message, exc.headers)

    def _iris(self) -> v.Iris:
        """The deployment's IRIs: the served release's base (as the web pages use),
        else the configured one; never the request's Host header."""
        try:
            return v.Iris(self.store.snapshot().release.base)
        except (StoreUnavailable, AttributeError):
            return v.Iris(self.settings.base)

    def _endpoint_iri(self) -> str:
        """The IRI of the endpoint that was asked (``/sparql`` or ``/sparql/``)."""
        return self._iris().sparql + ("/" if request.path.endswith("/") else "")

    def _handle(self) -> Response:
        if request.method == "OPTIONS":
            return self._preflight()
        parsed = parse_request(
            request.method,
            request.headers.get("Content-Type"),
            request.query_string,
            self._body(),
            self.settings.max_request_bytes,
        )
        if parsed.query is None:
            return self._describe(parsed)
        return self._query(parsed, parsed.query)

    def _body(self) -> bytes:
        if request.method != "POST":
            return b""
        limit = self.settings.max_request_bytes
        length = request.content_length
        if length is not None and length > limit:
            raise ProtocolError(413, f"the request body is {length} bytes; at most {limit} are "
                                     "accepted")
        data = request.stream.read(limit + 1)
        if len(data) > limit:
            raise ProtocolError(413, f"the request body is larger than {limit} bytes")
        return data

    def _preflight(self) -> Response:
        return Response(status=204, headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "GET, HEAD, POST",
            "Access-Control-Allow-Headers": "Content-Type, Accept",
            "Access-Control-Max-Age": "86400",
            "Allow": ", ".join(ALLOWED_METHODS),
        })

    # -- service description and page --------------------------------------------------

    def _graph_names(self) -> list[str]:
        try:
            return sorted(self.store.snapshot().release.graphs.values())
        except (StoreUnavailable, AttributeError):
            return []

    def _graph_counts(self) -> tuple[dict[str, int], int | None]:
        """Triples by graph IRI, and the default graph's, as the release counted them."""
        try:
            release = self.store.snapshot().release
        except (StoreUnavailable, AttributeError):
            return {}, None
        by_key = release.dataset.get("triples", {})
        counts = {iri: int(by_key[k]) for k, iri in release.graphs.items() if k in by_key}
        return counts, release.dataset.get("default_graph_triples")

    def _describe(self, parsed: ProtocolRequest) -> Response:
        try:
            fmt = negotiate(formats_of(GRAPH), request.headers.get("Accept"), parsed.formats)
        except FormatNotAcceptable as exc:
            return self._not_acceptable(str(exc), exc.offered)
        if fmt is HTML:
            return self._page(graphs=self._graph_names())
        counts, default = self._graph_counts()
        triples = service_triples(self.settings, self._iris(), self._endpoint_iri(),
                                  self._graph_names(), counts, default)
        return self._respond(serialize_description(triples, fmt.key), fmt)

    # -- queries ------------------------------------------------------------------------

    def _query(self, parsed: ProtocolRequest, text: str) -> Response:
        s = self.settings
        try:
            inspection = guard.inspect(text, s.max_query_bytes)
        except guard.QueryTooLarge as exc:
            return self._error(413, str(exc), query=text)
        except guard.UpdateRefused as exc:
            return self._error(403, str(exc), query=text)
        except guard.GuardError as exc:
            return self._error(400, str(exc), query=text)

        accept = request.headers.get("Accept")
        if inspection.form is None:  # the engine will say what is wrong; try both kinds
            kinds = [RESULTS, GRAPH]
        else:
            kinds = [GRAPH] if inspection.is_graph else [RESULTS]
        chosen: dict[str, Format] = {}
        refusal: FormatNotAcceptable | None = None
        for kind in kinds:
            try:
                chosen[kind] = negotiate(formats_of(kind), accept, parsed.formats)
            except FormatNotAcceptable as exc:
                refusal = refusal or exc
        if not chosen and refusal is not None:
            return self._not_acceptable(str(refusal), refusal.offered)
        html = any(f is HTML for f in chosen.values())
        results_fmt = chosen.get(RESULTS)
        graph_fmt = chosen.get(GRAPH)
        job = UserQuery(
            query=text,
            base_iri=self._iris().sparql,
            default_graphs=(parsed.default_graphs or []) if parsed.has_dataset else None,
            named_graphs=(parsed.named_graphs or []) if parsed.has_dataset else None,
            union=not parsed.has_dataset and not inspection.has_dataset,
            results_format=BY_KEY["json"] if html else results_fmt,
            graph_format=BY_KEY["nt"] if html else graph_fmt,
        )
        try:
            answer = self._run(job)
        except (StoreError, ClientLimit) as exc:
            return self._execution_error(exc, text, html)
        except OSError as exc:  # no process could be started (fork limits, file handles)
            log.error("cannot start a query worker: %s", exc)
            return self._error(503, "the endpoint cannot start a query worker right now; try "
                                    "again shortly", {"Retry-After": "5"}, query=text)
        if html:
            return self._results_page(parsed, text, answer)
        return self._respond(answer.body, BY_KEY[answer.format])

    def _run(self, job: UserQuery) -> Answer:
        with self.admission.admit(request.remote_addr or "unknown"):
            return self.executor.run(job, self.store.snapshot())

    def _results_page(self, parsed: ProtocolRequest, text: str, answer: Answer) -> Response:
        table: Table = (table_from_json(answer.body) if answer.kind == RESULTS
                        else table_from_ntriples(answer.body))
        params = [("default-graph-uri", g) for g in parsed.default_graphs or []]
        params += [("named-graph-uri", g) for g in parsed.named_graphs or []]
        table.downloads = download_links(request.script_root + request.path, text,
                                         answer.kind, params)
        return self._page(query=text, table=table)

    def _execution_error(self, exc: StoreError | ClientLimit, text: str,
                         html: bool) -> Response:
        if isinstance(exc, NotAcceptable):
            offered = [f.media_type for f in formats_of(exc.kind, html=True)]
            return self._not_acceptable(
                "this query's answer cannot be given in the format asked for", offered)
        if isinstance(exc, QuerySyntaxError):  # said in SPARQL 1.1's terms, where it is
            return self._error(400, f"syntax error: {explain(text, str(exc))}", query=text)
        if isinstance(exc, ResultTooLarge):
            return self._error(400, str(exc), query=text)
        if isinstance(exc, ClientLimit):
            return self._error(429, str(exc), {"Retry-After": str(exc.retry_after)}, query=text)
        if isinstance(exc, QueryTimeout):  # before StoreUnavailable: a remote timeout is both
            return self._error(503, f"{exc}: this endpoint's time limit is "
                                    f"{self.settings.query_timeout_s:g} s per query", query=text)
        if isinstance(exc, StoreUnavailable):  # the store down, or every query slot busy
            return self._error(503, str(exc), {"Retry-After": str(exc.retry_after)}, query=text)
        log.warning("query failed: %s", exc)
        return self._error(503, str(exc), query=text)

    # -- responses ----------------------------------------------------------------------

    def _respond(self, body: bytes, fmt: Format, status: int = 200,
                 headers: dict[str, str] | None = None) -> Response:
        response = Response(body, status=status, content_type=fmt.content_type)
        response.headers.update(COMMON_HEADERS)
        if headers:
            response.headers.update(headers)
        return response

    def _page(self, status: int = 200, headers: dict[str, str] | None = None,
              **context: Any) -> Response:
        """The query page, with the served release's examples and endpoint IRI."""
        html = render_page(self.settings, self._iris().base, self._endpoint_iri(), **context)
        return self._respond(html.encode("utf-8"), HTML, status, headers)

    def _wants_html(self) -> bool:
        """An error as the query page only for a client that prefers HTML to text."""
        try:
            return negotiate((TEXT, HTML), request.headers.get("Accept")) is HTML
        except FormatNotAcceptable:
            return False

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None,
               query: str | None = None) -> Response:
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE] + " ..."
        if self._wants_html():
            return self._page(status, headers, query=query, error=message)
        body = f"{status} {_reason(status)}: {message}\n".encode()
        return self._respond(body, TEXT, status, headers)

    def _not_acceptable(self, message: str, offered: list[str]) -> Response:
        text = f"{message}. Offered: {', '.join(offered)}"
        body = f"406 Not Acceptable: {text}\n".encode()
        return self._respond(body, TEXT, 406)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def build_blueprint(settings: Settings, store: Store) -> Blueprint:
    """The blueprint serving ``/sparql`` and ``/sparql/`` (no redirect between them)."""
    endpoint = Endpoint(settings, store)
    bp = Blueprint("sparql", __name__)
    methods = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "PATCH"]
    options: dict[str, Any] = {"methods": methods, "provide_automatic_options": False}
    bp.add_url_rule("/sparql", "endpoint", endpoint.view, strict_slashes=True, **options)
    bp.add_url_rule("/sparql/", "endpoint_slash", endpoint.view, strict_slashes=True, **options)
    bp.sparql_endpoint = endpoint  # type: ignore[attr-defined]  # for tests and shutdown
    return bp
