"""The history of the published releases: versions and what each changed, per resource.

Release ids are content digests, so publishing A, then B, then A again publishes release
id A twice: the history therefore numbers *versions* 1, 2, 3... in order of publication,
and each version names its release id. A version's changes are an RDF Patch
(https://afs.github.io/rdf-patch/) against the version before it, of the published data
(the release's ``dumps/pledges.nt``), grouped by resource (subject IRI).

On disk, in ``{releases_dir}/history/`` (append-only: pruning old releases never touches
it):

- ``changesets/{number}.rdfp.gz``: every version's RDF Patch, the record of truth;
- ``history.sqlite``: an index of them, for the server to read fast at a million
  resources: ``versions`` (one row per version, with its summary) and ``changes`` (one
  row per version and resource: its kind and the N-Triples added and removed), indexed by
  version and by IRI. It is derived from the changesets (whose headers carry each
  version's number and date) and can be rebuilt from them alone
  (:func:`pledge_lod.build.changes.rebuild_index`).

The writer (``record_version``) is called by the build once a release is made current;
the readers (:class:`History`) only ever open the index read-only.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import layout

HISTORY_DIR = "history"
INDEX_FILE = "history.sqlite"
CHANGESETS_DIR = "changesets"
#: A release's own changeset (against the version that was current when it was built).
CHANGESET_FILE = "changes.rdfp.gz"
#: The media type of RDF Patch (https://afs.github.io/rdf-patch/).
RDF_PATCH_MEDIA_TYPE = "application/rdf-patch"
SUMMARY_KEYS = (
    "records_added",
    "records_changed",
    "records_removed",
    "triples_added",
    "triples_removed",
)
KINDS = ("created", "updated", "deleted")


@dataclass(frozen=True)
class Version:
    """One published release, in order of publication."""

    number: int
    release_id: str
    created: str  # ISO 8601 UTC, the manifest's ``created``
    previous: int | None
    summary: dict[str, int]


@dataclass(frozen=True)
class Change:
    """What one version did to one resource: N-Triples lines added and removed (a blank
    node's triples are grouped under the resource that points at it)."""

    iri: str
    kind: str  # "created" | "updated" | "deleted"
    added: tuple[str, ...]
    removed: tuple[str, ...]


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS versions (number INTEGER PRIMARY KEY, release_id TEXT NOT "
    "NULL, created TEXT NOT NULL, previous INTEGER, summary TEXT NOT NULL, "
    "in_release INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS versions_release ON versions (release_id, number)",
    "CREATE TABLE IF NOT EXISTS changes (version INTEGER NOT NULL, iri TEXT NOT NULL, "
    "kind TEXT NOT NULL, added BLOB NOT NULL, removed BLOB NOT NULL, "
    "PRIMARY KEY (version, iri)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS changes_iri ON changes (iri, version)",
)


def history_dir(releases_dir: Path) -> Path:
    return releases_dir / HISTORY_DIR


def archived_changeset(releases_dir: Path, number: int) -> Path:
    """Where the history keeps version ``number``'s RDF Patch (whether or not it exists)."""
    return history_dir(releases_dir) / CHANGESETS_DIR / f"{number}.rdfp.gz"


def built_as(release: Path) -> int | None:
    """The version number a release folder was built as (its manifest's ``version``)."""
    try:
        manifest = json.loads((release / layout.MANIFEST).read_text(encoding="utf-8"))
        return int(manifest["version"]["number"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _lines(packed: bytes | str) -> tuple[str, ...]:
    """N-Triples lines as the index keeps them (:func:`_pack`)."""
    if isinstance(packed, bytes):
        packed = zlib.decompress(packed).decode("utf-8")
    return tuple(packed.split("\n")) if packed else ()


def _pack(lines: tuple[str, ...]) -> bytes:
    """N-Triples lines compressed: they repeat IRIs, and a first version holds every
    triple of the data (uncompressed, about 270 bytes a triple in SQLite)."""
    return zlib.compress("\n".join(lines).encode("utf-8"), 1)


def latest_release_folder(releases_dir: Path) -> Path | None:
    """The folder of the latest version's release, if it is kept."""
    history = History.open(releases_dir)
    try:
        latest = history.latest()
    finally:
        history.close()
    folder = releases_dir / latest.release_id if latest is not None else None
    return folder if folder is not None and folder.is_dir() else None


class History:
    """Read-only access to the history index; safe to share between threads.

    Opening is cheap and never fails: without a history (no build recorded one yet) it
    is empty, and it sees versions recorded after it was opened.
    """

    def __init__(self, releases_dir: Path):
        self.releases_dir = releases_dir
        self.path = history_dir(releases_dir) / INDEX_FILE
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, releases_dir: Path) -> History:
        return cls(releases_dir)

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            if self._db is None:
                if not self.path.is_file():
                    return []
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    _VERSION = "SELECT number, release_id, created, previous, summary FROM versions"

    @staticmethod
    def _version(row: tuple) -> Version:
        summary = json.loads(row[4])
        return Version(row[0], row[1], row[2], row[3], {k: int(summary[k]) for k in summary})

    def versions(self) -> list[Version]:
        """Every version, oldest first."""
        return [self._version(r) for r in self._rows(self._VERSION + " ORDER BY number")]

    def latest(self) -> Version | None:
        rows = self._rows(self._VERSION + " ORDER BY number DESC LIMIT 1")
        return self._version(rows[0]) if rows else None

    def version(self, number: int) -> Version | None:
        if not 0 < number < 1 << 63:  # SQLite's integers: no version is numbered so
            return None
        rows = self._rows(self._VERSION + " WHERE number = ?", (number,))
        return self._version(rows[0]) if rows else None

    def for_release(self, release_id: str) -> Version | None:
        """The newest version that published this release id."""
        rows = self._rows(
            self._VERSION + " WHERE release_id = ? ORDER BY number DESC LIMIT 1", (release_id,)
        )
        return self._version(rows[0]) if rows else None

    def changes(
        self, number: int, after: str | None = None, limit: int | None = None
    ) -> list[Change]:
        """Version ``number``'s changes ordered by IRI: those after the IRI ``after``,
        at most ``limit`` of them (for paging)."""
        sql = "SELECT iri, kind, added, removed FROM changes WHERE version = ?"
        params: tuple = (number,)
        if after is not None:
            sql += " AND iri > ?"
            params += (after,)
        sql += " ORDER BY iri"
        if limit is not None:
            sql += " LIMIT ?"
            params += (max(0, limit),)
        return [Change(r[0], r[1], _lines(r[2]), _lines(r[3])) for r in self._rows(sql, params)]

    def count_changes(self, number: int) -> int:
        rows = self._rows("SELECT count(*) FROM changes WHERE version = ?", (number,))
        return int(rows[0][0]) if rows else 0

    def resource(self, iri: str) -> list[tuple[Version, Change]]:
        """Every version that changed this resource, oldest first, with its change."""
        rows = self._rows(
            "SELECT v.number, v.release_id, v.created, v.previous, v.summary, "
            "c.kind, c.added, c.removed FROM changes c JOIN versions v ON v.number = c.version "
            "WHERE c.iri = ? ORDER BY v.number",
            (iri,),
        )
        return [
            (self._version(r[:5]), Change(iri, r[5], _lines(r[6]), _lines(r[7]))) for r in rows
        ]

    def changeset_path(self, number: int) -> Path | None:
        """Version ``number``'s RDF Patch in its release folder, if that release is kept
        and its changeset is this version's (a release published again, A-B-A, carries
        the changeset it was built with: then see :meth:`archived_changeset_path`)."""
        rows = self._rows(
            "SELECT release_id, in_release FROM versions WHERE number = ?", (number,)
        )
        if not rows or not rows[0][1]:
            return None
        folder = self.releases_dir / rows[0][0]
        # The folder may be the same release id made again for a later version.
        if built_as(folder) != number or not (folder / CHANGESET_FILE).is_file():
            return None
        return folder / CHANGESET_FILE

    def archived_changeset_path(self, number: int) -> Path | None:
        """Version ``number``'s RDF Patch as the history keeps it (never pruned)."""
        path = archived_changeset(self.releases_dir, number)
        return path if self.version(number) is not None and path.is_file() else None


# --- RDF Patch -----------------------------------------------------------------------


def patch_lines(
    changes: Iterable[Change],
    release_id: str,
    previous_id: str | None,
    version: tuple[int, str] | None = None,
) -> Iterator[str]:
    """An RDF Patch, line by line: a header naming this release, its version number and
    date (``version``: what the index is rebuilt from) and its predecessor, then one
    transaction of deletions and additions, resource by resource."""
    yield f"H id <{release_iri(release_id)}> .\n"
    if version is not None:
        yield f'H version "{version[0]}" .\n'
        yield f'H created "{version[1]}" .\n'
    if previous_id is not None:
        yield f"H prev <{release_iri(previous_id)}> .\n"
    yield "TX .\n"
    for change in changes:
        for line in change.removed:
            yield f"D {line}\n"
        for line in change.added:
            yield f"A {line}\n"
    yield "TC .\n"


def write_patch(
    path: Path,
    changes: Iterable[Change],
    release_id: str,
    previous_id: str | None,
    version: tuple[int, str] | None = None,
) -> None:
    """Write an RDF Patch (:func:`patch_lines`), gzipped."""
    # No name or time in the gzip header: the same changes, the same bytes.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz,
        io.TextIOWrapper(gz, encoding="utf-8") as out,
    ):
        out.writelines(patch_lines(changes, release_id, previous_id, version))


def read_patch(path: Path) -> Iterator[tuple[str, str]]:
    """The rows of an RDF Patch written by :func:`write_patch`: ("A" or "D", N-Triples
    line), in order; headers and transaction markers are left out."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line[:2] in ("A ", "D "):
                yield line[0], line[2:]


def read_headers(path: Path) -> dict[str, str]:
    """An RDF Patch's headers (``H key value .``), values without their brackets/quotes."""
    headers = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.startswith("H "):
                break
            _, key, value = line.rstrip(" .\n").split(" ", 2)
            headers[key] = value.strip('<>"')
    return headers


def release_id_of(iri: str) -> str:
    return iri.rsplit(":", 1)[-1]


def release_iri(release_id: str) -> str:
    """The IRI naming a release (the patch's ``H id``); a URN, since a release id is a
    content digest and the same data is the same release whatever its version."""
    return f"urn:pledge-lod:release:{release_id}"


# --- The writer --------------------------------------------------------------------------


def _connect_writer(releases_dir: Path) -> sqlite3.Connection:
    folder = history_dir(releases_dir)
    (folder / CHANGESETS_DIR).mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(folder / INDEX_FILE), timeout=300)
    for statement in _SCHEMA:
        db.execute(statement)
    return db


def next_number(releases_dir: Path) -> int:
    latest = History.open(releases_dir).latest()
    return 1 if latest is None else latest.number + 1


def record_version(
    releases_dir: Path,
    release: tuple[str, str],
    changes: Iterable[Change],
    summary: dict[str, int],
    patch: Path,
    in_release: bool,
) -> Version:
    """Append a version publishing ``release`` (its id and ``created``) with its
    ``changes`` (ordered by IRI) and its RDF Patch ``patch`` (copied into the history
    unless it is there already). One transaction: a reader sees the version with all
    its changes or not at all."""
    release_id, created = release
    db = _connect_writer(releases_dir)
    try:
        with db:
            row = db.execute("SELECT max(number) FROM versions").fetchone()
            previous = row[0] if row and row[0] is not None else None
            number = (previous or 0) + 1
            archive = archived_changeset(releases_dir, number)
            if patch.resolve() != archive.resolve():
                tmp = archive.with_suffix(".tmp")
                tmp.write_bytes(patch.read_bytes())
                os.replace(tmp, archive)
            db.execute(
                "INSERT INTO versions (number, release_id, created, previous, summary, "
                "in_release) VALUES (?, ?, ?, ?, ?, ?)",
                (number, release_id, created, previous, json.dumps(summary, sort_keys=True),
                 int(in_release)),
            )
            db.executemany(
                "INSERT INTO changes (version, iri, kind, added, removed) VALUES (?, ?, ?, ?, ?)",
                (
                    (number, c.iri, c.kind, _pack(c.added), _pack(c.removed))
                    for c in changes
                ),
            )
    finally:
        db.close()
    return Version(number, release_id, created, previous, dict(summary))
