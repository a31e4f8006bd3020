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
``gamma`` is searched numerically. The tests check the result against statsmodels and lme4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


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
    pair_sum = y1 + y2
    return {
        "nB": both.sum(), "nP": pre_only.sum(), "nQ": post_only.sum(),
        "sum_pairs": pair_sum.sum(), "sum_post_pairs": y2.sum(),
        "squares_pairs": np.sum(y1**2 + y2**2), "squared_pair_sums": np.sum(pair_sum**2),
        "sum_pre_only": yp.sum(), "squares_pre_only": np.sum(yp**2),
        "sum_post_only": yq.sum(), "squares_post_only": np.sum(yq**2),
    }  # fmt: skip


def _gls(s: dict, gamma: float) -> tuple[np.ndarray, np.ndarray, float]:
    """X'WX, X'Wy and y'Wy for variance ratio ``gamma`` (W = sigma^2 V^-1)."""
    c_pair = gamma / (1 + 2 * gamma)
    w_single = 1 / (1 + gamma)
    xwx = s["nB"] * (np.array([[2.0, 1.0], [1.0, 1.0]]) - c_pair * np.array([[4.0, 2.0], [2.0, 1.0]]))
    xwx = xwx + w_single * (s["nP"] * np.array([[1.0, 0.0], [0.0, 0.0]]) + s["nQ"] * np.ones((2, 2)))
    xwy = np.array([s["sum_pairs"], s["sum_post_pairs"]]) - c_pair * s["sum_pairs"] * np.array([2.0, 1.0])
    xwy = xwy + w_single * np.array([s["sum_pre_only"] + s["sum_post_only"], s["sum_post_only"]])
    ywy = s["squares_pairs"] - c_pair * s["squared_pair_sums"] + w_single * (s["squares_pre_only"] + s["squares_post_only"])
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


def _best_gamma(s: dict, n_scores: int) -> float:
    """REML estimate of gamma >= 0: a grid over the intraclass correlation rho = gamma/(1+gamma), then Brent."""

    def criterion(rho: float) -> float:
        return _reml_criterion(s, rho / (1 - rho), n_scores)

    grid = np.linspace(0, 0.999, 112)
    values = [criterion(rho) for rho in grid]
    best = int(np.argmin(values))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    refined = optimize.minimize_scalar(criterion, bounds=(low, high), method="bounded", options={"xatol": 1e-13})
    rho = refined.x if refined.fun <= values[best] else grid[best]
    if best == 0 and criterion(0.0) <= criterion(rho):
        rho = 0.0
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
    s = _sufficient(pre, post)
    gamma = _best_gamma(s, n_scores)
    xwx, xwy, ywy = _gls(s, gamma)
    inverse = np.linalg.inv(xwx)
    beta = inverse @ xwy
    rss = ywy - xwy @ beta
    sigma2 = rss / (n_scores - 2)
    if not sigma2 > 1e-300:
        return WaveModel(**empty, n_participants=n_participants, n_scores=n_scores, note="mixed model: no residual variance")
    se = float(np.sqrt(sigma2 * inverse[1, 1]))
    estimate = float(beta[1])
    p = float(2 * stats.norm.sf(abs(estimate / se)))
    return WaveModel(estimate, se, p, float(sigma2), float(gamma * sigma2), n_participants, n_scores)
