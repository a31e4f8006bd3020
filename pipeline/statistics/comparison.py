"""Program against a comparison group: ANCOVA, difference in differences, d_ppc2, baseline balance.

Every function takes the baseline ("from") and later ("to") scores of the participants of each
group who have both, as arrays, and returns a typed result; the analysis of a study with
``groups:`` (issue 13) applies them per variable and wave. Differences are program minus
comparison throughout.

* :func:`ancova`: ``lm(to ~ from + group)`` by least squares with a common slope (Vickers &
  Altman, 2001; Van Breukelen, 2006). Written from the per-group sums rather than by a fitting
  library because those sums are exact, cheap and mergeable across shards (the closed form is
  the one in Maxwell, Delaney & Kelley, 2018, ch. 9): with x = from, y = to and within-group
  sums of squares and cross-products SSW_x and SPW_xy, the pooled slope is
  b = SPW_xy / SSW_x, the adjusted difference Δ = (ȳ_P − ȳ_C) − b (x̄_P − x̄_C), its SE
  √(MSE [1/n_P + 1/n_C + (x̄_P − x̄_C)² / SSW_x]) with MSE on N − 3 df, and the adjusted
  means ȳ_g − b (x̄_g − x̄) at the grand mean x̄ (what ``emmeans(fit, ~ group)`` prints).
* :func:`difference_in_differences`: Student's two-sample t on the change scores with pooled
  variance, ``t.test(change ~ group, var.equal = TRUE)`` (scipy's ``ttest_ind``).
* :func:`d_ppc2`: Morris's (2008) standardized difference in mean change over the pooled
  baseline SD, c_P × [(M_to,P − M_from,P) − (M_to,C − M_from,C)] / SD_from,pooled with
  c_P = 1 − 3 / (4(n_P + n_C − 2) − 1); its sampling variance is Morris's eq. 25,
  c_P² A (n − 2)/(n − 4) (1 + d²/A) − d² with A = 2(1 − ρ)(n_P + n_C)/(n_P n_C), n = n_P + n_C
  and ρ the pooled within-group correlation of baseline and later scores; the interval is
  d ± 1.96 √v (the normal approximation Morris and metafor use).
* :func:`baseline_smd`: the standardized baseline difference as the What Works Clearinghouse
  computes Hedges' g: ω (M_P − M_C) / pooled SD with ω = 1 − 3 / (4N − 9) (WWC Procedures
  Handbook v5.0, 2022), read as ≤ 0.05 equivalent, 0.05–0.25 needing statistical adjustment,
  > 0.25 not equivalent (:func:`baseline_equivalence`).

Reference values from R are in ``tests/test_statistics_comparison.py`` with the R code in
``tests/r/comparison_reference.R``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Ancova:
    diff: float  # adjusted program − comparison difference at the later wave
    se: float
    ci_low: float
    ci_high: float
    t: float
    df: float
    p: float
    adj_mean_program: float
    adj_mean_comparison: float
    slope: float  # the common within-group slope on the baseline score


@dataclass(frozen=True)
class TwoSampleT:
    diff: float
    se: float
    t: float
    df: float
    p: float


@dataclass(frozen=True)
class StandardizedChange:
    d: float
    variance: float
    ci_low: float
    ci_high: float
    rho: float  # the pooled within-group correlation of baseline and later scores


def _pairs(from_scores, to_scores) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(from_scores, dtype=float), np.asarray(to_scores, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("from and to scores must be 1-D arrays of the same participants")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("scores must be finite: pass only participants scored at both waves")
    return x, y


def _nan_fields(cls):
    return cls(*[np.nan] * len(cls.__dataclass_fields__))


def ancova(from_program, to_program, from_comparison, to_comparison) -> Ancova:
    """``lm(to ~ from + group)`` with the program − comparison difference, its t interval on N − 3 df
    and the adjusted means at the grand baseline mean (see the module docstring).

    >>> a = ancova([1, 2, 3, 4], [2, 4, 4, 6], [1, 2, 3, 5], [1, 2, 2, 4])
    >>> round(a.diff, 6), round(a.slope, 6), a.df
    (1.972727, 0.890909, 5.0)
    """
    xp, yp = _pairs(from_program, to_program)
    xc, yc = _pairs(from_comparison, to_comparison)
    n_p, n_c = len(xp), len(xc)
    df = n_p + n_c - 3
    if n_p < 1 or n_c < 1 or df < 1:
        return _nan_fields(Ancova)
    ssw_x = np.sum((xp - xp.mean()) ** 2) + np.sum((xc - xc.mean()) ** 2)
    if not ssw_x > 0:
        return _nan_fields(Ancova)
    spw = np.sum((xp - xp.mean()) * (yp - yp.mean())) + np.sum((xc - xc.mean()) * (yc - yc.mean()))
    slope = spw / ssw_x
    gap = xp.mean() - xc.mean()
    diff = (yp.mean() - yc.mean()) - slope * gap
    residuals = np.concatenate([(yp - yp.mean()) - slope * (xp - xp.mean()), (yc - yc.mean()) - slope * (xc - xc.mean())])
    mse = np.sum(residuals**2) / df
    se = float(np.sqrt(mse * (1 / n_p + 1 / n_c + gap**2 / ssw_x)))
    grand = np.concatenate([xp, xc]).mean()
    adjusted = (yp.mean() - slope * (xp.mean() - grand), yc.mean() - slope * (xc.mean() - grand))
    if not se > 0:
        return Ancova(float(diff), np.nan, np.nan, np.nan, np.nan, float(df), np.nan, *map(float, adjusted), float(slope))
    t = diff / se
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, df) * se
    p = float(2 * stats.t.sf(abs(t), df))
    return Ancova(float(diff), se, float(diff - half), float(diff + half), float(t), float(df), p, *map(float, adjusted), float(slope))


def difference_in_differences(change_program, change_comparison) -> TwoSampleT:
    """Student's pooled-variance t on the change scores, program − comparison:
    ``t.test(change ~ group, var.equal = TRUE)`` (scipy's ``ttest_ind(equal_var=True)``).

    >>> r = difference_in_differences([1, 2, 1, 2], [0, 0, 1, -1])
    >>> round(r.diff, 6), round(r.t, 6), r.df
    (1.5, 3.0, 6.0)
    """
    a, b = np.asarray(change_program, dtype=float), np.asarray(change_comparison, dtype=float)
    n_a, n_b = len(a), len(b)
    df = n_a + n_b - 2
    if n_a < 1 or n_b < 1 or df < 1:
        return _nan_fields(TwoSampleT)
    pooled = ((n_a - 1) * np.var(a, ddof=1 if n_a > 1 else 0) + (n_b - 1) * np.var(b, ddof=1 if n_b > 1 else 0)) / df
    se = float(np.sqrt(pooled * (1 / n_a + 1 / n_b)))
    diff = float(a.mean() - b.mean())
    if not se > 0:
        return TwoSampleT(diff, np.nan, np.nan, float(df), np.nan)
    result = stats.ttest_ind(a, b, equal_var=True)
    return TwoSampleT(diff, se, float(result.statistic), float(df), float(result.pvalue))


def d_ppc2(from_program, to_program, from_comparison, to_comparison) -> StandardizedChange:
    """Morris's (2008) d_ppc2 with its eq. 25 variance and normal 95% interval (module docstring).

    >>> r = d_ppc2([1, 2, 3, 4, 5], [2, 4, 4, 6, 6], [1, 2, 3, 5, 4], [1, 2, 2, 4, 4])
    >>> round(r.d, 6), round(r.rho, 6)
    (1.02825, 0.938315)
    """
    xp, yp = _pairs(from_program, to_program)
    xc, yc = _pairs(from_comparison, to_comparison)
    n_p, n_c = len(xp), len(xc)
    n = n_p + n_c
    if n_p < 2 or n_c < 2:
        return _nan_fields(StandardizedChange)
    ss_x = np.sum((xp - xp.mean()) ** 2) + np.sum((xc - xc.mean()) ** 2)
    ss_y = np.sum((yp - yp.mean()) ** 2) + np.sum((yc - yc.mean()) ** 2)
    sp = np.sum((xp - xp.mean()) * (yp - yp.mean())) + np.sum((xc - xc.mean()) * (yc - yc.mean()))
    sd_from = np.sqrt(ss_x / (n - 2))
    if not (sd_from > 0 and ss_y > 0):
        return _nan_fields(StandardizedChange)
    correction = 1 - 3 / (4 * (n - 2) - 1)
    d = correction * ((yp.mean() - xp.mean()) - (yc.mean() - xc.mean())) / sd_from
    rho = sp / np.sqrt(ss_x * ss_y)
    if n <= 4:
        return StandardizedChange(float(d), np.nan, np.nan, np.nan, float(rho))
    a = 2 * (1 - rho) * n / (n_p * n_c)
    variance = correction**2 * a * (n - 2) / (n - 4) * (1 + d**2 / a) - d**2 if a > 0 else np.nan
    half = stats.norm.ppf(0.5 + CONFIDENCE / 2) * np.sqrt(variance) if variance > 0 else np.nan
    return StandardizedChange(float(d), float(variance), float(d - half), float(d + half), float(rho))


def baseline_smd(baseline_program, baseline_comparison) -> float:
    """Hedges' g of the baseline difference as the What Works Clearinghouse computes it:
    (1 − 3 / (4N − 9)) (M_P − M_C) / pooled SD, over everyone scored at baseline.

    >>> round(baseline_smd([3, 4, 5, 6], [2, 3, 4, 5]), 6)
    0.673562
    """
    a, b = np.asarray(baseline_program, dtype=float), np.asarray(baseline_comparison, dtype=float)
    n_a, n_b = len(a), len(b)
    if n_a < 2 or n_b < 2:
        return np.nan
    pooled = np.sqrt(((n_a - 1) * np.var(a, ddof=1) + (n_b - 1) * np.var(b, ddof=1)) / (n_a + n_b - 2))
    if not pooled > 0:
        return np.nan
    omega = 1 - 3 / (4 * (n_a + n_b) - 9)
    return float(omega * (a.mean() - b.mean()) / pooled)


def baseline_equivalence(smd: float) -> str:
    """The What Works Clearinghouse reading of a baseline difference: ``equivalent`` (|g| ≤ 0.05),
    ``adjustment needed`` (0.05 < |g| ≤ 0.25: the ANCOVA adjusts for it), ``not equivalent`` (> 0.25)."""
    if np.isnan(smd):
        return ""
    size = abs(smd)
    return "equivalent" if size <= 0.05 else "adjustment needed" if size <= 0.25 else "not equivalent"
