"""Slow and abusive clients against the production setup (gunicorn, ``pledge-lod serve``).

Clients that open connections and send their request one byte a second (slowloris), send
a body slowly, or send nothing at all, many more than the server has threads, must not
stop a normal client from being served within a couple of seconds; the slow ones are
answered 408 once ``request_read_timeout_s`` has passed. With stock gthread workers the
first case stopped the server entirely (see src/pledge_lod/server/gunicorn_worker.py).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gunicorn.workers.gthread import ThreadWorker

from pledge_lod.config import Settings
from pledge_lod.server.gunicorn_worker import DEFER, MAX_HEAD, BufferingThreadWorker, request_size
from pledge_lod.server.serve import gunicorn_options
from pledge_lod.sparql.admission import Admission, ClientLimit
from support.gunicorn import Server, gunicorn_server

pytestmark = pytest.mark.slow  # the slow tier: gunicorn with slow clients

WORKERS, THREADS = 2, 4
READ_TIMEOUT = 4.0
SLOW = 3 * WORKERS * THREADS  # well over one per thread


@pytest.fixture(scope="module")
def server(releases_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("slow") / "server.log"
    env = {"PLEDGE_LOD_REQUEST_READ_TIMEOUT_S": str(READ_TIMEOUT)}
    with gunicorn_server(releases_dir, log, workers=WORKERS, threads=THREADS, env=env) as found:
        yield found


class SlowClients:
    """``count`` connections, each sending ``message`` one byte per ``interval`` seconds,
    for at most ``seconds``; remembers what the server answered each."""

    def __init__(self, port: int, count: int, message: bytes, interval: float = 1.0,
                 seconds: float = 12.0, prefix: bytes = b""):
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=5)
                      for _ in range(count)]
        for sock in self.socks:
            if prefix:
                sock.sendall(prefix)
        self.message, self.interval, self.seconds = message, interval, seconds
        self.answers: dict[int, bytes] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        for i in range(len(self.message)):
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            for n, sock in enumerate(self.socks):
                if n in self.answers:
                    continue
                try:
                    sock.send(self.message[i : i + 1])
                    sock.setblocking(False)
                    try:
                        got = sock.recv(200)
                        self.answers[n] = got or b"closed"
                    except BlockingIOError:
                        pass
                    finally:
                        sock.setblocking(True)
                except OSError as exc:
                    self.answers[n] = f"error {exc}".encode()
            time.sleep(self.interval)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.socks:
            sock.close()


def normal_request(server: Server, path: str = "/doc/place/terrassa.ttl") -> float:
    """Seconds until a normal client got its answer (which must be 200)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
    finally:
        conn.close()
    return time.monotonic() - started


HEAD = b"GET /doc/place/terrassa HTTP/1.1\r\nHost: x\r\nAccept: text/turtle\r\nX-Slow: " + b"y" * 60


def test_slowloris_cannot_hold_the_threads(server: Server) -> None:
    slow = SlowClients(server.port, SLOW, HEAD, interval=1.0, seconds=READ_TIMEOUT + 6)
    try:
        time.sleep(1.5)  # every slow connection has sent a few bytes
        waits = [normal_request(server) for _ in range(5)]
        print(f"\n{SLOW} slowloris connections; normal requests took "
              f"{', '.join(f'{w:.2f}' for w in waits)} s")
        assert max(waits) < 3.0, waits
        time.sleep(READ_TIMEOUT + 2.5)
        answered = [a for a in slow.answers.values() if a.startswith(b"HTTP/1.1 408")]
        assert len(answered) >= SLOW // 2, slow.answers
    finally:
        slow.close()
    assert normal_request(server) < 3.0


def test_slow_bodies_cannot_hold_the_threads(server: Server) -> None:
    body = b"query=" + b"ASK%7B%7D" + b"&x=" + b"z" * 200
    head = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    # The head at once, then the body one byte a second.
    slow = SlowClients(server.port, SLOW, body[5:], seconds=READ_TIMEOUT + 4,
                       prefix=head + body[:5])
    try:
        time.sleep(1.0)
        waits = [normal_request(server) for _ in range(5)]
        assert max(waits) < 3.0, waits
    finally:
        slow.close()


def test_idle_connections_cannot_hold_the_threads(server: Server) -> None:
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(SLOW)]
    try:
        time.sleep(0.5)
        waits = [normal_request(server) for _ in range(5)]
        assert max(waits) < 3.0, waits
    finally:
        for sock in idle:
            sock.close()


def test_a_whole_request_sent_in_pieces_is_served(server: Server) -> None:
    """Buffering changes nothing for a client that is merely not instant: a request split
    into several packets, a kept-alive connection and pipelined requests all work."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        for piece in (b"GET /robots.txt HT", b"TP/1.1\r\nHost: x\r", b"\n\r\n"):
            sock.sendall(piece)
            time.sleep(0.2)
        sock.sendall(b"GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /context.jsonld HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3, data[:500]


def test_an_over_long_head_is_refused(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        fields = b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 4000) for i in range(20))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + fields)
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 431"), answer


def test_production_options() -> None:
    settings = Settings(workers=3, threads=16, request_read_timeout_s=7, max_request_bytes=1000)
    options = gunicorn_options(settings)
    worker = options["worker_class"]
    assert issubclass(worker, BufferingThreadWorker) and issubclass(worker, ThreadWorker)
    assert worker.read_timeout == 7 and worker.max_body == 1000
    assert DEFER is not None, "the locked gunicorn has the hand-back the worker relies on"
    assert options["threads"] == 16 and options["workers"] == 3
    assert options["timeout"] >= settings.query_timeout_s + 10
    assert options["keepalive"] <= 10 and options["graceful_timeout"] <= 30
    assert options["limit_request_line"] <= 8190
    assert options["limit_request_fields"] <= 100
    assert options["limit_request_field_size"] <= 8190


def test_request_size() -> None:
    assert request_size(b"GET / HTTP/1.1\r\nHost: x\r\n", 100) is None
    assert request_size(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 100) == 27
    post = b"POST /sparql HTTP/1.1\r\nContent-Length: 10\r\n\r\n"
    assert request_size(post, 100) == len(post) + 10
    assert request_size(post, 5) == len(post)  # too large: the app answers 413 unread
    chunked = b"POST /sparql HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert request_size(chunked, 100) == len(chunked)
    twice = b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
    assert request_size(twice, 100) == len(twice)  # gunicorn refuses it
    assert request_size(b"x" * (MAX_HEAD + 10), 100) is None


def test_the_per_client_query_limit_says_what_to_do() -> None:
    """429 itself is tested end to end in tests/test_sparql_limits.py; the message."""
    admission = Admission.from_settings(Settings(max_queries_per_client=2, query_timeout_s=10))
    with admission.admit("10.0.0.1"), admission.admit("10.0.0.1"):
        with admission.admit("10.0.0.2"):
            pass
        with pytest.raises(ClientLimit) as refused, admission.admit("10.0.0.1"):
            pass
    assert "at most 2 at once per client" in str(refused.value)
    assert refused.value.retry_after == 10
    with admission.admit("10.0.0.1"):
        pass


@pytest.mark.parametrize("hops", [0, 1])
def test_the_client_address_behind_a_proxy(releases_dir: Path, hops: int) -> None:
    """The per-client SPARQL limit counts by client address. Behind nginx every request
    comes from the proxy: with ``proxy_hops=1`` the address is the proxy's
    X-Forwarded-For; without a proxy the header is ignored (a client cannot pick one)."""
    from flask import request

    from pledge_lod.server.serve import _app_factory

    app = _app_factory(Settings(releases_dir=releases_dir, proxy_hops=hops))

    @app.get("/__address")
    def address() -> str:
        return request.remote_addr or ""

    client = app.test_client()
    resp = client.get("/__address", headers={"X-Forwarded-For": "203.0.113.7"},
                      environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.text == ("203.0.113.7" if hops else "127.0.0.1")
    app.blueprints["sparql"].sparql_endpoint.executor.close()
