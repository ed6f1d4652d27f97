"""The remote backend: a SPARQL 1.1 store elsewhere, in parts along its seams.

- :mod:`.http`: HTTP for writing (updates, uploads), with the library's Digest
  authentication, and the store's error classes for transport failures;
- :mod:`.client`: read queries by the SPARQL Protocol, with a short fail-fast window;
- :mod:`.rewrite`: values bound as VALUES, FROM moved into the dataset, graph names;
- :mod:`.results`: answers as pyoxigraph terms;
- :mod:`.store`: the store that follows the pointer, and its snapshots;
- :mod:`.runner`: users' queries at the endpoint, forwarded under its limits.

The format these read (control graph, pointer, graph names) is the release's, in
:mod:`pledge_lod.release.on_store`.
"""

from __future__ import annotations

from .client import QueryClient
from .http import HttpClient, RemoteRefused, RemoteTimeout, Response
from .results import parse_json_results, term_from_json
from .rewrite import bind_values, rewrite_graphs, split_dataset, where_start
from .runner import RemoteRunner
from .store import Connection, RemoteSnapshot, RemoteStore

__all__ = [
    "Connection",
    "HttpClient",
    "QueryClient",
    "RemoteRefused",
    "RemoteRunner",
    "RemoteSnapshot",
    "RemoteStore",
    "RemoteTimeout",
    "Response",
    "bind_values",
    "parse_json_results",
    "rewrite_graphs",
    "split_dataset",
    "term_from_json",
    "where_start",
]
