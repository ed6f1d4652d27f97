"""What the home page shows: the dataset, its counts per goal, target, theme, objective,
place, programme, submitter and kind, and how to get at the data.

Counts are GROUP BY queries over the data graph; labels are looked up per value after
(joining them into the GROUP BY made it slow). The page is rendered once per release and
worker and then served from the cache, so this runs rarely.
"""

from __future__ import annotations

from typing import Any

from pyoxigraph import Literal, NamedNode

from ..store import Snapshot
from .site import ReleaseData

#: Rows shown per section (the most pledges first); the listings have the rest.
TOP = 40

SPARQL_EXAMPLE = """PREFIX pl: <@VOCAB@>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?pledge ?title WHERE {
  ?pledge pl:sdgGoal <http://metadata.un.org/sdg/5> ;
          rdfs:label ?title .
} LIMIT 10"""

#: (id, heading, column, pattern binding ?s to a pledge and ?x to the value, listing facet)
SECTIONS = (
    ("themes", "By thematic area", "Thematic area", "?s pl:thematicArea ?x", "theme"),
    (
        "places",
        "By place",
        "Place",
        "{ ?s dcterms:spatial ?x } UNION { ?s dcterms:spatial ?in . ?in pl:country ?x }",
        "place",
    ),
    ("objectives", "By GCM objective", "Objective", "?s pl:gcmObjective ?x", "objective"),
    ("programmes", "By programme", "Programme", "?s pl:programme ?x", "programme"),
    ("submitters", "By submitter", "Submitter", "?s pl:submittedBy ?x", "submitter"),
    ("kinds", "By kind of record", "Kind", "?s dcterms:type ?x", "kind"),
)


def _label(snap: Snapshot, rd: ReleaseData, iri: str) -> str | None:
    rows = snap.select(rd.queries.label, {"this": NamedNode(iri)}).rows
    labels = sorted(
        (row["l"] for row in rows if isinstance(row.get("l"), Literal)),
        key=lambda lit: (lit.language not in ("en", None, ""), lit.value),
    )
    return labels[0].value if labels else None


def _counts(snap: Snapshot, rd: ReleaseData, pattern: str) -> list[tuple[str, int]]:
    rows = snap.select(rd.queries.counts(pattern)).rows
    out = [
        (row["x"].value, int(row["n"].value)) for row in rows if isinstance(row.get("x"), NamedNode)
    ]
    return sorted(out, key=lambda item: (-item[1], item[0]))


def home_context(snap: Snapshot, rd: ReleaseData, root: str) -> dict[str, Any]:
    """Everything home.html needs."""
    targets, targets_total = _targets(snap, rd, root)
    goals = _goals(snap, rd, root)
    files = rd.release.files
    dumps = sorted(name[len("dumps/") :] for name in files if name.startswith("dumps/"))
    return {
        "info": rd.dataset(snap),
        "release": rd.release,
        "total": int(rd.release.counts.get("pledges", 0)),
        # What exists first: goals with records (most first), then, apart, the goals
        # that no record of this release links to.
        "goals": sorted((g for g in goals if g["count"]), key=lambda g: -g["count"]),
        "empty_goals": [g for g in goals if not g["count"]],
        "targets": targets,
        "targets_total": targets_total,
        "top": TOP,
        "sections": _sections(snap, rd, root),
        "dumps": [
            {"name": n, "href": f"{root}/dumps/{n}", "bytes": files[f"dumps/{n}"].get("bytes")}
            for n in dumps
        ],
        "sparql_example": SPARQL_EXAMPLE.replace("@VOCAB@", rd.iris.vocab),
        "base": rd.base,
    }


def _sections(snap: Snapshot, rd: ReleaseData, root: str) -> list[dict[str, Any]]:
    """The most linked places, programmes, themes...: the top rows of each facet."""
    sections: list[dict[str, Any]] = []
    for name, heading, column, pattern, facet in SECTIONS:
        rows = []
        counted = _counts(snap, rd, pattern)
        for iri, n in counted[:TOP]:
            local = rd.local(iri)
            if local is None or not local.startswith("/id/"):
                continue
            slug = local.rsplit("/", 1)[1]
            rows.append(
                {"href": f"{root}/{facet}/{slug}", "text": _label(snap, rd, iri) or slug, "n": n}
            )
        sections.append(
            {"id": name, "heading": heading, "column": column, "rows": rows, "total": len(counted)}
        )
    return sections


def _goals(snap: Snapshot, rd: ReleaseData, root: str) -> list[dict[str, Any]]:
    """The 17 goals in order, with how many records link to each."""
    goal_counts = dict(_counts(snap, rd, "?s pl:sdgGoal ?x"))
    goals: dict[int, dict[str, Any]] = {}
    for row in snap.select(rd.queries.goals).rows:
        iri = row["goal"].value
        number = iri.rsplit("/", 1)[1]
        if not number.isdigit() or int(number) in goals:
            continue
        label, short = row.get("label"), row.get("short")
        goals[int(number)] = {
            "n": int(number),
            "href": f"{root}/goal/{number}",
            "iri": iri,
            "label": label.value if label is not None else "",
            "short": short.value if short is not None else "",
            "count": goal_counts.get(iri, 0),
        }
    return [goals[n] for n in sorted(goals)]


def _targets(snap: Snapshot, rd: ReleaseData, root: str) -> tuple[list[dict[str, Any]], int]:
    """The most linked SDG targets, and how many targets are linked at all."""
    targets = []
    counted = _counts(snap, rd, "?s pl:sdgTarget ?x")
    for iri, n in counted[:TOP]:
        code = iri.rsplit("/", 1)[1]
        targets.append(
            {
                "href": f"{root}/target/{code}",
                "code": code,
                "text": _label(snap, rd, iri) or "",
                "n": n,
            }
        )
    return targets, len(counted)

