"""Checking one item of a batch: its findings and decisions as report rows, or its problems, plus
the per-disclosure facts the figures count. Pure: depends on nothing but the item and the checker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any, NamedTuple

from checker.audit.measures import RECORDING_AREAS, SAFEGUARDING_QUALIFIERS
from checker.audit.pseudonym import Pseudonymiser, scrub, scrub_quoted
from checker.audit.uktime import UkTime, local_time
from checker.check.checker import Checker, DisclosureDecision, Finding, Mask, Result
from checker.check.exceptions import Excepted, Register
from checker.core.errors import CheckerError, Problem
from checker.core.models import DEFAULT_LIMITS, Incident, Limits, Record, safe_id
from checker.core.times import human_duration
from checker.read.csvitems import CsvItem
from checker.read.incidents import Item, validate
from checker.rules.facts_schema import NARRATIVE_FIELDS, PERSONAL_FIELDS, is_id_field


class DecisionRow(NamedTuple):
    """One disclosure's required decision, what was recorded and the audit's judgement of it: the
    columns of decisions.csv, in order (`period` and `where` follow from the outcome)."""

    incident_id: str
    disclosure_id: str
    offence: str
    offence_name: str
    group: str
    decision_required: str
    expected_code: str
    reason: str
    reported_at: UkTime  # every time in UK local time, as the messages give it (and as a serial number)
    disclosed_at: UkTime
    deadline: UkTime
    recorded_at: UkTime | None  # the first record answering the disclosure
    recorded_ids: str  # the records answering it, "; " between them
    recorded_codes: str  # their classifications, in the same order
    recorded_status: str  # recorded, cancelled or transferred, in the same order
    crime_record_made: bool
    n100_recorded: bool
    first_elapsed_s: int | None
    first_elapsed: str | None  # first_elapsed_s for a person
    timely: str  # yes | no | not recorded | "" (nothing was due)
    correctly_recorded: str  # yes | no | "" (not a crime to record)


class Unit(NamedTuple):
    """The facts about one disclosure that the figures count."""

    group: str
    subgroup: str
    decision: str
    crime_record_made: bool
    n100_recorded: bool
    first_elapsed_s: int | None
    wrong: bool  # a finding of a recording area is about this disclosure


@dataclass(frozen=True)
class Cancel:
    """The facts about one cancelled or transferred record that the figures count."""

    category: str
    correct: bool
    victim_informed: bool | None


@dataclass(frozen=True)
class ItemResult:
    """Everything checking one item produced: report rows, or the problems that stopped it."""

    index: int
    where: str
    incident_id: str | None
    problems: tuple[Problem, ...] = ()
    period: str = ""
    findings: tuple[Finding, ...] = ()  # ids pseudonymised and log text withheld as asked; no facts
    excepted: tuple[Excepted, ...] = ()  # findings an exception in the register holds back, shown the same way
    decisions: tuple[DecisionRow, ...] = ()
    units: tuple[Unit, ...] = ()
    cancels: tuple[Cancel, ...] = ()
    asb_personal: bool = False
    safeguarding: bool = False
    warnings: tuple[str, ...] = ()
    narrative: str | None = None
    # per finding, in order: (reported_at, disclosed_at, recorded_at) of what it is about
    finding_times: tuple[tuple[UkTime, UkTime | None, UkTime | None], ...] = ()
    excepted_times: tuple[tuple[UkTime, UkTime | None, UkTime | None], ...] = ()  # the same, per excepted finding
    force: str | None = None
    # (breakdown, value) pairs such as ("team", "Response 3"), for the fields the incident carries
    groups: tuple[tuple[str, str], ...] = ()

    @property
    def rejected(self) -> bool:
        """The item could not be checked."""
        return bool(self.problems)


@dataclass(frozen=True)
class Settings:
    """What checking a chunk needs besides the checker; picklable for worker processes."""

    as_of: datetime
    window_s: int
    timezone: tzinfo | None = None  # for times without an offset; None refuses them
    include_narrative: bool = False
    pseudonymiser: Pseudonymiser | None = None
    limits: Limits = DEFAULT_LIMITS
    register: Register | None = None  # --exceptions: accepted findings, counted apart until they expire


@dataclass(frozen=True)
class Queued:
    """An item waiting to be checked, with its position in the batch."""

    index: int
    item: Item
    duplicate: bool = False


def _raw_id(data: Any) -> str | None:
    """Best-effort incident id from unvalidated data."""
    return safe_id(data.get("incident_id")) if isinstance(data, dict) else None


def _raw_ids(data: Any) -> tuple[str | None, list[str], list[str], list[str]]:
    """Best-effort ids from unvalidated data, so a rejected item can be pseudonymised too."""
    if not isinstance(data, dict):
        return None, [], [], []

    def ids(key: str, name: str) -> list[str]:
        items = data.get(key)
        if not isinstance(items, list):
            return []
        found = (safe_id(x.get(name)) for x in items[: DEFAULT_LIMITS.records] if isinstance(x, dict))
        return [value for value in found if value is not None]

    return (
        _raw_id(data),
        ids("records", "record_id"),
        ids("disclosures", "disclosure_id"),
        ids("victims", "victim_id"),
    )


def check_chunk(checker: Checker, chunk: Sequence[Queued], settings: Settings) -> list[ItemResult]:
    """Check a chunk of items; one outcome per item, in order. Pure: depends on nothing else.

    Stage by stage: every item validated, then the valid ones checked together
    (`Checker.check_all`, which keeps each stage's tables in the processor's caches), then each
    one's rows made; a located rejection instead for an item that cannot be checked."""
    outcomes: list[ItemResult | None] = []
    valid: list[tuple[int, Queued, Incident, list[str]]] = []
    for q in chunk:
        item = q.item
        if q.duplicate:
            raw_id = _raw_id(item.data)
            problem = Problem(
                f"duplicate incident_id {raw_id!r}: an earlier item in this batch has the same id "
                "(only the first is audited)",
                file=item.source,
                line=item.line,
                record=raw_id,
                field="incident_id",
            )
            outcomes.append(rejected_item(q, settings, [problem], raw_id))
        elif isinstance(item, CsvItem) and item.problems:
            problems = list(item.problems)
            outcomes.append(rejected_item(q, settings, problems, next((p.record for p in problems if p.record), None)))
        else:
            try:
                incident, warnings = validate(item, settings.timezone, settings.limits)
            except CheckerError as exc:
                outcomes.append(_refused(q, settings, exc))
            else:
                valid.append((len(outcomes), q, incident, warnings))
                outcomes.append(None)
    results = checker.check_all([incident for _, _, incident, _ in valid], settings.as_of)
    for (at, q, incident, warnings), result in zip(valid, results, strict=True):
        if isinstance(result, CheckerError):
            outcomes[at] = _refused(q, settings, result)
        else:
            outcomes[at] = _checked(checker, q, incident, result, warnings, settings)
    done = [o for o in outcomes if o is not None]
    if len(done) != len(chunk):  # never a silent drop
        raise AssertionError(f"{len(chunk) - len(done)} items of the chunk have no outcome")
    return done


def _refused(q: Queued, settings: Settings, exc: CheckerError) -> ItemResult:
    """The outcome of an item its validation or its check refused, located in its file."""
    item = q.item
    problems = list(exc.problems)
    if isinstance(item, CsvItem):
        problems = [item.locate(p) for p in problems]
    else:  # problems found after reading (an engine failure) do not know the file
        problems = [p if p.file else replace(p, file=item.source, line=item.line) for p in problems]
    raw_id = _raw_id(item.data) or next((p.record for p in problems if p.record), None)
    return rejected_item(q, settings, problems, raw_id)


def rejected_item(q: Queued, settings: Settings, problems: list[Problem], raw_id: str | None = None) -> ItemResult:
    """The outcome of an item that could not be checked, its ids pseudonymised when asked."""
    item = q.item
    found, records, disclosures, victims = _raw_ids(item.data)
    raw_id = raw_id or found
    ps = settings.pseudonymiser
    if ps is not None and raw_id is not None:
        table = ps.ids(raw_id, records, disclosures, victims)
        rid = raw_id

        def unknown(value: str) -> str:
            return ps.local(rid, "value", value)

        problems = [
            replace(p, message=scrub_quoted(p.message, table, unknown), record=table.get(p.record or "", p.record))
            for p in problems
        ]
        raw_id = table[raw_id]
    elif ps is not None:
        problems = [replace(p, record=None) for p in problems]
    return ItemResult(q.index, item.where, raw_id, problems=tuple(problems))


def _mask(ids: _Ids, settings: Settings) -> Mask:
    """How a report says each value a finding's message quotes: the narrative's words are withheld
    unless asked for; under --pseudonymise, ids become pseudonyms and a victim's particulars are
    withheld. The message is written from the masked values, so nothing withheld reaches it."""

    def mask(name: str, value: Any) -> Any:
        how = _masking(name, settings.include_narrative, bool(ids.table))
        if how == _PSEUDONYM:
            return ids.any(value) if isinstance(value, str) else value
        return value if how is None else how

    return mask


_PSEUDONYM = "pseudonym"


def _masking(name: str, include_narrative: bool, pseudonymised: bool) -> str | None:
    """What `_mask` puts for a value of this name: a word saying it is withheld, `_PSEUDONYM` (an
    id's pseudonym), or None (the value itself). A message quoting no field with a masking keeps
    the text it was made with."""
    if name in NARRATIVE_FIELDS and not include_narrative:
        return WITHHELD
    if pseudonymised and is_id_field(name):
        return _PSEUDONYM
    if pseudonymised and name in PERSONAL_FIELDS:
        return WITHHELD_PERSONAL
    return None


@lru_cache(maxsize=1024)  # asked for each finding; the same for every finding of a rule
def _masks(quoted: tuple[str, ...], include_narrative: bool, pseudonymised: bool) -> bool:
    """Whether a message quoting these fields must be written again from masked values."""
    return any(_masking(name, include_narrative, pseudonymised) for name in quoted)


class _Ids:
    """The incident's ids as the report shows them: pseudonymised when asked, else as they are."""

    def __init__(self, incident: Incident, ps: Pseudonymiser | None) -> None:
        self.ps = ps
        self.incident_id = incident.incident_id
        self.table: dict[str, str] = {}
        if ps is not None:
            self.table = ps.ids(
                incident.incident_id,
                [r.record_id for r in incident.records],
                [d.disclosure_id for d in incident.disclosures],
                [v.victim_id for v in incident.victims],
            )

    def id(self, value: str) -> str:
        return self.table.get(value, value)

    def any(self, value: str) -> str:
        """The pseudonym of an id, one of the incident's or not (a C3 naming a record not there)."""
        if value in self.table or self.ps is None:
            return self.id(value)
        return self.ps.local(self.incident_id, "record", value)

    def optional(self, value: str | None) -> str | None:
        return None if value is None else self.id(value)

    def text(self, value: str) -> str:
        return scrub(value, self.table) if self.table else value


BREAKDOWNS = ("team", "area", "officer", "shift")  # optional incident fields the report breaks down by


def _groups(incident: Incident, ps: Pseudonymiser | None) -> tuple[tuple[str, str], ...]:
    """The incident's team, area, officer and shift, whether the contract defines them or not (kept extras)."""
    out = []
    extra = incident.model_extra or {}
    declared = _declared_breakdowns(type(incident))
    for name in BREAKDOWNS:
        value = getattr(incident, name, None) if name in declared else extra.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            text = str(value).strip()
            if name == "officer" and ps is not None:
                text = ps.shared("officer", text)
            out.append((name, text))
    return tuple(out)


@lru_cache(maxsize=16)
def _declared_breakdowns(model: type[Incident]) -> frozenset[str]:
    """The breakdowns the incident's model declares (the others are kept extras), asked once per model."""
    return frozenset(name for name in BREAKDOWNS if name in model.model_fields)


def _checked(
    checker: Checker, q: Queued, incident: Incident, result: Result, warnings: list[str], settings: Settings
) -> ItemResult:
    ids = _Ids(incident, settings.pseudonymiser)
    mask = _mask(ids, settings)
    wrong = {f.disclosure_id for f in result.findings if f.area in RECORDING_AREAS and f.disclosure_id}
    broken = {f.record_id for f in result.findings if f.area == "cancellation" and f.outcome == "breach"}

    def shown(f: Finding) -> Finding:
        rule = checker.ruleset.get(f.rule_id)
        # (always a rule of this set)
        withheld = rule is None or _masks(rule.quoted, settings.include_narrative, bool(ids.table))
        return replace(
            f,
            incident_id=ids.id(f.incident_id),
            record_id=ids.optional(f.record_id),
            disclosure_id=ids.optional(f.disclosure_id),
            victim_id=ids.optional(f.victim_id),
            subject=ids.id(f.subject),
            message=checker.message(f, settings.as_of, mask) if withheld else f.message,
            quote=f.quote if settings.include_narrative else None,
            facts={},
        )

    # the figures judge every finding; the lists move the excepted ones apart
    kept, held = settings.register.split([result], settings.as_of) if settings.register else ([result], [])
    findings = tuple(shown(f) for f in kept[0].findings)
    excepted = tuple(
        Excepted(shown(e.finding), e.entry.model_copy(update={"reason": ids.text(e.entry.reason)}), e.entry_id)
        for e in held
    )
    cancels = tuple(
        Cancel(
            category=(r.cancellation.category if r.cancellation and r.cancellation.category else "none"),
            correct=r.record_id not in broken,
            victim_informed=r.cancellation.victim_informed if r.cancellation else None,
        )
        for r in incident.records
        if r.status in ("cancelled", "transferred")
    )
    qualifiers = set(result.qualifiers)
    times = _Times(incident)
    return ItemResult(
        index=q.index,
        where=q.item.where,
        incident_id=ids.id(incident.incident_id),
        period=_month(times.reported),
        findings=findings,
        excepted=excepted,
        decisions=tuple(_decision_row(d, times, ids, wrong, settings.window_s) for d in result.decisions),
        units=tuple(
            Unit(
                d.group,
                d.subgroup,
                d.decision,
                d.crime_record_made,
                d.n100_recorded,
                d.first_elapsed_s,
                d.disclosure_id in wrong,
            )
            for d in result.decisions
        ),
        cancels=cancels,
        asb_personal="asb_personal" in qualifiers,
        safeguarding=bool(qualifiers & SAFEGUARDING_QUALIFIERS) or result.reporter == "professional",
        warnings=tuple(ids.text(w) for w in warnings),
        narrative=incident.narrative if settings.include_narrative else None,
        finding_times=tuple(times.of(f) for f in kept[0].findings),
        excepted_times=tuple(times.of(e.finding) for e in held),
        force=incident.force,
        groups=_groups(incident, settings.pseudonymiser),
    )


def _month(reported: UkTime) -> str:
    """The month reported in, in London: ``strftime("%Y-%m")`` (the years checked have four digits)."""
    return reported.text[:7]


class _Times:
    """An incident's times in UK time, each worked out once, and its records by id."""

    def __init__(self, incident: Incident) -> None:
        self.reported = local_time(incident.reported_at)
        self.disclosed = {
            d.disclosure_id: local_time(d.disclosed_at) if d.disclosed_at else self.reported
            for d in incident.disclosures
        }
        self.records = {r.record_id: r for r in incident.records}

    def of(self, f: Finding) -> tuple[UkTime, UkTime | None, UkTime | None]:
        """(reported_at, disclosed_at, recorded_at) of what a finding is about."""
        record = None if f.record_id is None else self.records.get(f.record_id)
        return (
            self.reported,
            None if f.disclosure_id is None else self.disclosed.get(f.disclosure_id),
            local_time(record.recorded_at) if record else None,
        )

    def answering(self, recorded: str) -> Record:
        """The record an entry of DisclosureDecision.recorded ("id code [status]") names: the
        longest of the incident's record ids it is or starts with before a space."""
        head = recorded
        while head not in self.records:
            head, space, _ = head.rpartition(" ")
            if not space:
                raise KeyError(f"no record of this incident answers {recorded!r}")
        return self.records[head]


def _decision_row(d: DisclosureDecision, times: _Times, ids: _Ids, wrong: set[str], window_s: int) -> DecisionRow:
    """The audit's judgement of one disclosure's decision: timely, correctly recorded."""
    # the records answering it, in the order DisclosureDecision.recorded gives them
    answering = [times.answering(text) for text in d.recorded]
    due = d.decision in ("crime", "n100")
    elapsed = d.first_elapsed_s
    timely = "" if elapsed is None and not due else "not recorded" if elapsed is None else _yes(elapsed <= window_s)
    crime = d.decision == "crime" and d.group != "fraud"
    correct = d.crime_record_made and d.disclosure_id not in wrong
    return DecisionRow(
        incident_id=ids.id(d.incident_id),
        disclosure_id=ids.id(d.disclosure_id),
        offence=d.offence,
        offence_name=d.offence_name,
        group=d.group,
        decision_required=d.decision,
        expected_code=d.expected_code,
        reason=d.reason,
        reported_at=times.reported,
        disclosed_at=times.disclosed[d.disclosure_id],
        deadline=local_time(d.deadline_at),
        recorded_at=local_time(min(r.recorded_at for r in answering)) if answering else None,
        recorded_ids="; ".join([ids.id(r.record_id) for r in answering]),
        recorded_codes="; ".join([r.classification for r in answering]),
        recorded_status="; ".join([r.status for r in answering]),
        crime_record_made=d.crime_record_made,
        n100_recorded=d.n100_recorded,
        first_elapsed_s=elapsed,
        first_elapsed=human_duration(elapsed) if elapsed is not None else None,
        timely=timely,
        correctly_recorded=_yes(correct) if crime else "",
    )


WITHHELD = "[log text withheld]"
WITHHELD_PERSONAL = "[withheld]"  # a victim's age, sex or relationship, under --pseudonymise


def _yes(value: bool) -> str:
    return "yes" if value else "no"
