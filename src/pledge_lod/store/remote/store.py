"""The remote backend's store and snapshot: a SPARQL 1.1 store elsewhere (Virtuoso is the
one tested for real).

Which release is current
    is data on the store itself (:mod:`pledge_lod.release.on_store`): the store follows
    the pointer there, and every read names the current release's graphs as its dataset
    (``default-graph-uri``/``named-graph-uri``), so a release being loaded is never seen.

Graph names
    Above this package graphs keep their published names (``{base}/graph/data``), exactly
    as on the embedded backend (ReleaseInfo.graphs, the service description, answers).
    :class:`RemoteSnapshot` translates: ``GRAPH <iri>`` and ``FROM`` in queries
    (:mod:`.rewrite`), the protocol dataset, and graph names in answers.

Time and faults
    Each query carries the store's own time limit and a client-side socket timeout
    (:mod:`.client`). An unreachable, failing or slow store is
    :class:`~..base.StoreUnavailable` (HTTP 503 with Retry-After); nothing sticks, the
    app recovers as soon as the store answers.

Files
    The web layer serves dumps, VoID and the sitemap from the release directory, so app
    servers need a read-only copy of ``{releases_dir}/{id}/`` (without ``store/``); if it
    is missing the data is still served and those files answer 404.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyoxigraph import NamedNode, Triple

from ...config import Settings
from ...release.layout import ReleaseError, ReleaseInfo, read_release
from ...release.on_store import current_release_id, read_manifest
from ..base import (
    Bindings,
    QueryLimits,
    QuerySyntaxError,
    SelectResult,
    StoreUnavailable,
    TimeTravelUnavailable,
)
from .client import QueryClient
from .http import Response, where
from .results import JSON_RESULTS, NTRIPLES, results_of, triples_of
from .rewrite import bind_values, rewrite_graphs, split_dataset

if TYPE_CHECKING:
    from .runner import RemoteRunner

log = logging.getLogger(__name__)

#: An IRI no graph has: keeps a dataset non-empty when a request names no graph of ours
#: (with no graph at all, a store's default dataset is every graph it has).
EMPTY_GRAPH = "urn:pledge-lod:empty"


@dataclass(frozen=True)
class Connection:
    """The part of the settings the remote store reads: where it is, how long to wait,
    and where the local copies of its releases' files are."""

    query_url: str
    timeout_s: float
    releases_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Connection:
        return cls(settings.remote_query_url, settings.remote_timeout_s, settings.releases_dir)


def release_info(releases_dir: Path, manifest: Mapping[str, Any]) -> ReleaseInfo:
    """The ReleaseInfo of a remote release: its files from the local copy of the release
    directory (when there is one); its graphs by their published names, as on the
    embedded backend (:class:`RemoteSnapshot` translates them to the store's)."""
    release_id = str(manifest["id"])
    graphs = {str(k): str(v) for k, v in manifest["published_graphs"].items()}
    local = releases_dir / release_id
    try:
        info = read_release(local, require_store=False)
        if info.id == release_id:
            return replace(info, graphs=graphs)
        log.warning("the release copy at %s is release %s, not %s", local, info.id, release_id)
    except ReleaseError as exc:
        log.warning("no local copy of release %s (%s): its dumps, VoID file and sitemap "
                    "will answer 404", release_id, exc)
    return ReleaseInfo(
        id=release_id,
        path=local,
        base=str(manifest["base"]),
        created=str(manifest["created"]),
        counts=dict(manifest.get("counts", {})),
        files={},
        graphs=graphs,
        dataset=dict(manifest.get("dataset", {})),
    )


class RemoteSnapshot:
    """Read access pinned to one release on the remote store.

    Above this class graphs have their published names (``{base}/graph/data``), as on
    the embedded backend; on the store they are ``{base}/graph/data/{release id}``. The
    snapshot translates both ways: ``GRAPH <iri>`` and ``FROM`` in queries, the
    protocol's dataset (always exactly this release's graphs), and graph names in
    answers. A ``GRAPH`` naming any other graph reads an empty graph that is part of the
    dataset (Virtuoso 7.2 answers a ``GRAPH`` outside the protocol's dataset as if it
    matched once).
    """

    def __init__(self, release: ReleaseInfo, client: QueryClient, remote: Mapping[str, str]):
        self._release = release
        self.client = client
        #: published graph IRI -> the store's graph IRI, and back
        self.to_remote = {release.graphs[name]: iri for name, iri in remote.items()
                          if name in release.graphs}
        self.to_local = {iri: name for name, iri in self.to_remote.items()}
        self.graphs = sorted(self.to_remote.values())
        self.named = [*self.graphs, EMPTY_GRAPH]

    @property
    def release(self) -> ReleaseInfo:
        return self._release

    def graph_for(self, iri: str) -> str:
        """The store's graph for a graph IRI in a query: this release's, or the empty one."""
        if iri in self.to_remote:
            return self.to_remote[iri]
        return iri if iri in self.to_local else EMPTY_GRAPH

    def _local(self, term: Any) -> Any:
        if isinstance(term, NamedNode) and term.value in self.to_local:
            return NamedNode(self.to_local[term.value])
        return term

    def _run(self, query: str, bindings: Bindings | None, accept: str) -> Response:
        try:
            text = rewrite_graphs(bind_values(query, bindings), self.graph_for)
        except ValueError as exc:
            raise QuerySyntaxError(str(exc)) from exc
        return self.client.run(text, accept, self.graphs, self.named)

    def select(self, query: str, bindings: Bindings | None = None) -> SelectResult:
        result = results_of(self._run(query, bindings, JSON_RESULTS))
        if not isinstance(result, SelectResult):
            raise TypeError("not a SELECT query")
        rows = [{k: self._local(v) for k, v in row.items()} for row in result.rows]
        return SelectResult(result.variables, rows)

    def construct(self, query: str, bindings: Bindings | None = None) -> list[Triple]:
        triples = triples_of(self._run(query, bindings, f"{NTRIPLES}, text/plain;q=0.9"))
        return [Triple(self._local(t.subject), t.predicate, self._local(t.object))
                if t.subject.value in self.to_local or t.object.value in self.to_local else t
                for t in triples]

    def ask(self, query: str, bindings: Bindings | None = None) -> bool:
        result = results_of(self._run(query, bindings, JSON_RESULTS))
        if not isinstance(result, bool):
            raise TypeError("not an ASK query")
        return result

    # -- for the SPARQL endpoint's proxy --------------------------------------------------

    def dataset(self, default_graphs: list[str] | None,
                named_graphs: list[str] | None) -> tuple[list[str], list[str]]:
        """The protocol dataset for a user's query: all of this release's graphs when the
        request names none (the union default graph), else those it names that are graphs
        of this release; never a graph outside it (nothing named: an empty graph)."""
        if default_graphs is None and named_graphs is None:
            return self.graphs, self.named

        def pick(asked: list[str] | None) -> list[str]:
            chosen = [g for g in (self.graph_for(a) for a in asked or []) if g != EMPTY_GRAPH]
            return sorted(set(chosen)) or [EMPTY_GRAPH]

        named = pick(named_graphs)
        return pick(default_graphs), named if EMPTY_GRAPH in named else [*named, EMPTY_GRAPH]

    def forward(self, query: str, accept: str, default_graphs: list[str] | None = None,
                named_graphs: list[str] | None = None, timeout_s: float | None = None,
                max_bytes: int | None = None) -> Response:
        """A user's (already guarded) query on this release's dataset: the raw answer,
        with graph names as published.

        The dataset is the request's graphs, else the query's FROM / FROM NAMED (moved
        out of the text into the protocol), else the union of the release's graphs; only
        graphs of this release get through (see :meth:`dataset`). The store is given the
        time limit too. Errors are the store's error classes (QuerySyntaxError,
        RemoteTimeout, StoreUnavailable)."""
        try:
            text, from_default, from_named = split_dataset(query)
            text = rewrite_graphs(text, self.graph_for)
        except ValueError as exc:
            raise QuerySyntaxError(str(exc)) from exc
        if default_graphs is None and named_graphs is None and (from_default or from_named):
            default_graphs, named_graphs = from_default, from_named
        defaults, named = self.dataset(default_graphs, named_graphs)
        response = self.client.run(text, accept, defaults, named, timeout_s=timeout_s,
                                   max_bytes=max_bytes)
        body = response.body
        for remote, local in self.to_local.items():
            body = body.replace(remote.encode(), local.encode())
        return replace(response, body=body)


class RemoteStore:
    """Follows the pointer on the remote store; hands out snapshots of the current release."""

    name = "remote"
    #: Publish keeps a few older releases' graphs for rollback only; this backend reads
    #: the current one, so Memento needs the embedded store (the web answers 501).
    time_travel = False
    #: How often (seconds) to look whether the pointer moved: one tiny query.
    recheck_s = 2.0

    def __init__(self, connection: Connection):
        self.connection = connection
        self.client = QueryClient(connection.query_url, connection.timeout_s)
        self._lock = threading.Lock()
        self._snapshot: RemoteSnapshot | None = None
        self._checked = 0.0
        try:
            self._refresh()  # nothing published: fail at start-up, with a clear message
        except StoreUnavailable as exc:
            # Store down: start anyway (app servers are stateless); requests get 503 until
            # it answers, then the first one picks up the current release.
            log.warning("%s; serving 503 until it answers", exc)

    @classmethod
    def open(cls, settings: Settings) -> RemoteStore:
        return cls(Connection.from_settings(settings))

    @classmethod
    def check(cls, settings: Settings) -> ReleaseInfo:
        """The release the pointer names, asked once with a fresh client."""
        connection = Connection.from_settings(settings)
        client = QueryClient(connection.query_url, connection.timeout_s)
        timeout = min(connection.timeout_s, 5.0)
        release_id = current_release_id(client, timeout_s=timeout)
        if release_id is None:
            raise _nothing_published(client)
        return release_info(connection.releases_dir,
                            read_manifest(client, release_id, timeout_s=timeout))

    def query_runner(self, limits: QueryLimits) -> RemoteRunner:
        """Users' queries are forwarded; the store is given the time limit too."""
        from .runner import RemoteRunner  # it knows this module's snapshot

        return RemoteRunner(limits)

    def _refresh(self) -> RemoteSnapshot:
        timeout = min(self.connection.timeout_s, 5.0)
        release_id = current_release_id(self.client, timeout_s=timeout)
        self._checked = time.monotonic()
        snap = self._snapshot
        if snap is not None and (release_id is None or release_id == snap.release.id):
            if snap.release.files or not (snap.release.path / "manifest.json").is_file():
                return snap  # unchanged, or the pointer is being moved right now
            release_id = snap.release.id  # its files have arrived since: pick them up
        if release_id is None:
            raise _nothing_published(self.client)
        manifest = read_manifest(self.client, release_id, timeout_s=timeout)
        self._snapshot = RemoteSnapshot(release_info(self.connection.releases_dir, manifest),
                                        self.client, manifest["graphs"])
        log.info("serving release %s from %s", release_id, where(self.client.url))
        return self._snapshot

    def snapshot(self) -> RemoteSnapshot:
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked < self.recheck_s:
            return snap
        if not self._lock.acquire(blocking=snap is None):
            assert snap is not None
            return snap  # another thread is looking; serve what we have meanwhile
        try:
            if self._snapshot is not None and time.monotonic() - self._checked < self.recheck_s:
                return self._snapshot
            try:
                return self._refresh()
            except StoreUnavailable:
                self._checked = time.monotonic()
                if self._snapshot is None:
                    raise
                return self._snapshot  # its queries will say whether the store is back
            except ReleaseError as exc:
                self._checked = time.monotonic()
                if self._snapshot is None:
                    raise StoreUnavailable(str(exc), retry_after=30) from exc
                return self._snapshot
        finally:
            self._lock.release()

    def kept_releases(self) -> list[ReleaseInfo]:
        raise TimeTravelUnavailable(_NO_TIME_TRAVEL)

    def pinned(self, release_id: str) -> RemoteSnapshot:
        raise TimeTravelUnavailable(_NO_TIME_TRAVEL)

    def close(self) -> None:
        self._snapshot = None


_NO_TIME_TRAVEL = ("time travel (Memento) needs the embedded store: the remote backend "
                   "serves only the current release")


def _nothing_published(client: QueryClient) -> ReleaseError:
    return ReleaseError(f"nothing is published on the SPARQL store at {where(client.url)}: "
                        "run `pledge-lod publish --to URL` first")
