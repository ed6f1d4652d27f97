"""The HTML pages show what exists first, say why a page is empty, and show where each
record comes from (issue 15, part 4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from support.web import CHROME, client_for


@pytest.fixture(scope="module")
def client(releases_dir: Path) -> FlaskClient:
    return client_for(releases_dir)


def html(client: FlaskClient, path: str) -> str:
    resp = client.get(path, headers={"Accept": CHROME}, follow_redirects=True)
    assert resp.status_code == 200, path
    return resp.data.decode()


def test_the_home_page_shows_the_goals_with_records_first(client: FlaskClient) -> None:
    page = html(client, "/")
    cards = re.search(r'<ul class="goals">(.*?)</ul>', page, re.S)
    assert cards is not None
    counts = [int(n) for n in re.findall(r"(\d+) records?</span>", cards.group(1))]
    assert counts and all(n > 0 for n in counts)
    assert counts == sorted(counts, reverse=True)
    # The goals no record links to are named apart, in one sentence that says why.
    empty = re.search(r'<p id="empty-goals"[^>]*>(.*?)</p>', page, re.S)
    assert empty is not None and "No record in this release links to" in empty.group(1)
    listed = re.findall(r'href="/goal/(\d+)"', cards.group(1))
    named = re.findall(r'href="/goal/(\d+)"', empty.group(1))
    assert sorted(int(n) for n in listed + named) == list(range(1, 18))
    assert "0 records" not in page


@pytest.mark.parametrize("path", ["/goal/1", "/target/1.1", "/objective/1"])
def test_an_empty_listing_says_why_it_is_empty(client: FlaskClient, path: str) -> None:
    page = html(client, path)
    assert "0 records" in page
    assert "no record in this release links to" in " ".join(page.split())


def test_an_objective_no_record_links_to_says_so(client: FlaskClient) -> None:
    page = " ".join(html(client, "/id/objective/1").split())
    assert "No record in this release links to this GCM objective" in page


def test_a_place_page_shows_where_it_comes_from(client: FlaskClient) -> None:
    page = html(client, "/id/place/zurich")
    section = re.search(r'<h2 id="provenance-heading">(.*?)</section>', page, re.S)
    assert section is not None
    assert 'href="/doc/fact/place-zurich-wikidata"' in section.group(1)
    assert 'href="/doc/listing/gfmd-goal-5"' in section.group(1)


def test_a_fact_page_shows_its_statement_and_sources(client: FlaskClient) -> None:
    page = " ".join(html(client, "/id/fact/place-zurich-wikidata").split())
    assert "is the Wikidata item Q72" in page
    assert "verified" in page
    section = re.search(r'id="provenance-heading">(.*?)</section>', page, re.S)
    assert section is not None and "file ids" in section.group(1)


def test_a_pledge_page_shows_its_listing_pages_and_facts(client: FlaskClient) -> None:
    page = html(client, "/id/pledge/laguna-province-establishes-a-one-stop-migration-resource")
    section = re.search(r'<h2 id="provenance-heading">(.*?)</section>', page, re.S)
    assert section is not None
    assert 'href="/doc/listing/gfmd-livelihoods-and-job-creation"' in section.group(1)
    assert 'href="/doc/fact/call-to-local-action-items"' in section.group(1)
