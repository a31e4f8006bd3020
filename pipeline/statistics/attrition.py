"""Attrition: do the participants who completed both waves differ at baseline from those who did not?

Per scale, the baseline scores of *completers* (scored at both waves) against *non-completers*
(scored at baseline only): their n, means and SDs (n - 1); the standardized difference
``(mean_completers - mean_noncompleters) / pooled SD`` (Cohen's d with the pooled SD, Cohen,
1988, as ``effectsize::cohens_d(completers, noncompleters)``); and the p of Welch's (1947) t-test,
R's ``t.test(completers, noncompleters)`` default, which does not assume equal variances.

A group whose scores are all equal has SD exactly 0 (not the rounding residue of its mean). As
R's ``t.test`` does, the p is left undefined when the Welch standard error is below
``10 x machine epsilon x`` the larger absolute mean ("data are essentially constant").
"""

from __future__ import annotations

import numpy as np
from scipy import stats

ATTRITION_STATISTICS = [
    "n_completers", "mean_completers", "sd_completers",
    "n_noncompleters", "mean_noncompleters", "sd_noncompleters", "std_diff", "p",
]  # fmt: skip


def compare_baseline(completers, noncompleters) -> dict:
    """Baseline comparison of completers and non-completers (see module); undefined figures are NaN, with a ``note``."""
    a = np.asarray(completers, dtype=float)
    b = np.asarray(noncompleters, dtype=float)
    row = dict.fromkeys(ATTRITION_STATISTICS, np.nan)
    row.update(n_completers=len(a), n_noncompleters=len(b), note="")
    for prefix, group in (("completers", a), ("noncompleters", b)):
        if len(group):
            row[f"mean_{prefix}"] = group.mean()
        if len(group) > 1:
            row[f"sd_{prefix}"] = 0.0 if np.ptp(group) == 0 else group.std(ddof=1)
    if len(a) < 2 or len(b) < 2:
        row["note"] = "fewer than 2 completers or non-completers with a baseline score: no comparison"
        return row
    pooled = np.sqrt(((len(a) - 1) * row["sd_completers"] ** 2 + (len(b) - 1) * row["sd_noncompleters"] ** 2) / (len(a) + len(b) - 2))
    if not pooled > 0:
        row["note"] = "no variance in baseline scores: no comparison"
        return row
    row["std_diff"] = (row["mean_completers"] - row["mean_noncompleters"]) / pooled
    welch_se = np.hypot(row["sd_completers"] / np.sqrt(len(a)), row["sd_noncompleters"] / np.sqrt(len(b)))
    if welch_se >= 10 * np.finfo(float).eps * max(abs(row["mean_completers"]), abs(row["mean_noncompleters"])):
        # From the summaries: scipy's ttest_ind on the raw scores warns about nearly equal values.
        row["p"] = float(
            stats.ttest_ind_from_stats(
                row["mean_completers"], row["sd_completers"], len(a),
                row["mean_noncompleters"], row["sd_noncompleters"], len(b), equal_var=False,
            ).pvalue
        )  # fmt: skip
    return row
