"""Paged listings of pledges, as HTML, RDF and Atom.

URL scheme (documented in the README's "Web" section and on the home page):

=============================  ===================================================
``/pledges``                   all pledges and practices
``/goal/{n}``                  those for SDG goal n (``http://metadata.un.org/sdg/n``)
``/target/{code}``             those for SDG target code (``.../sdg/10.7``)
``/objective/{n}``             those addressing GCM objective n
``/theme/{slug}``              those in a thematic area
``/place/{slug}``              those in a place, including the places in a country
``/programme/{slug}``          those in a programme
``/agent/{slug}``              those an agent committed to, submitted or partners in
``/submitter/{slug}``          those an agent submitted
``/kind/{slug}``               those of a kind (pledge, practice, policy, programme)
``/listing/{slug}``            those taken from a source listing page
=============================  ===================================================

Each negotiates HTML and the RDF formats, has one URL per format by extension
(``/goal/5.ttl``) and an Atom feed (``/goal/5.atom``); ``?page=N`` pages all of them.

Paging without putting request values into query text: the first time a listing is
asked for (per release and worker), one query fetches its members, which are sorted here
and kept compactly (one bytes blob, common prefix stripped: about 40 MB for a million
pledges) in a byte-bounded LRU; a page is then a slice, and each member's triples come
from a query with the member bound as ``$this``. (Sorting in SPARQL, or filtering a
range of IRIs per page, costs seconds per ten thousand members on the read-only store.)
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from array import array
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode, Triple

from .. import __version__
from ..rdf import vocab as v
from ..store import Snapshot
from .context import HYDRA
from .labels import labels_of
from .site import DatasetInfo, ReleaseData

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
GOAL_RE = re.compile(r"^(?:[1-9]|1[0-7])$")
TARGET_RE = re.compile(r"^(?:[1-9]|1[0-7])\.(?:[1-9][0-9]?|[a-z])$")
MAX_SLUG = 200
ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Facet:
    """One way of listing pledges: by what they link to."""

    name: str
    #: SPARQL group pattern over the data graph; ``?s`` the pledge, ``$this`` the topic.
    pattern: str
    #: ``{label}``/``{slug}`` template for the listing's title.
    title: str
    #: The kind of ``/id/{kind}/{slug}`` the topic is, or None for the UN's goals/targets.
    thing_kind: str | None = None
    slug_re: re.Pattern[str] = SLUG_RE

    @property
    def bound(self) -> bool:
        return "$this" in self.pattern

    def valid(self, slug: str) -> bool:
        return len(slug) <= MAX_SLUG and bool(self.slug_re.match(slug))

    def topic(self, iris: v.Iris, slug: str) -> str | None:
        if self.name == "goal":
            return v.sdg_goal(int(slug))
        if self.name == "target":
            return v.sdg_target(slug)
        if self.thing_kind:
            return iris.thing(self.thing_kind, slug)
        return None

    def path(self, slug: str | None) -> str:
        return "/pledges" if slug is None else f"/{self.name}/{slug}"


# The predicates of the facets are used by pledges only, so their patterns need no type check.
ALL = Facet("pledges", "?s a @PLEDGE@ .", "All pledges and practices")
FACETS: dict[str, Facet] = {
    f.name: f
    for f in (
        Facet(
            "goal",
            "?s pl:sdgGoal $this .",
            "Pledges and practices for SDG {slug}: {label}",
            slug_re=GOAL_RE,
        ),
        Facet(
            "target",
            "?s pl:sdgTarget $this .",
            "Pledges and practices for SDG target {slug}: {label}",
            slug_re=TARGET_RE,
        ),
        Facet(
            "objective",
            "?s pl:gcmObjective $this .",
            "Pledges and practices for GCM {label}",
            "objective",
        ),
        Facet(
            "theme",
            "?s pl:thematicArea $this .",
            "Pledges and practices on {label}",
            "theme",
        ),
        Facet(
            "place",
            "{ ?s dcterms:spatial $this } UNION { ?in pl:country $this . ?s dcterms:spatial ?in }",
            "Pledges and practices in {label}",
            "place",
        ),
        Facet(
            "programme",
            "?s pl:programme $this .",
            "Pledges and practices in the programme {label}",
            "programme",
        ),
        Facet(
            "agent",
            "?s pl:committedBy|pl:submittedBy|pl:partner $this .",
            "Pledges and practices of {label}",
            "agent",
        ),
        Facet(
            "submitter",
            "?s pl:submittedBy $this .",
            "Pledges and practices submitted by {label}",
            "agent",
        ),
        Facet("kind", "?s dcterms:type $this .", "Records of the kind “{label}”", "kind"),
        Facet(
            "listing",
            "?s dcterms:source $this .",
            "Records taken from “{label}”",
            "listing",
        ),
    )
}

#: The listing a resource document links to for "all of its pledges", by kind.
KIND_FACET = {
    "place": "place",
    "agent": "agent",
    "programme": "programme",
    "theme": "theme",
    "objective": "objective",
    "kind": "kind",
    "listing": "listing",
}

_SDG_RE = re.compile(
    r"^http://metadata\.un\.org/sdg/((?:[1-9]|1[0-7])(?:\.(?:[1-9][0-9]?|[a-z]))?)$"
)


def sdg_listing(iri: str) -> str | None:
    """Our listing path for a UN SDG goal or target IRI (``/goal/5``, ``/target/10.7``)."""
    m = _SDG_RE.match(iri)
    if not m:
        return None
    code = m.group(1)
    return f"/target/{code}" if "." in code else f"/goal/{code}"


class NoSuchPage(Exception):
    """A page number past the last page."""


@dataclass(frozen=True)
class Index:
    """A listing's members in order, compactly: ``prefix`` + each slice of ``blob``."""

    total: int
    prefix: str
    blob: bytes
    offsets: array  # start of each member in blob, then the end (total + 1 entries)

    @classmethod
    def of(cls, iris: set[str]) -> Index:
        ordered = sorted(iris)
        # Character by character on purpose: the shared start of IRIs, not a path.
        prefix = os.path.commonprefix([ordered[0], ordered[-1]]) if ordered else ""  # noqa: RUF071
        cut = len(prefix)
        parts = [iri[cut:].encode("utf-8") for iri in ordered]
        offsets = array("Q", [0])
        for part in parts:
            offsets.append(offsets[-1] + len(part))
        return cls(len(ordered), prefix, b"".join(parts), offsets)

    def members(self, start: int, stop: int) -> list[str]:
        return [
            self.prefix + self.blob[self.offsets[i] : self.offsets[i + 1]].decode("utf-8")
            for i in range(max(0, start), min(stop, self.total))
        ]

    @property
    def nbytes(self) -> int:
        return len(self.blob) + self.offsets.itemsize * len(self.offsets) + 200


def topic_exists(snap: Snapshot, rd: ReleaseData, facet: Facet, topic: str | None) -> bool:
    if topic is None:
        return True
    query = {"goal": rd.queries.is_goal, "target": rd.queries.is_target}.get(
        facet.name, rd.queries.exists
    )
    return rd.ask(snap, query, topic)


def index(snap: Snapshot, rd: ReleaseData, facet: Facet, topic: str | None) -> Index:
    """The listing's members, sorted (cached per release and worker)."""

    def make() -> Index:
        bindings = {"this": NamedNode(topic)} if facet.bound and topic else None
        rows = snap.select(rd.queries.listing_index(facet.pattern, facet.bound), bindings).rows
        return Index.of({row["s"].value for row in rows})

    return rd.listings.get_or_make((facet.name, topic), make)


@dataclass
class Page:
    """One page of one listing, with everything every format needs."""

    facet: Facet
    slug: str | None
    topic: str | None
    number: int
    size: int
    total: int
    members: list[str]
    triples: list[Triple]
    title: str
    topic_label: str | None
    base: str
    labels: dict[str, Literal] = field(default_factory=dict)

    @property
    def last(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def path(self) -> str:
        return self.facet.path(self.slug)

    def page_path(self, n: int, ext: str | None = None) -> str:
        return f"{self.path}{'.' + ext if ext else ''}?page={n}"

    def nav(self) -> dict[str, int]:
        """first/prev/next/last page numbers that exist."""
        out = {"first": 1, "last": self.last}
        if self.number > 1:
            out["prev"] = self.number - 1
        if self.number < self.last:
            out["next"] = self.number + 1
        return out


def build_page(
    snap: Snapshot, rd: ReleaseData, facet: Facet, slug: str | None, number: int, size: int
) -> Page | None:
    """The page, None if the topic does not exist; NoSuchPage past the last page."""
    topic = facet.topic(rd.iris, slug) if slug is not None else None
    if not topic_exists(snap, rd, facet, topic):
        return None
    idx = index(snap, rd, facet, topic)
    last = max(1, math.ceil(idx.total / size))
    if number > last:
        raise NoSuchPage(number)
    members = idx.members((number - 1) * size, number * size)
    triples: list[Triple] = []
    for m in members:
        triples.extend(snap.construct(rd.queries.member, {"this": NamedNode(m)}))
    topic_label = None
    if topic:
        topic_triples = snap.construct(rd.queries.topic, {"this": NamedNode(topic)})
        triples.extend(topic_triples)
        label = labels_of(topic_triples).get(topic)
        topic_label = label.value if label is not None else slug
    title = facet.title.format(label=topic_label or "", slug=slug or "")
    page = Page(
        facet, slug, topic, number, size, idx.total, members, [], title, topic_label, rd.base
    )
    triples.extend(_collection_triples(page, rd))
    page.triples = triples
    page.labels = labels_of(triples)
    return page


def _collection_triples(page: Page, rd: ReleaseData) -> list[Triple]:
    base = rd.base
    coll = NamedNode(base + page.path)
    view = NamedNode(base + page.page_path(page.number))
    h = {
        name: NamedNode(HYDRA + name)
        for name in (
            "Collection",
            "PartialCollectionView",
            "member",
            "totalItems",
            "view",
            "first",
            "previous",
            "next",
            "last",
        )
    }
    rdf_type = NamedNode(v.RDF_TYPE)
    out = [
        Triple(coll, rdf_type, h["Collection"]),
        Triple(coll, NamedNode(v.DCTERMS + "title"), Literal(page.title, language="en")),
        Triple(coll, NamedNode(v.RDFS_LABEL), Literal(page.title, language="en")),
        Triple(
            coll, h["totalItems"], Literal(str(page.total), datatype=NamedNode(v.XSD + "integer"))
        ),
        Triple(coll, NamedNode(v.DCTERMS + "isPartOf"), NamedNode(rd.iris.dataset)),
        Triple(coll, h["view"], view),
        Triple(view, rdf_type, h["PartialCollectionView"]),
    ]
    if page.topic:
        out.append(Triple(coll, NamedNode(v.DCTERMS + "subject"), NamedNode(page.topic)))
    out += [Triple(coll, h["member"], NamedNode(m)) for m in page.members]
    names = {"first": "first", "prev": "previous", "next": "next", "last": "last"}
    for rel, n in page.nav().items():
        out.append(Triple(view, h[names[rel]], NamedNode(base + page.page_path(n))))
    return out


# -- Atom ------------------------------------------------------------------------------


_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ATOM_RELS = {"first": "first", "prev": "previous", "next": "next", "last": "last"}


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        node.text = text
    return node


def atom(page: Page, rd: ReleaseData, info: DatasetInfo) -> bytes:
    """The page as an Atom 1.0 feed (RFC 4287), paged as RFC 5005 describes."""
    ET.register_namespace("", ATOM_NS)
    feed = _feed_head(page, rd, info)
    by_subject: dict[str, dict[str, list[Literal | NamedNode]]] = {}
    for t in page.triples:
        by_subject.setdefault(t.subject.value, {}).setdefault(t.predicate.value, []).append(
            t.object
        )  # type: ignore[arg-type]
    for member in page.members:
        _entry(feed, member, by_subject.get(member, {}), page, rd)
    body = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")


def _feed_head(page: Page, rd: ReleaseData, info: DatasetInfo) -> ET.Element:
    """The feed's own elements: id, title, author, the paging links, rights."""
    base = rd.base
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    feed.set(_XML_LANG, "en")
    _el(feed, "id", f"{base}{page.path}.atom")
    _el(feed, "title", page.title)
    if page.topic_label and page.topic:
        _el(feed, "subtitle", f"{page.total} records about {page.topic_label} <{page.topic}>")
    else:
        _el(feed, "subtitle", f"{page.total} records in {info.title}")
    _el(feed, "updated", rd.release.created)
    author = _el(feed, "author")
    _el(author, "name", info.publisher or info.title)
    _el(author, "uri", f"{base}/")
    _el(
        feed,
        "link",
        rel="self",
        type="application/atom+xml",
        href=f"{base}{page.page_path(page.number, 'atom')}",
    )
    _el(feed, "link", rel="alternate", type="text/html", href=f"{base}{page.path}")
    _el(feed, "link", rel="related", type="text/turtle", href=f"{base}{page.path}.ttl")
    for rel, n in page.nav().items():
        _el(
            feed,
            "link",
            rel=_ATOM_RELS[rel],
            type="application/atom+xml",
            href=f"{base}{page.page_path(n, 'atom')}",
        )
    if info.licence:
        _el(feed, "rights", f"Licence: {info.licence}")
    _el(feed, "generator", "pledge_lod", uri=f"{base}/", version=__version__)
    return feed


def _entry(
    feed: ET.Element,
    member: str,
    props: dict[str, list[Literal | NamedNode]],
    page: Page,
    rd: ReleaseData,
) -> None:
    """One member as an entry: its title, links to its document, summary, SDG codes."""
    entry = _el(feed, "entry")
    _el(entry, "id", member)
    title = page.labels.get(member)
    node = _el(entry, "title", title.value if title is not None else member)
    if title is not None and title.language:
        node.set(_XML_LANG, title.language)
    _el(entry, "updated", rd.release.created)
    local = rd.local(member)
    doc = rd.base + local.replace("/id/", "/doc/", 1) if local else member
    _el(entry, "link", rel="alternate", type="text/html", href=doc)
    _el(entry, "link", rel="describedby", type="text/turtle", href=f"{doc}.ttl")
    abstract = [o for o in props.get(v.DCTERMS + "abstract", []) if isinstance(o, Literal)]
    if abstract:
        s = _el(entry, "summary", abstract[0].value, type="text")
        if abstract[0].language:
            s.set(_XML_LANG, abstract[0].language)
    for obj in props.get(rd.iris.term("sdgGoal"), []) + props.get(rd.iris.term("sdgTarget"), []):
        code = obj.value.rsplit("/", 1)[-1]
        _el(entry, "category", term=obj.value, scheme=v.SDG, label=f"SDG {code}")
