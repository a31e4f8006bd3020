"""What the study's design can show, for the sentences that depend on it (the limitations, the summary's caveats).

Two questions: is there a comparison group, and were participants assigned to the groups at
random? A study has a comparison group when its ``study.yaml`` names ``groups:`` (a program group
against a waitlist or usual-care group, :class:`pipeline.study.Groups`); ``groups.assignment``
says how people came to be in them. Without ``groups:`` the study is a single group measured
before and after, and its reports say that they show change, not what caused it (Campbell &
Stanley, 1963). With a randomised comparison group the between-group difference estimates the
program's effect, and the caveats are those of a trial (attrition, differential attrition, no
blinding: CONSORT 2010); without randomisation they are those of a quasi-experiment (selection,
baseline differences, and the assumption each analysis makes: Van Breukelen, 2006).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Design:
    """The design of a study as the reports describe it."""

    comparison_group: bool = False  # True when some participants did not take part in the program
    assignment: Literal["randomised", "not-randomised"] | None = None  # how people came to be in a group; None without one

    @property
    def randomised(self) -> bool:
        """Whether the groups were formed at random (a randomised comparison group)."""
        return self.comparison_group and self.assignment == "randomised"


def study_design(study) -> Design:
    """The design of ``study``: a comparison group when ``study.yaml`` names ``groups``, with its ``assignment``."""
    groups = getattr(study.config, "groups", None)
    if groups is None:
        return Design()
    return Design(comparison_group=True, assignment=getattr(groups, "assignment", None))
