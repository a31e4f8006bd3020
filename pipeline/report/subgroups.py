"""The "Results by subgroup" section: per-subgroup results for publication, small groups suppressed."""

from __future__ import annotations

from .ordering import domain_order, ordered_for_display
from .words import format_number, format_p


def subgroup_table(run, threshold: int) -> list[dict]:
    """Per-subgroup results for publication (``subgroups:`` in study.yaml): one table per subgroup
    column, a row per variable and a column per subgroup, small groups suppressed
    (:func:`pipeline.subgroups.suppress_small_subgroups`)."""
    table = run.subgroup_results
    if table.empty:
        return []
    from ..subgroups import suppress_small_subgroups

    published = suppress_small_subgroups(table, threshold).assign(raw_n=table["n_pairs"].to_numpy())
    order = list(ordered_for_display(run.results, domain_order(run.study))["variable"])
    tables = []
    for subgroup, rows in published.groupby("subgroup", sort=False):
        sizes = rows.groupby("value", sort=False)["raw_n"].max()
        small = sizes.index[(sizes > 0) & (sizes < threshold)]  # not even their names are shown: a name can identify
        values = [value for value in dict.fromkeys(rows["value"]) if value not in small]
        columns = []
        for value in values:
            group = rows.loc[rows["value"] == value]
            shown = group.loc[~group["suppressed"].astype(bool)]
            size = group.loc[group["raw_n"].idxmax(), "n_pairs"] if shown.empty else f"{int(shown['raw_n'].max()):,}"
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
        tables.append({"subgroup": subgroup, "columns": columns, "rows": body, "not_shown": len(small)})
    return tables
