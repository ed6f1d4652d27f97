"""Names for people: labels of reused terms, inverse phrases for links back, and the
choice of one label for a resource among those a document holds.

The project's own terms take their labels from the published ontology (per release);
reused vocabularies get the short English names below, so a page never shows a bare IRI
where a word will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pyoxigraph import Literal, Triple

from ..rdf import vocab as v

PROPERTY_LABELS: dict[str, str] = {
    v.RDF_TYPE: "type",
    v.RDFS_LABEL: "label",
    v.RDFS + "comment": "comment",
    v.RDFS + "seeAlso": "see also",
    v.RDFS + "isDefinedBy": "defined by",
    v.RDFS + "subClassOf": "subclass of",
    v.RDFS + "subPropertyOf": "subproperty of",
    v.RDFS + "domain": "domain",
    v.RDFS + "range": "range",
    v.OWL + "sameAs": "same as",
    v.DCTERMS + "title": "title",
    v.DCTERMS + "abstract": "summary",
    v.DCTERMS + "description": "description",
    v.DCTERMS + "type": "kind",
    v.DCTERMS + "spatial": "place",
    v.DCTERMS + "source": "taken from",
    v.DCTERMS + "issued": "shared on",
    v.DCTERMS + "subject": "subject",
    v.DCTERMS + "isPartOf": "part of",
    v.DCTERMS + "license": "licence",
    v.DCTERMS + "modified": "modified",
    v.SCHEMA + "name": "name",
    v.SCHEMA + "alternateName": "also known as",
    v.SCHEMA + "startDate": "start",
    v.SCHEMA + "endDate": "end",
    v.SCHEMA + "areaServed": "area served",
    v.SCHEMA + "funder": "funded by",
    v.FOAF + "name": "name",
    v.FOAF + "title": "honorific",
    v.FOAF + "homepage": "homepage",
    v.FOAF + "primaryTopic": "primary topic",
    v.PROV + "wasAssociatedWith": "operated by",
    v.SKOS + "prefLabel": "preferred label",
    v.SKOS + "altLabel": "also called",
    v.SKOS + "definition": "definition",
    v.SKOS + "notation": "notation",
    v.SKOS + "inScheme": "in scheme",
    v.SKOS + "topConceptOf": "top concept of",
    v.SKOS + "hasTopConcept": "top concepts",
    v.SKOS + "broader": "broader",
    v.SKOS + "narrower": "narrower",
}

CLASS_LABELS: dict[str, str] = {c.iri: c.label for c in v.CLASSES if c.label is not None}

#: How a link *to* the resource reads from its side, by predicate (local name for ours).
INVERSE: dict[str, str] = {
    v.DCTERMS + "spatial": "Pledges and practices here",
    "committedBy": "Committed to",
    "submittedBy": "Submitted",
    "partner": "Partner in",
    "programme": "Pledges and practices in this programme",
    "gcmObjective": "Pledges and practices addressing this objective",
    "thematicArea": "Pledges and practices in this thematic area",
    v.DCTERMS + "type": "Records of this kind",
    v.DCTERMS + "source": "Records taken from this page",
    "country": "Places in this country",
    v.SCHEMA + "areaServed": "Organisations serving this place",
    v.PROV + "wasAssociatedWith": "Programmes it operates",
    v.SCHEMA + "funder": "Programmes it funds",
    v.SKOS + "inScheme": "Concepts in this scheme",
    v.SKOS + "topConceptOf": "Top concepts of this scheme",
    v.SKOS + "hasTopConcept": "Concept schemes it is a top concept of",
    v.DCTERMS + "subject": "Listing pages about this",
}

#: Predicates whose values name the resource (in order of preference).
NAME_PREDICATES = (
    v.RDFS_LABEL,
    v.SKOS + "prefLabel",
    v.SCHEMA + "name",
    v.DCTERMS + "title",
    v.FOAF + "name",
)
_NAME_RANK = {p: i for i, p in enumerate(NAME_PREDICATES)}


def _lang_rank(lit: Literal) -> int:
    lang = (lit.language or "").lower()
    return 0 if lang in ("en", "") or lang.startswith("en-") else 1


def labels_of(triples: Iterable[Triple]) -> dict[str, Literal]:
    """The best name of every subject that has one: English (or untagged) first, then by
    predicate preference."""
    best: dict[str, tuple[tuple[int, int], Literal]] = {}
    for t in triples:
        rank = _NAME_RANK.get(t.predicate.value)
        if rank is None or not isinstance(t.object, Literal):
            continue
        key = (_lang_rank(t.object), rank)
        s = t.subject.value
        if s not in best or key < best[s][0]:
            best[s] = (key, t.object)
    return {s: lit for s, (_key, lit) in best.items()}


def term_label(iri: str, own: Mapping[str, str]) -> str:
    """A property's or class's name: the ontology's label, a known one, or its local name."""
    if iri in own:
        return own[iri]
    if iri in PROPERTY_LABELS:
        return PROPERTY_LABELS[iri]
    if iri in CLASS_LABELS:
        return CLASS_LABELS[iri]
    return local_name(iri)


def local_name(iri: str) -> str:
    for sep in ("#", "/"):
        if sep in iri.rstrip(sep):
            tail = iri.rstrip(sep).rsplit(sep, 1)[1]
            if tail:
                return tail
    return iri


def inverse_label(predicate: str, vocab: str, own: Mapping[str, str]) -> str:
    key = predicate[len(vocab) :] if predicate.startswith(vocab) else predicate
    if key in INVERSE:
        return INVERSE[key]
    return f"Is “{term_label(predicate, own)}” of"
