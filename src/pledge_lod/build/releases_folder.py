"""The releases folder's housekeeping: a build's locked work folder, leftovers of killed
builds, and pruning old releases."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..release.history import HISTORY_DIR

#: Releases kept for rollback and time travel, the current one among them.
KEEP_RELEASES = 3
BUILD_PREFIX = ".build-"
BUILD_LOCK = ".lock"


def new_work_folder(releases: Path) -> tuple[Path, int]:
    """A fresh ``.build-*`` folder in ``releases`` and the descriptor of its lock, after
    removing the folders of builds that were killed."""
    releases.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(releases)
    work = Path(tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=releases))
    return work, hold_lock(work)


def hold_lock(work: Path) -> int:
    """Lock the build's temporary folder for as long as this process (or its dump
    writer) lives: the kernel drops the lock when they die, however they die."""
    fd = os.open(work / BUILD_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def remove_stale_builds(releases: Path) -> None:
    """Remove the temporary folders of builds that were killed: their lock is free.
    (A folder without a lock file is one made in the instant before its lock was taken,
    or by an older version; it is left alone for an hour.)"""
    for work in releases.glob(BUILD_PREFIX + "*"):
        if not work.is_dir() or work.is_symlink():
            continue
        try:
            fd = os.open(work / BUILD_LOCK, os.O_RDWR)
        except FileNotFoundError:
            if time.time() - work.stat().st_mtime > 3600:
                shutil.rmtree(work, ignore_errors=True)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a running build
        finally:
            os.close(fd)
        shutil.rmtree(work, ignore_errors=True)


@dataclass(frozen=True)
class Retention:
    """Which releases pruning keeps: the newest ``count`` (the current one among them),
    and besides, with ``days``, every release made in the last ``days`` days. The
    current release is always kept, and the history (``history/``) is never pruned."""

    count: int = KEEP_RELEASES
    days: float = 0.0


def prune(releases: Path, current: str, keep: Retention | None = None) -> list[str]:
    """Remove the releases ``keep`` does not keep (and no other folder); returns their ids."""
    keep = keep or Retention()
    candidates = sorted(
        (
            p
            for p in releases.iterdir()
            if p.is_dir()
            and not p.is_symlink()
            and not p.name.startswith(".")
            and p.name != HISTORY_DIR
        ),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    cutoff = time.time() - keep.days * 86400 if keep.days > 0 else None
    removed = []
    for old in candidates[max(keep.count, 1) :]:
        if old.name == current or (cutoff is not None and old.stat().st_mtime >= cutoff):
            continue
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old.name)
    return removed
