"""The impact report's results table: a row per variable with means, change, d_z and p as published."""

from __future__ import annotations

import pandas as pd

from ..suppression import suppress_count
from .ordering import ordered_for_display
from .words import DIRECTION_WORDS, format_number, format_p


def results_table(results: pd.DataFrame, threshold: int, correction: str, order: list[str] | None = None) -> list[dict]:
    """One row per variable of the published ``results``, grouped by domain in ``order``, numbers formatted for reading."""
    table = []
    for _, row in ordered_for_display(results, order).iterrows():
        table.append(
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "domain": row["domain"] or "other",
                "direction": DIRECTION_WORDS[row["higher_is"]],
                "n_pairs": suppress_count(int(row["n_pairs"]), threshold),
                "pre": f"{format_number(row['mean_pre'])} ({format_number(row['sd_pre'])})",
                "post": f"{format_number(row['mean_post'])} ({format_number(row['sd_post'])})",
                "change": format_number(row["mean_diff"]),
                "change_ci": f"[{format_number(row['ci_low'])}, {format_number(row['ci_high'])}]",
                "d_z": format_number(row["d_z"]),
                "d_z_ci": f"[{format_number(row['d_z_ci_low'])}, {format_number(row['d_z_ci_high'])}]",
                "p": format_p(row["p"]),
                "p_adjusted": format_p(row[f"p_{correction}"]),
                "outcome": row["outcome"],
                "note": row["note"],
            }
        )
    return table
