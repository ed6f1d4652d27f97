"""Backends are chosen by name from the store's registry, and start-up checks what a
backend would serve through the same interface, whichever backend it is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pledge_lod.config import Settings
from pledge_lod.release.layout import ReleaseError, ReleaseInfo
from pledge_lod.server.serve import ServeError, check_release
from pledge_lod.store import (
    StoreUnavailable,
    UnknownBackend,
    check_store,
    open_store,
    register,
)
from support.processes import run_cli

BASE = "http://pledges.example"


def _release(base: str) -> ReleaseInfo:
    return ReleaseInfo(id="r1", path=Path("r1"), base=base, created="2026-01-01T00:00:00Z",
                       counts={}, files={}, graphs={})


@dataclass
class FakeStore:
    """A backend defined outside the package: opened and checked by name only."""

    settings: Settings
    name = "fake"

    @classmethod
    def open(cls, settings: Settings) -> FakeStore:
        return cls(settings)

    @classmethod
    def check(cls, settings: Settings) -> ReleaseInfo:
        if settings.base == "http://down.example":
            raise StoreUnavailable("the fake store is down")
        if settings.base == "http://empty.example":
            raise ReleaseError("nothing is published on the fake store")
        return _release(BASE)


register("fake", __name__, "FakeStore")


def test_a_registered_backend_is_opened_by_its_name() -> None:
    settings = Settings(backend="fake")
    store = open_store(settings)
    assert isinstance(store, FakeStore) and store.settings is settings
    assert check_store(settings).base == BASE


def test_an_unknown_backend_is_a_clear_error_naming_the_registered_ones() -> None:
    with pytest.raises(UnknownBackend, match=r"'nope'.*oxigraph, remote"):
        open_store(Settings(backend="nope"))


def test_serve_refuses_an_unknown_backend_in_one_line(tmp_path: Path) -> None:
    result = run_cli("serve", "--releases", str(tmp_path), env={"PLEDGE_LOD_BACKEND": "nope"},
                     timeout=60)
    assert result.returncode == 1
    assert "no store backend is named 'nope'" in result.stderr
    assert "oxigraph" in result.stderr and "remote" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_checks_any_backend_through_the_interface(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing to serve: refuse; the store down: start and warn; a release built for
    another base than the one given: refuse, naming both."""
    assert check_release(Settings(backend="fake", base=BASE), base_given=True) == BASE
    with pytest.raises(ServeError, match="nothing is published"):
        check_release(Settings(backend="fake", base="http://empty.example"), base_given=False)
    down = Settings(backend="fake", base="http://down.example")
    assert check_release(down, base_given=False) == "http://down.example"
    assert "the fake store is down; serving 503" in capsys.readouterr().err
    with pytest.raises(ServeError, match=f"built for base {BASE}, not http://other.example"):
        check_release(Settings(backend="fake", base="http://other.example"), base_given=True)
