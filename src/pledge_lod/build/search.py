"""The release's search index: planned, then written whole or from the previous one.

What a resource's rows are is :mod:`.search_rows`; where they are read from, the data
file's lines (:mod:`.search_lines`) or, in a first build, the mapping workers
(:mod:`.search_mapped`).

Incremental builds: the release id is a digest of every input (:func:`.assemble.release_id`),
so an unchanged build reuses the existing release, index included, without redoing
anything. A changed build (:func:`release_search_index`) starts from the latest
version's index when that release is kept and its index was made from the same inputs
but the data (the stamp in ``search.json``: index format, base, KOS): a copy of it
without the rows of every resource the changeset names, plus the rows of those that
still exist, read from the new data's changed sources only (a resource's rows depend
on its own triples, which all come from one source, and on the KOS). Otherwise, or
when the changes are many, the index is written whole: from the rows the mapping
workers made of the triples they mapped when the build knew the index would be written
whole (:mod:`.search_mapped`), else from rows read from the data by worker processes
(:mod:`.search_parts`); in a child process of the build either way (:mod:`.search_job`;
bench/RESULTS.md has the times).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from pyoxigraph import Triple

from ..rdf import vocab as v
from ..release import layout
from ..release.search_index import INDEX_DIR, INDEX_VERSION, Row, update_index, write_index
from .changes import Changeset, ChunkIndex, load_chunks
from .search_lines import _wanted, nt_facts
from .search_mapped import rows_by_source
from .search_parts import in_order, parts, worker_pool
from .search_rows import _rows, resource_rows

#: What the release's index was made from besides the data (beside the index folder).
STAMP_FILE = "search.json"
#: Above this share of the previous index's rows changed, the index is written whole.
#: At 100k, replacing 42% of the rows took half the time of the whole write
#: (bench/RESULTS.md); the margin keeps deleted rows, which stay in the index (and in
#: its term statistics) until Tantivy merges their segments, a minority.
MAX_CHANGED_SHARE = 0.5


@dataclass(frozen=True)
class Since:
    """What an index can be made from besides the data: the releases folder (whose
    latest version's index it may start from), the changes against that version, and
    where each source's triples lie in the new data."""

    releases_dir: Path
    changeset: Changeset | None
    chunks: ChunkIndex | None


def release_search_index(
    folder: Path, data_nt: Path, kos: list[Triple], iris: v.Iris, since: Since | None = None
) -> str:
    """Write the index of the release being assembled in ``folder`` and its stamp: the
    previous version's index plus the changes when it can be, else whole. Returns the
    progress line, which says which."""
    return write_planned(plan_search_index(folder, data_nt, kos, iris, since))


@dataclass(frozen=True)
class IndexPlan:
    """What :func:`write_planned` writes, decided beforehand (plain values, which a child
    process is given: :mod:`.search_job`): the index of the release in ``folder``, from
    the ``previous`` release's index plus the rows of the ``changed`` resources read
    from the ``spans`` of the data, or whole (``why``)."""

    folder: Path
    data_nt: Path
    kos: list[Triple]
    iris: v.Iris
    stamp: dict[str, object]
    previous: Path | None = None
    why: str = ""
    changed: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()
    #: A whole write's rows made while mapping (:mod:`.search_mapped`), and where each
    #: source lies in the data (key, offset, length).
    rows_file: Path | None = None
    sources: tuple[tuple[str, int, int], ...] = ()

    def line(self, rows: int) -> str:
        """The build's progress line once the index holds ``rows`` rows."""
        if self.previous is not None:
            changed = len(self.changed)
            return f"search index: previous one plus {changed} resources changed ({rows} rows)"
        made = "; the pledges' rows made while mapping" if self.rows_file is not None else ""
        return f"search index: {rows} rows written ({self.why}{made})"


def plan_search_index(
    folder: Path, data_nt: Path, kos: list[Triple], iris: v.Iris, since: Since | None = None,
    rows_file: Path | None = None,
) -> IndexPlan:  # fmt: skip
    """How the index of the release in ``folder`` is to be written (reads only the
    previous release's stamp and chunk index). ``rows_file``: the rows the mapping
    made (:mod:`.search_mapped`), for a whole write."""
    stamp = _stamp(kos, iris)
    previous = _previous(since, stamp) if since is not None else "no previous release"
    if isinstance(previous, Path) and since is not None and since.changeset is not None:
        changed = tuple(sorted({c.iri for c in since.changeset.changes}))
        spans = tuple(_changed_spans(previous, since.chunks))
        return IndexPlan(folder, data_nt, kos, iris, stamp, previous, "", changed, spans)
    sources: tuple[tuple[str, int, int], ...] = ()
    if rows_file is not None and since is not None and since.chunks is not None:
        since.chunks.finish()
        sources = tuple((key, o, n) for key, (o, n, _digest) in since.chunks.chunks.items())
    return IndexPlan(folder, data_nt, kos, iris, stamp, why=str(previous),
                     rows_file=rows_file if sources else None, sources=sources)  # fmt: skip


def write_planned(plan: IndexPlan, workers: int = 1) -> str:
    """Write the planned index and its stamp; returns the progress line. ``workers``:
    for a whole write (:func:`write_search_index`)."""
    if plan.previous is not None:
        count = _update(plan)
    else:
        count = write_search_index(plan.folder / INDEX_DIR, plan.data_nt, plan.kos, plan.iris,
                                   workers, plan.rows_file, plan.sources)  # fmt: skip
    text = json.dumps({**plan.stamp, "rows": count}, indent=2, sort_keys=True)
    (plan.folder / STAMP_FILE).write_text(text + "\n", encoding="utf-8")
    return plan.line(count)


def _update(plan: IndexPlan) -> int:
    """The previous release's index without the changed resources' rows, plus the
    rows of those still in the data; how many rows it holds."""
    assert plan.previous is not None
    changed = set(plan.changed)
    kos_changed = sorted((t for t in plan.kos if str(t.subject)[1:-1] in changed),
                         key=lambda t: str(t.subject))  # fmt: skip
    rows = chain(
        (r for r in _nt_rows(plan.data_nt, plan.iris, list(plan.spans)) if r.iri in changed),
        _rows([iter(kos_changed)], plan.iris),
    )
    previous = plan.previous / INDEX_DIR
    return update_index(previous, plan.folder / INDEX_DIR, plan.changed, rows)[1]


def _stamp(kos: list[Triple], iris: v.Iris) -> dict[str, object]:
    """The inputs of an index but the data: an index with the same stamp can be updated
    with the data's changes alone."""
    digest = hashlib.sha256()
    for line in sorted(str(t) for t in kos):
        digest.update(line.encode() + b"\n")
    return {"index_version": INDEX_VERSION, "base": iris.base, "vocab": iris.vocab,
            "kos": digest.hexdigest()}  # fmt: skip


def _previous(since: Since, stamp: dict[str, object]) -> Path | str:
    """The previous version's release folder if its index can be updated with the
    changes; else why not."""
    changeset = since.changeset
    if changeset is None or changeset.previous_release is None or since.chunks is None:
        return "no previous release"
    folder = since.releases_dir / changeset.previous_release
    try:
        theirs = json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "the previous release is not kept or has no index stamp"
    if not isinstance(theirs, dict) or not (folder / INDEX_DIR / "meta.json").is_file():
        return "the previous release has no index"
    rows = theirs.pop("rows", 0)
    if theirs != stamp:
        return "the previous index was made from another KOS, base or index format"
    if len(changeset.changes) > MAX_CHANGED_SHARE * (rows if isinstance(rows, int) else 0):
        return f"{len(changeset.changes)} resources changed"
    if "(whole)" in load_chunks(folder, folder / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]):
        return "the previous release has no chunk index"
    return folder


def _changed_spans(previous: Path, chunks: ChunkIndex | None) -> list[tuple[int, int]]:
    """Where the new data's sources whose digest differs from the previous release's
    lie: every changed resource's new triples are there."""
    if chunks is None:
        return []
    chunks.finish()
    nt = previous / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]
    theirs = load_chunks(previous, nt)
    return sorted(
        (offset, length) for key, (offset, length, digest) in chunks.chunks.items()
        if theirs.get(key, (0, 0, None))[2] != digest
    )  # fmt: skip


def write_search_index(
    path: Path, data_nt: Path, kos: list[Triple], iris: v.Iris, workers: int = 1,
    rows_file: Path | None = None, sources: Iterable[tuple[str, int, int]] = (),
) -> int:  # fmt: skip
    """Write the index folder from the release's data N-Triples and the KOS, whole.

    ``rows_file``: the rows the mapping made of the ``sources`` of the data (key,
    offset, length; :mod:`.search_mapped`), the others read from the data. Else
    ``workers`` > 1: the data's rows read by that many forked processes
    (:mod:`.search_parts`; the same rows). Tantivy indexes with two threads but for one
    reader in this process: for a process without threads of its own, such as the
    build's index child."""
    kos_sorted = sorted(kos, key=lambda t: str(t.subject))
    kos_rows = _rows([iter(kos_sorted)], iris)
    if rows_file is not None:
        size = data_nt.stat().st_size
        rows = rows_by_source(rows_file, size, sources,
                              lambda offset, n: _nt_rows(data_nt, iris, [(offset, n)]))
        return write_index(path, chain(rows, kos_rows), threads=2)
    if workers <= 1:
        return write_index(path, chain(_nt_rows(data_nt, iris), kos_rows))
    cuts = parts(data_nt, workers, _wanted(iris))
    tasks = [(data_nt, iris, offset, length) for offset, length in cuts]
    with worker_pool(workers) as pool:
        rows = in_order(pool, _part_rows, tasks, workers)
        return write_index(path, chain(rows, kos_rows), threads=2)


def _part_rows(data_nt: Path, iris: v.Iris, offset: int, length: int) -> list[Row]:
    """A worker's task: the rows of one part of the data."""
    return list(_nt_rows(data_nt, iris, [(offset, length)]))


def _nt_rows(
    data_nt: Path, iris: v.Iris, spans: list[tuple[int, int]] | None = None
) -> Iterator[Row]:
    """Rows of the data N-Triples (grouped by subject, as the build writes them), or of
    the ``spans`` of it (offset, length) only."""
    for iri, facts in nt_facts(data_nt, _wanted(iris), spans):
        yield from resource_rows(iri, facts, iris)


