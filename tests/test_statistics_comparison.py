"""Program against comparison statistics (pipeline.statistics.comparison) against R.

Figures printed by tests/r/comparison_reference.R (R 4.2.2, emmeans 1.8.4-1) on
tests/fixtures/statistics/comparison.csv (37 program, 29 comparison participants).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.statistics.comparison import ancova, baseline_equivalence, baseline_smd, d_ppc2, difference_in_differences

DATA = pd.read_csv(Path(__file__).parent / "fixtures" / "statistics" / "comparison.csv")
PROGRAM, COMPARISON = (DATA[DATA["group"] == g] for g in ("program", "comparison"))

# lm(post ~ pre + group): estimate, SE, t, p; confint; df.residual; the pre slope; emmeans C, P
R_ANCOVA = (0.102607631680546, 0.159526187225657, 0.643202432559882, 0.52242711593109)
R_ANCOVA_CI = (-0.216180015846239, 0.421395279207331, 63)
R_SLOPE = 0.674535991606713
R_ADJUSTED = (3.50823511557303, 3.61084274725357)
# t.test(I(post - pre) ~ group, var.equal = TRUE): t, df, p, program - comparison
R_DID = (0.513803441786257, 64, 0.609158873862535, 0.0883970177073625)
# Morris (2008) by hand: d_ppc2, eq. 25 variance, pooled within-group rho, 95% bounds; WWC g
R_DPPC2 = (0.10435743516689, 0.0419101669589936, 0.662775055590714, -0.296885858286582, 0.505600728620362)
R_WWC_G = 0.051546081576899


def test_ancova_matches_lm_and_emmeans():
    a = ancova(PROGRAM["pre"], PROGRAM["post"], COMPARISON["pre"], COMPARISON["post"])
    np.testing.assert_allclose([a.diff, a.se, a.t, a.p], R_ANCOVA, rtol=1e-9)
    np.testing.assert_allclose([a.ci_low, a.ci_high, a.df], R_ANCOVA_CI, rtol=1e-9)
    assert a.slope == pytest.approx(R_SLOPE, rel=1e-12)
    np.testing.assert_allclose([a.adj_mean_comparison, a.adj_mean_program], R_ADJUSTED, rtol=1e-12)


def test_difference_in_differences_matches_t_test():
    r = difference_in_differences(PROGRAM["post"] - PROGRAM["pre"], COMPARISON["post"] - COMPARISON["pre"])
    np.testing.assert_allclose([r.t, r.df, r.p, r.diff], R_DID, rtol=1e-9)


def test_d_ppc2_matches_morris_by_hand_and_wwc_g():
    r = d_ppc2(PROGRAM["pre"], PROGRAM["post"], COMPARISON["pre"], COMPARISON["post"])
    np.testing.assert_allclose([r.d, r.variance, r.rho, r.ci_low, r.ci_high], R_DPPC2, rtol=1e-9)
    assert baseline_smd(PROGRAM["pre"], COMPARISON["pre"]) == pytest.approx(R_WWC_G, rel=1e-12)
    assert baseline_equivalence(R_WWC_G) == "adjustment needed"
    assert [baseline_equivalence(g) for g in (0.05, -0.3, np.nan)] == ["equivalent", "not equivalent", ""]


scores = st.lists(st.integers(0, 20), min_size=4, max_size=30)


@settings(deadline=None, max_examples=60)
@given(scores, scores, scores, scores, st.integers(-50, 50))
def test_swapping_groups_flips_every_difference(a, b, c, e, shift):
    n_p, n_c = min(len(a), len(b)), min(len(c), len(e))
    xp, yp, xc, yc = (np.array(v, dtype=float) for v in (a[:n_p], b[:n_p], c[:n_c], e[:n_c]))
    forward, backward = ancova(xp, yp, xc, yc), ancova(xc, yc, xp, yp)
    assert forward.diff == pytest.approx(-backward.diff, abs=1e-9, nan_ok=True)
    assert forward.p == pytest.approx(backward.p, abs=1e-9, nan_ok=True)
    # a common shift of every score changes no difference (the model has an intercept)
    moved = ancova(xp + shift, yp + shift, xc + shift, yc + shift)
    assert moved.diff == pytest.approx(forward.diff, abs=1e-9, nan_ok=True)
    assert d_ppc2(xp, yp, xc, yc).d == pytest.approx(-d_ppc2(xc, yc, xp, yp).d, abs=1e-9, nan_ok=True)


def test_too_few_or_constant_scores_give_nan_not_errors():
    assert np.isnan(ancova([1.0], [2.0], [1.0], [2.0]).diff)
    assert np.isnan(ancova([1, 1, 1], [1, 2, 3], [1, 1], [2, 3]).diff)  # no baseline spread: no slope
    assert np.isnan(d_ppc2([1], [2], [1, 2], [2, 3]).d)
    assert np.isnan(baseline_smd([1, 1], [1, 1]))
    with pytest.raises(ValueError):
        ancova([1.0, np.nan], [2.0, 3.0], [1.0, 2.0], [2.0, 3.0])


# lmer(y ~ wave * group + (1 | id)) (tests/r/comparison_reference.R): estimate, SE, df, t, p of
# wave1:groupP and wave2:groupP on tests/fixtures/statistics/waves_groups.csv.
R_INTERACTION = {
    1: (1.139039402148, 0.443747899659, 77.0788272983, 2.56686150633, 0.0121993936129),
    2: (0.752561829758, 0.474866739220, 78.5071805450, 1.58478530418, 0.1170352804994),
}


@pytest.mark.parametrize("wave", sorted(R_INTERACTION))
def test_group_by_wave_interaction_is_a_linear_contrast_of_the_cell_means_model(wave):
    """Each participant's scores in their own group's columns: the random-intercept model of
    those cells is ``score ~ wave * group + (1 | id)``, and the interaction at a wave is
    (P_wave - P_0) - (C_wave - C_0)."""
    from pipeline.statistics.mixed import fit_wave_model

    scores = pd.read_csv(Path(__file__).parent / "fixtures" / "statistics" / "waves_groups.csv")
    cell = scores["group"].map({"C": 0, "P": 3}) + scores["wave"]
    matrix = scores.assign(cell=cell).pivot(index="id", columns="cell", values="y").reindex(columns=range(6)).to_numpy()
    weights = np.zeros(6)
    weights[[3 + wave, 0]] += 1
    weights[[3, wave]] -= 1
    c = fit_wave_model(matrix).linear_contrast(weights)
    estimate, se, df, t, p = R_INTERACTION[wave]
    np.testing.assert_allclose([c.estimate, c.se], [estimate, se], atol=1e-6)
    assert c.df == pytest.approx(df, rel=1e-3) and c.t == pytest.approx(t, abs=1e-5) and c.p == pytest.approx(p, abs=1e-4)


def test_a_linear_contrast_needs_weights_that_sum_to_zero():
    from pipeline.statistics.mixed import fit_wave_model

    model = fit_wave_model(np.array([[1.0, 2.0, 2.5], [2.0, 2.5, 3.5], [3.0, 4.0, np.nan], [4.0, 5.5, 6.0]]))
    with pytest.raises(ValueError, match="sum to 0"):
        model.linear_contrast([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="one weight per column"):
        model.linear_contrast([1.0, -1.0])
    assert model.linear_contrast([-1.0, 0.0, 1.0]) == model.contrast(0, 2)
