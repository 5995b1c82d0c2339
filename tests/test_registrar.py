"""Issue 10: the offence list, AVI judged by content, the condition text of `rules explain`."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from checker.check.assess import judge_avi
from checker.check.docs import node_text
from checker.core.models import Cancellation, Suspect
from checker.rules.conditions import Parser
from checker.rules.loader import RuleSet


def test_offence_list_counts_and_sources(ruleset: RuleSet) -> None:
    ref = ruleset.reference
    offences = list(ref.offences.values())
    assert len(offences) == 145
    groups = Counter(o.group for o in offences)
    assert groups["violence_against_the_person"] == 44 and groups["sexual_offences"] == 22
    assert groups["fraud"] == 8 and groups["miscellaneous"] == 24
    assert all(o.src in ref.sources for o in offences), "every entry names where it was found"
    assert {o.code for o in offences if o.tag == "M"} == {"8U"}, "only the unverified CCB code is [M]"
    # the codes the issue names as rejected before
    assert {"88A", "13", "23", "35", "59", "62A", "70", "71", "72", "73", "92A"} <= set(ref.offences)
    assert {o.code for o in offences if o.recorded_by == "action_fraud"} == {
        "53A",
        "53B",
        "53C",
        "53D",
        "53E",
        "53F",
        "53G",
        "NFIB5A",
    }


def test_bands_aggravated_forms_and_state_based(ruleset: RuleSet) -> None:
    ref = ruleset.reference
    assert ref.banded_code("19C", 12, "female") == "19E" and ref.banded_code("20A", 30, "male") == "20A"
    assert ref.offences["21"].band is not None and ref.offences["21"].band.max_age == 12
    assert ref.aggravated_form("105A") == "105B" and ref.aggravated_form("58C") == "58J"
    assert ref.aggravated_form("9A") == "9B" and ref.aggravated_form("49") is None
    assert ref.offences["92A"].state_based and not ref.offences["8N"].state_based
    assert not ref.offences["N100"].state_based
    assert ref.offence("4/1") is ref.offences["4.1"], "the Crime Recording Rules write 4/1 for the open data's 4.1"


EVIDENCE = ["cctv", "witness", "found", "medical records", "shows"]
NOT_AVI = ["withdrew", "could not be contacted", "no further information", "time has passed", "not a crime"]


@pytest.mark.parametrize(
    "avi,reason,expected",
    [
        (None, None, "none"),
        ("  ", None, "none"),
        ("CCTV shows he was at work", None, "evidence"),
        ("Victim withdrew. CCTV shows he was at work", None, "evidence"),
        (None, "Victim withdrew", "not_avi"),
        ("Victim withdrew " + "and was spoken to at length about her options " * 8, None, "not_avi"),
        (None, "Could not be contacted after five attempts", "not_avi"),
        ("No further information and time has passed", None, "not_avi"),
        ("No CCTV and no witnesses found", None, "not_avi"),
        ("Not a crime", None, "not_avi"),
        ("Spoke to the neighbour", None, "unclear"),
        ("The phone was found in her own car", None, "evidence"),
    ],
)
def test_avi_is_judged_by_content(avi: str | None, reason: str | None, expected: str) -> None:
    assert judge_avi(Cancellation(category="C2", avi=avi, reason=reason), NOT_AVI, EVIDENCE) == expected


def test_either_or_is_shown_as_or() -> None:
    spec = [{"kind": "record", "as": "r", "where": {"live": True, "any": [{"family": "assault"}, {"group": "fraud"}]}}]
    [branch] = Parser({}).parse(spec, ("when",))
    assert node_text(branch.patterns[0].test) == "live == true and (family == assault or group == fraud)"


def test_suspect_age_from_date_of_birth() -> None:
    s = Suspect(suspect_id="S1", date_of_birth=date(2009, 6, 2))
    assert s.age_at(datetime(2025, 6, 1, tzinfo=UTC)) == 15 and s.age_at(datetime(2025, 6, 2, tzinfo=UTC)) == 16
    assert (
        Suspect(suspect_id="S2", age=40, date_of_birth=date(2009, 6, 2)).age_at(datetime(2025, 1, 1, tzinfo=UTC)) == 40
    )
