"""Rebuilding after a small change reads and validates only what changed, and finds
exactly what a full validation finds."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from support.paths import DATA
from support.processes import cli
from support.releases import build_release, copy_data

BASE = "http://127.0.0.1:8768"


def _problem_lines(stderr: str) -> set[str]:
    return {line for line in stderr.splitlines() if line.startswith("data/")}


def test_one_changed_file_is_all_that_is_validated_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.rmtree(data, ignore_errors=True)
    made = cli("synth", "--pledges", "5000", "--seed", "5", "--data", str(DATA), "--out", str(data))
    assert made.returncode == 0, made.stderr
    releases = tmp_path / "releases"
    first = cli("validate", "--data", str(data), "--releases", str(releases), "--base", BASE)
    assert first.returncode == 0, first.stderr
    assert "pledges: 5000 mapped; 5000 validated\n" in first.stderr

    # Break one record in one batch file; only that file's pledges are validated again.
    batch = data / "pledges" / "batch-00002.yaml"
    text = batch.read_text()
    batch.write_text(text.replace("  kind: ", "  kind: promise\n  x_kind: ", 1))
    broken = cli("validate", "--data", str(data), "--releases", str(releases), "--base", BASE)
    assert broken.returncode == 1
    assert "pledges: 5000 mapped; 1000 validated, 4000 unchanged since the last build" in (
        broken.stderr
    )
    assert "registries unchanged since the last build: their findings reused" in broken.stderr
    incremental = _problem_lines(broken.stderr)
    assert any(": kind: " in line for line in incremental), broken.stderr

    # The same data validated from scratch (no cache) reports exactly the same problems.
    full = cli(
        "validate", "--data", str(data), "--releases", str(tmp_path / "fresh"), "--base", BASE
    )
    assert "pledges: 5000 mapped; 5000 validated\n" in full.stderr
    assert _problem_lines(full.stderr) == incremental

    # Mended: the build succeeds again, still validating only that file.
    batch.write_text(text)
    mended = cli("validate", "--data", str(data), "--releases", str(releases), "--base", BASE)
    assert mended.returncode == 0, mended.stderr
    assert "1000 validated, 4000 unchanged since the last build" in mended.stderr
    assert not (releases / "current").exists()  # validate publishes nothing


def test_a_changed_registry_validates_everything_again(tmp_path: Path) -> None:
    data = copy_data(tmp_path / "data")
    releases = tmp_path / "releases"
    assert build_release(data, releases, BASE).returncode == 0
    places = data / "places.yaml"
    places.write_text(places.read_text().replace("  country: spain\n", "", 1))
    result = cli("build", "--data", str(data), "--releases", str(releases), "--base", BASE)
    assert result.returncode == 1
    assert "pledges: 13 mapped; 13 validated\n" in result.stderr
    assert "data/places.yaml: terrassa: country:" in result.stderr


def test_a_damaged_or_older_cache_is_rebuilt_not_a_crash(tmp_path: Path) -> None:
    data = copy_data(tmp_path / "data")
    releases = tmp_path / "releases"
    assert build_release(data, releases, BASE).returncode == 0
    release = (releases / "current").resolve().name
    cache = releases / ".cache" / "build.sqlite"
    with sqlite3.connect(cache) as db:  # what a crash mid-write or an older version leaves
        db.execute("UPDATE files SET head = x'00ff'")
        db.execute("UPDATE bodies SET body = x'00ff'")
        db.execute("UPDATE meta SET value = 'not hex' WHERE key LIKE 'registry%'")
    again = cli("build", "--data", str(data), "--releases", str(releases), "--base", BASE)
    assert again.returncode == 0, again.stderr
    assert "pledges: 13 mapped; 13 validated\n" in again.stderr
    assert f"release {release} already exists (same input)" in again.stderr
    with sqlite3.connect(cache) as db:  # and an older layout is cleared, then refilled
        db.execute("UPDATE meta SET value = '0' WHERE key = 'version'")
    older = cli("build", "--data", str(data), "--releases", str(releases), "--base", BASE)
    assert older.returncode == 0, older.stderr
    assert "pledges: 13 mapped; 13 validated\n" in older.stderr
    assert "validated the registries" in older.stderr


def _dumps(releases: Path) -> dict[str, bytes]:
    """The current release's published files (dumps, VoID, report, manifest), by name.

    Not the search index: Tantivy names its segment files with random ids, so its bytes
    differ between any two builds (its answers are held to the data by
    tests/test_search_index.py); the manifest is compared without its entries."""
    release = (releases / "current").resolve()
    files = sorted(
        p for p in release.rglob("*")
        if p.is_file() and "store" not in p.parts and "search" not in p.parts
    )
    out = {str(p.relative_to(release)): p.read_bytes() for p in files}
    manifest = json.loads(out["manifest.json"])
    manifest["files"] = {k: f for k, f in manifest["files"].items() if not k.startswith("search/")}
    out["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    return out


def test_rebuilding_for_another_base_never_mixes_two_bases(tmp_path: Path) -> None:
    """Build A, then B, then A again in one releases folder (one cache): each release is
    byte for byte what a fresh build of the same base in an empty folder gives."""
    env = {"SOURCE_DATE_EPOCH": "1700000000"}  # the one timestamp a release carries
    other = "http://127.0.0.1:9998"
    shared = tmp_path / "shared"

    def build(base: str, releases: Path) -> dict[str, bytes]:
        # Not the history: a release states its version and predecessor, which differ
        # from a fresh folder's by design (tests/test_history.py checks them).
        shutil.rmtree(releases / "history", ignore_errors=True)
        result = cli(
            "build", "-q", "--data", str(DATA), "--releases", str(releases), "--base", base,
            env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return _dumps(releases)

    fresh_a = build(other, tmp_path / "fresh-a")
    fresh_b = build(BASE, tmp_path / "fresh-b")
    assert fresh_a != fresh_b and b"127.0.0.1:9998" not in b"".join(fresh_b.values())
    assert build(other, shared) == fresh_a
    assert build(BASE, shared) == fresh_b
    # A's release is still in the folder: removed, so that A is assembled again from the
    # cache rather than reused as it is.
    b = (shared / "current").resolve()
    for release in shared.iterdir():
        if not release.is_symlink() and not release.name.startswith(".") and release != b:
            shutil.rmtree(release)
    assert build(other, shared) == fresh_a
