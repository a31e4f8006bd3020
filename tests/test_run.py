"""Output writing: atomic files, formula-safe text, a ledger that must balance."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.errors import PipelineError
from pipeline.run import check_ledger_balances, neutralise_formulas, write_csv
from pipeline.validate import ValidatedWave


def test_text_that_a_spreadsheet_would_run_is_neutralised():
    frame = pd.DataFrame({"id": ["=HYPERLINK(1)", "+1", "-x", "@SUM", "ok", None], "score": [-1.5, 2.0, 3.0, 4.0, 5.0, 6.0]})
    safe = neutralise_formulas(frame)
    assert safe["id"].tolist()[:5] == ["'=HYPERLINK(1)", "'+1", "'-x", "'@SUM", "ok"]
    assert pd.isna(safe["id"].iloc[5])
    assert safe["score"].tolist() == frame["score"].tolist()  # numbers, including negative ones, untouched


def test_csv_is_written_whole_with_no_temporary_left(tmp_path):
    path = write_csv(pd.DataFrame({"a": [1, 2]}), tmp_path / "out.csv")
    assert path.read_text() == "a\n1\n2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_unbalanced_ledger_stops_the_run():
    wave = ValidatedWave("pre", "pre.csv", "0" * 64, 3, pd.DataFrame({"id": ["a"]}), pd.DataFrame(), pd.DataFrame())
    with pytest.raises(PipelineError, match="3 rows read but 1 accepted \\+ 0 excluded"):
        check_ledger_balances(wave)
