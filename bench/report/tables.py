"""The tables of a run's section: data and build, server, dereferencing, the WSGI probe,
the SPARQL mix, rdflib-endpoint, the rebuild, and the errors. Each takes the run's sizes
(as the JSON holds them) and returns Markdown lines, none when nothing was measured."""

from __future__ import annotations

from . import cells as c


def data_table(sizes: list[dict]) -> list[str]:
    rows = []
    for s in sizes:
        b = s.get("build") or {}
        rows.append([
            c.n(b.get("pledges") or s["pledges_requested"]), c.n(b.get("triples")),
            c.n(s.get("synth_s"), 1), c.n(b.get("wall_s"), 1),
            c.n(b.get("peak_tree_pss_mb")), c.n(b.get("peak_rss_mb")),
        ])  # fmt: skip
    head = ["pledges", "triples (data graph)", "synth s", "build s",
            "build peak memory MB (all processes, PSS)",
            "largest process peak RSS MB (wait4 rusage, as /usr/bin/time -v)"]
    return c.block("### Data and build", "", head, rows)  # fmt: skip


def stage_table(size: dict) -> list[str]:
    b = size.get("build")
    if not b:
        return []
    rows = [[st["what"], c.n(st["ended_s"], 1), c.n(st["seconds"], 1), c.n(st["peak_pss_mb"])]
            for st in b["stages"]]  # fmt: skip
    title = f"Build stages, {c.n(b['pledges'])} pledges"
    head = ["stage (progress line)", "ended at s", "took s", "peak memory MB (PSS, all processes)"]
    return c.block(f"#### {title}", "", head, rows)


def server_table(sizes: list[dict]) -> list[str]:
    rows = []
    for s in sizes:
        sv = s.get("server")
        if not sv:
            continue
        rows.append([
            c.n(s["pledges_requested"]), c.n(sv["startup_s"], 2), str(sv["web_workers"]),
            c.n(sv["web_worker_peak_rss_mb"]), c.n(sv["query_worker_peak_rss_mb"]),
            c.n(sv["tree_peak_pss_mb"]),
        ])  # fmt: skip
    if not rows:
        return []
    intro = ("Start: from launching `pledge-lod serve` to the first document answered "
             "(interpreter start, release check, worker boot, first request). Memory sampled "
             "every 0.5 s during all of the dereferencing and SPARQL load.")
    head = ["pledges", "start s", "web workers", "peak RSS per web worker MB",
            "peak RSS per query process MB", "peak total PSS MB"]
    return c.block("### Server", intro, head, rows)  # fmt: skip


def deref_table(run: dict, sizes: list[dict], which: str) -> list[str]:
    rows = []
    for s in sizes:
        per_format = (s.get("deref") or {}).get(which) or {}
        for fmt, d in per_format.items():
            app, floor = d["app"], d["floor"]
            rows.append([
                c.n(s["pledges_requested"]), fmt, c.n(d["bytes"]), c.n(app["rps"]),
                c.ms(app["p50_ms"]), c.ms(app["p99_ms"]), c.n(floor["rps"]),
                c.ms(floor["p50_ms"]), c.ms(floor["p99_ms"]), f"{d['ratio']:.2f}",
                " / ".join(f"{r:.2f}" for r in d.get("round_ratios", [])) or "-",
                str(app["errors"] + floor["errors"]),
            ])  # fmt: skip
    if not rows:
        return []
    title = {
        "hot": f"Dereferencing, hot set ({run['settings']['hot']} documents, repeated)",
        "random": "Dereferencing, uniformly random over all documents",
    }[which]
    head = ["pledges", "format", "mean doc bytes", "req/s", "p50 ms", "p99 ms", "floor req/s",
            "floor p50 ms", "floor p99 ms", "ratio to floor", "rounds' ratios", "errors"]
    return c.block(f"### {title}", "", head, rows)  # fmt: skip


def probe_table(sizes: list[dict]) -> list[str]:
    rows = []
    for s in sizes:
        for fmt, p in (s.get("wsgi_probe") or {}).items():
            rows.append([c.n(s["pledges_requested"]), fmt, c.n(p["app"]), c.n(p["floor"]),
                         c.n(p["app"] - p["floor"]), c.n(1e6 / p["app"])])  # fmt: skip
    if not rows:
        return []
    intro = ("`bench/wsgi_probe.py`: the app and the floor app called through the same "
             "WSGI test client in one otherwise idle process, hot set, documents already "
             "cached - no HTTP, no load generator. The difference is the app's own Python "
             "work per request; it caps what one core can serve whatever the server.")
    head = ["pledges", "format", "app us/request", "floor us/request", "app's own us",
            "app req/s per core at most"]
    return c.block("### Per-request cost without HTTP (hot set, cached)", intro, head,
                  rows)  # fmt: skip


def sparql_table(sizes: list[dict]) -> list[str]:
    rows = []
    for s in sizes:
        for q in s.get("sparql") or []:
            counts = "/".join("-" if q["rows"].get(k) is None else str(q["rows"][k])
                              for k in ("http", "engine", "rdflib"))  # fmt: skip
            rdflib = c.ms(q["rdflib_ms"]) if q["rdflib_ms"] else (q["rdflib_note"] or "-")
            speedup = f"{q['speedup']:.0f}x" if q["speedup"] else "-"
            rows.append([
                c.n(s["pledges_requested"]), q["title"], counts, c.n(q["response_bytes"]),
                str(q["runs"]), c.ms(q["http_ms"]), c.ms(q["engine_ms"]), c.ms(q["floor_ms"]),
                c.ms(q["floor_trivial_ms"]), f"{q['ratio']:.2f}", rdflib, speedup,
            ])  # fmt: skip
    if not rows:
        return []
    intro = (
        "HTTP: `GET /sparql?query=...` on a fresh connection, sequential. Engine: pyoxigraph "
        "in-process on the same read-only store, query plus serialisation to the same format "
        "(JSON results; RDF/XML for DESCRIBE, the one graph format rdflib-endpoint returns). "
        "Floor: the floor app answering as many bytes as the real answer (trivial: 2 bytes). "
        "Ratio = HTTP / (engine + floor). Rows: answers counted for HTTP/engine/rdflib "
        "(triples for DESCRIBE). The last query of each size, a trivial `ASK {}`, is not "
        "part of the mix: it shows each server's fixed cost per query."
    )
    head = ["pledges", "query", "rows", "answer bytes", "runs", "HTTP ms", "engine ms",
            "floor ms", "floor trivial ms", "ratio", "rdflib-endpoint ms", "speedup"]
    return c.block("### SPARQL mix (medians)", intro, head, rows)  # fmt: skip


def rdflib_notes(sizes: list[dict]) -> list[str]:
    lines = []
    for s in sizes:
        r = s.get("rdflib")
        if not r:
            continue
        label = c.n(s["pledges_requested"])
        if r.get("measured"):
            lines.append(f"- {label} pledges: rdflib-endpoint {r.get('version', '')} loaded the "
                         f"N-Triples dump in {r['load_s']:.1f} s (ready to answer), RSS "
                         f"{c.n(r.get('rss_mb'))} MB; {r.get('runs_note', '')}")  # fmt: skip
        else:
            lines.append(f"- {label} pledges: rdflib-endpoint not measured: {r['note']}")
    return ["rdflib-endpoint:", "", *lines, ""] if lines else []


def revalidate_table(sizes: list[dict]) -> list[str]:
    rows = []
    for s in sizes:
        r = s.get("revalidate")
        if r:
            rows.append([c.n(s["pledges_requested"]), c.n(r["build_wall_s"], 1),
                         c.n(r["validate_s"], 1), c.n(r["peak_tree_pss_mb"])])  # fmt: skip
    if not rows:
        return []
    intro = ("One pledge's title edited, then `pledge-lod build --no-switch` on the same "
             "releases folder; \"validation\" is the time of the stages whose progress line "
             "mentions validation.")
    head = ["pledges", "rebuild s", "validation s", "peak memory MB (PSS)"]
    return c.block("### Rebuild after one changed record", intro, head, rows)


def errors(sizes: list[dict]) -> list[str]:
    lines = [f"- {c.n(s['pledges_requested'])} pledges: {e}" for s in sizes
             for e in s.get("errors", [])]  # fmt: skip
    return ["### Errors", "", *lines, ""] if lines else []

