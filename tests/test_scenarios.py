"""The scenario corpus of issue 10 (tests/scenarios/): every finding each scenario expects, and no other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.check.checker import Checker
from checker.check.examples import apply_patch, jsonable
from checker.core.times import parse_time
from checker.read.incidents import Item, validate

HERE = Path(__file__).resolve().parent / "scenarios"


def _load() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(HERE.glob("*.yaml")):
        for scenario in yaml.safe_load(path.read_text(encoding="utf-8"))["scenarios"]:
            out.append((f"{path.stem}-{scenario['name']}", scenario))
    return out


SCENARIOS = _load()


def test_corpus_size_and_sources() -> None:
    names = [name for name, _ in SCENARIOS]
    assert len(names) == len(set(names)), "scenario names are unique"
    assert len(SCENARIOS) >= 60
    assert sum(1 for _, s in SCENARIOS if s["expect"] == []) >= 15, "at least 15 correct records"
    assert all(str(s.get("source", "")).strip() for _, s in SCENARIOS), "every scenario names its source"


def _findings(checker: Checker, scenario: dict[str, Any]) -> list[tuple[str, str, str]]:
    # The baseline's narrative describes harassment; a scenario states its facts in fields, so the
    # narrative is left out unless the scenario writes one.
    patch = {"narrative": None} | (scenario.get("patch") or {})
    raw = scenario.get("incident") or apply_patch(checker.ruleset.baseline, patch)
    incident, _ = validate(Item(scenario["name"], None, 0, data=jsonable(raw)))
    as_of = jsonable(scenario.get("as_of")) or checker.ruleset.baseline_as_of
    when = parse_time(str(as_of))
    result = checker.check(incident, when)
    return sorted((f.area, f.outcome, f.subject) for f in result.findings)


@pytest.mark.parametrize("name,scenario", SCENARIOS, ids=[n for n, _ in SCENARIOS])
@pytest.mark.parametrize("evaluator", ["engine", "reference"])
def test_scenario(
    name: str, scenario: dict[str, Any], evaluator: str, engine_checker: Checker, reference_checker: Checker
) -> None:
    checker = engine_checker if evaluator == "engine" else reference_checker
    expected = sorted(tuple(e) for e in scenario["expect"])
    assert _findings(checker, scenario) == expected
