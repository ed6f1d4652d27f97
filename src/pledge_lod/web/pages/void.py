"""The page of the dataset's own description (VoID and DCAT, ``/.well-known/void``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Triple

from ...rdf import vocab as v
from ..labels import labels_of
from ..site import ReleaseData
from .common import Linker, LinkView, Triples, ValueView, sort_text, term_link, value_view

V, D, DC = v.VOID, v.DCAT, v.DCTERMS
#: VoID facts whose values read best as the IRI itself (vocabularies, sources, licence).
_SHOW_IRI = {V + "vocabulary", DC + "source", DC + "license"}
_FACTS = (
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
)
_STATS = (
    ("Triples", V + "triples"),
    ("Entities", V + "entities"),
    ("Distinct subjects", V + "distinctSubjects"),
    ("Distinct objects", V + "distinctObjects"),
    ("Properties", V + "properties"),
    ("Classes", V + "classes"),
)


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


class _Reader:
    """The description's triples, its dataset, and links made as the pages make them."""

    def __init__(self, triples: Sequence[Triple], rd: ReleaseData, linker: Linker):
        self.idx = Triples(triples)
        self.rd = rd
        self.ds = rd.iris.dataset
        self.linker = linker

    def text(self, s: str, p: str) -> str | None:
        o = self.idx.first(s, p)
        return o.value if isinstance(o, Literal) else None

    def value(self, pred: str, o: object) -> ValueView:
        """A fact's value: a publisher by its name, some IRIs as themselves."""
        if pred == DC + "publisher" and isinstance(o, NamedNode):
            name = self.idx.first(o.value, v.FOAF + "name")
            return ValueView(text=name.value if isinstance(name, Literal) else o.value)
        if isinstance(o, NamedNode) and pred in _SHOW_IRI:
            external = self.rd.local(o.value) is None
            return ValueView(link=LinkView(self.linker.href(o.value), o.value, external=external))
        return value_view(o, self.linker)

    def facts(self) -> list[tuple[str, list[ValueView]]]:
        out = []
        for label, pred in _FACTS:
            values = [self.value(pred, o) for o in self.idx.objects(self.ds, pred)]
            if values:
                values.sort(key=sort_text)
                out.append((label, values))
        return out

    def stats(self) -> list[tuple[str, str]]:
        pairs = ((label, self.text(self.ds, pred)) for label, pred in _STATS)
        return [(label, val) for label, val in pairs if val is not None]

    def partitions(self, link_pred: str, key_pred: str, count_pred: str
                   ) -> list[tuple[LinkView, str]]:
        """Class or property partitions: the term and its count."""
        out = []
        for part in self.idx.objects(self.ds, link_pred):
            pid = getattr(part, "value", "")
            key = self.idx.first(pid, key_pred)
            if isinstance(key, NamedNode):
                out.append((term_link(key.value, self.linker), self.text(pid, count_pred) or ""))
        out.sort(key=lambda item: item[0].text.lower())
        return out

    def linksets(self) -> list[dict[str, object]]:
        out = []
        for sub in self.idx.objects(self.ds, V + "subset"):
            sid = getattr(sub, "value", "")
            target = self.idx.first(sid, V + "objectsTarget")
            pred = self.idx.first(sid, V + "linkPredicate")
            tid = getattr(target, "value", "")
            out.append({
                "target": self.text(tid, DC + "title") or tid,
                "homepage": getattr(self.idx.first(tid, v.FOAF + "homepage"), "value", None),
                "predicate": term_link(pred.value, self.linker)
                if isinstance(pred, NamedNode) else None,
                "triples": self.text(sid, V + "triples") or "",
            })
        out.sort(key=lambda item: str(item["target"]))
        return out

    def distributions(self) -> list[dict[str, object]]:
        out = []
        for dist in self.idx.objects(self.ds, D + "distribution"):
            did = getattr(dist, "value", "")
            url = self.idx.first(did, D + "downloadURL") or self.idx.first(did, D + "accessURL")
            media = self.idx.first(did, D + "mediaType")
            href = getattr(url, "value", "")
            out.append({
                "title": self.text(did, DC + "title") or did,
                "href": self.linker.href(href) if href else None,
                "media": getattr(media, "value", "").rsplit("/media-types/", 1)[-1],
                "bytes": self.text(did, D + "byteSize"),
            })
        out.sort(key=lambda item: str(item["title"]))
        return out


def void_view(
    triples: Sequence[Triple], rd: ReleaseData, root: str, term_labels: Mapping[str, str]
) -> VoidView:
    """The dataset's facts, statistics, partitions, linksets and downloads."""
    r = _Reader(triples, rd, Linker(rd, labels_of(triples), root, term_labels))
    return VoidView(
        r.text(r.ds, DC + "title") or "The dataset",
        r.text(r.ds, DC + "description"),
        r.ds,
        r.facts(),
        r.stats(),
        r.partitions(V + "classPartition", V + "class", V + "entities"),
        r.partitions(V + "propertyPartition", V + "property", V + "triples"),
        r.linksets(),
        r.distributions(),
    )
