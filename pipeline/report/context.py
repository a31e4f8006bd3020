"""The funder's impact report as plain values for its template, and what both reports share
(study, date, run id, input hashes, participant flow, instruments)."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pandas as pd

from ..charts import svg_data_uri
from ..errors import PipelineError
from ..provenance import manifest
from ..score import score_range
from ..suppression import publishable_attrition, publishable_waves
from .design import study_design
from .flow import flow_svg, participant_flow
from .forest import forest_alt_text, forest_plot_svg
from .limitations import attrition_sentence, limitations
from .ordering import domain_order
from .results_table import results_table
from .subgroups import subgroup_table
from .summary import headline, wave_sentences
from .variables import variable_panels
from .words import CORRECTION_NAMES, label_in_sentence

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
    (:func:`pipeline.suppression.publishable_attrition`). The reports read these, never the scores."""
    return publishable_waves(run.results, run.changes, run.trajectory, threshold) | {
        "attrition": publishable_attrition(run.attrition, threshold)
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
    and ``changes`` as published)."""
    study = run.study
    threshold = study.config.report.suppression_threshold
    options = study.config.analysis
    flow = participant_flow(run, threshold, results, changes)
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
        "flow_svg": flow_svg(flow),
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


def run_provenance(run) -> dict:
    """The run's manifest (:func:`pipeline.provenance.manifest`) with its run id: what both reports print."""
    return manifest(run)
