"""`crimecheck compare A B`: has each figure changed between two audits, beyond chance?

For every figure both summaries hold, the two rates, the change in percentage points, and a
two-proportion z-test (checker.stats.compare_proportions) on the counts: significant at the
summaries' confidence level (95% unless the audit said otherwise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from checker.audit.stats import TWO_PROPORTION_METHOD, compare_proportions
from checker.core.errors import CheckerError, Problem

COMPARE_VERSION = "1.0"
SUPPORTED_MAJOR = "1"


def load_summary(path: Path) -> dict[str, Any]:
    """A summary.json, checked to be one this version can read."""
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise CheckerError([Problem(f"cannot read: {exc.strerror}", file=str(path))]) from None
    except orjson.JSONDecodeError as exc:
        raise CheckerError([Problem(f"not JSON: {exc.msg}", file=str(path), line=exc.lineno)]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("figures"), dict):
        raise CheckerError([Problem("not an audit summary.json (no `figures`)", file=str(path))])
    version = str(doc.get("schema_version", ""))
    if version.split(".")[0] != SUPPORTED_MAJOR:
        raise CheckerError([Problem(f"summary schema_version {version!r}; this crimecheck reads 1.x", file=str(path))])
    return doc


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
                "z": c.z,
                "p_value": c.p_value,
                "significant": c.significant,
                "better": fb.get("better", "higher"),
                "note": c.note,
            }
        )
    only = sorted(set(a["figures"]) ^ set(b["figures"]))
    notes = []
    if a.get("ruleset", {}).get("hash") != b.get("ruleset", {}).get("hash"):
        notes.append("the two audits used different rule sets or reference tables: a change may come from the rules")
    return {
        "schema_version": COMPARE_VERSION,
        "method": TWO_PROPORTION_METHOD,
        "confidence": confidence,
        "a": {"as_of": a.get("as_of"), "ruleset": a.get("ruleset", {}).get("hash")},
        "b": {"as_of": b.get("as_of"), "ruleset": b.get("ruleset", {}).get("hash")},
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
    lines = [
        f"{'measure':<42} {'A':>8} {'n':>6} {'B':>8} {'n':>6} {'change':>9}  verdict (p)",
    ]
    for r in doc["measures"]:
        a, b = r["a"], r["b"]
        ra = f"{a['rate'] * 100:.1f}%" if a["rate"] is not None else "-"
        rb = f"{b['rate'] * 100:.1f}%" if b["rate"] is not None else "-"
        ch = f"{r['change_points']:+.1f} pts" if r["change_points"] is not None else "-"
        p = f" (p={r['p_value']:.3g})" if not r["note"] else ""
        lines.append(
            f"{r['label'][:42]:<42} {ra:>8} {a['denominator']:>6} {rb:>8} {b['denominator']:>6} {ch:>9}  "
            f"{_verdict(r)}{p}"
        )
    lines.append("")
    lines.append(f"method: {doc['method']}; significant at {doc['confidence'] * 100:g}% confidence")
    for note in doc["notes"]:
        lines.append(f"note: {note}")
    if doc["only_in_one"]:
        lines.append("in only one summary (not compared): " + ", ".join(doc["only_in_one"]))
    return "\n".join(lines)
