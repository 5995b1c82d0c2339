"""What the page shows, in plain words: countdowns, outcomes, decisions, queue counts, withheld log text.

Pure functions from the service's documents (the JSON of `crimecheck check --format json`) to what
a template prints; nothing here reads a request or the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from checker.audit.rows import WITHHELD
from checker.core.times import human_duration, human_time
from checker.rules.facts_schema import NARRATIVE_FIELDS
from checker.rules.loader import AREA_NAMES, OUTCOME_NAMES

SOON_S = 2 * 3600  # "due soon": within two hours, the last stretch of a shift
OUTCOME_WORDS = OUTCOME_NAMES
OUTCOME_ICONS = {"breach": "\u2716", "risk": "\u25b2", "needs_review": "?"}  # shown with the word, never alone
DECISION_WORDS = {
    "crime": "Record a crime",
    "n100": "Record an N100",
    "no_crime": "No crime to record",
    "review": "Decide: needs a person's review",
}
SUBJECT_WORDS = {
    "incident": "the incident",
    "victim": "a victim",
    "disclosure": "a disclosure",
    "record": "a record",
    "link": "a record",
    "mention": "a mention in the log",
}
AREA_WORDS = AREA_NAMES


@dataclass(frozen=True)
class Countdown:
    """How long until a deadline, for a person: words first, colour only as a second signal."""

    state: str  # overdue | soon | later | none
    text: str  # "due in 2 h 10 min", "overdue by 3 h"
    when: str  # "14:22 today"
    seconds: int | None


def countdown(deadline: str | None, now: datetime, zone: tzinfo) -> Countdown:
    """The countdown to a deadline (ISO 8601), judged at `now`."""
    if not deadline:
        return Countdown("none", "no deadline", "", None)
    due = datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    left = int((due - now).total_seconds())
    when = human_time(deadline, now, zone)
    if left < 0:
        return Countdown("overdue", f"overdue by {human_duration(-left)}", when, left)
    state = "soon" if left <= SOON_S else "later"
    return Countdown(state, f"due in {human_duration(left)}", when, left)


@dataclass
class QueueCounts:
    """The counts at the top of the queue."""

    total: int = 0
    overdue: int = 0
    soon: int = 0
    later: int = 0
    no_deadline: int = 0
    decisions: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOME_WORDS, 0))


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue: an open decision or a finding, with its countdown."""

    kind: str
    incident_id: str
    countdown: Countdown
    team: str | None
    area: str | None
    officer: str | None
    decision: dict[str, Any] | None
    finding: dict[str, Any] | None


def queue_rows(items: list[dict[str, Any]], now: datetime, zone: tzinfo) -> tuple[list[QueueRow], QueueCounts]:
    """The queue's rows (in the store's deadline order) and their counts."""
    rows: list[QueueRow] = []
    counts = QueueCounts()
    for item in items:
        c = countdown(item.get("deadline"), now, zone)
        row = QueueRow(
            kind=str(item["kind"]),
            incident_id=str(item["incident_id"]),
            countdown=c,
            team=item.get("team"),
            area=item.get("area"),
            officer=item.get("officer"),
            decision=item.get("decision"),
            finding=item.get("finding"),
        )
        rows.append(row)
        counts.total += 1
        if c.state == "overdue":
            counts.overdue += 1
        elif c.state == "soon":
            counts.soon += 1
        elif c.state == "later":
            counts.later += 1
        else:
            counts.no_deadline += 1
        if row.finding is not None:
            outcome = str(row.finding.get("outcome"))
            counts.outcomes[outcome] = counts.outcomes.get(outcome, 0) + 1
        else:
            counts.decisions += 1
    return rows, counts


def decision_text(d: dict[str, Any]) -> str:
    """`Record a crime (19C)`: what the rules require for a disclosure."""
    text = DECISION_WORDS.get(str(d["decision"]), str(d["decision"]))
    if d["decision"] == "crime" and d.get("expected_code"):
        text += f" ({d['expected_code']})"
    return text


def source_text(source: dict[str, Any]) -> str:
    """`Home Office Crime Recording Rules, Reported Incidents (N100), N100 (2024/25)`."""
    text = f"{source.get('document')}, {source.get('section')} ({source.get('edition')})"
    tag = source.get("tag")
    return text + (f" [{tag}]" if tag not in (None, "S") else "")


def log_mask(name: str, value: Any) -> Any:
    """How a message says a value it quotes to a role that may not read the log: the log's words withheld."""
    return WITHHELD if name in NARRATIVE_FIELDS else value


def log_pieces(facts: dict[str, dict[str, Any]]) -> list[str]:
    """The words of the log that a finding's facts carry (the phrase and sentence found), longest first."""
    found = {str(v) for fact in facts.values() for k, v in fact.items() if k in NARRATIVE_FIELDS and v}
    return sorted(found, key=len, reverse=True)


def without_log(text: str, pieces: list[str], narrative: str | None) -> str:
    """Text with the log's words withheld: each piece a finding carries, and any sentence of the log."""
    for piece in pieces:
        text = text.replace(piece, WITHHELD)
    for sentence in (s.strip() for s in (narrative or "").replace("\n", " ").split(".")):
        if len(sentence) > 12 and sentence in text:
            text = text.replace(sentence, WITHHELD)
    return text
