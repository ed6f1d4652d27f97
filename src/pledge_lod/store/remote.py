"""The remote backend: a SPARQL 1.1 store elsewhere (Virtuoso is the one tested for real).

Reading
    Queries go by the SPARQL 1.1 Protocol through SPARQLWrapper, as a form POST (a direct
    ``application/sparql-query`` POST hangs Virtuoso 7.2), asking for JSON results or
    N-Triples explicitly. Answers are turned into pyoxigraph terms, so nothing above
    :mod:`.base` can tell this backend from the embedded one. Values from requests are
    bound with a ``VALUES`` block built from the terms' own N-Triples form
    (:func:`bind_values`), never pasted into the query as request text.

Which release is current
    is data on the store itself: the control graph ``<urn:pledge-lod:current>`` holds one
    description per published release (its id, status, graphs and manifest) and ONE pointer
    triple ``<urn:pledge-lod:current> ctl:release <urn:pledge-lod:release:ID>``. A release's
    graphs are new named graphs, ``{graph}/{release id}``; ``pledge-lod publish``
    (:mod:`pledge_lod.publish`) loads and verifies them, and only then moves the pointer
    with one SPARQL update. Every read names the current release's graphs as its dataset
    (``default-graph-uri``/``named-graph-uri``), so a release being loaded is never seen.

Graph names
    Above this module graphs keep their published names (``{base}/graph/data``), exactly
    as on the embedded backend (ReleaseInfo.graphs, the service description, answers).
    :class:`RemoteSnapshot` translates: ``GRAPH <iri>`` and ``FROM`` in queries, the
    protocol dataset, and graph names in answers.

Time and faults
    Each query carries the store's own time limit (``timeout`` in ms, which Virtuoso
    honours) and a client-side socket timeout. An unreachable, failing or slow store is
    :class:`~.base.StoreUnavailable` (HTTP 503 with Retry-After); after such a failure
    queries fail fast for a second or two instead of piling up, then the next one tries
    again: nothing sticks, the app recovers as soon as the store answers.

Files
    The web layer serves dumps, VoID and the sitemap from the release directory, so app
    servers need a read-only copy of ``{releases_dir}/{id}/`` (without ``store/``); if it
    is missing the data is still served and those files answer 404.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import http.client
import json
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple

from ..config import Settings
from .base import (
    Bindings,
    QuerySyntaxError,
    QueryTimeout,
    SelectResult,
    StoreError,
    StoreUnavailable,
    Term,
)
from .layout import ReleaseError, ReleaseInfo, read_release

log = logging.getLogger(__name__)

# -- the control graph --------------------------------------------------------------------

CONTROL_GRAPH = "urn:pledge-lod:current"
POINTER = "urn:pledge-lod:current"
CTL = "urn:pledge-lod:def#"
#: An IRI no graph has: keeps a dataset non-empty when a request names no graph of ours
#: (with no graph at all, a store's default dataset is every graph it has).
EMPTY_GRAPH = "urn:pledge-lod:empty"
XSD = "http://www.w3.org/2001/XMLSchema#"
RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
JSON_RESULTS = "application/sparql-results+json"
NTRIPLES = "application/n-triples"


def release_node(release_id: str) -> str:
    if not RELEASE_ID.match(release_id):
        raise ValueError(f"not a release id: {release_id!r}")
    return f"urn:pledge-lod:release:{release_id}"


def physical_graph(logical: str, release_id: str) -> str:
    """The named graph that holds ``logical`` for one release on the remote store."""
    release_node(release_id)  # validates the id
    return f"{logical.rstrip('/')}/{release_id}"


# -- binding values -----------------------------------------------------------------------

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMS = {"SELECT", "CONSTRUCT", "ASK", "DESCRIBE"}


def sparql_term(term: Term) -> str:
    """A term in SPARQL syntax, from pyoxigraph's own (escaped, validated) N-Triples form."""
    if isinstance(term, NamedNode | Literal):
        return str(term)
    if isinstance(term, BlankNode):
        raise ValueError("a blank node cannot be bound in a query sent to a remote store")
    raise TypeError(f"not an RDF term: {term!r}")


def _skip_string(text: str, i: int) -> int:
    """Index after the string literal starting at ``i``."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = i + 3
        while end < len(text):
            if text[end] == "\\":
                end += 2
            elif text.startswith(quote * 3, end):
                return end + 3
            else:
                end += 1
        raise ValueError("unterminated string in query")
    end = i + 1
    while end < len(text):
        ch = text[end]
        if ch == "\\":
            end += 2
        elif ch == quote:
            return end + 1
        elif ch in "\r\n":
            break
        else:
            end += 1
    raise ValueError("unterminated string in query")


def _tokens(text: str) -> Iterable[tuple[int, int, str]]:
    """(start, end, token) for the tokens that matter here: braces, parentheses, words,
    prefixed names and IRIs - skipping comments, strings and variables."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch in "\"'":
            i = _skip_string(text, i)
        elif ch == "<":
            m = _IRIREF.match(text, i)
            if m:
                yield i, m.end(), m.group(0)
                i = m.end()
            else:
                yield i, i + 1, ch
                i += 1
        elif ch in "{}()":
            yield i, i + 1, ch
            i += 1
        elif ch in "?$":
            m = _WORD.match(text, i + 1)
            i = m.end() if m else i + 1
        elif ch == ":" or _WORD.match(text, i):
            end = i + 1
            # words, and prefixed names (pl:select is not a keyword)
            while end < n and (text[end].isalnum() or text[end] in "_-.:%"):
                end += 1
            while text[end - 1] == ".":  # a final dot ends the triple, not the name
                end -= 1
            yield i, end, text[i:end]
            i = end
        else:
            i += 1


def where_start(query: str) -> int:
    """The index just after the ``{`` that opens the query's WHERE group."""
    found = _where_group(query)
    if found is None:
        raise ValueError("the query has no WHERE group to bind values in")
    return found


def _where_group(query: str, on_token=None) -> int | None:
    """The index after the WHERE group's ``{`` (None if there is none); ``on_token`` sees
    every token between the query form's keyword and that group, outside the template."""
    form: str | None = None
    depth = parens = 0
    template_done = False
    for start, end, tok in _tokens(query):
        upper = tok.upper()
        if form is None:
            if upper in _FORMS:
                form = upper
            continue
        in_template = form == "CONSTRUCT" and not template_done
        if tok == "(":
            parens += 1
        elif tok == ")":
            parens -= 1
        elif tok == "{" and parens == 0:
            if in_template:
                depth += 1
                continue
            if depth == 0:
                return end
            depth += 1
        elif tok == "}" and parens == 0 and in_template:
            depth -= 1
            if depth == 0:
                template_done = True
            continue
        elif upper == "WHERE" and in_template and depth == 0:
            raise ValueError("CONSTRUCT WHERE { } (the short form) cannot take bindings")
        if on_token is not None and not (in_template and depth > 0):
            on_token(start, end, tok)
    return None


def split_dataset(query: str) -> tuple[str, list[str], list[str]]:
    """The query without its FROM / FROM NAMED clauses, and the graphs they name.

    A remote store may add a query's FROM graphs to those the protocol names (Virtuoso
    does) instead of letting the protocol's replace them, so the proxy moves them into
    the protocol's dataset itself, where only the release's graphs are let through.
    """
    prefixes = dict(re.findall(r"(?i)\bPREFIX\s+([A-Za-z0-9_.-]*):\s*<([^<>\s]*)>", query))
    clauses: list[tuple[int, int, str, str]] = []
    state: dict[str, Any] = {"from": None, "named": False}

    def on_token(start: int, end: int, tok: str) -> None:
        upper = tok.upper()
        if state["from"] is None:
            if upper == "FROM":
                state["from"], state["named"] = start, False
            return
        if upper == "NAMED" and not state["named"]:
            state["named"] = True
            return
        if tok.startswith("<") and tok.endswith(">") and len(tok) > 1:
            iri = tok[1:-1]
        elif ":" in tok and tok.split(":", 1)[0] in prefixes:
            prefix, local = tok.split(":", 1)
            iri = prefixes[prefix] + local
        else:
            raise ValueError(f"FROM needs an IRI, not {tok!r}")
        clauses.append((state["from"], end, "named" if state["named"] else "default", iri))
        state["from"] = None

    _where_group(query, on_token)
    if state["from"] is not None:
        raise ValueError("FROM needs an IRI")
    defaults = [iri for *_, kind, iri in clauses if kind == "default"]
    named = [iri for *_, kind, iri in clauses if kind == "named"]
    text = query
    for start, end, _kind, _iri in reversed(clauses):
        text = text[:start] + " " + text[end:]
    return text, defaults, named


def rewrite_graphs(query: str, graph_for: Callable[[str], str]) -> str:
    """``query`` with the IRI after each ``GRAPH`` keyword replaced by ``graph_for(iri)``
    (prefixed names resolved first; ``GRAPH ?var`` is left alone)."""
    prefixes = dict(re.findall(r"(?i)\bPREFIX\s+([A-Za-z0-9_.-]*):\s*<([^<>\s]*)>", query))
    edits: list[tuple[int, int, str]] = []
    after_graph = False
    for start, end, tok in _tokens(query):
        if after_graph:
            iri = None
            if tok.startswith("<") and tok.endswith(">") and len(tok) > 1:
                iri = tok[1:-1]
            elif ":" in tok and tok.split(":", 1)[0] in prefixes:
                prefix, local = tok.split(":", 1)
                iri = prefixes[prefix] + local
            if iri is not None:
                edits.append((start, end, f"<{graph_for(iri)}>"))
        after_graph = tok.upper() == "GRAPH"
    for start, end, text in reversed(edits):
        query = query[:start] + text + query[end:]
    return query


def bind_values(query: str, bindings: Bindings | None) -> str:
    """``query`` with ``VALUES (?a ?b) { (<iri> "literal"@en) }`` at the start of its
    WHERE group: the remote form of SEP-0007 substitution. Terms are written in their
    N-Triples form by pyoxigraph (escaped and validated), never from request text."""
    if not bindings:
        return query
    names = sorted(bindings)
    for name in names:
        if not _VAR_NAME.match(name):
            raise ValueError(f"not a variable name: {name!r}")
    row = " ".join(sparql_term(bindings[name]) for name in names)
    block = f" VALUES ({' '.join('?' + name for name in names)}) {{ ({row}) }} "
    pos = where_start(query)
    return query[:pos] + block + query[pos:]


# -- answers into pyoxigraph terms --------------------------------------------------------

_BNODE_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _bnode(value: str) -> BlankNode:
    # Virtuoso labels blank nodes nodeID://b123 in JSON and _:b123 in N-Triples.
    if value.startswith("nodeID://"):
        value = value[len("nodeID://") :]
    elif value.startswith("_:"):
        value = value[2:]
    return BlankNode(_BNODE_UNSAFE.sub("_", value) or "b")


def term_from_json(data: Mapping[str, Any]) -> Term:
    """One SPARQL JSON results term (including the older ``typed-literal``) as pyoxigraph's."""
    kind, value = data.get("type"), data.get("value")
    if not isinstance(value, str):
        raise ValueError(f"a result term without a value: {data!r}")
    if kind == "uri":
        return NamedNode(value)
    if kind == "bnode":
        return _bnode(value)
    if kind in ("literal", "typed-literal"):
        lang = data.get("xml:lang")
        if lang:
            return Literal(value, language=str(lang))
        datatype = data.get("datatype")
        if datatype:
            if datatype == XSD + "boolean" and value in ("1", "0"):  # Virtuoso's booleans
                value = "true" if value == "1" else "false"
            if datatype == XSD + "string":
                return Literal(value)  # the same term; built the way Oxigraph builds it
            return Literal(value, datatype=NamedNode(str(datatype)))
        return Literal(value)
    raise ValueError(f"unknown result term type {kind!r}")


def parse_json_results(body: bytes) -> SelectResult | bool:
    """SPARQL 1.1 Query Results JSON: a SelectResult, or a bool for ASK."""
    data = json.loads(body.decode("utf-8"))
    if "boolean" in data:
        return bool(data["boolean"])
    names = [str(v) for v in data.get("head", {}).get("vars", [])]
    rows = []
    for binding in data.get("results", {}).get("bindings", []):
        rows.append({name: term_from_json(term) for name, term in binding.items()})
    return SelectResult(names, rows)


def parse_graph(body: bytes, media_type: str) -> list[Triple]:
    fmt = RdfFormat.from_media_type(media_type) or RdfFormat.N_TRIPLES
    return [quad.triple for quad in pyoxigraph.parse(body, format=fmt)]


def _results(response: Response) -> SelectResult | bool:
    try:
        return parse_json_results(response.body)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreUnavailable(f"the store's answer is not SPARQL JSON results ({exc})",
                               retry_after=5) from exc


def _triples(response: Response) -> list[Triple]:
    media = NTRIPLES if response.media_type == "text/plain" else response.media_type
    try:
        return parse_graph(response.body, media)
    except (ValueError, SyntaxError) as exc:
        raise StoreUnavailable(f"the store's answer is not {media} ({exc})",
                               retry_after=5) from exc


# -- talking to the store -----------------------------------------------------------------


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


def _digest(challenge: dict[str, str], user: str, password: str, method: str, uri: str,
            count: int) -> str:
    realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
    algorithm = challenge.get("algorithm", "MD5")
    if algorithm.upper() not in ("MD5", "MD5-SESS"):
        raise RemoteRefused(f"the store asks for digest algorithm {algorithm}, not MD5")

    def h(text: str) -> str:
        return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()

    cnonce = os.urandom(8).hex()
    ha1 = h(f"{user}:{realm}:{password}")
    if algorithm.upper() == "MD5-SESS":
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    nc = f"{count:08x}"
    qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    parts = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
             f"algorithm={algorithm}"]
    if "auth" in qops:
        response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        parts += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        response = h(f"{ha1}:{nonce}:{ha2}")
    parts.append(f'response="{response}"')
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    fields = dict(
        (k.lower(), v if v else w)
        for k, v, w in re.findall(r'([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))', rest)
    )
    return scheme.lower(), fields


class HttpClient:
    """Small HTTP client with Basic or Digest authentication sent up front once the
    store's challenge is known (so a large upload is not sent twice), and errors mapped
    onto the store's error classes."""

    def __init__(self, user: str = "", password: str = "", timeout: float = 10.0):
        self.user, self.password, self.timeout = user, password, timeout
        self._challenges: dict[str, tuple[str, dict[str, str]]] = {}
        self._count = 0
        self._lock = threading.Lock()

    def _authorization(self, method: str, url: str) -> str | None:
        if not self.user:
            return None
        parts = urllib.parse.urlsplit(url)
        known = self._challenges.get(parts.netloc)
        if known is None:
            return None
        scheme, challenge = known
        if scheme == "basic":
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return f"Basic {token}"
        uri = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            self._count += 1
            count = self._count
        return _digest(challenge, self.user, self.password, method, uri, count)

    def request(self, method: str, url: str, data: bytes | None = None,
                headers: Mapping[str, str] | None = None,
                timeout: float | None = None) -> Response:
        fresh = False  # whether the last challenge came from this very call
        for _attempt in range(3):
            request = urllib.request.Request(url, data=data, method=method,
                                             headers=dict(headers or {}))
            auth = self._authorization(method, url)
            if auth:
                request.add_header("Authorization", auth)
            try:
                with urllib.request.urlopen(request, timeout=timeout or self.timeout) as resp:
                    body = resp.read()
                    return Response(resp.status, resp.headers.get_content_type(),
                                    dict(resp.headers.items()), body)
            except urllib.error.HTTPError as exc:
                body = exc.read()
                header = exc.headers.get("WWW-Authenticate", "") if exc.headers else ""
                if exc.code == 401 and self.user and header:
                    scheme, challenge = _parse_challenge(header)
                    if not fresh or challenge.get("stale", "").lower() == "true":
                        netloc = urllib.parse.urlsplit(url).netloc
                        with self._lock:
                            self._challenges[netloc] = (scheme, challenge)
                            self._count = 0  # nonce counts start again for a new nonce
                        fresh = True
                        continue
                    break
                media = exc.headers.get_content_type() if exc.headers else "text/plain"
                headers_out = dict(exc.headers.items()) if exc.headers else {}
                return Response(exc.code, media, headers_out, body)
            except TimeoutError as exc:
                raise RemoteTimeout(
                    f"the SPARQL store at {_where(url)} did not answer within "
                    f"{timeout or self.timeout:g} s",
                    retry_after=_retry(timeout or self.timeout),
                ) from exc
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", None) or exc
                if isinstance(reason, TimeoutError):
                    raise RemoteTimeout(
                        f"the SPARQL store at {_where(url)} did not answer within "
                        f"{timeout or self.timeout:g} s",
                        retry_after=_retry(timeout or self.timeout),
                    ) from exc
                raise StoreUnavailable(
                    f"the SPARQL store at {_where(url)} cannot be reached ({reason})",
                    retry_after=5,
                ) from exc
        raise RemoteRefused(f"the store at {_where(url)} refused the user name or password")


def _where(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _retry(seconds: float) -> int:
    return max(1, min(30, round(seconds)))


def _message(body: bytes, limit: int = 400) -> str:
    text = body.decode("utf-8", "replace").strip()
    text = text.split("\n\nSPARQL query:", 1)[0]  # Virtuoso repeats the query
    return " ".join(text.split())[:limit]


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


# -- the query side -----------------------------------------------------------------------


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
                f"the SPARQL store at {_where(self.url)} answered {exc.code} "
                f"({_message(exc.read(2000))})", retry_after=5) from None
        except TimeoutError as exc:
            raise self._down(RemoteTimeout(
                f"the SPARQL store at {_where(self.url)} did not answer within "
                f"{limit:g} s", retry_after=_retry(limit))) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, TimeoutError):
                raise self._down(RemoteTimeout(
                    f"the SPARQL store at {_where(self.url)} did not answer within "
                    f"{limit:g} s", retry_after=_retry(limit))) from exc
            raise self._down(StoreUnavailable(
                f"the SPARQL store at {_where(self.url)} cannot be reached ({reason})",
                retry_after=5)) from exc
        self.health.ok()
        if headers.get("X-SQL-State", "").strip() == "S1TAT":
            # Virtuoso's "anytime" answer: incomplete results. Never pass them off as whole.
            raise RemoteTimeout(
                f"the query ran past the store's time limit of {limit:g} s",
                retry_after=_retry(limit))
        return Response(status, media, headers, body)

    def _down(self, exc: StoreUnavailable) -> StoreUnavailable:
        self.health.failed(exc)
        return exc

    def _refusal(self, exc: Exception, elapsed: float, limit: float) -> StoreError:
        from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

        detail = _message(_response_of(exc))
        if isinstance(exc, QueryBadFormed):
            return QuerySyntaxError(detail)
        if any(mark in detail for mark in _TIMEOUT_MARKS) or elapsed >= limit:
            return RemoteTimeout(f"the query ran past the store's time limit of {limit:g} s "
                                 f"({detail})", retry_after=_retry(limit))
        return StoreUnavailable(f"the SPARQL store at {_where(self.url)} failed: {detail}",
                                retry_after=5)

    # -- convenience --------------------------------------------------------------------

    def select(self, query: str, **kw: Any) -> SelectResult:
        result = _results(self.run(query, JSON_RESULTS, **kw))
        if not isinstance(result, SelectResult):
            raise TypeError("not a SELECT query")
        return result

    def ask(self, query: str, **kw: Any) -> bool:
        result = _results(self.run(query, JSON_RESULTS, **kw))
        if not isinstance(result, bool):
            raise TypeError("not an ASK query")
        return result

    def construct(self, query: str, **kw: Any) -> list[Triple]:
        return _triples(self.run(query, f"{NTRIPLES}, text/plain;q=0.9", **kw))


# -- what is current ----------------------------------------------------------------------

POINTER_QUERY = (
    f"SELECT ?id WHERE {{ GRAPH <{CONTROL_GRAPH}> {{\n"
    f"  <{POINTER}> <{CTL}release> ?r . ?r <{CTL}id> ?id ; <{CTL}status> \"complete\" }} }}"
)


def manifest_query(release_id: str) -> str:
    node = release_node(release_id)
    return (f"SELECT ?manifest WHERE {{ GRAPH <{CONTROL_GRAPH}> {{\n"
            f"  <{node}> <{CTL}manifest> ?manifest }} }}")


def current_release_id(client: QueryClient, timeout_s: float | None = None) -> str | None:
    """The id the pointer names, or None when nothing is published (or it is ambiguous)."""
    rows = client.select(POINTER_QUERY, timeout_s=timeout_s).rows
    ids = {row["id"].value for row in rows if "id" in row}
    if len(ids) != 1:
        return None
    (found,) = ids
    return found if RELEASE_ID.match(found) else None


def read_manifest(client: QueryClient, release_id: str,
                  timeout_s: float | None = None) -> dict[str, Any]:
    rows = client.select(manifest_query(release_id), timeout_s=timeout_s).rows
    if len(rows) != 1 or "manifest" not in rows[0]:
        raise ReleaseError(f"release {release_id} has no description on the store")
    try:
        manifest = json.loads(rows[0]["manifest"].value)
    except ValueError as exc:
        raise ReleaseError(f"release {release_id} has a damaged description ({exc})") from exc
    graphs, published = manifest.get("graphs"), manifest.get("published_graphs")
    if (manifest.get("id") != release_id or not isinstance(graphs, dict)
            or not isinstance(published, dict) or set(graphs) != set(published)):
        raise ReleaseError(f"release {release_id} has a damaged description on the store")
    return manifest


def release_info(settings: Settings, manifest: Mapping[str, Any]) -> ReleaseInfo:
    """The ReleaseInfo of a remote release: its files from the local copy of the release
    directory (when there is one); its graphs by their published names, as on the
    embedded backend (:class:`RemoteSnapshot` translates them to the store's)."""
    release_id = str(manifest["id"])
    graphs = {str(k): str(v) for k, v in manifest["published_graphs"].items()}
    local = settings.releases_dir / release_id
    try:
        info = read_release(local, require_store=False)
        if info.id == release_id:
            return replace(info, graphs=graphs)
        log.warning("the release copy at %s is release %s, not %s", local, info.id, release_id)
    except ReleaseError as exc:
        log.warning("no local copy of release %s (%s): its dumps, VoID file and sitemap "
                    "will answer 404", release_id, exc)
    return ReleaseInfo(
        id=release_id,
        path=local,
        base=str(manifest["base"]),
        created=str(manifest["created"]),
        counts=dict(manifest.get("counts", {})),
        files={},
        graphs=graphs,
        dataset=dict(manifest.get("dataset", {})),
    )


class RemoteSnapshot:
    """Read access pinned to one release on the remote store.

    Above this class graphs have their published names (``{base}/graph/data``), as on
    the embedded backend; on the store they are ``{base}/graph/data/{release id}``. The
    snapshot translates both ways: ``GRAPH <iri>`` and ``FROM`` in queries, the
    protocol's dataset (always exactly this release's graphs), and graph names in
    answers. A ``GRAPH`` naming any other graph reads an empty graph that is part of the
    dataset (Virtuoso 7.2 answers a ``GRAPH`` outside the protocol's dataset as if it
    matched once).
    """

    def __init__(self, release: ReleaseInfo, client: QueryClient, remote: Mapping[str, str]):
        self._release = release
        self.client = client
        #: published graph IRI -> the store's graph IRI, and back
        self.to_remote = {release.graphs[name]: iri for name, iri in remote.items()
                          if name in release.graphs}
        self.to_local = {iri: name for name, iri in self.to_remote.items()}
        self.graphs = sorted(self.to_remote.values())
        self.named = [*self.graphs, EMPTY_GRAPH]

    @property
    def release(self) -> ReleaseInfo:
        return self._release

    def graph_for(self, iri: str) -> str:
        """The store's graph for a graph IRI in a query: this release's, or the empty one."""
        if iri in self.to_remote:
            return self.to_remote[iri]
        return iri if iri in self.to_local else EMPTY_GRAPH

    def _local(self, term: Any) -> Any:
        if isinstance(term, NamedNode) and term.value in self.to_local:
            return NamedNode(self.to_local[term.value])
        return term

    def _run(self, query: str, bindings: Bindings | None, accept: str) -> Response:
        try:
            text = rewrite_graphs(bind_values(query, bindings), self.graph_for)
        except ValueError as exc:
            raise QuerySyntaxError(str(exc)) from exc
        return self.client.run(text, accept, self.graphs, self.named)

    def select(self, query: str, bindings: Bindings | None = None) -> SelectResult:
        result = _results(self._run(query, bindings, JSON_RESULTS))
        if not isinstance(result, SelectResult):
            raise TypeError("not a SELECT query")
        rows = [{k: self._local(v) for k, v in row.items()} for row in result.rows]
        return SelectResult(result.variables, rows)

    def construct(self, query: str, bindings: Bindings | None = None) -> list[Triple]:
        triples = _triples(self._run(query, bindings, f"{NTRIPLES}, text/plain;q=0.9"))
        return [Triple(self._local(t.subject), t.predicate, self._local(t.object))
                if t.subject.value in self.to_local or t.object.value in self.to_local else t
                for t in triples]

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        result = _results(self._run(query, bindings, JSON_RESULTS))
        if not isinstance(result, bool):
            raise TypeError("not an ASK query")
        return result

    # -- for the SPARQL endpoint's proxy --------------------------------------------------

    def dataset(self, default_graphs: list[str] | None,
                named_graphs: list[str] | None) -> tuple[list[str], list[str]]:
        """The protocol dataset for a user's query: all of this release's graphs when the
        request names none (the union default graph), else those it names that are graphs
        of this release; never a graph outside it (nothing named: an empty graph)."""
        if default_graphs is None and named_graphs is None:
            return self.graphs, self.named

        def pick(asked: list[str] | None) -> list[str]:
            chosen = [g for g in (self.graph_for(a) for a in asked or []) if g != EMPTY_GRAPH]
            return sorted(set(chosen)) or [EMPTY_GRAPH]

        named = pick(named_graphs)
        return pick(default_graphs), named if EMPTY_GRAPH in named else [*named, EMPTY_GRAPH]

    def forward(self, query: str, accept: str, default_graphs: list[str] | None = None,
                named_graphs: list[str] | None = None, timeout_s: float | None = None,
                max_bytes: int | None = None) -> Response:
        """A user's (already guarded) query on this release's dataset: the raw answer,
        with graph names as published.

        The dataset is the request's graphs, else the query's FROM / FROM NAMED (moved
        out of the text into the protocol), else the union of the release's graphs; only
        graphs of this release get through (see :meth:`dataset`). The store is given the
        time limit too. Errors are the store's error classes (QuerySyntaxError,
        RemoteTimeout, StoreUnavailable)."""
        try:
            text, from_default, from_named = split_dataset(query)
            text = rewrite_graphs(text, self.graph_for)
        except ValueError as exc:
            raise QuerySyntaxError(str(exc)) from exc
        if default_graphs is None and named_graphs is None and (from_default or from_named):
            default_graphs, named_graphs = from_default, from_named
        defaults, named = self.dataset(default_graphs, named_graphs)
        response = self.client.run(text, accept, defaults, named, timeout_s=timeout_s,
                                   max_bytes=max_bytes)
        body = response.body
        for remote, local in self.to_local.items():
            body = body.replace(remote.encode(), local.encode())
        return replace(response, body=body)


class RemoteStore:
    """Follows the pointer on the remote store; hands out snapshots of the current release."""

    name = "remote"
    #: How often (seconds) to look whether the pointer moved: one tiny query.
    recheck_s = 2.0

    def __init__(self, settings: Settings):
        self.settings = settings
        self.client = QueryClient(settings.remote_query_url, settings.remote_timeout_s)
        self._lock = threading.Lock()
        self._snapshot: RemoteSnapshot | None = None
        self._checked = 0.0
        try:
            self._refresh()  # nothing published: fail at start-up, with a clear message
        except StoreUnavailable as exc:
            # Store down: start anyway (app servers are stateless); requests get 503 until
            # it answers, then the first one picks up the current release.
            log.warning("%s; serving 503 until it answers", exc)

    def _refresh(self) -> RemoteSnapshot:
        timeout = min(self.settings.remote_timeout_s, 5.0)
        release_id = current_release_id(self.client, timeout_s=timeout)
        self._checked = time.monotonic()
        snap = self._snapshot
        if snap is not None and (release_id is None or release_id == snap.release.id):
            if snap.release.files or not (snap.release.path / "manifest.json").is_file():
                return snap  # unchanged, or the pointer is being moved right now
            release_id = snap.release.id  # its files have arrived since: pick them up
        if release_id is None:
            raise ReleaseError(
                f"nothing is published on the SPARQL store at {_where(self.client.url)}: "
                "run `pledge-lod publish --to URL` first"
            )
        manifest = read_manifest(self.client, release_id, timeout_s=timeout)
        self._snapshot = RemoteSnapshot(release_info(self.settings, manifest), self.client,
                                        manifest["graphs"])
        log.info("serving release %s from %s", release_id, _where(self.client.url))
        return self._snapshot

    def snapshot(self) -> RemoteSnapshot:
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < self.recheck_s:
            return snap
        if not self._lock.acquire(blocking=snap is None):
            assert snap is not None
            return snap  # another thread is looking; serve what we have meanwhile
        try:
            if self._snapshot is not None and time.monotonic() - self._checked < self.recheck_s:
                return self._snapshot
            try:
                return self._refresh()
            except StoreUnavailable:
                self._checked = time.monotonic()
                if self._snapshot is None:
                    raise
                return self._snapshot  # its queries will say whether the store is back
            except ReleaseError as exc:
                self._checked = time.monotonic()
                if self._snapshot is None:
                    raise StoreUnavailable(str(exc), retry_after=30) from exc
                return self._snapshot
        finally:
            self._lock.release()

    def close(self) -> None:
        self._snapshot = None
