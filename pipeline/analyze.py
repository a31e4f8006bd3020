"""Analyze: within-person change of every scale across the study's waves, corrected across scales.

The design comes from the study, by role: the waves in time order, the first being the
*baseline*, and the *primary* endpoint (``analysis.primary``, by default the second wave). Pairs
are formed by participant id, never by row order: only participants with a score at both waves
of a contrast enter its paired statistics (so ``n_pairs`` can differ between scales and
contrasts). For each scale this stage applies the families in ``pipeline.statistics`` (see each
module for formulas and sources) and returns the tables of :class:`Analysis`:

* ``results`` (``results.csv``): the confirmatory result, one row per scale: the paired
  baseline → primary analysis, the columns of ``RESULT_COLUMNS`` (the README's data dictionary);
* ``changes`` (``changes.csv``): one row per scale and contrast: every later wave against the
  baseline (``change``) and every wave after the primary against the primary (``maintenance``);
* ``trajectory`` (``trajectory.csv``): one row per scale and wave, observed and model means;
* ``reliable_change`` (``reliable_change.csv``): baseline → primary, one row per paired
  participant per scale with a reliable change basis, with the RCI and its category;
* ``attrition`` (``attrition.csv``): per later wave, baseline scores of those scored at that
  wave against those who were not;
* ``paired``: the baseline and primary scores of every pair, per scale and without ids, which
  is what the reports' per-participant charts draw (the report never re-pivots scores).

The mixed model ``score ~ wave + (1 | participant)`` is fitted once per scale on every
available score, and gives every contrast its intention-to-treat estimate with Satterthwaite df
(:mod:`pipeline.statistics.mixed`). ``p_holm`` and ``p_fdr`` are adjusted across every scale
that has a p-value, within one contrast (so the baseline → primary rows of ``changes`` equal
``results``); ``outcome`` reads the adjusted p chosen in ``study.yaml`` (Holm by default)
against its alpha, with the sign of the change and the scale's direction of improvement.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .instruments import published_reliability, published_sd
from .score import keyed_items
from .between_groups import ROLES, classify_comparisons, comparison_row, group_cells, retention_rows
from .parallel import map_in_workers
from .schema import ATTRITION, CHANGE_STATISTICS, CHANGES, COMPARISON, MIXED_MODEL, RESULTS, RETENTION, TRAJECTORY, from_to
from .statistics.attrition import compare_baseline
from .statistics.bayes import MEDIUM_PRIOR_SCALE, jzs_log_bf10
from .statistics.equivalence import paired_tost
from .statistics.mixed import fit_wave_model
from .statistics.multiplicity import adjust_p
from .statistics.paired import CONFIDENCE, paired_statistics
from .statistics.power import POWER, minimum_detectable_dz
from .statistics.reliability import complete_cases, cronbach_alpha, omega_total
from .statistics.reliable_change import CRITICAL_Z, change_basis, classify_change, is_case
from .statistics.wilcoxon import DECIMALS, EXACT_BELOW, signed_rank_test

RESULT_COLUMNS = RESULTS.names
CHANGE_COLUMNS = CHANGES.names
TRAJECTORY_COLUMNS = TRAJECTORY.names
ATTRITION_COLUMNS = ATTRITION.names
MIXED_MODEL_STATISTICS = [column.name for column in MIXED_MODEL]
EQUIVALENCE_COLUMNS = ["tost_low", "tost_high", "p_tost"]
RELIABLE_CHANGE_COLUMNS = ["variable", "pre", "post", "change", "rci", "category", "case_pre", "case_post", "recovered"]
PAIRED_COLUMNS = ["variable", "baseline", "primary"]


#: The fixed conventions of the analysis, recorded in each run's manifest.json.
CONVENTIONS = {
    "confidence": CONFIDENCE,
    "wilcoxon_rounding_decimals": DECIMALS,
    "wilcoxon_exact_below_nonzero_differences": EXACT_BELOW,
    "bayes_factor_cauchy_prior_scale": MEDIUM_PRIOR_SCALE,
    "mde_power": POWER,
    "reliable_change_critical_z": CRITICAL_Z,
    "mixed_model": "score ~ wave + (1 | participant), REML, wave a factor with the baseline as reference; Satterthwaite df",
    "maintenance_equivalence": "two one-sided paired t-tests against +/- margin_dz x sd_diff (TOSTER's SMD bounds)",
}
#: The conventions of a two-group study's between-group analysis, added to a two-group run's manifest.
GROUP_CONVENTIONS = {
    "difference": "program - comparison",
    "ancova": "lm(to ~ from + group) over participants scored at baseline and the wave; adjusted means at the grand baseline mean",
    "difference_in_differences": "t.test(change ~ group, var.equal = TRUE)",
    "d_ppc2": "Morris (2008): c_P x difference in mean change / pooled baseline SD; interval d +/- 1.96 sqrt(v), v eq. 25",
    "group_mixed_model": "score ~ wave * group + (1 | participant), REML; the wave x group interaction with Satterthwaite df",
    "baseline_smd": "What Works Clearinghouse g over everyone scored at baseline: (1 - 3/(4N - 9)) x difference / pooled SD",
    "between_group_multiplicity": "Holm and BH across variables within each wave",
}


@dataclass(frozen=True)
class Design:
    """The within-person design of a study, by role: waves in time order, the baseline first,
    and the primary endpoint; the contrasts follow from them (see :meth:`contrasts`)."""

    waves: tuple[str, ...]
    primary: str

    @classmethod
    def of(cls, study) -> Design:
        return cls(study.wave_names, study.primary)

    @property
    def baseline(self) -> str:
        return self.waves[0]

    @property
    def contrasts(self) -> list[tuple[str, str, str]]:
        """``(from_wave, to_wave, kind)``: every later wave against the baseline (``change``), then
        every wave after the primary against the primary (``maintenance``)."""
        changes = [(self.baseline, wave, "change") for wave in self.waves[1:]]
        after = self.waves[self.waves.index(self.primary) + 1 :]
        return changes + [(self.primary, wave, "maintenance") for wave in after]


@dataclass(frozen=True)
class Analysis:
    """The tables of the analysis stage (see the module docstring)."""

    results: pd.DataFrame
    changes: pd.DataFrame
    trajectory: pd.DataFrame
    reliable_change: pd.DataFrame
    attrition: pd.DataFrame
    paired: pd.DataFrame
    comparison: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COMPARISON.names))
    retention: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RETENTION.names))
    #: A two-group study's within-group baseline -> primary results (RESULTS columns and ``group``);
    #: empty otherwise. Descriptive only: never the evidence of the program's effect.
    group_results: pd.DataFrame = field(default_factory=pd.DataFrame)


def scores_by_wave(scores: pd.DataFrame, id_column: str, waves: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Long scores (one row per participant per wave) as one row per participant.

    Columns are (variable, wave) with every wave of ``waves`` present for every variable, in
    that order, so pairs are matched by id, never by row order.
    """
    wide = scores.pivot(index=id_column, columns="wave")
    variables = [column for column in scores.columns if column not in (id_column, "wave")]
    return wide.reindex(columns=pd.MultiIndex.from_product([variables, list(waves)]))


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
    basis, reason = change_basis(published_sd(instrument, scale), published_reliability(instrument, scale), row["sd_pre"], row["alpha_pre"])
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


def mixed_model_columns(model, from_index: int, to_index: int) -> dict:
    """The ``lmm_*`` columns of one contrast of a fitted wave model (to_wave − from_wave)."""
    contrast = model.contrast(from_index, to_index)
    return {
        "lmm_estimate": contrast.estimate, "lmm_se": contrast.se, "lmm_df": contrast.df,
        "lmm_t": contrast.t, "lmm_p": contrast.p, "lmm_n": model.n_participants,
    }  # fmt: skip


def pairs_of(matrix: np.ndarray, from_index: int, to_index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The from and to scores of participants scored at both waves, and which rows they are."""
    both = ~np.isnan(matrix[:, from_index]) & ~np.isnan(matrix[:, to_index])
    return matrix[both, from_index], matrix[both, to_index], both


def scale_analysis(
    instrument, scale, matrix: np.ndarray, ids: pd.Index, items: dict, design: Design, alpha: float, margin_dz: float | None,
    model=None, offset: int = 0,
):  # fmt: skip
    """Every table's rows for one scale.

    ``matrix`` holds the scale's scores, one row per participant (``ids``) and one column per
    wave of ``design``, NaN where not scored; ``items`` maps the baseline and primary waves to the
    scale's keyed item responses (None for a composite scale). ``model`` is the mixed model whose
    columns ``offset`` to ``offset + waves - 1`` are these participants' waves (one group's cells of
    the two-group model); by default ``score ~ wave + (1 | participant)`` fitted on ``matrix``.
    """
    waves = list(design.waves)
    base, primary = 0, waves.index(design.primary)
    model = fit_wave_model(matrix) if model is None else model
    pre, post, both = pairs_of(matrix, base, primary)
    row = paired_tests(pre, post, alpha)
    confirmatory = {**row, "notes": list(row["notes"])}  # changes.csv's baseline -> primary row: the same tests
    for column, wave in (("pre", design.baseline), ("post", design.primary)):
        wave_reliability = reliability_at_wave(items[wave])
        row.update({f"alpha_{column}": wave_reliability["alpha"], f"alpha_n_{column}": wave_reliability["n"], f"omega_{column}": wave_reliability["omega"]})
    if scale.is_composite:
        row["notes"].append("a difference of two scales: no alpha or omega")
    elif items[design.baseline] is not None:
        item_count = items[design.baseline].shape[1]
        if item_count < 3:
            row["notes"].append("one item: no alpha or omega" if item_count == 1 else "two items: no omega (one factor needs 3 or more)")
    row.update(mixed_model_columns(model, base + offset, primary + offset))
    if model.note and row["n_pairs"]:
        row["notes"].append(model.note)
    change_columns, participants = reliable_change(instrument, scale, pre, post, row)
    row.update(change_columns)
    scored = ~np.isnan(matrix)
    row.update(
        variable=scale.id,
        name=scale.name,
        instrument=instrument.label,
        domain=scale.domain or "",
        higher_is=scale.higher_is,
        n_pre=int(scored[:, base].sum()),
        n_post=int(scored[:, primary].sum()),
        note="; ".join(dict.fromkeys(row.pop("notes"))),
    )
    change_table = None
    if participants is not None:
        change_table = pd.DataFrame({"variable": scale.id, **participants}, index=ids[both])
    changes = [
        contrast_row(
            scale, matrix, model, waves, from_wave, to_wave, kind, alpha, margin_dz,
            confirmatory if (from_wave, to_wave) == (design.baseline, design.primary) else None, offset,
        )
        for from_wave, to_wave, kind in design.contrasts
    ]  # fmt: skip
    trajectory = [
        {"variable": scale.id, "name": scale.name, "wave": wave, "n": int(scored[:, j].sum()),
         "mean": np.nanmean(matrix[:, j]) if scored[:, j].any() else np.nan,
         "sd": np.nanstd(matrix[:, j], ddof=1) if scored[:, j].sum() > 1 else np.nan,
         "lmm_mean": mean.estimate, "lmm_se": mean.se, "lmm_df": mean.df, "lmm_ci_low": mean.ci_low, "lmm_ci_high": mean.ci_high}
        for j, (wave, mean) in enumerate(zip(waves, model.means[offset : offset + len(waves)]))
    ]  # fmt: skip
    baseline = matrix[:, base]
    attrition = []
    for j, wave in enumerate(waves[1:], start=1):
        seen = scored[:, j]
        comparison = compare_baseline(baseline[seen & scored[:, base]], baseline[~seen & scored[:, base]])
        comparison.update(variable=scale.id, wave=wave, name=scale.name, instrument=instrument.label)
        attrition.append(comparison)
    paired = pd.DataFrame({"variable": scale.id, "baseline": pre, "primary": post})
    return row, changes, trajectory, change_table, attrition, paired


def contrast_row(scale, matrix, model, waves, from_wave, to_wave, kind, alpha, margin_dz, paired: dict | None = None, offset: int = 0) -> dict:
    """One row of ``changes``: the paired statistics of from_wave → to_wave (``paired``, when
    already computed), the mixed model's contrast (of columns ``offset`` onwards) and, for a
    maintenance contrast with a margin, the equivalence test."""
    i, j = waves.index(from_wave), waves.index(to_wave)
    if paired is None:
        before, after, _ = pairs_of(matrix, i, j)
        paired = paired_tests(before, after, alpha)
    row = {"variable": scale.id, "name": scale.name, "from_wave": from_wave, "to_wave": to_wave, "contrast": kind}
    row.update({from_to(column): paired[column] for column in CHANGE_STATISTICS})
    row.update(mixed_model_columns(model, i + offset, j + offset))
    row.update(dict.fromkeys(EQUIVALENCE_COLUMNS, np.nan))
    if kind == "maintenance" and margin_dz is not None:
        equivalence = paired_tost(paired["mean_diff"], paired["sd_diff"], paired["n_pairs"], margin_dz, alpha)
        row.update(tost_low=equivalence.low_bound, tost_high=equivalence.high_bound, p_tost=equivalence.p)
    notes = paired["notes"]
    if model.note and paired["n_pairs"]:
        notes.append(model.note)
    row["note"] = "; ".join(dict.fromkeys(notes))
    return row


def adjust_and_classify(table: pd.DataFrame, correction: str, alpha: float, higher_is: pd.Series) -> pd.DataFrame:
    """``p_holm``, ``p_fdr`` across the rows of ``table`` (one family) and each row's ``outcome``."""
    table = table.copy()
    table["p_holm"] = adjust_p(table["p"], "holm")
    table["p_fdr"] = adjust_p(table["p"], "fdr")
    table["outcome"] = [
        classify_outcome(diff, p, direction, alpha)
        for diff, p, direction in zip(table["mean_diff"], table[f"p_{correction}"], higher_is)
    ]
    return table


def analyze(
    scores: pd.DataFrame,
    study,
    responses: dict[str, pd.DataFrame] | None = None,
    correction: str | None = None,
    alpha: float | None = None,
    groups: pd.Series | None = None,
) -> Analysis:
    """The full analysis of every analysed scale of ``study`` (see the module docstring).

    ``scores`` is long (one row per participant per wave: the id column, ``wave``, one column per
    scale); ``responses`` maps each wave to its validated item responses (for alpha and omega;
    without it they are empty). Correction and alpha default to the study's ``analysis`` options.
    ``groups`` (participant id -> ``program`` or ``comparison``, allocated at baseline) makes it a
    two-group analysis (:func:`analyze_groups`).
    """
    if groups is not None and len(groups):
        return analyze_groups(scores, study, groups, responses, correction, alpha)
    options = study.config.analysis
    correction = correction or options.correction
    alpha = options.alpha if alpha is None else alpha
    design = Design.of(study)
    wide = scores_by_wave(scores, study.id_column, design.waves)
    rows, change_rows, trajectory_rows, change_tables, attrition_rows, paired = [], [], [], [], [], []

    def one_scale(scale_pair):
        instrument, scale = scale_pair
        items = scale_items(responses, instrument, scale, design)
        matrix = wide[scale.id].to_numpy(dtype=float)
        return scale_analysis(instrument, scale, matrix, wide.index, items, design, alpha, options.maintenance_margin_dz)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        analysed = map_in_workers(one_scale, list(study.scales))  # scales are independent
        for row, changes, trajectory, change_table, attrition, pairs in analysed:
            rows.append(row)
            change_rows.extend(changes)
            trajectory_rows.extend(trajectory)
            attrition_rows.extend(attrition)
            paired.append(pairs)
            if change_table is not None:
                change_tables.append(change_table)
    results = pd.DataFrame(rows)
    results = adjust_and_classify(results, correction, alpha, results["higher_is"])
    return Analysis(
        results=results[RESULT_COLUMNS],
        changes=adjust_changes(pd.DataFrame(change_rows), results, correction, alpha, ["from_wave", "to_wave"]).reindex(columns=CHANGE_COLUMNS),
        trajectory=pd.DataFrame(trajectory_rows).reindex(columns=TRAJECTORY_COLUMNS),
        reliable_change=reliable_change_table(change_tables, study.id_column),
        attrition=pd.DataFrame(attrition_rows).reindex(columns=ATTRITION_COLUMNS),
        paired=pd.concat(paired, ignore_index=True).reindex(columns=PAIRED_COLUMNS) if paired else pd.DataFrame(columns=PAIRED_COLUMNS),
    )


def scale_items(responses, instrument, scale, design: Design, participants=None, id_column: str | None = None) -> dict:
    """The scale's keyed item responses at the baseline and the primary endpoint (None for a
    composite scale or without responses), of ``participants`` only when given."""
    items = {}
    for wave in (design.baseline, design.primary):
        if responses is None or scale.is_composite:
            items[wave] = None
            continue
        frame = responses[wave]
        if participants is not None:
            frame = frame[frame[id_column].isin(participants)]
        items[wave] = keyed_items(frame, instrument, scale)
    return items


def adjust_changes(changes: pd.DataFrame, results: pd.DataFrame, correction: str, alpha: float, family: list[str]) -> pd.DataFrame:
    """``changes`` with p_holm, p_fdr and outcome within each family (a contrast; a group and contrast)."""
    directions = dict(zip(results["variable"], results["higher_is"]))
    families = [
        adjust_and_classify(rows, correction, alpha, rows["variable"].map(directions))
        for _, rows in changes.groupby(family, sort=False)
    ]
    changes = pd.concat(families) if families else changes
    return changes.sort_index(kind="stable").reset_index(drop=True)


def analyze_groups(
    scores: pd.DataFrame, study, groups: pd.Series, responses=None, correction: str | None = None, alpha: float | None = None
) -> Analysis:
    """The two-group analysis (:mod:`pipeline.between_groups`): ``comparison`` per scale and later
    wave, ``results`` its rows at the primary endpoint, ``retention`` per later wave, and the
    within-group tables of the one-group analysis with a ``group`` column, each group's p-values
    adjusted across scales within the group and contrast. One mixed model per scale has a cell per
    group and wave (``score ~ wave * group + (1 | participant)``): it gives the interaction of
    ``comparison`` and every within-group model figure. Participants with no baseline group
    (seen only at later waves) are left out."""
    options = study.config.analysis
    correction = correction or options.correction
    alpha = options.alpha if alpha is None else alpha
    design = Design.of(study)
    n_waves = len(design.waves)
    wide = scores_by_wave(scores, study.id_column, design.waves)
    membership_of = groups.reindex(wide.index)
    membership = {role: (membership_of == role).to_numpy() for role in ROLES}
    members = {role: set(groups.index[groups == role]) for role in ROLES}
    labels = {role: study.groups.label(role) for role in ROLES}
    tables = {name: [] for name in ("results", "changes", "trajectory", "reliable", "attrition", "paired", "comparison")}

    def one_scale(scale_pair):
        """The scale's two-group model, each group's within-group analysis and the comparison rows."""
        instrument, scale = scale_pair
        matrix = wide[scale.id].to_numpy(dtype=float)
        model = fit_wave_model(group_cells(matrix, membership))
        within = []
        for k, role in enumerate(ROLES):
            rows = membership[role]
            items = scale_items(responses, instrument, scale, design, members[role], study.id_column)
            within.append(scale_analysis(
                instrument, scale, matrix[rows], wide.index[rows], items, design, alpha, options.maintenance_margin_dz,
                model=model, offset=k * n_waves,
            ))  # fmt: skip
        return within, [comparison_row(scale, instrument, matrix, membership, model, j, labels) for j in range(1, n_waves)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        analysed = map_in_workers(one_scale, list(study.scales))  # scales are independent
        for within_groups, comparison_rows in analysed:
            for role, (row, changes, trajectory, change_table, attrition, pairs) in zip(ROLES, within_groups):
                tables["results"].append({**row, "group": role})
                tables["changes"].extend({**change, "group": role} for change in changes)
                tables["trajectory"].extend({**mean, "group": role} for mean in trajectory)
                tables["attrition"].extend({**comparison, "group": role} for comparison in attrition)
                tables["paired"].append(pairs.assign(group=role))
                if change_table is not None:
                    tables["reliable"].append(change_table.assign(group=role))
            tables["comparison"].extend(comparison_rows)
    within = pd.DataFrame(tables["results"])
    within = pd.concat(
        [adjust_and_classify(rows, correction, alpha, rows["higher_is"]) for _, rows in within.groupby("group", sort=False)]
    ).sort_index(kind="stable")
    comparison = pd.DataFrame(tables["comparison"])
    comparison["wave"] = [design.waves[j] for _ in study.scales for j in range(1, n_waves)]
    comparison = classify_comparisons(comparison, correction, alpha, study.groups.assignment == "randomised")
    comparison = comparison.reindex(columns=COMPARISON.names).reset_index(drop=True)
    accepted = {wave: set(scores.loc[scores["wave"] == wave, study.id_column]) for wave in design.waves[1:]}
    retention = retention_rows(members, accepted, design.waves[1:], study.groups.attrition_boundary)
    paired_columns = [*PAIRED_COLUMNS[:1], "group", *PAIRED_COLUMNS[1:]]
    return Analysis(
        results=comparison[comparison["wave"] == design.primary].reset_index(drop=True),
        changes=adjust_changes(pd.DataFrame(tables["changes"]), within, correction, alpha, ["group", "from_wave", "to_wave"]).reindex(
            columns=CHANGES.by_group().names
        ),
        trajectory=pd.DataFrame(tables["trajectory"]).reindex(columns=TRAJECTORY.by_group().names),
        reliable_change=reliable_change_table(tables["reliable"], study.id_column, grouped=True),
        attrition=pd.DataFrame(tables["attrition"]).reindex(columns=ATTRITION.by_group().names),
        paired=pd.concat(tables["paired"], ignore_index=True).reindex(columns=paired_columns),
        comparison=comparison,
        retention=pd.DataFrame(retention).reindex(columns=RETENTION.names),
        group_results=within.reindex(columns=RESULTS.by_group().names).reset_index(drop=True),
    )


def reliable_change_table(tables: list[pd.DataFrame], id_column: str, grouped: bool = False) -> pd.DataFrame:
    """Per-participant reliable change rows of every scale, the participant id first (and the
    participant's ``group`` after the variable in a two-group study)."""
    columns = [id_column, *RELIABLE_CHANGE_COLUMNS]
    if grouped:
        columns.insert(2, "group")
    if not tables:
        return pd.DataFrame(columns=columns)
    table = pd.concat(tables).rename_axis(id_column).reset_index()
    return table.reindex(columns=columns)
