"""The house keeps its flow: every package imports only the stages before it.

The rule itself is written once, as import-linter contracts in ``pyproject.toml``; this
test runs import-linter on the source tree, shows that an arrow against the flow breaks
it, and that every package of ``src/pledge_lod`` is placed in the rule.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "pledge_lod"
BENCH = ROOT / "bench"
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _contracts() -> list[dict]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["contracts"]


def test_the_import_rule_holds() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_an_arrow_against_the_flow_breaks_the_rule(tmp_path: Path) -> None:
    """A web module importing the build stage, the mapping importing the server, and
    inside a stage a lower module importing a higher one, are each refused, naming the
    import."""
    for source, line in (
        ("web/home.py", "from ..build import pipeline  # noqa"),
        ("rdf/mapping.py", "from ..web import routes  # noqa"),
        ("ingest/listing_lines.py", "from . import importer  # noqa"),
        ("validation/checks.py", "from . import compiler  # noqa"),
    ):
        copy = tmp_path / source.replace("/", "-")
        shutil.copytree(PACKAGE, copy / "src" / "pledge_lod",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
        target = copy / "src" / "pledge_lod" / source
        target.write_text(target.read_text() + f"\n{line}\n")
        result = _lint(copy)
        module = "pledge_lod." + source.removesuffix(".py").replace("/", ".")
        assert result.returncode != 0, result.stdout
        assert "BROKEN" in result.stdout
        assert module in result.stdout


def test_every_package_is_placed_in_the_flow() -> None:
    """A new package cannot slip past the rule: each one is a layer of the flow."""
    flow = next(c for c in _contracts() if c["type"] == "layers")
    placed = {name.strip() for layer in flow["layers"] for name in layer.split("|")}
    found = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file())
        or (p.suffix == ".py" and not p.name.startswith("__"))
    }
    assert found == placed, f"not in the flow: {found - placed}; gone: {placed - found}"


@pytest.mark.parametrize("tree", [PACKAGE, BENCH], ids=["src", "bench"])
def test_rooms_stay_small_enough_to_read(tree: Path) -> None:
    """No module of the package or of the benchmark is over 500 lines and no function over
    60: a longer one is split along its seams (a table of data is a module-level
    constant, not a body)."""
    import ast

    modules = sorted(tree.rglob("*.py"))
    assert modules, f"no module found under {tree}"
    too_long: list[str] = []
    for path in modules:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(tree)
        if len(text.splitlines()) > 500:
            too_long.append(f"{where} ({len(text.splitlines())} lines)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = node.end_lineno - node.lineno + 1
                if size > 60:
                    too_long.append(f"{where}:{node.name} ({size} lines)")
    assert not too_long, "split along its seams: " + "; ".join(too_long)
