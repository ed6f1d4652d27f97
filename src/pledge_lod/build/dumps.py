"""Write a release's dump files: N-Triples as mapped, Turtle and JSON-LD, a gzipped copy
of each, and the whole dataset the SPARQL endpoint serves (every named graph) as gzipped
N-Quads and TriG.

Every file but the N-Triples (the mapped file itself, hard-linked) is written source by
source (:mod:`.dump_segments`): a source unchanged since the previous release is copied
from that release's files, a changed one is rendered, so a rebuild after one edit costs
the copy of the files, not their serialisation. Serialising and compressing needs
nothing but the mapped N-Triples, so :class:`DumpWriter` does it in a child process while
the build finishes the store: on two cores the two overlap instead of adding up. The
dataset dumps' last members (the small graphs, VoID among them) are added by
:func:`finish_dataset_dumps` once VoID is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import CanonicalizationAlgorithm, Dataset, Quad, RdfFormat, serialize

from ..release import layout
from .child import BackgroundJob
from .dump_segments import (
    COMPLETE,
    FILES,
    NQ_GZ,
    TRIG_GZ,
    Renderer,
    SegmentIndex,
    member,
    prefix_head,
    stamp,
)

#: Copying and hashing in blocks this large keeps the loop's cost negligible.
_BLOCK = 1 << 23


@dataclass(frozen=True)
class DumpJob:
    """What the dumps are written from: the mapped N-Triples with the span and digest
    of each source in it (:class:`.changes.ChunkIndex`), the release folder being
    assembled, the prefixes and data graph, and the previous release (or None)."""

    data_nt: Path
    chunks: dict[str, tuple[int, int, str]]
    release: Path
    prefixes: dict[str, str]
    data_graph: str
    previous: Path | None = None

    @property
    def folder(self) -> Path:
        return self.release / layout.DUMPS_DIR


class _FileWriter(threading.Thread):
    """Appends to one dump file in a thread of its own: bytes given, or a span of the
    previous release's file read here; hashed on the way if the file is written whole.

    A rebuild after one edit copies gigabytes into seven files and hashes most of them;
    one thread per file lets the reads, writes and hashes of different files (all of
    which release the GIL) share both cores instead of queueing on one."""

    def __init__(self, path: Path, hashed: bool, source: int | None):
        super().__init__(name=f"dump {path.name}", daemon=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.hash = hashlib.sha256() if hashed else None
        self.source = source
        self.todo: queue.Queue[bytes | tuple[int, int] | None] = queue.Queue(maxsize=64)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (item := self.todo.get()) is not None:
            if self.error is not None:
                continue  # drain: the writer reports the first error at close
            try:
                self._append(item)
            except BaseException as exc:  # reported by close(), in the writer's thread
                self.error = exc

    def _append(self, item: bytes | tuple[int, int]) -> None:
        if isinstance(item, tuple):
            offset, length = item
            if self.source is None:  # pragma: no cover - spans come with a source
                raise RuntimeError("a span to copy without a previous file")
            data = os.pread(self.source, length, offset)
            if len(data) != length:
                raise OSError(f"the previous release's {self.name[5:]} ends early")
        else:
            data = item
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        if self.hash is not None:
            self.hash.update(data)

    def close(self) -> None:
        self.todo.put(None)
        self.join()
        os.close(self.fd)
        if self.error is not None:
            raise self.error


class _Outputs:
    """The dump files being written, each by its own thread, with its offset (and, if
    whole, its digest)."""

    def __init__(self, folder: Path, previous: _Previous | None):
        self.files = {
            name: _FileWriter(folder / name, name in COMPLETE,
                              previous.fds[name] if previous is not None else None)
            for name in FILES
        }  # fmt: skip
        for writer in self.files.values():
            writer.start()
        self.offsets = dict.fromkeys(FILES, 0)

    def write(self, parts: dict[str, bytes | tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """Append each file's part (bytes, or a span of the previous release's file);
        returns where each part now lies."""
        spans = {}
        for name, part in parts.items():
            length = part[1] if isinstance(part, tuple) else len(part)
            spans[name] = (self.offsets[name], length)
            self.files[name].todo.put(part)
            self.offsets[name] += length
        return spans

    def digests(self) -> dict[str, str]:
        return {name: w.hash.hexdigest() for name, w in self.files.items() if w.hash is not None}

    def close(self) -> None:
        errors = []
        for writer in self.files.values():
            try:
                writer.close()
            except BaseException as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


class _Previous:
    """The previous release's dump files, whose segments are copied span by span."""

    def __init__(self, release: Path, index: SegmentIndex):
        folder = release / layout.DUMPS_DIR
        self.index = index
        self.fds: dict[str, int] = {}
        try:
            for name in FILES:
                self.fds[name] = os.open(folder / name, os.O_RDONLY)
                size = os.fstat(self.fds[name]).st_size
                if any(o + n > size for o, n in index.spans.get(name, {}).values()):
                    raise OSError(f"{name} is shorter than its segment index says")
        except OSError:
            self.close()
            raise
        for fd in self.fds.values():  # read in order: a wider read-ahead
            with contextlib.suppress(OSError, AttributeError):
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)

    def spans(self, key: str) -> dict[str, bytes | tuple[int, int]]:
        return {name: self.index.spans[name][key] for name in FILES}

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)


def _previous(job: DumpJob, wanted: dict[str, str]) -> _Previous | None:
    if job.previous is None:
        return None
    index = SegmentIndex.read(job.previous, wanted)
    try:
        return _Previous(job.previous, index) if index is not None else None
    except OSError:
        return None


def write_dumps(job: DumpJob) -> None:
    """Write every dump of the data, and the release's segment index (which also says
    how many sources were copied from the previous release, and the dumps' digests)."""
    job.folder.mkdir(parents=True, exist_ok=True)
    nt_path = job.folder / layout.DUMP_FORMATS["nt"][0]
    layout.link_or_copy(job.data_nt, nt_path)  # the mapped file is final: gigabytes not copied
    nt_digest: list[str] = []  # the largest file hashed beside the segments' work
    hashing = threading.Thread(target=lambda: nt_digest.append(_sha256(nt_path)))
    hashing.start()
    wanted = stamp(job.prefixes, job.data_graph)
    index = SegmentIndex(wanted)
    renderer = Renderer(job.prefixes, job.data_graph)
    previous = _previous(job, wanted)
    out = _Outputs(job.folder, previous)
    copied = 0
    try:
        out.write(dict(renderer.heads()))
        with job.data_nt.open("rb") as data:
            for n, (key, (offset, length, digest)) in enumerate(_in_order(job.chunks)):
                first = n == 0
                parts: dict[str, bytes | tuple[int, int]]
                if previous is not None and previous.index.reusable(key, digest, first):
                    parts = previous.spans(key)
                    copied += 1
                else:
                    data.seek(offset)
                    parts = dict(renderer.render(data.read(length), first))
                for name, span in out.write(parts).items():
                    index.spans.setdefault(name, {})[key] = span
                index.digests[key] = digest
                index.first = index.first or key
        out.write(dict(renderer.tails()))
    finally:
        try:
            out.close()
        finally:
            if previous is not None:
                previous.close()
            hashing.join()
    index.sha256 = {f"{layout.DUMPS_DIR}/{name}": h for name, h in out.digests().items()}
    index.sha256[f"{layout.DUMPS_DIR}/{nt_path.name}"] = nt_digest[0]
    index.copied = copied
    index.save(job.release)


def _in_order(chunks: dict[str, tuple[int, int, str]]) -> list[tuple[str, tuple[int, int, str]]]:
    return sorted(chunks.items(), key=lambda kv: kv[1][0])


def finish_dataset_dumps(folder: Path, others: Iterable[Quad], prefixes: dict[str, str]) -> None:
    """Add the graphs other than the data graph to the dataset dumps, whose data graph
    the writer has written: as N-Quads with their blank nodes labelled canonically (RDF
    Dataset Canonicalization, Oxigraph's) and sorted, the same bytes for the same content
    (the store's blank node labels come from parsing and differ from build to build);
    and as TriG after the data graph's block is closed."""
    small = Dataset(others)
    small.canonicalize(CanonicalizationAlgorithm.UNSTABLE)  # stable within one Oxigraph
    quads = sorted((serialize([q], format=RdfFormat.N_QUADS), q) for q in small)
    with (folder / NQ_GZ).open("ab") as nq:
        nq.write(member(b"".join(line for line, _ in quads)))
    by_graph = sorted(quads, key=lambda lq: (str(lq[1].graph_name), lq[0]))
    trig = serialize([q for _, q in by_graph], format=RdfFormat.TRIG, prefixes=prefixes)
    head = prefix_head(RdfFormat.TRIG, prefixes)
    body = trig[len(head) :] if trig.startswith(head) else trig
    with (folder / TRIG_GZ).open("ab") as out:
        out.write(member(b"}\n" + body))  # the data graph's block, then the others


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


class DumpWriter(BackgroundJob):
    """:func:`write_dumps` in a child process: start, then wait (or cancel)."""

    def __init__(self, job: DumpJob):
        super().__init__("writing the dumps", write_dumps, job)
