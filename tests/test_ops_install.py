"""Reproducible installs: ``requirements.lock`` (pip-tools) pins every package the project
and its tests need, runtime and test extra, with their whole dependency closure, and the
Makefile (so the README's commands and CI) installs from it.

Offline: the closure is read from the installed packages' metadata. That a fresh venv
installs from the lock alone (``pip install -r requirements.lock``, then ``pip check``) is
what ``make setup`` does on every new machine, CI included.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from support.paths import ROOT

pytestmark = pytest.mark.slow  # the slow tier: an install in a fresh virtualenv


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _wanted() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]
            ["test"]]


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    env = default_environment()
    return any(req.marker.evaluate({**env, "extra": extra}) for extra in extras | {""})


def test_the_lock_pins_every_declared_requirement() -> None:
    pins = _lock()
    missing = [str(r) for r in _wanted() if canonicalize_name(r.name) not in pins]
    assert not missing, f"requirements.lock lacks {missing}: run `make lock`"
    for req in _wanted():
        version = pins[canonicalize_name(req.name)]
        assert req.specifier.contains(Version(version), prereleases=True), (str(req), version)


def test_the_lock_is_closed_under_dependencies() -> None:
    """Walk the requirements from pyproject through the installed metadata: every package
    reached is pinned (extras followed only where asked for)."""
    pins = _lock()
    todo = [(r, set(r.extras)) for r in _wanted()]
    seen: set[str] = set()
    unpinned: list[str] = []
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        if name not in pins:
            unpinned.append(name)
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue  # not installed here: the fresh-venv install checks it
        for text in dist.requires or []:
            sub = Requirement(text)
            if _applies(sub, extras):
                todo.append((sub, set(sub.extras)))
    assert not unpinned, f"not in requirements.lock: {unpinned}; run `make lock`"


def test_setup_installs_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet -r requirements.lock" in makefile
    assert "--no-deps -e ." in makefile
    assert "pip-compile" in makefile  # `make lock` refreshes it
