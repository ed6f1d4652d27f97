"""The embedded backend: the release's on-disk Oxigraph store, opened read-only.

Every worker process opens the store read-only (no worker loads the dataset into
memory; RocksDB pages it in as needed), and follows ``current``: when a new release is
switched in, the next snapshot opens it, while requests already running finish on the
old one.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyoxigraph
from cachetools import LRUCache
from pyoxigraph import QueryBoolean, QuerySolutions, Variable

from ...config import Settings
from ...release.layout import (
    MANIFEST,
    ReleaseError,
    ReleaseInfo,
    current_id,
    read_current,
    read_release,
)
from ..base import (
    Bindings,
    QueryLimits,
    QuerySyntaxError,
    ReleaseGone,
    SelectResult,
    StoreUnavailable,
)
from .executor import Executor

log = logging.getLogger(__name__)

#: How often (seconds) to look whether ``current`` moved; a readlink is cheap.
RECHECK_S = 0.5
#: Older releases kept open for time travel, per worker: each open RocksDB costs file
#: handles and a little memory, and mementos of one or two releases are the usual load.
PINNED_OPEN = 4


def _subs(bindings: Bindings | None) -> dict[Variable, object] | None:
    if not bindings:
        return None
    return {Variable(k): value for k, value in bindings.items()}


class EmbeddedSnapshot:
    """One open release."""

    def __init__(self, release: ReleaseInfo, store: pyoxigraph.Store):
        self._release = release
        self.oxigraph = store

    @property
    def release(self) -> ReleaseInfo:
        return self._release

    def _query(self, query: str, bindings: Bindings | None):
        try:
            return self.oxigraph.query(
                query, use_default_graph_as_union=True, substitutions=_subs(bindings)
            )
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from exc

    def select(self, query: str, bindings: Bindings | None = None) -> SelectResult:
        result = self._query(query, bindings)
        if not isinstance(result, QuerySolutions):
            raise TypeError("not a SELECT query")
        names = [var.value for var in result.variables]
        rows = []
        for solution in result:
            row = {}
            for name in names:
                term = solution[name]
                if term is not None:
                    row[name] = term
            rows.append(row)
        return SelectResult(names, rows)

    def construct(self, query: str, bindings: Bindings | None = None) -> list[pyoxigraph.Triple]:
        return list(self._query(query, bindings))

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        result = self._query(query, bindings)
        if not isinstance(result, QueryBoolean):
            raise TypeError("not an ASK query")
        return bool(result)


class EmbeddedStore:
    """Follows ``{releases_dir}/current``; opens each release read-only once."""

    name = "oxigraph"
    time_travel = True

    def __init__(self, releases_dir: Path):
        self.releases_dir = releases_dir
        self._lock = threading.Lock()
        self._pinned: LRUCache[str, EmbeddedSnapshot] = LRUCache(PINNED_OPEN)
        self._kept: tuple[tuple[str, ...], list[ReleaseInfo]] = ((), [])
        self._snapshot: EmbeddedSnapshot | None = None
        self._link: str | None = None
        self._checked = 0.0
        self._refused: str | None = None  # the `current` target last found unservable
        self._open()  # fail at start-up, with a clear message, if there is no release

    @classmethod
    def open(cls, settings: Settings) -> EmbeddedStore:
        return cls(settings.releases_dir)

    @classmethod
    def check(cls, settings: Settings) -> ReleaseInfo:
        """The current release, its store opened once in a child process, the way every
        worker will. Not in this process: opening RocksDB starts background threads, and
        a gunicorn master that forks workers while such threads exist hands them locks
        held by threads that do not exist in the child (workers hung or crashed, and the
        master ignored SIGTERM)."""
        release = read_current(settings.releases_dir)
        code = "import sys, pyoxigraph; pyoxigraph.Store.read_only(sys.argv[1])"
        path = release.store_path
        try:
            result = subprocess.run([sys.executable, "-c", code, str(path)],
                                    capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired as exc:
            raise ReleaseError(f"the store at {path} took too long to open") from exc
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise ReleaseError(f"the release's store at {path} cannot be opened ({last}); "
                               "run `pledge-lod build` to make a new one")
        return release

    def query_runner(self, limits: QueryLimits) -> Executor:
        """Users' queries run in worker processes that are killed at the time limit."""
        return Executor(limits)

    def _open(self) -> EmbeddedSnapshot:
        link = current_id(self.releases_dir)
        release = read_current(self.releases_dir)
        try:
            store = pyoxigraph.Store.read_only(str(release.store_path))
        except OSError as exc:
            raise ReleaseError(
                f"the release at {release.path} has a damaged store ({exc}); "
                "run `pledge-lod build` to make a new one"
            ) from exc
        self._snapshot = EmbeddedSnapshot(release, store)
        self._link = link
        self._checked = time.monotonic()
        return self._snapshot

    def snapshot(self) -> EmbeddedSnapshot:
        snap = self._snapshot
        now = time.monotonic()
        if snap is not None and now - self._checked < RECHECK_S:
            return snap
        with self._lock:
            self._checked = now
            if self._snapshot is not None and current_id(self.releases_dir) == self._link:
                return self._snapshot
            try:
                return self._open()
            except ReleaseError as exc:
                if self._snapshot is not None:  # keep serving the release we have
                    link = current_id(self.releases_dir)
                    if link != self._refused:  # say so once per bad target, not per check
                        self._refused = link
                        log.error("`current` points at a release that cannot be served "
                                  "(%s); still serving release %s", exc,
                                  self._snapshot.release.id)
                    return self._snapshot
                raise StoreUnavailable(str(exc)) from exc

    def kept_releases(self) -> list[ReleaseInfo]:
        """The release folders on disk (those the build has not pruned), oldest first.
        Manifests are read again only when the folder's list of names changes."""
        try:
            names = tuple(sorted(
                entry.name for entry in self.releases_dir.iterdir()
                if not entry.name.startswith(".") and not entry.is_symlink()
                and (entry / MANIFEST).is_file()
            ))
        except OSError:
            return []
        known_names, known = self._kept
        if names == known_names:
            return known
        found = []
        for name in names:
            try:
                found.append(read_release(self.releases_dir / name))
            except ReleaseError:
                continue  # damaged or half-removed: not a release to travel to
        found.sort(key=lambda info: (info.created, info.id))
        self._kept = (names, found)
        return found

    def pinned(self, release_id: str) -> EmbeddedSnapshot:
        """A kept release's store, opened read-only once and kept in a small LRU (the
        current release is the snapshot the store already has open)."""
        current = self.snapshot()
        if current.release.id == release_id:
            return current
        with self._lock:
            found = self._pinned.get(release_id)
            if found is not None:
                return found
        path = self.releases_dir / release_id
        if "/" in release_id or release_id.startswith(".") or not (path / MANIFEST).is_file():
            raise ReleaseGone(f"release {release_id} is not kept any more")
        try:
            release = read_release(path)
            store = pyoxigraph.Store.read_only(str(release.store_path))
        except (ReleaseError, OSError) as exc:
            raise ReleaseGone(f"release {release_id} cannot be opened any more ({exc})") from exc
        snap = EmbeddedSnapshot(release, store)
        with self._lock:
            self._pinned[release_id] = snap
        return snap

    def close(self) -> None:
        self._snapshot = None
        self._pinned.clear()
