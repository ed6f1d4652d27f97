"""What a build can reuse from the last one: per-file results, keyed by the file's stat.

At a million pledges, reading the YAML is the slowest step of a build and validating the
next. Neither needs redoing for a file that has not changed since the last build: this
cache keeps, per source file (path, size, mtime), its mapped N-Triples and their
statistics and the problems found reading it, under the *mapping key* they depend on
(the base, the data folder, the code: :func:`code_digest`), and the violations its
pledges had under a given *context* (the shapes, the ontology, the registries, the base,
the code). An entry whose key differs is never handed back: a build for another base
maps the file again. A steward who edits one record then waits for one file, not a
million records.

It is safe to validate only the changed pledges because a pledge's constraints read only
its own triples and the types of the registry entries it links to (the property the
per-file validation in :mod:`.pipeline` relies on; ``tests/test_shacl_equivalence.py``
checks it against one whole-graph pyshacl run, ``tests/test_incremental.py`` a rebuild
against a fresh one). A different context invalidates every stored violation.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isal import isal_zlib  # zlib's format, 4x faster to write and 10x to read

from ..records import Problem
from .graph_stats import GraphStats

# 2: entries carry their graph statistics; 3: objects digested from N-Triples; 4: entries
# keyed by their mapping (base, data folder, code), not by the file's stat alone; 5: the
# digest of their N-Triples; 6: heads apart from bodies (N-Triples and statistics)
SCHEMA_VERSION = 6


@dataclass
class FileEntry:
    """What one pledge file gave the last time it was read."""

    ids: list[tuple[str, str]]  # each pledge's id and display file, in order
    problems: list[Problem]  # from reading and mapping
    drafts: int
    terms: set[str]
    #: Each pledge's N-Triples; None for an entry looked up without them (a rebuild
    #: copies an unchanged file's bytes from the previous release's data file instead).
    nts: list[bytes] | None = field(default_factory=list)
    stats: GraphStats | None = field(default_factory=GraphStats)  # None: not looked up
    violations: list[Problem] | None = None  # None: not validated under this context
    #: Of the pledges' N-Triples, in order, as :class:`.changes.ChunkIndex` digests them:
    #: a rebuild does not hash gigabytes of unchanged files again.
    digest: str = ""
    triples: int = 0  # distinct triples of the pledges, as the store counts them
    #: The pledges' search rows, pickled, when the worker was asked for them
    #: (:mod:`.search_mapped`); handed to the build, never cached.
    rows: bytes | None = None

    def add(self, pid: str, file: str, nt: bytes) -> None:
        self.ids.append((pid, file))
        if self.nts is None:  # pragma: no cover - a worker always has the triples
            raise RuntimeError("an entry without its triples")
        self.nts.append(nt)

    @property
    def pledges(self) -> list[tuple[str, str, bytes]]:
        """Each pledge's id, display file and N-Triples (the entry must hold them)."""
        if self.nts is None:
            raise RuntimeError("the entry was looked up without its triples")
        return [(pid, file, nt) for (pid, file), nt in zip(self.ids, self.nts, strict=True)]


def _stat_key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


class BuildCache:
    """A small SQLite database beside the releases (never inside a release).

    A file's entry is kept in two rows: its head (ids, problems, terms, digest, counts:
    kilobytes) in ``files``, and its N-Triples with their statistics (megabytes) in
    ``bodies``. A rebuild that copies unchanged files' bytes from the previous release
    reads the heads only: at a million pledges, 1,000 small rows instead of 3 GB of
    compressed pickles (bench/RESULTS.md, issue 18)."""

    def __init__(self, path: Path, context: str, mapping: str, read_ahead: bool = True):
        path.parent.mkdir(parents=True, exist_ok=True)
        if read_ahead:
            _read_ahead(path)
        self.db = sqlite3.connect(str(path), timeout=300)  # another build may hold it
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        version = self._meta("version")
        if version != str(SCHEMA_VERSION):  # entries of another shape: start afresh
            self.db.execute("DROP TABLE IF EXISTS files")
            self.db.execute("DROP TABLE IF EXISTS bodies")
            self.db.execute("DELETE FROM meta WHERE key LIKE 'registry%'")
            self._set_meta("version", str(SCHEMA_VERSION))
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime INTEGER, head BLOB, context TEXT, violations BLOB, mapping TEXT)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS bodies (path TEXT PRIMARY KEY, body BLOB)")
        self.context = context
        self.mapping = mapping
        self.db.commit()

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def lookup(self, path: Path) -> FileEntry | None:
        """The cached entry's head if the file is unchanged since it was stored under
        this mapping key (the same base, data folder and code), without its triples and
        statistics (:meth:`complete` adds them)."""
        row = self.db.execute(
            "SELECT size, mtime, head, context, violations FROM files "
            "WHERE path = ? AND mapping = ?",
            (str(path), self.mapping),
        ).fetchone()
        if row is None or (row[0], row[1]) != _stat_key(path):
            return None
        try:
            entry: FileEntry = pickle.loads(isal_zlib.decompress(row[2]))
        except Exception:  # damaged or from another version: read the file again
            return None
        if row[3] == self.context and row[4] is not None:
            entry.violations = [Problem(*p) for p in json.loads(row[4])]
        return entry

    def complete(self, path: Path, entry: FileEntry) -> bool:
        """Add the entry's triples and statistics; False if they cannot be read."""
        row = self.db.execute("SELECT body FROM bodies WHERE path = ?", (str(path),)).fetchone()
        try:
            nts, stats = pickle.loads(isal_zlib.decompress(row[0]))
        except Exception:  # missing or damaged: read the file again
            return False
        if len(nts) != len(entry.ids):
            return False
        entry.nts, entry.stats = nts, stats
        return True

    def store(self, path: Path, entry: FileEntry) -> None:
        size, mtime = _stat_key(path)
        head = FileEntry(entry.ids, entry.problems, entry.drafts, entry.terms, None, None,
                         None, entry.digest, entry.triples)  # fmt: skip
        violations = (
            json.dumps([_problem_tuple(p) for p in entry.violations])
            if entry.violations is not None
            else None
        )
        self.db.execute(
            "INSERT INTO files (path, size, mtime, head, context, violations, mapping) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
            "size = excluded.size, mtime = excluded.mtime, head = excluded.head, "
            "context = excluded.context, violations = excluded.violations, "
            "mapping = excluded.mapping",
            (str(path), size, mtime, _packed(head), self.context, violations, self.mapping),
        )
        self.db.execute(
            "INSERT INTO bodies (path, body) VALUES (?, ?) "
            "ON CONFLICT(path) DO UPDATE SET body = excluded.body",
            (str(path), _packed((entry.nts, entry.stats))),
        )

    def set_violations(self, path: Path, violations: list[Problem]) -> None:
        self.db.execute(
            "UPDATE files SET context = ?, violations = ? WHERE path = ? AND mapping = ?",
            (
                self.context,
                json.dumps([_problem_tuple(p) for p in violations]),
                str(path),
                self.mapping,
            ),
        )

    def get_registry(self, key: str) -> Any | None:
        return self.get_pickled("registry:" + key)

    def put_registry(self, key: str, value: Any) -> None:
        self.db.execute("DELETE FROM meta WHERE key LIKE 'registry:%'")
        self._set_meta("registry:" + key, pickle.dumps(value).hex())

    def registry_violations(self) -> list[Problem] | None:
        """The registries' violations under this context, if a build stored them."""
        value = self._meta("registry-violations:" + self.context)
        try:
            return None if value is None else [Problem(*p) for p in json.loads(value)]
        except (ValueError, TypeError):  # damaged: validate the registries again
            return None

    def set_registry_violations(self, violations: list[Problem]) -> None:
        self.db.execute("DELETE FROM meta WHERE key LIKE 'registry-violations:%'")
        value = json.dumps([_problem_tuple(p) for p in violations])
        self._set_meta("registry-violations:" + self.context, value)

    def compiled(self) -> Any | None:
        """The shapes compiled to checks under this context, if a build stored them."""
        return self.get_pickled("compiled:" + self.context)

    def set_compiled(self, checks: Any) -> None:
        self.db.execute("DELETE FROM meta WHERE key LIKE 'compiled:%'")
        self._set_meta("compiled:" + self.context, pickle.dumps(checks).hex())

    def get_pickled(self, key: str) -> Any | None:
        value = self._meta(key)
        try:
            return pickle.loads(bytes.fromhex(value)) if value else None
        except Exception:  # damaged: make it again
            return None

    def shapes_problems(self, key: str) -> list[Problem] | None:
        """The shapes' own check (SHACL-SHACL) stored under ``key``, if any."""
        value = self._meta("shapes-check:" + key)
        try:
            return None if value is None else [Problem(*p) for p in json.loads(value)]
        except (ValueError, TypeError):  # damaged: check the shapes again
            return None

    def set_shapes_problems(self, key: str, problems: list[Problem]) -> None:
        self.db.execute("DELETE FROM meta WHERE key LIKE 'shapes-check:%'")
        self._set_meta("shapes-check:" + key, json.dumps([_problem_tuple(p) for p in problems]))

    def prune(self, live: set[str]) -> None:
        """Forget files that no longer exist."""
        rows = self.db.execute("SELECT path FROM files").fetchall()
        gone = [(p,) for (p,) in rows if p not in live]
        self.db.executemany("DELETE FROM files WHERE path = ?", gone)
        self.db.executemany("DELETE FROM bodies WHERE path = ?", gone)

    def close(self) -> None:
        self.db.commit()
        self.db.close()


def _read_ahead(path: Path) -> None:
    """Ask the kernel to read the cache file now, in one sequential pass.

    A rebuild reads every file's entry, and a large build's dumps have pushed the cache
    out of memory since the last one: looking the entries up one by one then reads a
    fragmented file at random, 42 ms a lookup (42 s for a million pledges' 1,000
    files), against 1.9 s to read its 620 MB in order (bench/RESULTS.md, issue 18)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not made yet
        return
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except (OSError, AttributeError):  # not Linux: the lookups read as they go
        pass
    finally:
        os.close(fd)


def _packed(value: Any) -> bytes:
    return isal_zlib.compress(pickle.dumps(value), 1)


def _problem_tuple(p: Problem) -> tuple[str, str, str, str, str]:
    return (p.file, p.record, p.field, p.message, p.severity)


def stat_digest(paths: list[Path]) -> str:
    """A key for a set of files that changes when any of them does."""
    parts = []
    for path in sorted(paths):
        try:
            size, mtime = _stat_key(path)
        except OSError:
            size, mtime = -1, -1
        parts.append(f"{path}:{size}:{mtime}")
    return json.dumps(parts)


def code_digest() -> str:
    """A digest of this package's Python sources: what the code maps and checks changes
    with them, and a cache made by other code must not be handed back (a development
    tree changes without a new version number)."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]  # pledge_lod, not only build/
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()
