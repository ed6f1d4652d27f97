"""The guard: what a query text may contain before the engine ever sees it.

Oxigraph executes ``SERVICE <iri>`` by making a real HTTP request, and offers no switch to
turn federation off, so the endpoint refuses such queries *before* execution. The guard
is a small SPARQL lexer, deliberately conservative: it may refuse an odd but harmless
query (the message says why), it must never let a ``SERVICE`` through.

How it decides:

* It looks at two views of the text: as sent, and after SPARQL's codepoint-escape
  processing (``\\uXXXX``, ``\\UXXXXXXXX``; SPARQL 1.1 §19.2 says these are processed
  before parsing, although Oxigraph only honours them inside strings and IRIs). A
  keyword that is visible in either view counts.
* In each view it skips what can never be a keyword: IRI references, the four forms of
  string literal, comments and variables. Whatever is left is scanned for the word
  ``SERVICE`` in any case. An occurrence is tolerated only inside the local part of a
  prefixed name, directly after the ``:`` or after a letter or digit (``sd:Service``,
  ``dcat:DataService``); everywhere else (``SERVICE:x``, ``1SERVICE``, ``ex:a.SERVICE``)
  Oxigraph's parser may read a keyword, and it does for ``SERVICE:x``.
* Malformed strings and comments are resolved in the direction that exposes more text
  (a broken string ends at its opening quote; a comment ends at any line separator), so
  a disagreement with the engine can only make the guard stricter.

The guard also reports the query form (SELECT, CONSTRUCT, DESCRIBE, ASK, or an update
keyword) so that content negotiation happens before execution, and whether the query
names its own dataset (``FROM``/``FROM NAMED``), which decides how the default graph is
set up. Oxigraph treats FROM IRIs as names of local graphs: no fetch (tested).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUERY_FORMS = frozenset({"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"})
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)
#: Words refused anywhere outside strings, IRIs, comments and variables.
FORBIDDEN = ("SERVICE",)

_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_VARIABLE = re.compile(r"[?$][A-Za-z0-9_\u00B7\u00C0-\U000EFFFF]*")
#: Characters that may continue a prefixed name, a keyword or a number.
_NAME = re.compile(r"[A-Za-z0-9_\-.:%\\\u00B7\u00C0-\U000EFFFF]+")
_WORD = re.compile(r"[A-Za-z]+")
#: Everything a lenient reader could take as the end of a line.
_LINE_END = re.compile(r"[\n\r\x0b\x0c\x85\u2028\u2029]")
_SHORT_STRING_END = {"'": re.compile(r"(?:[^'\\\n\r]|\\.)*'", re.S),
                     '"': re.compile(r'(?:[^"\\\n\r]|\\.)*"', re.S)}
_LONG_STRING_END = {"'''": re.compile(r"(?:[^'\\]|\\.|'(?!''))*'''", re.S),
                    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""', re.S)}


class GuardError(ValueError):
    """The query is refused before execution; the message says why and what to do."""


class QueryTooLarge(GuardError):
    """The query text is longer than the endpoint accepts (HTTP 413)."""


class UpdateRefused(GuardError):
    """An update operation sent as a query; this endpoint is read-only."""

    def __init__(self, keyword: str = "update"):
        super().__init__(
            f"{keyword}: this endpoint is read-only and runs no SPARQL Update operations; "
            "the data changes only when a new release is published"
        )


@dataclass(frozen=True)
class Inspection:
    """What the guard learnt about a query it let through."""

    #: SELECT, CONSTRUCT, DESCRIBE, ASK; or None when the text starts with neither (the
    #: engine's parser then reports the syntax error).
    form: str | None
    #: The query has FROM or FROM NAMED clauses.
    has_dataset: bool

    @property
    def is_graph(self) -> bool:
        """CONSTRUCT and DESCRIBE answer with RDF graphs, the others with result sets."""
        return self.form in {"CONSTRUCT", "DESCRIBE"}


def unescape_codepoints(text: str) -> str:
    """Apply SPARQL's ``\\u``/``\\U`` escapes to the whole text (invalid ones are kept)."""

    def repl(match: re.Match[str]) -> str:
        value = int(match.group(1) or match.group(2), 16)
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            return match.group(0)
        return chr(value)

    return _CODEPOINT.sub(repl, text)


def _words(text: str) -> list[tuple[str, str, str]]:
    """The bare words of ``text`` outside IRIs, strings, comments and variables.

    Each item is (word, the part of its name run before it, the whole run). Words are
    maximal runs of ASCII letters; a run is a maximal stretch of characters that may
    continue a name, so ``ex:a.b`` is one run with the words ``ex``, ``a`` and ``b``.
    """
    out: list[tuple[str, str, str]] = []
    failed_until: dict[str, int] = {}
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "<":
            m = _IRIREF.match(text, i)
            i = m.end() if m else i + 1
        elif c in "'\"":
            opener = text[i : i + 3] if text[i : i + 3] in _LONG_STRING_END else c
            pattern = _LONG_STRING_END.get(opener) or _SHORT_STRING_END[c]
            m = None
            if i >= failed_until.get(opener, -1):
                m = pattern.match(text, i + len(opener))
                if not m:
                    # Every later opener of this kind before the end of this failed scan
                    # fails too (the scans run in step after it): remember, stay linear.
                    failed_until[opener] = _scan_end(text, i + len(opener), opener)
            i = m.end() if m else i + 1  # a broken string: expose what follows
        elif c == "#":
            m = _LINE_END.search(text, i)
            i = m.end() if m else n
        elif c in "?$":
            m = _VARIABLE.match(text, i)
            i = m.end() if m and m.end() > i + 1 else i + 1
        else:
            m = _NAME.match(text, i)
            if not m:
                i += 1
                continue
            run = m.group(0)
            for w in _WORD.finditer(run):
                out.append((w.group(0), run[: w.start()], run))
            i = m.end()
    return out


def _scan_end(text: str, start: int, opener: str) -> int:
    """Where a failed scan of a string opened by ``opener`` stopped."""
    if len(opener) == 1:
        m = _LINE_END.search(text, start)
        return m.start() if m else len(text)
    return len(text)


def _tolerated(prefix: str) -> bool:
    """An occurrence inside a prefixed name's local part, glued to a letter/digit or ``:``."""
    if ":" not in prefix:
        return False
    last = prefix[-1]
    return last == ":" or last.isalnum() or last == "_"


def _forbidden_in(words: list[tuple[str, str, str]]) -> str | None:
    for word, prefix, _run in words:
        upper = word.upper()
        for bad in FORBIDDEN:
            at = upper.find(bad)
            if at >= 0 and not _tolerated(prefix + word[:at]):
                return bad
    return None


def _leading(words: list[tuple[str, str, str]]) -> tuple[str | None, bool]:
    """The first keyword after the prologue, and whether a FROM keyword occurs."""
    keywords = [word.upper() for word, _prefix, run in words if word == run]
    form = next((k for k in keywords if k not in {"BASE", "PREFIX"}), None)
    return form, "FROM" in keywords


def inspect(query: str, max_bytes: int) -> Inspection:
    """Check ``query``; raise :class:`GuardError` if it must not run, else describe it."""
    size = len(query.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise QueryTooLarge(
            f"the query is {size} bytes; this endpoint accepts queries of at most {max_bytes} bytes"
        )
    raw = _words(query)
    unescaped = unescape_codepoints(query)
    for words in (raw, _words(unescaped) if unescaped != query else []):
        bad = _forbidden_in(words)
        if bad:
            raise GuardError(
                f"{bad} is not allowed: this endpoint does not run federated queries "
                "(no query here makes a network request). Query the other endpoint "
                "yourself and join the results on the UN's or this dataset's IRIs."
            )
    form, has_from = _leading(raw)
    if form in UPDATE_KEYWORDS:
        raise UpdateRefused(form)
    return Inspection(form=form if form in QUERY_FORMS else None, has_dataset=has_from)

