"""Answering queries from an external SPARQL store (backend "remote").

When the app serves from an external store (Virtuoso, say), the endpoint still applies
its own guard, negotiation and limits, then hands the user's query, unchanged, to the
store's snapshot (:meth:`pledge_lod.store.remote.RemoteSnapshot.forward`), which sends
it by the SPARQL Protocol on the current release's dataset (so another release, or one
being loaded, is never seen).

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

from ..config import Settings
from ..store import QuerySyntaxError, QueryTimeout, StoreError, StoreUnavailable
from ..store.remote import parse_graph, parse_json_results
from .executor import (
    Admission,
    Answer,
    Busy,
    Job,
    NotAcceptable,
    QuerySyntax,
    QueryTimedOut,
    ResultTooLarge,
    WorkerFailed,
)
from .results import BY_KEY, FORMATS, GRAPH, RESULTS
from .worker import GRAPH_FORMATS, RESULT_FORMATS

#: What stores send for N-Triples besides its own type.
_EXTRA_ALIASES = {"text/plain": "nt"}


class RemoteRunner:
    """Forwards guarded queries to the remote store, within the endpoint's limits."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.admission = Admission(settings)
        self._slots = threading.BoundedSemaphore(max(1, settings.max_concurrent_queries))

    def run(self, job: Job, snapshot: Any, client: str) -> Answer:
        """Run ``job`` on ``snapshot`` (a RemoteSnapshot) for ``client``."""
        s = self.settings
        with self.admission.admit(client):
            if not self._slots.acquire(timeout=max(0.0, s.query_queue_wait_s)):
                raise Busy("all query slots are busy; try again shortly",
                           retry_after=max(1, round(s.query_timeout_s / 2)))
            try:
                return self._forward(job, snapshot)
            finally:
                self._slots.release()

    def _forward(self, job: Job, snapshot: Any) -> Answer:
        s = self.settings
        keys = [k for k in (job.results_format, job.graph_format) if k]
        # What the store is asked for: the one format of each kind that is read back.
        asked = [_STORE_FORMAT[BY_KEY[k].kind] for k in keys]
        accept = ", ".join(BY_KEY[k].media_type for k in asked) or "*/*"
        try:
            response = snapshot.forward(job.query, accept, job.default_graphs,
                                        job.named_graphs, timeout_s=s.query_timeout_s,
                                        max_bytes=s.max_result_bytes)
        except QuerySyntaxError as exc:
            raise QuerySyntax(str(exc)) from None
        except QueryTimeout:
            raise QueryTimedOut(
                f"the query ran longer than {s.query_timeout_s:g} s and was stopped") from None
        except StoreUnavailable:
            raise
        except StoreError as exc:
            raise WorkerFailed(str(exc)) from None
        if len(response.body) > s.max_result_bytes:
            raise ResultTooLarge(
                f"the result is larger than this endpoint's limit of {s.max_result_bytes} "
                "bytes; add LIMIT, or select fewer variables")
        got = _format_of(response.media_type, asked)
        if got is None:
            kinds = {BY_KEY[k].kind for k in keys}
            raise NotAcceptable(next(iter(kinds)) if len(kinds) == 1 else "results")
        kind = BY_KEY[got].kind
        key = next(k for k in keys if BY_KEY[k].kind == kind)
        try:
            body = rewrite_answer(response.body, kind, key)
        except (ValueError, KeyError, TypeError, AttributeError, SyntaxError) as exc:
            raise WorkerFailed(f"the store's answer could not be read: {exc}") from None
        if len(body) > s.max_result_bytes:
            raise ResultTooLarge(
                f"the result is larger than this endpoint's limit of {s.max_result_bytes} "
                "bytes; add LIMIT, or select fewer variables")
        return Answer(kind=kind, format=key, body=body)


#: The format the store is asked for, per kind of answer.
_STORE_FORMAT = {RESULTS: "json", GRAPH: "nt"}


def rewrite_answer(body: bytes, kind: str, key: str) -> bytes:
    """The store's SPARQL JSON results (or N-Triples) in the format ``key``, written by
    Oxigraph as the embedded store writes it. Terms are read as
    :func:`~pledge_lod.store.remote.term_from_json` reads them (Virtuoso's booleans,
    ``typed-literal`` and ``nodeID://`` blank nodes made standard)."""
    if kind == GRAPH:
        return serialize(parse_graph(body, BY_KEY["nt"].media_type), format=GRAPH_FORMATS[key])
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


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _format_of(media_type: str, asked: list[str]) -> str | None:
    """Which of the asked formats the store answered with (by media type or alias)."""
    media = media_type.split(";", 1)[0].strip().lower()
    for fmt in FORMATS:
        if fmt.key in asked and media == fmt.media_type:
            return fmt.key
    for fmt in FORMATS:
        if fmt.key in asked and (media in fmt.aliases or _EXTRA_ALIASES.get(media) == fmt.key):
            return fmt.key
    return None
