"""report.xlsx: the audit for a registrar's spreadsheet (openpyxl, written as rows arrive).

Sheets: summary (the figures and what the audit read), findings, decisions and rejected (the same
rows as the CSV files). Times are real date-time cells in UK local time (Excel has no time zones;
the header says so), numbers are numbers, yes/no stay words. Every sheet has a frozen, filtered
header row and column widths fitted to the first rows. Text is always stored as text, never as a
formula, whatever it starts with.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

LONDON = ZoneInfo("Europe/London")
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
PERCENT = "0.0%"
MAX_ROWS = 1_048_575  # Excel's limit less the header
WIDTH_SAMPLE = 200  # rows whose lengths set a column's width
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1D4F91")


def is_time_column(name: str) -> bool:
    """Columns that hold a moment: `*_at` and `deadline`."""
    return name.endswith("_at") or name == "deadline"


def uk_time(value: str) -> datetime | None:
    """An ISO 8601 time with an offset as a naive date-time in UK local time (None if it is not one)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(LONDON).replace(tzinfo=None)


class Sheet:
    """One write-only sheet: header, typed cells, widths from the first rows, a note when cut short."""

    def __init__(self, book: Workbook, title: str, columns: list[str]) -> None:
        self.ws: WriteOnlyWorksheet = book.create_sheet(title)
        self.columns = columns
        self.times = {i for i, name in enumerate(columns) if is_time_column(name)}
        self.widths = [len(self.header(name)) + 2 for name in columns]
        self.rows: list[list[Any]] = []  # held until the widths are known, then streamed
        self.count = 0
        self.dropped = 0

    def header(self, name: str) -> str:
        return f"{name} (UK time)" if is_time_column(name) else name

    def cell(self, index: int, value: Any) -> WriteOnlyCell:
        if isinstance(value, str) and index in self.times and value:
            moment = uk_time(value)
            if moment is not None:
                c = WriteOnlyCell(self.ws, value=moment)
                c.number_format = DATE_FORMAT
                return c
        if isinstance(value, bool):
            value = "yes" if value else "no"
        c = WriteOnlyCell(self.ws, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # text, even when it starts with "="
        return c

    def append(self, values: list[Any]) -> None:
        if self.count >= MAX_ROWS:
            self.dropped += 1
            return
        self.count += 1
        if self.rows is not None and len(self.rows) < WIDTH_SAMPLE:
            self.rows.append(values)
            for i, v in enumerate(values):
                shown = 19 if i in self.times and v else len(str(v if v is not None else ""))
                self.widths[i] = max(self.widths[i], min(shown + 2, 80))
            return
        self._start()
        self.ws.append([self.cell(i, v) for i, v in enumerate(values)])

    def _start(self) -> None:
        if self.rows is None:
            return
        for i, width in enumerate(self.widths, 1):
            self.ws.column_dimensions[get_column_letter(i)].width = width
        self.ws.freeze_panes = "A2"
        head = []
        for name in self.columns:
            c = WriteOnlyCell(self.ws, value=self.header(name))
            c.font = _HEADER_FONT
            c.fill = _HEADER_FILL
            c.alignment = Alignment(vertical="top")
            head.append(c)
        self.ws.append(head)
        held, self.rows = self.rows, None  # type: ignore[assignment]
        for values in held:
            self.ws.append([self.cell(i, v) for i, v in enumerate(values)])

    def close(self) -> None:
        """Write what is held; the filter (written after the rows) covers every row."""
        self._start()
        self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.columns))}{self.count + 1}"
        if self.dropped:
            self.ws.append([f"… and {self.dropped:,} more rows than a worksheet holds: see the CSV file"])


class WorkbookWriter:
    """report.xlsx, built row by row alongside the CSV files."""

    def __init__(self, sheets: dict[str, list[str]]) -> None:
        self.book = Workbook(write_only=True)
        self.summary_ws: WriteOnlyWorksheet = self.book.create_sheet("summary")
        self.sheets = {name: Sheet(self.book, name, columns) for name, columns in sheets.items()}

    def append(self, sheet: str, values: list[Any]) -> None:
        self.sheets[sheet].append(values)

    def _summary(self, summary: dict[str, Any]) -> None:
        ws = self.summary_ws
        for letter, width in zip("ABCDEFGH", (44, 14, 12, 11, 11, 11, 52, 11), strict=True):
            ws.column_dimensions[letter].width = width
        ws.freeze_panes = "A2"

        def bold(value: Any) -> WriteOnlyCell:
            c = WriteOnlyCell(ws, value=value)
            c.font = _HEADER_FONT
            c.fill = _HEADER_FILL
            return c

        def text(value: Any) -> WriteOnlyCell:
            c = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                c.data_type = "s"
            return c

        def pct(value: float | None) -> WriteOnlyCell:
            c = WriteOnlyCell(ws, value=value)
            c.number_format = PERCENT
            return c

        head = ["measure", "cases meeting it", "cases", "rate", "low", "high", "as the inspectorate states it", "key"]
        ws.append([bold(h) for h in head])
        for key, f in summary["figures"].items():
            ws.append(
                [
                    text(f["label"]),
                    f["numerator"],
                    f["denominator"],
                    pct(f["rate"]),
                    pct(f["low"]),
                    pct(f["high"]),
                    text(f["text"]),
                    text(key),
                ]
            )
        ws.append([])
        counts = summary["counts"]
        for label, key in (("incidents read", "read"), ("checked", "checked"), ("rejected", "rejected")):
            ws.append([text(label), counts[key]])
        ws.append([text("findings"), counts["findings"]])
        as_of = WriteOnlyCell(ws, value=uk_time(summary["as_of"]))
        as_of.number_format = DATE_FORMAT
        ws.append([text("judged as of (UK time)"), as_of])
        period = summary.get("period") or {}
        if period.get("first"):
            ws.append([text("months reported"), text(f"{period['first']} to {period['last']}")])
        rules = summary["ruleset"]
        ws.append([text("rule set"), text(f"{rules['hash']} ({', '.join(rules['editions'])})")])
        ws.append([text("made by"), text(summary["generated_by"])])
        for name, sheet in self.sheets.items():
            ws.append([text(f"rows in {name}"), sheet.count])

    def save(self, path: Path | IO[bytes], summary: dict[str, Any]) -> None:
        """Write the summary sheet, close the others and save the workbook."""
        self._summary(summary)
        for sheet in self.sheets.values():
            sheet.close()
        self.book.save(path)
