"""Score: item responses to scale scores, exactly as each instrument file declares.

Rules (the instrument file holds the numbers; see the README, "Scoring rules"):

* reverse keying is ``min + max - x`` on the instrument's *declared* response range, never the
  range observed in the data (psych's ``reverse.code`` warns of that trap; Revelle, 2025); the
  keys are the items' ``reverse`` flags unless a scale gives its own ``reverse_items``;
* ``mean``: the mean of the answered items;
* ``sum``: prorated, the mean of the answered items times the number of items, computed as
  ``sum of answered x k / answered`` so that a complete response gives exactly the plain sum;
* a respondent with fewer than ``min_items`` answered items gets no score (missing);
* ``difference``: the first named scale minus the second (e.g. SPANE-B = P - N; Diener et al.,
  2010), missing when either is missing.

Everything here is vectorised over respondents and free of I/O.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import numpy as np
import pandas as pd

from .instruments import Instrument, Scale


def reverse_key(values, low: int, high: int):
    """Reverse-key responses on the declared range ``low..high``: ``low + high - x``."""
    return low + high - values


def score_range(instrument: Instrument, scale: Scale) -> tuple[float, float]:
    """The lowest and highest possible score of ``scale`` (a sum spans k x the response range)."""
    if scale.is_composite:
        first, second = (score_range(instrument, instrument.scale(part)) for part in scale.of)
        return first[0] - second[1], first[1] - second[0]
    factor = len(scale.items) if scale.method == "sum" else 1
    return instrument.response.min * factor, instrument.response.max * factor


def possible_scores(instrument: Instrument, scale: Scale) -> set[Fraction]:
    """Every score the rules can produce, as exact fractions.

    For ``k`` answered items (``min_items`` to all) the keyed item total ``t`` is any whole
    number from ``k x min`` to ``k x max``; the score is ``t / k`` (mean) or ``t x n / k``
    (prorated sum). Used to prove that published bands leave no reachable score unbanded.
    """
    if scale.is_composite:
        first, second = (possible_scores(instrument, instrument.scale(part)) for part in scale.of)
        return {a - b for a, b in product(first, second)}
    low, high, n = instrument.response.min, instrument.response.max, len(scale.items)
    scores: set[Fraction] = set()
    for answered in range(scale.required_items, n + 1):
        factor = Fraction(n if scale.method == "sum" else 1, answered)
        scores.update(total * factor for total in range(answered * low, answered * high + 1))
    return scores


def keyed_items(responses: pd.DataFrame, instrument: Instrument, scale: Scale) -> pd.DataFrame:
    """The scale's item columns with its reverse-keyed items reversed (missing stays missing)."""
    items = responses[scale.items].astype(float)
    reverse = instrument.reversed_in(scale)
    if reverse:
        items[reverse] = reverse_key(items[reverse], instrument.response.min, instrument.response.max)
    return items


def score_scale(keyed: pd.DataFrame, scale: Scale) -> pd.Series:
    """One item-based scale's score per respondent from already reverse-keyed items."""
    block = keyed[scale.items].to_numpy(dtype=float)
    answered = np.sum(~np.isnan(block), axis=1)
    total = np.nansum(block, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if scale.method == "mean":
            score = total / answered
        else:
            score = total * len(scale.items) / answered
    score[answered < scale.required_items] = np.nan
    return pd.Series(score, index=keyed.index, name=scale.id)


def score_instrument(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """All of one instrument's scale scores, one column per scale, in the file's order."""
    scores = {
        scale.id: score_scale(keyed_items(responses, instrument, scale), scale)
        for scale in instrument.scales
        if not scale.is_composite
    }
    for scale in instrument.scales:
        if scale.is_composite:
            first, second = scale.of
            scores[scale.id] = (scores[first] - scores[second]).rename(scale.id)
    return pd.concat([scores[scale.id] for scale in instrument.scales], axis=1)


def score_responses(responses: pd.DataFrame, instruments, id_column: str) -> pd.DataFrame:
    """The id column followed by every scale score of every instrument."""
    parts = [responses[[id_column]]] + [score_instrument(responses, instrument) for instrument in instruments]
    return pd.concat(parts, axis=1)
