"""Query rewriting for a remote store: values bound as a VALUES block, FROM clauses moved
into the protocol's dataset, and graph names translated.

A small tokenizer that knows only what these rewrites need (braces, parentheses, words,
prefixed names and IRIs; it skips comments, strings and variables) is enough, and is
exact on every query of the web layer (tests/test_remote_units.py checks the VALUES form
against Oxigraph's own SEP-0007 substitution). Why not a library: the one Python SPARQL
parser that writes queries back, rdflib (``parseQuery``, ``translateQuery``,
``translateAlgebra``), measured on a GROUP BY query with FROM and GRAPH: about 100 ms a
query against 0.4 ms here, and what it writes back is another query (FROM dropped, the
FILTER moved, ``OFFSET 0`` added). The remote store must get the user's query as sent,
with only these edits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode

from ..base import Bindings, Term

_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FORMS = {"SELECT", "CONSTRUCT", "ASK", "DESCRIBE"}


def sparql_term(term: Term) -> str:
    """A term in SPARQL syntax, from pyoxigraph's own (escaped, validated) N-Triples form."""
    if isinstance(term, NamedNode | Literal):
        return str(term)
    if isinstance(term, BlankNode):
        raise ValueError("a blank node cannot be bound in a query sent to a remote store")
    raise TypeError(f"not an RDF term: {term!r}")


def _skip_string(text: str, i: int) -> int:
    """Index after the string literal starting at ``i``."""
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = i + 3
        while end < len(text):
            if text[end] == "\\":
                end += 2
            elif text.startswith(quote * 3, end):
                return end + 3
            else:
                end += 1
        raise ValueError("unterminated string in query")
    end = i + 1
    while end < len(text):
        ch = text[end]
        if ch == "\\":
            end += 2
        elif ch == quote:
            return end + 1
        elif ch in "\r\n":
            break
        else:
            end += 1
    raise ValueError("unterminated string in query")


def _tokens(text: str) -> Iterable[tuple[int, int, str]]:
    """(start, end, token) for the tokens that matter here: braces, parentheses, words,
    prefixed names and IRIs - skipping comments, strings and variables."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch in "\"'":
            i = _skip_string(text, i)
        elif ch == "<":
            m = _IRIREF.match(text, i)
            if m:
                yield i, m.end(), m.group(0)
                i = m.end()
            else:
                yield i, i + 1, ch
                i += 1
        elif ch in "{}()":
            yield i, i + 1, ch
            i += 1
        elif ch in "?$":
            m = _WORD.match(text, i + 1)
            i = m.end() if m else i + 1
        elif ch == ":" or _WORD.match(text, i):
            end = i + 1
            # words, and prefixed names (pl:select is not a keyword)
            while end < n and (text[end].isalnum() or text[end] in "_-.:%"):
                end += 1
            while text[end - 1] == ".":  # a final dot ends the triple, not the name
                end -= 1
            yield i, end, text[i:end]
            i = end
        else:
            i += 1


def where_start(query: str) -> int:
    """The index just after the ``{`` that opens the query's WHERE group."""
    found = _where_group(query)
    if found is None:
        raise ValueError("the query has no WHERE group to bind values in")
    return found


def _where_group(query: str, on_token=None) -> int | None:
    """The index after the WHERE group's ``{`` (None if there is none); ``on_token`` sees
    every token between the query form's keyword and that group, outside the template."""
    form: str | None = None
    depth = parens = 0
    template_done = False
    for start, end, tok in _tokens(query):
        upper = tok.upper()
        if form is None:
            if upper in _FORMS:
                form = upper
            continue
        in_template = form == "CONSTRUCT" and not template_done
        if tok == "(":
            parens += 1
        elif tok == ")":
            parens -= 1
        elif tok == "{" and parens == 0:
            if in_template:
                depth += 1
                continue
            if depth == 0:
                return end
            depth += 1
        elif tok == "}" and parens == 0 and in_template:
            depth -= 1
            if depth == 0:
                template_done = True
            continue
        elif upper == "WHERE" and in_template and depth == 0:
            raise ValueError("CONSTRUCT WHERE { } (the short form) cannot take bindings")
        if on_token is not None and not (in_template and depth > 0):
            on_token(start, end, tok)
    return None


def split_dataset(query: str) -> tuple[str, list[str], list[str]]:
    """The query without its FROM / FROM NAMED clauses, and the graphs they name.

    A remote store may add a query's FROM graphs to those the protocol names (Virtuoso
    does) instead of letting the protocol's replace them, so the proxy moves them into
    the protocol's dataset itself, where only the release's graphs are let through.
    """
    prefixes = dict(re.findall(r"(?i)\bPREFIX\s+([A-Za-z0-9_.-]*):\s*<([^<>\s]*)>", query))
    clauses: list[tuple[int, int, str, str]] = []
    state: dict[str, Any] = {"from": None, "named": False}

    def on_token(start: int, end: int, tok: str) -> None:
        upper = tok.upper()
        if state["from"] is None:
            if upper == "FROM":
                state["from"], state["named"] = start, False
            return
        if upper == "NAMED" and not state["named"]:
            state["named"] = True
            return
        if tok.startswith("<") and tok.endswith(">") and len(tok) > 1:
            iri = tok[1:-1]
        elif ":" in tok and tok.split(":", 1)[0] in prefixes:
            prefix, local = tok.split(":", 1)
            iri = prefixes[prefix] + local
        else:
            raise ValueError(f"FROM needs an IRI, not {tok!r}")
        clauses.append((state["from"], end, "named" if state["named"] else "default", iri))
        state["from"] = None

    _where_group(query, on_token)
    if state["from"] is not None:
        raise ValueError("FROM needs an IRI")
    defaults = [iri for *_, kind, iri in clauses if kind == "default"]
    named = [iri for *_, kind, iri in clauses if kind == "named"]
    text = query
    for start, end, _kind, _iri in reversed(clauses):
        text = text[:start] + " " + text[end:]
    return text, defaults, named


def rewrite_graphs(query: str, graph_for: Callable[[str], str]) -> str:
    """``query`` with the IRI after each ``GRAPH`` keyword replaced by ``graph_for(iri)``
    (prefixed names resolved first; ``GRAPH ?var`` is left alone)."""
    prefixes = dict(re.findall(r"(?i)\bPREFIX\s+([A-Za-z0-9_.-]*):\s*<([^<>\s]*)>", query))
    edits: list[tuple[int, int, str]] = []
    after_graph = False
    for start, end, tok in _tokens(query):
        if after_graph:
            iri = None
            if tok.startswith("<") and tok.endswith(">") and len(tok) > 1:
                iri = tok[1:-1]
            elif ":" in tok and tok.split(":", 1)[0] in prefixes:
                prefix, local = tok.split(":", 1)
                iri = prefixes[prefix] + local
            if iri is not None:
                edits.append((start, end, f"<{graph_for(iri)}>"))
        after_graph = tok.upper() == "GRAPH"
    for start, end, text in reversed(edits):
        query = query[:start] + text + query[end:]
    return query


def bind_values(query: str, bindings: Bindings | None) -> str:
    """``query`` with ``VALUES (?a ?b) { (<iri> "literal"@en) }`` at the start of its
    WHERE group: the remote form of SEP-0007 substitution. Terms are written in their
    N-Triples form by pyoxigraph (escaped and validated), never from request text."""
    if not bindings:
        return query
    names = sorted(bindings)
    for name in names:
        if not _VAR_NAME.match(name):
            raise ValueError(f"not a variable name: {name!r}")
    row = " ".join(sparql_term(bindings[name]) for name in names)
    block = f" VALUES ({' '.join('?' + name for name in names)}) {{ ({row}) }} "
    pos = where_start(query)
    return query[:pos] + block + query[pos:]
