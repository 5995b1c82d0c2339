"""Figures: each measure's rate and interval, as summary.json gives it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from checker.audit.measures import Measure, measures
from checker.audit.stats import Interval, proportion_interval, unrecorded_estimate
from checker.audit.tally import Tally


@dataclass(frozen=True)
class FigureOptions:
    """How intervals are computed."""

    method: Literal["wilson", "normal"] = "wilson"
    confidence: float = 0.95
    # incidents in the population per incident audited (--population / audited), for the FPC
    scale: float | None = None


def figure(x: int, n: int, m: Measure, opts: FigureOptions) -> dict[str, Any]:
    """One figure as summary.json gives it: counts, rate, interval, method and the inspectorate text."""
    population = None
    if opts.scale is not None and n:
        # the figure's own population, estimated at the audit's sampling fraction
        population = max(n, round(n * opts.scale))
    iv: Interval = proportion_interval(x, n, method=opts.method, confidence=opts.confidence, population=population)
    return {
        "label": m.label,
        "numerator": x,
        "denominator": n,
        "rate": iv.estimate if n else None,
        "low": iv.low if n else None,
        "high": iv.high if n else None,
        "half_width_points": round(iv.half_width * 100, 4) if n else None,
        "method": opts.method,
        "confidence": opts.confidence,
        "population": population,
        "text": iv.inspectorate_text(),
        "better": m.better,
        "definition": m.definition,
    }


def figures_for(tally: Tally, period: str, window_s: int, opts: FigureOptions) -> dict[str, dict[str, Any]]:
    """Every figure for one period ("" for the whole batch); categories nobody used are left out."""
    out: dict[str, dict[str, Any]] = {}
    for m in measures(window_s):
        n = tally.measures[(period, m.key, "n")]
        if m.key.startswith("cancellation.correct.") and n == 0:
            continue
        out[m.key] = figure(tally.measures[(period, m.key, "x")], n, m, opts)
    return out


def unrecorded(all_crime: dict[str, Any], recorded_per_year: int) -> dict[str, Any]:
    """Crimes a year not recorded, from the all-crime rate and its interval (stats.unrecorded_estimate)."""
    rate, low, high = all_crime["rate"], all_crime["low"], all_crime["high"]
    out: dict[str, Any] = {
        "recorded_per_year": recorded_per_year,
        "rate": rate,
        "method": "recorded_per_year x (1 - rate) / rate, rounded half up (checker.stats.unrecorded_estimate)",
    }
    if not rate:
        out.update(unrecorded_per_year=None, low=None, high=None, text="no estimate: no crime was recorded correctly")
        return out
    estimate = unrecorded_estimate(rate, recorded_per_year)
    fewest = unrecorded_estimate(high, recorded_per_year)
    most = unrecorded_estimate(low, recorded_per_year) if low > 0 else None
    out.update(
        unrecorded_per_year=estimate,
        low=fewest,
        high=most,
        text=f"an estimated {estimate:,} crimes a year not recorded"
        + (f" (between {fewest:,} and {most:,})" if most is not None else ""),
    )
    return out
