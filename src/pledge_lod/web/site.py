"""Per-worker state: the store, the caches, and what is worth computing once per release.

A :class:`ReleaseData` holds everything derived from one release that many requests
share (query texts with the release's IRIs, the dataset's title and licence, the
ontology's labels, home-page counts, listing indexes). It is keyed by release id, so a
newly switched-in release gets a fresh one and the old one ages out of a tiny LRU.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import current_app, g, request
from pyoxigraph import NamedNode

from ..config import Settings
from ..rdf import vocab as v
from ..release.history import CHANGESET_FILE, History
from ..release.layout import ReleaseInfo
from ..store import Snapshot, Store
from .caches import LRU, SNAPSHOT_KEY
from .queries import Queries

T = TypeVar("T")
#: Per worker: the sorted members of the listings asked for recently.
LISTING_BYTES = 96 * 1024 * 1024

LICENCE_NAMES = {
    "https://creativecommons.org/licenses/by/4.0/": "CC BY 4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0",
    "https://creativecommons.org/licenses/by-sa/4.0/": "CC BY-SA 4.0",
}


@dataclass(frozen=True)
class DatasetInfo:
    title: str
    description: str
    licence: str | None
    publisher: str

    @property
    def licence_name(self) -> str:
        return LICENCE_NAMES.get(self.licence or "", self.licence or "")


@dataclass(frozen=True)
class Rendered:
    """A finished representation: what the cache keeps."""

    body: bytes
    content_type: str
    status: int = 200


class ReleaseData:
    """Facts about one release, computed on first use and then shared by all requests."""

    def __init__(self, release: ReleaseInfo):
        self.release = release
        self.iris = v.Iris(release.base)
        self.base = self.iris.base
        self.queries = Queries.for_release(self.base, release.graphs)
        self.created = parse_time(release.created)
        self._memo: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.indexes: LRU[Any] = LRU(4096)
        #: Sorted members of listings; one may be tens of megabytes at a million pledges.
        self.listings: LRU[Any] = LRU(
            512, max_bytes=LISTING_BYTES, size_of=lambda i: i.nbytes, max_item_bytes=LISTING_BYTES
        )

    def memo(self, key: str, make: Callable[[], T]) -> T:
        """Compute once per release (a race computes twice and keeps one: harmless)."""
        if key in self._memo:
            return self._memo[key]
        value = make()
        with self._lock:
            return self._memo.setdefault(key, value)

    def ask(self, snap: Snapshot, query: str, iri: str) -> bool:
        """An ASK about one IRI, remembered per release (existence checks repeat a lot)."""
        key = ("ask", query, iri)
        known = self.indexes.get(key)
        if known is None:
            known = self.indexes.put(key, snap.ask(query, {"this": NamedNode(iri)}))
        return bool(known)

    def dataset(self, snap: Snapshot) -> DatasetInfo:
        def make() -> DatasetInfo:
            rows = snap.select(self.queries.dataset).rows
            row = rows[0] if rows else {}

            def text(name: str) -> str:
                term = row.get(name)
                return term.value if term is not None else ""

            return DatasetInfo(
                title=text("title") or "Migration pledges",
                description=text("description"),
                licence=text("licence") or None,
                publisher=text("publisher"),
            )

        return self.memo("dataset", make)

    def term_labels(self, snap: Snapshot) -> dict[str, str]:
        """Labels of the project's own terms, from the published ontology."""

        def make() -> dict[str, str]:
            out: dict[str, str] = {}
            for row in snap.select(self.queries.term_labels).rows:
                out.setdefault(row["t"].value, row["l"].value)
            return out

        return self.memo("term_labels", make)

    def local(self, iri: str) -> str | None:
        """The path (after the base) of an IRI of this deployment, or None."""
        if iri.startswith(self.base + "/"):
            return iri[len(self.base) :]
        if iri == self.base:
            return "/"
        return None


@dataclass(frozen=True)
class PageLimits:
    """What the pages read of the settings: how many members a listing page shows, how
    many links back a document lists, and how many hits a page of search results shows."""

    page_size: int
    backlink_limit: int
    search_page_size: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PageLimits:
        return cls(page_size=settings.page_size, backlink_limit=settings.backlink_limit,
                   search_page_size=settings.search_page_size)


class Site:
    """What a worker keeps between requests."""

    def __init__(self, limits: PageLimits, store: Store, history: History):
        self.limits = limits
        self.store = store
        #: The recorded versions and their changes (Memento, /changes); read-only.
        self.history = history
        self.rendered: LRU[Rendered] = LRU(
            max_entries=8192, max_bytes=64 * 1024 * 1024, size_of=lambda r: len(r.body) + 200
        )
        self.objects: LRU[Any] = LRU(max_entries=1024)
        self._releases: LRU[ReleaseData] = LRU(max_entries=8)  # mementos' releases too
        self._settled: set[str] = set()  # releases awaiting no record (awaiting_record)

    def awaiting_record(self, release_id: str) -> bool:
        """Whether ``release_id`` is a release a build has just made current and not yet
        recorded as a version (it records it right after the switch, so that a build
        stopped in between never leaves a version unpublished). Pages made meanwhile
        lack the newest version (``dcterms:modified``, Memento's links), so none is kept
        in a cache until it is recorded. Settled once per release: recorded, or not made
        to be recorded (no changeset: an older release, an app server without history)."""
        if release_id in self._settled:
            return False
        history = self.history
        changeset = history.releases_dir / release_id / CHANGESET_FILE
        if history.latest() is None:  # no history here (or before its first version)
            return False
        if history.for_release(release_id) is not None or not changeset.is_file():
            self._settled.add(release_id)
            return False
        return True

    def release_data(self, release: ReleaseInfo) -> ReleaseData:
        return self._releases.get_or_make(release.id, lambda: ReleaseData(release))


def site() -> Site:
    return current_app.extensions["pledge_lod"]


def snapshot() -> Snapshot:
    """The request's one snapshot: data, ETag and Last-Modified all come from it. When
    the response cache took one for its key, it is that one, so that the answer is filed
    under the release it was made from."""
    snap = g.get("pledge_lod_snapshot")
    if snap is None:
        snap = request.environ.get(SNAPSHOT_KEY) or site().store.snapshot()
        g.pledge_lod_snapshot = snap
    return snap


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.replace(microsecond=0)
