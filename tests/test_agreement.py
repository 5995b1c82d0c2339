"""The engine and the pure-Python reference evaluator agree on generated incidents."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.check.checker import Checker
from checker.check.examples import jsonable
from checker.check.facts import build_facts
from checker.core.times import parse_time
from checker.read.incidents import Item, validate
from checker.rules.loader import RuleSet

CODES = [
    "8L",
    "8Q",
    "8R",
    "8U",
    "19C",
    "19D",
    "19F",
    "20A",
    "17A",
    "3B",
    "8N",
    "105A",
    "34B",
    "39",
    "44",
    "45",
    "58C",
    "9A",
]
BASE = parse_time("2025-03-29T12:00:00+00:00")
NARRATIVES = [
    None,
    "Caller reports a noise complaint; no offences disclosed.",
    "Caller states her ex-partner punched her in the face and keyed her car.",
    "She says he raped her last night. He also smashed the kitchen window.",
    "Victim was not assaulted; she asked what would happen if he hit her.",
]


@st.composite
def incidents(draw: st.DrawFn) -> dict[str, Any]:
    nv = draw(st.integers(1, 3))
    victims = [
        {
            "victim_id": f"V{i}",
            "age": draw(st.one_of(st.none(), st.integers(0, 90))),
            "sex": draw(st.sampled_from(["female", "male", "unknown"])),
            "relationship_to_suspect": draw(st.sampled_from(["partner", "ex_partner", "family", "stranger"])),
        }
        for i in range(nv)
    ]
    reporter = draw(
        st.sampled_from(["victim", "acting_for_victim", "third_party", "professional", "witness", "police"])
    )
    nd = draw(st.integers(1, 3))
    disclosures = [
        {
            "disclosure_id": f"D{i}",
            "offence": draw(st.sampled_from(CODES)),
            "victim_id": f"V{draw(st.integers(0, nv - 1))}",
            "suspect_id": draw(st.sampled_from([None, "S1", "S2"])),
            "disclosed_at": (BASE + timedelta(minutes=draw(st.sampled_from([0, 0, 30, 120])))).isoformat(),
            "only_victim_is_police_officer": draw(st.booleans()),
            "warned_and_stopped": draw(st.booleans()),
            "victim_confirmed": draw(st.sampled_from([None, True, False])),
            "victim_traceable": draw(st.booleans()),
            "credible_evidence_to_contrary": draw(st.booleans()),
            "occurred_in_force_area": draw(st.sampled_from([None, True, False])),
        }
        for i in range(nd)
    ]
    records = []
    for j in range(draw(st.integers(0, 3))):
        d = draw(st.integers(0, nd - 1))
        status = draw(st.sampled_from(["recorded", "recorded", "cancelled", "transferred"]))
        rec: dict[str, Any] = {
            "record_id": f"R{j}",
            "classification": draw(st.sampled_from([*CODES, "N100"])),
            "victim_id": draw(st.sampled_from([disclosures[d]["victim_id"], None, "V0"])),
            "disclosure_ids": draw(st.sampled_from([[f"D{d}"], [], [f"D{i}" for i in range(nd)]])),
            "recorded_at": (BASE + timedelta(hours=2, minutes=draw(st.integers(0, 3000)))).isoformat(),
            "status": status,
            "n100_reason": draw(st.sampled_from([None, "victim_not_confirmed", "other_force_area", "bogus"])),
            "converted_to": draw(st.sampled_from([None, "R0"])),
            "flags": draw(st.sampled_from([[], ["domestic_abuse"]])),
        }
        if status != "recorded" and draw(st.booleans()):
            rec["cancellation"] = {
                "category": draw(st.sampled_from([None, "C1", "C2", "C3", "C4", "C5"])),
                "authorised_by_role": draw(st.sampled_from([None, "FCR", "DDM", "supervisor"])),
                "avi": draw(st.sampled_from([None, "", "CCTV shows no contact", "no complaint"])),
                "reason": draw(st.sampled_from([None, "victim withdrew"])),
                "victim_informed": draw(st.sampled_from([None, True, False])),
                "duplicate_of": draw(st.sampled_from([None, "R0", "R9"])),
                "transferred_to": draw(st.sampled_from([None, "Kent Police"])),
            }
        records.append(rec)
    return {
        "incident_id": "H-1",
        "reported_at": BASE.isoformat(),
        "reporter": reporter,
        "victims": victims,
        "disclosures": disclosures,
        "records": records,
    }


def _hits(checker: Checker, facts: list[dict[str, Any]]) -> set[tuple[int, tuple[tuple[str, str], ...]]]:
    return {(i, tuple(sorted((a, str(f["id"])) for a, f in b.items()))) for i, b in checker.hits(copy.deepcopy(facts))}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=incidents(), hours=st.integers(0, 80))
def test_engine_and_reference_agree(
    raw: dict[str, Any], hours: int, ruleset: RuleSet, engine_checker: Checker, reference_checker: Checker
) -> None:
    incident, _ = validate(Item("gen", None, 0, data=jsonable(raw)))
    facts = build_facts(
        incident, ruleset.reference, incident.reported_at + timedelta(hours=hours), ruleset.screen
    ).facts
    assert _hits(engine_checker, facts) == _hits(reference_checker, facts)
