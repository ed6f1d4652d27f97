"""The embedded backend's query runner: limits that hold, by a small pool of processes.

Why processes: Oxigraph cannot cancel a running query, so the only way to truly stop
one is to kill the process running it. Each web server process (each gunicorn worker)
owns one :class:`QueryPool` of ``max_concurrent_queries`` worker processes, created
lazily on the first query (never before gunicorn forks) and recreated if the owning
process id changes.

A query (already admitted by the endpoint's per-client bound):

1. waits at most ``queue_wait_s`` for a free worker, else :class:`~..base.Busy` (HTTP 503
   with Retry-After). The web threads that serve dereferencing never wait here, so slow
   queries cannot starve them;
2. is sent to the worker with the store path of the release its snapshot pins; the
   worker serialises the answer itself, capped at ``max_result_bytes``;
3. if no answer comes within ``timeout_s``, the worker is SIGKILLed and reaped, a
   fresh one is started, and :class:`~..base.QueryTimeout` is raised.

This lives in the embedded backend, not in the endpoint, because it is how Oxigraph's
queries are stopped: the endpoint only states the limits (:class:`~..base.QueryLimits`).
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
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import Any

from ..base import (
    Answer,
    Busy,
    NotAcceptable,
    QueryFailed,
    QueryLimits,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    Snapshot,
    UserQuery,
)

log = logging.getLogger(__name__)

#: How long a freshly started worker may take to say it is ready.
STARTUP_S = 30.0


class _Slot:
    """One worker process and the socket to it; used by one thread at a time.

    The worker is a plain subprocess (``python -m pledge_lod.store.embedded.query_process``)
    rather than a ``multiprocessing`` child: spawn would re-run the server's main script, and fork
    is unsafe in a threaded server. A socket pair carries ``multiprocessing``
    connection frames (pickled tuples), which gives a ``poll(timeout)`` for free.
    """

    def __init__(self, limits: QueryLimits):
        self.memory_mb = limits.memory_mb
        self.cpu_s = limits.timeout_s + 2
        self.process: subprocess.Popen[bytes] | None = None
        self.conn: Connection | None = None
        self.ready = False
        self.isolated: bool | None = None

    def start(self) -> None:
        mine, theirs = socket.socketpair()
        with mine, theirs:
            process = subprocess.Popen(
                [sys.executable, "-m", "pledge_lod.store.embedded.query_process",
                 str(theirs.fileno()), str(self.memory_mb), str(self.cpu_s)],
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
            raise QueryFailed("the query worker did not start; try again")
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
            raise QueryFailed("the query worker stopped unexpectedly; try again") from None
        if not self.conn.poll(timeout):
            self.restart()
            raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped")
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            # The worker died mid-query: memory limit (allocation failure), CPU limit.
            self.restart()
            raise QueryFailed(
                "the query used more memory or CPU than this endpoint allows and was stopped"
            ) from None


class QueryPool:
    """``size`` worker processes; a thread borrows one per query."""

    def __init__(self, limits: QueryLimits):
        self.limits = limits
        self.slots = [_Slot(limits) for _ in range(max(1, limits.max_concurrent))]
        self._idle: queue.Queue[_Slot] = queue.Queue()
        for slot in self.slots:
            slot.start()
            self._idle.put(slot)
        self.closed = False
        self.owner = os.getpid()

    def run(self, query: UserQuery, store_path: str) -> Answer:
        """Run ``query`` on the store at ``store_path``."""
        limits = self.limits
        try:
            slot = self._idle.get(timeout=max(0.0, limits.queue_wait_s))
        except queue.Empty:
            raise Busy(f"all {len(self.slots)} query workers are busy; try again shortly",
                       retry_after=limits.busy_retry_after) from None
        try:
            if self.closed:
                raise QueryFailed("the endpoint is shutting down")
            status, detail, body = slot.run(_message(query, store_path, limits),
                                            limits.timeout_s)
        finally:
            self._idle.put(slot)
        return _answer(status, detail, body)

    def pids(self) -> list[int]:
        return [pid for slot in self.slots if (pid := slot.pid) is not None]

    def close(self) -> None:
        if os.getpid() != self.owner:  # a forked copy: the workers are not ours
            return
        self.closed = True
        for slot in self.slots:
            slot.stop()


def _message(query: UserQuery, store_path: str, limits: QueryLimits) -> dict[str, Any]:
    """The job a worker receives: plain values only (formats by key), so that unpickling
    it imports nothing beyond what the worker has."""
    results, graph = query.results_format, query.graph_format
    return {"query": query.query, "base_iri": query.base_iri,
            "default_graphs": query.default_graphs, "named_graphs": query.named_graphs,
            "union": query.union, "results_format": results.key if results else None,
            "graph_format": graph.key if graph else None, "store_path": store_path,
            "max_bytes": limits.max_result_bytes}


def _answer(status: str, detail: Any, body: Any) -> Answer:
    if status == "ok":
        kind, key = detail
        return Answer(kind=kind, format=key, body=body)
    if status == "syntax":
        raise QuerySyntaxError(detail)
    if status == "not_acceptable":
        raise NotAcceptable(detail)
    if status == "too_large":
        raise ResultTooLarge(
            f"the result is larger than this endpoint's limit of {detail} bytes; "
            "add LIMIT, or select fewer variables"
        )
    if status == "memory":
        raise QueryFailed("the query used more memory than this endpoint allows")
    if status == "unavailable":
        raise QueryFailed(str(detail))
    raise QueryFailed(f"the query could not be evaluated: {detail}")


class Executor:
    """The embedded store's :class:`~..base.QueryRunner`: a handle on its pool that is
    lazy, thread-safe and fork-aware."""

    def __init__(self, limits: QueryLimits):
        self.limits = limits
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
                self._pool = QueryPool(self.limits)
                self._pid = os.getpid()
                _live_pools.add(self._pool)
            return self._pool

    def run(self, query: UserQuery, snapshot: Snapshot) -> Answer:
        """Run ``query`` on the release ``snapshot`` pins (its store, opened by a worker)."""
        started = time.monotonic()
        try:
            return self.pool.run(query, str(snapshot.release.store_path))
        finally:
            log.debug("query took %.3f s", time.monotonic() - started)

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
