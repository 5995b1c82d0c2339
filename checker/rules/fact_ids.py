"""The ids facts carry into the rule engine: numbers the checker assigns, never the input's own ids.

durable-rules knows a fact by a 32-bit FNV-1a hash of its id's text and refuses a second fact
whose id hashes alike as "a fact seen twice". Ids made of user data ("victim:V0549599" and
"victim:V0712382") can be chosen to collide, and then a valid incident is refused. The numbers
from 10,000 to 99,999 cannot collide (tests/test_engine_faults.py checks every one), and being of
five digits, their text sorts as they do.
"""

from __future__ import annotations

from typing import Any

FIRST_FACT_ID = 10_000
MAX_FACTS = 40_000  # per incident; the record bounds keep an incident to a few thousand


def number(facts: list[dict[str, Any]], names: list[str]) -> None:
    """Give each fact its id, assigned in the order of the facts' names (made of the incident's own
    ids), so the ids, and whatever sorts by them, do not depend on the order of the input."""
    if len(facts) > MAX_FACTS:
        raise ValueError(f"{len(facts):,} facts in one incident; the engine takes at most {MAX_FACTS:,}")
    for rank, i in enumerate(sorted(range(len(facts)), key=names.__getitem__)):  # stable: ties keep their order
        facts[i]["id"] = FIRST_FACT_ID + rank


def check_id(fact: dict[str, Any]) -> None:
    """Refuse a fact whose id was not assigned by `number`: the engine could confuse it."""
    fid = fact.get("id")
    if not isinstance(fid, int) or isinstance(fid, bool) or not FIRST_FACT_ID <= fid < FIRST_FACT_ID + MAX_FACTS:
        last = FIRST_FACT_ID + MAX_FACTS - 1
        raise ValueError(f"fact id {fid!r} is not a number from {FIRST_FACT_ID} to {last} assigned by the checker")
