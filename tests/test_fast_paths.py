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
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from unittest import mock

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bench.generate import generate_lines
from checker.audit.measures import BUCKETS, LONGER
from checker.audit.report_rows import csv_cells, csv_line, safe_cell
from checker.audit.report_xlsx import _SPECIAL, MAX_CELL, ROW, Rows, _time_serial, cell, needs_escape
from checker.audit.rows import _month, _Times
from checker.audit.tally import _ELAPSED, _LIMITS
from checker.audit.uktime import UkTime, local_time
from checker.check.assess import _avi_patterns, judge_avi
from checker.check.checker import DECISION_OUTPUT, Checker, Finding, _answered, _Formatter, _render, _shown
from checker.check.examples import example_incident, jsonable
from checker.check.facts import (
    ROLE_WORDS,
    _either,
    _Facts,
    _iso,
    _link_fault,
    _links,
    _local,
    _roles_in_words,
    _utc_iso,
    build_facts,
)
from checker.core.models import _SPACES, Cancellation, Incident, _plain, normalise_id
from checker.core.times import LONDON, parse_time
from checker.read.incidents import Item, validate
from checker.rules.fact_ids import FIRST_FACT_ID, number
from checker.rules.loader import RuleSet, load_rules

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
@example((10**400, -(10**400), None, None, None, None))  # ints past float's range: numbers, no crash
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


def _incidents(ruleset: RuleSet, generated: int = 300) -> list[tuple[Incident, datetime]]:
    """The fixtures, every rule's examples and some generated incidents, each with its as-of."""
    out = [(validate(Item(p.name, 1, 0, data=json.loads(p.read_text())))[0], AS_OF) for p in sorted(FIX.glob("*.json"))]
    for rule in ruleset.rules:
        for ex in rule.model.examples:
            incident = validate(Item(rule.id, None, 0, data=jsonable(example_incident(ruleset, ex))))[0]
            out.append((incident, ex.as_of or parse_time(ruleset.baseline_as_of)))
    for i, line in enumerate(generate_lines(generated, seed=15)):
        out.append((validate(Item("generated", i + 1, 0, data=orjson.loads(line)))[0], AS_OF))
    return out


def test_a_decision_s_deadline_moment_reads_in_uk_time_as_its_text_did(engine_checker: Checker) -> None:
    """The audit's rows convert the decision's deadline moment instead of parsing its text back:
    the same UK time and serial number. The outputs show the text and never the moment."""
    decisions = [
        d
        for incident, as_of in _incidents(engine_checker.ruleset)
        for d in engine_checker.check(incident, as_of).decisions
    ]
    assert len(decisions) > 300
    for d in decisions:
        as_parsed = local_time(datetime.fromisoformat(d.deadline.replace("Z", "+00:00")))
        assert local_time(d.deadline_at) == as_parsed
        assert _utc_iso(d.deadline_at.astimezone(UTC)) == d.deadline
        assert list(d.to_dict()) == list(DECISION_OUTPUT) == [f.name for f in fields(d) if f.name != "deadline_at"]


def _add_as_written(self: _Facts, kind: str, key: str, values: dict[str, Any]) -> None:
    """_Facts.add as it was: every field looked at, each None left out."""
    fact = {k: v for k, v in values.items() if v is not None}
    fact.update(kind=kind, reported_on=self.reported_on)
    self.facts.append(fact)
    self.names.append(f"{kind}:{key}")


def _fact_items(facts: list[dict[str, Any]]) -> list[list[tuple[str, Any]]]:
    return [list(f.items()) for f in facts]  # the fields' order shows in --explain


def test_facts_leave_out_the_nones_the_general_filter_leaves_out(ruleset: RuleSet) -> None:
    for incident, as_of in _incidents(ruleset):
        built = build_facts(incident, ruleset.reference, as_of, ruleset.screen).facts
        with mock.patch.object(_Facts, "add", _add_as_written):
            general = build_facts(incident, ruleset.reference, as_of, ruleset.screen).facts
        assert _fact_items(built) == _fact_items(general)


@given(st.lists(st.sampled_from(["a:1", "a:2", "b:1", "b:10", "b:2", "link:[1,2]"]), max_size=12))
def test_fact_ids_rank_names_as_before(names: list[str]) -> None:
    facts: list[dict[str, Any]] = [{} for _ in names]
    number(facts, names)
    ranked = sorted(range(len(names)), key=lambda i: (names[i], i))  # as it was: ties by position
    assert [facts[i]["id"] for i in ranked] == list(range(FIRST_FACT_ID, FIRST_FACT_ID + len(names)))


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)), st.integers(-14 * 60, 14 * 60))
@example(datetime(2025, 3, 30, 0, 59, 59), 0)  # the last second of GMT
@example(datetime(2024, 10, 27, 1, 30), 60)  # an hour London lives twice
def test_fact_times_read_as_strftime_writes_them(moment: datetime, minutes: int) -> None:
    value = moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    assert _iso(value) == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = value.astimezone(LONDON)
    assert _local(value) == f"{shown.strftime('%a')} {shown.day} {shown.strftime('%b %Y %H:%M')}"
    # disclosure facts convert a time to UTC once and show it from there: the same instant
    assert _local(value.astimezone(UTC)) == _local(value)
    assert _utc_iso(value.astimezone(UTC)) == _iso(value)


def _judge_avi_as_written(c: Cancellation, not_avi: tuple[str, ...], evidence: tuple[str, ...]) -> str:
    """judge_avi as it was: every not-AVI phrase taken out in turn, then each looked for."""
    text = " ".join(t.strip() for t in (c.avi or "", c.reason or "") if t and t.strip()).lower()
    if not text:
        return "none"
    negated, absent, evidence_re, not_avi_res, _ = _avi_patterns(not_avi, evidence)
    said_absent = bool(negated.search(text) or absent.search(text))
    rest = absent.sub(" ", negated.sub(" ", text))
    for phrase in not_avi_res:
        rest = phrase.sub(" ", rest)
    if evidence_re.search(rest):
        return "evidence"
    if said_absent or any(p.search(text) for p in not_avi_res):
        return "not_avi"
    return "unclear"


# pieces of cancellation grounds: the reference's phrases and terms, and what joins them ("no
# complaintwithdrew": taking out one phrase can make the next one's word boundary)
_REF = load_rules().reference
_GROUND_PIECES = [*_REF.not_avi_phrases, *_REF.avi_evidence_terms, " ", "  ", "no ", "not ", "x", ".", "Wit", "é"]
_GROUNDS = st.lists(st.sampled_from(_GROUND_PIECES), max_size=10).map("".join)


@settings(max_examples=400)
@given(_GROUNDS, st.one_of(st.none(), _GROUNDS))
@example("no complaintwithdrew cctv", None)
@example("Withdrew support. CCTV not available", "no further information")
@example("", "refused to engage; footage")
def test_avi_is_judged_as_before(avi: str, reason: str | None) -> None:
    c = Cancellation(category="C2", avi=avi or None, reason=reason)
    not_avi, evidence = _REF.not_avi_phrases, _REF.avi_evidence_terms
    assert judge_avi(c, not_avi, evidence) == _judge_avi_as_written(c, not_avi, evidence)


_FACT_FIELDS = st.dictionaries(st.sampled_from(["id", "sid", "kind", "record_id", "age_s", "x"]), _VALUE)


@given(_FACT_FIELDS)
def test_a_bound_fact_is_shown_as_the_general_filter_shows_it(fact: dict[str, Any]) -> None:
    general = {k: v for k, v in fact.items() if k not in ("sid", "id")}  # as it was
    assert list(_shown(fact).items()) == list(general.items())
    assert _shown(fact) is not fact


def test_each_finding_has_its_rule_s_source_of_its_own(ruleset: RuleSet) -> None:
    found = _findings(ruleset)
    for f in found:
        rule = ruleset.get(f.rule_id)
        assert rule is not None
        s = rule.model.source
        assert f.source == {
            "document": s.document,
            "edition": s.edition,
            "section": s.section,
            "url": s.url,
            "tag": s.tag,
        }
    assert len({id(f.source) for f in found}) == len(found)  # not one dict shared by findings


@given(st.lists(st.sampled_from([*ROLE_WORDS, "inspector"]), max_size=4).map(tuple))
def test_allowed_roles_read_as_each_role_in_words(roles: tuple[str, ...]) -> None:
    assert _roles_in_words(roles) == _either(ROLE_WORDS.get(role, role) for role in roles)  # as it was


_LINK = st.fixed_dictionaries(
    {
        "record_id": st.sampled_from(["CRN-1", "CRN-2"]),
        "classification": st.sampled_from(["8N", "N100"]),
        "live": st.booleans(),
        "is_n100": st.booleans(),
        "status": st.sampled_from(["recorded", "cancelled", "transferred"]),
        "elapsed_s": st.integers(-(10**6), 10**6),
    }
)


@given(st.lists(_LINK, max_size=4))
def test_what_answers_a_disclosure_is_found_in_one_pass_as_before(links: list[dict[str, Any]]) -> None:
    general = (  # as it was: one pass for each
        tuple(f"{a['record_id']} {a['classification']}" + ("" if a["live"] else f" {a['status']}") for a in links),
        any(a["live"] and not a["is_n100"] for a in links),
        any(not a["is_n100"] for a in links),
        any(a["live"] and a["is_n100"] for a in links),
        min((a["elapsed_s"] for a in links), default=None),
    )
    assert _answered(links) == general
    assert [type(v) for v in _answered(links)] == [type(v) for v in general]


class _ClaimsMore(set[str]):
    """A set that says it has one member more than it has: _link_fault then takes its general path
    (the most serious of the disclosures the record answers) even for a record answering one."""

    def __len__(self) -> int:
        return super().__len__() + 1


def test_a_record_answering_one_disclosure_is_judged_as_the_general_path_judges_it(ruleset: RuleSet) -> None:
    ref = ruleset.reference
    judged = 0
    for incident, as_of in _incidents(ruleset):
        decisions = build_facts(incident, ref, as_of).decisions
        by_id = {d.disclosure_id: d for d in incident.disclosures}
        victims = {v.victim_id: v for v in incident.victims}
        links = _links(incident, ref)
        answered: dict[str, set[str]] = {}
        for did, r, _ in links:
            answered.setdefault(r.record_id, set()).add(did)
        for did, r, _ in links:
            if len(answered[r.record_id]) == 1:
                fast = _link_fault(r, by_id[did], decisions, answered[r.record_id], by_id, victims, ref)
                general = _link_fault(r, by_id[did], decisions, _ClaimsMore(answered[r.record_id]), by_id, victims, ref)
                assert fast == general
                judged += fast[0] != "none"
    assert judged > 10  # records with a classification fault were among them
