"""Issue 15: validation skips the walk for unknown fields when the raw data holds only fields the
contract defines; the quick comparison must never hide a field the walk would report."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from checker.core.models import Incident, only_known_fields, unknown_fields
from checker.read.incidents import Item, validate

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "incidents"
BASE: dict[str, Any] = orjson.loads((FIX / "c2-cancelled-on-withdrawal.json").read_bytes())

# where in an incident a stray field can sit: every part that is a model of its own
_PLACES = [
    "",
    "victims.0",
    "suspects.0",
    "suspects.0.relationships.0",
    "disclosures.0",
    "records.0",
    "records.0.cancellation",
]


def _at(data: dict[str, Any], place: str) -> dict[str, Any] | None:
    node: Any = data
    for step in filter(None, place.split(".")):
        try:
            node = node[int(step)] if step.isdigit() else node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node if isinstance(node, dict) else None


def _full() -> dict[str, Any]:
    """The fixture with every part present, so that every place exists."""
    data = copy.deepcopy(BASE)
    data.setdefault("suspects", [{"suspect_id": "S1"}])
    data["suspects"][0].setdefault("relationships", [{"victim_id": data["victims"][0]["victim_id"]}])
    data["records"][0].setdefault("cancellation", {"category": "C1"})
    return data


@given(st.lists(st.tuples(st.sampled_from(_PLACES), st.sampled_from(["note", "Narrative", "x_extra", "victim_id"]))))
@example([("records.0.cancellation", "note")])
@example([("suspects.0.relationships.0", "x_extra")])
def test_the_quick_comparison_agrees_with_the_walk(strays: list[tuple[str, str]]) -> None:
    data = _full()
    for place, name in strays:
        node = _at(data, place)
        assert node is not None, place
        node.setdefault(name, "1")
    incident = Incident.model_validate(data, context={"timezone": None})
    walked = unknown_fields(incident)
    assert only_known_fields(data) is (walked == [])
    # and the validation that uses it warns exactly as the walk says
    warnings = validate(Item("f.jsonl", 1, 0, data=data))[1]
    assert len(warnings) == len(walked)


def test_parts_that_are_not_objects_are_left_to_the_walk() -> None:
    assert not only_known_fields([])
    assert not only_known_fields({**_full(), "victims": ["not an object"]})
    assert only_known_fields(_full())


def test_fixtures_agree() -> None:
    for path in sorted(FIX.glob("*.json")):
        data = orjson.loads(path.read_bytes())
        incident = Incident.model_validate(data, context={"timezone": None})
        assert only_known_fields(data) is (unknown_fields(incident) == []), path.name
