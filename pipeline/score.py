"""Score: item responses to scale scores, exactly as each instrument file declares.

Rules (the instrument file holds the numbers; see the README, "Scoring rules"):

* reverse keying is ``min + max - x`` on the instrument's *declared* response range, never the
  range observed in the data (psych's ``reverse.code`` warns of that trap; Revelle, 2025);
* ``mean``: the mean of the answered items;
* ``sum``: prorated, the mean of the answered items times the number of items, computed as
  ``sum of answered x k / answered`` so that a complete response gives exactly the plain sum;
* a respondent with fewer than ``min_items`` answered items gets no score (missing).

Everything here is vectorised over respondents and free of I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .instruments import Instrument, Scale


def reverse_key(values, low: int, high: int):
    """Reverse-key responses on the declared range ``low..high``: ``low + high - x``."""
    return low + high - values


def score_range(instrument: Instrument, scale: Scale) -> tuple[float, float]:
    """The lowest and highest possible score of ``scale`` (a sum spans k x the response range)."""
    factor = len(scale.items) if scale.method == "sum" else 1
    return instrument.response.min * factor, instrument.response.max * factor


def keyed_items(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """The instrument's item columns with reverse-keyed items reversed (missing stays missing)."""
    items = responses[instrument.item_ids].astype(float)
    reverse = [item_id for item_id in instrument.item_ids if item_id in instrument.reverse_item_ids]
    if reverse:
        items[reverse] = reverse_key(items[reverse], instrument.response.min, instrument.response.max)
    return items


def score_scale(keyed: pd.DataFrame, scale: Scale) -> pd.Series:
    """One scale's score per respondent from already reverse-keyed items."""
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
    """All of one instrument's scale scores, one column per scale."""
    keyed = keyed_items(responses, instrument)
    return pd.concat([score_scale(keyed, scale) for scale in instrument.scales], axis=1)


def score_responses(responses: pd.DataFrame, instruments, id_column: str) -> pd.DataFrame:
    """The id column followed by every scale score of every instrument."""
    parts = [responses[[id_column]]] + [score_instrument(responses, instrument) for instrument in instruments]
    return pd.concat(parts, axis=1)
