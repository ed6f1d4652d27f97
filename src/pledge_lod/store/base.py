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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

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


class Store(Protocol):
    """A backend: hands out snapshots of its current release."""

    name: str

    def snapshot(self) -> Snapshot: ...

    def close(self) -> None: ...


def values_clause(bindings: Bindings) -> tuple[list[str], Sequence[Term]]:
    """Helper for backends without SEP-0007: variable names and terms for a VALUES row."""
    names = sorted(bindings)
    return names, [bindings[n] for n in names]
