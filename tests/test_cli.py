"""The command line as a user runs it: output, JSON document, clocks and exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from checker.cli.main import main
from checker.rules.loader import RuleSet

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


def _batch(path: Path, n: int) -> Path:
    """`n` generated incidents as JSON Lines, a tenth of them spoilt (rejected) and every seventh
    with a field the contract does not know (a warning), one of them in words with line ends and
    accents."""
    from bench.generate import generate_lines

    with path.open("wb") as f:
        for i, line in enumerate(generate_lines(n, seed=11, bad_share=0.1)):
            if i % 7 == 0 and line.startswith(b"{"):
                line = b'{"force_note\\n\xc3\xa9": 1, ' + line[1:]
            f.write(line.rstrip(b"\n") + b"\n")
    return path


def test_the_json_document_is_written_as_it_comes_and_is_the_same_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check --format json` keeps no result until the end: each list of the document goes to a
    temporary file past a few MiB (here 2 KiB, so that every list does). The bytes are those of the
    whole document dumped at once, rejected items, warnings and --explain's facts included."""
    from checker.check import document

    monkeypatch.setattr(document, "IN_MEMORY", 2048)
    batch = _batch(tmp_path / "batch.jsonl", 120)
    for explain in ([], ["--explain"]):
        code, text = run("check", str(batch), "--format", "json", "--as-of", "2025-06-01T00:00:00+00:00", *explain)
        assert code == EXIT_ERROR  # the spoilt lines
        doc = json.loads(text)
        assert doc["counts"]["rejected"] >= 5 and doc["warnings"] and doc["findings"], "every list is exercised"
        assert doc["counts"]["read"] == 120 == doc["counts"]["checked"] + doc["counts"]["rejected"]
        assert doc["counts"]["findings"] == len(doc["findings"])
        assert any("force_note\\né: unknown field" in w for w in doc["warnings"])  # quoted, accent kept
        assert text.encode() == orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    code, text = run("check", str(empty), "--format", "json")
    doc = json.loads(text)  # empty lists, and the one rejection saying why
    assert code == EXIT_ERROR and doc["counts"] == {
        "read": 1,
        "checked": 0,
        "rejected": 1,
        "findings": 0,
        "excepted": 0,
    }
    assert doc["findings"] == doc["decisions"] == doc["warnings"] == doc["excepted"] == []
    assert text.encode() == orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


class _Sink(io.StringIO):
    """Standard output that counts what it is given and keeps none of it."""

    written = 0

    def write(self, s: str) -> int:
        self.written += len(s)
        return len(s)


def _peak_of_check(batch: Path, *options: str) -> tuple[int, int]:
    """The most memory a check of `batch` holds after its first incident (rules, lexicon and
    engine loaded by then), and how much it writes."""
    import tracemalloc

    from checker.check.checker import Checker
    from checker.cli import commands

    class Measured(Checker):
        first = True

        def check(self, *args: Any, **kwargs: Any) -> Any:
            result = super().check(*args, **kwargs)
            if self.first:
                tracemalloc.reset_peak()
                self.first = False
            return result

    sink = _Sink()
    tracemalloc.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(commands, "Checker", Measured)
            main(["check", str(batch), "--as-of", "2025-06-01T00:00:00+00:00", *options], stdout=sink)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, sink.written


def test_a_check_of_a_batch_holds_no_result_until_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A check kept every result (with the facts behind each finding) to count them and to write the
    JSON document at the end: 124 MB for 10,000 incidents, 10 GB for a million. Now the memory a
    check holds does not grow with the batch beyond each incident's id: four times the incidents,
    about the same peak, for both outputs."""
    from checker.check import document

    monkeypatch.setattr(document, "IN_MEMORY", 64 * 1024)
    monkeypatch.setattr(document, "CHUNK", 64 * 1024)
    small, large = _batch(tmp_path / "small.jsonl", 150), _batch(tmp_path / "large.jsonl", 1200)
    run("check", str(large))  # rules, lexicon and its prefilter (built after 200 narratives) loaded first
    for options in (["--format", "json"], ["--format", "human"]):
        (peak_small, out_small), (peak_large, out_large) = (
            _peak_of_check(small, *options),
            _peak_of_check(large, *options),
        )
        assert out_large > 6 * out_small, "the larger batch writes about eight times as much"
        assert peak_large < peak_small + 1_000_000, f"{options}: {peak_small:,} -> {peak_large:,} bytes at peak"


def test_a_full_temporary_disk_stops_the_check_saying_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 4 MiB the JSON document's lists are on the temporary folder's disk; when it is full the
    check stops (exit 2) naming the folder and what to do, and writes no half document."""
    import errno
    import tempfile

    class Full(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", lambda max_size: Full())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    code = main(["check", str(FIX / "rape-recorded-as-n100.json"), "--format", "json"], stdout=out)
    assert code == EXIT_ERROR and out.getvalue() == ""
    assert (
        f"cannot keep the JSON document's lists in {tmp_path}: No space left on device; make room there, "
        "or set TMPDIR to another folder" in err.getvalue()
    )


_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    warnings=st.lists(_TEXT, max_size=6),
    rejected=st.lists(
        st.tuples(_TEXT, st.lists(st.tuples(_TEXT, st.none() | st.integers(0, 10**6), _TEXT), min_size=1, max_size=3)),
        max_size=4,
    ),
    spill=st.sampled_from([1, 64, 4 * 1024 * 1024]),
)
def test_the_streamed_document_is_the_whole_document_dumped_for_any_text(
    ruleset: RuleSet, monkeypatch: pytest.MonkeyPatch, warnings: list[str], rejected: list[Any], spill: int
) -> None:
    """The document is written a list item at a time, each re-indented by replacing its line ends:
    sound because JSON text holds no raw line end. Any text (line ends, U+2028, controls, accents)
    in warnings and rejected items gives the bytes of one `orjson.dumps` of the whole, whether the
    lists stay in memory or go to disk."""
    from datetime import UTC, datetime

    from checker.check import document
    from checker.core.errors import Problem

    monkeypatch.setattr(document, "IN_MEMORY", spill)
    as_of = datetime(2025, 6, 1, tzinfo=UTC)
    problems = [(where, [Problem(m, file=f, line=n) for m, n, f in found]) for where, found in rejected]
    made = document.json_document(ruleset, [], problems, as_of, warnings=warnings)
    whole = {
        "schema_version": document.SCHEMA_VERSION,
        "as_of": as_of.isoformat(),
        "ruleset": document.ruleset_info(ruleset),
        "counts": {"read": len(rejected), "checked": 0, "rejected": len(rejected), "findings": 0, "excepted": 0},
        "findings": [],
        "decisions": [],
        "rejected": [{"where": w, "errors": [document.problem_dict(p) for p in ps]} for w, ps in problems],
        "warnings": warnings,
        "excepted": [],
    }
    assert made == orjson.dumps(whole, option=orjson.OPT_INDENT_2) + b"\n"
