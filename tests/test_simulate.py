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
    COHORT_COLUMN, DEMO_INSTRUMENTS, EXPORT_FORMATS, FADES_BY_FOLLOW_UP, ID_COLUMN, LATER_RESPONSE_RATE, PLANTED_CHANGE,
    simulate_study, wave_names, wave_timing, write_demo_study,
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
