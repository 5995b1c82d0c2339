"""schemas/ and docs/contract.md are current, and what the checker reads and writes fits them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import yaml

from checker.audit import schemas
from checker.check import contract
from checker.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "schemas" / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def errors(name: str, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(name).iter_errors(doc)]


def test_schemas_are_current() -> None:
    assert schemas.stale(ROOT / "schemas") == [], "run python -m checker.audit.schemas"


def test_contract_doc_is_current() -> None:
    assert contract.main(["--check"]) == 0, "run python -m checker.check.contract"


def test_contract_doc_covers_every_field_and_fact() -> None:
    assert contract.missing_meanings() == [], "give each new contract field a description (or MEANINGS entry)"
    assert contract.unmapped_fact_fields() == [], "say in FACT_SOURCES which contract fields a new fact reads"
    paths = {path for path, _ in contract.contract_fields()}
    unknown = {p for sources in contract.FACT_SOURCES.values() for p in sources} - paths
    assert not unknown, f"FACT_SOURCES names fields the contract does not have: {unknown}"
    text = (ROOT / "docs" / "contract.md").read_text()
    for path in paths:
        assert f"| `{path.rpartition('.')[2]}` |" in text


def test_rules_reading_is_derived_from_the_rules() -> None:
    from checker.rules.loader import load_rules

    reading = contract.rules_reading(load_rules())
    # RN003 tests the N100 reason; RC003 is the narrative screen; TL001 times the record
    assert "RN003" in reading["records[].n100_reason"]
    assert reading["narrative"] == {"RC003"}
    assert "TL001" in reading["records[].recorded_at"]
    assert "records[].cancellation.decided_at" not in reading, "no rule reads decided_at"


def test_every_fixture_fits_the_incident_schema() -> None:
    paths = sorted((FIXTURES / "incidents").glob("*.json"))
    assert paths
    for path in paths:
        assert errors("incident.schema.json", json.loads(path.read_text())) == [], path.name


def test_a_generated_batch_fits_the_incident_schema(tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    subprocess.run(
        [sys.executable, "-m", "bench.generate", "--count", "2000", "--seed", "11", "--out", str(batch)],
        cwd=ROOT,
        check=True,
    )
    check = validator("incident.schema.json")
    lines = batch.read_bytes().splitlines()
    assert len(lines) == 2000
    for number, line in enumerate(lines, 1):
        problems = [e.message for e in check.iter_errors(orjson.loads(line))]
        assert problems == [], f"line {number}: {problems}"


def test_the_schema_refuses_what_the_checker_refuses() -> None:
    good = json.loads((FIXTURES / "incidents" / "compliant-harassment-recorded.json").read_text())
    assert errors("incident.schema.json", good) == []
    for patch in (
        {"reporter": "neighbour"},
        {"victims": [{"victim_id": "V1", "age": 130}]},
        {"reported_at": None},
        {"records": [{"record_id": "R1", "classification": "8L"}]},
    ):
        assert errors("incident.schema.json", {**good, **patch}), patch


def test_check_document_fits_its_schema(tmp_path: Path) -> None:
    out = io.StringIO()
    files = [str(p) for p in sorted((FIXTURES / "incidents").glob("*.json"))]
    bad = [str(FIXTURES / "bad" / "one-broken-line.jsonl")]
    for explain in ([], ["--explain"]):
        out = io.StringIO()
        main(["check", *files, *bad, "--as-of", "2025-01-14T12:00:00+00:00", "--format", "json", *explain], stdout=out)
        doc = json.loads(out.getvalue())
        assert doc["findings"] and doc["rejected"]
        assert errors("check-document.schema.json", doc) == []


def test_summary_fits_its_schema(tmp_path: Path) -> None:
    csv = FIXTURES / "csv"
    for extra in ([], ["--sample", "8", "--seed", "3", "--recorded-per-year", "5000", "--population", "40"]):
        out = tmp_path / f"r{len(extra)}"
        args = [str(csv / "incidents.csv"), "--records", str(csv / "crimes.csv")]
        args += ["--disclosures", str(csv / "disclosures.csv"), "--mapping", str(csv / "force-mapping.yaml")]
        main(["audit", *args, "--as-of", "2025-02-01T00:00:00+00:00", "--out", str(out), *extra], stdout=io.StringIO())
        assert errors("summary.schema.json", json.loads((out / "summary.json").read_text())) == []


def test_mapping_example_fits_its_schema() -> None:
    doc = yaml.safe_load((FIXTURES / "csv" / "force-mapping.yaml").read_text())
    assert errors("mapping.schema.json", doc) == []
    assert errors("mapping.schema.json", {**doc, "version": 2})
