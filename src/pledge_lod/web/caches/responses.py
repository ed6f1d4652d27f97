"""Complete responses, replayed: repeat requests for documents answered without Flask.

A cached document still cost the app 500-950 us of Python per request (Flask and
Werkzeug request and response objects, content negotiation, validators, Link and CORS
headers) against ~130 us for precomputed bytes through the same WSGI client, so the hot
set was served at a third of the floor. Every document, listing and redirect is a pure
function of the release and a few request fields, so this WSGI layer keeps the complete
answer (status line, header list, body bytes) that the Flask app itself produced the
first time, and replays it: byte-identical to Flask's by construction.

The key is everything such an answer depends on (read off the app: the routes and
:mod:`pledge_lod.web.http` look at nothing else): the release being served, method (GET,
HEAD), mount point, path, query string, raw request URI (the request guard of
:func:`pledge_lod.web.create_app` looks at it), Accept, and defensively Host and scheme.
The conditional headers are not in the key: the app answers 304 only through
:func:`pledge_lod.web.http.represent`, deciding with Werkzeug's
``is_resource_modified`` on the 200's own ETag and Last-Modified, so the same test on
the cached 200's validators picks the cached 304 (also made by the app, once) or the
200. Origin, Accept-Language and Accept-Encoding change nothing the app sends (CORS is
``*`` for everyone, there is one language and no compression), nor do other headers.

Only routes that are pure functions of that key are kept (things, documents, listings,
feeds, the vocabulary, VoID, the context), never the SPARQL endpoint, files (dumps and
sitemaps answer ranges) or static assets; only 200, 303, 400, 404 and 406 answers (a
server error or a 503 is never kept), none that set a cookie or say ``no-store`` or
``private``, and never for a request with a body. The snapshot taken for the key is the
one the app answers from (handed over in the WSGI environ), so an answer is always filed
under the release it was made from. Entries live in an LRU bounded in bytes
(``Settings.response_cache_bytes``, per worker) that belongs to one release: the first
request that sees another release replaces it whole. Anything unexpected in this layer
is logged and the request goes to Flask as if the layer were absent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkzeug.http import is_resource_modified, parse_date

from ...store import Store, StoreError
from .lru import LRU

log = logging.getLogger("pledge_lod.web")

#: Where this layer hands its snapshot to the app (see :func:`pledge_lod.web.site.snapshot`).
SNAPSHOT_KEY = "pledge_lod.snapshot"


WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]
Key = tuple[str | None, ...]

_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
_CACHEABLE_STATUS = frozenset({200, 303, 400, 404, 406})
_NOT_MODIFIED = "304"
#: What a cached entry costs beyond its strings' lengths: the Entry, its header list and
#: tuples, the key and the LRU's bookkeeping. Measured with tracemalloc: ~1,300 bytes for
#: a document's entry (12 headers); counted: 400 + 12 x 100, so the bound errs high.
_ENTRY_OVERHEAD = 400
_HEADER_OVERHEAD = 100


@dataclass(frozen=True, slots=True)
class Entry:
    """One complete answer, as the app gave it to ``start_response``."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    #: The 200's validators, for answering conditional requests (None: it has none).
    etag: str | None
    last_modified: datetime | None
    #: What it costs the cache, its key included (see :func:`_weight`).
    nbytes: int


def _weight(key: Key, status: str, headers: list[tuple[str, str]], body: bytes) -> int:
    """Bytes an entry holds, counted generously so that the bound is a real one."""
    text = sum(len(k) + len(v) + _HEADER_OVERHEAD for k, v in headers)
    keys = sum(len(part) for part in key if part)
    return len(body) + text + keys + len(status) + _ENTRY_OVERHEAD


class _Capture:
    """The ``start_response`` handed to the app on a miss: remembers what it was given."""

    __slots__ = ("chunks", "failed", "headers", "status")

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.failed = False

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            self.failed = True
        self.status = status
        self.headers = list(headers)
        return self.chunks.append  # the legacy write(): kept, in order


def _cacheable_path(path: str, first_segments: frozenset[str]) -> bool:
    """Whether the route at ``path`` is a pure function of the key (see the module)."""
    first = path[1:].split("/", 1)[0]
    return first in first_segments or first.startswith("pledges.")


class ResponseCache:
    """WSGI middleware in front of the Flask app: replays complete cached answers."""

    def __init__(
        self,
        app: WSGIApp,
        store: Store,
        max_bytes: int,
        first_segments: Iterable[str],
    ) -> None:
        self.app = app
        self.store = store
        self.max_bytes = max_bytes
        self.first_segments = frozenset(first_segments)
        self._lock = threading.Lock()
        self._release: str | None = None
        self._entries: LRU[Entry] = self._new_lru()

    def _new_lru(self) -> LRU[Entry]:
        return LRU(
            max_entries=max(1, self.max_bytes // _ENTRY_OVERHEAD),
            max_bytes=self.max_bytes,
            size_of=lambda entry: entry.nbytes,
        )

    # -- the cache of the current release -------------------------------------------------

    def entries_for(self, release_id: str) -> LRU[Entry]:
        """The entries of ``release_id``; a different release than last time drops them
        all (a release switch makes every old answer wrong)."""
        if self._release == release_id:
            return self._entries
        with self._lock:
            if self._release != release_id:
                self._entries = self._new_lru()
                self._release = release_id
            return self._entries

    @property
    def bytes_used(self) -> int:
        """Bytes the current release's answers count for (never above ``max_bytes``)."""
        return self._entries.nbytes

    def __len__(self) -> int:
        return len(self._entries)

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        try:
            found = self._lookup(environ)
        except StoreError:  # the app answers 503 its own way
            return self.app(environ, start_response)
        except Exception:  # never a 500 because of this layer: Flask answers instead
            log.exception("response cache: lookup failed; answering without it")
            return self.app(environ, start_response)
        if found is None:
            return self.app(environ, start_response)
        key, entries, entry = found
        if entry is None:
            return self._miss(environ, start_response, key, entries)
        if environ.get("HTTP_IF_NONE_MATCH") or environ.get("HTTP_IF_MODIFIED_SINCE"):
            return self._conditional(environ, start_response, key, entries, entry)
        start_response(entry.status, list(entry.headers))
        return [entry.body]

    def _lookup(
        self, environ: WSGIEnviron
    ) -> tuple[Key, LRU[Entry], Entry | None] | None:
        """(key, the release's entries, the entry or None on a miss), or None when this
        request is not one the cache may answer."""
        method = environ.get("REQUEST_METHOD")
        if method != "GET" and method != "HEAD":
            return None
        path = environ.get("PATH_INFO", "")
        if not _cacheable_path(path, self.first_segments):
            return None
        if environ.get("CONTENT_LENGTH") not in (None, "", "0") or environ.get(
            "HTTP_TRANSFER_ENCODING"
        ):
            return None  # the app may refuse the body (413): not a pure function of the key
        snap = self.store.snapshot()
        environ[SNAPSHOT_KEY] = snap
        key: Key = (
            method,
            environ.get("SCRIPT_NAME", ""),
            path,
            environ.get("QUERY_STRING", ""),
            environ.get("RAW_URI") or environ.get("REQUEST_URI"),
            environ.get("HTTP_ACCEPT"),
            # Nothing kept depends on them today; in the key, no future route that builds
            # an absolute URL from the request can have its answer poisoned by a client.
            environ.get("HTTP_HOST"),
            environ.get("wsgi.url_scheme"),
        )
        entries = self.entries_for(snap.release.id)
        return key, entries, entries.get(key)

    def _conditional(
        self,
        environ: WSGIEnviron,
        start_response: StartResponse,
        key: Key,
        entries: LRU[Entry],
        entry: Entry,
    ) -> Iterable[bytes]:
        """If-None-Match / If-Modified-Since: the app's own test on the cached 200's
        validators, then the cached 304 (made by the app the first time) or the 200."""
        if entry.etag is None:
            return self.app(environ, start_response)  # no validators: the app decides
        try:
            modified = is_resource_modified(
                environ, etag=entry.etag, last_modified=entry.last_modified
            )
        except Exception:
            log.exception("response cache: conditional test failed; answering without it")
            return self.app(environ, start_response)
        if modified:
            start_response(entry.status, list(entry.headers))
            return [entry.body]
        key304 = (*key, _NOT_MODIFIED)
        not_modified = entries.get(key304)
        if not_modified is None:
            return self._call_and_keep(environ, start_response, key304, entries, want=304)
        start_response(not_modified.status, list(not_modified.headers))
        return [not_modified.body]

    def _miss(
        self,
        environ: WSGIEnviron,
        start_response: StartResponse,
        key: Key,
        entries: LRU[Entry],
    ) -> Iterable[bytes]:
        if not (environ.get("HTTP_IF_NONE_MATCH") or environ.get("HTTP_IF_MODIFIED_SINCE")):
            return self._call_and_keep(environ, start_response, key, entries)
        # A conditional request first: learn the unconditional answer (and its validators)
        # from the app, so that the next conditional requests are answered from the cache.
        plain = {k: val for k, val in environ.items() if k not in _CONDITIONAL}
        capture = self._run(plain)
        entry = self._keep(key, entries, capture)
        if entry is None:
            return self.app(environ, start_response)
        return self._conditional(environ, start_response, key, entries, entry)

    def _call_and_keep(
        self,
        environ: WSGIEnviron,
        start_response: StartResponse,
        key: Key,
        entries: LRU[Entry],
        want: int | None = None,
    ) -> Iterable[bytes]:
        capture = self._run(environ)
        entry = self._keep(key, entries, capture, want)
        start_response(capture.status, capture.headers)
        return [entry.body if entry is not None else b"".join(capture.chunks)]

    def _run(self, environ: WSGIEnviron) -> _Capture:
        """Call the app and collect its whole answer (documents are already in memory)."""
        capture = _Capture()
        result = self.app(environ, capture)
        try:
            capture.chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return capture

    def _keep(
        self, key: Key, entries: LRU[Entry], capture: _Capture, want: int | None = None
    ) -> Entry | None:
        """File the app's answer under ``key`` if it may be replayed; the entry or None."""
        try:
            code = int(capture.status[:3])
            if capture.failed or (code != want if want else code not in _CACHEABLE_STATUS):
                return None
            etag = last_modified = None
            for name, value in capture.headers:
                lower = name.lower()
                if lower == "set-cookie":
                    return None
                if lower == "cache-control" and ("no-store" in value or "private" in value):
                    return None
                if lower == "etag":
                    etag = value
                elif lower == "last-modified":
                    last_modified = parse_date(value)
            body = b"".join(capture.chunks)
            entry = Entry(
                capture.status,
                capture.headers,
                body,
                etag if code == 200 else None,
                last_modified,
                _weight(key, capture.status, capture.headers, body),
            )
            if entries is self._entries:  # not if the release changed meanwhile
                entries.put(key, entry)
            return entry
        except Exception:
            log.exception("response cache: could not keep an answer")
            return None

