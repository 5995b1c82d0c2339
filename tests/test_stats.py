"""Tests for checker.stats: published HMICFRS figures, peer libraries, properties."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from checker.audit.stats import (
    TWO_PROPORTION_METHOD,
    Comparison,
    Interval,
    compare_proportions,
    proportion_interval,
    required_sample_size,
    unrecorded_estimate,
)

TOL = 1e-9


@st.composite
def counts(draw: st.DrawFn, max_n: int = 5000) -> tuple[int, int]:
    """Draw (successes, n) with n >= 1 and 0 <= successes <= n."""
    n = draw(st.integers(min_value=1, max_value=max_n))
    x = draw(st.integers(min_value=0, max_value=n))
    return x, n


@st.composite
def counts_with_population(draw: st.DrawFn) -> tuple[int, int, int]:
    """Draw (successes, n, population) with population >= n."""
    x, n = draw(counts())
    population = n + draw(st.integers(min_value=0, max_value=100_000))
    return x, n, population


confidences = st.floats(min_value=0.5, max_value=0.999)


# --- Worked figures from HMICFRS reports ------------------------------------


def test_sample_size_behind_92_6_plus_minus_2_7() -> None:
    # A +/-2.7 point interval at 92.6% implies an audit of roughly 360 cases.
    n = required_sample_size(0.926, 0.027)
    assert 355 <= n <= 365
    assert n == 362


def test_92_6_percent_at_360_cases_normal_text() -> None:
    # round(0.926 * 360) = 333 and 333/360 = 92.5%, so the text says 92.5.
    interval = proportion_interval(round(0.926 * 360), 360, method="normal")
    assert interval.successes == 333
    assert interval.inspectorate_text() == "92.5 percent (+/-2.7 percentage points)"


def test_92_6_percent_reproduced_exactly() -> None:
    # 338/365 = 92.60%: the published phrase itself comes back.
    interval = proportion_interval(338, 365, method="normal")
    assert interval.inspectorate_text() == "92.6 percent (+/-2.7 percentage points)"


def test_glossary_85_percent_plus_minus_3_points_is_82_to_88() -> None:
    # HMICFRS glossary: 85% with +/-3 points means 82% to 88%.
    interval = Interval(
        successes=476,
        n=560,
        estimate=0.85,
        low=0.82,
        high=0.88,
        method="normal",
        confidence=0.95,
        population=None,
    )
    assert interval.inspectorate_text() == "85.0 percent (+/-3.0 percentage points)"

    computed = proportion_interval(476, 560, method="normal")
    assert computed.inspectorate_text() == "85.0 percent (+/-3.0 percentage points)"
    assert round(computed.low * 100) == 82
    assert round(computed.high * 100) == 88


def test_92_6_vs_82_6_is_significant() -> None:
    result = compare_proportions(round(0.826 * 360), 360, round(0.926 * 360), 360)
    assert result.significant
    assert result.p_value < 0.001
    assert result.difference > 0
    assert result.note is None
    assert result.method == TWO_PROPORTION_METHOD


@pytest.mark.parametrize(("n1", "n2"), [(360, 360), (360, 365), (355, 362)])
def test_89_7_vs_89_8_is_not_significant(n1: int, n2: int) -> None:
    result = compare_proportions(round(0.897 * n1), n1, round(0.898 * n2), n2)
    assert not result.significant
    assert result.p_value > 0.5
    assert result.note is None


def test_unrecorded_estimate_worked() -> None:
    # At 90% recording, 90,000 recorded crimes imply 10,000 not recorded.
    assert unrecorded_estimate(0.9, 90_000) == 10_000
    assert unrecorded_estimate(1.0, 50_000) == 0
    assert unrecorded_estimate(0.926, 100_000) == 7_991


def test_unrecorded_estimate_rounds_half_up() -> None:
    # 3 * 0.6 / 0.4 = 4.5 (computed in binary as 4.4999...): half goes up.
    assert unrecorded_estimate(0.4, 3) == 5
    assert unrecorded_estimate(0.4, 1) == 2
    assert unrecorded_estimate(0.8, 2) == 1


# --- Edge cases -------------------------------------------------------------


@pytest.mark.parametrize("method", ["wilson", "normal"])
def test_no_cases(method: str) -> None:
    interval = proportion_interval(0, 0, method=method)  # type: ignore[arg-type]
    assert (interval.estimate, interval.low, interval.high) == (0.0, 0.0, 1.0)
    assert interval.half_width == 0.5
    assert interval.inspectorate_text() == "no cases"


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "note_start"),
    [
        (0, 0, 5, 10, "no test: at least one sample is empty"),
        (5, 10, 0, 0, "no test: at least one sample is empty"),
        (0, 0, 0, 0, "no test: at least one sample is empty"),
        (0, 10, 0, 20, "no test: every case in both samples has the same outcome"),
        (10, 10, 20, 20, "no test: every case in both samples has the same outcome"),
    ],
)
def test_compare_degenerate(x1: int, n1: int, x2: int, n2: int, note_start: str) -> None:
    result = compare_proportions(x1, n1, x2, n2)
    assert result.z == 0.0
    assert result.p_value == 1.0
    assert not result.significant
    assert result.note is not None and result.note.startswith(note_start)
    for value in (result.p1, result.p2, result.difference):
        assert not math.isnan(value)


def test_compare_fields() -> None:
    result = compare_proportions(10, 100, 20, 100)
    assert isinstance(result, Comparison)
    assert result.p1 == 0.1
    assert result.p2 == 0.2
    assert result.difference == pytest.approx(0.1)
    assert result.z > 0


# --- Input validation (messages pinned) -------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"successes": -1, "n": 10}, "successes must not be negative, got -1"),
        ({"successes": 1, "n": -1}, "n must not be negative, got -1"),
        ({"successes": 11, "n": 10}, "successes (11) must not exceed n (10)"),
        (
            {"successes": 5, "n": 10, "population": 9},
            "population (9) must not be smaller than n (10)",
        ),
        (
            {"successes": 5, "n": 10, "confidence": 0.0},
            "confidence must be strictly between 0 and 1, got 0.0",
        ),
        (
            {"successes": 5, "n": 10, "confidence": 1.0},
            "confidence must be strictly between 0 and 1, got 1.0",
        ),
        (
            {"successes": 5, "n": 10, "confidence": math.nan},
            "confidence must be strictly between 0 and 1, got nan",
        ),
        (
            {"successes": 5, "n": 10, "method": "exact"},
            "method must be 'wilson' or 'normal', got 'exact'",
        ),
    ],
)
def test_proportion_interval_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        proportion_interval(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 10, 1, 10), "successes1 must not be negative, got -1"),
        ((1, 10, 11, 10), "successes2 (11) must not exceed n2 (10)"),
        ((1, -10, 1, 10), "n1 must not be negative, got -10"),
    ],
)
def test_compare_errors(args: tuple[int, int, int, int], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        compare_proportions(*args)


def test_compare_bad_confidence() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape("confidence must be strictly between 0 and 1, got 1.5"),
    ):
        compare_proportions(1, 10, 2, 10, confidence=1.5)


@pytest.mark.parametrize(
    ("rate", "recorded", "message"),
    [
        (0.0, 100, "rate must be greater than 0 and at most 1, got 0.0"),
        (-0.5, 100, "rate must be greater than 0 and at most 1, got -0.5"),
        (1.01, 100, "rate must be greater than 0 and at most 1, got 1.01"),
        (math.nan, 100, "rate must be greater than 0 and at most 1, got nan"),
        (0.9, -1, "recorded_per_year must not be negative, got -1"),
    ],
)
def test_unrecorded_estimate_errors(rate: float, recorded: int, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        unrecorded_estimate(rate, recorded)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1.5, 0.03), "p must be between 0 and 1, got 1.5"),
        ((0.5, 0.0), "half_width must be greater than 0 and at most 1, got 0.0"),
        ((0.5, 0.03, 1.0), "confidence must be strictly between 0 and 1, got 1.0"),
    ],
)
def test_required_sample_size_errors(args: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        required_sample_size(*args)


# --- Properties ---------------------------------------------------------------


@given(
    data=counts_with_population(),
    method=st.sampled_from(["wilson", "normal"]),
    confidence=confidences,
    use_population=st.booleans(),
)
@example(data=(0, 1, 1), method="wilson", confidence=0.95, use_population=True)
@example(data=(1, 1, 5), method="normal", confidence=0.95, use_population=True)
def test_interval_is_ordered_and_bounded(
    data: tuple[int, int, int], method: str, confidence: float, use_population: bool
) -> None:
    x, n, population = data
    interval = proportion_interval(
        x,
        n,
        method=method,  # type: ignore[arg-type]
        confidence=confidence,
        population=population if use_population else None,
    )
    assert 0.0 <= interval.low <= interval.estimate <= interval.high <= 1.0
    assert interval.estimate == x / n
    assert interval.half_width >= 0.0


@given(
    data=counts(),
    extra=st.integers(min_value=1, max_value=100_000),
    method=st.sampled_from(["wilson", "normal"]),
)
def test_fpc_narrows(data: tuple[int, int], extra: int, method: str) -> None:
    x, n = data
    wide = proportion_interval(x, n, method=method)  # type: ignore[arg-type]
    narrow = proportion_interval(
        x,
        n,
        method=method,  # type: ignore[arg-type]
        population=n + extra,
    )
    assert narrow.half_width <= wide.half_width + 1e-15
    if method == "wilson" and n >= 2:
        # With n >= 2 the correction is below 1, and Wilson always has width.
        assert narrow.half_width < wide.half_width


@given(data=counts(), method=st.sampled_from(["wilson", "normal"]))
def test_census_has_zero_width(data: tuple[int, int], method: str) -> None:
    x, n = data
    interval = proportion_interval(x, n, method=method, population=n)  # type: ignore[arg-type]
    assert interval.low == interval.high == interval.estimate
    assert interval.half_width == 0.0


@given(
    p=st.floats(min_value=0.01, max_value=0.99),
    half_width=st.floats(min_value=0.005, max_value=0.2),
    confidence=confidences,
)
def test_required_sample_size_is_minimal(p: float, half_width: float, confidence: float) -> None:
    n = required_sample_size(p, half_width, confidence)
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)

    def achieved(size: int) -> float:
        return z * math.sqrt(p * (1 - p) / size)

    assert achieved(n) <= half_width * (1 + 1e-9)
    if n > 1:
        assert achieved(n - 1) > half_width


@given(
    rate=st.floats(min_value=0.01, max_value=1.0),
    recorded=st.integers(min_value=0, max_value=10_000_000),
)
def test_unrecorded_estimate_close_to_formula(rate: float, recorded: int) -> None:
    estimate = unrecorded_estimate(rate, recorded)
    assert estimate >= 0
    assert abs(estimate - recorded * (1 - rate) / rate) <= 0.5 + 1e-6


# --- Peer checks: statsmodels -------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(data=counts(), confidence=confidences, method=st.sampled_from(["wilson", "normal"]))
def test_interval_matches_statsmodels(data: tuple[int, int], confidence: float, method: str) -> None:
    sm_prop = pytest.importorskip("statsmodels.stats.proportion")
    x, n = data
    low, high = sm_prop.proportion_confint(x, n, alpha=1 - confidence, method=method)
    ours = proportion_interval(x, n, method=method, confidence=confidence)  # type: ignore[arg-type]
    assert ours.low == pytest.approx(float(low), abs=TOL)
    assert ours.high == pytest.approx(float(high), abs=TOL)


@settings(max_examples=300, deadline=None)
@given(a=counts(), b=counts(), confidence=confidences)
def test_ztest_matches_statsmodels(a: tuple[int, int], b: tuple[int, int], confidence: float) -> None:
    sm_prop = pytest.importorskip("statsmodels.stats.proportion")
    (x1, n1), (x2, n2) = a, b
    ours = compare_proportions(x1, n1, x2, n2, confidence=confidence)
    if x1 + x2 in (0, n1 + n2):
        # statsmodels divides by a zero standard error here; we refuse to test.
        assert ours.note is not None
        return
    # statsmodels computes first minus second, so list sample 2 first to get
    # the same sign as our p2 - p1.
    z, p_value = sm_prop.proportions_ztest([x2, x1], [n2, n1])
    assert ours.z == pytest.approx(float(z), rel=TOL, abs=TOL)
    assert ours.p_value == pytest.approx(float(p_value), abs=TOL)
    assert ours.significant == (float(p_value) < 1 - confidence) or (abs(float(p_value) - (1 - confidence)) < TOL)


# --- Peer checks: independent scipy computations ------------------------------


def _scipy_wilson(x: int, n: int, confidence: float, population: int | None) -> tuple[float, float]:
    """Wilson bounds as roots of (p - pi)^2 = z^2 pi (1 - pi) / n_eff."""
    norm = pytest.importorskip("scipy.stats").norm
    z = float(norm.ppf(0.5 + confidence / 2))
    p = x / n
    n_eff = float(n)
    if population is not None:
        if population == n:
            return p, p
        n_eff = n * (population - 1) / (population - n)
    k = z * z / n_eff
    # Quadratic a*pi^2 + b*pi + c = 0, expanded from the score equation.
    a = 1 + k
    b = -(2 * p + k)
    c = p * p
    # b^2 - 4ac written as k(4p(1-p) + k): the same value, never negative and without the
    # cancellation that loses the last digits when n_eff is in the millions (x = n, N = n + 1)
    assert abs((b * b - 4 * a * c) - k * (4 * p * (1 - p) + k)) < 1e-9
    root = math.sqrt(k * (4 * p * (1 - p) + k))
    return max(0.0, (-b - root) / (2 * a)), min(1.0, (-b + root) / (2 * a))


def _scipy_normal(x: int, n: int, confidence: float, population: int | None) -> tuple[float, float]:
    """Wald bounds with the finite-population factor, clipped to [0, 1]."""
    norm = pytest.importorskip("scipy.stats").norm
    z = float(norm.ppf(0.5 + confidence / 2))
    p = x / n
    factor = 1.0 if population is None else math.sqrt((population - n) / (population - 1))
    se = math.sqrt(p * (1 - p) / n) * factor
    return max(0.0, p - z * se), min(1.0, p + z * se)


@settings(max_examples=300, deadline=None)
@given(data=counts_with_population(), confidence=confidences, use_population=st.booleans())
@example(data=(1, 1, 1), confidence=0.95, use_population=True)
@example(data=(0, 1, 2), confidence=0.95, use_population=True)
@example(data=(4948, 4948, 4949), confidence=0.5, use_population=True)
@example(data=(2471, 2471, 2472), confidence=0.5, use_population=True)
def test_wilson_matches_scipy(data: tuple[int, int, int], confidence: float, use_population: bool) -> None:
    x, n, population = data
    pop = population if use_population else None
    low, high = _scipy_wilson(x, n, confidence, pop)
    ours = proportion_interval(x, n, confidence=confidence, population=pop)
    assert ours.low == pytest.approx(low, abs=TOL)
    assert ours.high == pytest.approx(high, abs=TOL)


@settings(max_examples=300, deadline=None)
@given(data=counts_with_population(), confidence=confidences, use_population=st.booleans())
def test_normal_matches_scipy(data: tuple[int, int, int], confidence: float, use_population: bool) -> None:
    x, n, population = data
    pop = population if use_population else None
    if pop is not None and pop == n:
        # The textbook factor is 0/0 when N == n == 1; a census is exact anyway.
        ours = proportion_interval(x, n, method="normal", confidence=confidence, population=pop)
        assert ours.low == ours.high == x / n
        return
    low, high = _scipy_normal(x, n, confidence, pop)
    ours = proportion_interval(x, n, method="normal", confidence=confidence, population=pop)
    assert ours.low == pytest.approx(low, abs=TOL)
    assert ours.high == pytest.approx(high, abs=TOL)


@settings(max_examples=300, deadline=None)
@given(a=counts(), b=counts())
def test_ztest_p_value_matches_scipy(a: tuple[int, int], b: tuple[int, int]) -> None:
    norm = pytest.importorskip("scipy.stats").norm
    (x1, n1), (x2, n2) = a, b
    ours = compare_proportions(x1, n1, x2, n2)
    if x1 + x2 in (0, n1 + n2):
        assert ours.note is not None
        return
    pooled = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert ours.z == pytest.approx(z, rel=TOL, abs=TOL)
    assert ours.p_value == pytest.approx(2 * float(norm.sf(abs(z))), abs=TOL)
