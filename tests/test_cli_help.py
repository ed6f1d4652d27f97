"""What a newcomer reads first: ``make help``, each command's ``--help``, ``serve``'s line."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support.paths import ROOT
from support.processes import run_cli

#: Which shared options each command uses (and so shows).
USES = {
    "validate": {"--base", "--data", "--releases"},
    "build": {"--base", "--data", "--releases"},
    "diff": {"--data", "--releases"},
    "import": {"--data"},
    "synth": {"--data"},
    "query": {"--releases"},
    "serve": {"--base", "--releases"},
    "publish": {"--releases"},
}


def _help(command: str) -> str:
    done = run_cli(command, "--help", env={"COLUMNS": "200"}, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _option_line(text: str, option: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(option + " "))


@pytest.mark.parametrize("command", sorted(USES))
def test_each_command_says_what_it_does_and_only_its_options(command: str) -> None:
    text = _help(command)
    _usage, _, rest = text.partition("\n\n")
    description = rest.split("\n\n", 1)[0]
    assert not description.startswith(("options:", "positional arguments:")), text
    assert len(description.split()) >= 12, description
    shown = {o for o in ("--base", "--data", "--releases") if f" {o} " in text}
    assert shown == USES[command], text
    assert "None" not in text, text


@pytest.mark.parametrize("command", sorted(USES))
def test_defaults_are_the_real_ones(command: str) -> None:
    text = _help(command)
    if "--data" in USES[command]:
        assert _option_line(text, "--data").endswith("(default: data)")
    if "--releases" in USES[command]:
        assert _option_line(text, "--releases").endswith("(default: releases)")
    if "--base" in USES[command] and command != "serve":
        assert _option_line(text, "--base").endswith("(default: http://127.0.0.1:8080)")


def test_a_base_from_the_environment_is_the_default_shown() -> None:
    done = run_cli("build", "--help", env={"COLUMNS": "200",
                                           "PLEDGE_LOD_BASE": "https://data.example.org"})
    assert _option_line(done.stdout, "--base").endswith("(default: https://data.example.org)")


def test_serve_says_once_where_it_serves(live_server: str, releases_dir: Path) -> None:
    log = (releases_dir.parent / "server.log").read_text(encoding="utf-8")
    first = log.splitlines()[0]
    assert first == f"pledge-lod serve: serving {live_server}/ (gunicorn)", first


def test_make_help_lists_the_targets_with_their_comments() -> None:
    if shutil.which("make") is None:
        pytest.fail("make is not installed: the quick start needs it")
    done = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    listed = dict(re.findall(r"^make (\S+) +(.+)$", done.stdout, re.M))
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z][a-z-]*):", makefile, re.M)
    assert set(listed) == set(targets), done.stdout
    assert listed["serve"].startswith("Set up, build the bundled data and serve it on "
                                      "http://127.0.0.1:8080")
    assert "$(" not in done.stdout
