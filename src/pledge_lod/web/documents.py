"""What the document about one resource holds.

* the resource's own triples (from the data graph);
* the types and English (or untagged) labels of everything it links to, so that a
  client can show names without one request per link;
* the links back to it, bounded by ``settings.backlink_limit`` - pledges first, then
  other resources (the places in a country, the programmes an agent runs) - and, for
  kinds that have a listing, the listing's URL and total as ``rdfs:seeAlso``;
* for UN SDG goals and targets it links to, ``rdfs:seeAlso`` our listing about them;
* the document's own metadata: ``foaf:primaryTopic``, ``dcterms:isPartOf`` the dataset,
  the licence, and when it was last modified: the date of the version that last changed
  the resource (``dcterms:modified``, ``dcat:version`` its number, ``rdfs:seeAlso`` the
  page of its versions), or the release's creation when no history is recorded.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Triple

from ..rdf import vocab as v
from ..release.history import History
from ..store import Snapshot
from .changes import LastChange, history_path, last_change
from .listings import FACETS, KIND_FACET, SLUG_RE, index, sdg_listing
from .serialize import ordered
from .site import ReleaseData

MAX_SLUG = 200

_TYPE = NamedNode(v.RDF_TYPE)
_LABEL = NamedNode(v.RDFS_LABEL)
_SEE_ALSO = NamedNode(v.RDFS + "seeAlso")


def valid_slug(slug: str) -> bool:
    return len(slug) <= MAX_SLUG and bool(SLUG_RE.match(slug))


@dataclass
class Backlinks:
    """Subjects that link to the resource by one predicate (bounded)."""

    predicate: str
    subjects: list[tuple[str, Literal | None]]
    pledges: bool


@dataclass
class Description:
    kind: str
    slug: str
    thing: str
    doc: str
    triples: list[Triple]
    backlinks: list[Backlinks]
    truncated: bool
    listing: str | None  # path of the paged listing of its pledges
    listing_total: int | None
    #: The version that last changed it (None: no history recorded for this release).
    last_change: LastChange | None = None


def _group_back(rows: list[dict], limit: int, pledges: bool) -> tuple[list[Backlinks], bool]:
    """Rows (s, p, l), in any order -> per predicate, at most ``limit`` subjects overall
    (the first ``limit`` by IRI among those the rows hold)."""
    subjects: OrderedDict[str, None] = OrderedDict()
    truncated = False
    groups: OrderedDict[str, OrderedDict[str, Literal | None]] = OrderedDict()
    for row in sorted(rows, key=lambda r: (r["s"].value, r["p"].value)):
        s = row["s"].value
        if s not in subjects:
            if len(subjects) >= limit:
                truncated = True
                continue
            subjects[s] = None
        label = row.get("l")
        groups.setdefault(row["p"].value, OrderedDict())
        if groups[row["p"].value].get(s) is None:
            groups[row["p"].value][s] = label if isinstance(label, Literal) else None
    out = [Backlinks(p, list(members.items()), pledges) for p, members in groups.items()]
    return out, truncated


def describe(
    snap: Snapshot, rd: ReleaseData, kind: str, slug: str, limit: int, page_size: int,
    history: History | None = None,
) -> Description | None:
    """The document about ``/id/{kind}/{slug}``, or None if there is no such resource."""
    thing = rd.iris.thing(kind, slug)
    this = NamedNode(thing)
    q = rd.queries
    own = snap.construct(q.own, {"this": this})
    if not own:
        return None
    triples: list[Triple] = list(own)
    linked = snap.construct(q.linked, {"this": this})
    triples.extend(linked)

    groups, truncated = _backlinks(snap, rd, this, limit)
    triples.extend(_backlink_triples(groups, this, NamedNode(rd.iris.term("Pledge"))))

    # Our listings about the UN goals and targets it links to.
    for t in own:
        if isinstance(t.object, NamedNode):
            path = sdg_listing(t.object.value)
            if path:
                triples.append(Triple(t.object, _SEE_ALSO, NamedNode(rd.base + path)))

    doc = NamedNode(rd.iris.doc(kind, slug))
    listing = listing_total = None
    facet_name = KIND_FACET.get(kind)
    if facet_name:
        facet = FACETS[facet_name]
        listing = facet.path(slug)
        listing_total = index(snap, rd, facet, thing).total
        triples.append(Triple(doc, _SEE_ALSO, NamedNode(rd.base + listing)))
    last = last_change(history, rd.release, thing) if history is not None else None
    triples.extend(document_metadata(rd, doc, this, snap, last))
    if last is not None:
        triples.append(Triple(doc, _SEE_ALSO, NamedNode(rd.base + history_path(kind, slug))))
    return Description(
        kind,
        slug,
        thing,
        doc.value,
        ordered(triples, thing),
        groups,
        truncated,
        listing,
        listing_total,
        last,
    )


def _backlinks(
    snap: Snapshot, rd: ReleaseData, this: NamedNode, limit: int
) -> tuple[list[Backlinks], bool]:
    """The links back to ``this``, pledges first, at most ``limit`` subjects a group, and
    whether some were left out. Rows are (subject, predicate) pairs; ask for more rows
    than subjects so that a pledge linking by two predicates does not eat the limit."""
    limit = max(1, limit)
    q = rd.queries
    rows = snap.select(q.back_pledges(limit * 4 + 1), {"this": this}).rows
    back, truncated = _group_back(rows, limit, pledges=True)
    if len(rows) > limit * 4:
        truncated = True
    rows = snap.select(q.back_others(limit * 4 + 1), {"this": this}).rows
    others, more = _group_back(rows, limit, pledges=False)
    return back + others, truncated or more or len(rows) > limit * 4


def _backlink_triples(
    groups: list[Backlinks], this: NamedNode, pledge_class: NamedNode
) -> list[Triple]:
    """The links back as triples, with the type of pledges and every subject's label."""
    out = []
    for group in groups:
        p = NamedNode(group.predicate)
        for s, label in group.subjects:
            node = NamedNode(s)
            out.append(Triple(node, p, this))
            if group.pledges:
                out.append(Triple(node, _TYPE, pledge_class))
            if label is not None:
                out.append(Triple(node, _LABEL, label))
    return out


def document_metadata(
    rd: ReleaseData, doc: NamedNode, topic: NamedNode, snap: Snapshot,
    last: LastChange | None = None,
) -> list[Triple]:
    """``<doc> a foaf:Document; foaf:primaryTopic <topic>; dcterms:isPartOf <dataset>;
    dcterms:license ...; dcterms:modified <when it last changed>`` (and ``dcat:version``
    the version that changed it, when the history says)."""
    info = rd.dataset(snap)
    modified = last.created if last is not None else rd.release.created
    out = [
        Triple(doc, _TYPE, NamedNode(v.FOAF + "Document")),
        Triple(doc, NamedNode(v.FOAF + "primaryTopic"), topic),
        Triple(doc, NamedNode(v.DCTERMS + "isPartOf"), NamedNode(rd.iris.dataset)),
        Triple(
            doc,
            NamedNode(v.DCTERMS + "modified"),
            Literal(modified, datatype=NamedNode(v.XSD + "dateTime")),
        ),
    ]
    if last is not None:
        out.append(Triple(doc, NamedNode(v.DCAT + "version"), Literal(str(last.number))))
    if info.licence:
        out.append(Triple(doc, NamedNode(v.DCTERMS + "license"), NamedNode(info.licence)))
    return out
