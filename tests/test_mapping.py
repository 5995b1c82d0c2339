"""CSV exports mapped onto the record contract: the mapping file, the join, and located errors."""

from __future__ import annotations

import io
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from checker.cli.exits import EXIT_ERROR
from checker.cli.main import main
from checker.core.errors import Problem, RuleError
from checker.read import csvfile, csvitems
from checker.read.csvitems import Converter, CsvItem, read_csv_items
from checker.read.incidents import Item, validate
from checker.read.mapping import Column, load_mapping

ROOT = Path(__file__).resolve().parent.parent
CSV_FIX = ROOT / "fixtures" / "csv"
MAPPING = CSV_FIX / "force-mapping.yaml"


def items(folder: Path = CSV_FIX, mapping: Path = MAPPING, disclosures: bool = True) -> list[Item]:
    m = load_mapping(mapping)
    return list(
        read_csv_items(
            m,
            folder / "incidents.csv",
            folder / "crimes.csv",
            folder / "disclosures.csv" if disclosures else None,
        )
    )


def by_id(found: list[Item]) -> dict[str, dict[str, Any]]:
    return {i.data["incident_id"]: i.data for i in found if i.data is not None}


def copy_fixtures(tmp_path: Path) -> Path:
    for p in CSV_FIX.iterdir():
        shutil.copy(p, tmp_path / p.name)
    return tmp_path


def test_fixture_exports_map_onto_the_contract() -> None:
    found = items()
    assert len(found) == 13, "12 incident rows and one orphan crime row"
    good = by_id(found)
    assert len(good) == 10
    first = good["EX-20241203-0041"]
    assert first["reported_at"] == "2024-12-03T19:12:00+00:00", "local time, with its offset"
    assert first["channel"] == "emergency_call" and first["reporter"] == "victim"
    assert first["qualifiers"] == ["domestic_abuse"]
    assert first["victims"] == [
        {"victim_id": "V1", "age": 31, "sex": "female", "relationship_to_suspect": "ex_partner", "vulnerable": False}
    ]
    assert first["disclosures"] == [{"disclosure_id": "D1", "offence": "8N", "victim_id": "V1"}]
    [record] = first["records"]
    assert record["record_id"] == "EX/24/10231" and record["flags"] == ["domestic_abuse"]
    assert "cancellation" not in record, "no cancellation cell filled: no cancellation"
    assert good["EX-20250118-0175"]["qualifiers"] == ["domestic_abuse"], "CAD maps to null: dropped"
    assert [d["offence"] for d in good["EX-20241214-0203"]["disclosures"]] == ["3B", "8R"], "two offence slots"
    cancelled = good["EX-20250104-0088"]["records"][0]
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation"] == {
        "category": "C2",
        "decided_at": "2025-01-09T10:15:00+00:00",
        "authorised_by_role": "supervisor",
        "reason": "Victim no longer supports a prosecution",
        "victim_informed": True,
    }
    robbery = good["EX-20250124-0061"]
    assert [v["victim_id"] for v in robbery["victims"]] == ["V1", "V2"], "the disclosures file adds a victim"
    assert [d["disclosure_id"] for d in robbery["disclosures"]] == ["D1", "D3"]
    for item in found:
        if item.data is not None:
            validate(item)  # every mapped incident is a valid contract record


def test_rows_that_cannot_be_mapped_are_rejected_with_file_line_and_column() -> None:
    rejected = [i for i in items() if i.problem is not None]
    assert all(isinstance(i, CsvItem) and i.problems for i in rejected)
    problems = [p for i in rejected if isinstance(i, CsvItem) for p in i.problems]
    assert [(p.file, p.line, p.field, p.record) for p in problems] == [
        (str(CSV_FIX / "incidents.csv"), 11, "Caller Type (reporter)", "EX-20250121-0090"),
        (str(CSV_FIX / "incidents.csv"), 13, "Call Received (reported_at)", "EX-20250127-0012"),
        (str(CSV_FIX / "crimes.csv"), 11, "Incident URN", "EX-20250130-0999"),
    ]
    assert "'CALLER' is not in the value map" in problems[0].message
    assert "not a date and time" in problems[1].message
    assert "which is not in" in problems[2].message and "incidents.csv" in problems[2].message


def test_records_in_any_order_join_the_same(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path)
    lines = (folder / "crimes.csv").read_text().splitlines(keepends=True)
    body = lines[1:]
    random.Random(4).shuffle(body)
    (folder / "crimes.csv").write_text(lines[0] + "".join(body))
    assert by_id(items(folder)) == by_id(items())


def test_hash_collisions_only_cost_a_read(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = by_id(items())
    monkeypatch.setattr(csvfile, "key_hash", lambda key: 7)  # every incident id in one bucket
    assert by_id(items()) == expected


def test_quoted_newlines_crlf_and_bom_keep_lines_and_offsets(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path)
    text = (folder / "incidents.csv").read_text()
    text = text.replace("Suspect left before police arrived.", "Suspect left\nbefore police arrived.")
    (folder / "incidents.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    crimes = (folder / "crimes.csv").read_text().replace("\n", "\r\n")
    (folder / "crimes.csv").write_bytes(crimes.encode())
    found = items(folder)
    good = by_id(found)
    assert good["EX-20241203-0041"]["narrative"].startswith("Caller states")
    assert "\n" in good["EX-20241203-0041"]["narrative"]
    assert len(good) == 10
    bad = [i for i in found if i.problem is not None]
    # the incident after the two-line row starts one line later than before
    assert [i.line for i in bad] == [12, 14, 11]
    assert good["EX-20250124-0061"]["records"][0]["record_id"] == "EX/25/00410"


def test_contract_errors_point_back_at_the_csv_cell(tmp_path: Path) -> None:
    folder = copy_fixtures(tmp_path)
    crimes = (folder / "crimes.csv").read_text()
    # recorded before the incident was reported: valid CSV, valid date, impossible record
    (folder / "crimes.csv").write_text(crimes.replace("09/01/2025 15:02", "01/01/2025 15:02"))
    item = next(i for i in items(folder) if i.data and i.data["incident_id"] == "EX-20250109-0140")
    assert isinstance(item, CsvItem)
    from checker.core.errors import InputError

    with pytest.raises(InputError) as exc:
        validate(item)
    located = [item.locate(p) for p in exc.value.problems]
    assert any(
        p.file == str(folder / "crimes.csv") and p.line == 7 and p.field == "Date Recorded (records[0].recorded_at)"
        for p in located
    ), located
    unknown = item.locate(Problem("x", field="records[0].cancellation.category"))
    assert unknown.file == str(folder / "crimes.csv") and unknown.line == 7, "the nearest mapped part: the row"


def test_converter_reads_dates_booleans_and_numbers() -> None:
    conv = Converter(load_mapping(MAPPING))
    assert conv.time("01/07/2025 12:00", ["%d/%m/%Y %H:%M"]) == "2025-07-01T12:00:00+01:00", "summer time"
    assert conv.time("2025-07-01T12:00:00Z", []) == "2025-07-01T12:00:00+00:00", "ISO 8601 with offset kept"
    assert conv.scalar("bool", Column(column="x"), "yes") == (True, True)
    assert conv.scalar("int", Column(column="x"), "42") == (True, 42)
    with pytest.raises(csvitems.CellError, match="not a whole number"):
        conv.scalar("int", Column(column="x"), "forty")
    with pytest.raises(csvitems.CellError, match="neither a true value"):
        conv.scalar("bool", Column(column="x"), "maybe")
    keep = Column(column="x", values={"A": "victim"}, unmapped="keep")
    assert conv.scalar("str", keep, " a ".strip()) == (True, "victim") and conv.scalar("str", keep, "B") == (True, "B")
    assert conv.scalar("str", Column(column="x", values={"A": "victim"}, unmapped="drop"), "B") == (False, None)


BAD_MAPPINGS = [
    # (what to change in the fixture mapping, the line the error must name, words in the message)
    ("    reporter:\n      column: Caller Type", "    reporterr:\n      column: Caller Type", 36, "Extra inputs"),
    ("{VIC: victim, REP", "{VIC: victm, REP", 38, "'victm' is not a reporter"),
    ("    reported_at: Call Received\n", "", 30, "reported_at"),
    ("timezone: Europe/London ", "timezone: Europe/Londinium ", 21, "unknown time zone"),
    ("true_values: [", "true_values: [[", 25, "invalid YAML"),
    (
        "{F: female, M: male, U: unknown}}\n      relationship",
        "{F: female, yes: male}}\n      relationship",
        52,
        "quote",
    ),
    (
        "    incident_category: Opening Code",
        "    incident_category: Opening Kode",
        40,
        "column 'Opening Kode' is not in",
    ),
]


@pytest.mark.parametrize(("old", "new", "line", "words"), BAD_MAPPINGS)
def test_bad_mapping_files_name_file_and_line(tmp_path: Path, old: str, new: str, line: int, words: str) -> None:
    folder = copy_fixtures(tmp_path)
    path = folder / "force-mapping.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(RuleError) as exc:
        items(folder, path)
    problems = exc.value.problems
    assert any(p.file == str(path) and p.line == line and words in str(p) for p in problems), [str(p) for p in problems]
    out = io.StringIO()
    code = main(
        [
            "audit",
            str(folder / "incidents.csv"),
            "--records",
            str(folder / "crimes.csv"),
            "--mapping",
            str(path),
            "--out",
            str(tmp_path / "report"),
            "--quiet",
        ],
        stdout=out,
    )
    assert code == EXIT_ERROR and not (tmp_path / "report").exists(), "stopped before writing anything"


def test_mapping_and_files_must_agree(tmp_path: Path) -> None:
    m = load_mapping(MAPPING)
    with pytest.raises(RuleError, match="--records"):
        list(read_csv_items(m, CSV_FIX / "incidents.csv"))
    with pytest.raises(RuleError, match="cannot read"):
        list(read_csv_items(m, tmp_path / "none.csv", CSV_FIX / "crimes.csv"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(RuleError, match="no header row"):
        list(read_csv_items(m, empty, CSV_FIX / "crimes.csv"))
    # an old Mac export: every line ends with a carriage return alone, so the file is one line
    mac = tmp_path / "mac.csv"
    mac.write_bytes((CSV_FIX / "incidents.csv").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    with pytest.raises(RuleError, match="lines end with a carriage return alone") as raised:
        list(read_csv_items(m, mac, CSV_FIX / "crimes.csv"))
    assert raised.value.problems[0].file == str(mac) and raised.value.problems[0].line == 1


def test_mapping_fields_follow_the_contract() -> None:
    """Every contract field can be mapped from a CSV column, and nothing else can."""
    from pydantic import BaseModel

    from checker.core import models
    from checker.read import mapping

    # suspects (issue 10) are a list of parts like victims; CSV mappings do not read them yet
    nested = {"victims", "disclosures", "records", "schema_version", "cancellation", "suspects"}
    pairs: list[tuple[type[BaseModel], type[BaseModel]]] = [
        (mapping.IncidentFields, models.Incident),
        (mapping.VictimFields, models.Victim),
        (mapping.DisclosureFields, models.Disclosure),
        (mapping.RecordFields, models.Record),
        (mapping.CancellationFields, models.Cancellation),
    ]
    for fields, model in pairs:
        assert set(fields.model_fields) == set(model.model_fields) - nested, fields.__name__
