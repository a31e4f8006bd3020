"""The "What this design cannot show" section: the design's limitations and the attrition sentence, with this study's numbers."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from ..suppression import TOO_FEW
from .design import Design, study_design
from .summary import improved_before_correction
from .words import format_number


def limitations(
    run,
    threshold: int,
    shown_flow: dict,
    alpha: float,
    correction_name: str,
    results: pd.DataFrame | None = None,
    attrition: pd.DataFrame | None = None,
    design: Design | None = None,
) -> list[dict]:
    """The design's limitations in plain words, filled in with this study's numbers (Campbell &
    Stanley, 1963; Marsden & Torgerson, 2012; CONSORT 2010 item 20); ``results`` and ``attrition``
    as published (:mod:`pipeline.suppression`). ``design`` (default: :func:`study_design` of the
    run's study) decides the design's own caveats: "No comparison group" only when there is none."""
    flow = run.flow
    results = run.results if results is None else results
    attrition = run.attrition if attrition is None else attrition
    design = study_design(run.study) if design is None else design
    items = []
    if not design.comparison_group:
        items.append(
            {
                "title": "No comparison group",
                "text": "Everyone measured took part in the program, so the results show how much participants changed, "
                "not how much of the change the program caused. Part of any change may come from time passing (maturation), "
                "events outside the program (history), answering the same questions a second time (testing), or regression "
                "to the mean: people who start unusually low tend to score closer to average later, with or without help.",
            }
        )
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
