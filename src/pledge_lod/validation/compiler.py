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

pyshacl stays the reference: ``tests/test_shacl_equivalence.py`` runs both on data with
violations and requires the same results, and ``pledge-lod validate --engine pyshacl``
runs it on the whole data.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import pyoxigraph
import rdflib
from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, XSD
from rdflib.paths import NegatedPath, Path
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Variable

#: Casts Oxigraph implements, used to test that a typed literal is well formed.
_CASTS = {
    str(XSD[name])
    for name in (
        "boolean", "integer", "decimal", "float", "double", "dateTime", "date", "time",
        "gYear", "gYearMonth", "gMonth", "gMonthDay", "gDay", "duration", "dayTimeDuration",
        "yearMonthDuration",
    )
}  # fmt: skip
_RDF_LANGSTRING = str(RDF.langString)


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


def _term(node: rdflib.term.Node) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        return node.n3()
    raise UnsupportedShape(f"blank node {node} where an IRI or literal is expected")


def _literal_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _Compiler:
    def __init__(self, shapes: rdflib.Graph):
        self.g = shapes
        self.counter = itertools.count()
        # The predicates the queries written since the last reset can match (None: any).
        self.reads: set[str] | None = set()

    subclasses = True

    def read(self, *predicates: str) -> None:
        if self.reads is not None:
            self.reads.update(predicates)

    def instance_of(self) -> str:
        """The SPARQL path from a node to the classes it is a SHACL instance of."""
        if self.subclasses:
            self.read(str(RDF.type), str(RDFS.subClassOf))
            return f"<{RDF.type}>/<{RDFS.subClassOf}>*"
        self.read(str(RDF.type))
        return f"<{RDF.type}>"

    def fresh(self) -> str:
        return f"?_v{next(self.counter)}"

    def items(self, node: rdflib.term.Node) -> list[rdflib.term.Node]:
        return list(Collection(self.g, node))

    # -- paths ---------------------------------------------------------------------------

    def path(self, node: rdflib.term.Node) -> str:
        if isinstance(node, URIRef):
            self.read(str(node))
            return f"<{node}>"
        alt = self.g.value(node, SH.alternativePath)
        if alt is not None:
            return "(" + "|".join(self.path(p) for p in self.items(alt)) + ")"
        inv = self.g.value(node, SH.inversePath)
        if inv is not None:
            return f"^({self.path(inv)})"
        for prop, op in (
            (SH.zeroOrMorePath, "*"),
            (SH.oneOrMorePath, "+"),
            (SH.zeroOrOnePath, "?"),
        ):
            inner = self.g.value(node, prop)
            if inner is not None:
                return f"({self.path(inner)}){op}"
        if (node, RDF.first, None) in self.g:
            return "(" + "/".join(self.path(p) for p in self.items(node)) + ")"
        raise UnsupportedShape(f"path {node!r}")

    # -- conformance of a value to a (nested) shape, as a SPARQL boolean expression --------

    def conforms(self, shape: rdflib.term.Node, var: str, depth: int = 0) -> str:
        if depth > 8:
            raise UnsupportedShape("shapes nested more than 8 deep")
        parts = [self.constraint(shape, var, depth)]
        for prop_shape in self.g.objects(shape, SH.property):
            parts.append(self.property_conforms(prop_shape, var, depth + 1))
        parts = [p for p in parts if p != "true"]
        return "(" + " && ".join(parts) + ")" if parts else "true"

    def property_conforms(self, ps: rdflib.term.Node, var: str, depth: int) -> str:
        path = self.path(self.g.value(ps, SH.path))
        parts = []
        x = self.fresh()
        for n in self.g.objects(ps, SH.minCount):
            parts.append(self._min_count(var, path, int(n)))
        for n in self.g.objects(ps, SH.maxCount):
            y = self.fresh()
            if int(n) == 0:
                parts.append(f"NOT EXISTS {{ {var} {path} {x} }}")
            elif int(n) == 1:
                two = f"{var} {path} {x} . {var} {path} {y}"
                parts.append(f"NOT EXISTS {{ {two} . FILTER(!sameTerm({x}, {y})) }}")
            else:
                raise UnsupportedShape("sh:maxCount above 1 inside a nested shape")
        for value in self.g.objects(ps, SH.hasValue):
            parts.append(f"EXISTS {{ {var} {path} {_term(value)} }}")
        inner = self.constraint(ps, x, depth, skip_has_value=True)
        if inner != "true":
            parts.append(f"NOT EXISTS {{ {var} {path} {x} . FILTER(!COALESCE({inner}, false)) }}")
        return "(" + " && ".join(parts) + ")" if parts else "true"

    def _min_count(self, var: str, path: str, n: int) -> str:
        if n == 0:
            return "true"
        vs = [self.fresh() for _ in range(n)]
        triples = " . ".join(f"{var} {path} {v}" for v in vs)
        distinct = " && ".join(f"!sameTerm({a}, {b})" for a, b in itertools.combinations(vs, 2))
        return f"EXISTS {{ {triples} {f'FILTER({distinct})' if distinct else ''} }}"

    def constraint(
        self, shape: rdflib.term.Node, var: str, depth: int, skip_has_value: bool = False
    ) -> str:
        """The value-node constraints of ``shape`` applied to ``var`` (AND of all)."""
        return self._and(self.value_constraints(shape, var, depth, skip_has_value))

    @staticmethod
    def _and(parts: Sequence[str]) -> str:
        parts = [p for p in parts if p != "true"]
        if not parts:
            return "true"
        return "(" + " && ".join(f"COALESCE({p}, false)" for p in parts) + ")"

    def value_constraints(
        self, shape: rdflib.term.Node, var: str, depth: int, skip_has_value: bool = False
    ) -> list[str]:
        """One SPARQL expression per value-node constraint component of ``shape``."""
        g, out = self.g, []
        for cls in g.objects(shape, SH["class"]):
            out.append(f"EXISTS {{ {var} {self.instance_of()} {_term(cls)} }}")
        for dt in g.objects(shape, SH.datatype):
            out.append(self._datatype(var, str(dt)))
        for kind in g.objects(shape, SH.nodeKind):
            out.append(self._node_kind(var, kind))
        for lst in g.objects(shape, SH["in"]):
            members = [f"sameTerm({var}, {_term(m)})" for m in self.items(lst)]
            out.append("(" + " || ".join(members) + ")" if members else "false")
        if not skip_has_value:
            for value in g.objects(shape, SH.hasValue):
                out.append(f"sameTerm({var}, {_term(value)})")
        for pattern in g.objects(shape, SH.pattern):
            flags = g.value(shape, SH.flags)
            flag_arg = f", {_literal_text(str(flags))}" if flags is not None else ""
            out.append(
                f"(!isBlank({var}) && REGEX(STR({var}), {_literal_text(str(pattern))}{flag_arg}))"
            )
        for lst in g.objects(shape, SH.languageIn):
            tags = [f"langMatches(lang({var}), {_literal_text(str(t))})" for t in self.items(lst)]
            out.append(
                f'(isLiteral({var}) && lang({var}) != "" && ({" || ".join(tags) or "false"}))'
            )
        for n in g.objects(shape, SH.minLength):
            out.append(f"(!isBlank({var}) && STRLEN(STR({var})) >= {int(n)})")
        for n in g.objects(shape, SH.maxLength):
            out.append(f"(!isBlank({var}) && STRLEN(STR({var})) <= {int(n)})")
        for lst in g.objects(shape, SH["or"]):
            members = [
                f"COALESCE({self.conforms(s, var, depth + 1)}, false)" for s in self.items(lst)
            ]
            out.append("(" + " || ".join(members) + ")")
        for lst in g.objects(shape, SH["and"]):
            out.append(self._and([self.conforms(s, var, depth + 1) for s in self.items(lst)]))
        for inner in g.objects(shape, SH["not"]):
            out.append(f"!COALESCE({self.conforms(inner, var, depth + 1)}, false)")
        for inner in g.objects(shape, SH.node):
            out.append(self.conforms(inner, var, depth + 1))
        for prop in (SH.xone, SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals,
                     SH.qualifiedValueShape, SH.closed, SH.uniqueLang, SH.minInclusive,
                     SH.maxInclusive, SH.minExclusive, SH.maxExclusive):  # fmt: skip
            if (shape, prop, None) in g:
                raise UnsupportedShape(f"{prop.n3(g.namespace_manager)} on {shape}")
        if depth > 0 and (shape, SH.sparql, None) in g:
            raise UnsupportedShape(f"sh:sparql inside a nested shape ({shape})")
        return out

    @staticmethod
    def _datatype(var: str, dt: str) -> str:
        if dt == _RDF_LANGSTRING:
            return f'(isLiteral({var}) && lang({var}) != "")'
        base = f'(isLiteral({var}) && lang({var}) = "" && sameTerm(datatype({var}), <{dt}>)'
        if dt in _CASTS:
            # Well formed: Oxigraph's cast of the lexical form succeeds.
            return base + f" && isLiteral(<{dt}>(STR({var}))))"
        return base + ")"

    @staticmethod
    def _node_kind(var: str, kind: rdflib.term.Node) -> str:
        tests = {
            SH.IRI: f"isIRI({var})",
            SH.Literal: f"isLiteral({var})",
            SH.BlankNode: f"isBlank({var})",
            SH.BlankNodeOrIRI: f"(isBlank({var}) || isIRI({var}))",
            SH.BlankNodeOrLiteral: f"(isBlank({var}) || isLiteral({var}))",
            SH.IRIOrLiteral: f"(isIRI({var}) || isLiteral({var}))",
        }
        if kind not in tests:
            raise UnsupportedShape(f"sh:nodeKind {kind}")
        return tests[kind]


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
    c = _Compiler(shapes)
    c.subclasses = subclasses
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


def predicates_read(checks: Iterable[Check]) -> frozenset[str] | None:
    """The predicates whose triples the checks can match, or ``None`` when one can match
    any. A triple with another predicate cannot change a result: a store the checks run
    on can leave it out."""
    found: set[str] = set()
    for check in checks:
        if check.reads is None:
            return None
        found |= check.reads
    return frozenset(found)


@functools.lru_cache(maxsize=64)
def _sparql_reads(query: str) -> frozenset[str] | None:
    """The predicates a SPARQL query's patterns can match; ``None`` when a variable or a
    negated path can match any, or when rdflib cannot read a query Oxigraph can (its
    SPARQL extensions). The query comes from the shapes' author, so it is parsed
    (rdflib's parser, tens of milliseconds: hence the cache), not guessed at."""
    found: set[str] = set()

    def path(node: object) -> bool:
        if isinstance(node, URIRef):
            found.add(str(node))
            return True
        if isinstance(node, Variable | NegatedPath) or not isinstance(node, Path):
            return False
        # Sequence and alternative paths hold .args, an inverse one .arg, a repeated .path
        inner = getattr(node, "args", None) or [getattr(node, "arg", None) or node.path]
        return all(path(part) for part in inner)

    def walk(node: object) -> bool:
        if isinstance(node, dict):  # an algebra node
            return all(
                all(path(t[1]) for t in value) if key == "triples" else walk(value)
                for key, value in node.items()
            )
        if isinstance(node, list | tuple):
            return all(walk(item) for item in node)
        return True

    try:
        algebra = prepareQuery(query).algebra
    except Exception:  # pyparsing's and rdflib's own errors alike: read nothing into it
        return None
    return frozenset(found) if walk(algebra) else None


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


def _node_level(c: _Compiler, shape: rdflib.term.Node, target: str) -> list[Check]:
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
    c: _Compiler,
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
            has_values.append((part(("has", f"has{len(has_values)}")), _term(value)))
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
    c: _Compiler,
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
                return _term(shape)
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
        reads = _sparql_reads(inner)  # only for a query Oxigraph can run
        if reads is None:
            c.reads = None
        else:
            c.read(*reads)
        message = _text(g, constraint, SH.message) or fallback_message
        part = Part(str(shape), field, message, severity or _severity(g, shape), ("row", ""))
        out.append(Check(query, (part,)))
    return out


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
