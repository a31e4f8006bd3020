"""Report: the funder's impact report and the researcher's technical report, as HTML and PDF.

Both reports are jinja2 templates with autoescaping on for every template (study names, labels
and any text from data are shown as text, never run as markup) and undefined variables refused.
WeasyPrint renders them with a URL fetcher that may read only ``data:`` URLs, the package's own
``assets/`` folder and the files the study declares (its logo): no network, no redirects, no
other local file.

Only aggregates reach either PDF: no participant id, no free text. Counts follow the small-cell
rules of :mod:`pipeline.suppression` with the study's ``report.suppression_threshold``.
Participant-level scores appear in the funder's report only as unlabelled lines of the paired
slope charts, drawn only for variables with at least that many pairs (two waves; with three or
more the charts draw the mixed model's wave means). Every report reads the analysis's tables as
published together (:func:`.context.published_tables`, :func:`pipeline.suppression.publishable_waves`),
never the scores.

A study with a comparison group (``groups:``) has its own impact report (template
``impact-report-groups.html.j2``): the headline answers the causal question (how many variables
the program group did better on than the comparison group, by the ANCOVA, or where both analyses
agree when the groups were not randomised), the flow in two columns, the groups at the start, the
forest plot of d_ppc2, both groups' trajectories with the between-group sentence, the results at
the primary endpoint and the limitations of its design; its technical report has every column of
``comparison.csv``, ``retention.csv`` and each group's own tables. Each group's own change is
shown only to describe it, never as the evidence (Bland & Altman, 2011). One-group reports are
unchanged by it.

Where each part lives, by the report section it makes:

* :mod:`.summary` - the summary's headline (what improved, worsened or changed; with a comparison
  group, what the program group did better or worse on) and, with three or more waves, what
  happened at each later wave.
* :mod:`.flow` - "Who took part": the participant flow diagram's boxes, small counts suppressed
  (one column per group with a comparison group).
* :mod:`.forest` - "Change on every variable": the forest plot's rows and alt text (d_ppc2 between the groups).
* :mod:`.variables` - "Variable by variable": panels, their sentences, slopes or trajectories,
  reliable-change bars (both groups' trajectories and the between-group sentence).
* :mod:`.baseline` - "The groups at the start": each group's baseline means, the standardized
  difference and its What Works Clearinghouse reading (two groups only).
* :mod:`.results_table` - "Results table".
* :mod:`.subgroups` - "Results by subgroup" (by group in the technical report of a two-group study;
  not in its impact report).
* :mod:`.limitations` - "What this design cannot show", and the attrition sentence; for a
  comparison group, written from whether the groups were randomised.
* :mod:`.design` - what the study's design can show (a comparison group or not, randomised or
  not), for the caveats.
* :mod:`.context` - the impact report's template values (and its cover line), and what both reports share.
* :mod:`.technical` - the technical report: tables by the schema's groups (and, with three or more
  waves, every contrast and the trajectory), notes, attrition, manifest; with a comparison group,
  comparison.csv, retention.csv and each group's tables.
* :mod:`.words` - numbers, p-values, effect sizes, changes, corrections and directions in words,
  and the names of a study's groups.
* :mod:`.ordering` - the order variables are shown in (by domain).
* :mod:`.render` - the jinja2 environment, :func:`start_reports` and :func:`render_reports` (HTML,
  and PDF through :mod:`pipeline.pdf`, the renderer and its URL sandbox), the logo.

The run's provenance (manifest and run id) comes from :mod:`pipeline.provenance`; nothing here
imports :mod:`pipeline.run`.
"""

from __future__ import annotations

from ..suppression import suppress_count
from .baseline import baseline_table
from .context import (
    DEFAULT_SUBTITLE, GROUPS_SUBTITLE, common_context, cover_subtitle, group_report_context, published_tables, report_context, report_date,
    run_provenance, wave_roles,
)  # fmt: skip
from .design import Design, study_design
from .flow import REASON_WORDS, flow_svg, group_flow_svg, group_participant_flow, participant_flow
from .forest import (
    COMPARISON_AXIS, COMPARISON_COLOURS, NEUTRAL_COLOUR, OUTCOME_COLOURS, comparison_forest_alt_text, comparison_forest_svg, display_label,
    forest_alt_text, forest_plot_svg,
)  # fmt: skip
from .limitations import attrition_sentence, baseline_sentence, group_attrition_sentence, group_limitations, limitations, retention_text
from .ordering import domain_order, ordered_for_display
from ..pdf import ASSETS_DIR, PdfRenderers, asset_fetcher, html_to_pdf
from .render import TEMPLATES_DIR, logo_sources, render_html, render_reports, start_reports, template_environment
from .results_table import comparison_results_table, results_table
from .subgroups import subgroup_table
from .summary import better_before_correction, comparison_headline, comparison_wave_sentences, headline, improved_before_correction, wave_sentences
from .technical import (
    CHANGE_GROUPS, COMPARISON_GROUPS, TECHNICAL_GROUPS, TRAJECTORY_GROUP, format_technical, group_technical_context, technical_context,
    technical_tables,
)  # fmt: skip
from .variables import comparison_panels, comparison_sentence, panel_sentence, reliable_change_bar, trajectory_panel, variable_panels
from .words import (
    COMPARISON_OUTCOME_WORDS,
    CORRECTION_NAMES,
    DIRECTION_WORDS,
    EFFECT_SIZE_WORDS,
    change_in_words,
    difference_in_words,
    effect_size_in_words,
    format_number,
    format_p,
    group_names,
    improvement_sign,
    label_in_sentence,
)

__all__ = [
    "ASSETS_DIR", "CHANGE_GROUPS", "COMPARISON_AXIS", "COMPARISON_COLOURS", "COMPARISON_GROUPS", "COMPARISON_OUTCOME_WORDS", "CORRECTION_NAMES",
    "DEFAULT_SUBTITLE", "Design", "DIRECTION_WORDS", "EFFECT_SIZE_WORDS", "GROUPS_SUBTITLE", "NEUTRAL_COLOUR", "OUTCOME_COLOURS", "PdfRenderers",
    "REASON_WORDS", "TECHNICAL_GROUPS", "TEMPLATES_DIR", "TRAJECTORY_GROUP",
    "asset_fetcher", "attrition_sentence", "baseline_sentence", "baseline_table", "better_before_correction", "change_in_words", "common_context",
    "comparison_forest_alt_text", "comparison_forest_svg", "comparison_headline", "comparison_panels", "comparison_results_table",
    "comparison_sentence", "comparison_wave_sentences", "cover_subtitle", "difference_in_words", "display_label", "domain_order", "effect_size_in_words",
    "flow_svg", "forest_alt_text", "forest_plot_svg", "format_number", "format_p", "format_technical", "group_attrition_sentence",
    "group_flow_svg", "group_limitations", "group_names", "group_participant_flow", "group_report_context", "group_technical_context", "headline",
    "html_to_pdf", "improved_before_correction", "improvement_sign", "label_in_sentence", "limitations", "logo_sources", "ordered_for_display",
    "panel_sentence", "participant_flow", "published_tables", "reliable_change_bar", "render_html", "render_reports",
    "report_context", "report_date", "results_table", "retention_text", "run_provenance", "start_reports", "study_design", "subgroup_table", "suppress_count",
    "technical_context", "technical_tables", "template_environment", "trajectory_panel", "variable_panels", "wave_roles", "wave_sentences",
]  # fmt: skip
