"""TEMPORARY SHIM (replaced by the wt-stats branch on merge)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Equivalence:
    low_bound: float
    high_bound: float
    t_low: float
    t_high: float
    df: float
    p_low: float
    p_high: float
    p: float
    equivalent: bool


def paired_tost(mean_diff, sd_diff, n, margin_dz, alpha=0.05) -> Equivalence:
    if n < 2 or not sd_diff > 0:
        return Equivalence(*([np.nan] * 8), False)
    se = sd_diff / np.sqrt(n)
    low, high = -margin_dz * sd_diff, margin_dz * sd_diff
    t_low, t_high = (mean_diff - low) / se, (mean_diff - high) / se
    df = n - 1
    p_low, p_high = stats.t.sf(t_low, df), stats.t.cdf(t_high, df)
    p = max(p_low, p_high)
    return Equivalence(low, high, t_low, t_high, df, p_low, p_high, p, p < alpha)
