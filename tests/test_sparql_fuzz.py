"""Fuzzing: queries, parameters, headers and bodies never give a 500.

Hypothesis drives the endpoint through Flask's test client (fast, same code as the
server), with the real worker pool behind it. Generated queries are built from SPARQL
tokens (so that many parse and run), including SERVICE aimed at a listener on
127.0.0.1 that must never be reached. A last property checks the guard alone against
the engine itself, in this process (no network isolation): whatever the guard lets
through, Oxigraph never connects to the listener.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Iterator

import pyoxigraph
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pledge_lod.sparql import guard
from support.sparql import Listener, minimal_app, shared_server

pytestmark = pytest.mark.slow  # the slow tier: its release is the shared gunicorn server's

OK_STATUSES = {200, 204, 400, 403, 405, 406, 413, 415, 429, 503}
FUZZ = settings(max_examples=600, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()
    assert found.connections == 0


@pytest.fixture(scope="module")
def client():
    releases = shared_server().releases
    app = minimal_app(releases, query_timeout_s=1.0, max_result_bytes=100_000,
                      max_queries_per_client=50, max_request_bytes=20_000,
                      max_query_bytes=10_000)
    yield app.test_client()
    app.extensions["sparql_endpoint"].executor.close()


def tokens(listener_url: str) -> st.SearchStrategy[str]:
    keywords = ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "FROM", "NAMED", "GRAPH",
                "SERVICE", "service", "SILENT", "OPTIONAL", "FILTER", "UNION", "MINUS", "VALUES",
                "BIND", "AS", "LIMIT 3", "OFFSET 1", "ORDER BY", "GROUP BY", "DISTINCT", "PREFIX",
                "BASE", "INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "WITH", "a", "*", "{", "}",
                "(", ")", ".", ";", ",", "=", "<", ">", "&&", "||", "!", "^^", "@en", "COUNT",
                "STR", "REGEX", "EXISTS", "NOT", "IRI", "LANG", "UNDEF", "true", "false"]
    terms = ["?s", "?p", "?o", "?x", "$y", "<http://e/a>", "<s>", f"<{listener_url}>",
             "e:a", ":b", "e:", "sd:Service", "_:b1", "[]", "\"x\"", "'y'", "\"\"\"z\"\"\"",
             "'''w'''", "1", "2.5e3", "-7", "\"é\"@fr", "\\u0053ERVICE", "\\u0022",
             "# comment\n", "#SERVICE\n", "e:a.SERVICE", "1SERVICE", "SERVICE:x",
             "service:x", "service:", "PREFIX service: <http://e/>",
             "PREFIX e: <http://e/>", f"PREFIX : <{listener_url}>"]
    return st.one_of(st.sampled_from(keywords), st.sampled_from(terms),
                     st.text(max_size=6))


def soup(listener_url: str) -> st.SearchStrategy[str]:
    """Token soup: mostly syntax errors, in every shape."""
    spaces = st.sampled_from([" ", "\n", "\t", "", "  ", "\r\n", "\x0c"])
    return st.lists(st.tuples(tokens(listener_url), spaces), max_size=30).map(
        lambda parts: "".join(t + s for t, s in parts))


def grammar(listener_url: str) -> st.SearchStrategy[str]:
    """Queries shaped by the grammar: most parse, many run; SERVICE in disguises."""
    var = st.sampled_from(["?s", "?p", "?o", "?x", "?g"])
    const = st.sampled_from(["<http://e/a>", "e:b", "\"x\"", "1", "<http://metadata.un.org/sdg/5>",
                             "<http://www.w3.org/2004/02/skos/core#prefLabel>", "a"])
    term = st.one_of(var, const)
    service_kw = st.sampled_from(["SERVICE", "service", "\\u0053ERVICE", "SERVICE SILENT",
                                  "SeRvIcE#c\n", "SERVICE\t"])
    expr = st.one_of(
        st.builds("{} = {}".format, var, term),
        st.builds("isIRI({})".format, var),
        st.builds("REGEX(STR({}), {})".format, var, st.sampled_from(["'a'", "'^h'", "'('"])),
        st.builds("BOUND({})".format, var),
        st.just("true"),
    )

    def group(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        element = st.one_of(
            st.builds("{} {} {} .".format, term, term, term),
            st.builds("OPTIONAL {{ {} }}".format, inner),
            st.builds("FILTER({})".format, expr),
            st.builds("{{ {} }} UNION {{ {} }}".format, inner, inner),
            st.builds("GRAPH {} {{ {} }}".format, st.one_of(var, const), inner),
            st.builds("{} <{}> {{ {} }}".format, service_kw, st.just(listener_url), inner),
            # A prefix named service: Oxigraph reads `service:x {` as `SERVICE :x {`.
            st.builds("{} {{ {} }}".format, st.sampled_from(
                ["service:x", "SERVICE:x", "service:x#c\n", "GRAPH service:x", "?s ?p service:x"]
            ), inner),
            st.builds("VALUES {} {{ {} }}".format, var, const),
            st.builds("BIND({} AS ?b)".format, term),
            st.builds("MINUS {{ {} }}".format, inner),
            st.builds("FILTER NOT EXISTS {{ {} }}".format, inner),
        )
        return st.lists(element, max_size=3).map(" ".join)

    where = st.recursive(st.just(""), group, max_leaves=6)
    form = st.sampled_from(["SELECT *", "SELECT DISTINCT ?s ?o", "SELECT (COUNT(*) AS ?n)",
                            "ASK", "CONSTRUCT { ?s ?p ?o }", "DESCRIBE ?s", "DESCRIBE <http://e/a>"])
    dataset = st.sampled_from(["", f"FROM <{listener_url}>", "FROM <http://e/g>",
                               "FROM NAMED <http://e/g>"])
    tail = st.sampled_from(["LIMIT 5", "LIMIT 5 OFFSET 2", "ORDER BY ?s LIMIT 3", "LIMIT 1"])
    return st.builds(f"PREFIX e: <http://e/> PREFIX service: <http://e/> PREFIX : <{listener_url}>"
                     "\n{} {} WHERE {{ {} }} {}".format, form, dataset, where, tail)


@functools.cache
def queries(listener_url: str) -> st.SearchStrategy[str]:
    """Built once per URL: building strategies is slower than drawing from them."""
    return st.one_of(soup(listener_url), grammar(listener_url))


@FUZZ
@given(data=st.data())
def test_fuzzed_queries(client, listener: Listener, data) -> None:
    text = data.draw(queries(listener.url))
    way = data.draw(st.sampled_from(["get", "form", "direct"]))
    accept = data.draw(st.sampled_from(["*/*", "text/html", "application/sparql-results+xml",
                                        "text/csv", "text/turtle", "application/ld+json",
                                        "image/png", ""]))
    headers = {"Accept": accept}
    if way == "get":
        response = client.get("/sparql", query_string={"query": text}, headers=headers)
    elif way == "form":
        response = client.post("/sparql", data={"query": text}, headers=headers)
    else:
        response = client.post("/sparql", data=text.encode("utf-8", "surrogatepass"),
                               content_type="application/sparql-query", headers=headers)
    assert response.status_code in OK_STATUSES, (text, response.status_code, response.data[:500])
    event(f"status {response.status_code}")
    assert listener.connections == 0, text


percent_encoded = st.binary(max_size=40).map(lambda b: urllib.parse.quote_from_bytes(b, safe=""))
raw_part = st.one_of(percent_encoded, st.text(max_size=20), st.sampled_from(
    ["%", "%F", "%FF", "%C3%28", "%E2%82", "+", "&", "=", "%00", "query", "update", "format",
     "default-graph-uri", "named-graph-uri"]))


@FUZZ
@given(names=st.lists(st.one_of(raw_part, st.sampled_from(
    ["query", "update", "format", "default-graph-uri", "named-graph-uri", "output"])),
    max_size=6), values=st.lists(raw_part, max_size=6),
    method=st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE"]),
    ctype=st.sampled_from([None, "application/x-www-form-urlencoded", "application/sparql-query",
                           "application/sparql-update", "text/plain", "multipart/form-data",
                           "application/x-www-form-urlencoded; charset=latin1"]))
def test_fuzzed_parameters(client, names: list[str], values: list[str], method: str,
                           ctype: str | None) -> None:
    raw = "&".join(f"{n}={v}" for n, v in zip(names, values + [""] * len(names), strict=False))
    raw_latin1 = raw.encode("utf-8", "surrogatepass").decode("latin-1")
    body = raw.encode("utf-8", "surrogatepass") if method == "POST" else None
    response = client.open("/sparql", method=method, data=body, content_type=ctype,
                           environ_overrides={"QUERY_STRING": raw_latin1 if method != "POST"
                                              or ctype is None else ""})
    assert response.status_code in OK_STATUSES, (raw, method, ctype, response.status_code,
                                                 response.data[:300])


header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255,
                                             blacklist_characters="\x7f"), max_size=60)


@FUZZ
@given(accept=st.one_of(header_text, st.sampled_from(
    ["text/*;q=0", "*/*;q=0.0", "application/sparql-results+json;q=abc", ";;;,,,", "*/*;q=2",
     "text/html;level=1;q=0.5, */*;q=0.1", "application/rdf+xml;charset=utf-8"])),
    ctype=header_text, fmt=st.one_of(header_text, st.sampled_from(["json", "ttl", "html", ""])),
    query=st.sampled_from(["ASK {}", "SELECT * { ?s ?p ?o } LIMIT 2",
                           "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2", "DESCRIBE <http://e/>", ""]),
    post=st.booleans())
def test_fuzzed_headers(client, accept: str, ctype: str, fmt: str, query: str,
                        post: bool) -> None:
    params = {"query": query, "format": fmt} if query else {"format": fmt}
    if post:
        response = client.post("/sparql", data=urllib.parse.urlencode(params),
                               headers={"Accept": accept, "Content-Type": ctype})
    else:
        response = client.get("/sparql", query_string=params, headers={"Accept": accept})
    assert response.status_code in OK_STATUSES, (accept, ctype, fmt, response.data[:300])
    if response.status_code == 200:
        assert response.headers["Content-Type"]


@FUZZ
@given(body=st.binary(max_size=300), charset=st.sampled_from(["", "; charset=utf-8",
                                                              "; charset=UTF-16", "; charset=x"]),
       kind=st.sampled_from(["application/sparql-query", "application/sparql-update",
                             "application/x-www-form-urlencoded"]))
def test_fuzzed_bodies(client, body: bytes, charset: str, kind: str) -> None:
    response = client.post("/sparql", data=body, content_type=kind + charset)
    assert response.status_code in OK_STATUSES, (body, kind, response.data[:300])


@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_what_the_guard_lets_through_never_connects(listener: Listener, data) -> None:
    """The guard against the engine itself, unisolated: accepted means no network."""
    text = data.draw(queries(listener.url))
    try:
        guard.inspect(text, 100_000)
    except guard.GuardError:
        event("refused by the guard")
        return
    store = pyoxigraph.Store()
    try:
        result = store.query(text, base_iri="http://e/sparql")
        if isinstance(result, pyoxigraph.QuerySolutions | pyoxigraph.QueryTriples):
            for _ in zip(range(10), result, strict=False):
                pass
        event("ran")
    except (SyntaxError, OSError, ValueError, RuntimeError, TypeError):
        event("engine error")
    assert listener.connections == 0, text
