"""The compiled SHACL engine gives exactly the results of one full pyshacl run."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import pytest

from pledge_lod.ingest.yaml_reader import YamlError, read_yaml
from support.paths import DATA, ROOT
from support.processes import run_cli
from support.releases import copy_data
from test_validate import CASES

BASE = "http://127.0.0.1:8767"

# Cases that stop a record before RDF (YAML syntax, duplicate keys, bad tags) are the
# same for both engines by construction; the rest reach the shapes.
SHAPE_CASES = [
    c
    for c in CASES
    if c[0] not in {"duplicate key", "not YAML", "ill-formed language tag", "wrong datatype"}
]


def _problems(data: Path, engine: str, env: dict[str, str] | None = None) -> set[str]:
    with tempfile.TemporaryDirectory() as releases:  # no build cache shared between runs
        result = run_cli(
            "validate", "--quiet", "--engine", engine, "--data", str(data), "--base", BASE,
            "--releases", releases, timeout=600, env=env,
        )  # fmt: skip
    assert "Traceback" not in result.stderr
    return {line for line in result.stderr.splitlines() if line.startswith("data/")}


def test_engines_agree_on_many_violations(tmp_path: Path) -> None:
    """Every kind of violation at once, on the bundled data and on synthetic data."""
    data = copy_data(tmp_path / "data")
    applied = 0
    for _, break_data, file, *_ in SHAPE_CASES:
        before = (data / file).read_text(encoding="utf-8")
        try:
            break_data(data)
            read_yaml(data / file)
            applied += 1
        except (AssertionError, YamlError):  # clashes with an earlier case: undo it
            (data / file).write_text(before, encoding="utf-8")
    assert applied >= 8

    # Synthetic pledges with random damage to their values.
    synth = tmp_path / "synth"
    assert (
        run_cli(
            "synth", "--pledges", "150", "--seed", "7", "--data", str(DATA), "--out", str(synth)
        ).returncode
        == 0
    )
    rng = random.Random(3)
    damage = [
        ("kind: pledge", "kind: promise"),
        ('goals: ["5"', 'goals: ["19"'),
        ("submitter_verified: false", "submitter_verified: true"),
        ("language: en", "language: xx"),
        ('shared: "20', 'shared: "19-'),
        ("locality: synth-place-", "locality: nowhere-"),
        ("themes: [", "themes: [nope, "),
    ]
    for batch in sorted((synth / "pledges").glob("*.yaml")):
        lines = batch.read_text().split("\n- id: ")
        for i in range(len(lines)):
            if rng.random() < 0.3:
                old, new = rng.choice(damage)
                lines[i] = lines[i].replace(old, new, 1)
        (data / "pledges" / batch.name).write_text("\n- id: ".join(lines))

    compiled = _problems(data, "sparql")
    reference = _problems(data, "pyshacl")
    assert len(compiled) > 30
    assert compiled == reference


def test_engines_agree_on_valid_data() -> None:
    assert _problems(DATA, "sparql") == _problems(DATA, "pyshacl") == set()


def _locality_shape(constraints: str) -> str:
    """A shape on the places pledges link to (their locality), with its own constraints."""
    return (
        "\n<#PledgeShape> sh:property <#Pledge-locality-extra> .\n"
        "<#Pledge-locality-extra> a sh:PropertyShape ;\n"
        '    sh:path dcterms:spatial ; sh:name "locality" ;' + constraints
    )


# Shapes that read more of a linked place than its type: its name, by a nested shape's
# path or by a SPARQL constraint whose predicate is a variable. The compiled engine
# validates each file's pledges with only the registry triples its checks can read, so
# this is where leaving out too much would show. One shape at a time: either alone
# makes the engine keep the names.
PLACE_NAME_SHAPES = {
    "path": _locality_shape("""
    sh:message "the place's name starts after M"@en ;
    sh:node [ sh:property [ sh:path schema:name ; sh:minCount 1 ; sh:pattern "^[A-M]" ] ] .
"""),
    "variable": _locality_shape("""
    sh:sparql [
        a sh:SPARQLConstraint ;
        sh:message "the place's name starts with S"@en ;
        sh:select \"\"\"
            SELECT $this ?value WHERE {
                $this $PATH ?value . ?value ?p ?name .
                FILTER (?p = <https://schema.org/name> && STRSTARTS(STR(?name), "S"))
            }
            \"\"\" ] .
"""),
}


@pytest.mark.parametrize("reads", sorted(PLACE_NAME_SHAPES))
def test_engines_agree_on_shapes_reading_linked_entries(tmp_path: Path, reads: str) -> None:
    shapes = tmp_path / "shapes"
    shutil.copytree(ROOT / "shapes", shapes)
    with (shapes / "shapes.ttl").open("a", encoding="utf-8") as out:
        out.write(PLACE_NAME_SHAPES[reads])
    env = {"PLEDGE_LOD_SHAPES_DIR": str(shapes)}

    compiled = _problems(DATA, "sparql", env)
    assert compiled == _problems(DATA, "pyshacl", env)
    # Pledges of Zürich, Serbia and Salt Lake County, say, fail either shape.
    message = "starts after M" if reads == "path" else "starts with S"
    assert len([line for line in compiled if message in line]) >= 2
