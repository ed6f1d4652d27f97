"""Shared helpers of the SPARQL tests (no tests here): a test release, live servers.

The test release is the bundled data built as usual, plus the W3C protocol suite's data
files loaded into the named graphs the manifest uses (``ut:graphData`` labels such as
``http://kasei.us/2009/09/sparql/data/data1.rdf``). They are added after the build by
opening the fresh release's store read-write, before any server opens it; the build
itself is untouched.

The live server is ``pledge-lod serve`` when that command exists, else a Werkzeug
server in a thread running the endpoint's blueprint (the fallback keeps these tests
meaningful while the web app is written). One server is shared by every SPARQL test
module of a pytest process, stopped at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
import rdflib

from support.paths import DATA, ROOT, W3C
from support.processes import free_port, run_cli, wait_until_up
from support.releases import build_release

PROTOCOL_DIR = W3C / "protocol"
SD_DIR = W3C / "service-description"
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
#: Settings of the test servers: short limits so that the limit tests run fast.
TEST_ENV = {
    "PLEDGE_LOD_QUERY_TIMEOUT_S": "2",
    "PLEDGE_LOD_MAX_CONCURRENT_QUERIES": "2",
    "PLEDGE_LOD_MAX_QUERIES_PER_CLIENT": "2",
    "PLEDGE_LOD_QUERY_QUEUE_WAIT_S": "1",
}


def w3c_graphs() -> dict[str, Path]:
    """Graph name -> data file, as the protocol manifest's ut:graphData say."""
    g = rdflib.Graph().parse(PROTOCOL_DIR / "manifest.ttl", format="turtle",
                             publicID=PROTOCOL_DIR.as_uri() + "/manifest.ttl")
    out: dict[str, Path] = {}
    for data in g.objects(None, UT.graphData):
        file = g.value(data, UT.graph)
        label = g.value(data, rdflib.RDFS.label)
        assert file is not None and label is not None
        out[str(label)] = Path(str(file).removeprefix("file://"))
    return out


def add_graphs(release_store: Path, graphs: dict[str, Path]) -> None:
    """Load each file into its named graph of a release store nobody has open yet."""
    store = pyoxigraph.Store(str(release_store))
    for name, path in graphs.items():
        store.load(path=str(path), format=pyoxigraph.RdfFormat.N_TRIPLES,
                   to_graph=pyoxigraph.NamedNode(name))
    store.flush()
    del store


@functools.cache
def make_test_release(base: str) -> Path:
    """A releases folder for ``base`` with the W3C graphs added; built once per process."""
    folder = Path(tempfile.mkdtemp(prefix="sparql-releases-"))
    result = build_release(DATA, folder, base)
    assert result.returncode == 0, result.stderr
    add_graphs(folder / "current" / "store", w3c_graphs())
    return folder


def serve_available() -> bool:
    return run_cli("serve", "--help", timeout=60).returncode == 0


@dataclass
class Server:
    """A running server: its base URL and the process ids to watch."""

    url: str
    releases: Path
    pid: int
    process: subprocess.Popen[bytes] | None = None
    stop_hooks: list = field(default_factory=list)

    def stop(self) -> None:
        for hook in self.stop_hooks:
            hook()
        if self.process is not None:
            stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then after ``grace`` seconds SIGKILL the process and everything below it
    (a gunicorn worker can hang in RocksDB's teardown at exit; see the report)."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        for pid in descendants(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        process.kill()
        process.wait()


def _start_subprocess(releases: Path, port: int, env: dict[str, str]) -> Server:
    url = f"http://127.0.0.1:{port}"
    log = releases / "server.log"
    out = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pledge_lod", "serve", "--releases", str(releases),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env},
    )
    wait_until_up(url + "/sparql", process)
    server = Server(url, releases, process.pid, process)
    server.stop_hooks.append(out.close)
    return server


def minimal_app(releases: Path, **overrides: object):
    """The app with the endpoint: the project's ``create_app`` when it exists, else a
    Flask app with only the SPARQL blueprint (and the package's templates/static).
    ``app.extensions["sparql_endpoint"]`` is the endpoint object either way."""
    import flask

    import pledge_lod
    from pledge_lod.config import Settings
    from pledge_lod.store import open_store

    env = {k.removeprefix("PLEDGE_LOD_").lower(): v for k, v in TEST_ENV.items()}
    settings = Settings().with_overrides(releases_dir=releases, **{**env, **overrides})
    try:
        from pledge_lod.web import create_app
    except ImportError:
        create_app = None
    if create_app is not None:
        app = create_app(settings)
    else:
        from pledge_lod.sparql import create_blueprint

        package = Path(pledge_lod.__file__).parent
        app = flask.Flask("pledge_lod", template_folder=str(package / "templates"),
                          static_folder=str(package / "static"))
        app.register_blueprint(create_blueprint(settings, open_store(settings)))

        @app.get("/id/place/peru")
        def ping() -> str:  # stands in for dereferencing while the web app is written
            return "pong"

    app.extensions["sparql_endpoint"] = app.blueprints["sparql"].sparql_endpoint
    return app


def _start_thread(releases: Path, port: int) -> Server:
    from werkzeug.serving import make_server

    app = minimal_app(releases)
    httpd = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url + "/sparql")
    server = Server(url, releases, os.getpid())

    def stop() -> None:
        httpd.shutdown()
        app.extensions["sparql_endpoint"].executor.close()

    server.stop_hooks.append(stop)
    return server


_lock = threading.Lock()
_servers: dict[str, Server] = {}


def shared_server() -> Server:
    """The SPARQL test server of this process (started on first use)."""
    with _lock:
        if "main" not in _servers:
            port = free_port()
            releases = make_test_release(f"http://127.0.0.1:{port}")
            if serve_available():
                _servers["main"] = _start_subprocess(releases, port, TEST_ENV)
            else:
                _servers["main"] = _start_thread(releases, port)
            atexit.register(_servers["main"].stop)
        return _servers["main"]


def dereference_url(server: Server) -> str:
    """A URL that is not SPARQL: a place's IRI (303 to its document)."""
    return server.url + "/id/place/peru"


# -- processes -------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def query_workers(pid: int) -> list[int]:
    """The query worker processes below ``pid``."""
    found = []
    for child in descendants(pid):
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"pledge_lod.store.embedded.query_process" in cmdline:
                found.append(child)
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU time used so far by the given processes (gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# -- a listener that records connections ---------------------------------------------------


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@contextlib.contextmanager
def listening() -> Iterator[Listener]:
    listener = Listener()
    try:
        yield listener
    finally:
        listener.close()


def wait_for(predicate, timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout``; bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
