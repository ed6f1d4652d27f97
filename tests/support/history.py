"""A releases folder with a history: the bundled data built three times, with an edit,
a removal and an addition between the builds (for the Memento and change-feed tests).

Each build is a subprocess (see ``support/releases.py``); the next one starts in a later
second than the previous release's ``created``, so that every release has its own
14-digit memento datetime.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from support.releases import build_release, copy_data

#: The pledge whose title the second build changes.
EDITED = "boosting-green-employment-and-enterprise-opportunities-in"
NEW_TITLE = "Boosting Green Jobs in Ghana"
#: The pledge the third build removes, and the one it adds.
REMOVED = "whole-of-government-approach-in-serbia"
ADDED = "zurich-time-travel-pledge"


@dataclass(frozen=True)
class Built:
    """One release of the history: its id, its datetime and its own folder."""

    release_id: str
    created: datetime
    folder: Path

    @property
    def stamp(self) -> str:
        return self.created.strftime("%Y%m%d%H%M%S")

    @property
    def dump_nt(self) -> Path:
        return self.folder / "dumps" / "pledges.nt"


def _edit_title(data: Path) -> None:
    path = data / "pledges" / f"{EDITED}.yaml"
    text = path.read_text(encoding="utf-8")
    old = "title: Boosting Green Employment and Enterprise Opportunities in Ghana"
    assert old in text
    path.write_text(text.replace(old, f"title: {NEW_TITLE}"), encoding="utf-8")


def _remove_and_add(data: Path) -> None:
    (data / "pledges" / f"{REMOVED}.yaml").unlink()
    source = data / "pledges" / "pledge-of-the-city-of-zurich-to-the-european-pillar-of.yaml"
    text = source.read_text(encoding="utf-8").replace(
        "id: pledge-of-the-city-of-zurich-to-the-european-pillar-of", f"id: {ADDED}", 1
    )
    (data / "pledges" / f"{ADDED}.yaml").write_text(text, encoding="utf-8")


def _built(releases: Path) -> Built:
    folder = (releases / "current").resolve()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    created = datetime.fromisoformat(manifest["created"].replace("Z", "+00:00"))
    return Built(manifest["id"], created.astimezone(UTC), folder)


def build_history(root: Path, base: str) -> tuple[Path, Path, list[Built]]:
    """(the data folder, the releases folder, the three releases oldest first)."""
    data = copy_data(root / "data")
    releases = root / "releases"
    out: list[Built] = []
    for edit in (None, _edit_title, _remove_and_add):
        if edit is not None:
            edit(data)
        if out:  # the next release in a later second than the last one
            while datetime.now(UTC).replace(microsecond=0) <= out[-1].created:
                time.sleep(0.2)
        result = build_release(data, releases, base)
        assert result.returncode == 0, result.stderr
        out.append(_built(releases))
    assert len({b.release_id for b in out}) == 3
    return data, releases, out
