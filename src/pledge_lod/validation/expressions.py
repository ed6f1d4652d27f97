"""SHACL constraints as SPARQL expressions: the translation at the compiler's core.

:class:`Expressions` turns a shape's value-node constraints into SPARQL boolean
expressions over one variable, and SHACL paths into SPARQL property paths, recording
the predicates the expressions can match (see :mod:`.reads`). It covers the part of
SHACL Core the project's shapes use and raises :class:`UnsupportedShape` for any
construct it does not know, rather than silently skipping it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import rdflib
from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH, XSD

from .checks import UnsupportedShape

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


def sparql_term(node: rdflib.term.Node) -> str:
    """An IRI or literal of the shapes graph, written as SPARQL."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        return node.n3()
    raise UnsupportedShape(f"blank node {node} where an IRI or literal is expected")


def _string(value: object) -> str:
    """A SPARQL string literal; rdflib writes and escapes it (N3 and SPARQL share the
    syntax of string literals)."""
    return Literal(str(value)).n3()


class Expressions:
    """SPARQL expressions for the constraints of one shapes graph.

    ``subclasses=False`` may be given when the data graph holds no rdfs:subClassOf
    triples: SHACL instances are then the directly typed nodes, and the expressions
    avoid a property path.
    """

    def __init__(self, shapes: rdflib.Graph, subclasses: bool = True) -> None:
        self.g = shapes
        self.subclasses = subclasses
        self.counter = itertools.count()
        # The predicates the queries written since the last reset can match (None: any).
        self.reads: set[str] | None = set()

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
            parts.append(f"EXISTS {{ {var} {path} {sparql_term(value)} }}")
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
            out.append(f"EXISTS {{ {var} {self.instance_of()} {sparql_term(cls)} }}")
        for dt in g.objects(shape, SH.datatype):
            out.append(self._datatype(var, str(dt)))
        for kind in g.objects(shape, SH.nodeKind):
            out.append(self._node_kind(var, kind))
        for lst in g.objects(shape, SH["in"]):
            members = [f"sameTerm({var}, {sparql_term(m)})" for m in self.items(lst)]
            out.append("(" + " || ".join(members) + ")" if members else "false")
        if not skip_has_value:
            for value in g.objects(shape, SH.hasValue):
                out.append(f"sameTerm({var}, {sparql_term(value)})")
        for pattern in g.objects(shape, SH.pattern):
            flags = g.value(shape, SH.flags)
            flag_arg = f", {_string(flags)}" if flags is not None else ""
            out.append(f"(!isBlank({var}) && REGEX(STR({var}), {_string(pattern)}{flag_arg}))")
        for lst in g.objects(shape, SH.languageIn):
            tags = [f"langMatches(lang({var}), {_string(t)})" for t in self.items(lst)]
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
