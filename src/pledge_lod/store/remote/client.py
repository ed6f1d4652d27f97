"""Read queries to a remote store by the SPARQL 1.1 Protocol, through SPARQLWrapper, with
the store's error classes and a short fail-fast window after the store was down."""

from __future__ import annotations

import ast
import http.client
import time
import urllib.error
from collections.abc import Iterable
from typing import Any

from pyoxigraph import Triple

from ..base import QuerySyntaxError, SelectResult, StoreError, StoreUnavailable
from .http import RemoteTimeout, Response, retry_for, store_message, where
from .results import JSON_RESULTS, NTRIPLES, results_of, triples_of


def _response_of(exc: Exception) -> bytes:
    """The store's answer inside a SPARQLWrapper exception (it keeps only its repr)."""
    text = str(exc)
    _, found, rest = text.partition("\n\nResponse:\n")
    if found:
        try:
            value = ast.literal_eval(rest.strip())
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, bytes):
            return value
    return text.encode()


_TIMEOUT_MARKS = ("S1T00", "SR171", "timeout", "Timeout", "estimated execution time")


class Health:
    """Fail fast for a moment after the store was unreachable or hung, so that requests
    do not all wait out the timeout; never longer (no sticky failure)."""

    def __init__(self, window_s: float):
        self.window_s = window_s
        self._until = 0.0
        self._why: StoreUnavailable | None = None

    def check(self) -> None:
        why = self._why
        if why is not None and time.monotonic() < self._until:
            raise StoreUnavailable(str(why), retry_after=why.retry_after)

    def failed(self, exc: StoreUnavailable) -> None:
        self._why = exc
        self._until = time.monotonic() + self.window_s

    def ok(self) -> None:
        self._why = None


class QueryClient:
    """Read queries by the SPARQL 1.1 Protocol through SPARQLWrapper."""

    def __init__(self, url: str, timeout_s: float):
        if not url:
            raise ValueError(
                "the remote backend needs the store's query URL: set PLEDGE_LOD_REMOTE_QUERY_URL"
                " (for Virtuoso, http://HOST:8890/sparql)"
            )
        self.url = url
        self.timeout_s = timeout_s
        self.health = Health(min(2.0, max(0.5, timeout_s / 4)))

    def run(self, query: str, accept: str, default_graphs: Iterable[str] = (),
            named_graphs: Iterable[str] = (), timeout_s: float | None = None,
            max_bytes: int | None = None) -> Response:
        """One query; the raw answer (200 only). Raises the store's error classes."""
        from SPARQLWrapper import POST, URLENCODED, SPARQLWrapper
        from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

        self.health.check()
        limit = timeout_s or self.timeout_s
        client = SPARQLWrapper(self.url)
        client.setMethod(POST)  # a form POST: a direct sparql-query POST hangs Virtuoso 7.2
        client.setRequestMethod(URLENCODED)
        client.setOnlyConneg(True)
        client.addCustomHttpHeader("Accept", accept)
        client.setQuery(query)
        for graph in default_graphs:
            client.addDefaultGraph(graph)
        for graph in named_graphs:
            client.addNamedGraph(graph)
        client.addParameter("timeout", str(max(1, int(limit * 1000))))  # the store's limit
        client.setTimeout(max(1, int(limit + 1.5)))  # ours, if the store does not answer
        started = time.monotonic()
        try:
            result = client.query()
            response = result.response
            headers = dict(response.info().items())
            body = response.read() if max_bytes is None else response.read(max_bytes + 1)
            media = response.info().get_content_type()
            status = getattr(response, "status", 200)
        except SPARQLWrapperException as exc:
            self.health.ok()
            raise self._refusal(exc, time.monotonic() - started, limit) from None
        except urllib.error.HTTPError as exc:
            self.health.ok()
            raise StoreUnavailable(
                f"the SPARQL store at {where(self.url)} answered {exc.code} "
                f"({store_message(exc.read(2000))})", retry_after=5) from None
        except TimeoutError as exc:
            raise self._down(RemoteTimeout(
                f"the SPARQL store at {where(self.url)} did not answer within "
                f"{limit:g} s", retry_after=retry_for(limit))) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, TimeoutError):
                raise self._down(RemoteTimeout(
                    f"the SPARQL store at {where(self.url)} did not answer within "
                    f"{limit:g} s", retry_after=retry_for(limit))) from exc
            raise self._down(StoreUnavailable(
                f"the SPARQL store at {where(self.url)} cannot be reached ({reason})",
                retry_after=5)) from exc
        self.health.ok()
        if headers.get("X-SQL-State", "").strip() == "S1TAT":
            # Virtuoso's "anytime" answer: incomplete results. Never pass them off as whole.
            raise RemoteTimeout(
                f"the query ran past the store's time limit of {limit:g} s",
                retry_after=retry_for(limit))
        return Response(status, media, headers, body)

    def _down(self, exc: StoreUnavailable) -> StoreUnavailable:
        self.health.failed(exc)
        return exc

    def _refusal(self, exc: Exception, elapsed: float, limit: float) -> StoreError:
        from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

        detail = store_message(_response_of(exc))
        if isinstance(exc, QueryBadFormed):
            return QuerySyntaxError(detail)
        if any(mark in detail for mark in _TIMEOUT_MARKS) or elapsed >= limit:
            return RemoteTimeout(f"the query ran past the store's time limit of {limit:g} s "
                                 f"({detail})", retry_after=retry_for(limit))
        return StoreUnavailable(f"the SPARQL store at {where(self.url)} failed: {detail}",
                                retry_after=5)

    # -- convenience --------------------------------------------------------------------

    def select(self, query: str, **kw: Any) -> SelectResult:
        result = results_of(self.run(query, JSON_RESULTS, **kw))
        if not isinstance(result, SelectResult):
            raise TypeError("not a SELECT query")
        return result

    def ask(self, query: str, **kw: Any) -> bool:
        result = results_of(self.run(query, JSON_RESULTS, **kw))
        if not isinstance(result, bool):
            raise TypeError("not an ASK query")
        return result

    def construct(self, query: str, **kw: Any) -> list[Triple]:
        return triples_of(self.run(query, f"{NTRIPLES}, text/plain;q=0.9", **kw))
