"""The impact report's results table: a row per variable with means, change, d_z and p as published;
in a study with a comparison group, the between-group results (:func:`comparison_results_table`)."""

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


def comparison_results_table(results: pd.DataFrame, threshold: int, correction: str, order: list[str] | None = None) -> list[dict]:
    """One row per variable of a two-group study's published ``results`` (the between-group rows at
    the primary endpoint), by domain in ``order``: each group's pairs and its mean (SD) at the
    baseline and the primary endpoint, the ANCOVA's adjusted difference with its interval, d_ppc2
    with its interval, the difference in differences and the p-values, adjusted and raw."""
    table = []
    for _, row in ordered_for_display(results, order).iterrows():
        table.append(
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "domain": row["domain"] or "other",
                "direction": DIRECTION_WORDS[row["higher_is"]],
                "n_program": suppress_count(int(row["n_program"]), threshold),
                "n_comparison": suppress_count(int(row["n_comparison"]), threshold),
                **{
                    f"{role}_{time}": f"{format_number(row[f'mean_{time}_{role}'])} ({format_number(row[f'sd_{time}_{role}'])})"
                    for role in ("program", "comparison")
                    for time in ("from", "to")
                },
                "difference": format_number(row["ancova_diff"]),
                "difference_ci": f"[{format_number(row['ancova_ci_low'])}, {format_number(row['ancova_ci_high'])}]",
                "d": format_number(row["d_ppc2"]),
                "d_ci": f"[{format_number(row['d_ppc2_ci_low'])}, {format_number(row['d_ppc2_ci_high'])}]",
                "p": format_p(row["ancova_p"]),
                "p_adjusted": format_p(row[f"p_{correction}"]),
                "did": format_number(row["did_diff"]),
                "did_p": format_p(row["did_p"]),
                "did_p_adjusted": format_p(row[f"did_p_{correction}"]),
                "outcome": row["outcome"],
                "note": row["note"] if isinstance(row["note"], str) else "",
            }
        )
    return table
