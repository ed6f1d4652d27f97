"""Building a release: the pipeline, its workers, cache, store loading, dumps, VoID.

``build`` writes a new release and makes it current; ``check`` runs everything a build
checks and writes nothing. Both take :class:`BuildInputs`, the part of the settings a
build uses.

The names below are imported when first used, not with the package: a build's child
processes (:mod:`.child`) import only the step they run (the store loader needs
pyoxigraph, not the SHACL compiler and rdflib the pipeline imports, a second or two).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .child import BackgroundError
    from .pipeline import BuildInputs, BuildResult, check
    from .progress import stderr_progress
    from .run import build

_HOMES = {
    "BackgroundError": ".child",
    "BuildInputs": ".pipeline",
    "BuildResult": ".pipeline",
    "check": ".pipeline",
    "stderr_progress": ".progress",
    "build": ".run",
}

__all__ = ["BackgroundError", "BuildInputs", "BuildResult", "build", "check", "stderr_progress"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name], __name__), name)
