"""OpenRefine, a real client of the Reconciliation Service: Debian's ``openrefine`` (3.6)
started headless on 127.0.0.1 with a fresh workspace, and a small client of the HTTP API
its own web page uses (the commands under ``/command/core/``).

The parameters follow OpenRefine 3.6's source: ``CreateProjectCommand`` reads the CSRF
token, the format and the parser options from the URL and the file from the multipart
body, and answers with a redirect to ``/project?project=<id>``; ``ApplyOperationsCommand``
takes the token and a JSON list of operations as form fields and queues each as a process
(a reconciliation or a data extension runs in the background, so :meth:`OpenRefine.wait`
polls ``get-processes`` until the queue is empty); ``get-rows`` answers the cells with
their reconciliation ids and a pool of the reconciliation objects they refer to.

Missing OpenRefine: the tests skip, except in CI (``CI=true``), where it is a failure
(``make tools`` / tests/tools/install.sh installs Debian's openrefine).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from support.processes import free_port

OPENREFINE = shutil.which("openrefine")
#: A start takes some 20 s on an idle machine; much longer on a loaded one.
START_TIMEOUT = 180.0
#: One HTTP call to OpenRefine (its own calls to our service happen in the background).
CALL_TIMEOUT = 30.0


class OpenRefineError(RuntimeError):
    """OpenRefine did not start, refused a command, or a process did not finish."""


def require_openrefine() -> None:
    """Skip (fail in CI) when OpenRefine is not installed."""
    if OPENREFINE:
        return
    import pytest

    message = ("OpenRefine is not installed (openrefine): run tests/tools/install.sh"
               " or apt-get install openrefine")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Cell:
    """A cell as ``get-rows`` gives it, with its reconciliation resolved from the pool."""

    value: Any
    judgment: str | None = None
    match: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)


class OpenRefine:
    """The HTTP API of one running OpenRefine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def _check(self, resp: requests.Response, what: str) -> requests.Response:
        if resp.status_code >= 400:
            raise OpenRefineError(f"{what}: HTTP {resp.status_code}: {resp.text[:500]}")
        return resp

    def _json(self, resp: requests.Response, what: str) -> Any:
        data = self._check(resp, what).json()
        if isinstance(data, dict) and data.get("code") == "error":
            raise OpenRefineError(f"{what}: {data.get('message')}")
        return data

    def version(self) -> str:
        resp = self.http.get(self.url + "/command/core/get-version", timeout=CALL_TIMEOUT)
        return self._json(resp, "get-version")["version"]

    def csrf_token(self) -> str:
        """A fresh token; OpenRefine wants one on every state-changing command."""
        resp = self.http.get(self.url + "/command/core/get-csrf-token", timeout=CALL_TIMEOUT)
        return self._json(resp, "get-csrf-token")["token"]

    def create_project(self, name: str, csv_text: str) -> int:
        """A project from a UTF-8 CSV with one header line; its id."""
        options = {"separator": ",", "encoding": "UTF-8", "headerLines": 1,
                   "guessCellValueTypes": False, "processQuotes": True}
        resp = self.http.post(
            self.url + "/command/core/create-project-from-upload",
            params={"csrf_token": self.csrf_token(), "project-name": name,
                    "format": "text/line-based/*sv", "options": json.dumps(options)},
            files={"project-file": ("names.csv", csv_text.encode("utf-8"), "text/csv")},
            allow_redirects=False,
            timeout=CALL_TIMEOUT,
        )
        location = self._check(resp, "create-project-from-upload").headers.get("Location", "")
        project = parse_qs(urlsplit(location).query).get("project")
        if resp.status_code not in (301, 302, 303) or not project:
            raise OpenRefineError(f"create-project-from-upload did not create a project: "
                                  f"HTTP {resp.status_code} {location!r} {resp.text[:500]}")
        return int(project[0])

    def apply(self, project: int, operations: list[dict[str, Any]], timeout: float) -> None:
        """Apply the operations as OpenRefine's "Apply operation history" does, then wait
        for the processes they start (a reconciliation, a data extension) to finish."""
        resp = self.http.post(
            self.url + "/command/core/apply-operations",
            params={"project": project},
            data={"csrf_token": self.csrf_token(), "operations": json.dumps(operations)},
            timeout=CALL_TIMEOUT,
        )
        self._json(resp, "apply-operations")
        self.wait(project, timeout)

    def wait(self, project: int, timeout: float) -> None:
        """Until the project's process queue is empty (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.http.get(self.url + "/command/core/get-processes",
                                 params={"project": project}, timeout=CALL_TIMEOUT)
            processes = self._json(resp, "get-processes").get("processes", [])
            if not processes:
                return
            if time.monotonic() > deadline:
                raise OpenRefineError(f"processes still running after {timeout}s: {processes}")
            time.sleep(0.5)

    def model(self, project: int) -> dict[str, Any]:
        """The project's models: its columns (with their reconciliation configuration)."""
        resp = self.http.get(self.url + "/command/core/get-models",
                             params={"project": project}, timeout=CALL_TIMEOUT)
        return self._json(resp, "get-models")

    def columns(self, project: int) -> dict[str, int]:
        """Each column's name -> the index of its cells in a row."""
        model = self.model(project)["columnModel"]
        return {c["name"]: c["cellIndex"] for c in model["columns"]}

    def rows(self, project: int, limit: int = 100) -> list[dict[str, Cell | None]]:
        """The project's rows as column name -> cell (None for a blank cell)."""
        columns = self.columns(project)
        resp = self.http.post(self.url + "/command/core/get-rows",
                              params={"project": project, "start": 0, "limit": limit},
                              timeout=CALL_TIMEOUT)
        data = self._json(resp, "get-rows")
        recons = data.get("pool", {}).get("recons", {})
        out = []
        for row in data["rows"]:
            cells = row["cells"]
            out.append({
                name: _cell(cells[i], recons) if i < len(cells) and cells[i] else None
                for name, i in columns.items()
            })
        return out


def _cell(raw: dict[str, Any], recons: dict[str, Any]) -> Cell:
    recon = recons.get(raw["r"]) if "r" in raw else None
    if recon is None:
        return Cell(raw.get("v"))
    return Cell(raw.get("v"), recon.get("j"), recon.get("m"), recon.get("c") or [])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """The whole process group: the launcher scripts and the JVM they start."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_until_up(client: OpenRefine, proc: subprocess.Popen[bytes], log: Path,
                   timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            client.version()
            return
        except (requests.RequestException, OpenRefineError, ValueError):
            time.sleep(0.5)
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    state = f"exited with {proc.returncode}" if proc.poll() is not None else (
        f"did not answer in {timeout:.0f}s")
    raise OpenRefineError(f"OpenRefine at {client.url} {state}; its log ends:\n{tail}")


@contextlib.contextmanager
def openrefine(workspace: Path, *, timeout: float = START_TIMEOUT) -> Iterator[OpenRefine]:
    """OpenRefine on 127.0.0.1 and a free port, its workspace (``-d``) and home in
    ``workspace``, headless (no browser); its whole process group is stopped after."""
    if not OPENREFINE:
        raise OpenRefineError("OpenRefine is not installed (openrefine)")
    (workspace / "data").mkdir(parents=True, exist_ok=True)
    log = workspace / "openrefine.log"
    port = free_port()
    env = {**os.environ, "HOME": str(workspace), "JAVA_OPTIONS": "-Drefine.headless=true"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [OPENREFINE, "-i", "127.0.0.1", "-p", str(port), "-d", str(workspace / "data"),
             "-m", "768M", "-v", "warn"],
            cwd=workspace, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = OpenRefine(f"http://127.0.0.1:{port}")
    try:
        _wait_until_up(client, proc, log, timeout)
        yield client
    finally:
        client.http.close()
        _stop(proc)
