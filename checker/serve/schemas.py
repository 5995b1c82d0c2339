"""The shapes of the service's answers, for the OpenAPI document and for the tests that hold the
service to them. Findings and decisions are derived from their one definition
(checker/check/checker.py), so the documented shape cannot drift from what is sent."""

from dataclasses import MISSING, fields
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, create_model

from checker.check.checker import DisclosureDecision, Finding, output_fields


class Shape(BaseModel):
    """An answer's shape: no field beyond those listed."""

    model_config = ConfigDict(extra="forbid")


def _from_dataclass(name: str, cls: type, doc: str, optional: tuple[str, ...] = ()) -> type[Shape]:
    hints = get_type_hints(cls)
    columns: dict[str, Any] = {}
    shown = output_fields(cls)
    for f in fields(cls):
        if f.name not in shown:  # a field no answer carries (DisclosureDecision.deadline_at)
            continue
        required = f.default is MISSING and f.default_factory is MISSING and f.name not in optional
        columns[f.name] = (hints[f.name], ... if required else None)
    model: type[Shape] = create_model(name, __base__=Shape, __doc__=doc, **columns)
    return model


FindingShape = _from_dataclass("Finding", Finding, "A finding (`facts` only when explaining).", ("facts",))
DecisionShape = _from_dataclass("Decision", DisclosureDecision, "The recording decision one disclosure needs.")


class ExceptionRef(Shape):
    """The exception holding a finding back: its role and reason, not the person."""

    id: str
    reason: str
    accepted_by_role: str
    expires_at: str


class ExceptedFinding(FindingShape):  # type: ignore[misc,valid-type]
    """A finding an exception holds back, with that exception."""

    exception: ExceptionRef


class Error(Shape):
    """One located problem (as `crimecheck check` reports it)."""

    file: str | None
    line: int | None
    incident_id: str | None
    field: str | None
    message: str


class Errors(Shape):
    """Why a request was refused."""

    errors: list[Error]


class Rejected(Shape):
    """An incident that could not be checked, and why."""

    where: str
    errors: list[Error]


class Counts(Shape):
    """read = checked + rejected; findings and excepted are apart."""

    read: int
    checked: int
    rejected: int
    findings: int
    excepted: int


class RulesetInfo(Shape):
    """What identifies the rules a result came from."""

    hash: str
    editions: list[str]
    rules: int
    reference: str


class CheckDocument(Shape):
    """The versioned document of `crimecheck check --format json`."""

    schema_version: str
    as_of: str
    ruleset: RulesetInfo
    counts: Counts
    findings: list[FindingShape]  # type: ignore[valid-type]
    decisions: list[DecisionShape]  # type: ignore[valid-type]
    rejected: list[Rejected]
    warnings: list[str]
    excepted: list[ExceptedFinding]


class PutAnswer(Shape):
    """What a push did, and the check of the version sent."""

    incident_id: str
    status: Literal["stored", "unchanged", "older_ignored"]
    version: int | None
    updated_at: str
    document: CheckDocument


class RegisterEntry(Shape):
    """An exception in the register."""

    id: str
    rule: str
    incident: str
    subject: str
    reason: str
    accepted_by_role: str
    accepted_at: str | None
    expires_at: str
    accepted_by: str | None = None  # in the register and when accepting; not in an incident's view
    in_force: bool | None = None  # in the register's listing


class ExceptionList(Shape):
    """The exceptions register (GET /v1/exceptions)."""

    exceptions: list[RegisterEntry]


class StoredIncident(Shape):
    """An incident's stored version and latest check."""

    incident_id: str
    version: int | None
    updated_at: str | None
    received_at: str
    checked_at: str
    document: CheckDocument
    exceptions_in_force: list[RegisterEntry]


class QueueEntry(Shape):
    """An open decision or a finding, with the incident's shift fields and its clock now."""

    kind: Literal["decision", "finding"]
    incident_id: str
    deadline: str | None
    officer: str | None
    team: str | None
    area: str | None
    shift: str | None
    checked_at: str
    decision: DecisionShape | None = None  # type: ignore[valid-type]
    finding: FindingShape | None = None  # type: ignore[valid-type]
    due_in_s: int | None = None
    overdue: bool | None = None


class Queue(Shape):
    """GET /v1/queue."""

    as_of: str
    items: list[QueueEntry]


class RuleSummary(Shape):
    """A rule as `crimecheck rules list` shows it."""

    id: str
    name: str
    title: str
    area: str
    outcome: str
    status: str
    edition: str
    effective_from: str
    effective_to: str | None


class RuleList(Shape):
    """GET /v1/rules."""

    ruleset: str
    rules: list[RuleSummary]


class RuleText(RuleSummary):
    """GET /v1/rules/{id}: the rule and the text of `crimecheck rules explain`."""

    explain: str


class AuditEntry(Shape):
    """Who did what to the register."""

    at: str
    token: str
    role: str
    action: str
    detail: dict[str, Any]


class AuditLog(Shape):
    """GET /v1/audit-log."""

    entries: list[AuditEntry]
