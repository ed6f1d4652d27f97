"""The repository stands on its own: a copy of it, alone in a folder, has all it needs.

The copy holds the repository's files (``git ls-files``, committed or not yet) and
nothing beside it: no ``../shared`` of reading material. There, the whole suite is
collected (test modules read their W3C manifests as they are imported), the tests of the
copied material run, and the README's import example works. ``conftest.py`` also fails
any test that reads beside the repository, in every run of the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.paths import ROOT


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI must run from a git checkout with git installed")
        pytest.skip("not a git checkout: nothing says which files are the repository")
    done = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True, timeout=60,
    )
    return [name for name in done.stdout.decode().split("\0") if name]


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files copied into ``{tmp}/alone/pledge_lod``, nothing beside."""
    copy = tmp_path_factory.mktemp("alone") / "pledge_lod"
    for name in _tracked_files():
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet committed is not there
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    assert sorted(p.name for p in copy.parent.iterdir()) == ["pledge_lod"]
    return copy


def _run(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The copy's own package, not the one the virtualenv installed from this checkout.
    env = {**os.environ, "PYTHONPATH": str(copy / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_copy_runs_its_own_package(alone: Path) -> None:
    done = _run(alone, "-c", "import pledge_lod; print(pledge_lod.__file__)")
    assert done.stdout.strip() == str(alone / "src" / "pledge_lod" / "__init__.py")


def test_the_whole_suite_is_collected_in_the_copy(alone: Path) -> None:
    done = _run(alone, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " error" not in done.stdout.splitlines()[-1], done.stdout[-3000:]


def test_the_tests_of_the_copied_material_pass_in_the_copy(alone: Path) -> None:
    done = _run(alone, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/test_import.py", "tests/test_sparql_guard_w3c.py",
                "-k", "not reaches_the_engine and not over_http and not command_line"
                      " and not prefix_named and not read_as_the_keyword")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-1000:]


def test_the_readme_import_example_works_in_the_copy(alone: Path) -> None:
    sources = sorted(str(p.relative_to(alone)) for p in (alone / "data/sources").glob("*.txt"))
    assert len(sources) == 2
    readme = (alone / "README.md").read_text(encoding="utf-8")
    assert "pledge-lod import data/sources/*.txt" in readme
    done = _run(alone, "-m", "pledge_lod", "import", *sources)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Read 2 listing page(s)"), done.stdout
