"""The demo generator: seeded, reproducible, realistic reliability, planted effects as declared; its follow-up waves."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from pipeline.instruments import library_instruments
from pipeline.score import keyed_items, score_responses
from pipeline.simulate import (
    ARM_COLUMN, ARMS, COHORT_COLUMN, DEMO_INSTRUMENTS, EXPORT_FORMATS, FADES_BY_FOLLOW_UP, ID_COLUMN, LATER_RESPONSE_RATE,
    PLANTED_CHANGE, TESTING_DRIFT, TRIAL_EFFECTS, simulate_study, simulate_trial, wave_names, wave_timing, write_demo_study,
)  # fmt: skip
from pipeline.yamlio import read_yaml_mapping

from .conftest import DEMO, LIBRARY, SURVEYS


def test_committed_demo_data_is_what_the_generator_writes(tmp_path):
    write_demo_study(tmp_path / "demo", participants=150, seed=2026)
    for name in ["study.yaml", "pre.csv", "post.csv"]:
        assert (tmp_path / "demo" / name).read_bytes() == (DEMO / name).read_bytes(), name


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach (1951) alpha over complete cases."""
    items = items.dropna()
    k = items.shape[1]
    return k / (k - 1) * (1 - items.var(ddof=1).sum() / items.sum(axis=1).var(ddof=1))


def test_reliability_is_realistic_and_twelve_effects_are_planted():
    by_id = {i.id: i for i in library_instruments(LIBRARY)}
    instruments = [by_id[i] for i in DEMO_INSTRUMENTS]
    pre, post = simulate_study(instruments, participants=2000, seed=7)
    for instrument in instruments:
        for scale in instrument.primary_scales:
            assert 0.65 <= cronbach_alpha(keyed_items(pre, instrument, scale)) <= 0.92, scale.id
    assert len(PLANTED_CHANGE) == 12 and all(0.3 <= v <= 0.8 for v in PLANTED_CHANGE.values())
    assert 0.6 < len(post) / len(pre) < 0.85
    assert 0.005 < np.isnan(pre.iloc[:, 2:].to_numpy(dtype=float)).mean() < 0.02


def test_any_size_and_seed(tmp_path):
    folder = write_demo_study(tmp_path / "small", participants=12, seed=1)
    pre = pd.read_csv(folder / "pre.csv", dtype={"participant_id": str})
    # 12 participants, plus two abandoned repeat attempts and a test row without an id (with_slips)
    assert len(pre) == 15 and pre["participant_id"].iloc[:12].nunique() == 12
    assert pre["participant_id"].iloc[12:14].tolist() == pre["participant_id"].iloc[:2].tolist()
    assert pd.isna(pre["participant_id"].iloc[14])


# --- Waves after post: `impact demo --waves N` and the committed three-wave demo -------------------

FOLLOW_UP = SURVEYS / "demo-followup"
KEPT = set(PLANTED_CHANGE) - FADES_BY_FOLLOW_UP


def demo_instruments():
    by_id = {i.id: i for i in library_instruments(LIBRARY)}
    return [by_id[i] for i in DEMO_INSTRUMENTS]


def test_two_waves_are_unchanged_by_follow_ups(tmp_path):
    # The committed two-wave demo is what `waves=2` writes, and more waves leave the first two as they are.
    write_demo_study(tmp_path / "demo", participants=150, seed=2026, waves=2)
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["post.csv", "pre.csv", "study.yaml"]
    for name in ["study.yaml", "pre.csv", "post.csv"]:
        assert (tmp_path / "demo" / name).read_bytes() == (DEMO / name).read_bytes(), name
    instruments = demo_instruments()
    two = simulate_study(instruments, participants=150, seed=2026)
    five = simulate_study(instruments, participants=150, seed=2026, waves=5)
    assert len(two) == 2 and len(five) == 5
    for before, after in zip(two, five):
        pd.testing.assert_frame_equal(before, after)


def test_committed_follow_up_demo_is_what_the_generator_writes(tmp_path):
    write_demo_study(tmp_path / "demo", participants=150, seed=2026, waves=3)
    names = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert names == sorted(p.name for p in FOLLOW_UP.iterdir()) == ["followup.csv", "post.csv", "pre.csv", "study.yaml"]
    for name in names:
        assert (tmp_path / "demo" / name).read_bytes() == (FOLLOW_UP / name).read_bytes(), name
    # the first two waves are the demo pilot's
    for name in ["pre.csv", "post.csv"]:
        assert (FOLLOW_UP / name).read_bytes() == (DEMO / name).read_bytes(), name
    study = read_yaml_mapping(FOLLOW_UP / "study.yaml")
    assert study["name"] == "Demo follow-up (simulated data)"
    assert study["waves"] == {
        "pre": {"file": "pre.csv", "label": "Start of program", "weeks": 0},
        "post": {"file": "post.csv", "label": "End of program", "weeks": 26},
        "followup": {"file": "followup.csv", "label": "6 months after", "weeks": 52},
    }
    assert study["analysis"]["primary"] == "post"


def test_wave_names_and_timing():
    assert wave_names(2) == ["pre", "post"]
    assert wave_names(3) == ["pre", "post", "followup"]
    assert wave_names(5) == ["pre", "post", "followup_1", "followup_2", "followup_3"]
    assert len(wave_names(12)) == 12 and all(re.fullmatch(r"[a-z][a-z0-9_]{0,25}", n) for n in wave_names(12))
    assert [wave_timing(k) for k in range(4)] == [
        ("Start of program", 0), ("End of program", 26), ("6 months after", 52), ("12 months after", 78),
    ]  # fmt: skip
    for waves in (1, 13):
        with pytest.raises(ValueError, match="2 to 12"):
            simulate_study(demo_instruments()[:1], participants=5, waves=waves)


@pytest.mark.parametrize("waves", ["1", "13", "three"])
def test_demo_command_refuses_a_wave_count_out_of_range(waves, capsys):
    from pipeline.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["demo", "unused-folder", "--waves", waves])
    assert stopped.value.code == 2 and "--waves: must be a whole number from 2 to 12" in capsys.readouterr().err


def test_follow_ups_thin_out_some_return_and_rows_are_shuffled():
    participants = 4000
    waves = simulate_study(demo_instruments(), participants=participants, seed=7, waves=5)
    pre, post, *later = waves
    ids = [set(wave[ID_COLUMN]) for wave in waves]
    assert len(ids[0]) == participants
    for wave, seen in zip(waves, ids):
        assert len(seen) == len(wave) and seen <= ids[0]  # one row per participant, enrolled ids only
        assert list(wave.columns.drop(COHORT_COLUMN, errors="ignore")) == list(post.columns)  # id column, then items
    assert COHORT_COLUMN in pre.columns and all(COHORT_COLUMN not in wave.columns for wave in waves[1:])
    shares = [len(wave) / participants for wave in waves]
    assert abs(shares[2] - LATER_RESPONSE_RATE) < 0.03  # about 60% at the first follow-up
    assert shares[1] > shares[2] > shares[3] > shares[4]  # fewer at every wave
    for k in range(2, 5):
        returned = ids[k] - ids[k - 1]
        assert 0.05 < len(returned) / len(ids[k]) < 0.4  # some who skipped the wave before answer again
        assert list(later[k - 2][ID_COLUMN]) != sorted(ids[k])  # row order shuffled, as at post
    # Missing at random given baseline: those answering the first follow-up had better baseline wellbeing.
    wellbeing = pre.set_index(ID_COLUMN)[keyed_scale_columns(demo_instruments())].mean(axis=1)
    assert wellbeing[list(ids[2])].mean() > wellbeing[list(ids[0] - ids[2])].mean()
    assert 0.005 < np.isnan(later[0].iloc[:, 1:].to_numpy(dtype=float)).mean() < 0.02


def keyed_scale_columns(instruments) -> list[str]:
    """The items of the 'better' primary scales (not reversed items), a rough baseline wellbeing."""
    return [
        item for i in instruments for s in i.primary_scales if s.higher_is == "better"
        for item in s.items if item not in i.reversed_in(s)
    ]  # fmt: skip


@pytest.mark.parametrize("export_format", EXPORT_FORMATS)
def test_every_format_writes_every_wave(export_format, tmp_path):
    folder = write_demo_study(tmp_path / "study", participants=20, seed=3, export_format=export_format, waves=4)
    study = read_yaml_mapping(folder / "study.yaml")
    names = ["pre", "post", "followup_1", "followup_2"]
    assert list(study["waves"]) == names
    assert [study["waves"][n]["label"] for n in names] == ["Start of program", "End of program", "6 months after", "12 months after"]
    assert [study["waves"][n]["weeks"] for n in names] == [0, 26, 52, 78]
    files = {study["waves"][n]["file"] for n in names}
    assert files == {p.name for p in folder.iterdir()} - {"study.yaml"}
    if export_format == "redcap":
        events = [study["waves"][n]["event"] for n in names]
        assert events == ["baseline_arm_1", "followup_arm_1", "followup_2_arm_1", "followup_3_arm_1"]
        rows = pd.read_csv(folder / "redcap.csv", dtype=str)
        assert set(rows["redcap_event_name"]) == set(events) and rows["record_id"].notna().all()
    elif export_format == "qualtrics":
        assert [study["waves"][n]["column_pattern"] for n in names] == [f"T{k}_{{item}}" for k in range(1, 5)]
        header = pd.read_csv(folder / "followup_2-qualtrics.csv", nrows=0).columns
        assert "T4_shs_1" in header and not any(c.startswith("T3_") for c in header)


def paired_tests(later: str, earlier: str = "pre", folder=FOLLOW_UP) -> pd.DataFrame:
    """Paired t-tests of every analysed scale between two waves of a committed demo's CSVs, Holm across
    the 20 scales: independent of pipeline.run and pipeline.analyze (the scoring is the instruments')."""
    instruments = demo_instruments()
    scores = {}
    for wave in (earlier, later):
        frame = pd.read_csv(folder / f"{wave}.csv", dtype={ID_COLUMN: str, COHORT_COLUMN: str})
        frame = frame.dropna(subset=[ID_COLUMN])  # the staff test row
        answered = frame.drop(columns=[ID_COLUMN, COHORT_COLUMN], errors="ignore").notna().sum(axis=1)
        frame = frame.loc[answered.sort_values(ascending=False, kind="stable").index].drop_duplicates(ID_COLUMN)
        scores[wave] = score_responses(frame, instruments, ID_COLUMN).set_index(ID_COLUMN)
    rows = []
    for instrument in instruments:
        for scale in instrument.primary_scales:
            pairs = pd.concat([scores[earlier][scale.id], scores[later][scale.id]], axis=1, join="inner").dropna()
            diff = pairs.iloc[:, 1] - pairs.iloc[:, 0]
            sign = {"better": 1, "worse": -1}.get(scale.higher_is, 0)
            rows.append((scale.id, len(diff), diff.mean(), stats.ttest_rel(pairs.iloc[:, 1], pairs.iloc[:, 0]).pvalue, sign))
    table = pd.DataFrame(rows, columns=["variable", "n_pairs", "mean_diff", "p", "sign"]).set_index("variable")
    table["p_holm"] = multipletests(table["p"], method="holm")[1]
    table["improving"] = np.where(table["sign"] == 0, True, table["mean_diff"] * table["sign"] > 0)
    return table


def test_follow_up_demo_data_hold_the_planted_pattern():
    # Checked with scipy on the committed CSVs, independently of the pipeline's analysis.
    post, followup, maintenance = paired_tests("post"), paired_tests("followup"), paired_tests("followup", "post")
    assert len(post) == 20 and set(PLANTED_CHANGE) <= set(post.index)
    unplanted = set(post.index) - set(PLANTED_CHANGE)
    improved_at_post = post[(post["p_holm"] < 0.05) & post["improving"]]
    assert set(improved_at_post.index) == set(PLANTED_CHANGE)
    kept, faded = followup.loc[sorted(KEPT)], followup.loc[sorted(FADES_BY_FOLLOW_UP)]
    assert (kept["p_holm"] < 0.05).all() and kept["improving"].all(), kept
    assert (faded["p_holm"] >= 0.05).all(), faded
    for table in (post, followup, maintenance):
        assert not ((table["p_holm"] < 0.05) & table["improving"]).loc[sorted(unplanted)].any()
    assert followup["n_pairs"].max() == 90 and post["n_pairs"].max() == 112


def test_run_recovers_the_planted_follow_up_pattern():
    # The same pattern through the pipeline's multi-wave analysis: change rows (every later wave against
    # the baseline) and maintenance rows (every wave after the primary against the primary).
    from pipeline.run import run_study
    from pipeline.study import load_study

    study = load_study(Path(FOLLOW_UP))
    run = run_study(study)
    direction = {scale.id: {"better": 1, "worse": -1}.get(scale.higher_is, 0) for _, scale in study.scales}
    results = run.results.set_index("variable")
    assert set(results.index) == set(direction) and len(direction) == 20
    unplanted = set(direction) - set(PLANTED_CHANGE)
    assert (results.loc[sorted(PLANTED_CHANGE), "outcome"] == "improved").all()
    assert not (results.loc[sorted(unplanted), "outcome"] == "improved").any()

    changes = run.changes
    for column in ["variable", "from_wave", "to_wave", "contrast", "n_pairs", "mean_diff", "p", "d_z", "p_holm", "p_fdr"]:
        assert column in changes.columns, column
    pairs = set(zip(changes["contrast"], changes["from_wave"], changes["to_wave"]))
    assert pairs == {("change", "pre", "post"), ("change", "pre", "followup"), ("maintenance", "post", "followup")}
    assert len(changes) == 3 * 20
    sign = changes["variable"].map(direction)
    improving = (sign == 0) | (changes["mean_diff"] * sign > 0)
    changes = changes.assign(improving=improving)
    to_follow_up = changes[(changes["contrast"] == "change") & (changes["to_wave"] == "followup")].set_index("variable")
    kept, faded = to_follow_up.loc[sorted(KEPT)], to_follow_up.loc[sorted(FADES_BY_FOLLOW_UP)]
    assert (kept["p_holm"] < 0.05).all() and kept["improving"].all(), kept
    assert (faded["p_holm"] >= 0.05).all(), faded
    unplanted_rows = changes[changes["variable"].isin(unplanted)]
    assert not ((unplanted_rows["p_holm"] < 0.05) & unplanted_rows["improving"]).any()


# --- The waitlist-controlled trial: `impact demo --groups` and the committed demo trial --------------

TRIAL = SURVEYS / "demo-trial"


def normalised_arm(value) -> str:
    """The arm as the pipeline reads it: case and whitespace ignored."""
    return "".join(str(value).split()).casefold()


@pytest.fixture(scope="module")
def large_trial():
    """4,000 enrolled (seed 7): pre, post, followup, and each participant's arm."""
    waves = simulate_trial(demo_instruments(), participants=4000, seed=7)
    arms = waves[0].set_index(ID_COLUMN)[ARM_COLUMN].map(normalised_arm)
    return waves, arms


def test_trial_is_randomised_one_to_one_with_the_arm_at_baseline_only(large_trial):
    (pre, post, followup), arms = large_trial
    assert list(pre.columns[:3]) == [ID_COLUMN, COHORT_COLUMN, ARM_COLUMN]
    assert all(ARM_COLUMN not in wave.columns and COHORT_COLUMN not in wave.columns for wave in (post, followup))
    assert list(post.columns) == [ID_COLUMN] + list(pre.columns[3:])
    assert set(arms) == set(ARMS) and abs((arms == "program").mean() - 0.5) <= 0.01
    odd = pre[ARM_COLUMN] != pre[ARM_COLUMN].map(normalised_arm)  # "Program ", "WAITLIST", ...
    assert 0.02 < odd.mean() < 0.1
    # The cohort is the demo's own stream, unrelated to the arm.
    cohorts = pd.crosstab(pre[COHORT_COLUMN], arms.to_numpy(), normalize="columns")
    assert (cohorts["program"] - cohorts["waitlist"]).abs().max() < 0.05


def test_trial_plants_ten_program_effects_and_a_drift_in_both_groups(large_trial):
    # Behaviour, not the constant: mean scale-score change (pairs, in baseline SD, signed towards improvement;
    # "neutral" scales in the latent direction), program minus waitlist, at post and at the follow-up.
    (pre, post, followup), arms = large_trial
    assert len(TRIAL_EFFECTS) == 10 and set(TRIAL_EFFECTS) <= set(PLANTED_CHANGE)
    instruments = demo_instruments()
    scores = {name: score_responses(wave, instruments, ID_COLUMN).set_index(ID_COLUMN) for name, wave in
              (("pre", pre), ("post", post), ("followup", followup))}  # fmt: skip
    scales = [scale for instrument in instruments for scale in instrument.primary_scales]
    assert len(scales) == 20
    for later in ("post", "followup"):
        for scale in scales:
            sign = -1 if scale.higher_is == "worse" else 1
            change = (sign * (scores[later][scale.id] - scores["pre"][scale.id]) / scores["pre"][scale.id].std()).dropna()
            by_arm = change.groupby(arms.reindex(change.index)).mean()
            difference = by_arm["program"] - by_arm["waitlist"]
            if scale.id in TRIAL_EFFECTS:
                assert difference > 0.3, (later, scale.id, difference)
            else:
                assert abs(difference) < 0.12, (later, scale.id, difference)
            assert by_arm["waitlist"] > 0.1, (later, scale.id, by_arm["waitlist"])  # the drift, without the program
    assert 0.1 <= TESTING_DRIFT <= 0.4


def test_trial_attrition_is_mildly_differential(large_trial):
    (pre, post, followup), arms = large_trial
    answered = {name: wave[ID_COLUMN].map(arms).value_counts() / arms.value_counts() for name, wave in
                (("post", post), ("followup", followup))}  # fmt: skip
    for name, rates in answered.items():
        assert 0.02 < rates["program"] - rates["waitlist"] < 0.15, (name, rates)
    assert (answered["followup"] < answered["post"]).all()
    assert 0.75 < answered["post"]["waitlist"] < answered["post"]["program"] < 0.92


def test_demo_command_writes_the_committed_trial(tmp_path, capsys):
    # `impact demo --groups`: 300 enrolled and 3 waves by default; the committed demo trial is exactly what it writes.
    from pipeline.cli import main

    assert main(["demo", str(tmp_path / "trial"), "--groups"]) == 0
    assert "demo trial with 300 participants" in capsys.readouterr().out
    names = sorted(p.name for p in (tmp_path / "trial").iterdir())
    assert names == sorted(p.name for p in TRIAL.iterdir()) == ["followup.csv", "post.csv", "pre.csv", "study.yaml"]
    for name in names:
        assert (tmp_path / "trial" / name).read_bytes() == (TRIAL / name).read_bytes(), name
    study = read_yaml_mapping(TRIAL / "study.yaml")
    assert study["name"] == "Demo trial (simulated data)"
    assert study["groups"] == {
        "column": "arm", "program": ["program"], "comparison": ["waitlist"], "assignment": "randomised",
        "labels": {"program": "Purpose Pathways", "comparison": "Waitlist"},
    }  # fmt: skip
    assert study["analysis"] == {"primary": "post", "correction": "holm", "alpha": 0.05}
    assert study["subgroups"] == ["cohort"] and "report" in study
    assert study["waves"] == read_yaml_mapping(FOLLOW_UP / "study.yaml")["waves"]


def test_demo_command_groups_takes_waves_and_participants(tmp_path):
    from pipeline.cli import main

    assert main(["demo", str(tmp_path / "two"), "--groups", "--waves", "2", "--participants", "41"]) == 0
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["post.csv", "pre.csv", "study.yaml"]
    pre = pd.read_csv(tmp_path / "two" / "pre.csv", dtype=str).dropna(subset=[ID_COLUMN]).drop_duplicates(ID_COLUMN)
    assert len(pre) == 41 and sorted(pre[ARM_COLUMN].map(normalised_arm).value_counts()) == [20, 21]
    study = read_yaml_mapping(tmp_path / "two" / "study.yaml")
    assert list(study["waves"]) == ["pre", "post"] and study["groups"]["column"] == ARM_COLUMN


def committed_trial_scores() -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """The committed demo trial's scores per wave (slips dropped as the pipeline drops them) and each participant's arm."""
    instruments = demo_instruments()
    scores = {}
    for wave in ("pre", "post", "followup"):
        frame = pd.read_csv(TRIAL / f"{wave}.csv", dtype={ID_COLUMN: str, COHORT_COLUMN: str, ARM_COLUMN: str})
        frame = frame.dropna(subset=[ID_COLUMN])  # the staff test row
        answered = frame.drop(columns=[ID_COLUMN, COHORT_COLUMN, ARM_COLUMN], errors="ignore").notna().sum(axis=1)
        frame = frame.loc[answered.sort_values(ascending=False, kind="stable").index].drop_duplicates(ID_COLUMN)
        if wave == "pre":
            arms = frame.set_index(ID_COLUMN)[ARM_COLUMN].map(normalised_arm)
        scores[wave] = score_responses(frame, instruments, ID_COLUMN).set_index(ID_COLUMN)
    return scores, arms


def test_committed_trial_recovers_the_ten_between_groups_and_not_the_drift():
    # ANCOVA (post ~ baseline + group, least squares) per variable at the primary endpoint, Holm across the 20,
    # on the committed CSVs and independently of the pipeline: exactly the 10 planted effects, program better.
    # Paired tests within each group, as a one-group analysis would run them, flag the drift too.
    scores, arms = committed_trial_scores()
    assert arms.value_counts().to_dict() == {"program": 150, "waitlist": 150}
    scales = {scale.id: scale for instrument in demo_instruments() for scale in instrument.primary_scales}
    rows = []
    for variable, scale in scales.items():
        sign = {"better": 1, "worse": -1}.get(scale.higher_is, 0)
        pairs = pd.concat([scores["pre"][variable].rename("pre"), scores["post"][variable].rename("post")], axis=1)
        pairs = pairs.dropna().join(arms.rename("arm"))
        design = np.column_stack([np.ones(len(pairs)), pairs["pre"], pairs["arm"] == "program"]).astype(float)
        beta, *_ = np.linalg.lstsq(design, pairs["post"].to_numpy(), rcond=None)
        residual = pairs["post"].to_numpy() - design @ beta
        df = len(pairs) - 3
        se = np.sqrt(residual @ residual / df * np.linalg.inv(design.T @ design)[2, 2])
        within = {arm: stats.ttest_rel(group["post"], group["pre"]) for arm, group in pairs.groupby("arm")}
        rows.append({
            "variable": variable, "n": len(pairs), "diff": beta[2], "p": 2 * stats.t.sf(abs(beta[2] / se), df), "sign": sign,
            **{f"p_{arm}": test.pvalue for arm, test in within.items()},
            **{f"up_{arm}": (np.sign(test.statistic) == (sign or 1)) for arm, test in within.items()},
        })  # fmt: skip
    table = pd.DataFrame(rows).set_index("variable")
    assert table["n"].max() == 129 + 117
    for column in ("p", "p_program", "p_waitlist"):
        table[f"{column}_holm"] = multipletests(table[column], method="holm")[1]
    better = (table["p_holm"] < 0.05) & (table["diff"] * table["sign"] > 0)
    assert set(table.index[table["p_holm"] < 0.05]) == set(better[better].index) == set(TRIAL_EFFECTS)
    within_program = (table["p_program_holm"] < 0.05) & table["up_program"]
    within_waitlist = (table["p_waitlist_holm"] < 0.05) & table["up_waitlist"]
    assert within_program.sum() > 10 and within_waitlist.sum() > 0  # what testing each group alone would wrongly claim

