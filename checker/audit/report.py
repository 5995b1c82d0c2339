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
from dataclasses import dataclass, fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from checker.audit.figures import FigureOptions, figures_for, unrecorded
from checker.audit.measures import BUCKETS, EXAMPLES, LONGER, SCHEMA_VERSION
from checker.audit.outdir import ReportDir
from checker.audit.report_html import render
from checker.audit.rows import DecisionRow, ItemResult, Settings
from checker.audit.tally import Tally
from checker.check.checker import Finding
from checker.check.document import ruleset_info
from checker.core.errors import CheckerError, Problem
from checker.rules.loader import RuleSet

FILES = ("summary.json", "findings.csv", "excepted.csv", "decisions.csv", "rejected.csv", "report.html")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

FINDING_COLUMNS = [*Finding.CSV_COLUMNS, "period", "where"]
# the finding, then the exception that holds it back (its role and reason; the person is in the register)
EXCEPTED_COLUMNS = [*FINDING_COLUMNS, "exception_id", "accepted_by_role", "expires_at", "reason"]
DECISION_COLUMNS = [*(f.name for f in fields(DecisionRow)), "period", "where"]
REJECTED_COLUMNS = ["where", "file", "line", "incident_id", "field", "reason"]


def safe_cell(value: Any) -> Any:
    """A value for a spreadsheet cell: text that could run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


class ReportWriter:
    """Writes the report files into a private directory; nothing is in place until `commit`
    (see checker/audit/outdir.py for how a shared disk is kept out)."""

    def __init__(self, directory: Path, include_narrative: bool = False) -> None:
        self.directory = directory
        self.include_narrative = include_narrative
        self._dir = ReportDir(directory, FILES)
        self._streams: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}
        finding_columns = FINDING_COLUMNS + (["narrative"] if include_narrative else [])
        try:
            for name, columns in (
                ("findings.csv", finding_columns),
                ("excepted.csv", EXCEPTED_COLUMNS),
                ("decisions.csv", DECISION_COLUMNS),
                ("rejected.csv", REJECTED_COLUMNS),
            ):
                stream = self._dir.create(name, "utf-8-sig", newline="")
                self._streams[name] = stream
                writer = csv.writer(stream)
                writer.writerow(columns)
                self._writers[name] = writer
        except BaseException:
            self.abort()
            raise

    def _row(self, name: str, values: list[Any]) -> None:
        self._writers[name].writerow([safe_cell(v) for v in values])

    def write(self, o: ItemResult) -> None:
        """Append one outcome's rows."""
        if o.rejected:
            for p in o.problems:
                self._row("rejected.csv", [o.where, p.file, p.line, o.incident_id or p.record, p.field, p.message])
            return
        for f in o.findings:
            row = [*f.csv_values(), o.period, o.where]
            if self.include_narrative:
                row.append(o.narrative)
            self._row("findings.csv", row)
        for e in o.excepted:
            entry = e.entry
            row = [*e.finding.csv_values(), o.period, o.where, e.entry_id, entry.accepted_by_role]
            self._row("excepted.csv", [*row, entry.expires_at.isoformat(), entry.reason])
        for d in o.decisions:
            self._row("decisions.csv", [*d.csv_values(), o.period, o.where])

    def commit(self, summary: dict[str, Any], tally: Tally) -> None:
        """Write summary.json and report.html, then put the whole report in place in one rename."""
        for stream in self._streams.values():
            stream.close()
        with self._dir.create("summary.json", "utf-8") as f:
            f.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")
        with self._dir.create("report.html", "utf-8") as f:
            f.write(render(summary, tally))
        self._dir.commit()

    def abort(self) -> None:
        """Close and remove everything written."""
        for stream in self._streams.values():
            with contextlib.suppress(OSError):
                stream.close()
        self._dir.abort()


def _version() -> str:
    try:
        return version("crimecheck")
    except PackageNotFoundError:
        return "unknown"


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
        "generated_by": f"crimecheck {_version()}",
        "as_of": settings.as_of.isoformat(),
        "inputs": {
            "files": list(options.files),
            "format": "csv" if options.mapping else "json",
            "mapping": options.mapping,
            "records": options.records,
            "disclosures": options.disclosures,
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
        "data_protection": {
            "narratives_included": settings.include_narrative,
            "pseudonymised": ps is not None,
        },
        "warnings": [w for _, w in tally.warning_examples[:EXAMPLES]],
        "files": list(FILES),
    }
    return summary
