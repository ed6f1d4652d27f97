"""The pipeline of a build: records -> RDF -> SHACL, streamed into one N-Triples file.

Pledges are read, mapped and written to an N-Triples file file by file while they are
validated in parallel (:mod:`.mapping_workers`), so memory stays flat as the data grows.
The pipeline writes nothing into the releases folder: :mod:`.run` gives it a work folder
and assembles the release from what it hands back (:class:`Mapped`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import NamedNode, Quad, RdfFormat, Store, Triple, parse, serialize

from ..config import Settings
from ..ingest.sources import iter_pledge_files, load_registries
from ..rdf import vocab as v
from ..rdf.mapping import Mapper
from ..records import Problem, Records
from ..release.layout import ReleaseInfo
from ..validation.compiler import UnsupportedShape, predicates_read, run_checks
from ..validation.schema import (
    META_CHECK,
    SHAPES_FILE,
    Schema,
    SchemaError,
    compiled_checks,
    locate,
    pyshacl_violations,
    shapes_problems,
    term_problems,
)
from .cache import BuildCache, FileEntry, code_digest, stat_digest
from .changes import REGISTRIES, ChunkIndex
from .data_file import DataFile, PreviousData
from .graph_stats import GraphStats
from .mapping_workers import Done, FileChecks, map_file, note_terms, ordered_map
from .progress import Progress, Timer, stderr_progress
from .search_mapped import RowsFile
from .store_loader import StoreLoader

KOS_DIR = "sdg-kos"
CACHE_FILE = Path(".cache") / "build.sqlite"
#: The named graphs of a release's store (and of the SPARQL dataset).
GRAPHS = ("data", "ontology", "shapes", "sdg-kos", "void")


@dataclass(frozen=True)
class BuildInputs:
    """The part of the settings a build uses: what it reads, the base of the IRIs it
    mints, where it writes, and how many mapping processes it runs (0: one per CPU)."""

    base: str
    data_dir: Path
    ontology_dir: Path
    shapes_dir: Path
    releases_dir: Path
    jobs: int = 0

    @classmethod
    def of(cls, settings: Settings) -> BuildInputs:
        return cls(
            base=settings.base,
            data_dir=settings.data_dir,
            ontology_dir=settings.ontology_dir,
            shapes_dir=settings.shapes_dir,
            releases_dir=settings.releases_dir,
            jobs=settings.validation_jobs,
        )

    @property
    def processes(self) -> int:
        return self.jobs or os.cpu_count() or 1


@dataclass
class BuildResult:
    problems: list[Problem] = field(default_factory=list)
    release: ReleaseInfo | None = None
    drafts: int = 0
    pledges: int = 0
    switched: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Mapped:
    """What the pipeline hands to the release's assembly once every pledge is mapped:
    the records, the schema, the KOS, the data graph's statistics and the outcome."""

    iris: v.Iris
    records: Records
    schema: Schema
    kos: list[Triple]
    #: None when the build counts the data graph from the previous release's counts
    #: and the changes (:mod:`.release_counts`) instead of adding every file's up.
    stats: GraphStats | None
    triples: int  # of the data graph, added up from each source's count
    result: BuildResult

    @property
    def graphs(self) -> dict[str, str]:
        return {n: self.iris.graph(n) for n in GRAPHS}


@dataclass(frozen=True)
class _Registries:
    """The registries mapped once per build (or taken from the cache), with the KOS."""

    records: Records
    registry_nt: bytes
    kos: list[Triple]
    terms: set[str]


def load_kos(data_dir: Path) -> list[Triple]:
    """The UN SDG KOS shipped in ``data/sdg-kos``, as triples."""
    triples: list[Triple] = []
    for path in sorted((data_dir / KOS_DIR).glob("*.ttl")):
        triples.extend(q.triple for q in parse(path=str(path), format=RdfFormat.TURTLE))
    return triples


def _kos_types(kos: list[Triple]) -> list[Triple]:
    wanted = {v.SDGO + "Goal", v.SDGO + "Target"}
    return [t for t in kos if t.predicate.value == v.RDF_TYPE and t.object.value in wanted]


class Pipeline:
    """Loads, maps and validates; shared by ``validate`` and ``build``.

    Pledges stream from the sources through the mapping into an N-Triples file (and, in
    a build, into the :class:`~.store_loader.StoreLoader` loading the store meanwhile).
    Each file's pledges are validated by the worker process that mapped them, in a small
    in-memory store with the registries and the KOS types (a pledge's constraints read
    only its own triples and the types of what it links to, and pledges add nothing to a
    registry entry; of the registries, only the triples the checks can read), and the
    registries once, here. Chunks of one file validate 4-5 times faster than the same
    checks over the whole on-disk store, in parallel with the reading, and memory stays
    flat. Files unchanged since the last run come from the
    :class:`~.cache.BuildCache` with their violations: a rebuild after one edit reads,
    maps and validates one file.
    """

    def __init__(self, inputs: BuildInputs, progress: Progress, engine: str = "sparql"):
        self.inputs = inputs
        self.engine = engine
        self.iris = v.Iris(inputs.base)
        self.timer = Timer(progress)
        self.result = BuildResult()
        self.mapper = Mapper(self.iris)
        self.graphs = {n: self.iris.graph(n) for n in GRAPHS}
        self.store: Store | None = None
        # Given by ``build``: the child loading the store, fed as the data file is written.
        self.loader: StoreLoader | None = None
        # Of the data graph, added up file by file; None (set by ``build``) when the
        # previous release's counts and the changes will give them (.release_counts).
        self.stats: GraphStats | None = GraphStats()
        self.triples = 0
        # Given by ``build``: the previous release's data, whose unchanged sources are
        # copied into the data file rather than read back from the cache.
        self.copy_from: PreviousData | None = None
        #: Where the mapped pledges' search rows go, when the index will be written
        #: whole (:mod:`.search_mapped`); None: the index reads them from the data.
        self.search_rows: RowsFile | None = None
        self.validated = 0  # pledges validated in this run (the others: from the cache)
        # Called with the SDG KOS once every pledge is mapped (and nothing failed yet):
        # the build starts writing the dumps there (and a first build its search index),
        # while the store is finished.
        self.on_mapped: Callable[[list[Triple]], None] | None = None
        # Where each source's triples lie in the data file: what the release's changes
        # are computed from (.changes).
        self.chunks = ChunkIndex()
        self.located: dict[str, tuple[str, str]] = {}
        # Whether ``located`` gets every pledge too (the registries' entries are always
        # there): for ``diff`` and the pyshacl reference, not for a build, where a
        # million entries cost seconds for nothing.
        self.locate_pledges = engine == "pyshacl"

    def run(self, nt_path: Path) -> Mapped | None:
        inputs, problems = self.inputs, self.result.problems
        self.timer.stage(f"reading registries from {inputs.data_dir}")
        try:
            schema = Schema.load(inputs.ontology_dir, inputs.shapes_dir, self.iris)
        except SchemaError as exc:
            file, _, message = str(exc).partition(": ")
            problems.append(Problem(file, "-", "-", message))
            return None
        registry_files = sorted(p for p in inputs.data_dir.glob("*.yaml") if p.is_file())
        registry_files += sorted((inputs.data_dir / KOS_DIR).glob("*.ttl"))
        # Every cached artefact is keyed by all it depends on: the mapped registries and a
        # file's mapped pledges by the base and the code (and the files), the violations
        # also by the shapes, the ontology and the registries.
        code = code_digest()
        registry_key = f"{code}|{self.iris.base}|{stat_digest(registry_files)}"
        context = hashlib.sha256(f"{schema.source_digest}|{registry_key}".encode()).hexdigest()
        mapping = hashlib.sha256(
            f"{code}|{self.iris.base}|{inputs.data_dir.resolve()}".encode()
        ).hexdigest()
        cache = BuildCache(inputs.releases_dir / CACHE_FILE, context, mapping)
        try:
            return self._run(nt_path, schema, cache, registry_key)
        finally:
            cache.close()

    def _run(
        self, nt_path: Path, schema: Schema, cache: BuildCache, registry_key: str
    ) -> Mapped | None:
        problems = self.result.problems
        registries = self._registries(cache, registry_key)
        kos_types = serialize(_kos_types(registries.kos), format=RdfFormat.N_TRIPLES)
        located = registries.records.files()
        self.located = located  # kind/id -> (file, id), the pledges' added as mapped
        checks = None
        if self.engine == "sparql":
            compiled = self._checks(schema, cache, registries.registry_nt, kos_types, located)
            if compiled is None:
                return None
            checks = compiled
        used_terms = set(registries.terms)
        out = DataFile(nt_path, self.chunks, self.loader)
        try:
            self.chunks.start(REGISTRIES)
            out.write(registries.registry_nt)
            violations = self._map_pledges(located, used_terms, out, cache, checks)
        finally:
            out.close()
            if self.search_rows is not None:
                self.search_rows.close()
        if self.loader is not None:
            self.loader.finish()
        self._say_mapped(checks is not None)
        problems.extend(violations)
        if self.on_mapped is not None and self.result.ok:
            self.on_mapped(registries.kos)
        if self.engine == "pyshacl":  # the reference: one run over everything
            data = nt_path.read_bytes() + kos_types
            found = pyshacl_violations(data.decode("utf-8"), schema)
            problems.extend(locate(found, located, self.iris))
            self.timer.stage(f"validated all {self.result.pledges} pledges with pyshacl")
        problems.extend(term_problems(schema, used_terms))
        problems.extend(self._shapes_problems(schema, cache))
        return Mapped(self.iris, registries.records, schema, registries.kos, self.stats,
                      self.triples, self.result)  # fmt: skip

    @staticmethod
    def _shapes_problems(schema: Schema, cache: BuildCache) -> list[Problem]:
        """Whether the shapes are valid SHACL, checked once per version of the shapes."""
        key = f"{schema.source_digest}|{META_CHECK}"
        found = cache.shapes_problems(key)
        if found is None:
            found = shapes_problems(schema)
            cache.set_shapes_problems(key, found)
        return found

    def _registries(self, cache: BuildCache, registry_key: str) -> _Registries:
        """The registries, mapped, or from the cache when no registry file changed."""
        data_dir, problems = self.inputs.data_dir, self.result.problems
        cached = cache.get_registry(registry_key)
        if cached is None:
            registry_problems: list[Problem] = []
            records = load_registries(data_dir, registry_problems)
            kos = load_kos(data_dir)
            registry = list(self.mapper.registries(records))
            registry_nt = serialize(registry, format=RdfFormat.N_TRIPLES)
            terms: set[str] = set()
            for t in registry:
                note_terms(t, self.iris.vocab, terms)
            kos_nt = serialize(kos, format=RdfFormat.N_TRIPLES)
            registry_stats = GraphStats()
            registry_stats.add(registry_nt)
            cached = (records, registry_problems, registry_nt, kos_nt, terms, registry_stats)
            cache.put_registry(registry_key, cached)
        records, registry_problems, registry_nt, kos_nt, terms, registry_stats = cached
        if self.stats is not None:
            self.stats.merge(registry_stats)
        self.triples += registry_stats.triples
        problems.extend(registry_problems)
        kos = [q.triple for q in parse(kos_nt, format=RdfFormat.N_TRIPLES)]
        if not kos:
            problems.append(Problem(f"data/{KOS_DIR}", "-", "-", "the UN SDG KOS is missing"))
        return _Registries(records, registry_nt, kos, terms)

    def _checks(
        self,
        schema: Schema,
        cache: BuildCache,
        registry_nt: bytes,
        kos_types: bytes,
        located: dict[str, tuple[str, str]],
    ) -> FileChecks | None:
        """Compile the shapes, validate the registries (or reuse their findings), and
        return what the mapping workers need to check a file's pledges; None when the
        shapes cannot be compiled (a problem on the shapes file says why)."""
        problems = self.result.problems
        # The registries (with the KOS types) in a store of their own, made only if the
        # checks must be compiled or the registries validated: at a million pledges the
        # registries are 50 MB of N-Triples, seconds to load for a rebuild that finds
        # both in the cache.
        made: list[Store] = []

        def context() -> Store:
            if not made:
                made.append(Store())
                made[0].bulk_load(registry_nt + kos_types, format=RdfFormat.N_TRIPLES)
            return made[0]

        # Compiling parses the shapes' SPARQL with rdflib (seconds): once per context
        # (the shapes, the registries, the base and the code), with the classes a
        # pledge is an instance of.
        cached = cache.compiled()
        if isinstance(cached, tuple) and len(cached) == 2:
            compiled, pledge_classes = cached
        else:
            try:
                compiled = compiled_checks(context(), schema)
            except UnsupportedShape as exc:
                shapes = str(self.inputs.shapes_dir / SHAPES_FILE)
                problems.append(Problem(shapes, "-", "-", f"cannot be compiled: {exc}"))
                return None
            pledge_classes = self._pledge_classes(context())
            cache.set_compiled((compiled, pledge_classes))
        # The registries' findings depend only on the cache's context (registries,
        # shapes, base): a rebuild after a pledge edit reuses them.
        found = cache.registry_violations()
        if found is None:
            checked = run_checks(context(), compiled, None, self.inputs.processes)
            found = locate(checked, located, self.iris)
            cache.set_registry_violations(found)
            said = "validated the registries"
        else:
            said = "registries unchanged since the last build: their findings reused"
        problems.extend(found)
        # A file's pledges need only the checks a pledge can be the focus of: the
        # shapes targeting pl:Pledge or a class it is declared a subclass of.
        for_pledges = [c for c in compiled if pledge_classes.intersection(c.targets)]
        self.timer.stage(said)
        return FileChecks(
            registry_nt, kos_types, for_pledges, self.iris.base, predicates_read(for_pledges)
        )

    def _pledge_classes(self, context: Store) -> set[str]:
        """pl:Pledge and every class the registries declare it a subclass of."""
        pledge = self.iris.term("Pledge")
        return {pledge} | {
            row["c"].value
            for row in context.query(
                f"SELECT ?c WHERE {{ <{pledge}> "
                "<http://www.w3.org/2000/01/rdf-schema#subClassOf>+ ?c }"
            )
        }

    def _say_mapped(self, validated: bool) -> None:
        unchanged = self.result.pledges - self.validated
        self.timer.stage(
            f"pledges: {self.result.pledges} mapped"
            + (f"; {self.validated} validated" if validated else "")
            + (f", {unchanged} unchanged since the last build" if validated and unchanged else "")
            + (f", {self.result.drafts} drafts left out" if self.result.drafts else "")
        )

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
        out: DataFile,
        cache: BuildCache,
        checks: FileChecks | None,
    ) -> list[Problem]:
        """Read, map and (given ``checks``) validate the pledge files, several at a time
        in worker processes, writing N-Triples in file order so that the output is the
        same whatever the parallelism. Unchanged files come from the cache, their bytes
        from the previous release's data file when it holds them. Returns the pledges'
        violations."""
        seen: dict[str, str] = {}
        violations: list[Problem] = []
        files = iter_pledge_files(self.inputs.data_dir)
        jobs = min(self.inputs.processes, max(1, len(files) // 4))
        tasks = (self._task(path, cache, checks) for path in files)
        for path, entry, fresh in ordered_map(map_file, tasks, jobs, checks):
            if fresh:
                cache.store(path, entry)
            key = str(path.relative_to(self.inputs.data_dir))
            ids = [pid for pid, _ in entry.ids]
            whole = len(set(ids)) == len(ids) and not seen.keys() & set(ids)
            self.chunks.start(  # every pledge written: the digest the entry holds
                key, entry.digest if (whole or entry.nts is None) and entry.digest else None
            )
            dropped = self._take(entry, seen, located, fresh and bool(checks), whole)
            if entry.nts is None and self.copy_from is not None:
                out.copy(self.copy_from, *(self.copy_from.span(key, entry.digest) or (0, 0)))
            else:
                out.write(b"".join(nt for pid, _, nt in entry.pledges if pid not in dropped))
                if self.search_rows is not None and entry.rows is not None and not dropped:
                    self.search_rows.add(key, entry.rows)
            used_terms.update(entry.terms)
            if checks is not None and entry.violations is not None:
                # A record whose id another file took is not in the data: nor its findings.
                violations += [p for p in entry.violations if p.record not in dropped]
        self.chunks.finish()
        cache.prune({str(p) for p in files})
        return violations

    def _task(
        self, path: Path, cache: BuildCache, checks: FileChecks | None
    ) -> tuple[Path, Path, str, FileEntry | None, bool] | Done:
        """A file's work: none when its entry is complete in the cache (its bytes then
        copied from the previous release's data file, or read from the cache), else a
        worker's (mapping, or validating again under other shapes or registries)."""
        cached = cache.lookup(path)
        done = cached is not None and (cached.violations is not None or checks is None)
        key = str(path.relative_to(self.inputs.data_dir))
        copied = (
            done and self.stats is None and self.copy_from is not None and cached.digest
            and self.copy_from.span(key, cached.digest) is not None
        )  # fmt: skip
        if cached is not None and not copied and not cache.complete(path, cached):
            cached, done = None, False  # its triples are lost: map the file again
        if done:
            return Done((path, cached, False))  # no worker needed: megabytes less to copy
        return (path, self.inputs.data_dir, self.iris.base, cached, self.search_rows is not None)

    def _take(
        self,
        entry: FileEntry,
        seen: dict[str, str],
        located: dict[str, tuple[str, str]],
        validated: bool,
        whole: bool,
    ) -> set[str]:
        """Note one file's pledges, in order; returns the ids another file took first
        (left out of the data, and the build fails). ``whole``: no id of the file is
        used twice, in it or before it."""
        self.result.problems.extend(entry.problems)
        self.result.drafts += entry.drafts
        kept = 0
        dropped: set[str] = set()
        if whole and not self.locate_pledges:  # the usual case, at a million pledges
            seen.update(entry.ids)
            kept = len(entry.ids)
        for pid, file in () if kept else entry.ids:
            if pid in seen:
                self.result.problems.append(
                    Problem(file, pid, "id", f"is also used in {seen[pid]}")
                )
                dropped.add(pid)
                continue
            seen[pid] = file
            if self.locate_pledges:
                located[f"pledge/{pid}"] = (file, pid)
            kept += 1
        before = self.result.pledges
        self.result.pledges += kept
        if before // 100_000 != self.result.pledges // 100_000:
            self.timer.stage(f"pledges: {self.result.pledges} mapped")
        if validated:
            self.validated += kept
        if not dropped:  # else the build fails: its statistics are not needed
            self.triples += entry.triples
            if self.stats is not None and entry.stats is not None:
                self.stats.merge(entry.stats)
        return dropped


def check(
    inputs: BuildInputs, progress: Progress = stderr_progress, engine: str = "sparql"
) -> BuildResult:
    """Everything ``build`` checks, writing nothing. ``engine="pyshacl"`` validates with
    one whole-graph pyshacl run, the reference the compiled engine is held to."""
    with tempfile.TemporaryDirectory(prefix="pledge-lod-check-") as tmp:
        pipeline = Pipeline(inputs, progress, engine)
        pipeline.run(Path(tmp) / "data.nt")
        return pipeline.result
