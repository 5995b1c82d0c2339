"""Checking one incident: facts in, rules evaluated, findings and decisions out."""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, tzinfo
from operator import attrgetter
from typing import Annotated, Any, ClassVar, Literal, ParamSpec, TypeVar, get_type_hints

from pydantic import Field as PydanticField

from checker.check.facts import DECISION_TEXT, IncidentFacts, build_facts, narrative_hits
from checker.core.errors import CheckerError, EngineError, Problem
from checker.core.models import Incident
from checker.core.times import LONDON, human_duration, human_time
from checker.rules.conditions import Branch
from checker.rules.evaluate import evaluate_reference
from checker.rules.facts_schema import SUBJECT_FIELD
from checker.rules.loader import AREAS, Rule, RuleSet

Hit = tuple[int, dict[str, dict[str, Any]]]  # (the compiled branch's index, facts bound by alias)


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One difference between what the rules require and what was recorded.

    The one definition of a finding: the JSON output is its fields in this order (`to_dict`), and
    findings.csv is the selection `CSV_COLUMNS` of them (`csv_values`)."""

    rule_id: str
    rule_name: str
    title: str
    area: str
    outcome: str
    incident_id: str
    subject: str
    subject_kind: str
    record_id: str | None = None
    disclosure_id: str | None = None
    victim_id: str | None = None
    message: str
    source: dict[str, str | None]
    # The words of the incident log the finding is about (the sentence the narrative screen found),
    # apart from the message so that an output that must not show the log never receives them.
    quote: str | None = None
    facts: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    # findings.csv: these fields, `source_X` being the source's X
    CSV_COLUMNS: ClassVar[tuple[str, ...]] = (
        "incident_id",
        "record_id",
        "disclosure_id",
        "victim_id",
        "rule_id",
        "title",
        "area",
        "outcome",
        "subject",
        "message",
        "source_document",
        "source_section",
        "source_edition",
    )

    def to_dict(self, explain: bool = False) -> dict[str, Any]:
        """The finding as the JSON output documents it (with the facts behind it when explaining)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if explain or f.name != "facts"}

    def csv_values(self) -> list[Any]:
        """The values of `CSV_COLUMNS`, in order."""
        source = self.source
        return [*_FINDING_VALUES(self), *(source.get(key) for key in _SOURCE_KEYS)]


# CSV_COLUMNS: the finding's own fields, then those of its source
_FINDING_VALUES = attrgetter(*(c for c in Finding.CSV_COLUMNS if not c.startswith("source_")))
_SOURCE_KEYS = [c.removeprefix("source_") for c in Finding.CSV_COLUMNS if c.startswith("source_")]
if Finding.CSV_COLUMNS[-len(_SOURCE_KEYS) :] != tuple(f"source_{k}" for k in _SOURCE_KEYS):
    raise AssertionError("csv_values expects the source_ columns last in Finding.CSV_COLUMNS")


@dataclass(frozen=True)
class DisclosureDecision:
    """The recording decision required for one disclosure, and what was recorded against it; the
    JSON output is its fields in this order."""

    incident_id: str
    disclosure_id: str
    offence: str
    offence_name: str
    group: str
    subgroup: str
    decision: str
    expected_code: str
    reason: str
    reason_text: str
    deadline: str
    recorded: tuple[str, ...]
    crime_recorded: bool  # a live crime record (not an N100) answers it
    crime_record_made: bool  # a crime record (not an N100) answers it, live or since cancelled
    n100_recorded: bool  # a live N100 answers it
    first_elapsed_s: int | None  # seconds from disclosure to the first record answering it
    # `deadline` as a moment, for the audit's rows; no output shows it (nor documents it): the one
    # mark, read by `output_fields` and by pydantic where a schema embeds the dataclass
    deadline_at: Annotated[datetime, PydanticField(exclude=True)] = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The decision as the JSON output documents it."""
        return {name: getattr(self, name) for name in DECISION_OUTPUT}


def output_fields(cls: type) -> tuple[str, ...]:
    """The fields of a dataclass that its outputs show, in order: all but those annotated
    `PydanticField(exclude=True)` (DisclosureDecision.deadline_at)."""
    hints = get_type_hints(cls, include_extras=True)
    return tuple(
        f.name
        for f in fields(cls)
        if not any(getattr(mark, "exclude", None) is True for mark in getattr(hints[f.name], "__metadata__", ()))
    )


# the fields of a decision the outputs show, in order
DECISION_OUTPUT = output_fields(DisclosureDecision)


@dataclass(frozen=True)
class Result:
    """What checking one incident found."""

    incident_id: str
    findings: tuple[Finding, ...]
    decisions: tuple[DisclosureDecision, ...]
    warnings: tuple[str, ...] = ()
    qualifiers: tuple[str, ...] = ()  # the incident's qualifiers (asb_personal, child_protection, ...)
    reporter: str = "victim"


# What a report may show of a fact field's value: the value, a pseudonym, or a word saying it is
# withheld. Called with the field's name and value for every field a rule message quotes.
Mask = Callable[[str, Any], Any]


class _Formatter(string.Formatter):
    """Renders rule messages: `{d.left_s:duration}`, `{d.deadline:when}`, `{params.window}`."""

    def __init__(self, as_of: datetime, zone: tzinfo, mask: Mask | None = None) -> None:
        self.as_of = as_of
        self.zone = zone
        self.mask = mask

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        head, _, name = field_name.partition(".")
        scope = kwargs.get(head, {})
        value = scope.get(name, "?")
        if self.mask is not None and head != "params":
            value = self.mask(name, value)
        return value, field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "duration" and isinstance(value, int):
            return human_duration(value)
        if format_spec in ("when", "time") and isinstance(value, str):
            return human_time(value, self.as_of, self.zone)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)


Evaluator = Literal["engine", "reference"]
P = ParamSpec("P")
T = TypeVar("T")


class Checker:
    """Checks incidents against a rule set, with the durable-rules engine or the reference."""

    def __init__(self, ruleset: RuleSet, evaluator: Evaluator = "engine", zone: tzinfo = LONDON) -> None:
        self.ruleset = ruleset
        self.zone = zone
        self.evaluator = evaluator
        self._branches: list[Branch] = []
        self._owner: list[Rule] = []
        self._sources: dict[str, dict[str, str | None]] = {}  # each rule's source, as a finding shows it
        for rule in ruleset.active:
            for branch in rule.branches:
                self._branches.append(branch)
                self._owner.append(rule)
            source = rule.model.source
            self._sources[rule.id] = {
                "document": source.document,
                "edition": source.edition,
                "section": source.section,
                "url": source.url,
                "tag": source.tag,
            }
        self._engine: Any = None
        if evaluator == "engine":
            from checker.engine.durable import DurableEngine  # deferred: durable-rules is only loaded to check

            self._engine = DurableEngine(self._branches, name=f"crimecheck_{ruleset.digest}")

    def hits(self, facts: list[dict[str, Any]]) -> list[Hit]:
        """Raw (branch, bindings) matches from the chosen evaluator."""
        if self._engine is not None:
            result: list[Hit] = self._engine.evaluate(facts)
            return result
        return evaluate_reference(self._branches, facts)

    def check(self, incident: Incident, as_of: datetime) -> Result:
        """Findings and decisions for one validated incident, judged at `as_of`."""
        [result] = self.check_all([incident], as_of)
        if isinstance(result, CheckerError):
            raise result
        return result

    def check_all(self, incidents: Sequence[Incident], as_of: datetime) -> list[Result | CheckerError]:
        """`check` of each incident (its result, or the error it raises), made stage by stage
        across them all: every narrative screened, then every incident's facts built, then each
        incident through the engine, then the findings and decisions. The same results as one
        incident at a time, in less time for many (an audit's chunk): each stage's code and tables
        (the lexicon's automata, the engine's network) stay in the processor's caches, where one
        incident at a time had every stage evict the others' (bench/RESULTS.md, session 6). An
        error stops only its own incident."""
        ref, screen = self.ruleset.reference, self.ruleset.screen
        mentions = [_attempt(narrative_hits, i, ref, screen) for i in incidents]
        built = [
            m if isinstance(m, CheckerError) else _attempt(build_facts, i, ref, as_of, mentions=m)
            for i, m in zip(incidents, mentions, strict=True)
        ]
        matched = [
            b if isinstance(b, CheckerError) else _attempt(self._matched, i, b)
            for i, b in zip(incidents, built, strict=True)
        ]
        return [
            m if isinstance(m, CheckerError) else _attempt(self._result, i, *m, as_of)
            for i, m in zip(incidents, matched, strict=True)
        ]

    def _matched(self, incident: Incident, built: IncidentFacts) -> tuple[IncidentFacts, list[Hit]]:
        """The incident's facts with what the engine found in them (each stage of `check_all` takes
        the one before's output, or passes its error on)."""
        try:
            return built, self.hits(built.facts)
        except Exception as exc:
            raise EngineError([Problem(f"the rule engine failed: {exc}", record=incident.incident_id)]) from exc

    def _result(
        self,
        incident: Incident,
        built: IncidentFacts,
        hits: list[Hit],
        as_of: datetime,
    ) -> Result:
        return Result(
            incident.incident_id,
            self._findings(incident, hits, as_of) if hits else (),
            _decisions(incident, built),
            qualifiers=tuple(incident.qualifiers),
            reporter=incident.reporter,
        )

    def _findings(self, incident: Incident, hits: list[Hit], as_of: datetime) -> tuple[Finding, ...]:
        """One finding per rule and subject, from the first of its hits in a fixed order."""
        fmt = _Formatter(as_of, self.zone)
        chosen: dict[tuple[str, str], tuple[Rule, dict[str, dict[str, Any]]]] = {}
        for index, bindings in sorted(hits, key=lambda h: (h[0], _binding_key(h[1]))):
            rule = self._owner[index]
            subject = bindings[rule.subject]
            key = (rule.id, str(subject[SUBJECT_FIELD[subject["kind"]]]))
            chosen.setdefault(key, (rule, bindings))
        findings = [self._finding(incident, rule, b, fmt) for rule, b in chosen.values()]
        findings.sort(key=finding_order)
        return tuple(findings)

    def _finding(self, incident: Incident, rule: Rule, bindings: dict[str, dict[str, Any]], fmt: _Formatter) -> Finding:
        m = rule.model
        subject = bindings[rule.subject]
        kind = subject["kind"]
        clean = {alias: _shown(f) for alias, f in bindings.items()}
        message = _render(rule, clean, fmt)
        quote = next(
            (str(f["sentence"]) for f in clean.values() if f.get("kind") == "mention" and "sentence" in f), None
        )

        def pick(name: str) -> str | None:
            for f in (subject, *bindings.values()):
                if name in f:
                    return str(f[name])
            return None

        return Finding(
            rule_id=m.id,
            rule_name=m.name,
            title=m.title,
            area=m.area,
            outcome=m.outcome,
            incident_id=incident.incident_id,
            subject=str(subject[SUBJECT_FIELD[kind]]),
            subject_kind=kind,
            message=message,
            source=dict(self._sources[m.id]),
            record_id=pick("record_id"),
            disclosure_id=pick("disclosure_id"),
            victim_id=pick("victim_id"),
            quote=quote,
            facts=clean,
        )

    def message(self, finding: Finding, as_of: datetime, mask: Mask) -> str:
        """A finding's message again, each value it quotes passed through `mask` first: how a
        report made without narratives, or with pseudonyms, says it. Never a rewrite of the text."""
        rule = self.ruleset.get(finding.rule_id)
        if rule is None:  # a finding always comes from this rule set
            raise KeyError(finding.rule_id)
        return _render(rule, finding.facts, _Formatter(as_of, self.zone, mask))


def _render(rule: Rule, facts: dict[str, dict[str, Any]], fmt: _Formatter) -> str:
    """The rule's message for these facts (from its template parsed once, as `fmt.format` would)."""
    values = {**facts, "params": rule.message_params}
    parts = rule.message_parts
    if parts is None:
        return " ".join(fmt.format(rule.model.message, **values).split())
    out: list[str] = []
    for text, name, spec in parts:
        out.append(text)
        if name is not None:
            out.append(fmt.format_field(fmt.get_field(name, (), values)[0], spec))
    return " ".join("".join(out).split())


def _shown(fact: dict[str, Any]) -> dict[str, Any]:
    """A bound fact as a finding keeps it: without the ids only the engine needs."""
    shown = dict(fact)
    shown.pop("sid", None)
    shown.pop("id", None)
    return shown


def _binding_key(bindings: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    return tuple(str(f.get("id")) for _, f in sorted(bindings.items()))


def finding_order(f: Finding) -> tuple[int, str, str]:
    """Findings sort by contract area order, then rule id, then subject: the same every run."""
    return (AREAS.index(f.area), f.rule_id, f.subject)


def _decisions(incident: Incident, built: IncidentFacts) -> tuple[DisclosureDecision, ...]:
    decisions = built.decisions
    links: dict[str, list[dict[str, Any]]] = {}
    disclosures: dict[str, dict[str, Any]] = {}
    for fact in built.facts:
        if fact["kind"] == "link":
            links.setdefault(fact["disclosure_id"], []).append(fact)
        elif fact["kind"] == "disclosure":
            disclosures[fact["disclosure_id"]] = fact
    out = []
    for d in incident.disclosures:
        fact = disclosures[d.disclosure_id]
        decision = decisions[d.disclosure_id]
        recorded, crime_recorded, crime_record_made, n100_recorded, first_elapsed_s = _answered(
            links.get(d.disclosure_id, ())
        )
        out.append(
            DisclosureDecision(
                incident_id=incident.incident_id,
                disclosure_id=d.disclosure_id,
                offence=d.offence,
                offence_name=fact["offence_name"],
                group=fact["group"],
                subgroup=fact["subgroup"],
                decision=decision.decision,
                expected_code=decision.expected_code,
                reason=decision.reason,
                reason_text=DECISION_TEXT.get(decision.reason, decision.reason),
                deadline=fact["deadline"],
                recorded=recorded,
                crime_recorded=crime_recorded,
                crime_record_made=crime_record_made,
                n100_recorded=n100_recorded,
                first_elapsed_s=first_elapsed_s,
                deadline_at=built.deadlines[d.disclosure_id],
            )
        )
    return tuple(out)


def _answered(links: Sequence[dict[str, Any]]) -> tuple[tuple[str, ...], bool, bool, bool, int | None]:
    """What the records answering one disclosure (its link facts) show, in one pass: each record
    with its code (and status when not live), whether a live crime record, any crime record and a
    live N100 answer it, and the seconds to the first."""
    recorded = []
    crime_recorded = crime_record_made = n100_recorded = False
    first: int | None = None
    for a in links:
        live, n100 = a["live"], a["is_n100"]
        recorded.append(f"{a['record_id']} {a['classification']}" + ("" if live else f" {a['status']}"))
        crime_recorded = crime_recorded or (live and not n100)
        crime_record_made = crime_record_made or not n100
        n100_recorded = n100_recorded or (live and n100)
        elapsed = a["elapsed_s"]
        first = elapsed if first is None or elapsed < first else first
    return tuple(recorded), crime_recorded, crime_record_made, n100_recorded, first


def _attempt(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | CheckerError:
    """What ``fn`` returns, or the CheckerError it raises (one incident's, kept in its place)."""
    try:
        return fn(*args, **kwargs)
    except CheckerError as exc:
        return exc
