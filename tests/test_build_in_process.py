"""Builds in one process: ``pledge_lod.cli.main`` (and so ``build()``) can be called
again in the process that ran a build or opened a release's store.

A build's store loader used to be forked from the caller. RocksDB, under Oxigraph's
on-disk store, keeps process-wide background threads once a store was opened, and a
fork has none of them: the second build's loader waited for a flush thread forever, and
the build stopped it after a minute ("loading the store failed (exit code -15)").
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph

from support.paths import DATA
from support.processes import cli

BASE = "http://127.0.0.1:8779"


def _build(releases: Path) -> str:
    """Build the bundled data in this process; the id of the release it made current."""
    done = cli("build", "--quiet", "--data", str(DATA), "--releases", str(releases),
               "--base", BASE, "--jobs", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return (releases / "current").resolve().name


def _quads(releases: Path) -> int:
    """The quads in the current release's store, as its reader opens it."""
    return len(pyoxigraph.Store.read_only(str(releases / "current" / "store")))


def test_a_build_after_a_store_was_opened_in_the_process(tmp_path: Path) -> None:
    # What a program (or a test) serving a release does before it builds the next one.
    store = pyoxigraph.Store(str(tmp_path / "opened"))
    store.add(pyoxigraph.Quad(pyoxigraph.NamedNode(BASE + "/s"), pyoxigraph.NamedNode(
        BASE + "/p"), pyoxigraph.Literal("o")))  # fmt: skip
    store.flush()
    del store
    _build(tmp_path / "releases")
    assert _quads(tmp_path / "releases") > 1000


def test_two_builds_in_one_process_make_the_same_release(tmp_path: Path) -> None:
    first = _build(tmp_path / "one")
    second = _build(tmp_path / "two")
    assert first == second  # same input, same base: the same release id
    assert _quads(tmp_path / "one") == _quads(tmp_path / "two") > 1000
