"""The Reconciliation Service API 0.2 (W3C Entity Reconciliation Community Group's
final report, https://reconciliation-api.github.io/specs/0.2/), for OpenRefine and others.

=================================  =====================================================
``/reconcile``                      manifest (no parameter), ``queries=`` (a batch of
                                    reconciliation queries), ``extend=`` (data extension)
``/reconcile/suggest/{entity,type,property}?prefix=``  suggest services
``/reconcile/preview?id=``          an entity's preview (HTML for a flyout)
``/reconcile/propose_properties?type=``  properties data extension offers for a type
=================================  =====================================================

Candidates come from the release's search index; data extension reads the store with
the entity as a bound value (``$this``), never pasted into the query.
"""

from __future__ import annotations

import json
import unicodedata
from difflib import SequenceMatcher
from typing import Any

from flask import Blueprint, Response, render_template, request
from pyoxigraph import NamedNode

from ..rdf import vocab as v
from ..release.search_index import BOOSTS, NAMES, Filters, QueryError, SearchIndex
from .search import TYPE_NAMES, index_of
from .site import ReleaseData, site, snapshot

bp = Blueprint("reconcile", __name__)

SPEC = "https://reconciliation-api.github.io/specs/0.2/"
MAX_BATCH = 50
MAX_LIMIT = 25
DEFAULT_LIMIT = 5
#: Types offered, in the order a person would look for them.
TYPES = ("place", "agent", "programme", "pledge", "theme", "goal", "target", "gcm-objective",
         "kind", "indicator")
#: Property constraints of queries: id -> (name, the facet it filters on).
CONSTRAINTS = {
    "country": ("Country (of a place)", "place"),
    "place": ("Place (of a pledge)", "place"),
    "goal": ("SDG goal (of a pledge or target)", "goal"),
}
#: Properties of data extension: id -> name.
EXTEND = {
    "country": "Country",
    "wikidata": "Wikidata id",
    "geonames": "GeoNames id",
    "goal": "SDG goals",
    "programme": "Programme",
    "place": "Places",
}


class BadRequest(Exception):
    """A request the service cannot answer; 400 with the message."""


def _json(data: Any, status: int = 200) -> Response:
    resp = Response(json.dumps(data, ensure_ascii=False), status=status,
                    content_type="application/json")
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


def _error(message: str) -> Response:
    return _json({"error": {"status": 400, "message": message}}, 400)


def _base() -> str:
    return request.host_url.rstrip("/") + request.script_root


def _rd() -> ReleaseData:
    return site().release_data(snapshot().release)


@bp.route("/reconcile", methods=["GET", "POST"])
def service() -> Response:
    args = request.values
    try:
        if "queries" in args:
            batch = _parse_json(args["queries"], "queries")
            return _json(_reconcile_batch(_rd(), batch))
        if "extend" in args:
            return _json(_extend(_rd(), _parse_json(args["extend"], "extend")))
    except BadRequest as exc:
        return _error(str(exc))
    return _json(manifest(_rd()))


def manifest(rd: ReleaseData) -> dict[str, Any]:
    base = _base()
    return {
        "versions": ["0.2"],
        "name": f"{rd.dataset(snapshot()).title} (reconciliation)",
        "identifierSpace": rd.base + "/id/",
        "schemaSpace": rd.iris.vocab,
        "documentation": base + "/",
        "view": {"url": "{{id}}"},
        "defaultTypes": [{"id": t, "name": TYPE_NAMES[t]} for t in TYPES],
        "suggest": {
            kind: {"service_url": base, "service_path": f"/reconcile/suggest/{kind}"}
            for kind in ("entity", "type", "property")
        },
        "preview": {"url": base + "/reconcile/preview?id={{id}}", "width": 400, "height": 120},
        "extend": {
            "propose_properties": {
                "service_url": base, "service_path": "/reconcile/propose_properties"
            },
            "property_settings": [],
        },
    }


def _parse_json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"{name} is not JSON: {exc}") from exc


def _reconcile_batch(rd: ReleaseData, batch: Any) -> dict[str, Any]:
    if not isinstance(batch, dict):
        raise BadRequest("queries must be a JSON object of queries by key, e.g. {\"q0\": {...}}")
    if len(batch) > MAX_BATCH:
        raise BadRequest(f"the batch has {len(batch)} queries; at most {MAX_BATCH} per request")
    return {key: {"result": _reconcile(rd, key, q)} for key, q in batch.items()}


def _types_of(key: str, q: dict[str, Any]) -> list[str | None]:
    kind = q.get("type")
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else None
    if kind is not None and kinds is None:
        raise BadRequest(f"query {key}: type must be a type id or a list of them")
    for k in kinds or []:
        if k not in TYPES:
            raise BadRequest(
                f"query {key}: unknown type {str(k)[:60]!r}; types: {', '.join(TYPES)}"
            )
    return list(kinds) if kinds else [None]


def _reconcile(rd: ReleaseData, key: str, q: Any) -> list[dict[str, Any]]:
    if not isinstance(q, dict) or not isinstance(q.get("query", ""), str):
        raise BadRequest(f"query {key} must be an object with a string \"query\"")
    limit = q.get("limit", DEFAULT_LIMIT)
    if not isinstance(limit, int | float) or limit < 1:
        raise BadRequest(f"query {key}: limit must be a positive number")
    limit = min(int(limit), MAX_LIMIT)
    text = q.get("query", "").strip()
    if not text:
        raise BadRequest(f"query {key} has no \"query\" text")
    index = index_of(rd)
    wanted = _constraints(rd, index, key, q.get("properties", []))
    found: dict[str, str] = {}
    # Names first (all the words; then any, for names with a typo), texts only when no
    # name has the words: candidates are scored by their names, and matching every text
    # of a million pledges took most of a batch's time (bench/RESULTS.md, issue 17).
    passes = [(fields, any_word) for fields in (NAMES, tuple(BOOSTS)) for any_word in (False, True)]
    try:
        for fields, any_word in passes:
            for kind in _types_of(key, q):
                hits = index.matches(text, Filters(type=kind), limit * 4, any_word, fields)
                for iri, hit_type in hits:
                    found.setdefault(iri, hit_type)
            if found:
                break
    except QueryError as exc:
        raise BadRequest(f"query {key}: {exc}") from exc
    out = []
    for iri, kind in found.items():
        names, facets = index.names_and_facets(iri)
        if any(not (allowed & facets) for allowed in wanted):
            continue
        name, score = _best_name(text, names)
        out.append({"id": iri, "name": name, "score": score, "match": False,
                    "type": [{"id": kind, "name": TYPE_NAMES[kind]}]})
    out.sort(key=lambda c: -c["score"])
    exact = [c for c in out if c["score"] == 100]
    if len(exact) == 1:  # only an unambiguous exact name is a match
        exact[0]["match"] = True
    return out[:limit]


def fold(text: str) -> str:
    """Case and accents folded, spaces collapsed: how names are compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _best_name(text: str, names: list[str]) -> tuple[str, float]:
    wanted = fold(text)
    best = ("", -1.0)
    for name in names:
        score = round(100 * SequenceMatcher(None, wanted, fold(name)).ratio(), 1)
        if score > best[1]:
            best = (name, score)
    return best[0], max(best[1], 0.0)


def _constraints(
    rd: ReleaseData, index: SearchIndex, key: str, props: Any
) -> list[set[tuple[str, str]]]:
    """Each property constraint as the facet values a candidate must have one of."""
    if not isinstance(props, list):
        raise BadRequest(f"query {key}: properties must be a list of {{pid, v}}")
    out = []
    for prop in props:
        pid = prop.get("pid") if isinstance(prop, dict) else None
        if pid not in CONSTRAINTS:
            raise BadRequest(
                f"query {key}: unknown property {str(pid)[:60]!r}; properties: "
                + ", ".join(CONSTRAINTS)
            )
        facet = CONSTRAINTS[pid][1]
        values = prop.get("v")
        values = values if isinstance(values, list) else [values]
        allowed: set[tuple[str, str]] = set()
        for value in values:
            allowed |= {(facet, iri) for iri in _resolve(rd, index, facet, value)}
        out.append(allowed)
    return out


def _resolve(rd: ReleaseData, index: SearchIndex, facet: str, value: Any) -> set[str]:
    """The IRIs a constraint's value names: an id, a goal number, or a name."""
    if isinstance(value, dict):
        value = value.get("id", "")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return set()
    text = str(value).strip()
    if facet == "goal" and text.removesuffix(".0").isdigit():
        return {v.sdg_goal(int(text.removesuffix(".0")))}
    if text.startswith(("http://", "https://")):
        return {text}
    kind = "goal" if facet == "goal" else "place"
    try:
        hits = index.matches(text, Filters(type=kind), 20)
    except QueryError:
        return set()
    return {iri for iri, _t in hits if any(fold(n) == fold(text) for n in index.names(iri))}


# -- suggest, preview, data extension -----------------------------------------------------


def _prefix() -> str:
    prefix = request.args.get("prefix", "").strip()
    if not prefix:
        raise BadRequest("give the text typed so far as ?prefix=")
    return prefix


@bp.get("/reconcile/suggest/<kind>")
def suggest(kind: str) -> Response:
    try:
        prefix = _prefix()
        if kind == "entity":
            kind_filter = request.args.get("type") or None
            if kind_filter and kind_filter not in TYPES:
                raise BadRequest(f"unknown type {kind_filter[:60]!r}; types: {', '.join(TYPES)}")
            hits = index_of(_rd()).suggest(prefix, Filters(type=kind_filter), limit=10)
            result = [{"id": h.iri, "name": h.label,
                       "notable": [{"id": h.type, "name": TYPE_NAMES[h.type]}]} for h in hits]
        elif kind == "type":
            result = [{"id": t, "name": TYPE_NAMES[t]} for t in TYPES
                      if fold(prefix) in fold(TYPE_NAMES[t]) or fold(prefix) in t]
        elif kind == "property":
            names = {**{k: n for k, (n, _f) in CONSTRAINTS.items()}, **EXTEND}
            result = [{"id": k, "name": n} for k, n in names.items()
                      if fold(prefix) in fold(n) or fold(prefix) in k]
        else:
            return _json({"error": {"status": 404, "message": "suggest entity, type or property"}},
                         404)
    except (BadRequest, QueryError) as exc:
        return _error(str(exc))
    return _json({"result": result})


@bp.get("/reconcile/preview")
def preview() -> Response:
    entity = request.args.get("id", "")
    hit = index_of(_rd()).entry(entity) if entity else None
    if hit is None:
        return _error(f"no entity with id {entity[:80]!r} in this dataset")
    html = render_template("reconcile_preview.html", hit=hit, type_name=TYPE_NAMES[hit.type])
    resp = Response(html, content_type="text/html; charset=utf-8")
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return resp


@bp.get("/reconcile/propose_properties")
def propose_properties() -> Response:
    """The properties data extension offers. They are the same for every type, so an
    empty ``type`` gets them too: OpenRefine asks ``?type=`` for a column reconciled
    against no particular type, and would otherwise offer nothing to add."""
    kind = request.args.get("type", "")
    if kind and kind not in TYPES:
        return _error(f"unknown type {kind[:60]!r}; types: {', '.join(TYPES)}")
    out: dict[str, Any] = {"type": kind,
                           "properties": [{"id": k, "name": n} for k, n in EXTEND.items()]}
    if "limit" in request.args:  # optional in the spec, echoed in the answer
        limit = request.args["limit"]
        if not (limit.isascii() and limit.isdigit()) or int(limit) < 1:
            return _error(f"limit must be a positive whole number, not {limit[:20]!r}")
        out["limit"] = int(limit)
        out["properties"] = out["properties"][: int(limit)]
    return _json(out)


def _extend(rd: ReleaseData, query: Any) -> dict[str, Any]:
    if not isinstance(query, dict) or not isinstance(query.get("ids"), list):
        raise BadRequest("extend must be a JSON object with \"ids\" and \"properties\"")
    props = query.get("properties")
    if not isinstance(props, list) or not all(isinstance(p, dict) for p in props):
        raise BadRequest("extend: properties must be a list of {\"id\": ...}")
    pids = [p.get("id") for p in props]
    for pid in pids:
        if pid not in EXTEND:
            raise BadRequest(f"extend: unknown property {str(pid)[:60]!r}; properties: "
                             + ", ".join(EXTEND))
    if len(query["ids"]) > MAX_BATCH:
        raise BadRequest(f"extend: {len(query['ids'])} ids; at most {MAX_BATCH} per request")
    snap, index = snapshot(), index_of(rd)
    rows = {}
    for entity in query["ids"]:
        values = _values(rd, snap, index, str(entity))
        rows[str(entity)] = {pid: values.get(pid, []) for pid in pids}
    return {"meta": [{"id": pid, "name": EXTEND[pid]} for pid in pids], "rows": rows}


def _values(rd: ReleaseData, snap: Any, index: SearchIndex, entity: str) -> dict[str, list]:
    """An entity's extension values, from its own triples in the store."""
    if not entity.startswith(rd.base + "/id/"):
        return {}
    triples = snap.construct(rd.queries.own, {"this": NamedNode(entity)})
    preds = {
        rd.iris.term("country"): "country",
        rd.iris.term("sdgGoal"): "goal",
        rd.iris.term("programme"): "programme",
        v.DCTERMS + "spatial": "place",
    }
    out: dict[str, list] = {}
    for t in triples:
        p, o = t.predicate.value, t.object.value
        if p in preds:
            labels = index.labels(o)
            name = labels.get("en") or labels.get("") or next(iter(labels.values()), o)
            out.setdefault(preds[p], []).append({"id": o, "name": name})
        elif p == v.OWL + "sameAs" and o.startswith(v.WIKIDATA):
            out.setdefault("wikidata", []).append({"str": o[len(v.WIKIDATA):]})
        elif p == v.OWL + "sameAs" and o.startswith(v.GEONAMES):
            out.setdefault("geonames", []).append({"str": o[len(v.GEONAMES):].strip("/")})
    return out
