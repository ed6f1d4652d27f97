"""SHACL, compiled to SPARQL and run on Oxigraph.

pyshacl evaluates shapes one focus node at a time in Python; measured here it needs
tens of milliseconds per pledge (hundreds with SPARQL-based constraints, whose query it
re-parses for every focus node), so a million pledges would take hours. This module
translates each constraint of the shapes graph into ONE SPARQL query that returns only
the violations, over all focus nodes at once, and runs those queries on the release's
Oxigraph store, a few in parallel. It covers the part of SHACL the project's shapes use
(SHACL Core's value, cardinality, string, property-pair-free logical and shape-based
constraints, and SPARQL-based constraints) and refuses, rather than silently skips, any
construct it does not know.

The work is in four modules: :mod:`.expressions` translates constraints and paths into
SPARQL expressions, this module assembles them into :class:`~.checks.Check` queries (one
per shape, path and kind of constraint), :mod:`.reads` tells which predicates the checks
can match, and :mod:`.checks` runs them.

pyshacl stays the reference: ``tests/test_shacl_equivalence.py`` runs both on data with
violations and requires the same results, and ``pledge-lod validate --engine pyshacl``
runs it on the whole data.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pyoxigraph
import rdflib
from rdflib import Literal, URIRef
from rdflib.namespace import SH

from .checks import Check, Part, UnsupportedShape, Violation, run_checks
from .expressions import Expressions, sparql_term
from .reads import predicates_read, sparql_reads

#: The public names of the compiler, wherever they are defined.
__all__ = [
    "Check",
    "Part",
    "UnsupportedShape",
    "Violation",
    "compile_shapes",
    "predicates_read",
    "run_checks",
]


def _text(g: rdflib.Graph, node: rdflib.term.Node, prop: URIRef) -> str | None:
    values = list(g.objects(node, prop))
    english = [v for v in values if isinstance(v, Literal) and v.language in (None, "en")]
    chosen = english or values
    return str(chosen[0]) if chosen else None


def _severity(g: rdflib.Graph, shape: rdflib.term.Node) -> str:
    sev = g.value(shape, SH.severity)
    name = str(sev).rsplit("#", 1)[-1] if sev is not None else "Violation"
    return "error" if name == "Violation" else name.lower()


def compile_shapes(shapes: rdflib.Graph, subclasses: bool = True) -> list[Check]:
    """All checks of a shapes graph, in a stable order.

    Constraints are grouped so that each (target, path) pair is scanned twice at most:
    once for counts (sh:minCount, sh:maxCount, sh:hasValue) and once for the value-node
    constraints. ``subclasses=False`` may be given when the data graph holds no
    rdfs:subClassOf triples: SHACL instances are then the directly typed nodes, and the
    queries avoid a property path.
    """
    c = Expressions(shapes, subclasses)
    g = shapes
    checks: list[Check] = []
    for node_shape in sorted(set(g.subjects(SH.targetClass, None)), key=str):
        if g.value(node_shape, SH.deactivated) == Literal(True):
            continue
        c.reads = set()
        for prop in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target):
            if (node_shape, prop, None) in g:
                raise UnsupportedShape(f"{prop} on {node_shape}")
        classes = sorted(g.objects(node_shape, SH.targetClass), key=str)
        target = " UNION ".join(f"{{ ?this {c.instance_of()} <{cls}> }}" for cls in classes)
        if len(classes) > 1:
            target = f"{{ SELECT DISTINCT ?this WHERE {{ {target} }} }}"
        shape_checks = _node_level(c, node_shape, target)
        by_path: dict[str, list[rdflib.term.Node]] = {}
        for ps in sorted(g.objects(node_shape, SH.property), key=str):
            if g.value(ps, SH.deactivated) != Literal(True):
                by_path.setdefault(c.path(g.value(ps, SH.path)), []).append(ps)
        for path, prop_shapes in sorted(by_path.items()):
            shape_checks += _property_level(c, node_shape, prop_shapes, path, target)
        names = tuple(str(cls) for cls in classes)
        reads = frozenset(c.reads) if c.reads is not None else None
        checks += [replace(check, targets=names, reads=reads) for check in shape_checks]
    return checks


def _value_check(select: str, where: str, exprs: list[tuple[Part, str]]) -> Check | None:
    """One pass binding each constraint's result to ?ok{i}; solutions where one fails."""
    if not exprs:
        return None
    binds = " ".join(f"BIND(COALESCE({e}, false) AS ?ok{i})" for i, (_, e) in enumerate(exprs))
    oks = " ".join(f"?ok{i}" for i in range(len(exprs)))
    fail = " || ".join(f"!?ok{i}" for i in range(len(exprs)))
    query = f"SELECT {select} {oks} WHERE {{ {where} {binds} FILTER({fail}) }}"
    parts = tuple(
        Part(p.shape, p.field, p.message, p.severity, ("ok", f"ok{i}"))
        for i, (p, _) in enumerate(exprs)
    )
    return Check(query, parts)


def _node_level(c: Expressions, shape: rdflib.term.Node, target: str) -> list[Check]:
    g = c.g
    part = Part(str(shape), _text(g, shape, SH.name) or "-",
                _text(g, shape, SH.message) or f"does not conform to {shape}",
                _severity(g, shape), ("ok", ""))  # fmt: skip
    exprs = [(part, e) for e in c.value_constraints(shape, "?this", 0)]
    check = _value_check("?this (?this AS ?value)", target, exprs)
    out = [check] if check else []
    out += _sparql_constraints(c, shape, None, target, part.field, part.message)
    return out


def _property_level(
    c: Expressions,
    node_shape: rdflib.term.Node,
    prop_shapes: list[rdflib.term.Node],
    path: str,
    target: str,
) -> list[Check]:
    g = c.g
    counts: list[Part] = []
    has_values: list[tuple[Part, str]] = []
    values: list[tuple[Part, str]] = []
    out: list[Check] = []
    for ps in prop_shapes:
        severity = _severity(g, ps) if (ps, SH.severity, None) in g else _severity(g, node_shape)
        field = _text(g, ps, SH.name) or "-"
        message = _text(g, ps, SH.message) or f"does not conform to {ps}"

        def part(test: tuple[str, str | int], ps=ps, field=field, message=message,
                 severity=severity) -> Part:  # fmt: skip
            return Part(str(ps), field, message, severity, test)

        for n in g.objects(ps, SH.minCount):
            if int(n) > 0:
                counts.append(part(("min", int(n))))
        for n in g.objects(ps, SH.maxCount):
            counts.append(part(("max", int(n))))
        for value in g.objects(ps, SH.hasValue):
            has_values.append((part(("has", f"has{len(has_values)}")), sparql_term(value)))
        for expr in c.value_constraints(ps, "?value", 0, skip_has_value=True):
            values.append((part(("ok", "")), expr))
        out += _sparql_constraints(c, ps, path, target, field, message, severity)
    if counts or has_values:
        # HAVING repeats the aggregates: it cannot see the SELECT's aliases.
        count = "COUNT(DISTINCT ?v)"
        sums = {
            p.test[1]: f"SUM(IF(COALESCE(sameTerm(?v, {t}), false), 1, 0))" for p, t in has_values
        }
        havings = [f"{count} < {p.test[1]}" for p in counts if p.test[0] == "min"]
        havings += [f"{count} > {p.test[1]}" for p in counts if p.test[0] == "max"]
        havings += [f"{expr} = 0" for expr in sums.values()]
        sums_sel = " ".join(f"({expr} AS ?{name})" for name, expr in sums.items())
        query = (
            f"SELECT ?this ({count} AS ?n) {sums_sel} WHERE {{ {target} "
            f"OPTIONAL {{ ?this {path} ?v }} }} GROUP BY ?this HAVING ({' || '.join(havings)})"
        )
        out.append(Check(query, tuple(counts) + tuple(p for p, _ in has_values)))
    check = _value_check("?this ?value", f"{target} ?this {path} ?value", values)
    if check:
        out.append(check)
    return out


_PREBOUND = re.compile(r"\$(this|PATH|currentShape|shapesGraph)\b")


def _sparql_constraints(
    c: Expressions,
    shape: rdflib.term.Node,
    path: str | None,
    target: str,
    field: str,
    fallback_message: str,
    severity: str | None = None,
) -> list[Check]:
    g = c.g
    out = []
    for constraint in g.objects(shape, SH.sparql):
        if g.value(constraint, SH.deactivated) == Literal(True):
            continue
        select = g.value(constraint, SH.select)
        if select is None:
            raise UnsupportedShape(f"SPARQL constraint without sh:select on {shape}")
        if (constraint, SH.prefixes, None) in g:
            raise UnsupportedShape("sh:prefixes in SPARQL constraints (write full IRIs)")

        def replace(m: re.Match[str]) -> str:
            name = m.group(1)
            if name == "this":
                return "?this"
            if name == "PATH":
                if path is None:
                    raise UnsupportedShape("$PATH in a node shape's SPARQL constraint")
                return path
            if name == "currentShape":
                return sparql_term(shape)
            raise UnsupportedShape("$shapesGraph is not supported")

        inner = _PREBOUND.sub(replace, str(select))
        has_value = "?value" in inner.split("WHERE", 1)[0]
        projection = "?this ?value" if has_value else "?this"
        query = f"SELECT DISTINCT {projection} WHERE {{ {target} {{ {inner} }} }}"
        try:  # on an empty store: Oxigraph's parser says what is wrong, and where
            pyoxigraph.Store().query(query)
        except SyntaxError as exc:
            raise UnsupportedShape(
                f"the sh:select on {shape} is not SPARQL (in the query compiled from it: {exc})"
            ) from exc
        reads = sparql_reads(inner)  # only for a query Oxigraph can run
        if reads is None:
            c.reads = None
        else:
            c.read(*reads)
        message = _text(g, constraint, SH.message) or fallback_message
        part = Part(str(shape), field, message, severity or _severity(g, shape), ("row", ""))
        out.append(Check(query, (part,)))
    return out
