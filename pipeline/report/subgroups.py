"""The "Results by subgroup" section: per-subgroup results for publication, small groups suppressed."""

from __future__ import annotations

import pandas as pd

from .ordering import domain_order, ordered_for_display
from .words import format_number, format_p


def subgroup_table(run, threshold: int) -> list[dict]:
    """Per-subgroup results for publication (``subgroups:`` in study.yaml): one table per subgroup
    column, a row per variable and a column per subgroup, small groups suppressed
    (:func:`pipeline.subgroups.suppress_small_subgroups`). In a two-group study (a ``group``
    column), one table per subgroup column within each group, each suppressed within its group
    (:func:`pipeline.subgroups.suppress_small_subgroups_by_group`) and naming it (``group``)."""
    table = run.subgroup_results
    if table.empty:
        return []
    from ..subgroups import suppress_small_subgroups, suppress_small_subgroups_by_group

    order = list(ordered_for_display(run.results, domain_order(run.study))["variable"])
    if "group" not in table.columns:
        published = suppress_small_subgroups(table, threshold).assign(raw_n=table["n_pairs"].to_numpy())
        return _tables(published, order, threshold, None)
    from .words import group_names

    names = group_names(run.study)
    published = suppress_small_subgroups_by_group(table, threshold)
    raw = table.reset_index(drop=True)
    published["raw_n"] = pd.concat([raw.loc[raw["group"] == g, "n_pairs"] for g in dict.fromkeys(raw["group"])]).to_numpy()
    tables = []
    for group, rows in published.groupby("group", sort=False):
        tables += _tables(rows.drop(columns="group"), order, threshold, names.get(f"{group}_in_sentence", group))
    return tables


def _tables(published, order: list[str], threshold: int, group: str | None) -> list[dict]:
    """The tables of one suppressed subgroup table (``raw_n``: each row's pairs before suppression), by subgroup column."""
    tables = []
    for subgroup, rows in published.groupby("subgroup", sort=False):
        sizes = rows.groupby("value", sort=False)["raw_n"].max()
        small = sizes.index[(sizes > 0) & (sizes < threshold)]  # not even their names are shown: a name can identify
        values = [value for value in dict.fromkeys(rows["value"]) if value not in small]
        columns = []
        for value in values:
            members = rows.loc[rows["value"] == value]
            shown = members.loc[~members["suppressed"].astype(bool)]
            size = members.loc[members["raw_n"].idxmax(), "n_pairs"] if shown.empty else f"{int(shown['raw_n'].max()):,}"
            columns.append({"label": value, "n": size})
        body = []
        for variable in order:
            cells = rows.loc[rows["variable"] == variable].set_index("value")
            if cells.empty:
                continue
            body.append(
                {
                    "name": cells["name"].iloc[0],
                    "cells": [
                        {"hidden": True}
                        if value not in cells.index or bool(cells.loc[value, "suppressed"])
                        else {
                            "hidden": False,
                            "change": format_number(cells.loc[value, "mean_diff"]),
                            "d_z": format_number(cells.loc[value, "d_z"]),
                            "p": format_p(cells.loc[value, "p"]),
                        }
                        for value in values
                    ],
                }
            )
        tables.append({"subgroup": subgroup, "group": group, "columns": columns, "rows": body, "not_shown": len(small)})
    return tables
