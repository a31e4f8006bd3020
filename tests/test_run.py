"""Output writing: formula-safe text, Excel's cell limit, atomic single files, a ledger that must balance."""

from __future__ import annotations

import pandas as pd
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
