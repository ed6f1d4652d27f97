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

from pyoxigraph import BlankNode, NamedNode, Quad, RdfFormat, Store, Triple, parse

from .dumps import finish_dataset_dumps
from .void import DatasetCounts

#: Rounds before giving up on a fixed point (two are enough: see the module's docstring).
MAX_ROUNDS = 5


def small_graphs(ontology_nt: str, shapes_nt: str, kos: list[Triple]) -> dict[str, set[Triple]]:
    """The graphs other than data and VoID, from what the build loads into the store:
    reading them back from a store made from the previous one (whose old copies of
    these graphs were deleted, leaving tombstones to skip) took seconds."""
    return {
        "ontology": {q.triple for q in parse(ontology_nt, format=RdfFormat.N_TRIPLES)},
        "shapes": {q.triple for q in parse(shapes_nt, format=RdfFormat.N_TRIPLES)},
        "sdg-kos": set(kos),
    }


def describe(
    store: Store,
    graphs: dict[str, str],
    data_triples: int,
    small: dict[str, set[Triple]],
    describe_with: Callable[[DatasetCounts], str],
) -> tuple[str, DatasetCounts, set[Triple]]:
    """The VoID Turtle, the counts it states (which include the VoID graph's own), and
    the VoID graph's triples.

    ``store`` holds the data graph, whose count is ``data_triples`` (counted while it
    was mapped: a million pledges are not counted again here); ``small`` the other
    graphs but VoID (:func:`small_graphs`). The union counts a triple found in several
    graphs once: each small graph's triple is looked up in the data graph (once: a
    triple with a blank node is never there, the data has none)."""
    data = NamedNode(graphs["data"])
    in_data: dict[Triple, bool] = {}

    def found_in_data(triples: set[Triple]) -> int:
        for t in triples - in_data.keys():
            blank = isinstance(t.subject, BlankNode) or isinstance(t.object, BlankNode)
            in_data[t] = not blank and Quad(t.subject, t.predicate, t.object, data) in store
        return sum(1 for t in triples if in_data[t])

    triples = {"data": data_triples, **{k: len(ts) for k, ts in small.items()}, "void": 0}
    default = 0
    for _ in range(MAX_ROUNDS):
        counts = DatasetCounts(dict(graphs), dict(triples), default)
        text = describe_with(counts)
        void = {q.triple for q in parse(text, format=RdfFormat.TURTLE)}
        union = set().union(*small.values(), void)
        found = {**triples, "void": len(void)}
        found_default = data_triples + len(union) - found_in_data(union)
        if found == counts.triples and found_default == counts.default_graph_triples:
            return text, counts, void
        triples, default = found, found_default
    raise RuntimeError("the VoID graph's counts did not settle")  # pragma: no cover


def dump(
    graphs: dict[str, str], small: dict[str, set[Triple]], folder: Path, prefixes: dict[str, str]
) -> None:
    """Finish the dataset dumps, whose data graph the dump writer wrote, with the other
    graphs (``small``, VoID among them)."""
    others = [
        Quad(t.subject, t.predicate, t.object, NamedNode(graphs[key]))
        for key in sorted(small)
        for t in small[key]
    ]
    finish_dataset_dumps(folder, others, prefixes)
