"""A chunk's outcomes as report rows: the CSV text and the workbook rows of each file, and the
chunk's tally. Made where the chunk was checked (a worker process, or the audit's own), so the
process writing the report only appends text and adds up counts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from checker.audit.report_xlsx import WIDTH_SAMPLE, Rows
from checker.audit.rows import DecisionRow, ItemResult
from checker.audit.tally import Tally
from checker.audit.uktime import UkTime
from checker.check.checker import Finding

FINDING_COLUMNS = [*Finding.CSV_COLUMNS, "reported_at", "disclosed_at", "recorded_at", "period", "where"]
# the finding, then the exception that holds it back (its role and reason; the person is in the register)
EXCEPTED_COLUMNS = [*FINDING_COLUMNS, "exception_id", "accepted_by_role", "expires_at", "reason"]
DECISION_COLUMNS = [*DecisionRow._fields, "period", "where"]
REJECTED_COLUMNS = ["where", "file", "line", "incident_id", "field", "reason"]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value for a spreadsheet cell: text that could run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, UkTime):
        return value.text
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_cells(values: Sequence[Any]) -> list[Any]:
    """`safe_cell` of each value, plain text passed through without the call (most cells)."""
    return [v if type(v) is str and not v.startswith(_FORMULA) else safe_cell(v) for v in values]


_FORMULA_NEXT = re.compile(r",[=+\-@\t\r]")  # a cell after the first starting as a formula would


def csv_line(values: Sequence[Any]) -> str:
    """The line `csv.writer` writes of `csv_cells(values)`, made here: most rows need neither a
    formula's guard nor quotes, and are the cells joined with commas."""
    texts = [v if type(v) is str else str(safe_cell(v)) for v in values]
    line = ",".join(texts)
    if line.startswith(_FORMULA) or _FORMULA_NEXT.search(line):  # (or a negative number)
        texts = [str(cell) for cell in csv_cells(values)]
        line = ",".join(texts)
    if line.count(",") >= len(texts) or _needs_quotes(line):  # a cell holds a comma, quote or line end
        line = ",".join([_quote(t) for t in texts])
    elif texts == [""]:
        return '""\r\n'  # a row of one empty cell, which is not an empty line
    return line + "\r\n"


def _quote(text: str) -> str:
    """A cell as the csv module writes it: in quotes, its own doubled, if it holds , " or a line end."""
    return '"' + text.replace('"', '""') + '"' if "," in text or _needs_quotes(text) else text


def _needs_quotes(text: str) -> bool:
    """Text holding a quote or a line end, which the csv module (its excel dialect) quotes, as it
    does a comma (looked for here with `in`: a third of the time of a regular expression)."""
    return '"' in text or "\r" in text or "\n" in text


def columns(include_narrative: bool) -> dict[str, list[str]]:
    """Each CSV file of rows and its columns (findings.csv ends with the log when it is asked for)."""
    return {
        "findings.csv": FINDING_COLUMNS + (["narrative"] if include_narrative else []),
        "excepted.csv": EXCEPTED_COLUMNS,
        "decisions.csv": DECISION_COLUMNS,
        "rejected.csv": REJECTED_COLUMNS,
    }


def rows_of(o: ItemResult, include_narrative: bool) -> Iterator[tuple[str, list[Any]]]:
    """(file, values) for each row one outcome adds to the report, in order."""
    if o.rejected:
        for p in o.problems:
            yield "rejected.csv", [o.where, p.file, p.line, o.incident_id or p.record, p.field, p.message]
        return
    for f, times in zip(o.findings, o.finding_times, strict=True):
        row = [*f.csv_values(), *times, o.period, o.where]
        if include_narrative:
            row.append(o.narrative)
        yield "findings.csv", row
    for e, times in zip(o.excepted, o.excepted_times, strict=True):
        entry = e.entry
        row = [*e.finding.csv_values(), *times, o.period, o.where, e.entry_id, entry.accepted_by_role]
        yield "excepted.csv", [*row, entry.expires_at.isoformat(), entry.reason]
    for d in o.decisions:
        yield "decisions.csv", [*d, o.period, o.where]


@dataclass
class Part:
    """One file's share of a chunk: its CSV text, its workbook rows, and widths of its first rows."""

    csv: str = ""
    rows: list[str] = field(default_factory=list)
    widths: list[list[int]] = field(default_factory=list)


@dataclass
class Rendered:
    """A checked chunk, ready to append: how many items, each file's part, and the chunk's tally."""

    size: int
    tally: Tally
    parts: dict[str, Part]
    # (index, SeenIds key) of each item parsed where it was checked, for the parent to de-duplicate
    ids: list[tuple[int, int]] = field(default_factory=list)


class Renderer:
    """Turns outcomes into report rows; built once per process."""

    def __init__(self, include_narrative: bool) -> None:
        self.include_narrative = include_narrative
        self.columns = columns(include_narrative)
        self.sheets = {name: Rows(cols) for name, cols in self.columns.items()}

    def render(self, outcomes: Sequence[ItemResult], window_s: int, widths_for: frozenset[str]) -> Rendered:
        """The chunk's rows and tally; widths of the first rows only for the files in `widths_for`."""
        tally = Tally(window_s=window_s)
        parts: dict[str, Part] = {}
        lines: dict[str, list[str]] = {}
        for o in outcomes:
            tally.add(o)
            for name, values in rows_of(o, self.include_narrative):
                part = parts.get(name)
                if part is None:
                    part = parts[name] = Part()
                    lines[name] = []
                lines[name].append(csv_line(values))
                sheet = self.sheets[name]
                part.rows.append(sheet.row(values))
                if name in widths_for and len(part.widths) < WIDTH_SAMPLE:
                    part.widths.append(sheet.widths(values))
        for name, part in parts.items():
            part.csv = "".join(lines[name])
        return Rendered(len(outcomes), tally, parts)


def joined(chunks: Sequence[Rendered], window_s: int) -> Rendered:
    """Consecutive rendered chunks as one (a chunk checked in pieces after a worker died)."""
    tally = Tally(window_s=window_s)
    parts: dict[str, Part] = {}
    ids: list[tuple[int, int]] = []
    for c in chunks:
        tally.merge(c.tally)
        ids += c.ids
        for name, p in c.parts.items():
            into = parts.setdefault(name, Part())
            into.csv += p.csv
            into.rows += p.rows
            into.widths += p.widths
    return Rendered(sum(c.size for c in chunks), tally, parts, ids)
