"""The SPARQL mix on Virtuoso, beside the embedded store.

The issue asks whether moving to the external store (README, "Serving from an external
SPARQL store") costs query speed, and whether the answers stay the same. Per size the
benchmark starts a private Virtuoso (``tests/support/virtuoso.py``, the runner the tests use),
publishes the built release into it with ``pledge-lod publish --to``, and times the same
queries three ways, interleaved round by round so that other load on the shared machine
falls on all three alike:

1. embedded: our app's ``/sparql`` on the release's own Oxigraph store (HTTP GET);
2. Virtuoso direct: ``GET /sparql`` on Virtuoso itself, JSON results (RDF/XML for
   DESCRIBE) asked for explicitly - without an ``Accept`` Virtuoso answers XML, and a
   direct ``application/sparql-query`` POST hangs Virtuoso 7.2 - on the same protocol
   dataset the app sends (the current release's graphs as ``default-graph-uri`` and
   ``named-graph-uri``), with the same ``timeout`` parameter;
3. app on Virtuoso: our app's ``/sparql`` served with the remote backend, which forwards
   each query to Virtuoso (form POST) and passes the answer back.

Each answer of the warm-up run is kept and compared with the embedded one, term by term
(Virtuoso's ``typed-literal`` JSON read as the same RDF terms, as the app does), so the
report says "same answer" only when it is, and says how the answers differ otherwise.
"""

from __future__ import annotations

import statistics
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph
from pyoxigraph import RdfFormat
from tests.support.virtuoso import Virtuoso
from tests.support.virtuoso import missing as _missing

from pledge_lod.release.on_store import current_release_id, read_manifest
from pledge_lod.store.remote import QueryClient, parse_json_results

from .procs import BenchError
from .sparql_mix import Answer, Query, count_answer, http_get, query_path

#: Virtuoso's own suggestions (the comments of its default virtuoso.ini) for 2, 4 and 8 GB
#: of free memory, picked by the number of triples: the tests' 80 MB pool would make the
#: larger sizes measure the disk, not the store.
BUFFERS_BY_TRIPLES = ((2_000_000, 170_000), (8_000_000, 340_000), (None, 680_000))


def missing() -> str | None:
    """Why Virtuoso cannot run here (the message names tests/tools/install.sh), or None."""
    return _missing()


def buffers_for(triples: int) -> int:
    """NumberOfBuffers (8 KB pages) for a release of ``triples`` data triples."""
    for limit, buffers in BUFFERS_BY_TRIPLES:
        if limit is None or triples <= limit:
            return buffers
    raise AssertionError("unreachable: the last row has no limit")


def new_virtuoso(folder: Path, triples: int, max_query_s: int) -> Virtuoso:
    """The tests' runner, with a buffer pool for ``triples`` and the given query limit."""
    return Virtuoso(folder, buffers=buffers_for(triples), max_query_s=max_query_s)


@dataclass(frozen=True)
class Dataset:
    """The protocol dataset of the current release on the store, as the app sends it."""

    release: str
    graphs: list[str]

    @classmethod
    def current(cls, query_url: str, timeout_s: float = 30.0) -> Dataset:
        client = QueryClient(query_url, timeout_s)
        release = current_release_id(client, timeout_s=timeout_s)
        if release is None:
            raise BenchError(f"nothing is published on {query_url} after the publication")
        manifest = read_manifest(client, release, timeout_s=timeout_s)
        return cls(release, sorted(str(g) for g in manifest["graphs"].values()))

    def path(self, query: Query, timeout_s: float) -> str:
        """``/sparql?...`` for a direct GET: the query on exactly the app's dataset."""
        params = [("query", query.text)]
        params += [("default-graph-uri", g) for g in self.graphs]
        params += [("named-graph-uri", g) for g in self.graphs]
        params.append(("timeout", str(int(timeout_s * 1000))))
        return "/sparql?" + urllib.parse.urlencode(params)


@dataclass
class VirtuosoTiming:
    """One query of the mix: medians (ms) and answers on the three servers."""

    key: str
    title: str
    embedded_ms: float = 0.0
    direct_ms: float = 0.0
    app_ms: float = 0.0
    runs: int = 0
    rows: dict[str, int | None] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)
    #: the direct and the app-on-Virtuoso answers compared with the embedded one
    agreement: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def measure(
    queries: list[Query],
    embedded_port: int,
    app_port: int,
    virtuoso_port: int,
    dataset: Dataset,
    runs: int,
    budget_s: float,
    timeout_s: float,
) -> list[VirtuosoTiming]:
    """Median latency of every query on the three servers, interleaved round by round.

    Each query gets one untimed warm-up on each server (its answer is the one counted
    and compared), then up to ``runs`` rounds, at least three, stopping early once
    ``budget_s`` is spent. Every request opens its own connection, as in the main mix."""
    return [_measure_query(q, embedded_port, app_port, virtuoso_port, dataset, runs, budget_s,
                           timeout_s) for q in queries]  # fmt: skip


def _measure_query(
    q: Query,
    embedded_port: int,
    app_port: int,
    virtuoso_port: int,
    dataset: Dataset,
    runs: int,
    budget_s: float,
    timeout_s: float,
) -> VirtuosoTiming:
    ours = query_path("/sparql", q.text)
    direct = dataset.path(q, timeout_s)

    def embedded() -> Answer:
        return _checked(http_get(embedded_port, ours, q.accept, timeout_s), "embedded", q)

    def on_virtuoso() -> Answer:
        return _checked(http_get(virtuoso_port, direct, q.accept, timeout_s), "Virtuoso", q)

    def app() -> Answer:
        return _checked(http_get(app_port, ours, q.accept, timeout_s), "app on Virtuoso", q)

    warm = {"embedded": embedded(), "virtuoso": on_virtuoso(), "app": app()}
    timing = VirtuosoTiming(
        q.key, q.title,
        rows={name: count_answer(a) for name, a in warm.items()},
        bytes={name: len(a.body) for name, a in warm.items()},
        agreement={name: compare(warm["embedded"], warm[name]) for name in ("virtuoso", "app")},
    )  # fmt: skip
    seconds: dict[str, list[float]] = {"embedded": [], "virtuoso": [], "app": []}
    started = time.monotonic()
    while timing.runs < runs and (timing.runs < 3 or time.monotonic() - started < budget_s):
        seconds["embedded"].append(embedded().seconds)
        seconds["virtuoso"].append(on_virtuoso().seconds)
        seconds["app"].append(app().seconds)
        timing.runs += 1
    timing.embedded_ms = _ms(seconds["embedded"])
    timing.direct_ms = _ms(seconds["virtuoso"])
    timing.app_ms = _ms(seconds["app"])
    return timing


def _checked(answer: Answer, where: str, q: Query) -> Answer:
    if answer.status != 200:
        raise BenchError(f"{where} answered {answer.status} to {q.key}: {answer.body[:300]!r}")
    if answer.sql_state == "S1TAT":  # Virtuoso's "anytime" answer: cut short, not whole
        raise BenchError(f"{where} answered {q.key} incompletely (X-SQL-State S1TAT): "
                         "raise the query time limit")  # fmt: skip
    return answer


# -- comparing answers --------------------------------------------------------------------


def compare(reference: Answer, other: Answer) -> str:
    """``same``, ``same rows, other order`` or how ``other`` differs from ``reference``.

    SELECT/ASK answers are read as RDF terms (Virtuoso's ``typed-literal`` and Oxigraph's
    ``literal`` with a datatype are the same term); graphs (DESCRIBE) are compared as
    sets of triples, blank nodes by position only (labels differ between engines)."""
    try:
        want, got = _canonical(reference), _canonical(other)
    except (ValueError, SyntaxError, KeyError, TypeError) as exc:
        return f"unreadable answer ({exc})"
    if isinstance(want, bool) or isinstance(got, bool):
        return "same" if want == got else f"differs ({want} vs {got})"
    if want == got:
        return "same"
    if sorted(want) == sorted(got):
        return "same rows, other order"
    only_ref = len(set(want) - set(got))
    only_other = len(set(got) - set(want))
    return f"differs ({only_ref} only embedded, {only_other} only here)"


def _canonical(answer: Answer) -> bool | list[tuple[str, ...]]:
    if "json" in answer.content_type:
        result = parse_json_results(answer.body)
        if isinstance(result, bool):
            return result
        return [tuple(f"{name}={_term(row[name])}" if name in row else f"{name}="
                      for name in result.variables) for row in result.rows]  # fmt: skip
    triples = pyoxigraph.parse(answer.body, format=RdfFormat.RDF_XML)
    return sorted(tuple(_term(t) for t in (q.subject, q.predicate, q.object)) for q in triples)


def _term(term: Any) -> str:
    if isinstance(term, pyoxigraph.BlankNode):
        return "_:b"
    return str(term)


def _ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)

