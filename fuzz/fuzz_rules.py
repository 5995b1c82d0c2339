"""Fuzz the rule loader: any bytes written as a rule file either load or raise RuleError.

Run (atheris is a test tool, not a dependency: `pip install atheris`):

    python fuzz/fuzz_rules.py fuzz/corpus/rules -max_total_time=1500 -artifact_prefix=fuzz/crashes/

The fuzzed bytes replace rules/timeliness/TL001.yaml in a temporary copy of the rule set that holds
only that file and the reference tables (a whole set loads five times slower). A rule that loads is
also compiled for the engine and evaluated on the baseline incident by the reference evaluator,
and its id must be ASCII (issue 14: `TL00١` loaded one rule again under a look-alike id).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import traceback
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["checker"]):
    from checker.check.checker import Checker
    from checker.check.examples import jsonable
    from checker.core.errors import CheckerError, RuleError
    from checker.core.times import parse_time
    from checker.engine.compile import branch_json
    from checker.read.incidents import Item, validate
    from checker.rules.loader import load_rules


def make_rules_dir() -> Path:
    """A temporary rule directory with the reference tables, the baseline and no rule yet."""
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-rules-"))
    for name in ("reference", "examples"):
        shutil.copytree(ROOT / "rules" / name, tmp / name)
    shutil.copy(ROOT / "rules" / "retired.yaml", tmp / "retired.yaml")
    (tmp / "timeliness").mkdir()
    return tmp


RULES = make_rules_dir()
TARGET = RULES / "timeliness" / "TL001.yaml"
# Bugs found, reported and awaiting a fix in a module this harness cannot change: (exception type,
# function it is raised in). Skipped so a long run goes on to find others; remove each once fixed.
KNOWN: list[tuple[type[BaseException], str]] = []


def _known(exc: BaseException) -> bool:
    frames = {frame.name for frame in traceback.extract_tb(exc.__traceback__)}
    return any(isinstance(exc, kind) and where in frames for kind, where in KNOWN)


def test_one(data: bytes) -> None:
    """One fuzz input: the bytes of a rule file."""
    TARGET.write_bytes(data)
    try:
        ruleset = load_rules(RULES)
    except RuleError as exc:
        if not exc.problems:
            raise AssertionError("RuleError without a problem") from None
        return
    except Exception as exc:
        if _known(exc):
            return
        raise
    for rule in ruleset.rules:
        if not (rule.id.isascii() and rule.id[:2].isupper() and rule.id[2:].isdigit()):
            raise AssertionError(f"a rule id that is not two ASCII capitals and three ASCII digits: {rule.id!r}")
        for branch in rule.branches:
            branch_json(branch)
    checker = Checker(ruleset, evaluator="reference")
    try:
        incident, _ = validate(Item("baseline", 1, 0, data=jsonable(ruleset.baseline)))
        checker.check(incident, parse_time(ruleset.baseline_as_of))
    except CheckerError:
        pass


def main() -> None:
    """Run libFuzzer over test_one."""
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
