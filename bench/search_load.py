"""Search, autocomplete and reconciliation under load (issue 17), beside the same text
search written as SPARQL:

    .venv/bin/python -m bench.search_load --releases RELEASES [--duration 20] [--out r.json]

It serves the release (``RELEASES/current``) with the real server (``pledge-lod serve``:
gunicorn, as ``python -m bench`` does) and loads it from a second process with wrk
(``wrk_requests.lua``: closed loop, keep-alive connections, each request drawn at random
from a list), one set at a time:

- ``search-1``: ``/search?q=WORD`` (the HTML page a person gets: a page of hits,
  ``search_page_size``, 20 by default; their snippets and the total; the run records
  how many the first page showed), ``search-2``: two words;
- ``suggest``: ``/search/suggest?q=`` three letters, as a browser asks while one types;
- ``reconcile``: ``POST /reconcile`` with a batch of 10 reconciliation queries (real
  labels of places, agents and pledges, typed), as OpenRefine sends them.

Words, prefixes and labels are drawn (fixed seed) from the release's own N-Triples dump:
``rdfs:label`` lines found at random offsets of the file, so a 1M-pledge release is not
read whole. Then, sequentially, the same text search as SPARQL on the release's endpoint
(``FILTER(CONTAINS(LCASE(?label), "word"))``): the first 20 hits, and the count the
search page also shows. Every answer is checked before the load (status, content), and
wrk counts any non-2xx answer as an error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from pyoxigraph import RdfFormat, parse

from pledge_lod.release.search_index import MAX_TERMS

from .deref import LoadResult, wrk_load
from .procs import BenchError, Server, Servers, free_port, machine_info, signals_raise, wait_http
from .sparql_mix import JSON_RESULTS, count_answer, http_get, query_path

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_requests.lua"
HTML = "text/html"
RDFS_LABEL = b"<http://www.w3.org/2000/01/rdf-schema#label>"
#: The issue's targets (ms): a search's p50 and p99, autocomplete p50, a batch of 10.
TARGETS = {"search": (20.0, 100.0), "suggest": 10.0, "reconcile": 100.0}
BATCH = 10
KINDS = ("place", "agent", "pledge")


@dataclass
class Sample:
    """What the load draws from: words, two-word searches, prefixes, typed labels."""

    words: list[str]
    pairs: list[str]
    prefixes: list[str]
    labels: list[tuple[str, str]]  # (type, label)


def sample_labels(release: Path, seed: int, reads: int = 400) -> list[tuple[str, str]]:
    """(IRI, label) of ``rdfs:label`` lines read at ``reads`` random offsets of the dump."""
    dump = release / "dumps" / "pledges.nt"
    size = dump.stat().st_size
    rng = random.Random(seed)
    found: dict[str, str] = {}
    with open(dump, "rb") as f:
        for i in range(reads):
            # Half anywhere (mostly pledges), half in the first 3% of the file, where the
            # build writes the registries (places, agents) before the pledges.
            end = size if i % 2 else size * 3 // 100
            f.seek(rng.randrange(max(1, end - 65536)))
            block = f.read(65536)
            lines = [ln for ln in block.split(b"\n")[1:-1] if RDFS_LABEL in ln]
            for line in lines[:4]:
                for quad in parse(line + b"\n", format=RdfFormat.N_TRIPLES):
                    found.setdefault(quad.subject.value, quad.object.value)
    if not found:
        raise BenchError(f"no rdfs:label in {dump}")
    return sorted(found.items())


def make_sample(labelled: list[tuple[str, str]], base: str, seed: int) -> Sample:
    rng = random.Random(seed)
    words = sorted({w.lower() for _iri, label in labelled for w in re.findall(r"\w+", label)
                    if len(w) > 3 and w.isalpha()})
    if not words:
        raise BenchError("the sampled labels have no words to search for")
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for iri, label in labelled:
        kind = iri[len(base) + 4:].split("/", 1)[0] if iri.startswith(base + "/id/") else ""
        # The service refuses a query of more than MAX_TERMS words (a 400 for the batch).
        if kind in KINDS and len(label.split()) <= MAX_TERMS:
            by_kind.setdefault(kind, []).append((kind, label))
    # The batches mix the kinds evenly, as a sheet of places, organisations and titles.
    typed = [x for group in zip(*by_kind.values(), strict=False) for x in group]
    picks = [rng.choice(words) for _ in range(300)]
    return Sample(
        words=picks,
        pairs=[f"{rng.choice(words)} {rng.choice(words)}" for _ in range(300)],
        prefixes=[w[:3] for w in picks],
        labels=typed,
    )


def request_sets(sample: Sample, seed: int) -> dict[str, list[str]]:
    """Each set's requests as lines of ``wrk_requests.lua``."""
    rng = random.Random(seed)
    sets = {
        "search-1": [f"GET\t/search?q={quote(w)}" for w in sample.words],
        "search-2": [f"GET\t/search?q={quote(p)}" for p in sample.pairs],
        "suggest": [f"GET\t/search/suggest?q={quote(p)}" for p in sample.prefixes],
        "reconcile": [],
    }
    for _ in range(200):
        batch = {f"q{i}": {"query": label, "type": kind}
                 for i, (kind, label) in enumerate(rng.sample(sample.labels, BATCH))}
        body = urlencode({"queries": json.dumps(batch, ensure_ascii=False)})
        sets["reconcile"].append(f"POST\t/reconcile\t{body}")
    return sets


def check_answers(port: int, sets: dict[str, list[str]]) -> int:
    """One request of each set answered as it should, before any load; returns how many
    hits the first search page showed (the page size, for a word with that many)."""
    import http.client

    shown = 0
    for name, lines in sets.items():
        method, path, *body = lines[0].split("\t")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Accept": HTML, "Content-Type": "application/x-www-form-urlencoded"}
        conn.request(method, path, body=body[0] if body else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status != 200:
            raise BenchError(f"{name}: {method} {path[:80]} answered {resp.status}")
        if name == "reconcile" and len(json.loads(data)) != BATCH:
            raise BenchError(f"reconcile: the batch of {BATCH} got {data[:200]!r}")
        if name == "suggest" and not isinstance(json.loads(data)[1], list):
            raise BenchError(f"suggest: {path} got {data[:200]!r}")
        if name == "search-1":
            shown = data.count(b'<div class="title">')
    return shown


def run_wrk(port: int, lines: list[str], work: Path, duration_s: int, connections: int,
            threads: int) -> LoadResult:
    """One wrk run over these request lines (the output format of ``wrk_paths.lua``)."""
    requests = work / "requests.txt"
    requests.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {"BENCH_REQUESTS": str(requests), "BENCH_ACCEPT": HTML}
    return wrk_load(LUA, env, port, duration_s, connections, threads)


def sparql_texts(base: str, word: str) -> dict[str, str]:
    """The text search as SPARQL: the first 20 labels containing the word, and their count
    (the search page shows both). ``word`` is letters only (``make_sample``)."""
    where = (f'?s <http://www.w3.org/2000/01/rdf-schema#label> ?label '
             f'FILTER(CONTAINS(LCASE(STR(?label)), "{word}"))')
    return {
        "sparql-hits": f"SELECT ?s ?label WHERE {{ {where} }} LIMIT 20",
        "sparql-count": f"SELECT (COUNT(?s) AS ?n) WHERE {{ {where} }}",
    }


def measure_sparql(port: int, base: str, words: list[str], timeout_s: float) -> list[dict]:
    out = []
    for word in words:
        for key, text in sparql_texts(base, word).items():
            answer = http_get(port, query_path("/sparql", text), JSON_RESULTS, timeout_s)
            if answer.status != 200:
                raise BenchError(f"{key} ({word}) answered {answer.status}: {answer.body[:300]!r}")
            rows = count_answer(answer)
            if key == "sparql-count":
                rows = int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"])
            out.append({"query": key, "word": word, "seconds": round(answer.seconds, 3),
                        "rows": rows})
            say(f"{key} {word!r}: {answer.seconds:.2f} s, {rows} rows")
    return out


def start_server(servers: Servers, args: argparse.Namespace, work: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "pledge_lod", "serve", "--releases", str(args.releases),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
            "--threads", str(args.threads)]  # fmt: skip
    env = {**os.environ, "PLEDGE_LOD_QUERY_TIMEOUT_S": str(int(args.sparql_timeout))}
    server = servers.start("pledge-lod serve", argv, port, work / "serve.log", env)
    wait_http(server, "/search?q=pledge", 300, HTML)
    return server


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.search_load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--releases", type=Path, required=True, help="folder with current/")
    p.add_argument("--duration", type=int, default=20, help="seconds of load per set")
    p.add_argument("--connections", type=int, default=8, help="wrk connections")
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    p.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    p.add_argument("--sparql-words", type=int, default=3, help="words searched with SPARQL")
    p.add_argument("--sparql-timeout", type=float, default=600.0)
    p.add_argument("--sets", default="search-1,search-2,suggest,reconcile")
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--out", type=Path, help="write the figures as JSON here")
    return p.parse_args(argv)


def measure(args: argparse.Namespace, servers: Servers, work: Path) -> dict[str, Any]:
    release = (args.releases / "current").resolve()
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    base = manifest["base"].rstrip("/")
    sample = make_sample(sample_labels(release, args.seed), base, args.seed)
    sets = request_sets(sample, args.seed)
    server = start_server(servers, args, work)
    shown = check_answers(server.port, sets)
    say(f"the first one-word search page shows {shown} hits")
    result: dict[str, Any] = {"release": release.name, "counts": manifest.get("counts", {}),
                              "machine": machine_info(), "hits_shown": shown, "loads": {}}
    for name in args.sets.split(","):
        run_wrk(server.port, sets[name], work, 2, args.connections, args.wrk_threads)  # warm
        load_before = os.getloadavg()[0]
        res = run_wrk(server.port, sets[name], work, args.duration, args.connections,
                      args.wrk_threads)  # fmt: skip
        result["loads"][name] = {**asdict(res), "loadavg": [load_before, os.getloadavg()[0]]}
        say(f"{name}: {res.rps} req/s, p50 {res.p50_ms:.1f} ms, p99 {res.p99_ms:.1f} ms, "
            f"{res.errors} errors (load average {load_before:.1f})")
    words = sorted(set(sample.words))[: args.sparql_words]
    result["sparql"] = measure_sparql(server.port, base, words, args.sparql_timeout)
    result["loadavg_end"] = list(os.getloadavg())
    return result


def table(result: dict[str, Any]) -> str:
    """The Markdown table of bench/RESULTS.md."""
    rows = ["| set | requests | req/s | p50 ms | p99 ms | errors | load average |",
            "|---|---|---|---|---|---|---|"]
    for name, r in result["loads"].items():
        rows.append(f"| {name} | {r['requests']} | {r['rps']} | {r['p50_ms']:.1f} | "
                    f"{r['p99_ms']:.1f} | {r['errors']} | {r['loadavg'][0]:.1f} |")
    rows += ["", "| SPARQL (sequential) | word | seconds | rows |", "|---|---|---|---|"]
    rows += [f"| {s['query']} | {s['word']} | {s['seconds']} | {s['rows']} |"
             for s in result["sparql"]]
    return "\n".join(rows)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        print("search_load: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    if not (args.releases / "current" / "manifest.json").is_file():
        print(f"search_load: {args.releases} has no current release", file=sys.stderr)
        return 2
    servers = Servers()
    with signals_raise(), tempfile.TemporaryDirectory(prefix="search-load-") as tmp:
        try:
            result = measure(args, servers, Path(tmp))
        except BenchError as exc:
            print(f"search_load: {exc}", file=sys.stderr)
            return 1
        finally:
            servers.stop_all()
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
