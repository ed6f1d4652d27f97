"""Write a release's dump files: N-Triples as mapped, Turtle and JSON-LD serialised from
it by Oxigraph, and a gzipped copy of each; and the whole dataset the SPARQL endpoint
serves (every named graph) as gzipped N-Quads and TriG (:func:`write_dataset_dumps`).

Serialising and compressing is about a fifth of a large build and needs nothing but the
mapped N-Triples, so :class:`DumpWriter` does it in a child process while the build
finishes the store: on two cores the two overlap instead of adding up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from isal import igzip
from pyoxigraph import CanonicalizationAlgorithm, Dataset, Quad, RdfFormat, parse, serialize

from ..release import layout
from ..release.layout import DATASET_DUMPS
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


def write_dataset_dumps(
    data_nt: Path, data_graph: str, others: Iterable[Quad], folder: Path, prefixes: dict[str, str]
) -> None:
    """The endpoint's whole dataset as gzipped N-Quads and TriG, the same bytes for the
    same content: the data graph's triples as mapped (already in a fixed order, and
    without blank nodes), then the other graphs' quads with their blank nodes labelled
    canonically (RDF Dataset Canonicalization, Oxigraph's) and sorted. The store's
    blank node labels come from parsing and differ from build to build."""
    folder.mkdir(parents=True, exist_ok=True)
    small = Dataset(others)
    small.canonicalize(CanonicalizationAlgorithm.UNSTABLE)  # stable within one Oxigraph
    lines = sorted(serialize([q], format=RdfFormat.N_QUADS) for q in small)
    graph = f" <{data_graph}> .\n".encode()
    nq_path = folder / DATASET_DUMPS["nq"][0]
    with _gzip_writer(nq_path) as out, data_nt.open("rb") as data:
        for line in data:  # "s p o .\n" -> "s p o <g> .\n"
            out.write(line[:-3] + graph)
        out.writelines(lines)
    with igzip.open(nq_path, "rb") as quads, _gzip_writer(folder / DATASET_DUMPS["trig"][0]) as out:
        serialize(parse(quads, format=RdfFormat.N_QUADS), out, RdfFormat.TRIG, prefixes=prefixes)


@contextlib.contextmanager
def _gzip_writer(target: Path) -> Iterator[igzip.IGzipFile]:
    """A deterministic gzip file (no name, no timestamp), as :func:`gzip_file` writes."""
    with (
        target.open("wb") as raw,
        igzip.IGzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=2) as gz,
    ):
        yield gz


class DumpWriter(BackgroundJob):
    """:func:`write_dumps` in a child process: start, then wait (or cancel)."""

    def __init__(self, data_nt: Path, folder: Path, prefixes: dict[str, str]):
        super().__init__("writing the dumps", write_dumps, data_nt, folder, prefixes)
