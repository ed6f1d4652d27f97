"""View-models for the HTML pages: turn triples into labelled rows and links.

Templates only lay out what these functions hand them; every decision about what a
link points to (our document, our listing of an SDG goal, Wikidata's page) is made here,
in one place, so that the pages and the crawler test agree on where links go.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from .. import vocab as v
from .documents import Description
from .labels import CLASS_LABELS, NAME_PREDICATES, inverse_label, labels_of, local_name, term_label
from .listings import Page, sdg_listing
from .site import ReleaseData

_WIKIDATA_RE = re.compile(r"^https?://www\.wikidata\.org/entity/(Q[0-9]+)$")
_GEONAMES_RE = re.compile(r"^https?://sws\.geonames\.org/([0-9]+)/?$")
SUMMARY_CHARS = 320


@dataclass
class LinkView:
    href: str
    text: str
    external: bool = False
    lang: str | None = None
    note: str | None = None
    #: A second, outward link shown next to this one (the UN's page for an SDG goal).
    also: LinkView | None = None


@dataclass
class ValueView:
    text: str | None = None
    lang: str | None = None
    link: LinkView | None = None
    long: bool = False
    note: str | None = None


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


class Linker:
    """Where a link to an IRI goes, and what it says."""

    def __init__(
        self,
        rd: ReleaseData,
        labels: Mapping[str, Literal],
        root: str,
        term_labels: Mapping[str, str],
    ):
        self.rd = rd
        self.labels = labels
        self.root = root
        self.terms = term_labels

    def href(self, iri: str) -> str:
        local = self.rd.local(iri)
        if local is not None:
            if local.startswith("/id/"):
                return self.root + "/doc/" + local[4:]
            return self.root + local
        path = sdg_listing(iri)
        if path:
            return self.root + path
        return iri

    def link(self, iri: str) -> LinkView:
        label = self.labels.get(iri)
        text = label.value if label is not None else None
        lang = label.language if label is not None else None
        local = self.rd.local(iri)
        if local is not None:
            if text is None:
                text = term_label(iri, self.terms) if "/def/" in local else local_name(iri)
            return LinkView(self.href(iri), text, lang=lang)
        path = sdg_listing(iri)
        if path:
            code = iri.rsplit("/", 1)[1]
            name = f"SDG {'target ' if '.' in code else ''}{code}"
            shown = f"{name}: {text}" if text else name
            return LinkView(
                self.root + path, shown, lang=lang, also=LinkView(iri, "UN SDG", external=True)
            )
        m = _WIKIDATA_RE.match(iri)
        if m:
            return LinkView(
                f"https://www.wikidata.org/wiki/{m.group(1)}",
                f"Wikidata {m.group(1)}",
                external=True,
                note=iri,
            )
        m = _GEONAMES_RE.match(iri)
        if m:
            return LinkView(
                f"https://www.geonames.org/{m.group(1)}",
                f"GeoNames {m.group(1)}",
                external=True,
                note=iri,
            )
        if text is None and (iri in CLASS_LABELS or iri.startswith(tuple(v.PREFIXES.values()))):
            text = term_label(iri, self.terms)
        return LinkView(iri, text or iri, external=True, lang=lang)


def value_view(term: object, linker: Linker) -> ValueView:
    if isinstance(term, NamedNode):
        return ValueView(link=linker.link(term.value))
    if isinstance(term, BlankNode):
        return ValueView(text="(an unnamed node)")
    assert isinstance(term, Literal)
    dt = term.datatype.value if term.datatype is not None else ""
    if dt == v.XSD + "boolean":
        return ValueView(text="yes" if term.value in ("true", "1") else "no")
    note = None
    if dt in (v.XSD + "date", v.XSD + "gYear", v.XSD + "dateTime"):
        note = {"date": "date", "gYear": "year", "dateTime": "date and time"}[dt.rsplit("#", 1)[1]]
    return ValueView(
        text=term.value, lang=term.language or None, long=len(term.value) > 140, note=note
    )


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
        values.sort(key=lambda val: (val.link.text if val.link else val.text or "").lower())
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


# -- listings ------------------------------------------------------------------------------


@dataclass
class ItemView:
    link: LinkView
    meta: list[str]
    summary: str | None
    summary_lang: str | None


@dataclass
class ListingView:
    title: str
    kicker: str
    topic: LinkView | None
    total: int
    number: int
    last: int
    items: list[ItemView]
    nav: list[tuple[str, str, str | None]]  # (rel, text, href or None when not a link)


def listing_view(
    page: Page, rd: ReleaseData, root: str, term_labels: Mapping[str, str], href_for_page
) -> ListingView:
    linker = Linker(rd, page.labels, root, term_labels)
    by_subject: dict[str, dict[str, list[object]]] = {}
    for t in page.triples:
        by_subject.setdefault(t.subject.value, {}).setdefault(t.predicate.value, []).append(
            t.object
        )
    items = []
    for m in page.members:
        props = by_subject.get(m, {})
        meta = []
        for kind in props.get(v.DCTERMS + "type", []):
            meta.append(linker.link(kind.value).text)  # type: ignore[attr-defined]
        places = sorted(linker.link(p.value).text for p in props.get(v.DCTERMS + "spatial", []))  # type: ignore[attr-defined]
        if places:
            meta.append(", ".join(places))
        years = [
            o.value[:4]
            for key in (v.SCHEMA + "startDate", v.SCHEMA + "endDate")  # type: ignore[attr-defined]
            for o in props.get(key, [])[:1]
        ]
        if years:
            meta.append("–".join(years))
        abstract = next(
            (o for o in props.get(v.DCTERMS + "abstract", []) if isinstance(o, Literal)), None
        )
        summary = None
        if abstract is not None:
            summary = abstract.value
            if len(summary) > SUMMARY_CHARS:
                summary = summary[:SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
        items.append(
            ItemView(
                linker.link(m), meta, summary, abstract.language if abstract is not None else None
            )
        )
    topic = linker.link(page.topic) if page.topic else None
    kicker = {
        "goal": "Sustainable Development Goal",
        "target": "SDG target",
        "objective": "Global Compact for Migration objective",
        "theme": "Thematic area",
        "place": "Place",
        "programme": "Programme",
        "agent": "Person or organisation",
        "submitter": "Submitter",
        "kind": "Kind of record",
        "listing": "Source listing page",
    }.get(page.facet.name, "Listing")
    nav: list[tuple[str, str, str | None]] = []
    links = page.nav()
    for rel, text in (("first", "First"), ("prev", "Previous"), ("next", "Next"), ("last", "Last")):
        n = links.get(rel)
        nav.append((rel, text, href_for_page(n) if n is not None and n != page.number else None))
    return ListingView(page.title, kicker, topic, page.total, page.number, page.last, items, nav)


# -- ontology and shapes ---------------------------------------------------------------------


@dataclass
class TermView:
    anchor: str
    iri: str
    label: str
    kind: str
    definition: str | None
    facts: list[tuple[str, list[LinkView]]]


class Triples:
    """Triples indexed by subject and predicate: the view builders look up a lot."""

    def __init__(self, triples: Iterable[Triple]):
        self.index: dict[str, dict[str, list[object]]] = {}
        for t in triples:
            self.index.setdefault(t.subject.value, {}).setdefault(t.predicate.value, []).append(
                t.object
            )

    def objects(self, s: str, p: str) -> list[object]:
        return self.index.get(s, {}).get(p, [])


def _objects(triples: Triples, s: str, p: str) -> list[object]:
    return triples.objects(s, p)


def ontology_view(
    triples: Sequence[Triple], rd: ReleaseData, root: str, term_labels: Mapping[str, str]
) -> tuple[dict[str, str], list[TermView]]:
    """The ontology's own metadata and one entry per term it defines."""
    idx = Triples(triples)
    labels = labels_of(triples)
    linker = Linker(rd, labels, root, term_labels)
    onto = rd.iris.ontology
    meta: dict[str, str] = {}
    for key, pred in (
        ("title", v.DCTERMS + "title"),
        ("description", v.DCTERMS + "description"),
        ("comment", v.RDFS + "comment"),
        ("version", v.OWL + "versionInfo"),
        ("license", v.DCTERMS + "license"),
    ):
        vals = _objects(idx, onto, pred)
        if vals:
            meta[key] = vals[0].value  # type: ignore[attr-defined]
    defined = sorted(
        {
            t.subject.value
            for t in triples
            if t.predicate.value == v.RDFS + "isDefinedBy" and t.object.value == onto
        }
    )
    kinds = {
        v.OWL + "Class": "Class",
        v.OWL + "ObjectProperty": "Object property",
        v.OWL + "DatatypeProperty": "Datatype property",
        v.RDF + "Property": "Property",
        v.OWL + "AnnotationProperty": "Annotation property",
    }
    terms = []
    for iri in defined:
        types = [kinds.get(o.value, local_name(o.value)) for o in _objects(idx, iri, v.RDF_TYPE)]  # type: ignore[attr-defined]
        label = labels.get(iri)
        definition = _objects(idx, iri, v.SKOS + "definition") or _objects(
            triples, iri, v.RDFS + "comment"
        )
        facts = []
        for name, pred in (
            ("Domain", v.RDFS + "domain"),
            ("Range", v.RDFS + "range"),
            ("Subclass of", v.RDFS + "subClassOf"),
            ("Subproperty of", v.RDFS + "subPropertyOf"),
            ("Equivalent to", v.OWL + "equivalentProperty"),
            ("Inverse of", v.OWL + "inverseOf"),
        ):
            objs = [o for o in _objects(idx, iri, pred) if isinstance(o, NamedNode)]
            if objs:
                facts.append((name, [_term_link(o.value, linker) for o in objs]))
        terms.append(
            TermView(
                local_name(iri),
                iri,
                label.value if label is not None else local_name(iri),
                ", ".join(sorted(types)) or "Term",
                definition[0].value if definition else None,
                facts,
            )
        )  # type: ignore[attr-defined]
    terms.sort(key=lambda term: (0 if "Class" in term.kind else 1, term.anchor.lower()))
    return meta, terms


def _term_link(iri: str, linker: Linker) -> LinkView:
    link = linker.link(iri)
    if link.external and link.text == iri:
        link.text = _curie(iri, linker.rd.iris.vocab)
    return link


def _curie(iri: str, vocab: str | None = None) -> str:
    """``pl:country``, ``schema:Place``: the short name a reader of Turtle knows."""
    prefixes = {**v.PREFIXES, **({"pl": vocab} if vocab else {})}
    for prefix, ns in prefixes.items():
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


@dataclass
class ShapePropView:
    anchor: str
    name: str
    path: str
    constraints: list[str]
    message: str | None
    severity: str


@dataclass
class ShapeView:
    anchor: str
    label: str
    targets: list[LinkView]
    message: str | None
    properties: list[ShapePropView]


_CONSTRAINTS = (
    "minCount",
    "maxCount",
    "datatype",
    "class",
    "nodeKind",
    "pattern",
    "minLength",
    "maxLength",
    "minInclusive",
    "maxInclusive",
    "hasValue",
    "in",
    "node",
    "lessThan",
    "lessThanOrEquals",
    "uniqueLang",
    "languageIn",
    "or",
)


def _rdf_list(idx: Triples, head: object, limit: int = 200) -> list[object]:
    out: list[object] = []
    node = head
    for _ in range(limit):
        if isinstance(node, NamedNode) and node.value == v.RDF + "nil":
            break
        firsts = _objects(idx, getattr(node, "value", ""), v.RDF + "first")
        if not firsts:
            break
        out.append(firsts[0])
        rests = _objects(idx, getattr(node, "value", ""), v.RDF + "rest")
        if not rests:
            break
        node = rests[0]
    return out


def _show(term: object, vocab: str | None = None) -> str:
    if isinstance(term, NamedNode):
        return _curie(term.value, vocab)
    if isinstance(term, Literal):
        return term.value
    return "…"


def shapes_view(
    triples: Sequence[Triple], rd: ReleaseData, root: str, term_labels: Mapping[str, str]
) -> list[ShapeView]:
    """Node shapes with their target classes and the rules (and messages) of their
    property shapes and SPARQL constraints."""
    idx = Triples(triples)
    vocab = rd.iris.vocab
    sh = v.SH
    labels = labels_of(triples)
    linker = Linker(rd, labels, root, term_labels)
    node_shapes = sorted(
        {
            t.subject.value
            for t in triples
            if t.predicate.value == v.RDF_TYPE and t.object.value == sh + "NodeShape"
        }
    )
    shapes = []
    for iri in node_shapes:
        props = []
        refs = [o for o in _objects(idx, iri, sh + "property")]
        refs += [o for o in _objects(idx, iri, sh + "sparql")]
        for ref in refs:
            rid = getattr(ref, "value", "")
            names = _objects(idx, rid, sh + "name")
            paths = _objects(idx, rid, sh + "path")
            messages = _objects(idx, rid, sh + "message")
            severity = _objects(idx, rid, sh + "severity")
            cons = []
            for c in _CONSTRAINTS:
                for o in _objects(idx, rid, sh + c):
                    if c in ("in", "languageIn", "or"):
                        shown = ", ".join(_show(x, vocab) for x in _rdf_list(idx, o))
                        cons.append(f"{c}: {shown}")
                    else:
                        cons.append(f"{c}: {_show(o, vocab)}")
            if _objects(idx, rid, sh + "select"):
                cons.append("a SPARQL rule")
            props.append(
                ShapePropView(
                    anchor=local_name(rid) if isinstance(ref, NamedNode) else "",
                    name=names[0].value
                    if names
                    else (local_name(rid) if isinstance(ref, NamedNode) else ""),  # type: ignore[attr-defined]
                    path=_show(paths[0], vocab) if paths else "",
                    constraints=cons,
                    message=messages[0].value if messages else None,  # type: ignore[attr-defined]
                    severity=local_name(severity[0].value) if severity else "Violation",  # type: ignore[attr-defined]
                )
            )
        label = labels.get(iri)
        targets = [
            _term_link(o.value, linker)
            for o in _objects(idx, iri, sh + "targetClass")
            if isinstance(o, NamedNode)
        ]
        messages = _objects(idx, iri, sh + "message")
        shapes.append(
            ShapeView(
                local_name(iri),
                label.value if label is not None else local_name(iri),
                targets,
                messages[0].value if messages else None,
                props,
            )
        )  # type: ignore[attr-defined]
    return shapes


# -- the dataset description (VoID/DCAT) ---------------------------------------------------------


@dataclass
class VoidView:
    title: str
    description: str | None
    dataset: str
    facts: list[tuple[str, list[ValueView]]]
    stats: list[tuple[str, str]]
    classes: list[tuple[LinkView, str]]
    properties: list[tuple[LinkView, str]]
    linksets: list[dict[str, object]]
    distributions: list[dict[str, object]]


def graph_meta(triples: Sequence[Triple], subject: str) -> dict[str, str]:
    """Label and comment of a graph's own description (the shapes graph's ``<>``)."""
    idx = Triples(triples)
    out: dict[str, str] = {}
    for key, pred in (("label", v.RDFS_LABEL), ("comment", v.RDFS + "comment")):
        vals = _objects(idx, subject, pred)
        if vals:
            out[key] = vals[0].value  # type: ignore[attr-defined]
    return out


def _first(idx: Triples, s: str, p: str) -> object | None:
    vals = _objects(idx, s, p)
    return vals[0] if vals else None


#: VoID facts whose values read best as the IRI itself (vocabularies, sources, licence).
_SHOW_IRI = {v.VOID + "vocabulary", v.DCTERMS + "source", v.DCTERMS + "license"}


def void_view(
    triples: Sequence[Triple], rd: ReleaseData, root: str, term_labels: Mapping[str, str]
) -> VoidView:
    idx = Triples(triples)
    ds = rd.iris.dataset
    labels = labels_of(triples)
    linker = Linker(rd, labels, root, term_labels)
    V, D, DC = v.VOID, v.DCAT, v.DCTERMS

    def text(s: str, p: str) -> str | None:
        o = _first(idx, s, p)
        return o.value if isinstance(o, Literal) else None

    facts: list[tuple[str, list[ValueView]]] = []
    for label, pred in (
        ("Licence", DC + "license"),
        ("Rights", DC + "rights"),
        ("Publisher", DC + "publisher"),
        ("Modified", DC + "modified"),
        ("Keywords", D + "keyword"),
        ("Sources", DC + "source"),
        ("SPARQL endpoint", V + "sparqlEndpoint"),
        ("URI space", V + "uriSpace"),
        ("Example resources", V + "exampleResource"),
        ("Vocabularies", V + "vocabulary"),
    ):
        values = []
        for o in _objects(idx, ds, pred):
            if pred == DC + "publisher" and isinstance(o, NamedNode):
                name = _first(idx, o.value, v.FOAF + "name")
                values.append(ValueView(text=name.value if isinstance(name, Literal) else o.value))
            elif isinstance(o, NamedNode) and pred in _SHOW_IRI:
                values.append(
                    ValueView(
                        link=LinkView(
                            linker.href(o.value), o.value, external=rd.local(o.value) is None
                        )
                    )
                )
            else:
                values.append(value_view(o, linker))
        if values:
            values.sort(key=lambda val: (val.link.text if val.link else val.text or "").lower())
            facts.append((label, values))
    stats = []
    for label, pred in (
        ("Triples", V + "triples"),
        ("Entities", V + "entities"),
        ("Distinct subjects", V + "distinctSubjects"),
        ("Distinct objects", V + "distinctObjects"),
        ("Properties", V + "properties"),
        ("Classes", V + "classes"),
    ):
        val = text(ds, pred)
        if val is not None:
            stats.append((label, val))

    def partitions(link_pred: str, key_pred: str, count_pred: str) -> list[tuple[LinkView, str]]:
        out = []
        for part in _objects(idx, ds, link_pred):
            pid = getattr(part, "value", "")
            key = _first(idx, pid, key_pred)
            if isinstance(key, NamedNode):
                link = _term_link(key.value, linker)
                out.append((link, text(pid, count_pred) or ""))
        out.sort(key=lambda item: item[0].text.lower())
        return out

    classes = partitions(V + "classPartition", V + "class", V + "entities")
    properties = partitions(V + "propertyPartition", V + "property", V + "triples")
    linksets = []
    for sub in _objects(idx, ds, V + "subset"):
        sid = getattr(sub, "value", "")
        target = _first(idx, sid, V + "objectsTarget")
        pred = _first(idx, sid, V + "linkPredicate")
        tid = getattr(target, "value", "")
        linksets.append(
            {
                "target": text(tid, DC + "title") or tid,
                "homepage": getattr(_first(idx, tid, v.FOAF + "homepage"), "value", None),
                "predicate": _term_link(pred.value, linker)
                if isinstance(pred, NamedNode)
                else None,
                "triples": text(sid, V + "triples") or "",
            }
        )
    linksets.sort(key=lambda item: str(item["target"]))
    distributions = []
    for dist in _objects(idx, ds, D + "distribution"):
        did = getattr(dist, "value", "")
        url = _first(idx, did, D + "downloadURL") or _first(idx, did, D + "accessURL")
        media = _first(idx, did, D + "mediaType")
        href = getattr(url, "value", "")
        distributions.append(
            {
                "title": text(did, DC + "title") or did,
                "href": linker.href(href) if href else None,
                "media": getattr(media, "value", "").rsplit("/media-types/", 1)[-1],
                "bytes": text(did, D + "byteSize"),
            }
        )
    distributions.sort(key=lambda item: str(item["title"]))
    return VoidView(
        text(ds, DC + "title") or "The dataset",
        text(ds, DC + "description"),
        ds,
        facts,
        stats,
        classes,
        properties,
        linksets,
        distributions,
    )
