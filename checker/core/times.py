"""Times: reading --as-of, now, and saying how long or when for a person (Europe/London by default)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
LIVE_S = 900  # an --as-of within 15 minutes of the clock is "now": relative words are added


def human_duration(seconds: int) -> str:
    """`22 h 5 min`, `3 days 2 h`, `40 min`: how long, for a person."""
    seconds = abs(int(seconds))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min"


def human_time(iso: str, as_of: datetime, zone: tzinfo) -> str:
    """`14:22 Fri 3 Jan 2025`, in the force's time zone, always as an absolute date; when the check
    is judged at the present moment, `(tomorrow)` and the like are added. A check judged at a past
    --as-of never says "today", which would read as the day the report is read."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone)
    text = f"{moment.strftime('%H:%M')} {moment.strftime('%a')} {moment.day} {moment.strftime('%b %Y')}"
    if abs((utc_now() - as_of).total_seconds()) > LIVE_S:
        return text
    days = (moment.date() - as_of.astimezone(zone).date()).days
    word = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(days)
    return f"{text} ({word})" if word else text


def parse_time(text: str, zone: tzinfo | None = None) -> datetime:
    """An ISO 8601 time for --as-of; a naive one is read in `zone`, or refused without one."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        if zone is None:
            raise ValueError(f"{text!r} has no UTC offset; write e.g. 2025-01-03T15:00:00+00:00")
        value = value.replace(tzinfo=zone)
    return value


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
