"""Releases of the bundled data (or a damaged copy of it) for the tests.

``build_release`` runs ``pledge-lod build`` in the test process (``support.processes.cli``):
a build is the same there as in a process of its own, and starting an interpreter
for each would add a second or two of CPU to every test that builds. The tests of the
command as a process (killed, timed, its exit on a signal) use ``run_cli`` themselves.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from support.paths import DATA
from support.processes import cli


def copy_data(target: Path) -> Path:
    """A private copy of the bundled data that a test may damage."""
    shutil.copytree(DATA, target)
    return target


def _build_args(data_dir: Path, releases_dir: Path, base: str) -> list[str]:
    return [
        "build", "--quiet", "--data", str(data_dir), "--releases", str(releases_dir),
        "--base", base, "--jobs", "1",
    ]  # fmt: skip


def build_release(
    data_dir: Path, releases_dir: Path, base: str
) -> subprocess.CompletedProcess[str]:
    """``pledge-lod build --quiet --jobs 1`` in this process; its exit code and output."""
    return cli(*_build_args(data_dir, releases_dir, base))


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in a data file (which must hold it) by ``new``."""
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def edit_add_remove(data: Path) -> Path:
    """A pledge's title edited, a copy of it added under a new id, another pledge
    removed, in a copy of the bundled data; returns the edited pledge's file."""
    serbia = data / "pledges" / "whole-of-government-approach-in-serbia.yaml"
    edit(serbia, "title: Whole-of-government approach in Serbia",
         "title: Whole-of-government approach in the Republic of Serbia")  # fmt: skip
    copy = serbia.read_text(encoding="utf-8").replace(
        "id: whole-of-government-approach-in-serbia", "id: whole-of-government-approach-copy")
    (data / "pledges" / "whole-of-government-approach-copy.yaml").write_text(copy)
    (data / "pledges" / "municipality-of-straseni.yaml").unlink()
    return serbia
