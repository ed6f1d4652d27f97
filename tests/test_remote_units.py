"""The remote backend's parts that need no store: binding values safely, reading answers,
authentication, chunking, and what happens when the store is down, hung or refuses.

Binding is checked against the reference: every query of the web layer, bound with a
VALUES block, gives on Oxigraph exactly what SEP-0007 substitution gives.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import inspect
import json
import socket
import threading
import time
from pathlib import Path

import pyoxigraph
import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Triple, Variable

from pledge_lod.config import Settings
from pledge_lod.publish import Target, bnode_groups, chunks
from pledge_lod.release.on_store import physical_graph
from pledge_lod.store.base import QuerySyntaxError, QueryTimeout, StoreUnavailable
from pledge_lod.store.remote import (
    HttpClient,
    QueryClient,
    RemoteRefused,
    RemoteSnapshot,
    RemoteTimeout,
    Response,
    bind_values,
    parse_json_results,
    rewrite_graphs,
    split_dataset,
    term_from_json,
    where_start,
)
from pledge_lod.web.queries import Queries

BASE = "http://example.org"
XSD = "http://www.w3.org/2001/XMLSchema#"

# -- bind_values ------------------------------------------------------------------------


def test_values_block_goes_at_the_start_of_the_where_group() -> None:
    q = "SELECT $this ?o WHERE { $this ?p ?o }"
    out = bind_values(q, {"this": NamedNode("http://x/a")})
    assert out == "SELECT $this ?o WHERE { VALUES (?this) { (<http://x/a>) }  $this ?p ?o }"


def test_construct_template_is_skipped() -> None:
    q = "CONSTRUCT { $this <http://p> ?o . } WHERE { $this ?p ?o }"
    out = bind_values(q, {"this": NamedNode("http://x/a")})
    assert out.startswith("CONSTRUCT { $this <http://p> ?o . } WHERE { VALUES (?this)")


def test_braces_in_strings_iris_comments_and_names_are_not_groups() -> None:
    q = ('PREFIX where: <http://x/{}>\n# a comment { with braces\n'
         'SELECT (STR("{") AS ?b) ?s WHERE { ?s where:p "}" }')
    pos = where_start(q)
    assert q[pos - 1] == "{" and q[pos:].startswith(' ?s where:p "}"')
    ask = "ASK { ?s ?p ?o }"
    assert where_start(ask) == 5
    exists = "SELECT (EXISTS { ?a ?b ?c } AS ?e) WHERE { ?s ?p ?o }"
    assert exists[where_start(exists):].startswith(" ?s ?p ?o")
    long_string = 'SELECT ?s WHERE { ?s ?p """a { b""" }'
    assert long_string[where_start(long_string):].startswith(' ?s ?p """')


def test_terms_are_escaped_never_pasted() -> None:
    evil = 'x" } } ; DROP ALL ; SELECT * WHERE { "'
    out = bind_values("SELECT ?s WHERE { ?s ?p $v }", {"v": Literal(evil, language="en")})
    # pyoxigraph escapes the quote: the text stays one literal in the query
    parsed = pyoxigraph.Store()
    parsed.add(Quad(NamedNode("http://x/s"), NamedNode("http://x/p"), Literal(evil, language="en")))
    rows = list(parsed.query(out))
    assert [r["s"] for r in rows] == [NamedNode("http://x/s")]
    assert "DROP ALL ; SELECT" in out and '\\"' in out


def test_odd_literals_survive_binding() -> None:
    store = pyoxigraph.Store()
    values = [
        Literal("line\nbreak\ttab \\ back\u0001ctl \u2028 \U0001F600 é"),
        Literal("42", datatype=NamedNode(XSD + "integer")),
        Literal("true", datatype=NamedNode(XSD + "boolean")),
        Literal("x", language="de-at"),
    ]
    for i, value in enumerate(values):
        store.add(Quad(NamedNode(f"http://x/{i}"), NamedNode("http://x/p"), value))
    for i, value in enumerate(values):
        q = bind_values("SELECT ?s WHERE { ?s <http://x/p> $v }", {"v": value})
        assert [r["s"] for r in store.query(q)] == [NamedNode(f"http://x/{i}")]


def test_from_clauses_move_into_the_protocol_dataset() -> None:
    text, defaults, named = split_dataset(
        "PREFIX g: <http://x/graph/>\n# FROM <http://not/this>\n"
        "SELECT * FROM <http://x/graph/data> FROM NAMED g:void WHERE { ?s ?p 'FROM <x>' }")
    assert (defaults, named) == (["http://x/graph/data"], ["http://x/graph/void"])
    assert "FROM <http://x/graph/data>" not in text and "g:void" not in text
    assert text.endswith("WHERE { ?s ?p 'FROM <x>' }")
    text, defaults, named = split_dataset(
        "CONSTRUCT { ?s <http://x/from> ?o } FROM <http://g> WHERE { ?s ?p ?o }")
    assert (defaults, named) == (["http://g"], [])
    assert text.startswith("CONSTRUCT { ?s <http://x/from> ?o }")
    assert split_dataset("ASK { ?s ?p ?o }") == ("ASK { ?s ?p ?o }", [], [])
    with pytest.raises(ValueError):
        split_dataset("SELECT * FROM ?g WHERE { ?s ?p ?o }")


def test_bad_bindings_are_refused() -> None:
    with pytest.raises(ValueError):
        bind_values("SELECT ?s WHERE { ?s ?p ?o }", {"s o": NamedNode("http://x")})
    with pytest.raises(ValueError):
        bind_values("SELECT ?s WHERE { ?s ?p ?o }", {"s": BlankNode("b1")})
    with pytest.raises(ValueError):
        bind_values("CONSTRUCT WHERE { ?s ?p ?o }", {"s": NamedNode("http://x")})
    with pytest.raises(ValueError):
        bind_values("DESCRIBE <http://x>", {"s": NamedNode("http://x")})
    assert bind_values("SELECT * WHERE { ?s ?p ?o }", {}) == "SELECT * WHERE { ?s ?p ?o }"


@pytest.fixture(scope="module")
def sample_store() -> pyoxigraph.Store:
    """A small dataset shaped like a release: a data graph, labels, goals, a VoID graph."""
    q = Queries.for_release(BASE, {})
    store = pyoxigraph.Store()
    data = f"{BASE}/graph/data"
    ttl = f"""
    @prefix pl: <{BASE}/def/pledge#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
    @prefix dcterms: <http://purl.org/dc/terms/> .
    <{BASE}/id/pledge/a> a pl:Pledge ; rdfs:label "A"@en ; dcterms:spatial <{BASE}/id/place/p> ;
        dcterms:type <{BASE}/id/kind/k> ; pl:sdgGoal <http://metadata.un.org/sdg/5> .
    <{BASE}/id/pledge/b> a pl:Pledge ; rdfs:label "B" ; dcterms:spatial <{BASE}/id/place/p> .
    <{BASE}/id/place/p> a <http://schema.org/Place> ; rdfs:label "P"@en, "P fr"@fr ;
        pl:country <{BASE}/id/place/c> .
    <{BASE}/id/place/c> rdfs:label "C"@en .
    <{BASE}/id/kind/k> rdfs:label "K"@en .
    <{BASE}/id/agent/x> rdfs:label "X"@en ; pl:about <{BASE}/id/place/p> .
    """
    store.load(ttl, format=pyoxigraph.RdfFormat.TURTLE, to_graph=NamedNode(data))
    kos = ("<http://metadata.un.org/sdg/5> a <http://metadata.un.org/sdg/ontology#Goal> ; "
           "<http://www.w3.org/2004/02/skos/core#prefLabel> \"Gender\"@en .")
    store.load(kos, format=pyoxigraph.RdfFormat.TURTLE, to_graph=NamedNode(f"{BASE}/graph/kos"))
    assert q  # built without error
    return store


PL = f"{BASE}/def/pledge#"
FIXED = {  # the shapes of query the web layer sends, independent of its current texts
    "optional_union": f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        CONSTRUCT {{ $this ?p ?o . ?o rdfs:label ?l }} WHERE {{
          {{ GRAPH <{BASE}/graph/data> {{ $this ?p ?o }} }}
          UNION {{ $this ?p ?o . ?o rdfs:label ?l }} }}""",
    "not_exists": f"""SELECT $this ?s ?p WHERE {{ GRAPH <{BASE}/graph/data> {{
          ?s ?p $this . FILTER NOT EXISTS {{ ?s a <{PL}Pledge> }} }} }} ORDER BY ?s ?p""",
    "page_filter": f"""SELECT DISTINCT $this $lo $hi ?s WHERE {{ GRAPH <{BASE}/graph/data> {{
          ?s a <{PL}Pledge> ; <http://purl.org/dc/terms/spatial> $this }}
          FILTER(STR(?s) >= $lo && STR(?s) < $hi) }} ORDER BY STR(?s)""",
    "group_by": f"""SELECT $this (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH <{BASE}/graph/data> {{
          ?s <http://purl.org/dc/terms/spatial> $this }} }} GROUP BY $this""",
    "ask": f"ASK {{ GRAPH <{BASE}/graph/data> {{ $this ?p ?o }} }}",
}


def _cases() -> list[tuple[str, str, dict]]:
    """The fixed shapes, plus every query of the web layer (as it is now) that takes $this."""
    place = {"this": NamedNode(f"{BASE}/id/place/p")}
    cases = [(name, text, place) for name, text in FIXED.items()]
    cases[2] = (cases[2][0], cases[2][1], {**place, "lo": Literal(f"{BASE}/id/pledge/a"),
                                          "hi": Literal(f"{BASE}/id/pledge/z")})
    q = Queries.for_release(BASE, {})
    subjects = [NamedNode(f"{BASE}/id/pledge/a"), NamedNode(f"{BASE}/id/place/p"),
                NamedNode("http://metadata.un.org/sdg/5")]
    for name in sorted(dir(q)):
        if name.startswith("_"):
            continue
        value = getattr(q, name)
        if callable(value):
            try:
                if list(inspect.signature(value).parameters) != ["limit"]:
                    continue  # takes other arguments
            except (TypeError, ValueError):
                continue
            value = value(50)
        text = value
        if isinstance(text, str) and "$this" in text:
            cases += [(f"{name}-{i}", text, {"this": s}) for i, s in enumerate(subjects)]
    return cases


@pytest.mark.parametrize("name,query,bindings", list(_cases()), ids=[c[0] for c in _cases()])
def test_values_binding_matches_substitution(sample_store: pyoxigraph.Store, name: str,
                                             query: str, bindings: dict) -> None:
    subs = {Variable(k): v for k, v in bindings.items()}
    expected = sample_store.query(query, use_default_graph_as_union=True, substitutions=subs)
    got = sample_store.query(bind_values(query, bindings), use_default_graph_as_union=True)
    if isinstance(expected, pyoxigraph.QueryBoolean):
        assert bool(got) == bool(expected)
    elif isinstance(expected, pyoxigraph.QuerySolutions):
        names = [v.value for v in expected.variables]
        exp_rows = [tuple(s[n] for n in names) for s in expected]
        got_rows = [tuple(s[n] for n in names) for s in got]
        assert got_rows == exp_rows
    else:
        want = set(expected)
        assert set(got) == want


# -- answers ------------------------------------------------------------------------------


def test_virtuoso_json_terms() -> None:
    assert term_from_json({"type": "typed-literal", "datatype": XSD + "boolean", "value": "1"}) \
        == Literal("true", datatype=NamedNode(XSD + "boolean"))
    assert term_from_json({"type": "literal", "xml:lang": "en", "value": "x"}) \
        == Literal("x", language="en")
    assert term_from_json({"type": "literal", "datatype": XSD + "string", "value": "x"}) \
        == Literal("x")
    assert term_from_json({"type": "bnode", "value": "nodeID://b10006"}) == BlankNode("b10006")
    assert term_from_json({"type": "uri", "value": "http://x/"}) == NamedNode("http://x/")
    with pytest.raises(ValueError):
        term_from_json({"type": "uri", "value": "not an iri"})
    body = json.dumps({"head": {"vars": ["a", "b"]}, "results": {"bindings": [
        {"a": {"type": "uri", "value": "http://x/"}}]}}).encode()
    result = parse_json_results(body)
    assert not isinstance(result, bool)
    assert result.variables == ["a", "b"] and result.rows == [{"a": NamedNode("http://x/")}]
    assert parse_json_results(b'{"head": {}, "boolean": true}') is True


def test_physical_graph_names() -> None:
    assert physical_graph("http://x/graph/data", "abc123") == "http://x/graph/data/abc123"
    with pytest.raises(ValueError):
        physical_graph("http://x/graph/data", "../etc")


def test_target_urls_are_derived() -> None:
    s = Settings()
    t = Target.resolve(s, "http://h:8890/sparql", "u", "p")
    assert (t.update_url, t.gsp_url) == ("http://h:8890/sparql-auth",
                                         "http://h:8890/sparql-graph-crud-auth")
    t = Target.resolve(s, "http://h:3030/ds")
    assert t.update_url == t.gsp_url == "http://h:3030/ds"
    t = Target.resolve(s, "http://h:8890/sparql", gsp_url="http://h/gsp")
    assert t.gsp_url == "http://h/gsp" and t.update_url == "http://h:8890/sparql"


def test_chunks_never_split_blank_node_groups() -> None:
    store = pyoxigraph.Store()
    g = NamedNode("http://x/g")
    for i in range(25):
        store.add(Quad(NamedNode(f"http://x/{i}"), NamedNode("http://x/p"), Literal(str(i)), g))
    for i in range(6):  # chains of 3 linked blank nodes
        a, b, c = BlankNode(f"a{i}"), BlankNode(f"b{i}"), BlankNode(f"c{i}")
        store.add(Quad(NamedNode("http://x/s"), NamedNode("http://x/q"), a, g))
        store.add(Quad(a, NamedNode("http://x/n"), b, g))
        store.add(Quad(b, NamedNode("http://x/n"), c, g))
        store.add(Quad(c, NamedNode("http://x/v"), Literal(str(i)), g))
    batches = list(chunks(store, "http://x/g", 10))
    assert sum(len(b) for b in batches) == 25 + 24
    for batch in batches:
        assert len(batch) <= 10
        labels = {t.object.value for t in batch if isinstance(t.object, BlankNode)}
        labels |= {t.subject.value for t in batch if isinstance(t.subject, BlankNode)}
        for i in range(6):
            group = {f"a{i}", f"b{i}", f"c{i}"}
            assert not labels & group or group <= labels
    groups = bnode_groups([t for b in batches for t in b if any(
        isinstance(x, BlankNode) for x in (t.subject, t.object))])
    assert sorted(len(g) for g in groups) == [4] * 6


# -- HTTP: authentication and faults --------------------------------------------------------


class _Server:
    """A tiny HTTP server on 127.0.0.1 whose handler a test sets."""

    def __init__(self, handler):
        outer = self
        self.requests: list[tuple[str, str, bytes, dict[str, str]]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path, body, dict(self.headers)))
                handler(self, body)

            do_GET = do_POST = _any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _reply(h, status: int, body: bytes, ctype: str = "text/plain", headers=None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)


def test_digest_authentication_is_sent_up_front_after_the_first_challenge() -> None:
    realm, nonce, user, password = "SPARQL", "abc123", "pledge", "secret"

    def handler(h, body):
        auth = h.headers.get("Authorization", "")
        challenge = {"WWW-Authenticate":
                     f'Digest realm="{realm}", nonce="{nonce}", qop="auth", algorithm="MD5"'}
        if not auth.startswith("Digest "):
            _reply(h, 401, b"", headers=challenge)
            return
        fields = dict(part.strip().split("=", 1) for part in auth[7:].split(","))
        fields = {k: v.strip('"') for k, v in fields.items()}

        def md5(s: str) -> str:
            return hashlib.md5(s.encode()).hexdigest()

        ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{h.command}:{fields['uri']}")
        want = md5(f"{ha1}:{nonce}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
        if fields["response"] == want:
            _reply(h, 201, b"ok")
        else:
            _reply(h, 401, b"", headers=challenge)

    server = _Server(handler)
    try:
        client = HttpClient(user, password, timeout=5)
        for i in range(3):
            resp = client.request("POST", server.url + f"/gsp?graph=g{i}", b"x" * 1000,
                                  {"Content-Type": "application/n-triples"})
            assert resp.status == 201
        # one challenge, then every upload sent once
        assert len(server.requests) == 4
        assert sum(len(r[2]) for r in server.requests) == 4000
        wrong = HttpClient(user, "wrong", timeout=5)
        with pytest.raises(Exception, match="refused the user name or password"):
            wrong.request("POST", server.url + "/gsp", b"x")
    finally:
        server.close()


def test_a_stale_nonce_is_signed_again_once_and_the_upload_goes_through() -> None:
    """RFC 7616 3.3: a server may refuse an old nonce with ``stale=true``; the client then
    signs with the new nonce, without asking for the password again."""
    realm, user, password = "SPARQL", "pledge", "secret"
    nonces = ["n1"]

    def handler(h, body):
        auth = h.headers.get("Authorization", "")
        nonce = nonces[-1]
        stale = ', stale="true"' if f'nonce="{nonce}"' not in auth and auth else ""
        challenge = {"WWW-Authenticate": f'Digest realm="{realm}", nonce="{nonce}", '
                                         f'qop="auth", algorithm="MD5"{stale}'}
        if not auth.startswith("Digest ") or f'nonce="{nonce}"' not in auth:
            _reply(h, 401, b"", headers=challenge)
            return
        fields = {k.strip(): v.strip('"') for k, v in
                  (part.split("=", 1) for part in auth[7:].split(","))}

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{h.command}:{fields['uri']}")
        want = md5(f"{ha1}:{nonce}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
        _reply(h, 201 if fields["response"] == want else 403, b"ok")

    server = _Server(handler)
    try:
        client = HttpClient(user, password, timeout=5)
        assert client.request("POST", server.url + "/gsp", b"x" * 100).status == 201
        nonces.append("n2")  # the server rotates its nonce
        assert client.request("POST", server.url + "/gsp", b"y" * 100).status == 201
        # challenge, signed; then signed with the old nonce (stale), signed with the new
        assert [r[2][:1] for r in server.requests] == [b"x", b"x", b"y", b"y"]
    finally:
        server.close()


def test_basic_authentication_when_the_store_asks_for_it() -> None:
    """Fuseki and others ask for Basic: the same client answers it, and a wrong password
    is a clear refusal."""
    token = "Basic " + base64.b64encode(b"pledge:secret").decode()

    def handler(h, body):
        if h.headers.get("Authorization") == token:
            _reply(h, 204, b"")
        else:
            _reply(h, 401, b"", headers={"WWW-Authenticate": 'Basic realm="fuseki"'})

    server = _Server(handler)
    try:
        client = HttpClient("pledge", "secret", timeout=5)
        assert client.request("POST", server.url + "/update", b"u").status == 204
        assert client.request("POST", server.url + "/update", b"u").status == 204
        with pytest.raises(RemoteRefused, match="refused the user name or password"):
            HttpClient("pledge", "wrong", timeout=5).request("POST", server.url + "/update", b"u")
    finally:
        server.close()


def test_an_upload_that_hangs_is_a_remote_timeout() -> None:
    def handler(h, body):
        time.sleep(3)
        _reply(h, 201, b"late")

    server = _Server(handler)
    try:
        started = time.monotonic()
        with pytest.raises(RemoteTimeout, match=r"did not answer within 0\.5 s"):
            HttpClient(timeout=0.5).request("POST", server.url + "/gsp", b"x")
        assert time.monotonic() - started < 2.5
    finally:
        server.close()


def _client(url: str, timeout: float = 1.0) -> QueryClient:
    return QueryClient(url + "/sparql", timeout)


def test_refused_connection_is_unavailable_fast_and_not_sticky() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = _client(f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        client.select("SELECT * WHERE { ?s ?p ?o }")
    assert time.monotonic() - started < 2
    assert "cannot be reached" in str(info.value) and info.value.retry_after >= 1
    # meanwhile the store comes back: after the short fail-fast window, queries go through
    body = json.dumps({"head": {"vars": ["s"]}, "results": {"bindings": []}}).encode()
    server = _Server(lambda h, b: _reply(h, 200, body, "application/sparql-results+json"))
    try:
        client.url = server.url + "/sparql"
        deadline = time.monotonic() + 5
        while True:
            try:
                assert client.select("SELECT * WHERE { ?s ?p ?o }").rows == []
                break
            except StoreUnavailable:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        server.close()


def test_hung_store_times_out_as_unavailable() -> None:
    release = threading.Event()

    def handler(h, body):
        release.wait(10)

    server = _Server(handler)
    try:
        client = _client(server.url, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            client.select("SELECT * WHERE { ?s ?p ?o }")
        elapsed = time.monotonic() - started
        assert elapsed < 1.0 + 2.5, elapsed
        assert isinstance(info.value, QueryTimeout) and "did not answer" in str(info.value)
        # the query carried the store's own limit
        assert b"timeout=1000" in server.requests[0][2]
    finally:
        release.set()
        server.close()


def test_store_answers_are_mapped() -> None:
    state = {"mode": "partial"}

    def handler(h, body):
        mode = state["mode"]
        if mode == "partial":
            _reply(h, 200, b'{"head": {"vars": []}, "results": {"bindings": []}}',
                   "application/sparql-results+json", {"X-SQL-State": "S1TAT"})
        elif mode == "syntax":
            _reply(h, 400, b"Virtuoso 37000 Error SP030: syntax error\n\nSPARQL query:\nx")
        elif mode == "estimate":
            _reply(h, 500, b"Virtuoso 42000 Error The estimated execution time 741 (sec) "
                           b"exceeds the limit of 400 (sec).")
        elif mode == "broken":
            _reply(h, 500, b"Virtuoso 08C01 Error CL: cluster is down")
        elif mode == "busy":
            _reply(h, 503, b"maintenance")
        elif mode == "html":
            _reply(h, 200, b"<html>a proxy's page</html>", "text/html")

    server = _Server(handler)
    try:
        client = _client(server.url)
        with pytest.raises(RemoteTimeout, match="time limit"):
            client.select("SELECT * WHERE { ?s ?p ?o }")
        state["mode"] = "syntax"
        with pytest.raises(QuerySyntaxError, match="SP030"):
            client.select("SELECT * WHERE { ?s ?p ?o }")
        state["mode"] = "estimate"
        with pytest.raises(RemoteTimeout):
            client.select("SELECT * WHERE { ?s ?p ?o }")
        state["mode"] = "broken"
        with pytest.raises(StoreUnavailable, match="cluster is down"):
            client.select("SELECT * WHERE { ?s ?p ?o }")
        state["mode"] = "busy"
        with pytest.raises(StoreUnavailable, match="503"):
            client.select("SELECT * WHERE { ?s ?p ?o }")
        state["mode"] = "html"
        with pytest.raises(StoreUnavailable, match="not SPARQL JSON"):
            client.select("SELECT * WHERE { ?s ?p ?o }")
        with pytest.raises(StoreUnavailable, match="not text/html"):
            client.construct("CONSTRUCT WHERE { ?s ?p ?o }")
    finally:
        server.close()


def test_snapshot_translates_graph_names(tmp_path: Path) -> None:
    from pledge_lod.release.layout import ReleaseInfo

    published = {"data": f"{BASE}/graph/data", "void": f"{BASE}/graph/void"}
    remote = {name: physical_graph(iri, "r1") for name, iri in published.items()}
    info = ReleaseInfo("r1", tmp_path, BASE, "2024-01-01T00:00:00Z", {}, {}, published)
    snap = RemoteSnapshot(info, _client("http://127.0.0.1:9"), remote)
    assert snap.release.graphs == published  # above the interface: the published names
    mine = sorted(remote.values())
    empty = "urn:pledge-lod:empty"
    assert snap.dataset(None, None) == (mine, [*mine, empty])
    # published (or remote) names map onto the remote ones; anything else is the empty graph
    assert snap.dataset([published["data"]], []) == ([remote["data"]], [empty])
    assert snap.dataset(["urn:pledge-lod:current"], [remote["void"]]) == (
        [empty], [remote["void"], empty])
    q = ("PREFIX g: <http://example.org/graph/>\nSELECT * WHERE { GRAPH g:data { ?s ?p ?o } "
         "GRAPH <urn:pledge-lod:current> { ?a ?b ?c } GRAPH ?g { ?x ?y <http://example.org/"
         "graph/void> } }")
    out = rewrite_graphs(q, snap.graph_for)
    assert f"GRAPH <{remote['data']}> {{" in out
    assert f"GRAPH <{empty}> {{ ?a" in out
    assert "GRAPH ?g { ?x ?y <http://example.org/graph/void> }" in out  # only after GRAPH


def test_queries_are_form_posts_with_json_asked_for() -> None:
    body = json.dumps({"head": {"vars": ["s"]}, "results": {"bindings": []}}).encode()
    server = _Server(lambda h, b: _reply(h, 200, body, "application/sparql-results+json"))
    try:
        _client(server.url).select("SELECT ?s WHERE { ?s ?p ?o }")
        method, _path, sent, headers = server.requests[0]
        assert method == "POST"
        assert headers["Content-Type"].startswith("application/x-www-form-urlencoded")
        assert headers["Accept"] == "application/sparql-results+json"
        assert b"query=SELECT" in sent and b"format=" not in sent  # content negotiation only
    finally:
        server.close()


def test_remote_triple_terms_compare_with_embedded_ones() -> None:
    # The web layer compares and hashes terms: remote terms must equal embedded ones.
    t = Triple(NamedNode("http://x/s"), NamedNode("http://x/p"), Literal("x"))
    parsed = pyoxigraph.parse(b'<http://x/s> <http://x/p> "x"^^<http://www.w3.org/2001/'
                              b'XMLSchema#string> .', format=pyoxigraph.RdfFormat.N_TRIPLES)
    assert [q.triple for q in parsed] == [t]


class _VirtuosoLike(RemoteSnapshot):
    """A snapshot answering as Virtuoso 7.2 does, in whichever format it is asked for:
    TSV with the header ``"p"\t"o"``, JSON with ``typed-literal`` and ``nodeID://``."""

    def __init__(self) -> None:  # no store behind it: forward() answers by itself
        self.accepts: list[str] = []

    def forward(self, query: str, accept: str, *args: object, **kw: object) -> Response:
        self.accepts.append(accept)
        if "tab-separated" in accept.split(",")[0]:
            body = b'"p"\t"o"\n"http://x/p"\t3\n'
            return Response(200, "text/tab-separated-values", {}, body)
        body = json.dumps({"head": {"vars": ["p", "o"]}, "results": {"bindings": [
            {"p": {"type": "uri", "value": "http://x/p"},
             "o": {"type": "typed-literal", "datatype": XSD + "integer", "value": "3"}},
            {"p": {"type": "bnode", "value": "nodeID://b10006"}}]}}).encode()
        return Response(200, "application/sparql-results+json", {}, body)


@pytest.mark.parametrize("key", ["json", "xml", "tsv", "csv"])
def test_remote_results_are_written_as_sparql_11_says(key: str) -> None:
    """Whatever the store's own serialisation, the client gets the asked format as a
    strict SPARQL 1.1 parser reads it (TSV's header is ``?p\t?o``, not ``"p"\t"o"``)."""
    from pledge_lod.http.formats import BY_KEY
    from pledge_lod.store import QueryLimits, UserQuery
    from pledge_lod.store.remote.runner import RemoteRunner

    snapshot = _VirtuosoLike()
    job = UserQuery("SELECT ?p ?o WHERE { ?s ?p ?o }", "http://x/", None, None, True,
                    BY_KEY[key], None)
    answer = RemoteRunner(QueryLimits.from_settings(Settings())).run(job, snapshot)
    assert (answer.kind, answer.format) == ("results", key)
    assert snapshot.accepts == ["application/sparql-results+json"]  # read, then rewritten
    if key == "csv":  # lossy by design: no parser gives terms back
        assert answer.body == b"p,o\r\nhttp://x/p,3\r\n_:b10006,\r\n"
        return
    fmt = {"json": "JSON", "xml": "XML", "tsv": "TSV"}[key]
    rows = list(pyoxigraph.parse_query_results(
        answer.body, format=getattr(pyoxigraph.QueryResultsFormat, fmt)))
    assert [(r["p"], r["o"]) for r in rows] == [
        (NamedNode("http://x/p"), Literal("3", datatype=NamedNode(XSD + "integer"))),
        (BlankNode("b10006"), None),
    ]
    if key == "tsv":
        assert answer.body.startswith(b"?p\t?o\n")
