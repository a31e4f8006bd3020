"""Small-cell suppression: counts as they may be published in a report.

One threshold ``t`` (``report.suppression_threshold`` in ``study.yaml``, default 10) governs every
published count. The rules follow the CMS cell-size suppression policy (no count of 1 to t − 1
shown, "including values derivable from other reported cells") with its remedies of suppressing,
coarsening and collapsing cells (CMS, 2020; SAGE Encyclopedia of Survey Research Methods, "Cell
suppression"):

* **Primary suppression.** A count from 1 to t − 1 is shown as ``<t``. Zero is shown: it discloses
  nobody.
* **Totals are coarsened, not subtracted from.** Where counts add up (rows read = valid + excluded;
  valid at baseline = matched + baseline only) and a part is not shown exactly, the total is shown
  as the range its parts allow (e.g. ``148–156``), so the hidden part cannot be worked out by
  subtraction. The coarsening climbs through every total the hidden part belongs to.
* **Categories are collapsed.** In a breakdown whose total is shown (e.g. improved / unchanged /
  deteriorated), a category from 1 to t − 1 people is merged with its neighbour and labelled as both.

A threshold of 1 turns suppression off (for a researcher's internal copy).
"""

from __future__ import annotations

from dataclasses import dataclass

#: The default small-cell threshold: counts of 1 to 9 are shown as "<10".
DEFAULT_THRESHOLD = 10


def suppress_count(n: int, threshold: int = DEFAULT_THRESHOLD) -> str:
    """A count for publication: ``<threshold`` when it is between 1 and threshold − 1.

    >>> suppress_count(4), suppress_count(0), suppress_count(1234)
    ('<10', '0', '1,234')
    """
    return f"<{threshold}" if 0 < n < threshold else f"{n:,}"


@dataclass(frozen=True)
class PublishedCount:
    """A count as published: exact, or known only to lie in [low, high]."""

    value: int
    low: int
    high: int
    threshold: int

    @property
    def exact(self) -> bool:
        return self.low == self.high

    @property
    def primary(self) -> bool:
        """True when the count itself is a small cell (shown as ``<t``)."""
        return 0 < self.value < self.threshold

    def __str__(self) -> str:
        if self.primary:
            return f"<{self.threshold}"
        if self.exact:
            return f"{self.value:,}"
        return f"{self.low:,}\u2013{self.high:,}"


def publish_counts(counts: dict[str, int], totals: list[tuple[str, list[str]]], threshold: int) -> dict[str, PublishedCount]:
    """Counts as they may be published, with primary suppression and coarsened totals.

    ``totals`` lists the additive relations, ``(total, [parts])`` with ``counts[total] ==
    sum(counts[part])``. A small count is hidden (``<t``: known to lie in 1..t − 1); a total with any
    part not shown exactly becomes the range of the sums of its parts' bounds, and that is repeated
    until nothing changes, so no hidden count can be recovered from a total and the other parts.

    >>> shown = publish_counts({"read": 150, "valid": 147, "excluded": 3}, [("read", ["valid", "excluded"])], 10)
    >>> {key: str(value) for key, value in shown.items()}
    {'read': '148–156', 'valid': '147', 'excluded': '<10'}
    """
    for total, parts in totals:
        if counts[total] != sum(counts[part] for part in parts):
            raise ValueError(f"{total} = {counts[total]} is not the sum of {parts}")
    shown = {}
    for key, n in counts.items():
        small = 0 < n < threshold
        shown[key] = PublishedCount(n, 1 if small else n, threshold - 1 if small else n, threshold)
    changed = True
    while changed:  # bounds only widen, so this stops
        changed = False
        for total, parts in totals:
            if shown[total].primary or all(shown[part].exact and not shown[part].primary for part in parts):
                continue
            low, high = sum(shown[part].low for part in parts), sum(shown[part].high for part in parts)
            if (low, high) != (shown[total].low, shown[total].high):
                shown[total] = PublishedCount(counts[total], low, high, threshold)
                changed = True
    return shown


def collapse_small_categories(categories: list[tuple[str, int]], threshold: int) -> list[tuple[str, int]]:
    """An ordered breakdown with every category of 1 to t − 1 merged into a neighbour.

    The smallest such category is merged with its smaller neighbour (labels joined with "or"),
    and that is repeated until every category is 0 or at least ``threshold``, or one is left.
    Empty categories are dropped.

    >>> collapse_small_categories([("improved", 40), ("unchanged", 67), ("deteriorated", 3)], 10)
    [('improved', 40), ('unchanged or deteriorated', 70)]
    """
    merged = [(label, n) for label, n in categories if n > 0]
    while len(merged) > 1:
        small = [index for index, (_, n) in enumerate(merged) if n < threshold]
        if not small:
            break
        index = min(small, key=lambda i: merged[i][1])
        neighbours = [i for i in (index - 1, index + 1) if 0 <= i < len(merged)]
        other = min(neighbours, key=lambda i: merged[i][1])
        first, second = sorted((index, other))
        label = f"{merged[first][0]} or {merged[second][0]}"
        merged[first:second + 1] = [(label, merged[first][1] + merged[second][1])]
    return merged
