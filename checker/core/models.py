"""The incident record contract (shared/design/record-contract.md) as pydantic models."""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from checker.core.errors import Problem, dotted

SCHEMA_VERSION = "1"

Channel = Literal["emergency_call", "non_emergency_call", "online", "in_person", "referral", "police_generated"]
Reporter = Literal["victim", "acting_for_victim", "third_party", "professional", "witness", "police"]
Qualifier = Literal[
    "asb_personal",
    "asb_nuisance",
    "asb_environmental",
    "domestic_abuse",
    "vulnerable_adult",
    "child_protection",
    "hate",
    "mental_health",
]
Sex = Literal["female", "male", "unknown"]
Relationship = Literal["partner", "ex_partner", "family", "acquaintance", "stranger", "unknown"]
Status = Literal["recorded", "cancelled", "transferred"]
Category = Literal["C1", "C2", "C3", "C4", "C5"]
Role = Literal["FCR", "DFCR", "DDM", "supervisor", "investigator", "other"]
N100Reason = Literal["victim_not_confirmed", "credible_evidence_to_contrary", "other_force_area"]
HateStrand = Literal["race", "religion", "sexual_orientation", "disability", "transgender"]


# Times outside these years are typing or export errors; refusing them also keeps the UTC
# arithmetic of deadlines clear of the ends of the calendar (year 1 and 9999 overflow).
FIRST_YEAR = 1900
LAST_YEAR = 2199
# Control characters (and Unicode line separators) have no place in ids or codes, and would reach
# a supervisor's terminal through the messages that quote them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_FLAGS = 64  # Home Office crime flags are a few dozen; the engine drops facts of 254+ fields


def _aware(value: datetime, info: ValidationInfo) -> datetime:
    """Insist on an offset; read a naive time in the run's default zone when one was named."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} is outside {FIRST_YEAR}-{LAST_YEAR}; check the date")
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value
    zone: tzinfo | None = (info.context or {}).get("timezone")
    if zone is None:
        raise ValueError(
            "time has no UTC offset (write e.g. 2025-01-02T14:22:00+00:00, "
            "or run with --timezone Europe/London to read naive times in that zone)"
        )
    return value.replace(tzinfo=zone)


def _plain(value: str) -> str:
    """Refuse control characters in an id or code."""
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(f"control character U+{ord(found.group()):04X} in an id or code")
    return value


Time = Annotated[datetime, AfterValidator(_aware)]
Id = Annotated[str, AfterValidator(_plain)]


class _Model(BaseModel):
    """Contract models keep unknown fields (reported as warnings) and reject wrong types."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)


class Victim(_Model):
    """A victim named in the incident."""

    victim_id: Id = Field(min_length=1)
    age: int | None = Field(default=None, ge=0, le=120)
    sex: Sex = "unknown"
    relationship_to_suspect: Relationship = "unknown"
    vulnerable: bool = False


class SuspectLink(_Model):
    """How a suspect is related to one victim."""

    victim_id: Id = Field(min_length=1)
    relationship: Relationship = "unknown"


class Suspect(_Model):
    """A suspect (optional): lets the rules see both parties, as the domestic abuse flag needs."""

    suspect_id: Id = Field(min_length=1)
    age: int | None = Field(default=None, ge=0, le=120)
    date_of_birth: date | None = None
    sex: Sex = "unknown"
    relationships: list[SuspectLink] = Field(default_factory=list)

    def age_at(self, when: datetime) -> int | None:
        """Age in years at a moment: the stated age, else from the date of birth."""
        if self.age is not None or self.date_of_birth is None:
            return self.age
        day = when.date()
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def relationship_to(self, victim_id: str) -> str | None:
        """The stated relationship to one victim, if the record gives it."""
        return next((r.relationship for r in self.relationships if r.victim_id == victim_id), None)


class Disclosure(_Model):
    """An offence the report discloses, as assessed by the person reviewing it."""

    disclosure_id: Id = Field(min_length=1)
    offence: Id = Field(min_length=1)
    victim_id: Id | None = None
    suspect_id: Id | None = None
    disclosed_at: Time | None = None
    reported_by: Reporter | None = None
    victim_confirmed: bool | None = None
    victim_traceable: bool = True
    credible_evidence_to_contrary: bool = False
    occurred_in_force_area: bool | None = None
    # Optional additions to the contract (issue 3): s5 public order aimed only at a police officer
    # who warned and the behaviour stopped is not routinely a crime; a victim who did not attend an
    # appointment is recorded all the same (attendance is never a precondition).
    only_victim_is_police_officer: bool = False
    warned_and_stopped: bool = False
    victim_attended: bool | None = None
    # Issue 10: the hate strands the disclosure carries (race, religion, sexual orientation,
    # disability, transgender identity); racial or religious ones call for the aggravated code.
    hate: list[HateStrand] = Field(default_factory=list)


class Cancellation(_Model):
    """How a recorded crime was cancelled or transferred; every part may be missing in bad records."""

    category: Category | None = None
    decided_at: Time | None = None
    authorised_by_role: Role | None = None
    avi: str | None = None
    reason: str | None = None
    victim_informed: bool | None = None
    transferred_to: Id | None = None
    duplicate_of: Id | None = None


class Record(_Model):
    """A recording decision made on the incident: a crime, or an N100 reported incident of rape."""

    record_id: Id = Field(min_length=1)
    classification: Id = Field(min_length=1)
    victim_id: Id | None = None
    disclosure_ids: list[Id] = Field(default_factory=list)
    recorded_at: Time
    flags: list[Id] = Field(default_factory=list, max_length=MAX_FLAGS)
    n100_reason: Id | None = None
    converted_to: Id | None = None
    status: Status = "recorded"
    cancellation: Cancellation | None = None


class Incident(_Model):
    """One incident as the checker reads it: the canonical form a force export is mapped onto."""

    schema_version: Literal["1"] = "1"
    incident_id: Id = Field(min_length=1)
    force: Id | None = None
    reported_at: Time
    channel: Channel | None = None
    reporter: Reporter = "victim"
    incident_category: str | None = None
    qualifiers: list[Qualifier] = Field(default_factory=list)
    occurred_in_force_area: bool = True
    narrative: str | None = None
    # Optional additions for the service (issue 11): who holds the incident on which shift, so that
    # a queue can be filtered for one team; and which version of the incident this is, so that an
    # older version arriving late never overwrites a newer one.
    officer: Id | None = None
    team: Id | None = None
    area: Id | None = None
    shift: Id | None = None
    version: int | None = Field(default=None, ge=0, le=2**63 - 1)  # a 64-bit database integer
    updated_at: Time | None = None
    victims: list[Victim] = Field(default_factory=list)
    suspects: list[Suspect] = Field(default_factory=list)
    disclosures: list[Disclosure] = Field(default_factory=list)
    records: list[Record] = Field(default_factory=list)


def unknown_fields(incident: Incident) -> list[str]:
    """Field paths the contract does not define; kept, and reported as warnings."""
    found: list[str] = []

    def visit(model: BaseModel, loc: tuple[str | int, ...]) -> None:
        found.extend(dotted((*loc, k)) for k in sorted(model.model_extra or {}))
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                visit(value, (*loc, name))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, BaseModel):
                        visit(item, (*loc, name, i))

    visit(incident, ())
    return found


def consistency_problems(incident: Incident) -> list[Problem]:
    """Broken references, duplicate ids and impossible times: input errors, not findings."""
    problems: list[Problem] = []
    rid = incident.incident_id

    def bad(loc: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem(message, record=rid, field=dotted(loc)))

    def unique(items: list[Any], attr: str, name: str) -> set[str]:
        seen: set[str] = set()
        for i, item in enumerate(items):
            key = getattr(item, attr)
            if key in seen:
                bad((name, i, attr), f"duplicate {attr} {key!r} in this incident")
            seen.add(key)
        return seen

    victims = unique(incident.victims, "victim_id", "victims")
    suspects = unique(incident.suspects, "suspect_id", "suspects")
    for i, s in enumerate(incident.suspects):
        for j, link in enumerate(s.relationships):
            if link.victim_id not in victims:
                bad(("suspects", i, "relationships", j, "victim_id"), f"no victim {link.victim_id!r} in this incident")
        if s.date_of_birth is not None and s.date_of_birth > incident.reported_at.date():
            bad(("suspects", i, "date_of_birth"), "born after the incident was reported")
    disclosures = unique(incident.disclosures, "disclosure_id", "disclosures")
    records = unique(incident.records, "record_id", "records")
    for i, d in enumerate(incident.disclosures):
        if d.victim_id is not None and d.victim_id not in victims:
            bad(("disclosures", i, "victim_id"), f"no victim {d.victim_id!r} in this incident")
        if suspects and d.suspect_id is not None and d.suspect_id not in suspects:
            bad(("disclosures", i, "suspect_id"), f"no suspect {d.suspect_id!r} in this incident's suspects")
        if d.disclosed_at is not None and d.disclosed_at < incident.reported_at:
            bad(("disclosures", i, "disclosed_at"), "disclosed before the incident was reported")
    by_id = {d.disclosure_id: d for d in incident.disclosures}
    for i, r in enumerate(incident.records):
        if r.victim_id is not None and r.victim_id not in victims:
            bad(("records", i, "victim_id"), f"no victim {r.victim_id!r} in this incident")
        listed: set[str] = set()
        for j, did in enumerate(r.disclosure_ids):
            if did in listed:
                # the record would answer the disclosure twice, and the engine aborts on a repeated fact
                bad(("records", i, "disclosure_ids", j), f"disclosure {did!r} is listed twice")
                continue
            listed.add(did)
            if did not in disclosures:
                bad(("records", i, "disclosure_ids", j), f"no disclosure {did!r} in this incident")
                continue
            disclosed = by_id[did].disclosed_at or incident.reported_at
            if r.recorded_at < disclosed:
                bad(("records", i, "recorded_at"), f"recorded before disclosure {did!r} was made")
        if r.converted_to is not None and r.converted_to not in records:
            bad(("records", i, "converted_to"), f"no record {r.converted_to!r} in this incident")
        if r.recorded_at < incident.reported_at:
            bad(("records", i, "recorded_at"), "recorded before the incident was reported")
        c = r.cancellation
        if c is not None and c.decided_at is not None and c.decided_at < r.recorded_at:
            bad(("records", i, "cancellation", "decided_at"), "cancelled before it was recorded")
    return problems
