"""Every statistic of results.csv against R, to 1e-6 (1e-3 where R's own answer is iterative).

The figures below were printed by ``Rscript tests/r/statistics_reference.R`` (R 4.2.2 with
Debian's effectsize 0.8.3, psych 2.2.9, BayesFactor 0.9.12-4.4, lme4 1.1-31); each block names
the R calls. The data are inline or in ``tests/fixtures/statistics/`` (written once by
``make_fixtures.py``). CI needs no R: the numbers are copied here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from pipeline.statistics.attrition import compare_baseline
from pipeline.statistics.bayes import jzs_log_bf10
from pipeline.statistics.mixed import fit_wave_model
from pipeline.statistics.multiplicity import adjust_p
from pipeline.statistics.paired import hedges_correction, paired_statistics
from pipeline.statistics.power import minimum_detectable_dz, paired_power
from pipeline.statistics.reliability import complete_cases, cronbach_alpha, omega_total
from pipeline.statistics.reliable_change import ChangeBasis, classify_change
from pipeline.statistics.wilcoxon import signed_rank_null_counts, signed_rank_test

FIXTURES = Path(__file__).parent / "fixtures" / "statistics"
TOL = dict(rtol=0, atol=1e-6)
ITERATIVE = dict(rtol=0, atol=1e-3)  # interval bounds R finds by iteration (effectsize's optimiser)

EXACT_PRE = np.array([12.0, 15.5, 9.8, 11.1, 14.2, 13.3, 10.4, 16.0, 12.7, 11.9])
CASES = {
    # name: (pre, post, alpha for mde_dz)
    "sleep": ([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0], [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4], 0.05),
    "likert": ([3.25, 2.5, 4, 3.75, 2.25, 3, 3.5, 4.25, 2.75, 3, 3.5, 2], [2.75, 2.5, 3.25, 3.5, 2.5, 2.25, 3, 3.5, 2.75, 2.5, 3.25, 1.75], 0.05),
    "exact": (EXACT_PRE, EXACT_PRE + np.array([1.1, -0.4, 2.3, 0.7, 1.9, -1.2, 3.1, 0.2, 1.5, 2.8]), 0.05),
    "thirds": (np.array([5, 4, 6, 7, 3, 8, 5, 6, 4, 9, 7, 5]) / 3, np.array([7, 6, 8, 9, 5, 9, 4, 8, 6, 11, 9, 5]) / 3, 0.05),
}

# R, per case (see paired_reference() in the R script):
#   t.test(post, pre, paired = TRUE)                  -> t, df, p, mean_diff, ci_low, ci_high
#   cohens_d(post, pre, paired = TRUE)                -> d_z, d_z_ci_low, d_z_ci_high
#   mean(post - pre) / ((sd(pre) + sd(post)) / 2)     -> d_av;  g_av = d_av x hedges_g/cohens_d
#   wilcox.test(round(post - pre, 9))                 -> V, p_wilcoxon (and the method it chose)
#   rank_biserial(round(post - pre, 9), 0, paired)    -> r_rb
#   shapiro.test(post - pre); extractBF(ttestBF(post, pre, paired = TRUE, rscale = "medium"))
#   power.t.test(n, sig.level, power = .8, type = "paired", strict = TRUE, tol = 1e-12)$delta
R = {
    "sleep": dict(
        t=4.06212768338204, df=9, p=0.00283289019738427, mean_diff=1.58, ci_low=0.700114236723018, ci_high=2.45988576327698,
        d_z=1.28455756259105, d_z_ci_low=0.414627667667354, d_z_ci_high=2.1180165087725,
        d_av=0.833496341312704, g_av=0.761711378726636,
        v=45, p_wilcoxon=0.00909069801592506, r_rb=1, method="normal",
        shapiro_p=0.0333416086303078, bf10=17.2588802677725, mde_dz=0.996001371455107,
    ),
    "likert": dict(
        t=-3.74224602162172, df=11, p=0.00325345741689392, mean_diff=-0.354166666666667, ci_low=-0.56246819816102, ci_high=-0.145865135172313,
        d_z=-1.08029337397855, d_z_ci_low=-1.78573426896228, d_z_ci_high=-0.345067949307396,
        d_av=-0.577839440165629, g_av=-0.537367455972938,
        v=2.5, p_wilcoxon=0.0115047381556687, r_rb=-0.909090909090909, method="normal",
        shapiro_p=0.289602267386168, bf10=14.8910952155057, mde_dz=0.888654265293221,
    ),
    "exact": dict(
        t=2.71823941948077, df=9, p=0.0236759530929778, mean_diff=1.2, ci_low=0.201343084092137, ci_high=2.19865691590786,
        d_z=0.85958277912131, d_z_ci_low=0.10999677602996, d_z_ci_high=1.57579812573989,
        d_av=0.647416836984513, g_av=0.591657991843899,
        v=48, p_wilcoxon=0.037109375, r_rb=0.745454545454545, method="exact",
        shapiro_p=0.924955166479133, bf10=3.13323582777008, mde_dz=0.996001371455107,
    ),
    "thirds": dict(
        t=5.19615242270663, df=11, p=0.000296239258065204, mean_diff=0.5, ci_low=0.28821010422312, ci_high=0.71178989577688,
        d_z=1.5, d_z_ci_low=0.646461807499176, d_z_ci_high=2.32322364631141,
        d_av=0.777420669264616, g_av=0.722969977860565,
        v=64.5, p_wilcoxon=0.00330942642377467, r_rb=0.954545454545455, method="normal",
        shapiro_p=8.44358155491158e-05, bf10=113.025167533098, mde_dz=0.888654265293221,
    ),
    # The 55 complete pairs of tests/fixtures/statistics/scores.csv; mde at alpha = .01.
    "fixture": dict(
        t=4.34671978369214, df=54, p=6.15088258537603e-05, mean_diff=2.34709090909091, ci_low=1.26451964034125, ci_high=3.42966217784057,
        d_z=0.586111576066299, d_z_ci_low=0.297422098790001, d_z_ci_high=0.870156469753828,
        d_av=0.464166626107613, g_av=0.457684841322625,
        v=1216, p_wilcoxon=0.000189419275513246, r_rb=0.579220779220779, method="normal",
        shapiro_p=0.365639517244894, bf10=348.840789852166, mde_dz=0.475500591389642,
    ),
}


def fixture_scores() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "scores.csv")


def case(name: str) -> tuple[np.ndarray, np.ndarray, float]:
    if name == "fixture":
        pairs = fixture_scores().dropna()
        return pairs["pre"].to_numpy(), pairs["post"].to_numpy(), 0.01
    pre, post, alpha = CASES[name]
    return np.asarray(pre, dtype=float), np.asarray(post, dtype=float), alpha


@pytest.mark.parametrize("name", list(R))
def test_paired_t_and_standardized_differences_match_r(name):
    pre, post, _ = case(name)
    row, expected = paired_statistics(pre, post), R[name]
    keys = ["t", "df", "p", "mean_diff", "ci_low", "ci_high", "d_z", "d_av", "g_av", "shapiro_p"]
    np.testing.assert_allclose([row[k] for k in keys], [expected[k] for k in keys], **TOL)
    np.testing.assert_allclose([row["d_z_ci_low"], row["d_z_ci_high"]], [expected["d_z_ci_low"], expected["d_z_ci_high"]], **ITERATIVE)
    assert row["notes"] == []


def test_sleep_data_gives_the_textbook_t():
    # Student (1908) via R's t.test: t = 4.0621, df = 9, p = 0.002833.
    row = paired_statistics(*case("sleep")[:2])
    assert (round(row["t"], 4), row["df"], round(row["p"], 6)) == (4.0621, 9, 0.002833)


@pytest.mark.parametrize("name", list(R))
def test_wilcoxon_matches_r_wilcox_test_and_effectsize_rank_biserial(name):
    pre, post, _ = case(name)
    result, expected = signed_rank_test(post - pre), R[name]
    assert result.v == expected["v"] and result.method == expected["method"]
    np.testing.assert_allclose([result.p, result.r_rb], [expected["p_wilcoxon"], expected["r_rb"]], **TOL)


@pytest.mark.parametrize("name", list(R))
def test_bayes_factor_matches_bayesfactor_ttestbf(name):
    pre, post, _ = case(name)
    row = paired_statistics(pre, post)
    # BayesFactor states its own relative error as below 1e-7 for these cases.
    np.testing.assert_allclose(np.exp(jzs_log_bf10(row["t"], len(pre))), R[name]["bf10"], rtol=1e-6)


@pytest.mark.parametrize("name", list(R))
def test_minimum_detectable_effect_matches_power_t_test(name):
    pre, _, alpha = case(name)
    np.testing.assert_allclose(minimum_detectable_dz(len(pre), alpha), R[name]["mde_dz"], **TOL)


def test_hedges_factor_matches_effectsize():
    # hedges_g(post, pre, paired = TRUE)$Hedges_g / cohens_d(...)$Cohens_d for n = 10, 12, 55 pairs
    np.testing.assert_allclose(
        [hedges_correction(9), hedges_correction(11), hedges_correction(54)],
        [0.913874891792552, 0.929959809975778, 0.986035650948578],
        **TOL,
    )
    assert np.isnan(hedges_correction(1))


def test_float_noise_does_not_break_ties():
    # 7/3 - 5/3 and 9/3 - 7/3 differ in the last bit, though both are 2/3; R ranks the rounded
    # differences as tied (V = 64.5 above). Unrounded, ranks would not tie and V would change.
    pre, post, _ = case("thirds")
    raw = post - pre
    assert len(np.unique(np.abs(raw[raw != 0]))) > len(np.unique(np.round(np.abs(raw[raw != 0]), 9)))
    assert signed_rank_test(raw).v == 64.5


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


def test_reliability_matches_psych():
    # complete <- items[complete.cases(items), ]            (71 of 90 rows)
    # psych::alpha(complete)$total$raw_alpha                 0.473768582585463  (i6 not keyed)
    # omega(complete[, 1:5], nfactors = 1)$omega.tot         0.804083182772883
    # omega(complete, nfactors = 1)$omega.tot                0.838415903392144  (psych flips i6)
    # keyed$i6 <- 6 - keyed$i6: alpha 0.832605531295488, omega.tot 0.838415903392144
    items = complete_cases(pd.read_csv(FIXTURES / "items.csv").to_numpy(dtype=float))
    assert len(items) == 71
    keyed = items.copy()
    keyed[:, 5] = 6 - keyed[:, 5]
    np.testing.assert_allclose(
        [cronbach_alpha(items), omega_total(items[:, :5]), omega_total(items), cronbach_alpha(keyed), omega_total(keyed)],
        [0.473768582585463, 0.804083182772883, 0.838415903392144, 0.832605531295488, 0.838415903392144],
        **TOL,
    )


def test_attrition_matches_cohens_d_and_welch_t_test():
    # cohens_d(completers, dropouts)$Cohens_d, t.test(completers, dropouts)$p.value, sd() of each
    scores = fixture_scores()
    completers = scores.loc[scores["pre"].notna() & scores["post"].notna(), "pre"]
    dropouts = scores.loc[scores["pre"].notna() & scores["post"].isna(), "pre"]
    row = compare_baseline(completers, dropouts)
    assert (row["n_completers"], row["n_noncompleters"]) == (55, 10)
    np.testing.assert_allclose(
        [row["std_diff"], row["p"], row["sd_completers"], row["sd_noncompleters"]],
        [-0.187343545449745, 0.622158324397128, 4.98409806638609, 5.53851524427902],
        **TOL,
    )


def two_wave_model(pre, post):
    return fit_wave_model(np.column_stack([np.asarray(pre, dtype=float), np.asarray(post, dtype=float)]))


def test_mixed_model_matches_lme4():
    # lmer(y ~ wave + (1 | id), REML = TRUE) on all 125 scores of 70 participants:
    # fixef 2.33200035161463, SE 0.528613073854507, sigma^2 8.00710441307777, tau^2 17.4512068549391;
    # lmerTest's Satterthwaite df 58.4024856525244 and p 4.4778054786329e-05 (printed by
    # tests/r/mixed_waves_reference.R; the Wald z p was 1.02635627410641e-05).
    scores = fixture_scores()
    model = two_wave_model(scores["pre"], scores["post"])
    change = model.contrast(0, 1)
    np.testing.assert_allclose([change.estimate, change.se, change.p], [2.33200035161463, 0.528613073854507, 4.4778054786329e-05], **TOL)
    np.testing.assert_allclose(change.df, 58.4024856525244, rtol=1e-6)
    np.testing.assert_allclose([model.residual_variance, model.participant_variance], [8.00710441307777, 17.4512068549391], rtol=1e-6)
    assert (model.n_participants, model.n_scores) == (70, 125)


def test_mixed_model_agrees_with_statsmodels():
    # The model statsmodels fits (its optimiser stops near 1e-7; its SE uses the joint Hessian,
    # which lme4 and we do not, so only the estimate and the variances are compared).
    import statsmodels.formula.api as smf

    scores = fixture_scores()
    long = pd.concat(
        [scores.assign(wave=0, y=scores["pre"]), scores.assign(wave=1, y=scores["post"])]
    ).dropna(subset=["y"])
    fit = smf.mixedlm("y ~ wave", long, groups=long["id"]).fit(reml=True)
    model = two_wave_model(scores["pre"], scores["post"])
    np.testing.assert_allclose(model.contrast(0, 1).estimate, fit.params["wave"], atol=1e-5)
    np.testing.assert_allclose(model.residual_variance, fit.scale, rtol=1e-4)


def test_reliable_change_matches_the_jacobson_truax_formula_in_r():
    # s_diff <- sd(pairs$pre) * sqrt(2 * (1 - 0.8)); rci <- (post - pre) / s_diff
    # 100 * c(mean(rci > 1.96), mean(abs(rci) <= 1.96), mean(rci < -1.96)): 23.6363636363636, 74.5454545454545, 1.81818181818182
    # 1.96 * s_diff: 6.17835197279709
    pairs = fixture_scores().dropna()
    pre, post = pairs["pre"].to_numpy(), pairs["post"].to_numpy()
    basis = ChangeBasis(sd=pre.std(ddof=1), reliability=0.8, sd_source="sample", reliability_source="published", reliability_statistic="alpha")
    category = classify_change((post - pre) / basis.s_diff, "better")
    shares = [100 * np.mean(category == name) for name in ("improved", "unchanged", "deteriorated")]
    np.testing.assert_allclose(shares, [23.6363636363636, 74.5454545454545, 1.81818181818182], **TOL)
    np.testing.assert_allclose(basis.threshold, 6.17835197279709, **TOL)


# --- properties that hold for all inputs ----------------------------------------------------

differences = st.lists(st.integers(-12, 12).map(lambda k: k / 4), min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(differences)
def test_signed_ranks_are_antisymmetric(values):
    d = np.array(values)
    forward, backward = signed_rank_test(d), signed_rank_test(-d)
    n = forward.n_nonzero
    assume(n > 0)
    assert forward.v + backward.v == n * (n + 1) / 2
    assert forward.p == pytest.approx(backward.p, abs=1e-12) and 0 < forward.p <= 1
    assert forward.r_rb == pytest.approx(-backward.r_rb) and -1 <= forward.r_rb <= 1


@settings(max_examples=60, deadline=None)
@given(differences, st.integers(0, 2**32 - 1))
def test_float_noise_never_changes_the_signed_rank_test(values, seed):
    d = np.array(values)
    noisy = d + np.random.default_rng(seed).uniform(-1e-12, 1e-12, len(d)) * (d != 0)
    assert signed_rank_test(noisy) == signed_rank_test(d)


@pytest.mark.parametrize("n", [1, 5, 12, 30])
def test_exact_null_counts_every_sign_pattern_once(n):
    counts = signed_rank_null_counts(n)
    assert counts.sum() == 2**n and (counts == counts[::-1]).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5000), st.sampled_from([0.01, 0.05, 0.1]))
def test_minimum_detectable_effect_has_the_wanted_power(n, alpha):
    mde = minimum_detectable_dz(n, alpha)
    assert paired_power(mde, n, alpha) == pytest.approx(0.8, abs=1e-9)
    assert minimum_detectable_dz(n + 1, alpha) < mde


@settings(max_examples=40, deadline=None)
@given(st.floats(-8, 8), st.integers(3, 400))
def test_bayes_factor_is_symmetric_and_favours_the_null_at_t_zero(t, n):
    assert jzs_log_bf10(t, n) == pytest.approx(jzs_log_bf10(-t, n), abs=1e-9)
    assert jzs_log_bf10(0.0, n) < 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=3, max_size=50))
@example(pairs=[(0, 0), (0, 0), (22, 23)])  # participant variance ~1000x the residual one (CI found it)
@example(pairs=[(6, 7), (6, 7), (25, 27)])
def test_mixed_model_on_complete_pairs_is_the_paired_t_when_scores_correlate(pairs):
    # With every participant at both waves and a positive pre-post covariance, REML's wave
    # effect is the mean difference with standard error SD(D)/sqrt(n) (the paired t's).
    pre = np.array([a for a, _ in pairs], dtype=float)
    post = np.array([b for _, b in pairs], dtype=float)
    assume(np.cov(pre, post)[0, 1] > 1e-6 and np.std(post - pre) > 0)
    change, row = two_wave_model(pre, post).contrast(0, 1), paired_statistics(pre, post)
    assert change.estimate == pytest.approx(row["mean_diff"], abs=1e-9)
    assert change.se == pytest.approx(row["sd_diff"] / np.sqrt(len(pre)), rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(1, 5), min_size=4, max_size=4), min_size=3, max_size=40), st.integers(-3, 3))
def test_alpha_ignores_a_shift_of_one_item(rows, shift):
    items = np.array(rows, dtype=float)
    shifted = items.copy()
    shifted[:, 0] += shift
    a = cronbach_alpha(items)
    assert (np.isnan(a) and np.isnan(cronbach_alpha(shifted))) or a == pytest.approx(cronbach_alpha(shifted), abs=1e-9)
    assert np.isnan(a) or a <= 1
