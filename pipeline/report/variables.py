"""The variable-by-variable section: one panel per variable with its sentence, paired slopes (two
waves) or the trajectory of its model means (three or more), and its reliable-change bar; in a
study with a comparison group, the between-group result and both groups' trajectories
(:func:`comparison_panels`)."""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup

from ..charts import (
    CHANGED, IMPROVED, NEUTRAL, SLOPE_LINES_MAX, WORSENED, groups_trajectory_svg, groups_trajectory_title, paired_slopes_svg, svg_data_uri, trajectory_svg,
    trajectory_title,
)  # fmt: skip
from ..suppression import TOO_FEW, collapse_small_categories, suppress_count
from .ordering import domain_order, ordered_for_display
from .words import (
    COMPARISON_OUTCOME_WORDS, DIRECTION_WORDS, change_in_words, difference_amount, effect_size_in_words, format_number, format_p,
    label_in_sentence,
)  # fmt: skip

RCI_ORDER = {
    "directional": [("improved", "improved"), ("unchanged", "no reliable change"), ("deteriorated", "deteriorated")],
    "neutral": [("increased", "increased"), ("unchanged", "no reliable change"), ("decreased", "decreased")],
}
RCI_COLOURS = {"improved": IMPROVED, "deteriorated": WORSENED, "increased": CHANGED, "decreased": CHANGED}
RCI_UNCHANGED_COLOUR = "#c9ced6"  # lighter than NEUTRAL, which marks merged categories


def reliable_change_bar(categories: pd.Series, higher_is: str, threshold: int) -> dict:
    """A 100% bar of reliable change (Jacobson & Truax, 1991) for publication.

    ``categories`` holds each paired participant's category for one variable. Categories of 1 to
    threshold − 1 people are merged with a neighbour (:func:`collapse_small_categories`), so no
    small count can be read off the bar; when both directions are small but together reach the
    threshold they are shown together as "reliable change either way". When everything would
    merge into one bar, no bar is drawn and ``note`` says why. Segments: label, percent (whole
    number), width and colour.
    """
    order = RCI_ORDER["neutral" if higher_is == "neutral" else "directional"]
    counts = categories.value_counts()
    total = int(counts.sum())
    if total == 0:
        return {"segments": [], "note": "Reliable change not computed for this variable."}
    sizes = [(words, int(counts.get(key, 0))) for key, words in order]
    (up, n_up), (same, n_same), (down, n_down) = sizes
    both_small = 0 < n_up < threshold and 0 < n_down < threshold
    if both_small and n_up + n_down >= threshold and n_same >= threshold:
        segments = [("reliable change either way", n_up + n_down), (same, n_same)]
    else:
        segments = collapse_small_categories(sizes, threshold)
    if len(segments) == 1 and " or " in segments[0][0]:
        return {"segments": [], "note": f"Reliable change: not shown, because a group would have fewer than {threshold} people."}
    colour_of = {words: RCI_COLOURS.get(key, RCI_UNCHANGED_COLOUR) for key, words in order}
    return {
        "segments": [
            {"label": label, "percent": round(100 * n / total), "width": 100 * n / total, "colour": colour_of.get(label, NEUTRAL)}
            for label, n in segments
        ],
        "note": "",
    }


def variable_panels(
    run,
    threshold: int,
    ranges: dict,
    correction: str,
    results: pd.DataFrame | None = None,
    changes: pd.DataFrame | None = None,
    trajectory: pd.DataFrame | None = None,
) -> list[dict]:
    """One panel per variable: a sentence of the result, paired slopes and reliable change.

    ``results`` are the published results (:func:`pipeline.suppression.publishable_results`); a
    withheld variable (1 to t − 1 pairs) gets no chart, no bar and no number but its pair count.
    With three or more waves the chart is the variable's trajectory (its model means in the
    published ``trajectory``, :func:`pipeline.charts.trajectory_svg`) and the sentence adds each
    other later wave's change from the baseline (published ``changes``)."""
    results = run.results if results is None else results
    study = run.study
    several = len(study.wave_names) > 2 and changes is not None and trajectory is not None
    means = dict(tuple(trajectory.groupby("variable", sort=False))) if several else {}
    contrasts = changes.loc[changes["from_wave"] == study.baseline].set_index(["variable", "to_wave"]) if several else None
    panels = []
    paired = dict(tuple(run.paired.groupby("variable", sort=False)))
    changes = run.reliable_change.groupby("variable")["category"]
    position_in_domain = {}
    for _, row in ordered_for_display(results, domain_order(run.study)).iterrows():
        domain = row["domain"] or "other"
        position_in_domain[domain] = position_in_domain.get(domain, -1) + 1
        low, high = ranges[row["variable"]]
        pairs = paired.get(row["variable"], run.paired.iloc[:0])
        pre, post = pairs["baseline"].to_numpy(dtype=float), pairs["primary"].to_numpy(dtype=float)
        n = len(pre)
        shown = n >= max(threshold, 2) and row["outcome"] != TOO_FEW
        slopes = paired_slopes_svg(pre, post, low, high, row["higher_is"]) if shown and not several else None
        chart = trajectory_panel(study, row, means.get(row["variable"]), low, high) if shown and several else {}
        categories = changes.get_group(row["variable"]).dropna() if row["variable"] in changes.groups else pd.Series(dtype=object)
        bar = reliable_change_bar(categories, row["higher_is"], threshold) if shown else {"segments": [], "note": ""}
        panels.append(
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "domain": domain,
                "left": position_in_domain[domain] % 2 == 0,  # panels sit two abreast under each domain heading
                "direction": DIRECTION_WORDS[row["higher_is"]],
                "n_pairs": suppress_count(n, threshold),
                "outcome": row["outcome"],
                "sentence": panel_sentence(row, low, high, correction, study if several else None),
                "later": later_wave_lines(study, row, contrasts, correction) if several else [],
                "slopes": svg_data_uri(slopes) if slopes else None,
                "sampled": bool(slopes) and n > SLOPE_LINES_MAX,
                "slopes_alt": (
                    f"{row['name']}: each line is one participant's score before and after"
                    + (f", for {SLOPE_LINES_MAX:,} of the {n:,} participants drawn at random" if n > SLOPE_LINES_MAX else "")
                    + "; the mean moved from "
                    f"{format_number(row['mean_pre'])} to {format_number(row['mean_post'])} on the {format_number(low, 0)}"
                    f"\u2013{format_number(high, 0)} scale."
                    if slopes
                    else ""
                ),
                "trajectory": chart.get("svg"),
                "trajectory_alt": chart.get("alt", ""),
                "chart_note": chart.get("note", ""),
                "bar": bar["segments"],
                "bar_note": bar["note"],
                "bar_alt": "; ".join(f"{segment['label']}: {segment['percent']}%" for segment in bar["segments"]),
                "suppressed": not shown,
            }
        )
    return panels


def trajectory_panel(study, row, trajectory: pd.DataFrame | None, low: float, high: float) -> dict:
    """The trajectory chart of one variable from its published trajectory rows: the SVG as a
    ``data:`` URL and its alt text, or a note when fewer than two waves' model means are shown."""
    if trajectory is None:
        return {"note": "No chart: the mixed model gave no means for this variable."}
    by_wave = trajectory.set_index("wave")
    waves = [
        {
            "label": study.wave_label(wave),
            "weeks": study.config.waves[wave].weeks,
            "mean": by_wave.loc[wave, "lmm_mean"] if wave in by_wave.index else float("nan"),
            "low": by_wave.loc[wave, "lmm_ci_low"] if wave in by_wave.index else float("nan"),
            "high": by_wave.loc[wave, "lmm_ci_high"] if wave in by_wave.index else float("nan"),
        }
        for wave in study.wave_names
    ]
    if sum(not math.isnan(float(wave["mean"])) for wave in waves) < 2:
        return {"note": "No chart: the model's means are withheld, because too few people answered at some wave."}
    scale = f"{format_number(low, 0)}\u2013{format_number(high, 0)}"
    return {
        "svg": svg_data_uri(trajectory_svg(waves, low, high, row["name"])),
        "alt": f"{trajectory_title(waves, row['name'])}, on the {scale} scale.",
    }


def later_wave_lines(study, row, contrasts: pd.DataFrame, correction: str) -> list[Markup]:
    """One line per later wave other than the primary endpoint: that wave's change from the baseline (published)."""
    if row["outcome"] == TOO_FEW:
        return []
    start = label_in_sentence(study.wave_label(study.baseline))
    lines = []
    for wave in study.later_waves:
        if wave == study.primary:
            continue
        label = study.wave_label(wave)
        if (row["variable"], wave) not in contrasts.index:
            continue
        change = contrasts.loc[(row["variable"], wave)]
        if change["outcome"] == TOO_FEW:
            lines.append(Markup("{}: too few answers to report.").format(label))
        elif math.isnan(change["d_z"]):
            lines.append(Markup("{}: not tested.").format(label))
        else:
            lines.append(
                Markup("{}: mean {}, d<sub>z</sub> {} against {} (adjusted p {}; {}).").format(
                    label, format_number(change["mean_to"]), format_number(change["d_z"]), start,
                    format_p(change[f"p_{correction}"]), change["outcome"],
                )
            )
    return lines


def panel_sentence(row, low: float, high: float, correction: str, study=None) -> Markup:
    """E.g. "Mean 3.90 before and 4.41 after: a rise of 0.51 on its 1–7 scale (d_z 0.52, medium; adjusted p <.001)".

    With the ``study`` of three or more waves, the waves are named by their labels ("Mean 3.90 at
    Start of program and 4.41 at End of program: ...")."""
    if row["outcome"] == TOO_FEW:
        if study is not None:
            return Markup("Too few people answered at {} and at {} to report any result without giving individual answers away.").format(
                study.wave_label(study.baseline), study.wave_label(study.primary)
            )
        return Markup("Too few people answered both times to report any result without giving individual answers away.")
    if math.isnan(row["mean_diff"]):
        return Markup("Not tested: {}").format(row["note"]) if row["note"] else Markup("Not tested.")
    size = effect_size_in_words(row["d_z"]) if not math.isnan(row["d_z"]) else "undefined"
    numbers = (
        change_in_words(row["mean_diff"], row["higher_is"], low, high),
        format_number(row["d_z"]),
        size,
        format_p(row[f"p_{correction}"]),
    )
    if study is not None:
        return Markup("Mean {} at {} and {} at {}: {} (d<sub>z</sub> {}, {}; adjusted p {}).").format(
            format_number(row["mean_pre"]), study.wave_label(study.baseline), format_number(row["mean_post"]), study.wave_label(study.primary), *numbers
        )
    return Markup("Mean {} before and {} after: {} (d<sub>z</sub> {}, {}; adjusted p {}).").format(
        format_number(row["mean_pre"]), format_number(row["mean_post"]), *numbers
    )


# --- two groups -----------------------------------------------------------------------------

def comparison_panels(
    run, threshold: int, ranges: dict, correction: str, results: pd.DataFrame, comparison: pd.DataFrame,
    trajectory: pd.DataFrame, names: dict, design,
) -> list[dict]:  # fmt: skip
    """One panel per variable of a two-group study: the between-group result in a sentence and
    both groups' trajectories in one chart (:func:`pipeline.charts.groups_trajectory_svg`: each
    group's mixed-model mean at every wave with its 95% interval, from the published
    ``trajectory``). ``results`` (the primary endpoint) and ``comparison`` (every later wave) as
    published; a withheld variable gets no chart and no number. The chart describes each group;
    the sentence, not the chart, carries the comparison."""
    study = run.study
    means = dict(tuple(trajectory.groupby("variable", sort=False))) if not trajectory.empty else {}
    others = comparison.set_index(["variable", "wave"]) if not comparison.empty else None
    panels, position_in_domain = [], {}
    for _, row in ordered_for_display(results, domain_order(study)).iterrows():
        domain = row["domain"] or "other"
        position_in_domain[domain] = position_in_domain.get(domain, -1) + 1
        low, high = ranges[row["variable"]]
        shown = row["outcome"] != TOO_FEW
        chart = groups_trajectory_panel(study, row, means.get(row["variable"]), low, high, names) if shown else {}
        panels.append(
            {
                "name": row["name"],
                "instrument": row["instrument"],
                "domain": domain,
                "left": position_in_domain[domain] % 2 == 0,
                "direction": DIRECTION_WORDS[row["higher_is"]],
                "n_pairs": f"{suppress_count(int(row['n_program']), threshold)} and {suppress_count(int(row['n_comparison']), threshold)}",
                "outcome": row["outcome"],
                "sentence": comparison_sentence(row, low, high, correction, study, names, design),
                "later": comparison_wave_lines(study, row, others, correction) if others is not None else [],
                "trajectory": chart.get("svg"),
                "trajectory_alt": chart.get("alt", ""),
                "chart_note": chart.get("note", ""),
                "suppressed": not shown,
            }
        )
    return panels


def groups_trajectory_panel(study, row, trajectory: pd.DataFrame | None, low: float, high: float, names: dict) -> dict:
    """Both groups' trajectory chart of one variable from its published trajectory rows (``group``
    column): the SVG as a ``data:`` URL and its alt text, or a note when neither group has two waves' means."""
    if trajectory is None:
        return {"note": "No chart: the mixed model gave no means for this variable."}
    series = []
    for role in ("program", "comparison"):
        by_wave = trajectory.loc[trajectory["group"] == role].set_index("wave")
        waves = [
            {
                "label": study.wave_label(wave),
                "weeks": study.config.waves[wave].weeks,
                **{key: by_wave.loc[wave, column] if wave in by_wave.index else float("nan")
                   for key, column in (("mean", "lmm_mean"), ("low", "lmm_ci_low"), ("high", "lmm_ci_high"))},
            }
            for wave in study.wave_names
        ]  # fmt: skip
        series.append({"label": names[role], "waves": waves})
    if all(sum(not math.isnan(float(wave["mean"])) for wave in group["waves"]) < 2 for group in series):
        return {"note": "No chart: the model's means are withheld, because too few people answered at some wave."}
    scale = f"{format_number(low, 0)}\u2013{format_number(high, 0)}"
    return {
        "svg": svg_data_uri(groups_trajectory_svg(series, low, high, row["name"])),
        "alt": f"{groups_trajectory_title(series, row['name'])}, on the {scale} scale.",
    }


def comparison_sentence(row, low: float, high: float, correction: str, study, names: dict, design) -> Markup:
    """The between-group result of one variable at the primary endpoint, e.g. "At End of program,
    adjusted for the starting score, participants of Purpose Pathways scored 0.46 higher than the
    Waitlist group (95% CI of the difference 0.23 to 0.68; d_ppc2 0.37, small; adjusted p <.001).
    The scale runs from 1 to 7."
    Without randomisation the difference in differences follows, with its adjusted p."""
    if row["outcome"] == TOO_FEW:
        return Markup("Too few people of a group answered at {} and at {} to report any result without giving individual answers away.").format(
            study.wave_label(study.baseline), study.wave_label(study.primary)
        )
    if math.isnan(row["ancova_diff"]):
        return Markup("Not tested: {}").format(row["note"]) if row["note"] else Markup("Not tested.")
    size = effect_size_in_words(row["d_ppc2"]) if not math.isnan(row["d_ppc2"]) else "undefined"
    sentence = Markup(
        "At {}, adjusted for the starting score, participants of {} scored {} than {} (95% CI of the difference {} to {}; "
        "d<sub>ppc2</sub> {}, {}; adjusted p {})."
    ).format(
        study.wave_label(study.primary), names["program_in_sentence"],
        difference_amount(row["ancova_diff"]),
        names["comparison_in_sentence"], format_number(row["ancova_ci_low"]), format_number(row["ancova_ci_high"]),
        format_number(row["d_ppc2"]), size, format_p(row[f"p_{correction}"]),
    )  # fmt: skip
    scale = f" The scale runs from {format_number(low, 0)} to {format_number(high, 0)}" + (", and lower is better." if row["higher_is"] == "worse" else ".")
    sentence += Markup(scale)
    if not design.randomised and not math.isnan(row["did_diff"]):
        sentence += Markup(" The difference in differences (change in {} minus change in {}) was {} (adjusted p {}).").format(
            names["program_in_sentence"], names["comparison_in_sentence"], format_number(row["did_diff"]), format_p(row[f"did_p_{correction}"])
        )
    return sentence


def comparison_wave_lines(study, row, comparison: pd.DataFrame, correction: str) -> list[Markup]:
    """One line per later wave other than the primary endpoint: the groups' adjusted difference then (published)."""
    if row["outcome"] == TOO_FEW:
        return []
    lines = []
    for wave in study.later_waves:
        if wave == study.primary or (row["variable"], wave) not in comparison.index:
            continue
        other = comparison.loc[(row["variable"], wave)]
        label = study.wave_label(wave)
        if other["outcome"] == TOO_FEW:
            lines.append(Markup("{}: too few answers to report.").format(label))
        elif math.isnan(other["ancova_diff"]):
            lines.append(Markup("{}: not tested.").format(label))
        else:
            lines.append(
                Markup("{}: adjusted difference {} (95% CI {} to {}), d<sub>ppc2</sub> {} (adjusted p {}; {}).").format(
                    label, format_number(other["ancova_diff"]), format_number(other["ancova_ci_low"]), format_number(other["ancova_ci_high"]),
                    format_number(other["d_ppc2"]), format_p(other[f"p_{correction}"]), COMPARISON_OUTCOME_WORDS.get(other["outcome"], other["outcome"]),
                )  # fmt: skip
            )
    return lines
