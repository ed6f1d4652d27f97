"""Memento (RFC 7089): which earlier versions of a document exist, and how to name them.

Pattern 2.1 of RFC 7089 section 4.2: the original resource is not its own TimeGate.
Every document (``/doc/...``, with or without an extension) and every dump
(``/dumps/...``) is an original resource that answers as it always did (no
``Vary: accept-datetime``, so caches and the response cache stay as they are) and points
with ``Link`` at

* its TimeGate ``/timegate/{path}``: negotiates on ``Accept-Datetime`` and answers 302
  to the memento of that date;
* its TimeMap ``/timemap/{path}``: every memento, in ``application/link-format``;
* its mementos ``/memento/{YYYYMMDDhhmmss}/{path}``, the URL form web archives use: the
  document rendered from the release that was current at that second.

A release is a memento of every document it holds; the mementos of a path are the kept
releases (the store's :meth:`~pledge_lod.store.base.Store.kept_releases`) that hold it,
dated by their manifest's ``created``. The links are absolute, on the release's base:
Memento clients follow them from one host to another and cannot resolve relative ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from werkzeug.http import http_date

from ..http.formats import DOC_FORMATS
from ..http.negotiation import split_ext
from ..rdf import vocab as v
from ..release.history import History
from ..store import ReleaseGone, Store, TimeTravelUnavailable
from .documents import valid_slug
from .http import Link
from .site import ReleaseData, parse_time, site

STAMP_FORMAT = "%Y%m%d%H%M%S"
STAMP_RE = re.compile(r"^[0-9]{14}$")
_HTTP_DATE_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"
)
BAD_DATETIME = (
    "Accept-Datetime must be an HTTP date in the RFC 1123 format, in GMT, such as "
    "'Thu, 03 Dec 2026 12:00:00 GMT' (RFC 7089, section 2.1.1)"
)
WHAT_TRAVELS = (
    "time travel is offered for documents (/doc/{kind}/{slug}, with or without an "
    "extension) and the dumps (/dumps/{file})"
)
#: A memento never changes (its release is immutable): a year, and say so.
IMMUTABLE = "public, max-age=31536000, immutable"
_DOC_PATH = re.compile(r"^doc/(?P<kind>[a-z]+)/(?P<name>[^/]+)$")
_DUMP_PATH = re.compile(r"^dumps/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,120})$")


class BadDatetime(ValueError):
    """An Accept-Datetime that is not an RFC 1123 date (answered 400)."""


def parse_accept_datetime(value: str | None) -> datetime | None:
    """The Accept-Datetime header as an aware UTC datetime; None if absent."""
    if value is None:
        return None
    text = value.strip()
    if not _HTTP_DATE_RE.match(text):
        raise BadDatetime(BAD_DATETIME)
    try:
        return parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError) as exc:  # e.g. 31 Feb
        raise BadDatetime(BAD_DATETIME) from exc


def parse_stamp(stamp: str) -> datetime | None:
    """A 14-digit memento datetime, or None if it is not one."""
    if not STAMP_RE.match(stamp):
        return None
    try:
        return datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Memento:
    """One earlier (or the current) state of a resource: a version of the dataset (or,
    without a recorded history, a kept release), dated, and whether its release is kept."""

    moment: datetime
    release_id: str
    version: int | None = None
    kept: bool = True

    @property
    def stamp(self) -> str:
        return self.moment.strftime(STAMP_FORMAT)

    @property
    def http_date(self) -> str:
        return http_date(self.moment)


@dataclass(frozen=True)
class Original:
    """A path that time travel is offered for: a document (kind, slug) or a dump."""

    path: str  # without the leading slash, as in the URLs: "doc/place/zurich.ttl"
    kind: str | None = None
    slug: str | None = None
    dump: str | None = None


def original_of(path: str) -> Original | None:
    """The original resource named by ``path`` (after /timegate/ etc.), or None."""
    doc = _DOC_PATH.match(path)
    if doc and doc.group("kind") in v.KINDS:
        slug, _ext = split_ext(doc.group("name"), DOC_FORMATS)
        return Original(path, kind=doc.group("kind"), slug=slug) if valid_slug(slug) else None
    dump = _DUMP_PATH.match(path)
    if dump:
        return Original(path, dump=dump.group("name"))
    return None


def releases_timeline(store: Store, history: History) -> list[Memento]:
    """Every version of the dataset as a memento, oldest first, each marked kept or not
    (its release folder pruned); without a recorded history, the kept releases. One per
    second: the later version wins a tie, as a 14-digit datetime cannot tell them apart."""
    if not can_travel(store):
        raise TimeTravelUnavailable(no_time_travel(store))
    kept = store.kept_releases()
    versions = history.versions()
    if versions:
        ids = {info.id for info in kept}
        found = [Memento(parse_time(ver.created), ver.release_id, ver.number,
                         ver.release_id in ids) for ver in versions]
    else:
        found = [Memento(parse_time(info.created), info.id) for info in kept]
    by_stamp = {memento.stamp: memento for memento in found}
    return sorted(by_stamp.values(), key=lambda m: m.moment)


def holds(store: Store, memento: Memento, original: Original) -> bool:
    """Whether the kept release of ``memento`` has the resource ``original`` names."""
    try:
        snap = store.pinned(memento.release_id)
    except ReleaseGone:  # pruned since the list was made
        return False
    if original.dump is not None:
        return f"dumps/{original.dump}" in snap.release.files
    rd = site().release_data(snap.release)
    assert original.kind is not None and original.slug is not None
    return rd.ask(snap, rd.queries.exists, rd.iris.thing(original.kind, original.slug))


def _from_history(timeline: list[Memento], history: History, iri: str) -> list[Memento]:
    """The mementos in which the resource ``iri`` existed, by its recorded changes."""
    kinds = {ver.number: change.kind for ver, change in history.resource(iri)}
    out, exists = [], False
    for memento in timeline:
        if memento.version in kinds:
            exists = kinds[memento.version] != "deleted"
        if exists:
            out.append(memento)
    return out


def mementos_of(store: Store, original: Original, current: ReleaseData) -> list[Memento]:
    """The mementos of one resource, oldest first, pruned ones included (remembered per
    current release and latest version: the build records a version just after it
    switches the release in)."""
    latest = site().history.latest()
    key = (current.release.id, latest.number if latest else 0, "mementos", original.path)
    found = site().objects.get(key)
    if found is None:
        history = site().history
        timeline = releases_timeline(store, history)
        if original.dump is not None and timeline and timeline[0].version is not None:
            found = timeline  # every version has its dumps
        elif timeline and timeline[0].version is not None and original.kind is not None:
            assert original.slug is not None
            found = _from_history(timeline, history, current.iris.thing(original.kind,
                                                                        original.slug))
        else:
            found = [m for m in timeline if holds(store, m, original)]
        site().objects.put(key, found)
    return list(found)


def kept_only(mementos: Sequence[Memento]) -> list[Memento]:
    return [m for m in mementos if m.kept]


def nearest_kept(mementos: Sequence[Memento], gone: Memento) -> Memento | None:
    """The kept memento closest in time to a pruned one (the later one on a tie)."""
    kept = kept_only(mementos)
    if not kept:
        return None
    return min(kept, key=lambda m: (abs((m.moment - gone.moment).total_seconds()),
                                    -m.moment.timestamp()))


def select(mementos: Sequence[Memento], wanted: datetime | None) -> Memento:
    """The memento a TimeGate picks: the last one at or before ``wanted`` (the state
    the resource was in then), the first if ``wanted`` is earlier than them all, the
    latest if no date was asked for."""
    if wanted is None:
        return mementos[-1]
    chosen = mementos[0]
    for memento in mementos:
        if memento.moment <= wanted:
            chosen = memento
    return chosen


def memento_path(memento: Memento, original: Original) -> str:
    return f"/memento/{memento.stamp}/{original.path}"


@dataclass(frozen=True)
class Links:
    """The Memento links of one original resource, absolute on ``base``."""

    base: str
    original: Original

    @property
    def original_url(self) -> str:
        return f"{self.base}/{self.original.path}"

    @property
    def timegate_url(self) -> str:
        return f"{self.base}/timegate/{self.original.path}"

    @property
    def timemap_url(self) -> str:
        return f"{self.base}/timemap/{self.original.path}"

    def memento_url(self, memento: Memento) -> str:
        return self.base + memento_path(memento, self.original)

    def header(self, mementos: Sequence[Memento], selected: Memento | None,
               timegate: bool = True) -> str:
        """The ``Link`` header of a TimeGate's or memento's answer (RFC 7089 sections
        4 and 2.2): original, timegate, timemap, and the first, last, previous and next
        mementos around ``selected`` (rels of one URL are joined, "first memento")."""
        parts = [f'<{self.original_url}>; rel="original"']
        if timegate:
            parts.append(f'<{self.timegate_url}>; rel="timegate"')
        parts.append(f'<{self.timemap_url}>; rel="timemap"; type="application/link-format"')
        rels: dict[Memento, list[str]] = {}
        if mementos:
            rels.setdefault(mementos[0], []).append("first")
            if selected is not None:
                at = mementos.index(selected)
                if at > 0:
                    rels.setdefault(mementos[at - 1], []).append("prev")
                if at + 1 < len(mementos):
                    rels.setdefault(mementos[at + 1], []).append("next")
            rels.setdefault(mementos[-1], []).append("last")
        if selected is not None:
            rels.setdefault(selected, [])
        for memento in sorted(rels, key=lambda m: m.moment):
            names = " ".join([*dict.fromkeys(rels[memento]), "memento"])
            parts.append(f'<{self.memento_url(memento)}>; rel="{names}"; '
                         f'datetime="{memento.http_date}"')
        return ", ".join(parts)

    def timemap(self, mementos: Sequence[Memento]) -> bytes:
        """The TimeMap (RFC 7089 section 5.1.1) in the CoRE Link Format (RFC 6690)."""
        lines = [
            f'<{self.original_url}>; rel="original"',
            f'<{self.timemap_url}>; rel="self"; type="application/link-format"; '
            f'from="{mementos[0].http_date}"; until="{mementos[-1].http_date}"',
            f'<{self.timegate_url}>; rel="timegate"',
        ]
        last = len(mementos) - 1
        for i, memento in enumerate(mementos):
            rel = ("first " if i == 0 else "") + ("last " if i == last else "") + "memento"
            lines.append(f'<{self.memento_url(memento)}>; rel="{rel}"; '
                         f'datetime="{memento.http_date}"')
        return (",\n".join(lines) + "\n").encode("utf-8")


def can_travel(store: Store) -> bool:
    """Whether the store opens older releases (a backend registered from outside the
    package may predate the attribute: then it does not)."""
    return bool(getattr(store, "time_travel", False))


def no_time_travel(store: Store) -> str:
    return (f"the {store.name} backend serves only the current release: time travel "
            "(Memento) needs the embedded store")


def had_past(path: str, current: ReleaseData) -> bool:
    """Whether a kept release holds the resource at ``path`` (absent from the current
    release): its document answers 410 Gone with the links to its past, not 404."""
    store = site().store
    if not can_travel(store):
        return False
    original = original_of(path.lstrip("/"))
    return original is not None and bool(kept_only(mementos_of(store, original, current)))


def original_links(rd: ReleaseData, path: str) -> list[Link]:
    """What the current document or dump at ``path`` says of its past: the links of
    RFC 7089 pattern 2.1, itself as original, its TimeGate and TimeMap (none when the
    store cannot travel in time)."""
    if not can_travel(site().store):
        return []
    url = rd.base + path
    return [
        Link(url, "original"),
        Link(f"{rd.base}/timegate{path}", "timegate"),
        Link(f"{rd.base}/timemap{path}", "timemap", "application/link-format"),
    ]
