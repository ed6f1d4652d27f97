"""The search index's facts read from the data file's N-Triples lines.

The build's N-Triples are millions of lines in pyoxigraph's canonical form (one
``<s> <p> o .`` a line); parsing every triple into Python objects only to drop most of
them took most of the index's time (bench/RESULTS.md, issue 17), so the lines wanted are
found in large blocks by one regular expression, and only those are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path

from pyoxigraph import RdfFormat, parse

from ..rdf import vocab as v
from .search_rows import _COLUMNS, KOS_TYPES, Fact, _fact

#: N-Triples escapes in a literal (ECHAR, UCHAR), as pyoxigraph's parser reads them.
_ESCAPE = re.compile(r"\\(?:([tbnrf\"'\\])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")

_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _wanted(iris: v.Iris) -> re.Pattern[bytes]:
    """The predicates :func:`resource_rows` reads, as they stand between a line's subject
    and object; ``rdf:type`` only with a KOS class as its object (every pledge has a type
    that the index does not use). The IRIs as one tree of common prefixes: every line is
    tried, and the regular expression engine tries the branches of an alternation one by
    one (half the time of a flat list of the IRIs, measured)."""
    preds = [*_COLUMNS, v.SKOS + "inScheme", iris.term("sdgGoal"), v.SDGO + "isTargetOf",
             v.DCTERMS + "spatial", iris.term("country")]
    kos = b"|".join(re.escape(c.encode()) for c in KOS_TYPES)
    typed = re.escape(v.RDF_TYPE.encode()) + rb"(?=> <(?:" + kos + rb")>)"
    tree = _prefix_tree(sorted({p.encode() for p in preds}))
    return re.compile(rb"> <(" + tree + b"|" + typed + rb")> ([^\n]*) \.\r?\n")


def _prefix_tree(words: list[bytes]) -> bytes:
    """An alternation matching exactly ``words`` (sorted, distinct), their common
    prefixes factored out."""
    if len(words) == 1:
        return re.escape(words[0])
    branches = []
    for _first, group in groupby(words, key=lambda w: w[:1]):
        ws = list(group)
        common = next((ws[0][:i] for i, (a, b) in enumerate(zip(ws[0], ws[-1], strict=False))
                       if a != b),
                      ws[0])  # sorted: the first and last words' common prefix is all's
        branches.append(
            re.escape(common) + _prefix_tree([w[len(common):] for w in ws])
            if len(ws) > 1 else re.escape(ws[0])
        )
    return b"(?:" + b"|".join(branches) + b")"


def nt_facts(
    data_nt: Path, wanted: re.Pattern[bytes], spans: list[tuple[int, int]] | None = None
) -> Iterator[tuple[str, list[Fact]]]:
    """(subject IRI, its facts) for the N-Triples lines whose predicate ``wanted`` finds.

    The build's N-Triples are millions of lines in pyoxigraph's canonical form (one
    ``<s> <p> o .`` a line); parsing every triple into Python objects only to drop most
    of them took most of the index's time (bench/RESULTS.md, issue 17), so the lines
    wanted are found in large blocks by one regular expression. A line with an escape
    (``\\``) or in another form is parsed by pyoxigraph, so values are the parser's."""
    subject, facts = b"", []
    preds: dict[bytes, str] = {}
    tags: dict[bytes, str] = {b"": ""}  # a literal's tail (``@en``, ``^^<…>``): its language
    for block in _blocks(data_nt, spans):
        for m in wanted.finditer(block):
            at = m.start()
            start = block.rfind(b"\n", 0, at) + 1
            s = block[start:at]
            pred, obj = m.groups()
            if (s != subject and (s[:1] != b"<" or b" " in s or b"\\" in s)) or (
                b"\\" in obj and obj[:1] != b'"'
            ):
                iri, fact = _parsed(block[start:m.end()])
                s = b"<" + iri.encode()
            elif obj[:1] == b'"':  # a literal: its text and language
                end = obj.rfind(b'"')
                text = obj[1:end].decode()
                tail = obj[end + 1:]
                lang = tags.get(tail)
                if lang is None:
                    lang = tags[tail] = tail[1:].decode().lower() if tail[:1] == b"@" else ""
                fact = (preds.get(pred) or preds.setdefault(pred, pred.decode()),
                        _ESCAPE.sub(_unescaped, text) if "\\" in text else text, lang)
            else:
                p = preds.get(pred) or preds.setdefault(pred, pred.decode())
                fact = _object(p, obj.decode())
            if s != subject:
                if facts:
                    yield subject[1:].decode(), facts
                subject, facts = s, []
            facts.append(fact)
    if facts:
        yield subject[1:].decode(), facts


def _blocks(
    path: Path, spans: list[tuple[int, int]] | None = None, size: int = 1 << 23
) -> Iterator[bytes]:
    """The file, or its ``spans`` (offset, length: whole lines each), in blocks of
    whole lines."""
    with open(path, "rb") as f:
        for offset, length in spans if spans is not None else [(0, -1)]:
            f.seek(offset)
            rest, left = b"", length
            while left and (block := f.read(size if left < 0 else min(size, left))):
                left -= len(block) if left > 0 else 0
                block = rest + block
                cut = block.rfind(b"\n") + 1
                rest = block[cut:]
                yield block[:cut]
            if rest:
                yield rest + b"\n"


def _object(p: str, o: str) -> Fact:
    """A fact from an N-Triples object term (an IRI without escapes, or a literal)."""
    if o.startswith('"'):
        end = o.rfind('"')
        tail, text = o[end + 1:], o[1:end]
        if "\\" in text:
            text = _ESCAPE.sub(_unescaped, text)
        return p, text, tail[1:].lower() if tail.startswith("@") else ""
    return p, o[1:-1] if o.startswith("<") else o[2:], None


def _unescaped(m: re.Match[str]) -> str:
    return _ECHAR[m[1]] if m[1] else chr(int(m[2] or m[3], 16))


def _parsed(line: bytes) -> tuple[str, Fact]:
    triple = next(iter(parse(line + b"\n", format=RdfFormat.N_TRIPLES))).triple
    return triple.subject.value, _fact(triple)
