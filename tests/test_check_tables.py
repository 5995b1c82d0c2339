"""Issue 15: what the facts and messages need from the reference data and the rules is worked out
once, not per incident, and gives the answers worked out afresh."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checker.check.checker import Checker
from checker.check.facts import _local, build_facts
from checker.core.models import Incident
from checker.core.times import LONDON, parse_time
from checker.read.incidents import Item, validate
from checker.rules.loader import RuleSet

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "incidents"
AS_OF = parse_time("2025-06-01T00:00:00+00:00")
UNKNOWN = ("ZZ9", "4/1", "", "code:8L", "N100")


def test_remembered_answers_are_the_answers_worked_out(ruleset: RuleSet) -> None:
    """The Reference remembers what it is asked per incident; each answer, asked again, is the one a
    fresh Reference (nothing remembered) works out."""
    ref = dataclasses.replace(ruleset.reference)
    codes = [*ref.offences, *UNKNOWN]
    for _ in range(2):  # the second time from what the Reference remembered
        for code in codes:
            fresh = dataclasses.replace(ref)
            assert ref.seriousness(code) == fresh.seriousness(code), code
            first_aggravated = next((o.code for o in ref.offences.values() if code in o.aggravated_of), None)
            assert ref.aggravated_form(code) == first_aggravated, code
            for category in ("C1", "C2", "C3", "C4", "C5"):
                assert ref.allowed_roles(category, code) == fresh.allowed_roles(category, code), (category, code)
            for age in (None, 0, 12, 13, 15, 16, 17, 18, 60):
                for sex in ("female", "male", "unknown"):
                    assert ref.banded_code(code, age, sex) == fresh.banded_code(code, age, sex), (code, age, sex)
    assert ref.seriousness("ZZ9") == len(ref.principal.order)
    assert ref.recording_window_s == 24 * 3600
    assert "withdrew" in ref.not_avi_phrases and "cctv" in ref.avi_evidence_terms
    remembered = len(ref._ranks) + len(ref._roles) + len(ref._bands)
    assert remembered > len(ref.offences), "answers for the listed codes are remembered"
    unlisted = [code for code in UNKNOWN if code not in ref.offences]
    assert unlisted and not any(code in unlisted for code in ref._ranks), "answers for unlisted codes are not kept"


def test_a_copy_of_a_reference_remembers_nothing(ruleset: RuleSet) -> None:
    """dataclasses.replace makes a Reference that may differ: it starts with nothing remembered."""
    ref = dataclasses.replace(ruleset.reference)
    ref.seriousness("8N")
    order = [*ref.principal.order]
    first = order.index("code:8N") if "code:8N" in order else None
    other = dataclasses.replace(ref, principal=ref.principal.model_copy(update={"order": ["code:8N", *order]}))
    assert other.seriousness("8N") == 0
    assert first is None or ref.seriousness("8N") == first


def _incident(name: str) -> Incident:
    return validate(Item(name, 1, 0, data=json.loads((FIX / name).read_text())))[0]


def test_a_setting_is_read_only_where_it_is_needed(ruleset: RuleSet) -> None:
    """A force's settings without the AVI terms still check incidents without a C2 cancellation,
    as when every setting was read afresh for each record."""
    ref = ruleset.reference
    settings = {k: v for k, v in ref.settings.items() if k != "avi_evidence_terms"}
    lacking = dataclasses.replace(ref, settings=settings)
    plain = build_facts(_incident("assault-recorded-late.json"), ref, AS_OF).facts
    assert build_facts(_incident("assault-recorded-late.json"), lacking, AS_OF).facts == plain
    with pytest.raises(KeyError, match="avi_evidence_terms"):
        build_facts(_incident("c2-cancelled-on-withdrawal.json"), lacking, AS_OF)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 1, 3, 14, 22, tzinfo=UTC),
        datetime(2025, 3, 30, 0, 59, tzinfo=UTC),  # the last minute of GMT
        datetime(2025, 3, 30, 1, 0, tzinfo=UTC),  # the first of BST
        datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
        datetime(2024, 10, 27, 1, 30, tzinfo=UTC),
        datetime(2024, 12, 31, 23, 59, tzinfo=UTC),
        datetime(999, 7, 1, 9, 5, tzinfo=UTC),  # a year of three digits, unpadded
        datetime(9999, 12, 31, 12, 0, tzinfo=UTC),
    ],
)
def test_local_times_read_as_strftime_writes_them(moment: datetime) -> None:
    for step in range(0, 7 * 24, 13):  # every weekday, at various hours
        value = moment - timedelta(hours=step)
        shown = value.astimezone(LONDON)
        assert _local(value) == f"{shown.strftime('%a')} {shown.day} {shown.strftime('%b %Y %H:%M')}"


def test_messages_again_are_the_messages_found(ruleset: RuleSet) -> None:
    """Checker.message with a mask that changes nothing renders each finding's message as found."""
    checker = Checker(ruleset, evaluator="reference")
    found = 0
    for path in sorted(FIX.glob("*.json")):
        for finding in checker.check(_incident(path.name), AS_OF).findings:
            assert checker.message(finding, AS_OF, lambda _name, value: value) == finding.message
            found += 1
    assert found > 10
    with pytest.raises(KeyError):
        checker.message(dataclasses.replace(finding, rule_id="XX999"), AS_OF, lambda _name, value: value)
