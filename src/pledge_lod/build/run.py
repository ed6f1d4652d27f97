"""``build``: a release from the sources, made current only when it is complete.

The release is assembled in a locked work folder beside the releases
(:mod:`.releases_folder`), renamed into place, and only then is ``current`` switched
(one atomic rename): a failed or killed build leaves the serving release exactly as it
was. Child processes keep both cores busy: one loads the store while the pledges
are mapped (:mod:`.store_loader`), one writes the dumps once they are (:mod:`.dumps`),
one the search index once their changes are known (:mod:`.search_job`), or, for a first
version, which has no index to start from, as soon as they are mapped.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from pyoxigraph import Store, Triple

from ..release import layout
from ..release.history import latest_release_folder
from .assemble import Staged, assemble, release_id
from .changes import Changeset, changeset_for, plan, record
from .data_file import PreviousData
from .dumps import DumpJob, DumpWriter, write_dumps
from .graph_stats import GraphCounts, GraphStats
from .incremental_store import Checkpoint, previous_store, seeded_store
from .pipeline import BuildInputs, BuildResult, Mapped, Pipeline
from .progress import Progress, stderr_progress
from .release_counts import counted, counts_after, saved
from .releases_folder import Retention, new_work_folder, prune
from .search import Since
from .search_job import SearchIndexJob
from .search_mapped import RowsFile
from .store_loader import StoreLoader


class _Children:
    """The build's child processes: the store loader, and the dump writer once every
    pledge is mapped. Cancelled together when the build ends, however it ends."""

    def __init__(self, pipeline: Pipeline, work: Path, stage: Path):
        self.data_nt = work / "data.nt"
        self.stage = stage
        self.pipeline = pipeline
        self.writer: DumpWriter | None = None
        self.search: SearchIndexJob | None = None
        # With the latest version's store at hand, the new one is that store plus the
        # changes (.incremental_store), and no loader competes with the mapping.
        self.previous = previous_store(
            pipeline.inputs.releases_dir, pipeline.iris.base, pipeline.graphs
        )
        self.loader = None
        if self.previous is None:
            self.loader = StoreLoader(
                work / "data.fifo", stage / layout.STORE_DIR, pipeline.graphs["data"]
            )
        pipeline.loader = self.loader
        pipeline.on_mapped = self.start_dumps
        # With the latest version's store, its data file and its counts at hand, the
        # unchanged sources are copied from that data file (.data_file) and the data
        # graph's counts are that release's plus the changes (.release_counts).
        self.counts: GraphCounts | None = None
        self.checkpoint: Checkpoint | None = None
        if self.previous is not None:
            # The previous store's checkpoint, made now, while the disk is idle.
            self.checkpoint = Checkpoint(self.previous, stage / layout.STORE_DIR)
            self.counts = saved(pipeline.inputs.releases_dir, self.previous.release_id)
            pipeline.copy_from = PreviousData.open(self.previous.store_path.parent)
        if self.counts is not None:
            pipeline.stats = None
        # Without the latest version's store there is no index to start from either:
        # the mapping workers make the search rows of a whole write (.search_mapped).
        self.rows: RowsFile | None = None
        if self.previous is None:
            self.rows = pipeline.search_rows = RowsFile(work / "search-rows.pickle")
        self.first = latest_release_folder(pipeline.inputs.releases_dir) is None

    def dump_job(self) -> DumpJob:
        """The dumps of the mapped data, copying what did not change from the latest
        version's release (:mod:`.dump_segments`)."""
        pipeline = self.pipeline
        return DumpJob(
            self.data_nt, dict(pipeline.chunks.chunks), self.stage, pipeline.iris.prefixes(),
            pipeline.graphs["data"], latest_release_folder(pipeline.inputs.releases_dir),
        )  # fmt: skip

    def start_dumps(self, kos: list[Triple]) -> None:
        self.writer = DumpWriter(self.dump_job())
        if self.first:
            # A first version: no index to start from, nor changes to wait for. Written
            # whole from now, beside the changes, which take one core for minutes at 1M.
            self.start_search(kos, None)

    def start_search(self, kos: list[Triple], changeset: Changeset | None) -> None:
        """Start writing the search index, from the previous version's plus the
        changes when it can be (:mod:`.search`)."""
        pipeline = self.pipeline
        since = Since(pipeline.inputs.releases_dir, changeset, pipeline.chunks)
        rows = self.rows.path if self.rows is not None else None
        self.search = SearchIndexJob(self.stage, self.data_nt, kos, pipeline.iris, since, rows)

    def dumps_written(self) -> None:
        """Wait for the writer (or write the dumps here, if it never started)."""
        if self.writer is None:
            write_dumps(self.dump_job())
        else:
            self.writer.wait()

    def store(self, pipeline: Pipeline, mapped: Mapped, changeset: Changeset) -> tuple[Store, bool]:
        """The release store: the previous one plus the changes, or loaded in full;
        and whether it was loaded in full (then worth compacting)."""
        if self.previous is None or self.checkpoint is None:
            return pipeline.store_for(self.stage / layout.STORE_DIR, mapped.kos), True
        return seeded_store(
            self.previous, self.checkpoint, self.data_nt, changeset, mapped, pipeline.timer
        )

    def graph_counts(
        self, mapped: Mapped, changeset: Changeset, store: Store
    ) -> tuple[GraphCounts, GraphStats | None]:
        """The data graph's counts, and its statistics if they had to be gathered whole."""
        pipeline = self.pipeline
        if mapped.stats is not None:
            return mapped.stats.counts(), mapped.stats
        started = time.perf_counter()
        previous = self.previous.release_id if self.previous is not None else None
        counts = None
        if self.counts is not None and changeset.previous_release == previous:
            counts = counts_after(self.counts, changeset, store, mapped.graphs["data"])
        if counts is not None and counts.triples == mapped.triples:
            took = time.perf_counter() - started
            pipeline.timer.stage(f"data graph counted from release {previous}'s counts "
                                 f"plus the changes in {took:.2f} s")  # fmt: skip
            return counts, None
        stats = counted(self.data_nt, pipeline.chunks.chunks)
        pipeline.timer.stage(f"data graph counted whole in {time.perf_counter() - started:.2f} s")
        return stats.counts(), stats

    def cancel(self) -> None:
        if self.checkpoint is not None:
            self.checkpoint.wait()  # before the work folder goes
        if self.pipeline.copy_from is not None:
            self.pipeline.copy_from.close()
            self.pipeline.copy_from = None
        for child in (self.writer, self.loader, self.search):
            if child is not None:
                child.cancel()


def build(
    inputs: BuildInputs,
    progress: Progress = stderr_progress,
    switch: bool = True,
    keep: Retention | None = None,
) -> BuildResult:
    """Build a release and (by default) make it current, recording it in the history as
    a new version, then prune old releases (``keep``; the history is never pruned).
    Publishes nothing on failure."""
    releases = inputs.releases_dir
    work, lock = new_work_folder(releases)
    children: _Children | None = None
    try:
        pipeline = Pipeline(inputs, progress)
        stage = work / "release"
        stage.mkdir()
        children = _Children(pipeline, work, stage)
        mapped = pipeline.run(children.data_nt)
        result = pipeline.result
        if mapped is None or not result.ok:
            pipeline.timer.stage(f"build failed: {len(result.errors)} problems; nothing published")
            return result
        result.release, changeset = _release(inputs, pipeline, mapped, children)
        info = result.release
        if switch:
            layout.switch_current(releases, info.id)
            result.switched = True
            # After the switch: a build killed in between leaves a history one version
            # short, whose next version holds both changes, never a version unpublished.
            started = time.perf_counter()
            version = record(releases, info, changeset)
            if version is not None:
                took = time.perf_counter() - started
                pipeline.timer.stage(f"recorded as version {version.number} in {took:.2f} s")
            prune(releases, current=info.id, keep=keep or Retention())
        pipeline.timer.stage(f"release {info.id} ready at {info.path}")
        return result
    finally:
        if children is not None:
            children.cancel()
        shutil.rmtree(work, ignore_errors=True)
        os.close(lock)


def _release(
    inputs: BuildInputs, pipeline: Pipeline, mapped: Mapped, children: _Children
) -> tuple[layout.ReleaseInfo, Changeset | None]:
    """The release of this input: the one already built from it, or a new one with
    its changes against the latest version."""
    rid = release_id(inputs, mapped, pipeline.chunks)
    existing = inputs.releases_dir / rid
    try:
        info = layout.read_release(existing)
        pipeline.timer.stage(f"release {rid} already exists (same input); reusing it")
        return info, None
    except layout.ReleaseError:
        shutil.rmtree(existing, ignore_errors=True)  # damaged: make it again
    pipeline.chunks.finish()
    started = time.perf_counter()
    changeset = changeset_for(inputs.releases_dir, children.data_nt, pipeline.chunks.chunks)
    pipeline.timer.stage(
        f"changes computed in {time.perf_counter() - started:.2f} s: "
        f"{len(changeset.changes)} resources changed"
    )
    # The search index needs the data and its changes only: written beside the rest.
    if children.search is None:
        children.start_search(mapped.kos, changeset)
    store, full = children.store(pipeline, mapped, changeset)
    pipeline.store = None
    counts, stats = children.graph_counts(mapped, changeset, store)
    staged = Staged(
        children.stage, rid, children.data_nt, children.dumps_written,
        pipeline.chunks, changeset, plan(inputs.releases_dir, changeset), compact=full,
        counts=counts, stats=stats,
        search_written=children.search.written if children.search is not None else None,
    )  # fmt: skip
    return assemble(mapped, staged, store, inputs.releases_dir, pipeline.timer), changeset
