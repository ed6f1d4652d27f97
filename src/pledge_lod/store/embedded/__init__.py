"""The embedded backend: the release's own Oxigraph store (:mod:`.store`), and the worker
processes that run users' queries under limits (:mod:`.executor`, :mod:`.query_process`).

The names are loaded on first use: a query worker (``python -m
pledge_lod.store.embedded.query_process``) imports this package first, and should not pay
for the store and the pool it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import RECHECK_S, EmbeddedSnapshot, EmbeddedStore

__all__ = ["RECHECK_S", "EmbeddedSnapshot", "EmbeddedStore"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
