"""Sensitivity of a paired t-test: the smallest d_z it detects with the wanted power.

Power of the two-sided paired t-test for effect ``d`` with ``n`` pairs (both rejection tails
counted, as ``pwr::pwr.t.test`` and R's ``power.t.test(strict = TRUE)``):

    power(d) = P(T' > t_crit) + P(T' < -t_crit),  T' ~ noncentral t(df = n - 1, ncp = d sqrt(n)),

with ``t_crit`` the ``1 - alpha/2`` quantile of t(n - 1) (Cohen, 1988, ch. 2). ``mde_dz`` solves
``power(d) = 0.80``. It describes the design, not the data: unlike post-hoc "observed power"
it does not use the observed effect (Hoenig & Heisey, 2001).

The noncentral t tails are ``paired.noncentral_t_sf``: scipy's where it is accurate, an exact
integral where it is not (a critical value or ncp beyond 1,000: n = 2 with alpha < 0.001).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from .paired import noncentral_t_sf

POWER = 0.80
#: Doublings allowed when bracketing the answer from above (2^200 covers any float).
MAX_EXPANSIONS = 200


def paired_power(d: float, n: int, alpha: float) -> float:
    """Power of the two-sided paired t-test at standardized effect ``d`` (a d_z) with ``n`` pairs."""
    df = n - 1
    critical = float(stats.t.isf(alpha / 2, df))  # isf, not ppf(1 - alpha/2): exact for tiny alpha
    ncp = d * np.sqrt(n)
    # P(T' < -c | ncp) = P(T' > c | -ncp); scipy's nct.cdf returns NaN far in that tail.
    return noncentral_t_sf(critical, df, ncp) + noncentral_t_sf(critical, df, -ncp)


def minimum_detectable_dz(n: int, alpha: float, power: float = POWER) -> float:
    """The d_z that a two-sided paired t-test with ``n`` pairs detects with ``power`` at ``alpha``; NaN for n < 2.

    Found by Brent's method between 0 (where the power is alpha) and twice the normal-theory
    answer, doubled (at most ``MAX_EXPANSIONS`` times) until its power reaches ``power``.
    With ``alpha >= power`` even d_z = 0 has the power, and the answer is 0.

    >>> round(minimum_detectable_dz(10, 0.05), 4)  # R: power.t.test(n = 10, power = .8, type = "paired", strict = TRUE)
    0.996
    """
    if n < 2:
        return np.nan
    if alpha >= power:
        return 0.0

    def shortfall(d: float) -> float:
        return paired_power(d, n, alpha) - power

    high = 2 * (stats.norm.isf(alpha / 2) + stats.norm.ppf(power)) / np.sqrt(n)  # twice the normal answer
    for _ in range(MAX_EXPANSIONS):
        if shortfall(high) >= 0:
            break
        high *= 2
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=500))
