"""Issue 15: facts built lazily (only the fields the engine tests and the decisions read, the others
added when a finding binds the fact) are, once completed, the facts built whole: the same fields,
values and order, whenever and in whatever order they are completed; and the checker's findings and
decisions do not depend on which way the facts were built."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import generate_lines
from checker.audit.uktime import local_time
from checker.check import checker as checker_module
from checker.check.checker import DECISION_OUTPUT, Checker, DisclosureDecision
from checker.check.examples import example_incident, jsonable
from checker.check.facts import CORE_FIELDS, _utc_iso, build_facts
from checker.core.models import Incident
from checker.core.times import parse_time
from checker.engine import durable
from checker.read.incidents import Item, validate
from checker.rules.facts_schema import FACT_SCHEMA
from checker.rules.loader import RuleSet

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "incidents"
AS_OF = parse_time("2025-06-01T00:00:00+00:00")
BUILT_WITH = {"kind", "reported_on", "id"}  # what every fact has, lazy or not


def _fixtures_and_examples(ruleset: RuleSet) -> Iterator[tuple[Incident, datetime]]:
    for p in sorted(FIX.glob("*.json")):
        yield validate(Item(p.name, 1, 0, data=json.loads(p.read_text())))[0], AS_OF
    for rule in ruleset.rules:
        for ex in rule.model.examples:
            incident = validate(Item(rule.id, None, 0, data=jsonable(example_incident(ruleset, ex))))[0]
            yield incident, ex.as_of or parse_time(ruleset.baseline_as_of)


def _generated(count: int, seed: int) -> Iterator[tuple[Incident, datetime]]:
    for i, line in enumerate(generate_lines(count, seed=seed)):
        yield validate(Item("generated", i + 1, 0, data=orjson.loads(line)))[0], AS_OF


def _items(facts: list[dict[str, Any]]) -> list[list[tuple[str, Any]]]:
    return [list(f.items()) for f in facts]  # the fields' order shows in --explain


def _same_once_completed(incident: Incident, as_of: datetime, ruleset: RuleSet, order_seed: int) -> None:
    whole = build_facts(incident, ruleset.reference, as_of, ruleset.screen).facts
    lazy = build_facts(incident, ruleset.reference, as_of, ruleset.screen, lazy=True)
    assert len(lazy.facts) == len(whole)
    for part, full in zip(lazy.facts, whole, strict=True):
        # built lazily, a fact has its core fields only, with the values the whole fact has
        assert set(part) <= CORE_FIELDS[part["kind"]] | BUILT_WITH
        assert {k: full[k] for k in part} == part
        assert {k for k in full if k in CORE_FIELDS[full["kind"]]} <= set(part)
    ids = [f["id"] for f in lazy.facts]
    random.Random(order_seed).shuffle(ids)  # completed later, one by one, in any order
    for fact_id in ids[: len(ids) // 2]:
        assert lazy.complete(fact_id)["id"] == fact_id
    assert _items(lazy.completed()) == _items(whole)
    assert not lazy.pending


def test_lazy_facts_complete_to_the_whole_facts_on_fixtures_and_rule_examples(ruleset: RuleSet) -> None:
    for n, (incident, as_of) in enumerate(_fixtures_and_examples(ruleset)):
        _same_once_completed(incident, as_of, ruleset, n)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.integers(0, 2**31))
def test_lazy_facts_complete_to_the_whole_facts_on_generated_incidents(
    engine_checker: Checker, seed: int, order_seed: int
) -> None:
    for incident, as_of in _generated(20, seed):
        _same_once_completed(incident, as_of, engine_checker.ruleset, order_seed)


def test_the_shipped_rules_test_only_core_fields(ruleset: RuleSet, engine_checker: Checker) -> None:
    """So the checker builds facts lazily for them; a field a rule tests must be a core field."""
    for kind, names in durable.tested_fields(engine_checker._branches).items():
        assert set(names) <= CORE_FIELDS[kind] | BUILT_WITH, kind
    assert engine_checker._lazy
    for kind, core in CORE_FIELDS.items():
        assert core <= set(FACT_SCHEMA[kind]), kind


def test_rules_testing_a_field_outside_the_core_get_whole_facts(
    ruleset: RuleSet, engine_checker: Checker, monkeypatch: pytest.MonkeyPatch
) -> None:
    smaller = {**CORE_FIELDS, "disclosure": CORE_FIELDS["disclosure"] - {"window_expired"}}
    monkeypatch.setattr(checker_module, "CORE_FIELDS", smaller)
    whole = Checker(ruleset, evaluator="engine")
    monkeypatch.undo()
    assert not whole._lazy and engine_checker._lazy
    assert not Checker(ruleset, evaluator="reference")._lazy
    for incident, as_of in _fixtures_and_examples(ruleset):
        assert _shown(whole.check(incident, as_of)) == _shown(engine_checker.check(incident, as_of))


def _shown(result: Any) -> tuple[list[Any], list[Any], list[dict[str, Any]]]:
    """A result as the outputs show it: the findings with the facts behind them (--explain), those
    facts' fields in order, and the decisions."""
    findings = [f.to_dict(explain=True) for f in result.findings]
    orders = [[list(fact.items()) for fact in f.facts.values()] for f in result.findings]
    return findings, orders, [d.to_dict() for d in result.decisions]


def test_findings_and_decisions_are_those_of_whole_facts(ruleset: RuleSet, engine_checker: Checker) -> None:
    """The same findings, with the same facts behind them, and the same decisions."""
    whole = Checker(ruleset, evaluator="engine")
    whole._lazy = False
    incidents = [*_fixtures_and_examples(ruleset), *_generated(400, 15)]
    found = 0
    for incident, as_of in incidents:
        lazy_result = engine_checker.check(incident, as_of)
        found += len(lazy_result.findings)
        assert _shown(lazy_result) == _shown(whole.check(incident, as_of))
    assert found > 100


def test_a_decision_carries_its_deadline_as_text_and_as_a_moment(engine_checker: Checker) -> None:
    """The audit's rows read the moment; the outputs show the text (and never the moment)."""
    decisions: list[DisclosureDecision] = [
        d for incident, as_of in _generated(300, 7) for d in engine_checker.check(incident, as_of).decisions
    ]
    assert len(decisions) > 300
    for d in decisions:
        assert _utc_iso(d.deadline_at.astimezone(UTC)) == d.deadline
        as_parsed = local_time(datetime.fromisoformat(d.deadline.replace("Z", "+00:00")))
        assert local_time(d.deadline_at) == as_parsed  # what the rows showed when they parsed the text
        assert "deadline_at" not in d.to_dict() and list(d.to_dict()) == list(DECISION_OUTPUT)
    assert "deadline_at" not in DECISION_OUTPUT
