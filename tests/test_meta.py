"""Meta-tests over the rule set itself: the habits a rule must keep to be trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.check.checker import Checker
from checker.check.docs import write_docs
from checker.core.times import parse_time
from checker.read.incidents import Item, validate
from checker.rules.conditions import leaves
from checker.rules.loader import PREFIX, RuleSet, load_rules

ROOT = Path(__file__).resolve().parent.parent

# Fact fields whose value comes from a force-configurable table or setting: a rule resting on an
# unverified ([M]) point may only be a breach when it reads one of these or a {param:}.
CONFIGURABLE = {
    "authoriser_check",
    "allowed_roles",
    "grounds_withdrawal_only",
    "avi_judgement",  # judged with the settings avi_evidence_terms, not_avi_phrases, withdrawal_phrases
    "decision",
    "decision_reason",
    "expected_code",
    "family",
    "group",
    "subgroup",
    "conduct",
}


def test_baseline_is_compliant(ruleset: RuleSet, engine_checker: Checker, reference_checker: Checker) -> None:
    incident, _ = validate(Item("baseline", None, 0, data=ruleset.baseline))
    as_of = parse_time(ruleset.baseline_as_of)
    for checker in (engine_checker, reference_checker):
        assert checker.check(incident, as_of).findings == ()


@pytest.mark.parametrize("rule_id", [r.id for r in load_rules().rules])
def test_rule_is_documented_and_exemplified(ruleset: RuleSet, rule_id: str) -> None:
    rule = ruleset.get(rule_id)
    assert rule is not None
    m = rule.model
    assert m.id.startswith(PREFIX[m.area]) and rule.path.stem == m.id and rule.path.parent.name == m.area
    assert m.source.edition.strip() and m.source.section.strip() and m.source.quote.strip()
    assert m.source.url, "a rule cites where its source can be read"
    assert len(m.rationale.split()) >= 10
    fails = [e for e in m.examples if e.name.startswith("fail_")]
    passes = [e for e in m.examples if e.name.startswith("pass_")]
    assert fails and passes
    if m.status == "deprecated":  # not evaluated: its examples show which rule now reports the fault
        assert all(e.expect and all(x.rule != m.id for x in e.expect) for e in fails)
        return
    assert all(any(x.rule == m.id for x in e.expect) for e in fails), "a fail_ example must expect this rule"
    assert all(all(x.rule != m.id for x in e.expect) for e in passes), "a pass_ example must not expect this rule"


@pytest.mark.parametrize("rule_id", [r.id for r in load_rules().rules if r.model.source.tag == "M"])
def test_unverified_points_are_configurable(ruleset: RuleSet, rule_id: str) -> None:
    rule = ruleset.get(rule_id)
    assert rule is not None
    if rule.model.outcome == "needs_review":
        return
    used = {leaf.field for b in rule.branches for p in b.patterns for leaf in leaves(p.test)}
    uses_param = "{param:" in rule.path.read_text().replace(" ", "")
    assert uses_param or used & CONFIGURABLE, (
        f"{rule_id} rests on an unverified [M] point but reads no setting or force-editable table"
    )


def test_rule_ids_unique_and_never_retired(ruleset: RuleSet) -> None:
    ids = [r.id for r in ruleset.rules]
    assert len(ids) == len(set(ids))


def test_generated_docs_are_current(ruleset: RuleSet, tmp_path: Path) -> None:
    write_docs(ruleset, tmp_path)
    committed = ROOT / "docs" / "rules"
    fresh = {p.name: p.read_text() for p in tmp_path.glob("*.md")}
    current = {p.name: p.read_text() for p in committed.glob("*.md")}
    assert fresh == current, "docs/rules is stale: run `python -m checker.check.docs`"


def test_every_rule_at_once_stays_within_engine_limits(engine_checker: Checker) -> None:
    """A crowded incident that fires many rules: no error 303 or other engine failure."""
    victims = [
        {"victim_id": f"V{i}", "age": 15 + i, "sex": "female", "relationship_to_suspect": "partner"} for i in range(5)
    ]
    disclosures = [
        {"disclosure_id": f"D{i}", "offence": code, "victim_id": f"V{i}", "disclosed_at": "2025-01-02T10:00:00+00:00"}
        for i, code in enumerate(["19C", "8L", "3B", "8N", "19D"])
    ]
    records = [
        {
            "record_id": f"R{i}",
            "classification": code,
            "victim_id": f"V{i}",
            "disclosure_ids": [f"D{i}"],
            "recorded_at": "2025-01-05T10:00:00+00:00",
            "status": "cancelled",
            "cancellation": {"category": cat, "authorised_by_role": "other", "reason": "no complaint"},
        }
        for i, (code, cat) in enumerate([("N100", "C2"), ("8L", "C1"), ("3B", "C3"), ("8N", "C5"), ("19D", "C2")])
    ]
    raw = {
        "incident_id": "X",
        "reported_at": "2025-01-02T10:00:00+00:00",
        "victims": victims,
        "disclosures": disclosures,
        "records": records,
    }
    incident, _ = validate(Item("t", None, 0, data=raw))
    result = engine_checker.check(incident, parse_time("2025-02-01T00:00:00+00:00"))
    assert len({f.rule_id for f in result.findings}) >= 8


def _all_example_facts(ruleset: RuleSet) -> list[dict[str, object]]:
    import json

    from checker.check.examples import example_incident, jsonable
    from checker.check.facts import build_facts

    raws = [json.loads(p.read_text()) for p in sorted((ROOT / "fixtures" / "incidents").glob("*.json"))]
    raws += [jsonable(example_incident(ruleset, ex)) for r in ruleset.rules for ex in r.model.examples]
    facts: list[dict[str, object]] = []
    for raw in raws:
        incident, _ = validate(Item("x", None, 0, data=raw))
        facts.extend(build_facts(incident, ruleset.reference, parse_time(ruleset.baseline_as_of), ruleset.screen).facts)
    return facts


def test_facts_match_their_schema(ruleset: RuleSet) -> None:
    """Every fact has every field its schema says it always has, and no field the schema lacks:
    a rule can then trust the schema the loader checks it against."""
    from checker.rules.facts_schema import FACT_SCHEMA

    for fact in _all_example_facts(ruleset):
        schema = FACT_SCHEMA[str(fact["kind"])]
        keys = set(fact) - {"kind", "id"}
        assert keys <= set(schema), f"{fact['id']}: fields not in FACT_SCHEMA: {keys - set(schema)}"
        always = {name for name, spec in schema.items() if spec.always}
        assert always <= keys, f"{fact['id']}: missing always-present fields {always - keys}"
        for name in keys:
            expected = {"str": str, "int": int, "bool": bool, "set": dict}[schema[name].type]
            assert isinstance(fact[name], expected) and (expected is not int or not isinstance(fact[name], bool)), (
                f"{fact['id']}.{name} = {fact[name]!r} is not {schema[name].type}"
            )
