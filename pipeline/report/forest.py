"""The forest plot section ("Change on every variable"): the published results as rows of
:func:`pipeline.charts.forest_svg`, oriented so that right is better, and the plot's alt text."""

from __future__ import annotations

import pandas as pd

from ..charts import CHANGED, IMPROVED, NEUTRAL, WORSENED, forest_svg
from ..suppression import TOO_FEW
from .ordering import ordered_for_display
from .words import format_number, improvement_sign

OUTCOME_COLOURS = {"improved": IMPROVED, "worsened": WORSENED, "changed": CHANGED}
NEUTRAL_COLOUR = NEUTRAL


def forest_plot_svg(results: pd.DataFrame, order: list[str] | None = None) -> str:
    """A forest plot of d_z with 95% intervals, oriented so that right is always better.

    For scales where lower is better the sign of d_z and its interval are flipped; scales
    without a direction (``neutral``) are drawn unflipped with a hollow marker. Rows are grouped
    by domain in ``order`` (:func:`ordered_for_display`); :func:`pipeline.charts.forest_svg` draws them.
    """
    rows = []
    for _, row in ordered_for_display(results, order).iterrows():
        if row["outcome"] == TOO_FEW:
            continue  # fewer pairs than the suppression threshold: nothing of it is published
        sign = improvement_sign(row["higher_is"])
        low, high = (row["d_z_ci_low"], row["d_z_ci_high"]) if sign > 0 else (-row["d_z_ci_high"], -row["d_z_ci_low"])
        domain = row["domain"] if isinstance(row["domain"], str) and row["domain"].strip() else "other"
        rows.append(
            {
                "label": display_label(row),
                "estimate": float(row["d_z"] * sign),
                "low": float(low),
                "high": float(high),
                "colour": OUTCOME_COLOURS.get(row["outcome"], NEUTRAL_COLOUR),
                "hollow": row["higher_is"] == "neutral",
                "domain": domain[:1].upper() + domain[1:],
            }
        )
    return forest_svg(rows)


def display_label(row, limit: int = 48) -> str:
    """A forest-plot row label, shortened with an ellipsis so long names cannot squeeze the plot."""
    suffix = " (no direction)" if row["higher_is"] == "neutral" else ""
    label = f"{row['name']} ({row['instrument']}){suffix}"
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "\u2026"


def forest_alt_text(results: pd.DataFrame) -> str:
    improved = results.loc[results["outcome"] == "improved"]
    if improved.empty:
        return "Forest plot of standardized change: no variable changed significantly."
    best = improved.loc[(improved["d_z"] * improved["higher_is"].map(improvement_sign)).idxmax()]
    return (
        f"Forest plot of standardized change (d_z, right is better) for {len(results)} variables: "
        f"{len(improved)} improved significantly, the largest being {best['name']} "
        f"(d_z {format_number(abs(best['d_z']))})."
    )
