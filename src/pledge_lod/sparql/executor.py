"""Running queries with limits that hold: a small pool of worker processes.

Why processes: Oxigraph cannot cancel a running query, so the only way to truly stop
one is to kill the process running it. Each web server process (each gunicorn worker)
owns one :class:`QueryPool` of ``max_concurrent_queries`` worker processes, created
lazily on the first query (never before gunicorn forks) and recreated if the owning
process id changes.

A query:

1. is admitted: at most ``max_queries_per_client`` at once per client address, else
   :class:`ClientLimit` (HTTP 429); then waits at most ``query_queue_wait_s`` for a free
   worker, else :class:`Busy` (HTTP 503 with Retry-After). The web threads that serve
   dereferencing never wait here, so slow queries cannot starve them;
2. is sent to the worker with the release's store path; the worker serialises the
   answer itself, capped at ``max_result_bytes``;
3. if no answer comes within ``query_timeout_s``, the worker is SIGKILLed and reaped, a
   fresh one is started, and :class:`QueryTimedOut` is raised.

The per-client bound is per server process (each gunicorn worker counts its own).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ..config import Settings
from .syntax import explain

log = logging.getLogger(__name__)

#: How long a freshly started worker may take to say it is ready.
STARTUP_S = 30.0


class ExecutionError(Exception):
    """A query could not be answered; subclasses say why."""


class QueryTimedOut(ExecutionError):
    pass


class Busy(ExecutionError):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class ClientLimit(Busy):
    pass


class QuerySyntax(ExecutionError):
    pass


class ResultTooLarge(ExecutionError):
    pass


class NotAcceptable(ExecutionError):
    """The query's result kind ("results" or "graph") has no acceptable format."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class WorkerFailed(ExecutionError):
    pass


@dataclass(frozen=True)
class Job:
    """One query, ready for a worker. Graph IRIs are plain strings, checked beforehand."""

    query: str
    base_iri: str
    default_graphs: list[str] | None
    named_graphs: list[str] | None
    union: bool
    results_format: str | None
    graph_format: str | None


@dataclass(frozen=True)
class Answer:
    kind: str  # "results" or "graph"
    format: str
    body: bytes


class _Slot:
    """One worker process and the socket to it; used by one thread at a time.

    The worker is a plain subprocess (``python -m pledge_lod.sparql.worker``) rather than
    a ``multiprocessing`` child: spawn would re-run the server's main script, and fork
    is unsafe in a threaded server. A socket pair carries ``multiprocessing``
    connection frames (pickled tuples), which gives a ``poll(timeout)`` for free.
    """

    def __init__(self, settings: Settings):
        self.memory_mb = settings.query_memory_mb
        self.cpu_s = settings.query_timeout_s + 2
        self.process: subprocess.Popen[bytes] | None = None
        self.conn: Connection | None = None
        self.ready = False
        self.isolated: bool | None = None

    def start(self) -> None:
        mine, theirs = socket.socketpair()
        with mine, theirs:
            process = subprocess.Popen(
                [sys.executable, "-m", "pledge_lod.sparql.worker", str(theirs.fileno()),
                 str(self.memory_mb), str(self.cpu_s)],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                # A query killed by its memory limit aborts in Rust: one line, no backtrace.
                env={**os.environ, "RUST_BACKTRACE": "0"},
            )
            self.conn = Connection(mine.detach())
        self.process, self.ready = process, False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self) -> None:
        """Kill the worker (whatever it is doing) and reap it."""
        process, conn = self.process, self.conn
        self.process, self.conn, self.ready = None, None, False
        if conn is not None:
            conn.close()
        if process is not None:
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    process.send_signal(signal.SIGKILL)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait
                log.error("query worker %s did not die after SIGKILL", process.pid)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _await_ready(self) -> None:
        if self.ready:
            return
        if not self.conn.poll(STARTUP_S):
            self.restart()
            raise WorkerFailed("the query worker did not start; try again")
        message = self.conn.recv()
        self.ready = True
        self.isolated = bool(message[1])
        if not self.isolated:
            log.warning("query worker %s runs without network isolation; the guard "
                        "alone keeps queries off the network", message[2])

    def run(self, job: dict[str, Any], timeout: float) -> tuple[str, Any, Any]:
        if self.process is None or self.process.poll() is not None or self.conn is None:
            self.restart()
        assert self.conn is not None
        try:
            self._await_ready()
            self.conn.send(job)
        except (EOFError, OSError):
            self.restart()
            raise WorkerFailed("the query worker stopped unexpectedly; try again") from None
        if not self.conn.poll(timeout):
            self.restart()
            raise QueryTimedOut(f"the query ran longer than {timeout:g} s and was stopped")
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            # The worker died mid-query: memory limit (allocation failure), CPU limit.
            self.restart()
            raise WorkerFailed(
                "the query used more memory or CPU than this endpoint allows and was stopped"
            ) from None


class Admission:
    """The per-client bound: at most ``max_queries_per_client`` queries at once each."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._clients: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, client: str) -> Iterator[None]:
        limit = max(1, self.settings.max_queries_per_client)
        with self._lock:
            running = self._clients.get(client, 0)
            if running >= limit:
                raise ClientLimit(
                    f"you already have {running} queries running; this endpoint runs at most "
                    f"{limit} at once per client",
                    retry_after=max(1, round(self.settings.query_timeout_s)),
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


class QueryPool:
    """``size`` worker processes; a thread borrows one per query."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.slots = [_Slot(settings) for _ in range(max(1, settings.max_concurrent_queries))]
        self._idle: queue.Queue[_Slot] = queue.Queue()
        for slot in self.slots:
            slot.start()
            self._idle.put(slot)
        self.admission = Admission(settings)
        self.closed = False
        self.owner = os.getpid()

    def run(self, job: Job, store_path: str, client: str) -> Answer:
        """Run ``job`` on the store at ``store_path`` for ``client`` (its address)."""
        s = self.settings
        with self.admission.admit(client):
            try:
                slot = self._idle.get(timeout=max(0.0, s.query_queue_wait_s))
            except queue.Empty:
                raise Busy(
                    f"all {len(self.slots)} query workers are busy; try again shortly",
                    retry_after=max(1, round(s.query_timeout_s / 2)),
                ) from None
            try:
                if self.closed:
                    raise WorkerFailed("the endpoint is shutting down")
                # vars(), not asdict(): the pickle copies anyway, asdict deep-copies first.
                message = {**vars(job), "store_path": store_path, "max_bytes": s.max_result_bytes}
                status, detail, body = slot.run(message, s.query_timeout_s)
            finally:
                self._idle.put(slot)
        if status == "syntax":  # said here, not in the worker, which stays small
            detail = explain(job.query, detail)
        return _answer(status, detail, body)

    def pids(self) -> list[int]:
        return [pid for slot in self.slots if (pid := slot.pid) is not None]

    def close(self) -> None:
        if os.getpid() != self.owner:  # a forked copy: the workers are not ours
            return
        self.closed = True
        for slot in self.slots:
            slot.stop()


def _answer(status: str, detail: Any, body: Any) -> Answer:
    if status == "ok":
        kind, key = detail
        return Answer(kind=kind, format=key, body=body)
    if status == "syntax":
        raise QuerySyntax(detail)
    if status == "not_acceptable":
        raise NotAcceptable(detail)
    if status == "too_large":
        raise ResultTooLarge(
            f"the result is larger than this endpoint's limit of {detail} bytes; "
            "add LIMIT, or select fewer variables"
        )
    if status == "memory":
        raise WorkerFailed("the query used more memory than this endpoint allows")
    if status == "unavailable":
        raise WorkerFailed(str(detail))
    raise WorkerFailed(f"the query could not be evaluated: {detail}")


class Executor:
    """The endpoint's handle on its pool: lazy, thread-safe, fork-aware."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool: QueryPool | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> QueryPool:
        pool = self._pool
        if pool is not None and self._pid == os.getpid():
            return pool
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                # After a fork the inherited pool's workers belong to the parent.
                self._pool = QueryPool(self.settings)
                self._pid = os.getpid()
                _live_pools.add(self._pool)
            return self._pool

    def run(self, job: Job, store_path: str, client: str) -> Answer:
        started = time.monotonic()
        try:
            return self.pool.run(job, store_path, client)
        finally:
            log.debug("query for %s took %.3f s", client, time.monotonic() - started)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None


_live_pools: weakref.WeakSet[QueryPool] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for pool in list(_live_pools):
        pool.close()
