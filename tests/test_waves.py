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


# From tests/r/demo_followup_reference.R on this run's scores.csv (lmerTest 3.1-3, emmeans 1.8.4-1,
# Satterthwaite): per contrast estimate, SE, df, t, p; per wave emmean, SE, df, lower.CL, upper.CL;
# and t.test(followup, pre, paired = TRUE): n, estimate, t, p.
R_DEMO_FOLLOWUP = {
    "shs_total": {
        ("pre", "post"): (0.537911448389, 0.104814390815, 208.148727597, 5.1320381124, 6.55728866745e-07),
        ("pre", "followup"): (-0.215454425621, 0.112668774071, 210.993306601, -1.91228161838, 0.0571945143527),
        ("post", "followup"): (-0.753365874009, 0.119620725951, 208.554438939, -6.29795437221, 1.75735740593e-09),
        "pre": (4.57361123859, 0.104359915514, 230.135366254, 4.36798822092, 4.77923425626),
        "post": (5.11152268698, 0.114473980999, 276.677099389, 4.88617205522, 5.33687331874),
        "followup": (4.35815681297, 0.121776347259, 303.714117131, 4.11852464172, 4.59778898422),
        "t.test": (85, -0.232352941176, -1.87969692884, 0.063616323141),
    },
    "phq9_total": {
        ("pre", "post"): (-1.17353685752, 0.318438906472, 180.747360621, -3.68528101834, 0.000301783209346),
        ("pre", "followup"): (0.091098732174, 0.340941069589, 183.18806518, 0.267197883446, 0.789617377002),
        ("post", "followup"): (1.2646355897, 0.363944010869, 182.038395425, 3.47480808017, 0.000638983985787),
        "pre": (9.71477217851, 0.30168026316, 223.694609725, 9.12027333676, 10.3092710203),
        "post": (8.54123532099, 0.33333376815, 270.079982323, 7.88497233265, 9.19749830932),
        "followup": (9.80587091068, 0.355220328003, 293.271612007, 9.10676679423, 10.5049750271),
        "t.test": (74, 0.459459459459, 1.07851856435, 0.284353281662),
    },
    "cdse_sf_total": {
        ("pre", "post"): (0.279957219008, 0.0334583242405, 213.091736934, 8.36734132274, 7.74464618378e-15),
        ("pre", "followup"): (0.257861953102, 0.0363458765627, 217.884863616, 7.09466870767, 1.79483937635e-11),
        ("post", "followup"): (-0.0220952659054, 0.0386699742936, 216.765108016, -0.571380413592, 0.568333758293),
        "pre": (3.27651198946, 0.0321666642264, 235.964658445, 3.21314146157, 3.33988251735),
        "post": (3.55646920847, 0.035463867884, 284.978391186, 3.48666485315, 3.62627356379),
        "followup": (3.53437394256, 0.0382001205157, 316.781581898, 3.45921593672, 3.6095319484),
        "t.test": (90, 0.223446786708, 5.43208242368, 4.79415404037e-07),
    },
}


@pytest.fixture(scope="module")
def demo_followup_run():
    from .conftest import SURVEYS

    return run_study(load_study(SURVEYS / "demo-followup"))


@pytest.mark.parametrize("variable", sorted(R_DEMO_FOLLOWUP))
def test_the_three_wave_demo_agrees_with_lmertest_and_emmeans(demo_followup_run, variable):
    reference = R_DEMO_FOLLOWUP[variable]
    changes = demo_followup_run.changes.set_index(["variable", "from_wave", "to_wave"]).loc[variable]
    for (from_wave, to_wave), (estimate, se, df, t, p) in ((k, v) for k, v in reference.items() if isinstance(k, tuple)):
        row = changes.loc[(from_wave, to_wave)]
        assert row["lmm_estimate"] == pytest.approx(estimate, abs=1e-6) and row["lmm_se"] == pytest.approx(se, abs=1e-6)
        assert row["lmm_df"] == pytest.approx(df, rel=1e-3) and row["lmm_t"] == pytest.approx(t, abs=1e-5)
        assert row["lmm_p"] == pytest.approx(p, abs=1e-4, rel=1e-3)
    trajectory = demo_followup_run.trajectory.set_index(["variable", "wave"]).loc[variable]
    for wave in ("pre", "post", "followup"):
        estimate, se, df, low, high = reference[wave]
        row = trajectory.loc[wave]
        assert row["lmm_mean"] == pytest.approx(estimate, abs=1e-6) and row["lmm_se"] == pytest.approx(se, abs=1e-6)
        assert row["lmm_df"] == pytest.approx(df, rel=1e-3)
        assert row["lmm_ci_low"] == pytest.approx(low, abs=1e-5) and row["lmm_ci_high"] == pytest.approx(high, abs=1e-5)
    n, estimate, t, p = reference["t.test"]
    paired = changes.loc[("pre", "followup")]
    assert paired["n_pairs"] == n and paired["mean_diff"] == pytest.approx(estimate, abs=1e-9)
    assert paired["t"] == pytest.approx(t, abs=1e-8) and paired["p"] == pytest.approx(p, abs=1e-9)
    # results.csv's mixed model is the same all-wave model's baseline -> primary contrast
    result = demo_followup_run.results.set_index("variable").loc[variable]
    assert result["lmm_estimate"] == pytest.approx(reference[("pre", "post")][0], abs=1e-6)
    assert result["lmm_df"] == pytest.approx(reference[("pre", "post")][2], rel=1e-3)
