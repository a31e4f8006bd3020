"""Intention-to-treat sensitivity: a linear mixed model on every available score.

The model is ``score ~ wave + (1 | participant)``: a fixed effect of wave (post = 1, pre = 0)
and a random intercept per participant, fitted by restricted maximum likelihood (REML), as
``statsmodels``' ``MixedLM.from_formula("score ~ wave", groups=participant).fit(reml=True)`` and
R's ``lme4::lmer(score ~ wave + (1 | participant), REML = TRUE)``. Unlike the paired t-test it
uses participants scored at one wave only, under the missing-at-random assumption.

``lmm_estimate`` is the wave coefficient (the model's estimate of mean change), ``lmm_se`` its
standard error, and ``lmm_p`` the two-sided Wald z-test p (statsmodels' convention; lmerTest's
Satterthwaite t differs only in small samples).

Why not call statsmodels: its fitter loops over participants in Python (about 0.7 ms each,
70 s per scale at 100,000 participants). With two waves every participant contributes one of
three patterns (both waves, baseline only, follow-up only), so with ``gamma = tau^2 / sigma^2``
the REML criterion, the generalized least-squares coefficients and their covariance are
closed-form sums over those patterns (Searle, Casella & McCulloch, 1992, ch. 6). Only
``gamma`` is found numerically, as the root of the criterion's closed-form slope. The tests check the result against statsmodels and lme4.

The scores are centred and divided by their range (over every available score) before the
fit and the results scaled back, so any unit (1e-150 or 1e150) fits alike. When the residual
variance is below ``MIN_RESIDUAL_VARIANCE`` of that range squared (every participant changed by the same
amount, up to rounding, or one pair carries the whole fit) the model is not estimable: every
figure is NaN with a note, as the paired t-test is undefined for constant differences (with
fewer than 2 pairs the note is left to the paired t-test's "fewer than 2 pairs").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, stats

#: Residual variance, in units of the scores' range squared, below which there is none to speak
#: of (the gamma grid reaches 1e12, so a fit at its end has about 1e-12 of the total variance).
MIN_RESIDUAL_VARIANCE = 1e-10


@dataclass(frozen=True)
class WaveModel:
    estimate: float
    se: float
    p: float
    residual_variance: float  # sigma^2
    participant_variance: float  # tau^2
    n_participants: int
    n_scores: int
    note: str = ""


def _sufficient(pre: np.ndarray, post: np.ndarray) -> dict:
    both = ~np.isnan(pre) & ~np.isnan(post)
    pre_only = ~np.isnan(pre) & np.isnan(post)
    post_only = np.isnan(pre) & ~np.isnan(post)
    centre = np.nanmean(np.concatenate([pre, post]))  # centring keeps the sums well conditioned
    y1, y2 = pre[both] - centre, post[both] - centre
    yp, yq = pre[pre_only] - centre, post[post_only] - centre
    pair_sum, pair_diff = y1 + y2, y2 - y1
    return {
        "nB": both.sum(), "nP": pre_only.sum(), "nQ": post_only.sum(),
        "sum_pairs": pair_sum.sum(), "sum_diffs": pair_diff.sum(),
        "squared_pair_sums": np.sum(pair_sum**2), "squared_diffs": np.sum(pair_diff**2),
        "sum_pre_only": yp.sum(), "squares_pre_only": np.sum(yp**2),
        "sum_post_only": yq.sum(), "squares_post_only": np.sum(yq**2),
    }  # fmt: skip


def _gls(s: dict, gamma: float) -> tuple[np.ndarray, np.ndarray, float]:
    """X'WX, X'Wy and y'Wy for variance ratio ``gamma`` (W = sigma^2 V^-1).

    A pair's V^-1 is I - gamma/(1 + 2 gamma) J; it is written through the pair's sum and difference
    with ``a = 1/(1 + 2 gamma)`` so that nothing cancels when gamma is large (pre ~ post).
    """
    a = 1 / (1 + 2 * gamma)
    w_single = 1 / (1 + gamma)
    xwx = s["nB"] * np.array([[2 * a, a], [a, (1 + a) / 2]])
    xwx = xwx + w_single * (s["nP"] * np.array([[1.0, 0.0], [0.0, 0.0]]) + s["nQ"] * np.ones((2, 2)))
    xwy = np.array([a * s["sum_pairs"], (s["sum_diffs"] + a * s["sum_pairs"]) / 2])
    xwy = xwy + w_single * np.array([s["sum_pre_only"] + s["sum_post_only"], s["sum_post_only"]])
    ywy = (s["squared_diffs"] + a * s["squared_pair_sums"]) / 2 + w_single * (s["squares_pre_only"] + s["squares_post_only"])
    return xwx, xwy, ywy


def _reml_criterion(s: dict, gamma: float, n_scores: int) -> float:
    """-2 x REML log-likelihood with sigma^2 profiled out, up to a constant."""
    xwx, xwy, ywy = _gls(s, gamma)
    rss = ywy - xwy @ np.linalg.solve(xwx, xwy)
    dof = n_scores - 2
    return (
        dof * np.log(max(rss, 1e-300) / dof)
        + s["nB"] * np.log1p(2 * gamma)
        + (s["nP"] + s["nQ"]) * np.log1p(gamma)
        + np.log(np.linalg.det(xwx))
    )


def _reml_slope(s: dict, gamma: float, n_scores: int) -> float:
    """d/d gamma of ``_reml_criterion``, in closed form.

    By the envelope theorem d rss/d gamma = r' (dW/d gamma) r at the GLS residuals r, and
    dW/d gamma = -sum over participants of V_i^-1 1 1' V_i^-1, so each participant contributes
    -(sum of r_i)^2 / (1 + n_i gamma)^2; the determinant terms follow from d log|A| = tr(A^-1 dA).
    Its root gives gamma to machine precision, where minimising the criterion itself stops
    near the square root of it (flat minimum).
    """
    a, b = 1 / (1 + 2 * gamma), 1 / (1 + gamma)
    xwx, xwy, ywy = _gls(s, gamma)
    beta = np.linalg.solve(xwx, xwy)
    rss = ywy - xwy @ beta
    pair_fit, pre_fit, post_fit = 2 * beta[0] + beta[1], beta[0], beta[0] + beta[1]
    pair_residual_sums = s["squared_pair_sums"] - 2 * pair_fit * s["sum_pairs"] + s["nB"] * pair_fit**2
    pre_residuals = s["squares_pre_only"] - 2 * pre_fit * s["sum_pre_only"] + s["nP"] * pre_fit**2
    post_residuals = s["squares_post_only"] - 2 * post_fit * s["sum_post_only"] + s["nQ"] * post_fit**2
    rss_slope = -(a**2 * pair_residual_sums + b**2 * (pre_residuals + post_residuals))
    xwx_slope = -(
        s["nB"] * a**2 * np.array([[4.0, 2.0], [2.0, 1.0]])
        + b**2 * (s["nP"] * np.array([[1.0, 0.0], [0.0, 0.0]]) + s["nQ"] * np.ones((2, 2)))
    )
    return float(
        (n_scores - 2) * rss_slope / rss
        + 2 * s["nB"] * a
        + (s["nP"] + s["nQ"]) * b
        + np.trace(np.linalg.solve(xwx, xwx_slope))
    )


def _best_gamma(s: dict, n_scores: int) -> float:
    """REML estimate of gamma >= 0.

    A grid over the intraclass correlation rho = gamma/(1+gamma) brackets the minimum of the
    criterion; the root of its slope inside the bracket is then found by Brent's method. At the
    boundary (slope >= 0 at gamma = 0) the estimate is 0, as in lme4.
    """

    def criterion(rho: float) -> float:
        return _reml_criterion(s, rho / (1 - rho), n_scores)

    def slope(rho: float) -> float:
        return _reml_slope(s, rho / (1 - rho), n_scores)

    # Linear in rho up to 0.99, then geometric towards 1 so a participant variance up to 1e12
    # times the residual one (near-identical pre and post scores) is still bracketed.
    grid = np.concatenate([np.linspace(0, 0.99, 100), 1 - np.logspace(-2.1, -12, 45)])
    values = [criterion(rho) for rho in grid]
    best = int(np.argmin(values))
    if best == 0 and slope(0.0) >= 0:
        return 0.0
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    slope_low, slope_high = slope(low), slope(high)
    if not (slope_low <= 0 <= slope_high):  # no sign change (minimum on the grid's last point)
        refined = optimize.minimize_scalar(criterion, bounds=(low, high), method="bounded", options={"xatol": 1e-13})
        rho = refined.x if refined.fun <= values[best] else grid[best]
        return rho / (1 - rho)
    rho = optimize.brentq(slope, low, high, xtol=1e-16, rtol=4 * np.finfo(float).eps)
    return rho / (1 - rho)


def wave_effect(pre, post) -> WaveModel:
    """REML fit of ``score ~ wave + (1 | participant)`` for participant-aligned ``pre``/``post`` (NaN = not scored).

    >>> m = wave_effect([1.0, 2.0, 3.0, 4.0, 2.5], [2.0, 2.5, 4.0, 5.5, np.nan])
    >>> round(m.estimate, 6), round(m.se, 6)
    (1.0, 0.202711)
    """
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    n_scores = int((~np.isnan(pre)).sum() + (~np.isnan(post)).sum())
    n_participants = int((~np.isnan(pre) | ~np.isnan(post)).sum())
    empty = dict(estimate=np.nan, se=np.nan, p=np.nan, residual_variance=np.nan, participant_variance=np.nan)
    if (~np.isnan(pre)).sum() == 0 or (~np.isnan(post)).sum() == 0 or n_scores < 3:
        return WaveModel(**empty, n_participants=n_participants, n_scores=n_scores, note="mixed model needs scores at both waves and at least 3 scores")
    no_variance = WaveModel(**empty, n_participants=n_participants, n_scores=n_scores, note="mixed model: no residual variance")
    scores = np.concatenate([pre[~np.isnan(pre)], post[~np.isnan(post)]])
    if np.ptp(pre[~np.isnan(pre)]) == 0 and np.ptp(post[~np.isnan(post)]) == 0:
        return no_variance  # the wave explains every score
    unit = np.ptp(scores)  # the range: no squares, so no overflow for any finite scores
    centre = scores.min() + unit / 2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a zero rss at a boundary is handled below
        s = _sufficient((pre - centre) / unit, (post - centre) / unit)
        gamma = _best_gamma(s, n_scores)
        xwx, xwy, ywy = _gls(s, gamma)
        inverse = np.linalg.inv(xwx)
    beta = inverse @ xwy
    rss = ywy - xwy @ beta
    sigma2 = rss / (n_scores - 2)  # in units of unit^2
    if not sigma2 > MIN_RESIDUAL_VARIANCE:
        if s["nB"] < 2:  # one pair cannot separate the two variances; the paired note says "fewer than 2 pairs"
            return replace(no_variance, note="")
        return no_variance
    se = float(np.sqrt(sigma2 * inverse[1, 1]) * unit)
    estimate = float(beta[1] * unit)
    p = float(2 * stats.norm.sf(abs(estimate / se)))
    return WaveModel(estimate, se, p, float(sigma2 * unit**2), float(gamma * sigma2 * unit**2), n_participants, n_scores)


# --- TEMPORARY SHIM (replaced by the wt-stats branch on merge) ---------------------------
@dataclass(frozen=True)
class WaveContrast:
    estimate: float
    se: float
    df: float
    t: float
    p: float


@dataclass(frozen=True)
class WaveMean:
    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class WaveFit:
    n_participants: int
    n_scores: int
    residual_variance: float
    participant_variance: float
    means: tuple
    note: str = ""
    covariance: object = None

    def contrast(self, from_wave: int, to_wave: int) -> WaveContrast:
        if self.covariance is None:
            return WaveContrast(*([np.nan] * 5))
        est = self.means[to_wave].estimate - self.means[from_wave].estimate
        c = self.covariance
        se = float(np.sqrt(c[to_wave, to_wave] + c[from_wave, from_wave] - 2 * c[to_wave, from_wave]))
        t = est / se
        return WaveContrast(est, se, np.inf, t, float(2 * stats.norm.sf(abs(t))))


def fit_wave_model(scores: np.ndarray) -> WaveFit:
    import pandas as pd
    import statsmodels.formula.api as smf

    scores = np.asarray(scores, dtype=float)
    n, w = scores.shape
    rows = [(i, j, scores[i, j]) for i in range(n) for j in range(w) if not np.isnan(scores[i, j])]
    frame = pd.DataFrame(rows, columns=["g", "wave", "y"])
    frame["wave"] = pd.Categorical(frame["wave"], categories=range(w))
    nan_means = tuple(WaveMean(*([np.nan] * 5)) for _ in range(w))
    if len(frame) < 3 or frame["wave"].nunique() < w:
        return WaveFit(frame["g"].nunique(), len(frame), np.nan, np.nan, nan_means, "shim: not fitted")
    import warnings as _w

    try:
        with _w.catch_warnings():
            _w.simplefilter("ignore")
            fit = smf.mixedlm("y ~ C(wave) - 1", frame, groups=frame["g"]).fit(reml=True)
    except Exception:
        return WaveFit(frame["g"].nunique(), len(frame), np.nan, np.nan, nan_means, "shim: failed")
    cov = np.asarray(fit.cov_params())[:w, :w]
    means = tuple(
        WaveMean(float(fit.fe_params.iloc[j]), float(np.sqrt(cov[j, j])), np.inf,
                 float(fit.fe_params.iloc[j] - 1.96 * np.sqrt(cov[j, j])), float(fit.fe_params.iloc[j] + 1.96 * np.sqrt(cov[j, j])))
        for j in range(w)
    )
    return WaveFit(frame["g"].nunique(), len(frame), float(fit.scale), float(fit.cov_re.iloc[0, 0]), means, "", cov)
