"""Paired equivalence test: two one-sided t-tests (TOST) of the mean difference against a margin.

Schuirmann's (1987) TOST, as Lakens (2017) presents it for paired data: with the ``n`` differences'
mean ``m`` and SD ``s`` and a margin ``delta`` in units of that SD (a d_z), the bounds in raw units
are ``low = -delta s`` and ``high = +delta s``, and

* ``t_low = (m - low) / (s / sqrt(n))``, ``p_low = P(T_{n-1} > t_low)`` (H0: mean <= low), as
  R's ``t.test(d, mu = low, alternative = "greater")``;
* ``t_high = (m - high) / (s / sqrt(n))``, ``p_high = P(T_{n-1} < t_high)`` (H0: mean >= high), as
  ``t.test(d, mu = high, alternative = "less")``;

``p = max(p_low, p_high)``, and the difference is declared equivalent to zero (within the
margin) when ``p < alpha``, i.e. when the ``1 - 2 alpha`` t interval of the mean lies inside the
bounds. This is TOSTER's ``tsum_TOST(..., paired = TRUE, eqbound_type = "SMD")`` convention:
bounds from the observed SD of the differences (its default ``rm_correction = FALSE``, d_z).
TOSTER warns that standardized bounds are themselves estimated (the test is then not exact);
a margin fixed in raw units before the data are seen avoids that, and ``margin_dz x`` a
pre-registered SD gives one.

The reference values in ``tests/test_statistics_mixed_waves.py`` come from the two one-sided
``t.test`` calls in ``tests/r/mixed_waves_reference.R`` (TOSTER is not installed there).

Undefined (NaN figures, ``equivalent`` False) for fewer than 2 differences, a zero or non-finite
SD, or a non-positive margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Equivalence:
    low_bound: float  # -margin_dz x sd_diff, raw units
    high_bound: float  # +margin_dz x sd_diff
    t_low: float
    t_high: float
    df: float
    p_low: float  # H0: mean difference <= low_bound
    p_high: float  # H0: mean difference >= high_bound
    p: float  # max(p_low, p_high)
    equivalent: bool  # p < alpha


def paired_tost(mean_diff: float, sd_diff: float, n: int, margin_dz: float, alpha: float = 0.05) -> Equivalence:
    """TOST of a paired mean difference within +-``margin_dz`` SDs of the differences.

    >>> e = paired_tost(0.1, 1.0, 50, 0.5)
    >>> round(e.low_bound, 6), round(e.high_bound, 6), e.df, round(e.p, 6), e.equivalent
    (-0.5, 0.5, 49.0, 0.003379, True)
    """
    if not 0 < alpha < 0.5:
        raise ValueError("alpha must lie between 0 and 0.5")
    nan = math.nan
    if n < 2 or not (math.isfinite(sd_diff) and sd_diff > 0) or not math.isfinite(mean_diff) or not margin_dz > 0:
        bound = margin_dz * sd_diff if math.isfinite(margin_dz * sd_diff) else nan
        return Equivalence(-bound, bound, nan, nan, float(n - 1) if n >= 2 else nan, nan, nan, nan, False)
    low, high = -margin_dz * sd_diff, margin_dz * sd_diff
    se = sd_diff / math.sqrt(n)
    df = float(n - 1)
    t_low, t_high = (mean_diff - low) / se, (mean_diff - high) / se
    p_low, p_high = float(stats.t.sf(t_low, df)), float(stats.t.cdf(t_high, df))
    p = max(p_low, p_high)
    return Equivalence(low, high, t_low, t_high, df, p_low, p_high, p, bool(p < alpha))
