"""The exceptions register: findings a person has examined and accepted, with who, why and until when.

An exception names one finding (rule, incident and subject), the reason, the role and the name or
number of the person who accepted it, and when it expires. An excepted finding is never dropped:
it moves from `findings` to `excepted`, and once the exception has expired it is a finding again.
Only the roles the force allows may accept; by default the Force Crime Registrar (FCR), a deputy
(DFCR) and the designated decision makers (DDM), for every area, cancellations and N100 included.
The command line reads the register from a YAML file; the service keeps the same entries in its
database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from checker.check.checker import Finding, Result
from checker.core.errors import InputError, Problem, dotted, error_text
from checker.core.models import Id, Role, Time
from checker.read.yamlio import YamlDoc, load_yaml
from checker.rules.loader import AREAS, RuleSet

ACCEPTORS: tuple[Role, ...] = ("FCR", "DFCR", "DDM")
# A date without a time is read as "until the end of that day" where the force is.
EXPIRY_ZONE = ZoneInfo("Europe/London")
MAX_REASON = 2000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Policy(_Strict):
    """Which roles may accept an exception to a finding, by the finding's area."""

    default: tuple[Role, ...] = Field(default=ACCEPTORS, min_length=1)
    areas: dict[str, tuple[Role, ...]] = Field(
        default_factory=lambda: {"cancellation": ACCEPTORS, "rape_n100": ACCEPTORS}
    )

    @field_validator("areas")
    @classmethod
    def _known_areas(cls, value: dict[str, tuple[Role, ...]]) -> dict[str, tuple[Role, ...]]:
        unknown = sorted(set(value) - set(AREAS))
        if unknown:
            raise ValueError(f"unknown area {', '.join(unknown)}; areas are {', '.join(AREAS)}")
        return value

    def allowed(self, area: str) -> tuple[Role, ...]:
        """The roles that may accept a finding of this area."""
        return self.areas.get(area, self.default)


def _expiry(value: Any) -> Any:
    """A date (to the end of that day) or a time with an offset, refused in one located message."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not a date (2025-03-01) or a time (2025-03-01T12:00:00+00:00)") from None
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise ValueError("a time of expiry needs a UTC offset (2025-03-01T12:00:00+00:00), or give a date")
    if not isinstance(value, date):
        raise ValueError("expected a date (2025-03-01) or a time (2025-03-01T12:00:00+00:00)")
    return value


Expiry = Annotated[Time | date, BeforeValidator(_expiry)]


class Entry(_Strict):
    """One accepted exception, as the register file and the service write it."""

    rule: Id = Field(min_length=1, pattern=r"^[A-Z]{2}\d{3}$")
    incident: Id = Field(min_length=1)
    subject: Id = Field(min_length=1)
    reason: str = Field(min_length=3, max_length=MAX_REASON)
    accepted_by_role: Role
    accepted_by: str = Field(min_length=1, max_length=200)
    accepted_at: Time | None = None
    expires: Expiry

    @property
    def key(self) -> tuple[str, str, str]:
        """What the exception matches: rule, incident and subject."""
        return (self.rule, self.incident, self.subject)

    @property
    def expires_at(self) -> datetime:
        """The moment the exception lapses; a bare date lapses at the end of that day in London."""
        if isinstance(self.expires, datetime):
            return self.expires
        return datetime.combine(self.expires + timedelta(days=1), time(0), tzinfo=EXPIRY_ZONE)


@dataclass(frozen=True)
class Excepted:
    """A finding held back by an exception in force, reported apart from the findings."""

    finding: Finding
    entry: Entry
    entry_id: str

    def to_dict(self, explain: bool = False) -> dict[str, Any]:
        """The finding and the exception that holds it back (role and reason, not the person)."""
        return {
            **self.finding.to_dict(explain),
            "exception": {
                "id": self.entry_id,
                "reason": self.entry.reason,
                "accepted_by_role": self.entry.accepted_by_role,
                "expires_at": self.entry.expires_at.isoformat(),
            },
        }


class Register:
    """The exceptions in a register, looked up by the finding they name."""

    def __init__(self, entries: Iterable[tuple[str, Entry]] = (), policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self._by_key: dict[tuple[str, str, str], list[tuple[str, Entry]]] = {}
        for entry_id, entry in entries:
            self._by_key.setdefault(entry.key, []).append((entry_id, entry))

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_key.values())

    def in_force(self, finding: Finding, at: datetime) -> tuple[str, Entry] | None:
        """The exception holding this finding back at `at` (the one lasting longest), if any."""
        live = [
            (i, e)
            for i, e in self._by_key.get((finding.rule_id, finding.incident_id, finding.subject), [])
            if e.expires_at > at
        ]
        return max(live, key=lambda pair: pair[1].expires_at) if live else None

    def split(self, results: Sequence[Result], at: datetime) -> tuple[list[Result], list[Excepted]]:
        """Results without the findings excepted at `at`, and those findings apart."""
        if not self._by_key:
            return list(results), []
        kept: list[Result] = []
        excepted: list[Excepted] = []
        for result in results:
            findings: list[Finding] = []
            for f in result.findings:
                hit = self.in_force(f, at)
                if hit is None:
                    findings.append(f)
                else:
                    excepted.append(Excepted(f, hit[1], hit[0]))
            kept.append(result if len(findings) == len(result.findings) else replace(result, findings=tuple(findings)))
        return kept, excepted


def check_entry(entry: Entry, ruleset: RuleSet, policy: Policy) -> list[tuple[str, str]]:
    """What is wrong with an exception against the rules and the policy: (field, message) pairs."""
    rule = ruleset.get(entry.rule)
    if rule is None:
        return [("rule", f"no rule {entry.rule!r} (see `crimecheck rules list`)")]
    allowed = policy.allowed(rule.model.area)
    if entry.accepted_by_role not in allowed:
        return [
            (
                "accepted_by_role",
                f"the {entry.accepted_by_role} role may not accept a {rule.model.area} finding; "
                f"the force allows {', '.join(allowed)}",
            )
        ]
    if entry.accepted_at is not None and entry.expires_at <= entry.accepted_at:
        return [("expires", "expires before it was accepted")]
    return []


class _File(_Strict):
    allowed_roles: Policy = Field(default_factory=Policy)
    exceptions: list[dict[str, Any]] = Field(default_factory=list)


def load_register(path: Path, ruleset: RuleSet) -> Register:
    """The register in a YAML file; raises InputError naming the file, line and field of every problem."""
    doc, problems = load_yaml(path)
    if doc is None:
        raise InputError(problems)
    if doc.data is None:
        return Register()
    top, problems = doc.validate(_File)
    if top is None:
        raise InputError(problems)
    entries: list[tuple[str, Entry]] = []
    for i, raw in enumerate(top.exceptions):
        entry = _entry(doc, raw, i, problems)
        if entry is None:
            continue
        base: tuple[str | int, ...] = ("exceptions", i)
        problems.extend(doc.problem((*base, f), msg) for f, msg in check_entry(entry, ruleset, top.allowed_roles))
        entries.append((f"{path.name}#{i + 1}", entry))
    if problems:
        raise InputError(problems)
    return Register(entries, top.allowed_roles)


def _entry(doc: YamlDoc, raw: Any, i: int, problems: list[Problem]) -> Entry | None:
    try:
        return Entry.model_validate(raw, context={"timezone": None})
    except ValidationError as exc:
        for e in exc.errors():
            loc = ("exceptions", i, *e["loc"])
            msg = error_text(e)
            problems.append(Problem(msg, file=str(doc.path), line=doc.line_of(loc), field=dotted(loc)))
        return None


def load_policy(path: Path) -> Policy:
    """The `allowed_roles` of a YAML file (a register file, or a file holding only the policy)."""
    doc, problems = load_yaml(path)
    if doc is None:
        raise InputError(problems)
    top, problems = doc.validate(_File, {"allowed_roles": (doc.data or {}).get("allowed_roles") or {}})
    if top is None:
        raise InputError(problems)
    policy: Policy = top.allowed_roles
    return policy
