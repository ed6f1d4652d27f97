"""The Virtuoso part of a run's section: the load, then the mix beside the embedded store."""

from __future__ import annotations

from . import cells as c

LOAD_INTRO = (
    "A private Virtuoso per size (`tests/support/virtuoso.py`, the tests' runner:"
    " its own database in a temporary folder, `virtuoso-t -f`, buffer pool as "
    "Virtuoso's virtuoso.ini suggests for the memory the data needs), loaded by "
    "`pledge-lod publish --to http://127.0.0.1:PORT/sparql` (Graph Store "
    "Protocol, N-Triples in chunks of 50,000 triples, every graph counted on the "
    "store before the pointer moves). Triples: all five graphs of the release "
    "(data, ontology, shapes, SDG KOS, VoID). Memory: Virtuoso's RSS after the "
    "mix."
)
LOAD_HEAD = ["pledges", "triples loaded", "Virtuoso start s", "publish s", "triples/s",
             "buffer pool MB", "Virtuoso RSS MB"]  # fmt: skip
MIX_INTRO = (
    "The same queries, interleaved round by round, each request on a fresh "
    "connection, sequential. Embedded: our app's `GET /sparql` on the release's "
    "Oxigraph store (started again for this phase, so its figures are taken beside "
    "Virtuoso's, not copied from the table above). Virtuoso direct: `GET /sparql` "
    "on Virtuoso with `Accept` set explicitly (JSON results; RDF/XML for DESCRIBE) "
    "and the dataset the app sends (the release's graphs as `default-graph-uri` "
    "and `named-graph-uri`). App on Virtuoso: our app's `GET /sparql` served with "
    "the remote backend, which forwards the query to Virtuoso as a form POST (a "
    "direct `application/sparql-query` POST hangs Virtuoso 7.2) and passes the "
    "answer back. Rows: answers counted embedded/Virtuoso direct/app on Virtuoso "
    "(triples for DESCRIBE). Answer: each answer compared with the embedded one as "
    "RDF terms (Virtuoso's `typed-literal` JSON is the same term as Oxigraph's "
    "literal with a datatype), row by row and in order; graphs as sets of triples."
)
MIX_HEAD = ["pledges", "query", "rows", "answer vs embedded", "runs", "embedded HTTP ms",
            "Virtuoso direct ms", "app on Virtuoso HTTP ms", "Virtuoso / embedded",
            "app on Virtuoso / embedded", "app on Virtuoso / Virtuoso direct"]  # fmt: skip
DESCRIBE_NOTE = (
    "- DESCRIBE: SPARQL 1.1 leaves what a description holds to each engine "
    "(section 16.4), and Oxigraph's and Virtuoso's default describe modes "
    "are not the same, so a DESCRIBE that differs while the SELECT queries "
    "agree shows the engines' DESCRIBE semantics, not missing or different "
    "data."
)


def virtuoso_tables(sizes: list[dict]) -> list[str]:
    """The load of each size into Virtuoso, then the mix on it beside the embedded store."""
    loads, rows, notes = [], [], []
    versions: list[str] = []
    describe_differs = False
    for s in sizes:
        v = s.get("virtuoso")
        label = c.n(s["pledges_requested"])
        if not v:
            continue
        if not v.get("measured"):
            notes.append(f"- {label} pledges: Virtuoso not measured: {v['note']}")
            continue
        if v.get("publish"):
            loads.append(_load_row(label, v))
        for q in v.get("queries") or []:
            rows.append(_query_row(label, q))
            describe_differs |= q["key"] == "describe" and rows[-1][3] != "same"
        version = " ".join(str(v.get("version", "")).split())
        if version and version not in versions:
            versions.append(version)
    if not (loads or rows or notes):
        return []
    notes += [f"- Version (its `Server` header): {version}" for version in versions]
    out: list[str] = []
    if loads:
        out += c.block("### Virtuoso: loading the release", LOAD_INTRO, LOAD_HEAD, loads)
    if rows:
        out += c.block("### SPARQL mix on Virtuoso beside the embedded store (medians)",
                       MIX_INTRO, MIX_HEAD, rows)  # fmt: skip
    if describe_differs:
        notes.append(DESCRIBE_NOTE)
    if notes:
        out += ["Virtuoso:", "", *notes, ""]
    return out


def _load_row(label: str, v: dict) -> list[str]:
    pub = v["publish"]
    return [
        label, c.n(pub["triples"]), c.n(v["start_s"], 1), c.n(pub["wall_s"], 1),
        c.n(pub["triples"] / pub["wall_s"]) if pub["wall_s"] else "-",
        c.n(v["buffers"] * 8 / 1024), c.n(v.get("rss_mb")),
    ]  # fmt: skip


def _query_row(label: str, q: dict) -> list[str]:
    r = q["rows"]
    counts = "/".join("-" if r.get(k) is None else str(r[k])
                      for k in ("embedded", "virtuoso", "app"))  # fmt: skip
    agree = q["agreement"]
    same = (agree["virtuoso"] if agree["virtuoso"] == agree["app"]
            else f"direct: {agree['virtuoso']}; app: {agree['app']}")  # fmt: skip
    return [
        label, q["title"], counts, same, str(q["runs"]), c.ms(q["embedded_ms"]),
        c.ms(q["direct_ms"]), c.ms(q["app_ms"]), c.ratio(q["direct_ms"], q["embedded_ms"]),
        c.ratio(q["app_ms"], q["embedded_ms"]), c.ratio(q["app_ms"], q["direct_ms"]),
    ]  # fmt: skip
