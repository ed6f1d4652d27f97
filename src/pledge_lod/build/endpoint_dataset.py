"""The dataset the SPARQL endpoint serves, as the build publishes it: counted, described
and dumped.

The endpoint answers over every named graph of the release (data, ontology, shapes, UN
SDG KOS, VoID), its default graph being their union. So that anyone can reproduce its
answers, the release publishes that whole dataset (``dumps/dataset.nq.gz`` and
``dumps/dataset.trig.gz``) and VoID states its graphs and their triple counts, which the
Service Description repeats.

The VoID graph counts itself. :func:`describe` finds counts that are true of the graph
that states them: it describes the dataset, counts the VoID graph so written (and the
union with it), and describes again with those numbers until nothing changes (the
second round, as numbers are literals and their values change no count).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pyoxigraph import NamedNode, Quad, RdfFormat, Store, Triple, parse

from .dumps import finish_dataset_dumps
from .void import DatasetCounts

#: Rounds before giving up on a fixed point (two are enough: see the module's docstring).
MAX_ROUNDS = 5


def _triples(store: Store, graph: str) -> set[Triple]:
    return {q.triple for q in store.quads_for_pattern(None, None, None, NamedNode(graph))}


def describe(
    store: Store,
    graphs: dict[str, str],
    data_triples: int,
    describe_with: Callable[[DatasetCounts], str],
) -> tuple[str, DatasetCounts]:
    """The VoID Turtle and the counts it states, which include the VoID graph's own.

    ``store`` holds every graph but VoID; the data graph's count is ``data_triples``
    (counted while it was mapped: a million pledges are not counted again here). The
    union counts a triple found in several graphs once: only the small graphs are read
    for that, and each of their triples looked up in the data graph."""
    data = NamedNode(graphs["data"])
    small = {k: _triples(store, g) for k, g in graphs.items() if k not in {"data", "void"}}
    triples = {"data": data_triples, **{k: len(ts) for k, ts in small.items()}, "void": 0}
    default = 0
    for _ in range(MAX_ROUNDS):
        counts = DatasetCounts(dict(graphs), dict(triples), default)
        text = describe_with(counts)
        void = {q.triple for q in parse(text, format=RdfFormat.TURTLE)}
        union = set().union(*small.values(), void)
        in_data = sum(1 for t in union if Quad(t.subject, t.predicate, t.object, data) in store)
        found = {**triples, "void": len(void)}
        found_default = data_triples + len(union) - in_data
        if found == counts.triples and found_default == counts.default_graph_triples:
            return text, counts
        triples, default = found, found_default
    raise RuntimeError("the VoID graph's counts did not settle")  # pragma: no cover


def dump(store: Store, graphs: dict[str, str], folder: Path, prefixes: dict[str, str]) -> None:
    """Finish the dataset dumps, whose data graph the dump writer wrote, with the
    store's other graphs (the VoID graph loaded last)."""
    others = [
        q
        for key in sorted(graphs)
        if key != "data"
        for q in store.quads_for_pattern(None, None, None, NamedNode(graphs[key]))
    ]
    finish_dataset_dumps(folder, others, prefixes)
