"""The demo generator: seeded, reproducible, realistic reliability, planted effects as declared."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.instruments import library_instruments
from pipeline.score import keyed_items
from pipeline.simulate import DEMO_INSTRUMENTS, PLANTED_CHANGE, simulate_study, write_demo_study

from .conftest import DEMO, LIBRARY


def test_committed_demo_data_is_what_the_generator_writes(tmp_path):
    write_demo_study(tmp_path / "demo", participants=150, seed=2026)
    for name in ["study.yaml", "pre.csv", "post.csv"]:
        assert (tmp_path / "demo" / name).read_bytes() == (DEMO / name).read_bytes(), name


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach (1951) alpha over complete cases."""
    items = items.dropna()
    k = items.shape[1]
    return k / (k - 1) * (1 - items.var(ddof=1).sum() / items.sum(axis=1).var(ddof=1))


def test_reliability_is_realistic_and_twelve_effects_are_planted():
    by_id = {i.id: i for i in library_instruments(LIBRARY)}
    instruments = [by_id[i] for i in DEMO_INSTRUMENTS]
    pre, post = simulate_study(instruments, participants=2000, seed=7)
    for instrument in instruments:
        for scale in instrument.primary_scales:
            assert 0.65 <= cronbach_alpha(keyed_items(pre, instrument, scale)) <= 0.92, scale.id
    assert len(PLANTED_CHANGE) == 12 and all(0.3 <= v <= 0.8 for v in PLANTED_CHANGE.values())
    assert 0.6 < len(post) / len(pre) < 0.85
    assert 0.005 < np.isnan(pre.iloc[:, 2:].to_numpy(dtype=float)).mean() < 0.02


def test_any_size_and_seed(tmp_path):
    folder = write_demo_study(tmp_path / "small", participants=12, seed=1)
    pre = pd.read_csv(folder / "pre.csv", dtype={"participant_id": str})
    # 12 participants, plus two abandoned repeat attempts and a test row without an id (with_slips)
    assert len(pre) == 15 and pre["participant_id"].iloc[:12].nunique() == 12
    assert pre["participant_id"].iloc[12:14].tolist() == pre["participant_id"].iloc[:2].tolist()
    assert pd.isna(pre["participant_id"].iloc[14])
