"""Write a release's dump files: N-Triples as mapped, Turtle and JSON-LD serialised from
it by Oxigraph, and a gzipped copy of each.

Serialising and compressing is about a fifth of a large build and needs nothing but the
mapped N-Triples, so :class:`DumpWriter` does it in a child process while the build
finishes the store: on two cores the two overlap instead of adding up.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from isal import igzip
from pyoxigraph import RdfFormat, parse, serialize

from ..release import layout
from .child import BackgroundJob


def write_dumps(data_nt: Path, folder: Path, prefixes: dict[str, str]) -> None:
    """Write every dump format (and its .gz) of ``data_nt`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    nt_path = folder / layout.DUMP_FORMATS["nt"][0]
    try:  # the mapped file is final: a hard link saves copying gigabytes
        os.link(data_nt, nt_path)
    except OSError:
        shutil.copyfile(data_nt, nt_path)
    # ISA-L releases the GIL, so N-Triples compresses while the other formats serialise.
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [pool.submit(gzip_file, nt_path)]
        for key, fmt in (("ttl", RdfFormat.TURTLE), ("jsonld", RdfFormat.JSON_LD)):
            path = folder / layout.DUMP_FORMATS[key][0]
            with path.open("wb") as out:
                # The parser's default-graph quads as they are: a triple format takes them,
                # and a generator picking .triple would cost a fifth more.
                quads = parse(path=str(nt_path), format=RdfFormat.N_TRIPLES)
                serialize(quads, out, fmt, prefixes=prefixes)
            done.append(pool.submit(gzip_file, path))
        for future in done:
            future.result()


def gzip_file(path: Path) -> None:
    """Deterministic gzip beside ``path``: no name, no timestamp in the header.

    ISA-L's level 2 compresses N-Triples about twelve times faster than zlib's default
    level 6, for files about a fifth larger: at a million pledges, seconds instead of
    two minutes of CPU. Any gzip reader reads them."""
    target = path.parent / (path.name + ".gz")
    with (
        path.open("rb") as src,
        target.open("wb") as raw,
        igzip.IGzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=2) as gz,
    ):
        shutil.copyfileobj(src, gz, 1 << 20)


class DumpWriter(BackgroundJob):
    """:func:`write_dumps` in a child process: start, then wait (or cancel)."""

    def __init__(self, data_nt: Path, folder: Path, prefixes: dict[str, str]):
        super().__init__("writing the dumps", write_dumps, data_nt, folder, prefixes)
