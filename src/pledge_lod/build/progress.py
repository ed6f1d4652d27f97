"""What a build says while it runs: one line per stage, with the time since it began."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

Progress = Callable[[str], None]


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Timer:
    """Says each stage with the seconds since the build began."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.started = time.monotonic()
        self.stage_started = self.started

    def stage(self, message: str) -> None:
        now = time.monotonic()
        self.progress(f"[{now - self.started:7.1f}s] {message}")
        self.stage_started = now
