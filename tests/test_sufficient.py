"""The sufficient-statistics functions give the in-memory statistics (pipeline/statistics/sufficient.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.statistics.paired import paired_statistics
from pipeline.statistics.reliability import cronbach_alpha, omega_total
from pipeline.statistics.sufficient import (
    ItemSums, JointHistogram, alpha_from_sums, merge_histograms, omega_from_sums, paired_from_histogram,
    signed_rank_from_histogram,
)
from pipeline.statistics.wilcoxon import signed_rank_test


def close(a, b, rel=1e-9):
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if np.isnan(a) and np.isnan(b):
        return True
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300) + 1e-12


# Mean scores of 1..3 answered 1-5 items: ties, zeros, thirds (whose float sums are inexact).
SCORES = st.sampled_from([k / a for a in (1, 2, 3) for k in range(a, 5 * a + 1)])
PAIRS = st.lists(st.tuples(SCORES, SCORES), min_size=0, max_size=120)


@settings(max_examples=150, deadline=None)
@given(PAIRS, st.integers(0, 120))
def test_paired_and_signed_rank_from_merged_histograms_equal_in_memory(pairs, cut):
    pre = np.array([p for p, _ in pairs], dtype=float)
    post = np.array([q for _, q in pairs], dtype=float)
    shards = [JointHistogram.from_pairs(pre[:cut], post[:cut]), JointHistogram.from_pairs(pre[cut:], post[cut:])]
    histogram = merge_histograms(shards)
    assert histogram.n == len(pairs)
    expected, got = paired_statistics(pre, post), paired_from_histogram(histogram)
    for column, value in expected.items():
        if column == "notes":
            assert got["notes"] == value
        else:
            assert close(got[column], value), column
    ranks = signed_rank_test(post - pre)
    diff, count = histogram.differences()
    from_histogram = signed_rank_from_histogram(diff, count)
    assert from_histogram.n_nonzero == ranks.n_nonzero and from_histogram.method == ranks.method
    assert from_histogram.note == ranks.note
    for a, b in ((from_histogram.v, ranks.v), (from_histogram.p, ranks.p), (from_histogram.r_rb, ranks.r_rb)):
        assert close(a, b)


@given(st.lists(st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 3)), min_size=1, max_size=40, unique=True))
def test_signed_rank_exact_branch_untied(differences):
    differences = [d for d in differences if d != 0] or [1.0]
    ranks = signed_rank_test(differences)
    got = signed_rank_from_histogram(differences, np.ones(len(differences), dtype=int))
    assert got.method == ranks.method and close(got.p, ranks.p) and close(got.v, ranks.v)


ITEMS = st.integers(2, 6).flatmap(
    lambda k: st.lists(st.lists(st.one_of(st.integers(1, 5), st.just(None)), min_size=k, max_size=k), min_size=0, max_size=60)
)


@settings(max_examples=150, deadline=None)
@given(ITEMS, st.integers(0, 60))
def test_alpha_and_omega_from_merged_item_sums(rows, cut):
    if not rows:
        return
    items = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    complete = items[~np.isnan(items).any(axis=1)]
    sums = ItemSums.of(items[:cut]).merge(ItemSums.of(items[cut:]))
    assert sums.n == len(complete)
    assert close(alpha_from_sums(sums), cronbach_alpha(complete))
    assert close(omega_from_sums(sums), omega_total(complete), rel=1e-7)


def test_large_counts_do_not_lose_precision():
    # 10 million pairs in three cells: the exact sums give the exact SDs.
    histogram = JointHistogram.of([1.0, 2.0, 3.0], [2.0, 2.0, 4.0], [4_000_000, 3_000_000, 3_000_000])
    pre = np.repeat(histogram.pre, histogram.count)
    post = np.repeat(histogram.post, histogram.count)
    expected, got = paired_statistics(pre, post), paired_from_histogram(histogram)
    for column in ("mean_pre", "sd_pre", "mean_diff", "sd_diff", "t", "d_z", "d_av"):
        assert close(got[column], expected[column], 1e-9), column
