"""Shared fixtures: the bundled rule set and one checker per evaluator, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.check import Checker
from checker.rules import RuleSet, load_rules

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
