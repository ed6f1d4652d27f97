"""The fast YAML reader gives exactly what PyYAML's full safe loader gives.

``yaml_reader`` builds documents straight from the parser's events for the plain subset
of YAML and hands everything else to the full loader. These tests hold it to the full
loader on random documents in every style PyYAML writes, on hand-written edge cases
(tags, anchors, merge keys, duplicate keys, odd scalars, syntax errors), and check that
the curated data and ``pledge-lod synth`` output stay on the fast path.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pledge_lod.ingest.yaml_reader import SafeLoader, YamlError, _load_plain, _NotPlain, load_yaml

ROOT = Path(__file__).resolve().parents[1]


def _reference(text: str) -> list[Any] | str:
    """What the full loader makes of ``text``: its documents, or its error message."""
    try:
        docs = list(yaml.load_all(text, Loader=SafeLoader))
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError):
        return _error(lambda: load_yaml(text, "f"))
    return [d for d in docs if d is not None]


def _error(read: Any) -> str:
    with pytest.raises(YamlError) as caught:
        read()
    return f"error: {caught.value}"


def _same(a: Any, b: Any) -> bool:
    """Equal, types and key order included (1 is not True nor 1.0), NaN equal to NaN;
    iterative, for the deeply nested cases."""
    pairs = [(a, b)]
    while pairs:
        x, y = pairs.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, list):
            if len(x) != len(y):
                return False
            pairs.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            pairs.extend((x[k], y[k]) for k in x)
        elif x != y and not (isinstance(x, float) and math.isnan(x) and math.isnan(y)):
            return False
    return True


def _check(text: str) -> None:
    expected = _reference(text)
    try:
        got: Any = load_yaml(text, "f")
    except YamlError as exc:
        got = f"error: {exc}"
    assert _same(got, expected), (text[:300], got, expected)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(
        ["2023-02-30", "2023-02-03", "0x1F", "0o17", "1_000", "1e400", "-.inf", ".NaN", "~",
         "null", "Null", "yes", "No", "on", "OFF", "5", "10.7", "1:20", "<<", "=", "", " ",
         "terrassa", "- x", "a: b", "#c", "'q'", '"d"', "!t", "&a", "*a", "%p", "@", "`"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(scalars, inner, max_size=4)
    ),
    max_leaves=16,
)
styles = st.fixed_dictionaries(
    {
        "default_flow_style": st.sampled_from([False, True, None]),
        "default_style": st.sampled_from([None, "'", '"', "|", ">"]),
        "explicit_start": st.booleans(),
        "explicit_end": st.booleans(),
        "allow_unicode": st.booleans(),
        "width": st.sampled_from([20, 80, 10_000]),
    }
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(values, min_size=1, max_size=3), style=styles)
def test_random_documents_read_as_the_full_loader_reads_them(docs: list, style: dict) -> None:
    _check(yaml.dump_all(docs, Dumper=yaml.SafeDumper, **style))


EDGE_CASES = [
    "",
    "---\n...\n",
    "--- \n...\n---\n- 1\n",
    "# only a comment\n",
    "a: 1\nb: yes\nc: 2023-02-30\nd: ~\ne: \"x\"\nf: 1.5\ng:\n",
    "a: 0x1F\nb: 1_000\nc: .inf\nd: !!str 5\n",
    "a: &x 1\nb: *x\n",
    "- &l [1, 2]\n- *l\n",
    "<<: {a: 1}\nb: 2\n",
    "a: 1\na: 2\n",
    "a: 1\n'a': 2\n",
    "yes: 1\ntrue: 2\n",
    "1: a\n1.0: b\n",
    "? [a]\n: 1\n",
    "? {a: 1}\n: 1\n",
    "? a\n: 1\n",
    "a: [1, 2\n",
    "- ! 5\n- ! x\n",
    "- !foo x\n",
    "!!map {a: 1}\n",
    "--- !!seq\n- 1\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x, y}\n",
    "a: !!omap [x: 1]\n",
    "id: " + "9" * 5000 + "\n",
    "[" * 40 + "]" * 40,
    "[" * 120 + "]" * 120,
    "[" * 5000 + "]" * 5000,
    "a: |\n  line\n  other\nb: >\n  folded\n  text\n",
    "\ufeffid: bom\n",
    "%YAML 1.1\n---\nid: v\n",
    "a: b\n\tc: tab\n",
    "- 1\n- [2]\n- {id: z}\n",
    "=: value\n",
    "a: =\n",
]


@pytest.mark.parametrize("text", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases_read_as_the_full_loader_reads_them(text: str) -> None:
    _check(text)


def test_a_duplicate_key_is_still_an_error_with_its_position() -> None:
    with pytest.raises(YamlError, match=r"f \(line 3, column 1\): .*duplicate key 'title'"):
        load_yaml("id: a\ntitle: x\ntitle: y\n", "f")


def test_curated_and_synthetic_pledges_take_the_fast_path(tmp_path: Path) -> None:
    # The speed of a large build rests on this: every bundled file and every file
    # `pledge-lod synth` writes is read without the full loader.
    out = tmp_path / "synth"
    subprocess.run(
        [sys.executable, "-m", "pledge_lod", "synth", "--pledges", "300", "--seed", "3",
         "--out", str(out)],
        check=True, capture_output=True,
    )
    files = sorted((ROOT / "data").rglob("*.yaml")) + sorted(out.rglob("*.yaml"))
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            fast = _load_plain(text)
        except _NotPlain:  # pragma: no cover - the failure this test is for
            pytest.fail(f"{path} is read by the full loader")
        assert _same([d for d in fast if d is not None], _reference(text)), path
