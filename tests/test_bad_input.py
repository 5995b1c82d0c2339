"""Bad input never crashes or loses a record: every file of tests/bad/ with its exact outcome.

Each case runs `crimecheck check FILE --format json` and compares the counts, the exit code and
every located error (file, line, incident, field, message). Cases that hold whole incidents as
JSON Lines are also checked inside a batch between two good incidents: the bad ones are rejected,
the good ones checked, and `read = checked + rejected` always.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from checker.cli.exits import EXIT_ERROR, EXIT_OK
from checker.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "bad"
AS_OF = "2025-01-05T00:00:00+00:00"
GOOD = json.loads((ROOT / "fixtures" / "incidents" / "compliant-harassment-recorded.json").read_text())
NAIVE = (
    "time has no UTC offset (write e.g. 2025-01-02T14:22:00+00:00, or run with --timezone Europe/London "
    "to read naive times in that zone) (got '2025-01-02T14:22:00')"
)
LATIN1 = "(Latin-1 or Windows-1252 text?); save the export as UTF-8"
EPOCH = "a number is not a time: write ISO 8601 with an offset, e.g. 2025-01-02T14:22:00+00:00"
GAP = (
    "2025-03-30T01:30:00 did not happen in Europe/London: the clocks went forward over it; "
    "write the time with its UTC offset"
)
DEEP = "invalid JSON: nested too deeply (more than 1024 levels of arrays or objects)"

Error = tuple[int | None, str | None, str | None, str]  # line, incident, field, message
# Problems raised by checking rather than reading (unknown offence codes, engine failures) carry the
# line of the item they come from too (commands.py fills it in).
AFTER_READ = 1


@dataclass(frozen=True)
class Case:
    """One bad-input file and everything `check` must say about it."""

    file: str
    read: int
    checked: int
    errors: tuple[Error, ...] = ()
    exit: int = EXIT_ERROR
    args: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    batch: bool = False  # whole incidents as JSON Lines: also checked between good incidents
    build: Callable[[], bytes] | None = None  # large files are made at test time, not committed


def _good_line(incident_id: str, **fields: Any) -> bytes:
    return json.dumps({**GOOD, "incident_id": incident_id, **fields}).encode()


def _long_narrative() -> bytes:
    return _good_line("LONG-NARRATIVE", narrative="The caller says " + "x" * 1_000_000) + b"\n"


def _deep_file() -> bytes:
    return b"[" * 100_000 + b"]" * 100_000


def _deep_line() -> bytes:
    return _good_line("OK-1") + b'\n{"incident_id": "BAD-DEEP", "junk": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"


def _deep_field() -> bytes:
    deep = b"[" * 1000 + b"]" * 1000
    return _good_line("BAD-DEEP-FIELD", victims=None).replace(b'"victims": null', b'"victims": ' + deep) + b"\n"


def _long_id() -> bytes:
    # an id of 8 MB crashed the durable-rules engine, which copies ids onto its stack
    victim = {**GOOD["victims"][0], "victim_id": "V" * 8_388_608}
    return _good_line("BAD-LONG-ID", victims=[victim]) + b"\n"


def _many(field: str, count: int, key: str) -> Callable[[], bytes]:
    def build() -> bytes:
        items = [{**GOOD[field][0], key: f"X{i}"} for i in range(count)]
        return _good_line(f"BAD-MANY-{field.upper()}", **{field: items}) + b"\n"

    return build


def _long_field_name() -> bytes:
    return _good_line("LONG-FIELD-NAME", **{"k" * 1_000_000: 1}) + b"\n"


def _huge_narrative() -> bytes:
    return _good_line("BAD-HUGE-NARRATIVE", narrative="x" * 1_048_577) + b"\n"


def _long_text() -> bytes:
    record = {**GOOD["records"][0], "status": "cancelled", "cancellation": {"category": "C1", "avi": "y" * 20_001}}
    return _good_line("BAD-LONG-AVI", records=[record]) + b"\n"


CASES = [
    Case(
        "invalid-json.json",
        1,
        0,
        ((3, "BAD-JSON", None, "invalid JSON: unexpected character, expected a string key (column 46)"),),
    ),
    Case(
        "one-broken-line.jsonl",
        3,
        2,
        ((2, "BAD-LINE", None, "invalid JSON: unexpected end of data (column 85)"),),
        batch=True,
    ),
    Case(
        "broken-first-line.jsonl",
        3,
        2,
        ((1, "BAD-FIRST", None, "invalid JSON: unexpected end of data (column 54)"),),
        batch=True,
    ),
    Case("bom.jsonl", 2, 2, exit=EXIT_OK),
    Case("bom-array.json", 2, 2, exit=EXIT_OK),
    Case("latin1.json", 1, 0, ((13, "BAD-LATIN1", None, f"not UTF-8: byte 0xE9 at column 34 {LATIN1}"),)),
    Case(
        "latin1-line.jsonl",
        3,
        2,
        ((2, "BAD-LATIN1", None, f"not UTF-8: byte 0xE9 at column 302 {LATIN1}"),),
        batch=True,
    ),
    Case("utf16.json", 1, 0, ((1, None, None, "the file is UTF-16 text, not UTF-8; save the export as UTF-8"),)),
    Case("crlf.jsonl", 2, 2, exit=EXIT_OK, batch=True),
    Case("crlf.json", 1, 1, exit=EXIT_OK),
    Case("empty.json", 1, 0, ((1, None, None, "the file is empty: no incident to check"),)),
    Case("blank.jsonl", 1, 0, ((1, None, None, "the file is empty: no incident to check"),)),
    Case("empty-array.json", 1, 0, ((1, None, None, "the JSON array is empty: no incident to check"),)),
    Case("scalar.json", 1, 0, ((1, None, None, "expected an incident object, got a JSON number"),)),
    Case(
        "array-where-object.json",
        4,
        1,
        (
            (3, None, None, "expected an incident object, got a JSON array"),
            (4, None, None, "expected an incident object, got a JSON string"),
            (5, None, None, "expected an incident object, got a JSON null"),
        ),
    ),
    Case(
        "missing-fields.jsonl",
        3,
        0,
        (
            (1, None, "incident_id", "required field is missing"),
            (2, "BAD-MISSING-2", "reported_at", "required field is missing"),
            (3, "BAD-MISSING-3", "victims[0].victim_id", "required field is missing"),
            (3, "BAD-MISSING-3", "records[0].recorded_at", "required field is missing"),
        ),
        batch=True,
    ),
    Case(
        "unknown-fields.json",
        1,
        1,
        exit=EXIT_OK,
        warnings=("officer_collar", "victims[0].shoe_size"),
    ),
    Case(
        "naive-time.json",
        1,
        0,
        ((1, "BAD-NAIVE", "reported_at", NAIVE), (1, "BAD-NAIVE", "disclosures[0].disclosed_at", NAIVE)),
    ),
    Case("naive-time.json", 1, 1, exit=EXIT_OK, args=("--timezone", "Europe/London")),
    Case(
        "before-report.jsonl",
        1,
        0,
        (
            (1, "BAD-BEFORE", "disclosures[0].disclosed_at", "disclosed before the incident was reported"),
            (1, "BAD-BEFORE", "records[0].recorded_at", "recorded before disclosure 'D1' was made"),
            (1, "BAD-BEFORE", "records[0].recorded_at", "recorded before the incident was reported"),
        ),
        batch=True,
    ),
    Case(
        "cancelled-before-recorded.jsonl",
        1,
        0,
        ((1, "BAD-BEFORE-CANCEL", "records[0].cancellation.decided_at", "cancelled before it was recorded"),),
        batch=True,
    ),
    Case(
        "duplicate-incidents.jsonl",
        3,
        2,
        ((3, "DUP-1", "incident_id", "duplicate incident_id 'DUP-1' in this batch; the first was checked"),),
        batch=True,
    ),
    Case(
        "duplicate-records.jsonl",
        1,
        0,
        ((1, "BAD-DUP-REC", "records[1].record_id", "duplicate record_id 'CRN-BAD-DUP-REC' in this incident"),),
        batch=True,
    ),
    Case(
        "duplicate-victims-disclosures.jsonl",
        1,
        0,
        (
            (1, "BAD-DUP-IDS", "victims[1].victim_id", "duplicate victim_id 'V1' in this incident"),
            (1, "BAD-DUP-IDS", "disclosures[1].disclosure_id", "duplicate disclosure_id 'D1' in this incident"),
        ),
        batch=True,
    ),
    Case(
        # found by the properties: the record answered D1 twice, and the engine aborted the process
        "duplicate-disclosure-ids.jsonl",
        1,
        0,
        ((1, "BAD-DUP-LINK", "records[0].disclosure_ids[1]", "disclosure 'D1' is listed twice"),),
        batch=True,
    ),
    Case(
        "missing-references.jsonl",
        1,
        0,
        (
            (1, "BAD-REFS", "disclosures[0].victim_id", "no victim 'V9' in this incident"),
            (1, "BAD-REFS", "records[0].victim_id", "no victim 'V8' in this incident"),
            (1, "BAD-REFS", "records[0].disclosure_ids[1]", "no disclosure 'D9' in this incident"),
        ),
        batch=True,
    ),
    Case(
        "missing-converted-record.jsonl",
        1,
        0,
        ((1, "BAD-CONVERTED", "records[0].converted_to", "no record 'CRN-404' in this incident"),),
        batch=True,
    ),
    # A C3 naming a record that is not on the incident is a question for a person (CX011: the
    # surviving record may be on another incident), not an input error.
    Case("duplicate-of-missing-record.jsonl", 1, 1, exit=EXIT_OK, findings=("CX011",), batch=True),
    # Codes outside the offence list are review findings on the incident (issue 10), never a rejection.
    Case("unknown-offence.jsonl", 1, 1, exit=EXIT_OK, findings=("RC003", "CL008", "CL009"), batch=True),
    Case(
        "bad-ages.jsonl",
        2,
        0,
        (
            (1, "BAD-AGE-NEG", "victims[0].age", "Input should be greater than or equal to 0 (got -1)"),
            (2, "BAD-AGE-200", "victims[0].age", "Input should be less than or equal to 120 (got 200)"),
        ),
        batch=True,
    ),
    Case(
        "truncated-last-line.jsonl",
        3,
        2,
        ((3, "BAD-TRUNC", None, "invalid JSON: unexpected end of data (column 151)"),),
        batch=True,
    ),
    Case(
        "nul-byte.jsonl",
        2,
        1,
        (
            (
                2,
                "BAD-NUL",
                None,
                "invalid JSON: a control character U+0000 inside a string; remove it or write it escaped "
                "(\\u0000) (column 285)",
            ),
        ),
        batch=True,
    ),
    Case(
        "nul-escaped.jsonl",
        1,
        0,
        ((1, "BAD-NUL-ESC", "records[0].record_id", "control character U+0000 in an id or code (got 'CRN-\\x00-1')"),),
        batch=True,
    ),
    Case(
        "number-for-string.jsonl",
        1,
        0,
        (
            (1, "12345", "incident_id", "Input should be a valid string (got 12345)"),
            (1, "12345", "victims[0].victim_id", "Input should be a valid string (got 1)"),
            (1, "12345", "disclosures[0].offence", "Input should be a valid string (got 8)"),
        ),
        batch=True,
    ),
    Case(
        "impossible-dates.jsonl",
        1,
        0,
        (
            (
                1,
                "BAD-DATES",
                "reported_at",
                "Input should be a valid datetime or date, day value is outside expected range "
                "(got '2025-02-30T10:00:00+00:00')",
            ),
            (
                1,
                "BAD-DATES",
                "disclosures[0].disclosed_at",
                "year 1 is outside 1900-2199; check the date (got '0001-01-01T00:00:00+14:00')",
            ),
            (
                1,
                "BAD-DATES",
                "records[0].recorded_at",
                "year 9999 is outside 1900-2199; check the date (got '9999-12-31T23:59:59-12:00')",
            ),
        ),
        batch=True,
    ),
    Case(
        "too-many-flags.jsonl",
        1,
        0,
        ((1, "BAD-FLAGS", "records[0].flags", "List should have at most 64 items after validation, not 300"),),
        batch=True,
    ),
    Case("long-narrative.jsonl", 1, 1, exit=EXIT_OK, batch=True, build=_long_narrative),
    Case(
        "long-id.jsonl",
        1,
        0,
        ((1, "BAD-LONG-ID", "victims[0].victim_id", "an id or code of 8,388,608 characters; the limit is 200"),),
        batch=True,
        build=_long_id,
    ),
    Case(
        "many-victims.jsonl",
        1,
        0,
        ((1, "BAD-MANY-VICTIMS", "victims", "51 victims in one incident; the limit is 50"),),
        batch=True,
        build=_many("victims", 51, "victim_id"),
    ),
    Case(
        "many-disclosures.jsonl",
        1,
        0,
        ((1, "BAD-MANY-DISCLOSURES", "disclosures", "51 disclosures in one incident; the limit is 50"),),
        batch=True,
        build=_many("disclosures", 51, "disclosure_id"),
    ),
    Case(
        "many-records.jsonl",
        1,
        0,
        ((1, "BAD-MANY-RECORDS", "records", "51 records in one incident; the limit is 50"),),
        batch=True,
        build=_many("records", 51, "record_id"),
    ),
    # an unknown field is kept and warned of; its name, the input's own text, is cut short in the warning
    Case(
        "long-field-name.jsonl",
        1,
        1,
        exit=EXIT_OK,
        warnings=("k" * 200 + "... (1,000,000 characters)",),
        batch=True,
        build=_long_field_name,
    ),
    Case(
        "huge-narrative.jsonl",
        1,
        0,
        (
            (
                1,
                "BAD-HUGE-NARRATIVE",
                "narrative",
                "1,048,577 characters of narrative; the limit is 1,048,576 (raise it with --max-narrative)",
            ),
        ),
        batch=True,
        build=_huge_narrative,
    ),
    Case(
        "long-text.jsonl",
        1,
        0,
        ((1, "BAD-LONG-AVI", "records[0].cancellation.avi", "text of 20,001 characters; the limit is 20,000"),),
        batch=True,
        build=_long_text,
    ),
    Case(
        "bidi-ids.jsonl",
        3,
        0,
        (
            (
                1,
                None,
                "incident_id",
                "unprintable character U+202E (RIGHT-TO-LEFT OVERRIDE) in an id or code (got 'INC-2025-\\u202e321000')",
            ),
            *(
                (
                    2,
                    "BAD-BIDI-VICTIM",
                    field,
                    "unprintable character U+2066 (LEFT-TO-RIGHT ISOLATE) in an id or code (got 'V\\u20661')",
                )
                for field in ("victims[0].victim_id", "disclosures[0].victim_id", "records[0].victim_id")
            ),
            (
                3,
                "BAD-ZWSP",
                "records[0].record_id",
                "unprintable character U+200B (ZERO WIDTH SPACE) in an id or code (got 'CRN-25\\u200b-0101')",
            ),
        ),
        batch=True,
    ),
    Case(
        "epoch-time.jsonl",
        2,
        0,
        (
            (1, "BAD-EPOCH", "reported_at", f"{EPOCH} (got 1735827720)"),
            (2, "BAD-EPOCH-TEXT", "reported_at", f"{EPOCH} (got '1735827720')"),
        ),
        batch=True,
    ),
    Case(
        "spring-gap.jsonl",
        1,
        0,
        (
            (1, "BAD-GAP", "reported_at", f"{GAP} (got '2025-03-30T01:30:00')"),
            (1, "BAD-GAP", "disclosures[0].disclosed_at", f"{GAP} (got '2025-03-30T01:30:00')"),
        ),
        args=("--timezone", "Europe/London"),
        batch=True,
    ),
    Case(
        # ids are compared as normalised: surrounding and repeated spaces (a non-breaking one too) do not count
        "spaced-duplicate-ids.jsonl",
        3,
        1,
        (
            (2, "INC-SPACED", "incident_id", "duplicate incident_id 'INC-SPACED' in this batch; the first was checked"),
            (3, "INC-SPACED-2", "victims[1].victim_id", "duplicate victim_id 'V 1' in this incident"),
        ),
        batch=True,
    ),
    # several pretty-printed incidents one after another are read as a sequence of documents
    Case("pretty-objects.json", 3, 2, ((50, "PRETTY-2", "reported_at", "required field is missing"),)),
    # an array is read element by element: a broken element is rejected, the others are checked
    Case(
        "broken-array-element.json",
        3,
        2,
        ((3, "ARR-BROKEN", None, "invalid JSON: unexpected character, expected a JSON value (column 46)"),),
    ),
    # an element is parsed on its own, so the file may nest one level deeper than orjson allows a document
    Case("deep-nesting.json", 1, 0, ((1, None, None, f"{DEEP} (column 1027)"),), build=_deep_file),
    Case("deep-nesting-line.jsonl", 2, 1, ((2, "BAD-DEEP", None, f"{DEEP} (column 1061)"),), build=_deep_line),
    Case(
        "deep-field.jsonl",
        1,
        0,
        ((1, "BAD-DEEP-FIELD", "victims[0]", "should be an object of named fields ({...})"),),
        batch=True,
        build=_deep_field,
    ),
]


def _path(case: Case, tmp_path: Path) -> Path:
    if case.build is None:
        return BAD / case.file
    path = tmp_path / case.file
    path.write_bytes(case.build())
    return path


def check(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """`crimecheck check PATH --format json`: the exit code and the document."""
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", str(path), "--format", "json", "--as-of", AS_OF, *args], stdout=out)
    return code, json.loads(out.getvalue())


def _errors(doc: dict[str, Any]) -> list[tuple[str | None, int | None, str | None, str | None, str]]:
    return [
        (e["file"], e["line"], e["incident_id"], e["field"], e["message"]) for r in doc["rejected"] for e in r["errors"]
    ]


def _name(case: Case) -> str:
    return case.file + ("+" + "+".join(case.args) if case.args else "")


def test_every_bad_file_has_a_case() -> None:
    assert {p.name for p in BAD.iterdir() if p.suffix in (".json", ".jsonl")} == {
        c.file for c in CASES if c.build is None
    }


@pytest.mark.parametrize("case", CASES, ids=_name)
def test_bad_input(case: Case, tmp_path: Path) -> None:
    path = _path(case, tmp_path)
    code, doc = check(path, *case.args)
    counts = doc["counts"]
    assert counts["read"] == counts["checked"] + counts["rejected"]
    assert (counts["read"], counts["checked"]) == (case.read, case.checked)
    assert code == case.exit
    # errors raised by checking (not reading) carry no file yet: see CHECK_ERRORS_LOCATED
    expected = [(str(path) if line else None, line, rid, field, msg) for line, rid, field, msg in case.errors]
    assert _errors(doc) == expected
    assert [f["rule_id"] for f in doc["findings"]] == list(case.findings)
    assert [w.split(": ")[2] for w in doc["warnings"]] == list(case.warnings)
    for r in doc["rejected"]:
        assert r["where"].startswith(f"{path}:"), "every rejected record names its file and line"


@pytest.mark.parametrize("case", [c for c in CASES if c.batch], ids=_name)
def test_bad_incident_in_a_batch(case: Case, tmp_path: Path) -> None:
    """Between two good incidents, a bad one is rejected and the good ones are still checked."""
    body = _path(case, tmp_path).read_bytes().rstrip(b"\n") + b"\n"
    path = tmp_path / "batch.jsonl"
    path.write_bytes(_good_line("BATCH-GOOD-1") + b"\n" + body + _good_line("BATCH-GOOD-2") + b"\n")
    code, doc = check(path, *case.args)
    counts = doc["counts"]
    assert counts["read"] == counts["checked"] + counts["rejected"] == case.read + 2
    assert counts["checked"] == case.checked + 2
    assert [(line, rid, field, msg) for _, line, rid, field, msg in _errors(doc)] == [
        (line + 1 if line is not None else None, rid, field, msg) for line, rid, field, msg in case.errors
    ]
    assert code == case.exit


@pytest.mark.parametrize("case", [c for c in CASES if c.errors and c.read == 1], ids=_name)
def test_human_output_names_the_rejection(case: Case, tmp_path: Path) -> None:
    path = _path(case, tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", str(path), "--as-of", AS_OF, *case.args], stdout=out)
    text = out.getvalue()
    assert code == EXIT_ERROR
    assert "rejected, not checked:" in text and "1 read, 0 checked, 1 rejected" in text
    for line, rid, field, msg in case.errors:
        assert (f"incident {rid}: " if rid else "") + (f"{field}: " if field else "") + msg in text
        if line is not None:
            assert f"{path}:{line}: " in text


def test_errors_raised_by_checking_are_located(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error raised after reading (an engine failure, say) is rejected with its file and line."""
    from checker.check import checker as checking
    from checker.core.errors import EngineError, Problem

    def fail(incident: Any, *args: Any, **kwargs: Any) -> Any:
        raise EngineError([Problem("the rule engine failed: boom", record=incident.incident_id)])

    monkeypatch.setattr(checking, "build_facts", fail)
    path = BAD / "unknown-offence.jsonl"
    _, doc = check(path)
    assert {(file, line) for file, line, *_ in _errors(doc)} == {(str(path), 1)}


def test_unknown_codes_are_findings_not_errors() -> None:
    path = BAD / "unknown-offence.jsonl"
    _, doc = check(path)
    assert _errors(doc) == [] and doc["counts"]["rejected"] == 0
    unknown = {f["subject"]: f["message"] for f in doc["findings"] if f["rule_id"] in ("CL008", "CL009")}
    assert "code ZZ9, which is not in the offence list of edition 2026.1" in unknown["D1"]
    assert "classified 99Z" in unknown["CRN-BAD-OFFENCE"]


def test_demo_copies_match_the_corpus() -> None:
    """fixtures/bad/ holds a few of these files for the demo; they must not drift."""
    demo = ROOT / "fixtures" / "bad"
    for path in demo.iterdir():
        assert path.read_bytes() == (BAD / path.name).read_bytes(), path.name
