"""The release's search index, as `pledge-lod build` writes it: listed in the manifest,
folding case and accents, ranking label matches first, filtering by facet, and never
letting a person's text reach FTS5's query syntax."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pledge_lod.release.search_index import (
    INDEX_DIR,
    TYPES,
    Filters,
    QueryError,
    SearchIndex,
    parse_terms,
)

SDG = "http://metadata.un.org/sdg/"


@pytest.fixture(scope="module")
def index(releases_dir: Path) -> SearchIndex:
    return SearchIndex(releases_dir / "current" / INDEX_DIR)


def labels(index: SearchIndex, text: str, **filters: str) -> list[tuple[str, str]]:
    return [(h.type, h.label) for h in index.search(text, Filters(**filters), limit=50).hits]


def test_the_index_is_part_of_the_release(releases_dir: Path, index: SearchIndex) -> None:
    current = releases_dir / "current"
    manifest = json.loads((current / "manifest.json").read_text())
    assert any(name.startswith(INDEX_DIR + "/") for name in manifest["files"])
    assert "meta.json" in {p.name for p in (current / INDEX_DIR).iterdir()}
    common = "a the of and for in de la le et migration migrants poverty city pledge practice"
    for kind in TYPES:
        assert index.search(common, Filters(type=kind), any_word=True).total, kind
    goal = index.labels(SDG + "1")
    assert {"en", "es", "fr"} <= set(goal)
    assert goal["fr"].startswith("Éliminer la pauvreté")


@pytest.mark.parametrize("text", ["Strășeni", "Straseni", "STRASENI", "strășeni"])
def test_case_and_accents_fold(index: SearchIndex, text: str) -> None:
    found = labels(index, text, type="place")
    assert found and found[0][1] == "Strășeni"


def test_a_label_match_ranks_above_a_text_match(index: SearchIndex) -> None:
    hits = index.search("poverty", Filters(lang="en"), limit=50).hits
    in_label = ["poverty" in h.label.lower() for h in hits]
    assert True in in_label and False in in_label  # both kinds of match are there
    assert in_label == sorted(in_label, reverse=True)  # every label match first
    assert hits[0].iri == SDG + "1"



def test_hits_without_snippets_are_the_same_hits(index: SearchIndex) -> None:
    """The RDF pages ask for no snippets: the same hits, total and scores, none marked."""
    for text, filters in (("poverty", Filters()), ("migration", Filters(lang="en")),
                          ("poverty", Filters(type="target", goal=SDG + "1"))):
        full = index.search(text, filters, limit=50)
        bare = index.search(text, filters, limit=50, snippets=False)
        assert full.total == bare.total > 0
        assert [(h.iri, h.lang, h.label, h.score) for h in full.hits] == [
            (h.iri, h.lang, h.label, h.score) for h in bare.hits]
        assert all(h.snippet for h in full.hits) and not any(h.snippet for h in bare.hits)


def test_any_word_still_needs_one_word_and_every_filter(index: SearchIndex) -> None:
    """Any of the words, but at least one of them, and every filter: a word found
    nowhere changes nothing, and a filter is never optional."""
    one = index.search("poverty", Filters(type="goal"), limit=50)
    either = index.search("poverty zzqxunfound", Filters(type="goal"), limit=50, any_word=True)
    assert 0 < either.total == one.total < index.search(
        "goal the of", Filters(type="goal"), limit=50, any_word=True).total
    assert [h.iri for h in either.hits] == [h.iri for h in one.hits]
    assert all(h.type == "goal" for h in either.hits)

def test_phrases_and_prefixes(index: SearchIndex) -> None:
    phrase = labels(index, '"sustainable development"', type="theme")
    assert ("theme", "Sustainable Development") in phrase
    assert not index.search('"development sustainable"', Filters(type="theme")).total
    suggested = [h.label for h in index.suggest("Zur", Filters())]
    assert "Zürich" in suggested


def test_filters(index: SearchIndex) -> None:
    goal = index.search("poverty", Filters(type="target", goal=SDG + "1")).hits
    assert goal and all(h.iri.startswith(SDG + "1.") for h in goal)
    french = index.search("pauvreté", Filters(lang="fr", type="goal")).hits
    assert french[0].label.startswith("Éliminer la pauvreté")
    assert not index.search("pauvreté", Filters(lang="es")).total
    place = index.search("Strășeni", Filters(type="place")).hits[0].iri
    pledges = index.search("municipality", Filters(type="pledge", place=place)).hits
    assert pledges and all(h.type == "pledge" for h in pledges)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('dallas"', "dallas"), ('"dallas', "dallas"), ("NEAR(dallas city)", "near dallas city"),
        ("dallas AND city", "dallas and city"), ("dallas OR city", "dallas or city"),
        ("title: dallas", "title dallas"), ("label:dallas", "label dallas"), ("dal*", "dal"),
        ("^dallas", "dallas"), ("{label}: dallas", "label dallas"), ("-dallas", "dallas"),
        ("dallas + (city", "dallas city"), ("'dallas'", "dallas"), ("\u00a0dallas\u2028", "dallas"),
    ],
)
def test_hostile_text_is_searched_as_words(index: SearchIndex, text: str, words: str) -> None:
    """Operators, column filters and stray syntax are words or separators, nothing else."""
    def iris(t: str) -> list[str]:
        return [h.iri for h in index.search(t, Filters(), limit=100).hits]

    assert iris(text) == iris(words)
    assert [h.iri for h in index.suggest(text, Filters())] == [
        h.iri for h in index.suggest(words, Filters())
    ]


def test_plain_words_find(index: SearchIndex) -> None:
    assert any("Dallas" in h.label for h in index.search("dallas", Filters()).hits)
    assert not index.search("near dallas city", Filters()).total  # no resource says "near"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no words"), ("*", "no words"), ('""', "no words"), ("^ : ( )", "no words"),
        ("dallas\x00", "NUL"), ("x" * 10_000, "at most"),
        (" ".join("ab" for _ in range(40)), "words"),
    ],
)
def test_unsearchable_text_is_refused_by_name(index: SearchIndex, text: str, problem: str) -> None:
    with pytest.raises(QueryError, match=problem):
        index.search(text, Filters())


def test_user_text_becomes_tokens_never_syntax() -> None:
    assert parse_terms('a"b NEAR') == [["a"], ["b"], ["near"]]
    assert parse_terms('"New York" city') == [["new", "york"], ["city"]]
    assert parse_terms("title:x^2 Strășeni") == [["title"], ["x"], ["2"], ["straseni"]]
