"""A release built from the previous one plus its changes is the same release as a full
build of the same data: every dump byte for byte, the store's quads in every graph, the
VoID counts; and the previous release's store, whose files the new one hard-links, still
holds exactly what it held."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from pyoxigraph import CanonicalizationAlgorithm, Dataset, RdfFormat, Store, parse, serialize

from support.processes import run_cli
from support.releases import copy_data, edit, edit_add_remove

BASE = "http://127.0.0.1:8772"
VOID = "http://rdfs.org/ns/void#"
ENV = {"SOURCE_DATE_EPOCH": "1700000000"}  # the one timestamp a release carries
COUNTS = (
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
)


def _build(data: Path, releases: Path) -> tuple[str, str]:
    """Build in a subprocess (one store per process); the release id and the progress."""
    result = run_cli("build", "--data", str(data), "--releases", str(releases), "--base", BASE,
                     "--jobs", "1", env=ENV)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[1].rstrip(":"), result.stderr


def _files(release: Path) -> dict[str, str]:
    """Every file of a release but its store and its search index, by digest; the
    manifest without the index's files. (Tantivy names its segments by random UUIDs:
    two full builds differ there too.)"""
    out = {}
    for p in sorted(release.rglob("*")):
        rel = p.relative_to(release)
        if p.is_file() and rel.parts[0] not in {"store", "search"}:
            out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = {k: v for k, v in manifest["files"].items() if k.split("/")[0] != "search"}
    out["manifest.json"] = json.dumps(manifest, sort_keys=True)
    return out


def _store(release: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """The store's quads in every graph, blank nodes labelled canonically, sorted; and
    the triples per graph as SPARQL counts them."""
    store = Store.read_only(str(release / "store"))
    dataset = Dataset(store)
    dataset.canonicalize(CanonicalizationAlgorithm.UNSTABLE)  # one Oxigraph: stable
    quads = sorted(serialize([q], format=RdfFormat.N_QUADS).decode() for q in dataset)
    counts = [(r["g"].value, int(r["n"].value)) for r in store.query(COUNTS)]
    return quads, counts


def _void_counts(release: Path) -> dict[str, int]:
    void = parse(path=str(release / "void.ttl"), format=RdfFormat.TURTLE)
    return {
        f"{q.subject} {q.predicate.value.removeprefix(VOID)}": int(q.object.value)
        for q in void
        if q.predicate.value in {VOID + "triples", VOID + "entities", VOID + "distinctSubjects",
                                 VOID + "distinctObjects"}
    }  # fmt: skip


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_nlink)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "LOCK"
    }


def _assert_same(new: Path, full: Path) -> list[str]:
    """Two releases of the same data and history are the same release; the quads."""
    assert _files(new) == _files(full)  # dumps, VoID, changeset, sitemap, report...
    new_quads, new_counts = _store(new)
    full_quads, full_counts = _store(full)
    assert new_quads == full_quads
    assert new_counts == full_counts
    assert _void_counts(new) == _void_counts(full)
    manifest = json.loads((new / "manifest.json").read_text(encoding="utf-8"))
    stated, graphs = manifest["dataset"]["triples"], manifest["graphs"]
    assert sorted((graphs[k], n) for k, n in stated.items()) == new_counts
    return new_quads


def _rebuild_both(data: Path, releases: Path, full_releases: Path) -> tuple[Path, Path, str]:
    """Rebuild both folders, the reference's current release without a store first; the
    two releases and the progress of the first."""
    shutil.rmtree((full_releases / "current").resolve() / "store")
    made, said = _build(data, releases)
    reference, full_said = _build(data, full_releases)
    assert "store loaded" in full_said and "store made from" not in full_said, full_said
    assert made == reference
    return releases / made, full_releases / reference, said


@pytest.mark.slow
def test_incremental_release_equals_a_full_build(tmp_path: Path) -> None:
    data, releases = copy_data(tmp_path / "data"), tmp_path / "releases"
    first, said = _build(data, releases)
    assert "store made from release" not in said  # nothing to start from: a full load
    previous = releases / first
    before_files = _digests(previous / "store")
    before_store = _store(previous)

    # One record edited, one added, one removed, and a registry entry changed.
    serbia = edit_add_remove(data)
    edit(data / "agents.yaml", "name: City of Zürich", "name: Stadt Zürich")

    # The reference: the same releases folder (the same history, so the same version
    # chain), whose previous release has no store to start from.
    full_releases = tmp_path / "full"
    shutil.copytree(releases, full_releases, symlinks=True)
    shutil.rmtree(full_releases / first / "store")
    second, said = _build(data, releases)
    assert f"store made from release {first} plus the changes" in said, said
    # The dumps: the changed sources rendered, the others copied from the previous release.
    assert "sources copied from the previous release" in said, said
    # The data graph's counts: the previous release's moved by the changes.
    assert f"data graph counted from release {first}'s counts plus the changes" in said, said
    reference, said = _build(data, full_releases)
    assert "store loaded" in said, said
    assert "store made from release" not in said
    assert second == reference
    new, full = releases / second, full_releases / reference

    new_quads = _assert_same(new, full)

    # The previous release: its files unchanged (some now shared with the new store),
    # and its store answers as before.
    after_files = _digests(previous / "store")
    assert {k: v[0] for k, v in after_files.items()} == {k: v[0] for k, v in before_files.items()}
    assert any(links > 1 for _, links in after_files.values()), "no file shared: a copy"
    assert _store(previous) == before_store
    old_title = '"Whole-of-government approach in Serbia"'
    assert any(old_title in q for q in before_store[0])
    assert not any(old_title in q for q in new_quads)

    # And the data dumps are those of a build of the same data in a fresh folder, where
    # every source is rendered.
    fresh, said = _build(data, tmp_path / "fresh")  # version 1: its VoID differs by design
    assert "copied from the previous release" not in said, said
    for name in ("pledges.nt", "pledges.ttl", "pledges.jsonld", "pledges.nt.gz",
                 "pledges.ttl.gz", "pledges.jsonld.gz"):  # fmt: skip
        dump = Path("dumps") / name
        assert (new / dump).read_bytes() == (tmp_path / "fresh" / fresh / dump).read_bytes()
    assert os.path.samefile(releases / "current", new)

    # Again, from a store that was itself made from the previous one.
    edit(serbia, "goals:\n- 5\n", "goals:\n- 5\n- 8\n")
    third, full, said = _rebuild_both(data, releases, full_releases)
    assert f"store made from release {second} plus the changes" in said, said
    _assert_same(third, full)
    # No document came or went: the sitemap is the previous release's file.
    assert os.path.samefile(third / "sitemap.xml", releases / second / "sitemap.xml")

    # Many records removed: applying the changes would cost more than a full load. The
    # first pledge (VoID's example resource of its class) goes too: the counts ask the
    # store for the next.
    for path in sorted((data / "pledges").glob("*.yaml"))[:-1]:
        path.unlink()
    fourth, full, said = _rebuild_both(data, releases, full_releases)
    assert "store loaded in full (" in said and "triples changed)" in said, said
    assert f"data graph counted from release {third.name}'s counts plus the changes" in said, said
    _assert_same(fourth, full)
