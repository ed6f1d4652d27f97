"""Answering queries from an external SPARQL store (backend "remote").

When the app serves from an external store (Virtuoso, say), the endpoint still applies
its own guard, negotiation and limits, then hands the user's query, unchanged, to the
store's snapshot (:meth:`pledge_lod.store.remote.RemoteSnapshot.forward`), which sends
it by the SPARQL Protocol on the current release's dataset (so another release, or one
being loaded, is never seen) and relays the raw answer.

Time is bounded twice: the store's own limit (sent with the query) and the HTTP
timeout. Stopping the work inside the store is the store's business; configure its own
limit too (Virtuoso's MaxQueryExecutionTime).
"""

from __future__ import annotations

import threading
from typing import Any

from ..config import Settings
from ..http.formats import BY_KEY, FORMATS
from ..store import QuerySyntaxError, QueryTimeout, StoreError, StoreUnavailable
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
        accept = ", ".join(BY_KEY[k].media_type for k in keys) or "*/*"
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
        key = _format_of(response.media_type, keys)
        if key is None:
            kinds = {BY_KEY[k].kind for k in keys}
            raise NotAcceptable(next(iter(kinds)) if len(kinds) == 1 else "results")
        return Answer(kind=BY_KEY[key].kind, format=key, body=response.body)


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
