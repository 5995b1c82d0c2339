"""Shared fixtures: the bundled rule set and one checker per evaluator, built once per session, and
the distribution's Chromium for the browser tests (report.html, the supervisors' page)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checker.check.checker import Checker
from checker.rules.loader import RuleSet, load_rules

ROOT = Path(__file__).resolve().parent.parent
# Playwright cannot download its own browser here: the tests drive Debian's (`.ci/run` installs it)
CHROMIUM = os.environ.get("CRIMECHECK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",  # its connections are refused on these machines' closed network
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for a test module: missing, it fails under CI and skips elsewhere."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs it with apt-get")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def _reproducible_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """report.html's "produced" date is fixed, so two runs of a test give identical reports."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")


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
