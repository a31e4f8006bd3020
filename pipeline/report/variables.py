"""The variable-by-variable section: one panel per variable with its sentence, paired slopes and reliable-change bar."""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup

from ..charts import CHANGED, IMPROVED, NEUTRAL, WORSENED, paired_slopes_svg, svg_data_uri
from ..suppression import TOO_FEW, collapse_small_categories, suppress_count
from .ordering import domain_order, ordered_for_display
from .words import DIRECTION_WORDS, change_in_words, effect_size_in_words, format_number, format_p

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


def variable_panels(run, threshold: int, ranges: dict, correction: str, results: pd.DataFrame | None = None) -> list[dict]:
    """One panel per variable: a sentence of the result, paired slopes and reliable change.

    ``results`` are the published results (:func:`pipeline.suppression.publishable_results`); a
    withheld variable (1 to t − 1 pairs) gets no chart, no bar and no number but its pair count."""
    results = run.results if results is None else results
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
        slopes = paired_slopes_svg(pre, post, low, high, row["higher_is"]) if shown else None
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
                "sentence": panel_sentence(row, low, high, correction),
                "slopes": svg_data_uri(slopes) if slopes else None,
                "slopes_alt": (
                    f"{row['name']}: each line is one participant's score before and after; the mean moved from "
                    f"{format_number(row['mean_pre'])} to {format_number(row['mean_post'])} on the {format_number(low, 0)}"
                    f"\u2013{format_number(high, 0)} scale."
                    if shown
                    else ""
                ),
                "bar": bar["segments"],
                "bar_note": bar["note"],
                "bar_alt": "; ".join(f"{segment['label']}: {segment['percent']}%" for segment in bar["segments"]),
                "suppressed": not shown,
            }
        )
    return panels


def panel_sentence(row, low: float, high: float, correction: str) -> Markup:
    """E.g. "Mean 3.90 before and 4.41 after: a rise of 0.51 on its 1–7 scale (d_z 0.52, medium; adjusted p <.001)"."""
    if row["outcome"] == TOO_FEW:
        return Markup("Too few people answered both times to report any result without giving individual answers away.")
    if math.isnan(row["mean_diff"]):
        return Markup("Not tested: {}").format(row["note"]) if row["note"] else Markup("Not tested.")
    size = effect_size_in_words(row["d_z"]) if not math.isnan(row["d_z"]) else "undefined"
    return Markup("Mean {} before and {} after: {} (d<sub>z</sub> {}, {}; adjusted p {}).").format(
        format_number(row["mean_pre"]),
        format_number(row["mean_post"]),
        change_in_words(row["mean_diff"], row["higher_is"], low, high),
        format_number(row["d_z"]),
        size,
        format_p(row[f"p_{correction}"]),
    )
