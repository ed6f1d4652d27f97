"""HTTP behaviour of every kind of resource, through Flask's test client.

Dereferencing (303 from thing URIs), content negotiation with the Accept headers real
browsers and tools send, 406, Vary, ETag/Last-Modified and 304, HEAD, CORS, Link and
Content-Location, security headers on HTML, and 404s in the format asked for.
"""

from __future__ import annotations

import json
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from pledge_lod.rdf.vocab import KINDS
from support.web import (
    ACCEPT_CASES,
    CHROME,
    FIREFOX,
    RDF_MEDIA,
    UNACCEPTABLE,
    client_for,
    graph_of,
    one_per_kind,
)

FORMATS = {
    "text/html": "html",
    "text/turtle": "ttl",
    "application/ld+json": "jsonld",
    "application/n-triples": "nt",
    "application/rdf+xml": "rdf",
}


@pytest.fixture(scope="module")
def client(releases_dir: Path) -> FlaskClient:
    return client_for(releases_dir)


@pytest.fixture(scope="module")
def samples(releases_dir: Path) -> dict[str, str]:
    found = one_per_kind(releases_dir)
    missing = [k for k in KINDS if k not in found]
    assert not missing, f"the bundled data has no resource of kinds {missing}"
    return found


def negotiated_paths(samples: dict[str, str]) -> list[str]:
    """One negotiated URL of every kind: documents, listings, self-description."""
    docs = [f"/doc/{kind}/{slug}" for kind, slug in sorted(samples.items())]
    listings = [
        "/pledges",
        "/goal/5",
        "/target/10.7",
        "/objective/16",
        f"/theme/{samples['theme']}",
        f"/place/{samples['place']}",
        f"/programme/{samples['programme']}",
        f"/agent/{samples['agent']}",
        f"/submitter/{samples['agent']}",
        f"/kind/{samples['kind']}",
        f"/listing/{samples['listing']}",
    ]
    return [*docs, *listings, "/def/pledge", "/def/shapes", "/.well-known/void", "/"]


def media(resp) -> str:
    return resp.headers["Content-Type"].split(";")[0].strip()


def test_every_kind_is_in_the_sample(samples: dict[str, str]) -> None:
    assert set(samples) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_thing_uri_answers_303_to_its_document(
    client: FlaskClient, samples: dict[str, str], kind: str
) -> None:
    slug = samples[kind]
    for accept in (FIREFOX, CHROME, "*/*", "text/turtle", "application/ld+json", ""):
        resp = client.get(f"/id/{kind}/{slug}", headers={"Accept": accept})
        assert resp.status_code == 303, (kind, accept)
        assert resp.headers["Location"].endswith(f"/doc/{kind}/{slug}")
        assert "Accept" in resp.headers.get("Vary", "")
        assert f'/doc/{kind}/{slug}>; rel="describedby"' in resp.headers["Link"]
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
    head = client.head(f"/id/{kind}/{slug}")
    assert head.status_code == 303 and head.data == b""


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_thing_is_404(client: FlaskClient, kind: str) -> None:
    resp = client.get(f"/id/{kind}/no-such-thing-here", headers={"Accept": "text/turtle"})
    assert resp.status_code == 404
    resp = client.get(f"/doc/{kind}/no-such-thing-here", headers={"Accept": FIREFOX})
    assert resp.status_code == 404 and media(resp) == "text/html"
    assert b"no-such-thing-here" in resp.data


def test_documents_negotiate_every_accept_case(
    client: FlaskClient, samples: dict[str, str]
) -> None:
    for path in negotiated_paths(samples):
        for accept, expected in ACCEPT_CASES.items():
            resp = client.get(path, headers={"Accept": accept} if accept else {})
            assert resp.status_code == 200, (path, accept, resp.data[:300])
            assert media(resp) == expected, (path, accept)
            assert "Accept" in resp.headers.get("Vary", ""), (path, accept)
            assert resp.headers.get("ETag"), path
            assert resp.headers.get("Last-Modified"), path
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert "Access-Control-Allow-Credentials" not in resp.headers
            location = resp.headers.get("Content-Location")
            if path != "/" or expected != "text/html":
                assert location and location.split("?")[0].endswith("." + FORMATS[expected]), (
                    path,
                    accept,
                    location,
                )


def test_rdf_bodies_parse_in_the_format_they_claim(
    client: FlaskClient, samples: dict[str, str]
) -> None:
    for path in negotiated_paths(samples):
        for mtype, fmt in RDF_MEDIA.items():
            resp = client.get(path, headers={"Accept": mtype})
            g = graph_of(resp.data, fmt)
            assert len(g) > 0, (path, mtype)
        resp = client.get(path, headers={"Accept": "application/ld+json"})
        doc = json.loads(resp.data)
        assert doc["@context"].endswith("/context.jsonld")


def test_unsupported_accept_is_406_listing_what_is_offered(
    client: FlaskClient, samples: dict[str, str]
) -> None:
    for path in negotiated_paths(samples):
        for accept in UNACCEPTABLE:
            resp = client.get(path, headers={"Accept": accept})
            assert resp.status_code == 406, (path, accept)
            assert "Accept" in resp.headers.get("Vary", "")
            body = resp.data.decode()
            for offered in (
                "text/html",
                "text/turtle",
                "application/ld+json",
                "application/n-triples",
                "application/rdf+xml",
            ):
                assert offered in body, (path, offered)
                assert f'type="{offered}"' in resp.headers.get("Link", "") or path == "/", (
                    path,
                    offered,
                )


def test_extension_urls_fix_the_format_and_say_where_they_are(
    client: FlaskClient, samples: dict[str, str]
) -> None:
    for kind, slug in samples.items():
        for mtype, ext in FORMATS.items():
            for accept in ("image/png", FIREFOX, "text/turtle"):
                resp = client.get(f"/doc/{kind}/{slug}.{ext}", headers={"Accept": accept})
                assert resp.status_code == 200, (kind, ext, accept)
                assert media(resp) == mtype
                assert resp.headers["Content-Location"] == f"/doc/{kind}/{slug}.{ext}"
            links = resp.headers["Link"]
            for other, other_ext in FORMATS.items():
                if other != mtype:
                    assert (
                        f'</doc/{kind}/{slug}.{other_ext}>; rel="alternate"; type="{other}"'
                        in links
                    )


def test_etag_and_last_modified_give_304(client: FlaskClient, samples: dict[str, str]) -> None:
    for path in negotiated_paths(samples):
        for accept in ("text/turtle", FIREFOX):
            first = client.get(path, headers={"Accept": accept})
            etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
            again = client.get(path, headers={"Accept": accept, "If-None-Match": etag})
            assert again.status_code == 304, (path, accept)
            assert again.data == b""
            assert again.headers["ETag"] == etag
            assert "Accept" in again.headers.get("Vary", "")
            since = client.get(path, headers={"Accept": accept, "If-Modified-Since": modified})
            assert since.status_code == 304, path
            older = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
            assert (
                client.get(path, headers={"Accept": accept, "If-Modified-Since": older}).status_code
                == 200
            )
            other = client.get(
                path, headers={"Accept": accept, "If-None-Match": '"something-else"'}
            )
            assert other.status_code == 200
        # Each representation has its own validator.
        ttl = client.get(path, headers={"Accept": "text/turtle"}).headers["ETag"]
        html = client.get(path, headers={"Accept": "text/html"}).headers["ETag"]
        assert ttl != html
        assert (
            client.get(path, headers={"Accept": "text/html", "If-None-Match": ttl}).status_code
            == 200
        )


def test_head_has_the_headers_and_no_body(client: FlaskClient, samples: dict[str, str]) -> None:
    for path in [
        *negotiated_paths(samples),
        "/context.jsonld",
        "/robots.txt",
        "/sitemap.xml",
        "/dumps/pledges.nt",
        "/goal/5.atom",
    ]:
        get = client.get(path, headers={"Accept": "text/turtle"})
        head = client.head(path, headers={"Accept": "text/turtle"})
        assert head.status_code == get.status_code == 200, path
        assert head.data == b""
        for name in (
            "Content-Type",
            "ETag",
            "Last-Modified",
            "Content-Length",
            "Link",
            "Vary",
            "Content-Location",
            "Access-Control-Allow-Origin",
        ):
            assert head.headers.get(name) == get.headers.get(name), (path, name)


def test_link_headers_name_every_alternate(client: FlaskClient, samples: dict[str, str]) -> None:
    kind, slug = "pledge", samples["pledge"]
    resp = client.get(f"/doc/{kind}/{slug}", headers={"Accept": "text/turtle"})
    links = resp.headers["Link"]
    for mtype, ext in FORMATS.items():
        assert f'</doc/{kind}/{slug}.{ext}>; rel="alternate"; type="{mtype}"' in links
    assert f'</id/{kind}/{slug}>; rel="describes"' in links
    home = client.get("/", headers={"Accept": FIREFOX})
    assert '</.well-known/void>; rel="describedby"' in home.headers["Link"]


def test_cors_preflight_and_simple_requests(client: FlaskClient, samples: dict[str, str]) -> None:
    path = f"/doc/place/{samples['place']}"
    resp = client.get(path, headers={"Origin": "https://example.org", "Accept": "text/turtle"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in resp.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in resp.headers
    pre = client.options(
        path,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in pre.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in pre.headers["Access-Control-Allow-Headers"]


def test_html_pages_carry_security_headers(client: FlaskClient, samples: dict[str, str]) -> None:
    for path in [
        "/",
        f"/doc/pledge/{samples['pledge']}",
        "/goal/5",
        "/def/pledge",
        "/no/such/page",
    ]:
        resp = client.get(path, headers={"Accept": CHROME})
        assert media(resp) == "text/html", path
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"]


def test_404_comes_in_the_negotiated_format(client: FlaskClient) -> None:
    html = client.get("/doc/place/atlantis", headers={"Accept": FIREFOX})
    assert html.status_code == 404 and media(html) == "text/html" and b"<h1>" in html.data
    ttl = client.get("/doc/place/atlantis", headers={"Accept": "text/turtle"})
    assert ttl.status_code == 404 and media(ttl) == "text/turtle"
    assert len(graph_of(ttl.data, "turtle")) == 0
    js = client.get("/doc/place/atlantis", headers={"Accept": "application/ld+json"})
    assert js.status_code == 404 and json.loads(js.data)["error"]["status"] == 404
    rdf = client.get("/doc/place/atlantis.rdf")
    assert rdf.status_code == 404 and media(rdf) == "application/rdf+xml"
    assert len(graph_of(rdf.data, "xml")) == 0
    nt = client.get("/doc/place/atlantis.nt", headers={"Accept": FIREFOX})
    assert nt.status_code == 404 and media(nt) == "application/n-triples"
    plain = client.get("/nothing/here/at/all", headers={"Accept": "text/plain"})
    assert plain.status_code == 404
    assert "Accept" in plain.headers.get("Vary", "")
    for resp in (html, ttl, js):
        assert "Accept" in resp.headers.get("Vary", "")


@pytest.mark.parametrize(
    "accept,expected",
    [
        ("text/rdf+n3", "text/turtle"),
        ("application/x-json+ld", "application/ld+json"),
        ("text/xml", "application/rdf+xml"),
        ("application/rdf+xml;charset=utf-8", "application/rdf+xml"),
        ("application/n-triples; q=0.5, text/turtle;charset=utf-8; q=0.4", "application/n-triples"),
    ],
)
def test_documents_and_the_endpoint_share_one_negotiation(
    client: FlaskClient, samples: dict[str, str], accept: str, expected: str
) -> None:
    """One table of formats and one negotiation: an RDF document and the SPARQL service
    description (an RDF graph too) answer an alias, or a media type with parameters, in
    the same format."""
    for path in (f"/doc/place/{samples['place']}", "/sparql"):
        resp = client.get(path, headers={"Accept": accept})
        assert resp.status_code == 200 and media(resp) == expected, (path, accept)
        assert "Accept" in resp.headers.get("Vary", "")


def test_charset_only_where_the_media_type_defines_one(
    client: FlaskClient, samples: dict[str, str]
) -> None:
    """Turtle, RDF/XML and HTML say ``charset=utf-8``; N-Triples and JSON-LD are UTF-8 by
    definition and their registrations define no parameter, so they say nothing: the
    same for a document and for the endpoint's service description."""
    expected = {
        "text/turtle": "text/turtle; charset=utf-8",
        "application/rdf+xml": "application/rdf+xml; charset=utf-8",
        "application/n-triples": "application/n-triples",
        "application/ld+json": "application/ld+json",
    }
    for path in (f"/doc/place/{samples['place']}", "/sparql"):
        for accept, content_type in expected.items():
            resp = client.get(path, headers={"Accept": accept})
            assert resp.headers["Content-Type"] == content_type, (path, accept)


def test_paths_map_to_iris_by_the_release_base_not_the_host(
    client: FlaskClient, samples: dict[str, str], base_url: str
) -> None:
    slug = samples["place"]
    resp = client.get(f"/doc/place/{slug}.nt", headers={"Host": "evil.example:666"})
    assert resp.status_code == 200
    assert f"<{base_url}/id/place/{slug}>".encode() in resp.data
    assert b"evil.example" not in resp.data
