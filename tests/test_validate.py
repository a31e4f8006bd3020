"""Ingest and validation: every row accounted for, every bad cell reported, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.ingest import read_wave
from pipeline.instruments import load_instrument
from pipeline.study import DataOptions
from pipeline.validate import validate_wave

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
