"""Reading a request the way the SPARQL 1.1 Protocol says, strictly and without Flask.

The three ways to send a query: ``GET ?query=``, ``POST`` of an
``application/x-www-form-urlencoded`` form, ``POST`` of the query itself as
``application/sparql-query``; ``default-graph-uri`` and ``named-graph-uri`` (repeatable)
name the dataset. Parameters are decoded here from the raw bytes, as strict UTF-8 (the
protocol's encoding), because Werkzeug would silently replace bad bytes.

Statuses, chosen to satisfy the W3C protocol tests' negative cases (which accept any 4xx):

* 400 - malformed: bad percent-encoding or UTF-8, two ``query`` parameters, no query in
  a POST, a graph parameter that is not an absolute IRI, ``update`` by GET;
* 403 - a well-formed update (form ``update=`` or ``application/sparql-update``): this
  endpoint is read-only, it runs no update and changes nothing;
* 405 - a method other than GET, HEAD, POST (and OPTIONS for CORS);
* 413 - a body larger than ``max_request_bytes``;
* 415 - a POST whose media type is missing or not one of the two query types, or whose
  charset is not UTF-8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from pyoxigraph import NamedNode
from werkzeug.http import parse_options_header

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
ALLOWED_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
#: More parameters than this is not a SPARQL request.
MAX_FIELDS = 200
GRAPH_PARAMS = ("default-graph-uri", "named-graph-uri")
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


class ProtocolError(Exception):
    """The request breaks the protocol; ``status`` and a message that says what to fix."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class ProtocolRequest:
    """A query operation, or (``query`` None) a request for the service description."""

    query: str | None
    default_graphs: list[str] | None = None
    named_graphs: list[str] | None = None
    #: Values of the ``format`` parameter (for browsers; clients use Accept).
    formats: list[str] = field(default_factory=list)

    @property
    def has_dataset(self) -> bool:
        return self.default_graphs is not None or self.named_graphs is not None


def parse_params(raw: bytes, where: str) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` decoding, strict: bad UTF-8 is an error."""
    pairs: list[tuple[str, str]] = []
    if not raw:
        return pairs
    fields = raw.split(b"&")
    if len(fields) > MAX_FIELDS:
        raise ProtocolError(400, f"too many parameters in the {where} (at most {MAX_FIELDS})")
    for item in fields:
        if not item:
            continue
        name, _, value = item.partition(b"=")
        try:
            pairs.append((_decode(name), _decode(value)))
        except UnicodeDecodeError:
            raise ProtocolError(
                400,
                f"the {where} is not valid UTF-8 after percent-decoding; "
                "SPARQL requests are encoded in UTF-8",
            ) from None
    return pairs


def _decode(part: bytes) -> str:
    return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type or not content_type.strip():
        return "", {}
    mimetype, options = parse_options_header(content_type)
    return mimetype.lower(), {k.lower(): v for k, v in options.items()}


def _check_charset(mimetype: str, options: dict[str, str]) -> None:
    charset = options.get("charset")
    if charset is not None and charset.strip().lower().replace("_", "-") not in {"utf-8", "utf8"}:
        raise ProtocolError(
            415,
            f"{mimetype} with charset={charset} is not accepted: send the request in UTF-8",
        )


def _values(pairs: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in pairs if k == name]


def _graphs(pairs: list[tuple[str, str]], name: str) -> list[str] | None:
    values = _values(pairs, name)
    if not values:
        return None
    for iri in values:
        iri_ok = bool(_ABSOLUTE_IRI.match(iri))
        if iri_ok:
            try:
                NamedNode(iri)
            except ValueError:
                iri_ok = False
        if not iri_ok:
            raise ProtocolError(400, f"{name}: {iri[:200]!r} is not an absolute IRI")
    return values


def _refuse_update() -> ProtocolError:
    return ProtocolError(
        403,
        "this endpoint is read-only: it runs no SPARQL Update operations and changes "
        "nothing; the data changes only when a new release is published",
    )


def parse_request(
    method: str,
    content_type: str | None,
    query_string: bytes,
    body: bytes,
    max_request_bytes: int,
) -> ProtocolRequest:
    """The operation a request asks for, or :class:`ProtocolError`."""
    method = method.upper()
    if method not in ALLOWED_METHODS:
        raise ProtocolError(
            405,
            f"{method} is not a SPARQL Protocol method: query with GET or POST",
            {"Allow": ", ".join(ALLOWED_METHODS)},
        )
    url_params = parse_params(query_string, "URL's query string")
    if method in {"GET", "HEAD", "OPTIONS"}:
        if _values(url_params, "update"):
            raise ProtocolError(
                400, "update operations are never sent by GET (and this endpoint is read-only)"
            )
        return _build(url_params, _values(url_params, "query"), required=False)

    if len(body) > max_request_bytes:
        raise ProtocolError(
            413, f"the request body is {len(body)} bytes; at most {max_request_bytes} are accepted"
        )
    mimetype, options = _media_type(content_type)
    if mimetype == FORM:
        _check_charset(mimetype, options)
        form = parse_params(body, "form body")
        pairs = url_params + form
        updates = _values(pairs, "update")
        queries = _values(pairs, "query")
        if updates:
            if len(updates) > 1 or queries:
                raise ProtocolError(400, "send exactly one operation: one query or one update")
            raise _refuse_update()
        return _build(pairs, queries, required=True)
    if mimetype in {SPARQL_QUERY, SPARQL_UPDATE}:
        _check_charset(mimetype, options)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(400, f"the {mimetype} body is not valid UTF-8") from None
        if mimetype == SPARQL_UPDATE:
            raise _refuse_update()
        if _values(url_params, "query") or _values(url_params, "update"):
            raise ProtocolError(
                400, "the query is in the body; the URL must not carry another query or update"
            )
        return _build(url_params, [text.removeprefix("\ufeff")], required=True)
    accepted = f"{FORM} (with a query= field) or {SPARQL_QUERY} (the query itself)"
    if not mimetype:
        raise ProtocolError(415, f"a POST must say its Content-Type: {accepted}")
    raise ProtocolError(415, f"{mimetype} is not accepted here: POST {accepted}")


def _build(pairs: list[tuple[str, str]], queries: list[str], required: bool) -> ProtocolRequest:
    if len(queries) > 1:
        raise ProtocolError(400, f"{len(queries)} query parameters: send exactly one query")
    if not queries and required:
        raise ProtocolError(400, "no query: send the query in a query= field")
    query = queries[0] if queries else None
    if query is not None and not query.strip():
        raise ProtocolError(400, "the query is empty")
    return ProtocolRequest(
        query=query,
        default_graphs=_graphs(pairs, "default-graph-uri"),
        named_graphs=_graphs(pairs, "named-graph-uri"),
        formats=[v.strip() for v in _values(pairs, "format") if v.strip()],
    )
