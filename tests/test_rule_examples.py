"""Every example of every rule, under the engine and the reference evaluator: `pytest -k RN002`."""

from __future__ import annotations

import pytest

from checker.check.checker import Checker
from checker.check.examples import run_example
from checker.rules.loader import Example, Rule, load_rules

CASES = [(rule, ex) for rule in load_rules().rules for ex in rule.model.examples]


@pytest.mark.parametrize("rule,example", CASES, ids=[f"{r.id}-{e.name}" for r, e in CASES])
@pytest.mark.parametrize("evaluator", ["engine", "reference"])
def test_rule_example(
    rule: Rule, example: Example, evaluator: str, engine_checker: Checker, reference_checker: Checker
) -> None:
    checker = engine_checker if evaluator == "engine" else reference_checker
    outcome = run_example(checker, checker.ruleset.get(rule.id) or rule, example)
    assert outcome.error is None, outcome.error
    assert outcome.found == outcome.expected
