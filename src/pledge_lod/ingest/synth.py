"""Synthetic pledges at scale, in the same YAML form as the curated data.

For benchmarks and scale tests: ``pledge-lod synth --pledges N --seed S --out DIR`` writes
a complete data folder (registries and pledges) that builds like the bundled one. The
distributions follow the real data: most records are pledges of local governments tagged
with one or two goals (goal 5 and the migration goals 10, 8, 11, 16, 17 most often), a
few targets under those goals, a thematic area or two, sometimes GCM objectives; about
one in six submissions is anonymous; titles and summaries have the real lengths.

Synthetic places and agents carry no external identifiers: nothing synthetic may ever
look like a verified Wikidata or GeoNames link. Output is deterministic for a seed.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph

from .yaml_reader import read_yaml

_SDG = "http://metadata.un.org/sdg/"
_SDG_TARGET = pyoxigraph.NamedNode(_SDG + "ontology#Target")
_RDF_TYPE = pyoxigraph.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")

BATCH = 1000  # pledges per file: a million single files would be a burden on any disk

# Weights of goals in migration pledges (goal number: weight).
GOAL_WEIGHTS = {5: 30, 10: 30, 8: 18, 11: 16, 16: 14, 17: 12, 4: 9, 3: 9, 1: 7, 13: 4,
                6: 1, 2: 2, 7: 1, 9: 1, 12: 1, 14: 1, 15: 1}  # fmt: skip
KIND_WEIGHTS = {"pledge": 62, "practice": 23, "policy": 8, "programme": 7}
WORDS = [
    "migrants", "refugees", "city", "municipality", "local", "action", "inclusion", "access",
    "services", "language", "training", "teachers", "health", "care", "information", "rights",
    "campaign", "workshops", "legal", "support", "integration", "employment", "youth",
    "education", "housing", "community", "ambassadors", "partnership", "plan", "strategy",
    "strengthen", "promote", "ensure", "facilitate", "develop", "implement", "capacity",
    "governance", "social", "cohesion", "discrimination", "public", "discourse", "families",
    "children", "women", "labour", "mobility", "skills", "recognition", "remittances",
    "diaspora", "return", "reintegration", "protection", "vulnerable", "situations", "data",
    "evidence", "policy", "coherence", "cooperation", "regional", "national", "programme",
    "resource", "center", "hub", "network", "entrepreneurs", "green", "enterprise",
    "opportunities",
]


@dataclass(frozen=True)
class SynthReport:
    pledges: int
    places: int
    agents: int
    files: int
    out: Path


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize()


def _summary(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        sentences = [_sentence(rng, 8, 28) + "." for _ in range(rng.randint(1, 4))]
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def _weighted(rng: random.Random, weights: dict) -> Callable[[int], list]:
    keys, values = list(weights), list(weights.values())

    def pick(k: int) -> list:
        chosen: list = []
        while len(chosen) < k:
            item = rng.choices(keys, values)[0]
            if item not in chosen:
                chosen.append(item)
        return chosen

    return pick


def _targets_by_goal(kos_path: Path) -> dict[int, list[str]]:
    """Target codes per goal, read from the shipped SDG KOS (never invented): the
    subjects typed ``sdgo:Target``, parsed by Oxigraph rather than matched in the text."""
    with kos_path.open("rb") as source:
        triples = pyoxigraph.parse(source, format=pyoxigraph.RdfFormat.TURTLE)
        codes = sorted(
            {
                t.subject.value.removeprefix(_SDG)
                for t in triples
                if t.predicate == _RDF_TYPE and t.object == _SDG_TARGET
                and t.subject.value.startswith(_SDG)
            }
        )
    out: dict[int, list[str]] = {}
    for code in codes:
        out.setdefault(int(code.split(".")[0]), []).append(code)
    return out


def _yaml_str(value: str) -> str:
    """A YAML double-quoted scalar. JSON string syntax is valid YAML for the ASCII text
    synth writes, and an order of magnitude faster than PyYAML's emitter."""
    return json.dumps(value)


def _yaml_list(values: list) -> str:
    return "[" + ", ".join(_yaml_str(str(x)) for x in values) + "]"


@dataclass(frozen=True)
class _Registry:
    """The ids synthetic pledges draw from, read from the template data."""

    countries: list[str]
    themes: list[str]
    listings: list[str]
    programmes: list[str]
    targets: dict[int, list[str]]

    @classmethod
    def read(cls, template: Path) -> _Registry:
        def ids(name: str) -> list[str]:
            return [entry["id"] for entry in read_yaml(template / name)[0]]

        places = read_yaml(template / "places.yaml")[0]
        return cls(
            countries=[p["id"] for p in places if p["level"] == "country"],
            themes=ids("themes.yaml"),
            listings=ids("listings.yaml"),
            programmes=ids("programmes.yaml"),
            targets=_targets_by_goal(template / "sdg-kos" / "un-sdg-kos-2020.ttl"),
        )


def synthesize(template: Path, out: Path, pledges: int, seed: int = 1) -> SynthReport:
    """Write a data folder with ``pledges`` synthetic pledges, registries derived from
    ``template`` (the bundled data) plus synthetic places and agents."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "pledges").mkdir(parents=True)
    for name in ("dataset.yaml", "kinds.yaml", "themes.yaml", "gcm-objectives.yaml",
                 "listings.yaml", "programmes.yaml", "facts.yaml"):  # fmt: skip
        shutil.copyfile(template / name, out / name)
    shutil.copytree(template / "sdg-kos", out / "sdg-kos")
    registry = _Registry.read(template)
    n_places = max(10, pledges // 40)
    n_people = max(5, pledges // 250)
    _write_places_and_agents(rng, template, out, registry, n_places, n_people)
    pick_goals = _weighted(rng, GOAL_WEIGHTS)
    pick_kind = _weighted(rng, KIND_WEIGHTS)
    files = 0
    for start in range(0, pledges, BATCH):
        lines = [
            _pledge(rng, n, registry, pick_goals, pick_kind, n_places, n_people)
            for n in range(start, min(pledges, start + BATCH))
        ]
        files += 1
        (out / "pledges" / f"batch-{files:05d}.yaml").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )
    return SynthReport(pledges, n_places, n_places + n_people, files, out)


def _write_places_and_agents(
    rng: random.Random, template: Path, out: Path, registry: _Registry, n_places: int,
    n_people: int,
) -> None:  # fmt: skip
    """The template's places and agents, then synthetic ones: a place and its municipal
    government for each of ``n_places``, and ``n_people`` submitters, each citing one of
    the template's listing pages as its source."""
    countries, listings = registry.countries, registry.listings
    places_text = (template / "places.yaml").read_text(encoding="utf-8").rstrip() + "\n"
    agents_text = (template / "agents.yaml").read_text(encoding="utf-8").rstrip() + "\n"
    place_lines, agent_lines = [places_text], [agents_text]
    levels = ("municipality", "municipality", "municipality", "district", "county", "province")
    for i in range(n_places):
        country = countries[i % len(countries)]
        name = f"Synthville {i + 1}"
        place_lines.append(
            f"- id: synth-place-{i + 1}\n  name: {_yaml_str(name)}\n  level: {rng.choice(levels)}\n"
            f"  country: {country}\n  listings: [{listings[i % len(listings)]}]\n"
        )
        agent_lines.append(
            f"- id: synth-government-{i + 1}\n  type: organisation\n"
            f"  name: {_yaml_str('Municipal government of ' + name)}\n"
            f"  area_served: synth-place-{i + 1}\n  listings: [{listings[i % len(listings)]}]\n"
        )
    for i in range(n_people):
        agent_lines.append(
            f"- id: synth-person-{i + 1}\n  type: person\n  name: {_yaml_str(f'Person {i + 1}')}\n"
            f"  honorific: {rng.choice(('Ms.', 'Mr.', 'Dr.'))}\n"
            f"  listings: [{listings[i % len(listings)]}]\n"
        )
    (out / "places.yaml").write_text("".join(place_lines), encoding="utf-8")
    (out / "agents.yaml").write_text("".join(agent_lines), encoding="utf-8")


def _pledge(
    rng: random.Random, n: int, registry: _Registry, pick_goals: Callable[[int], list],
    pick_kind: Callable[[int], list], n_places: int, n_people: int,
) -> str:  # fmt: skip
    """The YAML of synthetic pledge ``n + 1``; the random draws come in a fixed order,
    so that the output stays the same for a seed."""
    place = rng.randrange(n_places) + 1
    goals = sorted(pick_goals(rng.choice((1, 1, 1, 2, 2, 3))))
    tgts = sorted({rng.choice(registry.targets[g]) for g in goals if rng.random() < 0.4})
    anonymous = rng.random() < 0.16
    title = _sentence(rng, 3, 18)
    rec = [
        f"- id: synth-{n + 1}",
        f"  kind: {pick_kind(1)[0]}",
        f"  title: {_yaml_str(title)}",
        "  language: en",
        f"  summary: {_yaml_str(_summary(rng))}",
        f"  locality: synth-place-{place}",
        f"  committed_by: synth-government-{place}",
        "  submitter: anonymous" if anonymous else
        f"  submitter: synth-person-{rng.randrange(n_people) + 1}",
        f"  submitter_verified: {'false' if anonymous else 'true'}",
        f"  goals: {_yaml_list(goals)}",
    ]  # fmt: skip
    if tgts:
        rec.append(f"  targets: {_yaml_list(tgts)}")
    rec.append(f"  themes: {_yaml_list(rng.sample(registry.themes, rng.choice((1, 1, 2))))}")
    if rng.random() < 0.3:
        objs = sorted(rng.sample(range(1, 24), rng.choice((1, 2))))
        rec.append(f"  gcm_objectives: {_yaml_list(objs)}")
    if rng.random() < 0.1:
        rec.append(f"  programmes: [{rng.choice(registry.programmes)}]")
    if rng.random() < 0.5:
        year = rng.randint(2018, 2025)
        rec.append(f"  start: {year}")
        if rng.random() < 0.5:
            rec.append(f"  end: {year + rng.randint(0, 4)}")
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    rec.append(f'  shared: "{rng.randint(2019, 2025)}-{month:02d}-{day:02d}"')
    rec.append(f"  listings: [{rng.choice(registry.listings)}]")
    return "\n".join(rec)
