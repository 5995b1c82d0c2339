"""Reading incidents: formats, encodings and the located errors of bad input."""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import checker.read.incidents as reader
from checker.cli.main import main
from checker.core.errors import InputError
from checker.read.incidents import CHUNK, DETECT_BYTES, read_items, validate

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


class _Counting(io.BytesIO):
    """A stream that records how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.taken += len(out)
        return out

    def readline(self, size: int | None = -1) -> bytes:
        out = super().readline(size)
        self.taken += len(out)
        return out


@pytest.mark.parametrize("separator", [b",", b",\n"], ids=["one-line", "one-per-line"])
def test_an_array_is_read_as_it_streams(separator: bytes) -> None:
    """The first element of a 30 MB array is given after reading about a chunk, not the file."""
    element = _line(GOOD)
    data = b"[" + separator.join([element] * (30_000_000 // len(element))) + b"]"
    stream = _Counting(data)
    items = read_items("big.json", stream)
    first = next(items)
    assert first.data["incident_id"] == GOOD["incident_id"]
    assert stream.taken <= 2 * CHUNK + DETECT_BYTES
    assert sum(1 for _ in items) + 1 == data.count(b'"schema_version"')


def test_a_broken_first_line_does_not_load_the_file() -> None:
    data = b'{"incident_id": "BAD-FIRST", "reported_at": \n' + (_line(GOOD) + b"\n") * 20_000
    stream = _Counting(data)
    items = read_items("broken.jsonl", stream)
    assert next(items).problem is not None
    assert next(items).data["incident_id"] == GOOD["incident_id"]
    assert stream.taken < 2 * len(_line(GOOD)) + 100


def test_an_incident_too_big_to_read_is_rejected_and_reading_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_ITEM_BYTES", 100_000)
    big = _line({**GOOD, "incident_id": "BIG", "narrative": "x" * 200_000})
    for data in (b"[" + big + b",\n" + _line(GOOD) + b"]", big + b"\n" + _line(GOOD) + b"\n"):
        first, second = read_items("big.json", io.BytesIO(data))
        assert first.problem is not None and first.line == 1
        assert (
            str(first.problem) == "big.json:1: incident BIG: an incident of more than 100,000 bytes of JSON; not read"
        )
        assert second.data == GOOD and second.line == 2


@pytest.mark.parametrize("as_array", [False, True], ids=["lines", "array"])
def test_a_fifo_is_read_once_without_hanging(tmp_path: Path, as_array: bool) -> None:
    """A named pipe (or `<(...)` process substitution) is read once, never reopened or sought in."""
    fifo = tmp_path / "incidents.fifo"
    os.mkfifo(fifo)
    lines = [_line({**GOOD, "incident_id": f"F-{i}"}) for i in range(3)]
    body = b"[" + b",\n".join(lines) + b"]\n" if as_array else b"".join(line + b"\n" for line in lines)

    def write() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(body)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", str(fifo), "--format", "json", "--as-of", "2025-01-05T00:00:00+00:00"], stdout=out)
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert json.loads(out.getvalue())["counts"]["checked"] == 3
    assert code == 0


BAD = Path(__file__).resolve().parent / "bad"


@pytest.mark.parametrize("path", sorted(BAD.glob("*.json*")), ids=lambda p: p.name)
def test_items_left_unparsed_parse_to_the_same_items(path: Path) -> None:
    """An audit's workers parse what the reader only cut (`parse=False`): the same items, data and
    located problems alike, whatever the file's shape (JSON Lines, arrays, documents, bad bytes)."""
    cut = list(read_items(path, parse=False))
    assert any(item.raw is not None for item in cut) or all(item.problem for item in cut)
    assert [item.parsed() for item in cut] == list(read_items(path))


def test_an_unparsed_item_keeps_its_column(tmp_path: Path) -> None:
    """A broken element of a one-line array is located at its own column once parsed."""
    path = _write(tmp_path, b'[{"incident_id": "A"}, {"incident_id": "B",}]', "in.json")
    parsed = [item.parsed() for item in read_items(path, parse=False)]
    assert parsed == list(read_items(path))
    assert parsed[1].problem is not None and "(column 43)" in parsed[1].problem.message


# --- values too big to keep, and input that never ends -------------------------------------------


def _big(n: int, incident_id: str) -> dict[str, object]:
    """An incident whose narrative holds n characters, escaped ones among them (quotes, backslashes)."""
    return {**GOOD, "incident_id": incident_id, "narrative": ('ab"c\\d' * (n // 6 + 1))[:n]}


@settings(max_examples=80, deadline=None)
@given(
    sizes=st.lists(st.sampled_from([0, 0, 2500, 9000]), min_size=1, max_size=6),
    chunk=st.integers(min_value=5, max_value=300),
    array=st.booleans(),
)
@example(sizes=[9000], chunk=5, array=False)  # shrunk: the string was held whole (12,318 bytes)
@example(sizes=[0, 9000, 0], chunk=7, array=True)
def test_values_too_big_are_read_through_wherever_the_chunks_fall(sizes: list[int], chunk: int, array: bool) -> None:
    """A value over the limit is rejected and the others read as they are, wherever the chunks fall
    (inside a string, inside an escape, between values); past the limit the reader holds a few
    chunks, not the value (a string of any length was held whole, and scanned again per chunk)."""
    docs = [_big(n, f"I-{i}") if n else {**GOOD, "incident_id": f"I-{i}"} for i, n in enumerate(sizes)]
    texts = [json.dumps(d, indent=None if array else 1).encode() for d in docs]
    data = b"[" + b",\n".join(texts) + b"]\n" if array else b"\n".join(texts) + b"\n"
    expected = list(read_items("in.json", io.BytesIO(data)))
    limit = 4000
    held = [0]
    more = reader._Cutter.more

    def watched(self: Any, pos: int) -> int:
        out = more(self, pos)
        held[0] = max(held[0], len(self.buf))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reader, "MAX_ITEM_BYTES", limit)
        mp.setattr(reader, "CHUNK", chunk)
        mp.setattr(reader, "DETECT_BYTES", 64)  # the file is read in chunks from its first line on
        mp.setattr(reader._Cutter, "more", watched)
        got = list(read_items("in.json", io.BytesIO(data)))
    assert [(i.line, i.index) for i in got] == [(i.line, i.index) for i in expected]
    for small, whole, text in zip(got, expected, texts, strict=True):
        if len(text) > limit:
            assert small.problem is not None and "more than 4,000 bytes" in small.problem.message
            assert small.problem.line == whole.line
        else:
            assert small.problem is None and small.data == whole.data
    assert held[0] <= limit + reader.LOOKAHEAD_LINES * 64 + 3 * chunk


@pytest.mark.parametrize(
    "data",
    [
        b"[" + b"0" * 3_000_000,  # a value with no structure at all (/dev/zero read as standard input)
        b'[{"narrative": "' + b"x" * 3_000_000,  # a string that never closes
        b'{"incident_id": "A"}\n{"incident_id": "LONG", "n": "' + b"x" * 3_000_000,  # a line that never ends
        b'[{"narrative": "a\\\n' + b"x" * 3_000_000 + b'"}, {"incident_id": "B"}]',  # stuck at \ and a line end
    ],
    ids=["no-structure", "open-string", "endless-line", "backslash-line-end"],
)
def test_input_that_runs_on_past_the_skip_limit_ends_the_reading(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """An item over the limit is read through to its end, and dropped; one that runs on past
    MAX_SKIP_BYTES ends the reading of its input with a rejection saying so (`check - < /dev/zero`
    read for ever). Memory stays at a few chunks meanwhile."""
    monkeypatch.setattr(reader, "MAX_ITEM_BYTES", 100_000)
    monkeypatch.setattr(reader, "MAX_SKIP_BYTES", 1_000_000)
    items = list(read_items("endless", io.BytesIO(data)))
    last = items[-1]
    assert last.problem is not None and "nor anything after it: it runs on past 1,000,000 bytes" in last.problem.message
    assert all(i.problem is not None or i.data == {"incident_id": "A"} for i in items)
    assert len(items) == (2 if data.startswith(b'{"incident_id": "A"}') else 1)


_PIECES = [
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b" ",
    b"\n",
    b"\r\n",
    b'"a"',
    b'"x,y"',
    b'"[{"',
    b'"\\""',
    b'"\\\\"',
    b'"a\\',
    b"1",
    b"true",
    b"null",
    b'"incident_id"',
    b"\xc3\xa9",
]


@settings(max_examples=500, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=60),
    chunk=st.sampled_from([3, 7, 64, 1 << 20]),
    start=st.sampled_from([b"[", b"{", b""]),
    limit=st.sampled_from([12, 30, 64 << 20]),
)
@example(pieces=[b"{", b"[", b"]", b",", b"{", b"}", b"}", b","], chunk=3, start=b"[", limit=64 << 20)
# an item read through past the limit, a comma after the scanning position: taken for a string
@example(pieces=[b"{", b'"a"', b":", b'"x,y"', b",", b'"a"', b"}", b",", b"1"] * 3, chunk=3, start=b"[", limit=12)
def test_brackets_skipped_whole_cut_the_same_values(pieces: list[bytes], chunk: int, start: bytes, limit: int) -> None:
    """Skipping a bracket pair that holds no other, commas and all (_DEEP), cuts any
    bytes (valid JSON or not) into the same items, lines and errors as looking at every bracket
    and comma, wherever the chunks fall, items too big to keep included."""
    data = start + b"".join(pieces)

    def items(skip: bool, size: int) -> list[tuple[object, ...]]:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(reader, "_SKIP_LEAVES", skip)
            mp.setattr(reader, "CHUNK", size)
            mp.setattr(reader, "DETECT_BYTES", 8)
            mp.setattr(reader, "MAX_ITEM_BYTES", limit)
            got = list(read_items("in.json", io.BytesIO(data), parse=False))
        return [(i.line, i.index, i.column, i.raw, str(i.problem)) for i in got]

    assert items(True, chunk) == items(False, chunk)
    if limit > len(data):  # (a value too big names its incident from its first chunk's bytes)
        assert items(True, chunk) == items(False, 1 << 20)  # as read in one piece
