"""Build a release: records -> RDF -> SHACL -> dumps, store, VoID/DCAT, sitemap.

The build streams: pledges are read, mapped and written to an N-Triples file chunk by
chunk while the chunks are validated in parallel, so memory stays flat as the data grows.
Nothing is written into the releases folder until everything has passed: the release is
assembled in a temporary directory beside it, renamed into place, and only then is
``current`` switched (one atomic rename). A failed or killed build therefore leaves the
serving release exactly as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from pyoxigraph import (
    NamedNode,
    Quad,
    RdfFormat,
    Store,
    Triple,
    parse,
    serialize,
)

from . import __version__, endpoint_dataset
from . import vocab as v
from .cache import BuildCache, FileEntry, code_digest, stat_digest
from .config import Settings
from .dumps import DumpWriter, write_dumps
from .graph_stats import GraphStats
from .loading import StoreLoader
from .mapping import Mapper
from .records import Problem, Records
from .shacl import Check, UnsupportedShape, predicates_read, run_checks
from .sources import iter_pledge_files, load_registries, read_pledge_file
from .store import layout
from .validate import (
    SHAPES_FILE,
    Schema,
    SchemaError,
    compiled_checks,
    locate,
    pyshacl_violations,
    report_turtle,
    schema_problems,
)
from .void import describe_dataset

Progress = Callable[[str], None]
KOS_DIR = "sdg-kos"
CACHE_FILE = Path(".cache") / "build.sqlite"
SITEMAP_LIMIT = 50_000
KEEP_RELEASES = 3
BUILD_PREFIX = ".build-"
BUILD_LOCK = ".lock"


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class BuildResult:
    problems: list[Problem] = field(default_factory=list)
    release: layout.ReleaseInfo | None = None
    drafts: int = 0
    pledges: int = 0
    switched: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Timer:
    def __init__(self, progress: Progress):
        self.progress = progress
        self.started = time.monotonic()
        self.stage_started = self.started

    def stage(self, message: str) -> None:
        now = time.monotonic()
        self.progress(f"[{now - self.started:7.1f}s] {message}")
        self.stage_started = now


def load_kos(data_dir: Path) -> list[Triple]:
    """The UN SDG KOS shipped in ``data/sdg-kos``, as triples."""
    triples: list[Triple] = []
    for path in sorted((data_dir / KOS_DIR).glob("*.ttl")):
        triples.extend(q.triple for q in parse(path=str(path), format=RdfFormat.TURTLE))
    return triples


def _kos_types(kos: list[Triple]) -> list[Triple]:
    wanted = {v.SDGO + "Goal", v.SDGO + "Target"}
    return [t for t in kos if t.predicate.value == v.RDF_TYPE and t.object.value in wanted]


class _Pipeline:
    """Loads, maps and validates; shared by ``validate`` and ``build``.

    Pledges stream from the sources through the mapping into an N-Triples file (and, in
    a build, into the :class:`~.loading.StoreLoader` loading the store meanwhile). Each
    file's pledges are validated by the worker process that mapped them, in a small
    in-memory store with the registries and the KOS types (a pledge's constraints read
    only its own triples and the types of what it links to, and pledges add nothing to a
    registry entry; of the registries, only the triples the checks can read), and the
    registries once, here. Chunks of one file validate 4-5 times faster than the same
    checks over the whole on-disk store, in parallel with the reading, and memory stays
    flat. Files unchanged since the last run come from the
    :class:`~.cache.BuildCache` with their violations: a rebuild after one edit reads,
    maps and validates one file.
    """

    def __init__(self, settings: Settings, progress: Progress, engine: str = "sparql"):
        self.settings = settings
        self.engine = engine
        self.iris = v.Iris(settings.base)
        self.timer = _Timer(progress)
        self.result = BuildResult()
        self.mapper = Mapper(self.iris)
        self.graphs = {
            n: self.iris.graph(n) for n in ("data", "ontology", "shapes", "sdg-kos", "void")
        }
        self.store: Store | None = None
        # Given by ``build``: the child loading the store, fed as the data file is written.
        self.loader: StoreLoader | None = None
        self.stats = GraphStats()  # of the data graph, added up file by file
        self.validated = 0  # pledges validated in this run (the others: from the cache)
        # Called once every pledge is mapped (and nothing failed yet): the build starts
        # writing the dumps there, while the store is finished.
        self.on_mapped: Callable[[], None] | None = None

    def run(self, nt_path: Path) -> tuple[Records, Schema, list[Triple]] | None:
        s, problems = self.settings, self.result.problems
        self.timer.stage(f"reading registries from {s.data_dir}")
        try:
            schema = Schema.load(s.ontology_dir, s.shapes_dir, self.iris)
        except SchemaError as exc:
            file, _, message = str(exc).partition(": ")
            problems.append(Problem(file, "-", "-", message))
            return None
        registry_files = sorted(p for p in s.data_dir.glob("*.yaml") if p.is_file())
        registry_files += sorted((s.data_dir / KOS_DIR).glob("*.ttl"))
        # Every cached artefact is keyed by all it depends on: the mapped registries and a
        # file's mapped pledges by the base and the code (and the files), the violations
        # also by the shapes, the ontology and the registries.
        code = code_digest()
        registry_key = f"{code}|{self.iris.base}|{stat_digest(registry_files)}"
        context = hashlib.sha256(f"{schema.source_digest}|{registry_key}".encode()).hexdigest()
        mapping = hashlib.sha256(
            f"{code}|{self.iris.base}|{s.data_dir.resolve()}".encode()
        ).hexdigest()
        cache = BuildCache(s.releases_dir / CACHE_FILE, context, mapping)
        try:
            return self._run(nt_path, schema, cache, registry_key)
        finally:
            cache.close()

    def _run(
        self, nt_path: Path, schema: Schema, cache: BuildCache, registry_key: str
    ) -> tuple[Records, Schema, list[Triple]] | None:
        s, problems = self.settings, self.result.problems
        cached = cache.get_registry(registry_key)
        if cached is None:
            registry_problems: list[Problem] = []
            records = load_registries(s.data_dir, registry_problems)
            kos = load_kos(s.data_dir)
            registry = list(self.mapper.registries(records))
            registry_nt = serialize(registry, format=RdfFormat.N_TRIPLES)
            terms: set[str] = set()
            for t in registry:
                _note_terms(t, self.iris.vocab, terms)
            kos_nt = serialize(kos, format=RdfFormat.N_TRIPLES)
            registry_stats = GraphStats()
            registry_stats.add(registry_nt)
            cached = (records, registry_problems, registry_nt, kos_nt, terms, registry_stats)
            cache.put_registry(registry_key, cached)
        records, registry_problems, registry_nt, kos_nt, used_terms, registry_stats = cached
        self.stats.merge(registry_stats)
        used_terms = set(used_terms)
        problems.extend(registry_problems)
        kos = [q.triple for q in parse(kos_nt, format=RdfFormat.N_TRIPLES)]
        if not kos:
            problems.append(Problem(f"data/{KOS_DIR}", "-", "-", "the UN SDG KOS is missing"))
        located = records.files()
        kos_types = serialize(_kos_types(kos), format=RdfFormat.N_TRIPLES)
        checks = None
        if self.engine == "sparql":
            # The registries (with the KOS types) once, here; then the same checks go to
            # the mapping workers for the pledges.
            context = Store()
            context.bulk_load(registry_nt + kos_types, format=RdfFormat.N_TRIPLES)
            try:
                compiled = compiled_checks(context, schema)
            except UnsupportedShape as exc:
                shapes = str(s.shapes_dir / SHAPES_FILE)
                problems.append(Problem(shapes, "-", "-", f"cannot be compiled: {exc}"))
                return None
            # The registries' findings depend only on the cache's context (registries,
            # shapes, base): a rebuild after a pledge edit reuses them.
            found = cache.registry_violations()
            if found is None:
                jobs = s.validation_jobs or os.cpu_count() or 1
                found = locate(run_checks(context, compiled, None, jobs), located, self.iris)
                cache.set_registry_violations(found)
                said = "validated the registries"
            else:
                said = "registries unchanged since the last build: their findings reused"
            problems.extend(found)
            # A file's pledges need only the checks a pledge can be the focus of: the
            # shapes targeting pl:Pledge or a class it is declared a subclass of.
            pledge = self.iris.term("Pledge")
            pledge_classes = {pledge} | {
                row["c"].value
                for row in context.query(
                    f"SELECT ?c WHERE {{ <{pledge}> "
                    "<http://www.w3.org/2000/01/rdf-schema#subClassOf>+ ?c }"
                )
            }
            for_pledges = [c for c in compiled if pledge_classes.intersection(c.targets)]
            checks = _FileChecks(
                registry_nt, kos_types, for_pledges, self.iris.base, predicates_read(for_pledges)
            )
            self.timer.stage(said)
        with nt_path.open("wb") as out:
            loader = self.loader

            def write(data: bytes) -> None:
                out.write(data)
                if loader is not None:
                    loader.write(data)

            write(registry_nt)
            violations = self._map_pledges(located, used_terms, write, cache, checks)
        if self.loader is not None:
            self.loader.finish()
        unchanged = self.result.pledges - self.validated
        self.timer.stage(
            f"pledges: {self.result.pledges} mapped"
            + (f"; {self.validated} validated" if checks else "")
            + (f", {unchanged} unchanged since the last build" if checks and unchanged else "")
            + (f", {self.result.drafts} drafts left out" if self.result.drafts else "")
        )
        problems.extend(violations)
        if self.on_mapped is not None and self.result.ok:
            self.on_mapped()
        if self.engine == "pyshacl":  # the reference: one run over everything
            data = nt_path.read_bytes() + kos_types
            found = pyshacl_violations(data.decode("utf-8"), schema)
            problems.extend(locate(found, located, self.iris))
            self.timer.stage(f"validated all {self.result.pledges} pledges with pyshacl")
        problems.extend(schema_problems(schema, used_terms))
        return records, schema, kos

    def store_for(self, store_path: Path, kos: list[Triple]) -> Store:
        """The release store, once the loader has read every mapped triple, with the KOS."""
        if self.store is None:
            if self.loader is None:
                raise RuntimeError("the store is loaded only by a build")  # pragma: no cover
            self.loader.wait()
            store = Store(str(store_path))
            kos_graph = NamedNode(self.graphs["sdg-kos"])
            store.bulk_extend(Quad(t.subject, t.predicate, t.object, kos_graph) for t in kos)
            self.store = store
            self.timer.stage("store loaded")
        return self.store

    def _map_pledges(
        self,
        located: dict[str, tuple[str, str]],
        used_terms: set[str],
        write: Callable[[bytes], None],
        cache: BuildCache,
        checks: _FileChecks | None,
    ) -> list[Problem]:
        """Read, map and (given ``checks``) validate the pledge files, several at a time
        in worker processes, writing N-Triples in file order so that the output is the
        same whatever the parallelism. Unchanged files come from the cache. Returns the
        pledges' violations."""
        seen: dict[str, str] = {}
        problems = self.result.problems
        violations: list[Problem] = []
        files = iter_pledge_files(self.settings.data_dir)
        jobs = min(self.settings.validation_jobs or os.cpu_count() or 1, max(1, len(files) // 4))

        def task(path: Path) -> tuple[Path, Path, str, FileEntry | None] | _Done:
            cached = cache.lookup(path)
            if cached is not None and (cached.violations is not None or checks is None):
                return _Done((path, cached, False))  # no worker needed: megabytes less to copy
            return (path, self.settings.data_dir, self.iris.base, cached)

        tasks = (task(path) for path in files)
        for path, entry, fresh in _ordered_map(_map_file, tasks, jobs, checks):
            if fresh:
                cache.store(path, entry)
            kept = 0
            problems.extend(entry.problems)
            self.result.drafts += entry.drafts
            used_terms.update(entry.terms)
            dropped: set[str] = set()
            for pid, file, nt in entry.pledges:
                if pid in seen:
                    problems.append(Problem(file, pid, "id", f"is also used in {seen[pid]}"))
                    dropped.add(pid)
                    continue
                seen[pid] = file
                located[f"pledge/{pid}"] = (file, pid)
                write(nt)
                kept += 1
                self.result.pledges += 1
                if self.result.pledges % 100_000 == 0:
                    self.timer.stage(f"pledges: {self.result.pledges} mapped")
            if fresh and checks is not None:
                self.validated += kept
            if not dropped:  # else the build fails: its statistics are not needed
                self.stats.merge(entry.stats)
            if checks is not None and entry.violations is not None:
                # A record whose id another file took is not in the data: nor its findings.
                violations += [p for p in entry.violations if p.record not in dropped]
        cache.prune({str(p) for p in files})
        return violations


@dataclass(frozen=True)
class _FileChecks:
    """What a mapping worker needs to validate a file's pledges: the registries and the
    KOS types as N-Triples, the compiled checks, the base of the IRIs, and the predicates
    the checks read (None: any)."""

    registry_nt: bytes
    kos_nt: bytes
    checks: list[Check]
    base: str
    predicates: frozenset[str] | None


class _RegistryIndex:
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
_CHECKS: _FileChecks | None = None  # set in each worker process by _init_worker
_INDEX: _RegistryIndex | None = None  # made from _CHECKS when a worker first needs it


def _init_worker(checks: _FileChecks | None) -> None:
    global _CHECKS, _INDEX
    _CHECKS, _INDEX = checks, None


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
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


@_gc_paused()
def _map_file(task: tuple[Path, Path, str, FileEntry | None]) -> tuple[Path, FileEntry, bool]:
    """Read one pledge file, map its records and validate them (top level: runs in worker
    processes). Returns the path, its entry, and whether the entry is new (not all from
    the cache). A cached entry comes here only to be validated again (the shapes or the
    registries changed): a complete one is used as it is, without a worker."""
    path, data_dir, base, cached = task
    if cached is not None and _CHECKS is not None:
        cached.violations = _validate_file(cached, _CHECKS)
        return path, cached, True
    mapper = _MAPPERS.get(base) or _MAPPERS.setdefault(base, Mapper(v.Iris(base)))
    problems: list[Problem] = []
    entry = FileEntry([], problems, 0, set())
    for pledge in read_pledge_file(path, data_dir, problems):
        if pledge.is_draft:
            entry.drafts += 1
            continue
        triples = mapper.pledge(pledge, problems)
        if not triples:
            continue
        if len(entry.pledges) < 4:
            for t in triples:
                _note_terms(t, mapper.iris.vocab, entry.terms)
        nt = serialize(triples, format=RdfFormat.N_TRIPLES)
        entry.pledges.append((pledge.id, pledge.file, nt))
    entry.stats.add(b"".join(nt for _, _, nt in entry.pledges))
    if _CHECKS is not None:
        entry.violations = _validate_file(entry, _CHECKS)
    return path, entry, True


def _validate_file(entry: FileEntry, checks: _FileChecks) -> list[Problem]:
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
        _INDEX = _RegistryIndex(checks.registry_nt, checks.predicates)
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
class _Done:
    """A task whose result is known without a worker."""

    result: Any


def _ordered_map(
    func: Callable[[Any], Any], tasks: Iterable[Any], jobs: int, checks: _FileChecks | None
) -> Iterator[Any]:
    """Like ``map`` over a process pool, in order, with a bounded number of tasks in
    flight so that memory stays flat however many files there are. Every worker gets
    ``checks`` once, when it starts. A :class:`_Done` task is its own result."""
    if jobs <= 1:
        previous = _CHECKS
        _init_worker(checks)
        try:
            yield from (t.result if isinstance(t, _Done) else func(t) for t in tasks)
        finally:
            _init_worker(previous)
        return
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker, initargs=(checks,)
    ) as pool:
        pending: deque[Future] = deque()
        for task in tasks:
            if isinstance(task, _Done):
                future: Future = Future()
                future.set_result(task.result)
            else:
                future = pool.submit(func, task)
            pending.append(future)
            if len(pending) >= jobs * 4:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _note_terms(t: Triple, vocab: str, used: set[str]) -> None:
    """Remember which project terms the data uses, to check the ontology defines them."""
    if t.predicate.value.startswith(vocab):
        used.add(t.predicate.value)
    if t.predicate.value == v.RDF_TYPE and t.object.value.startswith(vocab):
        used.add(t.object.value)


def check(
    settings: Settings, progress: Progress = stderr_progress, engine: str = "sparql"
) -> BuildResult:
    """Everything ``build`` checks, writing nothing. ``engine="pyshacl"`` validates with
    one whole-graph pyshacl run, the reference the compiled engine is held to."""
    with tempfile.TemporaryDirectory(prefix="pledge-lod-check-") as tmp:
        pipeline = _Pipeline(settings, progress, engine)
        pipeline.run(Path(tmp) / "data.nt")
        return pipeline.result


def build(
    settings: Settings, progress: Progress = stderr_progress, switch: bool = True
) -> BuildResult:
    """Build a release and (by default) make it current. Publishes nothing on failure."""
    releases = settings.releases_dir
    releases.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(releases)
    work = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=releases))
    lock = _hold_lock(work)
    writer: DumpWriter | None = None
    loader: StoreLoader | None = None
    try:
        pipeline = _Pipeline(settings, progress)
        data_nt = work / "data.nt"
        stage_dir = work / "release"
        stage_dir.mkdir()
        loader = StoreLoader(
            work / "data.fifo", stage_dir / layout.STORE_DIR, pipeline.graphs["data"]
        )
        pipeline.loader = loader

        def start_dumps() -> None:
            nonlocal writer
            writer = DumpWriter(data_nt, stage_dir / layout.DUMPS_DIR, pipeline.iris.prefixes())

        pipeline.on_mapped = start_dumps
        ran = pipeline.run(data_nt)
        result = pipeline.result
        if ran is None or not result.ok:
            pipeline.timer.stage(f"build failed: {len(result.errors)} problems; nothing published")
            return result
        records, schema, kos = ran
        release_id = _release_id(settings, schema, data_nt)
        existing = settings.releases_dir / release_id
        try:
            info = layout.read_release(existing)
            pipeline.timer.stage(f"release {release_id} already exists (same input); reusing it")
        except layout.ReleaseError:
            shutil.rmtree(existing, ignore_errors=True)  # damaged: make it again
            store = pipeline.store_for(stage_dir / layout.STORE_DIR, kos)
            pipeline.store = None
            info = _assemble(
                settings,
                pipeline,
                records,
                schema,
                kos,
                store,
                data_nt,
                stage_dir,
                release_id,
                writer,
            )
        result.release = info
        if switch:
            layout.switch_current(releases, info.id)
            result.switched = True
            _prune(releases, keep=info.id)
        pipeline.timer.stage(f"release {info.id} ready at {info.path}")
        return result
    finally:
        for child in (writer, loader):
            if child is not None:
                child.cancel()
        shutil.rmtree(work, ignore_errors=True)
        os.close(lock)


def _assemble(
    settings: Settings,
    pipeline: _Pipeline,
    records: Records,
    schema: Schema,
    kos: list[Triple],
    store: Store,
    data_nt: Path,
    stage_dir: Path,
    release_id: str,
    writer: DumpWriter | None,
) -> layout.ReleaseInfo:
    iris, timer, graphs = pipeline.iris, pipeline.timer, pipeline.graphs
    dumps = stage_dir / layout.DUMPS_DIR
    # The store's other graphs, the sitemap and the store's compaction first: the dumps
    # are being written meanwhile, in the writer's process.
    for name, text in (("ontology", schema.ontology_nt), ("shapes", schema.shapes_nt)):
        store.bulk_load(text, format=RdfFormat.N_TRIPLES, to_graph=NamedNode(graphs[name]))
    sitemaps = _write_sitemaps(pipeline.stats, iris, stage_dir)
    store.optimize()
    timer.stage("sitemap written, store compacted")

    # N-Triples as mapped (deterministic order, grouped by subject), the other formats
    # serialised from it.
    if writer is None:
        write_dumps(data_nt, dumps, iris.prefixes())
    else:
        writer.wait()
    timer.stage("dumps written (N-Triples, Turtle, JSON-LD, gzipped)")

    # VoID last: it gives the dumps' sizes, and the counts of every graph, its own
    # included (endpoint_dataset). Then the whole dataset, VoID included, is dumped.
    created = _created()
    void_ttl, dataset = endpoint_dataset.describe(
        store,
        graphs,
        pipeline.stats.triples,
        lambda counts: describe_dataset(
            pipeline.stats, iris, records.dataset, created, dumps, counts
        ),
    )
    (stage_dir / layout.VOID_FILE).write_text(void_ttl, encoding="utf-8")
    store.load(void_ttl, format=RdfFormat.TURTLE, to_graph=NamedNode(graphs["void"]))
    endpoint_dataset.dump(store, graphs, data_nt, dumps, iris.prefixes())
    report = report_turtle(pipeline.result.problems, iris)
    (stage_dir / layout.REPORT_FILE).write_text(report, encoding="utf-8")
    store.flush()
    del store
    timer.stage("VoID/DCAT and SHACL report written")

    counts = {
        "pledges": pipeline.result.pledges,
        "triples": pipeline.stats.triples,  # as VoID and the store count them
        "places": len(records.places),
        "agents": len(records.agents),
        "programmes": len(records.programmes),
        "concepts": len(records.concepts),
        "drafts": pipeline.result.drafts,
    }
    files = {}
    for path in sorted(stage_dir.rglob("*")):
        if path.is_file() and layout.STORE_DIR not in path.relative_to(stage_dir).parts:
            rel = str(path.relative_to(stage_dir))
            files[rel] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    manifest = {
        "format": layout.FORMAT_VERSION,
        "id": release_id,
        "base": iris.base,
        "created": created,
        "generator": f"pledge-lod {__version__}",
        "counts": counts,
        "graphs": graphs,
        "dataset": {
            "triples": dataset.triples,
            "default_graph_triples": dataset.default_graph_triples,
            "quads": dataset.quads,
        },
        "sitemaps": sitemaps,
        "files": files,
    }
    (stage_dir / layout.MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8"
    )

    final = settings.releases_dir / release_id
    os.replace(stage_dir, final)
    return layout.read_release(final)


def _release_id(settings: Settings, schema: Schema, data_nt: Path) -> str:
    """A digest of everything a release is made from: the same input, the same id."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}|{settings.base.rstrip('/')}|{schema.source_digest}".encode())
    extra = [settings.data_dir / "dataset.yaml", *sorted((settings.data_dir / KOS_DIR).glob("*"))]
    for path in [*extra, data_nt]:
        if path.is_file():
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def _created() -> str:
    """Build time, or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() else datetime.now(UTC)
    )
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_sitemaps(stats: GraphStats, iris: v.Iris, folder: Path) -> list[str]:
    """sitemap.xml (an index when there are more than 50,000 documents)."""
    thing_prefix = iris.base + "/id/"
    subjects = stats.documents(thing_prefix)
    urls = [f"{iris.base}/"]
    urls += [iris.base + "/doc/" + s[len(thing_prefix) :] for s in subjects]
    parts = [urls[i : i + SITEMAP_LIMIT] for i in range(0, len(urls), SITEMAP_LIMIT)]
    names = []
    if len(parts) == 1:
        (folder / layout.SITEMAP_FILE).write_text(_urlset(parts[0]), encoding="utf-8")
        return [layout.SITEMAP_FILE]
    maps = folder / "sitemaps"
    maps.mkdir()
    for n, part in enumerate(parts, 1):
        name = f"sitemaps/sitemap-{n}.xml"
        (folder / name).write_text(_urlset(part), encoding="utf-8")
        names.append(name)
    index = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    index += [f"  <sitemap><loc>{escape(iris.base + '/' + n)}</loc></sitemap>" for n in names]
    index.append("</sitemapindex>\n")
    (folder / layout.SITEMAP_FILE).write_text("\n".join(index), encoding="utf-8")
    return [layout.SITEMAP_FILE, *names]


def _urlset(urls: list[str]) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    lines += [f"  <url><loc>{escape(u)}</loc></url>" for u in urls]
    lines.append("</urlset>\n")
    return "\n".join(lines)


def _hold_lock(work: Path) -> int:
    """Lock the build's temporary folder for as long as this process (or its dump
    writer) lives: the kernel drops the lock when they die, however they die."""
    fd = os.open(work / BUILD_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _remove_stale_builds(releases: Path) -> None:
    """Remove the temporary folders of builds that were killed: their lock is free.
    (A folder without a lock file is one made in the instant before its lock was taken,
    or by an older version; it is left alone for an hour.)"""
    for work in releases.glob(BUILD_PREFIX + "*"):
        if not work.is_dir() or work.is_symlink():
            continue
        try:
            fd = os.open(work / BUILD_LOCK, os.O_RDWR)
        except FileNotFoundError:
            if time.time() - work.stat().st_mtime > 3600:
                shutil.rmtree(work, ignore_errors=True)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a running build
        finally:
            os.close(fd)
        shutil.rmtree(work, ignore_errors=True)


def _prune(releases: Path, keep: str) -> None:
    """Keep the newest few releases (for rollback); remove older ones and stale temp dirs."""
    candidates = sorted(
        (
            p
            for p in releases.iterdir()
            if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
        ),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in candidates[KEEP_RELEASES:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
