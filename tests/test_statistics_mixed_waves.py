"""The multi-wave mixed model and the paired TOST against R, and properties that hold for all data.

Reference figures were printed by ``Rscript tests/r/mixed_waves_reference.R`` (R 4.2.2, lme4
1.1-31, lmerTest 3.1-3, emmeans 1.8.4-1) on the CSV files in ``tests/fixtures/statistics/``
(written once by ``make_fixtures.py``; ``waves*.csv`` are participants x waves, blank = not
scored). For each data set the script runs

    m <- lmer(y ~ wave + (1 | id), long, REML = TRUE,
              control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 1e-2, rhoend = 1e-12)))
    emm_options(lmer.df = "satterthwaite", lmerTest.limit = Inf, pbkrtest.limit = Inf)
    summary(emmeans(m, ~ wave))                                  # -> means: emmean, SE, df, lower.CL, upper.CL
    summary(contrast(emm, method = list(d = L), adjust = "none"))  # -> contrasts: estimate, SE, df, t.ratio, p.value

with ``L`` the vector "to minus from" (lmerTest's ``contest(m, L, joint = FALSE)`` prints the
same to 1e-12; the script prints both). ``fit`` is ``nobs(m)``, ``sigma(m)^2``, the id variance
and ``getME(m, "theta")``. CI needs no R: the numbers are copied here.

Tolerances: estimate, SE and interval 1e-6 relative; df 1e-3 relative; p 1e-4 absolute (measured
agreement is within 2e-7 relative throughout: R's figures carry lme4's optimiser error and
lmerTest's numerical derivatives).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipeline.statistics.equivalence import paired_tost
from pipeline.statistics.mixed import (
    NO_REPEATS_NOTE,
    NO_VARIANCE_NOTE,
    TWO_WAVE_NOTE,
    fit_wave_model,
)
from pipeline.statistics.paired import paired_statistics

FIXTURES = Path(__file__).parent / "fixtures" / "statistics"
CLOSE = {"rtol": 1e-6, "atol": 0}
DF = {"rtol": 1e-3, "atol": 0}
P = {"rtol": 0, "atol": 1e-4}

FILES = {"waves3": "waves3.csv", "waves4": "waves4.csv", "sparse": "waves_sparse.csv", "boundary": "waves_boundary.csv", "icc": "waves_icc.csv"}
# waves3: 40 x 3 (25 complete, 5 without follow-up, 4 without post, 3 without baseline, 2 baseline
#         only, 1 follow-up only); waves4: 30 x 4, ~20% of cells missing at random; sparse: 25 x 3,
#         follow-up scored for 2 only; boundary: baseline and post correlate negatively, a singular
#         fit (tau^2 = 0: lmerTest's df are n - p = 47 there); icc: tau^2 ~ 600 sigma^2.
R = {
    "waves3": {
        "fit": (102, 8.178486119947, 11.5419315852367, 1.18796265245261),
        "means": [
            (18.3696125639975, 0.724878188800404, 68.5092570890474, 16.9233353233668, 19.8158898046281),
            (21.4726178065243, 0.745712277596826, 72.5987674256412, 19.9862769895574, 22.9589586234913),
            (20.9822064758897, 0.745081376472775, 72.6288472057638, 19.4971335801574, 22.4672793716221),
        ],
        "contrasts": {
            (0, 1): (3.10300524252683, 0.708527699775881, 62.8893711862412, 4.37951154698449, 4.58875406413241e-05),
            (0, 2): (2.61259391189226, 0.713837624122131, 63.8098023525609, 3.65992744513179, 0.000513515729367643),
            (1, 2): (-0.490411330634572, 0.725885699513649, 62.9944440736473, -0.675604066815412, 0.501764704416517),
        },
    },
    "waves4": {
        "fit": (93, 0.204170396794498, 0.317777370627091, 1.24757050092951),
        "means": [
            (3.20078126916064, 0.145895985438989, 64.053222549197, 2.90932519667, 3.49223734165127),
            (3.70293739487946, 0.140244698618289, 58.5756708878086, 3.42226585962888, 3.98360893013004),
            (3.61853408580417, 0.138508132637931, 56.8915849934906, 3.34116487906887, 3.89590329253946),
            (4.06738948535848, 0.142042690003368, 60.3259562369295, 3.78329337459907, 4.35148559611789),
        ],
        "contrasts": {
            (0, 1): (0.502156125718821, 0.141626039829265, 63.2102177316461, 3.54564828843754, 0.000743627751472979),
            (0, 2): (0.41775281664353, 0.140539787551361, 63.2633353983773, 2.97248789059723, 0.0041745054735019),
            (0, 3): (0.866608216197846, 0.141205762221451, 62.1777100368645, 6.13720150342559, 6.45767325797362e-08),
            (1, 2): (-0.0844033090752914, 0.132798171117635, 61.7700955104962, -0.635575839373009, 0.527400640714216),
            (2, 3): (0.448855399554316, 0.136076867071765, 62.7975817485714, 3.2985430162615, 0.00160348416024266),
            (1, 3): (0.364452090479024, 0.137151466945509, 62.7129761926877, 2.65729633518119, 0.00997945700416303),
        },
    },
    "sparse": {
        "fit": (49, 29.7050335037364, 59.5725251965882, 1.41614584199977),
        "means": [
            (48.1526043919995, 1.9599097906485, 34.7296429340139, 44.1726684726912, 52.1325403113077),
            (44.8824000000001, 1.88973605247214, 31.8324518168476, 41.0323388769328, 48.7324611230673),
            (45.7829053948244, 4.76942311646053, 31.8834677709922, 36.0665156527871, 55.4992951368616),
        ],
        "contrasts": {
            (0, 1): (-3.27020439199942, 1.62682104724699, 22.3410794493239, -2.01018077405224, 0.0566375505815078),
            (0, 2): (-2.3696989971751, 4.64829087596688, 24.5476559691583, -0.509800066391538, 0.614744658269293),
            (1, 2): (0.900505394824328, 4.64248825481702, 24.6619113553814, 0.193970419610641, 0.847787898916012),
        },
    },
    "boundary": {
        "fit": (50, 2.29314520928939, 0, 0),
        "means": [
            (10.0744444444445, 0.35692710190126, 46.9999999999629, 9.35639973310152, 10.7924891557874),
            (11.0982352941176, 0.367274957850493, 47.0000000006724, 10.3593733817317, 11.8370972065036),
            (11.4466666666667, 0.390994050192531, 47.0000000004889, 10.6600880952673, 12.2332452380661),
        ],
        "contrasts": {
            (0, 1): (1.0237908496732, 0.512140459967492, 46.9999999996615, 1.99904309403358, 0.0514047702046216),
            (0, 2): (1.37222222222222, 0.529408446624713, 46.9999999997146, 2.59199155391443, 0.0126751706652317),
            (1, 2): (0.348431372549017, 0.536439411257265, 46.9999999994465, 0.649526051287677, 0.519160313842574),
        },
    },
    "icc": {
        "fit": (80, 0.189153523194756, 115.337907371773, 24.693282010439),
        "means": [
            (102.235478900291, 1.96267001724647, 29.0770756776096, 98.2218301354786, 106.249127665103),
            (103.070224403696, 1.96259768097478, 29.072791142559, 99.0566979447457, 107.083750862646),
            (103.882303148532, 1.96288686213532, 29.0899124964895, 99.8682876652359, 107.896318631829),
        ],
        "contrasts": {
            (0, 1): (0.834745503404976, 0.119550231101177, 48.0083807999179, 6.98238301771677, 7.81806037758927e-09),
            (0, 2): (1.64682424824144, 0.126947324993449, 48.0153937038694, 12.9725005889366, 2.61660293298493e-17),
            (1, 2): (0.812078744836462, 0.123305303161711, 48.0104745224253, 6.58591904819735, 3.17180107517468e-08),
        },
    },
}


def wide(name: str) -> np.ndarray:
    return pd.read_csv(FIXTURES / name).drop(columns="id").to_numpy(dtype=float)


@pytest.mark.parametrize("case", list(R))
def test_wave_model_matches_lmertest_and_emmeans(case):
    model = fit_wave_model(wide(FILES[case]))
    reference = R[case]
    n_obs, sigma2, tau2, _theta = reference["fit"]
    assert model.note == "" and model.n_scores == n_obs
    np.testing.assert_allclose(model.residual_variance, sigma2, rtol=1e-6)
    np.testing.assert_allclose(model.participant_variance, tau2, rtol=1e-6, atol=1e-12)
    assert len(model.means) == len(reference["means"])
    for mean, (emmean, se, df, low, high) in zip(model.means, reference["means"]):
        np.testing.assert_allclose([mean.estimate, mean.se, mean.ci_low, mean.ci_high], [emmean, se, low, high], **CLOSE)
        np.testing.assert_allclose(mean.df, df, **DF)
    for (origin, target), (estimate, se, df, t, p) in reference["contrasts"].items():
        change = model.contrast(origin, target)
        np.testing.assert_allclose([change.estimate, change.se, change.t], [estimate, se, t], **CLOSE)
        np.testing.assert_allclose(change.df, df, **DF)
        np.testing.assert_allclose(change.p, p, **P)
        np.testing.assert_allclose(change.p, p, rtol=1e-5)  # tighter where p is small


def test_boundary_fit_has_lmertests_df():
    # At tau^2 = 0 lmerTest's derivatives in theta vanish: df = n - p = 50 - 3 for everything.
    model = fit_wave_model(wide(FILES["boundary"]))
    assert model.participant_variance == 0
    assert {mean.df for mean in model.means} == {47.0}
    assert model.contrast(1, 2).df == 47.0


def test_two_waves_match_lmertest_and_the_former_closed_form():
    # summary(lmer(y ~ wave + (1 | id), REML = TRUE))$coefficients["wave1", ] on the shared
    # 70-participant fixture (55 pairs, 10 baseline only, 5 post only): estimate, SE, df, t, p.
    # The estimate and SE are those the former closed-form two-wave fit gave (and lme4 gives;
    # tests/test_statistics.py); only the p changed (t on 58.4 df, formerly z: 1.02635627410641e-05).
    scores = pd.read_csv(FIXTURES / "scores.csv")
    model = fit_wave_model(scores[["pre", "post"]].to_numpy())
    change = model.contrast(0, 1)
    np.testing.assert_allclose([change.estimate, change.se, change.t], [2.33200035161463, 0.528613073854507, 4.41154497865575], **CLOSE)
    np.testing.assert_allclose(change.df, 58.4024856525244, **DF)
    np.testing.assert_allclose(change.p, 4.4778054786329e-05, rtol=1e-5)
    # summary(emmeans(m, ~ wave)): emmean, SE, df, lower.CL, upper.CL
    for mean, (emmean, se, df, low, high) in zip(model.means, [
        (18.5662213960998, 0.61531343611798, 93.0029102466702, 17.3443313621637, 19.7881114300359),
        (20.8982217477144, 0.629299477444749, 97.7394877647362, 19.6493558119809, 22.1470876834479),
    ]):  # fmt: skip
        np.testing.assert_allclose([mean.estimate, mean.se, mean.ci_low, mean.ci_high], [emmean, se, low, high], **CLOSE)
        np.testing.assert_allclose(mean.df, df, **DF)
    assert (model.n_participants, model.n_scores) == (70, 125)


def unit_case() -> tuple[np.ndarray, np.ndarray]:
    """500 participants, 100 at baseline only (the unit test of tests/test_statistics_robust.py)."""
    rng = np.random.default_rng(13)
    pre = rng.integers(0, 30, 500).astype(float)
    post = pre + rng.normal(1, 2, 500)
    post[:100] = np.nan
    return pre, post


# Printed at full precision by the former closed-form two-wave fit (``wave_effect`` in
# ``git show db74a57:pipeline/statistics/mixed.py``): estimate, SE, sigma^2, tau^2.
FORMER_CLOSED_FORM = {
    "fixture": (2.3320003504600506, 0.5286130858909068, 8.007104802192803, 17.451205778494533),
    "docstring": (1.0, 0.20271076621122494, 0.08261456842242736, 1.4999999999999996),
    "unit": (1.092576044691066, 0.0967678467656756, 1.8776437785179465, 70.95601792715637),
}


@pytest.mark.parametrize("case", list(FORMER_CLOSED_FORM))
def test_two_waves_equal_the_former_closed_form(case):
    if case == "fixture":
        scores = pd.read_csv(FIXTURES / "scores.csv")
        pre, post = scores["pre"].to_numpy(), scores["post"].to_numpy()
    elif case == "docstring":
        pre, post = np.array([1.0, 2.0, 3.0, 4.0, 2.5]), np.array([2.0, 2.5, 4.0, 5.5, np.nan])
    else:
        pre, post = unit_case()
    model = fit_wave_model(np.column_stack([pre, post]))
    change = model.contrast(0, 1)
    np.testing.assert_allclose(
        [change.estimate, change.se, model.residual_variance, model.participant_variance], FORMER_CLOSED_FORM[case], rtol=1e-10
    )


def test_a_wave_nobody_was_scored_at_is_nan_and_the_rest_fit_as_without_it():
    scores = wide(FILES["waves3"])
    with_empty = np.insert(scores, 1, np.nan, axis=1)  # 4 columns, column 1 empty
    model, reference = fit_wave_model(with_empty), fit_wave_model(scores)
    assert model.note == "mixed model: no scores at wave 1, so its mean and contrasts are NaN"
    assert np.isnan([model.means[1].estimate, model.means[1].se, model.means[1].df]).all()
    assert np.isnan(model.contrast(0, 1).estimate) and np.isnan(model.contrast(1, 3).p)
    for ours, theirs in [(model.contrast(0, 2), reference.contrast(0, 1)), (model.contrast(2, 3), reference.contrast(1, 2))]:
        np.testing.assert_allclose([ours.estimate, ours.se, ours.df, ours.p], [theirs.estimate, theirs.se, theirs.df, theirs.p], rtol=1e-12)
    np.testing.assert_allclose(model.means[3].ci_high, reference.means[2].ci_high, rtol=1e-12)


def test_participants_without_any_score_are_ignored():
    scores = wide(FILES["waves4"])
    padded = np.vstack([np.full((5, 4), np.nan), scores, np.full((3, 4), np.nan)])
    model, reference = fit_wave_model(padded), fit_wave_model(scores)
    assert model.n_participants == reference.n_participants == 30
    assert model.contrast(0, 3) == reference.contrast(0, 3)


@pytest.mark.parametrize(
    ("scores", "note"),
    [
        (np.array([[1.0, np.nan], [2.0, np.nan], [3.0, np.nan]]), TWO_WAVE_NOTE),  # nobody at post
        (np.array([[1.0, 2.0]]), TWO_WAVE_NOTE),  # 2 scores
        (np.array([[1.0, np.nan, np.nan], [np.nan, 2.0, np.nan]]), "mixed model needs scores at 2 or more waves and at least 3 scores"),
        (np.array([[1.0, np.nan, np.nan], [np.nan, 2.0, np.nan], [np.nan, np.nan, 4.0], [5.0, np.nan, np.nan]]), NO_REPEATS_NOTE),
        (np.column_stack([np.full(20, 3.0), np.full(20, 4.0), np.full(20, 2.0)]), NO_VARIANCE_NOTE),  # constant waves
        (np.arange(100)[:, None] / 3 + np.array([0, 1, 2]) / 3, NO_VARIANCE_NOTE),  # the same changes for all, up to rounding
        (np.arange(100.0)[:, None] + [0, 2, 2], NO_VARIANCE_NOTE),  # ... exactly
        (np.array([[1.0, 2.0, 4.0], [3.0, np.nan, np.nan]]), ""),  # one participant carries the fit (the paired note says why)
    ],
)
def test_models_the_data_cannot_estimate_are_nan_with_the_reason(scores, note):
    model = fit_wave_model(scores)
    assert model.note == note
    assert np.isnan([model.residual_variance, model.participant_variance]).all()
    assert all(np.isnan([m.estimate, m.se, m.df, m.ci_low, m.ci_high]).all() for m in model.means)
    change = model.contrast(0, 1)
    assert np.isnan([change.estimate, change.se, change.df, change.t, change.p]).all()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="2 to 24 columns"):
        fit_wave_model(np.ones((5, 25)))
    with pytest.raises(ValueError, match="2 to 24 columns"):
        fit_wave_model(np.ones(5))
    with pytest.raises(ValueError, match="finite"):
        fit_wave_model(np.array([[1.0, np.inf], [2.0, 3.0]]))
    model = fit_wave_model(wide(FILES["waves3"]))
    with pytest.raises(IndexError):
        model.contrast(0, 3)
    with pytest.raises(ValueError):
        model.contrast(1, 1)


def test_twelve_waves_and_a_hundred_thousand_participants():
    # Not a timing test (the fit takes well under a second on one CPU); the figures must be sane.
    rng = np.random.default_rng(7)
    scores = rng.normal(0, 1, (100_000, 3)) + rng.normal(0, 2, (100_000, 1)) + [0, 0.1, 0.05]
    scores[rng.random(scores.shape) < 0.2] = np.nan
    model = fit_wave_model(scores)
    assert model.note == "" and model.n_scores == int((~np.isnan(scores)).sum())
    assert model.residual_variance == pytest.approx(1, rel=0.02) and model.participant_variance == pytest.approx(4, rel=0.03)
    change = model.contrast(0, 1)
    assert abs(change.estimate - 0.1) < 5 * change.se and 1e5 < change.df < 3e5
    twelve = rng.normal(0, 1, (300, 12)) + rng.normal(0, 1, (300, 1))
    twelve[rng.random(twelve.shape) < 0.4] = np.nan
    model = fit_wave_model(twelve)
    assert model.note == "" and len(model.means) == 12
    assert all(np.isfinite([m.estimate, m.se, m.df]).all() for m in model.means)


# --- properties -------------------------------------------------------------------------------

scores_strategy = st.integers(2, 5).flatmap(
    lambda waves: st.lists(
        st.lists(st.one_of(st.none(), st.integers(0, 30)), min_size=waves, max_size=waves), min_size=4, max_size=30
    )
)


def as_array(rows) -> np.ndarray:
    return np.array([[np.nan if v is None else float(v) for v in row] for row in rows])


def figures(model) -> np.ndarray:
    """Every mean's and every contrast's figures (NaN where not estimable), in a fixed order."""
    waves = len(model.means)
    values = [[m.estimate, m.se, m.df, m.ci_low, m.ci_high] for m in model.means]
    values += [list(vars(model.contrast(i, j)).values()) for i in range(waves) for j in range(waves) if i != j]
    return np.array(values)


def interior(model) -> bool:
    # A participant variance close to 0 may fall on either side of the boundary, where lmerTest's
    # df jump to n - p: such fits are left out of the invariance checks.
    return model.note == "" and model.participant_variance > 1e-6 * model.residual_variance


@settings(max_examples=60, deadline=None)
@given(scores_strategy, st.sampled_from([1e-150, 1e-3, 0.37, 1.0, 1e3, 1e150]), st.integers(-50, 50))
def test_shifting_and_scaling_units_scales_the_estimates_only(rows, unit, shift):
    scores = as_array(rows)
    reference = fit_wave_model(scores)
    assume(interior(reference))
    model = fit_wave_model((scores + shift) * unit)
    assert model.note == ""
    ours, theirs = figures(model), figures(reference)
    waves = len(model.means)
    # means: estimate and interval shift and scale; SE scales; df unchanged
    np.testing.assert_allclose(ours[:waves, [0, 3, 4]] / unit, theirs[:waves, [0, 3, 4]] + shift, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(ours[:waves, 1] / unit, theirs[:waves, 1], rtol=1e-7)
    np.testing.assert_allclose(ours[:, 2], theirs[:, 2], rtol=1e-6)  # df
    contrasts = slice(waves, None)
    np.testing.assert_allclose(ours[contrasts, :2] / unit, theirs[contrasts, :2], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(ours[contrasts, 3:], theirs[contrasts, 3:], rtol=1e-6, atol=1e-9)  # t, p
    assert model.residual_variance / unit**2 == pytest.approx(reference.residual_variance, rel=1e-7)


@settings(max_examples=60, deadline=None)
@given(scores_strategy, st.randoms(use_true_random=False))
def test_the_order_of_participants_changes_nothing(rows, random):
    scores = as_array(rows)
    reference = fit_wave_model(scores)
    assume(interior(reference))
    order = list(range(len(scores)))
    random.shuffle(order)
    model = fit_wave_model(scores[order])
    assert model.note == reference.note and model.n_participants == reference.n_participants
    np.testing.assert_allclose(figures(model), figures(reference), rtol=1e-8, atol=1e-10)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(3, 25), st.integers(0, 2**32 - 1))
def test_with_complete_data_a_contrast_is_the_difference_of_wave_means(waves, n, seed):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(0, 2, (n, waves)) + rng.normal(0, rng.uniform(0, 3), (n, 1)), 1)
    model = fit_wave_model(scores)
    assume(model.note == "")
    observed = scores.mean(axis=0)
    for j in range(waves):
        assert model.means[j].estimate == pytest.approx(observed[j], abs=1e-9)
        for i in range(waves):
            if i != j:
                change = model.contrast(i, j)
                assert change.estimate == pytest.approx(model.means[j].estimate - model.means[i].estimate, abs=1e-9)
                assert change.estimate == pytest.approx(observed[j] - observed[i], abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=3, max_size=50))
def test_two_complete_waves_are_the_paired_t_when_scores_correlate(pairs):
    # With every participant at both waves and a positive pre-post covariance (an interior fit),
    # REML's wave effect is the mean difference with the paired t's SE SD(D)/sqrt(n).
    pre = np.array([a for a, _ in pairs], dtype=float)
    post = np.array([b for _, b in pairs], dtype=float)
    assume(np.cov(pre, post)[0, 1] > 1e-6 and np.std(post - pre) > 0)
    change = fit_wave_model(np.column_stack([pre, post])).contrast(0, 1)
    row = paired_statistics(pre, post)
    assert change.estimate == pytest.approx(row["mean_diff"], abs=1e-9)
    assert change.se == pytest.approx(row["sd_diff"] / np.sqrt(len(pre)), rel=1e-6)
    # Complete balanced pairs: Satterthwaite's df for the difference is the paired t's n - 1.
    assert change.df == pytest.approx(len(pre) - 1, rel=1e-6)
    assert change.p == pytest.approx(row["p"], rel=1e-5, abs=1e-12)


# --- paired TOST -----------------------------------------------------------------------------

# tost() in tests/r/mixed_waves_reference.R: d the differences, low/high = -+margin x sd(d),
#   lo <- t.test(d, mu = low, alternative = "greater"); hi <- t.test(d, mu = high, alternative = "less")
#   -> mean(d), sd(d), n; low, high, lo$statistic, hi$statistic, df; lo$p.value, hi$p.value, max
TOST = {
    # the fixture's 55 pairs (post - pre), margins 0.5 and 0.8
    ("fixture", 0.5): ((2.34709090909091, 4.00451211839811, 55),
                       (-2.00225605919905, 2.00225605919905, 8.05481902723997, 0.63862054014431, 54),
                       (4.02388523590152e-11, 0.737115370174228, 0.737115370174228)),
    ("fixture", 0.8): ((2.34709090909091, 4.00451211839811, 55),
                       (-3.20360969471849, 3.20360969471849, 10.2796785733687, -1.58623900598439, 54),
                       (1.27622601558296e-14, 0.0592621137719507, 0.0592621137719507)),
    # small <- c(0.4, -0.2, 0.1, 0.0, -0.5, 0.3, 0.2, -0.1, 0.6, -0.3, 0.1, 0.25), margins 0.5 and 1
    ("small", 0.5): ((0.0708333333333333, 0.310760309075933, 12),
                     (-0.155380154537967, 0.155380154537967, 2.52164284116939, -0.942458773968362, 11),
                     (0.0141962130919784, 0.183098174933135, 0.183098174933135)),
    ("small", 1.0): ((0.0708333333333333, 0.310760309075933, 12),
                     (-0.310760309075933, 0.310760309075933, 4.25369364873827, -2.67450958153724, 11),
                     (0.000678648064180469, 0.0108095883682504, 0.0108095883682504)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(TOST))
def test_paired_tost_is_two_one_sided_t_tests_in_r(case):
    (mean, sd, n), (low, high, t_low, t_high, df), (p_low, p_high, p) = TOST[case]
    if case[0] == "small":  # from the data, as R
        d = np.array([0.4, -0.2, 0.1, 0.0, -0.5, 0.3, 0.2, -0.1, 0.6, -0.3, 0.1, 0.25])
        np.testing.assert_allclose([d.mean(), d.std(ddof=1)], [mean, sd], rtol=1e-12)
    result = paired_tost(mean, sd, n, case[1])
    np.testing.assert_allclose([result.low_bound, result.high_bound, result.t_low, result.t_high], [low, high, t_low, t_high], rtol=1e-12)
    assert result.df == df
    np.testing.assert_allclose([result.p_low, result.p_high, result.p], [p_low, p_high, p], rtol=1e-9)
    assert result.equivalent == (p < 0.05)


def test_paired_tost_decides_by_the_larger_p_and_alpha():
    assert paired_tost(0.0708333333333333, 0.310760309075933, 12, 1.0).equivalent  # p = 0.0108
    assert not paired_tost(0.0708333333333333, 0.310760309075933, 12, 1.0, alpha=0.01).equivalent
    assert not paired_tost(2.34709090909091, 4.00451211839811, 55, 0.8).equivalent  # p = 0.059


@pytest.mark.parametrize(("mean", "sd", "n"), [(0.1, 1.0, 1), (0.1, 1.0, 0), (0.1, 0.0, 30), (0.1, np.nan, 30), (np.nan, 1.0, 30)])
def test_paired_tost_is_undefined_without_two_differences_or_spread(mean, sd, n):
    result = paired_tost(mean, sd, n, 0.5)
    assert np.isnan([result.t_low, result.t_high, result.p_low, result.p_high, result.p]).all()
    assert result.equivalent is False
