"""A compiled check, what it finds, and running the checks on Oxigraph.

A :class:`Check` is one SPARQL query that returns only the violations of one or more
constraints (its :class:`Part` s), over all focus nodes at once; :func:`run_checks` runs
them on the release's store a few at a time and turns their solutions into
:class:`Violation` s, in a stable order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyoxigraph


class UnsupportedShape(Exception):
    """The shapes use a SHACL construct this compiler does not translate."""


@dataclass(frozen=True)
class Part:
    """One constraint of one shape, checked by a column of a :class:`Check`'s query.

    ``test`` names how a solution shows a violation: ``("ok", var)`` the boolean column is
    false; ``("min", n)`` / ``("max", n)`` the ``?n`` count is below / above n;
    ``("has", var)`` the count column is zero; ``("row", "")`` every solution is one.
    """

    shape: str
    field: str
    message: str
    severity: str
    test: tuple[str, str | int]


@dataclass(frozen=True)
class Check:
    """One query that checks several constraints in a single pass over the focus nodes."""

    query: str
    parts: tuple[Part, ...]
    #: the target classes of the shape it checks (whose instances can be its focus nodes)
    targets: tuple[str, ...] = ()
    #: the predicates whose triples the query can match; None: it can match any
    reads: frozenset[str] | None = None


@dataclass(frozen=True)
class Violation:
    focus: str
    shape: str
    field: str
    message: str
    severity: str
    value: pyoxigraph.NamedNode | pyoxigraph.Literal | pyoxigraph.BlankNode | None


def run_checks(
    store: pyoxigraph.Store,
    checks: Iterable[Check],
    graphs: Sequence[str] | None = None,
    jobs: int = 2,
) -> list[Violation]:
    """Run every check on the store (over ``graphs`` as the default graph, or the union of
    all graphs), ``jobs`` queries at a time. Violations in a stable order."""
    default = [pyoxigraph.NamedNode(g) for g in graphs] if graphs else None
    false = pyoxigraph.Literal(False)

    def run(check: Check) -> list[Violation]:
        kwargs = {"default_graph": default} if default else {"use_default_graph_as_union": True}
        found = []
        for row in store.query(check.query, **kwargs):
            focus, value = row["this"].value, row["value"]  # value: None when not projected
            for part in check.parts:
                kind, arg = part.test
                if kind == "ok":
                    failed = row[arg] == false
                elif kind == "min":
                    failed = int(row["n"].value) < int(arg)
                elif kind == "max":
                    failed = int(row["n"].value) > int(arg)
                elif kind == "has":
                    failed = int(row[str(arg)].value) == 0
                else:
                    failed = True
                if failed:
                    shown = value if kind in ("ok", "row") else None
                    found.append(
                        Violation(focus, part.shape, part.field, part.message, part.severity, shown)
                    )
        return found

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(run, list(checks)))
    unique = {(v.focus, v.shape, v.message, str(v.value)): v for batch in results for v in batch}
    return [unique[k] for k in sorted(unique)]
