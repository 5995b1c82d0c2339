"""Reading incidents: formats, encodings and the located errors of bad input."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from checker.core.errors import InputError
from checker.read.incidents import read_items, validate

ROOT = Path(__file__).resolve().parent.parent
GOOD = json.loads((ROOT / "fixtures" / "incidents" / "compliant-harassment-recorded.json").read_text())


def _write(tmp_path: Path, data: bytes, name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _line(obj: Mapping[str, object]) -> bytes:
    return json.dumps(obj).encode()


def test_single_object_array_and_lines(tmp_path: Path) -> None:
    one = _write(tmp_path, json.dumps(GOOD, indent=2).encode(), "one.json")
    assert [i.data["incident_id"] for i in read_items(one)] == [GOOD["incident_id"]]
    arr = _write(tmp_path, json.dumps([GOOD, {**GOOD, "incident_id": "B"}]).encode(), "arr.json")
    assert [i.data["incident_id"] for i in read_items(arr)] == [GOOD["incident_id"], "B"]
    lines = _write(tmp_path, _line(GOOD) + b"\r\n" + _line({**GOOD, "incident_id": "B"}) + b"\r\n")
    assert [(i.line, i.data["incident_id"]) for i in read_items(lines)] == [(1, GOOD["incident_id"]), (2, "B")]


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbf" + _line(GOOD) + b"\n")
    [item] = list(read_items(path))
    assert item.problem is None


def test_one_broken_line_among_good_ones(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _line(GOOD) + b"\n" + b'{"incident_id": "X", "reported' + b"\n" + _line({**GOOD, "incident_id": "C"}) + b"\n",
    )
    items = list(read_items(path))
    assert [i.problem is None for i in items] == [True, False, True]
    assert str(items[1].problem).startswith(f"{path}:2: incident X: invalid JSON")


def test_latin1_line(tmp_path: Path) -> None:
    bad = _line({**GOOD, "incident_id": "L"}).replace(b"Caller", "Caf\u00e9".encode("latin-1"))
    path = _write(tmp_path, _line(GOOD) + b"\n" + bad + b"\n")
    items = list(read_items(path))
    assert items[1].problem is not None and "not UTF-8" in str(items[1].problem) and ":2:" in str(items[1].problem)


def test_empty_file(tmp_path: Path) -> None:
    [item] = list(read_items(_write(tmp_path, b"\n\n", "empty.json")))
    assert item.problem is not None and "empty" in item.problem.message


def test_missing_field_named(tmp_path: Path) -> None:
    data = {k: v for k, v in GOOD.items() if k != "reported_at"}
    [item] = list(read_items(_write(tmp_path, _line(data) + b"\n")))
    with pytest.raises(InputError) as info:
        validate(item)
    assert str(info.value) == f"{item.source}:1: incident {GOOD['incident_id']}: reported_at: required field is missing"


def test_naive_time_refused_or_read_in_zone(tmp_path: Path) -> None:
    data = {"incident_id": "N-1", "reported_at": "2025-07-02T14:22:00"}
    [item] = list(read_items(_write(tmp_path, _line(data) + b"\n")))
    with pytest.raises(InputError, match="reported_at: time has no UTC offset"):
        validate(item)
    incident, _ = validate(item, ZoneInfo("Europe/London"))
    assert incident.reported_at.utcoffset().total_seconds() == 3600  # type: ignore[union-attr]


def test_impossible_date_and_bad_age(tmp_path: Path) -> None:
    data = {**GOOD, "reported_at": "2025-02-30T10:00:00+00:00"}
    data["victims"] = [{**GOOD["victims"][0], "age": 200}]
    [item] = list(read_items(_write(tmp_path, _line(data) + b"\n")))
    with pytest.raises(InputError) as info:
        validate(item)
    fields = {p.field for p in info.value.problems}
    assert fields == {"reported_at", "victims[0].age"}


def test_broken_reference_and_duplicate_record(tmp_path: Path) -> None:
    data = json.loads(json.dumps(GOOD))
    data["records"].append(dict(data["records"][0]))
    data["records"][0]["disclosure_ids"] = ["D9"]
    [item] = list(read_items(_write(tmp_path, _line(data) + b"\n")))
    with pytest.raises(InputError) as info:
        validate(item)
    fields = sorted(p.field or "" for p in info.value.problems)
    assert fields == ["records[0].disclosure_ids[0]", "records[1].record_id"]


def test_unknown_field_warns(tmp_path: Path) -> None:
    data = {**GOOD, "officer_collar": "1234"}
    [item] = list(read_items(_write(tmp_path, _line(data) + b"\n")))
    _, warnings = validate(item)
    assert warnings and "officer_collar: unknown field" in warnings[0]


def test_array_where_object_expected(tmp_path: Path) -> None:
    path = _write(tmp_path, b"[[1, 2]]", "arr.json")
    [item] = list(read_items(path))
    with pytest.raises(InputError, match="expected an incident object, got a JSON array"):
        validate(item)
