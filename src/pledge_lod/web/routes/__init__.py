"""The routes: dereferencing, documents, listings, feeds and the dataset's self-description,
one module per kind of resource, all on one blueprint (:data:`.common.bp`).

=================================  =====================================================
``/``                               home page (RDF: the dataset description)
``/id/{kind}/{slug}``               a thing: 303 See Other to its document
``/doc/{kind}/{slug}[.ext]``        the document about it (conneg, or fixed by .ext)
``/pledges``, ``/{facet}/{slug}``   paged listings (:mod:`.paged`), ``.atom`` feeds
``/def/pledge[.ext]``               the ontology (and ``/def/pledge/{version}``)
``/def/shapes[.ext]``               the SHACL shapes
``/.well-known/void[.ext]``         VoID and DCAT
``/context.jsonld``                 the JSON-LD context documents refer to
``/dumps/{file}``                   the release's dumps, exactly the files it lists
``/sitemap.xml``, ``/sitemaps/..``  the release's sitemap (index)
``/robots.txt``                     with the Sitemap line
``/graph/{name}``                   a named graph's IRI: 303 to what describes it
``/timegate/{path}``                Memento TimeGate of a document or dump (:mod:`.memento`)
``/memento/{datetime}/{path}``      a memento: the document or dump of an earlier release
``/timemap/{path}``                 the TimeMap of a document or dump (link format)
``/changes[.atom]``, ``/changes/..``  the release history, its Atom feed and LDES
``/releases/{n}[/...]``             a version (DCAT), its dump and its changeset
=================================  =====================================================

Extensions: ``.html``, ``.ttl``, ``.jsonld``, ``.nt``, ``.rdf`` (and ``.atom`` on listings).
"""

from __future__ import annotations

from ..listings import FACETS
from . import changes, definitions, files, memento, paged, things  # noqa: F401  (add routes)
from .common import bp

#: First path segments of the routes whose answers are pure functions of the release,
#: path, query and Accept (plus the conditional headers, through
#: :func:`pledge_lod.web.http.represent`): :mod:`pledge_lod.web.caches.responses` replays
#: them. Not the SPARQL endpoint, files or static assets.
#: A route added here must read nothing else of the request. A memento's body is
#: immutable (its Link header names the mementos kept when it was first asked for); not
#: the TimeGate, which reads Accept-Datetime, nor the TimeMap, which lists them all.
CACHEABLE_ROOTS: frozenset[str] = frozenset(
    {"", "id", "doc", "pledges", "def", ".well-known", "context.jsonld", "robots.txt", "graph",
     "memento"}
    | set(FACETS)
)

__all__ = ["CACHEABLE_ROOTS", "bp"]
