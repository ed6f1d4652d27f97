"""The load generator of the operations tests, run in a second process (standard library
only, started by :func:`support.gunicorn.start_load`):

    python tests/support/load.py --url http://127.0.0.1:PORT --clients 24 \\
        --duration 10 --out result.json [--watch PATH ...] [--stop-file FILE]

It reads the release's sitemap from the server, then ``--clients`` threads, each with a
kept-alive connection, send a mix of requests until ``--duration`` seconds have passed (or
``--stop-file`` exists): documents in every format (by Accept and by extension), ``/id/``
redirects, conditional requests, listings and their pages, Atom feeds, the self-description
and SPARQL queries. SPARQL requests are at most ``--sparql-concurrency`` at once (the
server's per-client limit counts every client of one address together: the generator
stays within it rather than being refused). Every response is checked; the result (counts,
failures with samples, p50/p90/p99 latency, and for ``--watch`` paths the release id of
each response and which title it carried) is written as JSON.

A failure is a connection error, a timeout, a 5xx or a 4xx that the path should not give.
A request that fails on a kept-alive connection before any answer is sent again once on a
new connection, as browsers and HTTP libraries do (counted in ``retried``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPTS = [
    BROWSER,
    "text/turtle",
    "application/ld+json",
    "application/n-triples",
    "application/rdf+xml",
    "*/*",
]
EXTS = ["html", "ttl", "jsonld", "nt", "rdf"]
FACET_KINDS = {"place", "agent", "programme", "theme", "objective", "kind", "listing"}
SELF = [
    "/",
    "/.well-known/void",
    "/.well-known/void.ttl",
    "/def/pledge",
    "/def/pledge.ttl",
    "/def/shapes.jsonld",
    "/context.jsonld",
    "/robots.txt",
    "/sitemap.xml",
    "/openapi.json",
    "/dumps/pledges.nt.gz",
]
#: kind of request -> weight in the mix
MIX = {
    "document": 30,
    "document_ext": 15,
    "redirect": 4,
    "conditional": 6,
    "listing": 15,
    "feed": 8,
    "self": 8,
    "sparql": 6,
    "watch": 8,
}
SPARQL_ACCEPT = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv"]
RETRYABLE = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)
ETAG_RE = re.compile(r'^(?:W/)?"([0-9a-f]{16})-')


# -- the generator ------------------------------------------------------------------------------


@dataclass
class Plan:
    """What to request: found from the sitemap and checked once before the load."""

    docs: list[str]
    listings: list[str]
    feeds: list[str]
    selfdesc: list[str]
    sparql: list[str]
    watch: list[str]


@dataclass
class Record:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    by_kind: Counter = field(default_factory=Counter)
    kind_latency: dict[str, list[float]] = field(default_factory=dict)
    status: Counter = field(default_factory=Counter)
    failures: list[dict] = field(default_factory=list)
    sparql_refused: int = 0
    retried: int = 0
    watch: list[list] = field(default_factory=list)


def _get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]):
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    return resp, body


def discover(host: str, port: int, watch: list[str]) -> Plan:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    _resp, body = _get(conn, "/sitemap.xml", {})
    locs = re.findall(r"<loc>([^<]+)</loc>", body.decode("utf-8"))
    paths: list[str] = []
    for loc in locs:
        path = urlsplit(loc).path
        if path.startswith("/sitemaps/"):
            _r, part = _get(conn, path, {})
            paths += [urlsplit(x).path for x in re.findall(r"<loc>([^<]+)</loc>", part.decode())]
        else:
            paths.append(path)
    docs = [p for p in paths if p.startswith("/doc/")]
    candidates = ["/pledges", "/pledges?page=1", "/goal/5", "/goal/10", "/goal/16", "/target/10.7"]
    for doc in docs:
        kind, slug = doc.split("/")[2:4]
        if kind in FACET_KINDS:
            candidates.append(f"/{kind}/{slug}")
    listings = []
    for path in candidates:
        resp, _ = _get(conn, path, {"Accept": "text/turtle"})
        if resp.status == 200:
            listings.append(path)
    feeds = [p.split("?")[0] + ".atom" for p in listings[:30]]
    base = locs[0].rstrip("/") if locs else f"http://{host}:{port}"
    pledge = f"<{base}/def/pledge#Pledge>"
    sparql = [
        "ASK { ?s ?p ?o }",
        f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a {pledge} }}",
        "SELECT ?s ?t WHERE { ?s <http://purl.org/dc/terms/title> ?t } LIMIT 10",
        f"SELECT ?p WHERE {{ ?p a {pledge} }} ORDER BY ?p LIMIT 5",
    ]
    conn.close()
    return Plan(docs, listings, feeds, SELF, sparql, watch)


class Client(threading.Thread):
    def __init__(self, n: int, args: argparse.Namespace, plan: Plan, rec: Record,
                 sparql_slots: threading.BoundedSemaphore, stop: threading.Event):
        super().__init__(daemon=True, name=f"client-{n}")
        self.args, self.plan, self.rec, self.slots, self.stop = args, plan, rec, sparql_slots, stop
        self.rand = random.Random(args.seed * 1000 + n)
        self.conn: http.client.HTTPConnection | None = None
        self.used = 0
        self.etags: dict[str, str] = {}
        self.kinds = [k for k in MIX if k != "watch" or plan.watch]
        self.weights = [MIX[k] for k in self.kinds]

    def connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.args.host, self.args.port,
                                                   timeout=self.args.timeout)
            self.used = 0
        return self.conn

    def drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def choose(self) -> tuple[str, str, dict[str, str], set[int]]:
        """(kind, path, headers, acceptable statuses)"""
        r, plan = self.rand, self.plan
        kind = r.choices(self.kinds, self.weights)[0]
        ok = {200, 304}
        if kind == "sparql":
            if not self.slots.acquire(blocking=False):
                kind = "document"
            else:
                query = r.choice(plan.sparql)
                path = "/sparql?query=" + quote(query, safe="")
                return kind, path, {"Accept": r.choice(SPARQL_ACCEPT)}, {200}
        if kind == "document":
            return kind, r.choice(plan.docs), {"Accept": r.choice(ACCEPTS)}, ok
        if kind == "document_ext":
            return kind, f"{r.choice(plan.docs)}.{r.choice(EXTS)}", {}, ok
        if kind == "redirect":
            return kind, r.choice(plan.docs).replace("/doc/", "/id/", 1), {}, {303}
        if kind == "conditional":
            if self.etags:
                path = r.choice(sorted(self.etags))
                return kind, path, {"If-None-Match": self.etags[path]}, ok
            return kind, r.choice(plan.docs) + ".ttl", {}, ok
        if kind == "listing":
            path = r.choice(plan.listings)
            if r.random() < 0.3:
                path = path.split("?")[0] + "?page=1"
            return kind, path, {"Accept": r.choice(ACCEPTS)}, ok
        if kind == "feed":
            return kind, r.choice(plan.feeds), {}, ok
        if kind == "watch":
            return kind, r.choice(plan.watch), {"Accept": r.choice(ACCEPTS)}, {200}
        return "self", r.choice(plan.selfdesc), {"Accept": r.choice(ACCEPTS)}, ok

    def send(self, path: str, headers: dict[str, str]):
        """One request; once more on a new connection if a kept-alive one was dropped."""
        for attempt in (1, 2):
            conn = self.connection()
            reused = self.used > 0
            try:
                resp, body = _get(conn, path, headers)
                self.used += 1
                if resp.will_close:
                    self.drop()
                return resp, body, attempt
            except RETRYABLE:
                self.drop()
                if not reused or attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def run(self) -> None:
        deadline = time.monotonic() + self.args.duration
        while time.monotonic() < deadline and not self.stop.is_set():
            if len(self.rec.latencies) >= self.args.max_requests:  # bounded in count too
                break
            kind, path, headers, ok = self.choose()
            started = time.perf_counter()
            when = time.time()
            failure = None
            resp = body = None
            attempts = 1
            try:
                resp, body, attempts = self.send(path, headers)
            except Exception as exc:  # connection refused, reset, timeout
                self.drop()
                failure = f"{type(exc).__name__}: {exc}"
            finally:
                if kind == "sparql":
                    self.slots.release()
            elapsed = (time.perf_counter() - started) * 1000
            refused = False
            if resp is not None:
                if resp.status in ok or (kind == "conditional" and resp.status == 200):
                    tag = resp.getheader("ETag")
                    if tag and resp.status == 200 and kind != "sparql":
                        self.etags[path] = tag
                elif kind == "sparql" and resp.status in (429, 503):
                    refused = True
                else:
                    failure = f"status {resp.status}: {body[:200]!r}"
            with self.rec.lock:
                self.rec.latencies.append(elapsed)
                self.rec.by_kind[kind] += 1
                self.rec.kind_latency.setdefault(kind, []).append(elapsed)
                self.rec.retried += attempts - 1
                if resp is not None:
                    self.rec.status[resp.status] += 1
                if refused:
                    self.rec.sparql_refused += 1
                if failure:
                    self.rec.failures.append({"t": when, "t_end": time.time(), "path": path,
                                              "kind": kind, "error": failure})
                if kind == "watch" and resp is not None and resp.status == 200:
                    self.rec.watch.append([when, path, *self.watch_facts(resp, body)])
        self.drop()

    def watch_facts(self, resp: http.client.HTTPResponse, body: bytes) -> list:
        match = ETAG_RE.match(resp.getheader("ETag") or "")
        text = body.decode("utf-8", "replace")
        titles = [t for t in self.args.title if t in text]
        return [match.group(1) if match else None, titles]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--watch", action="append", default=[])
    parser.add_argument("--title", action="append", default=[],
                        help="texts to look for in watched responses")
    parser.add_argument("--stop-file", type=Path)
    parser.add_argument("--sparql-concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-requests", type=int, default=2_000_000)
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    args.host, args.port = parts.hostname, parts.port
    args.duration = min(args.duration, 600.0)  # bounded, whatever is asked

    plan = discover(args.host, args.port, args.watch)
    rec = Record()
    stop = threading.Event()
    slots = threading.BoundedSemaphore(max(1, args.sparql_concurrency))
    clients = [Client(n, args, plan, rec, slots, stop) for n in range(args.clients)]
    started = time.monotonic()
    for c in clients:
        c.start()
    while any(c.is_alive() for c in clients):
        if args.stop_file is not None and args.stop_file.exists():
            stop.set()
        if time.monotonic() - started > args.duration + args.timeout + 30:
            stop.set()
            break
        time.sleep(0.1)
    for c in clients:
        c.join(timeout=args.timeout + 5)
    took = time.monotonic() - started
    lat = rec.latencies
    result = {
        "clients": args.clients,
        "duration_s": took,
        "requests": len(lat),
        "rps": len(lat) / took if took else 0.0,
        "by_kind": dict(rec.by_kind),
        "status": {str(k): v for k, v in sorted(rec.status.items())},
        "failures": len(rec.failures),
        "failure_samples": rec.failures[:50],
        "sparql_refused": rec.sparql_refused,
        "retried": rec.retried,
        "latency_ms": {"p50": percentile(lat, 50), "p90": percentile(lat, 90),
                       "p99": percentile(lat, 99), "max": max(lat, default=0.0)},
        "kind_p99_ms": {k: percentile(v, 99) for k, v in sorted(rec.kind_latency.items())},
        "plan": {"docs": len(plan.docs), "listings": len(plan.listings),
                 "feeds": len(plan.feeds)},
        "watch": rec.watch,
    }
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
