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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from pyoxigraph import (
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Store,
    Triple,
    Variable,
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
from .validate import Schema, SchemaError, Validator, context_triples, schema_problems
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
    """Loads, maps and validates; shared by ``validate`` (no writes) and ``build``."""

    def __init__(self, settings: Settings, progress: Progress):
        self.settings = settings
        self.iris = v.Iris(settings.base)
        self.timer = _Timer(progress)
        self.result = BuildResult()
        self.mapper = Mapper(self.iris)

    def run(self, nt_out: Path | None) -> tuple[Records, Schema, list[Triple]] | None:
        s, problems = self.settings, self.result.problems
        self.timer.stage(f"reading registries from {s.data_dir}")
        records = load_registries(s.data_dir, problems)
        try:
            schema = Schema.load(s.ontology_dir, s.shapes_dir, self.iris)
        except SchemaError as exc:
            problems.append(
                Problem(str(exc).split(":", 1)[0], "-", "-", str(exc).split(": ", 1)[-1])
            )
            return None
        kos = load_kos(s.data_dir)
        if not kos:
            problems.append(Problem(f"data/{KOS_DIR}", "-", "-", "the UN SDG KOS is missing"))
        registry = list(self.mapper.registries(records))
        located = records.files()
        validator = Validator(schema, self.iris, located, self.mapper.field_of, s.validation_jobs)
        kos_types = _kos_types(kos)
        kos_nt = serialize(kos_types, format=RdfFormat.N_TRIPLES).decode()
        validator.validate_registries(
            serialize(registry, format=RdfFormat.N_TRIPLES).decode(), kos_nt
        )
        self.timer.stage(f"registries: {len(registry)} triples checked")

        used_terms: set[str] = set()
        out = nt_out.open("wb") if nt_out else None
        try:
            if out:
                serialize(registry, out, RdfFormat.N_TRIPLES)
            context = context_triples(registry, kos_types)
            chunks = self._chunks(records, located, used_terms, out)
            validator.validate_chunks(context, chunks)
        finally:
            if out:
                out.close()
        for t in registry:
            _note_terms(t, self.iris.vocab, used_terms)
        problems.extend(validator.problems)
        problems.extend(schema_problems(schema, used_terms, self.iris))
        self.validator = validator
        self.timer.stage(
            f"pledges: {self.result.pledges} mapped and validated"
            + (f", {self.result.drafts} drafts left out" if self.result.drafts else "")
        )
        return records, schema, kos

    def _chunks(
        self,
        records: Records,
        located: dict[str, tuple[str, str]],
        used_terms: set[str],
        out,
    ) -> Iterator[tuple[str, list[str]]]:
        size = max(1, self.settings.validation_chunk)
        seen: dict[str, str] = {}
        batch: list[Triple] = []
        focus: list[str] = []
        problems = self.result.problems
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
            if self.result.pledges < 64 or self.result.pledges % 1000 == 0:
                for t in triples:
                    _note_terms(t, self.iris.vocab, used_terms)
            self.result.pledges += 1
            batch.extend(triples)
            focus.append(triples[0].subject.value)
            if len(focus) >= size:
                yield self._emit(batch, out), focus
                batch, focus = [], []
                if self.result.pledges % (size * 10) == 0:
                    self.timer.stage(f"pledges: {self.result.pledges} mapped")
        if focus:
            yield self._emit(batch, out), focus

    @staticmethod
    def _emit(batch: list[Triple], out) -> str:
        data = serialize(batch, format=RdfFormat.N_TRIPLES)
        if out:
            out.write(data)
        return data.decode()


def _note_terms(t: Triple, vocab: str, used: set[str]) -> None:
    if t.predicate.value.startswith(vocab):
        used.add(t.predicate.value)
    if t.predicate.value == v.RDF_TYPE and t.object.value.startswith(vocab):
        used.add(t.object.value)


def check(settings: Settings, progress: Progress = stderr_progress) -> BuildResult:
    """Everything ``build`` checks, writing nothing."""
    pipeline = _Pipeline(settings, progress)
    pipeline.run(None)
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
        ran = pipeline.run(data_nt)
        result = pipeline.result
        if ran is None or not result.ok:
            pipeline.timer.stage(f"build failed: {len(result.errors)} problems; nothing published")
            return result
        records, schema, kos = ran
        info = _assemble(settings, pipeline, records, schema, kos, data_nt, work)
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
    data_nt: Path,
    work: Path,
) -> layout.ReleaseInfo:
    iris, timer = pipeline.iris, pipeline.timer
    stage_dir = work / "release"
    dumps = stage_dir / layout.DUMPS_DIR
    dumps.mkdir(parents=True)
    graphs = {name: iris.graph(name) for name in ("data", "ontology", "shapes", "sdg-kos", "void")}

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

    store = Store(str(stage_dir / layout.STORE_DIR))
    store.bulk_load(
        path=str(nt_path), format=RdfFormat.N_TRIPLES, to_graph=NamedNode(graphs["data"])
    )
    for name, text in (("ontology", schema.ontology_ttl), ("shapes", schema.shapes_ttl)):
        store.bulk_load(text, format=RdfFormat.N_TRIPLES, to_graph=NamedNode(graphs[name]))
    kos_graph = NamedNode(graphs["sdg-kos"])
    store.bulk_extend(Quad(t.subject, t.predicate, t.object, kos_graph) for t in kos)
    timer.stage("store loaded")

    digest = hashlib.sha256()
    digest.update(iris.base.encode())
    digest.update(schema.digest().encode())
    with nt_path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    release_id = digest.hexdigest()[:16]
    created = _created()

    void_ttl = describe_dataset(store, iris, records.dataset, graphs, created, dumps)
    (stage_dir / layout.VOID_FILE).write_text(void_ttl, encoding="utf-8")
    store.load(void_ttl, format=RdfFormat.TURTLE, to_graph=NamedNode(graphs["void"]))
    (stage_dir / layout.REPORT_FILE).write_text(
        pipeline.validator.report_turtle(), encoding="utf-8"
    )
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
    query = (
        "SELECT DISTINCT ?prefix ?s WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?s), ?prefix)) } "
        "ORDER BY ?s"
    )
    rows = store.query(
        query,
        default_graph=[NamedNode(data_graph)],
        substitutions={Variable("prefix"): Literal(thing_prefix)},
    )
    urls = [f"{iris.base}/"]
    for row in rows:
        urls.append(iris.base + "/doc/" + row["s"].value[len(thing_prefix) :])
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

