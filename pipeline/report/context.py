"""The funder's impact report as plain values for its template, and what both reports share
(study, date, run id, input hashes, participant flow, instruments); a study with a comparison
group has its own impact report (:func:`group_report_context`, template ``impact-report-groups.html.j2``)."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pandas as pd

from ..charts import SLOPE_LINES_MAX, svg_data_uri
from ..errors import PipelineError
from ..provenance import manifest
from ..score import score_range
from ..suppression import publishable_attrition, publishable_groups, publishable_retention, publishable_waves
from .baseline import baseline_table
from .design import study_design
from .flow import flow_svg, group_flow_svg, group_participant_flow, participant_flow
from .forest import comparison_forest_alt_text, comparison_forest_svg, forest_alt_text, forest_plot_svg
from .limitations import attrition_sentence, group_attrition_sentence, group_limitations, limitations
from .ordering import domain_order
from .results_table import comparison_results_table, results_table
from .subgroups import subgroup_table
from .summary import comparison_headline, comparison_wave_sentences, headline, wave_sentences
from .variables import comparison_panels, variable_panels
from .words import CORRECTION_NAMES, group_names, label_in_sentence

#: The line under the impact report's title when the study gives none (``report.subtitle``).
DEFAULT_SUBTITLE = "Change from the start to the end of the program"


def cover_subtitle(config) -> str:
    """The line under the impact report's title: the study's ``report.subtitle`` when it sets one, else :data:`DEFAULT_SUBTITLE`."""
    return config.report.subtitle or DEFAULT_SUBTITLE


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


def published_tables(run, threshold: int) -> dict[str, pd.DataFrame]:
    """The analysis tables as both reports may show them: ``results``, ``changes`` and
    ``trajectory`` (:func:`pipeline.suppression.publishable_waves`) and ``attrition``
    (:func:`pipeline.suppression.publishable_attrition`). The reports read these, never the scores.

    A study with a comparison group adds ``comparison`` and each group's ``group_results``
    (:func:`pipeline.suppression.publishable_groups`; ``changes`` and ``trajectory`` then by
    group, and ``results`` the comparison's rows at the primary endpoint) and ``retention``
    (:func:`pipeline.suppression.publishable_retention`)."""
    if not study_design(run.study).comparison_group:
        return publishable_waves(run.results, run.changes, run.trajectory, threshold) | {
            "attrition": publishable_attrition(run.attrition, threshold)
        }
    shown = publishable_groups(run.comparison, run.group_results, run.changes, run.trajectory, threshold)
    primary = shown["comparison"]["wave"] == run.study.primary
    return shown | {
        "results": shown["comparison"].loc[primary].reset_index(drop=True),
        "attrition": publishable_attrition(run.attrition, threshold),
        "retention": publishable_retention(run.retention, threshold),
    }


def wave_roles(study) -> dict:
    """The study's waves as the reports name them, by role: the baseline, the primary endpoint and
    every later wave with its label, the first two also as a sentence reads them
    (:func:`pipeline.report.words.label_in_sentence`), and ``several``: three or more waves."""
    return {
        "several": len(study.wave_names) > 2,
        "baseline": study.wave_label(study.baseline),
        "primary": study.wave_label(study.primary),
        "baseline_in_sentence": label_in_sentence(study.wave_label(study.baseline)),
        "primary_in_sentence": label_in_sentence(study.wave_label(study.primary)),
        "later": [study.wave_label(wave) for wave in study.later_waves],
    }


def common_context(run, provenance: dict, results: pd.DataFrame, changes: pd.DataFrame | None = None) -> dict:
    """What both reports show: study, date, run id, input hashes, flow, instruments (``results``
    and ``changes`` as published); the flow in two columns in a study with a comparison group."""
    study = run.study
    threshold = study.config.report.suppression_threshold
    options = study.config.analysis
    if study_design(study).comparison_group:
        flow = group_participant_flow(run, threshold, results)
        diagram = group_flow_svg(flow)
    else:
        flow = participant_flow(run, threshold, results, changes)
        diagram = flow_svg(flow)
    return {
        "study": study.config,
        "generated": report_date(),
        "run_id": provenance["run_id"],
        "inputs": provenance["inputs"],
        "threshold": threshold,
        "slope_lines_max": SLOPE_LINES_MAX,
        "alpha": options.alpha,
        "correction": options.correction,
        "correction_name": CORRECTION_NAMES[options.correction],
        "other_correction_name": CORRECTION_NAMES["fdr" if options.correction == "holm" else "holm"],
        "flow": flow,
        "flow_svg": diagram,
        "waves": wave_roles(study),
        "instruments": [
            {"label": i.label, "name": i.name, "version": i.version, "citation": i.citation, "license": i.license, "license_note": i.license_note}
            for i in study.instruments
        ],
        "logo": None,
    }


def report_context(run, provenance: dict | None = None) -> dict:
    """Everything the impact report shows, as plain values (no participant-level data but chart lines).

    It reads the analysis's tables as published (:func:`published_tables`); with three or more
    waves it adds what happened at each later wave, the trajectories and one forest interval per wave."""
    provenance = provenance or run_provenance(run)
    study = run.study
    if study_design(study).comparison_group:
        return group_report_context(run, provenance)
    options = study.config.analysis
    threshold = study.config.report.suppression_threshold
    published = published_tables(run, threshold)
    results, changes, trajectory, attrition = (published[name] for name in ("results", "changes", "trajectory", "attrition"))
    context = common_context(run, provenance, results, changes)
    ranges = {scale.id: score_range(instrument, scale) for instrument, scale in study.scales}
    order = domain_order(study)
    design = study_design(study)
    several = context["waves"]["several"]
    svg = forest_plot_svg(results, order, changes, study) if several else forest_plot_svg(results, order)
    return context | {
        "subtitle": cover_subtitle(study.config),
        "design": design,
        "headline": headline(results, context["correction_name"], ranges, options.alpha),
        "wave_sentences": wave_sentences(results, changes, study, options.alpha, options.maintenance_margin_dz),
        "attrition_sentence": attrition_sentence(attrition, study),
        "limitations": limitations(run, threshold, context["flow"]["shown"], options.alpha, context["correction_name"], results, attrition, design),
        "rows": results_table(results, threshold, options.correction, order),
        "panels": variable_panels(run, threshold, ranges, options.correction, results, changes if several else None, trajectory if several else None),
        "subgroups": subgroup_table(run, threshold),
        "forest_plot": None if several else svg_data_uri(svg),
        "forest_plots": [svg_data_uri(part) for part in svg] if several else [],
        "forest_alt": forest_alt_text(results, changes, study) if several else forest_alt_text(results),
        "margin_dz": options.maintenance_margin_dz,
    }


#: The impact report's line under the title in a two-group study that gives none (``report.subtitle``).
GROUPS_SUBTITLE = "The program group compared with the comparison group"


def group_report_context(run, provenance: dict | None = None) -> dict:
    """Everything the impact report of a two-group study shows, as plain values: the headline
    answering the causal question (:func:`pipeline.report.summary.comparison_headline`), the
    two-column flow, the baseline table, the forest plot of d_ppc2, each variable's between-group
    sentence with both groups' trajectories, the results table of the primary endpoint and the
    limitations of the design (randomised or not). Tables as published (:func:`published_tables`).
    Subgroups are left out of this report: within each group they describe change, not the
    program's effect (the technical report has them by group)."""
    provenance = provenance or run_provenance(run)
    study = run.study
    options = study.config.analysis
    threshold = study.config.report.suppression_threshold
    published = published_tables(run, threshold)
    results, comparison = published["results"], published["comparison"]
    context = common_context(run, provenance, results)
    ranges = {scale.id: score_range(instrument, scale) for instrument, scale in study.scales}
    order = domain_order(study)
    design = study_design(study)
    names = group_names(study)
    several = context["waves"]["several"]
    forest = comparison_forest_svg(results, order, comparison if several else None, study)
    baseline = baseline_table(results, threshold, order)
    return context | {
        "subtitle": study.config.report.subtitle or GROUPS_SUBTITLE,
        "design": design,
        "names": names,
        "headline": comparison_headline(results, names, context["correction_name"], ranges, design, options.alpha),
        "wave_sentences": comparison_wave_sentences(results, comparison, study, names),
        "attrition_sentence": group_attrition_sentence(published["attrition"], study, names),
        "limitations": group_limitations(
            run, threshold, options.alpha, context["correction_name"], results, published["retention"], published["attrition"],
            published["group_results"], design, names,
        ),  # fmt: skip
        "baseline": baseline,
        "not_equivalent": [row["name"] for row in baseline if row["equivalence"] == "not equivalent"],
        "rows": comparison_results_table(results, threshold, options.correction, order),
        "panels": comparison_panels(run, threshold, ranges, options.correction, results, comparison, published["trajectory"], names, design),
        "subgroups_declared": bool(study.config.subgroups),
        "forest_plots": [svg_data_uri(part) for part in forest],
        "forest_alt": comparison_forest_alt_text(results, names),
    }


def run_provenance(run) -> dict:
    """The run's manifest (:func:`pipeline.provenance.manifest`) with its run id: what both reports print."""
    return manifest(run)
