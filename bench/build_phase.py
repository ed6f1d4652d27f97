"""Synthesise data and build a release, timing each stage and its peak memory.

The build prints ``[   12.3s] what just finished`` on stderr at the end of each stage.
A stage's duration is the difference between its timestamp and the previous one; its
peak memory is the highest summed PSS of the build's process tree (the build and any
worker processes it starts) sampled between the moments those two lines were printed.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .procs import BenchError, TreeSampler, run_measured

PROGRESS = re.compile(r"^\[\s*(?P<at>\d+(?:\.\d+)?)s\]\s+(?P<what>.*)$")


@dataclass
class Stage:
    """One progress line: what finished, when, and what it cost."""

    what: str
    ended_s: float
    seconds: float
    peak_pss_mb: float


@dataclass
class BuildStats:
    wall_s: float
    stages: list[Stage]
    peak_tree_pss_mb: float  # all processes of the build together, sampled
    peak_rss_mb: float  # the largest single process (rusage, as /usr/bin/time -v reports)
    pledges: int = 0
    triples: int = 0
    release_dir: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    def seconds_matching(self, word: str) -> float:
        """Total duration of the stages whose line mentions ``word`` (e.g. "validat")."""
        return sum(s.seconds for s in self.stages if word in s.what.lower())


def synthesize(
    python: str, pledges: int, seed: int, out: Path, timeout_s: float, env: dict[str, str]
) -> float:
    """Run ``pledge_lod synth``; returns its wall time."""
    argv = [python, "-m", "pledge_lod", "synth", "--pledges", str(pledges), "--seed", str(seed),
            "--out", str(out)]  # fmt: skip
    done = run_measured(argv, timeout_s, env)
    if done.returncode != 0:
        raise BenchError(f"synth failed ({done.returncode}):\n{_tail(done.stderr)}")
    return done.wall_s


def data_folder(
    python: str, given: Path | None, pledges: int, seed: int, out: Path,
    timeout_s: float, env: dict[str, str],
) -> Path:
    """The data a rebuild benchmark edits: a copy of ``given`` (made before with this
    seed) or new synthetic data; ``out`` is written either way, never ``given``."""
    if given:
        shutil.copytree(given, out)
    else:
        synthesize(python, pledges, seed, out, timeout_s, env)
    return out


def build(
    python: str,
    data: Path,
    releases: Path,
    base: str,
    timeout_s: float,
    env: dict[str, str],
    no_switch: bool = False,
) -> BuildStats:
    """Run ``pledge_lod build`` and measure it stage by stage."""
    argv = [python, "-m", "pledge_lod", "build", "--data", str(data), "--releases",
            str(releases), "--base", base]  # fmt: skip
    if no_switch:
        argv.append("--no-switch")
    lines: list[tuple[float, str]] = []  # (monotonic time read, line)

    def on_line(line: str) -> None:
        lines.append((time.monotonic(), line))

    # Once a second: reading every process's smaps_rollup costs the kernel a walk of
    # its page tables, and five readings a second of a multi-GB build took a fifth of a
    # core from the build being measured. Memory moves slowly next to that.
    sampler = TreeSampler(interval_s=1.0)
    started = time.monotonic()
    done = run_measured(argv, timeout_s, env, on_stderr_line=on_line, sampler=sampler)
    if done.returncode != 0:
        raise BenchError(f"build failed ({done.returncode}):\n{_tail(done.stderr)}")
    stages = _stages(lines, sampler, started)
    stats = BuildStats(done.wall_s, stages, sampler.peak_pss_mb(), done.max_rss_mb)
    _read_manifest(stats, releases, done.stdout, no_switch)
    return stats


def _stages(lines: list[tuple[float, str]], sampler: TreeSampler, started: float) -> list[Stage]:
    stages: list[Stage] = []
    previous_at, previous_read = 0.0, started
    for read_at, line in lines:
        match = PROGRESS.match(line.strip())
        if match is None:
            continue
        at = float(match["at"])
        peak = sampler.peak_pss_mb(since=previous_read, until=read_at)
        stages.append(Stage(_short(match["what"]), at, round(at - previous_at, 2), peak))
        previous_at, previous_read = at, read_at
    return stages


def _short(what: str) -> str:
    """Stage text without the machine-specific paths the last lines carry."""
    return re.sub(r"\s+(at|from)\s+/\S+", "", what).strip()


def _read_manifest(stats: BuildStats, releases: Path, stdout: str, no_switch: bool) -> None:
    """Fill pledges/triples from the release just built (the one named on stdout)."""
    match = re.search(r"release (\w+):", stdout)
    path = releases / match.group(1) if match else releases / "current"
    if not no_switch:
        path = (releases / "current").resolve()
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    stats.counts = {k: int(v) for k, v in manifest.get("counts", {}).items()}
    stats.pledges = stats.counts.get("pledges", 0)
    stats.triples = stats.counts.get("triples", 0)
    stats.release_dir = str(path)


def change_one_record(data: Path) -> str:
    """Edit one pledge's title in place (the first in the first file), so that a rebuild
    has exactly one changed record; returns the file changed."""
    files = sorted((data / "pledges").glob("*.yaml"))
    if not files:
        raise BenchError(f"no pledge files in {data / 'pledges'}")
    text = files[0].read_text(encoding="utf-8")
    changed = re.sub(r'(?m)^(\s*title: ")', r"\1Changed once for the re-validation bench: ",
                     text, count=1)  # fmt: skip
    if changed == text:
        raise BenchError(f"no title line to change in {files[0]}")
    files[0].write_text(changed, encoding="utf-8")
    return str(files[0])


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.splitlines()[-lines:])
