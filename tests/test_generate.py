"""Tests for bench.generate: determinism, the record contract, the failure shares, bad lines.

The contract checks and the share calculations here are written from the record contract and the
lead's brief, not from the generator's code, so that they check it rather than repeat it.
"""

from __future__ import annotations

import copy
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any, get_args
from zoneinfo import ZoneInfo

import orjson
import pytest

from bench import generate as gen
from checker.core import models as models
from checker.rules.loader import RuleSet

SEED = 7
N_SHARES = 5000
LONDON = ZoneInfo("Europe/London")
DAY = timedelta(hours=24)

DISCLOSED_CODES = frozenset(
    {"105A", "8N", "5D", "3B", "8L", "8Q", "8R", "8U"}
    | {"19C", "19D", "19E", "19F", "19G", "19H", "20A", "20B", "17A", "17B"}
    | {"34B", "28E", "49", "46", "45", "48", "58A", "58C", "58D", "9A"}
    | {"53C", "53D", "NFIB5A"}  # fraud: referred to Action Fraud (issue 10)
)
# Racially or religiously aggravated forms: recorded for a disclosure with a race or religion strand.
AGGRAVATED_CODES = frozenset({"105B", "8P", "8M", "58J", "9B"})
CODES = DISCLOSED_CODES | AGGRAVATED_CODES
RAPE = frozenset({"19C", "19D", "19E", "19F", "19G", "19H"})
# The contract's vocabularies, read from the models the checker validates with.
CHANNELS = set(get_args(models.Channel))
REPORTERS = set(get_args(models.Reporter))
QUALIFIERS = set(get_args(models.Qualifier))
SEXES = set(get_args(models.Sex))
RELATIONSHIPS = set(get_args(models.Relationship))
N100_REASONS = set(get_args(models.N100Reason))
STATUSES = set(get_args(models.Status))
ROLES = set(get_args(models.Role))
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
FIRST = datetime(2024, 4, 1, tzinfo=LONDON)
END = datetime(2025, 4, 1, tzinfo=LONDON)

# Age/sex-banded codes, as (code, sex, lowest age, highest age), from the lead's brief.
BANDS = (
    ("19C", "female", 16, 200),
    ("19D", "female", 13, 15),
    ("19E", "female", 0, 12),
    ("19F", "male", 16, 200),
    ("19G", "male", 13, 15),
    ("19H", "male", 0, 12),
    ("20A", "female", 13, 200),
    ("20B", "female", 0, 12),
    ("17A", "male", 13, 200),
    ("17B", "male", 0, 12),
)
BAND_OF = {code: (sex, lo, hi) for code, sex, lo, hi in BANDS}


def band_ok(code: str, victim: dict[str, Any]) -> bool:
    """Whether an age/sex-banded code fits the victim (unknown age: any band of the right sex)."""
    if code not in BAND_OF:
        return True
    sex, lo, hi = BAND_OF[code]
    age = victim["age"]
    return victim["sex"] == sex and (age is None or lo <= age <= hi)


def parse_time(value: Any, where: str, problems: list[str]) -> datetime | None:
    """An offset-carrying ISO time whose offset is London's at that instant, else a problem."""
    if not isinstance(value, str) or not TIME_RE.fullmatch(value):
        problems.append(f"{where}: not an ISO time with offset: {value!r}")
        return None
    t = datetime.fromisoformat(value)
    if t.utcoffset() != t.astimezone(LONDON).utcoffset():
        problems.append(f"{where}: offset {value[-6:]} is not London's on that date")
    return t


def validate(inc: Any) -> list[str]:
    """Every way an incident breaks the record contract (empty when it is valid)."""
    p: list[str] = []
    if not isinstance(inc, dict):
        return ["not a JSON object"]
    if inc.get("schema_version") != "1":
        p.append("schema_version is not '1'")
    if not isinstance(inc.get("incident_id"), str) or not inc["incident_id"]:
        p.append("incident_id missing")
    reported = parse_time(inc.get("reported_at"), "reported_at", p)
    if reported is not None and not FIRST <= reported < END:
        p.append("reported_at outside 2024-04-01 .. 2025-03-31")
    if inc.get("channel") not in CHANNELS:
        p.append("bad channel")
    if inc.get("reporter") not in REPORTERS:
        p.append("bad reporter")
    if not isinstance(inc.get("incident_category"), str):
        p.append("incident_category missing")
    if not isinstance(inc.get("qualifiers"), list) or not set(inc["qualifiers"]) <= QUALIFIERS:
        p.append("bad qualifiers")
    if not isinstance(inc.get("occurred_in_force_area"), bool):
        p.append("occurred_in_force_area not a boolean")
    narrative = inc.get("narrative")
    if not isinstance(narrative, str) or not 300 <= len(narrative) <= 1500:
        p.append("narrative missing or not 300-1500 characters")

    victims: dict[str, dict[str, Any]] = {}
    for v in inc.get("victims") or []:
        vid = v.get("victim_id")
        if vid in victims:
            p.append(f"duplicate victim_id {vid}")
        victims[vid] = v
        age = v.get("age")
        if age is not None and (not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= 120):
            p.append(f"{vid}: bad age {age!r}")
        if v.get("sex") not in SEXES or v.get("relationship_to_suspect") not in RELATIONSHIPS:
            p.append(f"{vid}: bad sex or relationship")
        if not isinstance(v.get("vulnerable"), bool):
            p.append(f"{vid}: vulnerable not a boolean")
    if not 1 <= len(victims) <= 5:
        p.append("not 1-5 victims")

    disclosures: dict[str, dict[str, Any]] = {}
    disclosed: dict[str, datetime] = {}
    for d in inc.get("disclosures") or []:
        did = d.get("disclosure_id")
        if did in disclosures:
            p.append(f"duplicate disclosure_id {did}")
        disclosures[did] = d
        victim = victims.get(d.get("victim_id"))
        if d.get("offence") not in DISCLOSED_CODES:
            p.append(f"{did}: unknown offence {d.get('offence')!r}")
        if victim is None:
            p.append(f"{did}: victim {d.get('victim_id')!r} does not exist")
        elif not band_ok(d["offence"], victim):
            p.append(f"{did}: {d['offence']} does not fit the victim's age and sex")
        t = parse_time(d.get("disclosed_at"), f"{did}.disclosed_at", p)
        if t is not None:
            disclosed[did] = t
            if reported is not None and t < reported:
                p.append(f"{did}: disclosed before reported")
        if d.get("reported_by") not in REPORTERS or not isinstance(d.get("suspect_id"), str):
            p.append(f"{did}: bad reported_by or suspect_id")
        if d.get("victim_confirmed") not in (True, False, None):
            p.append(f"{did}: bad victim_confirmed")
        for key in ("victim_traceable", "credible_evidence_to_contrary", "occurred_in_force_area"):
            if not isinstance(d.get(key), bool):
                p.append(f"{did}: {key} not a boolean")
    if not 1 <= len(disclosures) <= 5:
        p.append("not 1-5 disclosures")

    records: dict[str, dict[str, Any]] = {}
    for r in inc.get("records") or []:
        rid = r.get("record_id")
        if rid in records:
            p.append(f"duplicate record_id {rid}")
        records[rid] = r
    if len(records) > 5:
        p.append("more than 5 records")
    for rid, r in records.items():
        cls = r.get("classification")
        if cls not in CODES and cls != "N100":
            p.append(f"{rid}: bad classification {cls!r}")
        dids = r.get("disclosure_ids")
        if not dids or any(d not in disclosures for d in dids):
            p.append(f"{rid}: disclosure_ids missing or unknown")
            continue
        if r.get("victim_id") not in victims or any(disclosures[d]["victim_id"] != r["victim_id"] for d in dids):
            p.append(f"{rid}: victim does not match its disclosures")
        recorded = parse_time(r.get("recorded_at"), f"{rid}.recorded_at", p)
        if recorded is not None and any(d in disclosed and recorded < disclosed[d] for d in dids):
            p.append(f"{rid}: recorded before its disclosure")
        if not isinstance(r.get("flags"), list) or not set(r["flags"]) <= {"domestic_abuse", "hate_crime"}:
            p.append(f"{rid}: bad flags")
        if cls == "N100":
            if not any(disclosures[d]["offence"] in RAPE for d in dids):
                p.append(f"{rid}: N100 for a report that is not rape")
            if r.get("n100_reason") not in N100_REASONS | {None}:
                p.append(f"{rid}: bad n100_reason")
            if r.get("converted_to") is not None and r["converted_to"] not in records:
                p.append(f"{rid}: converted_to an unknown record")
        elif r.get("n100_reason") is not None or r.get("converted_to") is not None:
            p.append(f"{rid}: N100 fields on a crime")
        status = r.get("status")
        canc = r.get("cancellation")
        if status not in STATUSES or (status == "recorded") != (canc is None):
            p.append(f"{rid}: status and cancellation disagree")
            continue
        if canc is None:
            continue
        category = canc.get("category")
        if category not in {"C1", "C2", "C3", "C4"} or (category == "C1") != (status == "transferred"):
            p.append(f"{rid}: bad cancellation category")
        decided = parse_time(canc.get("decided_at"), f"{rid}.decided_at", p)
        if decided is not None and recorded is not None and decided < recorded:
            p.append(f"{rid}: cancelled before it was recorded")
        if canc.get("authorised_by_role") not in ROLES or not isinstance(canc.get("reason"), str):
            p.append(f"{rid}: bad authoriser or reason")
        if canc.get("avi") is not None and not isinstance(canc["avi"], str):
            p.append(f"{rid}: bad avi")
        if not isinstance(canc.get("victim_informed"), bool):
            p.append(f"{rid}: victim_informed not a boolean")
        if (category == "C1") != isinstance(canc.get("transferred_to"), str):
            p.append(f"{rid}: transferred_to must be given for C1 only")
        dup = canc.get("duplicate_of")
        elsewhere = isinstance(dup, str) and dup.startswith("CRN-EXT-")  # a record on another incident
        if (category == "C3") != (dup is not None) or (
            dup is not None and not elsewhere and (dup not in records or dup == rid)
        ):
            p.append(f"{rid}: duplicate_of must name another record, for C3 only")
    return p


def should_be(d: dict[str, Any], v: dict[str, Any]) -> str:
    """The decision the brief's tables and the checker's settings call for: crime, n100, none,
    transfer, review (a person decides) or refer (fraud, to Action Fraud)."""
    if d["offence"] in ("53C", "53D", "NFIB5A"):
        return "refer"
    rape = d["offence"] in RAPE
    if d["credible_evidence_to_contrary"]:
        return "n100" if rape else "none"
    if not d["occurred_in_force_area"]:
        return "n100" if rape else "transfer"
    at_risk = v["vulnerable"] or (v["age"] is not None and v["age"] < 18)
    if d["reported_by"] in ("victim", "acting_for_victim"):
        return "crime"
    if d["reported_by"] == "professional":
        if d["victim_confirmed"] is False and not at_risk:
            return "n100" if rape else "review"  # a capable adult who declines
        return "crime"
    if d["reported_by"] == "police":
        return "review"
    if d["victim_confirmed"] is True:
        return "crime"
    if not d["victim_traceable"]:
        return "n100" if rape else "crime"
    if rape:
        return "n100"  # unconfirmed reports of rape are always N100 at least
    if at_risk:
        return "review"  # not dropped for want of the child's or vulnerable adult's confirmation
    return "none" if d["victim_confirmed"] is False else "review"


def lines(n: int, seed: int = SEED, **kwargs: Any) -> list[bytes]:
    """The JSON lines the generator writes."""
    return list(gen.generate_lines(n, seed, **kwargs))


@pytest.fixture(scope="module")
def batch() -> list[dict[str, Any]]:
    """N_SHARES incidents with their synthetic_truth."""
    return list(gen.generate(N_SHARES, SEED, truth=True))


# --- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_the_same_bytes() -> None:
    assert lines(300) == lines(300)
    assert lines(50, seed=8) != lines(50)


def test_a_shorter_batch_is_a_prefix_of_a_longer_one() -> None:
    long = lines(600)
    assert lines(250) == long[:250]
    assert orjson.dumps(gen.incident(SEED, 417), option=orjson.OPT_APPEND_NEWLINE) == long[417]


def test_incident_streams_are_random_random_of_the_derived_seed() -> None:
    rng = Random()
    for seed, i in ((0, 0), (7, 123), (2**20, 99_999)):
        gen._reseed(rng, seed * gen.SEED_STRIDE + i)
        expected = Random(seed * gen.SEED_STRIDE + i)
        assert [rng.random() for _ in range(20)] == [expected.random() for _ in range(20)]


def test_truth_adds_a_field_and_changes_nothing_else() -> None:
    with_truth = list(gen.generate(200, SEED, truth=True))
    for inc in with_truth:
        assert inc.pop("synthetic_truth")
    assert with_truth == list(gen.generate(200, SEED))


def test_cli_writes_the_same_lines_to_a_file_and_to_stdout(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = tmp_path / "batch.jsonl"
    assert gen.main(["--count", "120", "--seed", str(SEED), "--out", str(out)]) == 0
    assert gen.main(["--count", "120", "--seed", str(SEED), "--out", "-"]) == 0
    assert out.read_bytes() == capsysbinary.readouterr().out == b"".join(lines(120))


def test_bad_arguments_are_refused_at_once() -> None:
    with pytest.raises(ValueError):
        gen.generate(-1, SEED)
    with pytest.raises(ValueError):
        gen.generate_lines(10, SEED, bad_share=1.5)
    with pytest.raises(SystemExit):
        gen.main(["--count", "10", "--bad-share", "-0.1"])


def test_write_streams_in_chunks() -> None:
    buf = io.BytesIO()
    n_bytes = gen.write(buf, 5000, SEED)
    assert buf.getvalue().count(b"\n") == 5000
    assert n_bytes == len(buf.getvalue())


# --- the record contract ---------------------------------------------------------------------


def test_the_offence_table_is_the_briefs() -> None:
    assert gen.OFFENCE_CODES == CODES
    assert {code for code, *_ in BANDS} == gen.RAPE_CODES | gen.SEXUAL_ASSAULT_CODES


def test_the_screen_families_are_the_reference_tables(ruleset: RuleSet) -> None:
    # the narrative_only_offence label is judged by offence family, as RC003 judges it
    reference = ruleset.reference
    written = {code for inc in gen.generate(2000, SEED) for code in _codes(inc)}
    assert written <= set(gen.SCREEN_FAMILY)
    for code, family in gen.SCREEN_FAMILY.items():
        offence = reference.offence(code)
        assert offence is not None and offence.family == family, code


def _codes(inc: dict[str, Any]) -> set[str]:
    return {d["offence"] for d in inc["disclosures"]} | {r["classification"] for r in inc["records"]}


def test_lesser_offences_rank_below_the_principal_they_go_with() -> None:
    variants = {"rape": RAPE, "sexual_assault": frozenset({"20A", "20B", "17A", "17B"})}
    for principal, lesser in gen._SECONDARY.items():
        least_serious = max(gen._RANK[code] for code in variants.get(principal, {principal}))
        assert all(gen._RANK[code] > least_serious for code in lesser), principal


def test_every_incident_meets_the_contract(batch: list[dict[str, Any]]) -> None:
    problems = {inc["incident_id"]: validate(inc) for inc in batch}
    assert {k: v for k, v in problems.items() if v} == {}
    ids = [inc["incident_id"] for inc in batch]
    assert len(set(ids)) == len(ids)
    assert ids[:2] == [f"SYN-{SEED}-0000000", f"SYN-{SEED}-0000001"]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets one field, addressed as 'key.index.key...'."""

    def mutate(inc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = inc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "gmt_offset_in_summer": _set("reported_at", "2024-07-01T12:00:00+00:00"),
    "naive_time": _set("disclosures.0.disclosed_at", "2024-07-01T12:00:00"),
    "disclosed_before_reported": _set("disclosures.0.disclosed_at", "2024-04-01T00:00:00+01:00"),
    "recorded_before_disclosed": _set("records.0.recorded_at", "2024-04-01T00:00:00+01:00"),
    "unknown_victim": _set("disclosures.0.victim_id", "V9"),
    "unknown_disclosure": _set("records.0.disclosure_ids", ["D9"]),
    "rape_code_for_adult_male": _set("disclosures.0.offence", "19E"),
    "n100_for_non_rape": _set("records.0.classification", "N100"),
    "cancelled_without_cancellation": _set("records.0.status", "cancelled"),
    "duplicate_victim_id": lambda inc: inc["victims"].append(dict(inc["victims"][0])),
    "c3_without_duplicate_of": _set(
        "records.0.cancellation",
        {
            "category": "C3",
            "decided_at": "2025-06-01T12:00:00+01:00",
            "authorised_by_role": "FCR",
            "avi": None,
            "reason": "dup",
            "victim_informed": True,
            "transferred_to": None,
            "duplicate_of": None,
        },
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_the_contract_check_catches(name: str, batch: list[dict[str, Any]]) -> None:
    base = next(
        inc
        for inc in batch
        if inc["records"]
        and inc["records"][0]["status"] == "recorded"
        and inc["victims"][0]["sex"] == "male"
        and inc["victims"][0]["age"] == 30
        and not any(d["offence"] in RAPE for d in inc["disclosures"])
    )
    assert validate(base) == []
    broken = copy.deepcopy(base)
    MUTATIONS[name](broken)
    if name == "cancelled_without_cancellation" or name.startswith("c3"):
        broken["records"][0]["status"] = "cancelled"
    assert validate(broken) != []


def test_records_use_wrong_bands_only_where_a_defect_was_injected(batch: list[dict[str, Any]]) -> None:
    for inc in batch:
        victims = {v["victim_id"]: v for v in inc["victims"]}
        labelled = {d.split(":", 1)[1] for d in inc["synthetic_truth"]["defects"] if d.startswith("wrong_age_band")}
        for r in inc["records"]:
            fits = band_ok(r["classification"], victims[r["victim_id"]])
            assert fits != (r["record_id"] in labelled), (inc["incident_id"], r["record_id"])


def test_the_batch_covers_the_cases_the_checker_needs(batch: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for inc in batch:
        seen["asb_personal"] += "asb_personal" in inc["qualifiers"]
        seen["bst"] += inc["reported_at"].endswith("+01:00")
        seen["gmt"] += inc["reported_at"].endswith("+00:00")
        for q in ("child_protection", "vulnerable_adult"):
            seen[q] += q in inc["qualifiers"] and inc["reporter"] == "professional"
        for v in inc["victims"]:
            age = v["age"]
            seen["age_null"] += age is None
            seen["age_10_15"] += age is not None and 10 <= age <= 15
            seen["age_under_13"] += age is not None and age < 13
        for d in inc["disclosures"]:
            seen["code_" + d["offence"]] += 1
        for r in inc["records"]:
            seen["status_" + r["status"]] += 1
            if r["cancellation"]:
                seen["cancel_" + r["cancellation"]["category"]] += 1
        seen["narrative_only"] += any(d.startswith("narrative_only") for d in inc["synthetic_truth"]["defects"])
    required = ["asb_personal", "bst", "gmt", "child_protection", "vulnerable_adult", "age_null", "age_10_15"]
    required += ["age_under_13", "narrative_only", "status_recorded", "status_cancelled", "status_transferred"]
    required += [f"cancel_C{i}" for i in range(1, 5)] + [f"code_{c}" for c in sorted(DISCLOSED_CODES)]
    assert [key for key in required if not seen[key]] == []


# --- shares ----------------------------------------------------------------------------------


def measured(batch: list[dict[str, Any]]) -> Counter[str]:
    """Counts behind each share, measured from the records alone."""
    c: Counter[str] = Counter()
    for inc in batch:
        victims = {v["victim_id"]: v for v in inc["victims"]}
        discs = {d["disclosure_id"]: d for d in inc["disclosures"]}
        answered: dict[str, list[dict[str, Any]]] = {}
        for r in inc["records"]:
            for did in r["disclosure_ids"]:
                answered.setdefault(did, []).append(r)
        truth = inc["synthetic_truth"]["expected"]
        for did, d in discs.items():
            decision = should_be(d, victims[d["victim_id"]])
            c["truth_agrees"] += truth[did].split(":")[0] == decision
            c["disclosures"] += 1
            if decision in ("crime", "transfer"):
                c["crime_due"] += 1
                c["crime_recorded"] += any(r["classification"] != "N100" for r in answered.get(did, []))
                if d["offence"] in RAPE and answered.get(did):
                    c["rape_due_decided"] += 1
                    c["rape_due_n100"] += all(r["classification"] == "N100" for r in answered[did])
        converted = {r["converted_to"] for r in inc["records"]}
        for r in inc["records"]:
            canc = r["cancellation"]
            victim = victims[r["victim_id"]]
            if r["record_id"] in converted or (canc and canc["category"] == "C3"):
                continue  # a later record: the decision was made by the first
            due = max(datetime.fromisoformat(discs[d]["disclosed_at"]) for d in r["disclosure_ids"])
            c["decisions"] += 1
            c["timely"] += datetime.fromisoformat(r["recorded_at"]) - due <= DAY
            if r["classification"] == "N100":
                c["n100"] += 1
                c["n100_no_reason"] += r["n100_reason"] is None
            elif (
                victim["relationship_to_suspect"] in ("partner", "ex_partner", "family")
                and (victim["age"] is None or victim["age"] >= 16)
                and gen.FAMILY[r["classification"]] in ("violence", "sexual", "damage")
                and all(
                    s["age"] >= 16
                    for s in inc["suspects"]
                    if s["suspect_id"] == discs[r["disclosure_ids"][0]]["suspect_id"]
                )
            ):
                c["da_due"] += 1
                c["da_missing"] += "domestic_abuse" not in r["flags"]
            if canc:
                c["cancelled"] += 1
                c["not_informed"] += not canc["victim_informed"]
                if canc["category"] == "C2":
                    c["c2"] += 1
                    c["c2_no_avi"] += canc["avi"] is None
                    text = (canc["avi"] or canc["reason"]).lower()
                    c["c2_withdrawal"] += "withdr" in text and "cctv" not in text  # evidence beside it is AVI
                    sexual = gen.FAMILY[r["classification"]] == "sexual"
                    c["c2_sexual_wrong_role"] += sexual and canc["authorised_by_role"] not in ("FCR", "DFCR")
    return c


def test_the_shares_are_close_to_the_brief(batch: list[dict[str, Any]]) -> None:
    c = measured(batch)
    assert c["truth_agrees"] == c["disclosures"]  # the generator's labels match the brief's tables
    recorded = c["crime_recorded"] / c["crime_due"]
    assert 0.80 <= recorded <= 0.86, recorded  # ~83% of crime recorded
    timely = c["timely"] / c["decisions"]
    assert 0.72 <= timely <= 0.80, timely  # 72-80% decided within 24 hours
    assert abs(timely - (1 - gen.P_LATE_RECORD)) < 0.02
    rape_n100 = c["rape_due_n100"] / c["rape_due_decided"]
    assert abs(rape_n100 - gen.P_RAPE_AS_N100) < 0.05, rape_n100
    assert 0 < c["n100_no_reason"] / c["n100"] < 0.25
    assert abs(c["da_missing"] / c["da_due"] - gen.P_DA_FLAG_MISSING) < 0.03
    assert 0.04 < c["not_informed"] / c["cancelled"] < 0.25
    assert c["c2_no_avi"] > 0 and c["c2_withdrawal"] > 0 and c["c2_sexual_wrong_role"] > 0
    assert 0.1 < (c["c2_no_avi"] + c["c2_withdrawal"]) / c["c2"] < 0.4


def test_injected_defects_are_labelled(batch: list[dict[str, Any]]) -> None:
    kinds: Counter[str] = Counter()
    for inc in batch:
        kinds.update(d.split(":", 1)[0] for d in inc["synthetic_truth"]["defects"])
    expected = {"missed_crime", "late_record", "rape_n100_wrong", "n100_no_reason", "rape_as_sexual_assault"}
    expected |= {"wrong_age_band", "da_flag_missing", "c2_no_avi", "c2_withdrawal_only", "cancel_wrong_role"}
    expected |= {"victim_not_informed", "over_recorded", "narrative_only_offence", "missed_n100"}
    assert expected <= set(kinds)


# --- malformed lines -------------------------------------------------------------------------


def bad_kind(line: bytes) -> str | None:
    """Which malformation a line has, or None for a valid incident."""
    try:
        inc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "truncated"
    problems = validate(inc)
    if not problems:
        return None
    text = " ".join(problems)
    for kind, marker in (
        ("missing_incident_id", "incident_id missing"),
        ("naive_datetime", "not an ISO time"),
        ("unknown_victim", "victim 'V9' does not exist"),
        ("negative_age", "bad age -"),
    ):
        if marker in text:
            return kind
    return "other: " + text


def iter_pairs(n: int, share: float) -> Iterator[tuple[bytes, bytes]]:
    """(line with bad_share, line without) at each position."""
    return zip(lines(n, bad_share=share), lines(n), strict=True)


def test_bad_share_injects_about_that_share_of_each_kind() -> None:
    n, share = 4000, 0.05
    kinds: Counter[str | None] = Counter()
    for bad, good in iter_pairs(n, share):
        kind = bad_kind(bad)
        kinds[kind] += 1
        assert (kind is None) == (bad == good)  # only the spoiled lines differ, and they are all invalid
    n_bad = n - kinds.pop(None)
    assert abs(n_bad / n - share) < 0.015, n_bad
    assert set(kinds) == set(gen.BAD_KINDS)


def test_no_bad_lines_by_default() -> None:
    assert all(bad_kind(line) is None for line in lines(500))
