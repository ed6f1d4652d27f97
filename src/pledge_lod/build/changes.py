"""What a release changes against the version before it, per resource, at the cost of
what changed.

The published data (``dumps/pledges.nt``) is written source by source: the registries
first, then each pledge file's pledges, in file order (:mod:`.pipeline`). While it is
written, a :class:`ChunkIndex` notes where each source's bytes lie and their digest, and
the release keeps that index (``chunks.json.gz``). Two releases then differ only in the
sources whose digests differ: only those bytes are read from both dumps and compared, so
a one-record change costs one file's triples, not a million records'.

A resource is a subject IRI; a blank node's triples belong to the resource that points
at it (the mapping mints no blank nodes today, but a change must not lose them). A
subject's triples all come from one source (a pledge from its file, a registry entry
from the registries), so comparing the changed sources' triples gives each touched
resource's whole change; ``tests/test_history.py`` holds the result to a plain diff of
the two dumps.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..release import layout
from ..release.history import (
    CHANGESET_FILE,
    CHANGESETS_DIR,
    INDEX_FILE,
    Change,
    History,
    Version,
    archived_changeset,
    built_as,
    history_dir,
    read_headers,
    read_patch,
    record_version,
    release_id_of,
    write_patch,
)
from .change_stream import ChangeStream

CHUNKS_FILE = "chunks.json.gz"
#: Above this many bytes of sources to compare, the changes are streamed, not grouped in
#: memory (where a byte of N-Triples takes about 4: a 64 MB comparison, some 250 MB).
IN_MEMORY_BYTES = 64 << 20
REGISTRIES = "(registries)"
_WHOLE = "(whole)"


def chunk_digest(data: bytes) -> str:
    """The digest :class:`ChunkIndex` gives a source's bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class ChunkIndex:
    """Where each source's triples lie in the data file being written, with a digest."""

    def __init__(self) -> None:
        self.offset = 0
        self.chunks: dict[str, tuple[int, int, str]] = {}
        self._key: str | None = None
        self._start = 0
        self._hash = hashlib.blake2b(digest_size=16)
        self._given: str | None = None

    def start(self, key: str, digest: str | None = None) -> None:
        """A source starts; ``digest``: its bytes' (:func:`chunk_digest`) if known,
        as the build cache knows an unchanged file's, so they are not hashed again."""
        self.finish()
        self._key, self._start, self._given = key, self.offset, digest
        self._hash = hashlib.blake2b(digest_size=16)

    def write(self, data: bytes) -> None:
        self.offset += len(data)
        if self._key is not None and self._given is None:
            self._hash.update(data)

    def advance(self, n: int) -> None:
        """``n`` bytes written unseen (copied whole from a previous data file): the
        source's digest must have been given."""
        if self._key is not None and self._given is None:
            raise RuntimeError("bytes copied into a source whose digest is not known")
        self.offset += n

    def finish(self) -> None:
        if self._key is not None and self.offset > self._start:
            digest = self._given or self._hash.hexdigest()
            self.chunks[self._key] = (self._start, self.offset - self._start, digest)
        self._key = None

    def save(self, path: Path) -> None:
        self.finish()
        text = json.dumps(self.chunks, sort_keys=True).encode()
        path.write_bytes(gzip.compress(text, mtime=0))  # the same data, the same bytes


def load_chunks(release: Path, nt: Path) -> dict[str, tuple[int, int, str]]:
    """A release's chunk index; without one (a release made before it existed), the
    whole dump as one chunk, which makes the comparison a plain full diff."""
    try:
        with gzip.open(release / CHUNKS_FILE, "rt", encoding="utf-8") as f:
            return {k: (v[0], v[1], v[2]) for k, v in json.load(f).items()}
    except (OSError, ValueError):
        return {_WHOLE: (0, nt.stat().st_size, "")}


@dataclass
class Changeset:
    """The changes from one version to the next, by resource (ordered by IRI)."""

    #: A list, or (many changes) a stream read again from the data on each pass.
    changes: list[Change] | ChangeStream = field(default_factory=list)
    previous_release: str | None = None

    def close(self) -> None:
        """Remove what a streamed changeset keeps on disk (also done once unused)."""
        if isinstance(self.changes, ChangeStream):
            self.changes.close()

    @property
    def summary(self) -> dict[str, int]:
        if isinstance(self.changes, ChangeStream):
            return dict(self.changes.summary)
        kinds = {"created": 0, "updated": 0, "deleted": 0}
        for c in self.changes:
            kinds[c.kind] += 1
        return {
            "records_added": kinds["created"],
            "records_changed": kinds["updated"],
            "records_removed": kinds["deleted"],
            "triples_added": sum(len(c.added) for c in self.changes),
            "triples_removed": sum(len(c.removed) for c in self.changes),
        }


def _subject(line: str) -> str:
    return line[1 : line.index(">")] if line.startswith("<") else line.split(" ", 1)[0]


def _blank_object(line: str) -> str | None:
    body = line.rstrip().removesuffix(".").rstrip()
    last = body.rsplit(" ", 1)[-1]
    return last if last.startswith("_:") else None


def group(lines: Iterable[str]) -> dict[str, set[str]]:
    """N-Triples lines by resource: a subject IRI, with the triples of the blank nodes
    it points at (transitively)."""
    by_subject: dict[str, set[str]] = defaultdict(set)
    owner: dict[str, str] = {}
    for line in lines:
        if not line or line.startswith("#"):
            continue
        subject = _subject(line)
        by_subject[subject].add(line)
        blank = _blank_object(line)
        if blank is not None:
            owner.setdefault(blank, subject)
    grouped: dict[str, set[str]] = defaultdict(set)
    for subject, triples in by_subject.items():
        resource, seen = subject, set()
        while resource.startswith("_:") and resource in owner and resource not in seen:
            seen.add(resource)
            resource = owner[resource]
        grouped[resource] |= triples
    return grouped


def compare(old: dict[str, set[str]], new: dict[str, set[str]]) -> list[Change]:
    """Each resource's change between two groupings, ordered by IRI; N-Triples sorted."""
    changes = []
    for iri in sorted(old.keys() | new.keys()):
        before, after = old.get(iri, set()), new.get(iri, set())
        added, removed = sorted(after - before), sorted(before - after)
        if not added and not removed:
            continue
        kind = "created" if not before else "deleted" if not after else "updated"
        changes.append(Change(iri, kind, tuple(added), tuple(removed)))
    return changes


def _read(nt: Path, spans: Iterable[tuple[int, int]]) -> list[str]:
    lines: list[str] = []
    with nt.open("rb") as f:
        for offset, length in sorted(spans):
            f.seek(offset)
            # Split on newlines only: a literal may hold U+2028, which splitlines() cuts.
            lines.extend(f.read(length).decode("utf-8").split("\n"))
    return lines


def diff(
    old_nt: Path | None,
    old_chunks: dict[str, tuple[int, int, str]],
    new_nt: Path,
    new_chunks: dict[str, tuple[int, int, str]],
) -> list[Change]:
    """The changes from one data file to another, reading only the sources whose digest
    differs (every source when either side lacks an index)."""
    old_spans, new_spans = changed_spans(old_nt, old_chunks, new_nt, new_chunks)
    old = _read(old_nt, old_spans) if old_nt else []
    return compare(group(old), group(_read(new_nt, new_spans)))


def changed_spans(
    old_nt: Path | None,
    old_chunks: dict[str, tuple[int, int, str]],
    new_nt: Path,
    new_chunks: dict[str, tuple[int, int, str]],
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Where the sources whose digest differs lie in each data file (offset, length)."""
    if old_nt is None:
        old_chunks = {}
    if _WHOLE in old_chunks or _WHOLE in new_chunks:
        old_chunks = {_WHOLE: (0, old_nt.stat().st_size, "")} if old_nt else {}
        new_chunks = {_WHOLE: (0, new_nt.stat().st_size, "")}
    whole = _WHOLE in new_chunks  # no index: everything is compared
    changed = {
        k for k in old_chunks.keys() | new_chunks.keys()
        if whole or old_chunks.get(k, (0, 0, None))[2] != new_chunks.get(k, (0, 0, None))[2]
    }  # fmt: skip
    return ([old_chunks[k][:2] for k in changed if k in old_chunks],
            [new_chunks[k][:2] for k in changed if k in new_chunks])  # fmt: skip


def predecessor(releases_dir: Path, tmp: Path) -> tuple[str | None, Path | None, Path | None]:
    """The latest version's release id, its folder (None if pruned) and its data: the
    folder's dump, or (pruned) the data made again from the history's changesets."""
    latest = History.open(releases_dir).latest()
    if latest is None:
        return None, None, None
    folder = releases_dir / latest.release_id
    nt = folder / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]
    if nt.is_file():
        return latest.release_id, folder, nt
    triples: set[str] = set()  # replay: 1 + 2 + ... + latest
    for number in range(1, latest.number + 1):
        for op, line in read_patch(archived_changeset(releases_dir, number)):
            (triples.add if op == "A" else triples.discard)(line)
    replayed = tmp / "previous.nt"
    replayed.write_text("".join(t + "\n" for t in sorted(triples)), encoding="utf-8")
    return latest.release_id, None, replayed


def changeset_for(
    releases_dir: Path,
    new_nt: Path,
    new_chunks: dict[str, tuple[int, int, str]],
    in_memory: int = IN_MEMORY_BYTES,
) -> Changeset:
    """The changes of data ``new_nt`` against the latest published version: in memory
    when the sources to compare hold at most ``in_memory`` bytes, else streamed
    (:mod:`.change_stream`: a first version, a change of many sources)."""
    tmp: Path | None = Path(tempfile.mkdtemp(dir=releases_dir, prefix=".changes-"))
    try:
        prev_id, folder, prev_nt = predecessor(releases_dir, tmp)
        old_chunks = load_chunks(folder, prev_nt) if folder and prev_nt else {}
        if folder is None and prev_nt is not None:
            old_chunks = {_WHOLE: (0, prev_nt.stat().st_size, "")}
        old_spans, new_spans = changed_spans(prev_nt, old_chunks, new_nt, new_chunks)
        if sum(n for _o, n in (*old_spans, *new_spans)) > in_memory:
            old = (prev_nt, old_spans) if prev_nt else None
            replayed = prev_nt is not None and prev_nt.parent == tmp
            stream = ChangeStream(releases_dir, old, (new_nt, new_spans),
                                  keep=tmp if replayed else None)  # fmt: skip
            if replayed:
                tmp = None  # the stream removes it once done with the replayed data
            return Changeset(stream, prev_id)
        old = _read(prev_nt, old_spans) if prev_nt else []
        return Changeset(compare(group(old), group(_read(new_nt, new_spans))), prev_id)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def write_changeset(
    folder: Path, changeset: Changeset, release_id: str, version: tuple[int, str]
) -> Path:
    """The release's RDF Patch (``version``: its number and date), into its folder."""
    path = folder / CHANGESET_FILE
    write_patch(path, changeset.changes, release_id, changeset.previous_release, version)
    return path


def release_changeset(releases_dir: Path, release: layout.ReleaseInfo) -> Changeset:
    """The changes of a finished release (one reused, or built while another version was
    published) against the latest version."""
    nt = release.path / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]
    return changeset_for(releases_dir, nt, load_chunks(release.path, nt))


def patch_file(
    releases_dir: Path, changeset: Changeset, release_id: str, version: tuple[int, str]
) -> Path:
    """An RDF Patch in a temporary file of the releases folder (the caller removes it)."""
    fd, name = tempfile.mkstemp(dir=releases_dir, prefix=".patch-", suffix=".rdfp.gz")
    os.close(fd)
    path = Path(name)
    write_patch(path, changeset.changes, release_id, changeset.previous_release, version)
    return path


@dataclass(frozen=True)
class VersionPlan:
    """What a new release will be in the history once published: the next version
    number after the latest, its predecessor and the versions before it (for the
    manifest and the VoID/DCAT version chain). A release built with ``--no-switch`` or
    published again later keeps the plan it was built with; the history has the final
    word (:mod:`pledge_lod.release.history`).

    ``created`` is the release's date (the manifest's, its changeset's, VoID's
    ``dcterms:issued``): the build's time, or ``SOURCE_DATE_EPOCH``, but never at or
    before the latest version's (:func:`dated_after`)."""

    number: int
    previous: int | None
    previous_release: str | None
    summary: dict[str, int]
    #: Earlier versions: (number, release id, created, whether its release is kept).
    earlier: tuple[tuple[int, str, str, bool], ...]
    created: str

    def manifest(self) -> dict:
        return {
            "number": self.number,
            "previous": self.previous,
            "previous_release": self.previous_release,
            "summary": self.summary,
            "changeset": CHANGESET_FILE,
        }


def plan(releases_dir: Path, changeset: Changeset) -> VersionPlan:
    versions = History.open(releases_dir).versions()
    latest = versions[-1] if versions else None
    earlier = tuple(
        (v.number, v.release_id, v.created, (releases_dir / v.release_id).is_dir())
        for v in versions
    )
    return VersionPlan(
        number=latest.number + 1 if latest else 1,
        previous=latest.number if latest else None,
        previous_release=changeset.previous_release,
        summary=changeset.summary,
        earlier=earlier,
        created=dated_after(latest.created if latest else None, created_now()),
    )


def created_now() -> str:
    """Build time, or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() else datetime.now(UTC)
    )
    return _stamp(moment)


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def dated_after(latest: str | None, moment: str) -> str:
    """``moment``, or one second after the ``latest`` version's date if ``moment`` is
    not later: a version's date is its Memento-Datetime, an HTTP-date of one-second
    resolution (RFC 7089, section 2.1.1), so two versions in the same second (or two
    builds with the same SOURCE_DATE_EPOCH) would be one memento to a TimeGate. The
    same history and input still give the same date, as a reproducible build needs."""
    if latest is None:
        return moment
    try:
        after = datetime.fromisoformat(latest.replace("Z", "+00:00")) + timedelta(seconds=1)
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        mine = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        if mine.tzinfo is None:
            mine = mine.replace(tzinfo=UTC)
    except ValueError:  # a date this code did not write: nothing to order it by
        return moment
    return moment if mine >= after else _stamp(after.astimezone(UTC))


def _built_against(release: layout.ReleaseInfo) -> tuple[int | None, str | None]:
    """The version number a release was built as, and the release its changeset was
    computed against (None, None for a release without a changeset)."""
    try:
        manifest = json.loads((release.path / layout.MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    version = manifest.get("version")
    if not isinstance(version, dict) or CHANGESET_FILE not in release.files:
        return None, None
    return version.get("number"), version.get("previous_release")


def record(
    releases_dir: Path, release: layout.ReleaseInfo, changeset: Changeset | None
) -> Version | None:
    """Record a release just made current as the next version, unless it is the latest
    version already (a rebuild that changed nothing). The release's own changeset is
    used when it was computed against the latest version; otherwise (a release built
    with ``--no-switch`` while another was published, or published again: A-B-A) the
    changes are computed now, and the history keeps them."""
    latest = History.open(releases_dir).latest()
    latest_id = latest.release_id if latest else None
    if latest_id == release.id:
        return None
    number, against = _built_against(release)
    next_number = latest.number + 1 if latest else 1
    latest_created = latest.created if latest else None
    # The release's own changeset and date, when it was built as this very version
    # (then its date follows the latest's: :func:`plan`). Otherwise the version is dated
    # now (it is published now), after the latest, and the history keeps its own patch.
    in_release = (number == next_number and against == latest_id
                  and dated_after(latest_created, release.created) == release.created)  # fmt: skip
    computed = changeset is None or changeset.previous_release != latest_id
    if computed:
        changeset = release_changeset(releases_dir, release)
    assert changeset is not None
    try:
        if in_release:
            made = (release.id, release.created)
            return record_version(releases_dir, made, changeset.changes, changeset.summary,
                                  release.path / CHANGESET_FILE, True)  # fmt: skip
        made = (release.id, dated_after(latest_created, created_now()))
        patch = patch_file(releases_dir, changeset, release.id, (next_number, made[1]))
        try:
            return record_version(
                releases_dir, made, changeset.changes, changeset.summary, patch, False
            )
        finally:
            patch.unlink(missing_ok=True)
    finally:
        if computed:
            changeset.close()


def rebuild_index(releases_dir: Path) -> int:
    """Make the history index again from the archived RDF Patches alone (the index is
    derived from them), replaying them in order to tell created, updated and deleted
    resources apart; returns the number of versions."""
    folder = history_dir(releases_dir)
    patches = sorted(
        (int(p.name.split(".")[0]), p)
        for p in (folder / CHANGESETS_DIR).glob("*.rdfp.gz")
        if p.name.split(".")[0].isdigit()
    )
    (folder / INDEX_FILE).unlink(missing_ok=True)
    live: dict[str, int] = defaultdict(int)  # resource -> its triples so far
    for number, patch in patches:
        headers = read_headers(patch)
        added: list[str] = []
        removed: list[str] = []
        for op, line in read_patch(patch):
            (added if op == "A" else removed).append(line)
        new, old = group(added), group(removed)
        changes = []
        for iri in sorted(new.keys() | old.keys()):
            before = live[iri]
            live[iri] = before + len(new.get(iri, ())) - len(old.get(iri, ()))
            kind = "created" if before == 0 else "deleted" if live[iri] == 0 else "updated"
            changes.append(Change(iri, kind, tuple(sorted(new.get(iri, ()))),
                                  tuple(sorted(old.get(iri, ())))))  # fmt: skip
        release_id = release_id_of(headers["id"])
        kept = built_as(releases_dir / release_id) == number
        summary = Changeset(changes).summary
        made = (release_id, headers.get("created", ""))
        record_version(releases_dir, made, changes, summary, patch, kept)
    return len(patches)
