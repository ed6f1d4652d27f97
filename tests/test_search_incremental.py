"""A release's search index made from the previous release's index plus the changes
answers as the index written whole from the same data: the same rows, the same hits
for searches, filters, suggestions and reconciliation candidates; the previous
release's index files stay as they were; another KOS or base takes the full write."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import tantivy

from pledge_lod.build.search_rows import resource_rows
from pledge_lod.rdf import vocab as v
from pledge_lod.rdf.vocab import Iris
from pledge_lod.release.search_index import INDEX_DIR, Filters, SearchIndex
from support.processes import cli
from support.releases import copy_data, edit, edit_add_remove
from support.web import client_for

BASE = "http://127.0.0.1:8773"
ENV = {"SOURCE_DATE_EPOCH": "1700000000"}
SDG = "http://metadata.un.org/sdg/"
INCREMENTAL = "search index: previous one plus "
FULL = " rows written ("
SEARCHES = [
    ("migrants", Filters()),
    ("serbia", Filters()),
    ("republic", Filters(type="pledge")),
    ("government approach", Filters(type="pledge", goal=SDG + "5")),
    ("straseni", Filters()),
    ("zurich", Filters()),
    ("zuri", Filters(type="place")),
    ("poverty", Filters(lang="fr")),
    ("pauvrete", Filters(lang="fr")),
    ("city", Filters(type="agent")),
    ("plan local", Filters(place=f"{BASE}/id/place/zurich")),
]


def _build(data: Path, releases: Path, base: str = BASE) -> tuple[Path, str]:
    """Build in this process; the release folder and the progress lines."""
    result = cli("build", "--data", str(data), "--releases", str(releases), "--base", base,
                 "--jobs", "1", env=ENV)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return releases / result.stdout.split()[1].rstrip(":"), result.stderr


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }  # fmt: skip


def _documents(release: Path) -> list[tuple]:
    """Every live document of the index, its stored fields, sorted."""
    index = tantivy.Index.open(str(release / INDEX_DIR))
    searcher = index.searcher()
    found = searcher.search(tantivy.Query.all_query(), searcher.num_docs or 1).hits
    docs = [searcher.doc(address).to_dict() for _score, address in found]
    return sorted(tuple(sorted((k, tuple(sorted(v))) for k, v in d.items())) for d in docs)


def _answers(release: Path) -> dict[str, object]:
    """What the index answers through SearchIndex; scores left out (see update_index)."""
    index = SearchIndex(release / INDEX_DIR)
    out: dict[str, object] = {}
    for text, filters in SEARCHES:
        page = index.search(text, filters, limit=100)
        hits = sorted((h.iri, h.type, h.lang, h.label, h.snippet) for h in page.hits)
        out[f"search {text} {filters}"] = (page.total, hits)
        out[f"any {text} {filters}"] = sorted(index.matches(text, filters, 100, any_word=True))
        suggested = index.suggest(text, filters, limit=50)
        out[f"suggest {text} {filters}"] = sorted((h.iri, h.type, h.lang, h.label)
                                                  for h in suggested)  # fmt: skip
    return out


def _reconciled(releases: Path) -> list:
    """Reconciliation candidates (the service's own name scores) through HTTP."""
    queries = {
        "q0": {"query": "Whole-of-government approach in the Republic of Serbia"},
        "q1": {"query": "Stadt Straseni", "type": "place"},
        "q2": {"query": "Zurich"},
        "q3": {"query": "end poverty", "limit": 20},
        "q4": {"query": "Municipality of Strășeni"},
    }
    resp = client_for(releases).post("/reconcile", data={"queries": json.dumps(queries)})
    assert resp.status_code == 200, resp.data
    got = resp.get_json()
    return [sorted((c["id"], c["name"], c["score"], c["match"]) for c in got[k]["result"])
            for k in sorted(got)]  # fmt: skip


@pytest.mark.slow
def test_the_index_from_the_previous_one_answers_as_a_full_one(tmp_path: Path) -> None:
    data, releases = copy_data(tmp_path / "data"), tmp_path / "releases"
    first, said = _build(data, releases)
    assert FULL + "no previous release" in said, said
    before = _digests(first / INDEX_DIR)
    stamp = (first / "search.json").read_bytes()

    # A pledge edited, one added, one removed, and a place's label changed.
    edit_add_remove(data)
    edit(data / "places.yaml", "  name: Zürich\n", "  name: Zürich-Stadt\n")
    second, said = _build(data, releases)
    assert INCREMENTAL in said, said
    changed = int(said.split(INCREMENTAL)[1].split()[0])
    assert changed >= 4  # the four resources, and those whose triples name them

    full, said = _build(data, tmp_path / "full")
    assert FULL + "no previous release" in said, said
    assert (second / "search.json").read_bytes() == (full / "search.json").read_bytes()
    assert _documents(second) == _documents(full)
    answers = _answers(second)
    assert answers == _answers(full)
    assert _reconciled(releases) == _reconciled(tmp_path / "full")
    # The edits are in the answers: the new title and label found, the old ones gone.
    assert answers["search republic Filters(type='pledge', goal=None, place=None, lang=None)"][0]
    zurich = SearchIndex(second / INDEX_DIR).labels(f"{BASE}/id/place/zurich")
    assert zurich == {"": "Zürich-Stadt"} or "Zürich-Stadt" in zurich.values(), zurich
    removed = f"{BASE}/id/pledge/municipality-of-straseni"
    assert SearchIndex(first / INDEX_DIR).labels(removed)
    assert not SearchIndex(second / INDEX_DIR).labels(removed)

    # The previous release's index was copied, never written.
    assert _digests(first / INDEX_DIR) == before
    assert (first / "search.json").read_bytes() == stamp


@pytest.mark.slow
def test_another_kos_or_base_writes_the_index_whole(tmp_path: Path) -> None:
    data, releases = copy_data(tmp_path / "data"), tmp_path / "releases"
    _build(data, releases)
    kos = next((data / "sdg-kos").glob("*.ttl"))
    text = kos.read_text(encoding="utf-8")
    assert text.count("End poverty in all its forms everywhere") >= 1
    kos.write_text(text.replace("End poverty in all its forms everywhere",
                                "End poverty in every form everywhere"), encoding="utf-8")
    edit(data / "places.yaml", "  name: Zürich\n", "  name: Zürich-Stadt\n")
    second, said = _build(data, releases)
    assert FULL + "the previous index was made from another KOS" in said, said
    assert SearchIndex(second / INDEX_DIR).labels(SDG + "1")["en"] == (
        "End poverty in every form everywhere"
    )

    edit(data / "places.yaml", "  name: Zürich-Stadt\n", "  name: Zürich\n")
    third, said = _build(data, releases, base="http://127.0.0.1:8774")
    assert FULL + "the previous index was made from another KOS, base" in said, said
    assert SearchIndex(third / INDEX_DIR).labels("http://127.0.0.1:8774/id/place/zurich")



def test_an_alternative_that_folds_to_the_label_is_not_indexed_again() -> None:
    """A synthetic pledge's title is its label too: indexed once. An alternative that
    differs only in case or accents goes too; one with other words stays."""
    iris = Iris(BASE)
    label, title = v.RDFS_LABEL, v.DCTERMS + "title"
    facts = [
        (label, "Zürich pledge", "en"), (title, "Zürich pledge", "en"),
        (v.SCHEMA + "alternateName", "ZURICH  Pledge", "en"),
        (v.SCHEMA + "alternateName", "Pledge of Zürich", "en"),
        (v.SCHEMA + "alternateName", "pledge of zurich", "en"),
    ]  # fmt: skip
    rows = list(resource_rows(f"{BASE}/id/pledge/z", facts, iris))
    assert [(r.label, r.alt) for r in rows] == [("Zürich pledge", "Pledge of Zürich")]
