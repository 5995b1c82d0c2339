"""`crimecheck compare A B`: has each figure changed between two audits, beyond chance?

For every figure both summaries hold, the two rates, the change in percentage points, and a test
on the counts (checker.stats.compare_proportions: the two-proportion z-test, or Fisher's exact test
when counts are small): significant at the summaries' confidence level (95% unless the audit said
otherwise). Several figures are tested at once, so each row also says whether it stays significant
after Holm's adjustment. A or B may be a report folder or its summary.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from checker.audit.stats import (
    EXPECTED_CELL_MIN,
    FISHER_METHOD,
    TWO_PROPORTION_METHOD,
    compare_proportions,
    holm_adjust,
)
from checker.core.errors import CheckerError, Problem, dotted, error_text
from checker.core.files import refuse_device

COMPARE_VERSION = "1.1"
METHOD = (
    f"{TWO_PROPORTION_METHOD}; {FISHER_METHOD} where an expected cell count is below {EXPECTED_CELL_MIN}; "
    "Holm's adjustment for the figures tested together"
)
NOT_A_SUMMARY = "not a summary.json (give an audit's report folder or the summary.json in it)"
SUPPORTED_MAJOR = "1"


def load_summary(path: Path) -> dict[str, Any]:
    """A summary.json (or the one in a report folder), checked to be one this version can read."""
    if path.is_dir():
        if not (path / "summary.json").is_file():
            raise CheckerError([Problem("a folder with no summary.json: not an audit report folder", file=str(path))])
        path = path / "summary.json"
    try:
        refuse_device(path)
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise CheckerError([Problem(f"cannot read: {exc.strerror}", file=str(path))]) from None
    except orjson.JSONDecodeError:
        raise CheckerError([Problem(f"{NOT_A_SUMMARY}: it is not JSON", file=str(path))]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("figures"), dict):
        raise CheckerError([Problem(f"{NOT_A_SUMMARY}: it has no `figures`", file=str(path))])
    version = str(doc.get("schema_version", ""))
    if version.split(".")[0] != SUPPORTED_MAJOR:
        raise CheckerError([Problem(f"summary schema_version {version!r}; this crimecheck reads 1.x", file=str(path))])
    try:
        _Read.model_validate(doc)
    except ValidationError as exc:  # a summary edited by hand, or damaged: named, not a crash
        raise CheckerError([_damaged(e, path) for e in exc.errors()[:10]]) from None
    return doc


def _damaged(error: Any, path: Path) -> Problem:
    """A problem of a summary's field, in words (no pydantic class names)."""
    msg = error_text(error).removeprefix("Input ").removeprefix("Value ")
    msg += ": not as an audit writes summary.json (edited by hand, or damaged?)"
    return Problem(msg, file=str(path), field=dotted(error["loc"]))


# What `compare` and the report's trend section read of a summary, checked before they read it:
# counts are whole numbers (not true/false, not text), a numerator is at most its denominator.
# Anything else in the summary is passed over, so that summaries of earlier and later 1.x versions
# still compare (checker.audit.schemas.Summary is what this version writes: every field, no other).
Count = Annotated[int, Field(strict=True, ge=0)]
Rate = Annotated[float, Field(ge=0, le=1)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Figure(_Part):
    numerator: Count
    denominator: Count
    rate: Rate | None = None
    low: Rate | None = None
    high: Rate | None = None
    label: str | None = None
    text: str | None = None
    better: Literal["higher", "lower"] | None = None

    @model_validator(mode="after")
    def _counts(self) -> _Figure:
        if self.numerator > self.denominator:
            raise ValueError(f"numerator {self.numerator} is more than denominator {self.denominator}")
        return self


class _Settings(_Part):
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95


class _Ruleset(_Part):
    hash: str | None = None


class _Inputs(_Part):
    digest: str | None = None
    files: list[Any] | None = None


class _Span(_Part):
    first: str | None = None
    last: str | None = None


class _Period(_Part):
    period: str


class _Sample(_Part):
    size: Count


class _Read(_Part):
    figures: dict[str, _Figure]
    as_of: str | None = None
    settings: _Settings | None = None
    ruleset: _Ruleset | None = None
    inputs: _Inputs | None = None
    period: _Span | None = None
    periods: list[_Period] | None = None
    sample: _Sample | None = None


def _covers(doc: dict[str, Any]) -> str | None:
    """The months the audit's incidents were reported in, as `2024-10 to 2025-03`."""
    period = doc.get("period") or {}
    first, last = period.get("first"), period.get("last")
    if first is None:
        periods = [p["period"] for p in doc.get("periods") or []]
        first, last = (periods[0], periods[-1]) if periods else (None, None)
    if first is None:
        return None
    return first if first == last else f"{first} to {last}"


def _side(doc: dict[str, Any]) -> dict[str, Any]:
    inputs = doc.get("inputs") or {}
    return {
        "as_of": doc.get("as_of"),
        "period": _covers(doc),
        "ruleset": (doc.get("ruleset") or {}).get("hash"),
        "inputs_digest": inputs.get("digest"),
        "sample": doc.get("sample"),
    }


def _input_notes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Warnings that the two audits are not independent samples of two periods."""
    ia, ib = a.get("inputs") or {}, b.get("inputs") or {}
    da, db = ia.get("digest"), ib.get("digest")
    same = da == db if da and db else bool(ia.get("files")) and ia.get("files") == ib.get("files")
    if not same:
        return []
    sa, sb = a.get("sample"), b.get("sample")
    if bool(sa) != bool(sb):
        part, whole = ("A", "B") if sa else ("B", "A")
        return [
            f"{part} is a sample of the same input that {whole} audited whole: the two are not independent, "
            "so the tests below overstate any difference and a change means nothing"
        ]
    if sa and sb:
        return [
            "both audits are samples of the same input: a difference shows sampling variation, not a change "
            "between periods"
        ]
    return ["both audits read the same input: any difference comes from the rules or the as-of time, not the force"]


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The comparison document: one row per figure present in both summaries."""
    confidence = float(b.get("settings", {}).get("confidence", 0.95))
    rows = []
    for key, fa in a["figures"].items():
        fb = b["figures"].get(key)
        if fb is None:
            continue
        x1, n1, x2, n2 = fa["numerator"], fa["denominator"], fb["numerator"], fb["denominator"]
        c = compare_proportions(x1, n1, x2, n2, confidence=confidence)
        rows.append(
            {
                "measure": key,
                "label": fb.get("label", key),
                "a": {"numerator": x1, "denominator": n1, "rate": x1 / n1 if n1 else None, "text": fa.get("text")},
                "b": {"numerator": x2, "denominator": n2, "rate": x2 / n2 if n2 else None, "text": fb.get("text")},
                "change_points": round(c.difference * 100, 4) if n1 and n2 else None,
                "test": None if c.note else c.method,
                "z": c.z,
                "p_value": c.p_value,
                "significant": c.significant,
                "p_adjusted": None,
                "significant_adjusted": False,
                "better": fb.get("better", "higher"),
                "note": c.note,
            }
        )
    tested = [r for r in rows if not r["note"]]
    for r, adjusted in zip(tested, holm_adjust([r["p_value"] for r in tested]), strict=True):
        r["p_adjusted"] = adjusted
        r["significant_adjusted"] = adjusted < 1 - confidence
    only = sorted(set(a["figures"]) ^ set(b["figures"]))
    notes = _input_notes(a, b)
    if a.get("ruleset", {}).get("hash") != b.get("ruleset", {}).get("hash"):
        notes.append("the two audits used different rule sets or reference tables: a change may come from the rules")
    if len(tested) > 1:
        notes.append(
            f"{len(tested)} figures are tested at once: at {confidence * 100:g}% about one unchanged figure in "
            f"{round(1 / (1 - confidence))} looks significant by chance; the last column keeps only the changes "
            "that stay significant after Holm's adjustment for the figures tested together"
        )
    return {
        "schema_version": COMPARE_VERSION,
        "method": METHOD,
        "confidence": confidence,
        "a": _side(a),
        "b": _side(b),
        "measures": rows,
        "only_in_one": only,
        "notes": notes,
    }


def _verdict(row: dict[str, Any]) -> str:
    if row["note"]:
        return "no test"
    if not row["significant"]:
        return "not significant"
    change = row["change_points"] or 0.0
    improved = change > 0 if row["better"] == "higher" else change < 0
    return "significant: " + ("better" if improved else "worse")


def human(doc: dict[str, Any]) -> str:
    """The comparison as a table for people."""
    lines = []
    for name in ("a", "b"):
        side = doc[name]
        covers = f"incidents reported {side['period']}" if side["period"] else "period not stated"
        sample = f"; a sample of {side['sample']['size']:,}" if side.get("sample") else ""
        lines.append(f"{name.upper()}: {covers}; judged as of {side['as_of']}{sample}")
    lines.append("")
    lines.append(
        f"{'measure':<38} {'A':>7} {'n':>6} {'B':>7} {'n':>6} {'change':>9}  {'verdict (p, test)':<40} adjusted"
    )
    for r in doc["measures"]:
        a, b = r["a"], r["b"]
        ra = f"{a['rate'] * 100:.1f}%" if a["rate"] is not None else "-"
        rb = f"{b['rate'] * 100:.1f}%" if b["rate"] is not None else "-"
        ch = f"{r['change_points']:+.1f} pts" if r["change_points"] is not None else "-"
        test = "exact" if r["test"] == FISHER_METHOD else "z"
        verdict = _verdict(r) + (f" (p={r['p_value']:.2g}, {test})" if not r["note"] else "")
        adjusted = "-" if r["note"] else ("significant" if r["significant_adjusted"] else "not significant")
        lines.append(
            f"{r['label'][:38]:<38} {ra:>7} {a['denominator']:>6} {rb:>7} {b['denominator']:>6} {ch:>9}  "
            f"{verdict:<40} {adjusted}"
        )
    lines.append("")
    lines.append(f"tests: {doc['method']}; significant at {doc['confidence'] * 100:g}% confidence")
    for note in doc["notes"]:
        lines.append(f"note: {note}")
    if doc["only_in_one"]:
        lines.append("in only one summary (not compared): " + ", ".join(doc["only_in_one"]))
    return "\n".join(lines)
