"""``pledge-lod import``: turn listing pages into draft pledge records, safely.

The importer never loses a steward's work. An item that is already in ``data/pledges`` is
recognised (by id, or by a record whose title is the same after whitespace, case, quote
and dash normalisation, so that a curated record with a hand-made id is still found) and
only gains the page's taxonomy term. A curated record (``status`` other than ``draft``)
keeps its title, summary and submitter unless ``force`` is given; a difference is reported
so that the steward can decide. Draft records are the importer's own output and are
refreshed from the page. New items become ``status: draft`` records, which are not
published until a steward completes them and sets ``status: published``.

All decisions are made in memory first; each file that really changes is then written
once, atomically (a temporary file in the same folder, then ``os.replace``), so that an
interrupted run never leaves half a file, and re-running an import changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..records import slugify
from .import_index import (
    DRAFT,
    StoredRecord,
    load_pledges,
    load_registries,
    normalise_key,
    person_key,
)
from .listing_lines import strip_honorific
from .listing_page import ListingItem, ListingPage, parse_listing
from .sources import ANONYMOUS
from .yaml_reader import MAX_FILE_BYTES
from .yaml_writer import dump_record, write_atomically

#: "Goal 5: Gender equality" -> 5. Goals are matched by number, never by label: the source
#: site's labels differ from the UN's.
GOAL_TERM_RE = re.compile(r"^\s*goal\s+(\d{1,3})\b", re.IGNORECASE)
SDG_GOALS = range(1, 18)
#: Fields that a listing page says about an item; the only ones ``force`` replaces.
LISTING_FIELDS = ("title", "summary", "submitter", "submitter_verified")


@dataclass(slots=True)
class ImportReport:
    """What an import did, by record id, and what the steward should look at.

    An id may be both ``updated`` (a new term was added) and ``skipped`` (its curated text
    differs from the page and was kept): both are true and both are worth knowing.
    ``errors`` holds files that could not be read at all; the CLI exits 1 when there are.
    """

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pages: int = 0
    items: int = 0

    @property
    def exit_code(self) -> int:
        """1 if some file could not be read (or written) at all, else 0."""
        return 1 if self.errors else 0

    def format(self) -> str:
        """Friendly lines for the command line."""
        lines = [f"Read {self.pages} listing page(s) with {self.items} item(s)."]
        sections = (
            ("Created (status: draft; complete them, then set status: published)",
             self.created, "+"),
            ("Updated (new terms added)", self.updated, "~"),
            ("Skipped (a curated record differs from the page; re-run with --force to"
             " replace its title, summary and submitter)", self.skipped, "!"),
        )  # fmt: skip
        for heading, ids, mark in sections:
            if ids:
                lines.append(f"{heading}: {len(ids)}")
                lines.extend(f"  {mark} {rid}" for rid in ids)
        if self.unchanged:
            lines.append(f"Unchanged: {len(self.unchanged)}")
        if not (self.created or self.updated or self.skipped or self.unchanged):
            lines.append("No records were created or changed.")
        if self.warnings:
            lines.append(f"Warnings: {len(self.warnings)}")
            lines.extend(f"  warning: {w}" for w in self.warnings)
        if self.errors:
            lines.append(f"Errors: {len(self.errors)}")
            lines.extend(f"  error: {e}" for e in self.errors)
        return "\n".join(lines)


def _same_text(a: Any, b: Any) -> bool:
    """Equal up to whitespace (a YAML block scalar adds a final newline; re-wrapping a
    summary is not a change of content)."""
    return " ".join(str(a or "").split()) == " ".join(str(b or "").split())


# --------------------------------------------------------------------------- the import


@dataclass(slots=True)
class _Term:
    """What a page's term adds to a record."""

    goal: int | None = None
    theme: str | None = None


class _Importer:
    def __init__(self, data_dir: Path, force: bool) -> None:
        self.data_dir = data_dir
        self.force = force
        self.report = ImportReport()
        self.registries = load_registries(data_dir, self.report.warnings)
        self.index = load_pledges(data_dir, self.report.warnings)
        self.records: dict[str, StoredRecord] = {}  # touched in this run, by id
        self.skipped: set[str] = set()
        self.noted_missing: set[str] = set()

    # -- reading

    def read_page(self, path: Path) -> ListingPage | None:
        """The parsed page, or None (with an error) when the file cannot be read at all."""
        try:
            size = path.stat().st_size
            if not path.is_file():
                self.report.errors.append(f"{path}: is not a file")
                return None
            if size > MAX_FILE_BYTES:
                self.report.errors.append(
                    f"{path}: is {size} bytes; a listing page is at most {MAX_FILE_BYTES}"
                )
                return None
            raw = path.read_bytes()
        except OSError as exc:
            self.report.errors.append(f"{path}: cannot be read: {exc.strerror or exc}")
            return None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.report.warnings.append(
                f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start});"
                " undecodable bytes were replaced"
            )
            text = raw.decode("utf-8", errors="replace")
        return parse_listing(text, str(path))

    def term_of(self, page: ListingPage) -> _Term:
        term = page.term
        if term is None:
            return _Term()
        m = GOAL_TERM_RE.match(term)
        if m:
            number = int(m.group(1))
            if number in SDG_GOALS:
                return _Term(goal=number)
            self.report.warnings.append(
                f"{page.source}: term {term!r} names goal {number}, which is not an SDG (1-17);"
                " no goal was added"
            )
            return _Term()
        if "themes.yaml" in self.registries.missing:
            self.report.warnings.append(
                f"{page.source}: term {term!r} was not added: {self.data_dir / 'themes.yaml'}"
                " does not exist"
            )
            return _Term()
        ids = self.registries.themes.get(normalise_key(term), set())
        if len(ids) == 1:
            return _Term(theme=next(iter(ids)))
        if ids:
            self.report.warnings.append(
                f"{page.source}: term {term!r} matches several themes ({', '.join(sorted(ids))});"
                " none was added"
            )
        else:
            self.report.warnings.append(
                f"{page.source}: term {term!r} is not a theme in {self.data_dir / 'themes.yaml'}"
                " (by label or source_labels); add it there, then re-import"
            )
        return _Term()

    # -- submitters

    def submitter_of(self, item: ListingItem, where: str) -> str | None:
        """The agent id for the item's submitter, "anonymous", or None (unknown: warned)."""
        if item.anonymous:
            return ANONYMOUS
        if item.submitter is None:
            return None
        if "agents.yaml" in self.registries.missing:
            if "agents.yaml" not in self.noted_missing:
                self.noted_missing.add("agents.yaml")
                self.report.warnings.append(
                    f"{self.data_dir / 'agents.yaml'} does not exist: named submitters were"
                    " left out"
                )
            return None
        agents = self.registries.agents
        ids = agents.get(person_key(item.submitter)) or agents.get(
            person_key(strip_honorific(item.submitter))
        )
        if ids and len(ids) == 1:
            return next(iter(ids))
        if ids:
            self.report.warnings.append(
                f"{where}: submitter {item.submitter!r} matches several agents"
                f" ({', '.join(sorted(ids))}); submitter left out"
            )
            return None
        suggestion = slugify(strip_honorific(item.submitter))
        self.report.warnings.append(
            f"{where}: submitter {item.submitter!r} is not in agents.yaml; please add the"
            f" agent (for example id: {suggestion}) and set submitter in the record"
        )
        return None

    # -- items

    def import_item(self, item: ListingItem, page: ListingPage, term: _Term,
                    listing: str | None) -> None:  # fmt: skip
        where = f'{page.source}: item {item.position} "{item.title}"'
        rid = slugify(item.title)
        if rid == "untitled" and normalise_key(item.title) != "untitled":
            # slugify found no Latin letter or digit: every such title would share one id
            self.report.warnings.append(
                f"{where}: no id can be derived from the title (no Latin letters or digits);"
                " skipped: add this record by hand"
            )
            return
        record = self.index.find(rid, item.title)
        if (
            record is not None
            and record.new
            and normalise_key(str(record.data.get("title"))) != normalise_key(item.title)
        ):
            self.report.warnings.append(
                f"{where}: its id {rid!r} is also that of {record.data.get('title')!r};"
                " both were taken as one record"
            )
        if record is not None and record.blocked:
            self.report.warnings.append(
                f"{where}: matches record {record.id!r}, but {record.blocked}"
            )
            self.skipped.add(record.id)
            return
        submitter = self.submitter_of(item, where)
        if record is None:
            record = self.create(rid, item, submitter)
        elif record.seen_summary is not None:
            self.seen_again(record, item, submitter, where)
        elif record.curated and not record.new:
            self.curated(record, item, submitter, where)
        else:
            self.fill(record, item, submitter)
        self.records.setdefault(record.id, record)
        self.add_terms(record, term, where)
        if listing and (record.new or not record.curated):
            self.add_to_list(record, "listings", listing, where)

    def create(self, rid: str, item: ListingItem, submitter: str | None) -> StoredRecord:
        data: dict[str, Any] = {"id": rid, "status": DRAFT, "title": item.title}
        if item.summary:
            data["summary"] = item.summary + "\n"
        if submitter is not None:
            data["submitter"] = submitter
        if submitter is not None or item.anonymous or item.submitter is not None:
            data["submitter_verified"] = item.submitter_verified
        path = self.data_dir / "pledges" / f"{rid}.yaml"
        record = StoredRecord(rid, path, data, new=True, changed=True, seen_summary=item.summary)
        self.index.add(record)
        return record

    def seen_again(
        self, record: StoredRecord, item: ListingItem, submitter: str | None, where: str
    ) -> None:
        """An item already met on an earlier page of this run. A draft is completed from
        the fuller copy (a page cut short gives a shorter summary and may lose the
        submitter line); otherwise the first copy is kept and a real difference reported."""
        seen = " ".join(record.seen_summary.split()) if record.seen_summary else ""
        now = " ".join(item.summary.split())
        if record.new or not record.curated:
            if now != seen and now.startswith(seen):
                record.seen_summary = item.summary
                record.set("summary", item.summary + "\n")
                seen = now
            if "submitter" not in record.data and submitter is not None:
                record.set("submitter", submitter)
                record.set("submitter_verified", item.submitter_verified)
        if item.summary and now != seen and not seen.startswith(now):
            self.report.warnings.append(
                f"{where}: also on an earlier page with a different summary; kept the first"
            )

    def fill(self, record: StoredRecord, item: ListingItem, submitter: str | None) -> None:
        """Set the listing's fields (a draft, or a curated record with --force). A value
        the page does not have (a cut summary, an unknown submitter) is left as it is."""
        record.seen_summary = item.summary
        record.set("title", item.title)
        if item.summary and not _same_text(record.data.get("summary"), item.summary):
            record.set("summary", item.summary + "\n")
        if submitter is not None:
            record.set("submitter", submitter)
        if item.anonymous or item.submitter is not None:
            record.set("submitter_verified", item.submitter_verified)

    def curated(self, record: StoredRecord, item: ListingItem, submitter: str | None,
                where: str) -> None:  # fmt: skip
        """A curated record keeps its text unless --force; differences are reported."""
        data = record.data
        differ = []
        if normalise_key(str(data.get("title") or "")) != normalise_key(item.title):
            differ.append("title")
        if item.summary and not _same_text(data.get("summary"), item.summary):
            differ.append("summary")
        if submitter is not None and data.get("submitter") != submitter:
            differ.append("submitter")
        has_submitter = item.anonymous or item.submitter is not None
        if has_submitter and data.get("submitter_verified") != item.submitter_verified:
            differ.append("submitter_verified")
        record.seen_summary = item.summary
        if not differ:
            return
        if self.force:
            self.fill(record, item, submitter)
            self.report.warnings.append(
                f"{where}: replaced {', '.join(differ)} of curated record {record.id!r} (--force)"
            )
            return
        self.skipped.add(record.id)
        self.report.warnings.append(
            f"{where}: curated record {record.id!r} ({record.path.name}) differs from the page"
            f" in {', '.join(differ)}; kept the record (use --force to replace)"
        )

    def add_terms(self, record: StoredRecord, term: _Term, where: str) -> None:
        """Add the page's goal (matched by number) or theme, if the record lacks it."""
        if term.goal is not None:
            goals = self.as_list(record, "goals", where)
            if goals is not None and all(_goal_number(g) != term.goal for g in goals):
                record.set("goals", [*goals, term.goal])
        if term.theme is not None:
            self.add_to_list(record, "themes", term.theme, where)

    def add_to_list(self, record: StoredRecord, key: str, value: str, where: str) -> None:
        values = self.as_list(record, key, where)
        if values is not None and value not in [str(v) for v in values]:
            record.set(key, [*values, value])

    def as_list(self, record: StoredRecord, key: str, where: str) -> list[Any] | None:
        value = record.data.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return [value]
        self.report.warnings.append(
            f"{where}: record {record.id!r} has a {key} that is not a list; not changed"
        )
        return None

    # -- writing

    def write(self) -> None:
        report = self.report
        for rid in sorted(self.records):
            record = self.records[rid]
            if record.changed:
                try:
                    write_atomically(record.path, dump_record(record.data))
                except OSError as exc:
                    report.errors.append(f"{record.path}: cannot be written: {exc.strerror or exc}")
                    continue
                (report.created if record.new else report.updated).append(rid)
            elif rid not in self.skipped:
                report.unchanged.append(rid)
        report.skipped = sorted(self.skipped)

    def run(self, files: list[Path]) -> ImportReport:
        for path in files:
            path = Path(path)
            page = self.read_page(path)
            if page is None:
                continue
            self.report.pages += 1
            self.report.items += len(page.items)
            self.report.warnings.extend(page.warnings)
            term = self.term_of(page)
            listing = self.registries.listings.get(path.name)
            for item in page.items:
                self.import_item(item, page, term, listing)
        self.write()
        return self.report


def _goal_number(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def run_import(files: list[Path], data_dir: Path, force: bool = False) -> ImportReport:
    """Import listing pages into ``data_dir/pledges``; see the module docstring.

    Never raises for bad input: unreadable files are ``errors``, everything else that is
    wrong is a warning.
    """
    return _Importer(Path(data_dir), force).run(list(files))
