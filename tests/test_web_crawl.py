"""A crawler walks the whole dataset on the live server, from the home page and the
sitemap, following every in-dataset link in every format: hrefs of the HTML pages,
links of the Atom feeds, and every IRI under the base in the RDF (subjects, predicates,
objects). Every negotiable URL is fetched as HTML, Turtle, JSON-LD, N-Triples and RDF/XML.
No link may answer anything but 200 (or a 303 that leads to a 200); no 5xx, ever."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, RdfFormat, parse

from support.web import client_for

pytestmark = [  # the slow tier: a crawl of the live server
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

#: Every document links its versions' page (/history/doc/...) too since the release
#: history is served.
MAX_URLS = 8000
ACCEPTS = {
    "html": "text/html",
    "turtle": "text/turtle",
    "json-ld": "application/ld+json",
    "nt": "application/n-triples",
    "xml": "application/rdf+xml",
}
# Parsed with pyoxigraph (fast: the crawl parses thousands of documents); the parsers'
# agreement with rdflib, rapper and jsonld.js is the client tests' business.
RDF_TYPES = {
    "text/turtle": RdfFormat.TURTLE,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/ld+json": RdfFormat.JSON_LD,
}
THREADS = 4
FIXED = re.compile(r"\.(ttl|jsonld|nt|rdf|html|atom|xml|txt|gz|css|js|svg)$")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url: str, accept: str) -> tuple[int, str, bytes, str | None]:
    req = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with OPENER.open(req, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read(), None
    except urllib.error.HTTPError as err:
        return (
            err.code,
            err.headers.get("Content-Type", ""),
            err.read(),
            err.headers.get("Location"),
        )


class Crawl:
    def __init__(self, base: str, context: dict):
        self.base = base
        self.context = context
        self.seen: set[tuple[str, str]] = set()
        self.queue: deque[tuple[str, str, str]] = deque()
        self.bad: list[str] = []
        self.fetched = 0

    def add(self, url: str, source: str) -> None:
        url = urllib.parse.urljoin(source, url).split("#", 1)[0]
        if not url.startswith(self.base + "/") and url != self.base:
            return
        path = urllib.parse.urlsplit(url).path
        if path.startswith("/sparql") and urllib.parse.urlsplit(url).query:
            return  # queries are the SPARQL tests' business; the bare endpoint is crawled
        kinds = ["html"] if FIXED.search(path) else list(ACCEPTS)
        for kind in kinds:
            if (url, kind) not in self.seen and len(self.seen) < MAX_URLS:
                self.seen.add((url, kind))
                self.queue.append((url, kind, source))

    def run(self) -> None:
        """Breadth first, a wave at a time: fetch the wave in parallel, then read links."""
        with ThreadPoolExecutor(THREADS) as pool:
            for _ in range(MAX_URLS):
                if not self.queue:
                    return
                wave = list(self.queue)
                self.queue.clear()
                for (url, kind, source), answer in zip(wave, pool.map(self.get, wave), strict=True):
                    self.read(url, kind, source, answer)

    def get(self, item: tuple[str, str, str]) -> tuple[str, int, str, bytes]:
        url, kind, _source = item
        status, ctype, body, location = fetch(url, ACCEPTS[kind])
        if status == 303 and location:
            url = urllib.parse.urljoin(url, location)
            status, ctype, body, _ = fetch(url, ACCEPTS[kind])
        return url, status, ctype, body

    def read(self, url: str, kind: str, source: str, answer: tuple[str, int, str, bytes]) -> None:
        self.fetched += 1
        final, status, ctype, body = answer
        if status != 200:
            self.bad.append(f"{status} {url} (as {kind}, linked from {source})")
            return
        mtype = ctype.split(";")[0].strip()
        try:
            self.links(final, mtype, body)
        except Exception as exc:  # a body that does not parse is a failure too
            self.bad.append(f"unreadable {mtype} at {final}: {exc}")

    def links(self, url: str, mtype: str, body: bytes) -> None:
        if mtype == "text/html":
            for href in re.findall(r'(?:href|src)="([^"]+)"', body.decode("utf-8")):
                self.add(href.replace("&amp;", "&"), url)
        elif mtype in RDF_TYPES:
            fmt = RDF_TYPES[mtype]
            if fmt == RdfFormat.JSON_LD:
                doc = json.loads(body)
                if isinstance(doc, dict) and doc.get("@context") == self.base + "/context.jsonld":
                    body = json.dumps({**doc, "@context": self.context["@context"]}).encode()
                elif (
                    isinstance(doc, dict)
                    and isinstance(doc.get("@context"), dict)
                    and "@graph" not in doc
                    and "@id" not in doc
                    and "id" not in doc
                ):
                    return  # the context document itself: no data
            iris: set[str] = set()
            for quad in parse(body, format=fmt, base_iri=url):
                for term in (quad.subject, quad.predicate, quad.object):
                    if isinstance(term, NamedNode):
                        iris.add(term.value)
            for iri in iris:
                self.add(iri, url)
        elif mtype == "application/atom+xml":
            for el in ET.fromstring(body).iter():
                if el.get("href"):
                    self.add(el.get("href", ""), url)
        elif mtype in ("application/xml", "text/xml") and url.endswith(".xml"):
            for loc in re.findall(r"<loc>([^<]+)</loc>", body.decode("utf-8")):
                self.add(loc, url)


def test_crawl_finds_no_broken_link(live_server: str, releases_dir: Path) -> None:
    context = client_for(releases_dir).get("/context.jsonld").get_json()
    crawl = Crawl(live_server, context)
    crawl.add(live_server + "/", live_server)
    crawl.add(live_server + "/sitemap.xml", live_server)
    crawl.add(live_server + "/robots.txt", live_server)
    crawl.run()
    assert not crawl.bad, "\n".join(crawl.bad[:40])
    visited = {u for u, _k in crawl.seen}
    dump = (releases_dir / "current" / "dumps" / "pledges.nt").resolve().read_text(encoding="utf-8")
    paths = {urllib.parse.urlsplit(u).path for u in visited}
    # It really went everywhere.
    for prefix in (
        "/doc/pledge/",
        "/doc/place/",
        "/doc/agent/",
        "/doc/programme/",
        "/doc/theme/",
        "/doc/objective/",
        "/doc/kind/",
        "/doc/listing/",
        "/doc/scheme/",
        "/id/pledge/",
        "/goal/",
        "/target/",
        "/place/",
        "/theme/",
        "/objective/",
        "/programme/",
        "/agent/",
        "/submitter/",
        "/dumps/",
        "/def/pledge",
        "/def/shapes",
        "/.well-known/void",
        "/context.jsonld",
        "/pledges",
    ):
        if prefix == "/target/" and "/def/pledge#sdgTarget>" not in dump:
            continue  # the bundled data names no SDG target
        assert any(p.startswith(prefix) for p in paths), prefix
    assert len(crawl.seen) < MAX_URLS, "the crawl hit its bound: raise it or find the loop"
    assert crawl.fetched > 500
