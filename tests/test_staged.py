"""Checking stage by stage across a chunk (`Checker.check_all`, `check_chunk`) gives what checking
one incident at a time gives, and an error stops only its own incident."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate_lines
from checker.audit.rows import Queued, Settings, check_chunk
from checker.check.checker import Checker, Result
from checker.core.errors import CheckerError, EngineError, Problem
from checker.core.times import parse_time
from checker.read.incidents import Item, read_items, validate
from checker.rules.loader import load_rules

ROOT = Path(__file__).resolve().parent.parent
AS_OF = parse_time("2025-06-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(load_rules())


def _items() -> list[Item]:
    """The fixtures, the bad-input corpus and 600 generated incidents (some spoiled)."""
    items = [item for path in sorted((ROOT / "fixtures" / "incidents").glob("*.json")) for item in read_items(path)]
    items += [item for path in sorted((ROOT / "tests" / "bad").glob("*.jsonl")) for item in read_items(path)]
    lines = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in generate_lines(600, 11, 0.1))
    return items + list(read_items("generated", stream=io.BytesIO(lines)))


def test_check_all_is_check_of_each(checker: Checker) -> None:
    incidents = []
    for item in _items():
        try:
            incidents.append(validate(item)[0])
        except CheckerError:
            continue
    assert len(incidents) > 500
    together = checker.check_all(incidents, AS_OF)
    assert all(isinstance(r, Result) for r in together)
    assert together == [checker.check(incident, AS_OF) for incident in incidents]


def test_a_chunk_gives_what_its_items_give_one_by_one(checker: Checker) -> None:
    settings = Settings(AS_OF, checker.ruleset.reference.recording_window_s)
    chunk = [Queued(n, item, duplicate=n % 97 == 5) for n, item in enumerate(_items())]
    outcomes = check_chunk(checker, chunk, settings)
    assert outcomes == [check_chunk(checker, [q], settings)[0] for q in chunk]
    assert any(o.rejected for o in outcomes) and any(o.findings for o in outcomes)


def test_an_engine_failure_stops_only_its_incident(checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    """One incident the engine fails on is rejected by name, with its file and line; the rest of the
    chunk, before and after it in every stage, is checked as it would be alone."""
    settings = Settings(AS_OF, checker.ruleset.reference.recording_window_s)
    chunk = [Queued(n, item) for n, item in enumerate(_items()[:40])]
    alone = check_chunk(checker, chunk, settings)
    victim = next(n for n, o in enumerate(alone) if not o.rejected and n > 5)
    doomed = alone[victim].incident_id
    hits = checker.hits

    def failing(facts: list[dict[str, Any]]) -> Any:
        if any(f.get("incident_id") == doomed for f in facts):
            raise RuntimeError("boom")
        return hits(facts)

    monkeypatch.setattr(checker, "hits", failing)
    outcomes = check_chunk(checker, chunk, settings)
    assert outcomes[:victim] + outcomes[victim + 1 :] == alone[:victim] + alone[victim + 1 :]
    [problem] = outcomes[victim].problems
    assert "the rule engine failed: boom" in problem.message
    assert (problem.file, problem.line, outcomes[victim].incident_id) == (
        chunk[victim].item.source,
        chunk[victim].item.line,
        doomed,
    )


def test_an_error_building_facts_stops_only_its_incident(checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    from checker.check import checker as checking
    from checker.check.facts import build_facts as build

    incidents = [validate(item)[0] for item in _items()[:12]]

    def failing(incident: Any, *args: Any, **kwargs: Any) -> Any:
        if incident is incidents[3]:
            raise EngineError([Problem("cannot build", record=incident.incident_id)])
        return build(incident, *args, **kwargs)

    monkeypatch.setattr(checking, "build_facts", failing)
    results = checker.check_all(incidents, AS_OF)
    assert isinstance(results[3], EngineError)
    assert [r for n, r in enumerate(results) if n != 3] == [
        checker.check(i, AS_OF) for n, i in enumerate(incidents) if n != 3
    ]


def test_the_collector_is_tuned_while_checking_and_restored() -> None:
    """Checking raises the collector's first threshold and freezes what was built before; cycles
    made meanwhile are still collected; afterwards all is as it was."""
    import gc

    from checker.audit.stream import CHECKING_GC_THRESHOLD, checking_gc

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    runs: list[str] = []

    def note(phase: str, info: dict[str, int]) -> None:
        runs.append(phase)

    with checking_gc():
        assert gc.get_threshold() == (CHECKING_GC_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > frozen
        gc.callbacks.append(note)
        try:
            for _ in range(3 * CHECKING_GC_THRESHOLD):
                cycle: list[Any] = []
                cycle.append(cycle)
        finally:
            gc.callbacks.remove(note)
    assert "stop" in runs  # the cycles did not pile up uncollected
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)
