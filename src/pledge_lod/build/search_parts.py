"""The search index's rows read in worker processes, part by part of the data file.

Reading the rows is Python (regular expressions and a row per resource and language),
60% of a whole write's CPU at 1M (bench/RESULTS.md, issue 17), and every resource's rows
depend on its own lines only, which the build writes (nearly) together. So the file is
cut into parts where the resource being read changes, worker processes read the parts,
and their rows come back in the file's order: the rows one reader makes, in its order.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO, TypeVar

from .child import _die_with_parent as die_with_parent

T = TypeVar("T")
#: About this many bytes of N-Triples a part: a part's rows are a few MB in memory, and
#: the parts are many enough for the workers to share the file evenly.
PART_BYTES = 32 << 20


def parts(path: Path, workers: int, wanted: re.Pattern[bytes]) -> list[tuple[int, int]]:
    """(offset, length) of the file's parts, in order, covering it whole; at least
    ``workers`` of them when the file has that many resources. ``wanted``: the lines
    the reader reads (:func:`.search_lines.nt_facts`)."""
    total = path.stat().st_size
    count = max(workers, -(-total // PART_BYTES))
    cuts = [0]
    with path.open("rb") as f:
        for i in range(1, count):
            at = _cut(f, total * i // count, wanted)
            if at is not None and cuts[-1] < at < total:
                cuts.append(at)
    cuts.append(total)
    return [(a, b - a) for a, b in pairwise(cuts)]


def _cut(f: BinaryIO, offset: int, wanted: re.Pattern[bytes]) -> int | None:
    """Where a part may start after ``offset``: at a line the reader reads whose subject
    differs from the one of the line it read before. The reader groups the lines it
    reads by subject, and the file is not strictly grouped (a concept's definition
    follows its scheme's ``skos:hasTopConcept`` line, which the reader skips): a cut
    between two lines of one subject would split that resource's rows."""
    f.seek(offset)
    f.readline()  # the rest of the line ``offset`` falls in
    start, previous = f.tell(), b""
    while block := f.read(1 << 20):
        end = block.rfind(b"\n") + 1
        if end == 0:  # one line longer than the block
            block += f.readline()
            end = len(block)
        f.seek(start + end)
        for m in wanted.finditer(block, 0, end):
            line = block.rfind(b"\n", 0, m.start()) + 1
            subject = block[line:m.start()]
            if previous and subject != previous and _plain(subject) and _plain(previous):
                return start + line
            previous = subject
        start += end
    return None


def _plain(subject: bytes) -> bool:
    """An IRI as the reader compares it without parsing the line (no escapes)."""
    return subject[:1] == b"<" and b" " not in subject and b"\\" not in subject


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` forked processes, each dying with its caller (as the build's children
    do); used as a context manager, which waits for them.

    Forked: the caller is best one without threads, as the build's index child is
    (:mod:`.search_job`), and the workers are forked at the first task, so before the
    index writer starts threads of its own (:func:`in_order` submits at once)."""
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"),
        initializer=die_with_parent, initargs=(os.getpid(),),
    )  # fmt: skip


def in_order(
    pool: ProcessPoolExecutor, read: Callable[..., list[T]], tasks: list[tuple], workers: int
) -> Iterator[T]:  # fmt: skip
    """``read(*task)`` of each task in the ``pool``'s ``workers``, the results in the
    tasks' order; a few tasks ahead of the one being consumed, so that memory stays
    bounded when the consumer (Tantivy) is the slower side. The first tasks are
    submitted here, before the caller's first ``next()``."""
    pending: deque[Future[list[T]]] = deque()
    later = iter(tasks)
    for task in later:
        pending.append(pool.submit(read, *task))
        if len(pending) > workers:
            break
    return _results(pool, pending, later, read)


def _results(
    pool: ProcessPoolExecutor, pending: deque[Future[list[T]]], later: Iterator[tuple],
    read: Callable[..., list[T]],
) -> Iterator[T]:  # fmt: skip
    while pending:
        done = pending.popleft().result()
        task = next(later, None)
        if task is not None:
            pending.append(pool.submit(read, *task))
        yield from done
