"""Choosing the search engine: SQLite FTS5 against Tantivy on the same rows.

    # the rows of a release, as JSON lines (project environment)
    python bench/search_engines.py rows RELEASE/dumps/pledges.nt DATA_DIR BASE rows.jsonl
    # each engine: index build time, then search and prefix latency (p50/p99)
    python bench/search_engines.py fts5 rows.jsonl
    python bench/search_engines.py tantivy rows.jsonl
    # the index as shipped (release/search_index.py: Tantivy, with snippets)
    python bench/search_engines.py shipped rows.jsonl
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

QUERIES = 300


def dump_rows(nt: str, data_dir: str, base: str, out: str) -> None:
    from pyoxigraph import RdfFormat, parse

    from pledge_lod.build.pipeline import load_kos
    from pledge_lod.build.search_rows import _rows
    from pledge_lod.rdf.vocab import Iris

    kos = sorted(load_kos(Path(data_dir)), key=lambda t: str(t.subject))
    triples = (q.triple for q in parse(path=nt, format=RdfFormat.N_TRIPLES))
    with open(out, "w", encoding="utf-8") as f:
        for row in _rows([triples, iter(kos)], Iris(base)):
            f.write(json.dumps([row.iri, row.type, row.lang, row.label, row.alt, row.text]) + "\n")


def load(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def queries(rows: list[list[str]]) -> tuple[list[str], list[str]]:
    """Words and two-word phrases from labels (searches), and 3-letter prefixes."""
    rng = random.Random(17)
    sample = rng.sample(rows, min(2000, len(rows)))
    words = [w for r in sample for w in r[3].split() if len(w) > 3 and w.isalpha()]
    searches = [rng.choice(words) for _ in range(QUERIES // 2)]
    searches += [f"{rng.choice(words)} {rng.choice(words)}" for _ in range(QUERIES // 2)]
    prefixes = [rng.choice(words)[:3] for _ in range(QUERIES)]
    return searches, prefixes


def timed(calls: list, fn) -> str:
    laps = []
    for arg in calls:
        t = time.perf_counter()
        fn(arg)
        laps.append((time.perf_counter() - t) * 1000)
    laps.sort()
    p99 = laps[int(len(laps) * 0.99) - 1]
    return f"p50 {statistics.median(laps):.2f} ms, p99 {p99:.2f} ms"


def fts5(rows: list[list[str]], folder: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from fts5_index import Filters, Row, SearchIndex, write_index

    t = time.perf_counter()
    write_index(folder / "i.sqlite", (Row(*r[:6]) for r in rows))
    print(f"fts5: {len(rows)} rows indexed in {time.perf_counter() - t:.1f} s, "
          f"{(folder / 'i.sqlite').stat().st_size / 1e6:.1f} MB")
    ix = SearchIndex(folder / "i.sqlite")
    searches, prefixes = queries(rows)
    print("fts5 search (20 hits, total):", timed(searches, lambda q: ix.search(q, Filters())))
    print("fts5 suggest (10):", timed(prefixes, lambda q: ix.suggest(q, Filters())))


def shipped(rows: list[list[str]], folder: Path) -> None:
    """The release's index as the build writes it and the web reads it."""
    from pledge_lod.release.search_index import Filters, Row, SearchIndex, write_index

    t = time.perf_counter()
    write_index(folder / "search", (Row(*r[:6]) for r in rows))
    print(f"shipped: {len(rows)} rows indexed in {time.perf_counter() - t:.1f} s")
    ix = SearchIndex(folder / "search")
    searches, prefixes = queries(rows)
    print("shipped search (20 hits, total, snippets):",
          timed(searches, lambda q: ix.search(q, Filters())))
    print("shipped suggest (10):", timed(prefixes, lambda q: ix.suggest(q, Filters())))


def tantivy_engine(rows: list[list[str]], folder: Path) -> None:
    import tantivy

    analyzer = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )
    sb = tantivy.SchemaBuilder()
    for name in ("label", "alt", "text"):
        sb.add_text_field(name, stored=True, tokenizer_name="folded")
    sb.add_text_field("iri", stored=True, tokenizer_name="raw")
    schema = sb.build()
    t = time.perf_counter()
    index = tantivy.Index(schema, path=str(folder))
    index.register_tokenizer("folded", analyzer)
    writer = index.writer()
    for r in rows:
        writer.add_document(tantivy.Document(iri=r[0], label=r[3], alt=r[4], text=r[5]))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    print(f"tantivy: {len(rows)} rows indexed in {time.perf_counter() - t:.1f} s")
    searcher = index.searcher()
    boost = {"label": 10.0, "alt": 4.0}

    def search(q: str) -> None:
        query = index.parse_query(q, ["label", "alt", "text"], field_boosts=boost)
        searcher.search(query, 20, count=True)

    def suggest(q: str) -> None:
        query = tantivy.Query.regex_query(schema, "label", f"{q.lower()}.*")
        searcher.search(query, 10)

    searches, prefixes = queries(rows)
    print("tantivy search (20 hits, total):", timed(searches, search))
    print("tantivy suggest (10, regex prefix):", timed(prefixes, suggest))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "rows":
        dump_rows(*sys.argv[2:6])
    else:
        data = load(sys.argv[2])
        with tempfile.TemporaryDirectory() as tmp:
            engines = {"fts5": fts5, "tantivy": tantivy_engine, "shipped": shipped}
            engines[mode](data, Path(tmp))
