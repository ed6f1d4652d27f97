"""Releases of the bundled data (or a damaged copy of it) for the tests.

``build_release`` runs ``pledge-lod build`` in a subprocess, not through the entry point
in the test process: a second build in one process (or one after other tests ran in it)
fails with "loading the store failed (exit code -15)", so each build gets a process.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from support.paths import DATA
from support.processes import run_cli


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
    return run_cli(*_build_args(data_dir, releases_dir, base))

