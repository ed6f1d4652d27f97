"""The query worker: a separate process that runs one query at a time.

Oxigraph cannot cancel a query from Python, so a query that must be stopped is stopped
by killing its process. That is why queries never run in the web server's process: each
runs here, and the pool (:mod:`.executor`) SIGKILLs this process when the time limit
passes and starts a fresh one.

This module imports only the standard library and pyoxigraph, so that a worker starts
fast. The worker also fences itself in, as a second wall behind the guard:

* it moves into a new, empty network namespace when the kernel allows it (root, or
  unprivileged user namespaces): no route to anything, not even 127.0.0.1;
* an ``RLIMIT_DATA`` bound on its memory, so one query cannot exhaust the machine (the
  process dies on allocation failure; the pool reports it and starts a new one);
* an ``RLIMIT_CPU`` bound per query, so that even if the web process that owns it is
  gone (killed by gunicorn's arbiter, say) a runaway query is stopped by the kernel.
  Between queries it waits on its pipe and exits when the owner closes it.
"""

from __future__ import annotations

import ctypes
import io
import os
import resource
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph
from pyoxigraph import NamedNode, QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat

RESULT_FORMATS = {
    "json": QueryResultsFormat.JSON,
    "xml": QueryResultsFormat.XML,
    "csv": QueryResultsFormat.CSV,
    "tsv": QueryResultsFormat.TSV,
}
GRAPH_FORMATS = {
    "ttl": RdfFormat.TURTLE,
    "nt": RdfFormat.N_TRIPLES,
    "rdf": RdfFormat.RDF_XML,
    "jsonld": RdfFormat.JSON_LD,
}
_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000


class _Overflow(Exception):
    """Raised by the capped writer when a result outgrows the limit."""


class _CappedWriter(io.RawIOBase):
    """Collects serialised bytes, refusing to hold more than ``limit``."""

    def __init__(self, limit: int):
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        self.overflowed = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.size += len(chunk)
        if self.size > self.limit:
            self.overflowed = True
            raise _Overflow
        self.parts.append(chunk)
        return len(chunk)


def isolate_network() -> bool:
    """Leave the host's network: a new network namespace has only a down loopback."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(_CLONE_NEWNET) == 0:
            return True
        return libc.unshare(_CLONE_NEWNET | _CLONE_NEWUSER) == 0
    except (OSError, AttributeError):
        return False


def limit_memory(megabytes: int) -> None:
    if megabytes <= 0:
        return
    limit = megabytes * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def limit_cpu(seconds: float) -> None:
    """Let the kernel stop this process after ``seconds`` more CPU time (SIGXCPU)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


class Runner:
    """Runs jobs against the store of the release each job names."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.store: pyoxigraph.Store | None = None

    def _open(self, path: str) -> pyoxigraph.Store:
        if self.store is None or self.path != path:
            self.store = None
            self.store = pyoxigraph.Store.read_only(path)
            self.path = path
        return self.store

    def run(self, job: dict[str, Any]) -> tuple[str, Any, Any]:
        """Answer ``job``; never raises for anything a query can cause."""
        try:
            store = self._open(job["store_path"])
        except OSError as exc:
            return ("unavailable", f"the release store cannot be opened: {exc}", None)
        options: dict[str, Any] = {"base_iri": job["base_iri"]}
        if job["default_graphs"] is not None:
            options["default_graph"] = [NamedNode(g) for g in job["default_graphs"]]
        if job["named_graphs"] is not None:
            options["named_graphs"] = [NamedNode(g) for g in job["named_graphs"]]
        if job["union"]:
            options["use_default_graph_as_union"] = True
        writer = _CappedWriter(job["max_bytes"])
        try:
            result = store.query(job["query"], **options)
            if isinstance(result, QuerySolutions | QueryBoolean):
                kind, key = "results", job["results_format"]
                fmt = RESULT_FORMATS.get(key or "")
            else:
                kind, key = "graph", job["graph_format"]
                fmt = GRAPH_FORMATS.get(key or "")
            if fmt is None:
                return ("not_acceptable", kind, None)
            result.serialize(writer, fmt)
        except SyntaxError as exc:
            return ("syntax", str(exc), None)
        except _Overflow:
            return ("too_large", job["max_bytes"], None)
        except (OSError, ValueError, RuntimeError, TypeError) as exc:
            if writer.overflowed:
                return ("too_large", job["max_bytes"], None)
            return ("failed", f"{type(exc).__name__}: {exc}", None)
        except MemoryError:
            return ("memory", None, None)
        return ("ok", (kind, key), b"".join(writer.parts))


def main(conn: Connection, memory_mb: int, cpu_s: float) -> None:
    """The worker's loop: receive a job, answer it, until the owner hangs up."""
    isolated = isolate_network()
    limit_memory(memory_mb)
    runner = Runner()
    try:
        conn.send(("ready", isolated, os.getpid()))
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            limit_cpu(cpu_s)
            conn.send(runner.run(job))
    except (BrokenPipeError, EOFError, OSError, KeyboardInterrupt):
        return


def _from_argv(argv: list[str]) -> None:
    fd, memory_mb, cpu_s = int(argv[0]), int(argv[1]), float(argv[2])
    main(Connection(fd), memory_mb, cpu_s)


if __name__ == "__main__":
    import sys

    _from_argv(sys.argv[1:])
