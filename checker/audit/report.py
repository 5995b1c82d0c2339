"""The audit report directory: summary.json, findings.csv, decisions.csv, rejected.csv, report.html.

The CSV files are written row by row as outcomes arrive, under temporary names, and renamed into
place only when the whole report is ready: a run that fails leaves the previous report untouched.
They open cleanly in a spreadsheet: UTF-8 with a byte-order mark (so Excel reads it as UTF-8),
CRLF line ends (the csv module's default), and any text cell that a spreadsheet would take for a
formula (starting = + - @, tab or carriage return) is prefixed with a quote.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from checker.audit.figures import FigureOptions, figures_for, unrecorded
from checker.audit.measures import BUCKETS, EXAMPLES, LONGER, SCHEMA_VERSION
from checker.audit.outdir import ReportDir
from checker.audit.report_html import ReportOptions, render
from checker.audit.report_rows import Rendered, columns
from checker.audit.report_xlsx import Sheet, Workbook
from checker.audit.rows import BREAKDOWNS, Settings
from checker.audit.tally import Tally
from checker.check.document import ruleset_info
from checker.core.errors import CheckerError, Problem
from checker.core.version import package_version
from checker.rules.loader import RuleSet

FILES = (
    "summary.json",
    "findings.csv",
    "excepted.csv",
    "decisions.csv",
    "rejected.csv",
    "report.html",
    "report.xlsx",
)


class ReportWriter:
    """Writes the report files into a private directory; nothing is in place until `commit`
    (see checker/audit/outdir.py for how a shared disk is kept out)."""

    def __init__(self, directory: Path, include_narrative: bool = False, options: ReportOptions | None = None) -> None:
        self.directory = directory
        self.include_narrative = include_narrative
        self.options = options or ReportOptions()
        self._dir = ReportDir(directory, FILES)
        self._streams: dict[str, IO[str]] = {}
        self.workbook: Workbook | None = None
        self._sheets: dict[str, Sheet] = {}  # each CSV file's sheet in the workbook, by file name
        try:
            files = columns(include_narrative)
            titles = {name: name.removesuffix(".csv") for name in files}  # findings.csv: sheet "findings"
            self.workbook = Workbook({titles[name]: cols for name, cols in files.items()}, self._dir.staging)
            self._sheets = {name: self.workbook.sheets[title] for name, title in titles.items()}
            for name, cols in files.items():
                stream = self._dir.create(name, "utf-8-sig", newline="")
                self._streams[name] = stream
                csv.writer(stream).writerow(cols)
        except BaseException:
            self.abort()
            raise

    def widths_wanted(self) -> frozenset[str]:
        """The files whose first rows still set the workbook's column widths."""
        return frozenset(name for name, sheet in self._sheets.items() if sheet.wants_widths())

    def write(self, chunk: Rendered) -> None:
        """Append one checked chunk's rows (see report_rows.Renderer)."""
        for name, part in chunk.parts.items():
            self._streams[name].write(part.csv)
            sheet = self._sheets[name]
            sheet.add_widths(part.widths)
            sheet.append(part.rows)

    def commit(self, summary: dict[str, Any], tally: Tally) -> None:
        """Write summary.json, report.html and report.xlsx, then put the whole report in place in one rename."""
        assert self.workbook is not None
        for stream in self._streams.values():
            stream.close()
        with self._dir.create("summary.json", "utf-8") as f:
            f.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")
        with self._dir.create("report.html", "utf-8") as f:
            f.write(render(summary, tally, self.options))
        with self._dir.create_binary("report.xlsx") as b:
            self.workbook.save(b, summary)
        self.workbook.close()
        self._dir.commit()

    def abort(self) -> None:
        """Close and remove everything written."""
        for stream in self._streams.values():
            with contextlib.suppress(OSError):
                stream.close()
        if self.workbook is not None:
            self.workbook.close()
        self._dir.abort()


def inputs_digest(paths: list[str]) -> str | None:
    """A SHA-256 over the input files' bytes, so that `compare` can tell two audits of one input.

    None when any input is standard input (which cannot be read twice) or not a plain file.
    """
    digest = hashlib.sha256()
    for path in paths:
        if path == "-" or not os.path.isfile(path):
            return None
        digest.update(b"\0file\0")
        with open(path, "rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SummaryOptions:
    """How an audit was run, as summary.json reports it (the command line's choices, typed)."""

    files: tuple[str, ...]
    mapping: str | None = None  # the CSV column mapping; None for JSON input
    records: str | None = None
    disclosures: str | None = None
    ci_method: Literal["wilson", "normal"] = "wilson"
    confidence: float = 0.95
    population: int | None = None
    recorded_per_year: int | None = None
    sample: int | None = None
    seed: int = 0
    force: str | None = None  # --force; else the one force the incidents name
    marking: str = "OFFICIAL-SENSITIVE"


def _force(options: SummaryOptions, tally: Tally) -> str | None:
    if options.force:
        return options.force
    if len(tally.forces) == 1:
        return next(iter(tally.forces))
    return None


def breakdowns(tally: Tally) -> dict[str, list[dict[str, Any]]]:
    """For each of team, area, officer and shift the incidents carry: per value, incidents, findings,
    breaches and the all-crime recording rate, lowest rate first."""
    out: dict[str, list[dict[str, Any]]] = {}
    order = {name: i for i, name in enumerate(BREAKDOWNS)}
    values = sorted({(name, value) for name, value, _ in tally.breakdown}, key=lambda nv: (order.get(nv[0], 9), nv))
    for name, value in values:
        b = tally.breakdown
        x, n = b[(name, value, "x")], b[(name, value, "n")]
        out.setdefault(name, []).append(
            {
                "value": value,
                "incidents": b[(name, value, "incidents")],
                "findings": b[(name, value, "findings")],
                "breaches": b[(name, value, "breaches")],
                "numerator": x,
                "denominator": n,
                "rate": x / n if n else None,
            }
        )
    for rows in out.values():
        rows.sort(key=lambda r: (r["rate"] if r["rate"] is not None else 2.0, r["value"]))
    return out


# Longer than 80 lines on purpose: one literal that reads top to bottom as summary.json does, in
# the order docs/audit.md documents it; split up, the document's shape would be nowhere in one place.
def build_summary(
    options: SummaryOptions, ruleset: RuleSet, tally: Tally, settings: Settings, read: int
) -> dict[str, Any]:
    """The versioned summary.json document (see docs/audit.md for every field)."""
    scale = None
    if options.population is not None:
        if options.population < tally.audited:
            raise CheckerError(
                [Problem(f"--population {options.population} is smaller than the {tally.audited} incidents audited")]
            )
        scale = options.population / tally.audited if tally.audited else None
    opts = FigureOptions(method=options.ci_method, confidence=options.confidence, scale=scale)
    window_s = settings.window_s
    figures = figures_for(tally, "", window_s, opts)
    periods = tally.periods()
    ps = settings.pseudonymiser
    c = tally.counts
    by_rule = []
    rule_ids = {key.split("rule.", 1)[1] for key in c if key.startswith(("rule.", "excepted.rule."))}
    ranked = sorted((-c[f"rule.{rule_id}"], rule_id) for rule_id in rule_ids)
    for negative, rule_id in ranked:
        rule = ruleset.get(rule_id)
        by_rule.append(
            {
                "rule_id": rule_id,
                "title": rule.model.title if rule else rule_id,
                "area": rule.model.area if rule else None,
                "outcome": rule.model.outcome if rule else None,
                "findings": -negative,
                "excepted": c[f"excepted.rule.{rule_id}"],
            }
        )
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "crimecheck audit summary",
        "generated_by": f"crimecheck {package_version()}",
        "as_of": settings.as_of.isoformat(),
        "inputs": {
            "files": list(options.files),
            "format": "csv" if options.mapping else "json",
            "mapping": options.mapping,
            "records": options.records,
            "disclosures": options.disclosures,
            "digest": inputs_digest(
                [f for f in (*options.files, options.records, options.disclosures, options.mapping) if f is not None]
            ),
        },
        "period": {
            "first": periods[0] if periods else None,
            "last": periods[-1] if periods else None,
            "basis": "calendar month of reported_at, Europe/London",
        },
        "ruleset": ruleset_info(ruleset),
        "settings": {
            "recording_window_s": window_s,
            "ci_method": opts.method,
            "confidence": opts.confidence,
            "population": options.population,
            "recorded_per_year": options.recorded_per_year,
            "period": "calendar month of reported_at, Europe/London",
        },
        "sample": (
            {"size": tally.audited, "requested": options.sample, "seed": options.seed, "of_read": read}
            if options.sample is not None
            else None
        ),
        "counts": {
            "read": read,
            "audited": tally.audited,
            "checked": tally.checked,
            "rejected": tally.rejected,
            "warnings": tally.warnings,
            "findings": c["findings"],
            "excepted": c["excepted"],
            "decisions": c["decisions"],
            "checked_plus_rejected_equals_audited": tally.checked + tally.rejected == tally.audited,
        },
        "findings": {
            "by_outcome": {o: c[f"outcome.{o}"] for o in ("breach", "risk", "needs_review")},
            "excepted_by_outcome": {o: c[f"excepted.outcome.{o}"] for o in ("breach", "risk", "needs_review")},
            "by_area": {k[len("area.") :]: v for k, v in sorted(c.items()) if k.startswith("area.")},
            "by_rule": by_rule,
            "incidents_with": {k: c[f"incidents_with.{k}"] for k in ("breach", "risk", "needs_review", "any")},
        },
        "figures": figures,
        "timeliness": {
            "first_record_within": {name: c[f"elapsed.{name}"] for name in [*(b for b, _ in BUCKETS), LONGER]},
            "note": "disclosures with a record, by time from the disclosure to its first record",
        },
        "unrecorded_estimate": (
            unrecorded(figures["recording.all_crime"], options.recorded_per_year)
            if options.recorded_per_year is not None
            else None
        ),
        "periods": (
            [
                {"period": p, "checked": c[f"period.{p}"], "figures": figures_for(tally, p, window_s, opts)}
                for p in periods
            ]
            if len(periods) > 1
            else []
        ),
        "force": _force(options, tally),
        "marking": options.marking,
        "breakdowns": breakdowns(tally),
        "data_protection": {
            "narratives_included": settings.include_narrative,
            "pseudonymised": ps is not None,
        },
        "warnings": [w for _, w in tally.warning_examples[:EXAMPLES]],
        "files": list(FILES),
    }
    return summary
