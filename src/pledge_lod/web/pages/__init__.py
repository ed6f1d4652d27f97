"""Page models for the HTML pages, one module per kind of page: turn triples into
labelled rows and links that the templates only lay out (:mod:`.common` decides where
every link goes)."""

from .listing import listing_view
from .resource import resource_view
from .vocabulary import graph_meta, ontology_view, shapes_view
from .void import void_view

__all__ = [
    "graph_meta",
    "listing_view",
    "ontology_view",
    "resource_view",
    "shapes_view",
    "void_view",
]
