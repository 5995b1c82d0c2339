"""Issue 15: the per-incident fast paths give what the general code they skip gives.

Each fast path below skips work for the common case (an id with nothing to tidy, a row with no text
to escape, a cell that cannot start a formula, a message template parsed once, a time converted
once); each test compares it with the general code, written out here as it was before."""

from __future__ import annotations

import csv
import io
import json
import re
import string
from bisect import bisect_left
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from checker.audit.measures import BUCKETS, LONGER
from checker.audit.report_rows import csv_cells, csv_line, safe_cell
from checker.audit.report_xlsx import _SPECIAL, MAX_CELL, ROW, Rows, _time_serial, cell, needs_escape
from checker.audit.rows import _month, _Times
from checker.audit.tally import _ELAPSED, _LIMITS
from checker.audit.uktime import UkTime, local_time
from checker.check.checker import Checker, Finding, _Formatter, _render
from checker.check.examples import example_incident, jsonable
from checker.core.models import _SPACES, Incident, _plain, normalise_id
from checker.core.times import LONDON, parse_time
from checker.read.incidents import Item, validate
from checker.rules.loader import RuleSet

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "incidents"
AS_OF = parse_time("2025-06-01T00:00:00+00:00")

# text with what the fast paths must notice: spaces of every kind, markup, Excel's escapes, control
# characters, formula starts, lone surrogates
_PIECES = [*"ab Z9-_x0041&<>\r\n\t=+@'\"", "\u00a0", "\u3000", "\u2028", "\x1c", "\x00", "\ud800", "_x00", "1F_", "é"]
_TRICKY = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


def _plain_as_written(value: str) -> str:
    """_plain as it was: every character looked at."""
    value = _SPACES.sub(" ", value.strip())
    for char in value:
        if not (char.isprintable() or char == " "):
            raise ValueError(char)
    return value


@given(_TRICKY)
@example("  a  b ")
@example("a\u00a0b")
@example("a\u3000 b")
@example("a\x1cb")
def test_ids_are_tidied_and_refused_as_before(value: str) -> None:
    assert normalise_id(value) == _SPACES.sub(" ", value.strip())
    try:
        expected: str | None = _plain_as_written(value)
    except ValueError:
        expected = None
    try:
        got: str | None = _plain(value)
    except ValueError:
        got = None
    assert got == expected


_COLUMNS = ["rule_id", "message", "reported_at", "count", "flag", "where"]
_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), _TRICKY)
_MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC))
_TIME = st.one_of(
    st.none(),
    st.just(""),
    st.just("2025-03-30T01:30:00+01:00"),
    st.just("not a time"),
    _TRICKY,
    _MOMENTS.map(local_time),  # a time as rows carry it
)


def _row_as_written(rows: Rows, values: list[Any]) -> str:
    """Rows.row as it was: each value through `cell`."""
    cells = "".join(cell(ref, v, 0, t) for ref, v, t in zip(rows.refs, values, rows.times, strict=False))
    return f'<row r="{ROW}">{cells}</row>'


@settings(max_examples=300, deadline=None)
@given(st.tuples(_VALUE, _VALUE, _TIME, _VALUE, _VALUE, _VALUE))
@example(("a", "_x00", None, 1, True, "41_"))  # an escape only when two texts are joined
@example(("=1+1", "<b>", "2025-01-01T00:00:00Z", 2.5, False, "\r"))
def test_workbook_rows_are_as_each_cell_writes_them(values: tuple[Any, ...]) -> None:
    rows = Rows(_COLUMNS)
    assert rows.row(list(values)) == _row_as_written(rows, list(values))


def test_a_long_text_is_still_cut_in_a_row() -> None:
    rows = Rows(_COLUMNS)
    values = ["R1", "x" * (MAX_CELL + 10), None, None, None, "a.json:1"]
    assert rows.row(values) == _row_as_written(rows, values)
    assert "cut here" in rows.row(values)


class _Text(str):
    """A str subclass: not plain text to the fast path, so it goes through safe_cell."""


@given(st.lists(st.one_of(_VALUE, st.floats(allow_nan=False), _TRICKY.map(_Text)), max_size=8))
def test_csv_cells_are_safe_cells(values: list[Any]) -> None:
    assert csv_cells(values) == [safe_cell(v) for v in values]
    one, other = io.StringIO(), io.StringIO()
    csv.writer(one).writerow(csv_cells(values))
    csv.writer(other).writerow([safe_cell(v) for v in values])
    assert one.getvalue() == other.getvalue()


_CSV_PIECES = st.sampled_from([*_PIECES, ",", '"', "-", "\r\n", "a,=b", " "])
_CSV_VALUE = st.one_of(
    _VALUE,
    st.floats(),
    st.lists(_CSV_PIECES, max_size=12).map("".join),
    _TRICKY.map(_Text),
    _MOMENTS.map(local_time),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_CSV_VALUE, max_size=8))
@example([])
@example([""])
@example(["a", "-1"])
@example(["a", -1])
@example(["a,b", "c"])
@example(["x", "=1"])
@example([None, "\r"])
def test_csv_lines_are_the_csv_writer_s(values: list[Any]) -> None:
    out = io.StringIO(newline="")
    csv.writer(out).writerow(csv_cells(values))
    assert csv_line(values) == out.getvalue()


def _findings(ruleset: RuleSet) -> list[Finding]:
    """The findings of the fixtures and of every rule's examples."""
    checker = Checker(ruleset, evaluator="reference")
    out: list[Finding] = []
    for path in sorted(FIX.glob("*.json")):
        incident = validate(Item(path.name, 1, 0, data=json.loads(path.read_text())))[0]
        out.extend(checker.check(incident, AS_OF).findings)
    for rule in ruleset.rules:
        for ex in rule.model.examples:
            incident = validate(Item(rule.id, None, 0, data=jsonable(example_incident(ruleset, ex))))[0]
            out.extend(checker.check(incident, ex.as_of or parse_time(ruleset.baseline_as_of)).findings)
    return out


def test_messages_from_parsed_templates_are_the_formatter_s(ruleset: RuleSet) -> None:
    found = _findings(ruleset)
    assert {f.rule_id for f in found} == {rule.id for rule in ruleset.active}  # each rule's fail_ examples
    for f in found:
        rule = ruleset.get(f.rule_id)
        assert rule is not None and rule.message_parts is not None
        for mask in (None, lambda _name, value: f"<{value}>"):
            fmt = _Formatter(AS_OF, LONDON, mask)
            general = " ".join(fmt.format(rule.model.message, **f.facts, params=rule.message_params).split())
            assert _render(rule, f.facts, fmt) == general


@pytest.mark.parametrize("template", ["{d.offence!r} x", "{d.left_s:{params.unit}}", "{} and {}"])
def test_a_template_needing_the_formatter_is_not_parsed_ahead(ruleset: RuleSet, template: str) -> None:
    rule = ruleset.rules[0]
    changed = type(rule)(
        model=rule.model.model_copy(update={"message": template}),
        branches=rule.branches,
        subject=rule.subject,
        path=rule.path,
        params=rule.params,
    )
    assert changed.message_parts is None
    assert [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def test_finding_csv_values_are_its_columns(ruleset: RuleSet) -> None:
    for f in _findings(ruleset):
        expected = [
            f.source.get(c.removeprefix("source_")) if c.startswith("source_") else getattr(f, c)
            for c in Finding.CSV_COLUMNS
        ]
        assert f.csv_values() == expected


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9000, 1, 1)), st.integers(-14, 14))
@example(datetime(2025, 10, 26, 0, 30), 0)  # 01:30 BST, then 01:30 GMT: the hour told twice
@example(datetime(2025, 10, 26, 1, 30), 0)
@example(datetime(2025, 3, 30, 1, 0), 0)  # the hour skipped in spring
@example(datetime(1899, 12, 29, 23, 59, 59, 999999), 0)  # before Excel's day 0, and a fraction dropped
def test_local_time_is_the_same_for_the_same_instant(moment: datetime, hours: int) -> None:
    """local_time remembers answers by moment; equal moments are one instant whatever their offset.
    Its serial number is the one the workbook would read back from its text."""
    utc = moment.replace(tzinfo=UTC)
    elsewhere = utc.astimezone(timezone(timedelta(hours=hours)))
    text = utc.astimezone(LONDON).isoformat(timespec="seconds")
    read_back = _time_serial(text)
    assert read_back is not None
    expected = UkTime(text, read_back)
    assert local_time(elsewhere) == expected
    assert local_time(utc) == expected
    assert repr(local_time(utc).serial) == repr(expected.serial)  # the same float, to the last bit
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", text)


@given(_TRICKY)
@example("a&b")
@example("_x0041_")
@example("tab\tand\nline")
def test_needs_escape_is_the_search_it_skips(text: str) -> None:
    assert needs_escape(text) == (_SPECIAL.search(text) is not None)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2199, 12, 31), timezones=st.just(UTC)))
@example(datetime(2025, 3, 31, 23, 30, tzinfo=UTC))  # already April in London
def test_the_month_is_read_from_the_uk_time(moment: datetime) -> None:
    assert _month(local_time(moment)) == moment.astimezone(LONDON).strftime("%Y-%m")


_ID = st.lists(st.sampled_from(["A", "B", "1", "A B", "B-2"]), min_size=1, max_size=3).map(" ".join)


def _answering_as_before(ids: list[str], chosen: str, code: str) -> None:
    records = [SimpleNamespace(record_id=i) for i in ids]
    incident = SimpleNamespace(reported_at=datetime(2025, 1, 1, tzinfo=UTC), disclosures=[], records=records)
    times = _Times(cast(Incident, incident))
    by_length = sorted(records, key=lambda r: -len(r.record_id))  # the scan it replaces
    for text in (chosen, f"{chosen} {code}", f"{chosen} {code} cancelled"):
        general = next(r for r in by_length if text == r.record_id or text.startswith(r.record_id + " "))
        assert times.answering(text).record_id == general.record_id


@given(st.lists(_ID, min_size=1, max_size=5, unique=True), st.data())
def test_the_record_answering_is_the_longest_id_before_a_space(ids: list[str], data: st.DataObject) -> None:
    _answering_as_before(ids, data.draw(st.sampled_from(ids)), data.draw(_ID))


def test_an_answering_code_that_reads_as_a_longer_id_is_taken_as_before() -> None:
    _answering_as_before(["A", "A B"], "A", "B 1")  # "A B 1": record A coded "B 1", or A B coded 1


@given(st.integers(-10, 40 * 86400))
@example(3600)
@example(3601)
@example(30 * 86400)
@example(30 * 86400 + 1)
def test_elapsed_buckets_are_the_first_limit_a_time_is_within(seconds: int) -> None:
    name = next((name for name, limit in BUCKETS if seconds <= limit), LONGER)
    assert _ELAPSED[bisect_left(_LIMITS, seconds)] == f"elapsed.{name}"
