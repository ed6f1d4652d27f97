"""The published JSON-LD ``@context`` (served at ``/context.jsonld``).

Documents reference it by URL instead of inlining it, so that a client caches one context
and the JSON stays short. It is *stable*: terms are only ever added, never renamed or
re-typed, because every JSON-LD document published with it depends on their meaning.
Its prefixes for the project's own namespaces follow the release's base.

Only terms whose values always have the same kind get a type coercion (``@id`` for links,
a datatype where the data always uses one); mixed-datatype properties such as
schema:startDate (xsd:gYear or xsd:date) keep their explicit ``@type`` per value.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from ..rdf import vocab as v

HYDRA = v.HYDRA
SH = v.SH

# term: (IRI, coercion) - coercion None (as written), "@id" (a link), or a datatype IRI.
_TERMS: dict[str, tuple[str, str | None]] = {
    # RDF/RDFS/OWL
    "label": (v.RDFS + "label", None),
    "comment": (v.RDFS + "comment", None),
    "seeAlso": (v.RDFS + "seeAlso", "@id"),
    "isDefinedBy": (v.RDFS + "isDefinedBy", "@id"),
    "subClassOf": (v.RDFS + "subClassOf", "@id"),
    "subPropertyOf": (v.RDFS + "subPropertyOf", "@id"),
    "domain": (v.RDFS + "domain", "@id"),
    "range": (v.RDFS + "range", "@id"),
    "sameAs": (v.OWL + "sameAs", "@id"),
    # Dublin Core terms
    "title": (v.DCTERMS + "title", None),
    "abstract": (v.DCTERMS + "abstract", None),
    "description": (v.DCTERMS + "description", None),
    "kind": (v.DCTERMS + "type", "@id"),
    "spatial": (v.DCTERMS + "spatial", "@id"),
    "source": (v.DCTERMS + "source", "@id"),
    "subject": (v.DCTERMS + "subject", "@id"),
    "issued": (v.DCTERMS + "issued", v.XSD + "date"),
    "modified": (v.DCTERMS + "modified", v.XSD + "dateTime"),
    "isPartOf": (v.DCTERMS + "isPartOf", "@id"),
    "license": (v.DCTERMS + "license", "@id"),
    # schema.org
    "name": (v.SCHEMA + "name", None),
    "alternateName": (v.SCHEMA + "alternateName", None),
    "startDate": (v.SCHEMA + "startDate", None),
    "endDate": (v.SCHEMA + "endDate", None),
    "areaServed": (v.SCHEMA + "areaServed", "@id"),
    "funder": (v.SCHEMA + "funder", "@id"),
    # FOAF, PROV
    "honorific": (v.FOAF + "title", None),
    "homepage": (v.FOAF + "homepage", "@id"),
    "primaryTopic": (v.FOAF + "primaryTopic", "@id"),
    "wasAssociatedWith": (v.PROV + "wasAssociatedWith", "@id"),
    # SKOS
    "prefLabel": (v.SKOS + "prefLabel", None),
    "altLabel": (v.SKOS + "altLabel", None),
    "definition": (v.SKOS + "definition", None),
    "notation": (v.SKOS + "notation", None),
    "inScheme": (v.SKOS + "inScheme", "@id"),
    "topConceptOf": (v.SKOS + "topConceptOf", "@id"),
    "hasTopConcept": (v.SKOS + "hasTopConcept", "@id"),
    "broader": (v.SKOS + "broader", "@id"),
    "narrower": (v.SKOS + "narrower", "@id"),
    # Paged listings (Hydra)
    "member": (HYDRA + "member", "@id"),
    "totalItems": (HYDRA + "totalItems", None),
    "view": (HYDRA + "view", "@id"),
    "first": (HYDRA + "first", "@id"),
    "previous": (HYDRA + "previous", "@id"),
    "next": (HYDRA + "next", "@id"),
    "last": (HYDRA + "last", "@id"),
}

# The project's own terms, relative to {base}/def/pledge#.
_OWN_TERMS: dict[str, str | None] = {
    "committedBy": "@id",
    "submittedBy": "@id",
    "submitterVerified": v.XSD + "boolean",
    "programme": "@id",
    "partner": "@id",
    "sdgGoal": "@id",
    "sdgTarget": "@id",
    "gcmObjective": "@id",
    "thematicArea": "@id",
    "country": "@id",
    "administrativeLevel": None,
    "subdivisionCode": None,
    "iso3166Code": None,
}

_DATA_PREFIXES = frozenset({"pledge", "place", "agent", "programme"})


@lru_cache(maxsize=8)
def _context(base: str) -> str:
    iris = v.Iris(base)
    ctx: dict[str, Any] = {"id": "@id", "type": "@type"}
    # Vocabulary prefixes only: the per-kind data prefixes of Iris.prefixes() would
    # collide with terms (pl:programme vs the programme/ namespace).
    ctx.update({k: ns for k, ns in iris.prefixes().items() if k not in _DATA_PREFIXES})
    ctx["hydra"] = HYDRA
    ctx["sh"] = SH
    for term, (iri, coercion) in _TERMS.items():
        ctx[term] = {"@id": iri, "@type": coercion} if coercion else {"@id": iri}
    for term, coercion in _OWN_TERMS.items():
        iri = iris.term(term)
        ctx[term] = {"@id": iri, "@type": coercion} if coercion else {"@id": iri}
    for cls in v.CLASSES:  # class names, so that "type": "Pledge" reads well
        if cls.in_context:
            ctx[cls.name] = {"@id": cls.iri}
    for term in v.OWN_CLASSES:
        ctx[term] = {"@id": iris.term(term)}
    return json.dumps(ctx, sort_keys=True)


def context_for(base: str) -> dict[str, Any]:
    """The context's inner object (a fresh copy) for a deployment's base."""
    return json.loads(_context(base))


def context_document(base: str) -> bytes:
    """The bytes served at ``/context.jsonld``."""
    return (json.dumps({"@context": context_for(base)}, indent=2, sort_keys=True) + "\n").encode()
