"""The endpoint's pure parts: guard, protocol parsing, format choice, tables."""

from __future__ import annotations

import pytest

from pledge_lod.http.formats import formats_of
from pledge_lod.http.negotiation import NotAcceptable, negotiate
from pledge_lod.sparql import guard
from pledge_lod.sparql.protocol import ProtocolError, parse_request
from pledge_lod.sparql.tables import table_from_json

LIMIT = 64 * 1024

# -- guard -------------------------------------------------------------------------------

REFUSED = [
    "SELECT * { SERVICE <http://x/> { ?s ?p ?o } }",
    "select * { service <http://x/> {} }",
    "SELECT * { \\u0053ERVICE <http://x/> {} }",
    "SELECT * { SERVIC\\U00000045 <http://x/> {} }",
    "PREFIX : <http://x/> SELECT * { SERVICE:a {} }",
    "SELECT * { ?s ?p 1SERVICE <http://x/> {} }",
    "SELECT * { ?s ?p trueSERVICE <http://x/> {} }",
    "PREFIX e: <http://e/> SELECT * { ?s ?p e:a.SERVICE <http://x/> {} }",
    "PREFIX e: <http://e/> SELECT * { ?s ?p e:a-SERVICE <http://x/> {} }",
    "SELECT * { ?x ?y ?z FILTER(?x<?y) SERVICE <http://x/> {} }",
    "SELECT * { ?s ?p 'unterminated\n' SERVICE <http://x/> {} }",
    "SELECT * { ?s ?p \"esc\\\" SERVICE <http://x/> {} }",
    "SELECT * { ?s ?p ?o } # comment\rSERVICE <http://x/> {}",
    "SELECT * { ?s ?p ?o } # comment\u2028SERVICE <http://x/> {}",
    "SELECT * { ?s ?p \"\\u0022 SERVICE <http://x/> {} \" }",
    "SELECT * { ?x-SERVICE <http://x/> {} }",
]
ACCEPTED = [
    ("PREFIX sd: <http://www.w3.org/ns/sparql-service-description#>\n"
     "SELECT ?s WHERE { ?s a sd:Service }", "SELECT"),
    ("PREFIX dcat: <http://www.w3.org/ns/dcat#> SELECT * { ?s a dcat:DataService }", "SELECT"),
    ("SELECT ?service WHERE { ?service ?p \"SERVICE <x> {}\" } # SERVICE", "SELECT"),
    ("SELECT * WHERE { ?s <http://e/SERVICE> '''SERVICE''' }", "SELECT"),
    ("PREFIX e: <http://e/> ASK { e:SERVICE e:service_x $SERVICE }", "ASK"),
    ("BASE <http://e/> PREFIX p: <x> CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ("# comment\ndescribe <http://e/>", "DESCRIBE"),
]


@pytest.mark.parametrize("text", REFUSED)
def test_guard_refuses_service_in_any_disguise(text: str) -> None:
    with pytest.raises(guard.GuardError, match="SERVICE is not allowed"):
        guard.inspect(text, LIMIT)


@pytest.mark.parametrize("text,form", ACCEPTED)
def test_guard_lets_ordinary_queries_through(text: str, form: str) -> None:
    assert guard.inspect(text, LIMIT).form == form


def test_guard_knows_updates_datasets_and_sizes() -> None:
    for text in ("CLEAR ALL", "LOAD <http://x/>", "PREFIX e: <x> INSERT DATA { e:a e:b e:c }",
                 "with <x> delete { ?s ?p ?o } where { ?s ?p ?o }"):
        with pytest.raises(guard.UpdateRefused):
            guard.inspect(text, LIMIT)
    assert guard.inspect("SELECT * FROM <http://g/> { ?s ?p ?o }", LIMIT).has_dataset
    assert guard.inspect("SELECT * FROM NAMED <http://g/> { }", LIMIT).has_dataset
    assert not guard.inspect("SELECT * { ?from <http://e/FROM> 'FROM' }", LIMIT).has_dataset
    with pytest.raises(guard.QueryTooLarge):
        guard.inspect("ASK {}" + " " * 100, 50)


def test_guard_is_linear_on_hostile_input() -> None:
    import time

    for text in ('"\\' * 30000, '"""\\' * 15000, "<a" * 30000, "'''\\\"" * 12000):
        started = time.monotonic()
        guard.inspect(text, 10**6)
        assert time.monotonic() - started < 2.0


# -- protocol ------------------------------------------------------------------------------

def parse(method: str = "GET", ctype: str | None = None, qs: bytes = b"", body: bytes = b""):
    return parse_request(method, ctype, qs, body, 10_000)


def status_of(**kwargs) -> int:
    with pytest.raises(ProtocolError) as info:
        parse(**kwargs)
    return info.value.status


def test_protocol_reads_the_three_ways() -> None:
    assert parse(qs=b"query=ASK%20%7B%7D").query == "ASK {}"
    assert parse("POST", "application/x-www-form-urlencoded", body=b"query=ASK+%7B%7D").query \
        == "ASK {}"
    direct = parse("POST", "application/sparql-query; charset=UTF-8",
                   qs=b"default-graph-uri=http%3A%2F%2Fg%2F", body="ASK { 'é' }".encode())
    assert direct.query == "ASK { 'é' }"
    assert direct.default_graphs == ["http://g/"] and direct.named_graphs is None
    assert parse(qs=b"").query is None  # the service description
    assert parse(qs=b"format=ttl&format=&format=json").formats == ["ttl", "json"]


def test_protocol_errors_have_the_right_status() -> None:
    assert status_of(method="PUT") == 405
    assert status_of(qs=b"query=a&query=b") == 400
    assert status_of(qs=b"query=%FF") == 400
    assert status_of(qs=b"update=CLEAR%20ALL") == 400
    assert status_of(qs=b"query=ASK%7B%7D&default-graph-uri=not%20an%20iri") == 400
    assert status_of(qs=b"query=ASK%7B%7D&named-graph-uri=relative/iri") == 400
    assert status_of(method="POST", ctype="text/plain", body=b"ASK {}") == 415
    assert status_of(method="POST", body=b"query=ASK") == 415
    assert status_of(method="POST", ctype="application/sparql-query; charset=UTF-16",
                     body="ASK {}".encode("utf-16")) == 415
    assert status_of(method="POST", ctype="application/sparql-query", body=b"ASK {\xff}") == 400
    assert status_of(method="POST", ctype="application/sparql-update", body=b"CLEAR ALL") == 403
    assert status_of(method="POST", ctype="application/x-www-form-urlencoded",
                     body=b"update=CLEAR+ALL") == 403
    assert status_of(method="POST", ctype="application/x-www-form-urlencoded",
                     body=b"update=a&update=b") == 400
    assert status_of(method="POST", ctype="application/x-www-form-urlencoded",
                     body=b"x=1") == 400
    assert status_of(method="POST", ctype="application/sparql-query", qs=b"query=ASK",
                     body=b"ASK {}") == 400
    assert status_of(method="POST", ctype="application/sparql-query", body=b"x" * 10_001) == 413
    assert status_of(qs=b"&".join([b"a=1"] * 1000)) == 400


# -- formats -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,accept,names,expected", [
    ("results", None, [], "json"),
    ("results", "*/*", [], "json"),
    ("results", "application/sparql-results+xml", [], "xml"),
    ("results", "application/sparql-results+xml;charset=utf-8", [], "xml"),
    ("results", "text/csv;header=present;q=0.5, text/tab-separated-values;q=0.4", [], "csv"),
    ("results", "application/json", [], "json"),
    ("results", "text/csv;q=0.5, text/tab-separated-values", [], "tsv"),
    ("results", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", [], "html"),
    ("results", "image/png", ["csv"], "csv"),
    ("results", None, ["text/tab-separated-values", "tsv"], "tsv"),
    ("graph", None, [], "ttl"),
    ("graph", "application/xml", [], "rdf"),
    ("graph", "application/json", [], "jsonld"),
    ("graph", "text/plain", [], "nt"),
    ("graph", "text/rdf+n3", [], "ttl"),
    ("graph", "application/sparql-results+xml, application/rdf+xml", [], "rdf"),
    ("graph", None, ["xml"], "rdf"),
    ("graph", None, ["json"], "jsonld"),
])
def test_negotiation(kind: str, accept: str | None, names: list[str], expected: str) -> None:
    assert negotiate(formats_of(kind), accept, names).key == expected


def test_negotiation_refuses_with_the_offer() -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate(formats_of("results"), "image/png", [])
    assert "application/sparql-results+json" in info.value.offered
    with pytest.raises(NotAcceptable):
        negotiate(formats_of("graph"), None, ["csv"])
    with pytest.raises(NotAcceptable):
        negotiate(formats_of("results"), "text/csv;q=0", [])


def test_tables_link_only_web_iris() -> None:
    body = (b'{"head":{"vars":["a","b","c"]},"results":{"bindings":[{"a":{"type":"uri",'
            b'"value":"javascript:alert(1)"},"b":{"type":"uri","value":"https://e/x"},'
            b'"c":{"type":"literal","value":"v","xml:lang":"en"}}]}}')
    table = table_from_json(body)
    a, b, c = table.rows[0]
    assert a is not None and a.href is None
    assert b is not None and b.href == "https://e/x"
    assert c is not None and c.note == "@en"
