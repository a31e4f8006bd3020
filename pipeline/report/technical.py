"""The technical report: every column of results.csv in grouped tables, notes, attrition, checks and the run manifest.

The tables' columns, their order and how each value is shown come from :mod:`pipeline.schema`
(a column's group and kind); only the titles and captions are written here, keyed by group id.
With three or more waves the report adds every contrast of ``changes.csv`` and the wave means
of ``trajectory.csv``, published through the same small-cell rules (:mod:`pipeline.suppression`).

A study with a comparison group (:func:`group_technical_context`) has every column of
``comparison.csv`` in its tables (one row per variable and later wave), ``retention.csv``, and
each group's own tables: ``changes.csv``, ``trajectory.csv``, the reliability and reliable
change of each group's baseline \u2192 primary results and ``attrition.csv``, every row naming
its group; subgroups by group.
"""

from __future__ import annotations

import math

import pandas as pd

from ..schema import ATTRITION, CHANGES, COMPARISON, RESULTS, RETENTION, TABLES, TRAJECTORY
from ..suppression import TOO_FEW, publishable_attrition
from .context import common_context, published_tables, run_provenance
from .design import study_design
from .ordering import domain_order, ordered_by_variable, ordered_for_display
from .subgroups import subgroup_table
from .words import group_names

#: Title and caption of each group of results.csv columns (:meth:`pipeline.schema.Table.grouped`),
#: and the columns shown first when the caption reads them first (the rest follow the schema).
GROUP_TEXT = {
    "descriptives": ("Descriptives", "Scores of participants with both scores (SD with n \u2212 1); n_pre and n_post count everyone scored at that time."),
    "paired": ("Paired t-test and multiplicity", "Student's paired t (two-sided); mean_diff = post \u2212 pre with its 95% t interval; p_holm and p_fdr adjust across all variables."),
    "effect_sizes": ("Effect sizes, Bayes factor and sensitivity", "d_z = mean_diff / sd_diff with a noncentral-t 95% interval; d_av over the mean of the two SDs; g_av with Hedges' exact correction (df = n \u2212 1); JZS BF10 with r = 0.707; mde_dz at 80% power."),
    "assumptions": ("Assumptions and the rank-based check", "Shapiro\u2013Wilk p on the differences (empty beyond 5,000 pairs); Wilcoxon signed-rank V, p and matched-pairs rank-biserial r, as R's classic wilcox.test."),
    "reliability": ("Reliability in this sample", "Cronbach's alpha over participants who answered every item at that time (n beside it); McDonald's omega total, one factor (minres)."),
    "reliable_change": ("Reliable change", "Jacobson & Truax (1991): a change beyond 1.96 \u00d7 SD \u00d7 \u221a(2(1 \u2212 r)); rci_basis says whether SD and r are published or this sample's."),
    "mixed_model": ("Intention-to-treat mixed model", "score ~ wave + (1 | participant) by REML on every available score; Satterthwaite df and t (lmerTest), two-sided p."),
    "change_descriptives": ("Change at every wave: descriptives", "Every later wave against the baseline (contrast change) and every wave after the primary endpoint against it (maintenance); scores of the participants with both scores of that contrast (SD with n \u2212 1)."),
    "change_tests": ("Change at every wave: tests and effect sizes", "Student's paired t, d_z with its noncentral-t interval, d_av and the Wilcoxon signed-rank check of each contrast; p_holm and p_fdr adjust across all variables within one contrast."),
    "change_model": ("Change at every wave: mixed model and equivalence", "The contrast of the intention-to-treat mixed model (one fit per variable on every wave; Satterthwaite df and t, lmerTest); tost_low, tost_high and p_tost: the paired equivalence test (TOST) of a maintenance contrast against \u00b1 the margin in d_z \u00d7 sd_diff, when analysis.maintenance_margin_dz is set."),
    "trajectory": ("Trajectory: the mean at every wave", "n, mean and SD of everyone scored at that wave; lmm_mean with its SE, Satterthwaite df and 95% t interval: the mixed model's mean at that wave (emmeans)."),
    "comparison_descriptives": ("Between groups: descriptives", "Each row is one variable at one later wave, program against comparison; over the participants of each group scored at baseline and at that wave: n, means and SDs (n \u2212 1) at baseline (from) and at that wave (to), and r, each group's Pearson correlation of the two scores."),
    "baseline_balance": ("Between groups: baseline balance", "Over everyone scored at baseline in each group; baseline_smd is Hedges' g as the What Works Clearinghouse computes it, (1 \u2212 3 / (4N \u2212 9)) \u00d7 (program \u2212 comparison) / pooled SD, and baseline_equivalence its reading: equivalent (|g| \u2264 0.05), adjustment needed (0.05\u20130.25), not equivalent (> 0.25)."),
    "ancova": ("Between groups: ANCOVA", "lm(to ~ from + group) by least squares over the pairs (Vickers & Altman, 2001): ancova_diff = program \u2212 comparison with its 95% t interval on N \u2212 3 df; adj_mean_*: the adjusted means at the grand baseline mean (emmeans); ancova_slope: the common slope on the baseline score."),
    "difference_in_differences": ("Between groups: difference in differences", "Student's two-sample t on the change scores (t.test(change ~ group, var.equal = TRUE)): did_diff = program's mean change \u2212 comparison's."),
    "effect_size": ("Between groups: standardized difference", "Morris's (2008) d_ppc2: c_P \u00d7 (difference in mean change) / pooled baseline SD, c_P = 1 \u2212 3 / (4(n_P + n_C \u2212 2) \u2212 1), with d \u00b1 1.96 \u221av from his eq. 25; d_ppc2_rho: the pooled within-group correlation used in v."),
    "comparison_model": ("Between groups: intention-to-treat mixed model", "lmer(score ~ wave * group + (1 | participant)) by REML on every available score of the allocated participants: the wave \u00d7 group interaction for that wave, (program at wave \u2212 at baseline) \u2212 (comparison at wave \u2212 at baseline), with Satterthwaite df and t (lmerTest); lmm_n: participants in the fit."),
    "multiplicity": ("Between groups: multiplicity and outcome", "p_holm and p_fdr adjust the ANCOVA p, did_p_holm and did_p_fdr the difference in differences p, across the variables within each wave (Holm, 1979; Benjamini & Hochberg, 1995); outcome reads the chosen correction against alpha with the direction of improvement (the ANCOVA's when randomised; without randomisation only where both analyses agree)."),
    "retention": ("Retention by group", "Per later wave: allocated (accepted at baseline in each group) and followed (accepted at baseline and at that wave), attrition per group, overall, and differential (the absolute difference of the two groups' attrition, in percentage points), as the What Works Clearinghouse defines them, with its attrition level under the study's boundary (the boundary's table read from the R package baselinr, a secondary source, not from the handbook)."),
    "reliable_change_by_group": ("Each group: reliable change", "Jacobson & Truax (1991) within each group: a change beyond 1.96 \u00d7 SD \u00d7 \u221a(2(1 \u2212 r)); rci_basis says whether SD and r are published or this group's; the percentages describe the group, they do not compare the groups."),
    "reliability_by_group": ("Each group: reliability", "Cronbach's alpha over each group's participants who answered every item at that time (n beside it); McDonald's omega total, one factor (minres)."),
}  # fmt: skip
SHOWN_FIRST = {"assumptions": ("shapiro_p",)}


def group_columns(table, group: str) -> list[str]:
    """The columns of one group of a schema table, in the schema's order, those of :data:`SHOWN_FIRST` first."""
    columns = table.grouped()[group]
    first = [column for column in SHOWN_FIRST.get(group, ()) if column in columns]
    return first + [column for column in columns if column not in first]


#: Every results.csv column in the technical report's tables: (title, caption, columns) per group.
TECHNICAL_GROUPS = [(*GROUP_TEXT[group], group_columns(RESULTS, group)) for group in RESULTS.grouped()]
#: The three tables of changes.csv and the table of trajectory.csv (three or more waves only).
CHANGE_GROUPS = [(*GROUP_TEXT[group], group_columns(CHANGES, group)) for group in CHANGES.grouped()]
TRAJECTORY_GROUP = (*GROUP_TEXT["trajectory"], group_columns(TRAJECTORY, "trajectory"))
#: Every comparison.csv column in the technical report of a two-group study, by the schema's groups.
COMPARISON_GROUPS = [(*GROUP_TEXT[group], group_columns(COMPARISON, group)) for group in COMPARISON.grouped()]
#: retention.csv's columns but its row label (the wave).
RETENTION_COLUMNS = [column for column in RETENTION.names if column not in ("wave", "note")]


def _kinds() -> dict:
    """Each column name's kind (:data:`pipeline.schema.Kind`) over every published table; one name has one kind."""
    kinds: dict = {}
    for table in TABLES.values():
        for column in table.columns:
            if kinds.setdefault(column.name, column.kind) != column.kind:
                raise ValueError(f"{column.name} is {kinds[column.name]} in one table and {column.kind} in {table.file}")
    return kinds


KINDS = _kinds()


def format_technical(value, column: str) -> str:
    """A value of a published table for the technical report, by its column's kind in
    :mod:`pipeline.schema`: p-values to 4 significant digits (scientific below 0.0001), counts as
    integers, degrees of freedom as integers when whole, other numbers to 4 decimals, text as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "\u2014"
    if isinstance(value, str):
        return value
    kind = KINDS.get(column, "number")
    if kind == "count" or (kind == "df" and float(value).is_integer()):
        return f"{int(value):,}"
    value = float(value)
    if math.isinf(value):
        return "\u221e" if value > 0 else "\u2212\u221e"
    if kind == "p":
        text = f"{value:.3e}" if 0 < value < 1e-4 else f"{value:.4f}"
    else:
        text = f"{value:.4f}"
    return text.replace("-", "\u2212")


def column_classes(columns: list[str]) -> list[str]:
    """The cell class of each column: ``text`` for text columns, else ``num`` (right-aligned)."""
    return ["text" if KINDS.get(column) == "text" else "num" for column in columns]


def technical_tables(
    results: pd.DataFrame,
    order: list[str] | None = None,
    groups: list | None = None,
    contrasts: bool = False,
    variables: list[str] | None = None,
    by_group: bool = False,
) -> list[dict]:
    """The technical report's tables of a published table, one per group of ``groups`` (default:
    :data:`TECHNICAL_GROUPS`, every column of results.csv); rows by domain in ``order``, or, for a
    table without domains, in the order of ``variables``. With ``contrasts`` (changes.csv,
    trajectory.csv, comparison.csv) each row's label also names its waves (and its group, in a
    two-group study's own tables); with ``by_group`` (a two-group study's results by group) its group."""
    rows = ordered_for_display(results, order) if variables is None else ordered_by_variable(results, variables)
    tables = []
    for title, caption, columns in split_wide(TECHNICAL_GROUPS if groups is None else groups):
        tables.append(
            {
                "title": title,
                "caption": caption,
                "label": "Variable",
                "columns": columns,
                "kinds": column_classes(columns),
                "rows": [
                    {"sub": row_label(row) if contrasts else f"{row['variable']}, {row['group']}" if by_group else row["variable"], "name": row["name"],
                     "cells": [format_technical(row[c], c) for c in columns]}  # fmt: skip
                    for _, row in rows.iterrows()
                ],
            }
        )
    return tables


#: The most columns one table of the technical report holds on its landscape page; a group with more is split.
MAX_COLUMNS = 12


def split_wide(groups: list) -> list:
    """Groups of more than :data:`MAX_COLUMNS` columns as two or more tables of even size ("(1 of 2)" after the title)."""
    split = []
    for title, caption, columns in groups:
        parts = math.ceil(len(columns) / MAX_COLUMNS)
        size = math.ceil(len(columns) / parts)
        for index in range(parts):
            suffix = f" ({index + 1} of {parts})" if parts > 1 else ""
            split.append((title + suffix, caption if index == 0 else "Continued.", columns[index * size : (index + 1) * size]))
    return split


def row_label(row) -> str:
    """The small line under a row's name in a table of contrasts or waves: its variable and its
    waves (and, in a two-group study's own tables, its group)."""
    variable = f"{row['variable']}, {row['group']}" if "group" in row.index else row["variable"]
    if "to_wave" in row.index:
        return f"{variable}: {row['from_wave']} \u2192 {row['to_wave']}"
    return f"{variable}: {row['wave']}"


def wave_sections(run, published: dict, order: list[str], threshold: int) -> list[dict]:
    """The sections a study of three or more waves adds: every contrast of changes.csv (three
    tables) and the trajectory; none for two waves, whose one contrast is results.csv."""
    if len(run.study.wave_names) < 3:
        return []
    variables = ordered_for_display(published["results"], order)["variable"].tolist()
    waves = ", ".join(f"{wave} ({run.study.wave_label(wave)}{weeks_text(run.study, wave)})" for wave in run.study.wave_names)
    return [
        {
            "id": "changes",
            "title": "Change at every wave",
            "intro": f"The waves, in order: {waves}; the primary endpoint is {run.study.primary}. "
            "The baseline \u2192 primary rows repeat the tables above.",
            "tables": technical_tables(published["changes"], order, CHANGE_GROUPS, contrasts=True, variables=variables),
        },
        {
            "id": "trajectory",
            "title": "Trajectory",
            "intro": f"Withheld (\u2014): the mean and SD of a wave scored for fewer than {threshold} people, or whose mean beside "
            f"a published paired mean of the same wave would give away the scores of the 1 to {threshold - 1} people between them; "
            f"every mixed-model figure of a variable with such a small wave or with 1 to {threshold - 1} people outside a "
            "contrast's pairs (in every table: the model's contrasts and means follow from one another).",
            "tables": technical_tables(published["trajectory"], order, [TRAJECTORY_GROUP], contrasts=True, variables=variables),
        },
    ]


def weeks_text(study, wave: str) -> str:
    weeks = study.config.waves[wave].weeks
    return "" if weeks is None else f", week {weeks:g}"


def technical_context(run, provenance: dict | None = None) -> dict:
    """Everything the technical report shows: full results, assumptions, reliability, reliable
    change, attrition, the mixed model, instruments and the run manifest (no participant ids);
    with three or more waves also every contrast and the trajectory."""
    provenance = provenance or run_provenance(run)
    if study_design(run.study).comparison_group:
        return group_technical_context(run, provenance)
    threshold = run.study.config.report.suppression_threshold
    published = published_tables(run, threshold)
    results = published["results"]
    context = common_context(run, provenance, results, published["changes"])
    order = domain_order(run.study)
    withheld = f"fewer than {context['threshold']} pairs: statistics withheld in the reports (results.csv, for the research team, has them)"
    notes = [
        {"name": row["name"], "note": "; ".join(filter(None, [withheld if row["withheld"] else "", row["note"]]))}
        for _, row in ordered_for_display(results, order).iterrows()
        if row["note"] or row["withheld"]
    ]
    several = len(run.study.wave_names) > 2
    attrition_columns = [column for column in ATTRITION.grouped()["attrition"] if several or column != "wave"]
    attrition = [
        {"name": row["name"], "instrument": row["instrument"], "group": None, "cells": [format_technical(row[c], c) for c in attrition_columns], "note": row["note"]}
        for _, row in publishable_attrition(run.attrition, context["threshold"]).iterrows()
    ]
    non_normal = results.loc[results["shapiro_p"] < 0.05]
    disagree = results.loc[((results["p"] < context["alpha"]) != (results["p_wilcoxon"] < context["alpha"])) & results["p_wilcoxon"].notna()]
    return context | {
        "tables": technical_tables(results, order),
        "wave_sections": wave_sections(run, published, order, threshold),
        "notes": notes,
        "attrition_columns": attrition_columns,
        "attrition_kinds": column_classes(attrition_columns),
        "attrition": attrition,
        "several_waves": several,
        "non_normal": non_normal["name"].tolist(),
        "disagree": disagree["name"].tolist(),
        "subgroups": subgroup_table(run, context["threshold"]),
        "manifest": provenance,
        "two_groups": False,
    }


def group_technical_context(run, provenance: dict | None = None) -> dict:
    """Everything the technical report of a two-group study shows, as published
    (:func:`pipeline.report.context.published_tables`): every column of ``comparison.csv`` in the
    tables of its schema groups (a row per variable and later wave), then ``retention.csv`` and
    each group's own tables (``changes.csv``, ``trajectory.csv``, reliability from each group's
    baseline \u2192 primary results), the assumptions, each group's attrition, subgroups by group,
    the instruments and the manifest. The group tables describe each group; the report says they
    are not the evidence of the program's effect (Bland & Altman, 2011)."""
    provenance = provenance or run_provenance(run)
    study = run.study
    threshold = study.config.report.suppression_threshold
    published = published_tables(run, threshold)
    results, comparison = published["results"], published["comparison"]
    context = common_context(run, provenance, results)
    order = domain_order(study)
    names = group_names(study)
    variables = ordered_for_display(results, order)["variable"].tolist()
    label = {role: names[role] for role in ("program", "comparison")}
    notes = [
        {"name": f"{row['name']} ({row['wave']})", "note": row["note"]}
        for _, row in ordered_by_variable(comparison, variables).iterrows()
        if isinstance(row["note"], str) and row["note"]
    ]
    retention = published["retention"]
    retention_table = {
        "title": GROUP_TEXT["retention"][0],
        "caption": f"{GROUP_TEXT['retention'][1]} Counts from 1 to {threshold - 1} are shown as \u201c<{threshold}\u201d; a total that would "
        "give one away is shown as a range, and a percentage that would as \u2014.",
        "label": "Wave",
        "columns": RETENTION_COLUMNS,
        "kinds": column_classes(RETENTION_COLUMNS),
        "rows": [
            {"name": study.wave_label(row["wave"]), "sub": row["wave"] + (f"; {row['note']}" if row["note"] else ""), "cells": [format_technical(row[c], c) for c in RETENTION_COLUMNS]}
            for _, row in retention.iterrows()
        ],
    }
    within = "Each group's own figures, for describing it: they are never the evidence of the program's effect, which is the comparison above (Bland & Altman, 2011). "
    reliability = [
        (*GROUP_TEXT["reliability_by_group"], group_columns(RESULTS, "reliability")),
        (*GROUP_TEXT["reliable_change_by_group"], group_columns(RESULTS, "reliable_change")),
    ]
    sections = [
        {"id": "retention", "title": "Attrition by group", "intro": "", "tables": [retention_table]},
        {
            "id": "changes",
            "title": "Each group's change",
            "intro": within + f"Rows name the variable, the group ({label['program']}: program; {label['comparison']}: comparison) and the waves; "
            "p_holm and p_fdr adjust across the variables within each group and contrast, and the lmm_* figures come from the two-group model.",
            "tables": technical_tables(published["changes"], order, CHANGE_GROUPS, contrasts=True, variables=variables),
        },
        {
            "id": "trajectory",
            "title": "Each group's trajectory",
            "intro": within + f"Withheld (\u2014): the mean and SD of a wave scored for fewer than {threshold} people of a group, or whose "
            f"mean beside a published paired mean would give away the scores of the 1 to {threshold - 1} people between them; every "
            "mixed-model figure of a variable whose model has such a small part (the model is one fit for both groups).",
            "tables": technical_tables(published["trajectory"], order, [TRAJECTORY_GROUP], contrasts=True, variables=variables),
        },
        {
            "id": "reliability",
            "title": "Each group's reliability and reliable change",
            "intro": within + f"From {study.wave_label(study.baseline)} (pre) to {study.wave_label(study.primary)} (post), within each group.",
            "tables": technical_tables(published["group_results"], order, reliability, contrasts=False, variables=variables, by_group=True),
        },
    ]
    attrition_columns = [column for column in ATTRITION.grouped()["attrition"] if len(study.wave_names) > 2 or column != "wave"]
    attrition = [
        {"name": row["name"], "instrument": row["instrument"], "group": label[row["group"]], "cells": [format_technical(row[c], c) for c in attrition_columns], "note": row["note"]}
        for _, row in ordered_by_variable(published["attrition"], variables).iterrows()
    ]
    withheld = int((results["outcome"] == TOO_FEW).sum())
    return context | {
        "two_groups": True,
        "names": names,
        "design": study_design(study),
        "tables": technical_tables(comparison, order, COMPARISON_GROUPS, contrasts=True, variables=variables),
        "wave_sections": sections,
        "notes": notes,
        "withheld": withheld,
        "attrition_columns": attrition_columns,
        "attrition_kinds": column_classes(attrition_columns),
        "attrition": attrition,
        "several_waves": len(study.wave_names) > 2,
        "non_normal": [],
        "disagree": [],
        "subgroups": subgroup_table(run, threshold),
        "manifest": provenance,
    }
