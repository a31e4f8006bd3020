"""A study with a comparison group (``groups:``): the between-group analysis, by role, as reviewers run it.

Unit checks of :mod:`pipeline.between_groups` here; the whole run on the committed demo trial, with
figures from R (``tests/r/demo_trial_reference.R``), below them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.between_groups import (
    DISAGREE, ROLES, classify_comparison, classify_comparisons, group_cells, interaction_weights, retention_rows,
)  # fmt: skip
from pipeline.statistics.mixed import fit_wave_model
from tests.test_statistics_comparison import R_INTERACTION

FIXTURES = Path(__file__).parent / "fixtures" / "statistics"


@pytest.mark.parametrize("wave", sorted(R_INTERACTION))
def test_the_interaction_of_the_group_cells_model_is_lmertests(wave):
    """``group_cells`` + ``interaction_weights`` give lmer(y ~ wave * group + (1 | id))'s wave:group term."""
    scores = pd.read_csv(FIXTURES / "waves_groups.csv")
    wide = scores.pivot(index="id", columns="wave", values="y").sort_index(axis=1)
    role = scores.drop_duplicates("id").set_index("id")["group"].map({"P": "program", "C": "comparison"}).reindex(wide.index)
    membership = {r: (role == r).to_numpy() for r in ROLES}
    model = fit_wave_model(group_cells(wide.to_numpy(), membership))
    c = model.linear_contrast(interaction_weights(wide.shape[1], wave))
    estimate, se, df, t, p = R_INTERACTION[wave]
    np.testing.assert_allclose([c.estimate, c.se], [estimate, se], atol=1e-6)
    assert c.df == pytest.approx(df, rel=1e-3) and c.p == pytest.approx(p, abs=1e-4)


def test_cells_hold_each_participant_in_their_own_groups_columns_only():
    matrix = np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0]])
    membership = {"program": np.array([True, False, False]), "comparison": np.array([False, True, False])}
    cells = group_cells(matrix, membership)
    np.testing.assert_array_equal(cells[0], [1, 2, np.nan, np.nan])
    np.testing.assert_array_equal(cells[1], [np.nan, np.nan, 3, np.nan])
    assert np.isnan(cells[2]).all()  # in neither group: no part in the model


@pytest.mark.parametrize(
    ("diff", "p", "higher_is", "expected"),
    [
        (1.0, 0.01, "better", "program better"),
        (-1.0, 0.01, "better", "program worse"),
        (-1.0, 0.01, "worse", "program better"),
        (1.0, 0.01, "neutral", "different"),
        (1.0, 0.05, "better", "no significant difference"),
        (1.0, np.nan, "better", "not tested"),
    ],
)
def test_outcome_reads_the_adjusted_p_with_the_direction_of_improvement(diff, p, higher_is, expected):
    assert classify_comparison(diff, p, higher_is, 0.05) == expected


def comparison_table(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {"variable": [f"v{i}" for i in range(n)], "wave": "post", "higher_is": "better"}
    return pd.DataFrame({**base, **columns})


def test_not_randomised_outcome_holds_only_where_ancova_and_change_scores_agree():
    table = comparison_table(
        ancova_diff=[1.0, 1.0, 1.0], ancova_p=[1e-6, 1e-6, 0.5], did_diff=[1.0, 1.0, 1.0], did_p=[1e-6, 0.5, 0.5],
    )  # fmt: skip
    randomised = classify_comparisons(table, "holm", 0.05, randomised=True)
    assert list(randomised["outcome"]) == ["program better", "program better", "no significant difference"]
    observational = classify_comparisons(table, "holm", 0.05, randomised=False)
    assert list(observational["outcome"]) == ["program better", DISAGREE, "no significant difference"]


def test_holm_and_bh_run_across_variables_within_each_wave():
    table = pd.concat(
        [comparison_table(ancova_diff=[1.0, 1.0], ancova_p=[0.01, 0.04], did_diff=[1.0, 1.0], did_p=[0.01, 0.04]).assign(wave=w)
         for w in ("post", "followup")],
        ignore_index=True,
    )  # fmt: skip
    adjusted = classify_comparisons(table, "holm", 0.05, randomised=True)
    for _, family in adjusted.groupby("wave"):
        assert list(family["p_holm"]) == pytest.approx([0.02, 0.04])  # R: p.adjust(c(0.01, 0.04), "holm")
        assert list(family["p_fdr"]) == pytest.approx([0.02, 0.04])  # R: p.adjust(c(0.01, 0.04), "BH")


def test_retention_counts_attrition_overall_and_differential_by_group():
    allocated = {"program": {"a", "b", "c", "d"}, "comparison": {"e", "f", "g", "h", "i"}}
    followed = {"post": {"a", "b", "c", "e", "f", "zz"}}  # zz: seen at post, never allocated
    (row,) = retention_rows(allocated, followed, ["post"], "cautious")
    assert (row["followed_program"], row["followed_comparison"]) == (3, 2)
    assert row["attrition_program_pct"] == pytest.approx(25.0)
    assert row["attrition_comparison_pct"] == pytest.approx(60.0)
    assert row["overall_attrition_pct"] == pytest.approx(100 * 4 / 9)
    assert row["differential_attrition_pct"] == pytest.approx(35.0)


@pytest.mark.parametrize(
    ("overall", "differential", "boundary", "level"),
    [
        (0.0, 5.7, "cautious", "low"),  # at the boundary is low (WWC Handbook v4.1 Table II.1: 0% -> 5.7)
        (0.0, 5.8, "cautious", "high"),
        (0.0, 10.0, "liberal", "low"),
        (10.4, 6.3, "cautious", "low"),  # 10.4% rounds to the 10% row: 6.3
        (57.6, 0.0, "cautious", "high"),  # 58% or more: high whatever the differential
        (65.0, 0.3, "liberal", "low"),
        (66.0, 0.0, "liberal", "high"),
    ],
)
def test_the_what_works_clearinghouse_attrition_level(overall, differential, boundary, level):
    from pipeline.statistics.attrition import attrition_level

    assert attrition_level(overall, differential, boundary)[0] == level


def test_a_disputed_liberal_reading_says_so():
    from pipeline.statistics.attrition import attrition_level

    assert attrition_level(20.0, 1.0, "liberal")[1]
    assert attrition_level(20.0, 1.0, "cautious")[1] == ""


# --- The committed demo trial, end to end, against R -------------------------------------------
# Printed by `Rscript tests/r/demo_trial_reference.R /tmp/trial/scores.csv` after
# `impact run surveys/demo-trial --out /tmp/trial --no-pdf` (R 4.2.2, lme4 1.1-31, lmerTest 3.1-3,
# emmeans 1.8.4-1): lm(post ~ pre + group), confint, emmeans(fit, ~ group), t.test(change ~ group,
# var.equal = TRUE), cor(), Morris's d_ppc2 by hand, lmer(y ~ wave * group + (1 | participant_id)).
R_TRIAL = {
    "mlq_p wwc g": 0.0599883787582,
    "mlq_p post ancova diff se t p": (4.05533160247, 0.526855345439, 7.69723917119, 3.48850380238e-13),
    "mlq_p post ancova ci df": (3.01754543293, 5.09311777201, 243.0),
    "mlq_p post adjusted means C P": (23.6935456231, 27.7488772256),
    "mlq_p post did diff t df p": (3.8825780163, 6.45630871063, 244.0, 5.74730510596e-10),
    "mlq_p post n r P C": (129.0, 117.0, 0.631318181505, 0.682920480224),
    "mlq_p post dppc2 low high": (0.657119172258, 0.441913932453, 0.872324412063),
    "mlq_p post lmm est se df t p": (3.91747507745, 0.64126044335, 485.071642872, 6.10902343669, 2.05869483459e-09),
    "mlq_p followup ancova diff se t p": (3.75876105003, 0.625923012568, 6.00514915501, 7.91241887581e-09),
    "mlq_p followup ancova ci df": (2.52512587871, 4.99239622134, 218.0),
    "mlq_p followup adjusted means C P": (23.6638741905, 27.4226352405),
    "mlq_p followup did diff t df p": (3.52478607866, 4.3552920558, 219.0, 2.04121568014e-05),
    "mlq_p followup n r P C": (118.0, 103.0, 0.379513951072, 0.477710059634),
    "mlq_p followup dppc2 low high": (0.584390946326, 0.296027974805, 0.872753917847),
    "mlq_p followup lmm est se df t p": (3.67846421385, 0.667391805389, 490.827991044, 5.51170119882, 5.74982378365e-08),
    "cdse_sf_total wwc g": -0.133061586707,
    "cdse_sf_total post ancova diff se t p": (0.246151150393, 0.0379770010575, 6.48158473653, 5.01432738896e-10),
    "cdse_sf_total post ancova ci df": (0.171345026095, 0.320957274691, 243.0),
    "cdse_sf_total post adjusted means C P": (3.41567830861, 3.661829459),
    "cdse_sf_total post did diff t df p": (0.256677275464, 5.92838022199, 244.0, 1.03864288206e-08),
    "cdse_sf_total post n r P C": (129.0, 117.0, 0.618862767825, 0.619417675585),
    "cdse_sf_total post dppc2 low high": (0.64283041048, 0.416776642444, 0.868884178517),
    "cdse_sf_total post lmm est se df t p": (0.26655304892, 0.0433886825253, 477.231587522, 6.14337733726, 1.70450368109e-09),
    "cdse_sf_total followup ancova diff se t p": (0.321227923694, 0.0447881463945, 7.17216383246, 1.13552842584e-11),
    "cdse_sf_total followup ancova ci df": (0.232954715103, 0.409501132285, 218.0),
    "cdse_sf_total followup adjusted means C P": (3.35171862058, 3.67294654428),
    "cdse_sf_total followup did diff t df p": (0.353451125033, 6.88448460315, 219.0, 6.03652584447e-11),
    "cdse_sf_total followup n r P C": (118.0, 103.0, 0.506072844992, 0.58449920412),
    "cdse_sf_total followup dppc2 low high": (0.865779401475, 0.60177842064, 1.12978038231),
    "cdse_sf_total followup lmm est se df t p": (0.361157110214, 0.0451780247104, 482.108447316, 7.99408811098, 9.73449309742e-15),
    "phq9_total wwc g": -0.217180225311,
    "phq9_total post ancova diff se t p": (-1.93944940221, 0.405902832548, -4.7781125104, 3.38911302755e-06),
    "phq9_total post ancova ci df": (-2.73977566779, -1.13912313663, 203.0),
    "phq9_total post adjusted means C P": (9.22950914391, 7.2900597417),
    "phq9_total post did diff t df p": (-1.831104789, -4.27742239156, 204.0, 2.90459932331e-05),
    "phq9_total post n r P C": (111.0, 95.0, 0.529769161979, 0.691116944428),
    "phq9_total post dppc2 low high": (-0.566676562482, -0.815870023503, -0.317483101461),
    "phq9_total post lmm est se df t p": (-1.47945717415, 0.406624178294, 430.419040946, -3.63838958215, 0.000307641040007),
    "phq9_total followup ancova diff se t p": (-1.92228862277, 0.428826986193, -4.4826671004, 1.29752464766e-05),
    "phq9_total followup ancova ci df": (-2.76836937606, -1.07620786948, 183.0),
    "phq9_total followup adjusted means C P": (8.95863749276, 7.03634886999),
    "phq9_total followup did diff t df p": (-1.52490421456, -3.17867834668, 184.0, 0.00173588424532),
    "phq9_total followup n r P C": (99.0, 87.0, 0.385541611645, 0.604859085198),
    "phq9_total followup dppc2 low high": (-0.481802813463, -0.777040819013, -0.186564807914),
    "phq9_total followup lmm est se df t p": (-1.41472909494, 0.423215300762, 428.734479969, -3.34281178492, 0.000902109353599),
    "gad7_total wwc g": 0.170766071282,
    "gad7_total post ancova diff se t p": (0.512159987697, 0.336672752336, 1.52123979189, 0.129682784373),
    "gad7_total post ancova ci df": (-0.151477182927, 1.17579715832, 213.0),
    "gad7_total post adjusted means C P": (6.68125111743, 7.19341110513),
    "gad7_total post did diff t df p": (0.263577863578, 0.707259965024, 214.0, 0.480174406918),
    "gad7_total post n r P C": (111.0, 105.0, 0.554793306711, 0.655155929289),
    "gad7_total post dppc2 low high": (0.0855905983753, -0.152526441016, 0.323707637766),
    "gad7_total post lmm est se df t p": (0.286284116199, 0.356791465105, 447.850222363, 0.802384990107, 0.422755867757),
    "gad7_total followup ancova diff se t p": (0.331933283417, 0.373823880323, 0.887940286561, 0.375666791858),
    "gad7_total followup ancova ci df": (-0.405323687816, 1.06919025465, 195.0),
    "gad7_total followup adjusted means C P": (6.61522763615, 6.94716091957),
    "gad7_total followup did diff t df p": (0.174118129614, 0.417159125906, 196.0, 0.677018574004),
    "gad7_total followup n r P C": (106.0, 92.0, 0.520570206167, 0.548691275345),
    "gad7_total followup dppc2 low high": (0.0585402046756, -0.212320138406, 0.329400547757),
    "gad7_total followup lmm est se df t p": (0.209369636835, 0.369403821652, 449.47391403, 0.56677712726, 0.571148525532),
}

TRIAL = Path(__file__).resolve().parent.parent / "surveys" / "demo-trial"
R_VARIABLES = ["mlq_p", "cdse_sf_total", "phq9_total", "gad7_total"]


@pytest.fixture(scope="module")
def trial_run():
    from pipeline.run import run_study
    from pipeline.study import load_study

    return run_study(load_study(TRIAL))


@pytest.mark.parametrize("variable", R_VARIABLES)
@pytest.mark.parametrize("wave", ["post", "followup"])
def test_the_demo_trial_agrees_with_lm_emmeans_t_test_and_lmertest(trial_run, variable, wave):
    row = trial_run.comparison.set_index(["variable", "wave"]).loc[(variable, wave)]
    r = {key.removeprefix(f"{variable} {wave} "): value for key, value in R_TRIAL.items() if key.startswith(f"{variable} {wave} ")}
    assert row["baseline_smd"] == pytest.approx(R_TRIAL[f"{variable} wwc g"], abs=1e-9)
    diff, se, t, p = r["ancova diff se t p"]
    low, high, df = r["ancova ci df"]
    np.testing.assert_allclose(row[["ancova_diff", "ancova_se", "ancova_t", "ancova_ci_low", "ancova_ci_high"]].astype(float), [diff, se, t, low, high], atol=1e-6)
    assert row["ancova_df"] == df and row["ancova_p"] == pytest.approx(p, rel=1e-6)
    np.testing.assert_allclose(row[["adj_mean_comparison", "adj_mean_program"]].astype(float), r["adjusted means C P"], atol=1e-6)
    did_diff, did_t, did_df, did_p = r["did diff t df p"]
    np.testing.assert_allclose(row[["did_diff", "did_t"]].astype(float), [did_diff, did_t], atol=1e-6)
    assert row["did_df"] == did_df and row["did_p"] == pytest.approx(did_p, rel=1e-6)
    n_p, n_c, r_p, r_c = r["n r P C"]
    assert (row["n_program"], row["n_comparison"]) == (n_p, n_c)
    np.testing.assert_allclose(row[["r_program", "r_comparison"]].astype(float), [r_p, r_c], atol=1e-9)
    np.testing.assert_allclose(row[["d_ppc2", "d_ppc2_ci_low", "d_ppc2_ci_high"]].astype(float), r["dppc2 low high"], atol=1e-9)
    estimate, lmm_se, lmm_df, lmm_t, lmm_p = r["lmm est se df t p"]
    np.testing.assert_allclose(row[["lmm_diff", "lmm_se"]].astype(float), [estimate, lmm_se], atol=1e-6)
    assert row["lmm_df"] == pytest.approx(lmm_df, rel=1e-3) and row["lmm_p"] == pytest.approx(lmm_p, abs=1e-4)


def test_the_demo_trial_recovers_its_ten_planted_effects_and_flags_no_drift(trial_run):
    """The program's effect is planted on 10 variables, a shared testing drift on all 20: the
    between-group analysis (ANCOVA, Holm) finds the 10 and only those, while each arm's own paired
    tests flag more (the error of reading within-group tests as the program's effect)."""
    from pipeline.simulate import TRIAL_EFFECTS

    results = trial_run.results
    assert set(results["wave"]) == {"post"}
    better = set(results.loc[results["outcome"] == "program better", "variable"])
    assert better == set(TRIAL_EFFECTS)
    assert set(results["outcome"]) == {"program better", "no significant difference"}
    changes = trial_run.changes
    primary = changes[(changes["from_wave"] == "pre") & (changes["to_wave"] == "post")]
    improved = primary[primary["outcome"] == "improved"].groupby("group")["variable"].nunique()
    assert improved["program"] > len(TRIAL_EFFECTS) and improved["comparison"] > 0


def test_the_demo_trials_tables_have_a_group_column_and_families_per_group(trial_run):
    for table in (trial_run.changes, trial_run.trajectory, trial_run.attrition, trial_run.reliable_change, trial_run.paired):
        assert set(table["group"]) == set(ROLES)
    both = trial_run.changes[(trial_run.changes["from_wave"] == "pre") & (trial_run.changes["to_wave"] == "post")]
    for _, family in both.groupby("group"):
        from pipeline.statistics.multiplicity import adjust_p

        np.testing.assert_allclose(family["p_holm"], adjust_p(family["p"], "holm"))
    retention = trial_run.retention.set_index("wave")
    assert retention.loc["post", "allocated_program"] == trial_run.flow["allocated_program"] == 150
    assert retention.loc["post", "followed_comparison"] == trial_run.flow["matched_post_comparison"]


def test_a_group_with_fewer_than_two_pairs_gets_empty_statistics_and_a_note(tmp_path):
    """One waitlist participant answers post: no ANCOVA, difference in differences or d_ppc2 at
    post (a row with a note, not a crash), while the mixed model still uses everyone's scores."""
    import shutil

    from pipeline.run import run_study
    from pipeline.study import load_study

    study_dir = tmp_path / "trial"
    shutil.copytree(TRIAL, study_dir)
    pre = pd.read_csv(study_dir / "pre.csv", dtype=str)
    waitlist = set(pre.loc[pre["arm"].str.strip().str.casefold() == "waitlist", "participant_id"])
    post = pd.read_csv(study_dir / "post.csv", dtype=str)
    keep = ~post["participant_id"].isin(waitlist) | (post["participant_id"] == sorted(waitlist & set(post["participant_id"]))[0])
    post[keep].to_csv(study_dir / "post.csv", index=False)
    run = run_study(load_study(study_dir))
    at_post = run.comparison[run.comparison["wave"] == "post"]
    assert (at_post["n_comparison"] <= 1).all()
    assert at_post[["ancova_diff", "did_diff", "d_ppc2", "ancova_p"]].isna().all().all()
    assert at_post["note"].str.contains("fewer than 2 participants of the comparison group (Waitlist) scored at both waves", regex=False).all()
    assert set(at_post["outcome"]) == {"not tested"}
    assert at_post["lmm_diff"].notna().all()  # intention to treat: the model still estimates it
    followup = run.comparison[run.comparison["wave"] == "followup"]
    assert followup["ancova_p"].notna().all()


def test_subgroups_are_broken_down_within_each_group(trial_run):
    table = trial_run.subgroup_results
    assert list(table.columns[:2]) == ["group", "subgroup"] and set(table["group"]) == set(ROLES)
    # within a group, one variable's values split that group's pairs completely
    changes = trial_run.changes
    primary = changes[(changes["from_wave"] == "pre") & (changes["to_wave"] == "post")].set_index(["group", "variable"])
    sums = table.groupby(["group", "variable"])["n_pairs"].sum()
    for key, total in sums.items():
        assert total == primary.loc[key, "n_pairs"]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

p_values = st.lists(st.tuples(st.floats(1e-12, 1.0), st.floats(1e-12, 1.0), st.sampled_from([-1.0, 1.0]), st.sampled_from([-1.0, 1.0])), min_size=1, max_size=20)


@settings(deadline=None, max_examples=80)
@given(p_values, st.sampled_from(["holm", "fdr"]))
def test_a_not_randomised_outcome_is_the_ancovas_only_where_the_change_score_analysis_agrees(rows, correction):
    ancova_p, did_p, ancova_sign, did_sign = map(list, zip(*rows))
    table = comparison_table(ancova_diff=ancova_sign, ancova_p=ancova_p, did_diff=did_sign, did_p=did_p)
    randomised = classify_comparisons(table, correction, 0.05, randomised=True)
    observational = classify_comparisons(table, correction, 0.05, randomised=False)
    by_change = [classify_comparison(d, p, "better", 0.05) for d, p in zip(observational["did_diff"], observational[f"did_p_{correction}"])]
    for ancova_outcome, change_outcome, outcome in zip(randomised["outcome"], by_change, observational["outcome"]):
        assert outcome == (ancova_outcome if ancova_outcome == change_outcome else DISAGREE)
