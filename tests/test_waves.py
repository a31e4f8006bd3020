"""Any number of waves: the design is read from study.yaml by role, and every table follows it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.analyze import CHANGE_COLUMNS, TRAJECTORY_COLUMNS, Design
from pipeline.run import run_study
from pipeline.statistics.paired import paired_statistics
from pipeline.study import load_study

from .conftest import run_impact

ITEMS = "participant_id,tiny_1,tiny_2,tiny_3\n"


def three_wave_study(folder, primary: str | None = None, margin: float | None = None):
    """The minimal example plus a follow-up: f01–f06 are p01–p06 again, z01 has no baseline."""
    pre = pd.read_csv(folder / "pre.csv")
    rng = np.random.default_rng(5)
    follow = pre.iloc[:6].copy()
    follow[["tiny_1", "tiny_2", "tiny_3"]] = rng.integers(1, 6, size=(6, 3))
    follow = pd.concat([follow, pd.DataFrame([{"participant_id": "z01", "tiny_1": 3, "tiny_2": 3, "tiny_3": 3}])])
    follow[["participant_id", "tiny_1", "tiny_2", "tiny_3"]].to_csv(folder / "followup.csv", index=False)
    path = folder / "study.yaml"
    text = path.read_text().replace("  post: post.csv\n", "  post: post.csv\n  followup: {file: followup.csv, label: 6 months after}\n")
    options = {key: value for key, value in (("primary", primary), ("maintenance_margin_dz", margin)) if value is not None}
    if options:
        text += "analysis: {" + ", ".join(f"{key}: {value}" for key, value in options.items()) + "}\n"
    path.write_text(text)
    return load_study(folder)


def test_design_contrasts_follow_the_waves_and_the_primary():
    design = Design(("pre", "mid", "post", "fu"), primary="post")
    assert design.contrasts == [
        ("pre", "mid", "change"), ("pre", "post", "change"), ("pre", "fu", "change"), ("post", "fu", "maintenance"),
    ]  # fmt: skip
    assert Design(("a", "b"), primary="b").contrasts == [("a", "b", "change")]


def test_a_three_wave_study_gives_every_contrast_and_wave(minimal_study):
    study = three_wave_study(minimal_study, margin=0.5)
    run = run_study(study)
    assert list(run.changes.columns) == CHANGE_COLUMNS and list(run.trajectory.columns) == TRAJECTORY_COLUMNS
    keys = run.changes[["from_wave", "to_wave", "contrast"]].values.tolist()
    assert keys == [["pre", "post", "change"], ["pre", "followup", "change"], ["post", "followup", "maintenance"]]
    assert run.trajectory["wave"].tolist() == ["pre", "post", "followup"]
    # each contrast's paired statistics are those of its own pairs, matched by id
    wide = run.scores.pivot(index="participant_id", columns="wave")["tiny_score"]
    for _, row in run.changes.iterrows():
        pairs = wide[[row["from_wave"], row["to_wave"]]].dropna()
        expected = paired_statistics(pairs[row["from_wave"]].to_numpy(), pairs[row["to_wave"]].to_numpy())
        assert row["n_pairs"] == expected["n_pairs"]
        assert row["mean_diff"] == pytest.approx(expected["mean_diff"]) and row["mean_from"] == pytest.approx(expected["mean_pre"])
    # the confirmatory row of changes is results.csv's row
    confirmatory = run.changes.iloc[0]
    for column in ("n_pairs", "mean_diff", "t", "p", "p_holm", "d_z", "lmm_estimate", "lmm_se"):
        assert confirmatory[column] == pytest.approx(run.results.iloc[0][column], nan_ok=True), column
    maintenance = run.changes.iloc[2]
    assert maintenance["tost_high"] == pytest.approx(0.5 * maintenance["sd_diff"]) and 0 <= maintenance["p_tost"] <= 1
    assert run.changes.iloc[:2]["p_tost"].isna().all()  # change contrasts are not equivalence-tested
    observed = run.trajectory.set_index("wave")
    assert observed.loc["followup", "n"] == 7 and observed.loc["followup", "mean"] == pytest.approx(wide["followup"].mean())
    assert run.attrition["wave"].tolist() == ["post", "followup"]
    assert run.flow["valid_followup"] == 7 and run.flow["followup_only"] == 1 and run.flow["matched_followup"] == 6
    unmatched = run.unmatched
    assert unmatched.loc[unmatched["wave"] == "followup", "participant"].tolist() == ["z01"]


def test_the_primary_endpoint_decides_results(minimal_study):
    run = run_study(three_wave_study(minimal_study, primary="followup"))
    assert run.results.iloc[0]["n_pairs"] == 6  # pre -> followup pairs
    assert run.changes["contrast"].tolist() == ["change", "change"]  # nothing after the primary


def test_a_later_wave_sharing_no_id_with_the_baseline_is_refused(minimal_study, tmp_path):
    post = (minimal_study / "post.csv").read_text().replace("p0", "q0")
    (minimal_study / "post.csv").write_text(post)
    result = run_impact("run", str(minimal_study), "--out", str(tmp_path / "out"), "--no-pdf")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "study.yaml: waves.post: no participant id of post.csv is in the baseline's (pre.csv); check the file is this study's" in result.stderr
    assert "q0" not in result.stderr  # ids are never echoed
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
