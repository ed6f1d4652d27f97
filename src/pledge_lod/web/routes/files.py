"""Files: the release's dumps and sitemap, exactly the files it lists, and robots.txt."""

from __future__ import annotations

import re

from flask import Response, send_file

from ...http.formats import TEXT
from ...release.layout import DUMP_FORMATS
from ..http import error_response, represent
from ..memento import original_links
from ..site import snapshot
from .common import bp, release_now

_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
_MEDIA_BY_SUFFIX = {
    ".gz": "application/gzip",
    **{name[len("pledges") :]: media for name, media in DUMP_FORMATS.values()},
}


def _release_file(name: str, media: str, tag: str) -> Response:
    snap, rd = release_now()
    try:
        path = snap.release.file(name)
    except KeyError:
        return error_response(404, f"this release has no file {name!r}")
    resp = send_file(
        path,
        mimetype=media,
        conditional=True,
        etag=f"{rd.release.id}-{tag}",
        last_modified=rd.created,
        max_age=300,
    )
    resp.cache_control.public = True
    return resp


@bp.get("/dumps/<name>")
def dump(name: str) -> Response:
    """A dump, exactly as the release wrote it. ``.gz`` files are served as
    ``application/gzip`` *without* Content-Encoding: the file is the gzip file that the
    DCAT description (dcat:compressFormat) announces and its checksum covers; with
    Content-Encoding, browsers and HTTP libraries would unpack it on the fly and save a
    file named ``.gz`` that is not gzip."""
    if not _FILE_RE.match(name) or f"dumps/{name}" not in snapshot().release.files:
        return error_response(404, f"there is no dump {name!r}; see /.well-known/void for the list")
    suffix = "." + name.rsplit(".", 1)[-1]
    media = _MEDIA_BY_SUFFIX.get(suffix, "application/octet-stream")
    resp = _release_file(f"dumps/{name}", media, f"dump-{name}")
    _snap, rd = release_now()
    links = original_links(rd, f"/dumps/{name}")
    if links:
        resp.headers["Link"] = ", ".join(link.header() for link in links)
    return resp


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    return _release_file("sitemap.xml", "application/xml", "sitemap")


@bp.get("/sitemaps/<name>")
def sitemap_part(name: str) -> Response:
    if not _FILE_RE.match(name):
        return error_response(404, f"there is no sitemap {name!r}")
    return _release_file(f"sitemaps/{name}", "application/xml", f"sitemap-{name}")


@bp.get("/robots.txt")
def robots() -> Response:
    _snap, rd = release_now()
    text = f"User-agent: *\nDisallow: /sparql\nAllow: /\nSitemap: {rd.base}/sitemap.xml\n"
    return represent(text.encode(), TEXT, rd, "robots", negotiated=False)
