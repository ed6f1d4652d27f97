"""What the routes share: the blueprint, the request's release, format choice, the
worker's caches of rendered representations, and the bodies they render."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, render_template, request
from markupsafe import Markup
from pyoxigraph import Triple

from ...http.formats import Format
from ...http.negotiation import NotAcceptable, negotiate
from ...store import Snapshot
from ..http import root
from ..serialize import jsonld, ordered, script_safe, to_bytes
from ..site import ReleaseData, Rendered, site, snapshot

bp = Blueprint("web", __name__)

_MISSING = object()
_PAGE_RE = re.compile(r"^[1-9][0-9]{0,8}$")


class BadRequest(Exception):
    """A query-string value we cannot use; answered 400 with the message."""


def page_number() -> int:
    """``?page=N``: a whole number from 1; anything else is the client's mistake (400)."""
    values = request.args.getlist("page")
    if not values:
        return 1
    if len(values) > 1:
        raise BadRequest("give ?page= once")
    raw = values[0]
    if not _PAGE_RE.match(raw):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise BadRequest(f"page must be a whole number from 1 to 999999999, not {shown!r}")
    return int(raw)


def release_now() -> tuple[Snapshot, ReleaseData]:
    """The request's snapshot and the facts about its release."""
    snap = snapshot()
    return snap, site().release_data(snap.release)


def context_url(rd: ReleaseData) -> str:
    return rd.base + "/context.jsonld"


def choose(ext_fmt: Format | None, formats: Sequence[Format]) -> tuple[Format | None, bool]:
    """The format fixed by the extension, else negotiated (None: nothing acceptable),
    and whether it was negotiated (then the answer varies by Accept)."""
    try:
        return negotiate(formats, request.headers.get("Accept"), fixed=ext_fmt), ext_fmt is None
    except NotAcceptable:
        return None, True


def cached_rendering(key: tuple[Any, ...], make: Callable[[], Rendered]) -> Rendered:
    """A rendered representation from the worker's LRU, made on a miss. Keys start with
    the release id, so a new release never meets an old rendering."""
    if site().awaiting_record(key[0]):
        return make()
    return site().rendered.get_or_make(key, make)


def built(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """A built document/page, shared by all its formats (also remembers "not found")."""
    if site().awaiting_record(key[0]):
        return make()
    cache = site().objects
    found = cache.get(key)
    if found is None:
        found = cache.put(key, _MISSING if (made := make()) is None else made)
    return None if found is _MISSING else found


def html(template: str, **context: Any) -> bytes:
    return render_template(template, **context).encode("utf-8")


def rdf_bytes(
    triples: Sequence[Triple], fmt: Format, rd: ReleaseData, first: str | None = None
) -> bytes:
    return to_bytes(triples, fmt, rd.base, context_url(rd), first)


def embedded_jsonld(triples: Sequence[Triple], rd: ReleaseData, first: str | None = None) -> Markup:
    """JSON-LD for a ``<script type="application/ld+json">``: escaped for that spot by
    :func:`script_safe` (HTML-escaping would corrupt the JSON, so it is marked safe)."""
    return Markup(script_safe(jsonld(triples, rd.base, context_url(rd), first)))


def format_links(path: str, formats: Sequence[Format], query: str = "") -> list[dict[str, str]]:
    """The page's "also as" links, one per format's own URL."""
    return [
        {"href": f"{root()}{path}.{f.extension}{query}", "label": f.label, "type": f.media_type}
        for f in formats
    ]


def graph_triples(snap: Snapshot, rd: ReleaseData, name: str) -> list[Triple]:
    """A named graph of the release (VoID, ontology, shapes), ordered, built once."""
    key = (rd.release.id, "graph", name)
    return built(key, lambda: ordered(snap.construct(rd.queries.graph(name))))


def void_rendered(snap: Snapshot, rd: ReleaseData, fmt: Format) -> Rendered:
    """VoID in an RDF format: the home page's RDF answer and ``/.well-known/void``'s."""
    return cached_rendering(
        (rd.release.id, root(), "/.well-known/void", fmt.key),
        lambda: Rendered(rdf_bytes(graph_triples(snap, rd, "void"), fmt, rd), fmt.content_type),
    )
