"""The order variables are shown in: grouped by domain, keeping the study's order within a domain.

The order of the domains is data, not code: a study may give it (``report.domain_order`` in
``study.yaml``); otherwise domains come in the order the study's analysed scales first name them
(the instruments as ``study.yaml`` lists them, each instrument's scales as its file lists them).
"""

from __future__ import annotations

import pandas as pd


def domain_order(study) -> list[str]:
    """The display order of the domains for ``study``: its ``report.domain_order`` when set, else
    each domain where the study's analysed scales (:attr:`pipeline.study.Study.scales`) first name it."""
    configured = study.config.report.domain_order
    if configured is not None:
        return list(configured)
    return list(dict.fromkeys(scale.domain for _, scale in study.scales if scale.domain))


def ordered_for_display(results: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """Results grouped by domain in ``order`` (:func:`domain_order`), keeping the study's order
    within a domain; domains ``order`` leaves out and variables without a domain come last, in the
    study's order. Without ``order``, domains come in the order ``results`` first names them.

    >>> results = pd.DataFrame({"variable": ["a", "b", "c", "d"], "domain": ["distress", "wellbeing", None, "distress"]})
    >>> ordered_for_display(results)["variable"].tolist()
    ['a', 'd', 'b', 'c']
    >>> ordered_for_display(results, ["wellbeing", "distress"])["variable"].tolist()
    ['b', 'a', 'd', 'c']
    """
    domains = results["domain"].fillna("")
    if order is None:
        order = list(dict.fromkeys(domain for domain in domains if domain))
    rank = {domain: index for index, domain in enumerate(order)}
    key = domains.map(lambda d: rank.get(d, len(rank)))
    return results.assign(_rank=key).sort_values("_rank", kind="stable").drop(columns="_rank")


def ordered_by_variable(table: pd.DataFrame, variables: list[str]) -> pd.DataFrame:
    """The rows of a table of several rows per variable (changes.csv, trajectory.csv) in the order
    of ``variables`` (e.g. the ``variable`` column of :func:`ordered_for_display`), each
    variable's rows in their own order.

    >>> table = pd.DataFrame({"variable": ["a", "a", "b", "b"], "wave": [1, 2, 1, 2]})
    >>> ordered_by_variable(table, ["b", "a"]).values.tolist()
    [['b', 1], ['b', 2], ['a', 1], ['a', 2]]
    """
    rank = {variable: index for index, variable in enumerate(variables)}
    key = table["variable"].map(lambda v: rank.get(v, len(rank)))
    return table.assign(_rank=key).sort_values("_rank", kind="stable").drop(columns="_rank")
