"""No request reads outside the release, and none gets a 500: hostile paths (dot
segments, encoded slashes, NUL, over-long segments and URLs) and query strings are
answered 4xx with a message. Run through the live gunicorn server so that the paths
arrive exactly as a client sends them, not as a test client normalises them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from support.web import client_for

BAD_PATHS = [
    "/dumps/../manifest.json",
    "/dumps/..%2Fmanifest.json",
    "/dumps/%2e%2e/manifest.json",
    "/dumps/%2e%2e%2fmanifest.json",
    "/dumps/pledges.nt%00.txt",
    "/dumps/%00",
    "/sitemaps/..%2F..%2Fmanifest.json",
    "/static/../store/CURRENT",
    "/static/..%2F..%2Fcli.py",
    "/static/%2e%2e/web/routes/common.py",
    "/doc/place/..%2F..%2Fmanifest",
    "/doc/place/terrassa%2F..%2F..",
    "/doc/place/%2e%2e",
    "/doc/place/" + "a" * 300,
    "/id/place/" + "b" * 5000,
    "/id/place/Terrassa",
    "/id/place/terrassa.ttl",
    "/id/place/ter rassa",
    "/doc/place/ter%20rassa",
    "/doc/place/%C3%A9",
    "/doc/nokind/terrassa",
    "/goal/0",
    "/goal/..",
    "/target/%2e%2e",
    "/place/%00",
    "/.well-known/../manifest.json",
    "/.well-known/void.exe",
    "/def/../../etc/passwd",
    "/etc/passwd",
    "/manifest.json",
    "/store/CURRENT",
    "/void.ttl",
    "/shacl-report.ttl",
    "//etc/passwd",
    "/%5c..%5cmanifest.json",
]


def raw_get(base_url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send the request line exactly as written (no client-side cleaning); (status, body)."""
    status, _head, body = raw_exchange(base_url, path, headers)
    return status, body


def raw_exchange(
    base_url: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, bytes]:
    """(status, header block, body) of one request sent byte for byte."""
    host, port = base_url.removeprefix("http://").split(":")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {val}" for k, val in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    chunks = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        for _ in range(100_000):
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    raw = b"".join(chunks)
    status = int(raw.split(b" ", 2)[1])
    head, _sep, body = raw.partition(b"\r\n\r\n")
    return status, head, body


@pytest.mark.parametrize("path", BAD_PATHS)
def test_hostile_paths_never_reach_a_file(live_server: str, path: str) -> None:
    status, body = raw_get(live_server, path, {"Accept": "*/*"})
    assert 400 <= status < 500, (path, status)
    assert b"Traceback" not in body
    assert b'"format": 1' not in body  # the manifest
    assert b"import " not in body  # source files


def test_over_long_url_is_refused(live_server: str) -> None:
    status, body = raw_get(live_server, "/pledges?x=" + "a" * 20000)
    assert status in (400, 414), status
    assert b"Traceback" not in body


@pytest.mark.parametrize(
    "query",
    [
        "page=-1",
        "page=abc",
        "page=" + "9" * 30,
        "page=%00",
        "page=1%0d%0aX-Injected:%20yes",
        "page=%ff%fe",
        "page[]=1",
        "page=1&page=1",
        "page=1.0",
    ],
)
def test_bad_query_strings_are_400(live_server: str, query: str) -> None:
    for path in ("/pledges", "/goal/5.atom", "/place/terrassa.ttl"):
        status, head, body = raw_exchange(live_server, f"{path}?{query}", {"Accept": "text/html"})
        assert status in (200, 400), (path, query, status)  # page[]= is just another parameter
        if "page=" in query and "page[]" not in query:
            assert status == 400, (path, query)
            assert b"page" in body
        assert b"\r\nX-Injected" not in head


def test_unknown_parameters_are_ignored(live_server: str) -> None:
    status, _ = raw_get(
        live_server, "/doc/place/terrassa?utm_source=x&lang=fr", {"Accept": "text/turtle"}
    )
    assert status == 200


def test_methods_other_than_get_head_options(releases_dir: Path) -> None:
    client = client_for(releases_dir)
    for method in ("post", "put", "delete", "patch"):
        resp = getattr(client, method)("/doc/place/terrassa", data=b"x")
        assert resp.status_code == 405, method
        assert "GET" in resp.headers["Allow"]


def test_no_500_anywhere_under_odd_inputs(releases_dir: Path) -> None:
    client = client_for(releases_dir)
    odd_accepts = [
        "",
        "*/*;q=",
        "text/turtle;q=2",
        ";;;,,,",
        "text/html;q=0.5;level=1",
        "a" * 2000,
        "*/*;q=0.0001",
        "application/ld+json;profile=",
        "text/*;q=0, */*;q=0",
    ]
    for path in (
        "/",
        "/doc/place/terrassa",
        "/goal/5",
        "/pledges",
        "/def/pledge",
        "/id/place/terrassa",
    ):
        for accept in odd_accepts:
            resp = client.get(path, headers={"Accept": accept})
            assert resp.status_code < 500, (path, accept)
    for header in ("If-None-Match", "If-Modified-Since", "Range"):
        resp = client.get("/doc/place/terrassa", headers={header: '\x01garbage,,""W/'})
        assert resp.status_code < 500, header
