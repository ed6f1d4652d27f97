"""gunicorn's gthread worker, changed so that a slow client cannot hold a thread.

The stock gthread worker hands a connection to a thread as soon as its first byte arrives,
and the thread then blocks until the whole request head is in. A client that sends one
byte a second (slowloris) thus holds a thread for as long as it likes, and a few dozen
such clients hold every thread of every worker: tested, the server stopped answering.

This worker reads what a connection has sent without blocking, keeps it, and hands the
connection to a thread only when the request is complete: the head, and a body of
announced length up to ``max_request_bytes`` (the only bodies the app accepts). Until
then the connection waits in the worker's poller, costing one socket and a buffer, no
thread. A client that has not sent its whole request within ``request_read_timeout_s``
gets ``408 Request Timeout`` and is disconnected; a head larger than 64 KiB gets 431.
Bodies sent chunked or after ``Expect: 100-continue`` are read by the thread as before.

It relies on the gthread internals of the locked gunicorn (the ``_DEFER`` hand-back that
gunicorn itself uses for connections with no data yet); with a gunicorn without them it
behaves exactly like gthread.
"""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import time
from typing import Any

from gunicorn.workers import gthread

#: gunicorn's "give this connection back to the poller" answer from ``handle``.
DEFER: Any = getattr(gthread, "_DEFER", None)
#: A request head larger than this is refused (nginx's default limit is 32 KiB).
MAX_HEAD = 64 * 1024
#: How long a thread waits for the first bytes before handing the connection back.
FIRST_WAIT_S = 0.05
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*([0-9]{1,12})[ \t]*\r?$", re.I | re.M)
_READ_BODY_LATER = re.compile(rb"^(transfer-encoding|expect)[ \t]*:", re.I | re.M)


class _Pending:
    """What a connection has sent of its next request."""

    __slots__ = ("data", "started")

    def __init__(self, started: float):
        self.data = bytearray()
        self.started = started


def request_size(data: bytes | bytearray, max_body: int) -> int | None:
    """How many bytes the request at the start of ``data`` has (head and any body worth
    waiting for), or None while its head is incomplete."""
    end = _HEAD_END.search(data, 0, MAX_HEAD + 4)
    if end is None:
        return None
    head = bytes(data[: end.end()])
    if _READ_BODY_LATER.search(head):
        return end.end()
    lengths = set(_CONTENT_LENGTH.findall(head))
    if len(lengths) != 1:  # no body, or a malformed one gunicorn will refuse
        return end.end()
    length = int(lengths.pop())
    return end.end() + (length if length <= max_body else 0)


class BufferingThreadWorker(gthread.ThreadWorker):
    """A gthread worker that gives a thread only to complete requests."""

    #: Seconds a client has to send its whole request (head and body).
    read_timeout: float = 20.0
    #: Bodies of announced length up to this many bytes are waited for before a thread.
    max_body: int = 256 * 1024

    def _buffering(self) -> bool:
        return (
            DEFER is not None
            and not self.cfg.is_ssl
            and getattr(self.cfg, "http2_cleartext", "off") == "off"
        )

    def handle(self, conn):  # type: ignore[no-untyped-def]
        if not self._buffering():
            return super().handle(conn)
        state: _Pending | None = getattr(conn, "_pledge_lod_pending", None)
        if state is None:
            state = _Pending(time.monotonic())
            conn._pledge_lod_pending = state
            if conn.parser is not None:  # bytes read ahead on a kept-alive connection
                state.data += _take_buffered(conn.parser.unreader)
        cap = MAX_HEAD + self.max_body
        closed = _read_available(conn.sock, state.data, cap)
        if not state.data and not closed and conn.wait_for_data(FIRST_WAIT_S):
            # A new connection: its request usually follows within a moment.
            closed = _read_available(conn.sock, state.data, cap)
        size = request_size(state.data, self.max_body)
        if size is None and len(state.data) > MAX_HEAD:
            first_line_done = b"\n" in state.data[: self.cfg.limit_request_line + 2]
            if first_line_done:
                return _refuse(conn, 431, "Request Header Fields Too Large")
            size = len(state.data)  # gunicorn answers 414 from what it has
        if size is None or len(state.data) < size:
            if closed:
                return False
            if time.monotonic() - state.started > self.read_timeout:
                return _refuse(conn, 408, "Request Timeout")
            return DEFER
        conn._pledge_lod_pending = None
        conn.init()
        conn.parser.unreader.unread(bytes(state.data))
        conn.data_ready = True
        return super().handle(conn)


def _take_buffered(unreader: Any) -> bytes:
    take = getattr(unreader, "take_buffered", None)
    if take is not None:
        return take()
    data = unreader.buf.getvalue()  # pragma: no cover - older gunicorn
    unreader.buf.truncate(0)  # pragma: no cover
    unreader.buf.seek(0)  # pragma: no cover
    return data  # pragma: no cover


def _read_available(sock: socket.socket, into: bytearray, cap: int) -> bool:
    """Append what the socket has, without waiting; True if the peer has closed."""
    while len(into) < cap:
        try:
            chunk = sock.recv(65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True
        if not chunk:
            return True
        into += chunk
    return False


def _refuse(conn: Any, status: int, reason: str) -> bool:
    """Answer an error without waiting for the client, and drop the connection (never a
    graceful close: that would wait for a client that is not listening)."""
    body = f"{status} {reason}\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with contextlib.suppress(OSError):
        conn.sock.send(head + body, socket.MSG_DONTWAIT)
    with contextlib.suppress(OSError):
        conn.sock.shutdown(socket.SHUT_RDWR)
    conn._pledge_lod_pending = None
    return False


def worker_class(read_timeout: float, max_body: int) -> type[BufferingThreadWorker]:
    """The worker class with this deployment's limits."""
    if DEFER is None:  # pragma: no cover - another gunicorn than the locked one
        print("pledge-lod serve: warning: this gunicorn lacks the gthread hand-back that "
              "request buffering needs; slow clients can hold threads", file=sys.stderr)
    return type(
        "PledgeLodWorker",
        (BufferingThreadWorker,),
        {"read_timeout": float(read_timeout), "max_body": int(max_body), "__module__": __name__},
    )
