"""``pledge-lod publish``: push a release to an external SPARQL store, then switch to it.

Steps (see :mod:`pledge_lod.release.on_store` for the control graph they maintain):

1. Read where the store stands: which release is current, which are kept.
2. Same release already current: nothing to do (running publish twice is harmless).
3. Describe the release in the control graph with status ``loading``, then load each of
   its graphs (read from the release's embedded store) into a NEW named graph
   ``{graph}/{release id}`` through the SPARQL 1.1 Graph Store HTTP Protocol, in chunks
   of N-Triples (triples sharing a blank node always travel in the same chunk).
   A release already loaded and verified on the store (one kept for rollback) is not
   loaded again.
4. Count every graph on the store; any difference stops here, with nothing switched.
5. Mark the release ``complete`` and move the pointer in ONE SPARQL update: readers see
   the old release or the new one, never a half-loaded one.
6. Keep the previous release (``--keep N``: the N most recent besides the current one)
   for ``pledge-lod publish --rollback``; drop the graphs of older ones.

One publisher at a time: two concurrent publishes to the same store are not coordinated.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple

from .config import Settings
from .release import layout
from .release.on_store import (
    CONTROL_GRAPH,
    CTL,
    POINTER,
    XSD,
    current_release_id,
    physical_graph,
    release_node,
)
from .store.base import StoreError
from .store.remote import HttpClient, QueryClient

Progress = Callable[[str], None]
DEFAULT_CHUNK = 50_000
DEFAULT_TIMEOUT_S = 300.0


class PublishError(Exception):
    """Publishing stopped; the message says why and what to do. Nothing was switched."""


@dataclass(frozen=True)
class Target:
    """Where to publish: the store's query, update and Graph Store Protocol URLs."""

    query_url: str
    update_url: str
    gsp_url: str
    user: str = ""
    password: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def resolve(cls, settings: Settings, to: str | None = None, user: str | None = None,
                password: str | None = None, update_url: str | None = None,
                gsp_url: str | None = None, timeout_s: float | None = None) -> Target:
        """URLs from the options, else the settings, else derived from the query URL:
        Virtuoso's ``/sparql`` gives ``/sparql-auth`` and ``/sparql-graph-crud-auth`` (the
        authenticated ones); any other URL is taken to serve all three (Fuseki's dataset
        URL does)."""
        query = to or settings.remote_query_url
        if not query:
            raise PublishError("say where to publish: --to URL (the store's SPARQL query URL)"
                               " or PLEDGE_LOD_REMOTE_QUERY_URL")
        user = user if user is not None else settings.remote_user
        password = password if password is not None else settings.remote_password
        parts = urllib.parse.urlsplit(query)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PublishError(f"--to {query!r} is not an http(s) URL")
        path = parts.path.rstrip("/")
        if path.endswith("/sparql"):
            root = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path[: -len("sparql")],
                                            "", ""))
            auth = "-auth" if user else ""
            derived_update = query.rstrip("/") + auth
            derived_gsp = root + "sparql-graph-crud" + auth
        else:
            derived_update = derived_gsp = query
        return cls(
            query_url=query,
            update_url=update_url or settings.remote_update_url or derived_update,
            gsp_url=gsp_url or settings.remote_gsp_url or derived_gsp,
            user=user,
            password=password,
            timeout_s=timeout_s or DEFAULT_TIMEOUT_S,
        )


@dataclass
class RemoteRelease:
    id: str
    status: str = ""
    published: str = ""
    graphs: set[str] = field(default_factory=set)
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass
class StoreState:
    current: str | None
    previous: str | None
    releases: dict[str, RemoteRelease]


@dataclass
class PublishResult:
    release: str
    action: str  # "published", "already current", "switched", "rolled back"
    previous: str | None = None
    dropped: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _lit(value: str) -> str:
    return str(Literal(value))


class Publisher:
    """Talks to one store: reads its state, loads graphs, switches the pointer."""

    def __init__(self, target: Target, progress: Progress = lambda _m: None,
                 chunk: int = DEFAULT_CHUNK):
        self.target = target
        self.progress = progress
        self.chunk = max(1, chunk)
        self.query = QueryClient(target.query_url, target.timeout_s)
        self.http = HttpClient(target.user, target.password, target.timeout_s)

    # -- low level ----------------------------------------------------------------------

    def update(self, text: str) -> None:
        body = urllib.parse.urlencode({"update": text}).encode("utf-8")
        resp = self.http.request("POST", self.target.update_url, body, {
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"})
        if not 200 <= resp.status < 300:
            raise PublishError(
                f"the store refused an update at {self.target.update_url} "
                f"({resp.status}: {_short(resp.body)})" + _auth_hint(resp.status, self.target))

    def upload(self, graph: str, data: bytes) -> None:
        sep = "&" if "?" in self.target.gsp_url else "?"
        url = f"{self.target.gsp_url}{sep}{urllib.parse.urlencode({'graph': graph})}"
        resp = self.http.request("POST", url, data, {
            "Content-Type": "application/n-triples; charset=utf-8", "Accept": "*/*"})
        if not 200 <= resp.status < 300:
            raise PublishError(
                f"the store refused to load graph <{graph}> through {self.target.gsp_url} "
                f"({resp.status}: {_short(resp.body)})" + _auth_hint(resp.status, self.target))

    def count(self, graph: str) -> int:
        rows = self.query.select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}").rows
        return int(rows[0]["n"].value) if rows and "n" in rows[0] else 0

    # -- the control graph ----------------------------------------------------------------

    def state(self) -> StoreState:
        """The whole control graph (a few triples per release), read in one simple query."""
        rows = self.query.select(
            f"SELECT ?s ?p ?o WHERE {{ GRAPH <{CONTROL_GRAPH}> {{ ?s ?p ?o }} }}").rows
        props: dict[str, dict[str, list[str]]] = {}
        for row in rows:
            if {"s", "p", "o"} <= row.keys():
                by_p = props.setdefault(row["s"].value, {})
                by_p.setdefault(row["p"].value.removeprefix(CTL), []).append(row["o"].value)
        ids = {node: values["id"][0] for node, values in props.items() if values.get("id")}
        releases: dict[str, RemoteRelease] = {}
        for node, rid in ids.items():
            values = props[node]
            rel = releases[rid] = RemoteRelease(rid)
            rel.status = (values.get("status") or [""])[0]
            rel.published = (values.get("publishedAt") or [""])[0]
            rel.graphs = set(values.get("graph", []))
            try:
                rel.manifest = json.loads((values.get("manifest") or ["{}"])[0])
            except ValueError:
                rel.manifest = {}
        pointer = props.get(POINTER, {})
        previous = [ids[n] for n in pointer.get("previous", []) if n in ids]
        return StoreState(current_release_id(self.query),
                          previous[0] if len(previous) == 1 else None, releases)

    def describe(self, release_id: str, graphs: list[str], manifest: dict[str, Any]) -> None:
        node = release_node(release_id)
        triples = [
            f"<{node}> <{CTL}id> {_lit(release_id)}",
            f"<{node}> <{CTL}status> \"loading\"",
            f"<{node}> <{CTL}publishedAt> \"{_now()}\"^^<{XSD}dateTime>",
            f"<{node}> <{CTL}manifest> {_lit(json.dumps(manifest, sort_keys=True))}",
            *(f"<{node}> <{CTL}graph> {NamedNode(g)}" for g in graphs),
        ]
        self.update(f"INSERT DATA {{ GRAPH <{CONTROL_GRAPH}> {{\n"
                    + " .\n".join(triples) + " .\n} }")

    def mark_complete(self, release_id: str) -> None:
        node = release_node(release_id)
        self.update(
            f"DELETE {{ GRAPH <{CONTROL_GRAPH}> {{ <{node}> <{CTL}status> ?s }} }}\n"
            f"INSERT {{ GRAPH <{CONTROL_GRAPH}> {{ <{node}> <{CTL}status> \"complete\" }} }}\n"
            f"WHERE {{ GRAPH <{CONTROL_GRAPH}> {{ <{node}> <{CTL}status> ?s }} }}")

    def switch(self, release_id: str) -> None:
        """THE switch: one update moves the pointer (and remembers the release it leaves
        as the previous one), and only to a release marked complete."""
        node = release_node(release_id)
        g = CONTROL_GRAPH
        self.update(
            f"DELETE {{ GRAPH <{g}> {{ <{POINTER}> <{CTL}release> ?cur . "
            f"<{POINTER}> <{CTL}previous> ?prev }} }}\n"
            f"INSERT {{ GRAPH <{g}> {{ <{POINTER}> <{CTL}release> <{node}> . "
            f"<{POINTER}> <{CTL}previous> ?cur }} }}\n"
            f"WHERE {{ GRAPH <{g}> {{ <{node}> <{CTL}status> \"complete\" }}\n"
            f"  OPTIONAL {{ GRAPH <{g}> {{ <{POINTER}> <{CTL}release> ?cur }} }}\n"
            f"  OPTIONAL {{ GRAPH <{g}> {{ <{POINTER}> <{CTL}previous> ?prev }} }} }}")
        now = current_release_id(self.query)
        if now != release_id:
            raise PublishError(f"the switch to release {release_id} did not take: the store "
                               f"says {now or 'nothing'} is current")

    def forget(self, rel: RemoteRelease) -> None:
        """Remove a release: its description first (so nothing points at it), then its
        graphs."""
        node = release_node(rel.id)
        self.update(f"DELETE WHERE {{ GRAPH <{CONTROL_GRAPH}> {{ <{POINTER}> <{CTL}previous> "
                    f"<{node}> }} }}")
        self.update(f"DELETE WHERE {{ GRAPH <{CONTROL_GRAPH}> {{ <{node}> ?p ?o }} }}")
        for graph in sorted(rel.graphs):
            self.update(f"DROP SILENT GRAPH {NamedNode(graph)}")

    def verified(self, rel: RemoteRelease) -> bool:
        """Whether every graph of a loaded release still has the triples it was loaded with."""
        expected = rel.manifest.get("remote_triples") or {}
        graphs = rel.manifest.get("graphs") or {}
        if rel.status != "complete" or not expected or set(expected) != set(graphs):
            return False
        return all(self.count(graphs[name]) == int(n) for name, n in expected.items())

    # -- loading --------------------------------------------------------------------------

    def load_graph(self, store: pyoxigraph.Store, logical: str, target: str) -> int:
        """Load one graph of the release into ``target``; the number of triples sent."""
        self.update(f"DROP SILENT GRAPH {NamedNode(target)}")
        sent = 0
        for batch in chunks(store, logical, self.chunk):
            self.upload(target, pyoxigraph.serialize(batch, format=RdfFormat.N_TRIPLES))
            sent += len(batch)
            self.progress(f"  <{target}>: {sent} triples sent")
        return sent

    # -- the commands -----------------------------------------------------------------------

    def publish(self, release: layout.ReleaseInfo, keep: int = 1) -> PublishResult:
        rid = release.id
        release_node(rid)
        state = self.state()
        if state.current == rid:
            self.progress(f"release {rid} is already current on {self.target.query_url}; "
                          "nothing to do")
            return PublishResult(rid, "already current", state.previous)
        existing = state.releases.get(rid)
        if existing is not None and self.verified(existing):
            self.progress(f"release {rid} is already loaded and verified; switching to it")
            action = "switched"
        else:
            if existing is not None:
                self.progress(f"release {rid} was partly loaded before; loading it again")
                self.forget(existing)
            self._load(release)
            action = "published"
        self.switch(rid)
        self.progress(f"release {rid} is now current on {self.target.query_url}")
        dropped = self.prune(keep)
        return PublishResult(rid, action, state.current, dropped)

    def _load(self, release: layout.ReleaseInfo) -> None:
        rid = release.id
        if not release.store_path.is_dir():
            raise PublishError(f"the release at {release.path} has no store/ to publish from; "
                               "publish from the machine that built it")
        names = sorted(release.graphs)
        targets = {name: physical_graph(release.graphs[name], rid) for name in names}
        manifest = _manifest(release.path)
        manifest["graphs"] = targets
        manifest["published_graphs"] = dict(release.graphs)
        store = pyoxigraph.Store.read_only(str(release.store_path))
        expected = {name: _graph_size(store, release.graphs[name]) for name in names}
        manifest["remote_triples"] = expected
        self.describe(rid, sorted(targets.values()), manifest)
        self.progress(f"loading release {rid} into {len(names)} new graphs")
        for name in names:
            sent = self.load_graph(store, release.graphs[name], targets[name])
            if sent != expected[name]:  # pragma: no cover - the store changed under us
                raise PublishError(f"graph {name}: read {sent} triples, expected {expected[name]}")
        bad = []
        for name in names:
            found = self.count(targets[name])
            if found != expected[name]:
                bad.append(f"{name}: {found} triples on the store, {expected[name]} sent")
        if bad:
            raise PublishError(
                f"release {rid} did not arrive whole ({'; '.join(bad)}); nothing was switched."
                " Run publish again; if it persists, the store changes some terms on load")
        self.progress(f"release {rid}: all {sum(expected.values())} triples verified")
        self.mark_complete(rid)

    def prune(self, keep: int) -> list[str]:
        """Keep the current release and the ``keep`` most recent others (the previous one
        first); forget the rest, including loads that never completed."""
        state = self.state()
        others = [r for r in state.releases.values() if r.id != state.current]
        complete = [r for r in others if r.status == "complete"]
        complete.sort(key=lambda r: (r.id != state.previous, _neg(r.published)))
        kept = {r.id for r in complete[: max(0, keep)]}
        dropped = []
        for rel in others:
            if rel.id not in kept:
                self.forget(rel)
                dropped.append(rel.id)
                self.progress(f"dropped release {rel.id}")
        return dropped

    def rollback(self) -> PublishResult:
        state = self.state()
        prev = state.previous
        if prev is None or prev not in state.releases:
            raise PublishError(f"there is no previous release on {self.target.query_url} to "
                               "roll back to")
        if not self.verified(state.releases[prev]):
            raise PublishError(f"the previous release {prev} is no longer whole on the store; "
                               "publish a release instead")
        self.switch(prev)
        self.progress(f"rolled back: release {prev} is current again (was {state.current})")
        return PublishResult(prev, "rolled back", state.current)


def _neg(text: str) -> str:
    """Sort key: most recent first for ISO timestamps."""
    return "".join(chr(0x10FFFF - ord(c)) for c in text)


def _manifest(path: Path) -> dict[str, Any]:
    data = json.loads((path / layout.MANIFEST).read_text(encoding="utf-8"))
    keep = ("format", "id", "base", "created", "generator", "counts", "dataset", "sitemaps")
    return {k: data[k] for k in keep if k in data}


def _graph_size(store: pyoxigraph.Store, graph: str) -> int:
    return sum(1 for _ in store.quads_for_pattern(None, None, None, NamedNode(graph)))


def chunks(store: pyoxigraph.Store, graph: str, size: int) -> Iterator[list[Triple]]:
    """The triples of one graph in chunks of about ``size``. Triples without blank nodes
    stream; triples with blank nodes are grouped by connected blank nodes, and a group is
    never split (a blank node label only means the same node within one upload)."""
    batch: list[Triple] = []
    with_bnodes: list[Triple] = []
    for quad in store.quads_for_pattern(None, None, None, NamedNode(graph)):
        t = quad.triple
        if isinstance(t.subject, BlankNode) or isinstance(t.object, BlankNode):
            with_bnodes.append(t)
            continue
        batch.append(t)
        if len(batch) >= size:
            yield batch
            batch = []
    for group in bnode_groups(with_bnodes):
        if batch and len(batch) + len(group) > size:
            yield batch
            batch = []
        batch.extend(group)
    if batch:
        yield batch


def bnode_groups(triples: list[Triple]) -> list[list[Triple]]:
    """Triples grouped so that all triples sharing a blank node (transitively) are together."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def nodes(t: Triple) -> list[str]:
        return [term.value for term in (t.subject, t.object) if isinstance(term, BlankNode)]

    for t in triples:
        ids = nodes(t)
        for other in ids[1:]:
            a, b = find(ids[0]), find(other)
            if a != b:
                parent[a] = b
    groups: dict[str, list[Triple]] = {}
    for t in triples:
        groups.setdefault(find(nodes(t)[0]), []).append(t)
    return list(groups.values())


def _short(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text.split(" SPARQL query:", 1)[0][:300] or "no message"


def _auth_hint(status: int, target: Target) -> str:
    if status in (401, 403):
        who = f"user {target.user!r}" if target.user else "no user (give --user/--password)"
        return f"; the store did not accept {who} for writing"
    return ""


def release_to_publish(settings: Settings, release_dir: Path | None) -> layout.ReleaseInfo:
    """The release at ``release_dir`` (a release, or a releases folder: its current one)."""
    if release_dir is None:
        return layout.read_current(settings.releases_dir)
    if (release_dir / layout.MANIFEST).is_file():
        return layout.read_release(release_dir)
    return layout.read_current(release_dir)


def stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(settings: Settings, target: Target, *, release_dir: Path | None = None, keep: int = 1,
        rollback: bool = False, chunk: int = DEFAULT_CHUNK,
        progress: Progress = stderr) -> PublishResult:
    """Publish (or roll back); raises PublishError, StoreError or ReleaseError."""
    publisher = Publisher(target, progress, chunk)
    if rollback:
        return publisher.rollback()
    release = release_to_publish(settings, release_dir)
    return publisher.publish(release, keep)


__all__ = ["PublishError", "PublishResult", "Publisher", "StoreError", "Target", "run"]
