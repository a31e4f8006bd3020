"""The summary's headline: how many variables improved, worsened or changed, and each of them in words."""

from __future__ import annotations

import pandas as pd

from ..analyze import classify_outcome
from ..suppression import TOO_FEW
from .words import change_in_words, effect_size_in_words, format_number


def improved_before_correction(results: pd.DataFrame, alpha: float) -> int:
    """How many variables ``classify_outcome`` calls improved when given the unadjusted p."""
    outcomes = map(classify_outcome, results["mean_diff"], results["p"], results["higher_is"], [alpha] * len(results))
    return sum(outcome == "improved" for outcome in outcomes)


def headline(results: pd.DataFrame, correction_name: str, ranges: dict[str, tuple[float, float]], alpha: float = 0.05) -> dict:
    """Counts for the headline sentence and the variables that improved, worsened or changed, in words."""

    def named(outcome: str) -> list[dict]:
        rows = results.loc[results["outcome"] == outcome]
        return [
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "change": change_in_words(row["mean_diff"], row["higher_is"], *ranges[row["variable"]]),
                "d_z": format_number(row["d_z"]),
                "size": effect_size_in_words(row["d_z"]),
            }
            for _, row in rows.iterrows()
        ]

    improved, worsened, changed = named("improved"), named("worsened"), named("changed")
    withheld = int((results["outcome"] == TOO_FEW).sum())
    reported = f"{len(results)} variables" if not withheld else f"the {len(results) - withheld} variables with enough pairs to report"
    return {
        "total": len(results),
        "withheld": withheld,
        "improved": improved,
        "worsened": worsened,
        "changed": changed,
        "before_correction": improved_before_correction(results, alpha),
        "sentence": f"Significant improvement in {len(improved)} of {reported}",
        "correction_name": correction_name,
    }
