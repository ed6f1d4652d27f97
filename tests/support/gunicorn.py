"""``pledge-lod serve`` started the way production starts it (gunicorn), and the load
generator (``support/load.py``) started beside it in its own process."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from support.paths import ROOT
from support.processes import free_port

LOAD = Path(__file__).resolve().parent / "load.py"

@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def workers(self) -> list[int]:
        """The gunicorn worker processes (the master's children)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(x) for x in path.read_text().split()] if path.exists() else []

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until ``/robots.txt`` answers: the app is loaded in a worker, not only bound."""
    deadline = time.monotonic() + timeout
    parts = urlsplit(url)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", "/robots.txt")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up in {timeout}s")


@contextlib.contextmanager
def gunicorn_server(
    releases: Path,
    log: Path,
    *,
    workers: int = 2,
    threads: int = 8,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """``pledge-lod serve`` on 127.0.0.1 (gunicorn, as in production); stopped after."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "pledge_lod", "serve",
                "--releases", str(releases),
                "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--threads", str(threads),
            ],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc)
        yield Server(url, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_load(
    url: str,
    out: Path,
    *,
    clients: int,
    duration: float,
    watch: list[str] = (),  # type: ignore[assignment]
    titles: list[str] = (),  # type: ignore[assignment]
    stop_file: Path | None = None,
    sparql_concurrency: int = 2,
    seed: int = 1,
) -> subprocess.Popen[str]:
    """The load generator, in its own process."""
    args = [
        sys.executable, str(LOAD),
        "--url", url, "--clients", str(clients), "--duration", str(duration),
        "--out", str(out), "--sparql-concurrency", str(sparql_concurrency), "--seed", str(seed),
    ]  # fmt: skip
    for path in watch:
        args += ["--watch", path]
    for title in titles:
        args += ["--title", title]
    if stop_file is not None:
        args += ["--stop-file", str(stop_file)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def load_result(proc: subprocess.Popen[str], out: Path, timeout: float) -> dict:
    """Wait for the generator (bounded) and read its result."""
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        output, _ = proc.communicate()
        raise AssertionError(f"the load generator did not stop in {timeout}s: {output}") from None
    assert proc.returncode == 0, output
    return json.loads(out.read_text(encoding="utf-8"))


def summary(result: dict) -> str:
    lat = result["latency_ms"]
    return (
        f"{result['requests']} requests in {result['duration_s']:.1f} s "
        f"({result['rps']:.0f}/s) from {result['clients']} clients: "
        f"p50 {lat['p50']:.1f} ms, p90 {lat['p90']:.1f} ms, p99 {lat['p99']:.1f} ms, "
        f"max {lat['max']:.0f} ms; failures {result['failures']}, "
        f"SPARQL refused {result['sparql_refused']}, retried {result['retried']}"
    )


