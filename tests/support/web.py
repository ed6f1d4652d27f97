"""Shared helpers of the web tests (no tests here): apps on a release, sample resources,
real Accept headers, external tools, RDF comparison.

Tools the client tests run (CI installs them from .ci/run): ``rapper`` (Debian
raptor2-utils), ``chromium`` (Debian chromium), ``node`` + ``npm`` with ``tests/js``'s
``npm ci`` (npm ``jsonld``). Locally a test skips, saying why, when a tool is absent;
with ``CI=true`` it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import rdflib
from flask import Flask
from flask.testing import FlaskClient
from rdflib.compare import isomorphic, to_isomorphic

from pledge_lod.config import Settings
from pledge_lod.web import create_app
from support.paths import ROOT

JS_DIR = ROOT / "tests" / "js"

#: Accept headers real clients send.
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CHROME = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
SAFARI = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CURL = "*/*"
#: What rdflib's Graph().parse(url) sends (rdflib.parser.URLInputSource).
RDFLIB = "application/rdf+xml, text/rdf+n3;q=0.9, application/xhtml+xml;q=0.5, */*;q=0.1"

#: Accept header -> the media type that must come back.
ACCEPT_CASES: dict[str, str] = {
    FIREFOX: "text/html",
    CHROME: "text/html",
    CURL: "text/html",
    "": "text/html",
    "text/html": "text/html",
    "application/xhtml+xml": "text/html",
    "text/turtle": "text/turtle",
    "text/turtle;charset=utf-8": "text/turtle",
    "text/turtle; q=0.9, application/ld+json": "application/ld+json",
    "application/ld+json": "application/ld+json",
    'application/ld+json;profile="http://www.w3.org/ns/json-ld#compacted"': "application/ld+json",
    "application/json": "application/ld+json",
    "application/n-triples": "application/n-triples",
    "application/rdf+xml": "application/rdf+xml",
    RDFLIB: "application/rdf+xml",
    "text/*": "text/html",
    "text/*;q=0.5, text/turtle": "text/turtle",
    "*/*;q=0.1, application/n-triples;q=0.5": "application/n-triples",
    "application/*": "application/ld+json",
    "*/*, text/html;q=0, application/xhtml+xml;q=0": "text/turtle",
    "image/png, */*;q=0.01": "text/html",
}
UNACCEPTABLE = ["image/png", "application/pdf, image/*", "text/html;q=0", "x-unknown/nothing"]

RDF_MEDIA = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}


def make_app(releases_dir: Path, **overrides: object) -> Flask:
    """The app on a release folder, as a worker creates it."""
    settings = Settings(releases_dir=releases_dir).with_overrides(**overrides)
    app = create_app(settings)
    app.testing = True
    return app


def client_for(releases_dir: Path, **overrides: object) -> FlaskClient:
    return make_app(releases_dir, **overrides).test_client()


def sitemap_paths(releases_dir: Path) -> list[str]:
    """Every document path the release's sitemap lists (index parts included)."""
    current = (releases_dir / "current").resolve()
    text = (current / "sitemap.xml").read_text(encoding="utf-8")
    locs = re.findall(r"<loc>([^<]+)</loc>", text)
    paths = []
    for loc in locs:
        path = re.sub(r"^https?://[^/]+", "", loc)
        if path.startswith("/sitemaps/"):
            part = (current / path.lstrip("/")).read_text(encoding="utf-8")
            paths += [
                re.sub(r"^https?://[^/]+", "", x) for x in re.findall(r"<loc>([^<]+)</loc>", part)
            ]
        else:
            paths.append(path)
    return paths


def one_per_kind(releases_dir: Path) -> dict[str, str]:
    """kind -> slug of one resource of each kind that the release has."""
    out: dict[str, str] = {}
    for path in sitemap_paths(releases_dir):
        m = re.match(r"^/doc/([a-z]+)/([^/]+)$", path)
        if m:
            out.setdefault(m.group(1), m.group(2))
    return out


def require_tool(name: str) -> str:
    """The tool's path; skip (locally) or fail (CI=true) when it is not installed."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (see the tool list in tests/support/web.py)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def jsonld_js_ready() -> Path:
    """tests/js with jsonld installed (``npm ci`` when node_modules is missing)."""
    require_tool("node")
    if not (JS_DIR / "node_modules" / "jsonld").is_dir():
        npm = require_tool("npm")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            message = f"npm ci failed in tests/js: {result.stderr[-2000:]}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
    return JS_DIR


def graph_of(data: bytes | str, fmt: str, base: str | None = None) -> rdflib.Graph:
    return rdflib.Graph().parse(data=data, format=fmt, publicID=base)


def same_graph(a: rdflib.Graph, b: rdflib.Graph) -> bool:
    return isomorphic(to_isomorphic(a), to_isomorphic(b))


def diff_text(a: rdflib.Graph, b: rdflib.Graph, limit: int = 10) -> str:
    from rdflib.compare import graph_diff

    _both, only_a, only_b = graph_diff(to_isomorphic(a), to_isomorphic(b))
    lines = ["only in first:"] + [str(t) for t in list(only_a)[:limit]]
    lines += ["only in second:"] + [str(t) for t in list(only_b)[:limit]]
    return "\n".join(lines)


def local_context(client: FlaskClient, doc: dict) -> dict:
    """A JSON-LD document with its context URL replaced by the served context, so that
    rdflib can read it without a network."""
    ctx = client.get("/context.jsonld").get_json()
    out = dict(doc)
    out["@context"] = ctx["@context"]
    return out
