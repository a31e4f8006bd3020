"""Ingest and validation: every row accounted for, every bad cell reported, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.ingest import read_wave
from pipeline.instruments import load_instrument
from pipeline.study import DataOptions, Groups
from pipeline.validate import EXCLUSION_REASONS, validate_wave

from .conftest import MINIMAL

TINY = load_instrument(MINIMAL / "instruments" / "tiny.yaml")
HEADER = "participant_id,tiny_1,tiny_2,tiny_3,comment\n"


def validated(tmp_path: Path, body: str, header: str = HEADER, encoding: str = "utf-8", **options):
    path = tmp_path / "pre.csv"
    path.write_bytes((header + body).encode(encoding))
    return validate_wave(read_wave("pre", path), [TINY], "participant_id", options=DataOptions(**options))


def test_clean_file_is_accepted_whole(tmp_path):
    wave = validated(tmp_path, "a,1,2,3,\nb,4,5,1,hello\n")
    assert (wave.rows_read, wave.rows_accepted, wave.rows_excluded) == (2, 2, 0)
    assert wave.problems.empty
    assert list(wave.responses.index) == [2, 3]  # spreadsheet rows: header is row 1


def test_bad_cells_become_missing_and_are_listed(tmp_path):
    wave = validated(tmp_path, "a,1,9,3,\nb,2.5,x,0,\nc, 4 ,,5,\n")
    # b has no usable answer left, so it is excluded as empty; its bad cells are still listed.
    assert wave.rows_accepted == 2 and wave.exclusions[["row", "reason"]].values.tolist() == [[3, "empty"]]
    problems = {(r.row, r.column): (r.value, r.problem) for r in wave.problems.itertuples()}
    assert problems == {
        (2, "tiny_2"): ("9", "outside the response range 1..5; set to missing"),
        (3, "tiny_1"): ("2.5", "not a whole number; set to missing"),
        (3, "tiny_2"): ("x", "not a number; set to missing"),
        (3, "tiny_3"): ("0", "outside the response range 1..5; set to missing"),
    }
    responses = wave.responses.set_index("participant_id")
    assert np.isnan(responses.loc["a", "tiny_2"]) and responses.loc["a", "tiny_3"] == 3
    assert responses.loc["c", "tiny_1"] == 4  # surrounding spaces are not a problem
    assert np.isnan(responses.loc["c", "tiny_2"])  # blank is missing, not a problem


def test_infinity_and_exponents_are_handled(tmp_path):
    wave = validated(tmp_path, "a,inf,1e0,-Infinity,\n")
    assert wave.responses.iloc[0][["tiny_1", "tiny_2", "tiny_3"]].tolist()[1] == 1
    assert sorted(wave.problems["column"]) == ["tiny_1", "tiny_3"]


def test_rows_without_id_are_excluded_with_a_reason(tmp_path):
    wave = validated(tmp_path, "a,1,2,3,\n,1,2,3,\n,,,,\n  ,,,,note\nb,1,1,1,\n")
    assert (wave.rows_read, wave.rows_accepted, wave.rows_excluded) == (5, 2, 3)
    assert list(zip(wave.exclusions["row"], wave.exclusions["reason"])) == [(3, "missing_id"), (4, "empty"), (5, "empty")]


def test_duplicate_ids_stop_with_the_rows_named(tmp_path):
    with pytest.raises(PipelineError, match=r"pre.csv: column 'participant_id': participant id used more than once: 'a' in rows 2, 4"):
        validated(tmp_path, "a,1,2,3,\nb,1,2,3,\na,1,2,3,\n", duplicates="stop")


def test_missing_item_column_is_named(tmp_path):
    with pytest.raises(PipelineError, match=r"pre.csv: row 1: column\(s\) not found: tiny_3; item columns must be named by item id"):
        validated(tmp_path, "a,1,2,\n", header="participant_id,tiny_1,tiny_2,comment\n")


def test_missing_id_column_is_named(tmp_path):
    with pytest.raises(PipelineError, match=r"column\(s\) not found: participant_id;"):
        validated(tmp_path, "a,1,2,3\n", header="pid,tiny_1,tiny_2,tiny_3\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        ("participant_id,tiny_1\nJos\xe9,1\n".encode("latin-1"), "not utf-8 text"),
        (b"a,b,a\n1,2,3\n", "column name(s) used twice: a"),
        (b"a,,c\n1,2,3\n", "column(s) 2 have no name"),
        (b"a,b\n1,2\n1,2,3\n", "cannot read as ','-delimited text"),
    ],
)
def test_unreadable_files_give_one_clear_line(tmp_path, content, message):
    path = tmp_path / "pre.csv"
    path.write_bytes(content)
    with pytest.raises(PipelineError) as error:
        read_wave("pre", path)
    assert message in str(error.value) and str(error.value).startswith(str(path))
    assert "\n" not in str(error.value)


def test_byte_order_mark_does_not_rename_the_first_column(tmp_path):
    wave = validated(tmp_path, "a,1,2,3,\n", encoding="utf-8-sig")
    assert wave.rows_accepted == 1


def test_missing_file_names_the_wave(tmp_path):
    with pytest.raises(PipelineError, match=r"file for wave 'pre' not found; check waves.pre in study.yaml"):
        read_wave("pre", tmp_path / "nope.csv")


cells = st.one_of(st.just(""), st.integers(-2, 8).map(str), st.sampled_from(["x", "2.5", " 3 ", "N/A", "-"]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", " ", "p1", "p2", "p3", "p4", "p5", "p6"]), cells, cells, cells), max_size=25, unique_by=lambda r: r[0].strip() or object()))
def test_every_row_is_accepted_or_excluded(tmp_path_factory, rows):
    tmp_path = tmp_path_factory.mktemp("ledger")
    body = "".join(",".join(row) + ",\n" for row in rows)
    if not rows:
        return
    wave = validated(tmp_path, body)
    assert wave.rows_read == len(rows) == wave.rows_accepted + wave.rows_excluded
    accepted = wave.responses[["tiny_1", "tiny_2", "tiny_3"]]
    assert accepted.isin([1.0, 2.0, 3.0, 4.0, 5.0]).where(accepted.notna(), True).all().all()


# --- groups (a two-group study) ----------------------------------------------------------------

GROUPS = Groups(column="arm", program=["program"], comparison=["waitlist"], assignment="randomised")
GROUP_HEADER = "participant_id,tiny_1,tiny_2,tiny_3,arm\n"


def grouped(tmp_path: Path, body: str, wave: str = "pre", allocated=None, header: str = GROUP_HEADER, groups: Groups = GROUPS, **kwargs):
    path = tmp_path / f"{wave}.csv"
    path.write_text(header + body, encoding="utf-8")
    return validate_wave(
        read_wave(wave, path), [TINY], "participant_id", baseline=wave == "pre", groups=groups, allocated=allocated, **kwargs
    )


def test_unknown_group_comes_after_invalid_id_and_before_duplicate():
    reasons = list(EXCLUSION_REASONS)
    assert reasons.index("unknown_group") == reasons.index("invalid_id") + 1 == reasons.index("duplicate") - 1


def test_baseline_groups_ignore_case_and_spaces_and_exclude_other_values(tmp_path):
    wave = grouped(tmp_path, "a,1,2,3, Program \nb,1,2,3,PROGRAM\nc,1,2,3,Wait List\nd,1,2,3,control\ne,1,2,3,\nf,,,,program\ng,1,2,3,waitlist\n")
    assert wave.group.name == "group" and wave.group.index.equals(wave.responses.index)
    assert dict(zip(wave.responses["participant_id"], wave.group)) == {"a": "program", "b": "program", "c": "comparison", "g": "comparison"}
    # the first reason that applies: an empty row stays "empty"
    assert list(zip(wave.exclusions["participant"], wave.exclusions["reason"])) == [("d", "unknown_group"), ("e", "unknown_group"), ("f", "empty")]
    assert wave.rows_read == wave.rows_accepted + wave.rows_excluded


def test_a_duplicate_with_an_unknown_group_loses_to_the_row_with_a_group(tmp_path):
    wave = grouped(tmp_path, "a,1,2,3,progrm\na,1,2,,program\nb,1,1,1,waitlist\n")
    assert list(zip(wave.exclusions["row"], wave.exclusions["reason"])) == [(2, "unknown_group")]
    assert wave.group.tolist() == ["program", "comparison"]


def test_no_groups_means_an_empty_group_series(tmp_path):
    wave = validated(tmp_path, "a,1,2,3,\n")
    assert wave.group.empty and wave.group.name == "group"
    later = grouped(tmp_path, "a,1,2,3,program\n", wave="post", allocated=None)
    assert later.group.empty and later.problems.empty


def test_spss_group_codes_are_read_by_their_value_label_or_their_code(tmp_path):
    from dataclasses import replace

    path = tmp_path / "pre.csv"
    path.write_text(GROUP_HEADER + "a,1,2,3,1\nb,1,2,3,2\nc,1,2,3,3\n", encoding="utf-8")
    export = read_wave("pre", path)
    export = replace(export, value_labels={"arm": {"1": "Program", "2": "Waiting list"}})  # as an SPSS file gives them
    groups = Groups(column="arm", program=["program"], comparison=["3"], assignment="randomised")
    wave = validate_wave(export, [TINY], "participant_id", groups=groups)
    assert wave.group.tolist() == ["program", "comparison"]  # "Waiting list" is no value of either list; code 3 is
    assert wave.exclusions["reason"].tolist() == ["unknown_group"]


def test_a_group_column_missing_from_the_baseline_is_named_with_what_to_do(tmp_path):
    with pytest.raises(PipelineError) as error:
        grouped(tmp_path, "a,1,2,3,program\n", header="participant_id,tiny_1,tiny_2,tiny_3,Arm\n")
    message = str(error.value)
    assert message.startswith(str(tmp_path / "pre.csv")) and "\n" not in message
    assert "row 1: group column 'arm' not found (the header has 'Arm'); groups.column names the baseline export's column" in message
    assert "correct groups.column in study.yaml" in message
    later = grouped(tmp_path, "a,1,2,3\n", wave="post", header=HEADER.replace(",comment", ""), allocated=None)
    assert later.rows_accepted == 1  # a later wave need not have the column


def test_one_group_empty_at_baseline_says_which_and_what_the_column_holds(tmp_path):
    values = ["program"] * 5 + ["control"] * 3 + ["x" * 300, "", "wait list", "+44 7700 900461", "tbc"]
    body = "".join(f"p{i},1,2,3,{value}\n" for i, value in enumerate(values)).replace("p10,1,2,3,wait list", "p10,,,,wait list")
    with pytest.raises(PipelineError) as error:
        grouped(tmp_path, body)
    message = str(error.value)
    assert "group column 'arm': no participant is in the comparison group (its 1 row was excluded)" in message
    assert "the column holds 'program' (5), 'control' (3)" in message and "more; add its values to groups.comparison" in message
    assert "x" * 41 not in message and "7700" not in message
    assert "\n" not in message and len(message) < 300
    wide = pytest.raises(PipelineError, grouped, tmp_path, "a,1,2,3,x\nb,1,2,3,\nc,1,2,3," + "y" * 300 + "\nd,1,2,3,+44 7700 900461\ne,1,2,3,waitlist\n")
    assert "the column holds 'x' (1), blank (1), '" + "y" * 40 + "...' (1)" in str(wide.value)  # as many as fit, each cut to 40
    assert "7700" not in str(wide.value) and "y" * 41 not in str(wide.value) and len(str(wide.value)) < 300
    with pytest.raises(PipelineError, match="no participant is in either group; the column holds 'control' .*groups.program and groups.comparison"):
        grouped(tmp_path, "a,1,2,3,control\n")


def test_identifying_group_columns_are_refused_like_subgroups(tmp_path):
    with pytest.raises(PipelineError, match=r"group column 'arm' holds e-mail addresses; identifying columns never leave validation"):
        grouped(tmp_path, "a,1,2,3,program\nb,1,2,3,someone@example.org\n")
    with pytest.raises(PipelineError, match=r"group column 'arm' is listed as identifying"):
        grouped(tmp_path, "a,1,2,3,program\nb,1,2,3,waitlist\n", identifiers=["arm"])


def test_a_later_row_naming_another_group_is_listed_and_the_baseline_group_kept(tmp_path):
    pre = grouped(tmp_path, "a,1,2,3,program\nb,1,2,3,waitlist\nc,1,2,3,program\nd,1,2,3,waitlist\n")
    allocated = pd.Series(pre.group.to_numpy(), index=pre.responses["participant_id"].to_numpy())
    long_value = "W" * 250 + "\u202e"
    body = f"a,1,2,3,WAITLIST\nb,1,2,3, wait list \nc,1,2,3,n.a.\nd,1,2,3,{long_value}\ne,1,2,3,program\nc,,,,waitlist\n"
    post = grouped(tmp_path, body, wave="post", allocated=allocated, options=DataOptions(missing_values=["n.a."]))
    assert post.group.empty  # the group is the baseline's
    rows = post.problems[post.problems["column"] == "arm"]
    assert rows["row"].tolist() == [2, 5]  # a; d (no group at all); not b (same group), c (a missing-value marker), e (no baseline), c's empty row
    assert rows["problem"].tolist() == [
        "names another group than the baseline's (program); the baseline group is kept",
        "names another group than the baseline's (comparison); the baseline group is kept",
    ]
    assert rows["value"].tolist()[0] == "WAITLIST" and len(rows["value"].tolist()[1]) <= 60 and "\u202e" not in rows["value"].tolist()[1]


def test_pseudonymised_ids_are_matched_for_the_later_group_check(tmp_path):
    key = b"a-secret-of-at-least-16-bytes"
    pre = grouped(tmp_path, "a,1,2,3,program\nb,1,2,3,waitlist\n", pseudonym_key=key)
    assert pre.responses["participant_id"].str.startswith("p_").all()
    allocated = pd.Series(pre.group.to_numpy(), index=pre.responses["participant_id"].to_numpy())
    post = grouped(tmp_path, "a,1,2,3,waitlist\nb,1,2,3,waitlist\n", wave="post", allocated=allocated, pseudonym_key=key)
    assert post.problems["row"].tolist() == [2] and post.problems["problem"].str.contains(r"\(program\)").all()


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    st.text(alphabet="0123456789+-() .:@abcdef\u0663\u00a0", max_size=24),
    st.from_regex(r"\A\s*[a-z]{1,5}@[a-z]{1,5}\.[a-z]{2,3}\s*\Z"),
    st.from_regex(r"\A\+?\d{1,3}[ .-]\d{2,4}[ .-]\d{3,4}[ .-]?\d{0,4}\Z"),
    st.ip_addresses().map(str),
))
def test_the_identifying_prefilter_never_skips_what_looks_identifying(text):
    from pipeline.privacy import looks_identifying, maybe_identifying

    if looks_identifying(text) is not None:
        assert maybe_identifying(pd.Series([text], dtype=object)).iloc[0], text


def test_the_identifying_prefilter_is_linear_on_a_long_cell():
    from pipeline.privacy import maybe_identifying

    assert not maybe_identifying(pd.Series(["x1" * 4 + "y" * 1_000_000])).iloc[0]  # 8 digits: a quadratic search would hang


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2, 8).map(float)), min_size=3, max_size=3),
                min_size=1, max_size=6), st.booleans())  # fmt: skip
def test_invalid_numbers_is_the_cell_rule_in_either_memory_order(rows, column_major):
    from pipeline.validate import invalid_numbers

    block = np.array(rows, dtype=float, order="F" if column_major else "C")
    low, high = np.array([1.0, 0.0, 2.0]), np.array([5.0, 4.0, 7.0])
    expected = [[not np.isnan(v) and (v != np.floor(v) or v < low[j] or v > high[j]) for j, v in enumerate(row)] for row in block]
    assert invalid_numbers(block, low, high).tolist() == expected
