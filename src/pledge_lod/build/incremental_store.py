"""The release store made from the previous release's store plus the changes.

Loading the store is the bulk of a rebuild after a small edit (minutes at a million
pledges, for a validation of a fraction of a second). The build already knows the
changes of the data graph against the latest version (:mod:`.changes`, computed from the
two releases' dumps), so when that version's release still has its store, the new store
starts as a checkpoint of it (``Store.backup``: RocksDB hard-links the immutable SST
files on the same disk, so it costs no copy) and the changes are applied to it.

Every graph of a release's store is accounted for (:data:`.pipeline.GRAPHS`): the data
graph is the previous one minus the triples removed plus those added; the small ones
(ontology, shapes, the SDG KOS and VoID) are dropped here and written whole again by the
build, as in a full build. The result holds the same quads as a full build of the same
data (``tests/test_incremental_release.py`` compares them).

The previous release is never written to: it is opened read-only for the checkpoint,
and RocksDB never modifies an SST file once written (new data goes to new files), so the
hard links shared by both stores keep the old release's content.

The build falls back to the full load when there is no usable previous store (the first
build, a pruned release, another base or graph names, a store this Oxigraph cannot open),
when the changes are many (applying them one by one would cost more than a bulk load)
or touch blank nodes (whose labels differ between stores), or when the result's count
disagrees with what was mapped.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import NamedNode, Quad, RdfFormat, Store, parse

from ..release import layout
from ..release.history import latest_release_folder
from .changes import Changeset
from .pipeline import Mapped
from .progress import Timer

#: Above this share of the previous data graph's triples changed, the bulk load wins.
MAX_CHANGED_SHARE = 0.1


@dataclass(frozen=True)
class Previous:
    """The latest version's release, whose store a new one can start from."""

    release_id: str
    store_path: Path
    triples: int  # of its data graph, as its manifest counts them


def previous_store(releases_dir: Path, base: str, graphs: dict[str, str]) -> Previous | None:
    """The latest version's release if its store can seed the next one: it is kept, is a
    release of this format, with the same base and graph names. None otherwise."""
    folder = latest_release_folder(releases_dir)
    if folder is None:
        return None
    try:
        info = layout.read_release(folder)
    except layout.ReleaseError:
        return None
    triples = info.counts.get("triples")
    if info.base.rstrip("/") != base.rstrip("/") or info.graphs != graphs or not triples:
        return None
    return Previous(info.id, info.store_path, int(triples))


def _quads(lines: list[str], graph: NamedNode) -> list[Quad]:
    text = "".join(line + "\n" for line in lines)
    return [
        Quad(q.subject, q.predicate, q.object, graph)
        for q in parse(text, format=RdfFormat.N_TRIPLES)
    ]


def changed_lines(changeset: Changeset) -> tuple[list[str], list[str]]:
    """The N-Triples lines the changeset removes and adds."""
    removed = [line for c in changeset.changes for line in c.removed]
    added = [line for c in changeset.changes for line in c.added]
    return removed, added


def usable(previous: Previous, changeset: Changeset) -> str | None:
    """Why the changeset cannot be applied to ``previous``'s store (None: it can)."""
    if changeset.previous_release != previous.release_id:
        return "the changes were computed against another release"
    summary = changeset.summary  # before the lines: a streamed changeset may be huge
    changed = summary["triples_added"] + summary["triples_removed"]
    if changed > MAX_CHANGED_SHARE * previous.triples:
        return f"{changed} triples changed"
    removed, added = changed_lines(changeset)
    if any("_:" in line for line in (*removed, *added)):
        return "the changes touch blank nodes"
    return None


class Checkpoint:
    """The previous store's checkpoint at ``target``, made in a thread as soon as the
    build starts: RocksDB syncs the checkpoint to disk, which took 2-19 s at a million
    pledges when it came after the data file and the dumps had filled the disk's write
    queue with gigabytes (bench/RESULTS.md, issue 18), and well under a second before."""

    def __init__(self, previous: Previous, target: Path):
        self.target = target
        self.made = False
        self._thread = threading.Thread(
            target=self._make, args=(previous,), name="store checkpoint", daemon=True
        )
        self._thread.start()

    def _make(self, previous: Previous) -> None:
        try:
            Store.read_only(str(previous.store_path)).backup(str(self.target))
            self.made = True
        except (OSError, RuntimeError, ValueError):  # e.g. a store this Oxigraph cannot open
            shutil.rmtree(self.target, ignore_errors=True)

    def wait(self) -> bool:
        """Whether the checkpoint is there."""
        self._thread.join()
        return self.made

    def discard(self) -> None:
        self._thread.join()
        shutil.rmtree(self.target, ignore_errors=True)
        self.made = False


def store_from(
    previous: Previous,
    checkpoint: Checkpoint,
    changeset: Changeset,
    graphs: dict[str, str],
    data_triples: int,
) -> Store | None:
    """The store at the checkpoint of ``previous``, with the changes applied to its data
    graph and its other graphs dropped (the build writes them whole). None, and nothing
    left at the checkpoint's place, when it cannot be made or the result does not hold
    ``data_triples`` triples in its data graph (the build then loads the store in full)."""
    data = NamedNode(graphs["data"])
    removed_lines, added_lines = changed_lines(changeset)
    target = checkpoint.target
    if not checkpoint.wait():
        return None
    try:
        store = Store(str(target))
    except (OSError, RuntimeError, ValueError):
        checkpoint.discard()
        return None
    removed, added = _quads(removed_lines, data), _quads(added_lines, data)
    # Every removed triple must be there and every added one not, so that the data
    # graph's size follows from the previous one's: the check of the whole result.
    present = sum(1 for q in removed if q in store)
    absent = sum(1 for q in added if q not in store)
    expected = previous.triples - len(removed) + len(added)
    if present != len(removed) or absent != len(added) or expected != data_triples:
        del store
        checkpoint.discard()
        return None
    for quad in removed:
        store.remove(quad)
    store.extend(added)
    for key, graph in graphs.items():
        if key != "data":
            store.remove_graph(NamedNode(graph))
    return store


def load_whole(data_nt: Path, target: Path, graph: str) -> Store:
    """The full load, from the mapped data file (when no loader ran during the mapping)."""
    store = Store(str(target))
    store.bulk_load(path=str(data_nt), format=RdfFormat.N_TRIPLES, to_graph=NamedNode(graph))
    return store


def seeded_store(
    previous: Previous, checkpoint: Checkpoint, data_nt: Path, changeset: Changeset,
    mapped: Mapped, timer: Timer,
) -> tuple[Store, bool]:  # fmt: skip
    """The release store at the checkpoint's place with every graph but ontology, shapes
    and VoID (which the assembly writes): ``previous``'s plus the changes, or loaded in
    full from ``data_nt`` when that cannot be done (the progress line says why); and
    whether it was loaded in full."""
    graphs, started = mapped.graphs, time.perf_counter()
    why = usable(previous, changeset)
    store = None if why else store_from(
        previous, checkpoint, changeset, graphs, mapped.triples
    )  # fmt: skip
    full = store is None
    if full:
        checkpoint.discard()
        store = load_whole(data_nt, checkpoint.target, graphs["data"])
        said = f"store loaded in full ({why or 'the changes did not apply'})"
    else:
        said = f"store made from release {previous.release_id} plus the changes"
    kos = NamedNode(graphs["sdg-kos"])
    store.bulk_extend(Quad(t.subject, t.predicate, t.object, kos) for t in mapped.kos)
    timer.stage(f"{said} in {time.perf_counter() - started:.2f} s")
    return store, bool(full)
