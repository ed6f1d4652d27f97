"""Every published statement is backed (issue 15, part 4).

Each record says where it comes from (the listing pages, the facts behind the links the
pages do not show), and what the audit found unbacked is no longer published. Checked
through the built release (SPARQL over its store), the shapes and `pledge-lod validate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph
import pytest
import rdflib
from pyshacl import validate as shacl_validate

from support.paths import DATA, ROOT
from support.processes import run_cli
from support.releases import copy_data

PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <https://schema.org/>
"""


@pytest.fixture(scope="module")
def store(releases_dir: Path) -> Iterator[pyoxigraph.Store]:
    yield pyoxigraph.Store.read_only(str(releases_dir / "current" / "store"))


@pytest.fixture(scope="module")
def ask(store: pyoxigraph.Store, base_url: str):
    def run(query: str) -> bool:
        text = PREFIXES + f"PREFIX pl: <{base_url}/def/pledge#>\n"
        return bool(store.query(text + query, use_default_graph_as_union=True))

    return run


@pytest.fixture(scope="module")
def select(store: pyoxigraph.Store, base_url: str):
    def run(query: str) -> list[dict[str, str]]:
        text = PREFIXES + f"PREFIX pl: <{base_url}/def/pledge#>\n"
        solutions = store.query(text + query, use_default_graph_as_union=True)
        names = [v.value for v in solutions.variables]
        return [{n: s[n].value for n in names if s[n] is not None} for s in solutions]

    return run


# -- the Call to Local Action and the Mayors Mechanism --------------------------------------


def test_the_call_has_no_date_or_operators_of_its_own(ask, base_url: str) -> None:
    call = f"<{base_url}/id/programme/call-to-local-action>"
    assert not ask(f"ASK {{ {call} schema:startDate ?d }}")
    assert not ask(f"ASK {{ {call} prov:wasAssociatedWith ?a }}")
    # It is tied to the co-steering organisations only through the Mechanism.
    assert ask(
        f"ASK {{ {call} dcterms:isPartOf ?m . ?m a pl:Programme ;"
        ' schema:startDate "2018-12-08"^^<http://www.w3.org/2001/XMLSchema#date> ;'
        f" prov:wasAssociatedWith <{base_url}/id/agent/uclg> }}"
    )


def test_the_mechanism_names_its_co_steering_organisations_from_a_fact(select, base_url) -> None:
    rows = select(
        f"SELECT ?a ?cite WHERE {{ <{base_url}/id/programme/mayors-mechanism>"
        " prov:wasAssociatedWith ?a ; dcterms:source ?f . ?f a pl:Fact ;"
        " dcterms:bibliographicCitation ?cite }"
    )
    operators = {r["a"].rsplit("/", 1)[1] for r in rows}
    assert operators == {"uclg", "mayors-migration-council", "iom"}
    assert "https://mayorsmechanism.org/about-us-1" in {r["cite"] for r in rows}


# -- labels ---------------------------------------------------------------------------------


def test_the_theme_has_only_its_verified_label(select, base_url: str) -> None:
    rows = select(
        f"SELECT ?l WHERE {{ <{base_url}/id/theme/livelihoods-and-job-creation>"
        " skos:prefLabel|skos:altLabel|rdfs:label ?l }"
    )
    assert {r["l"] for r in rows} == {"Livelihoods and Job Creation"}


def test_every_label_of_the_data_has_a_language_tag(select, base_url: str) -> None:
    rows = select(
        f"SELECT ?s ?l WHERE {{ GRAPH <{base_url}/graph/data> {{ ?s rdfs:label ?l }}"
        ' FILTER(lang(?l) = "") }'
    )
    assert rows == []
    names = select(
        f"SELECT ?s ?l WHERE {{ GRAPH <{base_url}/graph/data> {{ ?s schema:name|foaf:name ?l }}"
        ' FILTER(lang(?l) = "") }'
    )
    assert names == []


def _shapes(base: str) -> rdflib.Graph:
    return rdflib.Graph().parse(ROOT / "shapes" / "shapes.ttl", format="turtle",
                                publicID=f"{base}/def/shapes")  # fmt: skip


def test_the_shapes_refuse_a_name_without_language(tmp_path: Path) -> None:
    base = "http://example.org"
    data = rdflib.Graph().parse(
        format="turtle",
        data=f"""
        @prefix schema: <https://schema.org/> . @prefix pl: <{base}/def/pledge#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        @prefix dcterms: <http://purl.org/dc/terms/> . @prefix foaf: <http://xmlns.com/foaf/0.1/> .
        <{base}/id/place/x> a schema:Place, schema:Country ; rdfs:label "X" ; schema:name "X"@en ;
            pl:administrativeLevel "country" ; dcterms:source <{base}/id/listing/l> .
        <{base}/id/listing/l> a foaf:Document ; rdfs:label "L"@en ; dcterms:title "L"@en .
        """,
    )
    conforms, report, _ = shacl_validate(data, shacl_graph=_shapes(base), inference="none")
    assert not conforms
    path = rdflib.URIRef("http://www.w3.org/2000/01/rdf-schema#label")
    assert (None, rdflib.URIRef("http://www.w3.org/ns/shacl#resultPath"), path) in report


# -- M4SD's places, and the kinds -------------------------------------------------------------


def test_m4sd_says_its_list_of_countries_is_partial(ask, base_url: str) -> None:
    m4sd = f"<{base_url}/id/pledge/making-migration-work-for-sustainable-development-m4sd-iom>"
    assert ask(f"ASK {{ {m4sd} dcterms:spatial <{base_url}/id/place/serbia> }}")
    assert ask(f"ASK {{ {m4sd} pl:spatialCoverageComplete false ; skos:scopeNote ?n }}")
    # ... and the fact behind the four countries is cited, naming all eleven.
    assert ask(
        f"ASK {{ {m4sd} prov:wasDerivedFrom ?f . ?f a pl:Fact ; dcterms:description ?d"
        ' FILTER(CONTAINS(?d, "11 countries")) }'
    )


def test_the_kinds_are_marked_as_the_projects_own_classification(select, base_url) -> None:
    rows = select(
        "SELECT DISTINCT ?d WHERE { ?p a pl:Pledge ; dcterms:type ?k ."
        " ?k skos:inScheme ?s . ?s dcterms:description ?d }"
    )
    assert len(rows) == 1
    assert "own classification" in rows[0]["d"] and "not a field of the source" in rows[0]["d"]


# -- provenance -------------------------------------------------------------------------------


def test_every_pledge_is_derived_from_a_listing_page(select) -> None:
    rows = select(
        "SELECT ?p WHERE { ?p a pl:Pledge FILTER NOT EXISTS {"
        " ?p prov:wasDerivedFrom ?l . ?l a foaf:Document } }"
    )
    assert rows == []


def test_every_registry_entry_says_where_it_comes_from(select, base_url: str) -> None:
    rows = select(
        f"SELECT ?s WHERE {{ GRAPH <{base_url}/graph/data> {{"
        " { ?s a schema:Place } UNION { ?s a foaf:Person }"
        " UNION { ?s a foaf:Organization } UNION { ?s a pl:Programme }"
        " FILTER NOT EXISTS { ?s dcterms:source ?src } } }"
    )
    assert rows == []


def test_every_outside_link_is_backed_by_a_fact_that_names_it(select) -> None:
    rows = select(
        "SELECT ?s ?o WHERE { ?s owl:sameAs ?o FILTER NOT EXISTS {"
        " ?s dcterms:source ?f . ?f a pl:Fact ;"
        " pl:factStatus ?status ; dcterms:description ?d ; dcterms:bibliographicCitation ?c"
        ' FILTER(?status IN ("verified", "single_source"))'
        ' FILTER(CONTAINS(?d, REPLACE(STR(?o), "^.*/([^/]+)/?$", "$1"))) } }'
    )
    assert rows == [], rows
    assert select("SELECT ?o WHERE { ?s owl:sameAs ?o }")  # the check above ran on links


def test_the_call_links_are_backed_by_a_fact(select, base_url: str) -> None:
    rows = select(
        f"SELECT ?p WHERE {{ ?p pl:programme <{base_url}/id/programme/call-to-local-action>"
        " FILTER NOT EXISTS { ?p prov:wasDerivedFrom ?f . ?f a pl:Fact } }"
    )
    assert rows == []


# -- validation: what cannot be backed is refused ----------------------------------------------


def test_an_unverified_fact_is_refused(tmp_path: Path) -> None:
    data = copy_data(tmp_path / "data")
    facts = data / "facts.yaml"
    head, tail = facts.read_text(encoding="utf-8").split("- id: m4sd\n", 1)
    tail = tail.replace("  status: verified\n", "  status: unverified\n", 1)
    facts.write_text(head + "- id: m4sd\n" + tail, encoding="utf-8")
    done = run_cli("validate", "--data", str(data))
    out = done.stderr + done.stdout
    assert done.returncode != 0
    assert "facts.yaml: m4sd: status:" in out and "may back a published statement" in out, out


def test_a_place_without_a_source_is_reported(tmp_path: Path) -> None:
    data = copy_data(tmp_path / "data")
    places = data / "places.yaml"
    text = places.read_text(encoding="utf-8")
    sources = "  facts: [place-laguna-iso3166-2]\n  listings: [gfmd-livelihoods-and-job-creation]\n"
    assert sources in text
    text = text.replace(sources, "")
    places.write_text(text, encoding="utf-8")
    done = run_cli("validate", "--data", str(data))
    assert done.returncode != 0
    out = done.stderr + done.stdout
    assert "places.yaml: laguna: facts/listings:" in out, out


def test_the_bundled_data_validates() -> None:
    done = run_cli("validate", "--data", str(DATA))
    assert done.returncode == 0, done.stderr
