"""No query makes a network request: SERVICE, LOAD, FROM aimed at a local listener.

A listener on 127.0.0.1 records every connection. Queries aimed at it go to the live
server in every disguise (case, \\u escapes, comments, odd whitespace, prefixed names,
nesting, each way of sending); the listener must record nothing. A second test skips
the guard and hands SERVICE straight to a query worker: its empty network namespace
still keeps it off the network.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from support.sparql import Listener, Server, listening, shared_server

pytestmark = pytest.mark.slow  # the slow tier: the shared gunicorn server


@pytest.fixture(scope="module")
def server() -> Server:
    return shared_server()


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as found:
        yield found


def send(server: Server, way: str, text: str, field: str = "query",
         extra: list[tuple[str, str]] | None = None) -> tuple[int, bytes]:
    url = server.url + "/sparql"
    params = [(field, text), *(extra or [])]
    headers = {"Accept": "application/sparql-results+json, text/turtle;q=0.9"}
    if way == "get":
        request = urllib.request.Request(url + "?" + urllib.parse.urlencode(params),
                                         headers=headers)
    elif way == "form":
        request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(),
                                         headers=headers)
    else:
        kind = "application/sparql-query" if field == "query" else "application/sparql-update"
        query = urllib.parse.urlencode(extra or [])
        request = urllib.request.Request(url + ("?" + query if query else ""),
                                         data=text.encode(),
                                         headers={**headers, "Content-Type": kind})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def service_disguises(url: str) -> list[str]:
    host_path = url.removeprefix("http://")
    return [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SeRvIcE SILENT <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ \\U00000053\\u0045RVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERV\\u0049CE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ # a comment <{url}>\nSERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE#comment\n<{url}>{{?s ?p ?o}} }}",
        f"SELECT * WHERE {{\tSERVICE\r\n\x0c<{url}>\t{{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE<{url}>{{?s ?p ?o}} }}",
        f"SELECT * WHERE {{ VALUES ?e {{ <{url}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
        f"PREFIX : <{url}> SELECT * WHERE {{ SERVICE:x {{ ?s ?p ?o }} }}",
        f"PREFIX e: <{url}> SELECT * WHERE {{ SERVICE e: {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p 1SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"PREFIX e: <http://e/> SELECT * WHERE {{ ?s ?p e:a.SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ OPTIONAL {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
        f"ASK {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"CONSTRUCT WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"DESCRIBE ?s WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE <http://{host_path}\\u0041> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p \"\"\"x\"\"\" SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p 'it\\'s' SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p ?o }} #\u2028SERVICE <{url}> {{ }}",
    ]


def test_the_listener_hears_connections(listener: Listener) -> None:
    with pytest.raises(OSError):
        urllib.request.urlopen(listener.url, timeout=2)
    assert listener.connections == 1


@pytest.mark.parametrize("way", ["get", "form", "direct"])
def test_service_never_reaches_the_listener(server: Server, listener: Listener, way: str) -> None:
    for text in service_disguises(listener.url):
        status, body = send(server, way, text)
        assert status == 400, (text, status, body)
        assert b"SERVICE" in body
    assert listener.connections == 0


@pytest.mark.parametrize("way", ["form", "direct"])
def test_load_never_reaches_the_listener(server: Server, listener: Listener, way: str) -> None:
    for text in (f"LOAD <{listener.url}>", f"LOAD SILENT <{listener.url}> INTO GRAPH <http://g/>",
                 f"load <{listener.url}data.ttl>"):
        status, body = send(server, way, text, field="update")
        assert status == 403, (text, status, body)
    status, _ = send(server, "get", f"LOAD <{listener.url}>", field="update")
    assert status == 400
    for way_ in ("get", "form", "direct"):  # sent as a query: refused as an update
        status, body = send(server, way_, f"LOAD <{listener.url}>")
        assert status == 403 and b"read-only" in body
    assert listener.connections == 0


@pytest.mark.parametrize("way", ["get", "form", "direct"])
def test_from_and_graph_names_are_local(server: Server, listener: Listener, way: str) -> None:
    url = listener.url
    for text in (f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
                 f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
                 f"SELECT * FROM <{url}> FROM NAMED <{url}x> WHERE {{ ?s ?p ?o }}",
                 f"SELECT * WHERE {{ GRAPH <{url}> {{ ?s ?p ?o }} }}",
                 f"DESCRIBE <{url}>",
                 f"CONSTRUCT {{ ?s ?p ?o }} FROM <{url}> WHERE {{ ?s ?p ?o }}",
                 f"ASK FROM <{url}> {{ ?s ?p ?o }}"):
        status, body = send(server, way, text)
        assert status == 200, (text, body)
        assert b'"bindings":[]' in body or b'"boolean":false' in body or body.strip() == b""
    status, _ = send(server, way, "SELECT * WHERE { ?s ?p ?o }",
                     extra=[("default-graph-uri", url), ("named-graph-uri", url + "n")])
    assert status == 200
    assert listener.connections == 0


def test_a_worker_stays_off_the_network_without_the_guard(server: Server,
                                                          listener: Listener) -> None:
    """Defence in depth: SERVICE handed straight to a worker cannot connect either."""
    from pledge_lod.config import Settings
    from pledge_lod.http.formats import BY_KEY
    from pledge_lod.store import QueryFailed, QueryLimits, UserQuery
    from pledge_lod.store.embedded import EmbeddedStore

    store = EmbeddedStore(server.releases)
    executor = store.query_runner(QueryLimits.from_settings(Settings(query_timeout_s=10)))
    try:
        job = UserQuery(f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}",
                        "http://e/sparql", None, None, True, BY_KEY["json"], None)
        with pytest.raises(QueryFailed, match=r"(?i)network|unreachable|connect"):
            executor.run(job, store.snapshot())
        assert all(slot.isolated for slot in executor.pool.slots if slot.ready)
    finally:
        executor.close()
    assert listener.connections == 0
