"""Properties of checking that hold for every valid incident, found by generating many of them.

A strategy builds incidents of the record contract (victims, disclosures, records, cancellations,
clocks near the 24-hour boundary and across the UK clock changes); mutators turn the compliant
baseline into one that must fire a rule, from each rule's own `fail_` examples plus irrelevant
noise. Then: the engine agrees with the reference evaluator; order never matters; shifting every
clock never matters; a proper C2 cancellation is never a cancellation breach; a batch finds what
its incidents find one by one; and any bytes fed as a batch are counted, never lost.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from checker.check.checker import Checker
from checker.check.examples import example_incident, jsonable
from checker.cli import commands as commands
from checker.cli.main import main
from checker.core.times import parse_time
from checker.read.incidents import Item, read_items, validate
from checker.rules.loader import Example, Rule, RuleSet, load_rules

LONDON = ZoneInfo("Europe/London")
HOUR = 3600
DAY = 86400
# Anchors for reported_at: ordinary days and the hours around each UK clock change (the last
# Sunday of March and of October, at 01:00 UTC), so that 24-hour windows straddle them.
ANCHORS = [
    datetime(2025, 1, 2, 14, 22, tzinfo=UTC),
    datetime(2024, 3, 30, 12, 0, tzinfo=UTC),
    datetime(2024, 10, 26, 11, 0, tzinfo=UTC),
    datetime(2025, 3, 29, 12, 0, tzinfo=UTC),
    datetime(2025, 3, 30, 0, 30, tzinfo=UTC),
    datetime(2025, 10, 25, 11, 0, tzinfo=UTC),
    datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
    datetime(2023, 3, 31, 23, 0, tzinfo=UTC),
]
CODES = ["8L", "8R", "8Q", "19C", "19D", "19F", "19H", "20A", "20B", "17A", "3B", "8N", "105A", "5D", "44", "45"]
CODES += ["58C", "28E", "34B", "9A"]
FLAGS = ["domestic_abuse", "hate_crime", "child_abuse"]
QUALIFIERS = ["asb_personal", "domestic_abuse", "vulnerable_adult", "child_protection", "hate", "mental_health"]
REPORTERS = ["victim", "acting_for_victim", "third_party", "professional", "witness", "police"]
ROLES = ["FCR", "DFCR", "DDM", "supervisor", "investigator", "other"]
AVI = [
    "CCTV from the shop shows the caller fell and no one touched him",
    "The phone records show the messages came from the caller's own number",
    "Bank statement shows the card was used by the account holder in person",
    "Body-worn video shows the property was handed over freely",
]
NOISE_CODES = ["45", "58C", "28E", "34B"]  # victim-based, not banded: the crime code is the code itself
RULESET = load_rules()  # module level: strategies are built before fixtures exist


def _time(moment: datetime, utc: bool) -> str:
    """A time as a force export writes it: UTC, or London local time with its offset."""
    return moment.astimezone(UTC if utc else LONDON).isoformat()


@st.composite
def incidents(draw: st.DrawFn, incident_id: str = "P-1") -> tuple[dict[str, Any], datetime]:
    """A valid incident of the record contract and the moment it is judged at."""
    reported = draw(st.sampled_from(ANCHORS)) + timedelta(seconds=draw(st.integers(-3 * HOUR, 3 * HOUR)))
    utc = draw(st.booleans())
    nv = draw(st.integers(0, 3))
    victims = [
        {
            "victim_id": f"V{i}",
            "age": draw(st.one_of(st.none(), st.integers(0, 90))),
            "sex": draw(st.sampled_from(["female", "male", "unknown"])),
            "relationship_to_suspect": draw(
                st.sampled_from(["partner", "ex_partner", "family", "acquaintance", "stranger", "unknown"])
            ),
            "vulnerable": draw(st.booleans()),
        }
        for i in range(nv)
    ]
    victim_ids: list[Any] = [v["victim_id"] for v in victims] + [None]
    nd = draw(st.integers(0 if nv == 0 else 1, 3))
    offsets = [draw(st.sampled_from([0, 0, 60, 30 * 60, 2 * HOUR])) for _ in range(nd)]
    disclosures = []
    for i in range(nd):
        d: dict[str, Any] = {
            "disclosure_id": f"D{i}",
            "offence": draw(st.sampled_from(CODES)),
            "victim_id": draw(st.sampled_from(victim_ids)),
            "suspect_id": draw(st.sampled_from([None, "S1", "S2"])),
            "reported_by": draw(st.sampled_from([None, *REPORTERS])),
            "victim_confirmed": draw(st.sampled_from([None, True, False])),
            "victim_traceable": draw(st.booleans()),
            "credible_evidence_to_contrary": draw(st.booleans()),
            "occurred_in_force_area": draw(st.sampled_from([None, True, False])),
        }
        if offsets[i] or draw(st.booleans()):
            d["disclosed_at"] = _time(reported + timedelta(seconds=offsets[i]), utc)
        disclosures.append(d)
    latest = reported + timedelta(seconds=max(offsets, default=0))
    nr = draw(st.integers(0, 3))
    record_ids = [f"R{j}" for j in range(nr)]
    records = []
    for j in range(nr):
        delay = draw(
            st.one_of(
                st.integers(0, 48 * HOUR),
                st.integers(DAY - 90, DAY + 90),  # either side of the 24-hour boundary
                st.integers(0, 10 * DAY),
            )
        )
        recorded = latest + timedelta(seconds=delay)
        status = draw(st.sampled_from(["recorded", "recorded", "cancelled", "transferred"]))
        rec: dict[str, Any] = {
            "record_id": record_ids[j],
            "classification": draw(st.sampled_from([*CODES, "N100"])),
            "victim_id": draw(st.sampled_from(victim_ids)),
            "disclosure_ids": draw(
                st.lists(st.sampled_from([d["disclosure_id"] for d in disclosures]), max_size=2, unique=True)
            )
            if disclosures
            else [],
            "recorded_at": _time(recorded, utc),
            "status": status,
            "flags": draw(st.lists(st.sampled_from(FLAGS), max_size=2, unique=True)),
            "n100_reason": draw(st.sampled_from([None, "victim_not_confirmed", "other_force_area", "bogus"])),
            "converted_to": draw(st.sampled_from([None, *record_ids])),
        }
        if status != "recorded" and draw(st.integers(0, 4)):
            decided = recorded + timedelta(seconds=draw(st.integers(0, 10 * DAY)))
            rec["cancellation"] = {
                "category": draw(st.sampled_from([None, "C1", "C2", "C3", "C4", "C5"])),
                "decided_at": draw(st.sampled_from([None, _time(decided, utc)])),
                "authorised_by_role": draw(st.sampled_from([None, *ROLES])),
                "avi": draw(st.sampled_from([None, "", "victim withdrew support", *AVI])),
                "reason": draw(st.sampled_from([None, "victim withdrew", "no complaint"])),
                "victim_informed": draw(st.sampled_from([None, True, False])),
                "transferred_to": draw(st.sampled_from([None, "Kent Police"])),
                "duplicate_of": draw(st.sampled_from([None, "R404", *record_ids])),
            }
        records.append(rec)
    incident = {
        "incident_id": incident_id,
        "reported_at": _time(reported, utc),
        "reporter": draw(st.sampled_from(REPORTERS)),
        "channel": draw(st.sampled_from([None, "emergency_call", "online", "referral"])),
        "qualifiers": draw(st.lists(st.sampled_from(QUALIFIERS), max_size=2, unique=True)),
        "occurred_in_force_area": draw(st.booleans()),
        "victims": victims,
        "disclosures": disclosures,
        "records": records,
    }
    first = min((reported + timedelta(seconds=o) for o in offsets), default=reported)
    as_of = draw(
        st.one_of(
            st.integers(0, 12 * DAY).map(lambda s: reported + timedelta(seconds=s)),
            st.integers(-60, 60).map(lambda s: first + timedelta(seconds=DAY + s)),  # window about to close
        )
    )
    return incident, as_of


Key = tuple[str, str, str]


def findings(checker: Checker, raw: dict[str, Any], as_of: datetime) -> list[Key]:
    """(rule, subject, message) of every finding on one incident."""
    incident, _ = validate(Item("gen", 1, 0, data=jsonable(raw)))
    return sorted((f.rule_id, f.subject, f.message) for f in checker.check(incident, as_of).findings)


def subjects(found: list[Key]) -> set[tuple[str, str]]:
    """The (rule, subject) pairs of some findings."""
    return {(rule, subject) for rule, subject, _ in found}


# --- mutators: each rule's fail_ examples, plus compliant noise --------------------------------------

FAILING = [
    (rule, ex) for rule in RULESET.active for ex in rule.model.examples if ex.name.startswith("fail_") and ex.expect
]


def _families(raw: dict[str, Any]) -> set[str]:
    offences = RULESET.reference.offences
    codes = [d.get("offence") for d in raw.get("disclosures", [])]
    codes += [r.get("classification") for r in raw.get("records", [])]
    return {offences[c].family for c in codes if c in offences}


@st.composite
def failing_incidents(draw: st.DrawFn) -> tuple[Rule, Example, dict[str, Any], datetime]:
    """A rule, one of its fail_ examples, and that example's incident with irrelevant noise added."""
    rule, ex = draw(st.sampled_from(FAILING))
    raw = jsonable(example_incident(RULESET, ex))
    as_of = ex.as_of or parse_time(RULESET.baseline_as_of)
    used = _families(raw)
    # noise in an offence family the example does not use, so no record of it answers the example's
    # disclosures by inference, for a victim of its own, recorded at once: compliant with every rule
    code = next(c for c in NOISE_CODES if RULESET.reference.offences[c].family not in used)
    reported = raw["reported_at"]
    recorded = (datetime.fromisoformat(reported) + timedelta(minutes=30)).isoformat()
    for k in range(draw(st.integers(0, 3))):
        noise = [
            ("victims", {"victim_id": f"NV{k}", "age": 40, "sex": "male", "relationship_to_suspect": "stranger"}),
            (
                "disclosures",
                {
                    "disclosure_id": f"ND{k}",
                    "offence": code,
                    "victim_id": f"NV{k}",
                    "disclosed_at": reported,
                    "reported_by": "victim",
                    "victim_confirmed": True,
                },
            ),
            (
                "records",
                {
                    "record_id": f"NR{k}",
                    "classification": code,
                    "victim_id": f"NV{k}",
                    "disclosure_ids": [f"ND{k}"],
                    "recorded_at": recorded,
                    "status": "recorded",
                },
            ),
        ]
        for field, item in noise:
            items = raw.setdefault(field, [])
            items.insert(draw(st.integers(0, len(items))), item)
    return rule, ex, raw, as_of


# --- engine and reference ---------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=incidents())
def test_engine_agrees_with_reference(
    generated: tuple[dict[str, Any], datetime], engine_checker: Checker, reference_checker: Checker
) -> None:
    raw, as_of = generated
    assert findings(engine_checker, raw, as_of) == findings(reference_checker, raw, as_of)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=failing_incidents())
def test_mutated_examples_fire_under_both_evaluators(
    case: tuple[Rule, Example, dict[str, Any], datetime], engine_checker: Checker, reference_checker: Checker
) -> None:
    rule, ex, raw, as_of = case
    engine = findings(engine_checker, raw, as_of)
    assert engine == findings(reference_checker, raw, as_of)
    expected = {(e.rule, e.subject) for e in ex.expect if e.rule == rule.id}
    assert expected <= subjects(engine), f"{rule.id} {ex.name}: noise stopped the rule firing"


def test_every_rule_has_a_mutator() -> None:
    assert {rule.id for rule, _ in FAILING} == {r.id for r in RULESET.active}


# --- order ------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=st.one_of(incidents(), failing_incidents().map(lambda c: (c[2], c[3]))), data=st.data())
def test_order_of_victims_disclosures_records_does_not_matter(
    generated: tuple[dict[str, Any], datetime], data: st.DataObject, engine_checker: Checker
) -> None:
    raw, as_of = generated
    shuffled = copy.deepcopy(raw)
    for field in ("victims", "disclosures", "records"):
        shuffled[field] = data.draw(st.permutations(raw.get(field, [])), label=field)
    assert findings(engine_checker, shuffled, as_of) == findings(engine_checker, raw, as_of)


@st.composite
def batches(draw: st.DrawFn, max_size: int = 4) -> tuple[list[dict[str, Any]], datetime]:
    """Several incidents with distinct ids, judged at one moment."""
    n = draw(st.integers(1, max_size))
    raws = [draw(incidents(incident_id=f"B-{i}"))[0] for i in range(n)]
    as_of = max(datetime.fromisoformat(r["reported_at"]) for r in raws) + timedelta(hours=draw(st.integers(0, 80)))
    return raws, as_of


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=batches(), data=st.data())
def test_order_of_incidents_in_a_batch_does_not_matter(
    batch: tuple[list[dict[str, Any]], datetime], data: st.DataObject, engine_checker: Checker
) -> None:
    raws, as_of = batch
    first = {r["incident_id"]: findings(engine_checker, r, as_of) for r in raws}
    again = {r["incident_id"]: findings(engine_checker, r, as_of) for r in data.draw(st.permutations(raws))}
    assert again == first


# --- time shift -------------------------------------------------------------------------------------


def _boundaries(ruleset: RuleSet) -> list[date]:
    """Dates on which what the rules require can change: rule editions and dated settings."""
    out: set[date] = set()
    for rule in ruleset.active:
        out.add(rule.model.effective.from_)
        if rule.model.effective.to is not None:
            out.add(rule.model.effective.to)
    for setting in ruleset.reference.settings.values():
        with contextlib.suppress(TypeError, ValueError):
            out.add(date.fromisoformat(str(setting.value)))
    return sorted(out)


BOUNDARIES = _boundaries(RULESET)


def _shift(raw: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    """The incident with every time moved by delta, written in the same zone as before."""

    def move(text: str) -> str:
        moment = datetime.fromisoformat(text)
        zone = UTC if moment.utcoffset() == timedelta(0) and text.endswith("+00:00") else LONDON
        return (moment + delta).astimezone(zone).isoformat()

    out = copy.deepcopy(raw)
    out["reported_at"] = move(out["reported_at"])
    for d in out.get("disclosures", []):
        if d.get("disclosed_at"):
            d["disclosed_at"] = move(d["disclosed_at"])
    for r in out.get("records", []):
        r["recorded_at"] = move(r["recorded_at"])
        c = r.get("cancellation") or {}
        if c.get("decided_at"):
            c["decided_at"] = move(c["decided_at"])
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    generated=st.one_of(incidents(), failing_incidents().map(lambda c: (c[2], c[3]))),
    seconds=st.integers(-400 * DAY, 400 * DAY),
)
@example(generated=(copy.deepcopy(RULESET.baseline), parse_time(RULESET.baseline_as_of)), seconds=DAY // 2)
def test_shifting_every_clock_does_not_change_findings(
    generated: tuple[dict[str, Any], datetime], seconds: int, engine_checker: Checker
) -> None:
    raw, as_of = generated
    raw = jsonable(raw)
    delta = timedelta(seconds=seconds)
    before = datetime.fromisoformat(raw["reported_at"]).astimezone(UTC).date()
    after = (datetime.fromisoformat(raw["reported_at"]) + delta).astimezone(UTC).date()
    # only shifts that keep the report inside the same editions of the rules and settings
    assume(all((b <= before) == (b <= after) for b in BOUNDARIES))
    found = subjects(findings(engine_checker, raw, as_of))
    assert subjects(findings(engine_checker, _shift(raw, delta), as_of + delta)) == found


# --- a proper C2 cancellation -----------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=incidents(), data=st.data())
def test_c2_with_avi_fcr_and_victim_told_is_never_a_cancellation_breach(
    generated: tuple[dict[str, Any], datetime], data: st.DataObject, engine_checker: Checker, ruleset: RuleSet
) -> None:
    raw, as_of = generated
    assume(raw["records"])
    j = data.draw(st.integers(0, len(raw["records"]) - 1), label="record")
    record = raw["records"][j]
    record["status"] = "cancelled"
    recorded = datetime.fromisoformat(record["recorded_at"])
    record["cancellation"] = {
        **(record.get("cancellation") or {}),
        "category": "C2",
        "decided_at": (recorded + timedelta(days=1)).isoformat(),
        "avi": data.draw(st.sampled_from(AVI), label="avi"),
        "authorised_by_role": "FCR",
        "victim_informed": True,
    }
    incident, _ = validate(Item("gen", 1, 0, data=raw))
    result = engine_checker.check(incident, as_of)
    cancellation = {r.id for r in ruleset.active if r.model.area == "cancellation"}
    breaches = [
        f
        for f in result.findings
        if f.rule_id in cancellation and f.outcome == "breach" and f.subject == record["record_id"]
    ]
    assert breaches == []


# --- the command line: batches and arbitrary bytes --------------------------------------------------


def _cli(path: Path, as_of: datetime | None = None) -> tuple[int, dict[str, Any]]:
    """`crimecheck check PATH --format json`, with the rule set loaded once for the whole module."""
    out = io.StringIO()
    args = ["check", str(path), "--format", "json"] + (["--as-of", as_of.isoformat()] if as_of else [])
    # loading rules and the narrative lexicon takes most of a run; the rest of the path is unchanged
    with contextlib.redirect_stderr(io.StringIO()), mock.patch.object(commands, "load_rules", lambda *_: RULESET):
        code = main(args, stdout=out)
    return code, json.loads(out.getvalue())


def _finding_keys(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return sorted((f["incident_id"], f["rule_id"], f["subject"], f["message"]) for f in doc["findings"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=batches(max_size=3))
def test_a_batch_finds_what_its_incidents_find_one_by_one(
    batch: tuple[list[dict[str, Any]], datetime], tmp_path_factory: pytest.TempPathFactory
) -> None:
    raws, as_of = batch
    tmp = tmp_path_factory.mktemp("batch")
    path = tmp / "batch.jsonl"
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in raws))
    _, doc = _cli(path, as_of)
    one_by_one = []
    for i, r in enumerate(raws):
        single = tmp / f"{i}.json"
        single.write_text(json.dumps(r))
        one_by_one += _cli(single, as_of)[1]["findings"]
    assert doc["counts"] == {
        "read": len(raws),
        "checked": len(raws),
        "rejected": 0,
        "findings": len(one_by_one),
        "excepted": 0,
    }
    assert _finding_keys(doc) == _finding_keys({"findings": one_by_one})


GOOD_LINE = json.dumps(jsonable(RULESET.baseline)).encode()
WHITESPACE = b" \t\r\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000))
@example(data=b"")
@example(data=b"\xef\xbb\xbf")
@example(data=b"\xff\xfe{\x00}\x00")
@example(data=b"[" * 5000)
@example(data=b'[{"incident_id": "A"}, 1, "x", null, []]')
def test_any_bytes_are_counted(data: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("bytes") / "in.jsonl"
    path.write_bytes(data)
    code, doc = _cli(path, parse_time("2025-01-05T00:00:00+00:00"))
    counts = doc["counts"]
    assert counts["read"] >= 1 and counts["read"] == counts["checked"] + counts["rejected"]
    assert code in (0, 1, 2) and (code == 2) == (counts["rejected"] > 0)


@st.composite
def mixtures(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """Good incident lines mixed with junk lines: the bytes, the good count, the non-blank count."""
    lines: list[bytes] = []
    good = 0
    for i in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            lines.append(GOOD_LINE.replace(b'"BASE-1"', f'"MIX-{i}"'.encode()))
            good += 1
        else:
            lines.append(draw(st.binary(max_size=80).map(lambda b: b.replace(b"\n", b""))))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = eol.join(lines) + draw(st.sampled_from([b"", eol]))
    first = lines[0].removeprefix(b"\xef\xbb\xbf")  # a BOM opening the file is not content
    nonblank = sum(1 for line in [first, *lines[1:]] if line.strip(WHITESPACE))
    return data, good, nonblank


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixture=mixtures())
@example(mixture=(b"{\n" + GOOD_LINE.replace(b'"BASE-1"', b'"MIX-1"') + b"\n", 1, 2))
@example(mixture=(b"\xe9\n" + GOOD_LINE.replace(b'"BASE-1"', b'"MIX-1"'), 1, 2))
def test_good_lines_among_junk_are_all_checked(
    mixture: tuple[bytes, int, int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    data, good, nonblank = mixture
    assume(good > 0)
    path = tmp_path_factory.mktemp("mix") / "in.jsonl"
    path.write_bytes(data)
    _, doc = _cli(path, parse_time(RULESET.baseline_as_of))
    counts = doc["counts"]
    assert counts["read"] == counts["checked"] + counts["rejected"] == nonblank
    assert counts["checked"] >= good


JSON = st.recursive(
    # orjson reads integers beyond 64 bits as floats, as the engine could not take them anyway
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(elements=st.lists(JSON, min_size=1, max_size=6), indent=st.sampled_from([None, 0, 2]))
def test_every_array_element_is_read_with_its_line(elements: list[Any], indent: int | None) -> None:
    texts = [json.dumps(e, indent=indent) for e in elements]
    starts = [2 + sum(t.count("\n") + 1 for t in texts[:i]) for i in range(len(texts))]
    data = ("[\n" + ",\n".join(texts) + "\n]\n").encode()
    items = list(read_items("arr.json", io.BytesIO(data)))
    assert [i.data for i in items] == elements
    assert [i.line for i in items] == starts
