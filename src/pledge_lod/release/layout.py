"""The on-disk layout of a release, shared by the writer (``release``) and the readers.

A release is an immutable directory ``{releases_dir}/{id}/``. ``{releases_dir}/current``
is a symbolic link to the one being served; switching releases is one atomic rename of
that link, so a reader sees either the old release or the new one, never a mixture.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CURRENT = "current"
MANIFEST = "manifest.json"
STORE_DIR = "store"
DUMPS_DIR = "dumps"
VOID_FILE = "void.ttl"
REPORT_FILE = "shacl-report.ttl"
SITEMAP_FILE = "sitemap.xml"
DUMP_NAME = "pledges"
#: Dump files by format name: (file name, media type).
DUMP_FORMATS: dict[str, tuple[str, str]] = {
    "nt": (f"{DUMP_NAME}.nt", "application/n-triples"),
    "ttl": (f"{DUMP_NAME}.ttl", "text/turtle"),
    "jsonld": (f"{DUMP_NAME}.jsonld", "application/ld+json"),
}
#: The whole dataset the SPARQL endpoint serves (every named graph), gzipped, by format
#: name: (file name, media type of the uncompressed content).
DATASET_NAME = "dataset"
DATASET_DUMPS: dict[str, tuple[str, str]] = {
    "nq": (f"{DATASET_NAME}.nq.gz", "application/n-quads"),
    "trig": (f"{DATASET_NAME}.trig.gz", "application/trig"),
}
FORMAT_VERSION = 1


class ReleaseError(Exception):
    """A release that is missing or damaged; the message says what to do."""


@dataclass(frozen=True)
class ReleaseInfo:
    """What a finished release says about itself (its manifest)."""

    id: str
    path: Path
    base: str
    created: str
    counts: dict[str, int]
    files: dict[str, dict[str, Any]]
    graphs: dict[str, str]
    #: The endpoint's dataset: "triples" by graph key, "default_graph_triples" and
    #: "quads" (empty for a release made before these were counted).
    dataset: dict[str, Any] = field(default_factory=dict)

    @property
    def store_path(self) -> Path:
        return self.path / STORE_DIR

    def file(self, name: str) -> Path:
        """A file of the release by its manifest name; never anything outside it."""
        if name not in self.files:
            raise KeyError(name)
        return self.path / name


def current_path(releases_dir: Path) -> Path:
    return releases_dir / CURRENT


def read_release(path: Path, require_store: bool = True) -> ReleaseInfo:
    """Read and check a release directory's manifest.

    ``require_store=False`` is for the remote backend, whose app servers hold a copy of
    the release's files (dumps, VoID, sitemap) without its embedded store.
    """
    manifest = path / MANIFEST
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReleaseError(f"no release at {path}: run `pledge-lod build` to make one") from exc
    except (OSError, ValueError) as exc:
        raise ReleaseError(
            f"the release at {path} is damaged ({manifest.name} unreadable: {exc}); "
            "run `pledge-lod build` to make a new one"
        ) from exc
    if data.get("format") != FORMAT_VERSION:
        raise ReleaseError(
            f"the release at {path} has format {data.get('format')!r}, this pledge-lod reads "
            f"{FORMAT_VERSION}; rebuild it with `pledge-lod build`"
        )
    missing = [name for name in data.get("files", {}) if not (path / name).exists()]
    if require_store and not (path / STORE_DIR).is_dir():
        missing.append(STORE_DIR + "/")
    if missing:
        raise ReleaseError(
            f"the release at {path} is damaged (missing {', '.join(sorted(missing))}); "
            "run `pledge-lod build` to make a new one"
        )
    return ReleaseInfo(
        id=data["id"],
        path=path,
        base=data["base"],
        created=data["created"],
        counts=data.get("counts", {}),
        files=data.get("files", {}),
        graphs=data.get("graphs", {}),
        dataset=data.get("dataset", {}),
    )


def read_current(releases_dir: Path) -> ReleaseInfo:
    """The release ``current`` points at."""
    link = current_path(releases_dir)
    if not link.exists():
        raise ReleaseError(f"no current release in {releases_dir}: run `pledge-lod build` first")
    return read_release(link.resolve())


def current_id(releases_dir: Path) -> str | None:
    """The id of the current release, cheaply (one readlink), for change detection."""
    try:
        return os.readlink(current_path(releases_dir))
    except OSError:
        return None


def switch_current(releases_dir: Path, release_id: str) -> None:
    """Point ``current`` at a release, atomically."""
    tmp = releases_dir / f".{CURRENT}.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(release_id, tmp)
    os.replace(tmp, current_path(releases_dir))


def link_or_copy(source: Path | str, target: Path | str) -> None:
    """``target`` as a hard link of ``source`` (a release's files are never modified once
    written, so releases may share them), or a copy on another file system."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
