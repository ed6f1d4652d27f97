"""The page about one resource: its types, labelled property rows and backlinks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyoxigraph import Literal, Triple

from ...rdf import vocab as v
from ..documents import Description
from ..labels import NAME_PREDICATES, inverse_label, labels_of, local_name, term_label
from ..site import ReleaseData
from .common import Linker, LinkView, ValueView, sort_text, value_view


@dataclass
class PropView:
    label: str
    iri: str
    href: str | None
    values: list[ValueView]


@dataclass
class BackView:
    heading: str
    items: list[LinkView]
    more: LinkView | None = None


@dataclass
class ResourceView:
    title: str
    lang: str | None
    types: list[str]
    iri: str
    props: list[PropView]
    backlinks: list[BackView] = field(default_factory=list)
    listing: LinkView | None = None
    truncated: bool = False


def property_order(rd: ReleaseData) -> dict[str, int]:
    t = rd.iris.term
    order = [
        v.DCTERMS + "title",
        v.RDFS_LABEL,
        v.SKOS + "prefLabel",
        v.SCHEMA + "name",
        v.FOAF + "name",
        v.FOAF + "title",
        v.SKOS + "altLabel",
        v.SCHEMA + "alternateName",
        v.SKOS + "notation",
        v.DCTERMS + "abstract",
        v.DCTERMS + "description",
        v.SKOS + "definition",
        v.DCTERMS + "type",
        v.DCTERMS + "spatial",
        t("spatialCoverageComplete"),
        v.SKOS + "scopeNote",
        t("committedBy"),
        t("submittedBy"),
        t("submitterVerified"),
        t("partner"),
        t("programme"),
        t("sdgGoal"),
        t("sdgTarget"),
        t("gcmObjective"),
        t("thematicArea"),
        v.SCHEMA + "startDate",
        v.SCHEMA + "endDate",
        v.DCTERMS + "issued",
        t("country"),
        t("administrativeLevel"),
        t("subdivisionCode"),
        t("iso3166Code"),
        v.SCHEMA + "areaServed",
        v.PROV + "wasAssociatedWith",
        v.SCHEMA + "funder",
        v.DCTERMS + "isPartOf",
        t("factStatus"),
        v.FOAF + "homepage",
        v.OWL + "sameAs",
        v.SKOS + "inScheme",
        v.SKOS + "topConceptOf",
        v.SKOS + "hasTopConcept",
        v.DCTERMS + "subject",
        v.RDFS + "seeAlso",
        v.DCTERMS + "source",
        v.PROV + "wasDerivedFrom",
        v.DCTERMS + "bibliographicCitation",
    ]
    return {iri: i for i, iri in enumerate(order)}


def props_of(
    subject: str,
    triples: Iterable[Triple],
    linker: Linker,
    rd: ReleaseData,
    hide_names: str | None = None,
) -> tuple[list[str], list[PropView]]:
    """Type labels and property rows of ``subject``; names equal to the title are hidden."""
    types: list[str] = []
    by_pred: dict[str, list[object]] = {}
    for t in triples:
        if t.subject.value != subject:
            continue
        if t.predicate.value == v.RDF_TYPE:
            types.append(term_label(t.object.value, linker.terms))
            continue
        if (
            hide_names is not None
            and t.predicate.value in NAME_PREDICATES
            and isinstance(t.object, Literal)
            and t.object.value == hide_names
        ):
            continue
        by_pred.setdefault(t.predicate.value, []).append(t.object)
    order = property_order(rd)
    rows = []
    for pred in sorted(by_pred, key=lambda p: (order.get(p, 999), term_label(p, linker.terms))):
        values = [value_view(o, linker) for o in by_pred[pred]]
        values.sort(key=sort_text)
        rows.append(PropView(term_label(pred, linker.terms), pred, linker.href(pred), values))
    return sorted(set(types)), rows


def resource_view(
    desc: Description, rd: ReleaseData, root: str, term_labels: Mapping[str, str]
) -> ResourceView:
    labels = labels_of(desc.triples)
    linker = Linker(rd, labels, root, term_labels)
    label = labels.get(desc.thing)
    title = label.value if label is not None else desc.slug
    types, props = props_of(desc.thing, desc.triples, linker, rd, hide_names=title)
    backs = []
    for group in desc.backlinks:
        items = [
            LinkView(
                linker.href(s),
                lab.value if lab is not None else local_name(s),
                lang=lab.language if lab is not None else None,
            )
            for s, lab in group.subjects
        ]
        items.sort(key=lambda link: link.text.lower())
        backs.append(BackView(inverse_label(group.predicate, rd.iris.vocab, term_labels), items))
    listing = None
    if desc.listing and desc.listing_total:
        n = desc.listing_total
        listing = LinkView(root + desc.listing, f"All its records ({n}), page by page")
    return ResourceView(
        title,
        label.language if label is not None else None,
        types,
        desc.thing,
        props,
        backs,
        listing,
        desc.truncated,
    )
