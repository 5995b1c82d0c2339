"""Rendering results for people: grouped by incident, coloured on a terminal, wrapped to 100 columns."""

from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from checker.check.checker import Finding, Result
from checker.core.times import human_duration, human_time

if TYPE_CHECKING:
    from checker.check.exceptions import Excepted

WIDTH = 100  # wrap messages for a terminal; JSON output is for machines
_COLOURS = {"breach": "31", "risk": "33", "needs_review": "36", "dim": "2", "bold": "1", "ok": "32"}
_DECISION = {"crime": "record a crime", "n100": "record an N100", "no_crime": "no crime", "review": "review"}


class Paint:
    """ANSI colour when writing to a terminal, nothing when piped."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        return f"\x1b[{_COLOURS[style]}m{text}\x1b[0m" if self.enabled else text


def human_result(result: Result, paint: Paint, as_of: datetime, zone: tzinfo, explain: bool = False) -> list[str]:
    """One incident's decisions and findings, as a supervisor reads them."""
    out = [
        paint(f"{result.incident_id}", "bold")
        + paint(f"  (judged at {human_time(as_of.isoformat(), as_of, zone)})", "dim")
    ]
    for d in result.decisions:
        what = "refer to Action Fraud (no force crime)" if d.reason == "action_fraud" else _DECISION[d.decision]
        if d.decision == "crime":
            what += f" ({d.expected_code})"
        due = datetime.fromisoformat(d.deadline.replace("Z", "+00:00"))
        if d.decision in ("crime", "n100"):
            if d.recorded:
                what += f"; recorded as {', '.join(d.recorded)}"
            else:
                left = int((due - as_of).total_seconds())
                when = human_time(d.deadline, as_of, zone)
                what += f" by {when} (due in {human_duration(left)})" if left > 0 else f", overdue since {when}"
        elif d.decision == "review" and not d.recorded:
            what += f" by {human_time(d.deadline, as_of, zone)}"
        elif d.recorded:
            what += f"; recorded as {', '.join(d.recorded)}"
        out.append(f"  {d.disclosure_id} {d.offence_name} ({d.offence}) -> {what}")
        out.append(paint(f"      because {d.reason_text}", "dim"))
    if not result.findings:
        out.append("  " + paint("no findings", "ok"))
    for f in result.findings:
        out.extend(_human_finding(f, paint, explain))
    return out


# How sure a finding's source is, in words: the brief's tags ([S-weak], [M]) are internal.
SOURCE_WORDS = {
    "S-weak": "; from a secondary source",
    "M": "; unverified: check it against the force's own copy of the rules",
    "D": "; derived from the rules",
}


def _human_finding(f: Finding, paint: Paint, explain: bool) -> list[str]:
    label = f"{f.outcome:<12}"
    lines = [
        f"  {paint(f.rule_id, 'bold')} {paint(label, f.outcome)} {f.area:<14} {f.subject}  {f.title}",
        *textwrap.wrap(f.message, WIDTH, initial_indent="      ", subsequent_indent="      ", break_long_words=False),
        paint(
            f"      source: {f.source['document']}, {f.source['section']} ({f.source['edition']})"
            + SOURCE_WORDS.get(str(f.source.get("tag")), ""),
            "dim",
        ),
    ]
    if explain:
        for alias, fact in f.facts.items():
            shown = ", ".join(f"{k}={v}" for k, v in fact.items() if k not in ("kind", "reported_on"))
            lines.append(paint(f"      {alias} = {fact['kind']}: {shown}", "dim"))
    return lines


def human_excepted(e: Excepted, paint: Paint, as_of: datetime, zone: tzinfo) -> list[str]:
    """A finding an accepted exception holds back: which, who accepted it, until when and why."""
    until = human_time(e.entry.expires_at.isoformat(), as_of, zone)
    return [
        paint(f"  {e.finding.rule_id} excepted     {e.finding.subject}  {e.finding.title}", "dim"),
        paint(f"      accepted by the {e.entry.accepted_by_role} until {until}: ", "dim")
        + paint(e.entry.reason, "dim"),
    ]


@dataclass
class Totals:
    """What a check has read, checked and found, counted as it goes (no result is kept)."""

    checked: int = 0
    rejected: int = 0
    excepted: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)

    def add(self, result: Result, excepted: int = 0) -> None:
        """One checked incident, and how many of its findings an exception held back."""
        self.checked += 1
        self.excepted += excepted
        self.by_outcome.update(f.outcome for f in result.findings)


def human_totals(totals: Totals) -> str:
    """The closing line: what was read, checked and rejected, and the findings by outcome."""
    n = totals.by_outcome
    return (
        f"{totals.checked + totals.rejected} read, {totals.checked} checked, {totals.rejected} rejected; findings: "
        f"{n['breach']} breach, {n['risk']} risk, {n['needs_review']} needs review"
        + (f"; {totals.excepted} excepted" if totals.excepted else "")
    )
