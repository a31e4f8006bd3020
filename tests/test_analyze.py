"""The analysis stage: pairing, outcomes, reliable change, attrition and edge cases, through whole runs.

The statistics themselves are checked against R in tests/test_statistics.py.
"""

from __future__ import annotations

import shutil
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.analyze import RESULT_COLUMNS, classify_outcome, reliable_change, scores_by_wave
from pipeline.instruments import Instrument
from pipeline.run import run_study, write_outputs
from pipeline.statistics.paired import paired_statistics
from pipeline.study import load_study


def test_outcome_uses_direction_of_improvement():
    assert classify_outcome(-2.0, 0.01, "worse", 0.05) == "improved"
    assert classify_outcome(2.0, 0.01, "worse", 0.05) == "worsened"
    assert classify_outcome(2.0, 0.01, "better", 0.05) == "improved"
    assert classify_outcome(-2.0, 0.01, "neutral", 0.05) == "changed"
    assert classify_outcome(2.0, 0.05, "better", 0.05) == "no significant change"
    assert classify_outcome(2.0, np.nan, "better", 0.05) == "not tested"


def test_pairs_are_formed_by_id_not_row_order():
    scores = pd.DataFrame(
        {"pid": ["a", "b", "c", "c", "a", "d"], "wave": ["pre", "pre", "pre", "post", "post", "post"], "s": [1.0, 2.0, 3.0, 5.0, 4.0, 9.0]}
    )
    pairs = scores_by_wave(scores, "pid", ["pre", "post"])["s"].dropna()
    assert pairs.to_dict("index") == {"a": {"pre": 1.0, "post": 4.0}, "c": {"pre": 3.0, "post": 5.0}}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=3, max_size=40))
def test_intervals_contain_their_estimates_and_t_agrees_with_its_interval(pairs):
    pre = np.array([p for p, _ in pairs], dtype=float)
    post = np.array([q for _, q in pairs], dtype=float)
    row = paired_statistics(pre, post)
    if np.isnan(row["t"]):
        assert row["notes"]
        return
    assert row["d_z_ci_low"] < row["d_z"] < row["d_z_ci_high"]
    assert row["ci_low"] < row["mean_diff"] < row["ci_high"]
    assert (row["ci_low"] > 0 or row["ci_high"] < 0) == (row["p"] < 0.05)
    assert abs(row["g_av"]) <= abs(row["d_av"])  # Hedges' factor only shrinks


# --- a small study built on disk, run through the whole pipeline ---------------------------

EDGE_INSTRUMENT = """\
id: edge
name: Edge cases
citation: Test only.
license: public-domain
response: {min: 0, max: 30}
items:
  - {id: few_1, label: few pairs}
  - {id: flat_1, label: same change}
  - {id: still_1, label: no change}
  - {id: blank_1, label: nobody answered}
  - {id: mood_1, label: mood a}
  - {id: mood_2, label: mood b}
  - {id: mood_3, label: mood c}
scales:
  - {id: few, name: Few pairs, items: [few_1], method: sum, higher_is: better}
  - {id: flat, name: Same change, items: [flat_1], method: sum, higher_is: better}
  - {id: still, name: No change, items: [still_1], method: sum, higher_is: better}
  - {id: blank, name: Nobody answered, items: [blank_1], method: sum, higher_is: better}
  - id: mood
    name: Low mood
    items: [mood_1, mood_2, mood_3]
    method: sum
    higher_is: worse
    cutoffs:
      - {name: case, score: 30, case_when: at_or_above, source: test, evidence: verified}
"""
PRE = """\
pid,few_1,flat_1,still_1,blank_1,mood_1,mood_2,mood_3
a,3,1,5,,12,14,11
b,,2,5,,10,9,12
c,,3,5,,4,5,6
d,,4,5,,8,7,9
e,,5,5,,11,10,13
f,9,6,5,,3,4,2
"""
POST = """\
pid,few_1,flat_1,still_1,blank_1,mood_1,mood_2,mood_3
a,4,2,5,,3,4,2
b,,3,5,,9,10,11
c,,4,5,,5,4,6
d,,5,5,,8,9,7
e,,6,5,,2,3,3
"""


def edge_study(tmp_path):
    (tmp_path / "instruments").mkdir()
    (tmp_path / "instruments" / "edge.yaml").write_text(EDGE_INSTRUMENT)
    (tmp_path / "pre.csv").write_text(PRE)
    (tmp_path / "post.csv").write_text(POST)
    (tmp_path / "study.yaml").write_text(
        textwrap.dedent(
            """\
            name: Edge study
            id_column: pid
            instruments: [edge]
            waves: {pre: pre.csv, post: post.csv}
            """
        )
    )
    return load_study(tmp_path)


@pytest.fixture
def edge_run(tmp_path):
    return run_study(edge_study(tmp_path))


def test_every_edge_case_keeps_its_row_with_a_reason(edge_run, tmp_path):
    results = edge_run.results.set_index("variable")
    assert list(edge_run.results.columns) == RESULT_COLUMNS
    assert list(results.index) == ["few", "flat", "still", "blank", "mood"]
    notes = results["note"]
    assert notes["few"] == "fewer than 2 pairs: no test; one item: no alpha or omega"
    assert notes["flat"].startswith("every participant changed by the same amount")
    assert "every difference is zero" in notes["still"]
    assert notes["blank"].startswith("no participant has a score at both waves")
    for variable in ["few", "flat", "still", "blank"]:
        assert results.loc[variable, ["t", "p", "d_z", "p_holm", "bf10"]].isna().all(), variable
        assert results.loc[variable, "outcome"] == "not tested"
    assert results.loc["flat", "wilcoxon_v"] == 15 and results.loc["flat", "r_rb"] == 1  # all five rose by 1
    assert np.isnan(results.loc["still", "wilcoxon_v"]) and results.loc["still", "mean_diff"] == 0
    assert results.loc["blank", ["n_pre", "n_post", "n_pairs"]].tolist() == [0, 0, 0]
    # A one-item scale has no alpha; the family for p_holm is the one scale with a p.
    assert np.isnan(results.loc["few", "alpha_pre"]) and results.loc["mood", "p_holm"] == results.loc["mood", "p"]
    written = write_outputs(edge_run, tmp_path.with_name(f"{tmp_path.name}-out"), pdf=True)  # outputs never go inside the study folder  # the report renders the empty rows too
    assert {path.name for path in written} >= {"results.csv", "reliable_change.csv", "attrition.csv", "impact-report.pdf"}


def test_reliable_change_is_direction_aware_and_counts_recovery(edge_run):
    mood = edge_run.results.set_index("variable").loc["mood"]
    # No published figures: the paired participants' baseline SD and the sample's alpha at baseline.
    assert mood["rci_basis"] == "sample SD, sample alpha"
    pre = np.array([37, 31, 15, 24, 34], dtype=float)  # a..e, the paired participants
    post = np.array([9, 30, 15, 24, 8], dtype=float)
    threshold = 1.96 * pre.std(ddof=1) * np.sqrt(2 * (1 - mood["alpha_pre"]))
    assert mood["rci_threshold"] == pytest.approx(threshold)
    # a and e dropped by 28 and 26 (more than the threshold): lower is better, so they improved.
    assert list(np.abs(post - pre) > threshold) == [True, False, False, False, True]
    assert (mood["rci_improved_pct"], mood["rci_unchanged_pct"], mood["rci_deteriorated_pct"]) == (40, 60, 0)
    # Cases (30 or more) at baseline: a, b, e; a and e improved reliably and left the range.
    assert (mood["recovery_cutoff"], mood["n_cases_pre"]) == ("at_or_above 30", 3)
    assert mood["recovered_pct"] == pytest.approx(200 / 3)
    per_person = edge_run.reliable_change.query("variable == 'mood'").set_index("pid")
    assert per_person.loc["a", "category"] == "improved" and per_person.loc["a", "recovered"]
    assert per_person.loc["b", "category"] == "unchanged" and per_person.loc["b", "case_post"]
    assert per_person.loc["a", "rci"] == pytest.approx(-28 / (threshold / 1.96))


def test_attrition_compares_baseline_of_completers_and_noncompleters(edge_run):
    attrition = edge_run.attrition.set_index("variable")
    assert (attrition.loc["mood", "n_completers"], attrition.loc["mood", "n_noncompleters"]) == (5, 1)
    assert attrition.loc["mood", "mean_noncompleters"] == 9  # f: 3 + 4 + 2
    assert attrition.loc["mood", "note"].startswith("fewer than 2")
    assert attrition.loc["blank", "n_completers"] == 0


def test_mixed_model_uses_every_available_score(edge_run):
    mood = edge_run.results.set_index("variable").loc["mood"]
    assert mood["lmm_n"] == 6 and mood["n_pairs"] == 5
    assert mood["lmm_estimate"] < 0 and 0 < mood["lmm_p"] < 1


def test_secondary_scales_get_the_full_analysis_with_reasons_for_gaps(tmp_path):
    from .conftest import DEMO

    shutil.copytree(DEMO, tmp_path / "demo")
    study_file = tmp_path / "demo" / "study.yaml"
    study_file.write_text(study_file.read_text().replace("analysis:\n", "analysis:\n  include_secondary: true\n"))
    results = run_study(load_study(tmp_path / "demo")).results.set_index("variable")
    assert len(results) == 29
    spane_b = results.loc["spane_b"]
    assert np.isnan(spane_b["alpha_pre"]) and not np.isnan(spane_b["p"])
    assert spane_b["note"].startswith("a difference of two scales: no alpha or omega")


def instrument_with(norms=(), reliability=()) -> Instrument:
    return Instrument.model_validate(
        {
            "id": "x", "name": "X", "citation": "Test.", "license": "public-domain",
            "response": {"min": 1, "max": 5},
            "items": [{"id": "x1", "label": "a"}, {"id": "x2", "label": "b"}],
            "scales": [{"id": "xs", "name": "X", "items": ["x1", "x2"], "method": "sum", "higher_is": "better"}],
            "norms": list(norms), "reliability": list(reliability),
        }
    )  # fmt: skip


@pytest.mark.parametrize(
    ("norms", "reliability", "basis", "sd", "r"),
    [
        ([{"scale": "xs", "mean": 6, "sd": 1.5, "population": "adults", "source": "s", "evidence": "verified"}],
         [{"scale": "xs", "statistic": "test-retest", "value": 0.7, "source": "s", "evidence": "secondary"},
          {"scale": "xs", "statistic": "alpha", "value": 0.85, "source": "s", "evidence": "verified"}],
         "published SD, published alpha", 1.5, 0.85),
        ([{"scale": "xs", "mean": 6, "sd": 1.5, "population": "adults", "source": "s", "evidence": "unverified"}],
         [{"scale": "xs", "statistic": "alpha", "low": 0.8, "high": 0.9, "source": "s", "evidence": "verified"}],
         "sample SD, sample alpha", 2.0, 0.6),
        ([], [{"scale": "xs", "statistic": "test-retest", "value": 0.7, "source": "s", "evidence": "secondary"}],
         "sample SD, published test-retest", 2.0, 0.7),
    ],
)  # fmt: skip
def test_published_figures_are_used_only_when_trusted_and_single(norms, reliability, basis, sd, r):
    instrument = instrument_with(norms, reliability)
    row = {"sd_pre": 2.0, "alpha_pre": 0.6, "notes": []}
    columns, participants = reliable_change(instrument, instrument.scales[0], np.array([4.0, 6.0]), np.array([9.0, 6.0]), row)
    assert (columns["rci_basis"], columns["rci_sd"], columns["rci_reliability"]) == (basis, sd, r)
    assert participants["rci"][0] == pytest.approx(5 / (sd * np.sqrt(2 * (1 - r))))


def test_no_reliable_change_without_a_usable_reliability():
    instrument = instrument_with()
    row = {"sd_pre": 2.0, "alpha_pre": np.nan, "notes": []}
    columns, participants = reliable_change(instrument, instrument.scales[0], np.array([4.0, 6.0]), np.array([9.0, 6.0]), row)
    assert participants is None and np.isnan(columns["rci_improved_pct"])
    assert row["notes"] == ["no reliable change: no published reliability and no sample alpha"]
