"""The incident record contract (docs/contract.md, generated from these models) as pydantic models."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cache
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from checker.core.errors import Problem, dotted
from checker.core.times import in_range, local_time

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


MAX_FLAGS = 64  # Home Office crime flags are a few dozen; the engine drops facts of 254+ fields
# Ids and codes are copied onto the durable-rules engine's stack (an id of 8 MB crashed it) and
# quoted in every message; a force's longest reference is a few dozen characters.
MAX_ID_LENGTH = 200
MAX_TEXT_LENGTH = 20_000  # avi, reason, incident_category: a paragraph, not a document
# Runs of Unicode space separators (a non-breaking space, an ideographic space) inside an id read as one space.
_SPACES = re.compile(r"[^\S\r\n\t\v\f\x1c-\x1f\x85\u2028\u2029]+")
# A time written as a bare number (a Unix epoch) is read by pydantic as seconds since 1970.
_EPOCH = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")


@dataclass(frozen=True)
class Limits:
    """How much of each part one incident may hold; an incident over a bound is rejected before the
    engine sees it. Only the narrative bound is set per run (`--max-narrative`)."""

    narrative: int = 1_048_576  # characters; the narrative screen's cost grows with the text
    # Each record answers the disclosures it lists, or those of its victim and offence family, so
    # the engine's facts grow as disclosures x records: at 50 x 50, every record answering every
    # disclosure, `check` of one incident took 0.40 s and 75 MB in all (a small one 0.26 s, 44 MB) on
    # 2026-11-29; 0.8 s and 80 MB when the bound was set.
    victims: int = 50
    disclosures: int = 50
    records: int = 50
    # Suspects are named only by disclosures (suspect_id), so the disclosure bound bounds them too.


DEFAULT_LIMITS = Limits()


def _written(value: Any) -> Any:
    """Refuse a time written as a number: pydantic would read it as a Unix epoch."""
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and ":" not in value and _EPOCH.fullmatch(value)  # (a time has a colon)
    ):
        raise ValueError("a number is not a time: write ISO 8601 with an offset, e.g. 2025-01-02T14:22:00+00:00")
    return value


def _aware(value: datetime, info: ValidationInfo) -> datetime:
    """Insist on an offset; read a naive time in the run's default zone when one was named."""
    in_range(value)
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value
    zone: tzinfo | None = (info.context or {}).get("timezone")
    if zone is None:
        raise ValueError(
            "time has no UTC offset (write e.g. 2025-01-02T14:22:00+00:00, "
            "or run with --timezone Europe/London to read naive times in that zone)"
        )
    return local_time(value, zone)


def normalise_id(value: str) -> str:
    """An id as compared and shown: surrounding whitespace removed, inner runs of spaces made one."""
    value = value.strip()
    if "  " not in value and value.isprintable():  # most ids: no space but single ASCII spaces
        return value
    return _SPACES.sub(" ", value)


def _plain(value: str) -> str:
    """Refuse an id or code that is too long or holds characters that do not print."""
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"an id or code of {len(value):,} characters; the limit is {MAX_ID_LENGTH:,}")
    value = normalise_id(value)
    if value.isprintable():  # the ASCII space is printable; every other space is not
        return value
    for char in value:
        if char.isprintable() or char == " ":
            continue
        code = f"U+{ord(char):04X}"
        if unicodedata.category(char) == "Cc":
            raise ValueError(f"control character {code} in an id or code")
        # bidirectional controls (U+202A-U+202E, U+2066-U+2069) make an id display as another one
        name = unicodedata.name(char, "unassigned")
        raise ValueError(f"unprintable character {code} ({name}) in an id or code")
    return value


def safe_id(value: Any) -> str | None:
    """An unvalidated id, normalised, when it may be quoted in a message; None when it may not."""
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        return None
    try:
        return _plain(value)
    except ValueError:
        return None


def _bounded(limit: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"text of {len(value):,} characters; the limit is {limit:,}")
        return value

    return AfterValidator(check)


Time = Annotated[datetime, BeforeValidator(_written), AfterValidator(_aware)]
Id = Annotated[str, AfterValidator(_plain)]
Text = Annotated[str, _bounded(MAX_TEXT_LENGTH)]


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
    avi: Text | None = None
    reason: Text | None = None
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
    incident_category: Text | None = None
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


def bound_problems(data: dict[str, Any], limits: Limits = DEFAULT_LIMITS) -> list[Problem]:
    """The bounds an incident's raw data breaks, found before any validation copies it."""
    name = safe_id(data.get("incident_id"))
    problems: list[Problem] = []

    def over(field: str, count: int, limit: int, what: str, hint: str = "") -> None:
        if count > limit:
            problems.append(Problem(f"{count:,} {what}; the limit is {limit:,}{hint}", record=name, field=field))

    narrative = data.get("narrative")
    if isinstance(narrative, str):
        hint = " (raise it with --max-narrative)"
        over("narrative", len(narrative), limits.narrative, "characters of narrative", hint)

    def items(field: str) -> list[Any]:
        value = data.get(field)
        return value if isinstance(value, list) else []

    over("victims", len(items("victims")), limits.victims, "victims in one incident")
    over("disclosures", len(items("disclosures")), limits.disclosures, "disclosures in one incident")
    over("records", len(items("records")), limits.records, "records in one incident")
    return problems


def _short(name: str, limit: int = MAX_ID_LENGTH) -> str:
    """A field name from the input, as a message quotes it: cut to a readable length, and each
    character that is not printable written as Python writes it in a string (`\\n`, `\\x1b`), as
    messages quote values: a line end in a name must not start a line of its own in the output."""
    shown = name if len(name) <= limit else f"{name[:limit]}... ({len(name):,} characters)"
    return shown if shown.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)


def unknown_fields(incident: Incident) -> list[str]:
    """Field paths the contract does not define; kept, and reported as warnings."""
    found: list[str] = []

    def visit(model: BaseModel, loc: tuple[str | int, ...]) -> None:
        extra = model.model_extra
        if extra:
            # a field name is the input's own text: quoted in a warning, it is cut to a readable length
            found.extend(dotted((*loc, _short(k))) for k in sorted(extra))
        # only the fields that can hold a model are looked into (the rest cannot hold extras)
        for name, _ in _shape(type(model))[1]:
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                visit(value, (*loc, name))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, BaseModel):
                        visit(item, (*loc, name, i))

    visit(incident, ())
    return found


def only_known_fields(data: Any, model: type[BaseModel] = Incident) -> bool:
    """Whether raw ``data``, which validated as ``model``, holds only fields the contract defines, at
    every level: then :func:`unknown_fields` of the validated model is empty. A set comparison per
    part (about 3 us an incident, against 14 us for walking the model); False where unsure."""
    known, nested = _shape(model)
    if not isinstance(data, dict) or not data.keys() <= known:
        return False
    for name, inner in nested:
        value = data.get(name)
        if value is None:
            continue
        for item in value if isinstance(value, list) else (value,):
            if not only_known_fields(item, inner):
                return False
    return True


@cache
def _shape(model: type[BaseModel]) -> tuple[frozenset[str], tuple[tuple[str, type[BaseModel]], ...]]:
    """The field names of ``model``, and those of its fields whose type names another model, with
    that model, in declared order."""
    found = ((name, _model_in(field.annotation)) for name, field in model.model_fields.items())
    return frozenset(model.model_fields), tuple((name, inner) for name, inner in found if inner is not None)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation names (``Victim``, ``list[Victim]``, ``Cancellation | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)


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
