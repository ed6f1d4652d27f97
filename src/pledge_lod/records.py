"""Typed records: what the YAML sources say, before any RDF.

Records are plain frozen dataclasses. They carry the values exactly as the steward wrote
them (dates stay text) so that the later stages can report a bad value precisely instead
of this one silently repairing it. Each record remembers the file it came from.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG = 60


def slugify(text: str, max_length: int = MAX_SLUG) -> str:
    """A stable, lower-case ASCII slug: ``"Zürich: Pledge!"`` -> ``"zurich-pledge"``.

    Cut at a word boundary so that a long title gives a readable URI.
    """
    ascii_text = (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug or "untitled"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing a data steward has to fix, located as precisely as the stage can."""

    file: str
    record: str
    field: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.file}: {self.record}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class Pledge:
    id: str
    file: str
    title: str
    summary: str = ""
    language: str = "en"
    status: str = "published"
    kind: str = "pledge"
    locality: tuple[str, ...] = ()
    committed_by: str | None = None
    submitter: str | None = None
    submitter_verified: bool | None = None
    programmes: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    gcm_objectives: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    shared: str | None = None
    listings: tuple[str, ...] = ()
    #: Facts (ids from facts.yaml) behind links the listing pages do not show.
    facts: tuple[str, ...] = ()
    #: False when ``locality`` names only some of the places (the sources name no more).
    locality_complete: bool | None = None

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    file: str
    name: str
    level: str
    country: str | None = None
    subdivision: str | None = None
    iso3166: str | None = None
    geonames: str | None = None
    wikidata: str | None = None
    alt_names: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Agent:
    id: str
    file: str
    name: str
    type: str
    honorific: str | None = None
    alt_name: str | None = None
    area_served: str | None = None
    wikidata: str | None = None
    homepage: str | None = None
    facts: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Programme:
    id: str
    file: str
    name: str
    alt_name: str | None = None
    description: str = ""
    operated_by: tuple[str, ...] = ()
    funders: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    homepage: str | None = None
    part_of: str | None = None
    facts: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Fact:
    """A fact from the project's reference material, with where it was read.

    Registry entries and links that the listing pages do not show are derived from
    facts, so that a reader can follow every published statement to a source.
    """

    id: str
    file: str
    statement: str
    status: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Concept:
    """An entry of one of the project's SKOS concept schemes (themes, objectives, kinds)."""

    id: str
    file: str
    scheme: str
    label: str
    notation: str | None = None
    alt_label: str | None = None
    definition: str | None = None
    see_also: tuple[str, ...] = ()
    source_labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Listing:
    """A source listing page: records came from it, its "Subscribe to" term tags them."""

    id: str
    file: str
    title: str
    term_label: str
    goal: str | None = None
    theme: str | None = None
    url: str | None = None
    seed_file: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    title: str
    description: str
    licence: str
    publisher: str
    keywords: tuple[str, ...] = ()
    attribution: str = ""
    sources: tuple[str, ...] = ()


@dataclass(slots=True)
class Records:
    """Everything the sources hold, registries indexed by id."""

    dataset: DatasetInfo
    pledges: list[Pledge] = field(default_factory=list)
    places: dict[str, Place] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    programmes: dict[str, Programme] = field(default_factory=dict)
    concepts: dict[tuple[str, str], Concept] = field(default_factory=dict)
    listings: dict[str, Listing] = field(default_factory=dict)
    facts: dict[str, Fact] = field(default_factory=dict)
    drafts: list[Pledge] = field(default_factory=list)

    def files(self) -> dict[str, tuple[str, str]]:
        """Map of ``kind/id`` -> (file, id) for locating problems."""
        located: dict[str, tuple[str, str]] = {}
        for p in self.pledges:
            located[f"pledge/{p.id}"] = (p.file, p.id)
        for kind, registry in (
            ("place", self.places),
            ("agent", self.agents),
            ("programme", self.programmes),
            ("listing", self.listings),
            ("fact", self.facts),
        ):
            for rid, rec in registry.items():
                located[f"{kind}/{rid}"] = (rec.file, rid)
        for (scheme, cid), concept in self.concepts.items():
            located[f"{scheme}/{cid}"] = (concept.file, cid)
        return located
