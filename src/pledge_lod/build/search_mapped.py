"""A whole write's search rows, made where the pledges are mapped.

A whole write used to read every row back from the data file: at 1M, 3.2 GB of
N-Triples scanned by a regular expression and grouped again, about 90 s of CPU in two
worker processes, the larger part of the index's cost (bench/RESULTS.md, issue 17 whole
write). The mapping workers hold each pledge's triples as they make them, so when a
build will write its index whole (a first build), they read the rows from those
triples (:func:`.search_rows.triple_rows`: the rows the reader makes of their lines) and
hand them back pickled with the file's N-Triples; the build appends each file's to a
side file, in the data file's order (:class:`RowsFile`). The index child then takes
each source's rows from that file, and reads from the data file only the sources
without them (the registries, a file whose entry came from the cache):
:func:`rows_by_source`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

T = TypeVar("T")
#: A span of the data file (offset, length) read back as rows.
SpanReader = Callable[[int, int], Iterable[T]]


class RowsFile:
    """The side file the build appends each mapped source's pickled rows to, in the
    order its N-Triples are written to the data file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._out: BinaryIO | None = path.open("wb")

    def add(self, key: str, rows: bytes) -> None:
        """The rows (pickled by the mapping worker) of the source ``key``."""
        if self._out is not None:
            pickle.dump((key, rows), self._out, protocol=pickle.HIGHEST_PROTOCOL)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def rows_by_source(
    rows_file: Path, size: int, chunks: Iterable[tuple[str, int, int]], read: SpanReader[T]
) -> Iterator[T]:
    """The rows of a data file of ``size`` bytes whose sources lie at ``chunks`` (key,
    offset, length), in the file's order: a source's from ``rows_file`` when it has a
    record there, else ``read`` from its span, as is any byte no chunk covers."""
    at = 0
    with rows_file.open("rb") as f:
        record = _record(f)
        for key, offset, length in sorted(chunks, key=lambda c: c[1]):
            if offset > at:
                yield from read(at, offset - at)
            if record is not None and record[0] == key:
                yield from pickle.loads(record[1])
                record = _record(f)
            elif length:
                yield from read(offset, length)
            at = max(at, offset + length)
    if at < size:
        yield from read(at, size - at)


def _record(f: BinaryIO) -> tuple[str, bytes] | None:
    try:
        return pickle.load(f)
    except EOFError:
        return None
