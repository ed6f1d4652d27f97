"""The remote backend's query runner: users' queries forwarded to the external store.

When the app serves from an external store (Virtuoso, say), the endpoint still applies
its own guard, negotiation and per-client bound, then the remote store's runner hands the
user's query, unchanged, to the snapshot (:meth:`.store.RemoteSnapshot.forward`), which
sends it by the SPARQL Protocol on the pinned release's dataset (so another release, or
one being loaded, is never seen).

The store is always asked for SPARQL JSON results or N-Triples, and the answer is
written again by Oxigraph in the format the client asked for, as the embedded store
writes it. A store's own serialisations are not passed through: Virtuoso's TSV starts
with the header ``"p"\t"o"`` where SPARQL 1.1 TSV requires ``?p\t?o``, and its JSON
has SPARQL 1.0 ``typed-literal`` terms and ``nodeID://`` blank nodes, which strict
parsers refuse or misread.

Time is bounded twice: the store's own limit (sent with the query) and the HTTP
timeout. Stopping the work inside the store is the store's business; configure its own
limit too (Virtuoso's MaxQueryExecutionTime).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    QueryResultsFormat,
    parse_query_results,
    serialize,
)

from ..base import (
    Answer,
    AnswerFormat,
    Busy,
    NotAcceptable,
    QueryFailed,
    QueryLimits,
    QueryTimeout,
    ResultTooLarge,
    Snapshot,
    UserQuery,
)

# The key -> Oxigraph writer tables of the embedded backend's query process: one table,
# so both backends write every format the same way.
from ..embedded.query_process import GRAPH_FORMATS, RESULT_FORMATS
from .results import parse_graph, parse_json_results
from .store import RemoteSnapshot

#: What stores send for N-Triples besides its own type.
_EXTRA_ALIASES = {"text/plain": "nt"}


class RemoteRunner:
    """Forwards guarded queries to the remote store, at most ``max_concurrent`` at once."""

    def __init__(self, limits: QueryLimits):
        self.limits = limits
        self._slots = threading.BoundedSemaphore(max(1, limits.max_concurrent))

    def run(self, query: UserQuery, snapshot: Snapshot) -> Answer:
        """Run ``query`` on the release ``snapshot`` (one of this store's) pins."""
        if not isinstance(snapshot, RemoteSnapshot):
            raise TypeError("a remote query runner needs a snapshot of a remote store")
        if not self._slots.acquire(timeout=max(0.0, self.limits.queue_wait_s)):
            raise Busy("all query slots are busy; try again shortly",
                       retry_after=self.limits.busy_retry_after)
        try:
            return self._forward(query, snapshot)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Nothing to stop: each query is one HTTP request."""

    def _forward(self, job: UserQuery, snapshot: RemoteSnapshot) -> Answer:
        limits = self.limits
        wanted = [f for f in (job.results_format, job.graph_format) if f is not None]
        # What the store is asked for: the one format of each kind that is read back.
        accept = ", ".join(_STORE_MEDIA[f.kind] for f in wanted) or "*/*"
        try:
            response = snapshot.forward(job.query, accept, job.default_graphs,
                                        job.named_graphs, timeout_s=limits.timeout_s,
                                        max_bytes=limits.max_result_bytes)
        except QueryTimeout:  # the endpoint's message, whichever way the store said it
            raise QueryTimeout(
                f"the query ran longer than {limits.timeout_s:g} s and was stopped") from None
        self._check_size(response.body)
        kind = _kind_of(response.media_type, wanted)
        if kind is None:
            kinds = {f.kind for f in wanted}
            raise NotAcceptable(next(iter(kinds)) if len(kinds) == 1 else "results")
        fmt = next(f for f in wanted if f.kind == kind)
        try:
            body = rewrite_answer(response.body, kind, fmt.key)
        except (ValueError, KeyError, TypeError, AttributeError, SyntaxError) as exc:
            raise QueryFailed(f"the store's answer could not be read: {exc}") from None
        self._check_size(body)
        return Answer(kind=kind, format=fmt.key, body=body)

    def _check_size(self, body: bytes) -> None:
        limit = self.limits.max_result_bytes
        if len(body) > limit:
            raise ResultTooLarge(
                f"the result is larger than this endpoint's limit of {limit} "
                "bytes; add LIMIT, or select fewer variables")


#: The media type the store is asked for, per kind of answer.
_STORE_MEDIA = {"results": "application/sparql-results+json", "graph": "application/n-triples"}
#: Other media types stores answer with for those (Virtuoso's N-Triples as text/plain).
_STORE_ALIASES = {"text/plain": "graph", "application/json": "results"}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _kind_of(media_type: str, wanted: list[AnswerFormat]) -> str | None:
    """The kind of answer the store sent (by its media type), if one that was asked."""
    media = media_type.split(";", 1)[0].strip().lower()
    kinds = {f.kind for f in wanted}
    for kind, asked in _STORE_MEDIA.items():
        if media == asked and kind in kinds:
            return kind
    kind = _STORE_ALIASES.get(media)
    return kind if kind in kinds else None


def rewrite_answer(body: bytes, kind: str, key: str) -> bytes:
    """The store's SPARQL JSON results (or N-Triples) in the format ``key``, written by
    Oxigraph as the embedded store writes it. Terms are read as
    :func:`~.results.term_from_json` reads them (Virtuoso's booleans, ``typed-literal``
    and ``nodeID://`` blank nodes made standard)."""
    if kind == "graph":
        return serialize(parse_graph(body, _STORE_MEDIA["graph"]), format=GRAPH_FORMATS[key])
    parsed = parse_json_results(body)
    if isinstance(parsed, bool):
        standard: dict[str, Any] = {"head": {}, "boolean": parsed}
    else:
        rows = [{name: _json_term(term) for name, term in row.items()} for row in parsed.rows]
        standard = {"head": {"vars": parsed.variables}, "results": {"bindings": rows}}
    results = parse_query_results(json.dumps(standard).encode(), QueryResultsFormat.JSON)
    return results.serialize(format=RESULT_FORMATS[key])


def _json_term(term: Any) -> dict[str, str]:
    """A term in SPARQL 1.1 Query Results JSON."""
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != _XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    raise TypeError(f"unexpected result term {term!r}")
