"""Where the server's data comes from: one interface (:mod:`.base`), several backends
chosen by name from a registry (:mod:`.registry`)."""

from __future__ import annotations

from ..release.layout import ReleaseError, ReleaseInfo
from .base import (
    Answer,
    Busy,
    NotAcceptable,
    QueryFailed,
    QueryLimits,
    QueryRunner,
    QuerySyntaxError,
    QueryTimeout,
    ReleaseGone,
    ResultTooLarge,
    SelectResult,
    Snapshot,
    Store,
    StoreError,
    StoreUnavailable,
    TimeTravelUnavailable,
    UserQuery,
)
from .registry import UnknownBackend, check_store, open_store, register

__all__ = [
    "Answer",
    "Busy",
    "NotAcceptable",
    "QueryFailed",
    "QueryLimits",
    "QueryRunner",
    "QuerySyntaxError",
    "QueryTimeout",
    "ReleaseError",
    "ReleaseGone",
    "ReleaseInfo",
    "ResultTooLarge",
    "SelectResult",
    "Snapshot",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TimeTravelUnavailable",
    "UnknownBackend",
    "UserQuery",
    "check_store",
    "open_store",
    "register",
]
