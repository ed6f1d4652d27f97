"""Hostile input, everywhere: every route, the YAML readers and the listing-text reader.

* ``/openapi.json`` describes every route the app has (checked against Flask's URL map).
* Hypothesis sends requests to every route through the Flask test client, with the WSGI
  environment gunicorn would build (raw request URI, percent-decoded path): traversal,
  encoded slashes and dots, NUL, backslashes, over-long segments, odd query strings, huge
  or malformed Accept / If-None-Match / If-Modified-Since / Range headers, bodies and
  methods. No 500, no answer slower than a few seconds, no traceback, no file from
  outside the release (``/etc/passwd``, the project's sources, the manifest).
* schemathesis fuzzes the live gunicorn server from the OpenAPI description (see
  test_schemathesis_against_the_live_server).
* ``read_pledge_file`` and ``load_registries`` read random bytes and random YAML
  structures (anchors, tags, alias bombs, deep nesting) without raising or hanging;
  ``parse_listing`` reads YAML and mixed text without raising.

tests/test_web_safety.py (fixed hostile paths on the live server) and
tests/test_sparql_fuzz.py (the SPARQL endpoint in depth) are not repeated here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from pledge_lod.config import Settings
from pledge_lod.ingest.listing_page import parse_listing
from pledge_lod.ingest.sources import PLEDGE_FIELDS, load_registries, read_pledge_file
from pledge_lod.records import Pledge, Problem
from pledge_lod.release.layout import read_current
from pledge_lod.web.openapi import ApiLimits, document
from support.gunicorn import Server, gunicorn_server
from support.paths import DATA, ROOT
from support.web import make_app

FUZZ = settings(max_examples=600, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.filter_too_much])
SECRETS = [
    b"root:x:0:",  # /etc/passwd
    b"[build-system]",  # pyproject.toml
    b"from __future__ import",  # any source file
    b'"generator": "pledge-lod',  # the release manifest
    b"Traceback (most recent call last)",
    b'File "/',
]
SLOW_S = 10.0


@pytest.fixture(scope="module")
def app(releases_dir: Path):
    found = make_app(releases_dir, max_queries_per_client=50, query_timeout_s=2.0)
    found.testing = False  # the error handlers as in production
    yield found
    found.blueprints["sparql"].sparql_endpoint.executor.close()


# -- the OpenAPI description ----------------------------------------------------------------


def _template_regex(template: str) -> re.Pattern[str]:
    out = ""
    for part in re.split(r"(\{[^}]+\})", template):
        out += "[^/]+" if part.startswith("{") else re.escape(part)
    return re.compile(f"^{out}$")


def _sample(rule: str) -> str:
    """A concrete path for a Flask rule (first choice of each ``any``, ``x`` otherwise)."""
    def fill(match: re.Match[str]) -> str:
        converter = match.group(1) or ""
        if converter.startswith("any("):
            return converter[4:].split(",")[0].rstrip(")")
        return "x"

    return re.sub(r"<(?:([^:>]+):)?[^>]+>", fill, rule)


def test_openapi_describes_every_route(app, releases_dir: Path) -> None:
    doc = document(ApiLimits.from_settings(app.config["PLEDGE_LOD_SETTINGS"]), "http://127.0.0.1:9")
    assert doc["openapi"].startswith("3.1")
    templates = [(t, _template_regex(t)) for t in doc["paths"]]
    for rule in app.url_map.iter_rules():
        path = _sample(rule.rule)
        matching = [t for t, rx in templates if rx.match(path)]
        assert matching, f"{rule.rule} is not in /openapi.json"
        documented = {m.upper() for t in matching for m in doc["paths"][t]}
        assert "GET" in documented, rule.rule
    for template, item in doc["paths"].items():
        for operation in item.values():
            assert operation["responses"], template
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{([^}]+)\}", template)), template


def test_openapi_is_served(app, releases_dir: Path) -> None:
    client = app.test_client()
    resp = client.get("/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    release = read_current(releases_dir)
    assert body["servers"] == [{"url": release.base}]
    assert resp.headers["ETag"].strip('"').startswith(release.id)
    again = client.get("/openapi.json", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


# -- every route, through the WSGI app --------------------------------------------------------

VALID = ["terrassa", "zurich", "5", "10.7", "pledge", "void", "shapes", "pledges.nt.gz",
         "pledges.ttl", "sitemap-1.xml", "style.css", "favicon.svg", "data", "terrassa.ttl",
         "terrassa.jsonld", "5.atom", "void.rdf", "pledge.nt"]
HOSTILE = [
    "..", ".", "%2e%2e", "%2E%2e", ".%2e", "..%2f..%2fmanifest.json", "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2f", "%00", "a%00b", "terrassa%00.ttl", "%5c..%5c", "..\\..\\manifest.json", "%252e%252e",
    "....//", "..;", "~root", "manifest.json", "..%c0%af", "%c0%ae%c0%ae", "%ff%fe", "%C3%A9",
    "é", "%", "%%", "%zz", "a" * 300, "b" * 3000, "terrassa.ttl.ttl", "terrassa.", ".ttl",
    ".", "*", "CON", "NUL", "%0d%0aSet-Cookie:%20x", "%20", "+", "{}", "<script>", "'", '"',
]
PREFIXES = ["", "/", "/.", "/..", "/%2e", "/static/..", "/dumps/..", "/./"]


def _routes() -> list[str]:
    return list(document(ApiLimits.from_settings(Settings()), "http://x")["paths"])


segments = st.one_of(
    st.sampled_from(VALID),
    st.sampled_from(HOSTILE),
    st.text(max_size=40).map(lambda t: urllib.parse.quote(t, safe="")),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                   blacklist_characters="?#"), max_size=30),
)
raw_query = st.one_of(
    st.just(""),
    st.sampled_from(["page=1", "page=2", "page=0", "page=-1", "page=abc", "page=" + "9" * 40,
                     "page=1&page=2", "page=%00", "page=%ff", "query=ASK%7B%7D",
                     "query=" + "%20" * 3000, "format=json", "a=b&c", "&&&", "=", "%",
                     "page=1%0d%0aX-Injected:%20yes"]),
    st.lists(st.tuples(st.text(max_size=10), st.text(max_size=20)), max_size=5).map(
        lambda pairs: urllib.parse.urlencode(pairs)),
    st.binary(max_size=60).map(lambda b: urllib.parse.quote_from_bytes(b, safe="=&")),
)
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255,
                                             blacklist_characters="\x7f"), max_size=120)
ACCEPTS = ["text/turtle", "*/*", "text/html;q=0", "application/ld+json;q=abc", ";;;,,,",
           "*/*;q=0.0", "text/*;q=2", "a/b/c", "application/rdf+xml, */*;q=0.1"]
headers = st.fixed_dictionaries({}, optional={
    "Accept": st.one_of(st.sampled_from(ACCEPTS), header_text,
                        st.integers(1000, 8000).map(lambda n: ("text/turtle;q=0.5," * n)[:n])),
    "If-None-Match": st.one_of(header_text, st.sampled_from(
        ['*', 'W/"x"', '"', '""', '"a", W/"b", *', ",,,", "W/", '"' + "a" * 5000 + '"'])),
    "If-Modified-Since": st.one_of(header_text, st.sampled_from(
        ["Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "yesterday", "0"])),
    "Range": st.one_of(header_text, st.sampled_from(
        ["bytes=0-10", "bytes=-5", "bytes=10-1", "bytes=0-0,1-1,2-2", "bytes=99999999999-"])),
    "Accept-Language": header_text,
    "Accept-Encoding": st.sampled_from(["gzip", "br, *;q=0", "identity;q=0", "x" * 500]),
    "Content-Type": st.one_of(header_text, st.sampled_from(
        ["application/sparql-query", "application/x-www-form-urlencoded", "multipart/form-data",
         "multipart/form-data; boundary=", "text/plain; charset=nope"])),
    "Origin": header_text,
    "Host": st.sampled_from(["evil.example", "127.0.0.1:1", "", "a" * 300, "[::1]"]),
    "X-Forwarded-For": header_text,
    "Cookie": header_text,
})
methods = st.sampled_from(["GET", "GET", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                           "OPTIONS", "TRACE", "PROPFIND", "FOO"])


@st.composite
def requests(draw) -> tuple[str, str, str, dict[str, str], bytes | None]:
    template = draw(st.sampled_from(_routes()))
    path = re.sub(r"\{[^}]+\}", lambda _m: draw(segments), template)
    if draw(st.integers(0, 9)) == 0:
        path = draw(st.sampled_from(PREFIXES)) + path
    if draw(st.booleans()) and not template.startswith("/sparql"):
        path += draw(st.sampled_from([".ttl", ".html", ".jsonld", ".nt", ".rdf", ".atom",
                                      ".exe", "/", "//", "/..", "%2F"]))
    method = draw(methods)
    body = draw(st.one_of(st.none(), st.binary(max_size=300)))
    return method, path, draw(raw_query), draw(headers), body


class _Slow(BaseException):  # not caught by the app's error handlers
    pass


def _alarm(_signum, _frame):
    raise _Slow(f"no answer in {SLOW_S} s")


def call(app, method: str, path: str, query: str, hdrs: dict[str, str], body: bytes | None):
    """The request as gunicorn hands it to the app: RAW_URI as sent, PATH_INFO
    percent-decoded into a latin-1 string."""
    raw = path + ("?" + query if query else "")
    environ = {
        "PATH_INFO": urllib.parse.unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": raw,
        "REQUEST_URI": raw,
    }
    if "Host" in hdrs:
        environ["HTTP_HOST"] = hdrs["Host"]
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, SLOW_S)
    started = time.monotonic()
    try:
        response = app.test_client().open("/", method=method, headers=hdrs, data=body,
                                          environ_overrides=environ)
        data = response.get_data()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return response, data, time.monotonic() - started


def check(response, data: bytes, took: float, what: object, *, fuzzing: bool = True) -> None:
    status = response.status_code
    if fuzzing:
        event(f"status {status}")
    assert status < 500 or (status == 503 and "/sparql" in str(what)), (what, status, data[:300])
    assert took < SLOW_S, what
    for secret in SECRETS:
        assert secret not in data, (what, secret)
    if response.mimetype == "text/html":
        assert "Content-Security-Policy" in response.headers, what


@FUZZ
@given(req=requests())
def test_no_route_fails_on_hostile_requests(app, req) -> None:
    method, path, query, hdrs, body = req
    response, data, took = call(app, method, path, query, hdrs, body)
    check(response, data, took, req)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=st.one_of(st.sampled_from(HOSTILE), segments),
       where=st.sampled_from(["/dumps/", "/sitemaps/", "/static/", "/doc/pledge/", "/place/",
                              "/.well-known/", "/def/", "/graph/", "/def/pledge/"]))
def test_file_routes_never_leave_the_release(app, name: str, where: str) -> None:
    response, data, took = call(app, "GET", where + name, "", {"Accept": "*/*"}, None)
    check(response, data, took, where + name)
    if response.status_code == 200 and where in ("/dumps/", "/sitemaps/"):
        assert name in {"pledges.nt", "pledges.ttl", "pledges.jsonld", "pledges.nt.gz",
                        "pledges.ttl.gz", "pledges.jsonld.gz"}, name


def test_request_bodies_and_urls_have_limits(app) -> None:
    s = app.config["PLEDGE_LOD_SETTINGS"]
    client = app.test_client()
    big = b"x" * (s.max_request_bytes + 1)
    for method in ("GET", "POST", "PUT"):
        resp = client.open("/doc/place/terrassa", method=method, data=big)
        assert resp.status_code == 413, method
        assert str(s.max_request_bytes).encode() in resp.data
    resp = client.post("/sparql", data=big, content_type="application/sparql-query")
    assert resp.status_code == 413
    resp = client.get("/pledges?x=" + "a" * s.max_url_bytes)
    assert resp.status_code == 414
    assert client.get("/doc/place/terrassa", data=b"x" * 100).status_code == 200


# -- schemathesis against the live server -------------------------------------------------------


@pytest.fixture(scope="module")
def live(releases_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("schemathesis") / "server.log"
    with gunicorn_server(releases_dir, log, env={"PLEDGE_LOD_MAX_QUERIES_PER_CLIENT": "20",
                                                 "PLEDGE_LOD_QUERY_TIMEOUT_S": "3"}) as server:
        yield server


def _schemathesis():
    """schemathesis, or (locally) a skip and (in CI) a failure when it is missing."""
    try:
        import schemathesis
    except ImportError:
        message = "schemathesis is not installed (it is in pyproject's test extra)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return schemathesis


@pytest.mark.slow  # gunicorn
def test_schemathesis_against_the_live_server(live: Server) -> None:
    """Every operation of /openapi.json, fuzzed over HTTP by schemathesis with valid and
    invalid inputs: no 5xx (503 from a busy SPARQL endpoint aside), statuses and media
    types as documented, nothing from outside the release."""
    schemathesis = _schemathesis()
    schema = schemathesis.openapi.from_url(live.url + "/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        failures += _fuzz_operation(live.url, operation, schemathesis.GenerationMode.POSITIVE)
        if _has_inputs(operation):  # invalid inputs exist only for parameters and bodies
            failures += _fuzz_operation(live.url, operation,
                                        schemathesis.GenerationMode.NEGATIVE)
    assert len(operations) >= 25, len(operations)
    assert not failures, "\n".join(failures[:20])
    assert "Traceback" not in live.log_text()


def _has_inputs(operation) -> bool:
    raw = operation.definition.raw
    names = {p.get("name") for p in raw.get("parameters", [])}
    return bool(names - {"If-None-Match"}) or "requestBody" in raw


def _fuzz_operation(url: str, operation, mode) -> list[str]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        status_code_conformance,
    )

    failures: list[str] = []
    checks = [not_a_server_error]
    if mode.name == "POSITIVE":  # invalid input may meet any documented 4xx
        checks += [status_code_conformance, content_type_conformance]

    @settings(max_examples=10, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        response = case.call(base_url=url, timeout=15)
        if response.status_code == 503 and operation.path.startswith("/sparql"):
            return
        try:
            case.validate_response(response, checks=checks)
        except Exception as exc:  # schemathesis' failed checks (a FailureGroup)
            failures.append(f"{operation.label} [{mode.name}]: {case.method} "
                            f"{case.formatted_path} -> {response.status_code}: {str(exc)[:400]}")
        for secret in SECRETS:
            assert secret not in response.content, (case.formatted_path, secret)

    try:
        run()
    except Unsatisfiable:  # no invalid input exists for this operation (e.g. no parameters)
        assert mode.name == "NEGATIVE", operation.label
    return failures


# -- the YAML readers -------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                    st.sampled_from(["2023-02-30", "0x1F", "1e400", "~", "null", "yes", "on",
                                     "5", "10.7", "terrassa", "", " "]))
yaml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
pledge_like = st.fixed_dictionaries(
    {}, optional={name: yaml_values for name in [*sorted(PLEDGE_FIELDS), "extra", "ID"]}
)
YAML_NASTIES = [
    "!!python/object/apply:os.system ['touch {canary}']\n",
    "id: !!python/name:os.system\n",
    "a: &a [x, x]\nb: [*a, *a]\nid: *a\ngoals: *a\n",
    "<<: {id: merged, title: t}\n",
    "id: x\nid: y\n",
    "id: x\n\ttitle: tab\n",
    "\ufeffid: bom\ntitle: t\n",
    "---\nid: a\n---\nid: b\n...\n",
    "%YAML 1.1\n---\nid: v\n",
    "[" * 5000 + "]" * 5000,
    "{" * 5000,
    "id: " + "9" * 5000 + "\n",
    "title: !!binary aGVsbG8=\nid: b\n",
    "? [complex, key]\n: value\n",
    "id: x\ngoals: {5: yes}\n",
    "- 1\n- [2]\n- {id: z}\n",
    "\x00\x01\x02",
    "id: \"\\ud800\"\n",
]


def _dump(value: object) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(value, Dumper=dumper, allow_unicode=True)


def _bomb(depth: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, depth):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    last = f"*a{depth - 1}"
    lines += ["id: bomb", "title: t", f"goals: [{last}]", f"targets: {last}",
              f"submitter_verified: {last}", f"themes: [{last}, {last}]"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def yaml_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("yaml-fuzz")
    (folder / "pledges").mkdir()
    return folder


def _read(folder: Path, content: bytes, name: str = "fuzzed") -> list[Pledge]:
    path = folder / "pledges" / f"{name}.yaml"
    path.write_bytes(content)
    problems: list[Problem] = []
    started = time.monotonic()
    pledges = read_pledge_file(path, folder, problems)
    # A hang detector, not a speed test: an alias bomb or a runaway parse would take minutes.
    assert time.monotonic() - started < 60, "reading one small file hung"
    assert all(isinstance(p, Pledge) for p in pledges)
    for problem in problems:
        assert isinstance(problem, Problem) and len(str(problem)) < 5000, str(problem)[:300]
    return pledges


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(record=pledge_like)
def test_read_pledge_file_on_random_structures(yaml_dir: Path, record: dict) -> None:
    text = _dump(record)
    _read(yaml_dir, text.encode("utf-8"))
    _read(yaml_dir, _dump([record, record]).encode("utf-8"))


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=400),
                      st.lists(st.sampled_from(YAML_NASTIES) | st.text(max_size=20),
                               max_size=6).map(lambda parts: "".join(parts).encode("utf-8",
                                                                                   "replace"))))
def test_read_pledge_file_on_random_bytes(yaml_dir: Path, data: bytes) -> None:
    canary = yaml_dir / "canary"
    _read(yaml_dir, data.replace(b"{canary}", str(canary).encode()))
    assert not canary.exists(), "a YAML tag ran code"


@pytest.mark.parametrize("text", [*YAML_NASTIES, _bomb(9)], ids=range(len(YAML_NASTIES) + 1))
def test_read_pledge_file_on_nasty_yaml(yaml_dir: Path, text: str) -> None:
    canary = yaml_dir / "canary"
    _read(yaml_dir, text.replace("{canary}", str(canary)).encode("utf-8", "surrogatepass"))
    assert not canary.exists()


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("registry-fuzz") / "data"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("pledges"))
    return folder


REGISTRIES = sorted(p.name for p in DATA.glob("*.yaml"))


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(REGISTRIES),
       content=st.one_of(yaml_values.map(lambda v: _dump(v).encode()),
                         st.lists(st.dictionaries(st.sampled_from(
                             ["id", "label", "name", "type", "level", "wikidata", "geonames",
                              "country", "homepage", "title", "licence", "within", "code"]),
                             yaml_values, max_size=6), max_size=4).map(
                             lambda v: _dump(v).encode()),
                         st.sampled_from([n.encode("utf-8", "surrogatepass")
                                          for n in YAML_NASTIES[2:]] + [_bomb(8).encode()])))
def test_registries_never_raise(registry_dir: Path, name: str, content: bytes) -> None:
    path = registry_dir / name
    original = (DATA / name).read_bytes()
    path.write_bytes(content)
    try:
        problems: list[Problem] = []
        started = time.monotonic()
        load_registries(registry_dir, problems)
        assert time.monotonic() - started < 5
        assert all(len(str(p)) < 5000 for p in problems)
    finally:
        path.write_bytes(original)


# -- the listing-text reader ------------------------------------------------------------------


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(
    yaml_values.map(_dump),
    st.lists(st.sampled_from(YAML_NASTIES) | st.sampled_from(
        ["Submitted by Ms. A B on 1 May 2023\n", "Subscribe to Goal 5\n", "A Title Line\n",
         "A sentence.\n", "\n\n", "- item\n", "key: value\n"]), max_size=12).map("".join),
))
def test_parse_listing_reads_yaml_and_mixtures(text: str) -> None:
    page = parse_listing(text, "fuzz.txt")
    assert not any("could not be read as a listing page" in w for w in page.warnings)
    for item in page.items:
        assert item.title and "\n" not in item.title


def test_the_repository_is_what_the_secrets_look_like() -> None:
    """The markers above really are in the files they stand for (or the checks are void)."""
    assert SECRETS[1] in (ROOT / "pyproject.toml").read_bytes()
    assert SECRETS[2] in (ROOT / "src" / "pledge_lod" / "web" / "routes" / "common.py").read_bytes()
    if Path("/etc/passwd").exists():
        assert SECRETS[0] in Path("/etc/passwd").read_bytes()


@pytest.mark.parametrize("path, query", [
    ("/doc/place/%3Cscript%3Ealert(1)%3C%2Fscript%3E", ""),
    ("/place/%3Cimg%20src=x%20onerror=alert(1)%3E", ""),
    ("/pledges", "page=%3Cscript%3Ealert(1)%3C/script%3E"),
    ("/goal/5", "page=%22%3E%3Cscript%3Ealert(1)%3C/script%3E"),
    ("/def/%3Cscript%3Ealert(1)%3C%2Fscript%3E", ""),
    ("/sparql", "query=%3Cscript%3Ealert(1)%3C/script%3E"),
])
def test_what_a_request_says_comes_back_escaped(app, path: str, query: str) -> None:
    """Error pages quote the request (the slug, the page number, the query): as text."""
    response, data, took = call(app, "GET", path, query, {"Accept": "text/html"}, None)
    check(response, data, took, path, fuzzing=False)
    assert response.mimetype == "text/html" and 400 <= response.status_code < 500
    assert b"<script>alert" not in data and b"<img src=x" not in data, data[:2000]
