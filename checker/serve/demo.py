"""The demo's incidents: the bundled samples moved to the present, each on a team and an area.

The samples are dated January 2025, so against today's clock every deadline would be long past.
The demo moves every time in an incident by the same amount, so that the moment the README checks
them at (12:00 UTC on 14 January 2025) becomes the moment the demo starts: the queue then shows
what a shift would see, some decisions due within hours and some overdue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

ANCHOR = datetime(2025, 1, 14, 12, 0, tzinfo=UTC)  # the README's --as-of for the samples
TEAMS = ("Response 1", "Response 2", "CID North")
AREAS = ("North", "South")


def shifted(data: dict[str, Any], now: datetime, index: int) -> dict[str, Any]:
    """A sample incident with its times moved by (now - ANCHOR), and a team and area by its position."""
    delta = now.replace(second=0, microsecond=0) - ANCHOR
    out = _move(data, delta)
    assert isinstance(out, dict)
    out.setdefault("team", TEAMS[index % len(TEAMS)])
    out.setdefault("area", AREAS[index % len(AREAS)])
    return out


def _move(value: Any, delta: timedelta, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _move(v, delta, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_move(v, delta, key) for v in value]
    if isinstance(value, str) and key.endswith("_at"):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment + delta).isoformat()
    return value
