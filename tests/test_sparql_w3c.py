"""The W3C SPARQL 1.1 Protocol and Service Description tests, read from their manifests.

Each protocol test is a sequence of HTTP requests written in RDF (method, path, headers,
body and its character encoding) with the expected status class and result form. The
runner reads the manifest with rdflib, sends each request as written (http.client, so
that headers and body bytes are exactly the manifest's) to a live server whose release
holds the suite's data under the manifest's graph names, and checks the response. The
manifest's ``/sparql/`` is run both as ``/sparql/`` and as ``/sparql``.

This endpoint is read-only, so the suite's *update* tests cannot succeed as written
(they expect an update to be executed). For them the runner checks what a read-only
endpoint must do instead: every update request is refused with 403 (a 4xx, which is
also what the suite's negative update tests accept), and the follow-up queries answer
normally and show that nothing changed (their ASK is false). The negative update tests
run unchanged.
"""

from __future__ import annotations

import http.client
import io
from dataclasses import dataclass

import pytest
import rdflib
from rdflib.collection import Collection
from rdflib.query import Result

from support.sparql import PROTOCOL_DIR, SD_DIR, Server, shared_server

pytestmark = pytest.mark.slow  # the slow tier: the W3C protocol tests on the shared gunicorn server

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
RDF_TYPES = {
    "application/rdf+xml": "xml",
    "text/turtle": "turtle",
    "application/n-triples": "nt",
}


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    statuses: frozenset[str]  # status classes: "2", "3", "4"
    form: str | None  # "boolean", "tabular", "RDF"
    boolean: bool | None

    @property
    def is_update(self) -> bool:
        types = {v.lower() for k, v in self.headers if k.lower() == "content-type"}
        if any(t.startswith("application/sparql-update") for t in types):
            return True
        return b"update=" in (self.body or b"") or "update=" in self.path


@dataclass(frozen=True)
class ProtocolTest:
    name: str
    title: str
    steps: tuple[Step, ...]


def _manifest(folder) -> rdflib.Graph:
    path = folder / "manifest.ttl"
    return rdflib.Graph().parse(path, format="turtle", publicID=path.as_uri())


def _entries(g: rdflib.Graph) -> list[rdflib.term.Node]:
    manifest = next(g.subjects(rdflib.RDF.type, MF.Manifest))
    return list(Collection(g, g.value(manifest, MF.entries)))


def _step(g: rdflib.Graph, req: rdflib.term.Node) -> Step:
    headers = []
    head = g.value(req, HT.headers)
    for h in Collection(g, head) if head is not None else []:
        headers.append((str(g.value(h, HT.fieldName)), str(g.value(h, HT.fieldValue))))
    body = None
    content = g.value(req, HT.body)
    if content is not None:
        encoding = str(g.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(g.value(content, CNT.chars)).encode(encoding)
    resp = g.value(req, HT.resp)
    statuses = frozenset(str(s)[-3] for s in g.objects(resp, MF.expectedStatus))
    form = g.value(resp, MF.expectedFormat)
    boolean = g.value(resp, MF.expectedBoolean)
    return Step(
        method=str(g.value(req, HT.methodName)),
        path=str(g.value(req, HT.absolutePath)),
        headers=tuple(headers),
        body=body,
        statuses=statuses,
        form=str(form) if form is not None else None,
        boolean=bool(boolean.toPython()) if boolean is not None else None,
    )


def protocol_tests() -> list[ProtocolTest]:
    g = _manifest(PROTOCOL_DIR)
    tests = []
    for entry in _entries(g):
        action = g.value(entry, MF.action)
        requests = Collection(g, g.value(action, HT.requests))
        tests.append(ProtocolTest(
            name=str(entry).rsplit("#", 1)[1],
            title=str(g.value(entry, MF.name)),
            steps=tuple(_step(g, r) for r in requests),
        ))
    return tests


PROTOCOL_TESTS = protocol_tests()
SD_TESTS = [str(e).rsplit("#", 1)[1] for e in _entries(_manifest(SD_DIR))]


@pytest.fixture(scope="module")
def server() -> Server:
    return shared_server()


def send(server: Server, step: Step, prefix: str) -> http.client.HTTPResponse:
    assert step.path.startswith("/sparql/")
    path = prefix + step.path[len("/sparql/"):]
    conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
    conn.request(step.method, path, body=step.body, headers=dict(step.headers))
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def check_form(step: Step, response: http.client.HTTPResponse) -> None:
    media = (response.getheader("Content-Type") or "").split(";")[0].strip()
    body = response.body  # type: ignore[attr-defined]
    if step.form in {"boolean", "tabular"}:
        assert media in RESULT_TYPES, media
        result = Result.parse(io.BytesIO(body), format=RESULT_TYPES[media])
        if step.form == "boolean":
            assert result.type == "ASK"
            if step.boolean is not None:
                assert result.askAnswer is step.boolean
        else:
            assert result.type == "SELECT"
            assert [str(v) for v in result.vars] == ["value"]
            assert [int(row[0]) for row in result] == [1]
    elif step.form == "RDF":
        assert media in RDF_TYPES, media
        rdflib.Graph().parse(data=body, format=RDF_TYPES[media])


def test_the_manifests_were_read() -> None:
    assert len(PROTOCOL_TESTS) == 34
    assert SD_TESTS == ["has-endpoint-triple", "returns-rdf", "conforms-to-schema"]


@pytest.mark.parametrize("prefix", ["/sparql/", "/sparql"])
@pytest.mark.parametrize("test", PROTOCOL_TESTS, ids=[t.name for t in PROTOCOL_TESTS])
def test_protocol(server: Server, test: ProtocolTest, prefix: str) -> None:
    read_only_variant = any(s.is_update and "2" in s.statuses for s in test.steps)
    refused = False
    for step in test.steps:
        response = send(server, step, prefix)
        status = response.status
        detail = f"{test.name}: {step.method} {step.path} -> {status} {response.body[:300]!r}"
        assert status < 500, detail
        if read_only_variant and step.is_update:
            assert status == 403, detail  # refused: this endpoint is read-only
            refused = True
            continue
        assert str(status)[0] in step.statuses, detail
        if str(status)[0] == "2":
            if refused and step.form == "boolean":
                # The update was refused, so what it would have written is not there.
                check_form(Step(**{**step.__dict__, "boolean": False}), response)
            else:
                check_form(step, response)
    # The suite's data is still all there, whatever was sent.
    data_check = Step("GET", "/sparql/?query=ASK%20%7B%20GRAPH%20%3Chttp%3A%2F%2Fkasei.us%2F2009"
                      "%2F09%2Fsparql%2Fdata%2Fdata3.rdf%3E%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20%7D",
                      (), None, frozenset("2"), "boolean", True)
    check_form(data_check, send(server, data_check, prefix))


# -- service description ------------------------------------------------------------------

SD_SCHEMA_CLASSES = {
    "Service", "Feature", "Language", "Function", "Aggregate", "EntailmentRegime",
    "EntailmentProfile", "GraphCollection", "Dataset", "Graph", "NamedGraph",
}
SD_INSTANCES = {
    "SPARQL10Query": "Language", "SPARQL11Query": "Language", "SPARQL11Update": "Language",
    "DereferencesURIs": "Feature", "UnionDefaultGraph": "Feature", "RequiresDataset": "Feature",
    "EmptyGraphs": "Feature", "BasicFederatedQuery": "Feature",
}
#: property: (domain, range or None for any resource, object must be an IRI)
SD_PROPERTIES = {
    "endpoint": ("Service", None, True),
    "feature": ("Service", "Feature", False),
    "defaultEntailmentRegime": ("Service", "EntailmentRegime", False),
    "defaultSupportedEntailmentProfile": ("Service", "EntailmentProfile", False),
    "extensionFunction": ("Service", "Function", False),
    "extensionAggregate": ("Service", "Aggregate", False),
    "languageExtension": ("Service", "Feature", False),
    "supportedLanguage": ("Service", "Language", False),
    "propertyFeature": ("Service", None, False),
    "defaultDataset": ("Service", "Dataset", False),
    "availableGraphs": ("Service", "GraphCollection", False),
    "resultFormat": ("Service", None, False),
    "inputFormat": ("Service", None, False),
    "defaultGraph": ("Dataset", "Graph", False),
    "namedGraph": ("GraphCollection", "NamedGraph", False),
    "name": ("NamedGraph", None, True),
    "graph": ("NamedGraph", "Graph", False),
    "entailmentRegime": ("NamedGraph", "EntailmentRegime", False),
    "supportedEntailmentProfile": ("NamedGraph", "EntailmentProfile", False),
}
SUBCLASSES = {"Dataset": {"GraphCollection"}}


def fetch_description(server: Server, path: str, accept: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
    conn.request("GET", path, headers={"Accept": accept})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type") or "", body


def description(server: Server, path: str = "/sparql") -> rdflib.Graph:
    status, media, body = fetch_description(server, path, "text/turtle")
    assert status == 200 and media.startswith("text/turtle")
    return rdflib.Graph().parse(data=body, format="turtle")


def _types(g: rdflib.Graph, node: rdflib.term.Node) -> set[str]:
    found = {str(t).removeprefix(str(SD)) for t in g.objects(node, rdflib.RDF.type)}
    if isinstance(node, rdflib.URIRef) and str(node).startswith(str(SD)):
        local = str(node).removeprefix(str(SD))
        if local in SD_INSTANCES:
            found.add(SD_INSTANCES[local])
    for cls in list(found):
        found |= SUBCLASSES.get(cls, set())
    return found


def conforms(g: rdflib.Graph) -> list[str]:
    """Problems of ``g`` against the sd: schema (terms, domains, ranges)."""
    problems = []
    for s, p, o in g:
        if str(p).startswith(str(SD)):
            local = str(p).removeprefix(str(SD))
            if local not in SD_PROPERTIES:
                problems.append(f"unknown property sd:{local}")
                continue
            domain, range_, iri = SD_PROPERTIES[local]
            if domain not in _types(g, s):
                problems.append(f"{s} uses sd:{local} but is not an sd:{domain}")
            if iri and not isinstance(o, rdflib.URIRef):
                problems.append(f"sd:{local} of {s} is not an IRI")
            if range_ and range_ not in _types(g, o):
                problems.append(f"sd:{local} of {s} is {o}, not an sd:{range_}")
        for term in (o,) if p == rdflib.RDF.type else ():
            if str(term).startswith(str(SD)) and str(term).removeprefix(str(SD)) not in \
                    SD_SCHEMA_CLASSES:
                problems.append(f"unknown class {term}")
    return problems


@pytest.mark.parametrize("name", SD_TESTS)
@pytest.mark.parametrize("path", ["/sparql", "/sparql/"])
def test_service_description(server: Server, name: str, path: str) -> None:
    if name == "returns-rdf":
        for accept, fmt in [("text/turtle", "turtle"), ("application/rdf+xml", "xml"),
                            ("application/n-triples", "nt"), ("application/ld+json", "json-ld"),
                            ("application/rdf+xml, text/turtle;q=0.9, */*;q=0.1", "xml"),
                            ("*/*", "turtle"), ("", "turtle")]:
            status, _media, body = fetch_description(server, path, accept)
            assert status == 200, (accept, status)
            g = rdflib.Graph().parse(data=body, format=fmt)
            assert len(g) > 10, accept
            assert (None, rdflib.RDF.type, SD.Service) in g
    elif name == "has-endpoint-triple":
        g = description(server, path)
        assert (None, SD.endpoint, rdflib.URIRef(server.url + path)) in g
    elif name == "conforms-to-schema":
        assert conforms(description(server, path)) == []
    else:  # pragma: no cover - a new test in the manifest needs a check here
        pytest.fail(f"no check for the service description test {name}")


def test_description_says_what_the_endpoint_does(server: Server) -> None:
    g = description(server)
    service = next(g.subjects(rdflib.RDF.type, SD.Service))
    assert set(g.objects(service, SD.supportedLanguage)) == {SD.SPARQL11Query}
    assert set(g.objects(service, SD.feature)) == {SD.UnionDefaultGraph}
    formats = {str(f).rsplit("/", 1)[1] for f in g.objects(service, SD.resultFormat)}
    assert formats == {"SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                       "SPARQL_Results_TSV", "Turtle", "N-Triples", "RDF_XML", "JSON-LD"}
    names = {str(n) for n in g.objects(None, SD.name)}
    assert f"{server.url}/graph/data" in names and f"{server.url}/graph/sdg-kos" in names
    comments = " ".join(str(c) for c in g.objects(service, rdflib.RDFS.comment))
    assert "Time limit: 2 seconds" in comments
    for words in ("Query size limit", "Result size limit", "Concurrency", "Read-only"):
        assert words in comments
    assert conforms(g) == []


def test_the_schema_check_catches_mistakes() -> None:
    g = rdflib.Graph()
    s = rdflib.URIRef("http://example.org/s")
    g.add((s, SD.endpoint, rdflib.URIRef("http://example.org/sparql")))
    g.add((s, SD.nonsense, rdflib.Literal(1)))
    problems = conforms(g)
    assert any("not an sd:Service" in p for p in problems)
    assert any("unknown property" in p for p in problems)
