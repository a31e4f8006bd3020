"""The hand-written Holm and BH adjustments equal statsmodels' multipletests bit for bit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from pipeline.statistics.multiplicity import adjust_p

p_value = st.one_of(
    st.floats(0, 1, allow_nan=False),
    st.sampled_from([0.0, 1.0, 0.05, 0.01, 1e-300, 5e-324]),
    st.just(float("nan")),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(p_value, min_size=0, max_size=40), st.sampled_from(["holm", "fdr"]))
def test_equals_statsmodels(values, method):
    p = np.array(values, dtype=float)
    expected = np.full(p.shape, np.nan)
    present = ~np.isnan(p)
    if present.any():
        expected[present] = multipletests(p[present], method={"holm": "holm", "fdr": "fdr_bh"}[method])[1]
    got = adjust_p(values, method)
    assert got.tobytes() == expected.tobytes()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0.01, 0.02, 0.03, 0.5]), min_size=1, max_size=30), st.sampled_from(["holm", "fdr"]))
def test_ties_equal_statsmodels(values, method):
    expected = multipletests(np.array(values), method={"holm": "holm", "fdr": "fdr_bh"}[method])[1]
    assert adjust_p(values, method).tobytes() == expected.tobytes()
