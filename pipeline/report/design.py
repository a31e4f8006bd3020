"""What the study's design can show, for the sentences that depend on it (the limitations, the summary's caveats).

For now one question: is there a comparison group? A study has one when its configuration names
``groups``; no study can yet, so every study today is a single group measured before and after.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Design:
    """The design of a study as the reports describe it."""

    comparison_group: bool = False  # True when some participants did not take part in the program


def study_design(study) -> Design:
    """The design of ``study``: a comparison group when ``study.yaml`` names ``groups``."""
    return Design(comparison_group=getattr(study.config, "groups", None) is not None)
