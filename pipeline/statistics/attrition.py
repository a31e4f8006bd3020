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



#: The What Works Clearinghouse attrition boundaries for a randomised sample: by overall attrition
#: 0, 1, ..., 65 percent (position in the tuple), the highest differential attrition (percentage
#: points) at which the sample still has low attrition (WWC Standards Handbook v4.1, Table II.1;
#: the handbook calls the liberal boundary "optimistic"). Read from the CRAN package baselinr 0.6.0
#: (``R/attrition_boundary.R``), not from the handbook itself: its cautious column agrees with a
#: second encoding (RWWC, from Handbook v4.0), its liberal column differs from that one by one row for
#: overall 13-57%, so a liberal reading there carries a note. Under the cautious boundary an overall
#: attrition of 58% or more is high whatever the differential.
WWC_LOW_ATTRITION = {
    "liberal": (10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.7, 10.8, 10.9, 10.9, 10.9, 10.9, 10.9, 10.8, 10.8, 10.7, 10.6, 10.5, 10.3, 10.2, 10.0, 9.9, 9.7, 9.5, 9.4, 9.2, 9.0, 8.8, 8.6, 8.4, 8.2, 8.0, 7.8, 7.6, 7.4, 7.2, 7.0, 6.7, 6.5, 6.3, 6.0, 5.8, 5.6, 5.3, 5.1, 4.9, 4.6, 4.4, 4.2, 3.9, 3.7, 3.5, 3.2, 3.0, 2.8, 2.6, 2.3, 2.1, 1.9, 1.6, 1.4, 1.1, 0.9, 0.7, 0.5, 0.3),
    "cautious": (5.7, 5.8, 5.9, 5.9, 6.0, 6.1, 6.2, 6.3, 6.3, 6.3, 6.3, 6.2, 6.2, 6.1, 6.0, 5.9, 5.9, 5.8, 5.7, 5.5, 5.4, 5.3, 5.2, 5.1, 4.9, 4.8, 4.7, 4.5, 4.4, 4.3, 4.1, 4.0, 3.8, 3.6, 3.5, 3.3, 3.2, 3.1, 2.9, 2.8, 2.6, 2.5, 2.3, 2.1, 2.0, 1.8, 1.6, 1.5, 1.3, 1.2, 1.0, 0.9, 0.7, 0.6, 0.4, 0.3, 0.2, 0.0),
}  # fmt: skip
#: Overall attrition (whole percent) where the two encodings of the liberal boundary differ.
LIBERAL_DISPUTED = range(13, 58)


def attrition_level(overall_pct: float, differential_pct: float, boundary: str) -> tuple[str, str]:
    """The What Works Clearinghouse attrition level of a randomised sample, ``low`` or ``high``, with a
    note ("" when none): low when the differential attrition is at or below the boundary's highest
    differential for the overall attrition rounded to a whole percent (as baselinr reads it).

    >>> attrition_level(10.0, 6.0, "cautious"), attrition_level(10.0, 6.5, "cautious")
    (('low', ''), ('high', ''))
    """
    if np.isnan(overall_pct) or np.isnan(differential_pct):
        return "", "no attrition figures: a group has no participants"
    limits = WWC_LOW_ATTRITION[boundary]
    row = int(np.floor(overall_pct + 0.5))
    note = ""
    if boundary == "liberal" and row in LIBERAL_DISPUTED:
        note = "the liberal boundary at this overall attrition differs by one row between published encodings of the WWC table"
    if row >= len(limits):
        return "high", note
    return ("low" if differential_pct <= limits[row] + 1e-9 else "high"), note
