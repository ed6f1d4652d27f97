"""A private Virtuoso for the tests: its own database in a temporary folder, bound to
127.0.0.1 on free ports, started with ``virtuoso-t -f`` and stopped cleanly.

The ``dba`` password is changed from the default and a user ``pledge`` is created with
the SPARQL_UPDATE role (what ``/sparql-auth`` and ``/sparql-graph-crud-auth`` need), both
followed by a ``checkpoint`` so that they survive a restart. Anonymous ``/sparql`` stays
read-only.

Missing Virtuoso: the tests skip, except in CI (``CI=true``), where it is a failure
(``make tools`` / tests/tools/install.sh installs Debian's virtuoso-opensource).

The benchmark (``python -m bench``, importing this module as ``tests.support.virtuoso``)
runs the same class outside pytest, so pytest is imported only by
:func:`require_virtuoso`, and the class itself raises :class:`VirtuosoMissing`. The
benchmark also sizes the buffer pool and the query time limit for its larger data; the
defaults are the tests' small settings. """

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

VIRTUOSO = shutil.which("virtuoso-t")
ISQL = shutil.which("isql-vt") or shutil.which("isql-v")
VAD_DIR = Path("/usr/share/virtuoso-opensource-7/vad")


class VirtuosoMissing(RuntimeError):
    """virtuoso-t or isql-vt is not installed; the message says how to install them."""


def missing() -> str | None:
    """Why Virtuoso cannot run here (a message naming the installer), or None."""
    if VIRTUOSO and ISQL:
        return None
    return ("Virtuoso is not installed (virtuoso-t and isql-vt): run tests/tools/install.sh"
            " or apt-get install virtuoso-opensource")


def require_virtuoso() -> None:
    """Skip (fail in CI) when Virtuoso is not installed."""
    message = missing()
    if message is None:
        return
    import pytest  # here, not at the top: the benchmark uses this module without pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


INI = """\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 20
CheckpointInterval = 60
O_DIRECT = 0
CaseMode = 2
DirsAllowed = ., {d}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty_buffers}
ThreadsPerQuery = 2
AsyncQueueMaxThreads = 4

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {d}/www
MaxClientConnections = 20
ServerThreads = 20
MaxKeepAlives = 10
KeepAliveTimeout = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryCostEstimationTime = 400
MaxQueryExecutionTime = {max_query_s}
"""


class Virtuoso:
    """One private Virtuoso instance."""

    user = "pledge"

    def __init__(self, folder: Path, *, buffers: int = 10000, max_query_s: int = 60):
        """``buffers``: 8 KB pages of Virtuoso's buffer pool (10,000 = 80 MB is plenty for
        the bundled data; the benchmark gives more). ``max_query_s``: the store's own
        limit on one query (MaxQueryExecutionTime)."""
        message = missing()
        if message is not None:
            raise VirtuosoMissing(message)
        self.folder = folder
        self.buffers = buffers
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "www").mkdir(exist_ok=True)
        self.sql_port = _free_port()
        self.http_port = _free_port()
        self.dba_password = "dba"
        self.password = secrets.token_hex(8)
        self.process: subprocess.Popen[bytes] | None = None
        self._configured = False
        self._paused = False
        (self.folder / "virtuoso.ini").write_text(
            INI.format(d=self.folder, sql_port=self.sql_port, http_port=self.http_port,
                       buffers=buffers, dirty_buffers=buffers * 3 // 5,
                       max_query_s=max_query_s))

    # -- URLs -------------------------------------------------------------------------------

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def query_url(self) -> str:
        return self.root + "/sparql"

    @property
    def update_url(self) -> str:
        return self.root + "/sparql-auth"

    @property
    def gsp_url(self) -> str:
        return self.root + "/sparql-graph-crud-auth"

    # -- life cycle -------------------------------------------------------------------------

    def start(self, timeout: float = 90) -> None:
        assert VIRTUOSO is not None
        if self.process is not None and self.process.poll() is None:
            return
        log = (self.folder / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [VIRTUOSO, "-f", "-c", str(self.folder / "virtuoso.ini")],
            cwd=self.folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._wait_up(timeout)
        if not self._configured:
            self._configure()

    def _wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = self.query_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso exited with {self.process.returncode}:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError:
                pass
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"virtuoso did not come up in {timeout:g} s:\n" + self.log_tail())

    def isql(self, sql: str, password: str | None = None, timeout: float = 60) -> str:
        assert ISQL is not None
        result = subprocess.run(
            [ISQL, f"127.0.0.1:{self.sql_port}", "dba", password or self.dba_password,
             f"exec={sql}"],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        out = result.stdout + result.stderr
        if result.returncode != 0 or "*** Error" in out:
            raise RuntimeError(f"isql failed: {sql}\n{out}")
        return out

    def _configure(self) -> None:
        new_dba = secrets.token_hex(8)
        self.isql(
            f"DB.DBA.USER_CREATE('{self.user}', '{self.password}'); "
            f"GRANT SPARQL_UPDATE TO \"{self.user}\"; "
            f"DB.DBA.USER_CHANGE_PASSWORD('dba', 'dba', '{new_dba}'); checkpoint;"
        )
        self.dba_password = new_dba
        self._configured = True

    def stop(self, timeout: float = 30) -> None:
        """A clean shutdown (checkpoint), else SIGTERM, else SIGKILL."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            self.process = None
            return
        if self._paused:
            self.resume()
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.isql("shutdown;", timeout=timeout)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it accepts connections but never answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)
        self._paused = False

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("virtuoso.log", "stdout.log"):
            path = self.folder / name
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    # -- settings for the app and the publisher ---------------------------------------------

    def env(self) -> dict[str, str]:
        return {
            "PLEDGE_LOD_BACKEND": "remote",
            "PLEDGE_LOD_REMOTE_QUERY_URL": self.query_url,
            "PLEDGE_LOD_REMOTE_UPDATE_URL": self.update_url,
            "PLEDGE_LOD_REMOTE_GSP_URL": self.gsp_url,
            "PLEDGE_LOD_REMOTE_USER": self.user,
            "PLEDGE_LOD_REMOTE_PASSWORD": self.password,
        }
