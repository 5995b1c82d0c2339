"""The command line as a user runs it: output, JSON document, clocks and exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from checker.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from checker.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "incidents"


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), stdout=out)
    return code, " ".join(out.getvalue().split()) if "--format" not in args else out.getvalue()


def test_rape_recorded_as_n100_is_a_breach() -> None:
    code, text = run("check", str(FIX / "rape-recorded-as-n100.json"), "--as-of", "2025-01-05T00:00:00+00:00")
    assert code == EXIT_FINDINGS
    assert "RN002 breach" in text and "Record 19C" in text and "source: Home Office Crime Recording Rules" in text
    assert "\x1b[" not in text, "no colour when not writing to a terminal"
    assert (
        "RN002 breach rape_n100 N100-25-0007 Rape recorded as N100 although the report needed no confirmation" in text
    )


def test_json_document_fields() -> None:
    code, text = run(
        "check", str(FIX / "rape-recorded-as-n100.json"), "--format", "json", "--as-of", "2025-01-05T00:00:00+00:00"
    )
    doc = json.loads(text)
    assert code == EXIT_FINDINGS
    assert doc["schema_version"] == "1.0" and len(doc["ruleset"]["hash"]) == 16 and doc["ruleset"]["editions"]
    assert doc["counts"] == {"read": 1, "checked": 1, "rejected": 0, "findings": 1, "excepted": 0}
    assert doc["excepted"] == []
    [f] = doc["findings"]
    assert {k: f[k] for k in ("rule_id", "area", "outcome", "incident_id", "subject")} == {
        "rule_id": "RN002",
        "area": "rape_n100",
        "outcome": "breach",
        "incident_id": "INC-2025-000102",
        "subject": "N100-25-0007",
    }
    assert f["source"]["edition"] == "2024/25" and f["message"]
    assert doc["decisions"][0]["decision"] == "crime" and doc["decisions"][0]["expected_code"] == "19C"


def test_as_of_decides_overdue_or_due(tmp_path: Path) -> None:
    incident = json.loads((FIX / "threats-unrecorded-overdue.json").read_text())
    path = tmp_path / "i.json"
    path.write_text(json.dumps(incident))
    code, text = run("check", str(path), "--as-of", "2025-01-08T10:05:00+00:00")  # 26 hours after
    assert code == EXIT_FINDINGS and "RC001 breach" in text
    code, text = run("check", str(path), "--as-of", "2025-01-07T10:05:00+00:00")  # 2 hours after
    assert code == EXIT_OK and "TL003 risk" in text and "due in 22 h" in text
    code, _ = run("check", str(path), "--as-of", "2025-01-07T10:05:00+00:00", "--fail-on", "risk")
    assert code == EXIT_FINDINGS


def test_compliant_incident_exits_zero() -> None:
    code, text = run("check", str(FIX / "compliant-harassment-recorded.json"), "--as-of", "2025-01-05T00:00:00+00:00")
    assert code == EXIT_OK and "no findings" in text


def test_bad_input_exits_two_with_location(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"incident_id": "X", "reported_at": "yesterday"}')
    code, text = run("check", str(path))
    assert code == EXIT_ERROR
    assert f"{path}:1: incident X: reported_at:" in text


def test_usage_and_rule_errors_exit_two() -> None:
    assert run("check", "--as-of", "soon", str(FIX / "rape-recorded-as-n100.json"))[0] == EXIT_ERROR
    assert run("rules", "explain", "ZZ999")[0] == EXIT_ERROR
    assert run("check", str(FIX / "rape-recorded-as-n100.json"), "--why-not", "NOPE")[0] == EXIT_ERROR


def test_rules_list_by_date_and_explain() -> None:
    code, text = run("rules", "list")
    assert code == EXIT_OK and "RN002" in text and "CX001" in text
    code, text = run("rules", "list", "--as-of", "2018-06-01")
    assert "CX001" not in text and "TL001" in text, "the 2019 cancellation criteria are not in force in 2018"
    code, text = run("rules", "explain", "RN002")
    assert (
        code == EXIT_OK
        and "# RN002" in text
        and "## Source" in text
        and "fail_victim_reported_rape_recorded_as_n100" in text
    )


def test_rules_test_runs_every_example() -> None:
    code, text = run("rules", "test")
    assert code == EXIT_OK and text.strip().endswith("0 failed")


def test_explain_and_why_not() -> None:
    _, text = run(
        "check",
        str(FIX / "rape-recorded-as-n100.json"),
        "--as-of",
        "2025-01-05T00:00:00+00:00",
        "--explain",
        "--why-not",
        "RN004",
    )
    assert (
        "why RN002 fired on N100-25-0007" in text
        and "d.decision == crime" in text
        and "[d.decision = crime: yes]" in text
    )
    assert "why-not RN004" in text and "fails: no disclosure satisfies the pattern d" in text


def test_python_dash_m_and_jsonl_batch(tmp_path: Path) -> None:
    lines = [json.dumps(json.loads(p.read_text())) for p in sorted(FIX.glob("*.json"))]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "checker",
            "check",
            str(batch),
            "--format",
            "json",
            "--as-of",
            "2025-01-14T12:00:00+00:00",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    doc = json.loads(proc.stdout)
    assert proc.returncode == EXIT_FINDINGS
    assert doc["counts"]["read"] == len(lines) == doc["counts"]["checked"]


def test_a_number_option_out_of_range_is_a_usage_error_not_a_crash(tmp_path: Path) -> None:
    """Counts too large for JSON crashed the audit as it wrote summary.json (an internal error after
    the whole run); --workers 100000 would have started a process per chunk; --port 70000 crashed."""
    from checker.cli.main import MAX_WORKERS

    out = str(tmp_path / "out")
    huge = str(2**64)
    cases = [
        (["audit", str(FIX), "--out", out, "--sample", huge], "argument --sample: expected a whole number of at most"),
        (["audit", str(FIX), "--out", out, "--sample", "5", "--seed", huge], "argument --seed:"),
        (["audit", str(FIX), "--out", out, "--population", huge], "argument --population:"),
        (["audit", str(FIX), "--out", out, "--recorded-per-year", "-1"], "of 0 or more, got '-1'"),
        (
            ["audit", str(FIX), "--out", out, "--workers", "0"],
            "argument --workers: expected a whole number of 1 or more",
        ),
        (
            ["audit", str(FIX), "--out", out, "--workers", str(MAX_WORKERS + 1)],
            "more workers than cores only take memory",
        ),
        (
            ["check", str(FIX), "--max-narrative", "lots"],
            "argument --max-narrative: expected a whole number, got 'lots'",
        ),
        (["serve", "--port", "70000"], "argument --port: expected a whole number of at most 65,535"),
        (["serve", "--workers", "100000"], "argument --workers:"),
    ]
    for args, says in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "checker", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == EXIT_ERROR and says in proc.stderr, (args, proc.stderr[-500:])
        assert "internal error" not in proc.stderr
    assert not (tmp_path / "out").exists()
    code, _ = run("audit", str(FIX), "--out", out, "--workers", str(MAX_WORKERS), "--quiet")
    assert code in (EXIT_OK, EXIT_FINDINGS), "the largest allowed is allowed"
