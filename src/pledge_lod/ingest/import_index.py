"""What the data folder already holds, indexed for matching a listing page's items.

The registries give the lookups (agents by name, themes by label or source label,
listings by the seed file they came from); the pledge files give every record by id and
by normalised title, so that a curated record with a hand-made id is still found. A file
that cannot be read, or that holds several records, is indexed too but blocked, so that
the importer never overwrites it. Each lookup is empty when its file is absent.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .yaml_reader import YamlError, read_yaml

DRAFT = "draft"
#: The order of a pledge's keys in the README; new keys are put in their place.
KEY_ORDER = (
    "id", "status", "kind", "title", "language", "summary", "locality", "committed_by",
    "submitter", "submitter_verified", "programmes", "partners", "goals", "targets",
    "gcm_objectives", "themes", "start", "end", "shared", "listings",
)  # fmt: skip
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"',
                         "–": "-", "—": "-", "‐": "-", "‑": "-"})  # fmt: skip


def normalise_key(text: str) -> str:
    """For matching names, titles and labels: NFC, case-folded, one space between words,
    curly quotes and dashes made plain (pages and stewards write them differently)."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    return " ".join(text.casefold().split())


def person_key(text: str) -> str:
    """Name key that ignores the full stop after an honorific ("Ms." == "Ms")."""
    return normalise_key(text.replace(".", " "))


@dataclass(slots=True)
class Registries:
    """The lookups the importer needs; each is empty when its file is absent."""

    agents: dict[str, set[str]] = field(default_factory=dict)
    themes: dict[str, set[str]] = field(default_factory=dict)
    listings: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)


def _read_registry(data_dir: Path, name: str, warnings: list[str]) -> list[dict] | None:
    """Entries of a registry file, or None when the file does not exist (no lookups)."""
    path = data_dir / name
    if not path.is_file():
        return None
    try:
        docs = read_yaml(path)
    except YamlError as exc:
        warnings.append(f"{exc}; no lookups were made in it")
        return []
    entries = docs[0] if docs else []
    if not isinstance(entries, list):
        warnings.append(f"{path}: is not a list of entries; no lookups were made in it")
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)]


def load_registries(data_dir: Path, warnings: list[str]) -> Registries:
    reg = Registries()
    agents = _read_registry(data_dir, "agents.yaml", warnings)
    if agents is None:
        reg.missing.add("agents.yaml")
    for entry in agents or []:
        name = str(entry.get("name") or "").strip()
        honorific = str(entry.get("honorific") or "").strip()
        keys = {name, str(entry.get("alt_name") or "")}
        if honorific and name:
            keys.add(f"{honorific} {name}")
        for key in filter(None, map(person_key, keys)):
            reg.agents.setdefault(key, set()).add(entry["id"])
    themes = _read_registry(data_dir, "themes.yaml", warnings)
    if themes is None:
        reg.missing.add("themes.yaml")
    for entry in themes or []:
        labels = [entry.get("label")]
        source_labels = entry.get("source_labels")
        labels += source_labels if isinstance(source_labels, list) else [source_labels]
        for label in labels:
            if isinstance(label, str) and label.strip():
                reg.themes.setdefault(normalise_key(label), set()).add(entry["id"])
    listings = _read_registry(data_dir, "listings.yaml", warnings)
    for entry in listings or []:
        seed = entry.get("seed_file")
        if isinstance(seed, str) and seed.strip():
            reg.listings.setdefault(Path(seed.strip()).name, entry["id"])
    return reg


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class StoredRecord:
    """A pledge file held in memory during the run."""

    id: str
    path: Path
    data: dict[str, Any]
    new: bool = False
    changed: bool = False
    #: Why the file must not be written (unreadable, or one of several records in a file).
    blocked: str | None = None
    #: The summary of the first page that had this item in this run; later pages only
    #: add terms (and are compared with it).
    seen_summary: str | None = None

    @property
    def curated(self) -> bool:
        return str(self.data.get("status", "published")) != DRAFT

    def set(self, key: str, value: Any) -> None:
        """Set a field; a new key goes where the README puts it, every existing key keeps
        its place (a steward's file keeps its order)."""
        if key in self.data:
            if self.data[key] != value:
                self.data[key] = value
                self.changed = True
            return
        self.changed = True
        rank = KEY_ORDER.index(key) if key in KEY_ORDER else len(KEY_ORDER)
        items = list(self.data.items())
        at = len(items)
        for position, (existing, _) in enumerate(items):
            if existing in KEY_ORDER and KEY_ORDER.index(existing) > rank:
                at = position
                break
        items.insert(at, (key, value))
        self.data.clear()
        self.data.update(items)


class RecordIndex:
    """Existing and new records by id and by normalised title."""

    def __init__(self) -> None:
        self.by_id: dict[str, StoredRecord] = {}
        self.by_title: dict[str, StoredRecord] = {}

    def add(self, record: StoredRecord) -> None:
        self.by_id.setdefault(record.id, record)
        title = record.data.get("title")
        if isinstance(title, str) and title.strip():
            self.by_title.setdefault(normalise_key(title), record)

    def find(self, rid: str, title: str) -> StoredRecord | None:
        return self.by_id.get(rid) or self.by_title.get(normalise_key(title))


def load_pledges(data_dir: Path, warnings: list[str]) -> RecordIndex:
    """Every record in data/pledges. A file that cannot be read, or that holds several
    records, is indexed too but blocked, so that the importer never overwrites it."""
    index = RecordIndex()
    folder = data_dir / "pledges"
    if not folder.is_dir():
        return index
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        try:
            docs = read_yaml(path)
        except YamlError as exc:
            warnings.append(f"{exc}; records with id {path.stem!r} are left untouched")
            index.add(StoredRecord(path.stem, path, {}, blocked=f"{path} cannot be read"))
            continue
        if len(docs) == 1 and isinstance(docs[0], dict):
            data = docs[0]
            rid = data.get("id") if isinstance(data.get("id"), str) else path.stem
            index.add(StoredRecord(rid, path, data))
            if rid != path.stem:
                index.add(StoredRecord(path.stem, path, data, blocked=f"{path} holds id {rid!r}"))
            continue
        entries = docs[0] if len(docs) == 1 and isinstance(docs[0], list) else docs
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                reason = f"it is one of several records in {path}; edit that file by hand"
                index.add(StoredRecord(entry["id"], path, entry, blocked=reason))
    return index
