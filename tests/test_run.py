"""Output writing: formula-safe text, Excel's cell limit, atomic single files, a ledger that must balance;
a two-group run's groups, exclusions, data-quality rows and flow counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from pipeline.errors import PipelineError
from pipeline.outputs import write_atomic
from pipeline.run import EXCEL_CELL_LIMIT, check_ledger_balances, csv_bytes, fit_excel_cells, neutralise_formulas
from pipeline.validate import ValidatedWave


def test_text_that_a_spreadsheet_would_run_is_neutralised():
    frame = pd.DataFrame({"id": ["=HYPERLINK(1)", "+1", "-x", "@SUM", "ok", None], "score": [-1.5, 2.0, 3.0, 4.0, 5.0, 6.0]})
    safe = neutralise_formulas(frame)
    assert safe["id"].tolist()[:5] == ["'=HYPERLINK(1)", "'+1", "'-x", "'@SUM", "ok"]
    assert pd.isna(safe["id"].iloc[5])
    assert safe["score"].tolist() == frame["score"].tolist()  # numbers, including negative ones, untouched


def test_a_single_file_is_written_whole_with_no_temporary_left(tmp_path):
    path = write_atomic(csv_bytes(pd.DataFrame({"a": [1, 2]})), tmp_path / "out.csv")
    assert path.read_text() == "a\n1\n2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_text_longer_than_an_excel_cell_is_cut_with_a_note_saying_so():
    frame = pd.DataFrame({"value": ["x" * (EXCEL_CELL_LIMIT + 5000), "short"], "n": [1, 2]})
    fitted = fit_excel_cells(frame)
    assert len(fitted["value"].iloc[0]) == EXCEL_CELL_LIMIT
    assert fitted["value"].iloc[0].endswith(f"[cut: {EXCEL_CELL_LIMIT + 5000:,} characters; the CSV file has the whole text]")
    assert fitted["value"].iloc[1] == "short" and fitted["n"].tolist() == [1, 2]


def test_unbalanced_ledger_stops_the_run():
    wave = ValidatedWave("pre", "pre.csv", "0" * 64, 3, pd.DataFrame({"id": ["a"]}), pd.DataFrame(), pd.DataFrame())
    with pytest.raises(PipelineError, match="3 rows read but 1 accepted \\+ 0 excluded"):
        check_ledger_balances(wave)


# --- groups (a two-group study) ----------------------------------------------------------------

GROUPS_YAML = "groups: {column: arm, program: [program], comparison: [waitlist], assignment: randomised}\n"


def two_group_study(folder, pre_arms: list[str], post_arms: list[str] | None = None, extra: str = ""):
    """The minimal example (8 at baseline, 8 at follow-up, 7 of them in both) with an ``arm`` column."""
    import csv

    for name, arms in (("pre.csv", pre_arms), ("post.csv", post_arms)):
        if arms is None:
            continue
        rows = list(csv.reader((folder / name).open(encoding="utf-8")))
        rows[0].append("arm")
        for row, arm in zip(rows[1:], arms):
            row.append(arm)
        with (folder / name).open("w", encoding="utf-8", newline="") as stream:
            csv.writer(stream).writerows(rows)
    path = folder / "study.yaml"
    path.write_text(path.read_text() + extra + GROUPS_YAML)
    from pipeline.study import load_study

    return load_study(folder)


PRE_ARMS = [" Program ", "PROGRAM", "waitlist", "Wait List", "unsure", "", "program", "waitlist"]  # p01..p08
POST_ARMS = ["program", "waitlist", "", "waitlist", "program", "x", "Control", "program"]  # p01..p06, p08, p09


def test_a_two_group_run_counts_unknown_groups_and_lists_later_rows_naming_another_group(minimal_study, tmp_path):
    from pipeline.run import run_study, write_outputs

    run = run_study(two_group_study(minimal_study, PRE_ARMS, POST_ARMS))
    assert run.groups.to_dict() == {"p01": "program", "p02": "program", "p03": "comparison", "p04": "comparison", "p07": "program", "p08": "comparison"}
    assert run.groups.name == "group" and run.groups.index.name == "participant_id"
    ledger = run.ledger.set_index("wave")
    assert ledger.loc["pre", ["rows_read", "rows_accepted", "rows_excluded"]].tolist() == [8, 6, 2]
    write_outputs(run, tmp_path / "out", pdf=False)
    exclusions = pd.read_csv(tmp_path / "out" / "exclusions.csv")
    assert exclusions[["wave", "participant", "reason"]].values.tolist() == [["pre", "p05", "unknown_group"], ["pre", "p06", "unknown_group"]]
    quality = pd.read_csv(tmp_path / "out" / "data-quality.csv", keep_default_na=False)
    quality = quality[quality["column"] == "arm"]
    # p02 (program) answered waitlist, p08 (waitlist) a value of neither group; p05, p06 and p09 have no
    # baseline group, p03 left it blank, p01 and p04 agree
    assert quality[["wave", "row", "value", "problem"]].values.tolist() == [
        ["post", 3, "waitlist", "names another group than the baseline's (program); the baseline group is kept"],
        ["post", 8, "Control", "names another group than the baseline's (comparison); the baseline group is kept"],
    ]
    assert run.flow["excluded_pre_unknown_group"] == 2
    assert {key: value for key, value in run.flow.items() if key.endswith(("_program", "_comparison"))} == {
        "allocated_program": 3, "allocated_comparison": 3,
        "valid_pre_program": 3, "valid_pre_comparison": 3, "valid_post_program": 2, "valid_post_comparison": 3,
        "matched_post_program": 2, "matched_post_comparison": 3, "pre_only_program": 1, "pre_only_comparison": 0,
    }  # p07 (program) has no follow-up
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["groups"]["column"] == "arm"


def test_flow_has_per_group_counts_for_every_later_wave(minimal_study):
    from pipeline.run import run_study

    path = minimal_study / "study.yaml"
    path.write_text(path.read_text().replace("  post: post.csv\n", "  post: post.csv\n  later: post.csv\n") + "analysis: {primary: later}\n")
    run = run_study(two_group_study(minimal_study, PRE_ARMS, POST_ARMS))
    for wave in ("post", "later"):
        for role in ("program", "comparison"):
            assert run.flow[f"matched_{wave}_{role}"] == run.flow[f"valid_{wave}_{role}"]
    assert run.flow["matched_later_program"] == 2 and run.flow["pre_only_program"] == 1


def test_later_groups_are_checked_on_pseudonymised_ids(minimal_study, monkeypatch):
    from pipeline.run import run_study

    monkeypatch.setenv("IMPACT_ID_KEY", "a-secret-of-at-least-16-bytes")
    study = two_group_study(minimal_study, PRE_ARMS, POST_ARMS, extra="data: {pseudonymise: {key_env: IMPACT_ID_KEY}}\n")
    run = run_study(study)
    assert run.groups.index.str.startswith("p_").all() and len(run.groups) == 6
    quality = run.problems[run.problems["column"] == "arm"]
    assert quality[["wave", "row"]].values.tolist() == [["post", 3], ["post", 8]]
    assert run.flow["allocated_program"] == 3 and run.flow["matched_post_comparison"] == 3


def test_a_one_group_run_has_no_groups_and_no_group_counts(minimal_study):
    from pipeline.run import run_study
    from pipeline.study import load_study

    run = run_study(load_study(minimal_study))
    assert run.groups.empty and run.groups.name == "group"
    assert not any(key.endswith(("_program", "_comparison")) or key.startswith("allocated") for key in run.flow)
    assert run.waves[0].group.empty


_CELLS = st.one_of(st.none(), st.just(np.nan), st.text(alphabet="=+-@a1 '\n", max_size=4), st.integers(-3, 3), st.floats(-2, 2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_CELLS, st.one_of(st.none(), st.text(alphabet="=-@ab", max_size=3))), min_size=1, max_size=8), st.booleans())
def test_every_cell_whose_text_starts_a_formula_is_prefixed_and_no_other(rows, string_dtype):
    mixed, text = zip(*rows)
    frame = pd.DataFrame({"mixed": pd.Series(mixed, dtype=object), "text": pd.Series(text, dtype="string" if string_dtype else object),
                          "number": range(len(rows))})  # fmt: skip
    before = frame.copy()
    safe = neutralise_formulas(frame)
    pd.testing.assert_frame_equal(frame, before)  # the input is never changed
    for column in ("mixed", "text"):
        for cell, out in zip(frame[column], safe[column]):
            if pd.isna(cell):
                assert pd.isna(out)
            elif str(cell)[:1] in ("=", "+", "-", "@"):
                assert out == "'" + str(cell)
            else:
                assert out == cell
    assert safe["number"].tolist() == frame["number"].tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 0.5, 1 / 3, np.nan]),
                          st.integers(-5, 5), st.text(max_size=3)), max_size=10))  # fmt: skip
def test_floats_formatted_once_per_value_write_the_same_csv_as_pandas(rows):
    frame = pd.DataFrame(rows, columns=["a", "b", "n", "t"]) if rows else pd.DataFrame({"a": pd.Series([], dtype=float)})
    expected = neutralise_formulas(frame).to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert csv_bytes(frame) == expected


def test_a_long_per_participant_table_is_written_as_parquet_with_every_row(tmp_path, monkeypatch):
    import duckdb

    import pipeline.run as run_module
    from pipeline.run import run_study, write_outputs
    from pipeline.study import load_study

    study = load_study(Path(__file__).resolve().parents[1] / "surveys" / "demo-pilot")
    run = run_study(study)
    monkeypatch.setattr(run_module, "PARQUET_MIN_ROWS", len(run.scores_table) - 1)  # scores and reliable change are longer
    names = {path.name for path in write_outputs(run, tmp_path / "out", pdf=False)}
    assert {"scores.parquet", "reliable_change.parquet"} <= names and not {"scores.csv", "reliable_change.csv"} & names
    assert "results.csv" in names  # the summary tables stay CSV
    for name, frame in (("scores", run.scores_table), ("reliable_change", run.reliable_change)):
        back = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path / 'out' / (name + '.parquet')}')").df()
        assert list(back.columns) == list(frame.columns) and len(back) == len(frame)
        as_cells = lambda table: table.astype(object).where(table.notna(), None).to_numpy().tolist()  # noqa: E731 - NA kinds differ
        assert as_cells(back) == as_cells(frame.reset_index(drop=True))


def test_a_temporary_folder_that_cannot_be_written_stops_a_parquet_table_with_one_line(tmp_path, monkeypatch):
    import tempfile

    import pandas as pd

    from pipeline.errors import PipelineError
    from pipeline.run import parquet_bytes

    missing = tmp_path / "no-such-folder"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    with pytest.raises(PipelineError) as caught:
        parquet_bytes(pd.DataFrame({"score": [1.0, 2.0]}))
    message = str(caught.value)
    assert str(missing) in message and "TMPDIR" in message and "\n" not in message
