"""Times: reading --as-of, now, and saying how long or when for a person (Europe/London by default)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


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
    """`14:22 tomorrow` or `14:22 Fri 3 Jan 2025`, in the force's time zone."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone)
    days = (moment.date() - as_of.astimezone(zone).date()).days
    word = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(days)
    clock = moment.strftime("%H:%M")
    return f"{clock} {word}" if word else f"{clock} {moment.strftime('%a')} {moment.day} {moment.strftime('%b %Y')}"


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
