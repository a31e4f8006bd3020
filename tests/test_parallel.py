"""Work split across forked workers gives exactly the serial loop's results (pipeline/parallel.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeline.parallel as parallel
from pipeline.errors import PipelineError
from pipeline.run import run_study
from pipeline.study import load_study

ROOT = Path(__file__).resolve().parents[1]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-10**6, 10**6), max_size=12))
def test_results_come_back_in_order_and_equal_the_loop(numbers):
    data = np.arange(1000.0)  # read by the workers through the fork, not pickled to them
    square_plus = lambda n: n * n + data.sum()  # noqa: E731 - a closure, as the analysis passes
    assert parallel.map_in_workers(square_plus, numbers) == [square_plus(n) for n in numbers]


def test_an_error_in_a_worker_is_raised_as_in_the_loop():
    def check(n):
        if n == 3:
            raise PipelineError(f"data.csv: row {n}: bad")
        return n

    with pytest.raises(PipelineError, match="data.csv: row 3: bad"):
        parallel.map_in_workers(check, [1, 2, 3, 4])


def test_one_piece_or_one_cpu_runs_here(monkeypatch):
    assert parallel.worker_count(1) == 1
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 1)
    assert parallel.worker_count(20) == 1


@pytest.mark.parametrize("study", ["demo-pilot", "demo-trial"])
def test_the_analysis_in_workers_is_bit_identical_to_the_serial_one(study, monkeypatch):
    if parallel.worker_count(2) == 1:
        pytest.skip("one CPU or no fork: both runs would be serial")
    loaded = load_study(ROOT / "surveys" / study)
    forked = run_study(loaded)
    monkeypatch.setattr(parallel, "worker_count", lambda pieces: 1)
    serial = run_study(loaded)
    for table in ("results", "changes", "trajectory", "reliable_change", "attrition", "subgroup_results", "comparison"):
        pd.testing.assert_frame_equal(getattr(forked, table), getattr(serial, table), check_exact=True, obj=table)
