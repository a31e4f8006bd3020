"""Paired descriptives, Student's t-test and standardized mean differences for pre/post data.

With ``D = post - pre`` over the ``n`` participants scored at both waves:

* ``t = mean(D) / (SD(D) / sqrt(n))`` on ``n - 1`` df, two-sided, with the 95% t interval of
  the mean difference (Student, 1908), as R's ``t.test(post, pre, paired = TRUE)``;
* ``d_z = mean(D) / SD(D)`` (Cohen, 1988; Lakens, 2013, eq. 6), with a 95% interval found by
  inverting the noncentral t distribution (Steiger & Fouladi, 1997), as
  ``effectsize::cohens_d(post, pre, paired = TRUE)``;
* ``d_av = mean(D) / ((SD_pre + SD_post) / 2)``: the change in units of the average of the two
  waves' SDs (Cumming, 2012; Lakens, 2013, eq. 10), comparable with between-group d;
* ``g_av = J(n - 1) x d_av`` with Hedges' (1981) exact small-sample factor
  ``J(df) = Gamma(df / 2) / (sqrt(df / 2) Gamma((df - 1) / 2))``, the factor
  ``effectsize::hedges_g`` and ``repeated_measures_d(adjust = TRUE)`` use, with ``df = n - 1``
  for paired data (not pingouin's ``2n - 2``);
* ``shapiro_p``: the Shapiro-Wilk test of the differences (Royston, 1995, algorithm AS R94, as
  R's ``shapiro.test``), defined for 3 to 5,000 differences that are not all equal.

SDs use ``n - 1``. A statistic the data cannot define is NaN, and ``note`` says why.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

CONFIDENCE = 0.95
SHAPIRO_MAX_N = 5000

PAIRED_COLUMNS = [
    "n_pairs", "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "sd_diff", "ci_low", "ci_high",
    "t", "df", "p", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "shapiro_p",
]  # fmt: skip


def dz_confidence_interval(t: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Interval for d_z by inverting the noncentral t distribution (Steiger & Fouladi, 1997).

    Finds the noncentrality parameters ``ncp`` with ``P(T <= t | df = n - 1, ncp) = 1 - a/2``
    and ``= a/2`` and divides them by sqrt(n), as ``effectsize::cohens_d(paired = TRUE)``.
    """
    df = n - 1
    tail = (1 - confidence) / 2

    def solve(target: float) -> float:
        def gap(ncp: float) -> float:
            return stats.nct.cdf(t, df, ncp) - target

        width = 2.0 + abs(t) * 0.5
        low, high = t - width, t + width
        while gap(low) < 0:
            low -= width
        while gap(high) > 0:
            high += width
        return optimize.brentq(gap, low, high, xtol=1e-12, rtol=1e-12, maxiter=500)

    return solve(1 - tail) / np.sqrt(n), solve(tail) / np.sqrt(n)


def hedges_correction(df: float) -> float:
    """Hedges' (1981) exact bias factor J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)); NaN for df < 2.

    >>> round(hedges_correction(9), 6)  # 10 pairs; R: hedges_g / cohens_d (paired)
    0.913875
    """
    if not df >= 2:
        return np.nan
    return float(np.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / np.sqrt(df / 2))


def shapiro_wilk_p(differences: np.ndarray) -> tuple[float, str]:
    """Shapiro-Wilk p of the differences, or NaN with the reason R's ``shapiro.test`` would refuse."""
    n = len(differences)
    if not 3 <= n <= SHAPIRO_MAX_N:
        return np.nan, f"Shapiro-Wilk needs 3 to {SHAPIRO_MAX_N:,} pairs"
    if np.ptp(differences) < 1e-10:  # R: "all 'x' values are identical"
        return np.nan, ""
    return float(stats.shapiro(differences).pvalue), ""


def paired_statistics(pre, post) -> dict:
    """Descriptives, paired t-test, d_z (with interval), d_av, g_av and Shapiro-Wilk p.

    ``pre`` and ``post`` are aligned arrays of complete pairs. Returns the ``PAIRED_COLUMNS``
    plus ``notes`` (a list of reasons for any statistic left undefined).

    >>> row = paired_statistics([1, 2, 3, 4], [2, 4, 3, 6])
    >>> [round(float(row[k]), 4) for k in ("t", "d_z", "d_av")]
    [2.6112, 1.3056, 0.8337]
    """
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    n = len(pre)
    row = dict.fromkeys(PAIRED_COLUMNS, np.nan)
    row.update(n_pairs=n, notes=[])
    if n == 0:
        row["notes"].append("no participant has a score at both waves")
        return row
    diff = post - pre
    row.update(mean_pre=pre.mean(), mean_post=post.mean(), mean_diff=diff.mean())
    if n < 2:
        row["notes"].append("fewer than 2 pairs: no test")
        return row
    sd_pre, sd_post = pre.std(ddof=1), post.std(ddof=1)
    row.update(sd_pre=sd_pre, sd_post=sd_post, sd_diff=diff.std(ddof=1), df=n - 1)
    average_sd = (sd_pre + sd_post) / 2
    if average_sd > 0:
        row["d_av"] = row["mean_diff"] / average_sd
        row["g_av"] = hedges_correction(n - 1) * row["d_av"]
    row["shapiro_p"], shapiro_note = shapiro_wilk_p(diff)
    if not row["sd_diff"] > 0:
        row["notes"].append("every participant changed by the same amount: no variance, no t-test")
        return row
    if shapiro_note:
        row["notes"].append(shapiro_note)
    se = row["sd_diff"] / np.sqrt(n)
    t = row["mean_diff"] / se
    margin = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * se
    d_low, d_high = dz_confidence_interval(t, n)
    row.update(
        t=t,
        p=2 * stats.t.sf(abs(t), n - 1),
        ci_low=row["mean_diff"] - margin,
        ci_high=row["mean_diff"] + margin,
        d_z=row["mean_diff"] / row["sd_diff"],
        d_z_ci_low=d_low,
        d_z_ci_high=d_high,
    )
    return row
