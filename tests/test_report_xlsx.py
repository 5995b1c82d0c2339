"""report.xlsx as written by checker/audit/report_xlsx.py: text stays text, whatever it holds;
times are date cells; the sheet stops at Excel's row limit with a note; the same rows give the
same bytes."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from checker.audit import report_xlsx
from checker.audit.report_xlsx import Rows, Workbook, column_letter, escape

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
SUMMARY: dict[str, Any] = {
    "figures": {
        "recording.all_crime": {
            "label": "All crime",
            "numerator": 9,
            "denominator": 10,
            "rate": 0.9,
            "low": 0.6,
            "high": None,
            "text": "90.0 percent",
        }
    },
    "counts": {"read": 10, "checked": 10, "rejected": 0, "findings": 2},
    "as_of": "2025-06-01T00:00:00+00:00",
    "period": {"first": "2025-01", "last": "2025-05"},
    "ruleset": {"hash": "abc", "editions": ["2026.1"]},
    "generated_by": "crimecheck test",
}


def _book(rows: list[list[Any]], tmp: Path, columns: tuple[str, ...] = ("text", "reported_at")) -> bytes:
    book = Workbook({"findings": list(columns)}, tmp)
    render = Rows(columns)
    book.sheets["findings"].append([render.row(r) for r in rows])
    out = io.BytesIO()
    book.save(out, SUMMARY)
    book.close()
    return out.getvalue()


def _excel_text(xml_text: str) -> str:
    """What Excel shows for an inline string: `_xHHHH_` stands for that character (ECMA-376 ST_Xstring)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), xml_text)


def _texts(data: bytes, sheet: int = 2) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        root = ElementTree.fromstring(z.read(f"xl/worksheets/sheet{sheet}.xml"))
    return [_excel_text(t.text or "") for t in root.iter(f"{MAIN}t")]


LEGAL = st.characters(exclude_categories=["Cs"], exclude_characters="\ufffe\uffff")


@settings(max_examples=150, deadline=None)
@given(st.text(LEGAL, min_size=1, max_size=60))
@example("_x0041_")  # Excel's own escape, as text: must not become "A"
@example("a\x01b\x1fc")  # control characters, which XML cannot hold as they are
@example('=HYPERLINK("http://x")')  # never a formula
@example("line\r\nend ")  # a carriage return and a trailing space survive
def test_any_text_reads_back_as_written(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    data = _book([[text, None]], tmp_path_factory.mktemp("x"))
    assert _texts(data)[2] == text  # after the two header cells
    cell = openpyxl.load_workbook(io.BytesIO(data))["findings"]["A2"]
    assert cell.data_type in ("s", "inlineStr") and isinstance(cell.value, str)


def test_a_lone_surrogate_is_replaced_not_written(tmp_path: Path) -> None:
    assert _texts(_book([["a\ud800b", None]], tmp_path))[2] == "a\ufffdb"


def test_escape_leaves_plain_text_alone() -> None:
    assert escape("punched José") == "punched José" and escape("a<b & c>d") == "a&lt;b &amp; c&gt;d"


def test_times_are_uk_date_cells_numbers_numbers_and_empty_is_no_cell(tmp_path: Path) -> None:
    data = _book(
        [["x", "2025-06-01T13:22:05+00:00", 7, 0.5, True, ""], ["y", "not a time", None, 2, False, None]],
        tmp_path,
        ("text", "reported_at", "n", "f", "b", "empty"),
    )
    ws = openpyxl.load_workbook(io.BytesIO(data))["findings"]
    assert [c.value for c in ws[2]] == ["x", datetime(2025, 6, 1, 14, 22, 5), 7, 0.5, "yes", None]
    assert ws["B2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert [c.value for c in ws[3]][:5] == ["y", "not a time", None, 2, "no"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:F3"


def test_the_summary_sheet_has_figures_as_percentages(tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(io.BytesIO(_book([], tmp_path)))["summary"]
    assert ws["A2"].value == "All crime" and ws["D2"].value == 0.9 and ws["D2"].number_format == "0.0%"
    values = {row[0]: row[1] for row in ws.iter_rows(min_row=3, values_only=True) if row[0]}
    assert values["judged as of (UK time)"] == datetime(2025, 6, 1, 1, 0)
    assert values["months reported"] == "2025-01 to 2025-05" and values["rows in findings"] == 0


def test_rows_past_the_sheet_limit_are_counted_and_noted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_xlsx, "MAX_ROWS", 3)
    ws = openpyxl.load_workbook(io.BytesIO(_book([[f"r{i}", None] for i in range(5)], tmp_path)))["findings"]
    values = [row[0] for row in ws.iter_rows(values_only=True)]
    assert values == ["text", "r0", "r1", "r2", "… and 2 more rows than a worksheet holds: see the CSV file"]
    assert ws.auto_filter.ref == "A1:B4"


def test_the_same_rows_give_the_same_bytes(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["a", "2025-06-01T13:22:05+00:00"], ["b", None]]
    assert _book(rows, tmp_path) == _book(rows, tmp_path)


def test_widths_come_from_the_first_rows_and_are_capped(tmp_path: Path) -> None:
    book = Workbook({"findings": ["text", "reported_at"]}, tmp_path)
    sheet = book.sheets["findings"]
    render = Rows(["text", "reported_at"])
    sheet.add_widths([render.widths(["x" * 500, "2025-06-01T13:22:05+00:00"])])
    assert sheet.widths == [80, len("reported_at (UK time)") + 2]
    book.close()


def test_column_letters() -> None:
    assert [column_letter(n) for n in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]


@pytest.mark.parametrize("char", ["é", "😀"], ids=["bmp", "astral"])
def test_a_text_too_long_for_a_cell_is_cut_and_says_so(tmp_path: Path, char: str) -> None:
    data = _book([[char * 40_000, None]], tmp_path)
    text = _texts(data)[2]
    assert text.endswith(report_xlsx.CUT) and text.startswith(char * 100)
    assert len(text.encode("utf-16-le")) // 2 <= report_xlsx.MAX_CELL  # Excel counts UTF-16 units
    assert report_xlsx.fit("short") == "short"


def test_libreoffice_reads_the_workbook_as_written(tmp_path: Path) -> None:
    """A second reader besides openpyxl: LibreOffice, headless, turns the sheet back into text."""
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs libreoffice-calc-nogui (.ci/run): soffice is missing")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
    texts = ["=1+1", "a\x01b", "_x0041_", "  lead", "tab\there", "emoji 😀", "<&>", "line\nbreak", "é" * 40_000]
    book = tmp_path / "book.xlsx"
    book.write_bytes(_book([[t, "2025-06-01T13:22:05+00:00"] for t in texts], tmp_path))
    profile = (tmp_path / "profile").as_uri()
    out = tmp_path / "out"
    # CSV, UTF-8 (76), quoted text, the second sheet (findings) only, as shown (formatted)
    options = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,2"
    command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", options]
    subprocess.run([*command, str(book), "--outdir", str(out)], check=True, capture_output=True, timeout=240)
    with open(out / "book-findings.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["text", "reported_at (UK time)"]
    shown = [row[0] for row in rows[1:]]
    assert shown[:-1] == texts[:-1], "every text as written, control characters and Excel's escapes included"
    assert shown[-1].endswith(report_xlsx.CUT) and len(shown[-1]) == report_xlsx.MAX_CELL
    assert {row[1] for row in rows[1:]} == {"2025-06-01 14:22:05"}, "a date cell, in UK time"
