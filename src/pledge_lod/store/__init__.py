"""Where the server's data comes from: one interface (:mod:`.base`), several backends."""

from __future__ import annotations

from ..config import Settings
from ..release.layout import ReleaseError, ReleaseInfo
from .base import (
    QuerySyntaxError,
    QueryTimeout,
    SelectResult,
    Snapshot,
    Store,
    StoreError,
    StoreUnavailable,
)


def open_store(settings: Settings) -> Store:
    """The backend the settings name. Raises ReleaseError if there is nothing to serve."""
    if settings.backend == "oxigraph":
        from .embedded import EmbeddedStore

        return EmbeddedStore(settings.releases_dir)
    if settings.backend == "remote":
        from .remote import RemoteStore

        return RemoteStore(settings)
    raise ValueError(f"backend {settings.backend!r} is not 'oxigraph' or 'remote'")


__all__ = [
    "QuerySyntaxError",
    "QueryTimeout",
    "ReleaseError",
    "ReleaseInfo",
    "SelectResult",
    "Snapshot",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "open_store",
]
