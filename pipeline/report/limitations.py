"""The "What this design cannot show" section: the design's limitations and the attrition sentence, with this study's numbers."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from ..suppression import TOO_FEW
from .design import Design, study_design
from .summary import improved_before_correction
from .words import format_number, label_in_sentence


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
    study = run.study
    several = len(study.wave_names) > 2
    valid_baseline = flow[f"valid_{study.baseline}"]
    if not several:
        items.append(
            {"title": "People who did not answer at follow-up", "text": f"{dropout_sentence(run, study.primary, threshold, shown_flow)} {attrition_sentence(attrition)}"}
        )
    else:
        dropouts = " ".join(dropout_sentence(run, wave, threshold, shown_flow) for wave in study.later_waves)
        items.append(
            {"title": "People who did not answer at every wave", "text": f"{dropouts} {attrition_sentence(attrition, study)}"}
        )
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
                    "With {} people answering {}, a change smaller than about d<sub>z</sub> {} would often be "
                    "missed (80% power at alpha {}); \u201cno significant change\u201d therefore does not mean \u201cno change\u201d."
                ).format(
                    shown_flow["matched"],
                    f"at {label_in_sentence(study.wave_label(study.baseline))} and at {label_in_sentence(study.wave_label(study.primary))}" if several else "both times",
                    format_number(float(mde.median())),
                    alpha,
                ),
            }
        )
    withheld = results.loc[results["outcome"] == TOO_FEW, "name"].tolist()
    if withheld:
        times = f"at {label_in_sentence(study.wave_label(study.baseline))} and at {label_in_sentence(study.wave_label(study.primary))}" if several else "both times"
        items.append(
            {
                "title": "Too few to report",
                "text": f"Fewer than {threshold} people answered {times} for {', '.join(withheld)}, so no result is shown for "
                f"{'it' if len(withheld) == 1 else 'them'}: with so few people, averages would give individual answers away.",
            }
        )
    if several:
        items.append(
            {
                "title": "Reading the later waves",
                "text": f"A gain counts as kept at a later wave when the change from {label_in_sentence(study.wave_label(study.baseline))} "
                f"to that wave is still significant. No significant difference between {label_in_sentence(study.wave_label(study.primary))} and a later wave "
                "does not show that a gain was kept: with fewer people answering, a real loss can go undetected. "
                + (
                    "The equivalence test asks the question directly, whether the change since then stayed within the set margin."
                    if study.config.analysis.maintenance_margin_dz is not None
                    else "An equivalence test (analysis.maintenance_margin_dz in study.yaml) would ask that question directly."
                )
                + f" Later waves are corrected for testing {len(results)} variables within each wave, not across waves.",
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


def dropout_sentence(run, wave: str, threshold: int, shown_flow: dict) -> str:
    """How many people with a valid baseline answer gave none at ``wave``, suppressed as the flow
    diagram is (:func:`pipeline.report.flow.participant_flow`'s ``shown`` counts). With two waves
    the wave is "follow-up"; with more, its label."""
    from .flow import lost_key, matched_key

    study = run.study
    flow = run.flow
    valid = flow[f"valid_{study.baseline}"]
    lost = flow.get(lost_key(study, wave), valid - flow[matched_key(study, wave)])
    at = "follow-up" if len(study.wave_names) == 2 else label_in_sentence(study.wave_label(wave))
    if lost == 0:
        return f"Everyone with a valid baseline answer also answered at {at}."
    if lost < threshold:
        return f"Fewer than {threshold} people with a valid baseline answer did not answer at {at}."
    comparisons = "are not in the comparisons" if len(study.wave_names) == 2 else "are not in the comparisons with that wave"
    return (
        f"{shown_flow[lost_key(study, wave)]} of the {shown_flow[f'valid_{study.baseline}']} people with a valid baseline answer "
        f"({round(100 * lost / valid)}%) did not answer at {at} and {comparisons}."
    )


def attrition_sentence(attrition: pd.DataFrame, study=None) -> str:
    """The largest baseline difference between completers and non-completers, in words; with the
    ``study`` of three or more waves, over every later wave, naming the wave."""
    compared = attrition.dropna(subset=["std_diff"])
    several = study is not None and len(study.wave_names) > 2
    if compared.empty:
        if several:
            return "Too few participants missed a later wave to compare their starting scores with those who answered."
        return "Too few participants answered only before the program to compare them with those who stayed."
    largest = compared.loc[compared["std_diff"].abs().idxmax()]
    higher = "higher" if largest["mean_completers"] > largest["mean_noncompleters"] else "lower"
    if several:
        at = label_in_sentence(study.wave_label(largest["wave"]))
        return (
            f"At the start, the largest difference between participants who answered at {at} and those who did not was "
            f"{format_number(abs(largest['std_diff']))} standard deviations on {largest['name']} (those who answered scored "
            f"{higher}; Cohen's d with the pooled SD). If those who left differ, the results may not describe everyone who enrolled."
        )
    return (
        "At the start, the largest difference between participants who answered both times and those who answered "
        f"only before was {format_number(abs(largest['std_diff']))} standard deviations on {largest['name']} "
        f"(those who stayed scored {higher}; Cohen's d with the pooled SD). If those who left differ, the results "
        "may not describe everyone who enrolled."
    )
