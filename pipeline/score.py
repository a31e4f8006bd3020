"""Score: item responses to scale scores, exactly as each instrument file declares.

Rules (the instrument file holds the numbers; see the README, "Scoring rules"):

* reverse keying is ``min + max - x`` on the instrument's *declared* response range, never the
  range observed in the data (psych's ``reverse.code`` warns of that trap; Revelle, 2025); the
  keys are the items' ``reverse`` flags unless a scale gives its own ``reverse_items``;
* ``mean``: the mean of the answered items;
* ``sum``: prorated, the mean of the answered items times the number of items, computed as
  ``sum of answered x k / answered`` so that a complete response gives exactly the plain sum;
* a respondent with fewer than ``min_items`` answered items gets no score (missing);
* ``difference``: the first named scale minus the second (e.g. SPANE-B = P - N; Diener et al.,
  2010), missing when either is missing.

Everything here is vectorised over respondents and free of I/O.
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import product

import numpy as np
import pandas as pd

from .instruments import Instrument, Scale


def reverse_key(values, low: int, high: int):
    """Reverse-key responses on the declared range ``low..high``: ``low + high - x``."""
    return low + high - values


def score_range(instrument: Instrument, scale: Scale) -> tuple[float, float]:
    """The lowest and highest possible score of ``scale`` (a sum spans k x the response range)."""
    if scale.is_composite:
        first, second = (score_range(instrument, instrument.scale(part)) for part in scale.of)
        return first[0] - second[1], first[1] - second[0]
    factor = len(scale.items) if scale.method == "sum" else 1
    return instrument.response.min * factor, instrument.response.max * factor


def possible_scores(instrument: Instrument, scale: Scale, limit: int = 1_000_000) -> set[Fraction]:
    """Every score the rules can produce, as exact fractions (an enumeration: for small scales).

    For ``k`` answered items (``min_items`` to all) the keyed item total ``t`` is any whole
    number from ``k x min`` to ``k x max``; the score is ``t / k`` (mean) or ``t x n / k``
    (prorated sum). A difference takes every pair of its two scales' scores. The number of
    candidates is counted arithmetically first and more than ``limit`` raises ValueError:
    checks use :func:`reachable_scores`, which never enumerates.
    """
    candidates = _candidate_count(instrument, scale)
    if candidates > limit:
        raise ValueError(f"scale {scale.id} has up to {candidates} possible scores, over the limit of {limit} to list")
    if scale.is_composite:
        first, second = (possible_scores(instrument, instrument.scale(part), limit) for part in scale.of)
        return {a - b for a, b in product(first, second)}
    low, high, n = instrument.response.min, instrument.response.max, len(scale.items)
    scores: set[Fraction] = set()
    for answered in range(scale.required_items, n + 1):
        factor = Fraction(n if scale.method == "sum" else 1, answered)
        scores.update(total * factor for total in range(answered * low, answered * high + 1))
    return scores


def _candidate_count(instrument: Instrument, scale: Scale) -> int:
    if scale.is_composite:
        first, second = (_candidate_count(instrument, instrument.scale(part)) for part in scale.of)
        return first * second
    width = instrument.response.max - instrument.response.min
    # sum over k of (k x width + 1), k = required_items .. n
    low, high = scale.required_items, len(scale.items)
    return width * (high * (high + 1) - (low - 1) * low) // 2 + (high - low + 1)


class ScoreCheckTooLarge(Exception):
    """Raised when exact reasoning about possible scores would exceed its :class:`WorkBudget`."""


#: Work budget (elementary steps, about a microsecond each) for the band checks of one instrument.
REACHABLE_BUDGET = 2_000_000
#: Most pairs of answered-item counts a difference is reasoned about with (each search visits every
#: pair, and a band check makes about a hundred searches): two 100-item scales with ``min_items: 1``.
MAX_DIFFERENCE_PAIRS = 10_000


class WorkBudget:
    """A count of elementary steps that may still be spent; spending past zero raises :class:`ScoreCheckTooLarge`."""

    def __init__(self, steps: int = REACHABLE_BUDGET):
        self.left = steps

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise ScoreCheckTooLarge


def _ceil_div(numerator: int, denominator: int) -> int:
    return -((-numerator) // denominator)


class ReachableScores:
    """The scores a scale's rules can produce, described arithmetically (never enumerated).

    For ``k`` answered items the scores of an item scale are exactly the multiples of ``c / k``
    from ``c x min`` to ``c x max``, where ``c`` is the number of items for a prorated sum and 1
    for a mean: one *grid* per ``k`` from ``min_items`` to all. For a difference, each pair of
    grids (one from each scale) gives ``L + g x (a i + b j)`` with ``L`` the lowest difference,
    ``g`` the greatest common divisor of the two steps, ``a`` and ``b`` the steps over ``g``
    (coprime) and ``0 <= i <= n1``, ``0 <= j <= n2`` the positions on the two grids.

    Membership is a divisibility test (item scale) or a congruence ``i = z / a mod b`` within
    bounds (difference); the least score after a value is a minimum over grids, or over pairs
    with a short scan where ``a i + b j`` skips values (near the ends of the range). All of it
    is integer arithmetic, and every step is charged to ``budget``: a hostile definition costs
    bounded time and raises :class:`ScoreCheckTooLarge` instead of running on.
    """

    def __init__(self, instrument: Instrument, scale: Scale, budget: WorkBudget | None = None):
        self.budget = WorkBudget() if budget is None else budget
        low, high = instrument.response.min, instrument.response.max
        self.pairs: list[tuple[int, ...]] = []
        self.counts: list[int] = []
        if scale.is_composite:
            first, second = (instrument.scale(part) for part in scale.of)
            c1, c2 = (len(part.items) if part.method == "sum" else 1 for part in (first, second))
            counts1, counts2 = (range(part.required_items, len(part.items) + 1) for part in (first, second))
            if len(counts1) * len(counts2) > MAX_DIFFERENCE_PAIRS:
                raise ScoreCheckTooLarge
            self.budget.spend(len(counts1) * len(counts2))
            self.low = Fraction(c1 * low - c2 * high)
            self.high = Fraction(c1 * high - c2 * low)
            self.pairs = [self._pair(c1, k1, c2, k2, low, high) for k1 in counts1 for k2 in counts2]
        else:
            self.c = len(scale.items) if scale.method == "sum" else 1
            self.counts = list(range(scale.required_items, len(scale.items) + 1))
            self.budget.spend(len(self.counts))
            self.low, self.high = Fraction(self.c * low), Fraction(self.c * high)

    @staticmethod
    def _pair(c1: int, k1: int, c2: int, k2: int, low: int, high: int) -> tuple[int, ...]:
        # Steps c1/k1 and c2/k2; their gcd is gcd(c1 k2, c2 k1) / (k1 k2), written G / H.
        big_g, big_h = math.gcd(c1 * k2, c2 * k1), k1 * k2
        a, b = c1 * k2 // big_g, c2 * k1 // big_g
        n1, n2 = k1 * (high - low), k2 * (high - low)  # positions on each grid: 0..n
        offset = c1 * low - c2 * high
        inverse = pow(a, -1, b) if b > 1 else 0
        return offset, big_g, big_h, a, b, n1, n2, inverse, a * n1 + b * n2

    @staticmethod
    def _pair_has(pair: tuple[int, ...], z: int) -> bool:
        """Whether ``z = a i + b j`` for some ``0 <= i <= n1``, ``0 <= j <= n2``."""
        _, _, _, a, b, n1, n2, inverse, last = pair
        if not 0 <= z <= last:
            return False
        lowest = max(0, _ceil_div(z - b * n2, a))  # j <= n2
        i = lowest + ((z * inverse) % b - lowest) % b  # the least i >= lowest with a i = z (mod b)
        return i <= min(n1, z // a)  # j >= 0, i <= n1

    def __contains__(self, value: Fraction) -> bool:
        if not self.low <= value <= self.high:
            return False
        p, q = value.numerator, value.denominator
        if self.counts:
            self.budget.spend(len(self.counts))
            return any(p * k % (q * self.c) == 0 for k in self.counts)  # value / (c / k) is whole
        self.budget.spend(len(self.pairs))
        for pair in self.pairs:
            offset, big_g, big_h = pair[:3]
            z, remainder = divmod((p - offset * q) * big_h, q * big_g)
            if remainder == 0 and self._pair_has(pair, z):
                return True
        return False

    def after(self, value: Fraction | None, strict: bool = True) -> Fraction | None:
        """The least possible score above ``value`` (at or above unless ``strict``; the lowest for None)."""
        if value is None or value < self.low or (value == self.low and not strict):
            return self.low  # the lowest score is always possible: every item at min (or max, reversed)
        if value > self.high or (value == self.high and strict):
            return None
        p, q = value.numerator, value.denominator
        best_num, best_den = 0, 0  # the best candidate so far, num / den; den 0 for none yet
        if self.counts:
            self.budget.spend(len(self.counts))
            c, start = self.c, self.low.numerator
            for k in self.counts:
                position = (p - start * q) * k  # (value - low) / (c / k), times q c
                z = position // (q * c) + 1 if strict else _ceil_div(position, q * c)
                num = start * k + z * c  # candidate (low + z c / k) as num / k
                if best_den == 0 or num * best_den < best_num * k:
                    best_num, best_den = num, k
        else:
            self.budget.spend(len(self.pairs))
            for pair in self.pairs:
                offset, big_g, big_h, last = pair[0], pair[1], pair[2], pair[8]
                position = (p - offset * q) * big_h
                z = position // (q * big_g) + 1 if strict else _ceil_div(position, q * big_g)
                # Scan only while this pair could still beat the best so far (candidate = (offset H + z G) / H).
                while z <= last and (best_den == 0 or (offset * big_h + z * big_g) * best_den < best_num * big_h):
                    self.budget.spend(1)
                    if self._pair_has(pair, z):
                        best_num, best_den = offset * big_h + z * big_g, big_h
                        break
                    z += 1
        if best_den == 0:
            return None
        best = Fraction(best_num, best_den)
        return best if best <= self.high else None

    def between(self, low: Fraction | None, high: Fraction | None, low_open: bool, high_open: bool, count: int) -> list[Fraction]:
        """Up to ``count`` possible scores in the interval from ``low`` to ``high`` (None: unbounded), ascending."""
        found: list[Fraction] = []
        score = self.after(low, strict=low_open)
        while score is not None and len(found) < count and (high is None or score < high or (score == high and not high_open)):
            found.append(score)
            score = self.after(score)
        return found


def reachable_scores(instrument: Instrument, scale: Scale, budget: WorkBudget | None = None) -> ReachableScores:
    """The possible scores of ``scale`` as a :class:`ReachableScores` (membership and ordered search, no enumeration)."""
    return ReachableScores(instrument, scale, budget)


def keyed_items(responses: pd.DataFrame, instrument: Instrument, scale: Scale) -> pd.DataFrame:
    """The scale's item columns with its reverse-keyed items reversed (missing stays missing)."""
    items = responses[scale.items].astype(float)
    reverse = instrument.reversed_in(scale)
    if reverse:
        items[reverse] = reverse_key(items[reverse], instrument.response.min, instrument.response.max)
    return items


def score_scale(keyed: pd.DataFrame, scale: Scale) -> pd.Series:
    """One item-based scale's score per respondent from already reverse-keyed items."""
    block = keyed[scale.items].to_numpy(dtype=float)
    answered = np.sum(~np.isnan(block), axis=1)
    total = np.nansum(block, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if scale.method == "mean":
            score = total / answered
        else:
            score = total * len(scale.items) / answered
    score[answered < scale.required_items] = np.nan
    return pd.Series(score, index=keyed.index, name=scale.id)


def score_instrument(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """All of one instrument's scale scores, one column per scale, in the file's order."""
    scores = {
        scale.id: score_scale(keyed_items(responses, instrument, scale), scale)
        for scale in instrument.scales
        if not scale.is_composite
    }
    for scale in instrument.scales:
        if scale.is_composite:
            first, second = scale.of
            scores[scale.id] = (scores[first] - scores[second]).rename(scale.id)
    return pd.concat([scores[scale.id] for scale in instrument.scales], axis=1)


def score_responses(responses: pd.DataFrame, instruments, id_column: str) -> pd.DataFrame:
    """The id column followed by every scale score of every instrument."""
    parts = [responses[[id_column]]] + [score_instrument(responses, instrument) for instrument in instruments]
    return pd.concat(parts, axis=1)
