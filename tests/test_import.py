"""`pledge-lod import`: listing-page text becomes draft YAML records, safely.

Most tests run the real command line in a subprocess, as a data steward would; the parser
is also tested directly on the two seed pages and, with hypothesis, on arbitrary text.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pledge_lod.ingest.importer import run_import
from pledge_lod.ingest.listing_page import parse_listing
from pledge_lod.records import slugify
from support.paths import DATA, SEEDS
from support.processes import cli

SEED_GOAL_5 = SEEDS / "000_d8debffb6e475439.txt"
SEED_LIVELIHOODS = SEEDS / "002_af7d1187fc16b4ce.txt"

AGENTS = """\
- id: anqi-zhang
  type: person
  name: Anqi ZHANG
  honorific: Ms.
"""
THEMES = """\
- id: livelihoods-and-job-creation
  label: Livelihoods and Job Creation
  source_labels: [Livelihood and Job Creation]
- id: capacity-building
  label: Capacity Building
"""
LISTINGS = f"""\
- id: gfmd-goal-5
  title: "Goal 5: Gender equality"
  term_label: "Goal 5: Gender equality"
  goal: 5
  seed_file: {SEED_GOAL_5.name}
- id: gfmd-livelihoods-and-job-creation
  title: Livelihoods and Job Creation
  term_label: Livelihoods and Job Creation
  theme: livelihoods-and-job-creation
  seed_file: {SEED_LIVELIHOODS.name}
"""

SEED_000_TITLES = [
    "Moroccan Dialect Classes in Terrassa, Spain: Equipping Teachers with Language,"
    " Intercultural, and Anti-Racist Skills",
    "Pledge of the City of Zürich to the European Pillar of Social Rights: Ensuring access to"
    " municipal services for all",
    "The City of Dallas Community Ambassador Program: Facilitating Access to Information and"
    " Services for Linguistically Diverse Communities",
    "Municipality of Straseni",
    "Carmen de La Legua: Municipal Plan of Local Action to Build a Future with Migrants and"
    " Refugees 2023 - 2026",
    "Making Migration Work for Sustainable Development (M4SD) – IOM-UNDP joint global programme",
    "National Health and Immigration Strategic Plan",
    "Whole-of-government approach in Serbia",
]
SEED_002_TITLES = [
    "The Language Services Collaborative Initiative of Salt Lake County: A Pathway to Ensure"
    " Equitable Access to Services for All Residents",
    "Strengthening Maipú’s Governance Capacity to Promote Social Inclusion of Migrants and"
    " Refugees",
    SEED_000_TITLES[2],
    "Laguna Province Establishes a One Stop Migration Resource Center",
    SEED_000_TITLES[4],
    SEED_000_TITLES[5],
    "L'Union des Ambassadeurs",
    "Boosting Green Employment and Enterprise Opportunities in Ghana",
]

# The ids of some seed items: derived once from the title, as the importer does.
DALLAS = slugify(SEED_000_TITLES[2])
CARMEN = slugify(SEED_000_TITLES[4])
M4SD = slugify(SEED_000_TITLES[5])
LAGUNA = slugify(SEED_002_TITLES[3])
UNION = slugify(SEED_002_TITLES[6])
GHANA = slugify(SEED_002_TITLES[7])
ON_BOTH_PAGES = {DALLAS, CARMEN, M4SD}
ANONYMOUS = {UNION, GHANA}


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder with the registries the importer looks things up in, and no pledges."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "agents.yaml").write_text(AGENTS, encoding="utf-8")
    (folder / "themes.yaml").write_text(THEMES, encoding="utf-8")
    (folder / "listings.yaml").write_text(LISTINGS, encoding="utf-8")
    return folder


def cli_import(data: Path, *files: Path, force: bool = False) -> tuple[str, str, int]:
    """Run ``pledge-lod import`` (in-process) and check that it never shows a traceback."""
    args = ["import", "--data", str(data), *(["--force"] if force else []), *map(str, files)]
    result = cli(*args)
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result.stdout, result.stderr, result.returncode


def records(data: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((data / "pledges").glob("*.yaml")):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert record["id"] == path.stem
        out[path.stem] = record
    return out


def snapshot(data: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((data / "pledges").glob("*"))}


def write_page(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def seed_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the parser


def test_parser_finds_every_item_of_the_goal_5_page() -> None:
    page = parse_listing(seed_text(SEED_GOAL_5), SEED_GOAL_5.name)
    assert [item.title for item in page.items] == SEED_000_TITLES
    assert page.term == "Goal 5: Gender equality"
    assert page.warnings == []
    assert [item.position for item in page.items] == list(range(1, 9))
    for item in page.items:
        assert (item.submitter, item.submitter_verified, item.anonymous) == (
            "Ms. Anqi ZHANG", True, False,
        )  # fmt: skip
        assert item.layout == "teaser"
    carmen = page.items[4]
    assert carmen.summary.split("\n\n")[1] == (
        "Contribute to the elimination of all forms of discrimination and promote"
        " evidence-based public discourse.\nPromote the mainstreaming of migration and forced"
        " displacement in municipal services, as well as in local, regional, and multilateral"
        " partnerships as a mechanism to increase cooperation between cities."
    )
    assert carmen.summary.endswith("Specifically, this plan prioritizes, among other things:")
    serbia = page.items[7].summary
    assert serbia.startswith("In Serbia, the national")  # NBSP + space made one space
    assert "Subscribe" not in serbia


def test_parser_reads_both_layouts_mixed_on_the_livelihoods_page() -> None:
    page = parse_listing(seed_text(SEED_LIVELIHOODS), SEED_LIVELIHOODS.name)
    assert [item.title for item in page.items] == SEED_002_TITLES
    assert page.term == "Livelihoods and Job Creation"
    assert page.warnings == []
    layouts = [item.layout for item in page.items]
    assert layouts == ["teaser"] * 3 + ["trailing"] * 3 + ["teaser", "trailing"]
    for item in page.items[:6]:
        assert (item.submitter, item.submitter_verified) == ("Ms. Anqi ZHANG", True)
    for item in page.items[6:]:
        assert (item.submitter, item.submitter_verified, item.anonymous) == (None, False, True)
    laguna, carmen, m4sd = page.items[3:6]
    assert laguna.summary.startswith("Laguna Province establishes a “One Stop")
    assert "Ms. Anqi ZHANG" not in carmen.summary + m4sd.summary
    assert m4sd.summary.endswith("achieving the Sustainable Development Goals.")
    assert page.items[7].summary.endswith("underlying causes of out migration.")


def test_parser_keeps_characters_but_cleans_invisible_ones() -> None:
    text = (
        "\ufeffZu\u0308rich\u200b Pledge for\u00a0\u00a0All\t Residents\r\n\r\n"
        "Submitted by Ms.\u00a0Anqi ZHANG on\r\n\r\n"
        "The city’s “pledge”\u2060 covers\t\tall.\r\n\r\nSubscribe to Goal 5: Gender equality"
    )
    page = parse_listing(text, "weird.txt")
    assert [item.title for item in page.items] == ["Zürich Pledge for All Residents"]
    item = page.items[0]
    assert item.submitter == "Ms. Anqi ZHANG"
    assert item.summary == "The city’s “pledge” covers all."
    assert page.term == "Goal 5: Gender equality"


def test_parser_accepts_a_name_without_honorific_and_unverified_names() -> None:
    text = (
        "First Practice Title\n\nSubmitted by Costanza Bindi on Mon, 05/01/2023 - 10:00\n\n"
        "A summary.\n\nSecond Practice Title\n\nAnother summary.\n\nJane Doe (not verified)\n"
        "Third Practice Title\n\nA third summary.\n\nDr. Okafor\n\nSubscribe to Capacity Building"
    )
    page = parse_listing(text, "names.txt")
    assert [(i.title, i.submitter, i.submitter_verified) for i in page.items] == [
        ("First Practice Title", "Costanza Bindi", True),
        ("Second Practice Title", "Jane Doe", False),
        ("Third Practice Title", "Dr. Okafor", True),
    ]
    assert page.warnings == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        ("\n \t\u00a0\n\u200b\n", "is empty"),
        ("Just One Title", "has no summary"),
        ("Submitted by Ms. Anqi ZHANG on\n\nA summary with no title.", "no title before it"),
        ("A Title\n\nSubmitted by Ms. Anqi ZHANG on\n\nThe summary stops in the", "mid-sentence"),
        ("A Title\n\nA summary.\n\nSubscribe to Goal 5: Gender equality", "no submitter line"),
        ("A Title\n\nSubmitted by on\n\nA summary.", "has no name"),
        ("\x00\x01\x02\x03garbage\x04\x05\x06\x07\x08", "does not look like a listing page"),
    ],
)
def test_parser_warns_about_damage_and_never_raises(text: str, expected: str) -> None:
    page = parse_listing(text, "damaged.txt")
    assert any(expected in w and w.startswith("damaged.txt") for w in page.warnings), page.warnings


#: Pieces of listing pages, so that the random texts hit the parser's rules often.
FRAGMENTS = (
    "\n", "\n\n", "\r\n", "Submitted by ", " on", "Ms. Anqi ZHANG", "Anonymous (not verified)",
    "(not verified)", "Subscribe to ", "Goal 5: X", "A Title Line", "A sentence.", "\u200b",
    "\ufeff", "\u00a0", "\t", "\x00", "\ufffd", ":", "Dr.",
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(),
        st.lists(
            st.sampled_from(FRAGMENTS) | st.text(max_size=8),
            max_size=60,
        ).map("".join),
    )
)
def test_parse_listing_never_raises(text: str) -> None:
    page = parse_listing(text, "fuzz.txt")
    # parse_listing turns an internal error into this warning; it must never be needed
    assert not any("could not be read as a listing page" in w for w in page.warnings)
    for item in page.items:
        assert item.title and "\n" not in item.title
        assert isinstance(item.summary, str)
        assert isinstance(item.submitter_verified, bool)


# --------------------------------------------------------------------------- the command


def test_both_seeds_become_13_draft_records(data_dir: Path) -> None:
    out, err, code = cli_import(data_dir, SEED_GOAL_5, SEED_LIVELIHOODS)
    assert code == 0, err
    assert "Created" in out and "13" in out
    recs = records(data_dir)
    assert len(recs) == 13
    assert {DALLAS, CARMEN, M4SD, UNION, GHANA, LAGUNA} <= set(recs)
    titles = {r["title"] for r in recs.values()}
    assert titles == set(SEED_000_TITLES) | set(SEED_002_TITLES)
    for rid, rec in recs.items():
        assert rec["status"] == "draft"
        assert list(rec)[:4] == ["id", "status", "title", "summary"]
        if rid in ANONYMOUS:
            assert (rec["submitter"], rec["submitter_verified"]) == ("anonymous", False)
        else:
            assert (rec["submitter"], rec["submitter_verified"]) == ("anqi-zhang", True)
        on_goal_page = rec["title"] in SEED_000_TITLES
        on_theme_page = rec["title"] in SEED_002_TITLES
        assert rec.get("goals") == ([5] if on_goal_page else None), rid
        theme = "livelihoods-and-job-creation"
        assert rec.get("themes") == ([theme] if on_theme_page else None), rid
        listings = ["gfmd-goal-5"] * on_goal_page
        listings += ["gfmd-livelihoods-and-job-creation"] * on_theme_page
        assert rec["listings"] == listings, rid
    assert {rid for rid, r in recs.items() if "goals" in r and "themes" in r} == ON_BOTH_PAGES
    raw = (data_dir / "pledges" / f"{CARMEN}.yaml").read_text(encoding="utf-8")
    assert "summary: |\n" in raw
    assert "title: 'Carmen de La Legua: Municipal Plan" in raw  # on one line
    assert recs[CARMEN]["summary"].endswith("among other things:\n")
    assert not list((data_dir / "pledges").glob(".*"))  # no temporary files left


def test_reimport_is_idempotent(data_dir: Path) -> None:
    cli_import(data_dir, SEED_GOAL_5, SEED_LIVELIHOODS)
    before = snapshot(data_dir)
    out, err, code = cli_import(data_dir, SEED_LIVELIHOODS, SEED_GOAL_5)
    assert code == 0, err
    assert snapshot(data_dir) == before
    assert "Unchanged: 13" in out
    assert "Created" not in out and "Updated" not in out


def test_importing_the_seeds_into_the_bundled_data_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    before = snapshot(data)
    report = run_import([SEED_GOAL_5, SEED_LIVELIHOODS], data)
    assert report.created == [] and report.updated == [] and report.skipped == []
    assert len(report.unchanged) == len(before)
    assert snapshot(data) == before


CURATED = """\
# A steward's record: its id differs from the one slugify would give.
id: dallas-ambassadors
status: published
kind: pledge
title: "The City of Dallas  Community Ambassador Program: facilitating access to information and services for linguistically diverse communities"
language: en
summary: |
  A summary written by a steward.
locality: dallas
submitter: anqi-zhang
submitter_verified: true
goals: ["5"]
"""  # noqa: E501


def test_curated_record_is_kept_but_gains_a_new_term(data_dir: Path) -> None:
    pledges = data_dir / "pledges"
    pledges.mkdir()
    (pledges / "dallas-ambassadors.yaml").write_text(CURATED, encoding="utf-8")
    out, err, code = cli_import(data_dir, SEED_GOAL_5, SEED_LIVELIHOODS)
    assert code == 0, err
    assert "--force" in out and "dallas-ambassadors" in out
    recs = records(data_dir)
    assert DALLAS not in recs  # found by title, not duplicated under the slug id
    assert len(recs) == 13
    rec = recs["dallas-ambassadors"]
    assert rec["summary"] == "A summary written by a steward.\n"
    assert rec["status"] == "published" and rec["locality"] == "dallas"
    assert rec["goals"] == ["5"]  # goal 5 already there, matched by number
    assert rec["themes"] == ["livelihoods-and-job-creation"]  # the new term was added
    assert "listings" not in rec  # nothing but terms is added to a curated record
    assert list(rec) == [
        "id", "status", "kind", "title", "language", "summary", "locality", "submitter",
        "submitter_verified", "goals", "themes",
    ]  # fmt: skip
    report = run_import([SEED_LIVELIHOODS], data_dir)
    assert report.skipped == ["dallas-ambassadors"]
    assert any("differs from the page in summary" in w for w in report.warnings)
    assert "dallas-ambassadors" not in report.updated  # already has the theme


def test_force_replaces_a_curated_records_text(data_dir: Path) -> None:
    pledges = data_dir / "pledges"
    pledges.mkdir()
    (pledges / "dallas-ambassadors.yaml").write_text(CURATED, encoding="utf-8")
    out, err, code = cli_import(data_dir, SEED_LIVELIHOODS, force=True)
    assert code == 0, err
    rec = records(data_dir)["dallas-ambassadors"]
    assert rec["title"] == SEED_000_TITLES[2]
    assert rec["summary"].startswith("The City of Dallas commits to implement")
    assert rec["status"] == "published" and rec["id"] == "dallas-ambassadors"
    assert rec["locality"] == "dallas" and rec["goals"] == ["5"]
    assert rec["themes"] == ["livelihoods-and-job-creation"]
    before = snapshot(data_dir)
    out, err, code = cli_import(data_dir, SEED_LIVELIHOODS, force=True)
    assert snapshot(data_dir) == before
    assert "Unchanged: 8" in out


def test_without_registries_the_import_still_works(tmp_path: Path) -> None:
    data = tmp_path / "empty"
    data.mkdir()
    out, err, code = cli_import(data, SEED_GOAL_5, SEED_LIVELIHOODS)
    assert code == 0, err
    recs = records(data)
    assert len(recs) == 13
    assert recs[DALLAS]["goals"] == [5] and "themes" not in recs[DALLAS]
    assert "submitter" not in recs[DALLAS]  # no agents.yaml: no lookup, nothing invented
    assert recs[UNION]["submitter"] == "anonymous"
    assert "agents.yaml does not exist" in out
    assert "'Livelihoods and Job Creation' was not added" in out


def test_unknown_submitter_and_unknown_theme_are_warned_not_invented(
    data_dir: Path, tmp_path: Path
) -> None:
    page = write_page(
        tmp_path,
        "other.txt",
        "A Practice From Somewhere\n\nSubmitted by Mr. Camille Saadé on\n\nIt helps.\n\n"
        "Subscribe to Migration and Family",
    )
    out, err, code = cli_import(data_dir, page)
    assert code == 0, err
    rec = records(data_dir)["a-practice-from-somewhere"]
    assert "submitter" not in rec and "themes" not in rec and "goals" not in rec
    assert rec["submitter_verified"] is True
    assert "'Mr. Camille Saadé' is not in agents.yaml" in out
    assert "camille-saade" in out
    assert "'Migration and Family' is not a theme" in out


# --------------------------------------------------------------------------- damaged pages


def _damaged_pages() -> dict[str, tuple[str | bytes, int, str]]:
    """name -> (content, records expected, a warning expected in the output)."""
    goal5 = seed_text(SEED_GOAL_5)
    livelihoods = seed_text(SEED_LIVELIHOODS)
    cut = livelihoods.index("Carmen de La Legua: Municipal") + 150
    noisy = "\ufeff" + goal5.replace("\n", "\r\n").replace("Terrassa", "Ter\u200brassa")
    noisy = noisy.replace(" commits ", "\t commits\u00a0\u00a0").replace("Plan", "Plan\u200d")
    rng = random.Random(7)
    return {
        "cut-mid-item.txt": (livelihoods[:cut], 5, "cut off mid-sentence"),
        "cut-after-title.txt": (goal5[: goal5.index("Municipality of Straseni") + 24], 4,
                                "has no summary"),
        "no-submitter-line.txt": (livelihoods.replace("ZHANG\nCarmen", "ZHANG-\nCarmen")
                                  .replace("Ms. Anqi ZHANG-\n", ""), 8, "has no submitter line"),
        "noisy.txt": (noisy, 8, ""),
        "glued-subscribe.txt": (goal5.replace("\n\nSubscribe to", " Subscribe to"), 8, ""),
        "empty.txt": ("", 0, "is empty"),
        "random.bin": (bytes(rng.randrange(256) for _ in range(4096)), 0,
                       "does not look like a listing page"),
    }  # fmt: skip


@pytest.mark.parametrize("name", list(_damaged_pages()))
def test_damaged_pages_give_warnings_not_tracebacks(
    name: str, data_dir: Path, tmp_path: Path
) -> None:
    content, expected, warning = _damaged_pages()[name]
    page = write_page(tmp_path, name, content)
    out, err, code = cli_import(data_dir, page)
    assert code == 0, err
    assert warning in out
    if warning:
        assert any(name in line for line in out.splitlines() if warning in line)
    recs = records(data_dir) if (data_dir / "pledges").is_dir() else {}
    assert len(recs) == expected, out
    for rec in recs.values():
        for text in (rec["title"], rec.get("summary", "")):
            assert not any(ch in text for ch in "\ufeff\u200b\u200d\t\r\u00a0")


def test_noisy_page_gives_the_same_records_as_the_clean_one(data_dir: Path, tmp_path: Path) -> None:
    content = _damaged_pages()["noisy.txt"][0]
    clean = parse_listing(seed_text(SEED_GOAL_5), "clean")
    noisy = parse_listing(str(content), "noisy")
    assert [i.title for i in noisy.items] == [i.title for i in clean.items]
    assert noisy.term == clean.term


def test_glued_subscribe_line_is_the_term(tmp_path: Path) -> None:
    text = seed_text(SEED_GOAL_5).replace("\n\nSubscribe to", "Subscribe to")
    page = parse_listing(text, "glued.txt")
    assert page.term == "Goal 5: Gender equality"
    assert page.items[-1].summary.endswith("for youth at home and abroad.")
    assert page.warnings == []


def test_a_missing_file_is_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    out, err, code = cli_import(data_dir, tmp_path / "no-such-page.txt", SEED_GOAL_5)
    assert code == 1
    assert "no-such-page.txt" in err + out
    assert len(records(data_dir)) == 8  # the readable page was still imported


def test_run_import_reports_unreadable_files_as_errors(data_dir: Path, tmp_path: Path) -> None:
    report = run_import([tmp_path / "missing.txt", tmp_path], data_dir)
    assert report.exit_code == 1 and len(report.errors) == 2
    assert "missing.txt" in report.format()


def test_a_file_that_is_not_utf8_is_read_with_a_warning(data_dir: Path, tmp_path: Path) -> None:
    text = "Pledge of São Paulo\n\nSubmitted by Ms. Anqi ZHANG on\n\nIt helps.\n"
    page = write_page(tmp_path, "latin1.txt", text.encode("latin-1"))
    out, err, code = cli_import(data_dir, page)
    assert code == 0, err
    assert "not UTF-8" in out
    assert len(records(data_dir)) == 1


def test_a_page_cut_short_is_completed_by_a_full_one(data_dir: Path, tmp_path: Path) -> None:
    full = seed_text(SEED_LIVELIHOODS)
    cut = write_page(tmp_path, "cut.txt", full[: full.index("Carmen de La Legua: Municipal") + 150])
    out, err, code = cli_import(data_dir, cut, SEED_LIVELIHOODS)
    assert code == 0, err
    rec = records(data_dir)[CARMEN]
    assert rec["summary"].endswith("among other things:\n")
    assert (rec["submitter"], rec["submitter_verified"]) == ("anqi-zhang", True)
    assert "different summary" not in out
