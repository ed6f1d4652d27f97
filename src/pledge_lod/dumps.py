"""Write a release's dump files: N-Triples as mapped, Turtle and JSON-LD serialised from
it by Oxigraph, and a gzipped copy of each.

Serialising and compressing is about a fifth of a large build and needs nothing but the
mapped N-Triples, so :class:`DumpWriter` does it in a child process that runs while the
parent loads and validates the store: on two cores the two overlap instead of adding up.
"""

from __future__ import annotations

import ctypes
import gzip
import multiprocessing
import os
import shutil
import signal
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pyoxigraph import RdfFormat, parse, serialize

from .store import layout

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class DumpError(Exception):
    """The dumps could not be written; the message says why."""


def write_dumps(data_nt: Path, folder: Path, prefixes: dict[str, str]) -> None:
    """Write every dump format (and its .gz) of ``data_nt`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    nt_path = folder / layout.DUMP_FORMATS["nt"][0]
    try:  # the mapped file is final: a hard link saves copying gigabytes
        os.link(data_nt, nt_path)
    except OSError:
        shutil.copyfile(data_nt, nt_path)
    # zlib releases the GIL, so N-Triples compresses while the other formats serialise.
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [pool.submit(gzip_file, nt_path)]
        for key, fmt in (("ttl", RdfFormat.TURTLE), ("jsonld", RdfFormat.JSON_LD)):
            path = folder / layout.DUMP_FORMATS[key][0]
            with path.open("wb") as out:
                triples = (q.triple for q in parse(path=str(nt_path), format=RdfFormat.N_TRIPLES))
                serialize(triples, out, fmt, prefixes=prefixes)
            done.append(pool.submit(gzip_file, path))
        for future in done:
            future.result()


def gzip_file(path: Path) -> None:
    """Deterministic gzip beside ``path``: no name, no timestamp in the header."""
    target = path.parent / (path.name + ".gz")
    with (
        path.open("rb") as src,
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
    ):
        shutil.copyfileobj(src, gz, 1 << 20)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the build that started it dies (a killed
    build must not leave a writer behind, holding its folder's lock)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's cancel() still stops it
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _child(parent: int, data_nt: Path, folder: Path, prefixes: dict[str, str]) -> None:
    _die_with_parent(parent)
    try:
        write_dumps(data_nt, folder, prefixes)
    except BaseException as exc:  # report in one line, as the parent's errors are
        print(f"writing the dumps failed: {exc}", file=sys.stderr, flush=True)
        if os.environ.get("PLEDGE_LOD_DEBUG"):
            traceback.print_exc()
        os._exit(1)


class DumpWriter:
    """:func:`write_dumps` in a child process: start, then wait (or cancel)."""

    def __init__(self, data_nt: Path, folder: Path, prefixes: dict[str, str]):
        # fork: the child needs only the arguments, and starts at once (no re-import).
        context = multiprocessing.get_context("fork")
        self.process = context.Process(
            target=_child,
            args=(os.getpid(), data_nt, folder, prefixes),
            name="pledge-lod-dumps",
            daemon=True,
        )
        self.process.start()

    def wait(self) -> None:
        self.process.join()
        if self.process.exitcode != 0:
            raise DumpError(
                f"writing the dumps failed (exit code {self.process.exitcode}); see above"
            )

    def cancel(self) -> None:
        """Stop the child if it still runs (a failed build does not need the dumps)."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=30)
