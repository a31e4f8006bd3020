"""Report: the funder's impact report and the researcher's technical report, as HTML and PDF.

Both reports are jinja2 templates with autoescaping on for every template (study names, labels
and any text from data are shown as text, never run as markup) and undefined variables refused.
WeasyPrint renders them with a URL fetcher that may read only ``data:`` URLs, the package's own
``assets/`` folder and the files the study declares (its logo): no network, no redirects, no
other local file.

Only aggregates reach either PDF: no participant id, no free text. Counts follow the small-cell
rules of :mod:`pipeline.suppression` with the study's ``report.suppression_threshold``.
Participant-level scores appear in the funder's report only as unlabelled lines of the paired
slope charts, drawn only for variables with at least that many pairs.
"""

from __future__ import annotations

import base64
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import jinja2
import pandas as pd
from markupsafe import Markup

from .analyze import classify_outcome, paired_scores, scores_by_wave
from .charts import CHANGED, IMPROVED, NEUTRAL, WORSENED, flow_diagram_svg, forest_svg, paired_slopes_svg, svg_data_uri
from .errors import PipelineError, shorten
from .provenance import manifest
from .score import score_range
from .suppression import TOO_FEW, collapse_small_categories, publish_counts, publishable_attrition, publishable_results, suppress_count

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
ASSETS_DIR = PACKAGE_DIR / "assets"


OUTCOME_COLOURS = {"improved": IMPROVED, "worsened": WORSENED, "changed": CHANGED}
NEUTRAL_COLOUR = NEUTRAL
DOMAIN_ORDER = ["wellbeing", "meaning and purpose", "career", "distress"]


# --- numbers as words and text -------------------------------------------------------------

def format_number(value: float, digits: int = 2) -> str:
    """A statistic rounded for reading, with a real minus sign; an em dash when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2014"
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


def format_p(p: float) -> str:
    """APA style: three decimals without a leading zero, ``<.001`` below that (APA, 2020, 6.36)."""
    if p is None or math.isnan(p):
        return "\u2014"
    if p < 0.001:
        return "<.001"
    return f"{p:.3f}".lstrip("0")


def improvement_sign(higher_is: str) -> int:
    """+1 when an increase is an improvement (or the scale has no direction), -1 when a decrease is."""
    return -1 if higher_is == "worse" else 1


# --- the forest plot -----------------------------------------------------------------------

def forest_plot_svg(results: pd.DataFrame) -> str:
    """A forest plot of d_z with 95% intervals, oriented so that right is always better.

    For scales where lower is better the sign of d_z and its interval are flipped; scales
    without a direction (``neutral``) are drawn unflipped with a hollow marker. Rows are grouped
    by domain (:func:`ordered_for_display`); :func:`pipeline.charts.forest_svg` draws them.
    """
    rows = []
    for _, row in ordered_for_display(results).iterrows():
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


def ordered_for_display(results: pd.DataFrame) -> pd.DataFrame:
    """Results grouped by domain in a fixed order, keeping the study's order within a domain."""
    rank = {domain: index for index, domain in enumerate(DOMAIN_ORDER)}
    key = results["domain"].fillna("").map(lambda d: rank.get(d, len(rank)))
    return results.assign(_rank=key).sort_values("_rank", kind="stable").drop(columns="_rank")


# --- the report's content ------------------------------------------------------------------

#: Cohen's (1988) rough benchmarks for the size of a standardized difference.
EFFECT_SIZE_WORDS = [(0.2, "very small"), (0.5, "small"), (0.8, "medium"), (math.inf, "large")]

#: Exclusion reasons (pipeline.validate.EXCLUSION_REASONS) in a funder's words.
REASON_WORDS = {
    "preview": "previews and tests",
    "spam": "flagged as spam",
    "unfinished": "not finished",
    "no_consent": "no consent",
    "empty": "no usable answers",
    "missing_id": "no participant id",
    "invalid_id": "unreadable participant id",
    "duplicate": "repeat answers of one person",
}

CORRECTION_NAMES = {"holm": "Holm (1979)", "fdr": "Benjamini\u2013Hochberg (1995) false discovery rate"}
DIRECTION_WORDS = {"better": "higher is better", "worse": "lower is better", "neutral": "no preferred direction"}


def effect_size_in_words(d: float) -> str:
    """The size of ``|d|`` by Cohen's (1988) benchmarks: very small (< 0.2), small, medium (>= 0.5), large (>= 0.8).

    >>> effect_size_in_words(-0.55)
    'medium'
    """
    return next(words for bound, words in EFFECT_SIZE_WORDS if abs(d) < bound)


def change_in_words(mean_diff: float, higher_is: str, low: float, high: float) -> str:
    """E.g. "a drop of 2.95 on its 20\u201380 scale, where lower is better"."""
    movement = "a rise" if mean_diff > 0 else "a drop"
    where = ", where lower is better" if higher_is == "worse" else ""
    return f"{movement} of {format_number(abs(mean_diff))} on its {format_number(low, 0)}\u2013{format_number(high, 0)} scale{where}"


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


def participant_flow(run, threshold: int, results: pd.DataFrame | None = None) -> dict:
    """The participant flow as published: the boxes of the diagram, with small counts suppressed.

    Main chain: (enrolled, when ``study.yaml`` declares it) → answers received at baseline → valid
    at baseline → valid at both times (matched) → analysed per variable. Side boxes give the
    exclusions by reason and the follow-up wave. Counts follow :func:`publish_counts`.
    """
    flow = dict(run.flow)
    counts, totals = dict(flow), []
    reasons = {}
    for wave in ("pre", "post"):
        reasons[wave] = [key for key in flow if key.startswith(f"excluded_{wave}_")]
        counts[f"excluded_{wave}"] = sum(flow[key] for key in reasons[wave])
        totals += [(f"excluded_{wave}", reasons[wave]), (f"rows_{wave}", [f"valid_{wave}", f"excluded_{wave}"])]
    totals += [("valid_pre", ["matched", "pre_only"]), ("valid_post", ["matched", "post_only"])]
    enrolled = run.study.config.enrolled
    if enrolled is not None and enrolled >= flow["valid_pre"]:
        counts |= {"enrolled": enrolled, "not_at_baseline": enrolled - flow["valid_pre"]}
        totals.append(("enrolled", ["valid_pre", "not_at_baseline"]))
    shown = {key: str(value) for key, value in publish_counts(counts, totals, threshold).items()}

    def reason_lines(wave: str) -> list[str]:
        prefix = f"excluded_{wave}_"
        return [f"{REASON_WORDS.get(key[len(prefix):], key[len(prefix):])}: {shown[key]}" for key in reasons[wave]]

    n_pairs = (run.results if results is None else results)["n_pairs"].astype(int)
    low, high = suppress_count(int(n_pairs.min()), threshold), suppress_count(int(n_pairs.max()), threshold)
    analysed = low if low == high else f"{low}\u2013{high}"
    main, side = [], []
    if "enrolled" in counts:
        main.append({"count": shown["enrolled"], "label": "enrolled in the program"})
        side.append({"title": f"No valid baseline answer: {shown['not_at_baseline']}", "lines": []})
    main.append({"count": shown["rows_pre"], "label": "answers received before the program (baseline)"})
    side.append({"title": f"Excluded at baseline: {shown['excluded_pre']}", "lines": reason_lines("pre") or ["none needed excluding"]})
    main.append({"count": shown["valid_pre"], "label": "people with a valid baseline answer"})
    side.append(
        {
            "title": f"No valid follow-up answer: {shown['pre_only']}",
            "lines": [
                f"Follow-up answers received: {shown['rows_post']}",
                f"excluded at follow-up: {shown['excluded_post']}",
                *[f"\u2003{line}" for line in reason_lines("post")],
                f"valid follow-up answers: {shown['valid_post']}",
                f"of these, no valid baseline answer: {shown['post_only']}",
            ],
        }
    )
    main.append({"count": shown["matched"], "label": "people with valid answers at both times (matched)"})
    side.append({"title": "Left out of a variable", "lines": ["if that questionnaire was incomplete", "at either time"]})
    main.append({"count": analysed, "label": "analysed, per variable (participants with a score at both times)"})
    chain = " \u2192 ".join(f"{box['count']} {box['label']}" for box in main)
    summary = f"Participant flow: {chain}. {side[-2]['title']}; excluded at baseline: {shown['excluded_pre']}."
    return {"main": main, "side": side, "shown": shown, "analysed": analysed, "alt": summary}


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
    wide = scores_by_wave(run.scores, run.study.id_column)
    changes = run.reliable_change.groupby("variable")["category"]
    position_in_domain = {}
    for _, row in ordered_for_display(results).iterrows():
        domain = row["domain"] or "other"
        position_in_domain[domain] = position_in_domain.get(domain, -1) + 1
        low, high = ranges[row["variable"]]
        pairs = paired_scores(wide, row["variable"])
        pre, post = pairs["pre"].to_numpy(dtype=float), pairs["post"].to_numpy(dtype=float)
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


def limitations(
    run, threshold: int, shown_flow: dict, alpha: float, correction_name: str, results: pd.DataFrame | None = None, attrition: pd.DataFrame | None = None
) -> list[dict]:
    """The design's limitations in plain words, filled in with this study's numbers (Campbell &
    Stanley, 1963; Marsden & Torgerson, 2012; CONSORT 2010 item 20); ``results`` and ``attrition``
    as published (:mod:`pipeline.suppression`)."""
    flow = run.flow
    results = run.results if results is None else results
    attrition = run.attrition if attrition is None else attrition
    items = [
        {
            "title": "No comparison group",
            "text": "Everyone measured took part in the program, so the results show how much participants changed, "
            "not how much of the change the program caused. Part of any change may come from time passing (maturation), "
            "events outside the program (history), answering the same questions a second time (testing), or regression "
            "to the mean: people who start unusually low tend to score closer to average later, with or without help.",
        }
    ]
    valid_pre, pre_only = flow["valid_pre"], flow["pre_only"]
    if pre_only == 0:
        dropout = "Everyone with a valid baseline answer also answered at follow-up."
    elif pre_only < threshold:
        dropout = f"Fewer than {threshold} people with a valid baseline answer did not answer at follow-up."
    else:
        dropout = (
            f"{shown_flow['pre_only']} of the {shown_flow['valid_pre']} people with a valid baseline answer "
            f"({round(100 * pre_only / valid_pre)}%) did not answer at follow-up and are not in the comparisons."
        )
    items.append({"title": "People who did not answer at follow-up", "text": f"{dropout} {attrition_sentence(attrition)}"})
    items.append(
        {
            "title": "Many variables tested",
            "text": f"{len(results)} variables were tested, so some would look significant by chance alone. The "
            f"{correction_name} correction keeps the chance of any false finding among them at {alpha}; "
            f"{improved_before_correction(results, alpha)} variables improved before correction and "
            f"{int((results['outcome'] == 'improved').sum())} after it.",
        }
    )
    items.append(
        {
            "title": "Self-report",
            "text": "All measures are questionnaires participants filled in about themselves. Answers can shift with "
            "mood, with what people think the program hopes to hear, or with a better understanding of the questions "
            "the second time.",
        }
    )
    mde = results["mde_dz"].dropna()
    if not mde.empty:
        items.append(
            {
                "title": "Precision",
                "text": Markup(
                    "With {} people answering both times, a change smaller than about d<sub>z</sub> {} would often be "
                    "missed (80% power at alpha {}); \u201cno significant change\u201d therefore does not mean \u201cno change\u201d."
                ).format(shown_flow["matched"], format_number(float(mde.median())), alpha),
            }
        )
    withheld = results.loc[results["outcome"] == TOO_FEW, "name"].tolist()
    if withheld:
        items.append(
            {
                "title": "Too few to report",
                "text": f"Fewer than {threshold} people answered both times for {', '.join(withheld)}, so no result is shown for "
                f"{'it' if len(withheld) == 1 else 'them'}: with so few people, averages would give individual answers away.",
            }
        )
    weak = results.loc[results["alpha_pre"] < 0.7, "name"].tolist()
    if weak:
        items.append(
            {
                "title": "Measurement",
                "text": f"In this sample, the internal consistency (Cronbach's alpha) of {', '.join(weak)} was below "
                ".70 at baseline, so those scores are less precise than the others.",
            }
        )
    return items


def attrition_sentence(attrition: pd.DataFrame) -> str:
    """The largest baseline difference between completers and non-completers, in words."""
    compared = attrition.dropna(subset=["std_diff"])
    if compared.empty:
        return "Too few participants answered only before the program to compare them with those who stayed."
    largest = compared.loc[compared["std_diff"].abs().idxmax()]
    higher = "higher" if largest["mean_completers"] > largest["mean_noncompleters"] else "lower"
    return (
        "At the start, the largest difference between participants who answered both times and those who answered "
        f"only before was {format_number(abs(largest['std_diff']))} standard deviations on {largest['name']} "
        f"(those who stayed scored {higher}; Cohen's d with the pooled SD). If those who left differ, the results "
        "may not describe everyone who enrolled."
    )


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


def report_date() -> str:
    """The report's date: from ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else today (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return datetime.now(timezone.utc).strftime("%-d %B %Y")
    try:
        moment = datetime.fromtimestamp(int(epoch), timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise PipelineError(
            f"SOURCE_DATE_EPOCH={epoch[:30]!r} is not a date: set it to whole seconds since 1970-01-01 UTC (e.g. `date +%s`), or unset it"
        ) from None
    return moment.strftime("%-d %B %Y")


def common_context(run, provenance: dict, results: pd.DataFrame) -> dict:
    """What both reports show: study, date, run id, input hashes, flow, instruments (``results`` as published)."""
    study = run.study
    threshold = study.config.report.suppression_threshold
    options = study.config.analysis
    flow = participant_flow(run, threshold, results)
    return {
        "study": study.config,
        "generated": report_date(),
        "run_id": provenance["run_id"],
        "inputs": provenance["inputs"],
        "threshold": threshold,
        "alpha": options.alpha,
        "correction": options.correction,
        "correction_name": CORRECTION_NAMES[options.correction],
        "other_correction_name": CORRECTION_NAMES["fdr" if options.correction == "holm" else "holm"],
        "flow": flow,
        "flow_svg": _flow_svg(flow),
        "instruments": [
            {"label": i.label, "name": i.name, "version": i.version, "citation": i.citation, "license": i.license, "license_note": i.license_note}
            for i in study.instruments
        ],
        "logo": None,
    }


def _flow_svg(flow: dict) -> str:
    return svg_data_uri(flow_diagram_svg(flow["main"], flow["side"]))


def report_context(run, provenance: dict | None = None) -> dict:
    """Everything the impact report shows, as plain values (no participant-level data but chart lines)."""
    provenance = provenance or run_provenance(run)
    study = run.study
    options = study.config.analysis
    threshold = study.config.report.suppression_threshold
    results = publishable_results(run.results, threshold)
    context = common_context(run, provenance, results)
    attrition = publishable_attrition(run.attrition, threshold)
    ranges = {scale.id: score_range(instrument, scale) for instrument, scale in study.scales}
    table = []
    for _, row in ordered_for_display(results).iterrows():
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
                "p_adjusted": format_p(row[f"p_{options.correction}"]),
                "outcome": row["outcome"],
                "note": row["note"],
            }
        )
    svg = forest_plot_svg(results)
    return context | {
        "headline": headline(results, context["correction_name"], ranges, options.alpha),
        "attrition_sentence": attrition_sentence(attrition),
        "limitations": limitations(run, threshold, context["flow"]["shown"], options.alpha, context["correction_name"], results, attrition),
        "rows": table,
        "panels": variable_panels(run, threshold, ranges, options.correction, results),
        "subgroups": subgroup_table(run, threshold),
        "forest_plot": svg_data_uri(svg),
        "forest_alt": forest_alt_text(results),
    }


def subgroup_table(run, threshold: int) -> list[dict]:
    """Per-subgroup results for publication (``subgroups:`` in study.yaml): one table per subgroup
    column, a row per variable and a column per subgroup, small groups suppressed
    (:func:`pipeline.subgroups.suppress_small_subgroups`)."""
    table = run.subgroup_results
    if table.empty:
        return []
    from .subgroups import suppress_small_subgroups

    published = suppress_small_subgroups(table, threshold).assign(raw_n=table["n_pairs"].to_numpy())
    order = list(ordered_for_display(run.results)["variable"])
    tables = []
    for subgroup, rows in published.groupby("subgroup", sort=False):
        sizes = rows.groupby("value", sort=False)["raw_n"].max()
        small = sizes.index[(sizes > 0) & (sizes < threshold)]  # not even their names are shown: a name can identify
        values = [value for value in dict.fromkeys(rows["value"]) if value not in small]
        columns = []
        for value in values:
            group = rows.loc[rows["value"] == value]
            shown = group.loc[~group["suppressed"].astype(bool)]
            size = group.loc[group["raw_n"].idxmax(), "n_pairs"] if shown.empty else f"{int(shown['raw_n'].max()):,}"
            columns.append({"label": value, "n": size})
        body = []
        for variable in order:
            cells = rows.loc[rows["variable"] == variable].set_index("value")
            if cells.empty:
                continue
            body.append(
                {
                    "name": cells["name"].iloc[0],
                    "cells": [
                        {"hidden": True}
                        if value not in cells.index or bool(cells.loc[value, "suppressed"])
                        else {
                            "hidden": False,
                            "change": format_number(cells.loc[value, "mean_diff"]),
                            "d_z": format_number(cells.loc[value, "d_z"]),
                            "p": format_p(cells.loc[value, "p"]),
                        }
                        for value in values
                    ],
                }
            )
        tables.append({"subgroup": subgroup, "columns": columns, "rows": body, "not_shown": len(small)})
    return tables


# --- the technical report ------------------------------------------------------------------

#: Every column of results.csv, grouped into the technical report's tables (a test checks the cover).
TECHNICAL_GROUPS = [
    ("Descriptives", "Scores of participants with both scores (SD with n \u2212 1); n_pre and n_post count everyone scored at that time.",
     ["instrument", "domain", "higher_is", "n_pre", "n_post", "n_pairs", "mean_pre", "sd_pre", "mean_post", "sd_post"]),
    ("Paired t-test and multiplicity", "Student's paired t (two-sided); mean_diff = post \u2212 pre with its 95% t interval; p_holm and p_fdr adjust across all variables.",
     ["mean_diff", "sd_diff", "ci_low", "ci_high", "t", "df", "p", "p_holm", "p_fdr", "outcome"]),
    ("Effect sizes, Bayes factor and sensitivity", "d_z = mean_diff / sd_diff with a noncentral-t 95% interval; d_av over the mean of the two SDs; g_av with Hedges' exact correction (df = n \u2212 1); JZS BF10 with r = 0.707; mde_dz at 80% power.",
     ["d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av", "bf10", "log_bf10", "mde_dz"]),
    ("Assumptions and the rank-based check", "Shapiro\u2013Wilk p on the differences (empty beyond 5,000 pairs); Wilcoxon signed-rank V, p and matched-pairs rank-biserial r, as R's classic wilcox.test.",
     ["shapiro_p", "wilcoxon_v", "wilcoxon_n", "wilcoxon_method", "p_wilcoxon", "r_rb"]),
    ("Reliability in this sample", "Cronbach's alpha over participants who answered every item at that time (n beside it); McDonald's omega total, one factor (minres).",
     ["alpha_pre", "alpha_n_pre", "alpha_post", "alpha_n_post", "omega_pre", "omega_post"]),
    ("Reliable change", "Jacobson & Truax (1991): a change beyond 1.96 \u00d7 SD \u00d7 \u221a(2(1 \u2212 r)); rci_basis says whether SD and r are published or this sample's.",
     ["rci_basis", "rci_sd", "rci_reliability", "rci_threshold", "rci_improved_pct", "rci_unchanged_pct", "rci_deteriorated_pct", "recovery_cutoff", "n_cases_pre", "recovered_pct"]),
    ("Intention-to-treat mixed model", "score ~ wave + (1 | participant) by REML on every available score; Wald z p.",
     ["lmm_estimate", "lmm_se", "lmm_p", "lmm_n"]),
]  # fmt: skip

TEXT_COLUMNS = {"instrument", "domain", "higher_is", "outcome", "wilcoxon_method", "rci_basis", "recovery_cutoff"}
P_COLUMNS = {"p", "p_holm", "p_fdr", "p_wilcoxon", "shapiro_p", "lmm_p"}
INTEGER_COLUMNS = {"n_pre", "n_post", "n_pairs", "alpha_n_pre", "alpha_n_post", "wilcoxon_n", "n_cases_pre", "lmm_n", "n_completers", "n_noncompleters"}


def format_technical(value, column: str) -> str:
    """A results.csv value for the technical report: p-values to 4 significant digits (scientific
    below 0.0001), counts as integers, other numbers to 4 decimals, text as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "\u2014"
    if isinstance(value, str):
        return value
    if column in INTEGER_COLUMNS or (column == "df" and float(value).is_integer()):
        return f"{int(value):,}"
    value = float(value)
    if math.isinf(value):
        return "\u221e" if value > 0 else "\u2212\u221e"
    if column in P_COLUMNS:
        text = f"{value:.3e}" if 0 < value < 1e-4 else f"{value:.4f}"
    else:
        text = f"{value:.4f}"
    return text.replace("-", "\u2212")


def technical_tables(results: pd.DataFrame) -> list[dict]:
    """The technical report's results tables: every column of results.csv, in groups."""
    rows = ordered_for_display(results)
    tables = []
    for title, caption, columns in TECHNICAL_GROUPS:
        tables.append(
            {
                "title": title,
                "caption": caption,
                "columns": columns,
                "kinds": ["text" if column in TEXT_COLUMNS else "num" for column in columns],
                "rows": [
                    {"variable": row["variable"], "name": row["name"], "cells": [format_technical(row[c], c) for c in columns]}
                    for _, row in rows.iterrows()
                ],
            }
        )
    return tables


def technical_context(run, provenance: dict | None = None) -> dict:
    """Everything the technical report shows: full results, assumptions, reliability, reliable
    change, attrition, the mixed model, instruments and the run manifest (no participant ids)."""
    provenance = provenance or run_provenance(run)
    results = publishable_results(run.results, run.study.config.report.suppression_threshold)
    context = common_context(run, provenance, results)
    withheld = f"fewer than {context['threshold']} pairs: statistics withheld in the reports (results.csv, for the research team, has them)"
    notes = [
        {"name": row["name"], "note": "; ".join(filter(None, [withheld if row["withheld"] else "", row["note"]]))}
        for _, row in ordered_for_display(results).iterrows()
        if row["note"] or row["withheld"]
    ]
    attrition_columns = ["n_completers", "mean_completers", "sd_completers", "n_noncompleters", "mean_noncompleters", "sd_noncompleters", "std_diff", "p"]
    attrition = [
        {"name": row["name"], "instrument": row["instrument"], "cells": [format_technical(row[c], c) for c in attrition_columns], "note": row["note"]}
        for _, row in publishable_attrition(run.attrition, context["threshold"]).iterrows()
    ]
    non_normal = results.loc[results["shapiro_p"] < 0.05]
    disagree = results.loc[((results["p"] < context["alpha"]) != (results["p_wilcoxon"] < context["alpha"])) & results["p_wilcoxon"].notna()]
    return context | {
        "tables": technical_tables(results),
        "notes": notes,
        "attrition_columns": attrition_columns,
        "attrition": attrition,
        "non_normal": non_normal["name"].tolist(),
        "disagree": disagree["name"].tolist(),
        "subgroups": subgroup_table(run, context["threshold"]),
        "manifest": provenance,
    }


def run_provenance(run) -> dict:
    """The run's manifest (:func:`pipeline.provenance.manifest`) with its run id: what both reports print."""
    return manifest(run)


# --- rendering -----------------------------------------------------------------------------

def template_environment() -> jinja2.Environment:
    """Jinja2 with autoescaping for every template (``select_autoescape`` would skip ``.j2`` names)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )
    environment.filters["p"] = format_p
    environment.filters["num"] = format_number
    environment.filters["breakable"] = lambda text: str(text).replace("_", "_\u200b")  # column names may wrap
    return environment


def render_html(context: dict, template: str = "impact-report.html.j2") -> str:
    return template_environment().get_template(template).render(**context)


def asset_fetcher(roots: list[Path] | None = None, files: tuple[Path, ...] = ()):
    """A WeasyPrint URL fetcher that serves ``data:`` URLs, files under ``roots`` (default: the
    package's ``assets/``) and the exact ``files`` given (a study's declared logo), nothing else.

    Anything else (http, https, ftp, another file) stops the render with ``FatalURLFetchingError``
    rather than being skipped, so an unexpected fetch cannot pass unseen. Redirects are refused.
    Every refused URL is also recorded in the fetcher's ``refused`` list (with a one-line reason
    in ``reasons``), because WeasyPrint swallows any error while it draws an SVG: :func:`html_to_pdf`
    checks the list after rendering. A declared file is served only as the bytes that
    :func:`pipeline.images.read_logo` has just read and checked (it may have changed since the
    study was loaded); one that fails the check is refused.
    """
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    from .images import MEDIA_TYPES, read_logo

    remedy = "remove the reference (an SVG logo must be self-contained, or use a PNG)"
    allowed = [root.resolve() for root in (roots or [ASSETS_DIR])]
    declared = {Path(file).resolve() for file in files}

    class AssetFetcher(URLFetcher):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.refused: list[str] = []
            self.reasons: dict[str, str] = {}

        def refuse(self, url: str, reason: str):
            self.refused.append(url)
            self.reasons.setdefault(url, reason)
            raise FatalURLFetchingError(reason)

        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(url2pathname(urlparse(url).path)).resolve()
                if path in declared:
                    try:
                        content = read_logo(path)
                    except PipelineError as error:
                        self.refuse(url, str(error))
                    return URLFetcherResponse(url, content, {"Content-Type": MEDIA_TYPES[path.suffix.lower()]})
                if any(path.is_relative_to(root) for root in allowed) and path.is_file():
                    return super().fetch(url, headers)
            self.refuse(url, f"report tried to load {shorten(url, 80)!r}, which is outside the report's own assets and the study's logo: {remedy}")

    return AssetFetcher(allowed_protocols={"data", "file"}, allow_redirects=False, fail_on_errors=True)


def html_to_pdf(html: str, files: tuple[Path, ...] = (), variant: str | None = None) -> bytes:
    """Render HTML to a tagged PDF with the restricted fetcher (byte-identical under ``SOURCE_DATE_EPOCH``).

    ``variant`` is a WeasyPrint PDF variant such as ``pdf/ua-1`` (accessible) or ``pdf/a-3a``
    (archival and tagged); fonts are always embedded (subset).

    A fetch the fetcher refuses raises :class:`PipelineError` with one line naming the URL: at
    once when WeasyPrint lets the fetcher's ``FatalURLFetchingError`` through, and after
    ``write_pdf`` when WeasyPrint swallowed it (it does while drawing SVG). A PipelineError, unlike
    ``FatalURLFetchingError`` (a BaseException), also crosses back from a forked
    :func:`pdfs_side_by_side` child instead of killing the worker and leaving the parent waiting.
    """
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    fetcher = asset_fetcher(files=files)

    def refusal() -> PipelineError:
        refused = list(dict.fromkeys(fetcher.refused))
        more = f" (and {len(refused) - 1} more refused URL{'s' if len(refused) > 2 else ''})" if len(refused) > 1 else ""
        return PipelineError(shorten(fetcher.reasons[refused[0]], 270) + more)  # every refusal records its reason

    try:
        document = weasyprint.HTML(string=html, base_url=str(ASSETS_DIR), url_fetcher=fetcher)
        pdf = document.write_pdf(pdf_tags=True, pdf_variant=variant, uncompressed_pdf=False)
    except FatalURLFetchingError as error:
        if fetcher.refused:
            raise refusal() from None
        cause = shorten(str(error.__cause__ or ""), 80)
        raise PipelineError(f"report: {shorten(str(error), 120)} ({cause}); a template or chart names a resource that cannot be read") from None
    if fetcher.refused:
        raise refusal()  # refused inside an SVG, where WeasyPrint swallowed the error
    return pdf


def logo_sources(study) -> tuple[str | None, str | None]:
    """The logo as the PDF reads it (a file URL the fetcher allows) and as the HTML twin embeds it (a data URL).

    The file is read once, and checked again (:func:`pipeline.images.read_logo`) before it is
    embedded: it may have changed since the study was loaded.
    """
    from .images import MEDIA_TYPES, read_logo

    file = study.logo_file
    if file is None:
        return None, None
    content = read_logo(file)
    return file.as_uri(), f"data:{MEDIA_TYPES[file.suffix.lower()]};base64," + base64.b64encode(content).decode("ascii")


def render_reports(run, provenance: dict | None = None) -> dict[str, bytes]:
    """Both reports of ``run``, as ``{file name: bytes}``: the impact and technical reports as PDF
    and as self-contained HTML twins (charts and logo embedded as data URLs)."""
    provenance = provenance or run_provenance(run)
    study = run.study
    logo_file, logo_data = logo_sources(study)
    files = (study.logo_file,) if study.logo_file else ()
    variant = study.config.report.pdf_variant
    outputs, documents = {}, {}
    for name, context, template in [
        ("impact-report", report_context(run, provenance), "impact-report.html.j2"),
        ("technical-report", technical_context(run, provenance), "technical-report.html.j2"),
    ]:
        outputs[f"{name}.html"] = render_html(context | {"logo": logo_data}, template).encode("utf-8")
        documents[f"{name}.pdf"] = render_html(context | {"logo": logo_file}, template)
    return outputs | dict(zip(documents, pdfs_side_by_side(list(documents.values()), files, variant)))


def pdfs_side_by_side(documents: list[str], files: tuple[Path, ...] = (), variant: str | None = None) -> list[bytes]:
    """:func:`html_to_pdf` of each document; all but the last in forked child processes when the
    machine has more than one CPU and can fork (WeasyPrint is single-threaded and the reports are
    independent, so this roughly halves the wall time of a run). The bytes are the same either way."""
    import multiprocessing

    parallel = len(documents) > 1 and (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods()
    if not parallel:
        return [html_to_pdf(html, files, variant) for html in documents]
    with multiprocessing.get_context("fork").Pool(min(len(documents) - 1, (os.cpu_count() or 2) - 1)) as pool:
        pending = [pool.apply_async(html_to_pdf, (html, files, variant)) for html in documents[:-1]]
        last = html_to_pdf(documents[-1], files, variant)
        return [job.get() for job in pending] + [last]
