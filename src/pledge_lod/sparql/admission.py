"""The endpoint's per-client bound: at most ``max_queries_per_client`` queries at once.

A policy of the endpoint, not of a backend: it is the same whichever store answers, so it
stays here and wraps the store's query runner. The bound is per server process (each
gunicorn worker counts its own).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..config import Settings


class ClientLimit(Exception):
    """This client already runs as many queries as it may (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class Admission:
    """Counts each client's running queries; refuses one past the limit."""

    def __init__(self, per_client: int, retry_after: int):
        self.per_client = max(1, per_client)
        self.retry_after = max(1, retry_after)
        self._clients: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Admission:
        """Retry after one query's time limit: by then one of the client's has ended."""
        return cls(settings.max_queries_per_client, round(settings.query_timeout_s))

    @contextmanager
    def admit(self, client: str) -> Iterator[None]:
        limit = self.per_client
        with self._lock:
            running = self._clients.get(client, 0)
            if running >= limit:
                raise ClientLimit(
                    f"you already have {running} queries running; this endpoint runs at most "
                    f"{limit} at once per client",
                    retry_after=self.retry_after,
                )
            self._clients[client] = running + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._clients.get(client, 1) - 1
                if left > 0:
                    self._clients[client] = left
                else:
                    self._clients.pop(client, None)
