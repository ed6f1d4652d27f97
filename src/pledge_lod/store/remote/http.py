"""HTTP to a remote store for writing (SPARQL updates, Graph Store uploads), on requests.

Authentication is the library's: Digest by :class:`requests.auth.HTTPDigestAuth`, which,
once the store's first challenge is known, signs every request up front (so a large
upload is not sent twice) and signs again once when the store says the nonce is stale;
Basic by :class:`requests.auth.HTTPBasicAuth` when that is what the store asks for.
Transport failures are mapped onto the store's error classes here.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from requests.auth import HTTPBasicAuth, HTTPDigestAuth

from ..base import QueryTimeout, StoreError, StoreUnavailable


class RemoteTimeout(StoreUnavailable, QueryTimeout):
    """The store did not finish in time: a timeout, and (for the web layer) a 503."""


class RemoteRefused(StoreError):
    """The store refused a request for a reason that trying again will not fix."""


@dataclass(frozen=True)
class Response:
    status: int
    media_type: str
    headers: Mapping[str, str]
    body: bytes


def where(url: str) -> str:
    """The URL without its query (which may hold a graph name, or a query)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def retry_for(seconds: float) -> int:
    """Retry-After for a store that took ``seconds``: as long, between 1 and 30 s."""
    return max(1, min(30, round(seconds)))


def store_message(body: bytes, limit: int = 400) -> str:
    """The start of a store's error message, on one line."""
    text = body.decode("utf-8", "replace").strip()
    text = text.split("\n\nSPARQL query:", 1)[0]  # Virtuoso repeats the query
    return " ".join(text.split())[:limit]


def media_type(headers: Mapping[str, str]) -> str:
    """The answer's media type without parameters (text/plain when none is given)."""
    value = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return value or "text/plain"


class HttpClient:
    """One session to the store, authenticated as ``user`` when one is given."""

    def __init__(self, user: str = "", password: str = "", timeout: float = 10.0):
        self.user, self.password, self.timeout = user, password, timeout
        # Proxies from the environment (and NO_PROXY) apply, as they do to the queries
        # that SPARQLWrapper sends through urllib.
        self.session = requests.Session()
        if user:
            self.session.auth = HTTPDigestAuth(user, password)

    def request(self, method: str, url: str, data: bytes | None = None,
                headers: Mapping[str, str] | None = None,
                timeout: float | None = None) -> Response:
        """One request; the answer whatever its status, except a refused login."""
        limit = timeout or self.timeout
        resp = self._send(method, url, data, headers, limit)
        challenge = resp.headers.get("WWW-Authenticate", "")
        if (resp.status_code == 401 and self.user and challenge.lower().startswith("basic")
                and not isinstance(self.session.auth, HTTPBasicAuth)):
            self.session.auth = HTTPBasicAuth(self.user, self.password)
            resp = self._send(method, url, data, headers, limit)
            challenge = resp.headers.get("WWW-Authenticate", "")
        if resp.status_code == 401 and self.user and challenge:
            raise RemoteRefused(f"the store at {where(url)} refused the user name or password")
        return Response(resp.status_code, media_type(resp.headers), dict(resp.headers),
                        resp.content)

    def _send(self, method: str, url: str, data: bytes | None,
              headers: Mapping[str, str] | None, limit: float) -> requests.Response:
        try:
            return self.session.request(method, url, data=data, headers=dict(headers or {}),
                                        timeout=limit)
        except requests.Timeout as exc:
            raise _timeout(url, limit) from exc
        except requests.RequestException as exc:
            if "timed out" in str(exc):  # a read timeout while the body streamed in
                raise _timeout(url, limit) from exc
            reason = exc.args[0] if exc.args else exc
            raise StoreUnavailable(f"the SPARQL store at {where(url)} cannot be reached "
                                   f"({reason})", retry_after=5) from exc

    def close(self) -> None:
        self.session.close()


def _timeout(url: str, limit: float) -> RemoteTimeout:
    return RemoteTimeout(f"the SPARQL store at {where(url)} did not answer within {limit:g} s",
                         retry_after=retry_for(limit))
