"""Read the curated YAML files into records.

YAML is read by :mod:`.yaml_reader` (safely; dates stay text, a key given twice is an
error). Every problem is reported with its file, record and field; a bad record never
stops the others from being read.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..records import (
    SLUG_RE,
    Agent,
    Concept,
    DatasetInfo,
    Fact,
    Listing,
    Place,
    Pledge,
    Problem,
    Programme,
    Records,
)
from .yaml_reader import YamlError, read_yaml

PLACE_LEVELS = ("country", "region", "province", "district", "county", "municipality")
AGENT_TYPES = ("person", "organisation")
ANONYMOUS = "anonymous"
SCHEMES = {"theme": "themes.yaml", "objective": "gcm-objectives.yaml", "kind": "kinds.yaml"}
GOAL_RE = re.compile(r"^[0-9]{1,3}$")
TARGET_RE = re.compile(r"^[0-9]{1,3}\.[0-9a-z]{1,3}$")
QID_RE = re.compile(r"^Q[1-9][0-9]*$")
WEB_URL_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
#: Fact statuses that may back a published statement (see data/README.md).
FACT_STATUSES = ("verified", "single_source")


def display_path(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve().parent))
        except ValueError:
            pass
    return str(path)


class _Fields:
    """Typed access to one record's mapping that reports, rather than raises."""

    def __init__(self, data: dict, file: str, record: str, problems: list[Problem]):
        self.data = data
        self.file = file
        self.record = record
        self.problems = problems
        self.used: set[str] = set()

    def problem(self, field: str, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.file, self.record, field, message, severity))

    def text(self, key: str, required: bool = False, default: str | None = None) -> str | None:
        self.used.add(key)
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.problem(key, "is missing; write it as text")
            return default
        if isinstance(value, (bool, list, dict)):
            self.problem(key, f"must be text, not {_describe(value)}")
            return default
        return str(value).strip() if isinstance(value, str) else str(value)

    def slug(self, key: str, required: bool = False) -> str | None:
        value = self.text(key, required=required)
        if value is not None and not SLUG_RE.match(value):
            self.problem(key, f"{value!r} is not an id (lower-case letters, digits, hyphens)")
            return None
        return value

    def boolean(self, key: str) -> bool | None:
        self.used.add(key)
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, not {_shown(value)}")
            return None
        return value

    def items(self, key: str, pattern: re.Pattern[str] = SLUG_RE, what: str = "an id") -> tuple:
        self.used.add(key)
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            value = [value]
        out: list[str] = []
        for item in value:
            if isinstance(item, (bool, list, dict)) or item is None:
                self.problem(key, f"{_shown(item)} is not {what}")
                continue
            text = str(item).strip()
            if not pattern.match(text):
                self.problem(key, f"{text!r} is not {what}")
                continue
            if text not in out:
                out.append(text)
        return tuple(out)

    def unknown_keys(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                self.problem(str(key), "is not a known field; check its spelling", "warning")


_SHOWN = reprlib.Repr()  # keyword arguments need Python 3.12
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict = 2, 4, 4
_SHOWN.maxstring = _SHOWN.maxother = 80


def _shown(value: Any) -> str:
    """A value for a message, cut short: a YAML alias can make a tiny file hold a list
    of billions of items, whose full repr would never finish."""
    return _SHOWN.repr(value)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return _shown(value)


PLEDGE_FIELDS = {
    "id", "status", "kind", "title", "language", "summary", "locality", "committed_by",
    "submitter", "submitter_verified", "programmes", "partners", "goals", "targets",
    "gcm_objectives", "themes", "start", "end", "shared", "listings", "facts",
    "locality_complete",
}  # fmt: skip


def pledge_from_mapping(
    data: Any, file: str, problems: list[Problem], expected_id: str | None = None
) -> Pledge | None:
    """One pledge from its YAML mapping; problems are appended, None if unusable."""
    if not isinstance(data, dict):
        problems.append(
            Problem(
                file, expected_id or "?", "-", f"a pledge must be a mapping, not {_describe(data)}"
            )
        )
        return None
    raw_id = data.get("id", expected_id)
    rid = str(raw_id) if raw_id is not None else (expected_id or "?")
    f = _Fields(data, file, rid, problems)
    pid = f.slug("id", required=True)
    if pid is None:
        return None
    if expected_id is not None and pid != expected_id:
        f.problem("id", f"is {pid!r} but the file is named {expected_id!r}.yaml; make them equal")
    status = f.text("status", default="published")
    if status not in ("published", "draft"):
        f.problem("status", f"{status!r} is not 'published' or 'draft'")
    submitter = f.text("submitter")
    if submitter is not None and submitter != ANONYMOUS and not SLUG_RE.match(submitter):
        f.problem("submitter", f"{submitter!r} is not an agent id or 'anonymous'")
        submitter = None
    pledge = Pledge(
        id=pid,
        file=file,
        status=status or "published",
        kind=f.slug("kind") or "pledge",
        title=f.text("title", required=status != "draft") or "",
        language=f.text("language", default="en") or "en",
        summary=f.text("summary", default="") or "",
        locality=f.items("locality"),
        committed_by=f.slug("committed_by"),
        submitter=submitter,
        submitter_verified=f.boolean("submitter_verified"),
        programmes=f.items("programmes"),
        partners=f.items("partners"),
        goals=f.items("goals", GOAL_RE, "an SDG goal number such as 5"),
        targets=f.items("targets", TARGET_RE, 'an SDG target code such as "10.7"'),
        gcm_objectives=f.items("gcm_objectives", GOAL_RE, "a GCM objective number such as 16"),
        themes=f.items("themes"),
        start=f.text("start"),
        end=f.text("end"),
        shared=f.text("shared"),
        listings=f.items("listings"),
        facts=f.items("facts"),
        locality_complete=f.boolean("locality_complete"),
    )
    f.unknown_keys(PLEDGE_FIELDS)
    return pledge


def iter_pledge_files(data_dir: Path) -> list[Path]:
    """The pledge files in a stable order."""
    folder = data_dir / "pledges"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def read_pledge_file(path: Path, root: Path, problems: list[Problem]) -> list[Pledge]:
    """The pledges in one file: a single mapping named by the file, or a batch (a list or a
    multi-document stream, as written by ``pledge-lod synth``)."""
    file = display_path(path, root)
    try:
        docs = read_yaml(path, display_path(path, root))
    except YamlError as exc:
        problems.append(Problem(file, path.stem, "-", str(exc).split(": ", 1)[-1]))
        return []
    if len(docs) == 1 and isinstance(docs[0], dict):
        pledge = pledge_from_mapping(docs[0], file, problems, expected_id=path.stem)
        return [pledge] if pledge else []
    entries = docs[0] if len(docs) == 1 and isinstance(docs[0], list) else docs
    out = []
    for entry in entries:
        pledge = pledge_from_mapping(entry, file, problems)
        if pledge:
            out.append(pledge)
    return out


def iter_pledges(data_dir: Path, problems: list[Problem]) -> Iterator[Pledge]:
    for path in iter_pledge_files(data_dir):
        yield from read_pledge_file(path, data_dir, problems)


def _registry(data_dir: Path, name: str, problems: list[Problem]) -> list[tuple[_Fields, str]]:
    """Entries of a registry file (a YAML list of mappings), each with its id checked."""
    path = data_dir / name
    file = display_path(path, data_dir)
    if not path.exists():
        problems.append(Problem(file, "-", "-", "registry file is missing"))
        return []
    try:
        docs = read_yaml(path, display_path(path, data_dir))
    except YamlError as exc:
        problems.append(Problem(file, "-", "-", str(exc).split(": ", 1)[-1]))
        return []
    entries = docs[0] if docs else []
    if not isinstance(entries, list):
        problems.append(
            Problem(file, "-", "-", "must be a list of entries (each starting '- id:')")
        )
        return []
    out: list[tuple[_Fields, str]] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            problems.append(Problem(file, f"entry {n}", "-", "must be a mapping with an id"))
            continue
        f = _Fields(entry, file, str(entry.get("id", f"entry {n}")), problems)
        rid = f.slug("id", required=True)
        if rid is None:
            continue
        if rid in seen:
            f.problem("id", f"{rid!r} is used by an earlier entry; ids must be unique")
            continue
        seen.add(rid)
        out.append((f, rid))
    return out


def _qid(f: _Fields, key: str = "wikidata") -> str | None:
    value = f.text(key)
    if value is not None and not QID_RE.match(value):
        f.problem(key, f"{value!r} is not a Wikidata id such as Q72")
        return None
    return value


def _url(f: _Fields, key: str) -> str | None:
    value = f.text(key)
    if value is not None and not WEB_URL_RE.match(value):
        f.problem(key, f"{value!r} is not an http(s) URL")
        return None
    return value


def _places(data_dir: Path, problems: list[Problem]) -> dict[str, Place]:
    out = {}
    for f, rid in _registry(data_dir, "places.yaml", problems):
        level = f.text("level", required=True)
        if level is not None and level not in PLACE_LEVELS:
            f.problem("level", f"{level!r} is not one of {', '.join(PLACE_LEVELS)}")
        geonames = f.text("geonames")
        if geonames is not None and not geonames.isdigit():
            f.problem("geonames", f"{geonames!r} is not a GeoNames id (digits)")
            geonames = None
        out[rid] = Place(
            id=rid,
            file=f.file,
            name=f.text("name", required=True) or rid,
            level=level or "",
            country=f.slug("country"),
            subdivision=f.text("subdivision"),
            iso3166=f.text("iso3166"),
            geonames=geonames,
            wikidata=_qid(f),
            alt_names=f.items("alt_names", re.compile(r"^.+$"), "a name"),
            facts=f.items("facts"),
            listings=f.items("listings"),
        )
        f.unknown_keys({"id", "name", "level", "country", "subdivision", "iso3166", "geonames",
                        "wikidata", "alt_names", "facts", "listings", "note"})  # fmt: skip
    return out


def _agents(data_dir: Path, problems: list[Problem]) -> dict[str, Agent]:
    out = {}
    for f, rid in _registry(data_dir, "agents.yaml", problems):
        kind = f.text("type", required=True)
        if kind is not None and kind not in AGENT_TYPES:
            f.problem("type", f"{kind!r} is not one of {', '.join(AGENT_TYPES)}")
        out[rid] = Agent(
            id=rid,
            file=f.file,
            name=f.text("name", required=True) or rid,
            type=kind or "organisation",
            honorific=f.text("honorific"),
            alt_name=f.text("alt_name"),
            area_served=f.slug("area_served"),
            wikidata=_qid(f),
            homepage=_url(f, "homepage"),
            facts=f.items("facts"),
            listings=f.items("listings"),
        )
        f.unknown_keys({"id", "type", "name", "honorific", "alt_name", "area_served",
                        "wikidata", "homepage", "facts", "listings", "note"})  # fmt: skip
    return out


def _programmes(data_dir: Path, problems: list[Problem]) -> dict[str, Programme]:
    out = {}
    for f, rid in _registry(data_dir, "programmes.yaml", problems):
        out[rid] = Programme(
            id=rid,
            file=f.file,
            name=f.text("name", required=True) or rid,
            alt_name=f.text("alt_name"),
            description=f.text("description", default="") or "",
            operated_by=f.items("operated_by"),
            funders=f.items("funders"),
            start=f.text("start"),
            end=f.text("end"),
            homepage=_url(f, "homepage"),
            part_of=f.slug("part_of"),
            facts=f.items("facts"),
            listings=f.items("listings"),
        )
        f.unknown_keys({"id", "name", "alt_name", "description", "operated_by", "funders",
                        "start", "end", "homepage", "part_of", "facts", "listings",
                        "note"})  # fmt: skip
    return out


def _facts(data_dir: Path, problems: list[Problem]) -> dict[str, Fact]:
    """The facts behind registry entries and links; optional (a data folder without
    facts.yaml publishes no fact, and the shapes then report what lacks one)."""
    if not (data_dir / "facts.yaml").exists():
        return {}
    out = {}
    for f, rid in _registry(data_dir, "facts.yaml", problems):
        status = f.text("status", required=True)
        if status is not None and status not in FACT_STATUSES:
            f.problem(
                "status",
                f"{status!r}: only a fact whose status is {' or '.join(FACT_STATUSES)} "
                "may back a published statement; leave the statement out",
            )
            continue
        sources = f.items("sources", re.compile(r"^.+$"), "a source")
        if not sources:
            f.problem("sources", "a fact needs at least one source: list where it was read")
        out[rid] = Fact(
            id=rid,
            file=f.file,
            statement=f.text("statement", required=True) or "",
            status=status or "",
            sources=sources,
        )
        f.unknown_keys({"id", "statement", "status", "sources", "note"})  # fmt: skip
    return out


def _concepts(data_dir: Path, problems: list[Problem]) -> dict[tuple[str, str], Concept]:
    out = {}
    for scheme, name in SCHEMES.items():
        for f, rid in _registry(data_dir, name, problems):
            see_also = []
            for key in ("see_also",):
                for url in f.items(key, WEB_URL_RE, "an http(s) URL"):
                    see_also.append(url)
            out[(scheme, rid)] = Concept(
                id=rid,
                file=f.file,
                scheme=scheme,
                label=f.text("label", required=True) or rid,
                notation=f.text("notation"),
                alt_label=f.text("alt_label"),
                definition=f.text("definition"),
                see_also=tuple(see_also),
                source_labels=f.items("source_labels", re.compile(r"^.+$"), "a label"),
            )
            f.unknown_keys({"id", "label", "notation", "alt_label", "definition", "see_also",
                            "source_labels", "note"})  # fmt: skip
    return out


def _listings(data_dir: Path, problems: list[Problem]) -> dict[str, Listing]:
    out = {}
    for f, rid in _registry(data_dir, "listings.yaml", problems):
        goal = f.text("goal")
        if goal is not None and not GOAL_RE.match(goal):
            f.problem("goal", f"{goal!r} is not an SDG goal number")
            goal = None
        out[rid] = Listing(
            id=rid,
            file=f.file,
            title=f.text("title", required=True) or rid,
            term_label=f.text("term_label", required=True) or "",
            goal=goal,
            theme=f.slug("theme"),
            url=_url(f, "url"),
            seed_file=f.text("seed_file"),
        )
        f.unknown_keys({"id", "title", "term_label", "goal", "theme", "url", "seed_file",
                        "note"})  # fmt: skip
    return out


def _dataset(data_dir: Path, problems: list[Problem]) -> DatasetInfo:
    path = data_dir / "dataset.yaml"
    file = display_path(path, data_dir)
    data: Any = {}
    try:
        docs = read_yaml(path, display_path(path, data_dir))
        data = docs[0] if docs else {}
    except YamlError as exc:
        problems.append(Problem(file, "dataset", "-", str(exc).split(": ", 1)[-1]))
    if not isinstance(data, dict):
        problems.append(Problem(file, "dataset", "-", "must be a mapping"))
        data = {}
    f = _Fields(data, file, "dataset", problems)
    return DatasetInfo(
        title=f.text("title", required=True) or "pledge_lod",
        description=f.text("description", default="") or "",
        licence=_url(f, "licence") or "",
        publisher=f.text("publisher", default="") or "",
        keywords=f.items("keywords", re.compile(r"^.+$"), "a keyword"),
        attribution=f.text("attribution", default="") or "",
        sources=f.items("sources", WEB_URL_RE, "an http(s) URL"),
    )


def load_registries(data_dir: Path, problems: list[Problem]) -> Records:
    """Everything but the pledges, which are streamed by :func:`iter_pledges`."""
    return Records(
        dataset=_dataset(data_dir, problems),
        places=_places(data_dir, problems),
        agents=_agents(data_dir, problems),
        programmes=_programmes(data_dir, problems),
        concepts=_concepts(data_dir, problems),
        listings=_listings(data_dir, problems),
        facts=_facts(data_dir, problems),
    )


def load_all(data_dir: Path) -> tuple[Records, list[Problem]]:
    """Registries and pledges (drafts set apart). For small data and tools."""
    problems: list[Problem] = []
    records = load_registries(data_dir, problems)
    seen: dict[str, str] = {}
    for pledge in iter_pledges(data_dir, problems):
        if pledge.id in seen:
            problems.append(
                Problem(pledge.file, pledge.id, "id", f"is also used in {seen[pledge.id]}")
            )
            continue
        seen[pledge.id] = pledge.file
        (records.drafts if pledge.is_draft else records.pledges).append(pledge)
    return records, problems
