"""Audits of batches too big for one machine: partitions checked anywhere, counts merged exactly.

A national batch (every force, every month) is split into partitions, for example one file per
force and month. Each partition is checked by `audit_partition`, on whatever worker an existing
distributed engine (Dask, Ray, a batch scheduler) runs it, with the same engine path as
`crimecheck audit`, and returns a Tally: counts, never rates. Tallies add up exactly, in any
grouping, and `summary` turns the merged tally into the same summary.json a single run writes.
See docs/distributed.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from checker.audit.report import SummaryOptions, build_summary
from checker.audit.rows import Settings, check_chunk
from checker.audit.stream import chunks, queue
from checker.audit.tally import Tally
from checker.check.checker import Checker
from checker.core.times import parse_time
from checker.read.incidents import read_items
from checker.rules.loader import RuleSet, load_rules

_CHECKERS: dict[tuple[str | None, str | None], Checker] = {}


def _checker(rules: str | None, reference: str | None) -> Checker:
    """One checker per worker process and rule set: the engine is built once, not per partition."""
    key = (rules, reference)
    if key not in _CHECKERS:
        ruleset = load_rules(Path(rules) if rules else None, Path(reference) if reference else None)
        _CHECKERS[key] = Checker(ruleset)
    return _CHECKERS[key]


def _settings(ruleset: RuleSet, as_of: str) -> Settings:
    return Settings(parse_time(as_of), ruleset.reference.recording_window_s)


def audit_partition(files: Sequence[str], as_of: str, rules: str | None = None, reference: str | None = None) -> Tally:
    """The counts of one partition (JSON or JSON Lines files in the record contract).

    Duplicate incident ids are found within a partition; partition by force and month so that an
    incident cannot appear in two."""
    checker = _checker(rules, reference)
    settings = _settings(checker.ruleset, as_of)
    tally = Tally(window_s=settings.window_s)
    for chunk in chunks(queue(chain.from_iterable(read_items(f) for f in files))):
        for outcome in check_chunk(checker, chunk, settings):
            tally.add(outcome)
    return tally


def merge(tallies: Iterable[Tally]) -> Tally:
    """All partitions' counts added up: the same totals in any order or grouping."""
    merged: Tally | None = None
    for t in tallies:
        if merged is None:
            merged = Tally(window_s=t.window_s)
        merged.merge(t)
    if merged is None:
        raise ValueError("no partitions to merge")
    return merged


def summary(
    tally: Tally, as_of: str, files: Sequence[str], rules: str | None = None, reference: str | None = None
) -> dict[str, Any]:
    """The summary.json document for merged partitions, as a single `crimecheck audit` writes it."""
    tally.balance()
    ruleset = _checker(rules, reference).ruleset
    options = SummaryOptions(files=tuple(files))
    return build_summary(options, ruleset, tally, _settings(ruleset, as_of), tally.audited)
