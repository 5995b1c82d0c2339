"""Fuzz the batch reader, validation and checking: any bytes are read, and each item checked or rejected.

Run (atheris is a test tool, not a dependency: `pip install atheris`):

    python fuzz/fuzz_reader.py fuzz/corpus/reader -max_total_time=1500 -artifact_prefix=fuzz/crashes/

A crash is any exception other than the checker's own located errors, an item without a line,
an incident accepted beyond a bound of the record contract (issue 14: ids of at most 200
printable characters, the narrative limit, the victims, disclosures and records per incident),
or the engine and the reference evaluator disagreeing on an incident.
"""

from __future__ import annotations

import io
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with atheris.instrument_imports(include=["checker"]):
    from checker.check.checker import Checker
    from checker.core.errors import CheckerError
    from checker.core.models import MAX_ID_LENGTH, Incident, Limits
    from checker.core.times import parse_time
    from checker.read.incidents import read_items, validate
    from checker.rules.loader import load_rules

RULESET = load_rules()
ENGINE = Checker(RULESET, evaluator="engine")
REFERENCE = Checker(RULESET, evaluator="reference")
AS_OF: datetime = parse_time("2025-01-05T00:00:00+00:00")
LONDON = ZoneInfo("Europe/London")
LIMITS = Limits(narrative=2_000)  # small, so that fuzzed narratives reach it


def _within_bounds(incident: Incident) -> None:
    """An accepted incident keeps every bound the engine relies on."""
    ids = [incident.incident_id]
    ids += [v.victim_id for v in incident.victims] + [d.disclosure_id for d in incident.disclosures]
    ids += [r.record_id for r in incident.records] + [i for r in incident.records for i in r.disclosure_ids]
    for value in ids:
        if len(value) > MAX_ID_LENGTH or not all(c.isprintable() for c in value) or value != value.strip():
            raise AssertionError(f"an id beyond the bounds was accepted: {value!r}")
    if incident.narrative is not None and len(incident.narrative) > LIMITS.narrative:
        raise AssertionError("a narrative over the limit was accepted")
    for name, limit in (("victims", LIMITS.victims), ("disclosures", LIMITS.disclosures), ("records", LIMITS.records)):
        if len(getattr(incident, name)) > limit:
            raise AssertionError(f"more {name} than the limit were accepted")


def _findings(checker: Checker, incident: object) -> list[tuple[str, str]] | str:
    try:
        result = checker.check(incident, AS_OF)  # type: ignore[arg-type]
    except CheckerError as exc:
        return type(exc).__name__
    return sorted((f.rule_id, f.subject) for f in result.findings)


def test_one(data: bytes) -> None:
    """One fuzz input: read it as a batch file and push every item through the checker."""
    zone = LONDON if len(data) % 2 else None  # half the inputs read naive times in a zone
    items = list(read_items("fuzz.json", io.BytesIO(data)))
    if not items:
        raise AssertionError("a file gave no item at all: a record could be lost without a count")
    for item in items:
        if item.line is None:
            raise AssertionError(f"item without a line: {item}")
        try:
            incident, _ = validate(item, zone, LIMITS)
        except CheckerError as exc:
            if not exc.problems or any(p.file != "fuzz.json" for p in exc.problems):
                raise AssertionError(f"rejection without its file: {exc.problems}") from None
            continue
        _within_bounds(incident)
        engine, reference = _findings(ENGINE, incident), _findings(REFERENCE, incident)
        if engine != reference:
            raise AssertionError(f"engine {engine} != reference {reference}")


def main() -> None:
    """Run libFuzzer over test_one."""
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
