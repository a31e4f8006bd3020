"""Adjusting p-values across the study's family of scales."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests

#: Our names for the corrections, and statsmodels' (whose default, ``hs``, is Holm-Sidak, not Holm).
METHODS = {"holm": "holm", "fdr": "fdr_bh"}


def adjust_p(p_values, method: str) -> np.ndarray:
    """Adjust p-values across a family, leaving missing ones out of it.

    ``method`` is ``holm`` (Holm, 1979) or ``fdr`` (Benjamini & Hochberg, 1995), matching R's
    ``p.adjust(p, "holm")`` and ``p.adjust(p, "BH")``: a missing p stays missing and does not
    count towards the family size (statsmodels alone would turn every value into NaN).

    >>> adjust_p([0.01, None, 0.04], "holm").round(3).tolist()
    [0.02, nan, 0.04]
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    present = ~np.isnan(p)
    if present.any():
        adjusted[present] = multipletests(p[present], method=METHODS[method])[1]
    return adjusted
