"""Syntax errors said in SPARQL 1.1's terms, with the line, the column and the text there.

Oxigraph's parser reports ``error at 3:17: expected one of ABS, AVG, ..., [_]``: the
position is right, but the list is the parser's own (a PEG parser's partial view): it
names Oxigraph's extensions (``LATERAL``, ``ADJUST``, RDF 1.2's ``{|`` and ``~``), the
``SERVICE`` keyword this endpoint refuses, and character classes written in Rust. What
a person needs is where the text stops being SPARQL 1.1, what is there, and what the
SPARQL 1.1 grammar could have continued with; anything else is left out rather than
offered as a way forward.
"""

from __future__ import annotations

import re

from .guard import FORBIDDEN, QUERY_FORMS, leading_keyword

_POSITION = re.compile(r"error at (\d+):(\d+): (.*)", re.S)
#: One item of the parser's "expected" list: a quoted token, a character class, a word.
_ITEM = re.compile(r'"(?:[^"\\]|\\.)*"|\[(?:\'[^\']*\'|[^\]])*\]|[^,\s\[\]"]+', re.S)
#: Built-in calls and aggregates of SPARQL 1.1 (grammar rules 121, 127): listed one by
#: one they mislead (the parser names only some), so they are "an expression".
_CALLS = frozenset([
    "STR", "LANG", "LANGMATCHES", "DATATYPE", "BOUND", "IRI", "URI", "BNODE", "RAND",
    "ABS", "CEIL", "FLOOR", "ROUND", "CONCAT", "STRLEN", "UCASE", "LCASE",
    "ENCODE_FOR_URI", "CONTAINS", "STRSTARTS", "STRENDS", "STRBEFORE", "STRAFTER",
    "YEAR", "MONTH", "DAY", "HOURS", "MINUTES", "SECONDS", "TIMEZONE", "TZ", "NOW",
    "UUID", "STRUUID", "MD5", "SHA1", "SHA256", "SHA384", "SHA512", "COALESCE", "IF",
    "STRLANG", "STRDT", "SAMETERM", "ISIRI", "ISURI", "ISBLANK", "ISLITERAL",
    "ISNUMERIC", "REGEX", "SUBSTR", "REPLACE", "EXISTS", "NOT", "COUNT", "SUM", "MIN",
    "MAX", "AVG", "SAMPLE", "GROUP_CONCAT",
])
#: The other keywords of a SPARQL 1.1 query (grammar rules 2-120).
_KEYWORDS = frozenset([
    "BASE", "PREFIX", "SELECT", "DISTINCT", "REDUCED", "AS", "CONSTRUCT", "WHERE",
    "DESCRIBE", "ASK", "FROM", "NAMED", "GROUP", "BY", "HAVING", "ORDER", "ASC",
    "DESC", "LIMIT", "OFFSET", "VALUES", "GRAPH", "OPTIONAL", "SERVICE", "SILENT",
    "BIND", "UNDEF", "MINUS", "UNION", "FILTER", "IN", "TRUE", "FALSE", "SEPARATOR",
    "A",
])
#: Punctuation of the SPARQL 1.1 grammar, and what to call the ones that start a term.
_PUNCTUATION = {"{": "`{`", "}": "`}`", "(": "`(`", ")": "`)`", "[": "`[`", "]": "`]`",
                ".": "`.`", ",": "`,`", ";": "`;`", "*": "`*`", "=": "`=`", "!=": "`!=`",
                ">": "`>`", "<=": "`<=`", ">=": "`>=`", "&&": "`&&`", "||": "`||`",
                "!": "`!`", "+": "`+`", "-": "`-`", "/": "`/`", "|": "`|`", "^": "`^`",
                "^^": "`^^`", "@": "a language tag", "?": "a variable", "$": "a variable",
                "<": "an IRI", ":": "a prefixed name", "_:": "a blank node",
                '"': "a literal", "'": "a literal"}
#: How much text to show on each side of the position.
_AROUND = 30


def explain(query: str, engine_message: str) -> str:
    """The engine's syntax error about ``query``, said in SPARQL 1.1's terms."""
    m = _POSITION.match(engine_message.strip())
    if not m:
        return f"the query is not valid SPARQL 1.1 ({engine_message.strip()})"
    line, column = int(m.group(1)), int(m.group(2))
    lines = query.split("\n")  # the engine counts lines by "\n" alone
    text = lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""
    at = max(0, min(column - 1, len(text)))
    found = _found(text, at, any(rest.strip() for rest in lines[line:]))
    listing = m.group(3)
    undeclared = _undeclared_prefix(query, lines, line, at)
    expected = _expected(listing.replace("Prefix not found", ""))
    form = leading_keyword(query)
    if form not in QUERY_FORMS | {"INSERT", "DELETE"} and form is not None:
        what = ("a SPARQL 1.1 query starts with SELECT, CONSTRUCT, DESCRIBE or ASK (after "
                f"any BASE and PREFIX), not `{form}`")
    elif expected and undeclared is None:
        what = f"SPARQL 1.1 expects {_one_of(expected)} here, not {found}"
    elif undeclared is None:
        what = f"the query stops following the SPARQL 1.1 grammar at or just before {found}"
    else:
        what = f"the prefix `{undeclared}:` is not declared (add `PREFIX {undeclared}: <…>`)"
    start = max(0, at - _AROUND)
    shown = ("…" if start else "") + text[start : at + _AROUND] + (
        "…" if at + _AROUND < len(text) else "")
    caret = " " * (at - start + (1 if start else 0)) + "^"
    return f"line {line}, column {column}: {what}\n  {shown}\n  {caret}"


def _found(text: str, at: int, more_lines: bool) -> str:
    """The token the position falls in, quoted, or where the text ends."""
    if at >= len(text) or not text[at:].strip():
        return "the end of the line" if more_lines else "the end of the query"
    start = at
    while start > 0 and not text[start - 1].isspace() and not text[at].isspace():
        start -= 1
    token = text[start:].split()[0]
    return f"`{token[:_AROUND]}`"


def _expected(listing: str) -> list[str]:
    """The SPARQL 1.1 items of the parser's list, in words, in its order, once each."""
    out: list[str] = []
    for item in _ITEM.findall(listing.removeprefix("one of ")):
        said = _say(item)
        if said and said not in out:
            out.append(said)
    return out


def _say(item: str) -> str | None:
    if item.startswith('"'):
        return _PUNCTUATION.get(item[1:-1].replace('\\"', '"'))
    if item.startswith("["):
        if "'0'" in item:
            return "a number"
        if "'A'" in item or "'a'" in item or item == "['_']":
            return "a name"
        return None  # [_]: "any character", the parser's own bookkeeping
    word = item.upper()
    if word in FORBIDDEN:
        return None  # never offer what the endpoint refuses
    if word in _CALLS:
        return "an expression"
    if word in _KEYWORDS:
        return "`a`" if word == "A" else f"`{word}`"
    return None  # not SPARQL 1.1: an Oxigraph extension


def _one_of(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "one of " + ", ".join(items)


#: A prefixed name (SPARQL 1.1 rules 137-140, ASCII part): its prefix is group 1.
_PNAME = re.compile(r"([A-Za-z](?:[\w.-]*\w)?)?:[\w%\\:.-]*")
_DECLARED = re.compile(r"PREFIX\s+([A-Za-z](?:[\w.-]*\w)?)?:", re.I)


def _undeclared_prefix(query: str, lines: list[str], line: int, at: int) -> str | None:
    """The prefix of a prefixed name just before the error position that no PREFIX
    declares (Oxigraph then reports the position after it, expecting something else)."""
    before = lines[line - 1][:at] if line <= len(lines) else ""
    declared = {m.group(1) or "" for m in _DECLARED.finditer(query)}
    for token in reversed(before.split()[-2:]):
        m = _PNAME.fullmatch(token)
        if m and (m.group(1) or "") not in declared:
            return m.group(1) or ""
    return None
