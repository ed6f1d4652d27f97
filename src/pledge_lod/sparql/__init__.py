"""The SPARQL 1.1 Protocol endpoint: ``/sparql`` (and ``/sparql/``).

``create_blueprint`` is the one entry point the web app uses; the Flask views are
imported lazily. Queries run through the store's query runner (:mod:`pledge_lod.store`):
this package states the limits and the per-client bound, the backend enforces them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint

    from ..config import Settings
    from ..store import Store


def create_blueprint(settings: Settings, store: Store) -> Blueprint:
    """The endpoint's blueprint, bound to ``settings`` and ``store``; register it at the root."""
    from .endpoint import build_blueprint

    return build_blueprint(settings, store)


__all__ = ["create_blueprint"]
