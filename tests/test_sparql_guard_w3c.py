"""The guard and the syntax errors over the W3C SPARQL 1.1 syntax tests.

The queries are w3c/rdf-tests' ``syntax-query`` and ``syntax-fed`` suites, copied into
``tests/w3c/`` and read from their manifests. The guard must refuse exactly the queries
that use SERVICE as a keyword (found independently, in rdflib's parse tree); every other
query reaches the engine: the positive tests run, the negative ones get the engine's
syntax error, said in SPARQL 1.1's terms (never a keyword the endpoint refuses or one
that SPARQL 1.1 does not have).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import rdflib
from pyparsing import ParseResults
from rdflib.collection import Collection
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from pledge_lod.sparql import guard
from support.paths import W3C
from support.processes import run_cli
from support.sparql import Server, shared_server

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SUITES = (W3C / "syntax-query", W3C / "syntax-fed")
#: Words of Oxigraph's own messages that a SPARQL 1.1 user must never be offered.
NOT_OFFERED = ("LATERAL", "SERVICE", "[_]", "ADJUST", "{|", "expected one of")


@dataclass(frozen=True)
class Case:
    name: str
    positive: bool
    text: str


def _cases() -> list[Case]:
    cases = []
    for folder in SUITES:
        g = rdflib.Graph().parse(folder / "manifest.ttl", format="turtle",
                                 publicID=folder.as_uri() + "/manifest.ttl")
        manifest = next(g.subjects(rdflib.RDF.type, MF.Manifest))
        for entry in Collection(g, g.value(manifest, MF.entries)):
            kind = str(g.value(entry, rdflib.RDF.type)).rsplit("#", 1)[1]
            assert kind in {"PositiveSyntaxTest11", "NegativeSyntaxTest11"}, kind
            action = Path(str(g.value(entry, MF.action)).removeprefix("file://"))
            cases.append(Case(f"{folder.name}/{action.name}", kind.startswith("Positive"),
                              action.read_text(encoding="utf-8")))
    return cases


CASES = _cases()


def _has_service(node: object) -> bool:
    if isinstance(node, CompValue):
        return node.name == "ServiceGraphPattern" or any(
            _has_service(v) for v in node.values())
    if isinstance(node, ParseResults | list | tuple):
        return any(_has_service(v) for v in node)
    return False


def uses_service(case: Case) -> bool:
    """Whether the query uses SERVICE as a keyword, by rdflib's SPARQL 1.1 parser."""
    if case.positive:
        return _has_service(parseQuery(case.text))
    # A negative test cannot be parsed; none of these contains the word at all.
    assert "service" not in case.text.lower(), case.name
    return False


def test_the_suites_are_all_there() -> None:
    assert len(CASES) == 97
    assert sum(uses_service(c) for c in CASES) == 3
    assert sum(not c.positive for c in CASES) == 31


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_guard_refuses_exactly_the_service_queries(case: Case) -> None:
    try:
        guard.inspect(case.text, 64 * 1024)
        refused = False
    except guard.GuardError as exc:
        assert "SERVICE is not allowed" in str(exc)
        refused = True
    assert refused == uses_service(case)


@pytest.fixture(scope="module")
def server() -> Server:
    return shared_server()


def post(server: Server, text: str) -> tuple[int, str]:
    request = urllib.request.Request(
        server.url + "/sparql", data=text.encode("utf-8"), method="POST",
        headers={"Content-Type": "application/sparql-query", "Accept": "*/*"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_query_reaches_the_engine_unless_it_uses_service(server: Server,
                                                               case: Case) -> None:
    status, body = post(server, case.text)
    if uses_service(case):
        assert status == 400 and "SERVICE is not allowed" in body, body
    elif case.positive:
        # Run by the engine: 200, or (a custom function) the engine's own refusal.
        assert status != 400 and "not allowed" not in body, body
    else:
        assert status == 400, body
        assert "syntax error: line " in body, body
        assert not any(word in body for word in NOT_OFFERED), body


PREFIX_SERVICE = "PREFIX service: <http://example.org/> "


@pytest.mark.parametrize("text", [
    PREFIX_SERVICE + "SELECT * WHERE { ?s ?p ?o }",
    PREFIX_SERVICE + "SELECT * WHERE { service:x ?p ?o }",
    PREFIX_SERVICE + "SELECT * WHERE { ?s service:p ?o . service:x ?p ?o }",
    PREFIX_SERVICE + "SELECT * WHERE { GRAPH service:g { ?s ?p ?o } }",
    PREFIX_SERVICE + "SELECT * FROM service:g { ?s ?p ?o }",
])
def test_a_prefix_named_service_is_not_the_keyword(server: Server, text: str) -> None:
    status, body = post(server, text)
    assert status == 200, body


@pytest.mark.parametrize("text", [
    # Oxigraph reads `service:x {` as `SERVICE :x {`: that must stay refused.
    PREFIX_SERVICE + "PREFIX : <http://127.0.0.1:9/> SELECT * WHERE { service:x { ?s ?p ?o } }",
    "PREFIX : <http://127.0.0.1:9/> SELECT * WHERE { service:x # c\n { ?s ?p ?o } }",
    "PREFIX : <http://127.0.0.1:9/> SELECT * WHERE { SERVICE:x { ?s ?p ?o } }",
])
def test_service_read_as_the_keyword_is_refused(server: Server, text: str) -> None:
    status, body = post(server, text)
    assert status == 400 and "SERVICE is not allowed" in body, body


SYNTAX_ERRORS = [
    # (query, the message's first line must contain, the line shown)
    ("SELECT * WHERE { ?s ?p }", "line 1, column 25: the query stops following the "
     "SPARQL 1.1 grammar", "SELECT * WHERE { ?s ?p }"),
    ("SELECT * WHERE {\n  ?s ?p ?o .\n  FILTER(?o = ) }",
     # Oxigraph's position: the furthest point its parser tried.
     "line 3, column 18: SPARQL 1.1 expects an expression here, not the end of the query",
     "FILTER(?o = ) }"),
    ("SELECT * WHERE { ?s ?p ?o \n OPTIONAL }", "line 2, column 11: SPARQL 1.1 expects `{` "
     "here, not `}`", " OPTIONAL }"),
    ("SELECT * { ?s foo:bar ?o }", "the prefix `foo:` is not declared", "?s foo:bar ?o }"),
    ("SELEC * WHERE { ?s ?p ?o }", "a SPARQL 1.1 query starts with SELECT, CONSTRUCT, "
     "DESCRIBE or ASK (after any BASE and PREFIX), not `SELEC`", "SELEC * WHERE"),
]


@pytest.mark.parametrize("text,said,shown", SYNTAX_ERRORS)
def test_syntax_errors_in_sparql_terms_over_http(server: Server, text: str, said: str,
                                                 shown: str) -> None:
    status, body = post(server, text)
    assert status == 400, body
    assert said in body and shown in body and "^" in body, body
    assert not any(word in body for word in NOT_OFFERED), body


@pytest.mark.parametrize("text,said,shown", SYNTAX_ERRORS)
def test_syntax_errors_in_sparql_terms_on_the_command_line(server: Server, text: str,
                                                           said: str, shown: str) -> None:
    done = run_cli("query", "--releases", str(server.releases), text)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("pledge-lod query: syntax error: line "), done.stderr
    assert said in done.stderr and shown in done.stderr, done.stderr
    assert not any(word in done.stderr for word in NOT_OFFERED), done.stderr
