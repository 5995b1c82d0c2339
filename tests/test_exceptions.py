"""The exceptions register: loading the YAML file, who may accept, excepted findings apart, expiry."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from checker.check.checker import Checker, Result
from checker.check.exceptions import Register, load_policy, load_register
from checker.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from checker.cli.main import main as cli_main
from checker.core.errors import InputError
from checker.core.models import Incident
from checker.rules.loader import RuleSet

ROOT = Path(__file__).resolve().parent.parent
AS_OF = datetime.fromisoformat("2025-02-01T00:00:00+00:00")

ENTRY = """\
  - rule: CX004
    incident: INC-2025-000109
    subject: CRN-25-0109
    reason: the DDM authorised it in person; entered under the supervisor's login
    accepted_by_role: DDM
    accepted_by: DDM 4521
    expires: 2025-03-01
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exceptions.yaml"
    path.write_text(text)
    return path


def checked(engine_checker: Checker, name: str) -> list[Result]:
    data = json.loads((ROOT / "fixtures" / "incidents" / name).read_text())
    return [engine_checker.check(Incident.model_validate(data), AS_OF)]


def test_an_excepted_finding_is_apart_until_the_end_of_its_expiry_day(
    tmp_path: Path, ruleset: RuleSet, engine_checker: Checker
) -> None:
    register = load_register(write(tmp_path, "exceptions:\n" + ENTRY), ruleset)
    results = checked(engine_checker, "rape-cancelled-by-supervisor.json")
    kept, excepted = register.split(results, AS_OF)
    assert kept[0].findings == () and [e.finding.rule_id for e in excepted] == ["CX004"]
    assert excepted[0].entry_id == "exceptions.yaml#1"
    # a bare date lasts to the end of that day in London (GMT in March: midnight UTC)
    last = datetime.fromisoformat("2025-03-01T23:59:59+00:00")
    assert register.split(results, last)[1]
    kept, excepted = register.split(results, last + timedelta(seconds=1))
    assert [f.rule_id for f in kept[0].findings] == ["CX004"] and excepted == []
    assert excepted == [] and results[0].findings == kept[0].findings


def test_an_exception_names_one_finding_only(tmp_path: Path, ruleset: RuleSet, engine_checker: Checker) -> None:
    register = load_register(write(tmp_path, "exceptions:\n" + ENTRY), ruleset)
    other = checked(engine_checker, "c2-cancelled-on-withdrawal.json")  # CX004 too, another record
    kept, excepted = register.split(other, AS_OF)
    assert excepted == [] and kept == other


def test_only_the_allowed_roles_may_accept(tmp_path: Path, ruleset: RuleSet) -> None:
    text = "exceptions:\n" + ENTRY.replace("accepted_by_role: DDM", "accepted_by_role: supervisor")
    with pytest.raises(InputError) as caught:
        load_register(write(tmp_path, text), ruleset)
    (problem,) = caught.value.problems
    assert problem.line == 6 and problem.field == "exceptions[0].accepted_by_role"
    assert "may not accept a cancellation finding; the force allows FCR, DFCR, DDM" in problem.message
    # a force may widen the policy for an area, in the same file
    widened = "allowed_roles:\n  areas:\n    cancellation: [FCR, DFCR, DDM, supervisor]\n" + text
    assert len(load_register(write(tmp_path, widened), ruleset)) == 1


def test_register_errors_are_located(tmp_path: Path, ruleset: RuleSet) -> None:
    with pytest.raises(InputError) as caught:
        load_register(write(tmp_path, "exceptions:\n" + ENTRY.replace("2025-03-01", "soon")), ruleset)
    assert [(p.line, p.field) for p in caught.value.problems] == [(8, "exceptions[0].expires")]
    assert "'soon' is not a date" in caught.value.problems[0].message
    with pytest.raises(InputError) as caught:
        load_register(write(tmp_path, "exceptions:\n" + ENTRY.replace("2025-03-01", "2025-03-01T12:00:00")), ruleset)
    assert "needs a UTC offset" in caught.value.problems[0].message
    with pytest.raises(InputError) as caught:
        load_register(write(tmp_path, "exceptions:\n" + ENTRY.replace("expires: 2025-03-01\n", "")), ruleset)
    assert [(p.line, p.field, p.message) for p in caught.value.problems] == [
        (2, "exceptions[0].expires", "required field is missing")
    ]
    with pytest.raises(InputError) as caught:
        load_register(write(tmp_path, "exceptions:\n" + ENTRY.replace("rule: CX004", "rule: ZZ999")), ruleset)
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "exceptions[0].rule")]
    with pytest.raises(InputError):
        load_register(write(tmp_path, "exceptions:\n" + ENTRY + "    colour: red\n"), ruleset)


def test_an_empty_register_changes_nothing(tmp_path: Path, ruleset: RuleSet, engine_checker: Checker) -> None:
    results = checked(engine_checker, "rape-cancelled-by-supervisor.json")
    assert load_register(write(tmp_path, ""), ruleset).split(results, AS_OF) == (results, [])
    assert Register().split(results, AS_OF) == (results, [])


def test_policy_file_names_known_areas_only(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, "allowed_roles:\n  default: [FCR]\n")).allowed("flags") == ("FCR",)
    assert load_policy(write(tmp_path, "")).allowed("cancellation") == ("FCR", "DFCR", "DDM")
    with pytest.raises(InputError) as caught:
        load_policy(write(tmp_path, "allowed_roles:\n  areas:\n    parking: [FCR]\n"))
    assert "unknown area parking" in str(caught.value)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli_main(list(argv), stdout=out), out.getvalue()


FIXTURE = str(ROOT / "fixtures" / "incidents" / "rape-cancelled-by-supervisor.json")


def test_check_reports_excepted_findings_apart_and_they_do_not_fail_the_run(tmp_path: Path) -> None:
    register = str(write(tmp_path, "exceptions:\n" + ENTRY))
    code, text = run("check", FIXTURE, "--as-of", "2025-02-01T00:00:00Z", "--exceptions", register, "--color", "never")
    assert code == EXIT_OK, text
    assert "CX004 excepted" in text and "accepted by the DDM until 00:00 Sun 2 Mar 2025" in text
    assert "no findings" in text and "; 1 excepted" in text
    code, text = run("check", FIXTURE, "--as-of", "2025-02-01T00:00:00Z", "--exceptions", register, "--format", "json")
    doc = json.loads(text)
    assert doc["counts"]["findings"] == 0 and doc["counts"]["excepted"] == 1
    assert doc["excepted"][0]["rule_id"] == "CX004" and doc["excepted"][0]["exception"]["accepted_by_role"] == "DDM"
    # expired: the finding is back and fails the run again
    code, text = run("check", FIXTURE, "--as-of", "2025-03-02T00:00:00Z", "--exceptions", register, "--format", "json")
    assert code == EXIT_FINDINGS and json.loads(text)["counts"] == {
        "read": 1,
        "checked": 1,
        "rejected": 0,
        "findings": 1,
        "excepted": 0,
    }


def test_check_names_the_register_line_of_a_bad_exception(tmp_path: Path) -> None:
    register = str(write(tmp_path, "exceptions:\n" + ENTRY.replace("accepted_by_role: DDM", "accepted_by_role: other")))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code, _ = run("check", FIXTURE, "--exceptions", register)
    assert code == EXIT_ERROR
    assert f"{register}:6: exceptions[0].accepted_by_role: the other role may not accept" in err.getvalue()


def test_audit_counts_excepted_findings_in_their_own_column(tmp_path: Path) -> None:
    register = str(write(tmp_path, "exceptions:\n" + ENTRY))
    files = [str(p) for p in sorted((ROOT / "fixtures" / "incidents").glob("*.json"))]
    base = ["audit", *files, "--as-of", "2025-02-01T00:00:00Z", "--quiet", "--workers", "1"]
    assert run(*base, "--out", str(tmp_path / "plain"))[0] in (EXIT_OK, EXIT_FINDINGS)
    assert run(*base, "--out", str(tmp_path / "ex"), "--exceptions", register)[0] in (EXIT_OK, EXIT_FINDINGS)
    plain = json.loads((tmp_path / "plain" / "summary.json").read_text())
    ex = json.loads((tmp_path / "ex" / "summary.json").read_text())
    assert ex["counts"]["excepted"] == 1 and ex["counts"]["findings"] == plain["counts"]["findings"] - 1
    assert ex["findings"]["excepted_by_outcome"]["breach"] == 1
    cx004 = {r["rule_id"]: r for r in ex["findings"]["by_rule"]}["CX004"]
    assert (
        cx004["excepted"] == 1
        and cx004["findings"] == {r["rule_id"]: r for r in plain["findings"]["by_rule"]}["CX004"]["findings"] - 1
    )
    assert ex["figures"] == plain["figures"]  # the inspection's figures judge every finding
    with open(tmp_path / "ex" / "excepted.csv", encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["rule_id"], r["subject"], r["exception_id"], r["accepted_by_role"]) for r in rows] == [
        ("CX004", "CRN-25-0109", "exceptions.yaml#1", "DDM")
    ]
    html = (tmp_path / "ex" / "report.html").read_text()
    assert "<th>Excepted</th>" in html
