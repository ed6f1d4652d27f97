"""Dereferencing load: requests/s and latency percentiles per format, from a second process.

The load generator is wrk (Debian's package) with ``wrk_paths.lua``: closed loop,
``connections`` keep-alive connections over ``threads`` threads, each request for a path
drawn at random from a list with the format's ``Accept`` header. Without wrk a Python
generator with one thread per connection stands in; it is far weaker (the GIL caps it
near a few thousand requests/s), so results say which generator produced them.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.etree import ElementTree

from .procs import BenchError

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_paths.lua"
FORMATS: dict[str, str] = {
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
    "rdf": "application/rdf+xml",
    "html": "text/html",
}
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@dataclass
class LoadResult:
    """One load run against one server, one format, one path set."""

    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # connect/read/write/timeouts and non-2xx/3xx answers

    def to_json(self) -> dict:
        return asdict(self)


# -- which documents ----------------------------------------------------------------------


def document_paths(release_dir: Path, base: str) -> list[str]:
    """Every document path the release's sitemap lists (following a sitemap index)."""
    prefix = base.rstrip("/")
    locs = _locs(release_dir / "sitemap.xml")
    if locs and locs[0][0] == "sitemap":
        files = [release_dir / loc[len(prefix) + 1 :] for _kind, loc in locs]
        locs = [item for f in files for item in _locs(f)]
    return [loc[len(prefix) :] for _kind, loc in locs if loc.startswith(prefix + "/doc/")]


def _locs(sitemap: Path) -> list[tuple[str, str]]:
    """(entry kind "url" or "sitemap", URL) for each entry, streaming (1M entries)."""
    out: list[tuple[str, str]] = []
    for _event, elem in ElementTree.iterparse(sitemap, events=("end",)):
        kind = elem.tag.removeprefix(_SITEMAP_NS)
        if kind in ("url", "sitemap"):
            loc = elem.findtext(_SITEMAP_NS + "loc")
            if loc:
                out.append((kind, loc.strip()))
            elem.clear()
    return out


def pick_hot(paths: list[str], n: int, seed: int) -> list[str]:
    """``n`` pledge documents, a fixed choice for a seed: the set a crawler revisits."""
    pledges = [p for p in paths if p.startswith("/doc/pledge/")] or paths
    return random.Random(seed).sample(pledges, min(n, len(pledges)))


def write_paths(paths: list[str], file: Path) -> Path:
    file.write_text("\n".join(paths) + "\n", encoding="utf-8")
    return file


def mean_body_bytes(
    port: int, paths: list[str], accept: str, expect: dict[str, str] | None = None
) -> int:
    """Mean body size of these documents in one format (the floor serves that many);
    each must answer 200, with the headers of ``expect`` at these values if given."""
    sizes = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for path in paths:
            conn.request("GET", path, headers={"Accept": accept})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise BenchError(f"GET {path} ({accept}) answered {resp.status}")
            for name, value in (expect or {}).items():
                if resp.getheader(name) != value:
                    raise BenchError(f"GET {path} ({accept}): {name} is "
                                     f"{resp.getheader(name)!r}, not {value!r}")
            sizes.append(len(body))
    finally:
        conn.close()
    return round(statistics.fmean(sizes)) if sizes else 0


# -- load ---------------------------------------------------------------------------------


def load_tool(choice: str) -> str:
    """"wrk" or "python"; ``auto`` takes wrk when it is installed."""
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if choice == "wrk" and not shutil.which("wrk"):
        raise BenchError("--tool wrk: wrk is not installed (apt-get install wrk)")
    return choice


def run_load(
    tool: str,
    port: int,
    paths_file: Path,
    accept: str,
    set_name: str,
    duration_s: int,
    connections: int,
    threads: int,
) -> LoadResult:
    if tool == "wrk":
        return _run_wrk(port, paths_file, accept, set_name, duration_s, connections, threads)
    return _run_python(port, paths_file, accept, set_name, duration_s, connections)


@dataclass(frozen=True)
class Side:
    """One side of an interleaved measurement: a server and the path set loaded on it
    (``set_name`` also picks the floor's body size)."""

    port: int
    paths_file: Path
    set_name: str


def interleaved_sides(
    tool: str,
    sides: list[Side],
    accept: str,
    duration_s: int,
    rounds: int,
    connections: int,
    threads: int,
) -> list[list[LoadResult]]:
    """Every side loaded once in each of ``rounds`` rounds, in the order of ``sides``,
    then reversed the next round (ABC CBA ...), so that drift falls on all of them;
    each side's runs, in its order."""
    per_round = max(1, round(duration_s / max(1, rounds)))
    runs: list[list[LoadResult]] = [[] for _ in sides]
    for i in range(max(1, rounds)):
        order = range(len(sides)) if i % 2 == 0 else reversed(range(len(sides)))
        for at in order:
            side = sides[at]
            runs[at].append(run_load(tool, side.port, side.paths_file, accept, side.set_name,
                                     per_round, connections, threads))  # fmt: skip
    return runs


def round_ratios(tops: list[LoadResult], bottoms: list[LoadResult]) -> list[float]:
    """req/s of one side over another's, round by round (0 where the other did nothing)."""
    return [a.rps / b.rps if b.rps else 0.0 for a, b in zip(tops, bottoms, strict=True)]


def interleaved(
    tool: str,
    ports: tuple[int, int],
    paths_file: Path,
    accept: str,
    set_name: str,
    duration_s: int,
    rounds: int,
    connections: int,
    threads: int,
) -> tuple[LoadResult, LoadResult, list[float]]:
    """The app and the floor (``ports``) loaded in ``rounds`` alternating rounds.

    Load on a shared 2-core machine drifts over seconds; one long run of each server
    lets the drift fall on one side only. Here each round loads both, the first one
    in the round alternating (ABBA), and the ratio is the median of the rounds' ratios.
    The returned results sum each server's rounds (p50 and p99: the rounds' medians)."""
    sides = [Side(port, paths_file, set_name) for port in ports]
    app_runs, floor_runs = interleaved_sides(tool, sides, accept, duration_s, rounds,
                                             connections, threads)  # fmt: skip
    return combined(app_runs), combined(floor_runs), round_ratios(app_runs, floor_runs)


def combined(runs: list[LoadResult]) -> LoadResult:
    """Runs of one side as one result: summed counts, the rounds' median p50 and p99."""
    requests = sum(r.requests for r in runs)
    seconds = sum(r.seconds for r in runs)
    return LoadResult(runs[0].tool, requests, round(seconds, 2),
                      round(requests / seconds, 1) if seconds else 0.0,
                      statistics.median(r.p50_ms for r in runs),
                      statistics.median(r.p99_ms for r in runs), sum(r.errors for r in runs))


def _run_wrk(
    port: int,
    paths_file: Path,
    accept: str,
    set_name: str,
    duration_s: int,
    connections: int,
    threads: int,
) -> LoadResult:
    env = {"BENCH_PATHS": str(paths_file), "BENCH_ACCEPT": accept, "BENCH_SET": set_name}
    return wrk_load(LUA, env, port, duration_s, connections, threads)


def wrk_load(lua: Path, env: dict[str, str], port: int, duration_s: int, connections: int,
             threads: int) -> LoadResult:  # fmt: skip
    """One wrk run of the script ``lua`` (given ``env``), which prints its figures as one
    ``BENCH_JSON`` line."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--timeout", "10s",
            "--latency", "-s", str(lua), f"http://127.0.0.1:{port}"]  # fmt: skip
    try:
        done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=duration_s + 60, check=False)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish within {duration_s + 60} s") from exc
    match = re.search(r"^BENCH_JSON (\{.*\})$", done.stdout, re.M)
    if done.returncode != 0 or match is None:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    errors = sum(data[k] for k in ("connect_errors", "read_errors", "write_errors",
                                   "status_errors", "timeouts"))  # fmt: skip
    return LoadResult("wrk", data["requests"], round(seconds, 2),
                      round(data["requests"] / seconds, 1), data["p50_us"] / 1000,
                      data["p99_us"] / 1000, errors)  # fmt: skip


def _run_python(
    port: int, paths_file: Path, accept: str, set_name: str, duration_s: int, connections: int
) -> LoadResult:
    """The stand-in generator: ``connections`` threads, each a keep-alive connection."""
    paths = [p for p in paths_file.read_text(encoding="utf-8").splitlines() if p]
    headers = {"Accept": accept, "X-Bench-Set": set_name}
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    started = time.monotonic()
    deadline = started + duration_s

    def worker(i: int) -> None:
        rng = random.Random(1000 + i * 7919)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                conn.request("GET", paths[rng.randrange(len(paths))], headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies[i].append(time.perf_counter() - t0)
        conn.close()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=duration_s + 30)
    seconds = time.monotonic() - started
    flat = sorted(x for per in latencies for x in per)
    if not flat:
        raise BenchError("the Python load generator completed no request")
    return LoadResult("python-threads", len(flat), round(seconds, 2),
                      round(len(flat) / seconds, 1), _pct(flat, 50) * 1000,
                      _pct(flat, 99) * 1000, sum(errors))  # fmt: skip


def _pct(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]
