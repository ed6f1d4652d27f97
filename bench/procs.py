"""The processes the benchmark starts, and how it watches and stops them.

Every server runs in its own session (process group), so stopping it stops its workers
and their query processes too, and every server started is registered so that an error
or a signal anywhere still stops all of them. Memory is read from /proc while a process
tree runs: summed PSS (shared pages counted once, not once per forked worker) for the
tree, and RSS for each process, so that "peak memory of the build including its worker
processes" and "memory per server worker" are both measured, not guessed.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


class BenchError(Exception):
    """A phase of the benchmark failed; the message says which and why."""


# -- ports and servers ----------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class Server:
    """A server process (group) the benchmark started; ``stop`` ends the whole group."""

    name: str
    proc: subprocess.Popen
    port: int
    log_path: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL what is left after ``grace_s``."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace_s)
        # Workers can outlive a master that died: always sweep the group.
        _signal_group(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Servers:
    """Every server started, so that all are stopped on any exit path."""

    def __init__(self) -> None:
        self.running: list[Server] = []

    def start(
        self, name: str, argv: list[str], port: int, log_path: Path, env: dict[str, str]
    ) -> Server:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        server = Server(name, proc, port, log_path)
        self.running.append(server)
        return server

    def stop(self, server: Server) -> None:
        server.stop()
        if server in self.running:
            self.running.remove(server)

    def stop_all(self) -> None:
        for server in list(self.running):
            self.stop(server)


def wait_http(server: Server, path: str, timeout_s: float, accept: str = "*/*") -> float:
    """Seconds from the server's start until ``path`` answers 200; BenchError otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not server.alive():
            raise BenchError(f"{server.name} exited while starting:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", path, headers={"Accept": accept})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return time.monotonic() - server.started
        except OSError:
            pass
        time.sleep(0.05)
    raise BenchError(
        f"{server.name} did not answer {path} within {timeout_s:.0f} s:\n{server.log_tail()}"
    )


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit so that ``finally`` blocks stop the servers."""

    def _raise(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- commands with peak memory ----------------------------------------------------------


@dataclass
class Finished:
    """A command that ran to its end: exit code, output, wall time and peak RSS."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    max_rss_mb: float  # largest single process of the tree (wait4's ru_maxrss)


def run_measured(
    argv: list[str],
    timeout_s: float,
    env: dict[str, str],
    on_stderr_line: Callable[[str], None] | None = None,
    sampler: TreeSampler | None = None,
) -> Finished:
    """Run ``argv`` to completion in its own process group, reading its stderr line by
    line as it comes (so progress lines get the time they were printed), and reap it
    with ``wait4`` - the same rusage ``/usr/bin/time -v`` reports, without needing it.
    The whole group is killed if ``timeout_s`` passes."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True, text=True,
                            bufsize=1)  # fmt: skip
    if sampler is not None:
        sampler.start(proc.pid)
    out_parts: list[str] = []
    err_parts: list[str] = []
    readers = [
        threading.Thread(target=_drain, args=(proc.stdout, out_parts, None), daemon=True),
        threading.Thread(target=_drain, args=(proc.stderr, err_parts, on_stderr_line), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timed_out = threading.Event()

    def _kill() -> None:
        timed_out.set()
        _signal_group(proc.pid, signal.SIGKILL)

    watchdog = threading.Timer(timeout_s, _kill)
    watchdog.start()
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        _signal_group(proc.pid, signal.SIGKILL)
        raise
    finally:
        watchdog.cancel()
        if sampler is not None:
            sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    _signal_group(proc.pid, signal.SIGKILL)  # stray grandchildren, if any
    for reader in readers:
        reader.join(timeout=10)
    if timed_out.is_set():
        raise BenchError(f"{' '.join(argv[:4])}... took longer than {timeout_s:.0f} s: killed")
    return Finished(proc.returncode, "".join(out_parts), "".join(err_parts),
                    time.monotonic() - started, usage.ru_maxrss / 1024)  # fmt: skip


def _drain(stream, parts: list[str], on_line: Callable[[str], None] | None) -> None:
    for line in stream:
        parts.append(line)
        if on_line is not None:
            on_line(line.rstrip("\n"))


# -- memory of a process tree -----------------------------------------------------------


@dataclass
class Sample:
    at: float  # monotonic
    tree_pss_mb: float
    rss_mb: dict[int, float]  # per process
    depth: dict[int, int]  # 0: the root, 1: its children, ...


class TreeSampler:
    """Samples the memory of a process and all its descendants every ``interval_s``."""

    def __init__(self, interval_s: float = 0.2):
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.root = 0

    def start(self, root: int) -> None:
        self.root = root
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            sample = sample_tree(self.root)
            if sample is not None:
                self.samples.append(sample)
            self._stop.wait(self.interval_s)

    def peak_pss_mb(self, since: float = 0.0, until: float = float("inf")) -> float:
        """Highest summed PSS between two moments; for a window shorter than the sampling
        interval, the last reading before its end."""
        values = [s.tree_pss_mb for s in self.samples if since <= s.at <= until]
        if not values:
            values = [s.tree_pss_mb for s in self.samples if s.at <= until][-1:]
        return max(values, default=0.0)

    def peak_rss_by_depth(self, depth: int) -> float:
        """The largest RSS any single process at ``depth`` below the root reached."""
        peak = 0.0
        for s in self.samples:
            for pid, rss in s.rss_mb.items():
                if s.depth.get(pid) == depth:
                    peak = max(peak, rss)
        return peak

    def count_at_depth(self, depth: int) -> int:
        pids = {pid for s in self.samples for pid, d in s.depth.items() if d == depth}
        return len(pids)


def sample_tree(root: int) -> Sample | None:
    """One reading of ``root`` and its descendants; None once ``root`` is gone."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        ppid = _ppid(int(entry))
        if ppid is not None:
            children.setdefault(ppid, []).append(int(entry))
    depth: dict[int, int] = {}
    frontier = [root]
    level = 0
    while frontier:
        for pid in frontier:
            depth[pid] = level
        frontier = [c for pid in frontier for c in children.get(pid, [])]
        level += 1
    rss: dict[int, float] = {}
    pss_total = 0.0
    for pid in depth:
        mem = _memory_kb(pid)
        if mem is None:
            continue
        rss[pid] = mem[0] / 1024
        pss_total += mem[1] / 1024
    if root not in rss:
        return None
    return Sample(time.monotonic(), pss_total, rss, {p: depth[p] for p in rss})


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ")".
    return int(stat.rsplit(")", 1)[1].split()[1])


def _memory_kb(pid: int) -> tuple[float, float] | None:
    """(RSS, PSS) in kB; PSS falls back to RSS where smaps_rollup is unreadable."""
    try:
        statm = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return None
    rss = float(statm[1]) * PAGE_KB
    pss = rss
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = float(line.split()[1])
                break
    except OSError:
        pass
    return rss, pss


# -- the machine ----------------------------------------------------------------------


def machine_info() -> dict[str, object]:
    """What the results table needs to say about where it ran."""
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count() or 0,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_start": list(os.getloadavg()),
    }
