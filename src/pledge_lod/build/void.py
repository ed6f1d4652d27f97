"""The dataset's description of itself: VoID with statistics and linksets, and DCAT.

The counts are those of :class:`~.graph_stats.GraphStats`, gathered while the data was
mapped; ``tests/test_void_counts.py`` holds them to SPARQL over the served store.
"""

from __future__ import annotations

from pathlib import Path

import rdflib
from rdflib import RDF, XSD, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, VOID

from ..rdf import vocab as v
from ..records import DatasetInfo
from ..release import layout
from .graph_stats import GraphStats

SD = Namespace(v.SD)
IANA = "https://www.iana.org/assignments/media-types/"

#: External datasets we link to: (key, title, uri space, homepage, link predicate). The
#: spaces are graph_stats.LINK_SPACES, whose links the mapping counts.
LINK_TARGETS = (
    ("wikidata", "Wikidata", v.WIKIDATA, "https://www.wikidata.org/", v.OWL + "sameAs"),
    ("geonames", "GeoNames", v.GEONAMES, "https://www.geonames.org/", v.OWL + "sameAs"),
    (
        "un-sdg-kos",
        "UN SDG Knowledge Organization System",
        v.SDG,
        "http://metadata.un.org/sdg",
        None,
    ),
)
KOS_CITATION = (
    "Amit Joshi, Luis Gonzalez Morales, Szymon Klarman, and Aaron Helton. 2019. A Knowledge "
    "Organization System for the United Nations Sustainable Development Goals. New York, NY. "
    "http://metadata.un.org/sdg"
)


def describe_dataset(
    stats: GraphStats,
    iris: v.Iris,
    info: DatasetInfo,
    created: str,
    dumps_dir: Path,
) -> str:
    """VoID + DCAT description of the release, as Turtle."""
    base = iris.base
    doc = URIRef(f"{base}/.well-known/void")
    ds = URIRef(iris.dataset)
    g = rdflib.Graph()
    for prefix, ns in (("void", VOID), ("dcat", DCAT), ("dcterms", DCTERMS), ("foaf", FOAF),
                       ("sd", SD), ("owl", OWL), ("xsd", XSD)):  # fmt: skip
        g.bind(prefix, ns)
    g.bind("pl", iris.vocab)

    g.add((doc, RDF.type, VOID.DatasetDescription))
    g.add((doc, DCTERMS.title, Literal(f"A VoID and DCAT description of {info.title}", lang="en")))
    g.add((doc, FOAF.primaryTopic, ds))

    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal(info.title, lang="en")))
    g.add((ds, rdflib.RDFS.label, Literal(info.title, lang="en")))
    if info.description:
        g.add((ds, DCTERMS.description, Literal(info.description, lang="en")))
    if info.licence:
        g.add((ds, DCTERMS.license, URIRef(info.licence)))
    if info.attribution:
        g.add((ds, DCTERMS.rights, Literal(info.attribution, lang="en")))
    publisher = URIRef(f"{base}/.well-known/void#publisher")
    g.add((ds, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, FOAF.name, Literal(info.publisher or info.title)))
    for kw in info.keywords:
        g.add((ds, DCAT.keyword, Literal(kw, lang="en")))
    for src in info.sources:
        g.add((ds, DCTERMS.source, URIRef(src)))
    g.add((ds, DCTERMS.modified, Literal(created, datatype=XSD.dateTime)))
    g.add((ds, FOAF.homepage, URIRef(f"{base}/")))
    g.add((ds, DCAT.landingPage, URIRef(f"{base}/")))
    g.add((ds, VOID.sparqlEndpoint, URIRef(iris.sparql)))
    g.add((ds, VOID.uriSpace, Literal(f"{base}/id/")))
    g.add((ds, VOID.uriRegexPattern, Literal(f"^{_regex_escape(base)}/id/")))
    g.add((ds, VOID.rootResource, URIRef(f"{base}/")))
    g.add((ds, VOID.feature, URIRef("http://www.w3.org/ns/formats/N-Triples")))
    g.add((ds, VOID.feature, URIRef("http://www.w3.org/ns/formats/Turtle")))
    g.add((ds, VOID.feature, URIRef("http://www.w3.org/ns/formats/JSON-LD")))
    g.add((ds, VOID.feature, URIRef("http://www.w3.org/ns/formats/RDF_XML")))
    for vocab in (iris.ontology, v.DCTERMS, v.SCHEMA, v.SKOS, v.FOAF, v.ORG, v.PROV, v.OWL):
        g.add((ds, VOID.vocabulary, URIRef(vocab.rstrip("#"))))

    # Statistics of the data graph, counted while it was mapped (see graph_stats).
    g.add((ds, VOID.triples, Literal(stats.triples)))
    g.add((ds, VOID.distinctSubjects, Literal(len(stats.subjects))))
    g.add((ds, VOID.properties, Literal(len(stats.properties))))
    g.add((ds, VOID.distinctObjects, Literal(len(stats.objects))))
    g.add((ds, VOID.classes, Literal(len(stats.classes))))
    g.add((ds, VOID.entities, Literal(stats.typed)))
    for n, cls in enumerate(sorted(stats.classes), 1):
        part = URIRef(f"{base}/.well-known/void#class-{n}")
        g.add((ds, VOID.classPartition, part))
        g.add((part, VOID["class"], URIRef(cls)))
        g.add((part, VOID.entities, Literal(stats.classes[cls])))
    for n, prop in enumerate(sorted(stats.properties), 1):
        part = URIRef(f"{base}/.well-known/void#property-{n}")
        g.add((ds, VOID.propertyPartition, part))
        g.add((part, VOID.property, URIRef(prop)))
        g.add((part, VOID.triples, Literal(stats.properties[prop])))

    # Example resources: the first pledge and the first place, by IRI.
    for cls in (iris.term("Pledge"), v.SCHEMA + "Place"):
        if cls in stats.first:
            g.add((ds, VOID.exampleResource, URIRef(stats.first[cls])))

    # Linksets to Wikidata, GeoNames and the UN SDG KOS, one per link predicate.
    for key, title, space, homepage, predicate in LINK_TARGETS:
        target = URIRef(f"{base}/.well-known/void#{key}")
        g.add((target, RDF.type, VOID.Dataset))
        g.add((target, DCTERMS.title, Literal(title, lang="en")))
        g.add((target, VOID.uriSpace, Literal(space)))
        g.add((target, FOAF.homepage, URIRef(homepage)))
        if key == "un-sdg-kos":
            g.add((target, DCTERMS.bibliographicCitation, Literal(KOS_CITATION)))
            g.add((target, VOID.sparqlEndpoint, URIRef(iris.sparql)))
        for pred in sorted(p for p, linked in stats.links if linked == space):
            if predicate and pred != predicate:
                continue
            local = pred.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            linkset = URIRef(f"{base}/.well-known/void#linkset-{key}-{local}")
            g.add((ds, VOID.subset, linkset))
            g.add((linkset, RDF.type, VOID.Linkset))
            g.add((linkset, VOID.subjectsTarget, ds))
            g.add((linkset, VOID.objectsTarget, target))
            g.add((linkset, VOID.linkPredicate, URIRef(pred)))
            g.add((linkset, VOID.triples, Literal(stats.links[(pred, space)])))

    # Distributions: the dumps and the SPARQL service.
    for key, (name, media) in layout.DUMP_FORMATS.items():
        for suffix, compress in (("", None), (".gz", "application/gzip")):
            fname = name + suffix
            path = dumps_dir / fname
            url = URIRef(f"{base}/dumps/{fname}")
            dist = URIRef(f"{base}/.well-known/void#dump-{key}{'-gz' if compress else ''}")
            g.add((ds, VOID.dataDump, url))
            g.add((ds, DCAT.distribution, dist))
            g.add((dist, RDF.type, DCAT.Distribution))
            g.add(
                (
                    dist,
                    DCTERMS.title,
                    Literal(f"Dump as {media}{' (gzip)' if compress else ''}", lang="en"),
                )
            )
            g.add((dist, DCAT.downloadURL, url))
            g.add((dist, DCAT.accessURL, url))
            g.add((dist, DCAT.mediaType, URIRef(IANA + media)))
            if compress:
                g.add((dist, DCAT.compressFormat, URIRef(IANA + compress)))
            if path.exists():
                g.add(
                    (
                        dist,
                        DCAT.byteSize,
                        Literal(path.stat().st_size, datatype=XSD.nonNegativeInteger),
                    )
                )
            if info.licence:
                g.add((dist, DCTERMS.license, URIRef(info.licence)))
    service = URIRef(f"{base}/.well-known/void#sparql-service")
    sparql_dist = URIRef(f"{base}/.well-known/void#sparql")
    g.add((ds, DCAT.distribution, sparql_dist))
    g.add((sparql_dist, RDF.type, DCAT.Distribution))
    g.add((sparql_dist, DCTERMS.title, Literal("SPARQL 1.1 endpoint", lang="en")))
    g.add((sparql_dist, DCAT.accessURL, URIRef(iris.sparql)))
    g.add((sparql_dist, DCAT.accessService, service))
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCTERMS.title, Literal("SPARQL 1.1 endpoint", lang="en")))
    g.add((service, DCAT.endpointURL, URIRef(iris.sparql)))
    g.add((service, DCAT.endpointDescription, URIRef(iris.sparql)))
    g.add((service, DCAT.servesDataset, ds))
    g.add((service, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/")))
    # The Reconciliation Service API 0.2 (web/reconcile.py), for OpenRefine and others.
    reconcile = URIRef(f"{base}/.well-known/void#reconciliation-service")
    g.add((reconcile, RDF.type, DCAT.DataService))
    g.add((reconcile, DCTERMS.title, Literal("Reconciliation Service API 0.2", lang="en")))
    g.add((reconcile, DCAT.endpointURL, URIRef(f"{base}/reconcile")))
    g.add((reconcile, DCAT.servesDataset, ds))
    g.add((reconcile, DCTERMS.conformsTo, URIRef("https://reconciliation-api.github.io/specs/0.2/")))
    return g.serialize(format="turtle")


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)
