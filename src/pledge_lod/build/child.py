"""Steps of a build that run in a child process beside the main one.

On two cores a build keeps both busy by running its long, independent steps (loading
the store, writing the dumps) in child processes while the main process goes on. A
child dies with the build (a killed build must not leave a child behind, holding its
folder's lock), and when it fails it says why in one line, which
:meth:`BackgroundJob.wait` turns into a :class:`BackgroundError` for the build to report.

A child is a fresh interpreter, not a fork. A fork copies the caller's memory but not
its threads, and RocksDB (under Oxigraph's on-disk store) keeps process-wide background
threads once any store was opened: after a first build, or after a program opened a
release's store, a forked loader waited forever in RocksDB for a flush thread that did
not exist in it, until the build gave up and stopped it ("loading the store failed (exit
code -15)"). A fresh interpreter holds no such state whatever its caller did before; it
costs the child its imports, while the main process goes on. It is started here rather
than by ``multiprocessing``'s "spawn", which runs the caller's main script again in the
child: a program calling ``build()`` without an ``if __name__ == "__main__"`` guard
would then build again in every child.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h

# The child reads the caller's import path, then the job, from its stdin: it finds the
# modules its caller found, however that one set its path.
_BOOT = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from pledge_lod.build.child import _main; _main()"
)


class BackgroundError(Exception):
    """A step run in a child process failed; the message says which, and why."""


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the build that started it dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's cancel() still stops it
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _main() -> None:
    """The child: run the job read from stdin; on failure, one line on the report pipe."""
    parent, report_fd, target, args = pickle.load(sys.stdin.buffer)
    _die_with_parent(parent)
    try:
        target(*args)
    except BaseException as exc:  # one line for the parent to report, as its own errors are
        with os.fdopen(report_fd, "w", encoding="utf-8") as report:
            report.write(str(exc) or type(exc).__name__)
        if os.environ.get("PLEDGE_LOD_DEBUG"):
            traceback.print_exc()
        os._exit(1)
    os._exit(0)


class BackgroundJob:
    """``target(*args)`` in a child process: start, then :meth:`wait` (or :meth:`cancel`).

    ``what`` names the step in messages ("writing the dumps"). ``target`` and ``args``
    are pickled: a module-level function and plain values."""

    def __init__(self, what: str, target: Callable[..., None], *args: Any):
        self.what = what
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOT], stdin=subprocess.PIPE, pass_fds=(write_fd,)
            )
        finally:
            os.close(write_fd)  # the child holds the writing end now
        self._report = os.fdopen(read_fd, "r", encoding="utf-8")
        assert self.process.stdin is not None
        try:
            with self.process.stdin as stdin:  # the job: a pipe's worth, read at once
                pickle.dump(sys.path, stdin)
                pickle.dump((os.getpid(), write_fd, target, args), stdin)
        except BrokenPipeError:  # the child died on starting: wait() reports its exit code
            pass

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self) -> None:
        code = self.process.wait()
        why = self._report.read().strip()
        self._report.close()
        if code != 0:
            raise BackgroundError(f"{self.what} failed: {why or f'exit code {code}'}")

    def cancel(self) -> None:
        """Stop the child if it still runs (a failed build does not need its work)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not self._report.closed:
            self._report.close()
