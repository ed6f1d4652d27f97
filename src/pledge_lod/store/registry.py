"""Backends by name, as rdflib registers its store plugins.

A backend is registered as a module path and a class name, and imported only when it is
opened: a server that reads the embedded store never imports the remote client's
libraries, and a new backend is one ``register`` call, with nothing above this package
changed.
"""

from __future__ import annotations

import importlib
from typing import cast

from ..config import Settings
from ..release.layout import ReleaseInfo
from .base import Backend, Store

_BACKENDS: dict[str, tuple[str, str]] = {}


class UnknownBackend(ValueError):
    """The settings name a backend that is not registered; the message lists those that are."""


def register(name: str, module_path: str, class_name: str) -> None:
    """Make ``module_path.class_name`` (a :class:`~.base.Backend`) the backend ``name``."""
    _BACKENDS[name] = (module_path, class_name)


def names() -> list[str]:
    return sorted(_BACKENDS)


def backend(name: str) -> Backend:
    """The class registered as ``name``; UnknownBackend if there is none."""
    try:
        module_path, class_name = _BACKENDS[name]
    except KeyError:
        raise UnknownBackend(f"no store backend is named {name!r}; the registered ones are "
                             f"{', '.join(names())} (set PLEDGE_LOD_BACKEND)") from None
    return cast(Backend, getattr(importlib.import_module(module_path), class_name))


def open_store(settings: Settings) -> Store:
    """The backend the settings name, open. Raises ReleaseError if there is nothing to
    serve, UnknownBackend if no such backend is registered."""
    return backend(settings.backend).open(settings)


def check_store(settings: Settings) -> ReleaseInfo:
    """What a server started with ``settings`` would serve: see Backend.check."""
    return backend(settings.backend).check(settings)


register("oxigraph", "pledge_lod.store.embedded", "EmbeddedStore")
register("remote", "pledge_lod.store.remote", "RemoteStore")
