"""Analyze: the full paired pre/post analysis of every scale, corrected across the study's scales.

Pairs are formed by participant id, never by row order: only participants with a score at both
waves enter a scale's paired statistics (so ``n_pairs`` can differ between scales). For each
scale this stage applies the families in ``pipeline.statistics`` (see each module for formulas
and sources) and returns three tables:

* ``results`` (``results.csv``): one row per scale, the columns of ``RESULT_COLUMNS``, defined
  in the README's data dictionary;
* ``reliable_change`` (``reliable_change.csv``): one row per paired participant per scale with
  a reliable change basis, with the RCI and its category;
* ``attrition`` (``attrition.csv``): baseline scores of completers against non-completers.

``p_holm`` and ``p_fdr`` are adjusted across every scale of the study that has a p-value;
``outcome`` reads the adjusted p chosen in ``study.yaml`` (Holm by default) against its alpha,
with the sign of the change and the scale's direction of improvement.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .score import keyed_items
from .statistics.attrition import ATTRITION_STATISTICS, compare_baseline
from .statistics.bayes import MEDIUM_PRIOR_SCALE, jzs_log_bf10
from .statistics.mixed import wave_effect
from .statistics.multiplicity import adjust_p
from .statistics.paired import CONFIDENCE, paired_statistics
from .statistics.power import POWER, minimum_detectable_dz
from .statistics.reliability import complete_cases, cronbach_alpha, omega_total
from .statistics.reliable_change import CRITICAL_Z, change_basis, classify_change, is_case
from .statistics.wilcoxon import DECIMALS, EXACT_BELOW, signed_rank_test

RESULT_COLUMNS = [
    "variable", "name", "instrument", "domain", "higher_is", "n_pre", "n_post", "n_pairs",
    "mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "sd_diff", "ci_low", "ci_high",
    "t", "df", "p", "d_z", "d_z_ci_low", "d_z_ci_high", "d_av", "g_av",
    "wilcoxon_v", "wilcoxon_n", "wilcoxon_method", "p_wilcoxon", "r_rb",
    "p_holm", "p_fdr",
    "alpha_pre", "alpha_n_pre", "alpha_post", "alpha_n_post", "omega_pre", "omega_post",
    "shapiro_p", "bf10", "log_bf10", "mde_dz",
    "rci_basis", "rci_sd", "rci_reliability", "rci_threshold",
    "rci_improved_pct", "rci_unchanged_pct", "rci_deteriorated_pct",
    "recovery_cutoff", "n_cases_pre", "recovered_pct",
    "lmm_estimate", "lmm_se", "lmm_p", "lmm_n",
    "outcome", "note",
]  # fmt: skip

RELIABLE_CHANGE_COLUMNS = ["variable", "pre", "post", "change", "rci", "category", "case_pre", "case_post", "recovered"]
ATTRITION_COLUMNS = ["variable", "name", "instrument", *ATTRITION_STATISTICS, "note"]


#: The fixed conventions of the analysis, recorded in each run's manifest.json.
CONVENTIONS = {
    "confidence": CONFIDENCE,
    "wilcoxon_rounding_decimals": DECIMALS,
    "wilcoxon_exact_below_nonzero_differences": EXACT_BELOW,
    "bayes_factor_cauchy_prior_scale": MEDIUM_PRIOR_SCALE,
    "mde_power": POWER,
    "reliable_change_critical_z": CRITICAL_Z,
    "mixed_model": "score ~ wave + (1 | participant), REML, Wald z",
}


@dataclass(frozen=True)
class Analysis:
    """The three tables of the analysis stage (see the module docstring)."""

    results: pd.DataFrame
    reliable_change: pd.DataFrame
    attrition: pd.DataFrame


def scores_by_wave(scores: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Long scores (one row per participant per wave) as one row per participant.

    Columns are (variable, wave) with both ``pre`` and ``post`` present for every variable,
    so pairs are matched by id, never by row order.
    """
    wide = scores.pivot(index=id_column, columns="wave")
    variables = [column for column in scores.columns if column not in (id_column, "wave")]
    return wide.reindex(columns=pd.MultiIndex.from_product([variables, ["pre", "post"]]))


def paired_scores(wide: pd.DataFrame, variable: str) -> pd.DataFrame:
    """Pre and post scores of one variable for participants scored at both waves (see ``scores_by_wave``)."""
    return wide[variable].dropna()


def classify_outcome(mean_diff: float, p_adjusted: float, higher_is: str, alpha: float) -> str:
    """``improved`` / ``worsened`` / ``changed`` (neutral direction) / ``no significant change``."""
    if np.isnan(p_adjusted):
        return "not tested"
    if p_adjusted >= alpha:
        return "no significant change"
    if higher_is == "neutral":
        return "changed"
    increased = mean_diff > 0
    return "improved" if increased == (higher_is == "better") else "worsened"


def reliability_at_wave(items: pd.DataFrame | None) -> dict:
    """Cronbach's alpha, its n (complete responders) and omega total of keyed items at one wave."""
    if items is None:
        return {"alpha": np.nan, "n": 0, "omega": np.nan}
    complete = complete_cases(items.to_numpy(dtype=float))
    return {"alpha": cronbach_alpha(complete), "n": len(complete), "omega": omega_total(complete)}


def paired_tests(pre: np.ndarray, post: np.ndarray, alpha: float) -> dict:
    """Every per-scale statistic that needs only the paired scores (see ``pipeline.statistics``)."""
    row = paired_statistics(pre, post)
    ranks = signed_rank_test(post - pre)
    row.update(
        wilcoxon_v=ranks.v,
        wilcoxon_n=ranks.n_nonzero if row["n_pairs"] else np.nan,
        wilcoxon_method=ranks.method,
        p_wilcoxon=ranks.p,
        r_rb=ranks.r_rb,
        mde_dz=minimum_detectable_dz(row["n_pairs"], alpha),
        log_bf10=np.nan if np.isnan(row["t"]) else jzs_log_bf10(row["t"], row["n_pairs"], MEDIUM_PRIOR_SCALE),
    )
    row["bf10"] = np.exp(row["log_bf10"])
    if ranks.note:
        row["notes"].append(ranks.note)
    return row


def reliable_change(instrument, scale, pre: np.ndarray, post: np.ndarray, row: dict) -> tuple[dict, dict | None]:
    """The ``rci_*`` and recovery columns of ``row`` and the per-participant classifications."""
    columns = dict.fromkeys(
        ["rci_basis", "rci_sd", "rci_reliability", "rci_threshold", "rci_improved_pct", "rci_unchanged_pct",
         "rci_deteriorated_pct", "recovery_cutoff", "n_cases_pre", "recovered_pct"],  # fmt: skip
        np.nan,
    )
    columns.update(rci_basis="", recovery_cutoff="")
    if len(pre) == 0:
        return columns, None
    basis, reason = change_basis(instrument, scale, row["sd_pre"], row["alpha_pre"])
    if basis is None:
        if len(pre) >= 2:  # with fewer pairs the paired note already says why
            row["notes"].append(reason)
        return columns, None
    rci = (post - pre) / basis.s_diff
    category = classify_change(rci, scale.higher_is)
    columns.update(rci_basis=basis.basis, rci_sd=basis.sd, rci_reliability=basis.reliability, rci_threshold=basis.threshold)
    if scale.higher_is == "neutral":
        row["notes"].append("no direction of improvement: reliable change is in reliable_change.csv as increased or decreased")
    else:
        for name in ("improved", "unchanged", "deteriorated"):
            columns[f"rci_{name}_pct"] = 100 * np.mean(category == name)
    participants = {"pre": pre, "post": post, "change": post - pre, "rci": rci, "category": category}
    cutoff = scale.cutoffs[0] if scale.cutoffs and scale.higher_is != "neutral" else None
    if cutoff is not None:
        case_pre, case_post = is_case(pre, cutoff), is_case(post, cutoff)
        recovered = case_pre & ~case_post & (category == "improved")
        columns.update(
            recovery_cutoff=f"{cutoff.case_when} {cutoff.score:g}",
            n_cases_pre=int(case_pre.sum()),
            recovered_pct=100 * recovered.sum() / case_pre.sum() if case_pre.any() else np.nan,
        )
        participants.update(case_pre=case_pre, case_post=case_post, recovered=recovered)
    return columns, participants


def scale_row(instrument, scale, scale_scores: pd.DataFrame, items: dict, alpha: float) -> tuple[dict, pd.DataFrame | None, dict]:
    """The results row, the reliable-change rows and the attrition row of one scale.

    ``scale_scores`` has one row per participant (index = id) and ``pre``/``post`` columns;
    ``items`` maps each wave to the scale's keyed item responses (None for a composite scale).
    """
    paired = scale_scores.dropna()
    pre, post = paired["pre"].to_numpy(dtype=float), paired["post"].to_numpy(dtype=float)
    row = paired_tests(pre, post, alpha)
    for wave in ("pre", "post"):
        wave_reliability = reliability_at_wave(items[wave])
        row.update({f"alpha_{wave}": wave_reliability["alpha"], f"alpha_n_{wave}": wave_reliability["n"], f"omega_{wave}": wave_reliability["omega"]})
    if scale.is_composite:
        row["notes"].append("a difference of two scales: no alpha or omega")
    elif items["pre"] is not None:
        item_count = items["pre"].shape[1]
        if item_count < 3:
            row["notes"].append("one item: no alpha or omega" if item_count == 1 else "two items: no omega (one factor needs 3 or more)")
    model = wave_effect(scale_scores["pre"].to_numpy(dtype=float), scale_scores["post"].to_numpy(dtype=float))
    row.update(lmm_estimate=model.estimate, lmm_se=model.se, lmm_p=model.p, lmm_n=model.n_participants)
    if model.note and row["n_pairs"]:
        row["notes"].append(model.note)
    change_columns, participants = reliable_change(instrument, scale, pre, post, row)
    row.update(change_columns)
    counts = scale_scores.notna().sum()
    row.update(
        variable=scale.id,
        name=scale.name,
        instrument=instrument.label,
        domain=scale.domain or "",
        higher_is=scale.higher_is,
        n_pre=int(counts["pre"]),
        n_post=int(counts["post"]),
        note="; ".join(dict.fromkeys(row.pop("notes"))),
    )
    change_table = None
    if participants is not None:
        change_table = pd.DataFrame({"variable": scale.id, **participants}, index=paired.index)
    baseline = scale_scores["pre"].to_numpy(dtype=float)
    completers = scale_scores["post"].notna().to_numpy()
    scored = ~np.isnan(baseline)
    attrition = compare_baseline(baseline[completers & scored], baseline[~completers & scored])
    attrition.update(variable=scale.id, name=scale.name, instrument=instrument.label)
    return row, change_table, attrition


def analyze(
    scores: pd.DataFrame,
    study,
    responses: dict[str, pd.DataFrame] | None = None,
    correction: str | None = None,
    alpha: float | None = None,
) -> Analysis:
    """The full analysis of every analysed scale of ``study`` (see the module docstring).

    ``scores`` is long (one row per participant per wave); ``responses`` maps each wave to its
    validated item responses (for alpha and omega; without it they are empty). Correction and
    alpha default to the study's ``analysis`` options.
    """
    correction = correction or study.config.analysis.correction
    alpha = study.config.analysis.alpha if alpha is None else alpha
    wide = scores_by_wave(scores, study.id_column)
    rows, change_tables, attrition_rows = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for instrument, scale in study.scales:
            items = {
                wave: None
                if responses is None or scale.is_composite
                else keyed_items(responses[wave], instrument, scale)
                for wave in ("pre", "post")
            }
            row, change_table, attrition = scale_row(instrument, scale, wide[scale.id], items, alpha)
            rows.append(row)
            attrition_rows.append(attrition)
            if change_table is not None:
                change_tables.append(change_table)
    results = pd.DataFrame(rows)
    results["p_holm"] = adjust_p(results["p"], "holm")
    results["p_fdr"] = adjust_p(results["p"], "fdr")
    decisive = results[f"p_{correction}"]
    results["outcome"] = [
        classify_outcome(diff, p, direction, alpha)
        for diff, p, direction in zip(results["mean_diff"], decisive, results["higher_is"])
    ]
    return Analysis(
        results=results[RESULT_COLUMNS],
        reliable_change=reliable_change_table(change_tables, study.id_column),
        attrition=pd.DataFrame(attrition_rows).reindex(columns=ATTRITION_COLUMNS),
    )


def reliable_change_table(tables: list[pd.DataFrame], id_column: str) -> pd.DataFrame:
    """Per-participant reliable change rows of every scale, the participant id first."""
    columns = [id_column, *RELIABLE_CHANGE_COLUMNS]
    if not tables:
        return pd.DataFrame(columns=columns)
    table = pd.concat(tables).rename_axis(id_column).reset_index()
    return table.reindex(columns=columns)
