"""Running each rule's examples: the same code serves pytest and `crimecheck rules test`."""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass
from typing import Any

from checker.check.checker import Checker
from checker.core.errors import CheckerError
from checker.core.times import parse_time
from checker.read.incidents import Item, validate
from checker.rules.loader import Example, Rule, RuleSet

_STEP = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")
_PATH = re.compile(r"^[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*$")


def apply_patch(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with each `path.to[0].field: value` of the patch set."""
    out = copy.deepcopy(base)
    for path, value in patch.items():
        steps: list[str | int] = [m.group(1) if m.group(1) else int(m.group(2)) for m in _STEP.finditer(path)]
        if not _PATH.match(path):
            raise ValueError(f"bad patch path {path!r}")
        target: Any = out
        for step, nxt in itertools.pairwise(steps):
            if isinstance(step, int):
                target = target[step]
            else:
                target = target.setdefault(step, [] if isinstance(nxt, int) else {})
        last = steps[-1]
        if isinstance(last, int) and last == len(target):
            target.append(copy.deepcopy(value))
        else:
            target[last] = copy.deepcopy(value)
    return out


def example_incident(ruleset: RuleSet, example: Example) -> dict[str, Any]:
    """The full incident an example describes."""
    if example.incident is not None:
        return copy.deepcopy(example.incident)
    return apply_patch(ruleset.baseline, example.patch or {})


@dataclass(frozen=True)
class ExampleRun:
    """The result of one example: what was expected, what was found."""

    rule: str
    example: str
    expected: list[tuple[str, str]]
    found: list[tuple[str, str]]
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the example behaved as it says."""
        return self.error is None and self.expected == self.found


def run_example(checker: Checker, rule: Rule, example: Example) -> ExampleRun:
    """Check one example and compare the findings of the rules it names with what it expects."""
    expected = sorted((e.rule, e.subject) for e in example.expect)
    watched = {rule.id} | {e.rule for e in example.expect}
    try:
        raw = example_incident(checker.ruleset, example)
        incident, _ = validate(Item(str(rule.path), None, 0, data=jsonable(raw)))
        as_of = example.as_of or parse_time(checker.ruleset.baseline_as_of)
        result = checker.check(incident, as_of)
    except (CheckerError, ValueError, KeyError, IndexError, TypeError) as exc:
        return ExampleRun(rule.id, example.name, expected, [], error=str(exc))
    found = sorted((f.rule_id, f.subject) for f in result.findings if f.rule_id in watched)
    return ExampleRun(rule.id, example.name, expected, found)


def jsonable(value: Any) -> Any:
    """YAML turns times into datetime objects; the contract reads them as ISO text like JSON does."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def run_all(checker: Checker, only: set[str] | None = None) -> list[ExampleRun]:
    """Every example of every rule (or of the rules named)."""
    return [
        run_example(checker, rule, ex)
        for rule in checker.ruleset.rules
        if only is None or rule.id in only
        for ex in rule.model.examples
    ]
