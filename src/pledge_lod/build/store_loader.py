"""The release store, bulk-loaded while the pledges are still being mapped.

Oxigraph's bulk loader reads N-Triples from a stream, so it need not wait for the whole
file: :class:`StoreLoader` runs it in a child process reading a FIFO, and the build
writes every mapped line both to the data file and into the FIFO. At a million pledges
loading takes minutes of CPU, which would otherwise start only when the last file is
mapped; this way it fills the gaps the mapping workers leave and the rest is all that
is left to wait for.

The FIFO makes the two sides pace each other: when the loader falls behind, the build's
writes wait (a pipe holds 64 KiB), and when the loader fails, they fail with
``BrokenPipeError`` and :meth:`StoreLoader.wait` reports the loader's own message.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import NamedNode, RdfFormat, Store

from .child import BackgroundError, BackgroundJob

#: How long the loader may take to open its end of the FIFO.
OPEN_TIMEOUT_S = 60.0


def load_store(fifo: Path, store_path: Path, graph: str) -> None:
    """Bulk-load the N-Triples arriving on ``fifo`` into ``graph`` of a new store."""
    store = Store(str(store_path))
    store.bulk_load(path=str(fifo), format=RdfFormat.N_TRIPLES, to_graph=NamedNode(graph))
    store.flush()


class StoreLoader:
    """A child process loading the store from a FIFO; :attr:`pipe` is the writing end."""

    def __init__(self, fifo: Path, store_path: Path, graph: str):
        os.mkfifo(fifo, 0o600)
        self.fifo = fifo
        self.job = BackgroundJob("loading the store", load_store, fifo, store_path, graph)
        self.pipe: BinaryIO | None = self._open_pipe()
        self.broken = False

    def _open_pipe(self) -> BinaryIO:
        # Opening a FIFO to write blocks until a reader opens it; without O_NONBLOCK a
        # loader that died before opening would hang the build.
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while True:
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise
            if not self.job.alive() or time.monotonic() > deadline:
                self.job.cancel()
                self.job.wait()  # raises with the loader's exit code
                raise BackgroundError("loading the store failed: it never read its input")
            time.sleep(0.005)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "wb", buffering=1 << 20)

    def write(self, data: bytes) -> None:
        """Pass ``data`` on; after the loader failed, drop it (:meth:`wait` reports why)."""
        if self.pipe is None or self.broken:
            return
        try:
            self.pipe.write(data)
        except BrokenPipeError:
            self.broken = True

    def finish(self) -> None:
        """Close the writing end: the loader reads to the end and stops."""
        pipe, self.pipe = self.pipe, None
        if pipe is not None:
            try:
                pipe.close()
            except BrokenPipeError:
                self.broken = True

    def wait(self) -> None:
        """Wait for the store to be complete; raises :class:`BackgroundError` if not."""
        self.finish()
        self.job.wait()
        if self.broken:  # pragma: no cover - a loader that exits 0 read everything
            raise BackgroundError("loading the store failed: it stopped reading its input")

    def cancel(self) -> None:
        pipe, self.pipe = self.pipe, None
        self.job.cancel()
        if pipe is not None:
            with contextlib.suppress(OSError):  # the loader is gone: nothing to flush to
                pipe.close()
