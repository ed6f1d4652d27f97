"""OpenRefine, a real client, reconciles a spreadsheet against the Reconciliation Service
and extends it, over HTTP, as a person does in its web page.

OpenRefine 3.6 (Debian's ``openrefine``, started headless once for this module) reaches
``pledge-lod serve`` (gunicorn) on 127.0.0.1. The steps are the ones its dialogs take:
add the service by its URL (the manifest gives the identifier and schema spaces), guess
the column's types, reconcile (``core/recon``), match the cells left to their best
candidate, ask the service which properties it offers for the column's type and add
columns from them (``core/extend-reconciled-data``). The right answers are looked up in
the release through SPARQL, never written here. Every wait is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import rdflib
import requests

from support.openrefine import Cell, OpenRefine, openrefine, require_openrefine

pytestmark = pytest.mark.slow

#: Start-up (slow on a loaded machine), then every reconciliation and extension.
START_BUDGET_S = 180.0
WORK_BUDGET_S = 120.0
ENGINE = {"mode": "row-based", "facets": []}
#: A real pledge's title with one word misspelt ("Resource").
TYPO = "Laguna Province Establishes a One Stop Migration Resourse Center"
#: Names as a person writes them -> the name the release gives the thing.
NAMES = {
    "City of Dallas": "City of Dallas",
    "Zurich": "Zürich",
    "Strășeni": "Strășeni",
    "IOM": "IOM",
    "UNDP": "UNDP",
    "M4SD": "M4SD",
    TYPO: "Laguna Province Establishes a One Stop Migration Resource Center",
}
WIKIDATA = "http://www.wikidata.org/entity/"


class Budget:
    """What is left of the module's time."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            pytest.fail("the OpenRefine tests ran out of their time budget")
        return remaining


@pytest.fixture(scope="module")
def budget() -> Budget:
    return Budget(START_BUDGET_S + WORK_BUDGET_S)


@pytest.fixture(scope="module")
def refine(tmp_path_factory: pytest.TempPathFactory, budget: Budget) -> Iterator[OpenRefine]:
    require_openrefine()
    with openrefine(tmp_path_factory.mktemp("openrefine"),
                    timeout=min(START_BUDGET_S, budget.left())) as client:
        yield client


@pytest.fixture(scope="module")
def manifest(live_server: str) -> dict[str, Any]:
    """What OpenRefine reads when a person adds the service by its URL."""
    resp = requests.get(live_server + "/reconcile", timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def sparql(live_server: str, query: str) -> list[dict[str, str]]:
    resp = requests.post(live_server + "/sparql", data={"query": query}, timeout=30,
                         headers={"Accept": "application/sparql-results+json"})
    assert resp.status_code == 200, resp.text
    return [{k: b["value"] for k, b in row.items()} for row in resp.json()["results"]["bindings"]]


def named(live_server: str, name: str) -> str:
    """The one entity of the release that has ``name`` as its label or other name."""
    rows = sparql(live_server, f"""
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX schema: <https://schema.org/>
        SELECT DISTINCT ?s WHERE {{
          VALUES ?p {{ rdfs:label schema:alternateName }}
          ?s ?p ?n FILTER(STR(?n) = {rdflib.Literal(name).n3()})
        }}""")
    assert len(rows) == 1, f"{name!r} names {len(rows)} entities: {rows}"
    return rows[0]["s"]


def recon_config(manifest: dict[str, Any], service: str, kind: str | None,
                 details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``standard-service`` configuration OpenRefine's dialog builds."""
    return {
        "mode": "standard-service", "service": service,
        "identifierSpace": manifest["identifierSpace"], "schemaSpace": manifest["schemaSpace"],
        "type": {"id": kind, "name": kind} if kind else None,
        "autoMatch": True, "columnDetails": details or [], "limit": 0,
    }  # fmt: skip


def guess_types(refine: OpenRefine, project: int, column: str, service: str) -> list[str]:
    resp = refine.http.post(
        refine.url + "/command/core/guess-types-of-column",
        params={"project": project, "columnName": column, "service": service},
        data={"csrf_token": refine.csrf_token()}, timeout=60,
    )
    data = resp.json()
    assert data.get("code") == "ok", data
    return [t["id"] for t in data["types"]]


def records(rows: list[dict[str, Cell | None]], key: str) -> list[dict[str, list[Cell]]]:
    """Rows grouped into records: a row with a blank ``key`` continues the one before
    (where an extension with several values puts the second)."""
    out: list[dict[str, list[Cell]]] = []
    for row in rows:
        if row[key] is not None or not out:
            out.append({name: [] for name in row})
        for name, cell in row.items():
            if cell is not None:
                out[-1][name].append(cell)
    return out


@pytest.fixture(scope="module")
def names_project(refine: OpenRefine, live_server: str, manifest: dict[str, Any],
                  budget: Budget) -> tuple[int, list[dict[str, Cell | None]]]:
    """A CSV of names reconciled against no particular type (the column mixes places,
    organisations, a programme and a pledge); its rows as they were just after."""
    csv = "name\n" + "\n".join(NAMES) + "\n"
    project = refine.create_project("names", csv)
    service = live_server + "/reconcile"
    guessed = guess_types(refine, project, "name", service)
    assert guessed and set(guessed) <= {t["id"] for t in manifest["defaultTypes"]}
    refine.apply(project, [{"op": "core/recon", "columnName": "name", "engineConfig": ENGINE,
                            "config": recon_config(manifest, service, None)}],
                 timeout=budget.left())
    return project, refine.rows(project)


def test_reconciles_names_as_people_write_them(
    names_project: tuple[int, list[dict[str, Cell | None]]], live_server: str
) -> None:
    _, rows = names_project
    cells = {c.value: c for row in rows if (c := row["name"]) is not None}
    assert set(cells) == set(NAMES)
    for text, name in NAMES.items():
        cell, expected = cells[text], named(live_server, name)
        if text == TYPO:  # a typo is never certain: proposed first, not matched
            assert cell.judgment == "none" and cell.match is None, cell
            assert cell.candidates and cell.candidates[0]["id"] == expected, cell
        else:
            assert cell.judgment == "matched" and cell.match, cell
            assert cell.match["id"] == expected, (text, cell.match)


def test_extends_the_column_with_country_and_wikidata_id(
    refine: OpenRefine, names_project: tuple[int, list[dict[str, Cell | None]]],
    live_server: str, manifest: dict[str, Any], budget: Budget,
) -> None:
    project, _ = names_project
    service = live_server + "/reconcile"
    # The person accepts the best candidate of the cell left unmatched (the typo).
    refine.apply(project, [{"op": "core/recon-match-best-candidates", "columnName": "name",
                            "engineConfig": ENGINE}], timeout=budget.left())
    # "Add columns from reconciled values": the properties the service proposes for the
    # column's type (none here: OpenRefine asks ``?type=``).
    column = next(c for c in refine.model(project)["columnModel"]["columns"]
                  if c["name"] == "name")
    kind = (column.get("reconConfig") or {}).get("type") or {}
    proposal = manifest["extend"]["propose_properties"]
    resp = requests.get(proposal["service_url"] + proposal["service_path"],
                        params={"type": kind.get("id", "")}, timeout=30)
    assert resp.status_code == 200, resp.text
    offered = {p["id"]: p for p in resp.json()["properties"]}
    wanted = [offered["country"], offered["wikidata"]]
    refine.apply(project, [{
        "op": "core/extend-reconciled-data", "engineConfig": ENGINE, "baseColumnName": "name",
        "endpoint": service, "identifierSpace": manifest["identifierSpace"],
        "schemaSpace": manifest["schemaSpace"], "columnInsertIndex": 1,
        "extension": {"properties": wanted},
    }], timeout=budget.left())  # fmt: skip

    got = {r["name"][0].match["id"]: r for r in records(refine.rows(project), "name")
           if r["name"] and r["name"][0].match}
    assert len(got) == len(NAMES)
    stated = facts(live_server, manifest, list(got))
    country, wikidata = offered["country"]["name"], offered["wikidata"]["name"]
    for iri, record in got.items():
        countries = {(c.match or {}).get("id"): c.value for c in record[country]}
        assert set(countries) == set(stated[iri]["country"]), (iri, countries)
        for c_iri, label in countries.items():
            assert label in stated[iri]["country"][c_iri], (iri, label)
        assert {c.value for c in record[wikidata]} == stated[iri]["wikidata"], iri
    assert any(s["country"] for s in stated.values())  # the check compared something
    assert any(s["wikidata"] for s in stated.values())


def facts(live_server: str, manifest: dict[str, Any], iris: list[str]) -> dict[str, Any]:
    """What the release states of each entity: its countries (IRI -> their labels) and
    its Wikidata ids."""
    values = " ".join(f"<{iri}>" for iri in iris)
    rows = sparql(live_server, f"""
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX owl: <http://www.w3.org/2002/07/owl#>
        SELECT ?e ?country ?label ?same WHERE {{
          VALUES ?e {{ {values} }}
          {{ ?e <{manifest["schemaSpace"]}country> ?country . ?country rdfs:label ?label }}
          UNION {{ ?e owl:sameAs ?same FILTER(STRSTARTS(STR(?same), "{WIKIDATA}")) }}
        }}""")
    out: dict[str, Any] = {iri: {"country": {}, "wikidata": set()} for iri in iris}
    for row in rows:
        if "country" in row:
            out[row["e"]]["country"].setdefault(row["country"], set()).add(row["label"])
        if "same" in row:
            out[row["e"]]["wikidata"].add(row["same"].removeprefix(WIKIDATA))
    return out


def test_a_typed_column_with_a_property_constraint(
    refine: OpenRefine, live_server: str, manifest: dict[str, Any], budget: Budget
) -> None:
    """Cities with their country beside them: OpenRefine guesses "place" first and sends
    the type, and the country column as a property constraint, with every query; a city
    given the wrong country finds nothing, one given none is matched on its name."""
    cities = [("Zurich", "Switzerland"), ("Strășeni", "Republic of Moldova"), ("Dallas", ""),
              ("Terrassa", "Switzerland")]
    csv = "city,country\n" + "".join(f"{c},{k}\n" for c, k in cities)
    project = refine.create_project("cities", csv)
    service = live_server + "/reconcile"
    guessed = guess_types(refine, project, "city", service)
    assert guessed[0] == "place", guessed
    details = [{"column": "country", "property": {"id": "country", "name": "Country"}}]
    refine.apply(project, [{"op": "core/recon", "columnName": "city", "engineConfig": ENGINE,
                            "config": recon_config(manifest, service, guessed[0], details)}],
                 timeout=budget.left())
    rows = {row["city"].value: row["city"] for row in refine.rows(project) if row["city"]}
    assert set(rows) == {c for c, _ in cities}
    terrassa = rows.pop("Terrassa")  # in Spain
    assert terrassa.judgment == "none" and not terrassa.candidates, terrassa
    for text, cell in rows.items():
        place = named(live_server, {"Zurich": "Zürich"}.get(text, text))
        assert cell.judgment == "matched" and cell.match, cell
        assert cell.match["id"] == place, cell
