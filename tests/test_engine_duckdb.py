"""The out-of-core DuckDB run gives the in-memory run's counts and statistics (pipeline/engine_duckdb.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.engine_duckdb import run_duckdb, unsupported
from pipeline.errors import PipelineError
from pipeline.run import run_study
from pipeline.study import load_study

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "surveys" / "demo-pilot"
#: results.csv columns the DuckDB path leaves empty (the mixed model is fitted in memory only).
NOT_COMPUTED = {"lmm_estimate", "lmm_se", "lmm_df", "lmm_t", "lmm_p", "lmm_n", "note"}


def pilot_copy(folder: Path, engine: str = "duckdb", edit=None) -> Path:
    """demo-pilot without its subgroups (refused by the DuckDB path), with ``engine``; ``edit`` changes pre.csv's text."""
    folder.mkdir()
    for name in ("pre.csv", "post.csv"):
        shutil.copy(PILOT / name, folder / name)
    lines = [line for line in (PILOT / "study.yaml").read_text().splitlines() if not line.startswith("subgroups")]
    (folder / "study.yaml").write_text("\n".join(lines) + f"\nengine: {engine}\n")
    if edit is not None:
        path = folder / "pre.csv"
        path.write_text(edit(path.read_text()), encoding="utf-8")
    return folder


def assert_same(a, b, column):
    if isinstance(a, str) or isinstance(b, str):
        assert a == b, column
    elif np.isnan(a):
        assert np.isnan(b), column
    else:
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), column


def compare(study, tmp_path):
    memory = run_study(study)
    work = tmp_path / "work"
    work.mkdir()
    duck = run_duckdb(study, work, tmp_path / "scores.parquet")
    pd.testing.assert_frame_equal(duck.ledger, memory.ledger.astype(duck.ledger.dtypes.to_dict()), check_dtype=False)
    counts = memory.exclusions.groupby(["wave", "reason"]).size()
    assert dict(zip(zip(duck.exclusions["wave"], duck.exclusions["reason"]), duck.exclusions["rows"])) == counts.to_dict()
    problems = memory.problems.groupby(["wave", "column"]).size()
    assert dict(zip(zip(duck.problems["wave"], duck.problems["column"]), duck.problems["cells"])) == problems.to_dict()
    assert duck.matched == memory.flow["matched"]
    assert list(duck.results.columns) == list(memory.results.columns)
    for (_, expected), (_, got) in zip(memory.results.iterrows(), duck.results.iterrows()):
        for column in memory.results.columns:
            if column not in NOT_COMPUTED:
                assert_same(expected[column], got[column], f"{expected['variable']}.{column}")
    for column in ("variable", "wave", "n", "mean", "sd"):
        for a, b in zip(memory.trajectory[column], duck.trajectory[column]):
            assert_same(a, b, column)
    scores = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path / 'scores.parquet'}')").df()
    expected = memory.scores.sort_values([study.id_column, "wave"]).reset_index(drop=True)
    got = scores.sort_values([study.id_column, "wave"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)


def test_duckdb_run_of_the_demo_equals_the_in_memory_run(tmp_path):
    compare(load_study(pilot_copy(tmp_path / "pilot")), tmp_path)


def hostile(text: str) -> str:
    """Bad cells, markers, labels-free junk, padded and invisible-character ids, an empty row."""
    lines = text.splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    rows[0][5], rows[1][6], rows[2][7], rows[3][8], rows[4][9] = "7", "abc", "n/a", " 3 ", "2.5"
    rows[5][10] = "-1"
    rows[6][0] = " " + rows[6][0] + " "
    rows[7][0] = rows[7][0][:2] + "\u200b" + rows[7][0][2:]
    rows[8][0] = rows[9][0]  # a duplicate id
    rows.append([rows[10][0] + "x"] + [""] * (len(header) - 1))  # no answers
    return "\n".join([",".join(header)] + [",".join(row) for row in rows]) + "\n"


def test_duckdb_validation_counts_equal_in_memory_on_imperfect_data(tmp_path):
    compare(load_study(pilot_copy(tmp_path / "pilot", edit=hostile)), tmp_path)


def test_unknown_engine_is_one_line(tmp_path):
    folder = pilot_copy(tmp_path / "pilot", engine="spark")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(folder), "--out", str(tmp_path / "out"), "--no-pdf"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "study.yaml" in lines[0] and "'auto', 'memory' or 'duckdb'" in lines[0]


def test_unsupported_configuration_is_refused_in_one_line(tmp_path):
    study = load_study(PILOT)  # has subgroups
    assert "subgroups" in unsupported(study)
    with pytest.raises(PipelineError, match="engine: memory"):
        run_duckdb(study, tmp_path)


def test_cli_writes_the_duckdb_outputs(tmp_path):
    folder = pilot_copy(tmp_path / "pilot")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", str(folder), "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert {"results.csv", "ledger.csv", "scores.parquet", "trajectory.csv"} <= {p.name for p in (tmp_path / "out").iterdir()}


def _edit_rows(change):
    """An ``edit`` for :func:`pilot_copy` applying ``change(row_number, cells)`` to every data row of pre.csv."""

    def edit(text: str) -> str:
        lines = text.splitlines()
        rows = [line.split(",") for line in lines[1:]]
        for number, row in enumerate(rows):
            change(number, row)
        return "\n".join([lines[0]] + [",".join(row) for row in rows]) + "\n"

    return edit


def _set_id(make):
    return _edit_rows(lambda number, row: row.__setitem__(0, make(number, row[0])))


def _both_refuse(study, tmp_path) -> str:
    with pytest.raises(PipelineError) as memory:
        run_study(study)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(PipelineError) as duck:
        run_duckdb(study, work)
    assert str(duck.value) == str(memory.value)
    return str(duck.value)


@pytest.mark.parametrize(
    "edit, why",
    [
        (_set_id(lambda n, old: f"person{n}@example.org"), "(the id column) holds e-mail addresses"),
        (_set_id(lambda n, old: "10.0.0.7" if n == 3 else old), "(the id column) holds IP addresses"),  # any one
        (_set_id(lambda n, old: f" +44 20 7946 {n:04d} " if n % 3 else old), "(the id column) holds phone numbers"),
        (_edit_rows(lambda n, row: row.__setitem__(2, f"someone{n}@example.org") if n % 4 else None),
         "(item shs_1) holds e-mail addresses"),
    ],
    ids=["e-mail ids", "one IP id", "mostly phone ids", "e-mail answers"],
)
def test_duckdb_refuses_identifying_values_as_the_in_memory_run_does(tmp_path, edit, why):
    message = _both_refuse(load_study(pilot_copy(tmp_path / "pilot", edit=edit)), tmp_path)
    assert why in message and "example.org" not in message and "7946" not in message and len(message.splitlines()) == 1


def test_a_stray_address_in_an_answer_or_a_third_of_phone_ids_is_no_reason_to_stop(tmp_path):
    def change(number, row):
        if number == 5:
            row[2] = "ana@example.org"  # a cell problem, not an identifying column
        if number % 3 == 0:
            row[0] = f"+44 20 7946 {number:04d}"  # fewer than half the ids

    compare(load_study(pilot_copy(tmp_path / "pilot", edit=_edit_rows(change))), tmp_path)


def test_odd_and_identifying_ids_are_judged_batch_by_batch(tmp_path, monkeypatch):
    import pipeline.engine_duckdb as engine

    monkeypatch.setattr(engine, "ID_BATCH", 1)  # every batch boundary crossed
    compare(load_study(pilot_copy(tmp_path / "pilot", edit=hostile)), tmp_path)
    folder = pilot_copy(tmp_path / "phones", edit=_set_id(lambda n, old: f"+44 20 7946 {n:04d}" if n % 3 else old))
    (tmp_path / "phones-work").mkdir()
    with pytest.raises(PipelineError, match="holds phone numbers"):
        run_duckdb(load_study(folder), tmp_path / "phones-work")


def test_the_whitespace_duckdb_trims_is_what_python_strips():
    from pipeline.engine_duckdb import PYTHON_WHITESPACE

    assert PYTHON_WHITESPACE == "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())
