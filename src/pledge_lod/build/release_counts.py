"""The data graph's counts of a release: the previous release's counts plus its changes.

VoID publishes counts of the data graph, and the sitemap lists its documents. A full build
counts them while it maps (:class:`.graph_stats.GraphStats`). A rebuild after one edit
would otherwise read every unchanged file's statistics from the build cache and merge a
million subjects and millions of object digests to move a few numbers: at a million
pledges, most of the 28 s the unchanged files cost (bench/RESULTS.md, issue 18).

So each release's counts are kept (:func:`save`, as JSON beside the build cache, keyed
by the release id, which digests the data), and the next release's follow from them and
its changeset: triples, properties, classes and linksets move by the changed triples
alone. Whether a subject, an object or a typed subject is new or gone depends on the
rest of the data, which the new store answers with one index seek per term; a class
whose example resource (its smallest subject) was removed asks the store for the next.
The result must agree with the triples the mapping counted; the build checks that, and
falls back to counting the data file whole when any step cannot be taken
(``tests/test_incremental_release.py`` holds both to a full build's VoID).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, Store, Triple, parse

from ..rdf import vocab as v
from .changes import Changeset
from .graph_stats import LINK_SPACES, GraphCounts, GraphStats

#: Beside the build cache, one file per release whose counts a next build may need.
COUNTS_DIR = Path(".cache") / "counts"
_TYPE = NamedNode(v.RDF_TYPE)


def saved(releases_dir: Path, release_id: str) -> GraphCounts | None:
    """The counts a build kept for ``release_id``, if any (and readable)."""
    try:
        raw = json.loads((releases_dir / COUNTS_DIR / f"{release_id}.json").read_text("utf-8"))
        return GraphCounts.from_json(raw)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(releases_dir: Path, release_id: str, counts: GraphCounts) -> None:
    """Keep ``release_id``'s counts, and forget those of releases no longer kept."""
    folder = releases_dir / COUNTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".counts-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(counts.to_json(), f, sort_keys=True)
    os.replace(tmp, folder / f"{release_id}.json")
    for path in folder.glob("*.json"):
        if not (releases_dir / path.stem).is_dir() and path.stem != release_id:
            path.unlink(missing_ok=True)


def counted(data_nt: Path, chunks: dict[str, tuple[int, int, str]]) -> GraphStats:
    """The statistics of a data file, source by source (no two share a subject)."""
    stats = GraphStats()
    with data_nt.open("rb") as f:
        for offset, length, _ in sorted(chunks.values()):
            f.seek(offset)
            part = GraphStats()
            part.add(f.read(length))
            stats.merge(part)
    return stats


def counts_after(
    previous: GraphCounts, changeset: Changeset, store: Store, data_graph: str
) -> GraphCounts | None:
    """The counts of the data graph ``store`` holds, which is the graph ``previous``
    counts with ``changeset`` applied; None when a blank node is involved (its label
    differs between stores) or a count would go negative (they do not match)."""
    removed = _triples(line for c in changeset.changes for line in c.removed)
    added = _triples(line for c in changeset.changes for line in c.added)
    if removed is None or added is None:
        return None
    graph = NamedNode(data_graph)
    counts = replace(
        previous, properties=Counter(previous.properties), classes=Counter(previous.classes),
        first=dict(previous.first), links=Counter(previous.links),
    )  # fmt: skip
    counts.triples += len(added) - len(removed)
    for sign, triples in ((-1, removed), (1, added)):
        for t in triples:
            _count(counts, t, sign)
    new = set(added)

    def before(pattern: tuple, gone: bool) -> bool:
        """Whether the pattern matched the previous graph: a removed triple did
        (``gone``), or a triple of the new graph that was not added."""
        return gone or any(q.triple not in new for q in store.quads_for_pattern(*pattern, graph))

    def now(pattern: tuple) -> bool:
        return next(iter(store.quads_for_pattern(*pattern, graph)), None) is not None

    removed_subjects = {t.subject for t in removed}
    typed_before = {t.subject for t in removed if _typed(t)}
    for s in removed_subjects | {t.subject for t in added}:
        counts.subjects += now((s, None, None)) - before((s, None, None), s in removed_subjects)
        counts.typed += _typed_in(store, s, graph) - (
            s in typed_before or any(_typed(q.triple) and q.triple not in new
                                     for q in store.quads_for_pattern(s, _TYPE, None, graph))
        )  # fmt: skip
    removed_objects = {t.object for t in removed}
    counts.objects -= sum(1 for o in removed_objects if not now((None, None, o)))
    counts.objects += sum(
        1 for o in {t.object for t in added} if not before((None, None, o), o in removed_objects)
    )
    _examples(counts, removed, added, store, graph)
    if min(counts.triples, counts.subjects, counts.objects, counts.typed) < 0 or any(
        n < 0 for c in (counts.properties, counts.classes, counts.links) for n in c.values()
    ):
        return None
    counts.properties, counts.classes, counts.links = (
        +counts.properties, +counts.classes, +counts.links  # drop what no triple has
    )
    counts.first = {c: s for c, s in counts.first.items() if c in counts.classes}
    return counts


def _triples(lines: Iterable[str]) -> list[Triple] | None:
    text = "".join(f"{line}\n" for line in lines)
    if "_:" in text:
        return None
    return [q.triple for q in parse(text, format=RdfFormat.N_TRIPLES)]


def _typed(t: Triple) -> bool:
    return t.predicate == _TYPE and isinstance(t.object, NamedNode)


def _typed_in(store: Store, s: object, graph: NamedNode) -> bool:
    types = store.quads_for_pattern(s, _TYPE, None, graph)  # type: ignore[arg-type]
    return any(isinstance(q.object, NamedNode) for q in types)


def _count(counts: GraphCounts, t: Triple, sign: int) -> None:
    """Move the counts that follow from one triple alone (as GraphStats counts them)."""
    p = t.predicate.value
    counts.properties[p] += sign
    if not isinstance(t.object, NamedNode):
        return
    if p == v.RDF_TYPE:
        counts.classes[t.object.value] += sign
        return
    for space in LINK_SPACES:
        if t.object.value.startswith(space):
            counts.links[(p, space)] += sign
            break


def _examples(
    counts: GraphCounts, removed: list[Triple], added: list[Triple], store: Store, graph: NamedNode
) -> None:
    """Each class's smallest subject IRI: the store is asked again only for a class
    whose example was among the removed."""
    lost = {
        t.object.value for t in removed
        if _typed(t) and isinstance(t.subject, NamedNode)
        and counts.first.get(t.object.value) == t.subject.value
    }  # fmt: skip
    for t in added:
        if _typed(t) and isinstance(t.subject, NamedNode) and t.object.value not in lost:
            known = counts.first.get(t.object.value)
            if known is None or t.subject.value < known:
                counts.first[t.object.value] = t.subject.value
    for cls in lost:
        subjects = (
            q.subject.value
            for q in store.quads_for_pattern(None, _TYPE, NamedNode(cls), graph)
            if isinstance(q.subject, NamedNode)
        )
        smallest = min(subjects, default=None)
        if smallest is None:
            counts.first.pop(cls, None)
        else:
            counts.first[cls] = smallest
