"""The order variables are shown in: grouped by domain, keeping the study's order within a domain."""

from __future__ import annotations

import pandas as pd

DOMAIN_ORDER = ["wellbeing", "meaning and purpose", "career", "distress"]


def ordered_for_display(results: pd.DataFrame) -> pd.DataFrame:
    """Results grouped by domain in a fixed order, keeping the study's order within a domain."""
    rank = {domain: index for index, domain in enumerate(DOMAIN_ORDER)}
    key = results["domain"].fillna("").map(lambda d: rank.get(d, len(rank)))
    return results.assign(_rank=key).sort_values("_rank", kind="stable").drop(columns="_rank")
