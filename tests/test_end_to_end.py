"""`impact run` as a user runs it: the minimal example and the demo study, PDF read back."""

from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import pytest
from pypdf import PdfReader

from pipeline.analyze import RESULT_COLUMNS
from pipeline.simulate import PLANTED_CHANGE

from .conftest import DEMO, run_impact

# Every column issues 2 and 4 name for results.csv.
ISSUE_COLUMNS = [
    "variable", "n_pairs", "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "ci_low", "ci_high",
    "t", "df", "p", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "wilcoxon_v", "p_wilcoxon", "r_rb",
    "p_holm", "p_fdr", "alpha_pre", "alpha_post", "alpha_n_pre", "alpha_n_post", "omega_pre", "shapiro_p",
    "bf10", "mde_dz", "rci_improved_pct", "rci_unchanged_pct", "rci_deteriorated_pct", "rci_basis",
    "recovered_pct", "lmm_estimate", "lmm_p", "higher_is", "outcome", "note",
]  # fmt: skip


def pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_minimal_example_runs_end_to_end(minimal_study, tmp_path):
    out = tmp_path / "out"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in minimal_study.glob("*.csv")}
    result = run_impact("run", str(minimal_study), "--out", str(out))
    assert result.returncode == 0, result.stderr
    for name in ["scores.csv", "results.csv", "reliable_change.csv", "attrition.csv", "ledger.csv", "exclusions.csv", "data-quality.csv", "manifest.json", "impact-report.pdf"]:
        assert (out / name).is_file(), name

    scores = pd.read_csv(out / "scores.csv")
    assert list(scores.columns) == ["participant_id", "wave", "tiny_score"]
    assert len(scores) == 16 and set(scores["wave"]) == {"pre", "post"}
    p03 = scores.set_index(["participant_id", "wave"]).loc[("p03", "pre"), "tiny_score"]
    assert p03 == pytest.approx((1 + (6 - 5) + 2) / 3)

    results = pd.read_csv(out / "results.csv")
    assert set(ISSUE_COLUMNS) <= set(results.columns) and list(results.columns) == RESULT_COLUMNS
    assert results.loc[0, "n_pairs"] == 7  # p07 has no post, p09 no pre

    text = pdf_text(out / "impact-report.pdf")
    # 7 pairs are fewer than the threshold of 10: the count is "<10" and no statistic of theirs is shown
    words = " ".join(text.split())
    assert "Significant improvement in 0 of the 0 variables with enough pairs to report" in words
    assert "1 had fewer than 10 pairs and is not reported" in words and "<10" in words
    assert results.loc[0, "outcome"] == "improved"  # the research table keeps the result
    assert "p01" not in text and "first session felt long" not in text  # no ids, no free text
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in minimal_study.glob("*.csv")}
    assert before == after  # raw exports untouched


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = run_impact("run", str(DEMO), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_demo_recovers_the_planted_improvements(demo_run):
    results = pd.read_csv(demo_run / "results.csv").set_index("variable")
    assert len(results) == 20
    improved = set(results.index[results["outcome"] == "improved"])
    assert improved == set(PLANTED_CHANGE)
    assert (results.drop(index=list(PLANTED_CHANGE))["outcome"] == "no significant change").all()
    assert results["n_pairs"].between(80, 115).all()


def test_demo_results_fill_every_statistic(demo_run):
    results = pd.read_csv(demo_run / "results.csv").set_index("variable")
    assert set(ISSUE_COLUMNS) <= set(results.reset_index().columns)
    numeric = [c for c in ISSUE_COLUMNS if c not in ("variable", "rci_basis", "recovered_pct", "higher_is", "outcome", "note")]
    directed = results["higher_is"] != "neutral"
    # The demo has enough data for every statistic, except omega for the two-item BCS presence scale.
    assert results.loc[directed, numeric].drop(columns="omega_pre").notna().all().all()
    assert results.loc[directed, "omega_pre"].isna().sum() == 1 and results.loc["bcs_presence", "note"].startswith("two items: no omega")
    assert results.loc[directed, "note"].drop(index="bcs_presence").isna().all()
    # MLQ search has no direction of improvement: its reliable change has no improved/deteriorated shares.
    assert list(results.index[~directed]) == ["mlq_s"]
    assert results.loc["mlq_s", "note"].startswith("no direction of improvement")
    # Reliable change adds up, and recovery is reported exactly where a cut-off is declared (PHQ-9, GAD-7).
    shares = results.loc[directed, ["rci_improved_pct", "rci_unchanged_pct", "rci_deteriorated_pct"]].sum(axis=1)
    assert shares.round(9).eq(100).all()
    assert set(results.index[results["recovered_pct"].notna()]) == {"phq9_total", "gad7_total"}
    change = pd.read_csv(demo_run / "reliable_change.csv")
    assert len(change) == results["n_pairs"].sum()
    conventions = json.loads((demo_run / "manifest.json").read_text())["conventions"]
    assert conventions["wilcoxon_rounding_decimals"] == 9 and conventions["mde_power"] == 0.8
    attrition = pd.read_csv(demo_run / "attrition.csv")
    assert len(attrition) == 20 and (attrition["n_completers"] == results["n_pairs"].to_numpy()).all()


def test_demo_scores_include_secondary_scales_outside_the_tested_family(demo_run):
    scores = pd.read_csv(demo_run / "scores.csv")
    for secondary in ["spane_b", "ahs_agency", "ahs_pathways", "mspss_friends", "lot_r_pessimism", "bcs_search"]:
        assert secondary in scores.columns
    complete = scores.dropna(subset=["spane_p", "spane_n"])
    assert (complete["spane_b"] == complete["spane_p"] - complete["spane_n"]).all()
    both = scores.dropna(subset=["ahs_agency", "ahs_pathways"])
    assert (both["ahs_total"] == both["ahs_agency"] + both["ahs_pathways"]).all()


def test_demo_report_names_headline_and_methods(demo_run):
    text = pdf_text(demo_run / "impact-report.pdf")
    text = re.sub(r"\s+", " ", re.sub(r"([–-])\n", r"\1", text))  # undo line breaks after dashes
    assert "Significant improvement in 12 of 20 variables" in text
    for phrase in ["paired t-test", "Holm (1979)", "Benjamini–Hochberg", "Cohen's dz", "Hedges' gav", "Wilcoxon signed-rank",
                   "rank-biserial", "Shapiro–Wilk", "JZS Bayes factor", "80% power", "Cronbach's alpha", "McDonald's omega",
                   "Jacobson & Truax", "linear mixed", "no comparison group", "Loneliness (UCLA-LS3)"]:
        assert phrase in text, phrase
    assert "P00001" not in text


def test_demo_ledger_balances(demo_run):
    ledger = pd.read_csv(demo_run / "ledger.csv")
    assert (ledger["rows_read"] == ledger["rows_accepted"] + ledger["rows_excluded"]).all()
    assert list(ledger["rows_read"]) == [153, 113]  # plus the simulated slips: 2 + 1 repeat attempts, 1 test row


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: (s / "study.yaml").write_text("name: [unclosed\n"), "study.yaml: line 2, column 1: invalid YAML"),
        (lambda s: (s / "pre.csv").unlink(), "pre.csv: file for wave 'pre' not found"),
        (lambda s: (s / "instruments" / "tiny.yaml").write_text((s / "instruments" / "tiny.yaml").read_text().replace("method: mean", "method: avg")), "tiny.yaml: scales[0] (tiny_score).method"),
        (lambda s: (s / "post.csv").write_text("participant_id,tiny_1\np1,3\n"), "post.csv: row 1: column(s) not found: tiny_2, tiny_3"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(minimal_study, tmp_path, edit, message):
    edit(minimal_study)
    result = run_impact("run", str(minimal_study), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")


def test_missing_study_folder(tmp_path):
    result = run_impact("run", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "not a folder" in result.stderr


def test_a_wave_with_no_usable_rows_still_reports(minimal_study, tmp_path):
    (minimal_study / "post.csv").write_text("participant_id,tiny_1,tiny_2,tiny_3\n,,,\n")
    result = run_impact("run", str(minimal_study), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "warning: no participant id appears in both pre and post" in result.stdout  # the baseline and the primary endpoint
    row = pd.read_csv(tmp_path / "out" / "results.csv").iloc[0]
    assert row["n_pairs"] == 0 and row["outcome"] == "not tested"
    assert row["note"] == "no participant has a score at both waves"
    ledger = pd.read_csv(tmp_path / "out" / "ledger.csv").set_index("wave")
    assert ledger.loc["post", ["rows_read", "rows_accepted", "rows_excluded"]].tolist() == [1, 0, 1]


def test_demo_command_writes_a_runnable_study(tmp_path):
    result = run_impact("demo", str(tmp_path / "small"), "--participants", "30", "--seed", "3")
    assert result.returncode == 0, result.stderr
    run = run_impact("run", str(tmp_path / "small"), "--out", str(tmp_path / "out"), "--no-pdf")
    assert run.returncode == 0, run.stderr
    assert len(pd.read_csv(tmp_path / "out" / "results.csv")) == 20
    assert not (tmp_path / "out" / "impact-report.pdf").exists()
