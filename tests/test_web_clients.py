"""Real clients read every kind of resource from the live gunicorn server: rdflib
(follows the 303 and negotiates), rapper (raptor2-utils), jsonld.js (its N-Quads equal
the Turtle's triples, with the context fetched from the server) and headless Chromium
(renders the home page and a pledge page; the screenshot is checked, and so is the DOM).

The tools are installed by CI (.ci/run): apt ``raptor2-utils chromium nodejs npm``, then
``npm ci`` in tests/js. Locally a missing tool skips its test with the reason."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest
import rdflib
from rdflib import URIRef

from support.web import (
    diff_text,
    graph_of,
    jsonld_js_ready,
    one_per_kind,
    require_tool,
    same_graph,
)

pytestmark = [  # the slow tier: Chromium, rapper, jsonld.js and rdflib on the live server
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def samples(releases_dir: Path) -> dict[str, str]:
    return one_per_kind(releases_dir)


def turtle_of(url: str) -> rdflib.Graph:
    import urllib.request

    req = urllib.request.Request(url, headers={"Accept": "text/turtle"})
    with urllib.request.urlopen(req, timeout=15) as resp:
        return graph_of(resp.read(), "turtle")


def test_rdflib_reads_every_kind_through_the_thing_uri(
    live_server: str, samples: dict[str, str]
) -> None:
    for kind, slug in samples.items():
        thing = f"{live_server}/id/{kind}/{slug}"
        expected = turtle_of(f"{live_server}/doc/{kind}/{slug}")
        g = rdflib.Graph().parse(thing)  # no format: rdflib sends its Accept list, follows 303
        assert same_graph(g, expected), f"{kind}\n{diff_text(g, expected)}"
        assert list(g.predicate_objects(URIRef(thing))), kind
        for fmt in ("turtle", "xml", "nt", "json-ld", "n3"):
            g = rdflib.Graph().parse(thing, format=fmt)
            assert same_graph(g, expected), (kind, fmt)


def test_rdflib_reads_listings_and_self_description(live_server: str) -> None:
    for path in ("/goal/5", "/pledges", "/.well-known/void", "/def/pledge", "/def/shapes"):
        g = rdflib.Graph().parse(live_server + path)
        assert len(g) > 0, path


def test_rapper_reads_every_kind(live_server: str, samples: dict[str, str]) -> None:
    rapper = require_tool("rapper")
    for kind, slug in samples.items():
        expected = turtle_of(f"{live_server}/doc/{kind}/{slug}")
        # -g: rapper negotiates and guesses the parser from what comes back; it follows the 303.
        result = subprocess.run(
            [rapper, "-g", "-c", f"{live_server}/id/{kind}/{slug}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        count = int(re.search(r"returned (\d+) triples", result.stderr).group(1))  # type: ignore[union-attr]
        assert count == len(expected), (kind, result.stderr)
        for fmt, ext in (("turtle", "ttl"), ("ntriples", "nt"), ("rdfxml", "rdf")):
            result = subprocess.run(
                [
                    rapper,
                    "-q",
                    "-i",
                    fmt,
                    "-o",
                    "ntriples",
                    f"{live_server}/doc/{kind}/{slug}.{ext}",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, (kind, fmt, result.stderr)
            assert same_graph(graph_of(result.stdout, "nt"), expected), (kind, fmt)


def test_rapper_reads_listings_and_void(live_server: str) -> None:
    rapper = require_tool("rapper")
    for path in (
        "/goal/5.ttl",
        "/pledges.rdf",
        "/.well-known/void.ttl",
        "/def/pledge.ttl",
        "/def/shapes.nt",
    ):
        result = subprocess.run(
            [rapper, "-g", "-c", live_server + path], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, (path, result.stderr)


def test_jsonld_js_gets_the_same_triples_as_turtle(
    live_server: str, samples: dict[str, str]
) -> None:
    js_dir = jsonld_js_ready()
    paths = [f"/id/{kind}/{slug}" for kind, slug in samples.items()]
    paths += [
        "/goal/5",
        "/target/10.7",
        "/pledges",
        "/.well-known/void",
        "/def/pledge",
        "/def/shapes",
    ]
    urls = [live_server + p for p in paths]
    result = subprocess.run(
        ["node", "nquads.js", *urls], cwd=js_dir, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(answers) == len(urls)
    for path, answer in zip(paths, answers, strict=True):
        assert "error" not in answer, (path, answer.get("error"))
        assert answer["contentType"].startswith("application/ld+json"), path
        js = rdflib.Graph().parse(data=answer["nquads"], format="nt")
        ttl = turtle_of(live_server + path.replace("/id/", "/doc/", 1))
        assert same_graph(js, ttl), f"{path}\n{diff_text(js, ttl)}"


def png_size_and_variety(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the decompressed pixels) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    for _ in range(100_000):
        if pos >= len(data):
            break
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    pixels = zlib.decompress(idat)
    return width, height, len(set(pixels))


def chromium(*args: str) -> subprocess.CompletedProcess[bytes]:
    exe = require_tool("chromium")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            timeout=120,
        )


@pytest.mark.parametrize("which", ["home", "pledge"])
def test_chromium_renders_the_pages(
    live_server: str, samples: dict[str, str], which: str, tmp_path: Path
) -> None:
    path = "/" if which == "home" else f"/id/pledge/{samples['pledge']}"
    url = live_server + path
    shot = tmp_path / f"{which}.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1280,1600", url)
    assert shot.is_file(), result.stderr.decode(errors="replace")[-2000:]
    width, height, variety = png_size_and_variety(shot.read_bytes())
    assert (width, height) == (1280, 1600)
    assert variety > 20, "the screenshot is blank"
    dom = chromium("--dump-dom", url).stdout.decode("utf-8", errors="replace")
    assert "<h1" in dom
    if which == "pledge":
        ttl = turtle_of(f"{live_server}/doc/pledge/{samples['pledge']}")
        title = str(
            ttl.value(URIRef(f"{live_server}/id/pledge/{samples['pledge']}"), rdflib.RDFS.label)
        )
        assert title.replace("&", "&amp;") in dom
        assert "Terrassa" in dom or "place" in dom
    else:
        assert "Sustainable Development Goal" in dom and "SDG 5" in dom
    # The stylesheet was applied (served by us, allowed by the CSP): no CSP errors.
    assert "Content Security Policy" not in result.stderr.decode(errors="replace")
