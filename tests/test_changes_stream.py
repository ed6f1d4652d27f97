"""Streamed changes (``pledge_lod.build.change_stream``) against the in-memory grouping
they replace for large comparisons: the same changes, the same RDF Patch bytes, the same
history index, on the bundled data's first version and on 10,000 synthetic resources
written in no order, with the cases the data file's layout does not promise away."""

from __future__ import annotations

import gzip
import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from bench import first_version

from pledge_lod.build import change_stream
from pledge_lod.build.changes import Changeset, changeset_for, diff, load_chunks, record
from pledge_lod.build.releases_folder import remove_stale_builds
from pledge_lod.release.history import History, record_version, write_patch
from pledge_lod.release.layout import read_release
from support.processes import cli
from support.releases import copy_data

BASE = "http://127.0.0.1:8774"
ALWAYS_STREAM, NEVER_STREAM = 0, 1 << 62


def _resource(n: int, rng: random.Random) -> list[str]:
    iri = f"<http://x.test/id/r/{n:05d}>"
    lines = [f'{iri} <http://x.test/p/{k}> "value {n} {k} {rng.random():.6f}" .'
             for k in range(rng.randint(1, 12))]  # fmt: skip
    if n % 97 == 0:  # a blank node, owning another in turn
        lines += [f"{iri} <http://x.test/p/b> _:a{n} .", f'_:a{n} <http://x.test/p/q> "q{n}" .',
                  f"_:a{n} <http://x.test/p/r> _:c{n} .",
                  f'_:c{n} <http://x.test/p/q> "c{n}" .']  # fmt: skip
    if n % 101 == 0:  # a literal holding U+2028, which only a newline ends
        lines.append(f'{iri} <http://x.test/p/s> "one\u2028two" .')
    return lines


def _write(path: Path, resources: dict[int, list[str]], rng: random.Random) -> dict:
    """N-Triples in sources of 500 resources, shuffled, some resources split into two
    runs (and a line repeated), a comment and an orphan blank node; its chunk index."""
    order = list(resources)
    rng.shuffle(order)
    chunks: dict[str, tuple[int, int, str]] = {}
    with path.open("wb") as f:
        for first in range(0, len(order), 500):
            start = f.tell()
            lines = []
            for n in order[first : first + 500]:
                own = resources[n]
                if n % 89 == 0 and len(own) > 1:
                    lines[len(lines) // 2 : len(lines) // 2] = own[:1] * 2
                    own = own[1:]
                lines += own
            if first == 0:
                lines += ["# a comment", '_:orphan <http://x.test/p/q> "alone" .']
            f.write("".join(line + "\n" for line in lines).encode())
            chunks[f"source-{first}"] = (start, f.tell() - start, f"d{first}-{len(lines)}")
    return chunks


def _index(releases: Path) -> list[tuple]:
    with sqlite3.connect(releases / "history" / "history.sqlite") as db:
        return db.execute("SELECT * FROM changes ORDER BY version, iri").fetchall()


def _same_record(tmp: Path, name: str, streamed: Changeset, grouped: Changeset) -> None:
    """Both changesets give the same patch bytes and the same history index."""
    made = ("r", "2026-12-03T00:00:00Z")
    for label, changeset in (("streamed", streamed), ("grouped", grouped)):
        folder = tmp / f"{name}-{label}"
        folder.mkdir()
        write_patch(folder / "p.rdfp.gz", changeset.changes, "r", "q", (1, made[1]))
        record_version(folder, made, changeset.changes, changeset.summary,
                       folder / "p.rdfp.gz", False)  # fmt: skip
    a, b = tmp / f"{name}-streamed", tmp / f"{name}-grouped"
    assert (a / "p.rdfp.gz").read_bytes() == (b / "p.rdfp.gz").read_bytes()
    assert _index(a) == _index(b)


@pytest.mark.slow  # 10,000 resources compared, recorded and patched six times
def test_ten_thousand_resources_first_version_and_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(change_stream, "RUN_KEYS", 1_000)  # many sorted runs to merge
    rng = random.Random(18)
    before = {n: _resource(n, rng) for n in range(10_000)}
    after = {n: lines for n, lines in before.items() if n % 7}  # some deleted
    for n in range(0, 10_000, 11):  # some updated
        extra = f'<http://x.test/id/r/{n:05d}> <http://x.test/p/u> "u" .'
        after[n] = [*after.get(n, before[n])[1:], extra]
    for n in range(10_000, 10_300):  # some created
        after[n] = _resource(n, rng)
    old, new = tmp_path / "old.nt", tmp_path / "new.nt"
    old_chunks, new_chunks = _write(old, before, rng), _write(new, after, rng)

    releases = tmp_path / "releases"
    releases.mkdir()
    streamed = changeset_for(releases, new, new_chunks, in_memory=ALWAYS_STREAM)
    grouped = changeset_for(releases, new, new_chunks, in_memory=NEVER_STREAM)
    assert isinstance(streamed.changes, change_stream.ChangeStream)
    assert isinstance(grouped.changes, list)
    assert list(streamed.changes) == grouped.changes
    assert streamed.summary == grouped.summary and len(streamed.changes) == len(grouped.changes)
    assert streamed.summary["records_added"] == len(after) + 1  # and the orphan blank node
    _same_record(tmp_path, "first", streamed, grouped)

    whole = {"(whole)": (0, 0, "")}
    for chunks in ((old_chunks, new_chunks), (whole, whole)):  # changed sources, then all
        spans = [list(c[:2] for c in chunks[0].values()), list(c[:2] for c in chunks[1].values())]
        if chunks[0] is whole:
            spans = [[(0, old.stat().st_size)], [(0, new.stat().st_size)]]
        stream = change_stream.ChangeStream(releases, (old, spans[0]), (new, spans[1]))
        expected = diff(old, chunks[0], new, chunks[1])
        assert list(stream) == expected and len(stream) == len(expected)
        kinds = {c.kind for c in expected}
        assert kinds == {"created", "updated", "deleted"}
        _same_record(tmp_path, f"diff-{len(spans[0])}", Changeset(stream, "q"),
                     Changeset(expected, "q"))  # fmt: skip
        stream.close()
    streamed.close()
    assert not [p for p in releases.iterdir() if p.name.startswith((".changes", ".build"))]


@pytest.mark.slow
def test_the_bundled_data_s_first_version_streamed_is_the_built_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The build's changeset of the bundled data (grouped in memory, it is small) and
    the same changes streamed: the same patch, byte for byte; then the version recorded
    from a streamed changeset holds what the build recorded."""
    data, releases = copy_data(tmp_path / "data"), tmp_path / "releases"
    result = cli("build", "--quiet", "--data", str(data), "--releases", str(releases),
                 "--base", BASE, "--jobs", "1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    release = read_release((releases / "current").resolve())
    built = _index(releases)
    nt = release.path / "dumps" / "pledges.nt"
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    streamed = changeset_for(fresh, nt, load_chunks(release.path, nt), in_memory=ALWAYS_STREAM)
    assert isinstance(streamed.changes, change_stream.ChangeStream)
    manifest = json.loads((release.path / "manifest.json").read_text(encoding="utf-8"))
    assert streamed.summary == manifest["version"]["summary"]
    patch = tmp_path / "streamed.rdfp.gz"
    write_patch(patch, streamed.changes, release.id, None, (1, release.created))
    assert patch.read_bytes() == (release.path / "changes.rdfp.gz").read_bytes()
    assert gzip.decompress(patch.read_bytes()).count(b"\nA ") == streamed.summary["triples_added"]

    # Recorded from the stream in a history of its own: the same index as the build's.
    (fresh / release.id).symlink_to(release.path)
    version = record(fresh, read_release(fresh / release.id), streamed)
    assert version is not None and version.number == 1
    assert _index(fresh) == built
    assert History.open(fresh).latest() == History.open(releases).latest()

    # The benchmark of this path (bench/RESULTS.md) in both modes: the same patch.
    capsys.readouterr()
    for mode in ([], ["--in-memory"]):
        work = tmp_path / f"bench{len(mode)}"
        assert first_version.main([str(nt), str(release.path / "chunks.json.gz"), str(work),
                                   *mode]) == 0  # fmt: skip
        said = json.loads(capsys.readouterr().out)
        assert said["summary"] == streamed.summary and said["peak_rss_mb"] > 0
    assert (tmp_path / "bench0" / "changes.rdfp.gz").read_bytes() == (
        tmp_path / "bench1" / "changes.rdfp.gz").read_bytes()  # fmt: skip


@pytest.mark.slow
def test_a_process_killed_while_streaming_leaves_nothing_behind(tmp_path: Path) -> None:
    """The keys' folder is locked like a build's work folder: once its process is
    killed, the next build (its clean-up of killed builds) removes it."""
    nt = tmp_path / "data.nt"
    nt.write_text('<http://x.test/a> <http://x.test/p> "1" .\n', encoding="utf-8")
    releases = tmp_path / "releases"
    releases.mkdir()
    code = ("import sys, time; from pathlib import Path; "
            "from pledge_lod.build.change_stream import ChangeStream; "
            "s = ChangeStream(Path(sys.argv[1]), None, (Path(sys.argv[2]), [(0, 43)])); "
            "print(len(s), flush=True); time.sleep(60)")  # fmt: skip
    child = subprocess.Popen([sys.executable, "-c", code, str(releases), str(nt)],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline() == "1\n"
        (left,) = releases.iterdir()
        remove_stale_builds(releases)  # while it runs: kept
        assert left.is_dir()
    finally:
        child.kill()
        child.wait(timeout=30)
    remove_stale_builds(releases)
    assert list(releases.iterdir()) == []
