"""Sensitivity of a paired t-test: the smallest d_z it detects with the wanted power.

Power of the two-sided paired t-test for effect ``d`` with ``n`` pairs (both rejection tails
counted, as ``pwr::pwr.t.test`` and R's ``power.t.test(strict = TRUE)``):

    power(d) = P(T' > t_crit) + P(T' < -t_crit),  T' ~ noncentral t(df = n - 1, ncp = d sqrt(n)),

with ``t_crit`` the ``1 - alpha/2`` quantile of t(n - 1) (Cohen, 1988, ch. 2). ``mde_dz`` solves
``power(d) = 0.80``. It describes the design, not the data: unlike post-hoc "observed power"
it does not use the observed effect (Hoenig & Heisey, 2001).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

POWER = 0.80


def paired_power(d: float, n: int, alpha: float) -> float:
    """Power of the two-sided paired t-test at standardized effect ``d`` (a d_z) with ``n`` pairs."""
    df = n - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    ncp = d * np.sqrt(n)
    # P(T' < -c | ncp) = P(T' > c | -ncp); scipy's nct.cdf returns NaN far in that tail.
    return float(stats.nct.sf(critical, df, ncp) + stats.nct.sf(critical, df, -ncp))


def minimum_detectable_dz(n: int, alpha: float, power: float = POWER) -> float:
    """The d_z that a two-sided paired t-test with ``n`` pairs detects with ``power`` at ``alpha``; NaN for n < 2.

    >>> round(minimum_detectable_dz(10, 0.05), 4)  # R: power.t.test(n = 10, power = .8, type = "paired", strict = TRUE)
    0.996
    """
    if n < 2:
        return np.nan
    high = 2 * (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) / np.sqrt(n)  # twice the normal answer
    while paired_power(high, n, alpha) < power:
        high *= 2
    return float(optimize.brentq(lambda d: paired_power(d, n, alpha) - power, 0.0, high, xtol=1e-12, rtol=1e-12))
