"""Inspection-style statistics for crime-recording audits.

HMICFRS crime data integrity inspections report a force's recording rate as a
proportion of audited cases with a confidence interval ("92.6 percent
(+/-2.7 percentage points)"), compare rates between inspections, and scale the
audit findings up to a yearly figure of unrecorded crimes. This module
reproduces those calculations with the standard library only, so the runtime
has no numerical dependencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

__all__ = [
    "TWO_PROPORTION_METHOD",
    "Comparison",
    "Interval",
    "compare_proportions",
    "proportion_interval",
    "required_sample_size",
    "unrecorded_estimate",
]

TWO_PROPORTION_METHOD = "two-proportion z-test, pooled standard error, two-sided"

_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class Interval:
    """A proportion with its confidence interval, as an inspectorate reports it."""

    successes: int
    n: int
    estimate: float
    low: float
    high: float
    method: str
    confidence: float
    population: int | None

    @property
    def half_width(self) -> float:
        """Half the interval's width, as a proportion (0..1)."""
        return (self.high - self.low) / 2

    def inspectorate_text(self) -> str:
        """Render as HMICFRS does, e.g. '92.6 percent (+/-2.7 percentage points)'."""
        if self.n == 0:
            return "no cases"
        return f"{self.estimate * 100:.1f} percent (+/-{self.half_width * 100:.1f} percentage points)"


@dataclass(frozen=True)
class Comparison:
    """Result of testing whether two audited proportions differ."""

    p1: float
    p2: float
    difference: float
    z: float
    p_value: float
    significant: bool
    method: str = TWO_PROPORTION_METHOD
    note: str | None = None


def _check_confidence(confidence: float) -> None:
    """Raise ValueError unless confidence lies strictly between 0 and 1."""
    # Written as a negated chained comparison so that NaN is rejected too.
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _check_counts(successes: int, n: int, label: str = "") -> None:
    """Raise ValueError unless 0 <= successes <= n."""
    if n < 0:
        raise ValueError(f"n{label} must not be negative, got {n}")
    if successes < 0:
        raise ValueError(f"successes{label} must not be negative, got {successes}")
    if successes > n:
        raise ValueError(f"successes{label} ({successes}) must not exceed n{label} ({n})")


def _z_for(confidence: float) -> float:
    """Two-sided critical value of the standard normal for a confidence level."""
    return _STANDARD_NORMAL.inv_cdf(1 - (1 - confidence) / 2)


def proportion_interval(
    successes: int,
    n: int,
    *,
    method: Literal["wilson", "normal"] = "wilson",
    confidence: float = 0.95,
    population: int | None = None,
) -> Interval:
    """Confidence interval for successes/n (Wilson or normal), with optional FPC."""
    _check_counts(successes, n)
    _check_confidence(confidence)
    if method not in ("wilson", "normal"):
        raise ValueError(f"method must be 'wilson' or 'normal', got {method!r}")
    if population is not None and population < n:
        raise ValueError(f"population ({population}) must not be smaller than n ({n})")

    if n == 0:
        # Nothing was audited: report total ignorance rather than NaN, so the
        # result can still be serialised and compared.
        return Interval(
            successes=0,
            n=0,
            estimate=0.0,
            low=0.0,
            high=1.0,
            method=method,
            confidence=confidence,
            population=population,
        )

    p = successes / n
    z = _z_for(confidence)

    # Squared finite-population correction (N - n) / (N - 1). When the whole
    # population was audited it is 0 by definition; testing population == n
    # first also avoids 0/0 when N == n == 1.
    fpc_sq = 1.0
    if population is not None:
        fpc_sq = 0.0 if population == n else (population - n) / (population - 1)

    if fpc_sq == 0.0:
        # A census has no sampling error, whichever method was asked for.
        low = high = p
    elif method == "normal":
        se = math.sqrt(p * (1 - p) / n) * math.sqrt(fpc_sq)
        low = p - z * se
        high = p + z * se
    else:
        # Wilson has no standard error to scale, so the FPC is applied the
        # usual way: shrinking the variance by fpc^2 is the same as observing
        # a larger sample, n_eff = n / fpc^2, with the same proportion p.
        n_eff = n / fpc_sq
        z_sq = z * z
        denom = 1 + z_sq / n_eff
        centre = (p + z_sq / (2 * n_eff)) / denom
        spread = (z / denom) * math.sqrt(p * (1 - p) / n_eff + z_sq / (4 * n_eff * n_eff))
        low = centre - spread
        high = centre + spread

    # The normal interval can leave [0, 1]; Wilson cannot in exact arithmetic
    # but rounding can put a bound a hair past p or past 0/1, which would
    # break low <= estimate <= high for callers.
    low = min(max(low, 0.0), p)
    high = max(min(high, 1.0), p)

    return Interval(
        successes=successes,
        n=n,
        estimate=p,
        low=low,
        high=high,
        method=method,
        confidence=confidence,
        population=population,
    )


def compare_proportions(
    x1: int,
    n1: int,
    x2: int,
    n2: int,
    *,
    confidence: float = 0.95,
) -> Comparison:
    """Two-sided two-proportion z-test (pooled SE) of x1/n1 against x2/n2."""
    _check_counts(x1, n1, "1")
    _check_counts(x2, n2, "2")
    _check_confidence(confidence)

    # An empty sample has no proportion; 0.0 keeps the fields NaN-free and
    # the note says why no test was done.
    p1 = x1 / n1 if n1 else 0.0
    p2 = x2 / n2 if n2 else 0.0
    difference = p2 - p1

    note: str | None = None
    pooled = (x1 + x2) / (n1 + n2) if n1 and n2 else 0.0
    if n1 == 0 or n2 == 0:
        note = "no test: at least one sample is empty (n1 or n2 is 0)"
    elif pooled in (0.0, 1.0):
        note = "no test: every case in both samples has the same outcome, so the pooled standard error is 0"

    if note is not None:
        return Comparison(
            p1=p1,
            p2=p2,
            difference=difference,
            z=0.0,
            p_value=1.0,
            significant=False,
            note=note,
        )

    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = difference / se
    # erfc keeps precision for large |z|, where 1 - cdf would cancel to 0.
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return Comparison(
        p1=p1,
        p2=p2,
        difference=difference,
        z=z,
        p_value=p_value,
        significant=p_value < 1 - confidence,
    )


def unrecorded_estimate(rate: float, recorded_per_year: int) -> int:
    """Crimes a year not recorded, scaling a recording rate to a yearly count.

    This is one reading of HMICFRS's "applying our audit findings ... to Home
    Office police-recorded crime figures (excluding fraud) for the force for
    the 12 months": if the force records a fraction ``rate`` of crimes and
    recorded ``recorded_per_year``, the total is recorded / rate, so the
    unrecorded remainder is recorded * (1 - rate) / rate, rounded half up.
    """
    # Negated comparison so NaN is rejected as well.
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"rate must be greater than 0 and at most 1, got {rate!r}")
    if recorded_per_year < 0:
        raise ValueError(f"recorded_per_year must not be negative, got {recorded_per_year}")
    raw = recorded_per_year * (1 - rate) / rate
    # A decimal rate such as 0.4 is not exact in binary, so a true half can
    # come out as 4.499999999999999; snapping to 6 places first removes that
    # noise (far below one crime) before the half-up decision. floor(x + 0.5)
    # rather than round(), whose banker's rounding would send 4.5 to 4.
    return math.floor(round(raw, 6) + 0.5)


def required_sample_size(p: float, half_width: float, confidence: float = 0.95) -> int:
    """Sample size for a normal-approximation interval of +/- half_width at p."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be between 0 and 1, got {p!r}")
    if not 0.0 < half_width <= 1.0:
        raise ValueError(f"half_width must be greater than 0 and at most 1, got {half_width!r}")
    _check_confidence(confidence)
    z = _z_for(confidence)
    exact = z * z * p * (1 - p) / (half_width * half_width)
    # A tiny allowance stops rounding noise (e.g. 545.0000000001) from
    # adding a whole case; at least one case is needed to estimate anything.
    return max(1, math.ceil(exact - 1e-9))
