"""The forest plot section ("Change on every variable"): the published results as rows of
:func:`pipeline.charts.forest_svg`, oriented so that right is better, and the plot's alt text; in a
study with a comparison group, the standardized difference between the groups
(:func:`comparison_forest_svg`)."""

from __future__ import annotations

import pandas as pd

from ..charts import CHANGED, IMPROVED, NEUTRAL, SHAPES, WORSENED, forest_parts, forest_svg
from ..suppression import TOO_FEW
from .ordering import ordered_for_display
from .words import format_number, improvement_sign

OUTCOME_COLOURS = {"improved": IMPROVED, "worsened": WORSENED, "changed": CHANGED}
NEUTRAL_COLOUR = NEUTRAL


def forest_plot_svg(results: pd.DataFrame, order: list[str] | None = None, changes: pd.DataFrame | None = None, study=None) -> str | list[str]:
    """A forest plot of d_z with 95% intervals, oriented so that right is always better.

    For scales where lower is better the sign of d_z and its interval are flipped; scales
    without a direction (``neutral``) are drawn unflipped with a hollow marker. Rows are grouped
    by domain in ``order`` (:func:`ordered_for_display`); :func:`pipeline.charts.forest_svg` draws them.

    With ``changes`` and the ``study`` of three or more waves, each variable shows one interval
    per later wave (its change from the baseline, coloured by that contrast's outcome), marked
    by shape with a legend of the waves' labels; a wave with too few pairs is named "too few".
    That plot is returned as a list of SVGs, split over pages when it is too tall for one
    (:func:`pipeline.charts.forest_parts`).
    """
    several = study is not None and changes is not None and not changes.empty and len(study.wave_names) > 2
    later = list(study.later_waves) if several else []
    by_wave = {}
    if several:
        rows_of = changes.loc[changes["from_wave"] == study.baseline]
        by_wave = {wave: rows_of.loc[rows_of["to_wave"] == wave].set_index("variable") for wave in later}
    rows = []
    for _, row in ordered_for_display(results, order).iterrows():
        if row["outcome"] == TOO_FEW:
            continue  # fewer pairs than the suppression threshold: nothing of it is published
        domain = row["domain"] if isinstance(row["domain"], str) and row["domain"].strip() else "other"
        entry = {"label": display_label(row), "domain": domain[:1].upper() + domain[1:], **forest_point(row)}
        if several:
            entry["points"] = [wave_point(by_wave[wave], row, study.wave_label(wave), SHAPES[index % len(SHAPES)]) for index, wave in enumerate(later)]
        rows.append(entry)
    if not several:
        return forest_svg(rows)
    return forest_parts(rows, [(study.wave_label(wave), SHAPES[index % len(SHAPES)]) for index, wave in enumerate(later)])


def wave_point(contrast: pd.DataFrame, row, label: str, shape: str) -> dict:
    """The interval of one later wave for the variable of results ``row``, from its change rows ``contrast`` (by variable)."""
    if row["variable"] not in contrast.index:
        return {"estimate": float("nan"), "low": float("nan"), "high": float("nan"), "colour": NEUTRAL_COLOUR, "hollow": False,
                "series": label, "shape": shape, "note": "not tested"}  # fmt: skip
    change = contrast.loc[row["variable"]].to_dict() | {"higher_is": row["higher_is"]}
    return forest_point(change) | {"series": label, "shape": shape, "note": "too few" if change["outcome"] == TOO_FEW else "not tested"}


def forest_point(row) -> dict:
    """One interval of the forest plot from a results (or changes) row: d_z and its interval, flipped when lower is better."""
    sign = improvement_sign(row["higher_is"])
    low, high = (row["d_z_ci_low"], row["d_z_ci_high"]) if sign > 0 else (-row["d_z_ci_high"], -row["d_z_ci_low"])
    return {
        "estimate": float(row["d_z"] * sign),
        "low": float(low),
        "high": float(high),
        "colour": OUTCOME_COLOURS.get(row["outcome"], NEUTRAL_COLOUR),
        "hollow": row["higher_is"] == "neutral",
    }


def display_label(row, limit: int = 48) -> str:
    """A forest-plot row label, shortened with an ellipsis so long names cannot squeeze the plot."""
    suffix = " (no direction)" if row["higher_is"] == "neutral" else ""
    label = f"{row['name']} ({row['instrument']}){suffix}"
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "\u2026"


def forest_alt_text(results: pd.DataFrame, changes: pd.DataFrame | None = None, study=None) -> str:
    """The forest plot's finding in words (its ``<img>`` alt text); with three or more waves also how many improved at each later wave."""
    improved = results.loc[results["outcome"] == "improved"]
    several = study is not None and changes is not None and not changes.empty and len(study.wave_names) > 2
    waves = ""
    if several:
        counts = []
        for wave in study.later_waves:
            rows = changes.loc[(changes["from_wave"] == study.baseline) & (changes["to_wave"] == wave)]
            counts.append(f"{int((rows['outcome'] == 'improved').sum())} at {study.wave_label(wave)}")
        waves = f" Improved against {study.wave_label(study.baseline)}: {', '.join(counts)}."
    if improved.empty:
        return "Forest plot of standardized change: no variable changed significantly." + waves
    best = improved.loc[(improved["d_z"] * improved["higher_is"].map(improvement_sign)).idxmax()]
    return (
        f"Forest plot of standardized change (d_z, right is better) for {len(results)} variables: "
        f"{len(improved)} improved significantly, the largest being {best['name']} "
        f"(d_z {format_number(abs(best['d_z']))})." + waves
    )


# --- two groups -----------------------------------------------------------------------------

#: The colour of a between-group interval by its ``outcome`` (comparison.csv), as the one-group plot colours change.
COMPARISON_COLOURS = {"program better": IMPROVED, "program worse": WORSENED, "different": CHANGED}
#: The x axis of the between-group forest plot: Morris's (2008) d_ppc2, right = better for the program.
COMPARISON_AXIS = ("Group difference", "ppc2", " with 95% interval (right = program better)")
COMPARISON_SUBJECT = "the standardized difference between the groups (d_ppc2)"


def comparison_point(row) -> dict:
    """One interval of the between-group forest plot from a comparison row: d_ppc2 (program −
    comparison, Morris, 2008) and its interval, flipped when lower is better so that right is
    better for the program; a scale without a direction unflipped with a hollow marker."""
    sign = improvement_sign(row["higher_is"])
    low, high = (row["d_ppc2_ci_low"], row["d_ppc2_ci_high"]) if sign > 0 else (-row["d_ppc2_ci_high"], -row["d_ppc2_ci_low"])
    return {
        "estimate": float(row["d_ppc2"] * sign),
        "low": float(low),
        "high": float(high),
        "colour": COMPARISON_COLOURS.get(row["outcome"], NEUTRAL_COLOUR),
        "hollow": row["higher_is"] == "neutral",
    }


def comparison_forest_svg(results: pd.DataFrame, order: list[str] | None = None, comparison: pd.DataFrame | None = None, study=None) -> list[str]:
    """The forest plot of a two-group study: d_ppc2 with its 95% interval per variable (the
    published ``results``, the primary endpoint), right = better for the program, coloured by
    ``outcome`` (:data:`COMPARISON_COLOURS`), rows by domain in ``order``; a variable withheld for
    small numbers is left out. With the published ``comparison`` of a ``study`` of three or more
    waves, one interval per later wave (told apart by shape, with a legend), as the one-group
    plot of :func:`forest_plot_svg`. Returned as a list of SVGs, split over pages when too tall
    (:func:`pipeline.charts.forest_parts`)."""
    several = study is not None and comparison is not None and not comparison.empty and len(study.wave_names) > 2
    later = list(study.later_waves) if several else []
    by_wave = {wave: comparison.loc[comparison["wave"] == wave].set_index("variable") for wave in later}
    rows = []
    for _, row in ordered_for_display(results, order).iterrows():
        if row["outcome"] == TOO_FEW:
            continue
        domain = row["domain"] if isinstance(row["domain"], str) and row["domain"].strip() else "other"
        entry = {"label": display_label(row), "domain": domain[:1].upper() + domain[1:], **comparison_point(row)}
        if several:
            points = []
            for index, wave in enumerate(later):
                series = {"series": study.wave_label(wave), "shape": SHAPES[index % len(SHAPES)]}
                if row["variable"] not in by_wave[wave].index:
                    points.append({"estimate": float("nan"), "low": float("nan"), "high": float("nan"), "colour": NEUTRAL_COLOUR,
                                   "hollow": False, "note": "not tested", **series})  # fmt: skip
                    continue
                other = by_wave[wave].loc[row["variable"]].to_dict() | {"higher_is": row["higher_is"]}
                points.append(comparison_point(other) | series | {"note": "too few" if other["outcome"] == TOO_FEW else "not tested"})
            entry["points"] = points
        rows.append(entry)
    legend = [(study.wave_label(wave), SHAPES[index % len(SHAPES)]) for index, wave in enumerate(later)] if several else None
    return forest_parts(rows, legend, axis=COMPARISON_AXIS, subject=COMPARISON_SUBJECT)


def comparison_forest_alt_text(results: pd.DataFrame, names: dict) -> str:
    """The between-group forest plot's finding in words (its ``<img>`` alt text)."""
    better = results.loc[results["outcome"] == "program better"]
    reported = int((results["outcome"] != TOO_FEW).sum())
    opening = (
        f"Forest plot of the standardized difference between the groups (d_ppc2, right is better for {names['program']}) "
        f"for {reported} variables: "
    )
    if better.empty:
        return opening + f"on none did {names['program_in_sentence']} do significantly better than {names['comparison_in_sentence']}."
    best = better.loc[(better["d_ppc2"] * better["higher_is"].map(improvement_sign)).idxmax()]
    return opening + (
        f"on {len(better)}, participants of {names['program_in_sentence']} did significantly better than {names['comparison_in_sentence']}, "
        f"the largest difference being on {best['name']} (d_ppc2 {format_number(abs(best['d_ppc2']))})."
    )
