"""Each kind of bad data is caught by `validate` and `build`, located as FILE: record: field."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from support.paths import ROOT
from support.processes import run_cli
from support.releases import build_release, copy_data

BASE = "http://127.0.0.1:8766"
STRASENI = "pledges/municipality-of-straseni.yaml"
GHANA = "pledges/boosting-green-employment-and-enterprise-opportunities-in.yaml"


def edit(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(data: Path) -> None:
        path = data / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


# (what is wrong, how to break the data, file, record, field, words the message must hold)
CASES = [
    (
        "pledge without title",
        edit(STRASENI, "title: Municipality of Straseni\n", ""),
        STRASENI,
        "municipality-of-straseni",
        "title",
        "title",
    ),
    (
        "pledge without locality",
        edit(STRASENI, "locality: straseni\n", ""),
        STRASENI,
        "municipality-of-straseni",
        "locality",
        "locality",
    ),
    (
        "pledge without submitter",
        edit(STRASENI, "submitter: anqi-zhang\nsubmitter_verified: true\n", ""),
        STRASENI,
        "municipality-of-straseni",
        "submitter_verified",
        "write `submitter:`",
    ),
    (
        "verified submission without a submitter",
        edit(GHANA, "submitter_verified: false", "submitter_verified: true"),
        GHANA,
        "boosting-green-employment-and-enterprise-opportunities-in",
        "submitter",
        "submitter",
    ),
    (
        "goal that is not one of the 17",
        edit(STRASENI, "goals:\n- 5\n", "goals:\n- 18\n"),
        STRASENI,
        "municipality-of-straseni",
        "goals",
        "goal",
    ),
    (
        "target that is not one of the 169",
        edit(STRASENI, "goals:\n- 5\n", "goals:\n- 5\ntargets: ['10.99']\n"),
        STRASENI,
        "municipality-of-straseni",
        "targets",
        "target",
    ),
    (
        "impossible date",
        edit(STRASENI, "goals:\n", "shared: '2023-02-30'\ngoals:\n"),
        STRASENI,
        "municipality-of-straseni",
        "shared",
        "date",
    ),
    (
        "malformed date",
        edit(STRASENI, "goals:\n", "start: next spring\ngoals:\n"),
        STRASENI,
        "municipality-of-straseni",
        "start",
        "date",
    ),
    (
        "end before start",
        edit(STRASENI, "goals:\n", "start: 2024\nend: 2020\ngoals:\n"),
        STRASENI,
        "municipality-of-straseni",
        "end",
        "end",
    ),
    (
        "place without a country",
        edit("places.yaml", "  level: municipality\n  country: spain\n", "  level: municipality\n"),
        "places.yaml",
        "terrassa",
        "country",
        "country",
    ),
    (
        "link to a resource of the wrong class",
        edit("places.yaml", "  country: spain\n", "  country: dallas\n"),
        "places.yaml",
        "terrassa",
        "country",
        "country",
    ),
    (
        "wrong language tag",
        edit(STRASENI, "language: en", "language: xx"),
        STRASENI,
        "municipality-of-straseni",
        "language",
        "language",
    ),
    (
        "ill-formed language tag",
        edit(STRASENI, "language: en", "language: not a tag"),
        STRASENI,
        "municipality-of-straseni",
        "language",
        "language",
    ),
    (
        "wrong datatype",
        edit(STRASENI, "submitter_verified: true", "submitter_verified: 'yes'"),
        STRASENI,
        "municipality-of-straseni",
        "submitter_verified",
        "true or false",
    ),
    (
        "unknown theme",
        edit(STRASENI, "goals:\n", "themes: [no-such-theme]\ngoals:\n"),
        STRASENI,
        "municipality-of-straseni",
        "themes",
        "theme",
    ),
    (
        "unknown objective",
        edit(STRASENI, "goals:\n", "gcm_objectives: [99]\ngoals:\n"),
        STRASENI,
        "municipality-of-straseni",
        "gcm_objectives",
        "objective",
    ),
    (
        "unknown kind",
        edit(STRASENI, "kind: pledge", "kind: promise"),
        STRASENI,
        "municipality-of-straseni",
        "kind",
        "kind",
    ),
    (
        "duplicate key",
        edit(STRASENI, "goals:\n", "title: again\ngoals:\n"),
        STRASENI,
        "municipality-of-straseni",
        "-",
        "duplicate key",
    ),
    (
        "not YAML",
        edit(STRASENI, "goals:\n", "goals: [5\n"),
        STRASENI,
        "municipality-of-straseni",
        "-",
        "not valid YAML",
    ),
]


@pytest.mark.parametrize(
    ("break_data", "file", "record", "field", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_violation_is_reported_and_nothing_published(
    tmp_path: Path,
    break_data: Callable[[Path], None],
    file: str,
    record: str,
    field: str,
    words: str,
) -> None:
    data = copy_data(tmp_path / "data")
    break_data(data)
    result = run_cli("validate", "--quiet", "--data", str(data), "--base", BASE,
                     "--releases", str(tmp_path / "check"))  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    pattern = re.compile(
        rf"^data/{re.escape(file)}: {re.escape(record)}: {re.escape(field)}: (.+)$", re.M
    )
    messages = [m.group(1) for m in pattern.finditer(result.stderr)]
    assert messages, result.stderr
    assert any(words.lower() in m.lower() for m in messages), messages

    releases = tmp_path / "releases"
    built = build_release(data, releases, BASE)
    assert built.returncode == 1
    assert pattern.search(built.stderr)
    assert not (releases / "current").exists()
    assert [p for p in releases.iterdir() if not p.name.startswith(".")] == []


def test_bundled_data_is_valid(tmp_path: Path) -> None:
    result = run_cli("validate", "--quiet", "--base", BASE, "--releases", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# Shapes the compiler cannot take: the steward (or developer) is told which file and
# why, and nothing is validated against half the rules.
BROKEN_SHAPES = {
    "select that is not SPARQL": (
        "\n<#PledgeShape> sh:property <#Pledge-broken> .\n"
        '<#Pledge-broken> a sh:PropertyShape ; sh:path dcterms:spatial ; sh:name "locality" ;\n'
        "    sh:sparql [ a sh:SPARQLConstraint ;\n"
        '        sh:select "SELECT $this WHERE { $this $PATH }" ] .\n',
        "is not SPARQL",
    ),
    "construct the compiler does not take": (
        "\n<#PledgeShape> sh:closed true .\n",
        "sh:closed",
    ),
    "not Turtle": ("\n<#PledgeShape> sh:property [ .\n", "not valid Turtle"),
}


@pytest.mark.parametrize("broken", sorted(BROKEN_SHAPES))
def test_broken_shapes_are_reported_by_file(tmp_path: Path, broken: str) -> None:
    shapes = tmp_path / "shapes"
    shutil.copytree(ROOT / "shapes", shapes)
    extra, words = BROKEN_SHAPES[broken]
    with (shapes / "shapes.ttl").open("a", encoding="utf-8") as out:
        out.write(extra)
    result = run_cli(
        "validate", "--quiet", "--base", BASE, "--releases", str(tmp_path / "releases"),
        env={"PLEDGE_LOD_SHAPES_DIR": str(shapes)},
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    reported = [line for line in result.stderr.splitlines() if line.startswith(str(shapes))]
    assert len(reported) == 1, result.stderr
    assert words in reported[0]
