"""What issue 13 asks of the command line and the report folder: the version, rules as JSON, readable
time errors, folders of incidents, the report's options, breakdowns, the workbook and the CSV times."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pytest

from checker.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from checker.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "incidents"
AS_OF = "2025-02-01T00:00:00+00:00"


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), stdout=out), out.getvalue()


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert re.fullmatch(r"crimecheck \S+\n", capsys.readouterr().out)


def test_rules_list_as_json() -> None:
    code, text = run("rules", "list", "--format", "json", "--as-of", "2025-01-01")
    doc = json.loads(text)
    assert code == EXIT_OK and doc["in_force_on"] == "2025-01-01"
    ids = [r["id"] for r in doc["rules"]]
    assert "RN002" in ids and len(ids) == len(set(ids))
    assert {"id", "title", "area", "outcome", "effective_from", "source"} <= set(doc["rules"][0])


def test_unreadable_times_say_what_is_expected(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["check", str(FIX / "rape-recorded-as-n100.json"), "--as-of", "yesterday"],
        ["rules", "list", "--as-of", "yesterday"],
    ):
        assert run(*argv)[0] == EXIT_ERROR
        err = capsys.readouterr().err
        assert "'yesterday'" in err and ("2025-01-03T15:00:00+00:00" in err or "YYYY-MM-DD" in err), err
        assert "isoformat" not in err, "not Python's words"


def test_check_reads_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in FIX.glob("*.json"))
    _, by_files = run("check", *files, "--as-of", AS_OF, "--format", "json")
    code, by_folder = run("check", str(FIX), "--as-of", AS_OF, "--format", "json")
    assert code == EXIT_FINDINGS
    assert json.loads(by_folder)["counts"] == json.loads(by_files)["counts"]
    assert json.loads(by_folder)["counts"]["checked"] == len(files)
    (tmp_path / "empty").mkdir()
    assert run("check", str(tmp_path / "empty"))[0] == EXIT_ERROR
    assert "no incident files" in capsys.readouterr().err


def _batch(tmp_path: Path, teams: bool = False) -> Path:
    lines = []
    for i, path in enumerate(sorted(FIX.glob("*.json"))):
        doc = json.loads(path.read_text())
        if teams:
            doc.update(team=f"Team {'AB'[i % 2]}", shift="nights" if i % 3 else "days", officer=f"PC {i % 4}")
        lines.append(json.dumps(doc))
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    return batch


def test_report_options_trend_marking_force_templates(tmp_path: Path) -> None:
    batch = _batch(tmp_path)
    for name in ("a", "b"):
        assert run("audit", str(batch), "--as-of", AS_OF, "--out", str(tmp_path / name), "--quiet")[0] == EXIT_OK
    brand = tmp_path / "brand"
    brand.mkdir()
    (brand / "brand.css.j2").write_text(":root{--brand:#00305e}\n")
    (brand / "report.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block logo %}<p class="force-logo">Exampleshire Police</p>{% endblock %}'
    )
    code, _ = run(
        "audit",
        str(batch),
        "--as-of",
        AS_OF,
        "--out",
        str(tmp_path / "c"),
        "--quiet",
        "--previous",
        str(tmp_path / "a"),
        str(tmp_path / "b" / "summary.json"),
        "--marking",
        "OFFICIAL",
        "--force",
        "Exampleshire Constabulary",
        "--templates",
        str(brand),
    )
    assert code == EXIT_OK
    page = (tmp_path / "c" / "report.html").read_text()
    assert "Trend over audits" in page and "Earlier audit 2" in page and "both audits read the same input" in page
    assert 'content:"OFFICIAL"' in page and "OFFICIAL-SENSITIVE" not in page
    assert "Exampleshire Constabulary" in page and "force-logo" in page and "--brand:#00305e" in page
    assert "Key messages" in page and "<script" not in page.lower()
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["marking"] == "OFFICIAL" and summary["force"] == "Exampleshire Constabulary"
    default = (tmp_path / "a" / "report.html").read_text()
    assert "OFFICIAL-SENSITIVE" in default and "Example Constabulary" in default, "the incidents' one force"
    assert run("audit", str(batch), "--out", str(tmp_path / "d"), "--templates", str(tmp_path / "nope"))[0] == 2


def _with_templates(tmp_path: Path, out: str, **files: str) -> tuple[int, Path]:
    """An audit of the sample batch into `out` with a --templates folder holding `files` (each
    name's dots written as `__`, its text), written over what an earlier call put there."""
    brand = tmp_path / "brand"
    brand.mkdir(exist_ok=True)
    for name, text in files.items():
        (brand / name.replace("__", ".")).write_text(text)
    batch = _batch(tmp_path)
    code, _ = run("audit", str(batch), "--as-of", AS_OF, "--out", str(tmp_path / out), "--templates", str(brand))
    return code, brand


def test_a_force_template_that_fails_is_named_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --templates file that does not parse, or names what the page does not have, was an
    "internal error" (the second after the whole batch); now the file and line, and no report."""
    code, brand = _with_templates(tmp_path, "a", base__html__j2="<p>\n{% if %}broken")
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "internal error" not in err
    assert f"{brand / 'base.html.j2'}:2: report template: Expected an expression" in err
    code, _ = _with_templates(tmp_path, "b", base__html__j2="<p>{{ the_force_logo.url }}</p>")
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "internal error" not in err
    assert f"{brand / 'base.html.j2'}:1: report template: 'the_force_logo' is undefined" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_templates_folder_that_would_change_nothing_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --templates folder with none of the report's template names (the wrong folder, or
    `brand.css` without its `.j2`) gave the bundled report without a word; now it stops, naming them."""
    code, brand = _with_templates(tmp_path, "a", brand__css=":root{--brand:#00305e}")
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and not (tmp_path / "a").exists()
    assert f"{brand}: --templates holds none of the report's templates (base.html.j2, brand.css.j2, " in err
    (brand / "brand.css").unlink()
    code, _ = _with_templates(tmp_path, "b", brand__css__j2=":root{--brand:#00305e}")
    assert code != EXIT_ERROR and "#00305e" in (tmp_path / "b" / "report.html").read_text()


def test_breakdowns_by_team_shift_and_officer(tmp_path: Path) -> None:
    batch = _batch(tmp_path, teams=True)
    assert run("audit", str(batch), "--as-of", AS_OF, "--out", str(tmp_path / "r"), "--quiet")[0] == EXIT_OK
    s: dict[str, Any] = json.loads((tmp_path / "r" / "summary.json").read_text())
    b = s["breakdowns"]
    assert set(b) == {"team", "shift", "officer"}
    assert sum(r["incidents"] for r in b["team"]) == s["counts"]["checked"]
    assert sum(r["findings"] for r in b["team"]) == s["counts"]["findings"]
    assert sum(r["denominator"] for r in b["shift"]) == s["figures"]["recording.all_crime"]["denominator"]
    rates = [r["rate"] for r in b["officer"] if r["rate"] is not None]
    assert rates == sorted(rates), "lowest rate first"
    page = (tmp_path / "r" / "report.html").read_text()
    assert "Where the failures are" in page and "By team" in page and "Team A" in page
    schema = json.loads((ROOT / "schemas" / "summary.schema.json").read_text())
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(s)) == []


def test_workbook_has_real_dates_frozen_filtered_headers(tmp_path: Path) -> None:
    assert run("audit", str(_batch(tmp_path)), "--as-of", AS_OF, "--out", str(tmp_path / "r"), "--quiet")[0] == 0
    book = openpyxl.load_workbook(tmp_path / "r" / "report.xlsx")
    assert book.sheetnames == ["summary", "findings", "excepted", "decisions", "rejected"]
    decisions = book["decisions"]
    head = [c.value for c in decisions[1]]
    assert "deadline (UK time)" in head and "reported_at (UK time)" in head
    col = head.index("deadline (UK time)") + 1
    deadline = decisions.cell(row=2, column=col).value
    assert isinstance(deadline, datetime), "a real date-time cell"
    assert decisions.freeze_panes == "A2" and decisions.auto_filter.ref.startswith("A1:")
    assert decisions.column_dimensions["A"].width and decisions.column_dimensions["A"].width > 8
    csv_rows = rows(tmp_path / "r" / "decisions.csv")
    assert decisions.max_row == len(csv_rows) + 1
    first = datetime.fromisoformat(csv_rows[0]["deadline"])
    assert deadline == first.replace(tzinfo=None), "UK local time, as the CSV's offset says"
    summary = book["summary"]
    assert summary["A2"].value == "All crime (excluding fraud)" and summary["D2"].number_format == "0.0%"


def test_csv_times_carry_offsets_and_the_deadline_agrees_with_the_message(tmp_path: Path) -> None:
    doc = json.loads((FIX / "threats-unrecorded-overdue.json").read_text())
    # in British Summer Time: the message and the CSV must both say 15:20 local
    doc["reported_at"] = "2025-06-14T14:20:00+00:00"
    for d in doc["disclosures"]:
        d["disclosed_at"] = "2025-06-14T14:20:00+00:00"
    batch = tmp_path / "b.jsonl"
    batch.write_text(json.dumps(doc) + "\n")
    assert (
        run("audit", str(batch), "--as-of", "2025-07-01T00:00:00+00:00", "--out", str(tmp_path / "r"), "--quiet")[0]
        == EXIT_OK
    )
    decisions = rows(tmp_path / "r" / "decisions.csv")
    assert decisions and all(r["deadline"] == "2025-06-15T15:20:00+01:00" for r in decisions)
    assert all(r["reported_at"] == "2025-06-14T15:20:00+01:00" for r in decisions)
    findings = rows(tmp_path / "r" / "findings.csv")
    late = [f for f in findings if "was due by" in f["message"]]
    assert late and all("due by Sun 15 Jun 2025 15:20" in f["message"] for f in late)
    for r in decisions + findings:
        for key, value in r.items():
            if key.endswith("_at") or key == "deadline":
                assert not value or re.search(r"[+-]\d\d:\d\d$", value), (key, value)
    assert {"recorded_ids", "recorded_codes", "recorded_status"} <= set(decisions[0])


def test_officers_are_pseudonymised_with_the_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRIMECHECK_PSEUDONYM_KEY", "6b1f0e7c2d9a4f3815c7e2ab90d4f6135a8c7e1d2f3b4a5968e7d6c5b4a39281")
    batch = _batch(tmp_path, teams=True)
    out = tmp_path / "r"
    assert run("audit", str(batch), "--as-of", AS_OF, "--out", str(out), "--quiet", "--pseudonymise")[0] == EXIT_OK
    officers = json.loads((out / "summary.json").read_text())["breakdowns"]["officer"]
    assert len(officers) == 4 and all(re.fullmatch(r"P-[0-9a-f]{16}", r["value"]) for r in officers)
    for name in ("summary.json", "report.html"):
        assert "PC 1" not in (out / name).read_text()
