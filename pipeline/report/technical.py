"""The technical report: every column of results.csv in grouped tables, notes, attrition, checks and the run manifest."""

from __future__ import annotations

import math

import pandas as pd

from ..suppression import publishable_attrition, publishable_results
from .context import common_context, run_provenance
from .ordering import domain_order, ordered_for_display
from .subgroups import subgroup_table

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


def technical_tables(results: pd.DataFrame, order: list[str] | None = None) -> list[dict]:
    """The technical report's results tables: every column of results.csv, in groups; rows by domain in ``order``."""
    rows = ordered_for_display(results, order)
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
    order = domain_order(run.study)
    withheld = f"fewer than {context['threshold']} pairs: statistics withheld in the reports (results.csv, for the research team, has them)"
    notes = [
        {"name": row["name"], "note": "; ".join(filter(None, [withheld if row["withheld"] else "", row["note"]]))}
        for _, row in ordered_for_display(results, order).iterrows()
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
        "tables": technical_tables(results, order),
        "notes": notes,
        "attrition_columns": attrition_columns,
        "attrition": attrition,
        "non_normal": non_normal["name"].tolist(),
        "disagree": disagree["name"].tolist(),
        "subgroups": subgroup_table(run, context["threshold"]),
        "manifest": provenance,
    }
