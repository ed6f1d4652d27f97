"""The engine measured alone: pyoxigraph in a process of its own, timing itself.

``sparql_mix`` starts one per size: ``python -m bench.engine_worker STORE``. It opens the
release's store read-only, then for each JSON line ``{"query": ..., "accept": ...}`` on
stdin answers one JSON line ``{"seconds": ..., "bytes": ..., "rows": ...}`` on stdout,
where ``seconds`` covers the query and the serialisation of its answer and nothing else.
Why a process of its own: like the endpoint's query process, it runs nothing else, so
the benchmark's own threads (memory sampling, bookkeeping) never share its time, and
the comparison "HTTP vs engine" compares one query process with another.
"""

from __future__ import annotations

import json
import sys

import pyoxigraph

from .sparql_mix import Query, count_answer, engine_run


def main(store_path: str) -> None:
    store = pyoxigraph.Store.read_only(store_path)
    for line in sys.stdin:
        job = json.loads(line)
        answer = engine_run(store, Query("", "", job["query"], job["accept"]))
        reply = {"seconds": answer.seconds, "bytes": len(answer.body)}
        if job.get("count"):
            reply["rows"] = count_answer(answer)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
