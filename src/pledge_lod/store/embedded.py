"""The embedded backend: the release's on-disk Oxigraph store, opened read-only.

Every worker process opens the store read-only (no worker loads the dataset into
memory; RocksDB pages it in as needed), and follows ``current``: when a new release is
switched in, the next snapshot opens it, while requests already running finish on the
old one.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pyoxigraph
from pyoxigraph import QueryBoolean, QuerySolutions, Variable

from ..sparql.syntax import explain
from .base import Bindings, QuerySyntaxError, SelectResult, StoreUnavailable
from .layout import ReleaseError, ReleaseInfo, current_id, read_current

log = logging.getLogger(__name__)

#: How often (seconds) to look whether ``current`` moved; a readlink is cheap.
RECHECK_S = 0.5


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
            raise QuerySyntaxError(explain(query, str(exc))) from exc

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

    def __init__(self, releases_dir: Path):
        self.releases_dir = releases_dir
        self._lock = threading.Lock()
        self._snapshot: EmbeddedSnapshot | None = None
        self._link: str | None = None
        self._checked = 0.0
        self._refused: str | None = None  # the `current` target last found unservable
        self._open()  # fail at start-up, with a clear message, if there is no release

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

    def close(self) -> None:
        self._snapshot = None
