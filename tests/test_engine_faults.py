"""Engine faults: the engine never sees a fact twice at scale, and a failure rejects one incident only.

durable-rules can raise MessageObserved for distinct facts at scale (upstream issue 376), and a fault
inside its C core can leave it unusable or kill the process. The first test feeds it 200,000
generated incidents the way the checker does; the others break it on purpose for one incident.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import checker.check.checker as check_module
import checker.rules.fact_ids as fact_ids
from checker.check.checker import Checker
from checker.check.facts import IncidentFacts, build_facts
from checker.cli.exits import EXIT_ERROR
from checker.cli.main import main
from checker.core.errors import EngineError
from checker.core.models import Incident
from checker.core.times import parse_time
from checker.engine.durable import DurableEngine
from checker.read.incidents import Item, validate
from checker.rules.fact_ids import FIRST_FACT_ID, MAX_FACTS
from checker.rules.loader import RuleSet, load_rules

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "incidents"
AS_OF = parse_time("2025-01-05T00:00:00+00:00")
SCALE = int(os.environ.get("CRIMECHECK_ENGINE_SCALE", "200000"))
SAMPLE_EVERY = 50  # one incident in 50 is also checked by the reference evaluator


def _incident(name: str, incident_id: str | None = None) -> Incident:
    data = json.loads((FIX / name).read_text())
    if incident_id:
        data["incident_id"] = incident_id
    return validate(Item(name, 1, 0, data=data))[0]


def _keys(checker: Checker, incident: Incident, as_of: datetime = AS_OF) -> list[tuple[str, str, str]]:
    return sorted((f.rule_id, f.subject, f.message) for f in checker.check(incident, as_of).findings)


# --- at scale ---------------------------------------------------------------------------------------


def _worker(args: tuple[int, int, int]) -> dict[str, Any]:
    """Check incidents start, start+step, ... below stop of the seeded generator in this process."""
    from bench.generate import generate

    start, stop, step = args
    ruleset = load_rules()
    engine = Checker(ruleset, evaluator="engine")
    reference = Checker(ruleset, evaluator="reference")
    as_of = parse_time("2025-04-15T00:00:00+00:00")  # after the generator's last report
    out: dict[str, Any] = {"checked": 0, "findings": 0, "errors": Counter(), "sampled": 0, "mismatches": []}
    for i, raw in enumerate(generate(stop, seed=11)):
        if i < start or (i - start) % step:
            continue
        incident, _ = validate(Item("gen", i + 1, i, data=raw))
        try:
            result = engine.check(incident, as_of)
        except EngineError as exc:
            out["errors"][str(exc)[:200]] += 1
            continue
        out["checked"] += 1
        out["findings"] += len(result.findings)
        if i % SAMPLE_EVERY == 0:
            out["sampled"] += 1
            mine = sorted((f.rule_id, f.subject) for f in result.findings)
            theirs = sorted((f.rule_id, f.subject) for f in reference.check(incident, as_of).findings)
            if mine != theirs:
                out["mismatches"].append((incident.incident_id, mine, theirs))
    return out


def _at_scale(count: int) -> None:
    """No EngineError on `count` incidents, and the reference agrees on every 50th one."""
    pytest.importorskip("bench.generate")
    workers = 2  # the machines here have two cores; each worker builds its own engine host
    started = time.monotonic()
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: durable's host is per process
    with ctx.Pool(workers) as pool:
        parts = pool.map(_worker, [(k, count, workers) for k in range(workers)])
    errors: Counter[str] = sum((p["errors"] for p in parts), Counter())
    checked = sum(p["checked"] for p in parts)
    sampled = sum(p["sampled"] for p in parts)
    mismatches = [m for p in parts for m in p["mismatches"]]
    print(f"\n{checked} incidents checked by the engine in {time.monotonic() - started:.0f} s; {sampled} sampled")
    assert not errors, errors.most_common(3)
    assert checked == count
    assert sampled >= count // SAMPLE_EVERY - workers
    assert mismatches == []


@pytest.mark.slow
def test_200k_generated_incidents_through_the_engine() -> None:
    """About 150 s on two idle cores: in the default run (docs/testing.md)."""
    _at_scale(SCALE)


# --- one incident breaks the engine -----------------------------------------------------------------


def test_an_engine_failure_rejects_that_incident_and_the_engine_goes_on(
    ruleset: RuleSet, reference_checker: Checker, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Checker(ruleset, evaluator="engine")
    real = engine._engine.evaluate

    def evaluate(facts: list[dict[str, Any]]) -> Any:
        if any(f["kind"] == "incident" and f["incident_id"] == "BOOM" for f in facts):
            real(facts)  # the engine really runs this incident's session first
            raise RuntimeError("simulated fault in the C engine")
        return real(facts)

    monkeypatch.setattr(engine._engine, "evaluate", evaluate)
    with pytest.raises(EngineError) as info:
        engine.check(_incident("rape-recorded-as-n100.json", "BOOM"), AS_OF)
    [problem] = info.value.problems
    assert problem.record == "BOOM"
    assert str(problem) == "incident BOOM: the rule engine failed: simulated fault in the C engine"
    after = _incident("rape-recorded-as-n100.json")
    assert _keys(engine, after) == _keys(reference_checker, after) != []


def test_a_fact_the_engine_cannot_take_rejects_that_incident_only(
    ruleset: RuleSet, reference_checker: Checker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An integer beyond 64 bits, in a field rules test, cannot be passed to the C engine: it fails,
    and the next incident is fine."""

    def facts_with_a_huge_number(incident: Incident, *args: Any, **kwargs: Any) -> IncidentFacts:
        built = build_facts(incident, *args, **kwargs)
        if incident.incident_id == "HUGE":
            next(f for f in built.facts if f["kind"] == "disclosure")["age_s"] = 2**70
        return built

    engine = Checker(ruleset, evaluator="engine")
    monkeypatch.setattr(check_module, "build_facts", facts_with_a_huge_number)
    with pytest.raises(EngineError, match=r"^incident HUGE: the rule engine failed: "):
        engine.check(_incident("c2-cancelled-on-withdrawal.json", "HUGE"), AS_OF)
    for name in ("c2-cancelled-on-withdrawal.json", "assault-recorded-late.json", "two-victims-one-recorded.json"):
        incident = _incident(name)
        assert _keys(engine, incident) == _keys(reference_checker, incident)


def test_a_batch_rejects_the_incident_the_engine_fails_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = DurableEngine.evaluate

    def evaluate(self: DurableEngine, facts: list[dict[str, Any]]) -> Any:
        if any(f["kind"] == "incident" and f["incident_id"] == "BOOM" for f in facts):
            raise RuntimeError("simulated fault in the C engine")
        return real(self, facts)

    monkeypatch.setattr(DurableEngine, "evaluate", evaluate)
    good = json.loads((FIX / "rape-recorded-as-n100.json").read_text())
    lines = [{**good, "incident_id": i} for i in ("OK-1", "BOOM", "OK-2")]
    path = tmp_path / "batch.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", str(path), "--format", "json", "--as-of", AS_OF.isoformat()], stdout=out)
    doc = json.loads(out.getvalue())
    assert code == EXIT_ERROR
    assert doc["counts"] == {"read": 3, "checked": 2, "rejected": 1, "findings": 2, "excepted": 0}
    [rejected] = doc["rejected"]
    assert rejected["where"] == f"{path}:2"
    assert [(e["incident_id"], e["message"]) for e in rejected["errors"]] == [
        ("BOOM", "the rule engine failed: simulated fault in the C engine")
    ]
    assert {f["incident_id"] for f in doc["findings"]} == {"OK-1", "OK-2"}


@pytest.mark.parametrize(
    ("kind", "extra", "why"),
    [
        pytest.param("record", {"flags": {f"f{i}": True for i in range(300)}}, "has 3[0-9]{2} fields", id="300-fields"),
        pytest.param("disclosure", {"left_s": 1e-7}, "left_s is a float", id="exponent-float"),
        pytest.param("victim", {"id": FIRST_FACT_ID}, "two facts have the id", id="shared-id"),
    ],
)
def test_a_fact_the_engine_would_ignore_is_an_engine_error(
    kind: str, extra: dict[str, Any], why: str, ruleset: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limits are checked on what the engine is given: here fields some rule tests."""

    def facts_plus(incident: Incident, *args: Any, **kwargs: Any) -> IncidentFacts:
        built = build_facts(incident, *args, **kwargs)
        for fact in built.facts:
            if fact["kind"] == kind:
                fact.update(extra)
        return built

    engine = Checker(ruleset, evaluator="engine")
    monkeypatch.setattr(check_module, "build_facts", facts_plus)
    with pytest.raises(EngineError, match=why):
        engine.check(_incident("rape-recorded-as-n100.json"), AS_OF)


def test_fields_no_rule_tests_are_not_given_to_the_engine(ruleset: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    """A field no rule tests never reaches the engine, so neither its size nor its type can make the
    engine ignore a fact; the findings still carry every field of the facts they bind."""
    extra = {**{f"f{i}": True for i in range(300)}, "weight": 1e-7}

    def facts_plus(incident: Incident, *args: Any, **kwargs: Any) -> IncidentFacts:
        built = build_facts(incident, *args, **kwargs)
        for fact in built.facts:
            fact.update(extra)
        return built

    engine = Checker(ruleset, evaluator="engine")
    incident = _incident("rape-recorded-as-n100.json")
    plain = engine.check(incident, AS_OF).findings
    monkeypatch.setattr(check_module, "build_facts", facts_plus)
    findings = engine.check(incident, AS_OF).findings
    assert findings == plain != ()
    for finding in findings:
        for fact in finding.facts.values():
            assert fact["weight"] == 1e-7 and fact["f299"] is True


COLLIDING = """
import json, sys
from checker.check.checker import Checker
from checker.core.times import parse_time
from checker.core.errors import EngineError
from checker.core.models import Incident
from checker.rules.loader import load_rules

engine = Checker(load_rules(), evaluator="engine")
as_of = parse_time("2025-01-05T00:00:00+00:00")
# two distinct links whose fact ids are both "link:A>B>C": record A>B answers C, record A answers B>C
colliding = Incident.model_validate({
    "incident_id": "COLLIDE", "reported_at": "2025-01-02T14:22:00+00:00",
    "disclosures": [{"disclosure_id": "C", "offence": "8L"}, {"disclosure_id": "B>C", "offence": "8L"}],
    "records": [
        {"record_id": "A>B", "classification": "8L", "disclosure_ids": ["C"], "recorded_at": "2025-01-03T09:00Z"},
        {"record_id": "A", "classification": "8L", "disclosure_ids": ["B>C"], "recorded_at": "2025-01-03T09:00Z"},
    ],
})
try:
    found = sorted(f.rule_id for f in engine.check(colliding, as_of).findings)
except EngineError as exc:
    found = str(exc)
after = Incident.model_validate(json.load(open(sys.argv[1])))
print(json.dumps([found, sorted(f.rule_id for f in engine.check(after, as_of).findings)]))
"""


def test_facts_with_the_same_id_do_not_crash_the_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", COLLIDING, str(FIX / "rape-recorded-as-n100.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    found, after = json.loads(proc.stdout)
    assert after == ["RN002"]
    assert found == [] or "COLLIDE" in found


def test_an_unknown_code_is_a_finding_and_the_engine_goes_on(engine_checker: Checker) -> None:
    """An offence code outside the list is a review finding (issue 10), not an error of any kind, and
    the engine checks the next incident as before."""
    incident = _incident("rape-recorded-as-n100.json").model_copy(update={"incident_id": "X"})
    bad = Incident.model_validate(
        {**incident.model_dump(mode="json"), "disclosures": [{"disclosure_id": "D1", "offence": "ZZ9"}]}
    )
    found = {(f.rule_id, f.subject) for f in engine_checker.check(bad, AS_OF).findings}
    assert ("CL008", "D1") in found
    assert [r for r, *_ in _keys(engine_checker, incident)] == ["RN002"]


# --- fact ids the engine cannot confuse -------------------------------------------------------------


def _engine_hash(text: str) -> int:
    """The hash durable-rules keeps of a fact id (32-bit FNV-1a of its text, src/rules/state.c)."""
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def _colliding_ids(prefix: str) -> tuple[str, str]:
    """Two distinct ids whose facts, named `prefix + id`, hash alike: a birthday search, 1-2 s."""
    seen: dict[int, str] = {}
    n = 0
    while True:
        candidate = f"V{n:07d}"
        key = _engine_hash(prefix + candidate)
        if key in seen:
            return seen[key], candidate
        seen[key] = candidate
        n += 1


def test_the_hash_model_is_the_engines(engine_checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids that collide under _engine_hash do collide inside the engine: the model is right.

    The pair is found by search, not copied: the first two numbers whose text hashes alike."""
    seen: dict[int, int] = {}
    n = 1
    while _engine_hash(str(n)) not in seen:
        seen[_engine_hash(str(n))] = n
        n += 1
    a, b = seen[_engine_hash(str(n))], n
    monkeypatch.setattr(fact_ids, "FIRST_FACT_ID", 1)  # let the engine take these ids
    monkeypatch.setattr(fact_ids, "MAX_FACTS", b)
    facts = [{"kind": "victim", "id": fid, "victim_id": f"V{fid}", "reported_on": "2025-01-01"} for fid in (a, b)]
    with pytest.raises(RuntimeError, match="MessageObserved"):
        engine_checker._engine.evaluate(facts)
    engine_checker._engine.evaluate([{**facts[0], "id": 1}, {**facts[1], "id": 2}])


def test_colliding_victim_and_record_ids_are_checked(engine_checker: Checker, reference_checker: Checker) -> None:
    """Victim and record ids chosen to collide under the engine's hash (as `victim:<id>` and
    `record:<id>` once did) are two victims and two records, checked like any others."""
    v1, v2 = _colliding_ids("victim:")
    r1, r2 = _colliding_ids("record:")
    assert _engine_hash("victim:" + v1) == _engine_hash("victim:" + v2) and v1 != v2
    data = json.loads((FIX / "two-victims-one-recorded.json").read_text())
    data["victims"][0]["victim_id"], data["victims"][1]["victim_id"] = v1, v2
    for part in (*data["disclosures"], *data["records"]):
        if part.get("victim_id") == "V1":
            part["victim_id"] = v1
        elif part.get("victim_id") == "V2":
            part["victim_id"] = v2
    record = data["records"][0]
    late = {"record_id": r2, "victim_id": v2, "disclosure_ids": ["D2"], "recorded_at": "2025-01-14T09:00:00+00:00"}
    data["records"] = [{**record, "record_id": r1}, {**record, **late}]
    incident = validate(Item("colliding", 1, 0, data=data))[0]
    as_of = parse_time("2025-02-01T00:00:00+00:00")
    found = _keys(engine_checker, incident, as_of)
    assert found == _keys(reference_checker, incident, as_of)
    assert [(rule, subject) for rule, subject, _ in found] == [("TL001", r2)]


def test_assigned_fact_ids_never_collide() -> None:
    """Every id the checker may assign has a hash of its own in the engine, and text of five digits."""
    ids = range(FIRST_FACT_ID, FIRST_FACT_ID + MAX_FACTS)
    assert len({_engine_hash(str(n)) for n in ids}) == MAX_FACTS
    assert {len(str(n)) for n in ids} == {5}  # so ids sort the same as numbers and as text


def test_a_fact_id_made_of_user_data_is_refused(engine_checker: Checker) -> None:
    with pytest.raises(ValueError, match="assigned by the checker"):
        engine_checker._engine.evaluate([{"kind": "victim", "id": "victim:V1", "reported_on": "2025-01-01"}])
