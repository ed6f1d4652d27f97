"""The index's rows are read from the build's N-Triples (written by pyoxigraph's
serializer) by a fast line reader, not by parsing every triple: what it reads must be
what pyoxigraph's parser reads, escapes and language tags included."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tantivy
from pyoxigraph import Literal, RdfFormat, parse, serialize

from pledge_lod.build import search_parts
from pledge_lod.build.pipeline import load_kos
from pledge_lod.build.search import STAMP_FILE, write_search_index
from pledge_lod.build.search_lines import _wanted, nt_facts
from pledge_lod.build.search_parts import parts
from pledge_lod.rdf.vocab import Iris
from pledge_lod.release import layout
from pledge_lod.release.search_index import INDEX_DIR, Filters, SearchIndex
from support.paths import DATA, ROOT
from support.processes import cli
from support.releases import copy_data, edit

BASE = "http://example.org"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
ABSTRACT = "<http://purl.org/dc/terms/abstract>"
SPATIAL = "<http://purl.org/dc/terms/spatial>"
P1 = f"<{BASE}/id/pledge/p1>"
NT = "\n".join([
    f'{P1} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{BASE}/def/pledge#Pledge> .',
    f'{P1} {LABEL} "Caf\\u00E9 \\"quoted\\" \\\\ back"@EN-gb .',
    f'{P1} {ABSTRACT} "First line\\nsecond line\\tand a tab \\U0001F600"@en .',
    f'{P1} {SPATIAL} <{BASE}/id/place/x> .',
    f'{P1} <{BASE}/def/pledge#sdgGoal> <http://metadata.un.org/sdg/5> .',
    f'<{BASE}/id/place/x>\t{LABEL}\t"Tabbed Town" .',
    f'<{BASE}/id/place/x> <http://www.w3.org/2002/07/owl#sameAs> <http://example.com/q> .',
    f'<{BASE}/id/place/x> <https://schema.org/alternateName> "Town"^^'
    '<http://www.w3.org/2001/XMLSchema#string> .',
    f'<{BASE}/id/agent/a> {LABEL} "Ünïcode agent" .',
    f'_:b1 {LABEL} "a blank node" .',
]) + "\n"


#: The predicates above that the index reads (not rdf:type without a KOS class, sameAs).
READ = {LABEL, ABSTRACT, SPATIAL, f"<{BASE}/def/pledge#sdgGoal>", "<https://schema.org/alternateName>"}


def _written(tmp_path: Path) -> Path:
    """The triples as the build writes its N-Triples: by pyoxigraph's serializer."""
    path = tmp_path / "data.nt"
    path.write_bytes(serialize(parse(NT.encode(), format=RdfFormat.N_TRIPLES),
                               format=RdfFormat.N_TRIPLES))
    return path


def _parser_facts(path: Path) -> list[tuple[str, list[tuple]]]:
    """The same facts, read by pyoxigraph from every triple."""
    out: list[tuple[str, list[tuple]]] = []
    for quad in parse(path=str(path), format=RdfFormat.N_TRIPLES):
        p, o = quad.predicate.value, quad.object
        if f"<{p}>" not in READ or quad.subject.value == "b1":
            continue
        fact = (p, o.value, (o.language or "") if isinstance(o, Literal) else None)
        if out and out[-1][0] == quad.subject.value:
            out[-1][1].append(fact)
        else:
            out.append((quad.subject.value, [fact]))
    return out


def test_the_line_reader_reads_what_the_parser_reads(tmp_path: Path) -> None:
    path = _written(tmp_path)
    read = list(nt_facts(path, _wanted(Iris(BASE))))
    assert read == _parser_facts(path)
    assert read[0][1][0][1:] == ('Café "quoted" \\ back', "en-gb")
    assert read[0][1][1][1] == "First line\nsecond line\tand a tab \U0001f600"


def test_escaped_labels_are_searchable(tmp_path: Path) -> None:
    rows = write_search_index(tmp_path / "search", _written(tmp_path), [], Iris(BASE))
    assert rows == 4  # the pledge (en-gb label, en text), the place, the agent; no blank node
    index = SearchIndex(tmp_path / "search")
    hits = index.search("cafe quoted", Filters(type="pledge")).hits
    assert {(h.iri, h.label) for h in hits} == {(P1[1:-1], 'Café "quoted" \\ back')}
    assert index.search("second line", Filters(goal="http://metadata.un.org/sdg/5")).total == 1
    assert index.names(f"{BASE}/id/place/x") == ["Tabbed Town", "Town"]
    assert index.facets(f"{BASE}/id/pledge/p1") == {
        ("goal", "http://metadata.un.org/sdg/5"), ("place", f"{BASE}/id/place/x")
    }


def _documents(path: Path) -> list[str]:
    """Every document of an index folder, as sorted JSON (the order of the rows across
    segments depends on Tantivy's threads, not on what the index holds)."""
    index = tantivy.Index.open(str(path))
    searcher = index.searcher()
    hits = searcher.search(tantivy.Query.all_query(), searcher.num_docs or 1).hits
    return sorted(json.dumps(searcher.doc(a).to_dict(), sort_keys=True) for _s, a in hits)


@pytest.mark.slow  # worker processes
def test_worker_processes_read_the_rows_one_reader_reads(
    releases_dir: Path, base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole write's parallel reader (the build's index child uses it) writes the
    rows of the serial one, the file cut where the resource it reads changes only."""
    release = releases_dir / "current"
    nt = release / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]
    monkeypatch.setattr(search_parts, "PART_BYTES", 8 << 10)  # many parts, many cuts
    cuts = parts(nt, 2, _wanted(Iris(base_url)))
    data = nt.read_bytes()
    assert len(cuts) > 10 and cuts[-1][0] + cuts[-1][1] == len(data)
    assert [o for o, _n in cuts] == [0, *(o + n for o, n in cuts[:-1])]  # the file, in order
    assert all(data[offset - 1:offset] == b"\n" for offset, _n in cuts[1:])  # whole lines
    kos, iris = load_kos(DATA), Iris(base_url)
    one = write_search_index(tmp_path / "one", nt, kos, iris)
    many = write_search_index(tmp_path / "many", nt, kos, iris, workers=2)
    assert one == many > 100
    documents = _documents(tmp_path / "one")
    assert len(documents) == one
    assert _documents(tmp_path / "many") == documents
    # The build wrote its own index the parallel way, in its child process.
    assert _documents(release / INDEX_DIR) == documents
    index = SearchIndex(tmp_path / "many")
    assert index.search("migrants", Filters()).total == SearchIndex(tmp_path / "one").search(
        "migrants", Filters()).total > 0


@pytest.mark.slow  # the benchmark in subprocesses
def test_the_whole_write_benchmark_times_one_reader_and_the_workers(
    releases_dir: Path, tmp_path: Path
) -> None:
    nt = releases_dir / "current" / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]
    done = subprocess.run(
        [sys.executable, "-m", "bench.search_write", "--nt", str(nt), "--work",
         str(tmp_path / "work"), "--workers", "1", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line.split(" | ") for line in done.stdout.splitlines() if line.startswith("| 1 |")]
    stamp = json.loads((releases_dir / "current" / STAMP_FILE).read_text(encoding="utf-8"))
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("this checkout", "1", f"{stamp['rows']:,}"), ("this checkout", "2", f"{stamp['rows']:,}")
    ]


def _built(data: Path, releases: Path) -> tuple[Path, str]:
    """A build in this process (as ``pledge-lod build``); the release and its log."""
    result = cli("build", "--data", str(data), "--releases", str(releases), "--base", BASE,
                 "--jobs", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return releases / result.stdout.split()[1].rstrip(":"), result.stderr


@pytest.mark.slow  # two builds, mapping workers
def test_a_first_build_indexes_the_rows_its_mapping_workers_made(tmp_path: Path) -> None:
    """A first build's index is written from the rows the mapping workers made of the
    triples they mapped (no reading back of the data file), and holds the documents the
    reader makes of the release's N-Triples; with the cache's entries (no rows) beside
    a changed file's, the unchanged files' rows are read from the data."""
    data = copy_data(tmp_path / "data")
    releases = tmp_path / "releases"
    kos, iris = load_kos(data), Iris(BASE)
    for round_ in (1, 2):
        release, log = _built(data, releases)
        assert "rows written (no previous release; the pledges' rows made while mapping)" in log
        nt = release / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]
        read = write_search_index(tmp_path / f"read-{round_}", nt, kos, iris)
        documents = _documents(release / INDEX_DIR)
        assert len(documents) == read > 100
        assert documents == _documents(tmp_path / f"read-{round_}")
        if round_ == 2:
            hits = SearchIndex(release / INDEX_DIR).search("straseni raion", Filters()).hits
            assert any("Strășeni Raion" in hit.label for hit in hits)
            break
        # The releases and their history go, the build cache stays: the next build is a
        # first one again, with every file's entry but the edited one's from the cache.
        edit(data / "pledges" / "municipality-of-straseni.yaml", "Straseni", "Strășeni Raion")
        for kept in releases.iterdir():
            if kept.name != ".cache":
                shutil.rmtree(kept) if kept.is_dir() and not kept.is_symlink() else kept.unlink()
