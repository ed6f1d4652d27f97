"""The SPARQL mix: five fixed queries, timed four ways on the same data.

1. over HTTP on the release's endpoint (``/sparql``), sequentially, one request at a time;
2. in-process with pyoxigraph on the same on-disk store (read-only), including the
   serialisation of the answer to the same format - the engine's own cost - in a
   process that does nothing else (``engine_worker.py``), as the endpoint's query
   process does nothing else;
3. the floor: the same gunicorn setup answering precomputed bytes as large as the
   real answer (and, for reference, a trivial 2-byte answer);
4. rdflib-endpoint serving the release's N-Triples dump: the usual Python alternative.

Each timed request opens its own connection (same client code for all servers), so a
slow query's pause cannot trip a keep-alive timeout and every server pays the same
connection cost. Rounds interleave 1-3 so that noise from other load on the machine
falls on all three alike. Answers are counted (rows, or triples for DESCRIBE) so the
table shows that the servers returned the same thing.
"""

from __future__ import annotations

import http.client
import io
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph
from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat

from .procs import BenchError

JSON_RESULTS = "application/sparql-results+json"
RDF_XML = "application/rdf+xml"  # the one graph format rdflib-endpoint gives DESCRIBE
WARM_UP_BELOW_S = 2.0


@dataclass(frozen=True)
class Query:
    key: str
    title: str
    text: str
    accept: str


def mix(base: str, pledges: int, place_slug: str, pledge_slug: str) -> list[Query]:
    """The fixed mix, for a release minted under ``base`` with ``pledges`` pledges."""
    b = base.rstrip("/")
    prologue = (
        f"PREFIX pl: <{b}/def/pledge#>\n"
        "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
        "PREFIX schema: <https://schema.org/>\n"
    )
    offset = max(0, min(5000, pledges - 50))
    return [
        Query("per-goal", "count per goal", prologue + """
SELECT ?goal (COUNT(DISTINCT ?pledge) AS ?pledges) WHERE {
  ?pledge a pl:Pledge ; pl:sdgGoal ?goal .
} GROUP BY ?goal ORDER BY DESC(?pledges) ?goal""", JSON_RESULTS),
        Query("place", "pledges of a place", prologue + f"""
SELECT ?pledge ?title WHERE {{
  ?pledge a pl:Pledge ; dcterms:spatial <{b}/id/place/{place_slug}> ; dcterms:title ?title .
}} ORDER BY ?title ?pledge""", JSON_RESULTS),
        Query("text", "text filter on titles", prologue + """
SELECT ?pledge ?title WHERE {
  ?pledge a pl:Pledge ; dcterms:title ?title .
  FILTER(CONTAINS(LCASE(STR(?title)), "refugees housing"))
} ORDER BY ?pledge""", JSON_RESULTS),
        Query("describe", "DESCRIBE one pledge", f"DESCRIBE <{b}/id/pledge/{pledge_slug}>",
              RDF_XML),
        Query("page", f"OPTIONAL-heavy ordered page (OFFSET {offset})", prologue + f"""
SELECT ?pledge ?title ?issued ?start ?end ?programme ?submitter ?kind WHERE {{
  ?pledge a pl:Pledge ; dcterms:title ?title ; dcterms:issued ?issued .
  OPTIONAL {{ ?pledge schema:startDate ?start }}
  OPTIONAL {{ ?pledge schema:endDate ?end }}
  OPTIONAL {{ ?pledge pl:programme ?programme }}
  OPTIONAL {{ ?pledge pl:submittedBy ?submitter }}
  OPTIONAL {{ ?pledge dcterms:type ?kind }}
}} ORDER BY DESC(?issued) ?pledge LIMIT 50 OFFSET {offset}""", JSON_RESULTS),
        # Not part of the mix: no work at all, so its time is each server's fixed cost.
        Query("ask", "trivial ASK {} (fixed cost, not in the mix)", "ASK {}", JSON_RESULTS),
    ]  # fmt: skip


# -- clients ------------------------------------------------------------------------------


@dataclass
class Answer:
    seconds: float
    status: int
    body: bytes
    content_type: str
    #: Virtuoso's X-SQL-State header ("S1TAT": an answer cut short by its time limit)
    sql_state: str = ""


def http_get(port: int, path: str, accept: str, timeout_s: float) -> Answer:
    """One GET on a fresh connection, timed from sending to the last body byte."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.connect()
        started = time.perf_counter()
        conn.request("GET", path, headers={"Accept": accept})
        resp = conn.getresponse()
        body = resp.read()
        seconds = time.perf_counter() - started
        return Answer(seconds, resp.status, body, resp.getheader("Content-Type", ""),
                      resp.getheader("X-SQL-State", "").strip())
    finally:
        conn.close()


def query_path(endpoint: str, text: str) -> str:
    return f"{endpoint}?{urllib.parse.urlencode({'query': text})}"


def engine_run(store: pyoxigraph.Store, query: Query) -> Answer:
    """The query answered and serialised in-process, as the endpoint's worker does."""
    started = time.perf_counter()
    result = store.query(query.text, use_default_graph_as_union=True)
    out = io.BytesIO()
    if isinstance(result, QuerySolutions | QueryBoolean):
        result.serialize(out, QueryResultsFormat.JSON)
    else:
        result.serialize(out, RdfFormat.RDF_XML)
    return Answer(time.perf_counter() - started, 200, out.getvalue(), query.accept)


def count_answer(answer: Answer) -> int | None:
    """Rows of a JSON result, triples of an RDF/XML graph; None if unreadable."""
    try:
        if "json" in answer.content_type:
            data = json.loads(answer.body)
            if "boolean" in data:
                return int(bool(data["boolean"]))
            return len(data.get("results", {}).get("bindings", []))
        return sum(1 for _ in pyoxigraph.parse(answer.body, format=RdfFormat.RDF_XML))
    except (ValueError, SyntaxError, OSError):
        return None


class EngineProcess:
    """``bench.engine_worker`` running on one store; ``run`` returns its own timing."""

    def __init__(self, store_path: Path, timeout_s: float):
        self.timeout_s = timeout_s
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.engine_worker", str(store_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def run(self, query: Query, count: bool = False) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        job = {"query": query.text, "accept": query.accept, "count": count}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        watchdog = threading.Timer(self.timeout_s, self.proc.kill)  # bound every run
        watchdog.start()
        try:
            line = self.proc.stdout.readline()
        finally:
            watchdog.cancel()
        if not line:
            raise BenchError(f"the engine process ended (or passed {self.timeout_s:.0f} s) "
                             f"on query {query.key}")  # fmt: skip
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


# -- the measurements ---------------------------------------------------------------------


@dataclass
class QueryTiming:
    key: str
    title: str
    http_ms: float = 0.0
    engine_ms: float = 0.0
    floor_ms: float = 0.0  # the floor answering as many bytes as the real answer
    floor_trivial_ms: float = 0.0
    response_bytes: int = 0
    runs: int = 0
    rows: dict[str, int | None] = field(default_factory=dict)
    rdflib_ms: float | None = None
    rdflib_runs: int = 0
    rdflib_note: str = ""

    @property
    def ratio(self) -> float:
        return self.http_ms / (self.engine_ms + self.floor_ms)

    @property
    def speedup(self) -> float | None:
        return self.rdflib_ms / self.http_ms if self.rdflib_ms else None

    def to_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "speedup": self.speedup}


def _checked(answer: Answer, what: str) -> Answer:
    if answer.status != 200:
        raise BenchError(f"{what} answered {answer.status}: {answer.body[:300]!r}")
    return answer


def measure_mix(
    queries: list[Query],
    app_port: int,
    floor_port: int,
    store_path: Path,
    runs: int,
    budget_s: float,
    timeout_s: float,
) -> list[QueryTiming]:
    """Median latencies of each query over HTTP, in the engine and on the floor.

    Each query gets one untimed warm-up (it starts the endpoint's query process and
    fills the OS page cache for both), then up to ``runs`` interleaved rounds, at least
    three, stopping early once ``budget_s`` is spent. A query whose warm-up alone takes
    ``budget_s`` or more (minutes, at 1M pledges) is timed by that first run on each
    side instead, as ``measure_rdflib`` does: repeating it would multiply a size's run
    time for a difference lost in its own noise."""
    engine = EngineProcess(store_path, timeout_s)
    try:
        return [_measure_query(q, app_port, floor_port, engine, runs, budget_s, timeout_s)
                for q in queries]  # fmt: skip
    finally:
        engine.close()


def _measure_query(
    q: Query,
    app_port: int,
    floor_port: int,
    engine: EngineProcess,
    runs: int,
    budget_s: float,
    timeout_s: float,
) -> QueryTiming:
    path = query_path("/sparql", q.text)
    warm = _checked(http_get(app_port, path, q.accept, timeout_s), f"/sparql ({q.key})")
    first = engine.run(q, count=True)
    size = len(warm.body)
    http_t, engine_t, floor_t, trivial_t = [], [], [], []
    slow = warm.seconds >= budget_s
    if slow:
        http_t.append(warm.seconds)
        engine_t.append(first["seconds"])
    started = time.monotonic()
    while len(floor_t) < runs and (len(floor_t) < 3 or time.monotonic() - started < budget_s):
        if not slow:
            http_t.append(_checked(http_get(app_port, path, q.accept, timeout_s), q.key).seconds)
            engine_t.append(engine.run(q)["seconds"])
        floor_t.append(http_get(floor_port, f"/bytes/{size}", q.accept, timeout_s).seconds)
        trivial_t.append(http_get(floor_port, "/bytes/2", q.accept, timeout_s).seconds)
    return QueryTiming(
        q.key, q.title, _ms(http_t), _ms(engine_t), _ms(floor_t), _ms(trivial_t), size,
        len(http_t), {"http": count_answer(warm), "engine": first["rows"]},
    )  # fmt: skip


def measure_rdflib(
    timings: list[QueryTiming],
    queries: list[Query],
    port: int,
    runs: int,
    budget_s: float,
    timeout_s: float,
) -> None:
    """Median latency of each query on rdflib-endpoint (at least one run, at most
    ``runs``, stopping once ``budget_s`` is spent: its queries take seconds at 100k).
    A first answer faster than ``WARM_UP_BELOW_S`` is a warm-up and not counted (one-time
    costs would dominate a cheap query); a slower one counts, as a warm-up of a query
    taking minutes would double the run for a difference lost in its noise."""
    for timing, q in zip(timings, queries, strict=True):
        path = query_path("/", q.text)
        seconds: list[float] = []
        warmed = False
        started = time.monotonic()
        while len(seconds) < runs and (not seconds or time.monotonic() - started < budget_s):
            try:
                answer = http_get(port, path, q.accept, timeout_s)
            except TimeoutError:
                timing.rdflib_note = f"timed out after {timeout_s:.0f} s"
                break
            if answer.status != 200:
                timing.rdflib_note = f"answered {answer.status}"
                break
            if not warmed:
                timing.rows["rdflib"] = count_answer(answer)
                warmed = True
                if answer.seconds < WARM_UP_BELOW_S:
                    continue
            seconds.append(answer.seconds)
        if seconds:
            timing.rdflib_ms = _ms(seconds)
            timing.rdflib_runs = len(seconds)


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def first_existing(store_path: Path, candidates: list[str], check: Callable[[str], str]) -> str:
    """The first candidate slug for which ``check(slug)`` is an ASK query that holds."""
    store = pyoxigraph.Store.read_only(str(store_path))
    for slug in candidates:
        if bool(store.query(check(slug), use_default_graph_as_union=True)):
            return slug
    raise BenchError(f"none of {candidates[:3]}... exists in the store")
