"""Mementos (RFC 7089) under load beside the current documents and the floor (issue 18):

    .venv/bin/python -m bench.memento_load --releases RELEASES [--hot 50] [--duration 10]
        [--rounds 3] [--out r.json]

``RELEASES`` is a releases folder with a recorded history and at least two kept versions
(``pledge-lod build --keep N`` more than once). The older kept version is the most
recent one before the current version whose release folder is still there.

The hot set is ``--hot`` pledge documents (seeded) of that version's sitemap that the
current release also serves (200). Each memento URL is the one the real TimeGate gives
(``/timegate/{path}`` with ``Accept-Datetime`` at the version's date: a 302 to
``/memento/{14 digits}/{path}``), and every memento must answer 200 with that
``Memento-Datetime`` in every format before any load. Then, format by format (the
``FORMATS`` of ``deref``), wrk loads four sides interleaved round by round (the order
reversed every other round, so that drift on the shared machine hits all four): the
current documents, the floor at their body size, the mementos, the floor at theirs.
The floor (``floor_app``) is the same gunicorn setup answering precomputed bytes; the
ratios (median of the rounds') are each set's req/s over its floor's, and memento over
current. Prints a Markdown section for ``bench/RESULTS.md``; ``--out`` keeps the JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from werkzeug.http import http_date

from pledge_lod.config import Settings
from pledge_lod.release.history import History, Version

from .context import START_TIMEOUT_S, Context, say, start_app
from .deref import (
    FORMATS,
    Side,
    combined,
    document_paths,
    interleaved_sides,
    load_tool,
    mean_body_bytes,
    pick_hot,
    round_ratios,
    run_load,
    write_paths,
)
from .procs import BenchError, Servers, free_port, machine_info, signals_raise, wait_http
from .serve_phase import start_floor

SETS = ("current", "memento")
#: The four sides of each round: (server, path set); the floor answers each set's size.
SIDES = (("app", "current"), ("floor", "current"), ("app", "memento"), ("floor", "memento"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.memento_load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--releases", type=Path, required=True,
                   help="releases folder with history/ and two kept versions or more")
    p.add_argument("--hot", type=int, default=50, help="documents in the hot set")
    p.add_argument("--duration", type=int, default=10,
                   help="seconds of load per side and format, split between the rounds")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds per format")
    p.add_argument("--connections", type=int, default=16, help="concurrent connections")
    p.add_argument("--wrk-threads", type=int, default=os.cpu_count() or 2,
                   help="wrk threads (default: one per CPU)")
    p.add_argument("--workers", type=int, default=Settings.workers, help="gunicorn workers")
    p.add_argument("--threads", type=int, default=Settings.threads, help="threads per worker")
    p.add_argument("--seed", type=int, default=7, help="seed of the hot set")
    p.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator (auto: wrk when installed)")
    p.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = p.parse_args(argv)
    if args.hot < 1 or args.duration < 1 or args.rounds < 1:
        p.error("--hot, --duration and --rounds must be at least 1")
    return args


# -- which versions and documents -----------------------------------------------------------


def versions(releases: Path) -> tuple[Version, Version]:
    """(the older kept version, the current one) from the releases' recorded history."""
    current_id = json.loads((releases / "current" / "manifest.json")
                            .read_text(encoding="utf-8"))["id"]  # fmt: skip
    history = History.open(releases)
    try:
        found = history.versions()
    finally:
        history.close()
    latest = [v for v in found if v.release_id == current_id]
    if not latest:
        raise BenchError(f"{releases}: the current release {current_id} has no recorded "
                         "version (history/history.sqlite): build it with pledge-lod build")
    current = latest[-1]
    older = [v for v in found if v.number < current.number and v.release_id != current_id
             and (releases / v.release_id / "manifest.json").is_file()]  # fmt: skip
    if not older:
        raise BenchError(f"{releases}: no kept version older than the current one (build "
                         "twice with pledge-lod build --keep 2 or more)")
    if _moment(older[-1]) >= _moment(current):
        raise BenchError("the two versions were made in the same second: a memento "
                         "datetime (14 digits) cannot tell them apart")
    return older[-1], current


def _moment(version: Version) -> datetime:
    return datetime.fromisoformat(version.created.replace("Z", "+00:00")).astimezone(UTC)


def hot_pairs(
    port: int, releases: Path, older: Version, base: str, n: int, seed: int
) -> list[tuple[str, str]]:
    """(current path, memento path) of ``n`` pledge documents of the older version that
    the current release serves too, each memento URL the TimeGate's answer."""
    candidates = pick_hot(document_paths(releases / older.release_id, base), 4 * n, seed)
    wanted = http_date(_moment(older))
    stamp = _moment(older).strftime("%Y%m%d%H%M%S")
    pairs: list[tuple[str, str]] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for path in candidates:
            if _status(conn, path, {"Accept": FORMATS["ttl"]})[0] != 200:
                continue  # gone from the current release: no current document to compare
            status, location = _status(conn, f"/timegate{path}", {"Accept-Datetime": wanted})
            target = urlsplit(location or "").path
            if status != 302 or target != f"/memento/{stamp}{path}":
                raise BenchError(f"/timegate{path} (Accept-Datetime: {wanted}) answered "
                                 f"{status} {location!r}, not 302 to /memento/{stamp}{path}")
            pairs.append((path, target))
            if len(pairs) == n:
                break
    finally:
        conn.close()
    if not pairs:
        raise BenchError(f"no document of version {older.number} is served currently")
    return pairs


def _status(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> tuple[int, str | None]:
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status, resp.getheader("Location")


# -- load -------------------------------------------------------------------------------------


def measure_format(
    ctx: Context, ports: dict[str, int], files: dict[str, Path], accept: str
) -> dict[str, Any]:
    """The four sides of one format, interleaved; results and ratios."""
    args = ctx.args
    # Fill every worker's caches with both sets first, as python -m bench does its hot set.
    run_load(ctx.tool, ports["app"], files["both"], accept, "both", 1, args.connections,
             args.wrk_threads)  # fmt: skip
    sides = [Side(ports[server], files[name], name) for server, name in SIDES]
    runs = dict(zip(SIDES, interleaved_sides(ctx.tool, sides, accept, args.duration,
                                             args.rounds, args.connections, args.wrk_threads),
                    strict=True))  # fmt: skip
    ratios = {
        "current/floor": round_ratios(runs["app", "current"], runs["floor", "current"]),
        "memento/floor": round_ratios(runs["app", "memento"], runs["floor", "memento"]),
        "memento/current": round_ratios(runs["app", "memento"], runs["app", "current"]),
    }
    return {
        **{f"{server}_{name}": combined(r).to_json() for (server, name), r in runs.items()},
        "ratios": {k: round(statistics.median(v), 3) for k, v in ratios.items()},
        "round_ratios": {k: [round(x, 3) for x in v] for k, v in ratios.items()},
    }


def measure(ctx: Context, releases: Path) -> dict[str, Any]:
    args = ctx.args
    manifest = json.loads((releases / "current" / "manifest.json").read_text(encoding="utf-8"))
    base = manifest["base"].rstrip("/")
    older, current = versions(releases)
    app = start_app(ctx, releases, free_port(), ctx.work)
    startup = wait_http(app, "/robots.txt", START_TIMEOUT_S)  # cheap at any size
    say(f"server up in {startup:.1f} s; finding {args.hot} mementos of version {older.number}")
    pairs = hot_pairs(app.port, releases, older, base, args.hot, args.seed)
    paths = {"current": [c for c, _m in pairs], "memento": [m for _c, m in pairs]}
    expect = {"memento": {"Memento-Datetime": http_date(_moment(older))}}
    sizes = {name: {accept: mean_body_bytes(app.port, docs, accept, expect.get(name))
                    for accept in FORMATS.values()}
             for name, docs in paths.items()}  # fmt: skip
    say(f"{len(pairs)} mementos answered 200 with Memento-Datetime in {len(FORMATS)} formats")
    floor = start_floor(ctx, sizes, ctx.work)
    wait_http(floor, "/bytes/2", START_TIMEOUT_S)
    files = {name: write_paths(docs, ctx.work / f"{name}.txt")
             for name, docs in {**paths, "both": [p for pair in pairs for p in pair]}.items()}
    ports = {"app": app.port, "floor": floor.port}
    result: dict[str, Any] = {
        "releases": str(releases), "counts": manifest.get("counts", {}),
        "current": {"version": current.number, "release": current.release_id,
                    "created": current.created},
        "memento": {"version": older.number, "release": older.release_id,
                    "created": older.created},
        "hot": len(pairs), "mementos_checked": len(pairs) * len(FORMATS), "paths": paths,
        "machine": machine_info(), "tool": ctx.tool, "formats": {},
    }  # fmt: skip
    for fmt, accept in FORMATS.items():
        load_before = os.getloadavg()[0]
        out = measure_format(ctx, ports, files, accept)
        out["bytes"] = {name: sizes[name][accept] for name in SETS}
        out["loadavg"] = [load_before, os.getloadavg()[0]]
        result["formats"][fmt] = out
        say(f"{fmt}: " + ", ".join(f"{k} {v}" for k, v in out["ratios"].items()))
    result["loadavg_end"] = list(os.getloadavg())
    return result


# -- report -----------------------------------------------------------------------------------


def section(result: dict[str, Any], argv: list[str], started: str) -> str:
    """The Markdown section of bench/RESULTS.md."""
    m, counts = result["machine"], result["counts"]
    old, cur = result["memento"], result["current"]
    lines = [
        f"## Issue 18: a memento beside the current document, hot set, {started} - "
        f"{counts.get('pledges', 0):,} pledges",
        "",
        f"- Command: `.venv/bin/python -m bench.memento_load {' '.join(_shown(argv))}`",
        f"- Data: {counts.get('pledges', 0):,} pledges, {counts.get('triples', 0):,} triples; "
        f"current version {cur['version']} ({cur['created']}), mementos of version "
        f"{old['version']} ({old['created']})",
        f"- Hot set: {result['hot']} pledge documents held by both versions (seeded); each "
        f"memento URL from `/timegate/...` with `Accept-Datetime`; all {result['mementos_checked']}"
        " (document, format) mementos answered 200 with `Memento-Datetime` before the load",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB memory, Linux "
        f"{m['kernel']}, Python {m['python']}; load generator {result['tool']}; load average "
        f"{'/'.join(f'{x:.1f}' for x in m['loadavg_start'])} at the start, "
        f"{'/'.join(f'{x:.1f}' for x in result['loadavg_end'])} at the end",
        "",
        "| format | bytes current / memento | current req/s | memento req/s | floor req/s "
        "(current / memento) | p50 ms current / memento / floor | p99 ms current / memento / "
        "floor | current / floor | memento / floor | memento / current | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for fmt, r in result["formats"].items():
        cur_r, mem_r = r["app_current"], r["app_memento"]
        fc, fm = r["floor_current"], r["floor_memento"]
        ratio = r["ratios"]
        errors = sum(x["errors"] for x in (cur_r, mem_r, fc, fm))
        lines.append(
            f"| {fmt} | {r['bytes']['current']:,} / {r['bytes']['memento']:,} | {cur_r['rps']:,} | "
            f"{mem_r['rps']:,} | {fc['rps']:,} / {fm['rps']:,} | {cur_r['p50_ms']:.1f} / "
            f"{mem_r['p50_ms']:.1f} / {fc['p50_ms']:.1f} | {cur_r['p99_ms']:.1f} / "
            f"{mem_r['p99_ms']:.1f} / {fc['p99_ms']:.1f} | {ratio['current/floor']} | "
            f"{ratio['memento/floor']} | {ratio['memento/current']} | {errors} |"
        )
    return "\n".join(lines)


def _shown(argv: list[str]) -> list[str]:
    """The command line as the report shows it: the machine's paths named by their role
    (the releases folder) or file name (the JSON)."""
    out = list(argv)
    for i, word in enumerate(out):
        name, _eq, value = word.partition("=")
        if name in ("--releases", "--out") and value:
            out[i] = f"{name}={'REL' if name == '--releases' else Path(value).name}"
        elif i and out[i - 1] in ("--releases", "--out") and argv[i - 1] == out[i - 1]:
            out[i] = "REL" if out[i - 1] == "--releases" else Path(word).name
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    releases = args.releases.resolve()
    if not (releases / "current" / "manifest.json").is_file():
        print(f"memento_load: {args.releases} has no current release", file=sys.stderr)
        return 2
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    servers = Servers()
    with signals_raise(), tempfile.TemporaryDirectory(prefix="memento-load-") as tmp:
        try:
            ctx = Context(args, servers, Path(tmp), load_tool(args.tool), sys.executable,
                          {**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
            result = measure(ctx, releases)
        except BenchError as exc:
            print(f"memento_load: {exc}", file=sys.stderr)
            return 1
        finally:
            servers.stop_all()
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(section(result, argv, started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
