"""The mapped data file, written source by source: new bytes, or a source's bytes copied
from the previous release's data file.

A rebuild after one edit maps one file; every other source holds the same bytes as in
the previous release's data file (the build cache knows each file's digest, and the
release keeps where each source lies: :class:`.changes.ChunkIndex`). Those spans are
copied by the kernel (``copy_file_range``: no pass through Python, and no reflink needed)
instead of reading each file's triples back from the cache: at a million pledges, 3 GB
that took 28 s to unpickle, decompress and write (bench/RESULTS.md, issue 18).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..release import layout
from .changes import ChunkIndex, load_chunks
from .store_loader import StoreLoader

#: Bytes a copy asks the kernel for at once.
_COPY = 1 << 30


class PreviousData:
    """The previous release's data file (its N-Triples dump) and where each source lies."""

    def __init__(self, nt: Path, chunks: dict[str, tuple[int, int, str]]):
        self.chunks = chunks
        self.fd = os.open(nt, os.O_RDONLY)

    @classmethod
    def open(cls, release: Path | None) -> PreviousData | None:
        """A release's data, if it has a chunk index to copy sources by; else None."""
        if release is None:
            return None
        nt = release / layout.DUMPS_DIR / layout.DUMP_FORMATS["nt"][0]
        try:
            chunks = load_chunks(release, nt)
            if any(not digest for _, _, digest in chunks.values()):
                return None  # a release before the index: one span for everything
            return cls(nt, chunks)
        except OSError:
            return None

    def span(self, key: str, digest: str) -> tuple[int, int] | None:
        """Where ``key``'s bytes lie, if they have this digest."""
        found = self.chunks.get(key)
        return (found[0], found[1]) if found is not None and found[2] == digest else None

    def close(self) -> None:
        os.close(self.fd)


class DataFile:
    """The data file being written; each write also goes to the chunk index and to the
    store loader (if any: a copied span cannot, so a build with a loader never copies)."""

    def __init__(self, path: Path, chunks: ChunkIndex, loader: StoreLoader | None):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.chunks = chunks
        self.loader = loader

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.chunks.write(data)
        if self.loader is not None:
            self.loader.write(data)

    def copy(self, previous: PreviousData, offset: int, length: int) -> None:
        """Append ``length`` bytes of the previous data file from ``offset``."""
        if self.loader is not None:  # pragma: no cover - the pipeline never asks
            raise RuntimeError("a copied span would not reach the store loader")
        end = offset + length
        while offset < end:
            try:
                n = os.copy_file_range(previous.fd, self.fd, min(end - offset, _COPY), offset)
            except (OSError, AttributeError):  # not Linux, or a file system without it
                n = 0
            if n <= 0:  # copy by hand what is left
                data = os.pread(previous.fd, min(end - offset, _COPY), offset)
                if not data:
                    raise OSError(f"the previous data file ends before byte {end}")
                n = os.write(self.fd, data)
            offset += n
        self.chunks.advance(length)

    def close(self) -> None:
        os.close(self.fd)
