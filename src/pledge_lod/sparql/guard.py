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
  ``dcat:DataService``), or as a whole prefix ``service:`` where Oxigraph cannot read the
  keyword (below); everywhere else (``1SERVICE``, ``ex:a.SERVICE``) Oxigraph's parser
  may read a keyword.
* A prefix named ``service`` is SPARQL 1.1 (``PREFIX service: <...>``, ``service:x``),
  but Oxigraph reads ``service:x {`` as ``SERVICE :x {`` (tested). So ``service:...`` is
  refused only where a group follows it (the next character outside whitespace and
  comments is ``{``), unless the keyword before it takes an IRI there (``GRAPH``,
  ``FROM``, ``NAMED``, ``PREFIX``), where the keyword cannot be read.
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
#: Keywords that take an IRI, which a group may follow: after them ``service:x {`` is
#: the IRI ``service:x`` (``PREFIX`` takes the prefix itself).
_IRI_BEFORE_GROUP = frozenset({"GRAPH", "FROM", "NAMED", "PREFIX"})

_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_VARIABLE = re.compile(r"[?$][A-Za-z0-9_\u00B7\u00C0-\U000EFFFF]*")
#: Characters that may continue a prefixed name, a keyword or a number.
_NAME = re.compile(r"[A-Za-z0-9_\-.:%\\\u00B7\u00C0-\U000EFFFF]+")
_WORD = re.compile(r"[A-Za-z]+")
#: SPARQL's white space (grammar rule WS).
_WS = " \t\r\n"
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


#: A bare word, with what the guard needs to know about where it stands: (the word, the
#: part of its name run before it, the whole run, the run just before this one when only
#: whitespace and comments lie between them (else ""), where the run ends). A plain
#: tuple: the guard makes one per word, and must stay fast on hostile input.
_Word = tuple[str, str, str, str, int]


def _words(text: str) -> list[_Word]:
    """The bare words of ``text`` outside IRIs, strings, comments and variables.

    Words are maximal runs of ASCII letters; a run is a maximal stretch of characters
    that may continue a name.
    """
    out: list[_Word] = []
    failed_until: dict[str, int] = {}
    previous = last = ""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _WS:
            i += 1
            continue
        if c != "#":
            last, previous = previous, ""
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
                out.append((w.group(0), run[: w.start()], run, last, m.end()))
            previous = run
            i = m.end()
    return out


def _following(text: str, i: int) -> str:
    """The first character from ``i`` on that is not whitespace or in a comment."""
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text[i] == "#":
            m = _LINE_END.search(text, i)
            i = m.end() if m else n
        else:
            return text[i]
    return ""


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


def _prefix_name(w: _Word, bad: str, text: str) -> bool:
    """``w`` is the whole prefix of a prefixed name (``service:x``) where Oxigraph cannot
    read the keyword: not followed by a group, or where an IRI must come."""
    word, before, run, previous_run, end = w
    if before or word.upper() != bad or run[len(word) : len(word) + 1] != ":":
        return False
    return _following(text, end) != "{" or previous_run.upper() in _IRI_BEFORE_GROUP


def _forbidden_in(words: list[_Word], text: str) -> str | None:
    for w in words:
        word, before = w[0], w[1]
        upper = word.upper()
        for bad in FORBIDDEN:
            at = upper.find(bad)
            if (at >= 0 and not _tolerated(before + word[:at])
                    and not _prefix_name(w, bad, text)):
                return bad
    return None


def _leading(words: list[_Word]) -> tuple[str | None, bool]:
    """The first keyword after the prologue, and whether a FROM keyword occurs."""
    keywords = [w[0].upper() for w in words if w[0] == w[2]]
    form = next((k for k in keywords if k not in {"BASE", "PREFIX"}), None)
    return form, "FROM" in keywords


def leading_keyword(query: str) -> str | None:
    """The first keyword after the prologue (BASE, PREFIX), upper-cased; None if none."""
    return _leading(_words(query))[0]


def inspect(query: str, max_bytes: int) -> Inspection:
    """Check ``query``; raise :class:`GuardError` if it must not run, else describe it."""
    size = len(query.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise QueryTooLarge(
            f"the query is {size} bytes; this endpoint accepts queries of at most {max_bytes} bytes"
        )
    raw = _words(query)
    unescaped = unescape_codepoints(query)
    views = [(raw, query)] + ([(_words(unescaped), unescaped)] if unescaped != query else [])
    for words, text in views:
        bad = _forbidden_in(words, text)
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

