"""The reports of a study with a comparison group (surveys/demo-trial): the causal question answered in
words, the two-column flow, the baseline table, d_ppc2 in the forest plot, both groups' trajectories,
limitations written from the design, every comparison.csv column in the technical report, and small
cells suppressed as in a one-group study."""

from __future__ import annotations

import base64
import io
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from pipeline import charts, report
from pipeline.run import run_study
from pipeline.schema import CHANGES, COMPARISON, RETENTION, TRAJECTORY
from pipeline.study import load_study
from pipeline.subgroups import SUBGROUP_STATISTICS, suppress_small_subgroups_by_group
from pipeline.suppression import TOO_FEW, publish_counts, publishable_comparison, publishable_groups, publishable_retention

from .conftest import SURVEYS

TRIAL = SURVEYS / "demo-trial"
EPOCH = "1767225600"  # 2026-01-01
SVG = "{http://www.w3.org/2000/svg}"


def pdf_text(content: bytes) -> str:
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def svgs(html: str, alt_start: str = "") -> list[str]:
    """The SVG documents of the ``<img>``s whose alt text starts with ``alt_start``."""
    found = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)" alt="' + re.escape(alt_start), html)
    return [base64.b64decode(data).decode() for data in found]


def svg_texts(svg: str, cls: str | None = None) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text") if cls is None or t.get("class") == cls]


def study_copy(tmp_path, replace: dict[str, str]):
    """A copy of the demo trial with ``study.yaml`` edited (each key replaced by its value)."""
    folder = tmp_path / "trial"
    shutil.copytree(TRIAL, folder)
    path = folder / "study.yaml"
    text = path.read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return folder


@pytest.fixture(scope="module")
def trial_run():
    return run_study(load_study(TRIAL))


@pytest.fixture(scope="module")
def trial_reports(trial_run):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        return report.render_reports(trial_run)


@pytest.fixture(scope="module")
def observational_run(tmp_path_factory):
    folder = study_copy(tmp_path_factory.mktemp("observational"), {"assignment: randomised": "assignment: not-randomised"})
    return run_study(load_study(folder))


# --- the impact report ------------------------------------------------------------------------

def test_the_two_group_demo_renders_both_reports_as_pdf_and_html(trial_reports):
    assert set(trial_reports) == {"impact-report.pdf", "impact-report.html", "technical-report.pdf", "technical-report.html"}
    for name, content in trial_reports.items():
        assert content.startswith(b"%PDF-" if name.endswith(".pdf") else b"<!DOCTYPE html>"), name


def test_the_headline_answers_the_causal_question_with_the_counts_of_results_outcome(trial_run, trial_reports):
    outcome = trial_run.results["outcome"]
    better, worse = int((outcome == "program better").sum()), int((outcome == "program worse").sum())
    assert (better, worse) == (10, 0)  # the demo's 10 planted effects, and no drift flagged
    text = pdf_text(trial_reports["impact-report.pdf"])
    assert f"Compared with the Waitlist group, participants of Purpose Pathways improved more on {better} of 20 variables at the end of program" in text
    assert "ANCOVA" in text and "Holm (1979) correction" in text and "On none did they do significantly worse." in text
    for name in trial_run.results.loc[outcome == "program better", "name"]:
        assert name in text
    # Within-group change is shown only with the warning, and never counted: no "significant improvement in" a group.
    assert "Bland & Altman, 2011" in text and "Significant improvement in" not in text
    assert "There was no comparison group" not in text and "No comparison group" not in text


def test_the_flow_is_two_columns_with_each_groups_counts(trial_run, trial_reports):
    flow = trial_run.flow
    (svg,) = svgs(trial_reports["impact-report.html"].decode(), "Participant flow in two groups")
    root = ET.fromstring(svg)
    boxes = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "main"]
    waves = len(trial_run.study.later_waves)
    assert len(boxes) == 2 + 2 * (1 + waves + 1)  # assessed, allocated; per group: allocated, each later wave, analysed
    columns = {float(r.get("x")) for r in boxes[2:]}
    assert len(columns) == 2  # two columns side by side
    counts = svg_texts(svg, "count")
    assert counts[:2] == ["301\u2013309", "300"]  # 303 rows with 3 (<10) excluded: coarsened
    results = trial_run.results
    analysed = [f"{results[f'n_{r}'].min()}\u2013{results[f'n_{r}'].max()}" for r in ("program", "comparison")]
    expected_program = [str(flow["allocated_program"]), *(str(flow[f"matched_{w}_program"]) for w in trial_run.study.later_waves), analysed[0]]
    expected_comparison = [str(flow["allocated_comparison"]), *(str(flow[f"matched_{w}_comparison"]) for w in trial_run.study.later_waves), analysed[1]]
    assert counts[2:] == [c for pair in zip(expected_program, expected_comparison) for c in pair]  # row by row, left then right
    lines = " ".join(svg_texts(svg))
    assert "allocated to Purpose Pathways" in lines and "allocated to the Waitlist group" in lines
    assert f"no valid answer then: {150 - flow['matched_post_comparison']}" in lines  # 33
    assert "repeat answers of one person: <10" in lines and "no participant id: <10" in lines


def test_unknown_group_exclusions_have_funder_words():
    from pipeline.validate import EXCLUSION_REASONS

    assert set(EXCLUSION_REASONS) - {"other_event"} <= set(report.REASON_WORDS)
    assert "group" in report.REASON_WORDS["unknown_group"]


def test_the_forest_plot_shows_d_ppc2_right_is_better_for_the_program(trial_run, trial_reports):
    html = trial_reports["impact-report.html"].decode()
    (forest,) = svgs(html, "Forest plot of the standardized difference between the groups")
    root = ET.fromstring(forest)
    label = next(t for t in root.iter(f"{SVG}text") if t.get("id") == "x-label")
    assert "".join(label.itertext()) == "Group difference dppc2 with 95% interval (right = program better)"
    title = root.find(f"{SVG}title").text
    assert title.startswith("Forest plot of the standardized difference between the groups (d_ppc2) with 95% intervals")
    # Depression: lower is better, d_ppc2 -0.57 at the end of program, drawn at +0.57 (right = better).
    phq9 = trial_run.results.set_index("variable").loc["phq9_total"]
    assert phq9["d_ppc2"] == pytest.approx(-0.5667, abs=1e-4)
    assert f"Depression (PHQ-9): End of program {phq9['d_ppc2'] * -1:.2f} [{-phq9['d_ppc2_ci_high']:.2f}, {-phq9['d_ppc2_ci_low']:.2f}]" in title
    assert 'id="legend"' in forest  # one interval per later wave
    assert "d<sub>ppc2</sub> (Morris, 2008)" in html and "right always means better for the program" in html


def test_each_panel_draws_both_groups_trajectories_and_says_the_between_group_result(trial_run, trial_reports):
    html = trial_reports["impact-report.html"].decode()
    assert html.count('<img class="slopes trajectory"') == 20 and '<img class="slopes" ' not in html and 'class="rci"' not in html
    (chart,) = svgs(html, "Subjective happiness: Purpose Pathways")
    root = ET.fromstring(chart)
    assert {p.get("class") for p in root.iter(f"{SVG}path") if p.get("class", "").startswith("mean-line")} == {"mean-line program", "mean-line comparison"}
    assert [t.text for t in root.iter(f"{SVG}text") if t.text in ("Purpose Pathways", "Waitlist")] == ["Purpose Pathways", "Waitlist"]
    shs = trial_run.results.set_index("variable").loc["shs_total"]
    sentence = (
        f"At End of program, adjusted for the starting score, participants of Purpose Pathways scored {shs['ancova_diff']:.2f} higher than "
        f"the Waitlist group (95% CI of the difference {shs['ancova_ci_low']:.2f} to {shs['ancova_ci_high']:.2f}; d<sub>ppc2</sub> {shs['d_ppc2']:.2f}"
    )
    assert sentence in html


def test_the_baseline_table_shows_both_groups_and_the_clearinghouse_reading(trial_run, trial_reports):
    html = trial_reports["impact-report.html"].decode()
    assert 'id="baseline"' in html and "The groups at the start" in html
    section = html[html.index('id="baseline"') : html.index('id="change"')]
    assert "over 0.25 the groups are not equivalent" in section
    for _, row in trial_run.results.iterrows():
        assert f"{row['mean_baseline_program']:.2f} ({row['sd_baseline_program']:.2f})" in section, row["variable"]
        assert f"{row['mean_baseline_comparison']:.2f} ({row['sd_baseline_comparison']:.2f})" in section, row["variable"]
        assert f">{report.format_number(row['baseline_smd'])}<" in section, row["variable"]
    assert section.count("adjustment needed</span>") == int((trial_run.results["baseline_equivalence"] == "adjustment needed").sum())


def test_randomised_limitations_name_attrition_differential_attrition_blinding_and_multiplicity(trial_run, trial_reports):
    text = pdf_text(trial_reports["impact-report.pdf"])
    limits = text[text.index("What this design cannot show Attrition") :]
    retention = trial_run.retention.set_index("wave")
    assert "a differential attrition of 8.0 percentage points" in limits  # 14% against 22% at the end of program
    assert f"cautious boundary that is {retention.loc['post', 'attrition_level']} attrition" in limits
    assert "baselinr" in limits and "secondary source" in limits
    assert "No blinding" in limits and "Many variables tested" in limits
    assert "Lord's paradox" not in text and "not assigned to the groups" not in limits


def test_not_randomised_limitations_name_selection_baseline_sizes_and_what_each_analysis_assumes(observational_run):
    context = report.report_context(observational_run)
    html = report.render_html(context)
    limits = {item["title"]: str(item["text"]) for item in context["limitations"]}
    assert "The groups were not formed at random" in limits and "No blinding" not in limits
    assert "Lord's paradox" in limits["What each analysis assumes"] and "parallel trends" in limits["What each analysis assumes"]
    largest = observational_run.results.loc[observational_run.results["baseline_smd"].abs().idxmax()]
    assert f"{largest['name']} (g = {abs(largest['baseline_smd']):.2f}" in limits["Differences at the start"]
    assert "over 0.25 means the groups are not equivalent" in limits["Differences at the start"]
    assert "Regression to the mean" in limits
    assert "no comparison group" not in html.lower()
    assert ", by both analyses" in html and "Difference in differences" in html
    # outcome holds only where both analyses agree; the headline counts that column.
    better = int((observational_run.results["outcome"] == "program better").sum())
    assert context["headline"]["sentence"].endswith(f"improved more on {better} of 20 variables")


def test_the_impact_report_leaves_subgroups_to_the_technical_report_and_says_so(trial_reports):
    html = trial_reports["impact-report.html"].decode()
    assert 'id="subgroups"' not in html and "Results by subgroup are not in this report" in html


# --- the technical report ---------------------------------------------------------------------

def test_the_technical_report_names_every_column_of_comparison_and_retention_and_the_group_tables(trial_reports):
    html = trial_reports["technical-report.html"].decode()
    grouped = [column for _, _, columns in report.COMPARISON_GROUPS for column in columns]
    assert sorted(grouped) == sorted(set(COMPARISON.names) - {"variable", "name", "note"})  # each exactly once
    for table, skip in ((COMPARISON, {"variable", "name", "note"}), (RETENTION, {"wave", "note"}), (CHANGES, {"variable", "name", "note"}),
                        (TRAJECTORY, {"variable", "name"})):  # fmt: skip
        for column in set(table.names) - skip:
            breakable = column.replace("_", "_\u200b")
            assert f">{breakable}</th>" in html, (table.file, column)
    assert "shs_total: followup</span>" in html  # a comparison row per later wave
    assert "shs_total, comparison: pre \u2192 post</span>" in html and "shs_total, program: followup</span>" in html  # each group's own rows
    assert "Bland &amp; Altman, 2011" in html and "Purpose Pathways" in html and "SHS \u00b7 Waitlist" in html  # attrition by group
    assert "By cohort, within Purpose Pathways" in html and "By cohort, within the Waitlist group" in html


def test_one_group_studies_have_no_comparison_parts(minimal_study):
    run = run_study(load_study(minimal_study))
    assert report.study_design(run.study) == report.Design()
    impact = report.render_html(report.report_context(run))
    technical = report.render_html(report.technical_context(run), "technical-report.html.j2")
    for html in (impact, technical):
        assert "ppc2" not in html and "Waitlist" not in html and "comparison.csv" not in html
    assert "There was no comparison group" in impact


# --- suppression ------------------------------------------------------------------------------

def test_a_small_threshold_withholds_the_small_groups_everywhere_and_the_reports_still_render(tmp_path):
    folder = study_copy(tmp_path, {"report:\n": "report:\n  suppression_threshold: 100\n"})
    run = run_study(load_study(folder))
    context = report.report_context(run)
    small = run.results[(run.results["n_comparison"] < 100) | (run.results["n_program"] < 100)]
    assert len(small) == 1  # Depression: 95 of the Waitlist group at the end of program
    rows = {row["name"]: row for row in context["rows"]}
    assert rows["Depression"]["outcome"] == TOO_FEW and rows["Depression"]["n_comparison"] == "<100" and rows["Depression"]["d"] == "\u2014"
    assert context["headline"]["withheld"] == 1 and "the 19 variables with enough participants" in context["headline"]["sentence"]
    shown = context["flow"]["shown"]
    assert shown["lost_post_program"] == "<100" and "\u2013" in shown["allocated_program"]  # 21 lost: hidden, and the 150 coarsened
    html = report.render_html(context)
    assert ">21<" not in html and "(129 of 150" not in html
    technical = report.render_html(report.technical_context(run), "technical-report.html.j2")
    assert "fewer than 100 of the comparison group scored at both waves: statistics withheld" in technical
    report.html_to_pdf(html)  # renders


def comparison_rows(**columns) -> pd.DataFrame:
    base = {
        "variable": ["a", "a", "b", "b"], "wave": ["post", "followup"] * 2, "name": "A", "instrument": "I", "domain": "d", "higher_is": "better",
        "n_program": [40, 36, 40, 5], "n_comparison": [38, 30, 41, 39], "n_baseline_program": [52, 52, 52, 52],
        "n_baseline_comparison": [38, 38, 50, 50], "mean_from_program": 3.0, "mean_baseline_program": 3.0, "sd_baseline_program": 1.0,
        "mean_baseline_comparison": 3.1, "sd_baseline_comparison": 1.0, "baseline_smd": -0.1, "baseline_equivalence": "adjustment needed",
        "ancova_diff": 0.4, "ancova_p": 0.01, "d_ppc2": 0.3, "lmm_n": [100, 70, 91, 91], "lmm_diff": 0.4, "lmm_se": 0.1,
        "outcome": "program better", "note": "",
    }  # fmt: skip
    return pd.DataFrame(base | columns)


def test_a_comparison_row_with_a_small_group_keeps_only_what_describes_it():
    shown = publishable_comparison(comparison_rows(), 10)
    assert shown["withheld"].tolist() == [False, False, False, True]
    withheld = shown.iloc[3]
    assert withheld["outcome"] == TOO_FEW and np.isnan(withheld["ancova_diff"]) and np.isnan(withheld["d_ppc2"])
    assert withheld["note"] == "fewer than 10 of the program group scored at both waves: statistics withheld"
    assert withheld["n_program"] == 5 and withheld["name"] == "A"
    # b: 50 of the comparison group at baseline, 41 in the post pairs: 9 people's baseline scores would follow.
    assert shown.loc[shown["variable"] == "b", "mean_baseline_comparison"].isna().all()
    assert shown.loc[shown["variable"] == "b", "baseline_smd"].isna().all()
    assert (shown.loc[shown["variable"] == "b", "mean_baseline_program"] == 3.0).all()  # 52 against 40: 12 outside
    # a: 38 of 38 in the post pairs, 30 at follow-up (8 outside): withheld too.
    assert shown.loc[shown["variable"] == "a", "mean_baseline_comparison"].isna().all()
    # The interaction: a has 70 in the model at follow-up and 66 in its pairs (4 outside: withheld); b 91 and 81 (10: shown).
    assert np.isnan(shown.loc[1, "lmm_diff"]) and shown.loc[0, "lmm_diff"] == 0.4 and shown.loc[2, "lmm_diff"] == 0.4
    assert publishable_comparison(comparison_rows(), 1).drop(columns="withheld").equals(comparison_rows())


def test_retention_hides_small_counts_coarsens_totals_over_every_wave_and_withholds_percentages():
    table = pd.DataFrame(
        {"wave": ["post", "followup"], "allocated_program": [40, 40], "followed_program": [36, 20], "allocated_comparison": [40, 40],
         "followed_comparison": [25, 20], "attrition_program_pct": [10.0, 50.0], "attrition_comparison_pct": [37.5, 50.0],
         "overall_attrition_pct": [23.75, 50.0], "differential_attrition_pct": [27.5, 0.0], "boundary": "cautious",
         "attrition_level": ["high", "high"], "note": ""}  # fmt: skip
    )
    shown = publishable_retention(table, 10)
    assert shown["allocated_program"].tolist() == ["37\u201345"] * 2  # 4 lost at post: the 40 is a range at every wave
    assert shown["followed_program"].tolist() == ["36", "20"]
    assert shown["attrition_program_pct"].isna().all()  # a range beside 20 of them would give the allocated back
    assert shown["attrition_comparison_pct"].tolist() == [37.5, 50.0]
    assert shown["overall_attrition_pct"].isna().all() and shown["withheld"].all()
    assert publishable_retention(table, 1)["allocated_program"].tolist() == ["40", "40"]


def test_a_total_in_several_relations_takes_the_widest_range_and_the_flow_terminates():
    counts = {"allocated": 150, "post": 147, "lost_post": 3, "followup": 146, "lost_followup": 4}
    shown = publish_counts(counts, [("allocated", ["post", "lost_post"]), ("allocated", ["followup", "lost_followup"])], 10)
    assert str(shown["allocated"]) == "147\u2013156"
    for wave in ("post", "followup"):  # neither small count can be worked out from the total
        low = shown["allocated"].low - counts[wave]
        high = shown["allocated"].high - counts[wave]
        assert low <= 1 and high >= 9


def test_each_groups_tables_are_published_by_their_own_rules_and_one_model_is_all_or_nothing(trial_run):
    trajectory = trial_run.trajectory.copy()
    small = (trajectory["variable"] == "shs_total") & (trajectory["group"] == "comparison") & (trajectory["wave"] == "followup")
    trajectory.loc[small, "n"] = 4  # as if 4 of the Waitlist group answered the SHS at 6 months
    shown = publishable_groups(trial_run.comparison, trial_run.group_results, trial_run.changes, trajectory, 10)
    assert shown["trajectory"].loc[small, "mean"].isna().all()
    for name, column in (("trajectory", "lmm_mean"), ("changes", "lmm_estimate"), ("group_results", "lmm_estimate"), ("comparison", "lmm_diff")):
        frame = shown[name]
        assert frame.loc[frame["variable"] == "shs_total", column].isna().all(), name  # one fit: withheld in every table
        assert frame.loc[frame["variable"] == "swls_total", column].notna().all(), name
    assert (shown["changes"]["group"] == trial_run.changes["group"]).all()  # the group column is never blanked


def test_subgroups_are_suppressed_within_each_group():
    table = pd.DataFrame(
        {"group": ["program"] * 3 + ["comparison"] * 3, "subgroup": "site", "value": ["A", "B", "C"] * 2, "variable": "x", "name": "X",
         "n_pairs": [4, 30, 50, 12, 30, 50], **dict.fromkeys(SUBGROUP_STATISTICS, 0.5)}  # fmt: skip
    )
    shown = suppress_small_subgroups_by_group(table, 10)
    assert shown["suppressed"].tolist() == [True, True, False, False, False, False]  # A and B of the program group only
    assert shown["group"].tolist() == table["group"].tolist()


# --- charts -----------------------------------------------------------------------------------

def test_the_consort_diagram_is_valid_svg_with_escaped_text_and_aligned_rows():
    hostile = '<img src="file:///etc/passwd">'
    main = [{"count": "303", "label": "assessed"}, {"count": "300", "label": "allocated"}]
    side = [{"title": "Excluded: <10", "lines": [hostile]}]
    arms = [[{"count": "150", "label": hostile, "lines": ["no valid answer: 21"]}, {"count": "129", "label": "followed"}],
            [{"count": "150", "label": "waitlist", "lines": []}, {"count": "117", "label": "followed " * 12}]]  # fmt: skip
    svg = charts.consort_diagram_svg(main, side, arms)
    root = ET.fromstring(svg)
    assert "<img" not in svg and hostile in root.find(f"{SVG}title").text
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("height"))) for r in root.iter(f"{SVG}rect") if r.get("class") == "main"]
    rows = boxes[2:]
    assert rows[0][1] == rows[1][1] and rows[0][2] == rows[1][2]  # a row's boxes are level and as tall
    assert rows[2][1] == rows[3][1] and rows[2][2] == rows[3][2] and rows[0][0] == rows[2][0] != rows[1][0]
    with pytest.raises(ValueError):
        charts.consort_diagram_svg(main, side, [arms[0]])
    assert svg == charts.consort_diagram_svg(main, side, arms)


def test_the_two_group_trajectory_draws_each_group_with_a_gap_where_withheld():
    waves = [{"label": "Start", "weeks": 0, "mean": 4.0, "low": 3.8, "high": 4.2}, {"label": "End", "weeks": 26, "mean": 4.6, "low": 4.4, "high": 4.8}]
    withheld = [waves[0], {**waves[1], "mean": float("nan")}]
    svg = charts.groups_trajectory_svg([{"label": "<b>P</b>", "waves": waves}, {"label": "C", "waves": withheld}], 1, 7, "Hope")
    root = ET.fromstring(svg)
    assert "<b>" not in svg and "too few" in svg_texts(svg)
    lines = {p.get("class"): p.get("d") for p in root.iter(f"{SVG}path") if p.get("class", "").startswith("mean-")}
    assert "mean-line program" in lines and "mean-line comparison" not in lines  # one mean left: no line for the comparison group
    assert lines["mean-points comparison"].count("M") == 1
    with pytest.raises(ValueError):
        charts.groups_trajectory_svg([{"label": "P", "waves": waves}], 1, 7)


def test_a_two_wave_study_with_default_labels_and_enrolment_reads_as_well(tmp_path):
    folder = study_copy(
        tmp_path,
        {
            "  followup: {file: followup.csv, label: 6 months after, weeks: 52}\n": "",
            "  labels: {program: Purpose Pathways, comparison: Waitlist}\n": "",
            "id_column: participant_id\n": "id_column: participant_id\nenrolled: 320\n",
        },
    )
    run = run_study(load_study(folder))
    context = report.report_context(run)
    assert context["headline"]["sentence"].startswith("Compared with the comparison group, participants of the program group improved more on")
    assert [box["label"] for box in context["flow"]["main"]][0] == "enrolled" and len(context["flow"]["arms"][0]) == 3  # allocated, post, analysed
    assert context["wave_sentences"] == [] and len(context["forest_plots"]) == 1
    html = report.render_html(context)
    assert "At follow-up, 18% of the allocated participants gave no valid answer" in html
    (forest,) = svgs(html, "Forest plot of the standardized difference")
    assert 'id="legend"' not in forest  # one interval per variable with two waves
    technical = report.render_html(report.technical_context(run), "technical-report.html.j2")
    assert "shs_total: post</span>" in technical and "followup" not in technical
