"""Scoring: reverse keys, mean, prorated sum and min_items, by hand and as properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.instruments import parse_instrument
from pipeline.score import reverse_key, score_instrument, score_responses


def make_instrument(low=1, high=5, n_items=3, reverse=(2,), method="mean", min_items=2, extra_scale=False):
    items = [{"id": f"x_{i}", "label": f"item {i}", "reverse": i in reverse} for i in range(1, n_items + 1)]
    scales = [{"id": "x_score", "name": "X", "items": [it["id"] for it in items], "method": method,
               "min_items": min_items, "higher_is": "better"}]  # fmt: skip
    if extra_scale:
        scales.append({"id": "x_first_two", "name": "X2", "items": ["x_1", "x_2"], "method": "sum", "higher_is": "better"})
    return parse_instrument(
        {"id": "x", "name": "X", "citation": "test", "license": "public-domain", "response": {"min": low, "max": high},
         "items": items, "scales": scales}  # fmt: skip
    )


def frame(rows, n_items=3):
    return pd.DataFrame(rows, columns=[f"x_{i}" for i in range(1, n_items + 1)], dtype=float)


def test_tiny_scale_by_hand():
    """Worked by hand: reverse item 2 on 1..5 is 6 - x; mean of answered; fewer than 2 answered -> missing."""
    instrument = make_instrument()
    responses = frame([[2, 4, 2], [5, 1, 5], [2, np.nan, 3], [4, np.nan, np.nan], [np.nan] * 3])
    scores = score_instrument(responses, instrument)["x_score"]
    expected = [(2 + 2 + 2) / 3, 5.0, (2 + 3) / 2, np.nan, np.nan]
    np.testing.assert_allclose(scores, expected)


def test_prorated_sum_by_hand():
    """Sum of 4 items on 0..3, item 4 reversed, at least 3 answered: 1 + 2 + missing + (3-0) -> 6 x 4/3 = 8."""
    instrument = make_instrument(low=0, high=3, n_items=4, reverse=(4,), method="sum", min_items=3)
    responses = frame([[1, 2, np.nan, 0], [1, 2, 3, 0], [1, np.nan, np.nan, 0]], n_items=4)
    np.testing.assert_allclose(score_instrument(responses, instrument)["x_score"], [8.0, 9.0, np.nan])


def test_item_in_two_scales_is_scored_in_both():
    instrument = make_instrument(extra_scale=True)
    scores = score_instrument(frame([[4, 2, 3]]), instrument)
    assert scores.loc[0, "x_score"] == (4 + 4 + 3) / 3
    assert scores.loc[0, "x_first_two"] == 4 + 4  # item 2 reversed: 6 - 2


def test_reverse_key_uses_declared_range_not_observed():
    """Nobody used 5 here; psych's empirical-range trap would reverse 2 to 2 (min 2 + max 4 - 4)."""
    instrument = make_instrument(reverse=(1,), min_items=1)
    scores = score_instrument(frame([[2, np.nan, np.nan], [4, np.nan, np.nan]]), instrument)["x_score"]
    np.testing.assert_allclose(scores, [4.0, 2.0])


def test_score_responses_keeps_id_column_and_order():
    instrument = make_instrument()
    responses = frame([[1, 5, 1], [5, 1, 5]]).assign(pid=["b", "a"])
    scores = score_responses(responses, [instrument], "pid")
    assert list(scores.columns) == ["pid", "x_score"]
    assert list(scores["pid"]) == ["b", "a"]


ranges = st.tuples(st.integers(-3, 5), st.integers(1, 9)).map(lambda t: (t[0], t[0] + t[1]))


@given(ranges, st.data())
def test_reverse_keying_is_an_involution(bounds, data):
    low, high = bounds
    values = np.array(data.draw(st.lists(st.integers(low, high), min_size=1, max_size=30)))
    reversed_once = reverse_key(values, low, high)
    assert ((reversed_once >= low) & (reversed_once <= high)).all()
    np.testing.assert_array_equal(reverse_key(reversed_once, low, high), values)


@st.composite
def scored_case(draw):
    low, high = draw(ranges)
    n_items = draw(st.integers(1, 12))
    reverse = draw(st.sets(st.integers(1, n_items)))
    method = draw(st.sampled_from(["mean", "sum"]))
    min_items = draw(st.integers(1, n_items))
    cell = st.one_of(st.none(), st.integers(low, high))
    rows = draw(st.lists(st.lists(cell, min_size=n_items, max_size=n_items), min_size=1, max_size=20))
    instrument = make_instrument(low, high, n_items, tuple(reverse), method, min_items)
    return instrument, frame([[np.nan if v is None else v for v in row] for row in rows], n_items)


@settings(max_examples=200, deadline=None)
@given(scored_case())
def test_any_valid_pattern_scores_inside_the_scale_range_or_missing_by_rule(case):
    instrument, responses = case
    scale = instrument.scales[0]
    scores = score_instrument(responses, instrument)[scale.id]
    answered = responses.notna().sum(axis=1)
    factor = len(scale.items) if scale.method == "sum" else 1
    low, high = instrument.response.min * factor, instrument.response.max * factor
    for score, n_answered in zip(scores, answered):
        if n_answered < scale.required_items:
            assert math.isnan(score)
        else:
            assert low - 1e-9 <= score <= high + 1e-9


@settings(max_examples=200, deadline=None)
@given(scored_case())
def test_prorated_sum_equals_plain_sum_when_every_item_is_answered(case):
    instrument, responses = case
    complete = responses.fillna(instrument.response.min)
    sum_instrument = make_instrument(
        instrument.response.min, instrument.response.max, len(instrument.items),
        tuple(int(i.split("_")[1]) for i in instrument.reverse_item_ids), "sum", 1,
    )  # fmt: skip
    keyed = complete.copy()
    for item_id in sum_instrument.reverse_item_ids:
        keyed[item_id] = reverse_key(keyed[item_id], instrument.response.min, instrument.response.max)
    scores = score_instrument(complete, sum_instrument)["x_score"]
    assert (scores.to_numpy() == keyed.sum(axis=1).to_numpy()).all()  # exact, not approximate


def with_scales(*extra_scales, reverse=(2,)):
    """The 3-item 1..5 instrument above plus extra scales given as dicts."""
    base = make_instrument(reverse=reverse)
    data = base.model_dump(exclude_none=True)
    data["scales"] += list(extra_scales)
    return parse_instrument(data)


def test_difference_scale_is_first_minus_second_and_missing_if_either_is():
    """SPANE-B style: balance = first scale - second scale (Diener et al., 2010)."""
    instrument = with_scales(
        {"id": "x_pair", "name": "Pair", "items": ["x_1", "x_3"], "method": "sum", "min_items": 2, "higher_is": "better"},
        {"id": "x_balance", "name": "Balance", "of": ["x_pair", "x_score"], "method": "difference", "higher_is": "better"},
    )
    scores = score_instrument(frame([[4, 2, 5], [4, 2, np.nan]]), instrument)
    # Row 1 by hand: pair = 4 + 5 = 9; score = (4 + (6 - 2) + 5) / 3 = 13/3; balance = 9 - 13/3 = 14/3.
    assert scores.loc[0, "x_balance"] == pytest.approx(14 / 3, abs=1e-12)
    assert math.isnan(scores.loc[1, "x_balance"])  # pair needs both items


def test_scale_reverse_items_override_the_item_flags_for_that_scale_only():
    """LOT-R pessimism style: the same reversed item, scored as answered in one scale."""
    instrument = with_scales(
        {"id": "x_as_answered", "name": "Raw", "items": ["x_1", "x_2"], "method": "sum", "reverse_items": [], "higher_is": "worse"},
    )
    scores = score_instrument(frame([[4, 2, 5]]), instrument)
    assert scores.loc[0, "x_as_answered"] == 4 + 2
    assert scores.loc[0, "x_score"] == (4 + 4 + 5) / 3  # still reversed here


def test_possible_scores_by_hand():
    """Two items on 1..3, mean, one item enough: halves from 1 to 3; a sum of 2 of 3 items prorates by 3/2."""
    from fractions import Fraction

    from pipeline.score import possible_scores

    instrument = with_scales(
        {"id": "x_two", "name": "Two", "items": ["x_1", "x_3"], "method": "mean", "min_items": 1, "higher_is": "better"},
        {"id": "x_sum", "name": "Sum", "items": ["x_1", "x_2", "x_3"], "method": "sum", "min_items": 2, "higher_is": "better"},
    )
    halves = {Fraction(n, 2) for n in range(2, 11)}
    assert possible_scores(instrument, instrument.scale("x_two")) == halves
    sums = possible_scores(instrument, instrument.scale("x_sum"))
    assert set(range(3, 16)) <= sums and Fraction(9, 2) in sums and Fraction(5) in sums
    assert min(sums) == 3 and max(sums) == 15
