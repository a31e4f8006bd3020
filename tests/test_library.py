"""The instrument library against the fact sheet's proposed 20-variable table, typed in independently.

Source: shared/research/instruments-facts.md, "Proposed set of exactly 20 outcome variables" and
the per-instrument sections (item numbers in published order). If a definition and this table
disagree, one of them is wrong: check the instrument's manual before changing either.
"""

from __future__ import annotations

import pytest

from pipeline.instruments import library_instruments
from pipeline.score import score_range

from .conftest import LIBRARY





# instrument: (number of items, response min, max, reverse-keyed items)
INSTRUMENTS = {
    "shs": (4, 1, 7, [4]),
    "swls": (5, 1, 7, []),
    "fs": (8, 1, 7, []),
    "spane": (12, 1, 5, []),
    "mlq": (10, 1, 7, [9]),
    "bcs": (4, 1, 5, []),
    "cdse_sf": (25, 1, 5, []),
    "ahs": (12, 1, 8, []),
    "brs": (6, 1, 5, [2, 4, 6]),
    "lot_r": (10, 0, 4, [3, 7, 9]),
    "rses": (10, 0, 3, [2, 5, 6, 8, 9]),
    "gse": (10, 1, 4, []),
    "gq6": (6, 1, 7, [3, 6]),
    "mspss": (12, 1, 7, []),
    "ucla_ls3": (20, 1, 4, [1, 5, 6, 9, 10, 15, 16, 19, 20]),
    "phq9": (9, 0, 3, []),
    "gad7": (7, 0, 3, []),
    "pss10": (10, 0, 4, [4, 5, 7, 8]),
}

# scale: (instrument, scored item numbers, method, direction)
SCALES = {
    "shs_total": ("shs", [1, 2, 3, 4], "mean", "better"),
    "swls_total": ("swls", [1, 2, 3, 4, 5], "sum", "better"),
    "fs_total": ("fs", list(range(1, 9)), "sum", "better"),
    "spane_p": ("spane", [1, 3, 5, 7, 10, 12], "sum", "better"),
    "spane_n": ("spane", [2, 4, 6, 8, 9, 11], "sum", "worse"),
    "mlq_p": ("mlq", [1, 4, 5, 6, 9], "sum", "better"),
    "mlq_s": ("mlq", [2, 3, 7, 8, 10], "sum", "neutral"),
    "bcs_presence": ("bcs", [1, 2], "mean", "better"),
    "cdse_sf_total": ("cdse_sf", list(range(1, 26)), "mean", "better"),
    "ahs_total": ("ahs", [2, 9, 10, 12, 1, 4, 6, 8], "sum", "better"),
    "brs_total": ("brs", list(range(1, 7)), "mean", "better"),
    "lot_r_total": ("lot_r", [1, 3, 4, 7, 9, 10], "sum", "better"),
    "rses_total": ("rses", list(range(1, 11)), "sum", "better"),
    "gse_total": ("gse", list(range(1, 11)), "sum", "better"),
    "gq6_total": ("gq6", list(range(1, 7)), "sum", "better"),
    "mspss_total": ("mspss", list(range(1, 13)), "mean", "better"),
    "ucla_ls3_total": ("ucla_ls3", list(range(1, 21)), "sum", "worse"),
    "phq9_total": ("phq9", list(range(1, 10)), "sum", "worse"),
    "gad7_total": ("gad7", list(range(1, 8)), "sum", "worse"),
    "pss10_total": ("pss10", list(range(1, 11)), "sum", "worse"),
}

# Score ranges from the table, which follow from the structure above.
RANGES = {
    "shs_total": (1, 7), "swls_total": (5, 35), "fs_total": (8, 56), "spane_p": (6, 30), "spane_n": (6, 30),
    "mlq_p": (5, 35), "mlq_s": (5, 35), "bcs_presence": (1, 5), "cdse_sf_total": (1, 5), "ahs_total": (8, 64),
    "brs_total": (1, 5), "lot_r_total": (0, 24), "rses_total": (0, 30), "gse_total": (10, 40), "gq6_total": (6, 42),
    "mspss_total": (1, 7), "ucla_ls3_total": (20, 80), "phq9_total": (0, 27), "gad7_total": (0, 21), "pss10_total": (0, 40),
}  # fmt: skip

LIBRARY_INSTRUMENTS = {instrument.id: instrument for instrument in library_instruments(LIBRARY)}


def test_library_has_the_twenty_variables():
    scales = {scale.id for instrument in LIBRARY_INSTRUMENTS.values() for scale in instrument.scales}
    assert set(INSTRUMENTS) <= set(LIBRARY_INSTRUMENTS)
    assert set(SCALES) <= scales
    assert len(SCALES) == 20


@pytest.mark.parametrize("instrument_id", sorted(INSTRUMENTS))
def test_instrument_structure_matches_fact_sheet(instrument_id):
    n_items, low, high, reverse = INSTRUMENTS[instrument_id]
    instrument = LIBRARY_INSTRUMENTS[instrument_id]
    assert instrument.item_ids == [f"{instrument_id}_{n}" for n in range(1, n_items + 1)]
    assert (instrument.response.min, instrument.response.max) == (low, high)
    assert instrument.reverse_item_ids == {f"{instrument_id}_{n}" for n in reverse}


@pytest.mark.parametrize("scale_id", sorted(SCALES))
def test_scale_structure_matches_fact_sheet(scale_id):
    instrument_id, numbers, method, direction = SCALES[scale_id]
    scale = next(s for s in LIBRARY_INSTRUMENTS[instrument_id].scales if s.id == scale_id)
    assert sorted(scale.items) == sorted(f"{instrument_id}_{n}" for n in numbers)
    assert (scale.method, scale.higher_is) == (method, direction)
    assert 1 <= scale.required_items <= len(scale.items)


@pytest.mark.parametrize("scale_id", sorted(SCALES))
def test_score_range_matches_fact_sheet(scale_id):
    instrument_id = SCALES[scale_id][0]
    instrument = LIBRARY_INSTRUMENTS[instrument_id]
    scale = next(s for s in instrument.scales if s.id == scale_id)
    assert score_range(instrument, scale) == RANGES[scale_id]


@pytest.mark.parametrize("scale_id", ["shs_total", "bcs_presence", "phq9_total", "gad7_total"])
def test_short_and_clinical_scales_require_every_item(scale_id):
    """Sheet convention: all items for scales of 4 or fewer items and for PHQ-9/GAD-7 bands."""
    instrument_id = SCALES[scale_id][0]
    scale = next(s for s in LIBRARY_INSTRUMENTS[instrument_id].scales if s.id == scale_id)
    assert scale.required_items == len(scale.items)


def test_no_item_label_is_long_enough_to_be_item_wording():
    """Labels are short content tags; verbatim (copyrighted) item text must never be shipped."""
    for instrument in LIBRARY_INSTRUMENTS.values():
        for item in instrument.items:
            assert len(item.label.split()) <= 6, (instrument.id, item.id, item.label)
