"""Merging outcomes: counts only, added up, so tallies of chunks merge in any grouping to the
same totals; the bounded lists kept are ordered by a total key."""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

from checker.audit.measures import BUCKETS, EXAMPLES, LONGER, TOP_INCIDENTS
from checker.audit.rows import ItemResult, Unit
from checker.check.checker import Finding
from checker.core.errors import Problem

_LIMITS = [limit for _, limit in BUCKETS]  # (ascending) the first a time is within names its bucket
_ELAPSED = [f"elapsed.{name}" for name in (*(name for name, _ in BUCKETS), LONGER)]
if sorted(_LIMITS) != _LIMITS:
    raise AssertionError("measures.BUCKETS must be in ascending order of their limits")


@dataclass(frozen=True)
class Worst:
    """An incident to fix, with the counts that rank it."""

    incident_id: str
    where: str
    period: str
    breaches: int
    risks: int
    reviews: int
    findings: tuple[Finding, ...]
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
    forces: Counter[str] = field(default_factory=Counter)
    # (breakdown, value, count): incidents, findings, breaches, and x/n of the all-crime recording rate
    breakdown: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def _hit(self, period: str, key: str, ok: bool) -> None:
        """Count one case of a measure, overall ("") and in its month; x: it was met."""
        m = self.measures
        m[("", key, "n")] += 1
        m[(period, key, "n")] += 1
        if ok:
            m[("", key, "x")] += 1
            m[(period, key, "x")] += 1

    def add(self, o: ItemResult) -> None:
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
        outcomes = [f.outcome for f in o.findings]
        breaches = outcomes.count("breach")
        if o.force:
            self.forces[o.force] += 1
        for name, value in o.groups:
            b = self.breakdown
            b[(name, value, "incidents")] += 1
            b[(name, value, "findings")] += len(o.findings)
            b[(name, value, "breaches")] += breaches
            for u in o.units:
                if u.decision == "crime" and u.group != "fraud":
                    b[(name, value, "n")] += 1
                    b[(name, value, "x")] += u.crime_record_made and not u.wrong
        c[f"period.{o.period}"] += 1
        c["findings"] += len(o.findings)
        c["decisions"] += len(o.decisions)
        for f in o.findings:
            c[f"outcome.{f.outcome}"] += 1
            c[f"area.{f.area}"] += 1
            c[f"rule.{f.rule_id}"] += 1
        c["excepted"] += len(o.excepted)
        for e in o.excepted:
            c[f"excepted.outcome.{e.finding.outcome}"] += 1
            c[f"excepted.rule.{e.finding.rule_id}"] += 1
        kinds = set(outcomes)
        for kind in kinds:
            c[f"incidents_with.{kind}"] += 1
        if kinds:
            c["incidents_with.any"] += 1
        for u in o.units:
            self._unit(o, u)
        p = o.period
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
                    breaches,
                    outcomes.count("risk"),
                    outcomes.count("needs_review"),
                    o.findings,
                    o.narrative,
                )
            )

    def _unit(self, o: ItemResult, u: Unit) -> None:
        """Count one disclosure's part in the recording, timeliness and N100 figures."""
        p = o.period
        c = self.counts
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
            c[_ELAPSED[bisect_left(_LIMITS, u.first_elapsed_s)]] += 1
        if u.subgroup == "rape":
            if u.n100_recorded:
                self._hit(p, "n100.correct", u.decision == "n100")
                self._hit(p, "n100.should_have_been_crime", u.decision == "crime" and not u.crime_record_made)
            if u.decision in ("crime", "n100"):
                self._hit(p, "n100.missing", u.first_elapsed_s is None)

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
        self.forces.update(other.forces)
        self.breakdown.update(other.breakdown)
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
