"""Times: reading --as-of, now, and saying how long or when for a person (Europe/London by default)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
LIVE_S = 900  # an --as-of within 15 minutes of the clock is "now": relative words are added
# Times outside these years are typing or export errors; refusing them also keeps the UTC
# arithmetic of deadlines clear of the ends of the calendar (year 1 and 9999 overflow).
FIRST_YEAR = 1900
LAST_YEAR = 2199


def in_range(value: datetime) -> datetime:
    """Refuse a time outside FIRST_YEAR to LAST_YEAR, before any arithmetic can overflow on it."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} is outside {FIRST_YEAR}-{LAST_YEAR}; check the date")
    return value


def local_time(value: datetime, zone: tzinfo) -> datetime:
    """A naive wall-clock time read in `zone`; a time the clocks skipped is refused, not guessed."""
    aware = value.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        raise ValueError(
            f"{value.isoformat()} did not happen in {zone}: the clocks went forward over it; "
            "write the time with its UTC offset"
        )
    return aware


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
    value = in_range(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    if value.tzinfo is None:
        if zone is None:
            raise ValueError(f"{text!r} has no UTC offset; write e.g. 2025-01-03T15:00:00+00:00")
        value = local_time(value, zone)
    return value


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
