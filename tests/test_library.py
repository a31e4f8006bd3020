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


# --- secondary scores (sheet: "Secondary or derived scores") ---------------------------------
# scale: (instrument, item numbers or None for a difference, method, direction, range)
SECONDARY = {
    "spane_b": ("spane", None, "difference", "better", (-24, 24)),
    "ahs_agency": ("ahs", [2, 9, 10, 12], "sum", "better", (4, 32)),
    "ahs_pathways": ("ahs", [1, 4, 6, 8], "sum", "better", (4, 32)),
    "mspss_significant_other": ("mspss", [1, 2, 5, 10], "mean", "better", (1, 7)),
    "mspss_family": ("mspss", [3, 4, 8, 11], "mean", "better", (1, 7)),
    "mspss_friends": ("mspss", [6, 7, 9, 12], "mean", "better", (1, 7)),
    "bcs_search": ("bcs", [3, 4], "mean", "neutral", (1, 5)),
    "lot_r_optimism": ("lot_r", [1, 4, 10], "sum", "better", (0, 12)),
    "lot_r_pessimism": ("lot_r", [3, 7, 9], "sum", "worse", (0, 12)),
}


@pytest.mark.parametrize("scale_id", sorted(SECONDARY))
def test_secondary_scores_match_fact_sheet(scale_id):
    instrument_id, numbers, method, direction, expected_range = SECONDARY[scale_id]
    instrument = LIBRARY_INSTRUMENTS[instrument_id]
    scale = instrument.scale(scale_id)
    assert scale.role == "secondary"
    assert (scale.method, scale.higher_is) == (method, direction)
    if numbers is not None:
        assert sorted(scale.items) == sorted(f"{instrument_id}_{n}" for n in numbers)
    assert score_range(instrument, scale) == expected_range


def test_primary_scales_are_exactly_the_twenty():
    primary = {s.id for i in LIBRARY_INSTRUMENTS.values() for s in i.scales if s.role == "primary"}
    assert primary == set(SCALES)


def test_spane_balance_is_positive_minus_negative():
    assert LIBRARY_INSTRUMENTS["spane"].scale("spane_b").of == ["spane_p", "spane_n"]


def test_lot_r_pessimism_is_scored_as_answered_but_reversed_in_the_total():
    lot_r = LIBRARY_INSTRUMENTS["lot_r"]
    assert lot_r.reversed_in(lot_r.scale("lot_r_pessimism")) == []
    assert sorted(lot_r.reversed_in(lot_r.scale("lot_r_total"))) == ["lot_r_3", "lot_r_7", "lot_r_9"]


# --- bands and cut-offs (sheet sections 2, 7, 8, 10) ------------------------------------------
BANDS = {
    "phq9_total": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 19, "moderately severe"), (20, 27, "severe")],
    "gad7_total": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")],
    "swls_total": [(5, 9, "extremely dissatisfied"), (10, 14, "dissatisfied"), (15, 19, "slightly dissatisfied"), (20, 20, "neutral"),
                   (21, 25, "slightly satisfied"), (26, 30, "satisfied"), (31, 35, "extremely satisfied")],
    "brs_total": [(1.00, 2.99, "low"), (3.00, 4.30, "normal"), (4.31, 5.00, "high")],
}  # fmt: skip


@pytest.mark.parametrize("scale_id", sorted(BANDS))
def test_bands_match_fact_sheet(scale_id):
    scale = LIBRARY_INSTRUMENTS[SCALES[scale_id][0]].scale(scale_id)
    levels = [(band.min, band.max) for band in scale.bands.levels]
    assert levels == [(low, high) for low, high, _ in BANDS[scale_id]]
    for band, (_, _, word) in zip(scale.bands.levels, BANDS[scale_id]):
        assert word in band.label


def test_only_the_sheets_banded_scales_have_bands():
    banded = {s.id for i in LIBRARY_INSTRUMENTS.values() for s in i.scales if s.bands}
    assert banded == set(BANDS)


def test_clinical_cutoffs_match_fact_sheet():
    phq9 = LIBRARY_INSTRUMENTS["phq9"].scale("phq9_total").cutoffs
    gad7 = LIBRARY_INSTRUMENTS["gad7"].scale("gad7_total").cutoffs
    assert [(c.score, c.case_when, c.evidence) for c in phq9] == [(10, "at_or_above", "verified")]
    assert [(c.score, c.case_when, c.evidence) for c in gad7] == [(10, "at_or_above", "verified"), (8, "at_or_above", "secondary")]


# --- norms and reliability (each: scale -> figures, evidence) ---------------------------------
NORMS = {
    ("mlq_p", 23.8, 5.9, 400), ("mlq_s", 23.4, 6.3, 400), ("mlq_p", 23.5, 6.6, 154), ("mlq_s", 23.1, 6.6, 154),
    ("phq9_total", 3.1, 3.5, None), ("phq9_total", 2.7, 3.5, None),
    ("gad7_total", 3.2, 3.5, None), ("gad7_total", 2.7, 3.2, None),
    ("pss10_total", 12.1, 5.9, None), ("pss10_total", 13.7, 6.6, None), ("pss10_total", 14.2, 6.2, None),
    ("brs_total", 3.70, None, 844), ("gq6_total", 36.9, None, 1228),
    ("spane_p", 22.1, None, 573), ("spane_n", 15.6, None, 573), ("spane_b", 6.5, None, 573),
    # Beyond the sheet, found by the project's source check (PsyToolkit citing the original authors):
    ("fs_total", 45.4, None, 573), ("gse_total", 29.55, None, None),
}  # fmt: skip

# Single published reliability values the sheet marks [V] or [S] (ranges and [U] figures aside).
RELIABILITY = {
    ("swls_total", "alpha", 0.87, "verified"), ("swls_total", "test-retest", 0.82, "verified"),
    ("ucla_ls3_total", "test-retest", 0.73, "verified"), ("gad7_total", "alpha", 0.89, "verified"),
    ("gad7_total", "alpha", 0.92, "secondary"), ("phq9_total", "alpha", 0.89, "secondary"),
    ("cdse_sf_total", "alpha", 0.94, "verified"), ("pss10_total", "alpha", 0.78, "secondary"),
    ("mspss_total", "alpha", 0.88, "secondary"), ("rses_total", "alpha", 0.77, "secondary"),
    ("shs_total", "alpha", 0.77, "secondary"), ("gad7_total", "test-retest", 0.83, "secondary"),
    ("mspss_total", "test-retest", 0.85, "secondary"),
}  # fmt: skip


def test_norms_match_fact_sheet():
    recorded = {(n.scale, n.mean, n.sd, n.n) for i in LIBRARY_INSTRUMENTS.values() for n in i.norms}
    assert recorded == NORMS


def test_single_value_reliabilities_match_fact_sheet():
    recorded = {
        (r.scale, r.statistic, r.value, r.evidence)
        for i in LIBRARY_INSTRUMENTS.values()
        for r in i.reliability
        if r.value is not None and r.evidence != "unverified"
    }
    assert recorded == RELIABILITY


def test_licence_classes_match_fact_sheet():
    licences = {i.id: i.license for i in LIBRARY_INSTRUMENTS.values()}
    assert licences.pop("cdse_sf") == "commercial"
    assert {licences.pop("phq9"), licences.pop("gad7")} == {"public-domain"}
    assert set(licences.values()) == {"free-research"}
