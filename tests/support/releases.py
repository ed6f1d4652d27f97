"""Releases of the bundled data (or a damaged copy of it) for the tests.

``build_release`` runs ``pledge-lod build`` in a subprocess; ``build_in_process`` runs
the same command through its entry point in this process, which is what the fast tier
uses: the session's release is built once that way (see ``conftest.py``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from support.paths import DATA
from support.processes import cli, run_cli


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


def build_in_process(
    data_dir: Path, releases_dir: Path, base: str
) -> subprocess.CompletedProcess[str]:
    """``build_release`` without the subprocess: the same command, the same result."""
    return cli(*_build_args(data_dir, releases_dir, base))
