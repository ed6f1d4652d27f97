"""bench/RESULTS.md: one section per run, newest first, older sections kept verbatim.

A run's section is rendered from the run's JSON (also saved in ``bench/out/``), so the
Markdown never holds a figure the JSON does not. Sections are separated by a marker
line; a new run is inserted above the previous ones and nothing below it is rewritten,
so notes written by hand into an older section survive later runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import cells as c
from .tables import (
    data_table,
    deref_table,
    errors,
    probe_table,
    rdflib_notes,
    revalidate_table,
    server_table,
    sparql_table,
    stage_table,
)
from .targets import targets
from .virtuoso import virtuoso_tables

MARKER = "<!-- bench-run -->"
HEADER = f"""# pledge_lod benchmarks

Written by `python -m bench` (bench/run.py, see its `--help`). Each run adds a section
at the top; older runs stay below, unchanged, so figures can be compared over time. Raw
figures of every run are in `bench/out/run-*.json` (not committed). All numbers of a
section come from one run on one machine, with the data built in that run; the machines
these run on are shared, so absolute figures move with other load - the ratios against
the floor, measured interleaved with the real server, are the figures to compare.

{MARKER}
"""


def write_results(path: Path, run: dict[str, Any]) -> None:
    """Insert ``run``'s section right below the file's header, above everything else
    (creating the file if need be). The header - the text before the first marker -
    is kept as it is, so that edits made to it by hand survive."""
    header, older = HEADER, ""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if MARKER in text:
            head, older = text.split(MARKER, 1)
            header, older = head + MARKER + "\n", older.lstrip("\n")
    body = header + "\n" + render_run(run).rstrip("\n") + "\n"
    if older:
        body += "\n" + MARKER + "\n\n" + older
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


# -- the section --------------------------------------------------------------------------


def render_run(run: dict[str, Any]) -> str:
    sizes = run["sizes"]
    labels = ", ".join(c.size_label(s["pledges_requested"]) for s in sizes)
    out = [f"## Run of {run['started']} - {labels} pledges", ""]
    out += _context(run)
    out += data_table(sizes)
    for size in sizes:
        out += stage_table(size)
    out += server_table(sizes)
    for which in ("hot", "random"):
        out += deref_table(run, sizes, which)
    out += probe_table(sizes)
    out += sparql_table(sizes)
    out += rdflib_notes(sizes)
    out += virtuoso_tables(sizes)
    out += revalidate_table(sizes)
    out += errors(sizes)
    out += ["### Targets", ""] + [f"- {line}" for line in targets(sizes)] + [""]
    return "\n".join(out)


def _context(run: dict[str, Any]) -> list[str]:
    m, s = run["machine"], run["settings"]
    tool = s["tool"]
    rounds = s.get("load_rounds", 1)
    split = (f"{s['duration']} s per measurement in {rounds} rounds alternating with the "
             "floor, ratio = median of the rounds' ratios" if rounds > 1
             else f"{s['duration']} s per measurement")  # fmt: skip
    tool_text = (
        f"wrk ({s['wrk_threads']} threads, {s['connections']} connections, "
        f"{split}, Lua script `bench/wrk_paths.lua`)"
        if tool == "wrk"
        else f"the Python load generator ({s['connections']} threads; wrk was not "
        f"installed - far weaker, its req/s are lower bounds), {split}"
    )
    return [
        f"- Command: `{run['command']}`",
        f"- Finished: {run['finished']}; total {run['wall_s'] / 60:.1f} min",
        f"- Machine: {m['nproc']} CPUs ({m['cpu'] or 'unknown model'}), "
        f"{m['memory_gib']} GiB memory, Linux {m['kernel']}, Python {m['python']}. "
        f"Shared and noisy: other work ran on it during the run (load average "
        f"{_load(m['loadavg_start'])} at the start, {_load(run['loadavg_end'])} at the end).",
        f"- Load generator: {tool_text}, on 127.0.0.1 from a second process.",
        f"- Server: `pledge-lod serve` = gunicorn, gthread, {s['workers']} workers x "
        f"{s['threads']} threads; the floor (`bench/floor_app.py`) runs with the same "
        f"gunicorn options and answers precomputed bytes of each format's mean document size.",
        f"- Hot set: {s['hot']} pledge documents, fixed by the seed; random: uniform over every "
        f"document in the release's sitemap. Synthetic data: `pledge-lod synth --seed "
        f"{s['seed']}`.",
        "",
    ]


def _load(values: list[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)

