"""Records -> RDF.

The mapping emits pyoxigraph terms: they are cheap to create (Rust objects) and go
straight into the store's bulk loader and serialisers, which matters at a million
pledges. Values are mapped as written; judging them (is this a real SDG target, a
possible date?) is the SHACL shapes' job, so that every rule lives in one place and is
reported the same way. Only what cannot be expressed in RDF at all (an IRI with a space,
an ill-formed language tag) is reported here.

No blank nodes are minted: every node has an IRI, which keeps dumps byte-identical
across builds and every resource dereferenceable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pyoxigraph import Literal, NamedNode, Triple

from ..ingest.sources import ANONYMOUS
from ..records import (
    Agent,
    Concept,
    Fact,
    Listing,
    Place,
    Pledge,
    Problem,
    Programme,
    Records,
)
from . import vocab as v

YEAR_RE = re.compile(r"^-?[0-9]{4}$")

SCHEME_SLUGS = {"theme": "themes", "objective": "gcm-objectives", "kind": "kinds"}
SCHEME_LABELS = {
    "theme": "Thematic areas",
    "objective": "Objectives of the Global Compact for Safe, Orderly and Regular Migration",
    "kind": "Kinds of pledge and practice",
}
#: Where each scheme's concepts come from: a reader must be able to tell the source's
#: terms from the project's own classification.
SCHEME_DESCRIPTIONS = {
    "theme": "The thematic areas under which the GFMD Policy and Practice Database lists its "
    "records, with the labels the source listing pages use.",
    "objective": "The 23 objectives of the Global Compact for Safe, Orderly and Regular "
    "Migration (UN General Assembly resolution A/RES/73/195, paragraph 16). The source "
    "publishes no linked-data identifiers for them, so pledge_lod mints these concepts.",
    "kind": "pledge_lod's own classification of its records, assigned by the project's "
    "editors from each record's text. It is not a field of the source pages: the GFMD "
    "Policy and Practice Database does not publish a kind for its records.",
}
#: The language of registry names (places, agents, programmes): the language of the
#: source pages and facts they were read in (see data/README.md, "Language tags").
NAME_LANGUAGE = "en"
PARTIAL_SPATIAL_NOTE = (
    "The places listed (dcterms:spatial) are only those the sources name; the record "
    "concerns more places than these."
)

# IRIs used on every record, built once.
_TYPE = NamedNode(v.RDF_TYPE)
_LABEL = NamedNode(v.RDFS_LABEL)
_XSD_DATE = NamedNode(v.XSD + "date")
_XSD_YEAR = NamedNode(v.XSD + "gYear")
_XSD_BOOLEAN = NamedNode(v.XSD + "boolean")


def _short(text: str, limit: int = 100) -> str:
    """A label from a long text: cut at a word boundary, marked with an ellipsis."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _n(iri: str) -> NamedNode:
    return NamedNode(iri)


#: The predicates the mapping writes, by the name the mapping uses (``self.P[name]``). A
#: bare name is a term of the project's vocabulary (``{base}/def/pledge#name``), whose IRI
#: depends on the deployment's base; anything else is a whole IRI.
PREDICATES: dict[str, str] = {
    "title": v.DCTERMS + "title",
    "abstract": v.DCTERMS + "abstract",
    "description": v.DCTERMS + "description",
    "type": v.DCTERMS + "type",
    "spatial": v.DCTERMS + "spatial",
    "source": v.DCTERMS + "source",
    "issued": v.DCTERMS + "issued",
    "subject": v.DCTERMS + "subject",
    "committedBy": "committedBy",
    "submittedBy": "submittedBy",
    "submitterVerified": "submitterVerified",
    "programme": "programme",
    "partner": "partner",
    "sdgGoal": "sdgGoal",
    "sdgTarget": "sdgTarget",
    "gcmObjective": "gcmObjective",
    "thematicArea": "thematicArea",
    "country": "country",
    "administrativeLevel": "administrativeLevel",
    "subdivisionCode": "subdivisionCode",
    "iso3166Code": "iso3166Code",
    "startDate": v.SCHEMA + "startDate",
    "endDate": v.SCHEMA + "endDate",
    "name": v.SCHEMA + "name",
    "alternateName": v.SCHEMA + "alternateName",
    "areaServed": v.SCHEMA + "areaServed",
    "funder": v.SCHEMA + "funder",
    "sameAs": v.OWL + "sameAs",
    "seeAlso": v.RDFS + "seeAlso",
    "foafName": v.FOAF + "name",
    "foafTitle": v.FOAF + "title",
    "homepage": v.FOAF + "homepage",
    "associatedWith": v.PROV + "wasAssociatedWith",
    "prefLabel": v.SKOS + "prefLabel",
    "altLabel": v.SKOS + "altLabel",
    "definition": v.SKOS + "definition",
    "notation": v.SKOS + "notation",
    "inScheme": v.SKOS + "inScheme",
    "topConceptOf": v.SKOS + "topConceptOf",
    "hasTopConcept": v.SKOS + "hasTopConcept",
    "derivedFrom": v.PROV + "wasDerivedFrom",
    "isPartOf": v.DCTERMS + "isPartOf",
    "citation": v.DCTERMS + "bibliographicCitation",
    "comment": v.RDFS + "comment",
    "scopeNote": v.SKOS + "scopeNote",
    "factStatus": "factStatus",
    "spatialComplete": "spatialCoverageComplete",
}
#: The YAML field each predicate comes from (predicates named as in :data:`PREDICATES`),
#: so that a SHACL result can be reported as ``file: record: field: message``.
FIELDS: dict[str, str] = {
    v.RDFS_LABEL: "title",
    v.DCTERMS + "title": "title",
    v.DCTERMS + "abstract": "summary",
    v.DCTERMS + "type": "kind",
    v.DCTERMS + "spatial": "locality",
    v.DCTERMS + "source": "listings",
    v.DCTERMS + "issued": "shared",
    "committedBy": "committed_by",
    "submittedBy": "submitter",
    "submitterVerified": "submitter_verified",
    "programme": "programmes",
    "partner": "partners",
    "sdgGoal": "goals",
    "sdgTarget": "targets",
    "gcmObjective": "gcm_objectives",
    "thematicArea": "themes",
    "country": "country",
    "administrativeLevel": "level",
    "subdivisionCode": "subdivision",
    "iso3166Code": "iso3166",
    v.SCHEMA + "startDate": "start",
    v.SCHEMA + "endDate": "end",
    v.SCHEMA + "name": "name",
    v.SCHEMA + "areaServed": "area_served",
    v.SCHEMA + "funder": "funders",
    v.PROV + "wasAssociatedWith": "operated_by",
    v.FOAF + "name": "name",
    v.SKOS + "prefLabel": "label",
    v.SKOS + "notation": "notation",
    v.SKOS + "inScheme": "scheme",
    v.OWL + "sameAs": "wikidata/geonames",
    v.PROV + "wasDerivedFrom": "facts/listings",
    v.DCTERMS + "isPartOf": "part_of",
    "spatialCoverageComplete": "locality_complete",
    "factStatus": "status",
    v.DCTERMS + "bibliographicCitation": "sources",
}


class Mapper:
    """Maps records of one deployment (one base) to triples.

    ``field_of`` tells, for every predicate the mapping writes, which YAML field it came
    from, so that a SHACL result can be reported as ``file: record: field: message``.
    """

    def __init__(self, iris: v.Iris):
        self.iris = iris
        self.P = {name: NamedNode(self.iri(term)) for name, term in PREDICATES.items()}
        self.C = {
            **{name: NamedNode(iris.term(name)) for name in v.OWN_CLASSES},
            **{c.name: NamedNode(c.iri) for c in v.CLASSES},
        }
        self.field_of = {self.iri(term): field for term, field in FIELDS.items()}

    def iri(self, term: str) -> str:
        """A whole IRI as it is; a bare name as a term of the project's vocabulary."""
        return term if ":" in term else self.iris.term(term)

    # -- helpers -------------------------------------------------------------------------

    def thing(self, kind: str, slug: str) -> NamedNode:
        return NamedNode(self.iris.thing(kind, slug))

    def scheme(self, kind: str) -> NamedNode:
        return NamedNode(self.iris.thing("scheme", SCHEME_SLUGS[kind]))

    @staticmethod
    def date(value: str) -> Literal:
        """A year as xsd:gYear, anything else as xsd:date (so SHACL reports a bad one)."""
        return Literal(value, datatype=_XSD_YEAR if YEAR_RE.match(value) else _XSD_DATE)

    @staticmethod
    def text(value: str, language: str | None) -> Literal:
        return Literal(value, language=language) if language else Literal(value)

    def provenance(
        self, s: NamedNode, facts: Iterable[str], listings: Iterable[str], prov: bool = False
    ) -> list[Triple]:
        """dcterms:source to the listing pages and facts a record was taken from.

        Records that are prov:Entity (pledges) also say prov:wasDerivedFrom; programmes are
        prov:Activity and places and agents are not records, so they keep to dcterms:source
        (which has no domain) rather than stretch PROV's.
        """
        sources = [self.thing("listing", x) for x in listings]
        sources += [self.thing("fact", x) for x in facts]
        out = [Triple(s, self.P["source"], o) for o in sources]
        if prov:
            out += [Triple(s, self.P["derivedFrom"], o) for o in sources]
        return out

    # -- records -------------------------------------------------------------------------

    def pledge(self, p: Pledge, problems: list[Problem]) -> list[Triple]:
        P, s = self.P, self.thing("pledge", p.id)
        try:
            title = Literal(p.title, language=p.language)
        except ValueError:
            problems.append(
                Problem(
                    p.file, p.id, "language", f"{p.language!r} is not a language tag such as en"
                )
            )
            return []
        out = [
            Triple(s, _TYPE, self.C["Pledge"]),
            Triple(s, _LABEL, title),
            Triple(s, P["title"], title),
            Triple(s, P["type"], self.thing("kind", p.kind)),
        ]
        if p.summary:
            out.append(Triple(s, P["abstract"], Literal(p.summary, language=p.language)))
        out += [Triple(s, P["spatial"], self.thing("place", x)) for x in p.locality]
        if p.committed_by:
            out.append(Triple(s, P["committedBy"], self.thing("agent", p.committed_by)))
        verified = p.submitter_verified
        if p.submitter == ANONYMOUS and verified is None:
            verified = False
        if p.submitter and p.submitter != ANONYMOUS:
            out.append(Triple(s, P["submittedBy"], self.thing("agent", p.submitter)))
        if p.submitter and verified is not None:
            out.append(
                Triple(
                    s, P["submitterVerified"], Literal(str(verified).lower(), datatype=_XSD_BOOLEAN)
                )
            )
        out += [Triple(s, P["programme"], self.thing("programme", x)) for x in p.programmes]
        out += [Triple(s, P["partner"], self.thing("agent", x)) for x in p.partners]
        out += [Triple(s, P["sdgGoal"], NamedNode(v.sdg_goal(int(g)))) for g in p.goals]
        out += [Triple(s, P["sdgTarget"], NamedNode(v.sdg_target(x))) for x in p.targets]
        out += [Triple(s, P["gcmObjective"], self.thing("objective", x)) for x in p.gcm_objectives]
        out += [Triple(s, P["thematicArea"], self.thing("theme", x)) for x in p.themes]
        if p.start:
            out.append(Triple(s, P["startDate"], self.date(p.start)))
        if p.end:
            out.append(Triple(s, P["endDate"], self.date(p.end)))
        if p.shared:
            out.append(Triple(s, P["issued"], Literal(p.shared, datatype=_XSD_DATE)))
        out += self.provenance(s, p.facts, p.listings, prov=True)
        if p.locality_complete is not None:
            flag = Literal(str(p.locality_complete).lower(), datatype=_XSD_BOOLEAN)
            out.append(Triple(s, P["spatialComplete"], flag))
            if not p.locality_complete:
                note = Literal(PARTIAL_SPATIAL_NOTE, language="en")
                out.append(Triple(s, P["scopeNote"], note))
        return out

    def place(self, p: Place) -> list[Triple]:
        P, s = self.P, self.thing("place", p.id)
        kind = self.C["Country"] if p.level == "country" else self.C["AdministrativeArea"]
        out = [
            Triple(s, _TYPE, self.C["Place"]),
            Triple(s, _TYPE, kind),
            Triple(s, _TYPE, self.C["Location"]),
            Triple(s, _LABEL, Literal(p.name, language=NAME_LANGUAGE)),
            Triple(s, P["name"], Literal(p.name, language=NAME_LANGUAGE)),
            Triple(s, P["administrativeLevel"], Literal(p.level)),
        ]
        out += self.provenance(s, p.facts, p.listings)
        out += [Triple(s, P["alternateName"], Literal(n)) for n in p.alt_names]
        if p.country:
            out.append(Triple(s, P["country"], self.thing("place", p.country)))
        if p.subdivision:
            out.append(Triple(s, P["subdivisionCode"], Literal(p.subdivision)))
        if p.iso3166:
            out.append(Triple(s, P["iso3166Code"], Literal(p.iso3166)))
        if p.wikidata:
            out.append(Triple(s, P["sameAs"], NamedNode(v.WIKIDATA + p.wikidata)))
        if p.geonames:
            out.append(Triple(s, P["sameAs"], NamedNode(f"{v.GEONAMES}{p.geonames}/")))
        return out

    def agent(self, a: Agent) -> list[Triple]:
        P, s = self.P, self.thing("agent", a.id)
        label = f"{a.honorific} {a.name}" if a.honorific else a.name
        if a.type == "person":
            out = [Triple(s, _TYPE, self.C["Person"])]
        else:
            out = [
                Triple(s, _TYPE, self.C["Organization"]),
                Triple(s, _TYPE, self.C["OrgOrganization"]),
            ]
        out += [
            Triple(s, _LABEL, Literal(label, language=NAME_LANGUAGE)),
            Triple(s, P["foafName"], Literal(a.name, language=NAME_LANGUAGE)),
        ]
        out += self.provenance(s, a.facts, a.listings)
        if a.honorific:
            out.append(Triple(s, P["foafTitle"], Literal(a.honorific)))
        if a.alt_name:
            out.append(Triple(s, P["alternateName"], Literal(a.alt_name)))
        if a.area_served:
            out.append(Triple(s, P["areaServed"], self.thing("place", a.area_served)))
        if a.wikidata:
            out.append(Triple(s, P["sameAs"], NamedNode(v.WIKIDATA + a.wikidata)))
        if a.homepage:
            out.append(Triple(s, P["homepage"], NamedNode(a.homepage)))
        return out

    def programme(self, p: Programme) -> list[Triple]:
        P, s = self.P, self.thing("programme", p.id)
        out = [
            Triple(s, _TYPE, self.C["Programme"]),
            Triple(s, _LABEL, Literal(p.name, language=NAME_LANGUAGE)),
            Triple(s, P["name"], Literal(p.name, language=NAME_LANGUAGE)),
        ]
        out += self.provenance(s, p.facts, p.listings)
        if p.part_of:
            out.append(Triple(s, P["isPartOf"], self.thing("programme", p.part_of)))
        if p.alt_name:
            out.append(Triple(s, P["alternateName"], Literal(p.alt_name)))
        if p.description:
            out.append(Triple(s, P["description"], Literal(p.description, language="en")))
        out += [Triple(s, P["associatedWith"], self.thing("agent", x)) for x in p.operated_by]
        out += [Triple(s, P["funder"], self.thing("agent", x)) for x in p.funders]
        if p.start:
            out.append(Triple(s, P["startDate"], self.date(p.start)))
        if p.end:
            out.append(Triple(s, P["endDate"], self.date(p.end)))
        if p.homepage:
            out.append(Triple(s, P["homepage"], NamedNode(p.homepage)))
        return out

    def concept(self, c: Concept) -> list[Triple]:
        P, s, scheme = self.P, self.thing(c.scheme, c.id), self.scheme(c.scheme)
        label = Literal(c.label, language="en")
        out = [
            Triple(s, _TYPE, self.C["Concept"]),
            Triple(s, _LABEL, label),
            Triple(s, P["prefLabel"], label),
            Triple(s, P["inScheme"], scheme),
            Triple(s, P["topConceptOf"], scheme),
            Triple(scheme, P["hasTopConcept"], s),
        ]
        if c.notation:
            out.append(Triple(s, P["notation"], Literal(c.notation)))
        if c.alt_label:
            out.append(Triple(s, P["altLabel"], Literal(c.alt_label, language="en")))
        out += [Triple(s, P["altLabel"], Literal(x, language="en")) for x in c.source_labels]
        if c.definition:
            out.append(Triple(s, P["definition"], Literal(c.definition, language="en")))
        out += [Triple(s, P["seeAlso"], NamedNode(url)) for url in c.see_also]
        return out

    def schemes(self, kinds: Iterable[str]) -> list[Triple]:
        out = []
        for kind in sorted(set(kinds)):
            s = self.scheme(kind)
            label = Literal(SCHEME_LABELS[kind], language="en")
            out += [
                Triple(s, _TYPE, self.C["ConceptScheme"]),
                Triple(s, _LABEL, label),
                Triple(s, self.P["prefLabel"], label),
                Triple(s, self.P["description"], Literal(SCHEME_DESCRIPTIONS[kind], language="en")),
            ]
        return out

    def fact(self, f: Fact) -> list[Triple]:
        """A fact: its statement, its status and the sources it was read in."""
        P, s = self.P, self.thing("fact", f.id)
        out = [
            Triple(s, _TYPE, self.C["Fact"]),
            Triple(s, _LABEL, Literal(_short(f.statement), language="en")),
            Triple(s, P["description"], Literal(f.statement, language="en")),
            Triple(s, P["factStatus"], Literal(f.status)),
        ]
        for src in f.sources:
            out.append(Triple(s, P["citation"], Literal(src)))
            if src.startswith(("http://", "https://")) and " " not in src:
                out.append(Triple(s, P["source"], NamedNode(src)))
        return out

    def listing(self, lst: Listing) -> list[Triple]:
        P, s = self.P, self.thing("listing", lst.id)
        out = [
            Triple(s, _TYPE, self.C["Document"]),
            Triple(s, _LABEL, Literal(lst.title, language="en")),
            Triple(s, P["title"], Literal(lst.title, language="en")),
        ]
        if lst.goal:
            out.append(Triple(s, P["subject"], NamedNode(v.sdg_goal(int(lst.goal)))))
        if lst.theme:
            out.append(Triple(s, P["subject"], self.thing("theme", lst.theme)))
        if lst.url:
            out.append(Triple(s, P["seeAlso"], NamedNode(lst.url)))
        if lst.seed_file:
            where = f"The page's text as read is in the repository: data/sources/{lst.seed_file}"
            out.append(Triple(s, P["comment"], Literal(where, language="en")))
        return out

    def registries(self, records: Records) -> Iterator[Triple]:
        """Every registry entry, in a stable order."""
        for place in sorted(records.places.values(), key=lambda r: r.id):
            yield from self.place(place)
        for agent in sorted(records.agents.values(), key=lambda r: r.id):
            yield from self.agent(agent)
        for prog in sorted(records.programmes.values(), key=lambda r: r.id):
            yield from self.programme(prog)
        yield from self.schemes(c.scheme for c in records.concepts.values())
        for key in sorted(records.concepts):
            yield from self.concept(records.concepts[key])
        for lst in sorted(records.listings.values(), key=lambda r: r.id):
            yield from self.listing(lst)
        for fact in sorted(records.facts.values(), key=lambda r: r.id):
            yield from self.fact(fact)
