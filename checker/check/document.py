"""The versioned JSON document of a check (`crimecheck check --format json`, the service's
`POST /v1/check`): rule set, counts, findings, decisions, rejected items, warnings, and the
findings an exception in the register holds back, listed apart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from checker.check.checker import Result
from checker.check.exceptions import Excepted
from checker.core.errors import Problem
from checker.rules.loader import RuleSet

SCHEMA_VERSION = "1.0"


def ruleset_info(ruleset: RuleSet) -> dict[str, Any]:
    """What identifies the rules a result came from."""
    return {
        "hash": ruleset.digest,
        "editions": ruleset.editions,
        "rules": len(ruleset.active),
        "reference": str(ruleset.reference.directory),
    }


def json_document(
    ruleset: RuleSet,
    results: list[Result],
    rejected: list[tuple[str, list[Problem]]],
    as_of: datetime,
    explain: bool = False,
    warnings: list[str] | None = None,
    excepted: Sequence[Excepted] = (),
) -> bytes:
    """The versioned JSON output of `check`."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "as_of": as_of.isoformat(),
        "ruleset": ruleset_info(ruleset),
        "counts": {
            "read": len(results) + len(rejected),
            "checked": len(results),
            "rejected": len(rejected),
            "findings": sum(len(r.findings) for r in results),
            "excepted": len(excepted),
        },
        "findings": [f.to_dict(explain) for r in results for f in r.findings],
        "decisions": [d.to_dict() for r in results for d in r.decisions],
        "rejected": [{"where": where, "errors": [problem_dict(p) for p in problems]} for where, problems in rejected],
        "warnings": warnings or [],
        "excepted": [e.to_dict(explain) for e in excepted],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def problem_dict(p: Problem) -> dict[str, Any]:
    """A located problem as the document (and the service's error bodies) write it."""
    return {"file": p.file, "line": p.line, "incident_id": p.record, "field": p.field, "message": p.message}
