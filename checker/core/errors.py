"""Exceptions for broken input: every one says which file, line, record and field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    message: str
    file: str | None = None
    line: int | None = None
    record: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        elif self.line:
            where = f"line {self.line}"
        parts = [p for p in (where, f"incident {self.record}" if self.record else "") if p]
        head = ": ".join(parts)
        body = f"{self.field}: {self.message}" if self.field else self.message
        return f"{head}: {body}" if head else body


class CheckerError(Exception):
    """Base of every error crimecheck raises on purpose; carries the located problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def __reduce__(self) -> tuple[type[CheckerError], tuple[list[Problem]]]:
        # made again from its problems (not from its text) where it is unpickled: an audit's
        # worker raises it, the audit's own process shows it
        return type(self), (self.problems,)


class InputError(CheckerError):
    """An incident record that cannot be checked (bad JSON, missing or impossible fields)."""


class RuleError(CheckerError):
    """A rule, reference table, lexicon or mapping file that cannot be loaded."""


class EngineError(CheckerError):
    """The rule engine failed on one incident; the incident is rejected, the run goes on."""


NOT_AN_OBJECT = "should be an object of named fields ({...})"


def error_text(error: Mapping[str, Any]) -> str:
    """A validation error (one of pydantic's `errors()`) in words for whoever wrote the input:
    without pydantic's "Value error, " prefix and without the names of this program's classes."""
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return NOT_AN_OBJECT
    return str(error["msg"]).removeprefix("Value error, ")


def dotted(loc: Iterable[str | int]) -> str:
    """Render a pydantic-style location as `victims[0].age`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
