"""Shared fixtures: the bundled rule set and one checker per evaluator, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.check.checker import Checker
from checker.rules.loader import RuleSet, load_rules

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return load_rules()


@pytest.fixture(scope="session")
def engine_checker(ruleset: RuleSet) -> Checker:
    return Checker(ruleset, evaluator="engine")


@pytest.fixture(scope="session")
def reference_checker(ruleset: RuleSet) -> Checker:
    return Checker(ruleset, evaluator="reference")


def pytest_configure(config: pytest.Config) -> None:
    # slow tests (minutes) run by default; `-m "not slow"` leaves them out of a quick local run
    config.addinivalue_line("markers", "slow: takes minutes; deselect with -m 'not slow' (docs/testing.md)")
