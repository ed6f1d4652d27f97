"""The dataset's description of itself: VoID with statistics and linksets, and DCAT.

The counts are those of :class:`~.graph_stats.GraphStats`, gathered while the data was
mapped, or the previous release's moved by the changes (:mod:`.release_counts`);
``tests/test_void_counts.py`` holds them to SPARQL over the served store.

Besides the pledges' dataset (the data graph), it describes the dataset the SPARQL
endpoint serves (``#sparql-dataset``): every named graph with its triple count, the
default graph (their union), and the whole-dataset dumps. That description is itself
one of the graphs it counts; see :class:`DatasetCounts` for how its counts stay true.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import rdflib
from pyoxigraph import RdfFormat, parse, serialize
from rdflib import RDF, XSD, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, VOID

from ..rdf import vocab as v
from ..records import DatasetInfo
from ..release import layout
from ..release.history import CHANGESET_FILE, RDF_PATCH_MEDIA_TYPE
from .changes import VersionPlan
from .graph_stats import GraphCounts

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


@dataclass(frozen=True)
class DatasetCounts:
    """The endpoint's dataset in numbers: triples per named graph (by graph key), the
    default graph's triples (the union: triples in several graphs count once) and the
    quads (the sum over the graphs).

    The VoID graph is one of the graphs and states these counts, its own included. The
    build finds them as a fixed point (:func:`pledge_lod.build.endpoint_dataset.describe`):
    it writes the description, counts the graphs with it, and writes it again with
    those counts until what it states is what it is. Numbers are literals, so changing
    one changes no triple count, and the second round agrees."""

    graphs: dict[str, str]  # key -> graph IRI
    triples: dict[str, int]  # key -> triples of that graph
    default_graph_triples: int

    @property
    def quads(self) -> int:
        return sum(self.triples.values())


def describe_dataset(
    stats: GraphCounts,
    iris: v.Iris,
    info: DatasetInfo,
    created: str,
    dumps_dir: Path,
    counts: DatasetCounts | None = None,
    version: VersionPlan | None = None,
) -> str:
    """VoID + DCAT description of the release, as Turtle; given ``counts``, with the
    dataset the SPARQL endpoint serves; given ``version``, with the version chain."""
    g = rdflib.Graph()
    for prefix, ns in (("void", VOID), ("dcat", DCAT), ("dcterms", DCTERMS), ("foaf", FOAF),
                       ("sd", SD), ("owl", OWL), ("xsd", XSD)):  # fmt: skip
        g.bind(prefix, ns)
    g.bind("pl", iris.vocab)
    ds = URIRef(iris.dataset)
    _describe_data(g, iris, info, ds, created)
    _describe_statistics(g, iris, ds, stats)
    _describe_linksets(g, iris, ds, stats)
    _describe_dumps(g, iris, info, ds, dumps_dir)
    service = _describe_sparql_service(g, iris, ds)
    _describe_reconciliation_service(g, iris, ds)
    if counts is not None:
        _describe_endpoint_dataset(g, iris, info, ds, service, counts)
    if version is not None:
        _describe_versions(g, iris, ds, version, created)
    return _turtle(g)


def _turtle(g: rdflib.Graph) -> str:
    """The graph as Turtle with its bound prefixes, written by Oxigraph: rdflib's Turtle
    writer took about a second for VoID's few hundred triples (and many more on a busy
    machine), on every build. The lines are sorted first, so the bytes are the same for
    the same graph (the description has no blank nodes)."""
    lines = sorted(g.serialize(format="nt").splitlines(keepends=True))
    prefixes = dict(sorted((p, str(ns)) for p, ns in g.namespaces() if p in _PREFIXES))
    triples = parse("".join(lines), format=RdfFormat.N_TRIPLES)
    return serialize(triples, format=RdfFormat.TURTLE, prefixes=prefixes).decode("utf-8")


#: The prefixes VoID's Turtle declares (rdflib binds many more by default).
_PREFIXES = {"void", "dcat", "dcterms", "foaf", "sd", "owl", "xsd", "pl", "rdf", "rdfs"}


def _describe_data(
    g: rdflib.Graph, iris: v.Iris, info: DatasetInfo, ds: URIRef, created: str
) -> None:
    """The description document, and the pledges' dataset: title, licence, publisher,
    keywords, sources, URI space, features and vocabularies."""
    base = iris.base
    doc = URIRef(f"{base}/.well-known/void")
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
    for feature in ("N-Triples", "Turtle", "JSON-LD", "RDF_XML"):
        g.add((ds, VOID.feature, URIRef(f"http://www.w3.org/ns/formats/{feature}")))
    for vocab in (iris.ontology, v.DCTERMS, v.SCHEMA, v.SKOS, v.FOAF, v.ORG, v.PROV, v.OWL):
        g.add((ds, VOID.vocabulary, URIRef(vocab.rstrip("#"))))


def _describe_statistics(g: rdflib.Graph, iris: v.Iris, ds: URIRef, stats: GraphCounts) -> None:
    """Statistics of the data graph, counted while it was mapped (see graph_stats): its
    size, class and property partitions, and example resources."""
    base = iris.base
    g.add((ds, VOID.triples, Literal(stats.triples)))
    g.add((ds, VOID.distinctSubjects, Literal(stats.subjects)))
    g.add((ds, VOID.properties, Literal(len(stats.properties))))
    g.add((ds, VOID.distinctObjects, Literal(stats.objects)))
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


def _describe_linksets(g: rdflib.Graph, iris: v.Iris, ds: URIRef, stats: GraphCounts) -> None:
    """Linksets to Wikidata, GeoNames and the UN SDG KOS, one per link predicate."""
    base = iris.base
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


def _describe_dumps(
    g: rdflib.Graph, iris: v.Iris, info: DatasetInfo, ds: URIRef, dumps_dir: Path
) -> None:
    """The data graph's dumps as distributions, plain and gzipped, with their sizes."""
    base = iris.base
    for key, (name, media) in layout.DUMP_FORMATS.items():
        for suffix, compress in (("", None), (".gz", "application/gzip")):
            fname = name + suffix
            path = dumps_dir / fname
            url = URIRef(f"{base}/dumps/{fname}")
            dist = URIRef(f"{base}/.well-known/void#dump-{key}{'-gz' if compress else ''}")
            title = f"Dump as {media}{' (gzip)' if compress else ''}"
            g.add((ds, VOID.dataDump, url))
            g.add((ds, DCAT.distribution, dist))
            g.add((dist, RDF.type, DCAT.Distribution))
            g.add((dist, DCTERMS.title, Literal(title, lang="en")))
            g.add((dist, DCAT.downloadURL, url))
            g.add((dist, DCAT.accessURL, url))
            g.add((dist, DCAT.mediaType, URIRef(IANA + media)))
            if compress:
                g.add((dist, DCAT.compressFormat, URIRef(IANA + compress)))
            if path.exists():
                size = Literal(path.stat().st_size, datatype=XSD.nonNegativeInteger)
                g.add((dist, DCAT.byteSize, size))
            if info.licence:
                g.add((dist, DCTERMS.license, URIRef(info.licence)))


def _describe_sparql_service(g: rdflib.Graph, iris: v.Iris, ds: URIRef) -> URIRef:
    """The SPARQL endpoint as a distribution and a DCAT data service; returns the service."""
    base = iris.base
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
    return service


def _describe_reconciliation_service(g: rdflib.Graph, iris: v.Iris, ds: URIRef) -> None:
    """The Reconciliation Service API 0.2 (web/reconcile.py), for OpenRefine and others."""
    base = iris.base
    reconcile = URIRef(f"{base}/.well-known/void#reconciliation-service")
    g.add((reconcile, RDF.type, DCAT.DataService))
    g.add((reconcile, DCTERMS.title, Literal("Reconciliation Service API 0.2", lang="en")))
    g.add((reconcile, DCAT.endpointURL, URIRef(f"{base}/reconcile")))
    g.add((reconcile, DCAT.servesDataset, ds))
    spec = URIRef("https://reconciliation-api.github.io/specs/0.2/")
    g.add((reconcile, DCTERMS.conformsTo, spec))


GRAPH_TITLES = {
    "data": "the pledges and the registries they link to",
    "ontology": "the project's ontology",
    "shapes": "the SHACL shapes the data is validated against",
    "sdg-kos": "the UN SDG Knowledge Organization System",
    "void": "this description (VoID and DCAT)",
}


def _describe_endpoint_dataset(
    g: rdflib.Graph,
    iris: v.Iris,
    info: DatasetInfo,
    ds: URIRef,
    service: URIRef,
    counts: DatasetCounts,
) -> None:
    """The dataset the endpoint serves: its named graphs (the data graph is ``ds``)
    with their counts, its default graph, and its dumps. The dumps' sizes are not
    stated: the dumps hold this description, and the manifest gives their sizes."""
    base = iris.base
    eds = URIRef(f"{base}/.well-known/void#sparql-dataset")
    for cls in (VOID.Dataset, DCAT.Dataset, SD.Dataset):
        g.add((eds, RDF.type, cls))
    title = f"{info.title}: the dataset of the SPARQL endpoint"
    g.add((eds, DCTERMS.title, Literal(title, lang="en")))
    g.add((eds, DCTERMS.description, Literal(
        "Every named graph the SPARQL endpoint serves: " + "; ".join(
            f"<{counts.graphs[k]}>, {GRAPH_TITLES.get(k, k)}" for k in sorted(counts.graphs))
        + ". Its default graph is their union.", lang="en")))  # fmt: skip
    g.add((eds, VOID.sparqlEndpoint, URIRef(iris.sparql)))
    g.add((eds, VOID.triples, Literal(counts.quads)))
    g.add((service, DCAT.servesDataset, eds))
    default = URIRef(f"{base}/.well-known/void#sparql-default-graph")
    g.add((eds, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, VOID.triples, Literal(counts.default_graph_triples)))
    union = "The union of the named graphs; a triple in several graphs counts once."
    g.add((default, rdflib.RDFS.comment, Literal(union, lang="en")))
    for key in sorted(counts.graphs):
        named = URIRef(f"{base}/.well-known/void#graph-{key}")
        content = ds if key == "data" else URIRef(f"{base}/.well-known/void#graph-{key}-content")
        g.add((eds, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(counts.graphs[key])))
        g.add((named, SD.graph, content))
        g.add((eds, VOID.subset, content))
        g.add((content, RDF.type, SD.Graph))
        g.add((content, RDF.type, VOID.Dataset))
        if key != "data":  # the data graph's description is the pledges' dataset above
            g.add((content, DCTERMS.title, Literal(GRAPH_TITLES.get(key, key), lang="en")))
            g.add((content, VOID.triples, Literal(counts.triples[key])))
    for key, (name, media) in layout.DATASET_DUMPS.items():
        url = URIRef(f"{base}/dumps/{name}")
        dist = URIRef(f"{base}/.well-known/void#dataset-dump-{key}")
        g.add((eds, VOID.dataDump, url))
        g.add((eds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(f"The whole dataset as {media} (gzip)", lang="en")))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.accessURL, url))
        g.add((dist, DCAT.mediaType, URIRef(IANA + media)))
        g.add((dist, DCAT.compressFormat, URIRef(IANA + "application/gzip")))


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


RDF_PATCH_SPEC = "https://afs.github.io/rdf-patch/"
#: DCAT 3's versioning terms, which rdflib's closed DCAT namespace (DCAT 2) lacks.
DCAT3 = Namespace(str(DCAT))


def version_iri(base: str, number: int) -> str:
    """The IRI of one version of the dataset (the server resolves ``/releases/{n}``)."""
    return f"{base}/releases/{number}"


def _describe_versions(
    g: rdflib.Graph, iris: v.Iris, ds: URIRef, plan: VersionPlan, created: str
) -> None:
    """The DCAT version chain: the dataset is this version (``dcat:version``, its
    predecessor as ``dcat:previousVersion``) and has every recorded version, each a
    dataset with its predecessor and, while its release is kept, its dumps and its
    changeset (an RDF Patch against its predecessor) as distributions."""
    base = iris.base
    g.add((ds, DCAT3.version, Literal(str(plan.number))))
    if plan.previous is not None:
        g.add((ds, DCAT3.previousVersion, URIRef(version_iri(base, plan.previous))))
    versions = [*plan.earlier, (plan.number, "", created, True)]
    previous: int | None = None
    for number, _rid, issued, kept in versions:
        node = URIRef(version_iri(base, number))
        g.add((ds, DCAT3.hasVersion, node))
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCAT3.isVersionOf, ds))
        g.add((node, DCAT3.version, Literal(str(number))))
        g.add((node, DCTERMS.issued, Literal(issued, datatype=XSD.dateTime)))
        if previous is not None:
            g.add((node, DCAT3.previousVersion, URIRef(version_iri(base, previous))))
        previous = number
        if kept:
            _describe_version_files(g, str(node))
    s = plan.summary
    text = (f"Version {plan.number}: {s['records_added']} records added, "
            f"{s['records_changed']} changed, {s['records_removed']} removed; "
            f"{s['triples_added']} triples added, {s['triples_removed']} removed.")  # fmt: skip
    g.add((URIRef(version_iri(base, plan.number)), DCTERMS.description, Literal(text, lang="en")))


def _describe_version_files(g: rdflib.Graph, node: str) -> None:
    """One version's N-Triples dump and changeset, as distributions."""
    dump = URIRef(f"{node}/{layout.DUMPS_DIR}/{layout.DUMP_FORMATS['nt'][0]}")
    dist = URIRef(f"{node}#dump-nt")
    g.add((URIRef(node), DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCTERMS.title, Literal("Dump as application/n-triples", lang="en")))
    g.add((dist, DCAT.downloadURL, dump))
    g.add((dist, DCAT.mediaType, URIRef(IANA + "application/n-triples")))
    patch = URIRef(f"{node}/{CHANGESET_FILE}")
    dist = URIRef(f"{node}#changeset")
    g.add((URIRef(node), DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    title = "The changes since the previous version, as an RDF Patch (gzip)"
    g.add((dist, DCTERMS.title, Literal(title, lang="en")))
    g.add((dist, DCAT.downloadURL, patch))
    # application/rdf-patch is not registered with IANA: stated as a format, not as
    # an IANA media type.
    g.add((dist, DCTERMS["format"], Literal(RDF_PATCH_MEDIA_TYPE)))
    g.add((dist, DCTERMS.conformsTo, URIRef(RDF_PATCH_SPEC)))
    g.add((dist, DCAT.compressFormat, URIRef(IANA + "application/gzip")))
