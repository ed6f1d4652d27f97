"""The history a release records: every changeset against a plain diff of the releases'
own dumps, the versions and their summaries, pruning that keeps the history, the
VoID/DCAT version chain, and ``pledge-lod diff``."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
import rdflib

from pledge_lod.build.changes import rebuild_index
from pledge_lod.release.history import History
from support.paths import DATA
from support.processes import cli, run_cli
from support.releases import copy_data

BASE = "http://127.0.0.1:8771"
#: An open namespace: rdflib's DCAT is DCAT 2, without the versioning terms of DCAT 3.
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DUMP = Path("dumps") / "pledges.nt"


def _build(data: Path, releases: Path, *extra: str) -> str:
    """Build (in a subprocess, as the other build tests do); the release id."""
    result = run_cli("build", "--quiet", "--data", str(data), "--releases", str(releases),
                     "--base", BASE, "--jobs", "1", *extra)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[1].rstrip(":")


def _triples(dump: Path) -> set[str]:
    lines = {line for line in dump.read_text(encoding="utf-8").splitlines() if line}
    assert not any(line.startswith("_:") or line.endswith("_: .") or " _:" in line
                   for line in lines), "the data has blank nodes"  # fmt: skip
    return lines


def _plain_diff(before: set[str], after: set[str]) -> dict[str, tuple[str, set, set]]:
    """Per subject: (kind, added, removed), from two whole dumps (no blank nodes)."""
    old, new = defaultdict(set), defaultdict(set)
    for line in before:
        old[line[1 : line.index(">")]].add(line)
    for line in after:
        new[line[1 : line.index(">")]].add(line)
    out = {}
    for iri in old.keys() | new.keys():
        added, removed = new[iri] - old[iri], old[iri] - new[iri]
        if added or removed:
            kind = "created" if not old[iri] else "deleted" if not new[iri] else "updated"
            out[iri] = (kind, added, removed)
    return out


def _apply(triples: set[str], patch: Path) -> set[str]:
    """Apply an RDF Patch (A/D rows between TX and TC) to a set of triples."""
    result = set(triples)
    with gzip.open(patch, "rt", encoding="utf-8") as f:
        rows = f.read().splitlines()
    assert rows[0].startswith("H id <") and "TX ." in rows and rows[-1] == "TC ."
    for row in rows:
        if row.startswith("A "):
            result.add(row[2:])
        elif row.startswith("D "):
            assert row[2:] in result, f"deletes a triple not there: {row}"
            result.discard(row[2:])
    return result


def _check_versions(releases: Path, dumps: list[set[str]]) -> None:
    """Every recorded version against the releases' own dumps."""
    history = History.open(releases)
    versions = history.versions()
    assert [v.number for v in versions] == list(range(1, len(dumps) + 1))
    previous: set[str] = set()
    for v, dump in zip(versions, dumps, strict=True):
        assert v.previous == (v.number - 1 if v.number > 1 else None)
        patch = history.archived_changeset_path(v.number)
        assert patch is not None
        assert _apply(previous, patch) == dump, f"version {v.number}"
        expected = _plain_diff(previous, dump)
        changes = history.changes(v.number)
        assert [c.iri for c in changes] == sorted(expected)
        for c in changes:
            kind, added, removed = expected[c.iri]
            assert (c.kind, set(c.added), set(c.removed)) == (kind, added, removed), c.iri
        kinds = [k for k, _, _ in expected.values()]
        assert v.summary == {
            "records_added": kinds.count("created"),
            "records_changed": kinds.count("updated"),
            "records_removed": kinds.count("deleted"),
            "triples_added": len(dump - previous),
            "triples_removed": len(previous - dump),
        }
        assert history.count_changes(v.number) == len(expected)
        paged = history.changes(v.number, limit=2) + history.changes(
            v.number, after=changes[1].iri if len(changes) > 1 else "~"
        )
        assert [c.iri for c in paged][: len(changes)] == [c.iri for c in changes]
        previous = dump


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.slow
def test_five_releases_of_the_bundled_data(tmp_path: Path) -> None:
    data, releases = copy_data(tmp_path / "data"), tmp_path / "releases"
    dumps: list[set[str]] = []
    ids: list[str] = []

    def build(*extra: str) -> None:
        ids.append(_build(data, releases, "--keep", "2", *extra))
        dumps.append(_triples(releases / "current" / DUMP))

    build()  # 1: everything created
    serbia = data / "pledges" / "whole-of-government-approach-in-serbia.yaml"
    _edit(serbia, "title: Whole-of-government approach in Serbia",
          "title: Whole-of-government approach in the Republic of Serbia")  # fmt: skip
    _edit(serbia, "goals:\n- 5\n", "goals:\n- 5\n- 8\n")

    # Before the build, the steward sees what it would change, field by field.
    seen = cli("diff", "--data", str(data), "--releases", str(releases), "--quiet")
    assert seen.returncode == 0, seen.stderr
    assert "0 records added, 1 changed, 0 removed" in seen.stdout
    assert (
        "changed pledge/whole-of-government-approach-in-serbia  "
        "(data/pledges/whole-of-government-approach-in-serbia.yaml)\n"
        '  label: "Whole-of-government approach in Serbia" -> '
        '"Whole-of-government approach in the Republic of Serbia"\n'
        "  sdgGoal: <http://metadata.un.org/sdg/8> (new)\n"
    ) in seen.stdout
    build()  # 2: one record changed

    (data / "pledges" / "municipality-of-straseni.yaml").unlink()
    copy = serbia.read_text(encoding="utf-8").replace(
        "id: whole-of-government-approach-in-serbia", "id: whole-of-government-approach-copy")
    (data / "pledges" / "whole-of-government-approach-copy.yaml").write_text(copy)
    build()  # 3: one added, one removed
    _edit(data / "agents.yaml", "name: City of Zürich", "name: Stadt Zürich")
    _edit(data / "places.yaml", "alt_names: [Zurich]", "alt_names: [Zurich, Zuerich]")
    build()  # 4: registry entries changed

    again = _build(data, releases, "--keep", "2")  # nothing changed: no new version
    assert again == ids[-1] and History.open(releases).latest().number == 4

    shutil.rmtree(data)
    copy_data(data)
    build()  # 5: back to the data of version 1 (A-B-A): the same release id
    assert ids[4] == ids[0] and dumps[4] == dumps[0]

    _check_versions(releases, dumps)
    history = History.open(releases)
    assert history.for_release(ids[0]).number == 5
    assert history.latest().release_id == ids[0]
    # Pruning kept two releases (4 and 5) and every version of the history.
    kept = {p.name for p in releases.iterdir() if p.is_dir() and not p.is_symlink()}
    assert kept == {ids[3], ids[4], "history", ".cache"}
    assert [history.changeset_path(n) is not None for n in range(1, 6)] == [
        False, False, False, True, True]  # fmt: skip
    serbia_iri = f"{BASE}/id/pledge/whole-of-government-approach-in-serbia"
    assert [(v.number, c.kind) for v, c in history.resource(serbia_iri)] == [
        (1, "created"), (2, "updated"), (5, "updated")]  # fmt: skip

    # The manifest and the VoID/DCAT description state the version chain.
    manifest = json.loads((releases / "current" / "manifest.json").read_text())
    assert manifest["version"]["number"] == 5
    assert manifest["version"]["previous_release"] == ids[3]
    assert manifest["version"]["summary"] == history.version(5).summary
    assert "changes.rdfp.gz" in manifest["files"]
    void = rdflib.Graph().parse(releases / "current" / "void.ttl")
    ds = rdflib.URIRef(f"{BASE}/.well-known/void#dataset")
    assert str(void.value(ds, DCAT.version)) == "5"
    assert void.value(ds, DCAT.previousVersion) == rdflib.URIRef(f"{BASE}/releases/4")
    versions = set(void.objects(ds, DCAT.hasVersion))
    assert versions == {rdflib.URIRef(f"{BASE}/releases/{n}") for n in range(1, 6)}
    v5 = rdflib.URIRef(f"{BASE}/releases/5")
    downloads = {str(void.value(d, DCAT.downloadURL)) for d in void.objects(v5, DCAT.distribution)}
    assert downloads == {f"{v5}/dumps/pledges.nt", f"{v5}/changes.rdfp.gz"}
    assert not set(void.objects(rdflib.URIRef(f"{BASE}/releases/1"), DCAT.distribution))

    # The index is derived from the archived patches: made again, it is the same.
    before = [(v, history.changes(v.number), history.changeset_path(v.number))
              for v in history.versions()]  # fmt: skip
    history.close()
    assert rebuild_index(releases) == 5
    again = History.open(releases)
    assert [(v, again.changes(v.number), again.changeset_path(v.number))
            for v in again.versions()] == before  # fmt: skip

    # Between two recorded versions: the composition of what they changed.
    between = cli("diff", "1", "3", "--format", "json", "--releases", str(releases))
    assert between.returncode == 0
    got = json.loads(between.stdout)
    expected = _plain_diff(dumps[0], dumps[2])
    assert {c["iri"]: (c["kind"], set(c["added"]), set(c["removed"]))
            for c in got["changes"]} == expected  # fmt: skip
    same = cli("diff", "1", ids[0], "--releases", str(releases))
    assert "no changes: the same data" in same.stdout  # version 1 and 5: release ids[0]
    missing = cli("diff", "1", "9", "--releases", str(releases))
    assert missing.returncode == 0
    assert "nothing to compare: no version '9' in the history" in missing.stdout


@pytest.mark.slow
def test_synthetic_data_edited_and_a_no_switch_build(tmp_path: Path) -> None:
    data, releases = tmp_path / "data", tmp_path / "releases"
    made = cli("synth", "--pledges", "3000", "--seed", "7", "--data", str(DATA),
               "--out", str(data))  # fmt: skip
    assert made.returncode == 0, made.stderr
    dumps = []
    first = _build(data, releases)
    dumps.append(_triples(releases / "current" / DUMP))
    batch = data / "pledges" / "batch-00001.yaml"
    text = batch.read_text(encoding="utf-8")
    edited = text.replace('  title: "', '  title: "Revised ', 50)
    assert edited.count('title: "Revised ') == 50
    batch.write_text(edited, encoding="utf-8")
    (data / "pledges" / "batch-00002.yaml").unlink()

    # --no-switch: a release, but no version until it is published.
    built = _build(data, releases, "--no-switch")
    assert built != first and History.open(releases).latest().number == 1
    assert (releases / built / "changes.rdfp.gz").is_file()
    published = _build(data, releases)  # the same input: that release, now published
    assert published == built
    dumps.append(_triples(releases / "current" / DUMP))
    history = History.open(releases)
    assert history.changeset_path(2) == releases / built / "changes.rdfp.gz"
    summary = history.version(2).summary
    assert summary["records_changed"] == 50 and summary["records_removed"] == 1000
    _check_versions(releases, dumps)

    empty = cli("diff", "--data", str(data), "--releases", str(releases), "-q")
    assert empty.returncode == 0 and "no changes: the same data" in empty.stdout
    patch = cli("diff", "1", "2", "--format", "rdf-patch", "--releases", str(releases))
    assert patch.stdout.startswith(f"H id <urn:pledge-lod:release:{built}> .\n")
    assert f"H prev <urn:pledge-lod:release:{first}> .\nTX .\n" in patch.stdout


def test_nothing_to_compare_without_a_release(tmp_path: Path) -> None:
    result = cli("diff", "--releases", str(tmp_path / "none"), "-q")
    assert result.returncode == 0
    assert result.stdout.startswith("nothing to compare the working data with: no current")
    history = History.open(tmp_path / "none")
    assert history.versions() == [] and history.latest() is None
    assert history.changes(1) == [] and history.resource("x") == []


def test_blank_nodes_are_grouped_under_the_resource_that_points_at_them(tmp_path: Path) -> None:
    from pledge_lod.build.changes import diff

    old, new = tmp_path / "old.nt", tmp_path / "new.nt"
    old.write_text("<http://x/a> <http://x/p> _:b1 .\n_:b1 <http://x/q> \"1\" .\n")
    new.write_text("<http://x/a> <http://x/p> _:b1 .\n_:b1 <http://x/q> \"2\" .\n"
                   "<http://x/c> <http://x/p> \"3\" .\n")  # fmt: skip
    whole = {"(whole)": (0, 0, "")}
    changes = diff(old, whole, new, whole)
    assert [(c.iri, c.kind) for c in changes] == [("http://x/a", "updated"),
                                                  ("http://x/c", "created")]  # fmt: skip
    assert changes[0].removed == ('_:b1 <http://x/q> "1" .',)
