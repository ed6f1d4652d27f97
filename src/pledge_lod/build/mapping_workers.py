"""The build's mapping workers: each reads one pledge file, maps and validates it.

A build hands every changed pledge file to a pool of worker processes
(:func:`ordered_map`), in order and with a bounded number in flight. A worker reads the
file, maps its records to N-Triples and validates them in a small in-memory store of
their own with only the registry entries they reach (:class:`RegistryIndex`), so
validation runs beside the reading, in parallel, and memory stays flat at any size.
"""

from __future__ import annotations

import contextlib
import gc
import pickle
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyoxigraph import RdfFormat, Store, Triple, serialize

from ..ingest.sources import read_pledge_file
from ..rdf import vocab as v
from ..rdf.mapping import Mapper
from ..records import Problem
from ..validation.compiler import Check, run_checks
from ..validation.schema import locate
from .cache import FileEntry
from .changes import chunk_digest
from .graph_stats import GraphStats
from .search_rows import triple_rows


@dataclass(frozen=True)
class FileChecks:
    """What a mapping worker needs to validate a file's pledges: the registries and the
    KOS types as N-Triples, the compiled checks, the base of the IRIs, and the predicates
    the checks read (None: any)."""

    registry_nt: bytes
    kos_nt: bytes
    checks: list[Check]
    base: str
    predicates: frozenset[str] | None


class RegistryIndex:
    """The registries' triples by subject, so that a file's pledges are validated with
    only the registry entries they reach (the registries grow with the data: at a
    million pledges they hold 300,000 triples, too many to load again for every file).

    Given ``predicates``, only the triples the checks can read are indexed: about a
    third of the registries' (types and schemes, not names and links), which makes each
    file's validation store smaller and a worker's validation about a fifteenth faster."""

    def __init__(self, registry_nt: bytes, predicates: frozenset[str] | None):
        # By the N-Triples text of the terms: registry_nt is Oxigraph's N-Triples, one
        # triple a line, the subject before the first space, the predicate after it.
        wanted = None if predicates is None else {f"<{p}>".encode() for p in predicates}
        self.lines: dict[bytes, list[bytes]] = {}
        self.links: dict[bytes, list[bytes]] = {}
        for line in registry_nt.splitlines(keepends=True):
            subject, predicate, _ = line.split(b" ", 2)
            if wanted is not None and predicate not in wanted:
                continue
            self.lines.setdefault(subject, []).append(line)
            if linked := _OBJECT_NODE.search(line):
                self.links.setdefault(subject, []).append(linked.group(1))

    def reached_from(self, pledges_nt: bytes) -> bytes:
        """Every registry triple whose subject the pledges reach, directly or through
        other registry entries (a shape may read a place's country, say)."""
        todo = _OBJECT_NODE.findall(pledges_nt)
        seen: set[bytes] = set()
        while todo:
            node = todo.pop()
            if node in seen or node not in self.lines:
                continue
            seen.add(node)
            todo.extend(self.links.get(node, ()))
        return b"".join(line for node in sorted(seen) for line in self.lines[node])


# The object of an N-Triples line when it is an IRI or a blank node: a literal's datatype
# IRI follows "^^", not a space, and a literal's own line breaks are escaped.
_OBJECT_NODE = re.compile(rb' (<[^<>"\s]*>|_:\S+) \.$', re.MULTILINE)
_MAPPERS: dict[str, Mapper] = {}
_CHECKS: FileChecks | None = None  # set in each worker process by init_worker
_INDEX: RegistryIndex | None = None  # made from _CHECKS when a worker first needs it


def init_worker(checks: FileChecks | None) -> None:
    global _CHECKS, _INDEX
    _CHECKS, _INDEX = checks, None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while one file is mapped.

    A file makes hundreds of thousands of small objects (YAML nodes, triples, lines)
    that live until its entry is returned and hold no cycles, so every collection the
    allocations trigger scans them, and the registry index, in vain: 1-3 % of a
    worker's time, measured per file. The collector runs again between files."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@gc_paused()
def map_file(
    task: tuple[Path, Path, str, FileEntry | None, bool],
) -> tuple[Path, FileEntry, bool]:
    """Read one pledge file, map its records and validate them (top level: runs in worker
    processes). Returns the path, its entry, and whether the entry is new (not all from
    the cache). A cached entry comes here only to be validated again (the shapes or the
    registries changed): a complete one is used as it is, without a worker. The task's
    last item: whether to make the pledges' search rows too (:mod:`.search_mapped`)."""
    path, data_dir, base, cached, with_rows = task
    if cached is not None and _CHECKS is not None:
        cached.violations = validate_file(cached, _CHECKS)
        return path, cached, True
    mapper = _MAPPERS.get(base) or _MAPPERS.setdefault(base, Mapper(v.Iris(base)))
    problems: list[Problem] = []
    entry = FileEntry([], problems, 0, set())
    rows: list = []
    for pledge in read_pledge_file(path, data_dir, problems):
        if pledge.is_draft:
            entry.drafts += 1
            continue
        triples = mapper.pledge(pledge, problems)
        if not triples:
            continue
        if len(entry.ids) < 4:
            for t in triples:
                note_terms(t, mapper.iris.vocab, entry.terms)
        entry.add(pledge.id, pledge.file, serialize(triples, format=RdfFormat.N_TRIPLES))
        if with_rows:
            rows += triple_rows(triples, mapper.iris)
    if with_rows:
        entry.rows = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
    data = b"".join(entry.nts or ())
    stats = GraphStats()
    stats.add(data)
    entry.stats, entry.triples = stats, stats.triples
    entry.digest = chunk_digest(data)
    if _CHECKS is not None:
        entry.violations = validate_file(entry, _CHECKS)
    return path, entry, True


def validate_file(entry: FileEntry, checks: FileChecks) -> list[Problem]:
    """The violations of one file's pledges, checked in a store of their own with the
    registries and KOS types; findings about registry entries are left to the build's
    one run over the registries."""
    global _INDEX
    located: dict[str, tuple[str, str]] = {}
    parts = []
    for pid, file, nt in entry.pledges:
        if f"pledge/{pid}" in located:
            continue  # a second record with the id: the build reports it and leaves it out
        located[f"pledge/{pid}"] = (file, pid)
        parts.append(nt)
    if not located:
        return []
    if _INDEX is None or _CHECKS is not checks:
        _INDEX = RegistryIndex(checks.registry_nt, checks.predicates)
    pledges_nt = b"".join(parts)
    store = Store()
    # ``load``, not ``bulk_load``: for an in-memory store of a file's few thousand triples
    # it is a fifth faster. Lenient: every line was written by Oxigraph's serialiser from
    # terms it had already checked, so checking the IRIs again finds nothing.
    store.load(
        checks.kos_nt + _INDEX.reached_from(pledges_nt) + pledges_nt,
        format=RdfFormat.N_TRIPLES,
        lenient=True,
    )
    iris = v.Iris(checks.base)
    prefix = iris.base + "/id/"
    mine = [
        found
        for found in run_checks(store, checks.checks, None, 1)
        if found.focus.startswith(prefix) and found.focus[len(prefix) :] in located
    ]
    return locate(mine, located, iris)


@dataclass(frozen=True)
class Done:
    """A task whose result is known without a worker."""

    result: Any


def ordered_map(
    func: Callable[[Any], Any], tasks: Iterable[Any], jobs: int, checks: FileChecks | None
) -> Iterator[Any]:
    """Like ``map`` over a process pool, in order, with a bounded number of tasks in
    flight so that memory stays flat however many files there are. Every worker gets
    ``checks`` once, when it starts. A :class:`Done` task is its own result."""
    if jobs <= 1:
        previous = _CHECKS
        init_worker(checks)
        try:
            yield from (t.result if isinstance(t, Done) else func(t) for t in tasks)
        finally:
            init_worker(previous)
        return
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=init_worker, initargs=(checks,)
    ) as pool:
        pending: deque[Future] = deque()
        for task in tasks:
            if isinstance(task, Done):
                future: Future = Future()
                future.set_result(task.result)
            else:
                future = pool.submit(func, task)
            pending.append(future)
            if len(pending) >= jobs * 4:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def note_terms(t: Triple, vocab: str, used: set[str]) -> None:
    """Remember which project terms the data uses, to check the ontology defines them."""
    if t.predicate.value.startswith(vocab):
        used.add(t.predicate.value)
    if t.predicate.value == v.RDF_TYPE and t.object.value.startswith(vocab):
        used.add(t.object.value)
