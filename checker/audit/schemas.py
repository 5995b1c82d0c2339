"""JSON Schemas of what crimecheck reads and writes, generated from pydantic models.

- incident.schema.json: the incident record contract (checker.models.Incident), so a records-system
  team can validate an export before it ever runs the checker;
- check-document.schema.json: the document `check --format json` writes;
- summary.schema.json: an audit's summary.json;
- mapping.schema.json: the YAML column mapping of a force's CSV exports (checker.mapping).

The contract and the mapping are the models the checker itself validates with, so fields added to
them appear here without more ado. The two output documents are written as plain dicts; the
models below describe them field by field and forbid anything else, and the tests validate real
output against them, so the schema cannot drift from what is written.

`python -m checker.audit.schemas` writes the files into schemas/; `--check` exits 1 when they are stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from checker.check.checker import DisclosureDecision
from checker.core.models import Incident
from checker.read.mapping import MappingModel

Area = Literal["timeliness", "recording", "rape_n100", "cancellation", "classification", "counting", "flags"]
Outcome = Literal["breach", "risk", "needs_review"]
BASE_URL = "https://crimecheck.invalid/schemas/"  # an identifier, not a place to fetch from


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------------------------
# check --format json
# ------------------------------------------------------------------------------------------------


class Source(_Doc):
    """Where the rule behind a finding comes from."""

    document: str
    edition: str
    section: str
    url: str | None = None
    tag: Literal["S", "S-weak", "M"] = Field(description="S sourced, S-weak secondary, M unverified")


class Finding(_Doc):
    """One difference between the decision the rules require and the record."""

    rule_id: str
    rule_name: str
    title: str
    area: Area
    outcome: Outcome
    incident_id: str
    subject: str = Field(description="the record, disclosure, victim or mention the finding is about")
    subject_kind: Literal["incident", "victim", "disclosure", "record", "link", "mention"]
    record_id: str | None
    disclosure_id: str | None
    victim_id: str | None
    message: str = Field(description="what is wrong, why, what to do and by when")
    source: Source
    quote: str | None = Field(default=None, description="the words of the incident log the finding is about")
    facts: dict[str, dict[str, Any]] | None = Field(default=None, description="with --explain only")


class ExceptionOut(_Doc):
    """The exception that holds a finding back: the role and reason, not the person (in the register)."""

    id: str
    reason: str
    accepted_by_role: str
    expires_at: str


class ExceptedFinding(Finding):
    """A finding an accepted exception holds back until it expires."""

    exception: ExceptionOut


class ProblemOut(_Doc):
    """One reason an incident could not be checked."""

    file: str | None
    line: int | None
    incident_id: str | None
    field: str | None
    message: str


class Rejected(_Doc):
    """An item that could not be checked, and why."""

    where: str
    errors: list[ProblemOut]


class RuleSetInfo(_Doc):
    """What identifies the rules a result came from."""

    hash: str
    editions: list[str]
    rules: int
    reference: str


class CheckCounts(_Doc):
    """read = checked + rejected."""

    read: int
    checked: int
    rejected: int
    findings: int
    excepted: int = Field(description="findings held back by an accepted exception (with --exceptions)")


class CheckDocument(_Doc):
    """The versioned document `crimecheck check --format json` writes."""

    model_config = ConfigDict(title="crimecheck check document")

    schema_version: Literal["1.0"]
    as_of: str
    ruleset: RuleSetInfo
    counts: CheckCounts
    findings: list[Finding]
    decisions: list[DisclosureDecision]
    rejected: list[Rejected]
    warnings: list[str]
    excepted: list[ExceptedFinding] = Field(description="findings held back by an accepted exception")


# ------------------------------------------------------------------------------------------------
# summary.json
# ------------------------------------------------------------------------------------------------


class Figure(_Doc):
    """One figure: counts, rate, interval and the inspectorate's wording."""

    label: str
    numerator: int
    denominator: int
    rate: float | None
    low: float | None
    high: float | None
    half_width_points: float | None
    method: Literal["wilson", "normal"]
    confidence: float
    population: int | None
    text: str = Field(description="as the inspectorate states it (normal approximation; a range below 30 cases)")
    better: Literal["higher", "lower"]
    definition: str


class Inputs(_Doc):
    files: list[str]
    format: Literal["csv", "json"]
    mapping: str | None
    records: str | None
    disclosures: str | None
    digest: str | None = Field(description="SHA-256 over the input files; null when read from standard input")


class Period(_Doc):
    first: str | None
    last: str | None
    basis: str


class SummarySettings(_Doc):
    recording_window_s: int
    ci_method: Literal["wilson", "normal"]
    confidence: float
    population: int | None
    recorded_per_year: int | None
    period: str


class Sample(_Doc):
    size: int
    requested: int
    seed: int
    of_read: int


class SummaryCounts(_Doc):
    read: int
    audited: int
    checked: int
    rejected: int
    warnings: int
    findings: int
    excepted: int = Field(description="findings held back by an accepted exception (with --exceptions)")
    decisions: int
    checked_plus_rejected_equals_audited: bool


class ByRule(_Doc):
    rule_id: str
    title: str
    area: Area | None
    outcome: Outcome | None
    findings: int
    excepted: int


class Findings(_Doc):
    by_outcome: dict[Outcome, int]
    excepted_by_outcome: dict[Outcome, int]
    by_area: dict[Area, int]
    by_rule: list[ByRule]
    incidents_with: dict[Literal["breach", "risk", "needs_review", "any"], int]


class Timeliness(_Doc):
    first_record_within: dict[str, int]
    note: str


class Unrecorded(_Doc):
    recorded_per_year: int
    rate: float | None
    method: str
    unrecorded_per_year: int | None
    low: int | None
    high: int | None
    text: str


class PeriodFigures(_Doc):
    period: str
    checked: int
    figures: dict[str, Figure]


class BreakdownRow(_Doc):
    """One team, area, officer or shift: its incidents, findings and all-crime recording rate."""

    value: str
    incidents: int
    findings: int
    breaches: int
    numerator: int
    denominator: int
    rate: float | None


class DataProtection(_Doc):
    narratives_included: bool
    pseudonymised: bool


class Summary(_Doc):
    """An audit's summary.json."""

    model_config = ConfigDict(title="crimecheck audit summary")

    schema_version: Literal["1.0"]
    kind: Literal["crimecheck audit summary"]
    generated_by: str
    as_of: str
    inputs: Inputs
    period: Period
    ruleset: RuleSetInfo
    settings: SummarySettings
    sample: Sample | None
    counts: SummaryCounts
    findings: Findings
    figures: dict[str, Figure]
    timeliness: Timeliness
    unrecorded_estimate: Unrecorded | None
    periods: list[PeriodFigures]
    force: str | None = Field(description="--force, else the one force the incidents name")
    marking: str = Field(description="the protective marking report.html carries")
    breakdowns: dict[Literal["team", "area", "officer", "shift"], list[BreakdownRow]]
    data_protection: DataProtection
    warnings: list[str]
    files: list[str]


# ------------------------------------------------------------------------------------------------
# Generation
# ------------------------------------------------------------------------------------------------

MODELS: dict[str, tuple[type[BaseModel], Literal["validation", "serialization"], str]] = {
    "incident.schema.json": (Incident, "validation", "one incident as crimecheck reads it (docs/contract.md)"),
    "check-document.schema.json": (CheckDocument, "serialization", "the output of `crimecheck check --format json`"),
    "summary.schema.json": (Summary, "serialization", "an audit's summary.json"),
    "mapping.schema.json": (MappingModel, "validation", "a force's CSV column mapping (YAML, docs/audit.md)"),
}


def _column_or_name(node: Any) -> Any:
    """In the mapping, a field is a column's name or a {column: ...} object (mapping._as_column)."""
    if isinstance(node, dict):
        if node.get("$ref") == "#/$defs/Column":
            return {"anyOf": [{"type": "string", "description": "the CSV column's name"}, node]}
        return {k: _column_or_name(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_column_or_name(v) for v in node]
    return node


def _closed(node: Any) -> Any:
    """Output documents hold exactly the fields described (DisclosureDecision is a plain dataclass)."""
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


def schema(name: str) -> dict[str, Any]:
    """One schema, as written to schemas/NAME."""
    model, mode, description = MODELS[name]
    body = model.model_json_schema(mode=mode)
    if model is MappingModel:
        body = _column_or_name(body)
    if mode == "serialization":
        body = _closed(body)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_URL + name,
        "description": body.pop("description", None) or description,
        **body,
    }


def render(name: str) -> bytes:
    """The file's bytes: sorted keys and two-space indents, so a diff shows what changed."""
    return orjson.dumps(schema(name), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def default_directory() -> Path:
    """schemas/ at the top of the checkout."""
    return Path(__file__).resolve().parents[2] / "schemas"


def stale(directory: Path) -> list[str]:
    """The schema files in `directory` that are missing or differ from the models."""
    return [
        name for name in MODELS if not (directory / name).is_file() or (directory / name).read_bytes() != render(name)
    ]


def main(argv: list[str] | None = None) -> int:
    """Write every schema (or, with --check, say which are stale and exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m checker.audit.schemas", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder (default: schemas/ in the checkout)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is missing or out of date")
    args = parser.parse_args(argv)
    directory: Path = args.out or default_directory()
    if args.check:
        names = stale(directory)
        for name in names:
            print(f"{directory / name}: out of date; run python -m checker.audit.schemas", file=sys.stderr)
        return 1 if names else 0
    directory.mkdir(parents=True, exist_ok=True)
    for name in MODELS:
        (directory / name).write_bytes(render(name))
        print(directory / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
