"""Individual change: Jacobson & Truax's (1991) reliable change index and recovery.

For a participant with scores ``pre`` and ``post`` on a scale with baseline SD ``s`` and
reliability ``r_xx``:

    S_diff = s x sqrt(2 (1 - r_xx))        (the standard error of a difference; Christensen &
                                            Mendoza, 1986, added the sqrt(2) to Jacobson et al.)
    RCI    = (post - pre) / S_diff

``|RCI| > 1.96`` is reliable change (two-sided, 5%). It is read with the scale's direction: on a
scale where lower is better a reliable drop is an improvement. Categories are ``improved``,
``unchanged`` and ``deteriorated`` (``increased`` / ``decreased`` on a scale without a direction).

Where the instrument declares a clinical cut-off, a participant has *recovered* when they were a
case at baseline, improved reliably, and are no longer a case afterwards (Jacobson & Truax's
"recovered"; NHS Talking Therapies' "reliable recovery"); ``recovered_pct`` is out of the
baseline cases.

Which SD and reliability (``rci_basis``): the instrument's published figures when it declares
them with verified or secondary evidence and a single value, else the sample's. The SD is the
first such norm listed for the scale; the reliability the first such figure, preferring
internal consistency (alpha, then omega) over test-retest and split-half, since alpha is the
figure most RCI practice uses (Evans, Margison & Barkham, 1998). The sample basis is the
paired participants' baseline SD (``sd_pre``) and Cronbach's alpha at baseline (``alpha_pre``).
Figures marked unverified are never used (the instrument's figures are looked up in
:mod:`pipeline.instruments`, so that this module needs nothing but numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CRITICAL_Z = 1.96


@dataclass(frozen=True)
class ChangeBasis:
    """The SD and reliability a scale's RCI uses, and where each came from."""

    sd: float
    reliability: float
    sd_source: str  # "published" or "sample"
    reliability_source: str
    reliability_statistic: str  # alpha, omega, test-retest or split-half

    @property
    def basis(self) -> str:
        """E.g. ``published SD, sample alpha``: the text of ``rci_basis``."""
        return f"{self.sd_source} SD, {self.reliability_source} {self.reliability_statistic}"

    @property
    def s_diff(self) -> float:
        return self.sd * np.sqrt(2 * (1 - self.reliability))

    @property
    def threshold(self) -> float:
        """The smallest raw change that is reliable: 1.96 x S_diff."""
        return CRITICAL_Z * self.s_diff


def change_basis(
    published_sd: float | None, published_reliability: tuple[float, str] | None, sample_sd: float, sample_alpha: float
) -> tuple[ChangeBasis | None, str]:
    """The RCI basis (published figures first, else the sample's), or None and the reason.

    ``published_sd`` and ``published_reliability`` (value, statistic) are the instrument's
    trusted figures for the scale (:func:`pipeline.instruments.published_sd` and
    :func:`~pipeline.instruments.published_reliability`), None when it declares none.
    """
    sd, sd_source = published_sd, "published"
    if sd is None:
        sd, sd_source = sample_sd, "sample"
    reliability = published_reliability
    if reliability is None:
        reliability, reliability_source = (sample_alpha, "alpha"), "sample"
    else:
        reliability_source = "published"
    value, statistic = reliability
    if not sd > 0:
        return None, f"no reliable change: the {sd_source} SD is undefined or zero"
    if np.isnan(value):
        return None, "no reliable change: no published reliability and no sample alpha"
    if not 0 <= value < 1:
        return None, f"no reliable change: the {reliability_source} {statistic} ({value:.3g}) is not between 0 and 1"
    return ChangeBasis(float(sd), float(value), sd_source, reliability_source, statistic), ""


def classify_change(rci: np.ndarray, higher_is: str) -> np.ndarray:
    """``improved`` / ``unchanged`` / ``deteriorated`` from RCIs (``increased`` / ``decreased`` without a direction)."""
    rci = np.asarray(rci, dtype=float)
    up, down = ("increased", "decreased") if higher_is == "neutral" else ("improved", "deteriorated")
    if higher_is == "worse":
        up, down = down, up
    return np.where(rci > CRITICAL_Z, up, np.where(rci < -CRITICAL_Z, down, "unchanged"))


def is_case(scores: np.ndarray, cutoff) -> np.ndarray:
    """Whether each score is at or beyond the cut-off on its case side."""
    scores = np.asarray(scores, dtype=float)
    return scores >= cutoff.score if cutoff.case_when == "at_or_above" else scores <= cutoff.score
