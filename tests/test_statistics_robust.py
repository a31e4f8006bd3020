"""Valid data never crash the statistics: any n from 2 to 10 million, any finite t or effect.

Three kinds of check:

* properties over n (log-uniform, 2 to 10^7) and t (0, tiny, negative, huge, and the t of a d_z
  up to 10), with every warning an error: finite, ordered, containing d_z, monotone, and the
  defining equation of each answer re-checked with ``reference_cdf``, a noncentral t written
  here independently of ``pipeline.statistics.paired`` (it integrates over the chi variable S,
  the pipeline over the normal Z, and uses none of scipy's noncentral functions);
* figures from 30- to 40-digit mpmath integrals (how each was made is written beside it), for
  the regions where scipy's own noncentral t is off (|t| > 5,000) and where scipy's chi-square
  lower tail is off (df = 1e7);
* whole analyses of simulated studies of 10,000 and 100,000 participants.

Properties never assert on time; ``max_examples`` keeps the file well under a minute.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from pipeline.statistics.attrition import compare_baseline
from pipeline.statistics.bayes import jzs_log_bf10
from pipeline.statistics.mixed import fit_wave_model
from pipeline.statistics.paired import dz_confidence_interval, noncentral_t_cdf, paired_statistics
from pipeline.statistics.power import minimum_detectable_dz
from pipeline.statistics.reliability import MIN_UNIQUENESS, omega_total, one_factor_minres
from pipeline.statistics.wilcoxon import signed_rank_test

pytestmark = pytest.mark.filterwarnings("error")  # no warning may leak from the statistics

MAX_N = 10_000_000
Z975 = stats.norm.isf(0.025)

# --- an independent noncentral t ------------------------------------------------------------


def _chi_log_density(s: float, df: float) -> float:
    """log density of S = sqrt(chi2_df / df) at s, for df >= 100, without cancellation.

    log f = -a (s^2 - 1 - 2 log s) - log s + log(2a/pi)/2 - c(a), a = df/2, c(a) Stirling's
    series for log Gamma(a) - ((a - 1/2) log a - a + log(2 pi)/2) (error < 1e-18 at a >= 50).
    scipy's chi.pdf loses 2.5e-9 of its log at df = 1e7 (and underflows 10 SD out).
    """
    a = df / 2
    e = s - 1
    stirling = 1 / (12 * a) - 1 / (360 * a**3) + 1 / (1260 * a**5) - 1 / (1680 * a**7)
    return -a * (e * (2 + e) - 2 * np.log1p(e)) - np.log1p(e) + 0.5 * np.log(2 * a / np.pi) - stirling


def reference_cdf(t: float, df: float, ncp: float) -> float:
    """P(T <= t) for T = (Z + ncp) / S as E_S[Phi(t S - ncp)], integrated over s (Owen, 1968)."""
    if df < 100:
        density = lambda s: stats.chi.pdf(s * np.sqrt(df), df) * np.sqrt(df)  # noqa: E731
        low, high = 0.0, float(np.sqrt(stats.chi2.isf(1e-25, df) / df))
        points = [np.sqrt(max(df - 1, 0) / df)]
    else:
        density = lambda s: np.exp(_chi_log_density(s, df))  # noqa: E731
        sd = 1 / np.sqrt(2 * df)
        low, high = max(1 - 14 * sd, 1e-3), 1 + 14 * sd
        points = [1 + k * sd for k in (-6, -3, -1, 0, 1, 3, 6)]
    if abs(t) > 1e-3:  # below that Phi(t s - ncp) hardly changes with s
        step = ncp / t
        points += [step + k / abs(t) for k in (-10, -4, -1, 0, 1, 4, 10)]
    points = sorted(p for p in points if low < p < high)
    # quad may warn that it cannot prove 1e-14 where the integrand is a steep step (t = 286 at
    # ncp = t): the value is still right to ~1e-15 there, and the tolerance checked is 1e-10.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value = integrate.quad(lambda s: density(s) * special.ndtr(t * s - ncp), low, high, points=points, epsabs=1e-14, epsrel=1e-12, limit=1000)[0]
    return value


def test_the_reference_itself_agrees_with_scipy_where_scipy_is_accurate():
    # scipy's noncentral t (Boost) at moderate t and ncp agrees with mpmath to 1e-14 (see the
    # module docstring of pipeline/statistics/paired.py); the reference must too.
    for t, df, ncp in [(2.0, 1, 0.5), (4.06, 9, 1.3), (-3.0, 40, -2.0), (100.0, 9_999, 97.6), (10.0, 9_999_999, 8.04)]:
        assert reference_cdf(t, df, ncp) == pytest.approx(stats.nct.cdf(t, df, ncp), abs=1e-11)


# --- strategies -----------------------------------------------------------------------------

sizes = st.floats(np.log(2), np.log(MAX_N)).map(lambda u: max(2, min(MAX_N, round(math.exp(u)))))
effects = st.one_of(st.just(0.0), st.floats(-1e-6, 1e-6), st.floats(-10, 10))


@st.composite
def sizes_and_t(draw, largest_t=1e5):
    n = draw(sizes)
    kind = draw(st.sampled_from(["effect", "t", "zero", "tiny"]))
    if kind == "effect":
        t = draw(effects) * np.sqrt(n)
    elif kind == "t":
        t = draw(st.floats(-largest_t, largest_t))
    else:
        t = 0.0 if kind == "zero" else draw(st.floats(-1e-300, 1e-300))
    return n, float(np.clip(t, -largest_t, largest_t))


# --- d_z interval ---------------------------------------------------------------------------


@settings(deadline=None, max_examples=70)
@given(sizes_and_t())
@example((7_243, 60.940061))  # mlq_p of `impact demo --participants 10000`: the reported NaN crash
@example((MAX_N, 10 * np.sqrt(MAX_N)))  # d_z = 10 at n = 1e7
@example((2, 1e5))
@example((MAX_N, 3000.0))  # where scipy's chi-square lower tail is off
def test_dz_interval_is_finite_ordered_and_inverts_the_noncentral_t(case):
    n, t = case
    low, high = dz_confidence_interval(t, n)
    d_z = t / np.sqrt(n)
    assert np.isfinite(low) and np.isfinite(high)
    assert low <= d_z <= high
    assert low < high
    # Each bound is the ncp / sqrt(n) at which P(T <= t) is 0.975 (low) and 0.025 (high).
    assert reference_cdf(t, n - 1, low * np.sqrt(n)) == pytest.approx(0.975, abs=1e-9)
    assert reference_cdf(t, n - 1, high * np.sqrt(n)) == pytest.approx(0.025, abs=1e-9)


@settings(deadline=None, max_examples=40)
@given(sizes, st.floats(1e10, 1e300), st.booleans())
def test_dz_interval_for_huge_t_tends_to_the_chi_limit(n, t, negative):
    # As t -> inf, T ~ ncp / S, so ncp / t -> sqrt(chi2_(a/2 or 1-a/2; df) / df) (error ~ df/t^2).
    sign = -1 if negative else 1
    low, high = dz_confidence_interval(sign * t, n)
    d_z = t / np.sqrt(n)
    df = n - 1
    expected = d_z * np.sqrt(stats.chi2.ppf([0.025, 0.975], df) / df)
    got = np.array([low, high]) if sign > 0 else -np.array([high, low])
    np.testing.assert_allclose(got, expected, rtol=1e-9)


@settings(deadline=None, max_examples=50)
@given(sizes_and_t(largest_t=1e6), st.floats(1e-6, 1.0))
def test_dz_interval_rises_with_t(case, relative_step):
    n, t = case
    later = t + relative_step * max(abs(t), 1.0)
    low, high = dz_confidence_interval(t, n)
    later_low, later_high = dz_confidence_interval(later, n)
    slack = 1e-12 * max(abs(low), abs(high), 1 / np.sqrt(n))
    assert later_low >= low - slack and later_high >= high - slack


# ncp / sqrt(n) at P(T <= t | n - 1, ncp) = .975 and .025, by mpmath (40 digits): the CDF as
# the integral over s of the density of S = sqrt(chi2_df / df) times Phi(t s - ncp), with
# quad break points every 2 SD of S and every 2 / |t| around s = ncp / t, then findroot to 1e-30.
MPMATH_DZ = {
    (10_000_000, 31622.776601683792): (9.9955737601345878, 10.0044262041561),  # d_z = 10
    (10_000_000, 3000.0): (0.94793694924622644, 0.94942961336362391),
    (10_000_000, 1.0): (-0.00030356728968829494, 0.00093602280591058187),
    (100_000, 10000.0): (31.484042903407746, 31.761501646210729),
    (10_000, 1500.0): (14.791162607963584, 15.208791546112731),
    (10, 5000.0): (866.08756166923884, 2298.7177444318891),
    (2, 1e6): (22159.299596063929, 1584911.0680602733),
    (3, 2.5): (-0.32931343361152588, 3.1245279471491342),
}


@pytest.mark.parametrize(("n", "t"), list(MPMATH_DZ))
def test_dz_interval_matches_high_precision(n, t):
    # scipy's nct.cdf alone is off by 6e-8 to 6e-7 at the first and fourth of these.
    np.testing.assert_allclose(dz_confidence_interval(t, n), MPMATH_DZ[n, t], rtol=1e-12)


@settings(deadline=None, max_examples=60)
@given(st.floats(-3e5, 3e5), sizes, st.floats(-2, 2))
@example(286.0, 148, 1e-13)  # where the reference's quadrature once warned
def test_noncentral_t_cdf_agrees_with_the_reference_everywhere(t, n, spread):
    # ncp near t (where the probability is neither 0 nor 1), across scipy's range and beyond it.
    ncp = t + spread * 3 * np.hypot(1, t / np.sqrt(2 * (n - 1)))
    assert noncentral_t_cdf(t, n - 1, ncp) == pytest.approx(reference_cdf(t, n - 1, ncp), abs=1e-10)


# --- minimum detectable effect --------------------------------------------------------------

alphas = st.sampled_from([1e-4, 0.001, 0.01, 0.05, 0.1, 0.2])


def reference_power(d: float, n: int, alpha: float) -> float:
    df = n - 1
    critical = stats.t.isf(alpha / 2, df)
    ncp = d * np.sqrt(n)
    return (1 - reference_cdf(critical, df, ncp)) + (1 - reference_cdf(critical, df, -ncp))


@settings(deadline=None, max_examples=50)
@given(sizes, alphas)
@example(2, 1e-4)  # critical t 6,366: beyond scipy's accurate range
def test_minimum_detectable_effect_is_finite_and_has_80_percent_power(n, alpha):
    mde = minimum_detectable_dz(n, alpha)
    assert np.isfinite(mde) and mde > 0
    assert reference_power(mde, n, alpha) == pytest.approx(0.8, abs=1e-6)


# power.t.test's delta by mpmath (30 digits): critical t and the power from the same CDF
# integral as MPMATH_DZ, each solved with findroot (to 1e-22).
MPMATH_MDE = {(2, 1e-4): 5769.0089460065318, (10_000_000, 0.05): 0.00088593803490313829, (3, 0.001): 23.16061335627848}


@pytest.mark.parametrize(("n", "alpha"), list(MPMATH_MDE))
def test_minimum_detectable_effect_matches_high_precision(n, alpha):
    assert minimum_detectable_dz(n, alpha) == pytest.approx(MPMATH_MDE[n, alpha], rel=1e-11)


def test_minimum_detectable_effect_when_alpha_is_not_below_the_power():
    # At d = 0 the power is alpha itself: with alpha >= 0.8 no effect is needed.
    assert minimum_detectable_dz(50, 0.9) == 0.0


# --- Bayes factor ---------------------------------------------------------------------------


@settings(deadline=None, max_examples=50)
@given(sizes_and_t(largest_t=1e300))
@example((2, 1e10))  # a plateau 40 units of log g wide
@example((10, 1e100))
def test_bayes_factor_is_finite_symmetric_and_rises_with_t(case):
    n, t = case
    value = jzs_log_bf10(t, n)
    assert np.isfinite(value)
    assert jzs_log_bf10(-t, n) == value
    # The likelihood ratio at every g rises with t^2 (Rouder et al., 2009, eq. 1), so BF10 does.
    larger = abs(t) * 1.01 + 0.01
    assert jzs_log_bf10(larger, n) >= value - 1e-9 * max(1.0, abs(value))


# log BF10 by mpmath (30 digits): eq. 1 of Rouder et al. (2009) in u = log g, quad over
# break points every 0.5 from u = -6 to 2 log|t| + 60 and then to infinity.
MPMATH_LOG_BF10 = {
    (2, 1e10): 2.930049657936561652,
    (10, 1e100): 1831.7786621477841566,
    (10_000_000, 30.0): 442.04135043938905002,
    (10_000_000, 31623.0): 23075659.782726764519,
    (100_000, 5.0): 6.862362406439173809,
    (10_000_000, 0.0): -7.9382657878438146718,
    (1000, 1e6): 10337.384662221973757,
}


@pytest.mark.parametrize(("n", "t"), list(MPMATH_LOG_BF10))
def test_bayes_factor_matches_high_precision(n, t):
    assert jzs_log_bf10(t, n) == pytest.approx(MPMATH_LOG_BF10[n, t], rel=1e-12)


# --- the other families at scale and at their edges ------------------------------------------


def test_paired_statistics_at_ten_million_pairs():
    rng = np.random.default_rng(11)
    pre = rng.integers(0, 30, MAX_N).astype(float)
    post = pre + rng.normal(10, 1, MAX_N)  # d_z about 10
    row = paired_statistics(pre, post)
    assert row["d_z_ci_low"] < row["d_z"] < row["d_z_ci_high"]
    # The normal approximation of the interval is within 1e-6 here (df = 1e7).
    half = Z975 * np.sqrt(1 + row["t"] ** 2 / (2 * (MAX_N - 1))) / np.sqrt(MAX_N)
    np.testing.assert_allclose([row["d_z_ci_low"], row["d_z_ci_high"]], [row["d_z"] - half, row["d_z"] + half], atol=1e-5)
    # Hedges' J(df) = 1 - 3 / (4 df - 1) + O(df^-3) (Hedges, 1981): at df = 1e7, within 1e-20.
    assert row["g_av"] / row["d_av"] == pytest.approx(1 - 3 / (4 * (MAX_N - 1) - 1), rel=1e-14)


def test_differences_constant_up_to_rounding_are_constant():
    # 1/3 added to thirds: the differences differ only in their last bits. R's t.test: "data
    # are essentially constant"; here every t-based figure is undefined, with the reason.
    pre = np.arange(1000) / 3
    row = paired_statistics(pre, pre + 1 / 3)
    assert np.isnan(row["t"]) and np.isnan(row["d_z_ci_low"])
    assert row["notes"] == ["every participant changed by the same amount: no variance, no t-test"]


def test_mixed_model_at_a_million_pairs_is_the_paired_t():
    rng = np.random.default_rng(12)
    base = rng.normal(size=1_000_000)
    pre, post = base + rng.normal(size=base.size) * 0.5, base + 0.3 + rng.normal(size=base.size) * 0.5
    change, row = fit_wave_model(np.column_stack([pre, post])).contrast(0, 1), paired_statistics(pre, post)
    assert change.estimate == pytest.approx(row["mean_diff"], abs=1e-9)
    assert change.se == pytest.approx(row["sd_diff"] / np.sqrt(base.size), rel=1e-6)
    assert change.df == pytest.approx(base.size - 1, rel=1e-6)  # complete pairs: the paired t's df


@pytest.mark.parametrize("unit", [1e-150, 1.0, 1e150])
def test_mixed_model_does_not_depend_on_the_unit(unit):
    rng = np.random.default_rng(13)
    pre = rng.integers(0, 30, 500).astype(float)
    post = pre + rng.normal(1, 2, 500)
    post[:100] = np.nan
    reference = fit_wave_model(np.column_stack([pre, post]))
    model = fit_wave_model(np.column_stack([pre, post]) * unit)
    assert model.note == "" and reference.note == ""
    change, reference_change = model.contrast(0, 1), reference.contrast(0, 1)
    np.testing.assert_allclose(
        [change.estimate / unit, change.se / unit, change.df, change.p],
        [reference_change.estimate, reference_change.se, reference_change.df, reference_change.p],
        rtol=1e-9,
    )
    np.testing.assert_allclose([model.means[1].ci_low / unit, model.means[1].df], [reference.means[1].ci_low, reference.means[1].df], rtol=1e-9)


@pytest.mark.parametrize(
    ("pre", "post"),
    [
        (np.full(100, 3.0), np.full(100, 4.0)),  # no variance within either wave
        (np.arange(100.0), np.arange(100.0) + 2),  # everyone changed by exactly 2
        (np.arange(1000) / 3, np.arange(1000) / 3 + 1 / 3),  # ... up to rounding
        (np.array([1.0, 2.0]), np.array([3.0, np.nan])),  # one pair carries the fit
    ],
)
def test_mixed_model_without_residual_variance_says_so(pre, post):
    model = fit_wave_model(np.column_stack([pre, post]))
    change = model.contrast(0, 1)
    assert np.isnan([change.estimate, change.se, change.df, change.p]).all()  # not p = 0 from a residual variance of 1e-12
    # With one pair the paired t-test's "fewer than 2 pairs" is the reason (pipeline.analyze shows it).
    pairs = (~np.isnan(pre) & ~np.isnan(post)).sum()
    assert model.note == ("mixed model: no residual variance" if pairs >= 2 else "")


def _principal_axes_to_convergence(correlations: np.ndarray) -> np.ndarray:
    """The plain iteration run until it stops (up to 10^6 steps): the fixed point itself."""
    reduced = correlations.copy()
    communality = np.clip(1 - 1 / np.diag(np.linalg.inv(correlations)), 0, 1 - MIN_UNIQUENESS)
    for _ in range(1_000_000):
        np.fill_diagonal(reduced, communality)
        values, vectors = np.linalg.eigh(reduced)
        loadings = vectors[:, -1] * np.sqrt(max(values[-1], 0.0))
        updated = np.clip(loadings**2, 0, 1 - MIN_UNIQUENESS)
        if np.max(np.abs(updated - communality)) < 1e-13:
            return loadings if loadings.sum() >= 0 else -loadings
        communality = updated
    raise AssertionError("did not converge")


@pytest.mark.parametrize("seed", [1, 8])
def test_minres_reaches_the_fixed_point_of_a_slow_iteration(seed):
    # Four unrelated items: the iteration creeps to a bounded (Heywood) solution over 12,674 and
    # 135,052 steps (the second beyond the 100,000 the plain iteration used to stop at).
    items = np.random.default_rng(seed).integers(1, 6, (1000, 4)).astype(float)
    correlations = np.corrcoef(items, rowvar=False)
    np.testing.assert_allclose(one_factor_minres(correlations), _principal_axes_to_convergence(correlations), atol=1e-9)
    assert np.isfinite(omega_total(items))


def test_attrition_with_constant_groups_gives_reasons_not_warnings():
    thirds = np.full(100, 5) / 3
    assert compare_baseline(thirds, np.full(50, 5 / 3))["note"] == "no variance in baseline scores: no comparison"
    row = compare_baseline(np.full(100, 2.0), np.random.default_rng(14).normal(size=50))
    assert row["sd_completers"] == 0 and np.isfinite(row["p"])


def test_attrition_at_ten_million_matches_welch():
    rng = np.random.default_rng(15)
    a, b = rng.normal(size=7_000_000), rng.normal(0.001, 1.1, 3_000_000)
    row = compare_baseline(a, b)
    assert row["p"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)


def test_signed_rank_normal_approximation_at_a_million_matches_scipy():
    # scipy's wilcoxon with R's conventions: zeros dropped, tie-corrected variance, continuity.
    d = np.round(np.random.default_rng(16).normal(0.002, 1, 1_000_000) * 4) / 4
    ours = signed_rank_test(d)
    theirs = stats.wilcoxon(d, zero_method="wilcox", correction=True, method="approx")
    assert ours.method == "normal" and ours.p == pytest.approx(theirs.pvalue, rel=1e-9)


# --- whole analyses -------------------------------------------------------------------------

DEFINED = [
    "n_pairs", "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "sd_diff", "ci_low", "ci_high",
    "t", "df", "p", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "wilcoxon_v", "p_wilcoxon", "r_rb",
    "p_holm", "p_fdr", "alpha_pre", "alpha_post", "omega_pre", "omega_post", "log_bf10", "mde_dz",
    "rci_sd", "rci_reliability", "rci_threshold", "lmm_estimate", "lmm_se", "lmm_p",
]  # fmt: skip
INSTRUMENTS = ["phq9", "gad7", "swls", "spane", "mlq", "rses"]


def simulated_analysis(participants: int):
    """``pipeline.analyze`` on a simulated study (as ``pipeline.simulate`` writes it), scored directly."""
    from pipeline.analyze import analyze
    from pipeline.score import score_responses
    from pipeline.simulate import COHORT_COLUMN, simulate_study, write_demo_study
    from pipeline.study import load_study

    with tempfile.TemporaryDirectory() as scratch:
        study = load_study(write_demo_study(Path(scratch) / "study", participants=10, instrument_ids=INSTRUMENTS))
    waves = dict(zip(("pre", "post"), simulate_study(list(study.instruments), participants=participants, seed=41)))
    responses, scored = {}, []
    for wave, frame in waves.items():
        items = frame.drop(columns=[COHORT_COLUMN], errors="ignore")
        items = items.astype({column: float for column in items.columns if column != study.id_column})
        responses[wave] = items
        scored.append(score_responses(items, study.instruments, study.id_column).assign(wave=wave))
    return analyze(pd.concat(scored, ignore_index=True), study, responses=responses)


@pytest.mark.parametrize("participants", [10_000, 100_000])
def test_analysis_of_a_large_study_defines_every_statistic(participants):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        analysis = simulated_analysis(participants)
    results = analysis.results.set_index("variable")
    assert len(results) == 8 and (results["n_pairs"] > 0.6 * participants).all()
    defined = results[DEFINED].drop(columns=[c for c in ("rci_sd", "rci_reliability", "rci_threshold") if results[c].isna().all()])
    assert np.isfinite(defined.to_numpy(dtype=float)).all(), defined.columns[~np.isfinite(defined.to_numpy(dtype=float)).all(axis=0)].tolist()
    assert not results["bf10"].isna().any()  # may exceed the float range (inf); log_bf10 stays exact
    assert (results["d_z_ci_low"] < results["d_z"]).all() and (results["d_z"] < results["d_z_ci_high"]).all()
    # The sensitivity is close to its normal-theory value (z_.975 + z_.8) / sqrt(n) at this size.
    normal = (Z975 + stats.norm.ppf(0.8)) / np.sqrt(results["n_pairs"])
    np.testing.assert_allclose(results["mde_dz"], normal, rtol=1e-3)
    assert np.isfinite(analysis.attrition[["std_diff", "p"]].to_numpy(dtype=float)).all()
