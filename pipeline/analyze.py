"""Analyze: paired pre/post statistics for every scale, with corrections across the study's scales.

Pairs are formed by participant id, never by row order: only participants with a score at both
waves enter a scale's test (so ``n_pairs`` can differ between scales). For each scale:

* ``mean_diff`` = mean(post - pre); its 95% interval and the paired t-test are Student's (1908),
  as R's ``t.test(post, pre, paired = TRUE)``;
* ``d_z`` = mean_diff / SD(post - pre) (Cohen, 1988; Lakens, 2013, eq. 6), with a 95% interval
  from the noncentral t distribution (Steiger & Fouladi, 1997), as R's
  ``effectsize::cohens_d(post, pre, paired = TRUE)``;
* ``p_holm`` (Holm, 1979) and ``p_fdr`` (Benjamini & Hochberg, 1995) are adjusted across all
  scales of the study that have a p-value, as R's ``p.adjust``;
* ``outcome`` reads the adjusted p chosen in ``study.yaml`` (Holm by default) against its alpha,
  with the sign of the change and the scale's direction of improvement.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests

RESULT_COLUMNS = [
    "variable", "name", "instrument", "domain", "n_pre", "n_post", "n_pairs",
    "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "sd_diff", "ci_low", "ci_high",
    "t", "df", "p", "d_z", "d_z_ci_low", "d_z_ci_high", "p_holm", "p_fdr",
    "higher_is", "outcome", "note",
]  # fmt: skip

CONFIDENCE = 0.95


def scores_by_wave(scores: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Long scores (one row per participant per wave) as one row per participant.

    Columns are (variable, wave) with both ``pre`` and ``post`` present for every variable,
    so pairs are matched by id, never by row order.
    """
    wide = scores.pivot(index=id_column, columns="wave")
    variables = [column for column in scores.columns if column not in (id_column, "wave")]
    return wide.reindex(columns=pd.MultiIndex.from_product([variables, ["pre", "post"]]))


def paired_scores(wide: pd.DataFrame, variable: str) -> pd.DataFrame:
    """Pre and post scores of one variable for participants scored at both waves (see ``scores_by_wave``)."""
    return wide[variable].dropna()


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


def paired_statistics(pre: np.ndarray, post: np.ndarray) -> dict:
    """Descriptives, paired t-test and d_z for aligned pre/post arrays (complete pairs only).

    Statistics that are undefined for the data (fewer than 2 pairs, differences without
    variance) are NaN and ``note`` says why.
    """
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    n = len(pre)
    row = dict.fromkeys(
        ["mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "sd_diff", "ci_low", "ci_high",
         "t", "df", "p", "d_z", "d_z_ci_low", "d_z_ci_high"],  # fmt: skip
        np.nan,
    )
    row.update(n_pairs=n, note="")
    if n == 0:
        row["note"] = "no participant has a score at both waves"
        return row
    diff = post - pre
    row.update(mean_pre=pre.mean(), mean_post=post.mean(), mean_diff=diff.mean())
    if n < 2:
        row["note"] = "fewer than 2 pairs: no test"
        return row
    row.update(sd_pre=pre.std(ddof=1), sd_post=post.std(ddof=1), sd_diff=diff.std(ddof=1), df=n - 1)
    if not row["sd_diff"] > 0:
        row["note"] = "every participant changed by the same amount: no variance, no test"
        return row
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


def adjust_p(p_values, method: str) -> np.ndarray:
    """Adjust p-values across a family, ignoring missing ones (statsmodels would return all-NaN).

    ``method`` is ``holm`` (Holm, 1979) or ``fdr`` (Benjamini & Hochberg, 1995), matching R's
    ``p.adjust(p, "holm")`` and ``p.adjust(p, "BH")`` on the non-missing p-values.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    present = ~np.isnan(p)
    if present.any():
        name = {"holm": "holm", "fdr": "fdr_bh"}[method]
        adjusted[present] = multipletests(p[present], method=name)[1]
    return adjusted


def classify_outcome(mean_diff: float, p_adjusted: float, higher_is: str, alpha: float) -> str:
    """``improved`` / ``worsened`` / ``changed`` (neutral direction) / ``no significant change``."""
    if np.isnan(p_adjusted):
        return "not tested"
    if p_adjusted >= alpha:
        return "no significant change"
    if higher_is == "neutral":
        return "changed"
    increased = mean_diff > 0
    return "improved" if increased == (higher_is == "better") else "worsened"


def analyze(scores: pd.DataFrame, study, correction: str | None = None, alpha: float | None = None) -> pd.DataFrame:
    """One row of paired statistics per scale of ``study``, corrected across the study's scales.

    ``scores`` is long (one row per participant per wave); correction and alpha default to the
    study's ``analysis`` options.
    """
    correction = correction or study.config.analysis.correction
    alpha = study.config.analysis.alpha if alpha is None else alpha
    rows = []
    wide = scores_by_wave(scores, study.id_column)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for instrument, scale in study.scales:
            scored = wide[scale.id].notna().sum()
            pairs = paired_scores(wide, scale.id)
            row = paired_statistics(pairs["pre"].to_numpy(), pairs["post"].to_numpy())
            row.update(
                variable=scale.id,
                name=scale.name,
                instrument=instrument.label,
                domain=scale.domain or "",
                n_pre=int(scored["pre"]),
                n_post=int(scored["post"]),
                higher_is=scale.higher_is,
            )
            rows.append(row)
    results = pd.DataFrame(rows)
    results["p_holm"] = adjust_p(results["p"], "holm")
    results["p_fdr"] = adjust_p(results["p"], "fdr")
    decisive = results[f"p_{correction}"]
    results["outcome"] = [
        classify_outcome(diff, p, direction, alpha)
        for diff, p, direction in zip(results["mean_diff"], decisive, results["higher_is"])
    ]
    return results[RESULT_COLUMNS]
