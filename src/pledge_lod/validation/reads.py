"""Which predicates the compiled checks can match.

A check whose query can only match triples with given predicates cannot change its
result on a triple with another predicate; a build that knows this can leave such
triples out of the store the checks run on. ``None`` stands for "any predicate".
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from rdflib import URIRef
from rdflib.paths import NegatedPath, Path
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Variable

from .checks import Check


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
def sparql_reads(query: str) -> frozenset[str] | None:
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
