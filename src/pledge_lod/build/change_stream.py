"""Changes too large to hold in memory: the first version (every triple created) and any
comparison of many sources, streamed in the order of the RDF Patch.

:func:`.changes.diff` groups every compared triple by resource in memory: at a million
pledges, a first version is 17M N-Triples strings in sets (11 GB). Here the compared
bytes are never held: one pass over each side notes where each subject's run of lines
lies, as a key (IRI, offset, length); the keys are sorted in bounded runs spilled to
disk and merged (:func:`heapq.merge`), so the changes come out ordered by IRI, each
resource's lines read back from its spans when its turn comes. Only the keys are sorted,
not the triples: a key is about 80 bytes for the 3 KB of a pledge's lines.

The data file is grouped by subject (a subject's triples are written together, and
never in two sources), but nothing here relies on it: a subject in several runs has a
key per run, and the merge brings them together. A blank node's triples belong to the
resource that points at it, as in :func:`.changes.group` (the mapping mints none today:
their few keys wait in memory for the end of the pass, which resolves their owner).

Every pass (the RDF Patch, the history index, and the summary unless every resource is
created, when the keys give it) reads the changes again from the data files:
:class:`ChangeStream` is re-iterable, with a length. The result is the in-memory
grouping's to the byte (``tests/test_changes_stream.py``).
"""

from __future__ import annotations

import heapq
import itertools
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..release.history import Change
from .releases_folder import BUILD_PREFIX, hold_lock

#: Keys per sorted run, all that is held at once: at 300,000 pledges the changes peak at
#: 83 MB with 100,000 (75 MB with 50,000, 122 MB with 200,000; bench/RESULTS.md).
RUN_KEYS = 100_000
_BLOCK = 8 << 20

#: A resource, the offset and length of a run of its lines, and how many distinct lines.
Key = tuple[bytes, int, int, int]


def _blank_object(line: bytes) -> bytes | None:
    """The blank node a line's object is, if it is one (as :func:`.changes._blank_object`)."""
    body = line.rstrip().removesuffix(b".").rstrip()
    last = body.rsplit(b" ", 1)[-1]
    return last if last.startswith(b"_:") else None


def _lines_at(nt: Path, spans: Iterable[tuple[int, int]]) -> Iterator[tuple[int, bytes]]:
    """Each line (without its newline) of the spans, in offset order, with its offset."""
    with nt.open("rb") as f:
        for offset, length in sorted(spans):
            f.seek(offset)
            carry, at, left = b"", offset, length
            while left > 0:
                block = f.read(min(_BLOCK, left))
                if not block:
                    break
                left -= len(block)
                lines = (carry + block).split(b"\n")
                carry = lines.pop()
                for line in lines:
                    yield at, line
                    at += len(line) + 1
            if carry:
                yield at, carry


def _keys(nt: Path, spans: Iterable[tuple[int, int]]) -> Iterator[Key]:
    """One key per run of lines of one subject; blank nodes' runs last, under the
    resource that points at them (transitively)."""
    owner: dict[bytes, bytes] = {}
    blank_runs: list[Key] = []
    subject, prefix, start, end = b"", b"\0", 0, 0
    run: list[bytes] = []

    def close() -> Key | None:
        if not subject:
            return None
        key = (subject, start, end - start, len(set(run)))
        run.clear()
        if subject.startswith(b"_:"):
            blank_runs.append(key)
            return None
        return key

    for at, line in _lines_at(nt, spans):
        if not line or line.startswith(b"#"):
            continue
        if not line.startswith(prefix) or at != end:
            key = close()
            if key is not None:
                yield key
            if line.startswith(b"<"):
                prefix = line[: line.index(b">") + 1]
                subject = prefix[1:-1]
            else:
                subject = line.split(b" ", 1)[0]
                prefix = subject + b" "
            start = at
        end = at + len(line) + 1
        run.append(line)
        if b"_:" in line:
            blank = _blank_object(line)
            if blank is not None:
                owner.setdefault(blank, subject)
    key = close()
    if key is not None:
        yield key
    for blank, offset, length, count in blank_runs:
        resource, seen = blank, set()
        while resource.startswith(b"_:") and resource in owner and resource not in seen:
            seen.add(resource)
            resource = owner[resource]
        yield resource, offset, length, count


def _sorted_runs(keys: Iterator[Key], folder: Path) -> list[Path]:
    """The keys in sorted runs of at most :data:`RUN_KEYS`, each in a file."""
    runs = []
    while batch := list(itertools.islice(keys, RUN_KEYS)):
        batch.sort()
        path = folder / f"run-{len(runs)}.keys"
        with path.open("wb") as f:
            f.writelines(b"%s\t%d\t%d\t%d\n" % key for key in batch)
        runs.append(path)
    return runs


def _read_run(path: Path, side: int) -> Iterator[tuple[bytes, int, int, int, int]]:
    with path.open("rb") as f:
        for row in f:
            iri, offset, length, count = row.rstrip(b"\n").rsplit(b"\t", 3)
            yield iri, side, int(offset), int(length), int(count)


def _lines(fd: int | None, spans: list[tuple[int, int]]) -> set[str]:
    """The distinct lines of the spans of an open file (read with ``pread``: no file
    position to share, and no mapping of gigabytes counted in the process's memory)."""
    if fd is None or not spans:
        return set()
    text = b"".join(os.pread(fd, length, offset) for offset, length in spans).decode("utf-8")
    out = set(text.split("\n"))
    out.discard("")
    if text.startswith("#") or "\n#" in text:  # comments: :func:`.changes.group` skips them
        out = {line for line in out if not line.startswith("#")}
    return out


class ChangeStream:
    """The changes from the ``old`` spans of one data file to the ``new`` spans of
    another, ordered by IRI, read again from both files on every iteration. The keys
    live in a temporary folder of ``releases_dir``, removed with this object (or by
    :meth:`close`); the data files must stay until then."""

    def __init__(
        self,
        releases_dir: Path,
        old: tuple[Path, list[tuple[int, int]]] | None,
        new: tuple[Path, list[tuple[int, int]]],
        keep: Path | None = None,
    ):
        # Locked like a build's work folder, so that a build killed meanwhile leaves
        # nothing behind (the next build removes it: :mod:`.releases_folder`).
        folder = Path(tempfile.mkdtemp(dir=releases_dir, prefix=f"{BUILD_PREFIX}changes-"))
        lock = hold_lock(folder)
        # Removed with this object, with ``keep`` (a folder the old data file lies in).
        self._finalizer = weakref.finalize(self, _remove, lock, folder, keep)
        (folder / "old").mkdir()
        (folder / "new").mkdir()
        self.old_nt = old[0] if old else None
        self.new_nt = new[0]
        self._runs = [
            (0, _sorted_runs(_keys(old[0], old[1]), folder / "old") if old else []),
            (1, _sorted_runs(_keys(new[0], new[1]), folder / "new")),
        ]
        self.summary = {"records_added": 0, "records_changed": 0, "records_removed": 0,
                        "triples_added": 0, "triples_removed": 0}  # fmt: skip
        if old is None:  # every resource created: counted from the keys, no data read
            self._count_created()
        else:
            for change in self:
                self.summary[_SUMMARY[change.kind]] += 1
                self.summary["triples_added"] += len(change.added)
                self.summary["triples_removed"] += len(change.removed)
        self._count = sum(self.summary[k] for k in _SUMMARY.values())

    def __len__(self) -> int:
        return self._count

    def _merged(self) -> Iterator[tuple[bytes, list[tuple[int, int, int, int]]]]:
        """Each resource, ordered by IRI, with its keys: (side, offset, length, count)."""
        merged = heapq.merge(*(_read_run(p, side) for side, runs in self._runs for p in runs))
        for iri, keys in itertools.groupby(merged, key=lambda k: k[0]):
            yield iri, [k[1:] for k in keys]

    def _count_created(self) -> None:
        """The summary of a first version: the resources, and their distinct lines (read
        back only for a resource in several runs, whose runs may repeat a line)."""
        fd = os.open(self.new_nt, os.O_RDONLY)
        try:
            for _iri, keys in self._merged():
                self.summary["records_added"] += 1
                self.summary["triples_added"] += (
                    keys[0][3] if len(keys) == 1 else len(_lines(fd, [k[1:3] for k in keys]))
                )
        finally:
            os.close(fd)

    def __iter__(self) -> Iterator[Change]:
        old = os.open(self.old_nt, os.O_RDONLY) if self.old_nt else None
        new = os.open(self.new_nt, os.O_RDONLY)
        try:
            for iri, keys in self._merged():
                before = _lines(old, [(o, n) for side, o, n, _c in keys if side == 0])
                after = _lines(new, [(o, n) for side, o, n, _c in keys if side == 1])
                if not before or not after:  # created or deleted: nothing to subtract
                    added, removed = sorted(after), sorted(before)
                else:
                    added, removed = sorted(after - before), sorted(before - after)
                if not added and not removed:
                    continue
                kind = "created" if not before else "deleted" if not after else "updated"
                yield Change(iri.decode("utf-8"), kind, tuple(added), tuple(removed))
        finally:
            for fd in (old, new):
                if fd is not None:
                    os.close(fd)

    def close(self) -> None:
        self._finalizer()


def _remove(lock: int, *folders: Path | None) -> None:
    for folder in folders:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    os.close(lock)


_SUMMARY = {"created": "records_added", "updated": "records_changed", "deleted": "records_removed"}
