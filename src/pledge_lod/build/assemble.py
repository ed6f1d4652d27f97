"""Assembling a release from what the pipeline mapped: the store's other graphs, the
sitemap, the dumps, VoID/DCAT, the SHACL report and the manifest, then one rename.

The release is assembled in the build's work folder and renamed into the releases
folder only when every file is written, so a release folder is always complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, Store

from .. import __version__
from ..release import layout
from ..release.search_index import INDEX_VERSION
from ..validation.schema import report_turtle
from . import endpoint_dataset
from .changes import CHUNKS_FILE, Changeset, ChunkIndex, VersionPlan, created_now, write_changeset
from .dump_segments import SEGMENTS_VERSION, SegmentIndex, stamp
from .graph_stats import GraphCounts, GraphStats
from .pipeline import KOS_DIR, BuildInputs, Mapped
from .progress import Timer
from .release_counts import counted
from .release_counts import save as save_counts
from .search import Since, release_search_index
from .sitemap import sitemaps_after, write_sitemaps
from .void import DatasetCounts, describe_dataset


@dataclass(frozen=True)
class Staged:
    """A release being assembled: its folder in the build's work folder, its id, the
    mapped N-Triples, and a call that returns once the dumps are written."""

    folder: Path
    release_id: str
    data_nt: Path
    dumps_written: Callable[[], None]
    #: Where each source's triples lie in ``data_nt``, and the changes they make
    #: against the latest version, as it will be numbered once published.
    chunks: ChunkIndex | None = None
    changeset: Changeset | None = None
    plan: VersionPlan | None = None
    #: False for a store made from the previous one (.incremental_store): a compaction
    #: would rewrite every file it shares with that store, the cost of a full load.
    compact: bool = True
    #: The data graph's counts (.release_counts), and its statistics if they were
    #: gathered whole (else the sitemap is the previous release's plus the changes).
    counts: GraphCounts | None = None
    stats: GraphStats | None = None
    #: A call that returns the search index's progress line once the index is written,
    #: if it is being written beside the build (.search_job); else it is written here.
    search_written: Callable[[], str] | None = None

    @property
    def dumps(self) -> Path:
        return self.folder / layout.DUMPS_DIR


def assemble(
    mapped: Mapped, staged: Staged, store: Store, releases_dir: Path, timer: Timer
) -> layout.ReleaseInfo:
    """Write the rest of the release beside its store, then move it into place."""
    graphs = mapped.graphs
    # The store's other graphs, the sitemap and the store's compaction first: the dumps
    # are being written meanwhile, in the writer's process.
    for name, text in (
        ("ontology", mapped.schema.ontology_nt),
        ("shapes", mapped.schema.shapes_nt),
    ):
        store.bulk_load(text, format=RdfFormat.N_TRIPLES, to_graph=NamedNode(graphs[name]))
    sitemaps = _sitemaps(mapped, staged, releases_dir)
    if staged.compact:
        store.optimize()
    timer.stage("sitemap written" + (", store compacted" if staged.compact else ""))

    # N-Triples as mapped (deterministic order, grouped by subject), the other formats
    # serialised from it.
    staged.dumps_written()
    segments = SegmentIndex.read(staged.folder, stamp(mapped.iris.prefixes(), graphs["data"]))
    copied = (
        f", {segments.copied} of {len(segments.digests)} sources copied from the previous release"
        if segments is not None and segments.copied
        else ""
    )
    timer.stage(f"dumps written (N-Triples, Turtle, JSON-LD, gzipped){copied}")

    # The release's date, which its changeset states too: after the latest version's.
    created = staged.plan.created if staged.plan is not None else created_now()
    if staged.chunks is not None and staged.changeset is not None:
        started = time.perf_counter()
        staged.chunks.save(staged.folder / CHUNKS_FILE)
        number = staged.plan.number if staged.plan else 1
        write_changeset(staged.folder, staged.changeset, staged.release_id, (number, created))
        timer.stage(f"changeset written in {time.perf_counter() - started:.2f} s")

    dataset = _describe_and_dump(mapped, staged, store, created)
    report = report_turtle(mapped.result.problems, mapped.iris)
    (staged.folder / layout.REPORT_FILE).write_text(report, encoding="utf-8")
    store.flush()
    del store
    timer.stage("VoID/DCAT and SHACL report written")
    # The search index last: nothing above reads it, and the child writing it has the
    # changeset's minutes (one core, at a first version) to finish in.
    timer.stage(staged.search_written() if staged.search_written is not None else
                release_search_index(staged.folder, staged.data_nt, mapped.kos, mapped.iris,
                                     Since(releases_dir, staged.changeset, staged.chunks)))

    known = {**_linked(staged, releases_dir), **(segments.sha256 if segments else {})}
    manifest = _manifest(mapped, staged, created, sitemaps, dataset, known)
    (staged.folder / layout.MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8"
    )
    final = releases_dir / staged.release_id
    os.replace(staged.folder, final)
    save_counts(releases_dir, staged.release_id, _counts(staged))
    return layout.read_release(final)


def _linked(staged: Staged, releases_dir: Path) -> dict[str, str]:
    """The digests of the files this release shares with the previous one (hard links,
    as of an unchanged sitemap): the previous manifest's, not a second read."""
    changeset = staged.changeset
    if changeset is None or not changeset.previous_release:
        return {}
    previous = releases_dir / changeset.previous_release
    try:
        files = json.loads((previous / layout.MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    known = {}
    for rel, entry in files.items():
        mine = staged.folder / rel
        try:
            if isinstance(entry, dict) and os.path.samefile(mine, previous / rel):
                known[rel] = str(entry["sha256"])
        except (OSError, KeyError):
            continue
    return known


def _counts(staged: Staged) -> GraphCounts:
    if staged.counts is None:  # pragma: no cover - the build always gives them
        raise RuntimeError("a release assembled without its data graph's counts")
    return staged.counts


def _sitemaps(mapped: Mapped, staged: Staged, releases_dir: Path) -> list[str]:
    """The sitemap: the previous release's plus the changed documents when the data
    graph was not counted whole, else every subject with a page."""
    changeset = staged.changeset
    if staged.stats is None and changeset is not None and changeset.previous_release:
        previous = releases_dir / changeset.previous_release
        written = sitemaps_after(previous, changeset, mapped.iris, staged.folder)
        if written is not None:
            return written
    stats = staged.stats
    if stats is None:  # the previous sitemap is gone: count the data file
        stats = counted(staged.data_nt, staged.chunks.chunks if staged.chunks else {})
    return write_sitemaps(stats.documents(mapped.iris.base + "/id/"), mapped.iris, staged.folder)


def _describe_and_dump(
    mapped: Mapped, staged: Staged, store: Store, created: str
) -> DatasetCounts:
    """VoID last: it gives the dumps' sizes, and the counts of every graph, its own
    included (:mod:`.endpoint_dataset`). Then the whole dataset, VoID included, is
    dumped. Returns the counts VoID states."""
    graphs = mapped.graphs
    schema = mapped.schema
    small = endpoint_dataset.small_graphs(schema.ontology_nt, schema.shapes_nt, mapped.kos)

    def void_with(counts: DatasetCounts) -> str:
        return describe_dataset(
            _counts(staged), mapped.iris, mapped.records.dataset, created, staged.dumps, counts,
            staged.plan,
        )  # fmt: skip

    void_ttl, dataset, void = endpoint_dataset.describe(
        store, graphs, _counts(staged).triples, small, void_with
    )
    (staged.folder / layout.VOID_FILE).write_text(void_ttl, encoding="utf-8")
    store.load(void_ttl, format=RdfFormat.TURTLE, to_graph=NamedNode(graphs["void"]))
    small["void"] = void
    endpoint_dataset.dump(graphs, small, staged.dumps, mapped.iris.prefixes())
    return dataset


def _manifest(
    mapped: Mapped,
    staged: Staged,
    created: str,
    sitemaps: list[str],
    dataset: DatasetCounts,
    known: dict[str, str],
) -> dict:
    """The release's manifest. ``known``: the digests of files hashed as they were
    written (the dumps: gigabytes at a million pledges, not read again)."""
    records = mapped.records
    counts = {
        "pledges": mapped.result.pledges,
        "triples": _counts(staged).triples,  # as VoID and the store count them
        "places": len(records.places),
        "agents": len(records.agents),
        "programmes": len(records.programmes),
        "concepts": len(records.concepts),
        "drafts": mapped.result.drafts,
    }
    files = {}
    for path in sorted(staged.folder.rglob("*")):
        if path.is_file() and layout.STORE_DIR not in path.relative_to(staged.folder).parts:
            rel = str(path.relative_to(staged.folder))
            files[rel] = {"bytes": path.stat().st_size, "sha256": known.get(rel) or _sha256(path)}
    return {
        "format": layout.FORMAT_VERSION,
        "id": staged.release_id,
        "base": mapped.iris.base,
        "created": created,
        "generator": f"pledge-lod {__version__}",
        "counts": counts,
        "graphs": mapped.graphs,
        "dataset": {
            "triples": dataset.triples,
            "default_graph_triples": dataset.default_graph_triples,
            "quads": dataset.quads,
        },
        "sitemaps": sitemaps,
        "files": files,
        **({"version": staged.plan.manifest()} if staged.plan is not None else {}),
    }


def release_id(inputs: BuildInputs, mapped: Mapped, chunks: ChunkIndex) -> str:
    """A digest of everything a release is made from: the same input, the same id. The
    data file counts by the digest of each source's bytes in it, taken as it was
    written (:class:`.changes.ChunkIndex`): gigabytes are not read again."""
    digest = hashlib.sha256()
    base = inputs.base.rstrip("/")
    digest.update(f"{__version__}|{base}|{mapped.schema.source_digest}".encode())
    digest.update(f"|search-index-{INDEX_VERSION}|segments-{SEGMENTS_VERSION}|".encode())
    chunks.finish()
    digest.update(json.dumps(sorted(chunks.chunks.items())).encode())
    extra = [inputs.data_dir / "dataset.yaml", *sorted((inputs.data_dir / KOS_DIR).glob("*"))]
    for path in extra:
        if path.is_file():
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
