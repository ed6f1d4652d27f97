"""The release's search index written in a child process, from the moment the data is.

The index depends on the data file, the KOS and the previous release's index only, so
it need not wait for the store, the sitemap or the store's compaction, which it used
to follow: the build starts it as soon as the data file and its changes are known and
collects its progress line where it used to write it (bench/RESULTS.md, issue 17 whole
write). In the child, a whole write takes the rows the mapping made (:mod:`.search_mapped`)
or reads them in forked worker processes (:mod:`.search_parts`): the child is a fresh
interpreter (:mod:`.child`), without the store's threads, which makes forking it safe.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pyoxigraph import Triple

from ..rdf import vocab as v
from .child import BackgroundJob
from .search import STAMP_FILE, IndexPlan, Since, plan_search_index, write_planned

#: Worker processes of a whole write: both cores (the dump writer, beside it, is one
#: process; the system shares the cores between them).
WORKERS = max(2, min(os.cpu_count() or 2, 4))


class SearchIndexJob(BackgroundJob):
    """:func:`.search.release_search_index` in a child process: start, then
    :meth:`written` (or cancel)."""

    def __init__(
        self, folder: Path, data_nt: Path, kos: list[Triple], iris: v.Iris, since: Since | None,
        rows_file: Path | None = None,
    ) -> None:  # fmt: skip
        self.plan = plan_search_index(folder, data_nt, kos, iris, since, rows_file)
        super().__init__("writing the search index", _write, self.plan)

    def written(self) -> str:
        """Wait for the index; the progress line :func:`.search.release_search_index`
        returns (its row count from the stamp the child wrote)."""
        self.wait()
        stamp = json.loads((self.plan.folder / STAMP_FILE).read_text(encoding="utf-8"))
        return self.plan.line(int(stamp["rows"]))


def _write(plan: IndexPlan) -> None:
    write_planned(plan, workers=WORKERS)
