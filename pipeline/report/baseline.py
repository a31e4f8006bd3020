"""The baseline table of a two-group study ("The groups at the start"): each group's baseline n,
mean and SD per variable, the standardized difference and the What Works Clearinghouse reading.

The baseline difference is Hedges' g as the What Works Clearinghouse computes it over everyone
scored at baseline (``baseline_smd`` of ``comparison.csv``), read by the Clearinghouse's rule
(Procedures and Standards Handbook v5.0, 2022): up to 0.05 the groups are *equivalent*, from 0.05
to 0.25 a study must *adjust* for the baseline score (the ANCOVA does), above 0.25 they are *not
equivalent* and no adjustment makes the comparison meet the standard.
"""

from __future__ import annotations

import math

import pandas as pd

from ..suppression import suppress_count
from .ordering import ordered_for_display
from .words import format_number

def baseline_table(results: pd.DataFrame, threshold: int, order: list[str] | None = None) -> list[dict]:
    """One row per variable of the published two-group ``results`` (:func:`pipeline.suppression.publishable_comparison`):
    each group's baseline n (small counts as ``<t``) and mean (SD), ``baseline_smd`` and its
    reading (``equivalence``); "withheld" where the suppression rules blanked them."""
    rows = []
    for _, row in ordered_for_display(results, order).iterrows():
        groups = {}
        for role in ("program", "comparison"):
            mean, sd = row[f"mean_baseline_{role}"], row[f"sd_baseline_{role}"]
            groups[role] = {
                "n": suppress_count(int(row[f"n_baseline_{role}"]), threshold),
                "mean_sd": "withheld" if _missing(mean) else f"{format_number(mean)} ({format_number(sd)})",
            }
        reading = row["baseline_equivalence"]
        rows.append(
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "domain": row["domain"] or "other",
                "program": groups["program"],
                "comparison": groups["comparison"],
                "smd": "withheld" if _missing(row["baseline_smd"]) else format_number(row["baseline_smd"]),
                "equivalence": reading if isinstance(reading, str) else "",
                "withheld": _missing(row["baseline_smd"]),
            }
        )
    return rows


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
