"""Steps of a build that run in a child process beside the main one.

On two cores a build keeps both busy by running its long, independent steps (loading
the store, writing the dumps) in child processes while the main process goes on. A
child is forked, so it starts at once with what it needs and imports nothing again; it
dies with the build (a killed build must not leave a child behind, holding its folder's
lock); and when it fails it says why in one line, which :meth:`BackgroundJob.wait`
turns into a :class:`BackgroundError` for the build to report.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class BackgroundError(Exception):
    """A step run in a child process failed; the message says which, and the child's
    own message is on stderr."""


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the build that started it dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent's cancel() still stops it
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _child(parent: int, what: str, target: Callable[..., None], args: tuple[Any, ...]) -> None:
    _die_with_parent(parent)
    try:
        target(*args)
    except BaseException as exc:  # report in one line, as the parent's errors are
        print(f"{what} failed: {exc}", file=sys.stderr, flush=True)
        if os.environ.get("PLEDGE_LOD_DEBUG"):
            traceback.print_exc()
        os._exit(1)


class BackgroundJob:
    """``target(*args)`` in a child process: start, then :meth:`wait` (or :meth:`cancel`).

    ``what`` names the step in messages ("writing the dumps")."""

    def __init__(self, what: str, target: Callable[..., None], *args: Any):
        self.what = what
        # fork: the child needs only the arguments, and starts at once (no re-import).
        context = multiprocessing.get_context("fork")
        self.process = context.Process(
            target=_child,
            args=(os.getpid(), what, target, args),
            name=f"pledge-lod: {what}",
            daemon=True,
        )
        self.process.start()

    def alive(self) -> bool:
        return self.process.is_alive()

    def wait(self) -> None:
        self.process.join()
        if self.process.exitcode != 0:
            raise BackgroundError(
                f"{self.what} failed (exit code {self.process.exitcode}); see above"
            )

    def cancel(self) -> None:
        """Stop the child if it still runs (a failed build does not need its work)."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=30)
