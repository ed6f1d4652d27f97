"""``pledge-lod query``: run a query against the release or any SPARQL endpoint.

Against the release, the query takes the endpoint's own path (guard, the store's query
runner, time limit), so what works here works on the server and the other way round. Against
another endpoint (``--endpoint URL``) it goes through SPARQLWrapper. Output is an
aligned table, or the bytes of the chosen ``--format`` exactly as served.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO

from ..config import Settings
from ..http.formats import GRAPH_RESULT_FORMATS, RESULT_FORMATS
from .tables import Table, table_from_json, table_from_ntriples

#: --format values: (kind, media type), the endpoint's own formats; "table" is chosen by
#: the query's kind.
FORMATS: dict[str, tuple[str, str]] = {
    f.key: (f.kind, f.media_type) for f in (*RESULT_FORMATS, *GRAPH_RESULT_FORMATS)
}
CHOICES = ["table", *FORMATS]
MAX_CELL = 60


class CommandError(Exception):
    """A problem to report in one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def read_query(arg: str, stdin: IO[str]) -> str:
    """The query text from the argument: text, ``@file``, or ``-`` for stdin."""
    if arg == "-":
        return stdin.read()
    if arg.startswith("@"):
        path = Path(arg[1:])
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot read the query ({exc})", 2) from None
    return arg


def format_table(table: Table) -> str:
    """An aligned text table (cells cut at MAX_CELL characters)."""
    if table.boolean is not None:
        return "true" if table.boolean else "false"

    def text(cell: object) -> str:
        value = "" if cell is None else getattr(cell, "text", str(cell))
        value = " ".join(value.split())
        return value if len(value) <= MAX_CELL else value[: MAX_CELL - 1] + "…"

    rows = [[text(c) for c in row] for row in table.rows]
    widths = [len(c) for c in table.columns]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    shown = len(rows)
    noun = "row" if table.total == 1 else "rows"
    lines.append(f"({table.total} {noun}" + (f", first {shown} shown)" if shown < table.total
                                            else ")"))
    return "\n".join(lines)


def run_local(settings: Settings, text: str, fmt: str) -> tuple[str, bytes]:
    """Run on the current release; returns (answer kind, bytes in the wanted format)."""
    from ..http.formats import BY_KEY
    from ..store import (
        NotAcceptable,
        QueryLimits,
        QuerySyntaxError,
        ReleaseError,
        StoreError,
        UserQuery,
        open_store,
    )
    from . import guard
    from .syntax import explain

    try:
        inspection = guard.inspect(text, settings.max_query_bytes)
    except guard.GuardError as exc:
        raise CommandError(str(exc)) from None
    kind = FORMATS[fmt][0] if fmt in FORMATS else None
    if kind and inspection.form and (kind == "graph") != inspection.is_graph:
        wanted = "ttl, nt, rdf or jsonld" if inspection.is_graph else "json, xml, csv or tsv"
        raise CommandError(f"--format {fmt} does not fit a {inspection.form} query: use "
                           f"{wanted} (or table)", 2)
    try:
        store = open_store(settings)
        snapshot = store.snapshot()
    except (ReleaseError, StoreError) as exc:
        raise CommandError(str(exc)) from None
    job = UserQuery(
        query=text,
        base_iri=f"{snapshot.release.base.rstrip('/')}/sparql",
        default_graphs=None,
        named_graphs=None,
        union=not inspection.has_dataset,
        results_format=BY_KEY["json" if fmt == "table" else fmt] if kind != "graph" else None,
        graph_format=BY_KEY["nt" if fmt == "table" else fmt] if kind != "results" else None,
    )
    runner = store.query_runner(QueryLimits.from_settings(
        settings.with_overrides(max_concurrent_queries=1)))
    try:
        answer = runner.run(job, snapshot)
    except StoreError as exc:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, QuerySyntaxError):
            message = f"syntax error: {explain(text, message)}"
        if isinstance(exc, NotAcceptable):
            message = f"--format {fmt} does not fit this query's answer"
        raise CommandError(message) from None
    finally:
        runner.close()
        store.close()
    return answer.kind, answer.body


def run_remote(endpoint: str, text: str, fmt: str, timeout: float) -> tuple[str, bytes]:
    """Run on another endpoint through SPARQLWrapper."""
    import urllib.error

    from SPARQLWrapper import JSON, POST, XML, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    sparql = SPARQLWrapper(endpoint)
    sparql.setMethod(POST)
    sparql.setTimeout(max(1, round(timeout)))
    sparql.setQuery(text)
    is_graph = sparql.queryType in {"CONSTRUCT", "DESCRIBE"}
    if fmt == "table":
        # Ask explicitly: JSON results for SELECT/ASK, RDF/XML for graphs.
        sparql.setReturnFormat(XML if is_graph else JSON)
        kind = "graph" if is_graph else "results"
    else:
        kind, media = FORMATS[fmt]
        sparql.setOnlyConneg(True)
        sparql.addCustomHttpHeader("Accept", media)
    try:
        result = sparql.query()
        body = result.response.read()
    except SPARQLWrapperException as exc:
        raise CommandError(_refusal(endpoint, exc)) from None
    except urllib.error.HTTPError as exc:
        raise CommandError(_said(endpoint, exc.code, exc.reason, exc.read(2000))) from None
    except (urllib.error.URLError, OSError) as exc:
        raise CommandError(f"{endpoint}: {exc}") from None
    if fmt == "table" and is_graph:
        from rdflib import Graph

        graph = Graph().parse(data=body, format="xml")
        return kind, graph.serialize(format="nt", encoding="utf-8")
    return kind, body


def _refusal(endpoint: str, exc: Exception) -> str:
    """What the endpoint said, from a SPARQLWrapper exception: it keeps the answer's body
    only inside its message, as a bytes repr, and the status in the HTTPError it
    replaced."""
    import ast
    import urllib.error

    cause = exc.__context__
    code = cause.code if isinstance(cause, urllib.error.HTTPError) else None
    reason = cause.reason if isinstance(cause, urllib.error.HTTPError) else ""
    _, found, rest = str(exc).partition("\n\nResponse:\n")
    try:
        body = ast.literal_eval(rest.strip()) if found else b""
    except (ValueError, SyntaxError):
        body = b""
    if not isinstance(body, bytes) or code is None:
        return f"{endpoint} refused the query: {type(exc).__name__}"
    return _said(endpoint, code, reason, body)


def _said(endpoint: str, code: int, reason: str, body: bytes) -> str:
    """``{endpoint} answered 400 Bad Request: {its message}``, the message as it came,
    without the status line many servers repeat at its start."""
    import http

    try:
        status = f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        status = f"{code} {reason}".strip()
    text = body[:2000].decode("utf-8", "replace").strip()
    for line in (status, f"{code} {reason}"):
        if text.lower().startswith(line.lower()):
            text = text[len(line) :].lstrip(":").strip()
    return f"{endpoint} answered {status}: {text}" if text else f"{endpoint} answered {status}"


def main(settings: Settings, query_arg: str, endpoint: str | None, fmt: str,
         stdout: IO[bytes] | None = None, stdin: IO[str] | None = None) -> int:
    """The command: exit 0 on success, 1 when the query fails, 2 on a usage error."""
    out = stdout if stdout is not None else sys.stdout.buffer
    try:
        text = read_query(query_arg, stdin if stdin is not None else sys.stdin)
        if not text.strip():
            raise CommandError("the query is empty", 2)
        if endpoint:
            kind, body = run_remote(endpoint, text, fmt, settings.query_timeout_s)
        else:
            kind, body = run_local(settings, text, fmt)
        if fmt == "table":
            table = table_from_json(body) if kind == "results" else table_from_ntriples(body)
            out.write((format_table(table) + "\n").encode("utf-8"))
        else:
            out.write(body if body.endswith(b"\n") else body + b"\n")
        out.flush()
        return 0
    except CommandError as exc:
        print(f"pledge-lod query: {exc}", file=sys.stderr)
        return exc.code
    except (ValueError, json.JSONDecodeError) as exc:
        print(f"pledge-lod query: the answer could not be read: {exc}", file=sys.stderr)
        return 1
