"""The Reconciliation Service API 0.2 through HTTP: every response validates against the
Community Group's JSON Schemas (tests/fixtures/reconciliation, see its NOTICE), names as a
person writes them find the right URIs, `match` only for an unambiguous exact name,
property constraints, suggest, preview, data extension, and 400s that name the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rdflib
from flask.testing import FlaskClient
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from support.web import client_for, graph_of

FIXTURES = Path(__file__).parent / "fixtures" / "reconciliation"
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
SPEC = rdflib.URIRef("https://reconciliation-api.github.io/specs/0.2/")


def _validators() -> dict[str, Draft7Validator]:
    schemas = {p.stem: json.loads(p.read_text()) for p in (FIXTURES / "schemas").glob("*.json")}
    registry: Registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s, default_specification=DRAFT7))
        for s in schemas.values()
    )
    return {name: Draft7Validator(s, registry=registry) for name, s in schemas.items()}


VALIDATORS = _validators()


def valid(name: str, data: Any) -> Any:
    errors = [e.message for e in VALIDATORS[name].iter_errors(data)]
    assert not errors, f"{name}: {errors[:3]}"
    return data


@pytest.fixture(scope="module")
def client(releases_dir: Path) -> FlaskClient:
    return client_for(releases_dir)


@pytest.fixture(scope="module")
def base(releases_dir: Path) -> str:
    manifest = json.loads((releases_dir / "current" / "manifest.json").read_text())
    return manifest["base"]


def reconcile(client: FlaskClient, queries: dict[str, Any]) -> dict[str, Any]:
    valid("reconciliation-query-batch", queries)
    resp = client.post("/reconcile", data={"queries": json.dumps(queries)})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return valid("reconciliation-result-batch", resp.get_json())


@pytest.mark.parametrize("kind", ["valid", "invalid"])
def test_the_schemas_judge_the_spec_examples(kind: str) -> None:
    """The copied schemas accept the spec's valid examples and refuse its invalid ones
    (so that a response they accept is one the spec accepts). Manifests declaring
    ``authentication`` refer to Swagger 2.0's schema, which is not copied (no network in
    tests); the service declares none."""
    checked = 0
    for folder in (FIXTURES / "examples").iterdir():
        for path in (folder / kind).glob("*.json"):
            example = json.loads(path.read_text())
            if "authentication" in example:
                continue
            errors = list(VALIDATORS[folder.name].iter_errors(example))
            assert bool(errors) == (kind == "invalid"), path
            checked += 1
    assert checked >= 5


def test_manifest(client: FlaskClient) -> None:
    data = valid("manifest", client.get("/reconcile").get_json())
    assert data["versions"] == ["0.2"]
    assert {t["id"] for t in data["defaultTypes"]} >= {
        "pledge", "place", "agent", "programme", "theme", "goal", "target", "gcm-objective"
    }
    assert data["suggest"]["entity"]["service_path"] == "/reconcile/suggest/entity"


def test_declared_in_void_and_linked_from_home(client: FlaskClient, base: str) -> None:
    g = graph_of(client.get("/.well-known/void.ttl").data, "turtle")
    services = set(g.subjects(DCAT.endpointURL, rdflib.URIRef(base + "/reconcile")))
    assert services and any((s, rdflib.DCTERMS.conformsTo, SPEC) in g for s in services)
    assert all((s, rdflib.RDF.type, DCAT.DataService) in g for s in services)
    assert 'href="/reconcile"' in client.get("/", headers={"Accept": "text/html"}).data.decode()


def test_names_as_people_write_them(client: FlaskClient, base: str) -> None:
    batch = {
        "q0": {"query": "City of Dallas", "type": "agent"},
        "q1": {"query": "Zurich", "type": "place"},
        "q2": {"query": "Strășeni", "type": "place"},
        "q3": {"query": "IOM", "type": "agent"},
        "q4": {"query": "UNDP"},
        "q5": {"query": "M4SD", "type": "programme"},
        "q6": {"query": "Boosting Gren Employment and Enterprise Opportunities in Ghana",
               "type": "pledge"},
        "q7": {"query": "End poverty in all its forms everywhere", "type": "goal"},
    }
    got = reconcile(client, batch)
    top = {k: got[k]["result"][0] for k in batch}
    assert top["q0"]["id"] == base + "/id/agent/city-of-dallas" and top["q0"]["match"]
    assert top["q1"]["id"] == base + "/id/place/zurich" and top["q1"]["match"]
    assert top["q2"]["id"] == base + "/id/place/straseni"
    assert top["q3"]["id"] == base + "/id/agent/iom"
    assert top["q4"]["id"] == base + "/id/agent/undp"
    assert top["q5"]["type"][0]["id"] == "programme" and top["q5"]["match"]
    assert top["q6"]["id"].startswith(base + "/id/pledge/boosting-green-employment")
    assert not top["q6"]["match"] and top["q6"]["score"] > 90  # a typo is never certain
    assert top["q7"]["id"] == "http://metadata.un.org/sdg/1" and top["q7"]["match"]


def test_a_name_longer_than_a_search_is_still_reconciled(client: FlaskClient) -> None:
    """A cell of twenty words (an SDG target's text) gets candidates, not a 400 for the
    whole batch: the search takes its first sixteen words, the score the whole name."""
    text = ("By 2030, eradicate extreme poverty for all people everywhere, currently "
            "measured as people living on less than $1.25 a day")
    got = reconcile(client, {"q0": {"query": text, "type": "target"},
                             "q1": {"query": "Zurich", "type": "place"}})
    assert got["q0"]["result"][0]["id"] == "http://metadata.un.org/sdg/1.1"
    assert got["q0"]["result"][0]["match"]
    assert got["q1"]["result"][0]["match"]


def test_match_only_when_unambiguous(client: FlaskClient) -> None:
    results = reconcile(client, {"q": {"query": "Municipality of Straseni"}})["q"]["result"]
    exact = [c for c in results if c["score"] == 100]
    assert len(exact) > 1 and not any(c["match"] for c in results)


def test_property_constraints(client: FlaskClient, base: str) -> None:
    def ids(props: list[dict[str, Any]]) -> list[str]:
        q = {"q": {"query": "Zurich", "type": "place", "properties": props}}
        return [c["id"] for c in reconcile(client, q)["q"]["result"]]

    assert ids([{"pid": "country", "v": "Switzerland"}]) == [base + "/id/place/zurich"]
    assert ids([{"pid": "country", "v": {"id": base + "/id/place/switzerland"}}])
    assert ids([{"pid": "country", "v": "Spain"}]) == []
    goal = {"q": {"query": "poverty", "type": "target", "properties": [{"pid": "goal", "v": 1}]}}
    assert all(c["id"].startswith("http://metadata.un.org/sdg/1.")
               for c in reconcile(client, goal)["q"]["result"])


def test_suggest_services(client: FlaskClient, base: str) -> None:
    ent = valid("suggest-entities-response",
                client.get("/reconcile/suggest/entity?prefix=zur").get_json())
    assert base + "/id/place/zurich" in [r["id"] for r in ent["result"]]
    types = valid("suggest-types-response",
                  client.get("/reconcile/suggest/type?prefix=goal").get_json())
    assert "goal" in [t["id"] for t in types["result"]]
    props = valid("suggest-properties-response",
                  client.get("/reconcile/suggest/property?prefix=coun").get_json())
    assert [p["id"] for p in props["result"]] == ["country"]


def test_preview(client: FlaskClient, base: str) -> None:
    resp = client.get("/reconcile/preview", query_string={"id": base + "/id/place/zurich"})
    assert resp.status_code == 200 and "Zürich" in resp.data.decode()
    assert client.get("/reconcile/preview?id=nothing").status_code == 400


def test_data_extension(client: FlaskClient, base: str) -> None:
    proposal = valid("data-extension-property-proposal",
                     client.get("/reconcile/propose_properties?type=place").get_json())
    assert {"country", "wikidata", "geonames"} <= {p["id"] for p in proposal["properties"]}
    query = {"ids": [base + "/id/place/zurich", base + "/id/agent/iom"],
             "properties": [{"id": "country"}, {"id": "wikidata"}, {"id": "geonames"}]}
    valid("data-extension-query", query)
    resp = client.post("/reconcile", data={"extend": json.dumps(query)})
    data = valid("data-extension-response", resp.get_json())
    zurich = data["rows"][base + "/id/place/zurich"]
    assert zurich["country"] == [{"id": base + "/id/place/switzerland", "name": "Switzerland"}]
    assert zurich["wikidata"] == [{"str": "Q72"}]
    assert zurich["geonames"] and zurich["geonames"][0]["str"].isdigit()


def test_property_proposals_for_a_column_of_no_particular_type(client: FlaskClient) -> None:
    """OpenRefine 3.6's "Add columns from reconciled values" asks ``?type=`` with the
    column's type id, empty for a column reconciled against no particular type; the
    properties are the same for every type. The spec's optional ``limit`` is honoured
    and echoed; an unknown type or a bad limit is a 400."""
    route = "/reconcile/propose_properties"
    anytype = valid("data-extension-property-proposal",
                    client.get(route + "?type=").get_json())
    placed = client.get(route + "?type=place").get_json()
    assert anytype["type"] == "" and anytype["properties"] == placed["properties"]
    limited = valid("data-extension-property-proposal",
                    client.get(route + "?type=place&limit=2").get_json())
    assert limited["limit"] == 2 and limited["properties"] == placed["properties"][:2]
    for bad in ("type=planet", "type=place&limit=0", "type=place&limit=many", "limit=²"):
        resp = client.get(f"{route}?{bad}")
        assert resp.status_code == 400 and resp.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("queries", "not json", "not JSON"),
        ("queries", "[1, 2]", "JSON object"),
        ("queries", json.dumps({f"q{i}": {"query": "x"} for i in range(51)}), "at most 50"),
        ("queries", json.dumps({"q0": {"query": "x", "type": "planet"}}), "unknown type 'planet'"),
        ("queries", json.dumps({"q0": {"query": "x", "properties": [{"pid": "colour", "v": 1}]}}),
         "unknown property 'colour'"),
        ("queries", json.dumps({"q0": {"query": ""}}), "no \"query\""),
        ("queries", json.dumps({"q0": {"query": "\"*^"}}), "no words"),
        ("queries", json.dumps({"q0": {"query": "x", "limit": -1}}), "limit"),
        ("extend", "{", "not JSON"),
        ("extend", json.dumps({"ids": [], "properties": [{"id": "colour"}]}), "unknown property"),
    ],
)
def test_bad_requests_name_the_problem(
    client: FlaskClient, field: str, value: str, problem: str
) -> None:
    for resp in (client.post("/reconcile", data={field: value}),
                 client.get("/reconcile", query_string={field: value})):
        assert resp.status_code == 400 and resp.mimetype == "application/json"
        assert problem in resp.get_json()["error"]["message"]


@pytest.mark.parametrize("text", ['"', "NEAR(a b)", "title:x", "a OR b", "x" * 600, "a\x00b"])
def test_hostile_names_never_500(client: FlaskClient, text: str) -> None:
    resp = client.post("/reconcile", data={"queries": json.dumps({"q": {"query": text}})})
    assert resp.status_code in (200, 400)
