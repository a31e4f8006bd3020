"""Subgroups: study.yaml checks, baseline attributes carried through validation, per-subgroup paired
results that equal the paired statistics of each subgroup's own pairs, and small-cell suppression."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.ingest import read_wave
from pipeline.instruments import load_instrument
from pipeline.run import StudyRun, run_study
from pipeline.simulate import COHORTS, EXPORT_FORMATS, simulate_study, write_demo_study
from pipeline.statistics.paired import paired_statistics
from pipeline.study import WaveSource, load_study
from pipeline.subgroups import (
    NOT_RECORDED,
    SUBGROUP_COLUMNS,
    SUBGROUP_STATISTICS,
    SUPPRESSED_COLUMNS,
    subgroup_results,
    suppress_small_subgroups,
)
from pipeline.validate import ValidatedWave, validate_wave

from .conftest import DEMO, LIBRARY, MINIMAL, run_impact

TINY = load_instrument(MINIMAL / "instruments" / "tiny.yaml")


def add_to_study(folder, text: str, old: str | None = None, new: str | None = None) -> None:
    path = folder / "study.yaml"
    content = path.read_text()
    if old is not None:
        content = content.replace(old, new)
    path.write_text(content + text)


# --- study.yaml ----------------------------------------------------------------------------


def test_no_subgroups_by_default(minimal_study):
    assert load_study(minimal_study).config.subgroups == []


@pytest.mark.parametrize(
    ("text", "replace", "message"),
    [
        ("subgroups: [site, site]\n", None, "subgroups: listed twice: site"),
        ("subgroups: site\n", None, "subgroups must be a list of column names, e.g. subgroups: [site]"),
        ("subgroups: [participant_id]\n", None, "subgroups: 'participant_id' is the id_column; a subgroup is a column holding a participant attribute"),
        ("subgroups: [tiny_2]\n", None, "subgroups: 'tiny_2' is an item id of instrument tiny"),
        ("subgroups: [tiny_score]\n", None, "subgroups: 'tiny_score' is a scale id of instrument tiny"),
        ("subgroups: ['']\n", None, "subgroups: '' is not a plain column name"),
        (
            "subgroups: [Q1]\n",
            ("  pre: pre.csv", "  pre: {file: pre.csv, columns: {tiny_1: Q1}}"),
            "subgroups: 'Q1' is the baseline export's column of item tiny_1 (waves.pre)",
        ),
        (
            "identifiers: [site]\nsubgroups: [site]\n",
            None,
            "subgroups: 'site' is listed under identifiers: identifying columns never leave validation; remove it from one of the two lists",
        ),
        (
            "subgroups: [IPAddress]\n",
            ("  pre: pre.csv", "  pre: {file: pre.csv, format: qualtrics}"),
            "subgroups: 'IPAddress' is a column the survey platform fills with personal data: identifying columns never leave",
        ),
        ("subgroups: [Email]\n", None, "subgroups: 'Email' is a column of personal data (by its name): identifying columns never leave"),
        ("subgroups: [parent_e-mail]\n", None, "subgroups: 'parent_e-mail' is a column of personal data (by its name)"),
    ],
)
def test_subgroups_are_checked_when_the_study_loads(minimal_study, text, replace, message):
    add_to_study(minimal_study, text, *(replace or (None, None)))
    with pytest.raises(PipelineError) as error:
        load_study(minimal_study)
    assert message in str(error.value)
    assert str(error.value).startswith(str(minimal_study / "study.yaml")) and "\n" not in str(error.value)


# --- reading the columns -------------------------------------------------------------------


def run_cli(study, tmp_path):
    return run_impact("run", str(study), "--out", str(tmp_path / "out"), "--no-pdf")


def test_a_subgroup_column_missing_from_the_baseline_export_stops_the_run_with_one_line(minimal_study, tmp_path):
    add_to_study(minimal_study, "subgroups: [cohort]\n")
    result = run_cli(minimal_study, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {minimal_study / 'pre.csv'}: row 1: subgroup column(s) not found: cohort; ")
    assert "subgroups are read from the baseline export's header as spelled there" in result.stderr
    assert result.stderr.rstrip().endswith("correct the name in subgroups or remove it") and len(result.stderr) < 300
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_misspelt_subgroup_column_is_shown_the_header_name(minimal_study, tmp_path):
    add_to_study(minimal_study, "subgroups: [Comment]\n")
    result = run_cli(minimal_study, tmp_path)
    assert result.returncode == 2 and "subgroup column(s) not found: Comment (the header has 'comment')" in result.stderr


def test_subgroups_are_read_from_the_baseline_export_only(minimal_study, tmp_path):
    post = minimal_study / "post.csv"
    lines = post.read_text().splitlines()
    post.write_text("\n".join([lines[0] + ",site"] + [line + ",North" for line in lines[1:]]) + "\n")
    add_to_study(minimal_study, "subgroups: [site]\n")
    result = run_cli(minimal_study, tmp_path)
    assert result.returncode == 2 and "pre.csv: row 1: subgroup column(s) not found: site" in result.stderr


def validated(tmp_path, body: str, wave: str = "pre", **kwargs) -> ValidatedWave:
    path = tmp_path / f"{wave}.csv"
    path.write_text("participant_id,tiny_1,tiny_2,tiny_3,cohort,site\n" + body)
    return validate_wave(read_wave(wave, path), [TINY], "participant_id", subgroups=["cohort", "site"], baseline=wave == "pre", **kwargs)


def test_attributes_are_trimmed_text_of_the_accepted_baseline_rows(tmp_path):
    wave = validated(tmp_path, "a,1,2,3, Spring ,North\nb,,,,Summer,South\nc,2,2,2,,007\nd,3,3,3,  ,North\n")
    assert list(wave.attributes.columns) == ["participant_id", "cohort", "site"]
    assert wave.attributes.index.equals(wave.responses.index)  # row b (empty) is excluded from both
    assert wave.attributes["participant_id"].tolist() == wave.responses["participant_id"].tolist() == ["a", "c", "d"]
    assert wave.attributes["cohort"].tolist()[0] == "Spring" and wave.attributes["cohort"].isna().tolist() == [False, True, True]
    assert wave.attributes["site"].tolist() == ["North", "007", "North"]  # text, never numbers
    assert list(wave.responses.columns) == ["participant_id", "tiny_1", "tiny_2", "tiny_3"]  # the responses contract is unchanged


def test_an_export_without_rows_gives_empty_attributes(tmp_path):
    wave = validated(tmp_path, "")
    assert wave.attributes.empty and list(wave.attributes.columns) == ["participant_id", "cohort", "site"]


def test_later_waves_and_studies_without_subgroups_carry_only_ids(tmp_path):
    post = validated(tmp_path, "a,1,2,3,,\n", wave="post")
    assert list(post.attributes.columns) == ["participant_id"] and post.attributes.index.equals(post.responses.index)
    path = tmp_path / "plain.csv"
    path.write_text("participant_id,tiny_1,tiny_2,tiny_3\na,1,2,3\n")
    plain = validate_wave(read_wave("pre", path), [TINY], "participant_id")
    assert list(plain.attributes.columns) == ["participant_id"]
    assert ValidatedWave("pre", "pre.csv", "0" * 64, 0, pd.DataFrame(), pd.DataFrame(), pd.DataFrame()).attributes.empty


def test_attribute_ids_are_pseudonymised_like_the_responses(tmp_path):
    wave = validated(tmp_path, "a,1,2,3,Spring,North\n", pseudonym_key=b"0123456789abcdef")
    assert wave.attributes["participant_id"].tolist() == wave.responses["participant_id"].tolist()
    assert wave.attributes["participant_id"].str.startswith("p_").all()


def test_spss_codes_are_shown_by_their_value_label_else_as_text(tmp_path):
    frame = pd.DataFrame(
        {"participant_id": ["a", "b", "c"], "tiny_1": [1.0, 2.0, 3.0], "tiny_2": [1.0, 2.0, 3.0], "tiny_3": [1.0, 2.0, 3.0],
         "cohort": [1.0, 2.0, np.nan], "site": [7.0, 12.0, 7.0]}  # fmt: skip
    )
    path = tmp_path / "pre.sav"
    pyreadstat.write_sav(frame, str(path), variable_value_labels={"cohort": {1.0: "Spring", 2.0: "Summer"}})
    wave = validate_wave(read_wave("pre", path, WaveSource(file="pre.sav")), [TINY], "participant_id", subgroups=["cohort", "site"])
    assert wave.attributes["cohort"].tolist()[:2] == ["Spring", "Summer"] and pd.isna(wave.attributes["cohort"].iloc[2])
    assert wave.attributes["site"].tolist() == ["7", "12", "7"]


# --- the numbers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run():
    return run_study(load_study(DEMO))


def test_demo_study_has_cohort_rows_for_every_variable(demo_run):
    table = demo_run.subgroup_results
    assert list(table.columns) == SUBGROUP_COLUMNS
    assert demo_run.study.config.subgroups == ["cohort"]
    assert sorted(set(table["value"])) == sorted(COHORTS)
    for value, rows in table.groupby("value"):
        assert rows["variable"].tolist() == demo_run.results["variable"].tolist(), value
        assert rows["name"].tolist() == demo_run.results["name"].tolist()
        assert rows["n_pairs"].max() >= 20  # every demo cohort keeps at least 20 matched participants
    # The cohorts split the study's pairs completely.
    totals = table.groupby("variable", sort=False)["n_pairs"].sum()
    assert totals.tolist() == demo_run.results["n_pairs"].tolist()
    assert table[SUBGROUP_STATISTICS].notna().all().all()


def test_subgroup_numbers_are_the_paired_statistics_of_that_subgroups_pairs(demo_run):
    id_column = demo_run.study.id_column
    scores = demo_run.scores
    cohort = demo_run.attributes.set_index(id_column)["cohort"]
    table = demo_run.subgroup_results.set_index(["value", "variable"])
    for value in COHORTS:
        members = set(cohort.index[cohort == value])
        for variable in ["shs_total", "phq9_total", "mlq_s", "bcs_presence"]:
            pre = scores.loc[scores["wave"] == "pre", [id_column, variable]].dropna()
            post = scores.loc[scores["wave"] == "post", [id_column, variable]].dropna()
            pairs = pre.merge(post, on=id_column, suffixes=("_pre", "_post"))
            pairs = pairs[pairs[id_column].isin(members)]
            expected = paired_statistics(pairs[f"{variable}_pre"], pairs[f"{variable}_post"])
            row = table.loc[(value, variable)]
            assert row["n_pairs"] == expected["n_pairs"] == len(pairs)
            for statistic in SUBGROUP_STATISTICS:
                assert row[statistic] == pytest.approx(expected[statistic], rel=1e-12), (value, variable, statistic)


def test_blank_values_are_not_recorded_and_small_groups_give_undefined_statistics():
    scores = pd.DataFrame(
        {"id": ["a", "b", "c", "d", "a", "b", "c", "d", "e"], "wave": ["pre"] * 4 + ["post"] * 5,
         "x": [1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 3.0, 1.0, 5.0]}  # fmt: skip
    )
    results = pd.DataFrame({"variable": ["x"], "name": ["Ex"]})
    attributes = pd.DataFrame({"id": ["a", "b", "c"], "site": ["North", "North", None]})  # d has no attributes row
    table = subgroup_results(scores, results, attributes, "id", ["site"], ("pre", "post"))
    assert table["value"].tolist() == ["North", NOT_RECORDED]  # e (post only) belongs to no subgroup
    assert table["n_pairs"].tolist() == [2, 2]
    north = paired_statistics([1.0, 2.0], [2.0, 4.0])
    assert table.loc[0, "mean_diff"] == north["mean_diff"] == 1.5 and table.loc[0, "p"] == pytest.approx(north["p"])
    one = subgroup_results(scores, results, attributes.iloc[:1], "id", ["site"], ("pre", "post"))  # a alone: 1 pair, no test
    assert one.loc[0, "n_pairs"] == 1 and one.loc[0, "mean_diff"] == 1.0 and math.isnan(one.loc[0, "p"])


def test_no_subgroups_give_an_empty_table_with_the_columns(minimal_study):
    run = run_study(load_study(minimal_study))
    assert run.subgroup_results.empty and list(run.subgroup_results.columns) == SUBGROUP_COLUMNS
    assert list(run.attributes.columns) == ["participant_id"]
    bare = StudyRun(run.study, run.waves, run.scores, run.results, run.reliable_change, run.attrition)
    assert bare.attributes.empty and bare.subgroup_results.empty


@pytest.mark.parametrize("export_format", EXPORT_FORMATS)
def test_every_export_format_gives_the_same_subgroups(export_format, tmp_path):
    folder = write_demo_study(tmp_path / "study", participants=40, seed=5, export_format=export_format)
    assert "subgroups: [cohort]" in (folder / "study.yaml").read_text()
    run = run_study(load_study(folder))
    pre, _ = simulate_study([i for i in run.study.instruments], participants=40, seed=5)
    expected = pre.set_index("participant_id")["cohort"]
    got = run.attributes.set_index(run.study.id_column)["cohort"]
    assert got.to_dict() == expected.loc[got.index].to_dict()  # labels, not SPSS codes
    assert set(got) <= set(COHORTS)


def test_the_cohort_stream_leaves_every_answer_unchanged(monkeypatch):
    from pipeline import simulate
    from pipeline.instruments import find_instrument

    instruments = [load_instrument(find_instrument(i, [LIBRARY])) for i in ["brs", "phq9"]]
    pre, post = simulate_study(instruments, participants=60, seed=11)
    monkeypatch.setattr(simulate, "COHORT_SHARES", (0.1, 0.1, 0.8))
    other_pre, other_post = simulate_study(instruments, participants=60, seed=11)
    assert not pre["cohort"].equals(other_pre["cohort"])
    pd.testing.assert_frame_equal(pre.drop(columns="cohort"), other_pre.drop(columns="cohort"))
    pd.testing.assert_frame_equal(post, other_post)
    assert "cohort" not in post.columns  # an attribute of the baseline export


# --- suppression ---------------------------------------------------------------------------


def table_of(sizes: dict[tuple[str, str], list[int]], variables: list[str] | None = None) -> pd.DataFrame:
    """A subgroup_results-like table: (subgroup, value) -> n_pairs per variable; statistics are 1.0."""
    variables = variables or [f"v{i}" for i in range(len(next(iter(sizes.values()))))]
    rows = [
        {"subgroup": subgroup, "value": value, "variable": variable, "name": variable.upper(), "n_pairs": n, **dict.fromkeys(SUBGROUP_STATISTICS, 1.0)}
        for (subgroup, value), counts in sizes.items()
        for variable, n in zip(variables, counts)
    ]
    return pd.DataFrame(rows, columns=SUBGROUP_COLUMNS)


def shown_by_value(table: pd.DataFrame) -> dict[str, list[str]]:
    return {value: rows["n_pairs"].tolist() for value, rows in table.groupby("value", sort=False)}


def test_a_small_subgroup_and_its_complement_are_suppressed():
    table = table_of({("site", "A"): [4, 3], ("site", "B"): [30, 28], ("site", "C"): [50, 50]})
    out = suppress_small_subgroups(table, 10)
    assert list(out.columns) == SUPPRESSED_COLUMNS
    assert shown_by_value(out) == {"A": ["<10", "<10"], "B": ["≥10", "≥10"], "C": ["50", "50"]}
    assert out["suppressed"].tolist() == [True, True, True, True, False, False]
    assert out.loc[out["suppressed"], SUBGROUP_STATISTICS].isna().all().all()
    assert (out.loc[~out["suppressed"], SUBGROUP_STATISTICS] == 1.0).all().all()
    assert out[["subgroup", "value", "variable", "name"]].equals(table[["subgroup", "value", "variable", "name"]])


def test_no_complement_is_needed_when_the_suppressed_total_reaches_the_threshold():
    table = table_of({("site", "A"): [6], ("site", "B"): [5], ("site", "C"): [40], ("site", "D"): [45]})
    assert shown_by_value(suppress_small_subgroups(table, 10)) == {"A": ["<10"], "B": ["<10"], "C": ["40"], "D": ["45"]}


def test_each_subgroup_column_is_protected_on_its_own():
    table = table_of({("site", "A"): [4], ("site", "B"): [40], ("cohort", "X"): [20], ("cohort", "Y"): [24]})
    assert shown_by_value(suppress_small_subgroups(table, 10)) == {"A": ["<10"], "B": ["≥10"], "X": ["20"], "Y": ["24"]}


def test_small_rows_of_a_shown_subgroup_are_suppressed_with_their_complement():
    # B has 40 pairs on v0 but only 3 on v1 (missing answers): v1 is hidden for B, and for C (the
    # smallest other row of v1), since the whole-study v1 count would otherwise give B's 3 away.
    table = table_of({("site", "B"): [40, 3], ("site", "C"): [30, 30], ("site", "D"): [50, 45]})
    out = suppress_small_subgroups(table, 10)
    assert shown_by_value(out) == {"B": ["40", "<10"], "C": ["30", "≥10"], "D": ["50", "45"]}


def test_empty_subgroups_and_zero_counts_are_shown():
    table = table_of({("site", "A"): [0, 0], ("site", "B"): [12, 0]})
    out = suppress_small_subgroups(table, 10)
    assert shown_by_value(out) == {"A": ["0", "0"], "B": ["12", "0"]} and not out["suppressed"].any()


def test_a_threshold_of_one_suppresses_nothing_and_counts_are_formatted():
    table = table_of({("site", "A"): [1], ("site", "B"): [1234]})
    out = suppress_small_subgroups(table, 1)
    assert shown_by_value(out) == {"A": ["1"], "B": ["1,234"]} and not out["suppressed"].any()
    with pytest.raises(ValueError, match="threshold must be a whole number of at least 1"):
        suppress_small_subgroups(table, 0)


def test_the_demo_cohorts_are_published_whole_at_the_default_threshold(demo_run):
    out = suppress_small_subgroups(demo_run.subgroup_results, 10)
    assert not out["suppressed"].any()
    assert out["n_pairs"].tolist() == [f"{n:,}" for n in demo_run.subgroup_results["n_pairs"]]


@st.composite
def subgroup_tables(draw):
    variables = [f"v{i}" for i in range(draw(st.integers(1, 3)))]
    sizes = {}
    for subgroup in ["site", "cohort"][: draw(st.integers(1, 2))]:
        for value in range(draw(st.integers(1, 6))):
            sizes[(subgroup, f"{subgroup}{value}")] = draw(st.lists(st.integers(0, 40), min_size=len(variables), max_size=len(variables)))
    return table_of(sizes, variables)


def hidden_total_is_safe(sizes: pd.Series, hidden: pd.Series, threshold: int) -> bool:
    """Hidden sizes total 0 or at least the threshold, unless nothing with anyone in it is left shown."""
    total = sizes[hidden].sum()
    return total == 0 or total >= threshold or not (sizes[~hidden] > 0).any()


@settings(max_examples=300, deadline=None)
@given(subgroup_tables(), st.integers(1, 15))
def test_suppression_leaves_no_small_subgroup_to_see_or_work_out(table, threshold):
    out = suppress_small_subgroups(table, threshold)
    n = table["n_pairs"]
    hidden = out["suppressed"]
    # Subgroups: size = the largest n_pairs over variables; one is shown when any of its rows is.
    keys = [table["subgroup"], table["value"]]
    sizes = n.groupby(keys, sort=False).max()
    suppressed = hidden.groupby(keys, sort=False).all()
    assert not sizes[~suppressed].between(1, threshold - 1).any()
    for subgroup in sizes.index.unique(level=0):
        assert hidden_total_is_safe(sizes.loc[[subgroup]], suppressed.loc[[subgroup]], threshold), subgroup
    # Rows: none shown with 1..t-1 pairs, and per subgroup column and variable the same total rule.
    assert not n[~hidden].between(1, threshold - 1).any()
    for _, rows in table.groupby(["subgroup", "variable"]).groups.items():
        assert hidden_total_is_safe(n.loc[rows], hidden.loc[rows], threshold)
    # What is shown is exact; what is hidden is blank and says only "<t", "≥t" or 0.
    assert (out.loc[~hidden, "n_pairs"] == [f"{v:,}" for v in n[~hidden]]).all()
    assert out.loc[hidden, SUBGROUP_STATISTICS].isna().all().all()
    assert (out.loc[~hidden, SUBGROUP_STATISTICS] == 1.0).all().all()
    expected = ["0" if v == 0 else f"<{threshold}" if v < threshold else f"\u2265{threshold}" for v in n[hidden]]
    assert out.loc[hidden, "n_pairs"].tolist() == expected
    if threshold == 1:
        assert not hidden.any()
