"""Build a release: records -> RDF -> SHACL -> dumps, store, VoID/DCAT, sitemap.

The build streams: pledges are read, mapped and written to an N-Triples file chunk by
chunk while the chunks are validated in parallel, so memory stays flat as the data grows.
Nothing is written into the releases folder until everything has passed: the release is
assembled in a temporary directory beside it, renamed into place, and only then is
``current`` switched (one atomic rename). A failed or killed build therefore leaves the
serving release exactly as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
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

from . import __version__
from . import vocab as v
from .config import Settings
from .mapping import Mapper
from .records import Problem, Records
from .sources import iter_pledges, load_registries
from .store import layout
from .validate import (
    Schema,
    SchemaError,
    locate,
    pyshacl_violations,
    report_turtle,
    schema_problems,
    sparql_violations,
)
from .void import describe_dataset

Progress = Callable[[str], None]
KOS_DIR = "sdg-kos"
SITEMAP_LIMIT = 50_000
KEEP_RELEASES = 3


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
    """Loads, maps, stores and validates; shared by ``validate`` and ``build``.

    Pledges stream from the sources through the mapping into an N-Triples file; the file
    is bulk-loaded into an Oxigraph store, on which the compiled SHACL checks run.
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

    def run(
        self, nt_path: Path, store_path: Path
    ) -> tuple[Records, Schema, list[Triple], Store] | None:
        s, problems = self.settings, self.result.problems
        self.timer.stage(f"reading registries from {s.data_dir}")
        records = load_registries(s.data_dir, problems)
        try:
            schema = Schema.load(s.ontology_dir, s.shapes_dir, self.iris)
        except SchemaError as exc:
            file, _, message = str(exc).partition(": ")
            problems.append(Problem(file, "-", "-", message))
            return None
        kos = load_kos(s.data_dir)
        if not kos:
            problems.append(Problem(f"data/{KOS_DIR}", "-", "-", "the UN SDG KOS is missing"))
        located = records.files()
        used_terms: set[str] = set()
        with nt_path.open("wb") as out:
            registry = list(self.mapper.registries(records))
            serialize(registry, out, RdfFormat.N_TRIPLES)
            for t in registry:
                _note_terms(t, self.iris.vocab, used_terms)
            self._map_pledges(located, used_terms, out)
        self.timer.stage(
            f"pledges: {self.result.pledges} mapped"
            + (f", {self.result.drafts} drafts left out" if self.result.drafts else "")
        )

        store = Store(str(store_path))
        store.bulk_load(
            path=str(nt_path), format=RdfFormat.N_TRIPLES, to_graph=NamedNode(self.graphs["data"])
        )
        kos_graph = NamedNode(self.graphs["sdg-kos"])
        store.bulk_extend(Quad(t.subject, t.predicate, t.object, kos_graph) for t in kos)
        self.timer.stage("store loaded")

        # The shapes see the data plus the types of the UN's goals and targets (not the
        # whole KOS, whose concepts are not ours to hold to our shapes).
        context = NamedNode(self.iris.graph("validation-context"))
        store.bulk_extend(Quad(t.subject, t.predicate, t.object, context) for t in _kos_types(kos))
        jobs = s.validation_jobs or os.cpu_count() or 1
        if self.engine == "pyshacl":
            data = nt_path.read_text(encoding="utf-8")
            data += serialize(_kos_types(kos), format=RdfFormat.N_TRIPLES).decode()
            violations = pyshacl_violations(data, schema)
        else:
            violations = sparql_violations(
                store, schema, [self.graphs["data"], context.value], jobs
            )
        store.remove_graph(context)
        problems.extend(locate(violations, located, self.iris))
        problems.extend(schema_problems(schema, used_terms))
        self.timer.stage(f"validated: {len(violations)} violations of the shapes")
        return records, schema, kos, store

    def _map_pledges(self, located: dict[str, tuple[str, str]], used_terms: set[str], out) -> None:
        seen: dict[str, str] = {}
        problems = self.result.problems
        batch: list[Triple] = []
        for pledge in iter_pledges(self.settings.data_dir, problems):
            if pledge.is_draft:
                self.result.drafts += 1
                continue
            if pledge.id in seen:
                problems.append(
                    Problem(pledge.file, pledge.id, "id", f"is also used in {seen[pledge.id]}")
                )
                continue
            seen[pledge.id] = pledge.file
            located[f"pledge/{pledge.id}"] = (pledge.file, pledge.id)
            triples = self.mapper.pledge(pledge, problems)
            if not triples:
                continue
            if self.result.pledges < 64:
                for t in triples:
                    _note_terms(t, self.iris.vocab, used_terms)
            self.result.pledges += 1
            batch.extend(triples)
            if len(batch) >= 50_000:
                serialize(batch, out, RdfFormat.N_TRIPLES)
                batch = []
                if self.result.pledges % 100_000 < 4000:
                    self.timer.stage(f"pledges: {self.result.pledges} mapped")
        serialize(batch, out, RdfFormat.N_TRIPLES)


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
        ran = pipeline.run(Path(tmp) / "data.nt", Path(tmp) / "store")
        if ran is not None:
            del ran  # close the store before its folder goes
        return pipeline.result


def build(
    settings: Settings, progress: Progress = stderr_progress, switch: bool = True
) -> BuildResult:
    """Build a release and (by default) make it current. Publishes nothing on failure."""
    releases = settings.releases_dir
    releases.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=releases))
    try:
        pipeline = _Pipeline(settings, progress)
        data_nt = work / "data.nt"
        stage_dir = work / "release"
        stage_dir.mkdir()
        ran = pipeline.run(data_nt, stage_dir / layout.STORE_DIR)
        result = pipeline.result
        if ran is None or not result.ok:
            pipeline.timer.stage(f"build failed: {len(result.errors)} problems; nothing published")
            return result
        records, schema, kos, store = ran
        del ran
        info = _assemble(settings, pipeline, records, schema, kos, store, data_nt, stage_dir)
        result.release = info
        if switch:
            layout.switch_current(releases, info.id)
            result.switched = True
            _prune(releases, keep=info.id)
        pipeline.timer.stage(f"release {info.id} ready at {info.path}")
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _assemble(
    settings: Settings,
    pipeline: _Pipeline,
    records: Records,
    schema: Schema,
    kos: list[Triple],
    store: Store,
    data_nt: Path,
    stage_dir: Path,
) -> layout.ReleaseInfo:
    iris, timer, graphs = pipeline.iris, pipeline.timer, pipeline.graphs
    dumps = stage_dir / layout.DUMPS_DIR
    dumps.mkdir(parents=True)

    # Dumps: N-Triples as mapped (deterministic order, grouped by subject), the others
    # serialised from it by Oxigraph.
    nt_path = dumps / layout.DUMP_FORMATS["nt"][0]
    shutil.copyfile(data_nt, nt_path)
    prefixes = iris.prefixes()
    for key, fmt in (("ttl", RdfFormat.TURTLE), ("jsonld", RdfFormat.JSON_LD)):
        with (dumps / layout.DUMP_FORMATS[key][0]).open("wb") as out:
            triples = (q.triple for q in parse(path=str(nt_path), format=RdfFormat.N_TRIPLES))
            serialize(triples, out, fmt, prefixes=prefixes)
    for key in layout.DUMP_FORMATS:
        _gzip(dumps / layout.DUMP_FORMATS[key][0])
    timer.stage("dumps written (N-Triples, Turtle, JSON-LD, gzipped)")

    for name, text in (("ontology", schema.ontology_nt), ("shapes", schema.shapes_nt)):
        store.bulk_load(text, format=RdfFormat.N_TRIPLES, to_graph=NamedNode(graphs[name]))

    digest = hashlib.sha256()
    digest.update(iris.base.encode())
    digest.update(schema.source_digest.encode())
    with nt_path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    release_id = digest.hexdigest()[:16]
    created = _created()

    void_ttl = describe_dataset(store, iris, records.dataset, graphs, created, dumps)
    (stage_dir / layout.VOID_FILE).write_text(void_ttl, encoding="utf-8")
    store.load(void_ttl, format=RdfFormat.TURTLE, to_graph=NamedNode(graphs["void"]))
    report = report_turtle(pipeline.result.problems, iris)
    (stage_dir / layout.REPORT_FILE).write_text(report, encoding="utf-8")
    sitemaps = _write_sitemaps(store, iris, graphs["data"], stage_dir)
    store.optimize()
    store.flush()
    del store
    timer.stage("VoID/DCAT, SHACL report and sitemap written")

    counts = {
        "pledges": pipeline.result.pledges,
        "triples": _count_lines(nt_path),
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
        "sitemaps": sitemaps,
        "files": files,
    }
    (stage_dir / layout.MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8"
    )

    final = settings.releases_dir / release_id
    if final.exists():
        timer.stage(f"release {release_id} already exists (same input); reusing it")
    else:
        os.replace(stage_dir, final)
    return layout.read_release(final)


def _created() -> str:
    """Build time, or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() else datetime.now(UTC)
    )
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _gzip(path: Path) -> None:
    """Deterministic gzip: no name, no timestamp in the header."""
    target = path.parent / (path.name + ".gz")
    with (
        path.open("rb") as src,
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
    ):
        shutil.copyfileobj(src, gz, 1 << 20)


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_sitemaps(store: Store, iris: v.Iris, data_graph: str, folder: Path) -> list[str]:
    """sitemap.xml (an index when there are more than 50,000 documents)."""
    thing_prefix = iris.base + "/id/"
    # DISTINCT subjects, filtered and sorted here: a string FILTER per triple in SPARQL
    # costs minutes at a million pledges.
    rows = store.query(
        "SELECT DISTINCT ?s WHERE { ?s ?p ?o }", default_graph=[NamedNode(data_graph)]
    )
    subjects = sorted(
        s.value
        for row in rows
        if isinstance(s := row["s"], NamedNode) and s.value.startswith(thing_prefix)
    )
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
