"""Limits that hold: time (the work truly stops), concurrency, sizes, memory.

The time-limit tests run against the live server (limit 2 s) and look at its processes
through /proc: the worker that ran the query is gone, the CPU is idle again, and other
requests were answered meanwhile. The other limits are checked on an app with the
endpoint alone (Flask's test client), configured with tiny limits.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.sparql import (
    Server,
    alive,
    cpu_seconds,
    dereference_url,
    minimal_app,
    query_workers,
    shared_server,
    wait_for,
)

pytestmark = pytest.mark.slow  # the slow tier: query processes, the shared gunicorn server

LIMIT_S = 2.0  # the test server's query_timeout_s


@pytest.fixture(scope="module")
def server() -> Server:
    return shared_server()


def endless(server: Server) -> str:
    """A cross join of the UN SDG KOS with itself: hours of work."""
    return (f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{server.url}/graph/sdg-kos> "
            "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } }")


def get(url: str, accept: str = "*/*", timeout: float = 30) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def query_url(server: Server, query: str) -> str:
    return server.url + "/sparql?" + urllib.parse.urlencode({"query": query})


def test_a_long_query_is_stopped_and_its_cpu_freed(server: Server) -> None:
    # Warm up the workers, so that process start-up is not part of the measurement.
    for _ in range(4):
        assert get(query_url(server, "ASK {}"))[0] == 200
    before = set(query_workers(server.pid))
    assert before, "no query worker processes found below the server"

    result: dict[str, object] = {}

    def run() -> None:
        started = time.monotonic()
        result["answer"] = get(query_url(server, endless(server)))
        result["elapsed"] = time.monotonic() - started

    base = {pid: cpu_seconds([pid]) for pid in before}
    thread = threading.Thread(target=run)
    thread.start()
    # Meanwhile, other requests are answered promptly.
    busy: list[int] = []
    deadline = time.monotonic() + LIMIT_S  # a loaded machine may take a while to show it
    while not busy and time.monotonic() < deadline:
        time.sleep(0.1)
        # CPU used since the query was sent, by the workers that were already there
        # (a worker's own start-up costs CPU too, so absolute figures mislead).
        busy = [pid for pid in before if cpu_seconds([pid]) - base[pid] > 0.15]
    for _ in range(10):
        started = time.monotonic()
        status, _headers, _body = get(dereference_url(server), accept="text/html")
        assert status == 200
        assert time.monotonic() - started < 1.0
        status, _headers, _body = get(server.url + "/sparql", accept="text/turtle")
        assert status == 200
    thread.join(30)
    assert not thread.is_alive()

    status, _headers, body = result["answer"]  # type: ignore[misc]
    assert status == 503, body
    assert b"time limit" in body and b"2 s" in body
    assert result["elapsed"] < LIMIT_S + 1.0  # type: ignore[operator]

    # The worker that ran it was killed and reaped; a fresh one took its place.
    assert busy, "the busy worker was not seen"
    for pid in busy:
        assert wait_for(lambda pid=pid: not alive(pid), timeout=2.0), f"worker {pid} still runs"
    assert wait_for(lambda: len(query_workers(server.pid)) >= len(before), timeout=10)
    # And the CPU is idle again: the workers use (almost) nothing over a second.
    workers = query_workers(server.pid)
    first = cpu_seconds(workers)
    time.sleep(1.0)
    assert cpu_seconds(workers) - first < 0.2
    # The endpoint still answers queries.
    assert get(query_url(server, "ASK {}"))[0] == 200


@pytest.fixture(scope="module")
def releases(server: Server):
    return server.releases


def _client(releases, **overrides):
    app = minimal_app(releases, **overrides)
    return app, app.test_client()


@pytest.fixture
def one_slot(releases) -> Iterator:
    app, client = _client(releases, max_concurrent_queries=1, max_queries_per_client=5,
                          query_queue_wait_s=0.3, query_timeout_s=2)
    yield client
    app.extensions["sparql_endpoint"].executor.close()


def test_busy_answers_503_with_retry_after(one_slot, server: Server) -> None:
    assert one_slot.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(one_slot.get, "/sparql", query_string={"query": endless(server)})
        time.sleep(0.3)
        started = time.monotonic()
        response = one_slot.get("/sparql", query_string={"query": "ASK {}"})
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) >= 1
        assert b"busy" in response.data
        assert time.monotonic() - started < 1.0  # waited query_queue_wait_s, not more
        assert slow.result(10).status_code == 503  # the slow one hit its time limit


@pytest.fixture
def per_client(releases) -> Iterator:
    app, client = _client(releases, max_concurrent_queries=2, max_queries_per_client=1,
                          query_queue_wait_s=0.3, query_timeout_s=2)
    yield client
    app.extensions["sparql_endpoint"].executor.close()


def test_per_client_limit_answers_429(per_client, server: Server) -> None:
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(per_client.get, "/sparql", query_string={"query": endless(server)},
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})
        time.sleep(0.3)
        same = per_client.get("/sparql", query_string={"query": "ASK {}"},
                              environ_base={"REMOTE_ADDR": "10.0.0.1"})
        other = per_client.get("/sparql", query_string={"query": "ASK {}"},
                               environ_base={"REMOTE_ADDR": "10.0.0.2"})
        assert same.status_code == 429 and "Retry-After" in same.headers
        assert other.status_code == 200
        assert slow.result(10).status_code == 503


@pytest.fixture
def tiny(releases) -> Iterator:
    app, client = _client(releases, max_result_bytes=2000, max_query_bytes=500,
                          max_request_bytes=1000, query_memory_mb=300, query_timeout_s=5)
    yield app, client
    app.extensions["sparql_endpoint"].executor.close()


def test_size_limits(tiny) -> None:
    _app, client = tiny
    big = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }"})
    assert big.status_code == 400 and b"larger than this endpoint's limit of 2000" in big.data
    small = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o } LIMIT 1"})
    assert small.status_code == 200
    long_query = "ASK {}" + " " * 600
    assert client.get("/sparql", query_string={"query": long_query}).status_code == 413
    body = "query=" + "%20" * 400
    response = client.post("/sparql", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert b"1000" in response.data


def test_memory_limit_stops_a_query(tiny) -> None:
    _app, client = tiny
    query = "SELECT ?a ?b ?o ?c { ?a ?p ?o . ?b ?q ?r . ?c ?t ?u } ORDER BY ?o"
    started = time.monotonic()
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 503
    assert b"memory" in response.data
    assert time.monotonic() - started < 6
    assert client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200


def test_workers_are_cut_off_from_the_network(tiny) -> None:
    app, client = tiny
    assert client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 200
    pool = app.extensions["sparql_endpoint"].executor.pool
    ready = [slot for slot in pool.slots if slot.ready]
    assert ready and all(slot.isolated for slot in ready), \
        "this kernel refused a network namespace: only the guard keeps queries off the network"


def test_a_worker_follows_the_release(tmp_path) -> None:
    """A job names its release's store; a worker reopens when that changes."""
    import pyoxigraph

    from pledge_lod.store.embedded.query_process import Runner

    paths = []
    for n in (1, 2):
        path = tmp_path / f"store{n}"
        store = pyoxigraph.Store(str(path))
        store.add(pyoxigraph.Quad(pyoxigraph.NamedNode("http://e/s"),
                                  pyoxigraph.NamedNode("http://e/p"), pyoxigraph.Literal(str(n)),
                                  pyoxigraph.NamedNode("http://e/g")))
        store.flush()
        del store
        paths.append(str(path))
    runner = Runner()
    job = {"query": "SELECT ?o { ?s ?p ?o }", "base_iri": "http://e/sparql",
           "default_graphs": None, "named_graphs": None, "union": True,
           "results_format": "csv", "graph_format": None, "max_bytes": 1000}
    assert runner.run({**job, "store_path": paths[0]})[2] == b"o\r\n1\r\n"
    assert runner.run({**job, "store_path": paths[1]})[2] == b"o\r\n2\r\n"


def test_stopping_the_server_leaves_no_query_workers(server: Server) -> None:
    """Workers die with the server, even one busy with a query at that moment."""
    import os
    import signal
    import subprocess
    import sys

    from support.paths import ROOT
    from support.processes import free_port, wait_until_up
    from support.sparql import TEST_ENV, stop_process

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "pledge_lod", "serve", "--releases", str(server.releases),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, **TEST_ENV},
    )
    try:
        wait_until_up(url + "/sparql", process)
        other = Server(url, server.releases, process.pid)
        assert get(query_url(other, "ASK {}"))[0] == 200
        workers = query_workers(process.pid)
        assert workers
        thread = threading.Thread(target=get, args=(query_url(other, endless(server)),))
        thread.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        thread.join(30)
        assert wait_for(lambda: not any(alive(pid) for pid in workers), timeout=10), \
            [pid for pid in workers if alive(pid)]
    finally:
        stop_process(process)
