"""Times as the audit's report files show them, worked out once per instant: UK local time with its
offset as text (the CSV files, as the messages give it) and as a spreadsheet's date-time serial
number (report.xlsx), so that neither is made from the other."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from checker.core.times import LONDON

_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (1900 date system, past its leap-year bug)
_DAY_0 = _EPOCH.toordinal()


class UkTime(NamedTuple):
    """One moment in UK local time, in both forms the report writes."""

    text: str  # 2025-06-01T14:22:00+01:00, to the second
    serial: float | int  # the same wall-clock time (to the second) as Excel's serial number


def serial(wall: datetime) -> float | int:
    """Excel's serial number of a naive date-time: days since its day 0, whole days as an int."""
    delta = wall - _EPOCH
    if delta.seconds == 0 and delta.microseconds == 0:
        return delta.days
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


@lru_cache(maxsize=1024)  # an incident's times recur in each of its findings and decisions
def local_time(moment: datetime) -> UkTime:
    """A moment (with an offset) in UK local time (moments that are equal are the same instant, so
    they read the same in UK time)."""
    local = moment.astimezone(LONDON)
    # `serial` of the wall-clock time to the second, from its fields (a quarter of the time)
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    days = local.toordinal() - _DAY_0
    text = local.isoformat(timespec="seconds") if local.microsecond else local.isoformat()  # (the same; faster)
    return UkTime(text, days + seconds / 86400 if seconds else days)
