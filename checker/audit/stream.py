"""The pre-audit self-check: a batch of incidents in, inspection-style figures out.

The batch is streamed in three stages, so memory does not grow with it:

1. reading (one process): items come from `read_items` or the CSV mapping; a duplicate incident id
   is marked here, because "the second is rejected" depends on reading order. The only state per
   incident is 8 bytes (a hash of its id, see `SeenIds`);
2. checking (`check_chunk`): a pure function from a chunk of items to one `Outcome` per item:
   its findings and decisions as report rows, or its problems, plus the few per-disclosure facts
   the figures need. Nothing in it depends on other chunks, so a later change can run it in worker
   processes (`multiprocessing.Pool.imap(partial(check_chunk, ...), chunks)`, a Checker built once
   per worker by the pool initializer) and keep everything else as it is;
3. merging (`Tally`): adds up counts, never rates, so tallies of chunks merge in any grouping to
   the same totals; the bounded lists it keeps (the incidents to fix first, examples) are ordered
   by a total key, so they do not depend on the order either. Report rows are written as outcomes
   arrive, in input order.

Every item read ends up either checked or rejected; `Tally.balance` refuses a report where
checked + rejected differs from the number audited.
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import re
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from hashlib import blake2b
from itertools import chain, islice
from pathlib import Path
from typing import Any, Literal, TextIO

from checker.check import LONDON, Checker, Result, human_duration, parse_time, utc_now
from checker.errors import CheckerError, Problem
from checker.mapping import CsvItem
from checker.models import Incident
from checker.pseudonym import Pseudonymiser, scrub
from checker.reader import Item, validate
from checker.reference import duration_seconds
from checker.rules import RuleSet, load_rules
from checker.stats import Interval, proportion_interval, unrecorded_estimate

SCHEMA_VERSION = "1.0"
CHUNK = 256  # items per chunk: large enough to amortise a process hop later, small enough to stream
TOP_INCIDENTS = 100  # incidents listed in report.html, most serious first
EXAMPLES = 20  # warnings and rejected items quoted in summary.json and report.html
# Findings in these areas mean a crime was not recorded correctly (the recording rate's numerator).
RECORDING_AREAS = frozenset({"recording", "rape_n100", "classification", "counting"})
SAFEGUARDING_QUALIFIERS = frozenset({"child_protection", "vulnerable_adult"})
CATEGORIES = ("C1", "C2", "C3", "C4", "C5", "none")
# Timeliness buckets: upper bounds in seconds from disclosure to the first record.
BUCKETS = (
    ("up to 1 h", 3600),
    ("1 to 24 h", 86400),
    ("24 to 72 h", 3 * 86400),
    ("3 to 7 days", 7 * 86400),
    ("7 to 30 days", 30 * 86400),
)
LONGER = "over 30 days"


@dataclass(frozen=True)
class Measure:
    """One audit figure: a share of counted cases, with its definition."""

    key: str
    label: str
    definition: str
    better: Literal["higher", "lower"] = "higher"


def window_text(seconds: int) -> str:
    """`24 hours` for the recording window (human_duration would say `1 day`)."""
    return f"{seconds // 3600} hours" if seconds % 3600 == 0 else human_duration(seconds)


def measures(window_s: int) -> list[Measure]:
    """The figures every summary reports, in report order."""
    window = window_text(window_s)
    crime = (
        "disclosures whose required decision is a crime (fraud excluded); recorded correctly = a crime "
        "record was made for the disclosure (even if since cancelled) and no finding of area recording, "
        "rape_n100, classification or counting is about it; an N100 where a crime was required is not recorded"
    )
    out = [
        Measure("recording.all_crime", "All crime (excluding fraud)", f"Crimes correctly recorded, of {crime}."),
        Measure(
            "recording.violence_against_the_person",
            "Violence against the person",
            "As all crime, for disclosures in the Home Office group violence against the person.",
        ),
        Measure(
            "recording.sexual_offences",
            "Sexual offences",
            "As all crime, for disclosures in the Home Office group sexual offences.",
        ),
        Measure("recording.rape", "Rape", "As all crime, for disclosures in the rape sub-group."),
        Measure(
            "recording.asb_personal",
            "Crimes in ASB-personal incidents",
            "As all crime, for disclosures in incidents with the asb_personal qualifier.",
        ),
        Measure(
            "recording.safeguarding",
            "Safeguarding referrals",
            "As all crime, for disclosures in incidents with the child_protection or vulnerable_adult "
            "qualifier, or reported by a professional.",
        ),
        Measure(
            "timeliness.within_window",
            f"Recorded within {window}",
            f"Disclosures with a crime or N100 record (live or cancelled) whose first record was made within "
            f"{window} of the disclosure (the recording_window setting).",
        ),
        Measure(
            "n100.correct",
            "N100s that were right",
            "Rape disclosures answered by a live N100 where the rules require an N100.",
        ),
        Measure(
            "n100.should_have_been_crime",
            "N100s that should have been crimes",
            "Rape disclosures answered by a live N100 where the rules require a crime and no crime record was made.",
            better="lower",
        ),
        Measure(
            "n100.missing",
            "Rape reports with neither crime nor N100",
            "Rape disclosures needing a crime or an N100 that have no record at all.",
            better="lower",
        ),
        Measure(
            "cancellation.correct",
            "Cancellations and transfers correct",
            "Cancelled or transferred records with no cancellation-area breach about the record.",
        ),
    ]
    for cat in CATEGORIES:
        name = "with no category" if cat == "none" else cat
        out.append(
            Measure(
                f"cancellation.correct.{cat}",
                f"Cancellations {name} correct",
                f"As cancellations correct, for records cancelled {name}.",
            )
        )
    out.append(
        Measure(
            "cancellation.victim_informed",
            "Victims told of the cancellation",
            "Cancelled or transferred records whose victim_informed is true (false or not recorded: not told).",
        )
    )
    return out


# ------------------------------------------------------------------------------------------------
# Outcomes: what checking one item produced
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingRow:
    """One finding as findings.csv and report.html show it."""

    incident_id: str
    record_id: str | None
    disclosure_id: str | None
    victim_id: str | None
    rule_id: str
    title: str
    area: str
    outcome: str
    subject: str
    message: str
    source_document: str | None
    source_section: str | None
    source_edition: str | None


@dataclass(frozen=True)
class DecisionRow:
    """One disclosure's required decision and what was recorded, as decisions.csv shows it."""

    incident_id: str
    disclosure_id: str
    offence: str
    offence_name: str
    group: str
    decision: str
    expected_code: str
    reason: str
    recorded: str
    crime_record_made: bool
    n100_recorded: bool
    first_elapsed_s: int | None
    timely: str  # yes | no | not recorded | "" (nothing was due)
    correctly_recorded: str  # yes | no | "" (not a crime to record)
    deadline: str


@dataclass(frozen=True)
class Unit:
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
class Outcome:
    """Everything checking one item produced: report rows, or the problems that stopped it."""

    index: int
    where: str
    incident_id: str | None
    problems: tuple[Problem, ...] = ()
    period: str = ""
    findings: tuple[FindingRow, ...] = ()
    decisions: tuple[DecisionRow, ...] = ()
    units: tuple[Unit, ...] = ()
    cancels: tuple[Cancel, ...] = ()
    asb_personal: bool = False
    safeguarding: bool = False
    warnings: tuple[str, ...] = ()
    narrative: str | None = None

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


@dataclass(frozen=True)
class Queued:
    """An item waiting to be checked, with its position in the batch."""

    index: int
    item: Item
    duplicate: bool = False


def check_chunk(checker: Checker, chunk: Sequence[Queued], settings: Settings) -> list[Outcome]:
    """Check a chunk of items; one outcome per item, in order. Pure: depends on nothing else."""
    return [check_item(checker, q, settings) for q in chunk]


def _raw_ids(data: Any) -> tuple[str | None, list[str], list[str], list[str]]:
    """Best-effort ids from unvalidated data, so a rejected item can be pseudonymised too."""
    if not isinstance(data, dict):
        return None, [], [], []

    def ids(key: str, name: str) -> list[str]:
        items = data.get(key)
        if not isinstance(items, list):
            return []
        return [x[name] for x in items if isinstance(x, dict) and isinstance(x.get(name), str)]

    rid = data.get("incident_id")
    return (
        rid if isinstance(rid, str) else None,
        ids("records", "record_id"),
        ids("disclosures", "disclosure_id"),
        ids("victims", "victim_id"),
    )


def check_item(checker: Checker, q: Queued, settings: Settings) -> Outcome:
    """Validate and check one item; a located rejection instead when it cannot be checked."""
    item = q.item
    raw_id, records, disclosures, victims = _raw_ids(item.data)
    problems: list[Problem] = []
    if q.duplicate:
        problems = [
            Problem(
                f"duplicate incident_id {raw_id!r}: an earlier item in this batch has the same id "
                "(only the first is audited)",
                file=item.source,
                line=item.line,
                record=raw_id,
                field="incident_id",
            )
        ]
    elif isinstance(item, CsvItem) and item.problems:
        problems = list(item.problems)
        raw_id = next((p.record for p in problems if p.record), None)
    else:
        try:
            incident, warnings = validate(item, settings.timezone)
            result = checker.check(incident, settings.as_of)
        except CheckerError as exc:
            problems = list(exc.problems)
            if isinstance(item, CsvItem):
                problems = [item.locate(p) for p in problems]
            raw_id = raw_id or next((p.record for p in problems if p.record), None)
        else:
            return _checked(q, incident, result, warnings, settings)
    ps = settings.pseudonymiser
    if ps is not None and raw_id is not None:
        table = ps.ids(raw_id, records, disclosures, victims)
        problems = [
            replace(p, message=scrub(p.message, table), record=table.get(p.record or "", p.record)) for p in problems
        ]
        raw_id = table[raw_id]
    elif ps is not None:
        problems = [replace(p, record=None) for p in problems]
    return Outcome(q.index, item.where, raw_id, problems=tuple(problems))


def _checked(q: Queued, incident: Incident, result: Result, warnings: list[str], settings: Settings) -> Outcome:
    rid = incident.incident_id
    ps = settings.pseudonymiser
    table: dict[str, str] = {}
    if ps is not None:
        table = ps.ids(
            rid,
            [r.record_id for r in incident.records],
            [d.disclosure_id for d in incident.disclosures],
            [v.victim_id for v in incident.victims],
        )

    def pid(value: str | None) -> str | None:
        return table.get(value, value) if value is not None and table else value

    def text(value: str) -> str:
        return scrub(value, table) if table else value

    log = incident.narrative if not settings.include_narrative else None

    wrong = {f.disclosure_id for f in result.findings if f.area in RECORDING_AREAS and f.disclosure_id}
    broken = {f.record_id for f in result.findings if f.area == "cancellation" and f.outcome == "breach"}
    window = settings.window_s
    findings = tuple(
        FindingRow(
            incident_id=pid(rid) or rid,
            record_id=pid(f.record_id),
            disclosure_id=pid(f.disclosure_id),
            victim_id=pid(f.victim_id),
            rule_id=f.rule_id,
            title=f.title,
            area=f.area,
            outcome=f.outcome,
            subject=pid(f.subject) or f.subject,
            message=text(withhold(f.message, f.facts, log) if log else f.message),
            source_document=f.source.get("document"),
            source_section=f.source.get("section"),
            source_edition=f.source.get("edition"),
        )
        for f in result.findings
    )
    decisions = []
    units = []
    for d in result.decisions:
        due = d.decision in ("crime", "n100")
        elapsed = d.first_elapsed_s
        timely = "" if elapsed is None and not due else "not recorded" if elapsed is None else _yes(elapsed <= window)
        crime = d.decision == "crime" and d.group != "fraud"
        correct = d.crime_record_made and d.disclosure_id not in wrong
        decisions.append(
            DecisionRow(
                incident_id=pid(rid) or rid,
                disclosure_id=pid(d.disclosure_id) or d.disclosure_id,
                offence=d.offence,
                offence_name=d.offence_name,
                group=d.group,
                decision=d.decision,
                expected_code=d.expected_code,
                reason=d.reason,
                recorded="; ".join(_recorded(r, table) for r in d.recorded),
                crime_record_made=d.crime_record_made,
                n100_recorded=d.n100_recorded,
                first_elapsed_s=elapsed,
                timely=timely,
                correctly_recorded=_yes(correct) if crime else "",
                deadline=d.deadline,
            )
        )
        units.append(
            Unit(
                d.group,
                d.subgroup,
                d.decision,
                d.crime_record_made,
                d.n100_recorded,
                elapsed,
                d.disclosure_id in wrong,
            )
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
    return Outcome(
        index=q.index,
        where=q.item.where,
        incident_id=pid(rid),
        period=incident.reported_at.astimezone(LONDON).strftime("%Y-%m"),
        findings=findings,
        decisions=tuple(decisions),
        units=tuple(units),
        cancels=cancels,
        asb_personal="asb_personal" in qualifiers,
        safeguarding=bool(qualifiers & SAFEGUARDING_QUALIFIERS) or result.reporter == "professional",
        warnings=tuple(text(w) for w in warnings),
        narrative=incident.narrative if settings.include_narrative else None,
    )


WITHHELD = "[log text withheld]"
_QUOTED = re.compile(r'"([^"]{3,})"')


def withhold(message: str, facts: dict[str, dict[str, Any]], narrative: str) -> str:
    """A message with every piece of the incident log it quotes replaced, for reports without narratives.

    A rule may quote the log (the narrative screen quotes the phrase and sentence it found). Any
    text value of the finding's facts, and any quoted span of the message, that occurs in the
    narrative is withheld; withholding too much is safe, quoting a victim's words is not.
    """
    # what the narrative screen quotes, exactly; then any several words of the log (never a code,
    # id or family name) that another rule may have carried into its message
    pieces = {str(f[k]) for f in facts.values() if f.get("kind") == "mention" for k in ("phrase", "sentence") if k in f}
    pieces |= {
        v for fact in facts.values() for v in fact.values() if isinstance(v, str) and " " in v and v in narrative
    }
    pieces.update(q for m in _QUOTED.finditer(message) if " " in (q := m.group(1)) and q in narrative)
    for piece in sorted(pieces, key=len, reverse=True):
        message = message.replace(piece, WITHHELD)
    return message


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _recorded(text: str, table: dict[str, str]) -> str:
    """`CRN-1 8N cancelled` with the record id pseudonymised when asked."""
    if not table:
        return text
    head, _, rest = text.partition(" ")
    return f"{table.get(head, head)} {rest}".strip()


# ------------------------------------------------------------------------------------------------
# Merging: counts only
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Worst:
    """An incident to fix, with the counts that rank it."""

    incident_id: str
    where: str
    period: str
    breaches: int
    risks: int
    reviews: int
    findings: tuple[FindingRow, ...]
    narrative: str | None = None

    def rank(self) -> tuple[int, int, int, str, str]:
        """Breaches first, then risks, then reviews; ties by id, so the list is the same every run."""
        return (-self.breaches, -self.risks, -self.reviews, self.incident_id, self.where)


@dataclass
class Tally:
    """Counts from outcomes, merged by addition; the lists it keeps are bounded and totally ordered."""

    window_s: int = 86400  # the recording window timeliness is judged against
    audited: int = 0
    checked: int = 0
    rejected: int = 0
    warnings: int = 0
    measures: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (period, measure, n|x)
    counts: Counter[str] = field(default_factory=Counter)
    worst: list[Worst] = field(default_factory=list)
    warning_examples: list[tuple[int, str]] = field(default_factory=list)
    rejected_examples: list[tuple[int, str, str | None, str]] = field(default_factory=list)
    top: int = TOP_INCIDENTS

    def _hit(self, period: str, key: str, ok: bool) -> None:
        for p in ("", period):
            self.measures[(p, key, "n")] += 1
            if ok:
                self.measures[(p, key, "x")] += 1

    def add(self, o: Outcome) -> None:
        """Count one outcome."""
        self.audited += 1
        if o.rejected:
            self.rejected += 1
            if len(self.rejected_examples) < EXAMPLES:
                first = o.problems[0]
                self.rejected_examples.append((o.index, o.where, o.incident_id, _problem_text(first)))
            return
        self.checked += 1
        self.warnings += len(o.warnings)
        for w in o.warnings[: max(EXAMPLES - len(self.warning_examples), 0)]:
            self.warning_examples.append((o.index, w))
        c = self.counts
        c[f"period.{o.period}"] += 1
        c["findings"] += len(o.findings)
        c["decisions"] += len(o.decisions)
        for f in o.findings:
            c[f"outcome.{f.outcome}"] += 1
            c[f"area.{f.area}"] += 1
            c[f"rule.{f.rule_id}"] += 1
        kinds = {f.outcome for f in o.findings}
        for kind in kinds:
            c[f"incidents_with.{kind}"] += 1
        if kinds:
            c["incidents_with.any"] += 1
        p = o.period
        for u in o.units:
            if u.decision == "crime" and u.group != "fraud":
                ok = u.crime_record_made and not u.wrong
                self._hit(p, "recording.all_crime", ok)
                if u.group == "violence_against_the_person":
                    self._hit(p, "recording.violence_against_the_person", ok)
                if u.group == "sexual_offences":
                    self._hit(p, "recording.sexual_offences", ok)
                if u.subgroup == "rape":
                    self._hit(p, "recording.rape", ok)
                if o.asb_personal:
                    self._hit(p, "recording.asb_personal", ok)
                if o.safeguarding:
                    self._hit(p, "recording.safeguarding", ok)
            if u.first_elapsed_s is not None:
                self._hit(p, "timeliness.within_window", u.first_elapsed_s <= self.window_s)
                bucket = next((name for name, limit in BUCKETS if u.first_elapsed_s <= limit), LONGER)
                c[f"elapsed.{bucket}"] += 1
            if u.subgroup == "rape":
                if u.n100_recorded:
                    self._hit(p, "n100.correct", u.decision == "n100")
                    self._hit(p, "n100.should_have_been_crime", u.decision == "crime" and not u.crime_record_made)
                if u.decision in ("crime", "n100"):
                    self._hit(p, "n100.missing", u.first_elapsed_s is None)
        for k in o.cancels:
            self._hit(p, "cancellation.correct", k.correct)
            self._hit(p, f"cancellation.correct.{k.category}", k.correct)
            self._hit(p, "cancellation.victim_informed", k.victim_informed is True)
        if o.findings:
            self._offer(
                Worst(
                    o.incident_id or "",
                    o.where,
                    o.period,
                    sum(f.outcome == "breach" for f in o.findings),
                    sum(f.outcome == "risk" for f in o.findings),
                    sum(f.outcome == "needs_review" for f in o.findings),
                    o.findings,
                    o.narrative,
                )
            )

    def _offer(self, w: Worst) -> None:
        self.worst.append(w)
        if len(self.worst) > 2 * self.top:
            self.worst = heapq.nsmallest(self.top, self.worst, key=Worst.rank)

    def merge(self, other: Tally) -> None:
        """Add another tally's counts (for tallies of chunks checked elsewhere)."""
        if other.window_s != self.window_s:
            raise ValueError("tallies judged against different recording windows cannot be merged")
        self.audited += other.audited
        self.checked += other.checked
        self.rejected += other.rejected
        self.warnings += other.warnings
        self.measures.update(other.measures)
        self.counts.update(other.counts)
        self.worst = heapq.nsmallest(self.top, self.worst + other.worst, key=Worst.rank)
        self.warning_examples = sorted(self.warning_examples + other.warning_examples)[:EXAMPLES]
        self.rejected_examples = sorted(self.rejected_examples + other.rejected_examples, key=lambda r: r[0])[:EXAMPLES]

    def incidents_to_fix(self) -> list[Worst]:
        """The incidents with the most serious findings, breaches first."""
        return heapq.nsmallest(self.top, self.worst, key=Worst.rank)

    def periods(self) -> list[str]:
        """The calendar months (Europe/London) the checked incidents were reported in."""
        return sorted(k[len("period.") :] for k in self.counts if k.startswith("period."))

    def balance(self) -> None:
        """Refuse to report when an item was neither checked nor rejected."""
        if self.checked + self.rejected != self.audited:
            raise RuntimeError(
                f"counts do not add up: {self.checked} checked + {self.rejected} rejected != {self.audited} audited"
            )


def _problem_text(p: Problem) -> str:
    return f"{p.field}: {p.message}" if p.field else p.message


# ------------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureOptions:
    """How intervals are computed."""

    method: Literal["wilson", "normal"] = "wilson"
    confidence: float = 0.95
    # incidents in the population per incident audited (--population / audited), for the FPC
    scale: float | None = None


def figure(x: int, n: int, m: Measure, opts: FigureOptions) -> dict[str, Any]:
    """One figure as summary.json gives it: counts, rate, interval, method and the inspectorate text."""
    population = None
    if opts.scale is not None and n:
        # the figure's own population, estimated at the audit's sampling fraction
        population = max(n, round(n * opts.scale))
    iv: Interval = proportion_interval(x, n, method=opts.method, confidence=opts.confidence, population=population)
    return {
        "label": m.label,
        "numerator": x,
        "denominator": n,
        "rate": iv.estimate if n else None,
        "low": iv.low if n else None,
        "high": iv.high if n else None,
        "half_width_points": round(iv.half_width * 100, 4) if n else None,
        "method": opts.method,
        "confidence": opts.confidence,
        "population": population,
        "text": iv.inspectorate_text(),
        "better": m.better,
        "definition": m.definition,
    }


def figures_for(tally: Tally, period: str, window_s: int, opts: FigureOptions) -> dict[str, dict[str, Any]]:
    """Every figure for one period ("" for the whole batch); categories nobody used are left out."""
    out: dict[str, dict[str, Any]] = {}
    for m in measures(window_s):
        n = tally.measures[(period, m.key, "n")]
        if m.key.startswith("cancellation.correct.") and n == 0:
            continue
        out[m.key] = figure(tally.measures[(period, m.key, "x")], n, m, opts)
    return out


def unrecorded(all_crime: dict[str, Any], recorded_per_year: int) -> dict[str, Any]:
    """Crimes a year not recorded, from the all-crime rate and its interval (stats.unrecorded_estimate)."""
    rate, low, high = all_crime["rate"], all_crime["low"], all_crime["high"]
    out: dict[str, Any] = {
        "recorded_per_year": recorded_per_year,
        "rate": rate,
        "method": "recorded_per_year x (1 - rate) / rate, rounded half up (checker.stats.unrecorded_estimate)",
    }
    if not rate:
        out.update(unrecorded_per_year=None, low=None, high=None, text="no estimate: no crime was recorded correctly")
        return out
    estimate = unrecorded_estimate(rate, recorded_per_year)
    fewest = unrecorded_estimate(high, recorded_per_year)
    most = unrecorded_estimate(low, recorded_per_year) if low > 0 else None
    out.update(
        unrecorded_per_year=estimate,
        low=fewest,
        high=most,
        text=f"an estimated {estimate:,} crimes a year not recorded"
        + (f" (between {fewest:,} and {most:,})" if most is not None else ""),
    )
    return out


# ------------------------------------------------------------------------------------------------
# Reading: duplicates and sampling
# ------------------------------------------------------------------------------------------------


class SeenIds:
    """Incident ids seen so far, 8 bytes each: a sorted array of 64-bit hashes plus a small buffer.

    Two different ids share a hash with odds of about n^2 / 2^65 (1 in 37 million for a million
    incidents); the cost of that would be one incident wrongly rejected as a duplicate, named as such.
    """

    _BUFFER = 1 << 16

    def __init__(self) -> None:
        self._sorted = array("Q")
        self._recent: set[int] = set()

    def add(self, incident_id: str) -> bool:
        """Record an id; True when it was seen before."""
        h = int.from_bytes(blake2b(incident_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")
        if h in self._recent:
            return True
        i = bisect_left(self._sorted, h)
        if i < len(self._sorted) and self._sorted[i] == h:
            return True
        self._recent.add(h)
        if len(self._recent) >= self._BUFFER:
            # merged by streaming both sorted runs, so the peak is two arrays, never a list of ints
            self._sorted = array("Q", heapq.merge(self._sorted, sorted(self._recent)))
            self._recent.clear()
        return False


def queue(items: Iterable[Item]) -> Iterator[Queued]:
    """Number the items and mark every repeat of an incident id as a duplicate."""
    seen = SeenIds()
    for index, item in enumerate(items):
        data = item.data
        rid = data.get("incident_id") if isinstance(data, dict) else None
        duplicate = isinstance(rid, str) and seen.add(rid)
        yield Queued(index, item, duplicate)


def reservoir(stream: Iterable[Queued], size: int, seed: int) -> tuple[list[Queued], int]:
    """A simple random sample of `size` items (algorithm R), in input order, and how many were read."""
    rng = random.Random(seed)
    sample: list[Queued] = []
    read = 0
    for q in stream:
        read += 1
        if len(sample) < size:
            sample.append(q)
        else:
            j = rng.randrange(read)
            if j < size:
                sample[j] = q
    sample.sort(key=lambda q: q.index)
    return sample, read


def chunks(stream: Iterable[Queued], size: int = CHUNK) -> Iterator[list[Queued]]:
    """Consecutive chunks of a stream."""
    it = iter(stream)
    while chunk := list(islice(it, size)):
        yield chunk


# ------------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------------


def _usage(message: str) -> CheckerError:
    return CheckerError([Problem(message)])


# --- worker processes ---------------------------------------------------------------------------
# durable-rules is not thread-safe and never releases the GIL, so the checking scales with
# processes: each builds its own rule set and engine once, then checks the chunks it is sent.
_WORKER: tuple[Checker, Settings] | None = None


def _start_worker(rules: Path, reference: Path | None, evaluator: str, settings: Settings) -> None:
    global _WORKER
    _WORKER = (Checker(load_rules(rules, reference), evaluator=evaluator), settings)  # type: ignore[arg-type]


def _work(chunk: list[Queued]) -> list[Outcome]:
    assert _WORKER is not None, "worker not started"
    return check_chunk(_WORKER[0], chunk, _WORKER[1])


def checked_chunks(
    batches: Iterable[list[Queued]], workers: int, ruleset: RuleSet, evaluator: str, settings: Settings
) -> Iterator[tuple[int, list[Outcome]]]:
    """(chunk size, outcomes) for each chunk, in input order, checked here or by worker processes.

    At most two chunks per worker are in flight, so memory does not grow with the batch (a plain
    Pool.imap would read the whole input ahead); results are taken back in the order they were
    sent, so the report is the same whatever the number of workers."""
    if workers <= 1:
        checker = Checker(ruleset, evaluator=evaluator)  # type: ignore[arg-type]
        for chunk in batches:
            yield len(chunk), check_chunk(checker, chunk, settings)
        return
    import multiprocessing
    from collections import deque

    ctx = multiprocessing.get_context("spawn")
    reference = ruleset.reference.directory
    with ctx.Pool(workers, _start_worker, (ruleset.directory, reference, evaluator, settings)) as pool:
        pending: deque[tuple[int, Any]] = deque()
        for chunk in batches:
            pending.append((len(chunk), pool.apply_async(_work, (chunk,))))
            if len(pending) >= 2 * workers:
                size, result = pending.popleft()
                yield size, result.get()
        while pending:
            size, result = pending.popleft()
            yield size, result.get()


def run_audit(args: argparse.Namespace, out: TextIO) -> int:
    """`crimecheck audit`: check a batch and write summary.json, the CSVs and report.html to --out."""
    from checker.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, FAIL_ON
    from checker.progress import Progress, count_lines
    from checker.report import ReportWriter, build_summary

    try:
        as_of = parse_time(args.as_of, args.timezone) if args.as_of else utc_now()
    except ValueError as exc:
        raise _usage(f"--as-of: {exc}") from None
    if args.sample is not None and args.sample < 1:
        raise _usage("--sample: give the number of incidents to sample (1 or more)")
    if args.population is not None and args.population < 1:
        raise _usage("--population: give the number of incidents in the population (1 or more)")
    if args.recorded_per_year is not None and args.recorded_per_year < 0:
        raise _usage("--recorded-per-year must not be negative")
    if not 0.5 <= args.confidence < 1:
        raise _usage("--confidence is a level such as 0.95")
    if args.pseudonymise and args.include_narrative:
        raise _usage("--include-narrative cannot be combined with --pseudonymise: narratives name people")
    mapped = args.mapping is not None
    if not mapped and (args.records or args.disclosures):
        raise _usage("--records and --disclosures need --mapping: they are CSV files")
    if mapped and len(args.files) != 1:
        raise _usage("with --mapping, give one incidents CSV file (and the records file with --records)")
    missing = [f for f in (*args.files, args.records, args.disclosures) if f and f != "-" and not os.path.exists(f)]
    if missing:
        raise CheckerError([Problem("no such file", file=str(f)) for f in missing])
    if not mapped:
        csvs = [f for f in args.files if str(f).lower().endswith(".csv")]
        if csvs:
            raise _usage(f"{csvs[0]} is a CSV file: give --mapping FILE to say how its columns map to the contract")
    pseudonymiser = None
    if args.pseudonymise:
        from checker.pseudonym import load_key

        pseudonymiser = Pseudonymiser(load_key(args.key_file))

    from checker.commands import load_ruleset

    ruleset = load_ruleset(args)
    window_s = duration_seconds(ruleset.reference.param("recording_window"))
    assert window_s is not None  # load_reference refuses a settings file without one
    settings = Settings(as_of, window_s, args.timezone, args.include_narrative, pseudonymiser)
    items: Iterable[Item]
    if mapped:
        from checker.mapping import load_mapping, read_csv_items

        mapping = load_mapping(Path(args.mapping))
        # opened here, before the report directory is touched: a missing column stops the run
        csv_items = read_csv_items(
            mapping,
            Path(args.files[0]),
            Path(args.records) if args.records else None,
            Path(args.disclosures) if args.disclosures else None,
        )
        first = next(csv_items, None)
        items = chain([first] if first is not None else [], csv_items)
    else:
        from checker.reader import read_items

        items = chain.from_iterable(read_items(f) for f in args.files)

    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise _usage("--workers: give 1 or more")
    show = not args.quiet and sys.stderr.isatty()
    total = None
    if show and args.files[0] != "-":
        total = sum(count_lines(str(f)) or 0 for f in args.files) - (1 if mapped else 0)
    progress = Progress(sys.stderr, show, "reading" if args.sample else "auditing", total or None)
    tally = Tally(window_s=window_s)
    writer = ReportWriter(Path(args.out), include_narrative=args.include_narrative)
    read = 0
    try:
        stream = queue(items)
        if args.sample is not None:

            def counted(s: Iterable[Queued]) -> Iterator[Queued]:
                for q in s:
                    progress.advance()
                    yield q

            todo, read = reservoir(counted(stream), args.sample, args.seed)
            progress.phase("checking the sample", len(todo))
            batches: Iterable[list[Queued]] = chunks(todo)
        else:
            batches = chunks(stream)
        for size, outcomes in checked_chunks(batches, workers, ruleset, args.evaluator, settings):
            for o in outcomes:
                writer.write(o)
                tally.add(o)
            progress.advance(size)
        progress.finish()
        if args.sample is None:
            read = tally.audited
        tally.balance()
        summary = build_summary(args, ruleset, tally, settings, read)
        writer.commit(summary, tally)
    except BaseException:
        writer.abort()
        raise
    counts = summary["counts"]
    headline = summary["figures"]["recording.all_crime"]
    print(
        f"{counts['read']:,} read, {counts['audited']:,} audited, {counts['checked']:,} checked, "
        f"{counts['rejected']:,} rejected; findings: {counts['findings']:,}; "
        f"recording rate {headline['text']}; report written to {args.out}",
        file=out,
    )
    if args.fail_on is None:
        return EXIT_OK
    if tally.rejected:
        return EXIT_ERROR
    failing = FAIL_ON[args.fail_on]
    return EXIT_FINDINGS if any(tally.counts[f"outcome.{o}"] for o in failing) else EXIT_OK
