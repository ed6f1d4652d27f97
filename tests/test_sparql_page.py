"""The query page for people, against the live server: editor, examples, table, downloads."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from support.sparql import Server, shared_server

pytestmark = pytest.mark.slow  # the slow tier: the shared gunicorn server

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def server() -> Server:
    return shared_server()


def fetch(url: str, accept: str = BROWSER) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (response.status, response.headers.get("Content-Type", ""),
                    response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode("utf-8")


def example_links(page: str) -> list[tuple[str, str]]:
    """(title, href) of the example links on the page."""
    return [(html.unescape(title), html.unescape(href)) for href, title in re.findall(
        r'<li><a href="([^"]+)" data-query="[^"]*">([^<]+)</a></li>', page)]


def test_a_browser_gets_the_query_page(server: Server) -> None:
    status, media, page = fetch(server.url + "/sparql")
    assert status == 200 and media.startswith("text/html")
    assert '<textarea id="sparql-query" name="query"' in page
    assert 'src="/static/sparql.js"' in page and 'href="/static/sparql.css"' in page
    titles = [title for title, _ in example_links(page)]
    assert titles == ["Pledges per SDG goal", "Pledges of a place",
                      "Pledges under a goal's targets (UN SDG KOS)", "Submitters and programmes",
                      "A pledge and its links, as a graph"]
    assert "Time limit: 2 seconds" in page
    for asset in ("/static/sparql.js", "/static/sparql.css"):
        assert fetch(server.url + asset, "*/*")[0] == 200


def test_every_example_runs_and_shows_a_table(server: Server) -> None:
    _status, _media, page = fetch(server.url + "/sparql")
    for title, href in example_links(page):
        status, media, result = fetch(server.url + href)
        assert status == 200, (title, result[:500])
        assert media.startswith("text/html")
        assert '<table class="sparql-table">' in result, title
        assert re.search(r'<a class="iri" href="http[^"]+">', result), title
        rows = int(re.search(r"(\d+) rows?", result).group(1))  # type: ignore[union-attr]
        assert rows > 0, title
        # Every download link answers with its format.
        downloads = re.findall(r'<a href="([^"]+)" download="[^"]+" type="([^"]+)">', result)
        assert len(downloads) == 4, title
        for link, media_type in downloads:
            d_status, d_media, _body = fetch(server.url + html.unescape(link), "*/*")
            assert d_status == 200 and d_media.split(";")[0] == media_type, (title, link)


def test_the_targets_example_joins_on_un_iris(server: Server) -> None:
    _status, _media, page = fetch(server.url + "/sparql")
    href = dict(example_links(page))["Pledges under a goal's targets (UN SDG KOS)"]
    text = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query)["query"][0]
    assert "skos:broader? <http://metadata.un.org/sdg/5>" in text
    status, _media, body = fetch(server.url + "/sparql?" + urllib.parse.urlencode(
        {"query": text}), "application/sparql-results+json")
    assert status == 200 and '"http://metadata.un.org/sdg/5"' in body


def test_errors_show_on_the_page_with_the_query(server: Server) -> None:
    url = server.url + "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p }"})
    status, media, page = fetch(url)
    assert status == 400 and media.startswith("text/html")
    assert 'role="alert"' in page and "syntax error: line 1, column 25: " in page
    assert "SELECT * WHERE { ?s ?p }</textarea>" in page


def test_results_are_escaped(server: Server) -> None:
    query = ('SELECT ?x ?y WHERE { BIND("<script>alert(1)</script>" AS ?x) '
             'BIND(IRI("javascript:alert(2)") AS ?y) }')
    status, _media, page = fetch(server.url + "/sparql?" + urllib.parse.urlencode(
        {"query": query}))
    assert status == 200
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert 'href="javascript:' not in page


def test_ask_and_the_service_description_link(server: Server) -> None:
    status, _media, page = fetch(server.url + "/sparql?query=ASK%20%7B%7D")
    assert status == 200 and "yes (true)" in page
    status, media, _body = fetch(server.url + "/sparql?format=ttl")
    assert status == 200 and media.startswith("text/turtle")


def test_cors_preflight_and_head(server: Server) -> None:
    import http.client

    conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
    conn.request("OPTIONS", "/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    response = conn.getresponse()
    response.read()
    assert response.status == 204
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    assert "POST" in (response.getheader("Access-Control-Allow-Methods") or "")
    assert "Content-Type" in (response.getheader("Access-Control-Allow-Headers") or "")
    conn.request("HEAD", "/sparql?query=ASK%20%7B%7D",
                 headers={"Accept": "application/sparql-results+xml"})
    response = conn.getresponse()
    assert response.read() == b""
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/sparql-results+xml"
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    assert "Accept" in (response.getheader("Vary") or "")
    conn.close()
