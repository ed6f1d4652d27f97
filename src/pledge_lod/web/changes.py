"""The history of the dataset for people and programs, from the recorded versions
(:class:`pledge_lod.release.history.History`, never pruned).

* ``/changes``: every version, newest first, with its summary and the records it touched;
  ``/changes/{n}``: one version's changes, page by page.
* ``/changes.atom``: an Atom feed (RFC 4287), one entry per version.
* ``/changes/ldes``: a Linked Data Event Stream (LDES 1.0 on TREE). Its members are
  versioned objects: ``<{base}/changes/{n}#{path}>`` is resource ``{path}`` as version
  ``n`` left it, typed ``as:Create``, ``as:Update`` or ``as:Delete`` (a tombstone, with no
  state), ``dcterms:isVersionOf`` the resource (``ldes:versionOfPath``),
  ``dcterms:created`` the version's date (``ldes:timestampPath``), and its complete
  state in the named graph of the member's IRI, as the LDES spec allows ("the payload of
  the upsert is in the named graph"). A client keeps, per resource, the latest state
  and drops the deleted ones: from the first version that is the current data; from its
  last visit, only what changed since.

  The root node lists one node per version, each reached through two TREE relations on
  ``dcterms:created`` (at or after the version's date, and at or before it: a version's
  members all carry its date), so that a client resuming at a date skips every version
  it has already seen without fetching it. A version
  with many changes is paged by IRI (``?after=``), each page linking the next.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Triple,
    parse,
    serialize,
)

from .. import __version__
from ..rdf import vocab as v
from ..release.history import Change, History, Version, built_as
from ..release.layout import ReleaseInfo
from .site import DatasetInfo, ReleaseData

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
AS = "https://www.w3.org/ns/activitystreams#"
ATOM_NS = "http://www.w3.org/2005/Atom"
#: Versions on one page of /changes, and entries in the Atom feed.
VERSIONS_PER_PAGE = 20
#: Records listed under each version on /changes (the rest: its own page).
TOUCHED_SHOWN = 20
#: Changes on one page of a version (HTML and LDES).
CHANGES_PER_PAGE = 500
ACTIVITY = {"created": "Create", "updated": "Update", "deleted": "Delete"}
_XSD_DATETIME = NamedNode(v.XSD + "dateTime")
_PREFIXES = {"ldes": LDES, "tree": TREE, "as": AS, "dcterms": v.DCTERMS, "xsd": v.XSD,
             "rdf": v.RDF}


def node_url(base: str, number: int, after: str | None = None) -> str:
    """Version ``number``'s page (a TREE node), from the IRI after ``after``."""
    url = f"{base}/changes/{number}"
    return url if after is None else f"{url}?after={quote(after, safe='')}"


def member_iri(base: str, number: int, iri: str) -> str:
    """The member "resource ``iri`` as version ``number`` left it"."""
    local = iri[len(base):] if iri.startswith(base + "/") else quote(iri, safe="")
    return f"{base}/changes/{number}#{local}"


def stream_iri(base: str) -> str:
    return f"{base}/changes/ldes#stream"


def _t(s: NamedNode | BlankNode, p: str, o: NamedNode | BlankNode | Literal) -> Quad:
    return Quad(s, NamedNode(p), o)


def _when(text: str) -> Literal:
    return Literal(text, datatype=_XSD_DATETIME)


def _stream(base: str) -> list[Quad]:
    """The event stream's own description (on the root node)."""
    stream = NamedNode(stream_iri(base))
    out = [_t(stream, v.RDF_TYPE, NamedNode(LDES + "EventStream")),
           _t(stream, LDES + "timestampPath", NamedNode(v.DCTERMS + "created")),
           _t(stream, LDES + "versionOfPath", NamedNode(v.DCTERMS + "isVersionOf")),
           _t(stream, TREE + "view", NamedNode(f"{base}/changes/ldes")),
           _t(stream, v.DCTERMS + "isPartOf", NamedNode(f"{base}/.well-known/void#dataset"))]
    for what in ("Create", "Update", "Delete"):
        out.append(_t(stream, LDES + f"version{what}Object", NamedNode(AS + what)))
    return out


def _relation(node: NamedNode, kind: str, target: str, value: str) -> list[Quad]:
    rel = BlankNode()
    return [_t(node, TREE + "relation", rel), _t(rel, v.RDF_TYPE, NamedNode(TREE + kind)),
            _t(rel, TREE + "node", NamedNode(target)),
            _t(rel, TREE + "path", NamedNode(v.DCTERMS + "created")),
            _t(rel, TREE + "value", _when(value))]


def root_node(base: str, versions: list[Version]) -> list[Quad]:
    """The LDES root: the stream, and per version two relations to its node (its
    members' timestamp is exactly the version's date)."""
    root = NamedNode(f"{base}/changes/ldes")
    out = [*_stream(base), _t(root, v.RDF_TYPE, NamedNode(TREE + "Node"))]
    for ver in versions:
        target = node_url(base, ver.number)
        out += _relation(root, "GreaterThanOrEqualToRelation", target, ver.created)
        out += _relation(root, "LessThanOrEqualToRelation", target, ver.created)
    return out


def state_at(history: History, iri: str, number: int) -> list[str]:
    """Resource ``iri``'s triples (N-Triples lines) as version ``number`` left them."""
    lines: dict[str, None] = {}
    for ver, change in history.resource(iri):
        if ver.number > number:
            break
        for line in change.removed:
            lines.pop(line, None)
        lines.update(dict.fromkeys(change.added))
    return list(lines)


def version_node(base: str, history: History, ver: Version,
                 after: str | None) -> tuple[list[Quad], list[Change]]:
    """One page of version ``ver``'s members (and the changes it holds)."""
    node = NamedNode(node_url(base, ver.number, after))
    stream = NamedNode(stream_iri(base))
    changes = history.changes(ver.number, after=after, limit=CHANGES_PER_PAGE + 1)
    more = len(changes) > CHANGES_PER_PAGE
    changes = changes[:CHANGES_PER_PAGE]
    out = [_t(node, v.RDF_TYPE, NamedNode(TREE + "Node"))]
    for change in changes:
        member = NamedNode(member_iri(base, ver.number, change.iri))
        out += [_t(stream, TREE + "member", member),
                _t(member, v.RDF_TYPE, NamedNode(AS + ACTIVITY[change.kind])),
                _t(member, v.DCTERMS + "isVersionOf", NamedNode(change.iri)),
                _t(member, v.DCTERMS + "created", _when(ver.created))]
        if change.kind != "deleted":
            text = "\n".join(state_at(history, change.iri, ver.number)) + "\n"
            for t in parse(text.encode("utf-8"), format=RdfFormat.N_TRIPLES):
                out.append(Quad(t.subject, t.predicate, t.object, member))
    if more and changes:
        rel = BlankNode()
        out += [_t(node, TREE + "relation", rel), _t(rel, v.RDF_TYPE, NamedNode(TREE + "Relation")),
                _t(rel, TREE + "node", NamedNode(node_url(base, ver.number, changes[-1].iri)))]
    return out, changes


def default_graph(quads: list[Quad]) -> list[Triple]:
    """The quads of the default graph, for a format of triples (Turtle, JSON-LD...):
    the members and relations, without the members' states (TriG and N-Quads have them)."""
    return [Triple(q.subject, q.predicate, q.object) for q in quads
            if isinstance(q.graph_name, DefaultGraph)]


def resource_quads(base: str, versions: list[tuple[Version, Change]], page: str,
                   thing: str) -> list[Quad]:
    """A resource's versions page in RDF: it has, as versions, the LDES members of the
    versions that changed it (each dated, typed, and the version of the resource)."""
    node = NamedNode(page)
    out = [_t(node, v.FOAF + "primaryTopic", NamedNode(thing))]
    for ver, change in versions:
        member = NamedNode(member_iri(base, ver.number, change.iri))
        out += [_t(node, v.DCTERMS + "hasVersion", member),
                _t(member, v.RDF_TYPE, NamedNode(AS + ACTIVITY[change.kind])),
                _t(member, v.DCTERMS + "isVersionOf", NamedNode(thing)),
                _t(member, v.DCTERMS + "created", _when(ver.created))]
    return out


def dataset_bytes(quads: list[Quad], fmt_key: str) -> bytes:
    fmt = RdfFormat.TRIG if fmt_key == "trig" else RdfFormat.N_QUADS
    prefixes = _PREFIXES if fmt is RdfFormat.TRIG else None
    return serialize(quads, format=fmt, prefixes=prefixes)


# -- one resource's versions ----------------------------------------------------------


@dataclass(frozen=True)
class LastChange:
    """The version that last changed a resource, as of one release."""

    number: int
    created: str
    kind: str


@lru_cache(maxsize=64)
def _built_as(path: str) -> int | None:
    """The version a release folder was built as: its manifest never changes, so it is
    read once per release rather than once per document built."""
    return built_as(Path(path))


def resource_versions(history: History, release: ReleaseInfo,
                      iri: str) -> list[tuple[Version, Change]] | None:
    """The versions that changed ``iri`` up to ``release``'s own version, oldest first;
    None when that version is not (yet) recorded: nothing is said rather than a guess."""
    number = _built_as(str(release.path))
    if number is None:
        found = history.for_release(release.id)
        number = found.number if found else None
    if number is None or history.version(number) is None:
        return None
    return [(ver, change) for ver, change in history.resource(iri) if ver.number <= number]


def last_change(history: History, release: ReleaseInfo, iri: str) -> LastChange | None:
    versions = resource_versions(history, release, iri)
    if not versions:
        return None
    ver, change = versions[-1]
    return LastChange(ver.number, ver.created, change.kind)


def history_path(kind: str, slug: str) -> str:
    """The page listing one resource's versions."""
    return f"/history/doc/{kind}/{slug}"


# -- for people -----------------------------------------------------------------------


@dataclass(frozen=True)
class TouchedView:
    kind: str
    iri: str
    href: str | None
    added: int
    removed: int


@dataclass(frozen=True)
class VersionView:
    number: int
    created: str
    release_id: str
    summary: dict[str, int]
    touched: list[TouchedView]
    total: int
    href: str


def touched(rd: ReleaseData, root: str, changes: list[Change]) -> list[TouchedView]:
    out = []
    for change in changes:
        local = rd.local(change.iri)
        href = None
        if local and local.startswith("/id/"):
            href = root + local.replace("/id/", "/doc/", 1)
        out.append(TouchedView(change.kind, change.iri, href, len(change.added),
                               len(change.removed)))
    return out


def version_view(rd: ReleaseData, root: str, history: History, ver: Version,
                 shown: int = TOUCHED_SHOWN) -> VersionView:
    changes = history.changes(ver.number, limit=shown)
    return VersionView(ver.number, ver.created, ver.release_id, ver.summary,
                       touched(rd, root, changes), history.count_changes(ver.number),
                       f"{root}/changes/{ver.number}")


# -- Atom -----------------------------------------------------------------------------


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        node.text = text
    return node


def summary_text(ver: Version) -> str:
    s = ver.summary
    return (f"Version {ver.number}: {s.get('records_added', 0)} records added, "
            f"{s.get('records_changed', 0)} changed, {s.get('records_removed', 0)} removed; "
            f"{s.get('triples_added', 0)} triples added, {s.get('triples_removed', 0)} removed.")


def atom(base: str, info: DatasetInfo, versions: list[Version], changeset: set[int]) -> bytes:
    """The newest versions as an Atom 1.0 feed (RFC 4287), one entry per version; each
    links its page, its LDES node and (when kept) its changeset, an RDF Patch."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    _el(feed, "id", f"{base}/changes")
    _el(feed, "title", f"Changes to {info.title}")
    _el(feed, "updated", versions[0].created if versions else "1970-01-01T00:00:00Z")
    author = _el(feed, "author")
    _el(author, "name", info.publisher or info.title)
    _el(author, "uri", f"{base}/")
    _el(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/changes.atom")
    _el(feed, "link", rel="alternate", type="text/html", href=f"{base}/changes")
    _el(feed, "link", rel="related", type="application/trig", href=f"{base}/changes/ldes")
    _el(feed, "generator", "pledge_lod", uri=f"{base}/", version=__version__)
    for ver in versions:
        entry = _el(feed, "entry")
        _el(entry, "id", f"{base}/releases/{ver.number}")
        _el(entry, "title", f"Version {ver.number}")
        _el(entry, "updated", ver.created)
        _el(entry, "link", rel="alternate", type="text/html", href=node_url(base, ver.number))
        _el(entry, "link", rel="related", type="application/trig",
            href=node_url(base, ver.number))
        if ver.number in changeset:
            _el(entry, "link", rel="enclosure", type="application/gzip",
                href=f"{base}/releases/{ver.number}/changes.rdfp.gz",
                title="The changes as an RDF Patch")
        _el(entry, "summary", summary_text(ver), type="text")
    body = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")
