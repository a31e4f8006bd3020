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
