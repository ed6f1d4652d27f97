"""The remote backend's query runner: users' queries forwarded to the external store.

When the app serves from an external store (Virtuoso, say), the endpoint still applies
its own guard, negotiation and per-client bound, then the remote store's runner hands the
user's query, unchanged, to the snapshot (:meth:`.store.RemoteSnapshot.forward`), which
sends it by the SPARQL Protocol on the pinned release's dataset (so another release, or
one being loaded, is never seen) and relays the raw answer.

Time is bounded twice: the store's own limit (sent with the query) and the HTTP
timeout. Stopping the work inside the store is the store's business; configure its own
limit too (Virtuoso's MaxQueryExecutionTime).
"""

from __future__ import annotations

import threading

from ..base import (
    Answer,
    AnswerFormat,
    Busy,
    NotAcceptable,
    QueryLimits,
    QueryTimeout,
    ResultTooLarge,
    Snapshot,
    UserQuery,
)
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
        asked = [f for f in (job.results_format, job.graph_format) if f is not None]
        accept = ", ".join(f.media_type for f in asked) or "*/*"
        try:
            response = snapshot.forward(job.query, accept, job.default_graphs,
                                        job.named_graphs, timeout_s=limits.timeout_s,
                                        max_bytes=limits.max_result_bytes)
        except QueryTimeout:  # the endpoint's message, whichever way the store said it
            raise QueryTimeout(
                f"the query ran longer than {limits.timeout_s:g} s and was stopped") from None
        if len(response.body) > limits.max_result_bytes:
            raise ResultTooLarge(
                f"the result is larger than this endpoint's limit of {limits.max_result_bytes} "
                "bytes; add LIMIT, or select fewer variables")
        fmt = _format_of(response.media_type, asked)
        if fmt is None:
            kinds = {f.kind for f in asked}
            raise NotAcceptable(next(iter(kinds)) if len(kinds) == 1 else "results")
        return Answer(kind=fmt.kind, format=fmt.key, body=response.body)


def _format_of(media_type: str, asked: list[AnswerFormat]) -> AnswerFormat | None:
    """Which of the asked formats the store answered with (by media type or alias)."""
    media = media_type.split(";", 1)[0].strip().lower()
    for fmt in asked:
        if media == fmt.media_type:
            return fmt
    for fmt in asked:
        if media in fmt.aliases or _EXTRA_ALIASES.get(media) == fmt.key:
            return fmt
    return None
