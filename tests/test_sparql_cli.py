"""``pledge-lod query``: on the release and on a live endpoint, tables and formats."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import rdflib

from support.paths import ROOT
from support.processes import run_cli
from support.sparql import Server, shared_server

pytestmark = pytest.mark.slow  # the slow tier: the CLI and the shared server in subprocesses

NAMES = ("PREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"
         "SELECT ?agent ?name WHERE { ?agent foaf:name ?name } ORDER BY ?name LIMIT 3")


@pytest.fixture(scope="module")
def server() -> Server:
    return shared_server()


def query(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pledge_lod", "query", *args], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_a_table_from_the_release(server: Server) -> None:
    done = run_cli("query", "--releases", str(server.releases), NAMES)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["agent", "name"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 3 + 3 and lines[-1] == "(3 rows)"
    assert lines[2].startswith(f"{server.url}/id/agent/")


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_result_formats(server: Server, fmt: str) -> None:
    done = run_cli("query", "--releases", str(server.releases), "--format", fmt, NAMES)
    assert done.returncode == 0, done.stderr
    result = rdflib.query.Result.parse(io.BytesIO(done.stdout.encode()), format=fmt)
    assert len(list(result)) == 3


@pytest.mark.parametrize("fmt,parse_as", [("ttl", "turtle"), ("nt", "nt"), ("rdf", "xml"),
                                          ("jsonld", "json-ld")])
def test_graph_formats(server: Server, fmt: str, parse_as: str) -> None:
    text = "CONSTRUCT WHERE { ?s a <http://xmlns.com/foaf/0.1/Person> }"
    done = run_cli("query", "--releases", str(server.releases), "--format", fmt, text)
    assert done.returncode == 0, done.stderr
    assert len(rdflib.Graph().parse(data=done.stdout, format=parse_as)) >= 1


def test_query_from_a_file_and_from_stdin(server: Server, tmp_path: Path) -> None:
    file = tmp_path / "q.rq"
    file.write_text("ASK { ?s ?p ?o }", encoding="utf-8")
    done = query("--releases", str(server.releases), f"@{file}")
    assert done.returncode == 0 and done.stdout.strip() == "true"
    done = query("--releases", str(server.releases), "-", stdin="ASK { <x:nothing> ?p ?o }")
    assert done.returncode == 0 and done.stdout.strip() == "false"


def test_errors_are_one_message_and_an_exit_code(server: Server, tmp_path: Path) -> None:
    done = run_cli("query", "--releases", str(server.releases), "SELECT * WHERE { ?s ?p }")
    assert done.returncode == 1
    assert "syntax error: line 1, column 25: " in done.stderr and "Traceback" not in done.stderr
    done = run_cli("query", "--releases", str(server.releases),
                   "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")
    assert done.returncode == 1 and "SERVICE is not allowed" in done.stderr
    done = run_cli("query", "--releases", str(server.releases), "--format", "csv",
                   "CONSTRUCT WHERE { ?s ?p ?o }")
    assert done.returncode == 2 and "does not fit" in done.stderr
    done = run_cli("query", "--releases", str(tmp_path / "none"), "ASK {}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    done = run_cli("query", "--releases", str(server.releases), f"@{tmp_path / 'missing.rq'}")
    assert done.returncode == 2 and "cannot read" in done.stderr


def test_against_an_endpoint(server: Server) -> None:
    endpoint = server.url + "/sparql"
    local = run_cli("query", "--releases", str(server.releases), NAMES)
    remote = run_cli("query", "--endpoint", endpoint, NAMES)
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout
    done = run_cli("query", "--endpoint", endpoint, "--format", "json", NAMES)
    assert len(json.loads(done.stdout)["results"]["bindings"]) == 3
    done = run_cli("query", "--endpoint", endpoint, "--format", "nt",
                   "CONSTRUCT WHERE { ?s a <http://xmlns.com/foaf/0.1/Person> }")
    assert done.returncode == 0
    assert len(rdflib.Graph().parse(data=done.stdout, format="nt")) >= 1
    done = run_cli("query", "--endpoint", endpoint,
                   "CONSTRUCT WHERE { ?s a <http://xmlns.com/foaf/0.1/Person> }")
    assert done.returncode == 0 and done.stdout.splitlines()[0].split() == \
        ["subject", "predicate", "object"]
    assert run_cli("query", "--endpoint", endpoint, "ASK {}").stdout.strip() == "true"


def test_endpoint_errors(server: Server) -> None:
    endpoint = server.url + "/sparql"
    done = run_cli("query", "--endpoint", endpoint, "SELECT * WHERE { ?s ?p }")
    # The server's message as it sent it, not SPARQLWrapper's exception and a bytes repr.
    assert done.returncode == 1 and done.stderr.startswith(
        f"pledge-lod query: {endpoint} answered 400 Bad Request: syntax error: line 1, "
        "column 25: "), done.stderr
    assert "\n  SELECT * WHERE { ?s ?p }\n" in done.stderr
    for noise in ("QueryBadFormed", "Response:", "b'", "\\n", "Traceback"):
        assert noise not in done.stderr, done.stderr
    done = run_cli("query", "--endpoint", "http://127.0.0.1:9/sparql", "ASK {}")
    assert done.returncode == 1 and "Traceback" not in done.stderr
