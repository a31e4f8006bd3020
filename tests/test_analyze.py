"""Paired statistics against R reference values (recorded below with the R code that made them).

R code: tests/r/paired_reference.R, run with R 4.2.2 and effectsize 0.8.3 (Debian packages
r-base-core and r-cran-effectsize). The tests need no R: the figures are copied here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.analyze import adjust_p, classify_outcome, paired_scores, paired_statistics, scores_by_wave

TOL = dict(rtol=0, atol=1e-6)

# Student's sleep data: pre = group 1, post = group 2.
SLEEP_PRE = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_POST = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
LIKERT_PRE = [3.25, 2.5, 4, 3.75, 2.25, 3, 3.5, 4.25, 2.75, 3, 3.5, 2]
LIKERT_POST = [2.75, 2.5, 3.25, 3.5, 2.5, 2.25, 3, 3.5, 2.75, 2.5, 3.25, 1.75]


def test_sleep_data_matches_r_t_test():
    # t.test(post, pre, paired = TRUE): t = 4.06212768338204, df = 9, p = 0.00283289019738427,
    # mean difference 1.58, 95% CI 0.700114236723018 .. 2.459885763276982
    row = paired_statistics(SLEEP_PRE, SLEEP_POST)
    np.testing.assert_allclose(
        [row["t"], row["df"], row["p"], row["mean_diff"], row["ci_low"], row["ci_high"]],
        [4.06212768338204, 9, 0.00283289019738427, 1.58, 0.700114236723018, 2.459885763276982],
        **TOL,
    )
    assert row["n_pairs"] == 10 and row["note"] == ""


def test_sleep_data_d_z_matches_effectsize():
    # effectsize::cohens_d(post, pre, paired = TRUE): 1.284557562591055 [0.414627667667354, 2.118016508772501]
    row = paired_statistics(SLEEP_PRE, SLEEP_POST)
    np.testing.assert_allclose(row["d_z"], 1.284557562591055, **TOL)
    # effectsize finds the interval by optimisation to about 1e-7; ours by root finding to 1e-12.
    np.testing.assert_allclose([row["d_z_ci_low"], row["d_z_ci_high"]], [0.414627667667354, 2.118016508772501], atol=1e-6)


def test_likert_decrease_matches_r():
    # t.test: t = -3.74224602162172, df = 11, p = 0.00325345741689392, diff -0.354166666666667
    # [-0.562468198161020, -0.145865135172313]; sd(pre) = 0.694608566464639, sd(post) = 0.531222147219946;
    # cohens_d: -1.080293373978554 [-1.785734268962277, -0.345067949307396]
    row = paired_statistics(LIKERT_PRE, LIKERT_POST)
    np.testing.assert_allclose(
        [row["t"], row["df"], row["p"], row["mean_diff"], row["ci_low"], row["ci_high"], row["sd_pre"], row["sd_post"], row["d_z"]],
        [-3.74224602162172, 11, 0.00325345741689392, -0.354166666666667, -0.562468198161020, -0.145865135172313,
         0.694608566464639, 0.531222147219946, -1.080293373978554],  # fmt: skip
        **TOL,
    )
    np.testing.assert_allclose([row["d_z_ci_low"], row["d_z_ci_high"]], [-1.785734268962277, -0.345067949307396], atol=1e-6)


def test_large_effect_noncentral_interval_matches_effectsize():
    # cohens_d(c(15,16,15,17,16), c(10,12,9,14,11), paired = TRUE): 4.03446688881233 [1.23058093878974, 6.85284186751628]
    row = paired_statistics([10, 12, 9, 14, 11], [15, 16, 15, 17, 16])
    np.testing.assert_allclose(row["d_z"], 4.03446688881233, **TOL)
    np.testing.assert_allclose([row["d_z_ci_low"], row["d_z_ci_high"]], [1.23058093878974, 6.85284186751628], atol=1e-6)


def test_holm_and_bh_match_p_adjust_and_ignore_missing():
    # p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5, 0.04, NA, 0.0001), "holm") and "BH"
    p = [0.01, 0.04, 0.03, 0.005, 0.5, 0.04, np.nan, 0.0001]
    np.testing.assert_allclose(adjust_p(p, "holm"), [0.05, 0.12, 0.12, 0.03, 0.5, 0.12, np.nan, 0.0007], equal_nan=True, **TOL)
    np.testing.assert_allclose(
        adjust_p(p, "fdr"),
        [0.0233333333333333, 0.0466666666666667, 0.0466666666666667, 0.0175, 0.5, 0.0466666666666667, np.nan, 0.0007],
        equal_nan=True,
        **TOL,
    )
    assert np.isnan(adjust_p([np.nan, np.nan], "holm")).all()


@pytest.mark.parametrize(
    ("pre", "post", "note"),
    [
        ([], [], "no participant has a score at both waves"),
        ([3.0], [4.0], "fewer than 2 pairs: no test"),
        ([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], "every participant changed by the same amount: no variance, no test"),
        ([2.0, 2.0, 2.0], [2.0, 2.0, 2.0], "every participant changed by the same amount: no variance, no test"),
    ],
)
def test_undefined_statistics_are_empty_with_a_reason(pre, post, note):
    row = paired_statistics(pre, post)
    assert row["note"] == note
    assert np.isnan(row["t"]) and np.isnan(row["p"]) and np.isnan(row["d_z"])


def test_outcome_uses_direction_of_improvement():
    assert classify_outcome(-2.0, 0.01, "worse", 0.05) == "improved"
    assert classify_outcome(2.0, 0.01, "worse", 0.05) == "worsened"
    assert classify_outcome(2.0, 0.01, "better", 0.05) == "improved"
    assert classify_outcome(-2.0, 0.01, "neutral", 0.05) == "changed"
    assert classify_outcome(2.0, 0.05, "better", 0.05) == "no significant change"
    assert classify_outcome(2.0, np.nan, "better", 0.05) == "not tested"


def test_pairs_are_formed_by_id_not_row_order():
    scores = pd.DataFrame(
        {"pid": ["a", "b", "c", "c", "a", "d"], "wave": ["pre", "pre", "pre", "post", "post", "post"], "s": [1.0, 2.0, 3.0, 5.0, 4.0, 9.0]}
    )
    pairs = paired_scores(scores_by_wave(scores, "pid"), "s")
    assert pairs.to_dict("index") == {"a": {"pre": 1.0, "post": 4.0}, "c": {"pre": 3.0, "post": 5.0}}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=3, max_size=40))
def test_d_z_interval_contains_estimate_and_t_agrees_with_ci(pairs):
    pre = np.array([p for p, _ in pairs], dtype=float)
    post = np.array([q for _, q in pairs], dtype=float)
    row = paired_statistics(pre, post)
    if np.isnan(row["t"]):
        assert row["note"]
        return
    assert row["d_z_ci_low"] < row["d_z"] < row["d_z_ci_high"]
    assert row["ci_low"] < row["mean_diff"] < row["ci_high"]
    # The t interval excludes 0 exactly when p < .05.
    assert (row["ci_low"] > 0 or row["ci_high"] < 0) == (row["p"] < 0.05)
