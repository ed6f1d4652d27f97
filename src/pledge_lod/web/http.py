"""HTTP plumbing shared by every view: validators, conditional requests, Link headers,
CORS, security headers, and error bodies in the format the client asked for.

ETag = release id + representation (format, page): a release never changes, so a
strong validator per release is exact, and a new release changes every ETag at once.
Last-Modified = the release's creation time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import Response, render_template, request
from werkzeug.http import is_resource_modified, quote_header_value

from ..http.formats import ERROR_FORMATS, HTML, JSONLD, NTRIPLES, RDFXML, TEXT, TURTLE, Format
from ..http.negotiation import NotAcceptable, negotiate
from .site import ReleaseData

MAX_AGE = 60
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HTML_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
EXPOSED = "ETag, Last-Modified, Link, Content-Location, Vary, Retry-After"
PREFLIGHT_HEADERS = "Accept, Accept-Language, If-None-Match, If-Modified-Since, Content-Type"


@dataclass(frozen=True)
class Link:
    href: str
    rel: str
    type: str | None = None
    title: str | None = None

    def header(self) -> str:
        out = f'<{self.href}>; rel="{self.rel}"'
        if self.type:
            out += f'; type="{self.type}"'
        if self.title:
            out += f"; title={quote_header_value(self.title, allow_token=False)}"
        return out


def root() -> str:
    """The path prefix the app is mounted at ("" at the root of a host)."""
    return request.script_root


def alternates(
    path: str, formats: Sequence[Format], query: str = "", skip: Format | None = None
) -> list[Link]:
    """``rel="alternate"`` links to every format's own URL (``path.ext``)."""
    return [
        Link(f"{root()}{path}.{f.extension}{query}", "alternate", f.media_type, f.label)
        for f in formats
        if f is not skip
    ]


def represent(
    body: bytes,
    fmt: Format,
    rd: ReleaseData,
    tag: str,
    *,
    negotiated: bool,
    content_location: str | None = None,
    links: Iterable[Link] = (),
    status: int = 200,
) -> Response:
    """A data response with validators; 304 instead when the client's copy is current."""
    etag = f"{rd.release.id}-{tag}"
    headers: dict[str, str] = {}
    if content_location:
        headers["Content-Location"] = content_location
    link_values = [link.header() for link in links]
    if link_values:
        headers["Link"] = ", ".join(link_values)
    if status == 200 and not is_resource_modified(
        request.environ, etag=etag, last_modified=rd.created
    ):
        resp = Response(status=304, headers=headers)
    else:
        resp = Response(body, status=status, headers=headers, content_type=fmt.content_type)
    resp.set_etag(etag)
    resp.last_modified = rd.created
    resp.cache_control.public = True
    resp.cache_control.max_age = MAX_AGE
    if negotiated:
        resp.vary.add("Accept")
    return resp


def not_acceptable(formats: Sequence[Format], links: Iterable[Link] = ()) -> Response:
    """406 with the list of what is offered (body in plain text: the client accepts none
    of our types, so we pick the simplest)."""
    lines = [
        "406 Not Acceptable: none of the media types in your Accept header is offered here.",
        "This resource is available as:",
    ]
    seen = set()
    for f in formats:
        for media in (f.media_type, *f.aliases):
            if media not in seen:
                seen.add(media)
                lines.append(f"  {media}  ({f.label})")
    link_values = [link.header() for link in links]
    resp = Response("\n".join(lines) + "\n", status=406, content_type=TEXT.content_type)
    if link_values:
        resp.headers["Link"] = ", ".join(link_values)
    resp.vary.add("Accept")
    return resp


TITLES = {
    400: "Bad request",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    410: "Gone",
    413: "Content too large",
    414: "URI too long",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
}


def error_body(status: int, message: str, fmt: Format) -> tuple[bytes, str]:
    """A small body saying what went wrong, in ``fmt``: an HTML page, an empty RDF graph
    with a comment, a JSON object, or plain text."""
    title = TITLES.get(status, "Error")
    line = f"{status} {title}: {message}"
    if fmt is HTML:
        html = render_template("error.html", status=status, title=title, message=message)
        return html.encode("utf-8"), HTML.content_type
    if fmt in (TURTLE, NTRIPLES):
        comment = " ".join(line.splitlines())
        return f"# {comment}\n".encode(), fmt.content_type
    if fmt is RDFXML:
        comment = " ".join(line.splitlines()).replace("--", "- -")
        text = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f"<!-- {comment} -->\n"
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n'
        )
        return text.encode("utf-8"), fmt.content_type
    if fmt is JSONLD:
        body = {"error": {"status": status, "title": title, "message": message}}
        return (json.dumps(body, indent=2) + "\n").encode(), fmt.content_type
    return (line + "\n").encode("utf-8"), TEXT.content_type


def error_response(
    status: int,
    message: str,
    fmt: Format | None = None,
    *,
    negotiated: bool = True,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error in the given format, or in the one the Accept header prefers."""
    if fmt is None:
        try:
            fmt = negotiate(ERROR_FORMATS, request.headers.get("Accept"))
        except NotAcceptable:
            fmt = TEXT
    body, content_type = error_body(status, message, fmt)
    resp = Response(body, status=status, content_type=content_type, headers=headers or {})
    if negotiated:
        resp.vary.add("Accept")
    resp.cache_control.no_store = status >= 500
    return resp


def finish(resp: Response) -> Response:
    """Headers every response gets (unless a view chose its own): nosniff everywhere; a
    strict Content-Security-Policy and framing/referrer rules on HTML; CORS for reading
    from any origin, without credentials."""
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    if resp.mimetype in ("text/html", "application/xhtml+xml"):
        for name, value in HTML_HEADERS.items():
            resp.headers.setdefault(name, value)
    if "Access-Control-Allow-Origin" not in resp.headers:
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers.setdefault("Access-Control-Expose-Headers", EXPOSED)
        if request.method == "OPTIONS":
            allow = resp.headers.get("Allow", "GET, HEAD, OPTIONS")
            resp.headers.setdefault("Access-Control-Allow-Methods", allow)
            resp.headers.setdefault("Access-Control-Allow-Headers", PREFLIGHT_HEADERS)
            resp.headers.setdefault("Access-Control-Max-Age", "86400")
    return resp
