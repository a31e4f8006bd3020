"""The "What this design cannot show" section: the design's limitations and the attrition sentence,
with this study's numbers; for a study with a comparison group, written from how the groups were
formed (:func:`group_limitations`)."""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup

from ..between_groups import DISAGREE
from ..suppression import TOO_FEW
from .design import Design, study_design
from .summary import better_before_correction, improved_before_correction
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


# --- two groups -----------------------------------------------------------------------------

#: Where the What Works Clearinghouse attrition table was read (pipeline.statistics.attrition).
WWC_TABLE_SOURCE = (
    "The boundary's table was read from a secondary source, the R package baselinr, which encodes the "
    "Clearinghouse's table, not from the handbook itself."
)


def group_limitations(
    run,
    threshold: int,
    alpha: float,
    correction_name: str,
    results: pd.DataFrame,
    retention: pd.DataFrame,
    attrition: pd.DataFrame,
    group_results: pd.DataFrame,
    design: Design,
    names: dict,
) -> list[dict]:
    """The limitations of a two-group study, written from its design and filled in with its
    numbers (all tables as published, :mod:`pipeline.suppression`).

    Randomised (CONSORT 2010 item 20; What Works Clearinghouse, Procedures and Standards Handbook
    v5.0, 2022): attrition and differential attrition at each later wave with the Clearinghouse's
    level under the study's boundary (and where its table was read), no blinding of self-report,
    multiplicity. Not randomised (Shadish, Cook & Campbell, 2002): selection, the baseline
    differences with their sizes (the largest ``|baseline_smd|``; "> 0.25: not equivalent"),
    regression to the mean when the groups differ at baseline, and the assumption each analysis
    makes (ANCOVA: the same expected later score given the same baseline score; difference in
    differences: parallel trends; Lord's paradox, Van Breukelen, 2006). Both: each group's own
    change is never the evidence (Bland & Altman, 2011), variables withheld for small numbers,
    and weak reliability. Never "no comparison group"."""
    study = run.study
    several = len(study.wave_names) > 2
    items = []
    if not design.randomised:
        items.append(
            {
                "title": "The groups were not formed at random",
                "text": f"People were not assigned to the groups by chance. Participants of {names['program_in_sentence']} may differ from "
                f"{names['comparison_in_sentence']} in ways no questionnaire here measured (motivation, circumstances, support), and such "
                "differences, not the program, could explain part of any difference between the groups (selection).",
            }
        )
        items.append({"title": "Differences at the start", "text": baseline_sentence(results, names)})
        differing = results["baseline_smd"].abs() > 0.05
        if differing.any():
            items.append(
                {
                    "title": "Regression to the mean",
                    "text": "Where one group started lower than the other, part of its later gain may be regression to the mean: "
                    "scores that start unusually low tend to come back towards the average later, with or without a program. The "
                    "ANCOVA allows for this only as far as the starting score captures how the groups differ.",
                }
            )
        disagree = int((results["outcome"] == DISAGREE).sum())
        items.append(
            {
                "title": "What each analysis assumes",
                "text": "The ANCOVA (the later score adjusted for the starting score) assumes that the groups would have had the same "
                "expected later score had they had the same starting score. The difference in differences (each group's change, "
                "compared) assumes that both groups would have changed alike without the program (parallel trends). When the "
                "groups start apart, the two can give different answers from the same data (Lord's paradox; Van Breukelen, 2006), "
                f"so a variable counts as better or worse here only where both agree; they disagreed on {'none' if not disagree else disagree} "
                f"of the {len(results)}.",
            }
        )
    items.append({"title": "Attrition, overall and differential", "text": retention_text(retention, study, names, design)})
    if design.randomised:
        items.append(
            {
                "title": "No blinding",
                "text": f"Participants knew whether they were in {names['program_in_sentence']} or {names['comparison_in_sentence']}, and "
                "every measure is a questionnaire they filled in about themselves. Those in the program may report the change they "
                "hope for, and those waiting may report less; randomisation does not protect against this.",
            }
        )
    else:
        items.append(
            {
                "title": "Self-report",
                "text": "All measures are questionnaires participants filled in about themselves, knowing which group they were in. "
                "Answers can shift with mood, with what people think the program hopes to hear, or with a better understanding of "
                "the questions the second time.",
            }
        )
    items.append(
        {
            "title": "Many variables tested",
            "text": f"{len(results)} variables were compared, so some would look significant by chance alone. The {correction_name} "
            f"correction keeps the chance of any false finding among them at {alpha}"
            + (" within each wave (not across waves)" if several else "")
            + f"; participants of {names['program_in_sentence']} did better on {better_before_correction(results, alpha)} variables before "
            f"correction and on {int((results['outcome'] == 'program better').sum())} after it.",
        }
    )
    items.append(
        {
            "title": "Each group's own change",
            "text": f"The panels show both groups' scores over time. Only the difference between the groups estimates the program's "
            f"effect: {names['comparison_in_sentence']} changed too, from answering the same questions again, time passing and "
            "regression to the mean. A change that is significant in one group and not in the other says nothing about the "
            "difference between them (Bland & Altman, 2011), so this report never compares the groups that way.",
        }
    )
    withheld = results.loc[results["outcome"] == TOO_FEW, "name"].tolist()
    if withheld:
        items.append(
            {
                "title": "Too few to report",
                "text": f"Fewer than {threshold} people of a group answered at {label_in_sentence(study.wave_label(study.baseline))} and at "
                f"{label_in_sentence(study.wave_label(study.primary))} for {', '.join(withheld)}, so no result is shown for "
                f"{'it' if len(withheld) == 1 else 'them'}: with so few people, averages would give individual answers away.",
            }
        )
    if not group_results.empty and "alpha_pre" in group_results.columns:
        weak = group_results.loc[group_results["alpha_pre"] < 0.7, "name"].drop_duplicates().tolist()
        if weak:
            items.append(
                {
                    "title": "Measurement",
                    "text": f"In this sample, the internal consistency (Cronbach's alpha) of {', '.join(weak)} was below .70 at baseline "
                    "in at least one group, so those scores are less precise than the others.",
                }
            )
    return items


def baseline_sentence(results: pd.DataFrame, names: dict, largest: int = 3) -> str:
    """How far apart the groups started, in words: the ``largest`` standardized baseline differences
    (Hedges' g as the What Works Clearinghouse computes it) with their readings, and how many
    variables are not equivalent (over 0.25) or need the adjustment (over 0.05)."""
    shown = results.dropna(subset=["baseline_smd"])
    if shown.empty:
        return "The groups' starting scores are not shown: too few people of a group answered at the start."
    sizes = shown.assign(size=shown["baseline_smd"].abs()).sort_values("size", ascending=False, kind="stable")
    listed = [
        f"{row['name']} (g = {format_number(row['size'])}, {names['program_in_sentence']} "
        f"{'higher' if row['baseline_smd'] > 0 else 'lower'}" + ("; not equivalent" if row["size"] > 0.25 else "") + ")"
        for _, row in sizes.head(largest).iterrows()
    ]
    apart = int((sizes["size"] > 0.25).sum())
    adjusted = int(((sizes["size"] > 0.05) & (sizes["size"] <= 0.25)).sum())
    text = (
        f"At the start, the groups differed most on {_listed(listed)}: the standardized difference of the starting scores "
        "(Hedges' g, as the What Works Clearinghouse computes it). By the Clearinghouse's standard, a difference of 0.05 or less "
        "is equivalent, one over 0.05 up to 0.25 needs the statistical adjustment the ANCOVA makes, and one over 0.25 means the "
        f"groups are not equivalent, which no adjustment repairs. Here {_count(apart)} {'was' if apart == 1 else 'were'} over 0.25 "
        f"and {_count(adjusted)} between 0.05 and 0.25."
    )
    return text


def _count(n: int) -> str:
    return "none" if n == 0 else "one variable" if n == 1 else f"{n} variables"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def retention_text(retention: pd.DataFrame, study, names: dict, design: Design) -> str:
    """Attrition at each later wave by group, as published (:func:`pipeline.suppression.publishable_retention`):
    overall and differential, and, for a randomised study, the What Works Clearinghouse's level
    under the study's boundary, with where its table was read."""
    sentences = []
    boundary = ""
    for _, row in retention.iterrows():
        at = "follow-up" if len(study.wave_names) == 2 else label_in_sentence(study.wave_label(row["wave"]))
        overall = row["overall_attrition_pct"]
        if isinstance(overall, float) and math.isnan(overall):
            sentences.append(
                f"At {at}, a count of people without a valid answer in a group is under the suppression threshold, so the "
                "attrition percentages are not shown."
            )
            continue
        sentence = (
            f"At {at}, {round(overall)}% of the allocated participants gave no valid answer: {round(row['attrition_program_pct'])}% "
            f"of {names['program_in_sentence']} ({row['followed_program']} of {row['allocated_program']} answered) and "
            f"{round(row['attrition_comparison_pct'])}% of {names['comparison_in_sentence']} ({row['followed_comparison']} of "
            f"{row['allocated_comparison']}): a differential attrition of {format_number(row['differential_attrition_pct'], 1)} percentage points."
        )
        if design.randomised and isinstance(row["attrition_level"], str) and row["attrition_level"]:
            boundary = row["boundary"]
            level = row["attrition_level"]
            sentence += (
                f" By the What Works Clearinghouse's {boundary} boundary that is {level} attrition"
                + (
                    ": the groups compared then may no longer be alike in the way randomisation made them."
                    if level == "high"
                    else ", which randomisation can bear."
                )
            )
            if row["note"]:
                sentence += f" Note: {row['note']}."
        sentences.append(sentence)
    if design.randomised and boundary:
        sentences.append(WWC_TABLE_SOURCE)
    elif not design.randomised:
        sentences.append(
            "The What Works Clearinghouse rates attrition this way only for randomised studies; for others it asks instead that "
            "the groups analysed be alike at the start (above)."
        )
    return " ".join(sentences)


def group_attrition_sentence(attrition: pd.DataFrame, study, names: dict) -> str:
    """The largest baseline difference between the completers and non-completers of a group
    (``attrition.csv``'s ``group`` column, as published), naming the group and, with three or
    more waves, the wave."""
    compared = attrition.dropna(subset=["std_diff"])
    if compared.empty:
        return "Too few participants of either group missed a later wave to compare their starting scores with those who answered."
    largest = compared.loc[compared["std_diff"].abs().idxmax()]
    higher = "higher" if largest["mean_completers"] > largest["mean_noncompleters"] else "lower"
    at = "follow-up" if len(study.wave_names) == 2 else label_in_sentence(study.wave_label(largest["wave"]))
    return (
        f"At the start, the largest difference between participants who answered at {at} and those who did not, within a group, "
        f"was {format_number(abs(largest['std_diff']))} standard deviations on {largest['name']} in {names[largest['group'] + '_in_sentence']} "
        f"(those who answered scored {higher}; Cohen's d with the pooled SD). If those who left differ, the results may not "
        "describe everyone who was allocated."
    )
