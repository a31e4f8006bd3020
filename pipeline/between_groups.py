"""Analyze, two groups: the program group against the comparison group, per scale and later wave.

A study with ``groups:`` allocates each participant at baseline to the *program* or the
*comparison* group (:mod:`pipeline.validate`); :func:`pipeline.analyze.analyze` then fits one
mixed model per scale with a cell per group and wave and calls :func:`comparison_row` for every
later wave. Each row (``comparison.csv``; :data:`pipeline.schema.COMPARISON`) holds, over the
participants of each group scored at baseline and at that wave, the descriptives and each group's
Pearson correlation of the two scores, then the statistics of
:mod:`pipeline.statistics.comparison`: ANCOVA (``lm(to ~ from + group)``, Vickers & Altman, 2001)
with its adjusted means, the difference in differences (Student's t on change scores), Morris's
(2008) d_ppc2 with its eq. 25 interval; the mixed model's group × wave interaction on every
available score (``score ~ wave * group + (1 | participant)``, REML, Satterthwaite df as lmerTest
reports it: intention to treat); and the What Works Clearinghouse baseline g over everyone
scored at baseline with its reading. Differences are program − comparison throughout.

:func:`classify_comparisons` adds ``p_holm``/``p_fdr`` (of the ANCOVA p) and
``did_p_holm``/``did_p_fdr`` across variables within each wave, and the ``outcome``: in a
randomised study the ANCOVA's (the primary analysis: Van Breukelen, 2006; FDA, 2023); in a
not-randomised one, the ANCOVA and the difference in differences answer different questions when
the groups differ at baseline (Lord's paradox), so ``outcome`` holds only where both agree.
:func:`retention_rows` gives each later wave's attrition by group, overall and differential
(What Works Clearinghouse, Procedures and Standards Handbook v5.0, 2022).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import COMPARISON
from .statistics.attrition import attrition_level
from .statistics.comparison import ancova, baseline_equivalence, baseline_smd, d_ppc2, difference_in_differences
from .statistics.multiplicity import adjust_p
from .study import GROUP_ROLES

#: The roles of a two-group study, in the order of the mixed model's cells.
ROLES = GROUP_ROLES
MIN_PAIRS = 2
DISAGREE = "ANCOVA and difference in differences disagree"


def interaction_weights(n_waves: int, wave_index: int) -> np.ndarray:
    """The weights of ``(program at wave − program at baseline) − (comparison at wave − comparison at
    baseline)`` on the cells of the two-group model (the program's waves, then the comparison's)."""
    weights = np.zeros(2 * n_waves)
    weights[[wave_index, n_waves]] = 1.0
    weights[[0, n_waves + wave_index]] = -1.0
    return weights


def group_cells(matrix: np.ndarray, membership: dict[str, np.ndarray]) -> np.ndarray:
    """The scores as the two-group model's cells: each participant's waves in their own group's
    columns (the program's first), NaN in the other's; participants of neither group are left out."""
    n_waves = matrix.shape[1]
    cells = np.full((len(matrix), 2 * n_waves), np.nan)
    for k, role in enumerate(ROLES):
        rows = membership[role]
        cells[rows, k * n_waves : (k + 1) * n_waves] = matrix[rows]
    return cells


def _describe(values: np.ndarray) -> tuple[float, float]:
    mean = float(values.mean()) if len(values) else np.nan
    sd = float(values.std(ddof=1)) if len(values) > 1 else np.nan
    return mean, sd


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r (R's ``cor(x, y)``); NaN with fewer than 2 pairs or a constant score."""
    if len(x) < 2 or not (np.ptp(x) > 0 and np.ptp(y) > 0):
        return np.nan
    return float(np.corrcoef(x, y)[0, 1])


def comparison_row(scale, instrument, matrix: np.ndarray, membership: dict[str, np.ndarray], model, wave_index: int, labels: dict[str, str]) -> dict:
    """One ``comparison.csv`` row: program against comparison at wave ``wave_index`` (column of
    ``matrix``, 0 the baseline) for one scale; ``model`` is the two-group mixed model on
    :func:`group_cells` of ``matrix``; ``labels`` name the groups in notes."""
    n_waves = matrix.shape[1]
    row = dict.fromkeys(COMPARISON.names, np.nan)
    row.update(variable=scale.id, name=scale.name, instrument=instrument.label, domain=scale.domain or "", higher_is=scale.higher_is)
    notes = []
    pairs = {}
    for role in ROLES:
        scores = matrix[membership[role]]
        both = ~np.isnan(scores[:, 0]) & ~np.isnan(scores[:, wave_index])
        x, y = scores[both, 0], scores[both, wave_index]
        pairs[role] = (x, y)
        row[f"n_{role}"] = len(x)
        row[f"mean_from_{role}"], row[f"sd_from_{role}"] = _describe(x)
        row[f"mean_to_{role}"], row[f"sd_to_{role}"] = _describe(y)
        row[f"r_{role}"] = _pearson(x, y)
        baseline = scores[~np.isnan(scores[:, 0]), 0]
        row[f"n_baseline_{role}"] = len(baseline)
        row[f"mean_baseline_{role}"], row[f"sd_baseline_{role}"] = _describe(baseline)
        if len(x) < MIN_PAIRS:
            notes.append(
                f"fewer than {MIN_PAIRS} participants of the {role} group ({labels[role]}) scored at both waves: "
                "no ANCOVA, difference in differences or d_ppc2"
            )
    row["baseline_smd"] = baseline_smd(
        matrix[membership["program"], 0][~np.isnan(matrix[membership["program"], 0])],
        matrix[membership["comparison"], 0][~np.isnan(matrix[membership["comparison"], 0])],
    )
    row["baseline_equivalence"] = baseline_equivalence(row["baseline_smd"])
    (xp, yp), (xc, yc) = pairs["program"], pairs["comparison"]
    if min(len(xp), len(xc)) >= MIN_PAIRS:
        fit = ancova(xp, yp, xc, yc)
        row.update(
            ancova_diff=fit.diff, ancova_se=fit.se, ancova_ci_low=fit.ci_low, ancova_ci_high=fit.ci_high, ancova_t=fit.t,
            ancova_df=fit.df, ancova_p=fit.p, adj_mean_program=fit.adj_mean_program,
            adj_mean_comparison=fit.adj_mean_comparison, ancova_slope=fit.slope,
        )  # fmt: skip
        did = difference_in_differences(yp - xp, yc - xc)
        row.update(did_diff=did.diff, did_se=did.se, did_t=did.t, did_df=did.df, did_p=did.p)
        effect = d_ppc2(xp, yp, xc, yc)
        row.update(d_ppc2=effect.d, d_ppc2_ci_low=effect.ci_low, d_ppc2_ci_high=effect.ci_high, d_ppc2_rho=effect.rho)
        if np.isnan(fit.p):
            notes.append("no variation left around the ANCOVA line: no ANCOVA test")
    interaction = model.linear_contrast(interaction_weights(n_waves, wave_index))
    row.update(lmm_diff=interaction.estimate, lmm_se=interaction.se, lmm_df=interaction.df, lmm_t=interaction.t, lmm_p=interaction.p)
    row["lmm_n"] = model.n_participants
    if model.note:
        notes.append(model.note)
    row["note"] = "; ".join(dict.fromkeys(notes))
    return row


def classify_comparison(diff: float, p_adjusted: float, higher_is: str, alpha: float) -> str:
    """``program better`` / ``program worse`` / ``different`` (a scale with no direction of
    improvement) / ``no significant difference``, or ``not tested``, for a program − comparison
    difference and its adjusted p."""
    if np.isnan(p_adjusted):
        return "not tested"
    if p_adjusted >= alpha:
        return "no significant difference"
    if higher_is == "neutral":
        return "different"
    return "program better" if (diff > 0) == (higher_is == "better") else "program worse"


def classify_comparisons(table: pd.DataFrame, correction: str, alpha: float, randomised: bool) -> pd.DataFrame:
    """``p_holm``, ``p_fdr``, ``did_p_holm``, ``did_p_fdr`` across the variables of each wave and the
    ``outcome`` read from the correction chosen (see the module docstring)."""
    families = []
    for _, family in table.groupby("wave", sort=False):
        family = family.copy()
        family["p_holm"], family["p_fdr"] = adjust_p(family["ancova_p"], "holm"), adjust_p(family["ancova_p"], "fdr")
        family["did_p_holm"], family["did_p_fdr"] = adjust_p(family["did_p"], "holm"), adjust_p(family["did_p"], "fdr")
        outcomes = []
        for _, row in family.iterrows():
            by_ancova = classify_comparison(row["ancova_diff"], row[f"p_{correction}"], row["higher_is"], alpha)
            if randomised:
                outcomes.append(by_ancova)
                continue
            by_change = classify_comparison(row["did_diff"], row[f"did_p_{correction}"], row["higher_is"], alpha)
            outcomes.append(by_ancova if by_ancova == by_change else "not tested" if "not tested" in (by_ancova, by_change) else DISAGREE)
        family["outcome"] = outcomes
        families.append(family)
    return pd.concat(families).sort_index(kind="stable") if families else table


def retention_rows(allocated: dict[str, set], followed: dict[str, set[str]], waves, boundary: str) -> list[dict]:
    """Per later wave: each group's allocated and followed-up participants (accepted at baseline and
    at that wave), their attrition, the overall and the differential attrition (percentage points)
    and the What Works Clearinghouse attrition level under ``boundary`` (cautious or liberal)."""
    rows = []
    for wave in waves:
        row = {"wave": wave, "boundary": boundary, "note": ""}
        for role in ROLES:
            row[f"allocated_{role}"] = len(allocated[role])
            row[f"followed_{role}"] = len(allocated[role] & followed[wave])
            row[f"attrition_{role}_pct"] = 100 * (1 - row[f"followed_{role}"] / row[f"allocated_{role}"]) if allocated[role] else np.nan
        total = row["allocated_program"] + row["allocated_comparison"]
        kept = row["followed_program"] + row["followed_comparison"]
        row["overall_attrition_pct"] = 100 * (1 - kept / total) if total else np.nan
        row["differential_attrition_pct"] = abs(row["attrition_program_pct"] - row["attrition_comparison_pct"])
        row["attrition_level"], row["note"] = attrition_level(row["overall_attrition_pct"], row["differential_attrition_pct"], boundary)
        rows.append(row)
    return rows
