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

SDs use ``n - 1``. A statistic the data cannot define is NaN, and ``note`` says why. As R's
``t.test`` does, differences whose standard error is below ``10 x machine epsilon x |mean|``
count as constant (their SD is rounding noise, not variance).

The noncentral t distribution function (``noncentral_t_cdf`` / ``noncentral_t_sf``) is scipy's
(Boost's) where that is accurate, and an exact one-dimensional integral elsewhere; ``power``
uses it too.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate, optimize, special, stats

CONFIDENCE = 0.95
SHAPIRO_MAX_N = 5000

#: scipy's noncentral t (Boost) is used while |t| and |ncp| are at most this. Measured against
#: 40-digit mpmath integrals (made as tests/test_statistics_robust.py describes) for df = 1 to
#: 1e7: within 1e-14 up to 1,000 and 1e-13 to 4,000 (df >= 1,000; 4e-11 at df = 10), but off by
#: 5e-9 at 5,000 and by 1e-8 to 4e-6 from 6,000 on.
SCIPY_NCT_LIMIT = 1000.0
#: The standard normal mass beyond +-12 is 3.6e-33: the exact integral is cut there.
NORMAL_EDGE = 12.0
#: Bracket expansion steps before giving up (each doubles the step: 2^200 covers any float).
MAX_EXPANSIONS = 200

PAIRED_COLUMNS = [
    "n_pairs", "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "sd_diff", "ci_low", "ci_high",
    "t", "df", "p", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "shapiro_p",
]  # fmt: skip


def _chi2_sf(x: float, df: float) -> float:
    """P(chi2_df > x).

    scipy's ``special.chdtrc`` (Cephes) except well below the mean at large df: there Cephes
    forms 1 - P with a lower-tail series that is measured off by up to 1% in P at df = 1e7,
    4.6 to 8 SD below the mean (2.6e-8 in 1 - P). Below mean - 4 SD this function uses
    ``1 - special.chndtr(x, df, 0)``, whose central branch is cdflib's incomplete gamma ratio
    (DiDonato & Morris, 1986, ACM algorithm 654), accurate there to 6e-14 relative in P.
    """
    if x < df - 4 * np.sqrt(2 * df):
        return 1.0 - float(special.chndtr(x, df, 0.0))
    return float(special.chdtrc(df, x))


def _integral_cdf(t: float, df: float, ratio: float) -> float:
    """P(T <= t) for t > 0, T noncentral t with ``df`` and ``ncp = ratio x t``, by exact integration.

    With T = (Z + ncp) / S, Z standard normal and S = sqrt(chi2_df / df) independent (the
    definition; Johnson, Kotz & Balakrishnan, 1995, ch. 31), conditioning on Z gives

        P(T <= t) = Phi(-ncp) + integral_{-ncp}^{inf} phi(z) Q_df(df ((z + ncp) / t)^2) dz,

    Q_df the chi-square survival function (``_chi2_sf``, accurate to ~1e-16 absolute up to
    df = 1e7 at least). The integrand is smooth on the scale of phi except near
    z* = t - ncp, where Q falls over a width ~ t / sqrt(2 df); that point and
    its neighbours are given to ``quad`` as break points. ``(z + ncp) / t`` is computed as
    ``ratio + z / t`` so that any finite t (up to 1e308) works without overflow. The integral is
    cut at |z| = 12 (an error below 4e-33); ``quad`` is asked for 1e-15 absolute.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        ncp = t * ratio  # may be +-inf for huge t: only Phi(-ncp) and the limits use it
        head = float(special.ndtr(-ncp))
        low = max(-ncp, -NORMAL_EDGE)
        if not low < NORMAL_EDGE:
            return head

        def integrand(z: float) -> float:
            scaled = ratio + z / t
            return float(np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi) * _chi2_sf(df * scaled * scaled, df))

        centre, width = t * (1 - ratio), t / np.sqrt(2 * df)
        points = [centre + k * width for k in (-6, -3, -1, 0, 1, 3, 6)] + [0.0]
        points = sorted(p for p in points if low < p < NORMAL_EDGE)
        with warnings.catch_warnings():  # a roundoff notice at 1e-15 is not an inaccuracy worth a warning
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            body = integrate.quad(integrand, low, NORMAL_EDGE, points=points or None, epsabs=1e-15, epsrel=1e-13, limit=400)[0]
    return min(max(head + body, 0.0), 1.0)


def _cdf_at(t: float, df: float, x: float, unit: float) -> float:
    """P(T <= t | df, ncp = x * unit) for t >= 0 and unit = max(t, 1) (see ``noncentral_t_cdf``)."""
    if t > SCIPY_NCT_LIMIT:
        return _integral_cdf(t, df, x)  # unit = t: x is ncp / t
    ncp = x * unit
    if t == 0:  # T <= 0 exactly when Z + ncp <= 0
        return float(special.ndtr(-ncp))
    if abs(ncp) <= SCIPY_NCT_LIMIT:
        value = float(stats.nct.cdf(t, df, ncp))
        if np.isfinite(value):
            return value
    if t < 1:
        # Z + ncp <= t S with t < 1 and |ncp| > 1,000: Phi(-ncp) is exact to below 1e-300, since
        # it would take S > 988 (chi2_df > 976,000 df) to change it.
        return float(special.ndtr(-ncp))
    return _integral_cdf(t, df, ncp / t)


def noncentral_t_cdf(t: float, df: float, ncp: float) -> float:
    """P(T <= t) for T ~ noncentral t(df, ncp), for any finite t and ncp and df > 0.

    scipy's ``stats.nct.cdf`` (Boost) where |t| and |ncp| are at most ``SCIPY_NCT_LIMIT``,
    otherwise (or if scipy returns NaN) the exact integral of ``_integral_cdf``; negative t via
    P(T <= t | ncp) = 1 - P(T <= -t | -ncp). Accurate to about 1e-13 absolute.

    >>> round(noncentral_t_cdf(30000.0, 9_999_999, 30013.29305964), 6)  # mpmath, 40 digits: 0.025
    0.025
    """
    if t < 0:
        return 1.0 - noncentral_t_cdf(-t, df, -ncp)
    unit = max(t, 1.0)
    return _cdf_at(t, df, ncp / unit, unit)


def noncentral_t_sf(t: float, df: float, ncp: float) -> float:
    """P(T > t) for T ~ noncentral t(df, ncp): scipy's ``nct.sf`` where accurate, else 1 - ``noncentral_t_cdf``."""
    if abs(t) <= SCIPY_NCT_LIMIT and abs(ncp) <= SCIPY_NCT_LIMIT:
        value = float(stats.nct.sf(t, df, ncp))
        if np.isfinite(value):
            return value
    return 1.0 - noncentral_t_cdf(t, df, ncp)


def _solve_ncp(t: float, df: float, target: float, z: float) -> float:
    """The ncp / max(t, 1) at which P(T <= t | df, ncp) = target, for t >= 0.

    The bracket starts at the normal approximation ncp ~ t -+ z sqrt(1 + t^2 / (2 df))
    (Abramowitz & Stegun, 1964, 26.7.10, without its 1 - 1/(4 df) factor) and widens by
    doubling steps, at most
    ``MAX_EXPANSIONS`` times; the distribution function is finite everywhere it is evaluated.
    Working in units of max(t, 1) keeps huge t from overflowing.
    """
    unit = max(t, 1.0)
    spread = np.hypot(1.0, t / np.sqrt(2 * df)) / unit  # hypot: t^2 cannot overflow
    guess = t / unit + (z if target < 0.5 else -z) * spread

    def gap(x: float) -> float:  # decreasing in x
        return _cdf_at(t, df, x, unit) - target

    low, high, step = guess - spread, guess + spread, spread
    for _ in range(MAX_EXPANSIONS):
        if gap(low) > 0:
            break
        low, step = low - step, 2 * step
    step = spread
    for _ in range(MAX_EXPANSIONS):
        if gap(high) < 0:
            break
        high, step = high + step, 2 * step
    return optimize.brentq(gap, low, high, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


def dz_confidence_interval(t: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Interval for d_z by inverting the noncentral t distribution (Steiger & Fouladi, 1997).

    Finds the noncentrality parameters ``ncp`` with ``P(T <= t | df = n - 1, ncp) = 1 - a/2``
    and ``= a/2`` and divides them by sqrt(n), as ``effectsize::cohens_d(paired = TRUE)``.
    Defined for every finite t and n >= 2: ``noncentral_t_cdf`` says which method gives the
    distribution (scipy up to |t| = 1,000, an exact integral beyond), the root is bracketed
    next to the normal approximation and found by Brent's method (the tests find the bounds
    within 6e-15 relative of 40-digit mpmath ones, n = 2 to 1e7, t up to 1e6). Negative
    t uses the symmetry interval(-t) = -interval(t); t = 0 gives +-z_(1-a/2) / sqrt(n) exactly.
    A bound beyond the float range (|d_z| near 1e308) is returned as the largest float.
    """
    if t < 0:
        low, high = dz_confidence_interval(-t, n, confidence)
        return -high, -low
    df = n - 1
    tail = (1 - confidence) / 2
    z = float(stats.norm.isf(tail))
    unit_dz = max(t, 1.0) / np.sqrt(n)
    big = np.finfo(float).max
    with np.errstate(over="ignore"):
        low, high = (float(np.clip(_solve_ncp(t, df, target, z) * unit_dz, -big, big)) for target in (1 - tail, tail))
    return low, high


def hedges_correction(df: float) -> float:
    """Hedges' (1981) exact bias factor J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)); NaN for df < 2.

    The Gamma ratio is ``special.poch((df - 1) / 2, 1/2)``, accurate to ~1e-16 at any df, where
    a difference of ``gammaln`` values loses 2e-9 at df = 1e7 to cancellation.

    >>> round(hedges_correction(9), 6)  # 10 pairs; R: hedges_g / cohens_d (paired)
    0.913875
    """
    if not df >= 2:
        return np.nan
    return float(special.poch((df - 1) / 2, 0.5) / np.sqrt(df / 2))


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
    # R's t.test: "data are essentially constant" when the SE is rounding noise beside the mean.
    if not row["sd_diff"] / np.sqrt(n) >= 10 * np.finfo(float).eps * abs(row["mean_diff"]) or not row["sd_diff"] > 0:
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
