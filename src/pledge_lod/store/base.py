"""The one interface through which the server reads data, whatever the backend.

A :class:`Store` hands out :class:`Snapshot` objects: a view pinned to one release, so
that everything one request reads (data, ETag, Last-Modified) comes from the same
release even if a new one is switched in meanwhile. Results use pyoxigraph's term types
on every backend (a remote backend parses its answers into them), so nothing above this
interface knows which backend it has.

Queries passed here are written by the application with ``$variables`` for every value
that comes from a request; values travel in ``bindings`` and are substituted as RDF
terms by the backend (SEP-0007 substitution on Oxigraph, VALUES on a remote store), never
pasted into query text. Oxigraph substitutes only variables a SELECT projects, so a
query that takes a binding projects it (``SELECT ?this ?label ...``), grouping by it in
aggregates.

A user's query at the SPARQL endpoint is different: its text is the user's (already
checked by the endpoint's guard), it must be stopped when it runs too long or answers
too much, and its answer is bytes in the format the client negotiated. A store runs it
through a :class:`QueryRunner` it makes for the endpoint's :class:`QueryLimits`, on the
release a snapshot pins. How the limits are enforced is the backend's business (worker
processes that can be killed on the embedded backend, the store's own limit and a
socket timeout on a remote one); the errors are the classes below, whichever backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from ..config import Settings
from ..release.layout import ReleaseInfo

Term = NamedNode | BlankNode | Literal
Row = dict[str, Term]
Bindings = Mapping[str, Term]


class StoreError(Exception):
    """Base class of the errors a store reports."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached or is too slow; try again later (HTTP 503)."""

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after


class QueryTimeout(StoreError):
    """A query ran past its time limit and was stopped."""


class QuerySyntaxError(StoreError):
    """The query text is not valid SPARQL."""


class Busy(StoreUnavailable):
    """Every query slot stayed busy for the whole queue wait (HTTP 503 with Retry-After)."""


class ResultTooLarge(StoreError):
    """The answer outgrew the endpoint's limit on result bytes."""


class NotAcceptable(StoreError):
    """The query's answer kind ("results" or "graph") has no format the client accepts."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class QueryFailed(StoreError):
    """A user's query could not be evaluated (out of memory, CPU, a worker that died)."""


class TimeTravelUnavailable(StoreError):
    """This backend cannot open an older release (Memento needs the embedded store)."""


class ReleaseGone(StoreError):
    """The release asked for is not kept any more (pruned, or never built here)."""


@dataclass(frozen=True)
class QueryLimits:
    """What bounds a user's query: the part of the settings a query runner uses."""

    timeout_s: float
    max_result_bytes: int
    max_concurrent: int
    queue_wait_s: float
    memory_mb: int

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        return cls(settings.query_timeout_s, settings.max_result_bytes,
                   max(1, settings.max_concurrent_queries), settings.query_queue_wait_s,
                   settings.query_memory_mb)

    @property
    def busy_retry_after(self) -> int:
        """Retry-After for a refused query: half a query's time, when a slot may be free."""
        return max(1, round(self.timeout_s / 2))


class AnswerFormat(Protocol):
    """A format an answer may be given in, as the endpoint's negotiation names it
    (:class:`pledge_lod.http.formats.Format` is one): its key, the kind of answer it
    serialises ("results" or "graph"), its media type and the aliases stores use."""

    @property
    def key(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def media_type(self) -> str: ...

    @property
    def aliases(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class UserQuery:
    """A user's query, guarded, with the dataset and formats the request asked for.

    Graph IRIs are plain strings, checked beforehand; ``None`` means the request named
    no graphs; ``union`` asks for the union of the release's graphs as default graph.
    The formats are those negotiated for each kind of answer (None: that kind is not
    acceptable)."""

    query: str
    base_iri: str
    default_graphs: list[str] | None
    named_graphs: list[str] | None
    union: bool
    results_format: AnswerFormat | None
    graph_format: AnswerFormat | None


@dataclass(frozen=True)
class Answer:
    """A user's query answered: its kind ("results" or "graph"), format key and bytes."""

    kind: str
    format: str
    body: bytes


@dataclass(frozen=True)
class SelectResult:
    variables: list[str]
    rows: list[Row]


class Snapshot(Protocol):
    """Read access pinned to one release."""

    @property
    def release(self) -> ReleaseInfo: ...

    def select(self, query: str, bindings: Bindings | None = None) -> SelectResult: ...

    def construct(self, query: str, bindings: Bindings | None = None) -> list[Triple]: ...

    def ask(self, query: str, bindings: Bindings | None = None) -> bool: ...


class QueryRunner(Protocol):
    """Runs users' queries under one set of limits; made by a store for its endpoint."""

    def run(self, query: UserQuery, snapshot: Snapshot) -> Answer:
        """Answer ``query`` on the release ``snapshot`` pins; raises the errors above."""
        ...

    def close(self) -> None: ...


class Store(Protocol):
    """A backend: hands out snapshots of its current release, and (for time travel) of
    the older releases it still keeps."""

    name: str
    #: Whether :meth:`kept_releases` and :meth:`pinned` work on this backend.
    time_travel: bool

    def snapshot(self) -> Snapshot: ...

    def kept_releases(self) -> list[ReleaseInfo]:
        """The releases still on disk, the current one among them, oldest first (by
        their ``created``). TimeTravelUnavailable if the backend keeps none."""
        ...

    def pinned(self, release_id: str) -> Snapshot:
        """A read-only snapshot of the kept release ``release_id``. ReleaseGone if it is
        not kept, TimeTravelUnavailable if the backend cannot open older releases."""
        ...

    def query_runner(self, limits: QueryLimits) -> QueryRunner: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """What the registry holds for a backend name: a store class that opens from the
    settings and checks, before a server forks its workers, that there is something
    to serve (without opening what a worker opens itself)."""

    @classmethod
    def open(cls, settings: Settings) -> Store: ...

    @classmethod
    def check(cls, settings: Settings) -> ReleaseInfo:
        """The release a server would serve now. ReleaseError if there is none (or it is
        damaged); StoreUnavailable if the backend cannot be asked right now."""
        ...


def values_clause(bindings: Bindings) -> tuple[list[str], Sequence[Term]]:
    """Helper for backends without SEP-0007: variable names and terms for a VALUES row."""
    names = sorted(bindings)
    return names, [bindings[n] for n in names]
