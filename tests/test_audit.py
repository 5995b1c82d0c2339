"""`crimecheck audit` end to end: the report files, the figures, sampling, periods and data protection."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from checker.audit.report_rows import safe_cell
from checker.audit.rows import Cancel, ItemResult, Queued, Unit, check_chunk
from checker.audit.stream import reservoir
from checker.audit.tally import Tally
from checker.check.checker import Checker
from checker.cli.exits import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from checker.cli.main import main
from checker.core.errors import Problem
from checker.read.incidents import Item
from checker.read.seen import SeenIds

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "incidents"
CSV_FIX = ROOT / "fixtures" / "csv"
AS_OF = "2025-02-01T00:00:00+00:00"
KEY = "6b1f0e7c2d9a4f3815c7e2ab90d4f6135a8c7e1d2f3b4a5968e7d6c5b4a39281"  # 32 bytes, as keygen writes


OTHER_KEY = "0f9e8d7c6b5a49382716f5e4d3c2b1a0ffeeddccbbaa99887766554433221100"


# The twelve fixtures the hand-checked figures below were worked out on (others may be added to the
# folder later; they do not change this batch).
BATCH = (
    "assault-recorded-late",
    "c2-cancelled-on-withdrawal",
    "compliant-harassment-recorded",
    "n100-confirmed-not-converted",
    "open-decision-due-today",
    "rape-cancelled-by-supervisor",
    "rape-child-misbanded",
    "rape-recorded-as-n100",
    "rape-third-party-n100-correct",
    "threats-unrecorded-overdue",
    "transfer-without-receiving-force",
    "two-victims-one-recorded",
)


def fixture_incidents() -> list[dict[str, Any]]:
    return [json.loads((FIX / f"{name}.json").read_text()) for name in BATCH]


def write_jsonl(path: Path, incidents: list[Any]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in incidents), encoding="utf-8")
    return path


def audit(*args: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["audit", *(str(a) for a in args), "--quiet"], stdout=out)
    return code, out.getvalue()


def summary_of(report: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    return doc


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def counts(fig: dict[str, Any]) -> tuple[int, int]:
    return fig["numerator"], fig["denominator"]


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("audit")
    batch = write_jsonl(tmp / "batch.jsonl", fixture_incidents())
    code, text = audit(batch, "--as-of", AS_OF, "--out", tmp / "report")
    assert code == EXIT_OK, text
    return tmp / "report"


def report_texts(folder: Path) -> dict[str, str]:
    """Each report file as text; the workbook as its cells, sheet by sheet, row by row."""
    out = {}
    for p in sorted(folder.iterdir()):
        if p.suffix == ".xlsx":
            book = openpyxl.load_workbook(p, read_only=True)
            out[p.name] = "\n".join(
                f"{ws.title}: " + "\t".join("" if v is None else str(v) for v in row)
                for ws in book.worksheets
                for row in ws.iter_rows(values_only=True)
            )
        else:
            out[p.name] = p.read_text(encoding="utf-8-sig")
    return out


def test_report_files_and_counts_add_up(fixture_report: Path) -> None:
    assert sorted(p.name for p in fixture_report.iterdir()) == [
        "decisions.csv",
        "excepted.csv",
        "findings.csv",
        "rejected.csv",
        "report.html",
        "report.xlsx",
        "summary.json",
    ], "no partial files left behind"
    s = summary_of(fixture_report)
    c = s["counts"]
    assert s["schema_version"] == "1.0" and s["sample"] is None
    assert c["read"] == c["audited"] == 12 and c["checked"] + c["rejected"] == c["read"] and c["rejected"] == 0
    assert c["checked_plus_rejected_equals_audited"] is True
    findings = read_csv(fixture_report / "findings.csv")
    decisions = read_csv(fixture_report / "decisions.csv")
    assert len(findings) == c["findings"] == sum(s["findings"]["by_outcome"].values())
    assert len(decisions) == c["decisions"] == 13
    assert Counter(f["rule_id"] for f in findings) == {r["rule_id"]: r["findings"] for r in s["findings"]["by_rule"]}
    assert len(s["ruleset"]["hash"]) == 16 and s["ruleset"]["editions"]


def test_figures_hand_checked_on_the_fixture_batch(fixture_report: Path) -> None:
    """The twelve fixtures, judged on 1 February 2025, disclosure by disclosure.

    Crimes that should have been recorded (decision crime), and whether each was recorded correctly:
      105 8N recorded (late, but timeliness does not count here)        yes   violence
      108 105A recorded, since cancelled (a crime record was made)       yes   violence
      101 8L recorded                                                   yes   violence
      111 19F only an N100 (RN004)                                      no    sexual, rape
      107 44 nothing recorded                                           no
      109 19C recorded, since cancelled                                 yes   sexual, rape
      104 19D recorded as 19C (CL002, classification)                   no    sexual, rape; a professional's referral
      102 19C recorded as N100 (RN002)                                  no    sexual, rape
      106 3B nothing recorded, in an ASB-personal incident              no    violence, asb_personal
      112 8N D1 recorded, D2 not                                        yes, no  violence
    103 (19C, third party, N100 required) and 110 (45, other force area) need no crime.
    """
    f = summary_of(fixture_report)["figures"]
    assert counts(f["recording.all_crime"]) == (5, 11)
    assert f["recording.all_crime"]["text"] == "45.5 percent (between 21.3 and 72.0 percent; only 11 cases)"
    assert counts(f["recording.violence_against_the_person"]) == (4, 6)
    assert counts(f["recording.sexual_offences"]) == (1, 4)
    assert counts(f["recording.rape"]) == (1, 4)
    assert counts(f["recording.asb_personal"]) == (0, 1)
    assert counts(f["recording.safeguarding"]) == (0, 1)
    # disclosures with any record: all but 107, 106 and 112's D2; only 105 was recorded after 24 hours
    assert counts(f["timeliness.within_window"]) == (9, 10)
    # N100s: 111 and 102 should have been crimes, 103 was right; no rape report was left with nothing
    assert counts(f["n100.correct"]) == (1, 3)
    assert counts(f["n100.should_have_been_crime"]) == (2, 3)
    assert counts(f["n100.missing"]) == (0, 5)
    # cancellations: 108 (C2 on withdrawal, CX003), 109 (C2 wrong authoriser, CX004), 110 (C1, no force, CX007)
    assert counts(f["cancellation.correct"]) == (0, 3)
    assert counts(f["cancellation.correct.C2"]) == (0, 2) and counts(f["cancellation.correct.C1"]) == (0, 1)
    assert "cancellation.correct.C3" not in f, "a category nobody used is left out"
    assert counts(f["cancellation.victim_informed"]) == (2, 3)
    for fig in f.values():
        assert fig["method"] == "wilson" and fig["low"] <= fig["rate"] <= fig["high"] and fig["definition"]


def test_decisions_csv_agrees_with_the_recording_rate(fixture_report: Path) -> None:
    decisions = read_csv(fixture_report / "decisions.csv")
    crimes = [d for d in decisions if d["decision_required"] == "crime" and d["group"] != "fraud"]
    right = [d for d in crimes if d["correctly_recorded"] == "yes"]
    assert (len(right), len(crimes)) == counts(summary_of(fixture_report)["figures"]["recording.all_crime"])
    late = next(d for d in decisions if d["incident_id"] == "INC-2025-000105")
    assert late["timely"] == "no" and late["first_elapsed"] == "2 days 10 h"
    missing = next(d for d in decisions if d["incident_id"] == "INC-2025-000107")
    assert missing["timely"] == "not recorded" and missing["correctly_recorded"] == "no"


def test_csv_files_open_cleanly_in_a_spreadsheet(fixture_report: Path) -> None:
    for name in ("findings.csv", "decisions.csv", "rejected.csv"):
        raw = (fixture_report / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), f"{name}: UTF-8 byte-order mark for Excel"
        assert raw.count(b"\r\n") >= 1 and raw.count(b"\n") == raw.count(b"\r\n"), f"{name}: CRLF line ends"
    rows = read_csv(fixture_report / "findings.csv")
    assert set(rows[0]) >= {
        "incident_id",
        "record_id",
        "disclosure_id",
        "rule_id",
        "area",
        "outcome",
        "message",
        "source_document",
        "source_section",
        "source_edition",
    }
    rn002 = next(r for r in rows if r["rule_id"] == "RN002")
    assert rn002["incident_id"] == "INC-2025-000102" and rn002["record_id"] == "N100-25-0007"
    assert rn002["source_edition"] == "2024/25" and "narrative" not in rn002


def test_formula_injection_is_neutralised(tmp_path: Path) -> None:
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("+44") == "'+44" and safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-2") == "'-2" and safe_cell("\tx") == "'\tx" and safe_cell("ok=1") == "ok=1"
    assert safe_cell(5) == 5 and safe_cell(None) == "" and safe_cell(True) == "yes"
    incident = json.loads((FIX / "rape-recorded-as-n100.json").read_text())
    incident["incident_id"] = "@SUM(1+1)*cmd"
    incident["records"][0]["record_id"] = '=HYPERLINK("http://x","y")'
    batch = write_jsonl(tmp_path / "b.jsonl", [incident])
    code, _ = audit(batch, "--as-of", AS_OF, "--out", tmp_path / "r")
    assert code == EXIT_OK
    rows = read_csv(tmp_path / "r" / "findings.csv")
    assert rows and all(r["incident_id"] == "'@SUM(1+1)*cmd" for r in rows)
    rn002 = next(r for r in rows if r["rule_id"] == "RN002")
    assert rn002["record_id"].startswith("'=") and rn002["subject"].startswith("'=")
    for row in rows + read_csv(tmp_path / "r" / "decisions.csv"):
        assert not any(v[:1] in "=+-@" for v in row.values() if v), row


def test_html_is_self_contained(fixture_report: Path) -> None:
    page = (fixture_report / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert "<script" not in page.lower(), "no JavaScript"
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I), "no external assets"
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    headline = "45.5 percent (between 21.3 and 72.0 percent; only 11 cases)"
    assert headline in page, "the headline rate as the inspectorate states it"
    assert "Incidents to fix first" in page and "Rules most often broken" in page
    assert page.count('<div class="chart"') >= 3, "charts are drawn in HTML and CSS"
    assert not re.search(r"(?<![-\w])width:\s*\d{3,}px", page), "no fixed widths: the page reflows"
    assert not re.search(r"<svg[^>]*\swidth=", page), "SVG charts scale to the page"
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        ET.fromstring(svg)  # each chart is well-formed XML
    # breaches first: the first incident listed has the most breaches (108: three)
    first = page.index("<h2>Incidents to fix first</h2>")
    assert page.index("INC-2025-000108", first) < page.index("INC-2025-000105", first)


def test_narratives_left_out_by_default(tmp_path: Path) -> None:
    incident = json.loads((FIX / "rape-recorded-as-n100.json").read_text())
    incident["narrative"] = "Caller Jane Secretname says she was attacked"
    batch = write_jsonl(tmp_path / "b.jsonl", [incident])
    assert audit(batch, "--as-of", AS_OF, "--out", tmp_path / "r")[0] == EXIT_OK
    for name, text in report_texts(tmp_path / "r").items():
        assert "Secretname" not in text, name
    assert summary_of(tmp_path / "r")["data_protection"]["narratives_included"] is False
    assert audit(batch, "--as-of", AS_OF, "--out", tmp_path / "n", "--include-narrative")[0] == EXIT_OK
    assert "Secretname" in (tmp_path / "n" / "findings.csv").read_text(encoding="utf-8-sig")
    assert "Secretname" in (tmp_path / "n" / "report.html").read_text(encoding="utf-8")


def _run_pseudonymised(batch: Path, out: Path, monkeypatch: pytest.MonkeyPatch, key: str = KEY) -> None:
    monkeypatch.setenv("CRIMECHECK_PSEUDONYM_KEY", key)
    code, text = audit(batch, "--as-of", AS_OF, "--out", out, "--pseudonymise")
    assert code == EXIT_OK, text


def test_pseudonymise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    incidents = fixture_incidents()
    batch = write_jsonl(tmp_path / "b.jsonl", incidents)
    _run_pseudonymised(batch, tmp_path / "a", monkeypatch)
    _run_pseudonymised(batch, tmp_path / "b", monkeypatch)
    _run_pseudonymised(
        batch, tmp_path / "c", monkeypatch, key="0f9e8d7c6b5a49382716f5e4d3c2b1a0ffeeddccbbaa99887766554433221100"
    )
    ids = {i["incident_id"] for i in incidents} | {r["record_id"] for i in incidents for r in i["records"]}
    again = report_texts(tmp_path / "b")
    for name, text in report_texts(tmp_path / "a").items():
        assert KEY not in text, f"{name}: the key is never written"
        leaked = [i for i in ids if i in text]
        assert not leaked, f"{name} still names {leaked[:3]}"
        # same key, same pseudonyms: the whole report is identical
        assert text == again[name], name
    a = read_csv(tmp_path / "a" / "findings.csv")
    c = read_csv(tmp_path / "c" / "findings.csv")
    assert all(re.fullmatch(r"P-[0-9a-f]{16}", r["incident_id"]) for r in a)
    assert all(re.fullmatch(r"P-[0-9a-f]{16}", r["record_id"]) for r in a if r["record_id"])
    assert {r["incident_id"] for r in a}.isdisjoint({r["incident_id"] for r in c}), "another key, other pseudonyms"
    rn002 = next(r for r in a if r["rule_id"] == "RN002")
    assert rn002["record_id"] in rn002["message"], "ids inside messages are replaced by the same pseudonyms"
    s = summary_of(tmp_path / "a")
    assert s["data_protection"] == {"narratives_included": False, "pseudonymised": True}, "no key fingerprint"
    assert s["figures"] == summary_of(tmp_path / "c")["figures"], "pseudonyms change no figure"


def test_pseudonymise_refuses_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRIMECHECK_PSEUDONYM_KEY", raising=False)
    batch = write_jsonl(tmp_path / "b.jsonl", fixture_incidents()[:1])
    code, _ = audit(batch, "--as-of", AS_OF, "--out", tmp_path / "r", "--pseudonymise")
    assert code == EXIT_ERROR and not (tmp_path / "r").exists(), "nothing written"
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    code, _ = audit(batch, "--as-of", AS_OF, "--out", tmp_path / "r", "--pseudonymise", "--key-file", key_file)
    assert code == EXIT_OK
    assert all(KEY not in text for text in report_texts(tmp_path / "r").values())
    code, _ = audit(batch, "--out", tmp_path / "x", "--pseudonymise", "--key-file", key_file, "--include-narrative")
    assert code == EXIT_ERROR, "narratives would name people in a pseudonymised report"


def test_rejected_items_duplicates_and_counts(tmp_path: Path) -> None:
    incidents: list[Any] = fixture_incidents()[:4]
    bad = json.loads(json.dumps(incidents[0]))
    bad["incident_id"] = "INC-BAD-AGE"
    bad["victims"][0]["age"] = 300
    lines = [json.dumps(i) for i in incidents]
    lines.insert(2, json.dumps(incidents[0]))  # a duplicate: the second copy is rejected
    lines.append("{not json")
    lines.append(json.dumps(bad))
    batch = tmp_path / "b.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    code, _ = audit(batch, "--as-of", AS_OF, "--out", tmp_path / "r")
    assert code == EXIT_OK, "a written report exits 0 even with rejections, unless --fail-on"
    c = summary_of(tmp_path / "r")["counts"]
    assert (c["read"], c["checked"], c["rejected"]) == (7, 4, 3)
    rejected = read_csv(tmp_path / "r" / "rejected.csv")
    assert len({r["where"] for r in rejected}) == c["rejected"]
    dup = next(r for r in rejected if r["where"] == f"{batch}:3")
    assert "duplicate incident_id" in dup["reason"] and dup["field"] == "incident_id"
    age = next(r for r in rejected if r["incident_id"] == "INC-BAD-AGE")
    assert age["field"] == "victims[0].age" and age["line"] == "7"
    assert audit(batch, "--as-of", AS_OF, "--out", tmp_path / "f", "--fail-on", "breach")[0] == EXIT_ERROR


def test_exit_codes(tmp_path: Path) -> None:
    batch = write_jsonl(tmp_path / "b.jsonl", fixture_incidents())
    assert audit(batch, "--as-of", AS_OF, "--out", tmp_path / "r", "--fail-on", "breach")[0] == EXIT_FINDINGS
    ok = write_jsonl(tmp_path / "ok.jsonl", [json.loads((FIX / "compliant-harassment-recorded.json").read_text())])
    assert audit(ok, "--as-of", AS_OF, "--out", tmp_path / "r", "--fail-on", "breach")[0] == EXIT_OK
    assert audit(tmp_path / "missing.jsonl", "--out", tmp_path / "m")[0] == EXIT_ERROR
    assert not (tmp_path / "m").exists()
    assert audit(CSV_FIX / "incidents.csv", "--out", tmp_path / "m")[0] == EXIT_ERROR, "CSV needs --mapping"
    assert audit(batch, "--out", tmp_path / "m", "--population", "3")[0] == EXIT_ERROR, "population < audited"
    with pytest.raises(SystemExit) as exc:
        main(["audit", str(batch)], stdout=io.StringIO())  # --out is required
    assert exc.value.code == EXIT_ERROR


def test_csv_input_end_to_end(tmp_path: Path) -> None:
    code, text = audit(
        CSV_FIX / "incidents.csv",
        "--records",
        CSV_FIX / "crimes.csv",
        "--disclosures",
        CSV_FIX / "disclosures.csv",
        "--mapping",
        CSV_FIX / "force-mapping.yaml",
        "--as-of",
        AS_OF,
        "--out",
        tmp_path / "r",
    )
    assert code == EXIT_OK, text
    s = summary_of(tmp_path / "r")
    c = s["counts"]
    # 12 incident rows (2 that cannot be mapped) and 1 crime row whose incident is not in the file
    assert (c["read"], c["checked"], c["rejected"]) == (13, 10, 3)
    rejected = read_csv(tmp_path / "r" / "rejected.csv")
    assert {(r["where"], r["field"]) for r in rejected} == {
        (f"{CSV_FIX}/incidents.csv:11", "Caller Type (reporter)"),
        (f"{CSV_FIX}/incidents.csv:13", "Call Received (reported_at)"),
        (f"{CSV_FIX}/crimes.csv:11", "Incident URN"),
    }
    assert s["inputs"]["format"] == "csv" and s["inputs"]["mapping"].endswith("force-mapping.yaml")
    # December and January: the figures are split by month, and the months add up to the whole
    assert [p["period"] for p in s["periods"]] == ["2024-12", "2025-01"]
    for key, whole in s["figures"].items():
        parts = [p["figures"][key] for p in s["periods"] if key in p["figures"]]
        assert sum(p["numerator"] for p in parts) == whole["numerator"], key
        assert sum(p["denominator"] for p in parts) == whole["denominator"], key
    assert sum(p["checked"] for p in s["periods"]) == c["checked"]


def test_period_split_uses_london_months(tmp_path: Path) -> None:
    incidents = fixture_incidents()
    # 23:30 UTC on 31 May is 00:30 BST on 1 June: a June incident in Europe/London
    moved = json.loads((FIX / "assault-recorded-late.json").read_text())
    moved["incident_id"] = "INC-MOVED"
    moved["reported_at"] = "2024-05-31T23:30:00+00:00"
    moved["disclosures"][0].pop("disclosed_at", None)
    moved["records"][0]["recorded_at"] = "2024-06-01T08:00:00+00:00"
    batch = write_jsonl(tmp_path / "b.jsonl", [*incidents, moved])
    assert audit(batch, "--as-of", AS_OF, "--out", tmp_path / "r")[0] == EXIT_OK
    s = summary_of(tmp_path / "r")
    assert [(p["period"], p["checked"]) for p in s["periods"]] == [("2024-06", 1), ("2025-01", 12)]
    june = s["periods"][0]["figures"]
    assert counts(june["recording.all_crime"]) == (1, 1) and counts(june["timeliness.within_window"]) == (1, 1)
    one_month = write_jsonl(tmp_path / "one.jsonl", incidents)
    assert audit(one_month, "--as-of", AS_OF, "--out", tmp_path / "o")[0] == EXIT_OK
    assert summary_of(tmp_path / "o")["periods"] == [], "one month: no split"


def test_population_and_unrecorded_estimate(tmp_path: Path) -> None:
    batch = write_jsonl(tmp_path / "b.jsonl", fixture_incidents())
    args = ("--as-of", AS_OF, "--recorded-per-year", "10000", "--ci-method", "normal")
    assert audit(batch, *args, "--out", tmp_path / "a")[0] == EXIT_OK
    assert audit(batch, *args, "--out", tmp_path / "b", "--population", "120")[0] == EXIT_OK
    a, b = summary_of(tmp_path / "a"), summary_of(tmp_path / "b")
    fa, fb = a["figures"]["recording.all_crime"], b["figures"]["recording.all_crime"]
    assert fa["method"] == "normal" and fa["population"] is None and fb["population"] == 110  # 11 x 120/12
    assert fb["half_width_points"] < fa["half_width_points"], "the finite-population correction narrows it"
    est = a["unrecorded_estimate"]
    # 10,000 x (1 - 5/11) / (5/11) = 12,000
    assert est["unrecorded_per_year"] == 12000 and est["low"] <= 12000 and "12,000" in est["text"]


def test_sampling_is_deterministic_and_says_so(tmp_path: Path) -> None:
    incidents = []
    for i in range(40):
        for inc in fixture_incidents():
            inc["incident_id"] = f"{inc['incident_id']}-{i}"
            incidents.append(inc)
    batch = write_jsonl(tmp_path / "b.jsonl", incidents)
    runs = {}
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        code, _ = audit(batch, "--as-of", AS_OF, "--out", tmp_path / name, "--sample", "50", "--seed", seed)
        assert code == EXIT_OK
        runs[name] = (tmp_path / name / "decisions.csv").read_text(encoding="utf-8-sig")
    assert runs["a"] == runs["b"] and runs["a"] != runs["c"]
    s = summary_of(tmp_path / "a")
    assert s["sample"] == {"size": 50, "requested": 50, "seed": 7, "of_read": 480}
    c = s["counts"]
    assert c["read"] == 480 and c["audited"] == 50 and c["checked"] + c["rejected"] == 50
    assert "A simple random sample of 50 of the 480" in (tmp_path / "a" / "report.html").read_text()
    # rows are in input order
    rows = read_csv(tmp_path / "a" / "decisions.csv")
    lines = [int(r["where"].rsplit(":", 1)[1]) for r in rows]
    assert lines == sorted(lines)


def test_reservoir_is_a_simple_random_sample() -> None:
    items = [Queued(i, Item("f", i + 1, i)) for i in range(1000)]
    picked: Counter[int] = Counter()
    for seed in range(400):
        sample, read = reservoir(iter(items), 10, seed)
        assert read == 1000 and len(sample) == 10 and len({q.index for q in sample}) == 10
        picked.update(q.index // 100 for q in sample)
    # 4,000 picks over ten deciles: each near 400 (a loose bound, far from any plausible bias)
    assert all(300 < n < 500 for n in picked.values()), picked
    small, read = reservoir(iter(items[:5]), 10, 1)
    assert read == 5 and [q.index for q in small] == [0, 1, 2, 3, 4]


def test_seen_ids_finds_repeats_across_the_compacted_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SeenIds, "_BUFFER", 8)
    seen = SeenIds()
    assert not any(seen.add(f"INC-{i}") for i in range(100))
    assert all(seen.add(f"INC-{i}") for i in range(100))
    assert not seen.add("INC-100")


def _outcome(index: int, period: str, units: tuple[Unit, ...], cancels: tuple[Cancel, ...] = ()) -> ItemResult:
    return ItemResult(index, f"f:{index}", f"I{index}", period=period, units=units, cancels=cancels)


def test_tally_adds_counts_and_merges_in_any_grouping(engine_checker: Checker) -> None:
    crime_ok = Unit("violence_against_the_person", "violence_with_injury", "crime", True, False, 3600, False)
    crime_wrong = Unit("sexual_offences", "rape", "crime", True, False, 90000, True)
    n100_bad = Unit("sexual_offences", "rape", "crime", False, True, 600, False)
    fraud = Unit("fraud", "fraud", "crime", False, False, None, False)
    outcomes = [
        _outcome(0, "2025-01", (crime_ok, fraud)),
        _outcome(1, "2025-01", (crime_wrong,), (Cancel("C2", False, False),)),
        _outcome(2, "2025-02", (n100_bad,), (Cancel("C3", True, True),)),
        ItemResult(3, "f:3", None, problems=(Problem("bad"),)),
    ]
    whole = Tally()
    for o in outcomes:
        whole.add(o)
    whole.balance()
    m = whole.measures
    assert (m[("", "recording.all_crime", "x")], m[("", "recording.all_crime", "n")]) == (1, 3), "fraud excluded"
    assert (m[("", "recording.rape", "x")], m[("", "recording.rape", "n")]) == (0, 2)
    assert (m[("", "timeliness.within_window", "x")], m[("", "timeliness.within_window", "n")]) == (2, 3)
    assert (m[("", "n100.should_have_been_crime", "x")], m[("", "n100.should_have_been_crime", "n")]) == (1, 1)
    assert (m[("", "cancellation.victim_informed", "x")], m[("", "cancellation.victim_informed", "n")]) == (1, 2)
    assert m[("2025-01", "recording.all_crime", "n")] == 2 and m[("2025-02", "recording.all_crime", "n")] == 1
    assert (whole.audited, whole.checked, whole.rejected) == (4, 3, 1)
    for split in ([0, 1], [2], [3]), ([3, 1], [0, 2]), ([2, 0, 3, 1],):
        merged = Tally()
        for part in split:
            t = Tally()
            for i in part:
                t.add(outcomes[i])
            merged.merge(t)
        assert merged.measures == whole.measures and merged.counts == whole.counts
        assert (merged.audited, merged.checked, merged.rejected) == (4, 3, 1)
    # the chunk function checks items by themselves: same outcomes whatever the chunking
    items = [Queued(i, Item("f", i + 1, i, data=inc)) for i, inc in enumerate(fixture_incidents())]
    from checker.audit.rows import Settings

    settings = Settings(datetime(2025, 2, 1, tzinfo=UTC), 86400)
    assert check_chunk(engine_checker, items, settings) == [
        o for part in (items[:5], items[5:]) for o in check_chunk(engine_checker, part, settings)
    ]


def test_tally_refuses_counts_that_do_not_add_up() -> None:
    t = Tally()
    t.add(_outcome(0, "2025-01", ()))
    t.audited += 1
    with pytest.raises(RuntimeError, match="do not add up"):
        t.balance()


def _peak_rss_kb(batch: Path, out: Path) -> int:
    code = (
        "import io, resource, sys\n"
        "from checker.cli.main import main\n"
        "rc = main(sys.argv[1:], stdout=io.StringIO())\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "sys.exit(rc)\n"
    )
    args = ["audit", str(batch), "--as-of", "2025-06-01T00:00:00+00:00", "--out", str(out), "--quiet"]
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(importlib.util.find_spec("bench.generate") is None, reason="bench/generate.py is not present")
def test_streamed_run_keeps_memory_bounded(tmp_path: Path) -> None:
    """20,000 incidents (about 38 MB of JSON Lines) need little more memory than 1,000.

    Holding the batch would cost several hundred MB (parsed JSON is ~10x its text); the bound is
    loose so that allocator noise never fails it.
    """
    for n in (1000, 20000):
        gen = [
            sys.executable,
            "-m",
            "bench.generate",
            "--count",
            str(n),
            "--seed",
            "3",
            "--out",
            str(tmp_path / f"{n}.jsonl"),
        ]
        subprocess.run(gen, cwd=ROOT, check=True)
    small = _peak_rss_kb(tmp_path / "1000.jsonl", tmp_path / "r1")
    large = _peak_rss_kb(tmp_path / "20000.jsonl", tmp_path / "r2")
    assert summary_of(tmp_path / "r2")["counts"]["checked"] == 20000
    assert large - small < 60 * 1024, f"peak RSS grew from {small} KB to {large} KB"


def test_progress_bar_only_when_enabled() -> None:
    from checker.cli.progress import Progress, count_lines

    quiet = io.StringIO()
    p = Progress(quiet, False, "auditing", 100)
    p.advance(50)
    p.finish()
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    p = Progress(shown, True, "auditing", 100)
    p.advance(40)
    p.finish()
    text = shown.getvalue()
    assert text.startswith("\rauditing  40/100 (40%)") and "/s" in text and "left" in text
    assert text.endswith("\n") and "done in" in text
    assert count_lines(str(FIX / "rape-recorded-as-n100.json")) and count_lines("-") is None


def test_chunks_outcomes_and_tallies_cross_process_boundaries(engine_checker: Checker) -> None:
    """What a worker process would receive and send back pickles, and comes back equal."""
    import pickle

    from checker.audit.pseudonym import Pseudonymiser
    from checker.audit.rows import Settings
    from checker.read.csvitems import read_csv_items
    from checker.read.mapping import load_mapping

    settings = Settings(datetime(2025, 2, 1, tzinfo=UTC), 86400, pseudonymiser=Pseudonymiser(bytes.fromhex(KEY)))
    csv_items = read_csv_items(
        load_mapping(CSV_FIX / "force-mapping.yaml"), CSV_FIX / "incidents.csv", CSV_FIX / "crimes.csv"
    )
    chunk = [Queued(i, item) for i, item in enumerate(csv_items)]
    outcomes = check_chunk(engine_checker, chunk, settings)
    shipped_settings, shipped_chunk = pickle.loads(pickle.dumps((settings, chunk)))
    assert check_chunk(engine_checker, shipped_chunk, shipped_settings) == outcomes
    assert KEY not in repr(settings), "the key never shows in a repr"
    tally = Tally()
    for o in pickle.loads(pickle.dumps(outcomes)):
        tally.add(o)
    back = pickle.loads(pickle.dumps(tally))
    assert back.measures == tally.measures and back.incidents_to_fix() == tally.incidents_to_fix()


@pytest.mark.parametrize("shape", ["jsonl", "array"])
def test_worker_processes_give_the_same_bytes(tmp_path: Path, shape: str) -> None:
    """One process or two, the report is the same, byte for byte: the workers parse what they
    check, and repeats of an id are found all the same, in the chunk of the first copy or a later
    one, whichever worker checked which."""
    from checker.cli.main import main

    lines = [json.dumps(json.loads(p.read_text())) for p in sorted(FIX.glob("*.json"))]
    copies = 300 // len(lines) + 1  # more than one chunk (256 items), so both workers take part
    unique = [line.replace('"incident_id": "', f'"incident_id": "{n}-') for n, line in enumerate(lines * copies)]
    # repeats: one in the first chunk, one in the next of an id from the first, one in the last
    broken = '{"incident_id": "X",}'
    batch_lines = [*unique[:5], unique[1], *unique[5:280], unique[3], *unique[280:], unique[-1], broken]
    batch = tmp_path / f"batch.{shape}"
    if shape == "jsonl":
        batch.write_text("\n".join(batch_lines) + "\n")
    else:
        batch.write_text("[\n" + ",\n".join(batch_lines) + "\n]\n")
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        code = main(
            [
                "audit",
                str(batch),
                "--out",
                str(out),
                "--workers",
                workers,
                "--quiet",
                "--as-of",
                "2025-02-01T00:00:00+00:00",
            ],
            stdout=io.StringIO(),
        )
        assert code == EXIT_OK  # (rejections turn the exit code only with --fail-on)
        outs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outs[0] == outs[1]  # report.xlsx and report.html included
    counts = json.loads(outs[0]["summary.json"])["counts"]
    assert (counts["read"], counts["checked"], counts["rejected"]) == (len(unique) + 4, len(unique), 4)
    rejected = outs[0]["rejected.csv"].decode("utf-8-sig")
    assert rejected.count("duplicate incident_id") == 3 and "invalid JSON" in rejected


def test_a_stream_never_mixes_parsed_and_unparsed_items() -> None:
    """Which of two copies of an id came first could not be told if the reader parsed one and a
    worker the other."""
    from checker.audit.stream import queue

    items = [Item("f", 1, 0, raw=b'{"incident_id": "A"}'), Item("f", 2, 1, data={"incident_id": "A"})]
    with pytest.raises(ValueError, match="mixes parsed items"):
        list(queue(items))


def test_one_process_finds_repeats_in_items_it_parses(tmp_path: Path) -> None:
    """Checked in the audit's own process, items left unparsed give the report parsed ones give."""
    from checker.audit.rows import Settings
    from checker.audit.stream import checked_chunks, chunks, queue
    from checker.core.times import parse_time
    from checker.read.incidents import read_items
    from checker.rules.loader import load_rules

    lines = [json.dumps(json.loads(p.read_text())) for p in sorted(FIX.glob("*.json"))]
    batch = tmp_path / "in.jsonl"
    batch.write_text("\n".join([*lines, lines[2], lines[0]]) + "\n")
    ruleset = load_rules()
    settings = Settings(parse_time(AS_OF), ruleset.reference.recording_window_s)

    def report(parse: bool) -> list[Any]:
        stream = chunks(queue(read_items(batch, parse=parse)), 5)
        return [(r.size, r.tally.counts, r.parts) for r in checked_chunks(stream, 1, ruleset, "engine", settings)]

    assert report(parse=False) == report(parse=True)
    assert report(parse=False)[-1][2]["rejected.csv"].csv.count("duplicate incident_id") == 2


def test_a_worker_rejects_a_repeat_within_its_chunk_itself() -> None:
    """A repeat of an id earlier in the same chunk is a duplicate whatever came before, so the worker
    rejects it at once and sends back only the first copy's id (the parent checks that one against
    earlier chunks): a batch of one incident many times is not checked twice over."""
    from checker.audit.report_rows import Renderer
    from checker.audit.rows import Settings
    from checker.audit.stream import _Process
    from checker.core.times import parse_time
    from checker.rules.loader import load_rules

    ruleset = load_rules()
    settings = Settings(parse_time(AS_OF), ruleset.reference.recording_window_s)
    process = _Process(Checker(ruleset), Renderer(False), settings)
    raw = json.dumps(json.loads((FIX / "rape-recorded-as-n100.json").read_text())).encode()
    chunk = [Queued(i, Item("f", i + 1, i, raw=raw)) for i in range(3)]
    rendered = process.run(chunk, frozenset())
    assert [index for index, _ in rendered.ids] == [0]
    assert rendered.parts["rejected.csv"].csv.count("duplicate incident_id") == 2
    assert rendered.tally.checked == 1
