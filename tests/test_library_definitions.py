"""Every instrument file in the library, discovered: its worked examples and scoring properties.

Adding a YAML file to instruments/ adds its cases here with no code change: the parameters are
the files found on disk. The worked examples were computed by hand from each manual's rule and
are scored here through the production scorer.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.instrument_check import completeness_findings, example_outcomes
from pipeline.instruments import instrument_files, load_instrument
from pipeline.score import possible_scores, reverse_key, score_instrument, score_range

from .conftest import LIBRARY

FILES = instrument_files(LIBRARY)
INSTRUMENTS = {path.stem: load_instrument(path) for path in FILES}
SCALES = [(instrument_id, scale.id) for instrument_id, instrument in INSTRUMENTS.items() for scale in instrument.scales]
SUM_SCALES = [pair for pair in SCALES if INSTRUMENTS[pair[0]].scale(pair[1]).method == "sum"]


@pytest.mark.parametrize("instrument_id", sorted(INSTRUMENTS))
def test_worked_examples_score_as_stated(instrument_id):
    outcomes = example_outcomes(INSTRUMENTS[instrument_id])
    assert outcomes, "every library instrument has worked examples"
    wrong = [o for o in outcomes if not o.agrees]
    assert not wrong, [(o.example, o.scale, o.expected, o.computed) for o in wrong]


@pytest.mark.parametrize("instrument_id", sorted(INSTRUMENTS))
def test_definition_is_complete(instrument_id):
    """Two examples per scale, one with a missing item; missing_basis, version and licence note stated."""
    assert [str(f) for f in completeness_findings(INSTRUMENTS[instrument_id], instrument_id)] == []


@pytest.mark.parametrize("instrument_id, scale_id", SCALES)
def test_every_scale_has_a_scored_worked_example(instrument_id, scale_id):
    instrument = INSTRUMENTS[instrument_id]
    outcomes = [o for o in example_outcomes(instrument) if o.scale == scale_id]
    assert any(o.computed is not None for o in outcomes)
    assert len(outcomes) >= 2


def responses_strategy(instrument, missing=True):
    """A frame of 1-20 respondents with any valid responses (and, optionally, missing cells)."""
    low, high = instrument.response.min, instrument.response.max
    cell = st.one_of(st.none(), st.integers(low, high)) if missing else st.integers(low, high)
    row = st.fixed_dictionaries({item: cell for item in instrument.item_ids})
    return st.lists(row, min_size=1, max_size=20).map(
        lambda rows: pd.DataFrame(rows, columns=instrument.item_ids, dtype=float)
    )


@pytest.mark.parametrize("instrument_id", sorted(INSTRUMENTS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_valid_pattern_scores_a_possible_value_or_is_missing_by_rule(instrument_id, data):
    instrument = INSTRUMENTS[instrument_id]
    responses = data.draw(responses_strategy(instrument))
    scores = score_instrument(responses, instrument)
    for scale in instrument.scales:
        low, high = score_range(instrument, scale)
        possible = sorted(float(value) for value in possible_scores(instrument, scale))
        for row, score in zip(responses.itertuples(index=False), scores[scale.id]):
            if math.isnan(score):
                continue
            assert low - 1e-9 <= score <= high + 1e-9
            nearest = min(possible, key=lambda value: abs(value - score))
            assert abs(nearest - score) < 1e-9, (scale.id, score)
        if not scale.is_composite:
            answered = responses[scale.items].notna().sum(axis=1)
            assert (scores[scale.id].isna() == (answered < scale.required_items)).all()


@pytest.mark.parametrize("instrument_id, scale_id", SUM_SCALES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_prorated_sum_equals_plain_sum_when_every_item_is_answered(instrument_id, scale_id, data):
    instrument = INSTRUMENTS[instrument_id]
    scale = instrument.scale(scale_id)
    responses = data.draw(responses_strategy(instrument, missing=False))
    keyed = responses[scale.items].copy()
    reverse = instrument.reversed_in(scale)
    keyed[reverse] = instrument.response.min + instrument.response.max - keyed[reverse]
    scored = score_instrument(responses, instrument)[scale_id]
    assert (scored.to_numpy() == keyed.sum(axis=1).to_numpy()).all()  # exact, not approximate


@pytest.mark.parametrize("instrument_id", sorted(INSTRUMENTS))
@given(data=st.data())
@settings(max_examples=30, deadline=None)
def test_reverse_keying_is_an_involution_on_the_declared_range(instrument_id, data):
    instrument = INSTRUMENTS[instrument_id]
    low, high = instrument.response.min, instrument.response.max
    values = np.array(data.draw(st.lists(st.integers(low, high), min_size=1, max_size=30)))
    once = reverse_key(values, low, high)
    assert ((low <= once) & (once <= high)).all()
    assert (reverse_key(once, low, high) == values).all()


@pytest.mark.parametrize("instrument_id, scale_id", [pair for pair in SCALES if INSTRUMENTS[pair[0]].scale(pair[1]).bands])
def test_every_possible_score_falls_in_exactly_one_band(instrument_id, scale_id):
    instrument = INSTRUMENTS[instrument_id]
    scale = instrument.scale(scale_id)
    for score in possible_scores(instrument, scale):
        inside = [b for b in scale.bands.levels if Fraction(repr(b.min)) <= score <= Fraction(repr(b.max))]
        assert len(inside) == 1, (float(score), [b.label for b in inside])


def test_no_shared_file_carries_item_wording():
    for instrument in INSTRUMENTS.values():
        assert all(item.text is None for item in instrument.items), instrument.id


def test_unverified_facts_are_labelled_and_never_the_only_basis_of_a_band_or_cutoff():
    for instrument in INSTRUMENTS.values():
        for scale in instrument.scales:
            if scale.bands:
                assert scale.bands.evidence in ("verified", "secondary"), scale.id
            assert all(cutoff.evidence != "unverified" for cutoff in scale.cutoffs), scale.id
