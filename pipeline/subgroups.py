"""Subgroups: the paired change of every analysed variable within each cohort, site or other group.

A study lists in ``subgroups:`` columns of its baseline export that hold a participant
attribute, e.g. ``subgroups: [cohort]``. Validation carries them, as text, for the accepted
baseline rows (``ValidatedWave.attributes``). Here, for each subgroup column, each of its values
and each analysed variable, the participants of that value who have a score at both waves (pairs
matched by id, as in the whole-study analysis) get the same paired statistics as the whole study
(:func:`pipeline.statistics.paired.paired_statistics`): means, mean change with its 95% t interval,
Cohen's d_z and the paired t-test's two-sided p.

These results are **exploratory**: they are not corrected for multiplicity (many subgroups times
many variables), subgroups are small so intervals are wide, and a difference between subgroups is
not tested. They describe; they do not confirm.

For publication, :func:`suppress_small_subgroups` applies small-cell suppression with
complementary suppression, so that no group of fewer than ``threshold`` participants can be read
off the table or worked out from it and the whole-study results. In a two-group study the
subgroups are computed within each group (``StudyRun.subgroup_results`` has a leading ``group``
column) and :func:`suppress_small_subgroups_by_group` suppresses them within each group.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .analyze import scores_by_wave
from .parallel import map_in_workers
from .statistics.paired import paired_statistics
from .suppression import suppress_count

#: The value of participants whose subgroup cell was blank (or who have no baseline row).
NOT_RECORDED = "(not recorded)"
#: The statistics reported per (subgroup, value, variable), named as in ``results.csv``.
SUBGROUP_STATISTICS = ["mean_pre", "mean_post", "mean_diff", "ci_low", "ci_high", "d_z", "p"]
SUBGROUP_COLUMNS = ["subgroup", "value", "variable", "name", "n_pairs", *SUBGROUP_STATISTICS]
#: ``suppress_small_subgroups`` adds this flag to ``SUBGROUP_COLUMNS``.
SUPPRESSED_COLUMNS = [*SUBGROUP_COLUMNS, "suppressed"]


def subgroup_values(attributes: pd.DataFrame, id_column: str, subgroup: str, baseline_ids=()) -> pd.Series:
    """Each baseline participant's value of ``subgroup`` (index = id): from ``attributes``, and
    ``NOT_RECORDED`` where it is missing or the participant (one of ``baseline_ids``) has no row there."""
    if subgroup not in attributes.columns or id_column not in attributes.columns:
        raise ValueError(f"attributes need the columns {id_column!r} and {subgroup!r}; they have {list(attributes.columns)}")
    values = attributes.set_index(id_column)[subgroup].astype(object)
    values = values.where(values.notna(), NOT_RECORDED)
    others = pd.Index(baseline_ids).difference(values.index)
    return pd.concat([values, pd.Series(NOT_RECORDED, index=others, dtype=object)]) if len(others) else values


def value_order(values: pd.Series) -> list[str]:
    """The distinct values in text order, ``NOT_RECORDED`` last."""
    distinct = set(values)
    return sorted(distinct - {NOT_RECORDED}) + ([NOT_RECORDED] if NOT_RECORDED in distinct else [])


def subgroup_results(
    scores: pd.DataFrame,
    results: pd.DataFrame,
    attributes: pd.DataFrame,
    id_column: str,
    subgroups: list[str],
    waves: tuple[str, str],
) -> pd.DataFrame:
    """Paired statistics per subgroup value and variable; exploratory, with no multiplicity correction.

    ``scores`` is long (the id column, ``wave``, one column per scale, as ``StudyRun.scores``);
    ``waves`` are the baseline and the primary endpoint, whose change is broken down; ``results`` names the analysed variables (columns ``variable`` and
    ``name``) in the order of the rows returned; ``attributes`` holds the accepted baseline
    participants' subgroup values (the id column plus one column per subgroup, as
    ``ValidatedWave.attributes``). A participant belongs to the value of their baseline row;
    a blank is the value ``"(not recorded)"``, so the values of one subgroup column split the
    study's pairs completely.

    One row per (subgroup column, value, variable), columns ``SUBGROUP_COLUMNS``: ``n_pairs`` is
    the number of that value's participants scored at both waves on that variable, and
    ``mean_pre``, ``mean_post``, ``mean_diff``, ``ci_low``, ``ci_high`` (95% t interval of the mean
    change), ``d_z`` and ``p`` (two-sided paired t-test) are those of
    :func:`~pipeline.statistics.paired.paired_statistics` on exactly those pairs; NaN where the
    pairs do not define them (fewer than 2 pairs, no variance in the changes). Values are in text
    order, ``"(not recorded)"`` last. The p-values are **not** adjusted for the many comparisons a
    subgroup table makes: read them as exploratory.
    """
    if not subgroups:
        return pd.DataFrame(columns=SUBGROUP_COLUMNS)
    wide = scores_by_wave(scores, id_column, waves)
    baseline, primary = waves
    baseline_ids = scores.loc[scores["wave"] == baseline, id_column].unique()
    cells = []  # (subgroup column, value, its members): each cell's rows are independent of the others'
    for subgroup in subgroups:
        values = subgroup_values(attributes, id_column, subgroup, baseline_ids)
        cells.extend((subgroup, value, wide.index.intersection(values.index[values == value])) for value in value_order(values))

    def cell_rows(cell) -> list[dict]:
        subgroup, value, members = cell
        rows = []
        for variable, name in zip(results["variable"], results["name"]):
            pairs = wide.loc[members, variable].dropna()
            numbers = paired_statistics(pairs[baseline].to_numpy(dtype=float), pairs[primary].to_numpy(dtype=float))
            rows.append(
                {"subgroup": subgroup, "value": value, "variable": variable, "name": name, "n_pairs": int(numbers["n_pairs"]),
                 **{statistic: numbers[statistic] for statistic in SUBGROUP_STATISTICS}}  # fmt: skip
            )
        return rows

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = [row for part in map_in_workers(cell_rows, cells) for row in part]
    if not rows:
        return pd.DataFrame(columns=SUBGROUP_COLUMNS)
    table = pd.DataFrame(rows, columns=SUBGROUP_COLUMNS)
    table[SUBGROUP_STATISTICS] = table[SUBGROUP_STATISTICS].astype(float)
    return table


def _complementary(sizes: pd.Series, hidden: pd.Series, threshold: int) -> pd.Series:
    """``hidden`` widened until the hidden ``sizes`` total 0 or at least ``threshold``, or no entry
    with anyone in it is left shown: the smallest such shown entry is hidden next (ties: the first)."""
    hidden = hidden.copy()
    while 0 < sizes[hidden].sum() < threshold:
        candidates = sizes[~hidden & (sizes > 0)]
        if candidates.empty:
            break
        hidden[candidates.idxmin()] = True
    return hidden


def suppress_small_subgroups(table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``subgroup_results`` made safe to publish: small cells and what would reveal them are blanked.

    A subgroup's *size* is its number of matched participants (pairs at both waves), taken as the
    largest ``n_pairs`` over its variables. With ``t = threshold``:

    1. **Primary suppression.** A subgroup (subgroup column and value) of size 1 to t − 1 is
       suppressed: every one of its rows.
    2. **Complementary suppression.** Within one subgroup column the subgroups partition the
       study's participants, so a suppressed subgroup's size and means could be worked out from
       the whole-study results minus the subgroups shown. While the suppressed subgroups of a
       column total 1 to t − 1 participants and a subgroup with participants is still shown, the
       smallest such subgroup is suppressed too, and so on until the suppressed total reaches t or
       no subgroup with participants is left shown. A subgroup of size 0 (everyone in it lost to
       follow-up) is never suppressed: it discloses nobody and hiding it adds nobody to the total.
    3. **Rows.** Within a shown subgroup, a variable may have fewer pairs (missing answers): a row
       whose own ``n_pairs`` is 1 to t − 1 is suppressed, and the same complementary rule is then
       applied per subgroup column and variable to the rows' ``n_pairs`` (a row of a suppressed
       subgroup counts as suppressed), since the whole-study ``n_pairs`` and means of the variable
       would otherwise give the hidden rows away.

    A suppressed row keeps its subgroup, value, variable and name, has every statistic blanked
    (NaN) and ``suppressed`` True; its ``n_pairs`` is shown as ``"<t"`` when it is 1 to t − 1, as
    ``"≥t"`` when it is t or more (hidden only to protect another), and as ``"0"`` when it had no
    pairs. A shown row has ``n_pairs`` as text (``"1,234"``) and ``suppressed`` False. A
    threshold of 1 suppresses nothing. The result has ``SUPPRESSED_COLUMNS`` in the rows' order.

    Site A's 4 pairs are a small cell; site B is hidden too, or A's could be worked out from the
    whole study's 84 pairs minus C's 50 and B's 30:

    >>> table = pd.DataFrame({"subgroup": "site", "value": ["A", "B", "C"], "variable": "x", "name": "X",
    ...                       "n_pairs": [4, 30, 50], **dict.fromkeys(SUBGROUP_STATISTICS, 0.5)})
    >>> suppress_small_subgroups(table, 10)[["value", "n_pairs", "mean_diff", "suppressed"]].values.tolist()
    [['A', '<10', nan, True], ['B', '≥10', nan, True], ['C', '50', 0.5, False]]
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ValueError(f"threshold must be a whole number of at least 1, got {threshold!r}")
    table = table.reset_index(drop=True)
    n_pairs = table["n_pairs"].astype(int)
    small = n_pairs.between(1, threshold - 1)

    groups = n_pairs.groupby([table["subgroup"], table["value"]], sort=False).max()
    hidden_groups = pd.Series(False, index=groups.index)
    for subgroup in groups.index.unique(level=0):
        sizes = groups.loc[[subgroup]]
        hidden_groups.loc[sizes.index] = _complementary(sizes, sizes.between(1, threshold - 1), threshold)
    keys = pd.MultiIndex.from_frame(table[["subgroup", "value"]])
    hidden = pd.Series(hidden_groups.reindex(keys).to_numpy(), index=table.index) | small
    for _, rows in table.groupby(["subgroup", "variable"], sort=False).groups.items():
        hidden.loc[rows] = _complementary(n_pairs.loc[rows], hidden.loc[rows], threshold)

    shown = table.copy()
    shown[SUBGROUP_STATISTICS] = shown[SUBGROUP_STATISTICS].astype(float)
    shown.loc[hidden.to_numpy(), SUBGROUP_STATISTICS] = np.nan
    shown["n_pairs"] = [_shown_count(n, secret, threshold) for n, secret in zip(n_pairs, hidden)]
    shown["suppressed"] = hidden.to_numpy(dtype=bool)
    return shown.reindex(columns=SUPPRESSED_COLUMNS)


def suppress_small_subgroups_by_group(table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """:func:`suppress_small_subgroups` within each group of a two-group study's ``subgroup_results``
    (its leading ``group`` column, ``program`` or ``comparison``): a group's subgroups partition
    that group's participants, whose own results the reports publish, so the complementary rule
    runs within each group. The result keeps ``group`` first; a table without it is suppressed as one.

    >>> table = pd.DataFrame({"group": ["program"] * 2 + ["comparison"] * 2, "subgroup": "site", "value": ["A", "B"] * 2,
    ...     "variable": "x", "name": "X", "n_pairs": [4, 30, 20, 30], **dict.fromkeys(SUBGROUP_STATISTICS, 0.5)})
    >>> suppress_small_subgroups_by_group(table, 10)[["group", "value", "n_pairs", "suppressed"]].values.tolist()
    [['program', 'A', '<10', True], ['program', 'B', '≥10', True], ['comparison', 'A', '20', False], ['comparison', 'B', '30', False]]
    """
    if "group" not in table.columns:
        return suppress_small_subgroups(table, threshold)
    parts = []
    for group, rows in table.groupby("group", sort=False):
        shown = suppress_small_subgroups(rows.drop(columns="group"), threshold)
        shown.insert(0, "group", group)
        parts.append(shown)
    if not parts:
        return suppress_small_subgroups(table.drop(columns="group"), threshold).reindex(columns=["group", *SUPPRESSED_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def _shown_count(n: int, suppressed: bool, threshold: int) -> str:
    """``n_pairs`` as published: exact when shown or 0, else ``<t`` (a small cell) or ``≥t`` (hidden to protect one)."""
    return f"\u2265{threshold}" if suppressed and n >= threshold else suppress_count(n, threshold)


__all__ = [
    "NOT_RECORDED", "SUBGROUP_COLUMNS", "SUBGROUP_STATISTICS", "SUPPRESSED_COLUMNS",
    "subgroup_results", "suppress_small_subgroups", "suppress_small_subgroups_by_group", "subgroup_values",
]  # fmt: skip
