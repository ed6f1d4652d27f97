"""Namespaces and the IRIs pledge_lod mints.

The project's own vocabulary lives under the configured base (``{base}/def/pledge#``) so
that it dereferences from the same server as the data. Everything that depends on the
base is reached through :class:`Iris`; reused vocabularies are plain constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
ORG = "http://www.w3.org/ns/org#"
PROV = "http://www.w3.org/ns/prov#"
SCHEMA = "https://schema.org/"
DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"
SH = "http://www.w3.org/ns/shacl#"
SD = "http://www.w3.org/ns/sparql-service-description#"
SDG = "http://metadata.un.org/sdg/"
SDGO = "http://metadata.un.org/sdg/ontology#"
WIKIDATA = "http://www.wikidata.org/entity/"
GEONAMES = "https://sws.geonames.org/"
HYDRA = "http://www.w3.org/ns/hydra/core#"

RDF_TYPE = RDF + "type"
RDFS_LABEL = RDFS + "label"

#: Prefixes used when serialising; also the published JSON-LD @context's terms.
PREFIXES: dict[str, str] = {
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "foaf": FOAF,
    "org": ORG,
    "prov": PROV,
    "schema": SCHEMA,
    "dcat": DCAT,
    "void": VOID,
    "sh": SH,
    "sdg": SDG,
    "sdgo": SDGO,
    "wd": WIKIDATA,
}

#: The kinds of resource that get URIs ``{base}/id/{kind}/{slug}``.
KINDS: tuple[str, ...] = (
    "pledge",
    "place",
    "agent",
    "programme",
    "theme",
    "objective",
    "kind",
    "listing",
    "scheme",
    "fact",
)


@dataclass(frozen=True)
class ClassName:
    """A class of a reused vocabulary that the data uses: its short name (the mapping's
    key and the JSON-LD term, so that ``"type": "Place"`` reads well) and its English
    label on the pages (None: it is not shown as a type)."""

    name: str
    iri: str
    label: str | None
    #: Whether the published JSON-LD @context has a term for it (terms are only ever
    #: added there, so one that was never a term stays out).
    in_context: bool = True


#: The classes of reused vocabularies, written once: the mapping types resources with
#: them, the JSON-LD context names them, the pages label them.
CLASSES: tuple[ClassName, ...] = (
    ClassName("Place", SCHEMA + "Place", "Place"),
    ClassName("Country", SCHEMA + "Country", "Country"),
    ClassName("AdministrativeArea", SCHEMA + "AdministrativeArea", "Administrative area"),
    ClassName("Location", DCTERMS + "Location", "Location"),
    ClassName("Person", FOAF + "Person", "Person"),
    ClassName("Organization", FOAF + "Organization", "Organisation"),
    ClassName("OrgOrganization", ORG + "Organization", "Organisation (W3C ORG)",
              in_context=False),
    ClassName("Document", FOAF + "Document", "Document"),
    ClassName("Concept", SKOS + "Concept", "Concept"),
    ClassName("ConceptScheme", SKOS + "ConceptScheme", "Concept scheme"),
    ClassName("Goal", SDGO + "Goal", "SDG goal"),
    ClassName("Target", SDGO + "Target", "SDG target"),
    ClassName("Collection", HYDRA + "Collection", None),
    ClassName("PartialCollectionView", HYDRA + "PartialCollectionView", None),
)
#: The project's own classes, terms of ``{base}/def/pledge#`` (see :meth:`Iris.term`).
OWN_CLASSES: tuple[str, ...] = ("Pledge", "Programme", "Fact")


@dataclass(frozen=True)
class Iris:
    """The IRIs of one deployment, all derived from its base (no trailing slash)."""

    base: str

    def __post_init__(self) -> None:
        if self.base.endswith("/"):
            object.__setattr__(self, "base", self.base.rstrip("/"))

    @cached_property
    def vocab(self) -> str:
        return f"{self.base}/def/pledge#"

    @cached_property
    def ontology(self) -> str:
        return f"{self.base}/def/pledge"

    @cached_property
    def shapes(self) -> str:
        return f"{self.base}/def/shapes"

    def term(self, name: str) -> str:
        """A term of the project vocabulary, e.g. ``term("Pledge")``."""
        return self.vocab + name

    def thing(self, kind: str, slug: str) -> str:
        return f"{self.base}/id/{kind}/{slug}"

    def doc(self, kind: str, slug: str) -> str:
        return f"{self.base}/doc/{kind}/{slug}"

    def graph(self, name: str) -> str:
        """Named graphs of the release store: data, ontology, shapes, sdg-kos, void."""
        return f"{self.base}/graph/{name}"

    @cached_property
    def dataset(self) -> str:
        return f"{self.base}/.well-known/void#dataset"

    @cached_property
    def sparql(self) -> str:
        return f"{self.base}/sparql"

    def prefixes(self) -> dict[str, str]:
        """Serialisation prefixes including this deployment's own namespaces."""
        return {
            **PREFIXES,
            "pl": self.vocab,
            **{k: f"{self.base}/id/{k}/" for k in ("pledge", "place", "agent", "programme")},
        }


def sdg_goal(number: int) -> str:
    return f"{SDG}{number}"


def sdg_target(code: str) -> str:
    return f"{SDG}{code}"
