"""``pledge-lod diff``: what a build would change, or what versions changed, for a steward.

Before a build, the working data is read and mapped by the build's own pipeline (the
same readers, the same cache, no validation) and compared with the current release the
way a build records its changeset (:mod:`.changes`). Between two recorded versions, the
history's changes are composed. Either way the answer is per record: added, removed,
or changed field by field, with the file it comes from.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from pyoxigraph import Literal, NamedNode, RdfFormat, parse

from ..release import layout
from ..release.history import Change, History, Version, patch_lines
from .changes import Changeset, diff, load_chunks
from .pipeline import BuildInputs, Pipeline
from .progress import Progress


class DiffError(Exception):
    """Nothing to compare, or a version that does not exist; the message says why."""


@dataclass(frozen=True)
class Comparison:
    """Changes from ``before`` to ``after`` (each a description for people)."""

    before: str
    after: str
    changes: list[Change]
    files: dict[str, str]  # resource IRI -> the file it comes from
    base: str
    before_id: str | None = None
    after_id: str | None = None


def working_changes(inputs: BuildInputs, progress: Progress) -> Comparison:
    """The working data against the current release (mapped with the release's base)."""
    try:
        current = layout.read_current(inputs.releases_dir)
    except layout.ReleaseError as exc:
        raise DiffError(f"nothing to compare the working data with: {exc}") from exc
    inputs = replace(inputs, base=current.base)
    with tempfile.TemporaryDirectory(dir=inputs.releases_dir, prefix=".diff-") as tmp:
        nt = Path(tmp) / "data.nt"
        pipeline = Pipeline(inputs, progress, engine="map-only")
        pipeline.locate_pledges = True  # which file each changed record is in
        if pipeline.run(nt) is None or not pipeline.result.ok:
            problems = "; ".join(
                f"{p.file}: {p.record}: {p.field}: {p.message}" for p in pipeline.result.errors[:5]
            )
            raise DiffError(f"nothing to compare: the working data cannot be read: {problems}")
        pipeline.chunks.finish()
        changeset = _against_current(inputs.releases_dir, current, nt, pipeline.chunks.chunks)
    files = {
        pipeline.iris.thing(*key.split("/", 1)): file
        for key, (file, _id) in pipeline.located.items()
        if "/" in key
    }
    version = History.open(inputs.releases_dir).for_release(current.id)
    name = f"version {version.number}" if version else "the current release"
    return Comparison(
        f"{name} (release {current.id}, {current.created})",
        f"the working data in {_shown(inputs.data_dir)}",
        changeset.changes,
        files,
        current.base,
        current.id,
    )


def _shown(path: Path) -> str:
    """A folder as a person would type it: relative to here when it is below."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _against_current(
    releases_dir: Path, current: layout.ReleaseInfo, nt: Path, chunks: dict
) -> Changeset:
    """Compare with the current release, whatever the history's latest version is."""
    old = current.path / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]
    return Changeset(diff(old, load_chunks(current.path, old), nt, chunks), current.id)


def _resolve(history: History, ref: str) -> Version:
    """A version by number, by release id, or ``latest``."""
    found = None
    if ref == "latest":
        found = history.latest()
    elif ref.isdigit():
        found = history.version(int(ref))
    else:
        found = history.for_release(ref)
    if found is None:
        known = ", ".join(str(v.number) for v in history.versions()[-10:]) or "none yet"
        raise DiffError(
            f"nothing to compare: no version {ref!r} in the history (recorded versions: {known})"
        )
    return found


def version_changes(releases_dir: Path, first: str, second: str) -> Comparison:
    """The changes from version ``first`` to version ``second`` (either order)."""
    history = History.open(releases_dir)
    a, b = _resolve(history, first), _resolve(history, second)
    backwards = a.number > b.number
    low, high = (b, a) if backwards else (a, b)
    net: dict[str, list] = {}  # iri -> [first kind, last kind, added, removed]
    for number in range(low.number + 1, high.number + 1):
        for change in history.changes(number):
            entry = net.setdefault(change.iri, [change.kind, change.kind, set(), set()])
            entry[1] = change.kind
            added, removed = entry[2], entry[3]
            for t in change.removed:
                added.discard(t) if t in added else removed.add(t)
            for t in change.added:
                removed.discard(t) if t in removed else added.add(t)
    changes = []
    for iri in sorted(net):
        first_kind, last_kind, added, removed = net[iri]
        if not added and not removed:
            continue
        kind = ("created" if first_kind == "created" else
                "deleted" if last_kind == "deleted" else "updated")  # fmt: skip
        if backwards:
            kind = {"created": "deleted", "deleted": "created"}.get(kind, kind)
            added, removed = removed, added
        changes.append(Change(iri, kind, tuple(sorted(added)), tuple(sorted(removed))))
    base = _base(releases_dir)
    return Comparison(_describe(a), _describe(b), changes, {}, base, a.release_id, b.release_id)


def _describe(v: Version) -> str:
    return f"version {v.number} (release {v.release_id}, {v.created})"


def _base(releases_dir: Path) -> str:
    try:
        return layout.read_current(releases_dir).base
    except layout.ReleaseError:
        return ""


# --- Output ------------------------------------------------------------------------------

WORDS = {"created": "added", "updated": "changed", "deleted": "removed"}


def summary(changes: list[Change]) -> dict[str, int]:
    return Changeset(changes).summary


def _term(term: object, base: str) -> str:
    if isinstance(term, Literal):
        return json.dumps(term.value, ensure_ascii=False)
    if isinstance(term, NamedNode):
        value = term.value
        if base and value.startswith(f"{base}/id/"):
            return value[len(base) + 4 :]
        return f"<{value}>"
    return str(term)


def _field(predicate: str) -> str:
    return predicate.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _fields(lines: tuple[str, ...], base: str) -> dict[str, list[str]]:
    by_field: dict[str, list[str]] = defaultdict(list)
    for quad in parse("\n".join(lines) + "\n", format=RdfFormat.N_TRIPLES):
        by_field[_field(quad.predicate.value)].append(_term(quad.object, base))
    return by_field


def _record(change: Change, base: str, files: dict[str, str]) -> list[str]:
    name = change.iri[len(base) + 4 :] if base and change.iri.startswith(f"{base}/id/") else (
        f"<{change.iri}>")  # fmt: skip
    where = files.get(change.iri)
    head = f"{WORDS[change.kind]} {name}" + (f"  ({where})" if where else "")
    if change.kind != "updated":
        return [f"{head}: {_count(len(change.added or change.removed), 'statement')}"]
    old, new = _fields(change.removed, base), _fields(change.added, base)
    lines = [head]
    for name in sorted(old.keys() | new.keys()):
        before, after = sorted(old.get(name, [])), sorted(new.get(name, []))
        if len(before) == 1 and len(after) == 1:
            lines.append(f"  {name}: {before[0]} -> {after[0]}")
            continue
        if before:
            lines.append(f"  {name}: no longer {', '.join(before)}")
        if after:
            lines.append(f"  {name}: now also {', '.join(after)}" if before or name in old
                         else f"  {name}: {', '.join(after)} (new)")  # fmt: skip
    return lines


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def as_text(cmp: Comparison) -> str:
    s = summary(cmp.changes)
    out = [f"from {cmp.before}", f"  to {cmp.after}"]
    if not cmp.changes:
        out.append("no changes: the same data")
        return "\n".join(out) + "\n"
    out.append(
        f"{_count(s['records_added'], 'record')} added, {s['records_changed']} changed, "
        f"{s['records_removed']} removed ({_count(s['triples_added'], 'statement')} added, "
        f"{s['triples_removed']} removed)"
    )
    order = {"deleted": 0, "created": 1, "updated": 2}
    for change in sorted(cmp.changes, key=lambda c: (order[c.kind], c.iri)):
        out.append("")
        out.extend(_record(change, cmp.base, cmp.files))
    return "\n".join(out) + "\n"


def as_json(cmp: Comparison) -> str:
    return json.dumps(
        {
            "from": cmp.before,
            "to": cmp.after,
            "summary": summary(cmp.changes),
            "changes": [
                {
                    "iri": c.iri,
                    "kind": c.kind,
                    "file": cmp.files.get(c.iri),
                    "added": list(c.added),
                    "removed": list(c.removed),
                }
                for c in cmp.changes
            ],
        },
        indent=2,
        ensure_ascii=False,
    ) + "\n"


def as_rdf_patch(cmp: Comparison) -> str:
    """The changes as an RDF Patch (uncompressed; the working data has no release id)."""
    return "".join(patch_lines(cmp.changes, cmp.after_id or "working-data", cmp.before_id))
