"""The release on a remote store: the format that publish writes and the remote backend
reads, so neither owns it (the release's on-disk format is :mod:`.layout`).

Which release is current is data on the store itself: the control graph
``<urn:pledge-lod:current>`` holds one description per published release (its id,
status, graphs and manifest) and ONE pointer triple
``<urn:pledge-lod:current> ctl:release <urn:pledge-lod:release:ID>``. A release's graphs
are new named graphs, ``{graph}/{release id}`` (:func:`physical_graph`); ``pledge-lod
publish`` loads and verifies them, and only then moves the pointer with one SPARQL
update, so a reader that follows the pointer never sees a release being loaded.

The readers here take any client with a ``select(query, timeout_s=...)`` that answers
rows of pyoxigraph terms (the remote store's query client is one): this module holds
the format, not a way of talking to a store.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from .layout import ReleaseError

CONTROL_GRAPH = "urn:pledge-lod:current"
POINTER = "urn:pledge-lod:current"
CTL = "urn:pledge-lod:def#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RELEASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class _Rows(Protocol):
    @property
    def rows(self) -> list[dict[str, Any]]: ...


class SelectClient(Protocol):
    """What the readers need of a client: one SELECT, answered as rows of terms."""

    def select(self, query: str, *, timeout_s: float | None = None) -> _Rows: ...


def release_node(release_id: str) -> str:
    """The node that describes a release in the control graph; ValueError for a bad id."""
    if not RELEASE_ID.match(release_id):
        raise ValueError(f"not a release id: {release_id!r}")
    return f"urn:pledge-lod:release:{release_id}"


def physical_graph(logical: str, release_id: str) -> str:
    """The named graph that holds ``logical`` for one release on the remote store."""
    release_node(release_id)  # validates the id
    return f"{logical.rstrip('/')}/{release_id}"


POINTER_QUERY = (
    f"SELECT ?id WHERE {{ GRAPH <{CONTROL_GRAPH}> {{\n"
    f"  <{POINTER}> <{CTL}release> ?r . ?r <{CTL}id> ?id ; <{CTL}status> \"complete\" }} }}"
)


def manifest_query(release_id: str) -> str:
    node = release_node(release_id)
    return (f"SELECT ?manifest WHERE {{ GRAPH <{CONTROL_GRAPH}> {{\n"
            f"  <{node}> <{CTL}manifest> ?manifest }} }}")


def current_release_id(client: SelectClient, timeout_s: float | None = None) -> str | None:
    """The id the pointer names, or None when nothing is published (or it is ambiguous)."""
    rows = client.select(POINTER_QUERY, timeout_s=timeout_s).rows
    ids = {row["id"].value for row in rows if "id" in row}
    if len(ids) != 1:
        return None
    (found,) = ids
    return found if RELEASE_ID.match(found) else None


def read_manifest(client: SelectClient, release_id: str,
                  timeout_s: float | None = None) -> dict[str, Any]:
    rows = client.select(manifest_query(release_id), timeout_s=timeout_s).rows
    if len(rows) != 1 or "manifest" not in rows[0]:
        raise ReleaseError(f"release {release_id} has no description on the store")
    try:
        manifest = json.loads(rows[0]["manifest"].value)
    except ValueError as exc:
        raise ReleaseError(f"release {release_id} has a damaged description ({exc})") from exc
    graphs, published = manifest.get("graphs"), manifest.get("published_graphs")
    if (manifest.get("id") != release_id or not isinstance(graphs, dict)
            or not isinstance(published, dict) or set(graphs) != set(published)):
        raise ReleaseError(f"release {release_id} has a damaged description on the store")
    return manifest
