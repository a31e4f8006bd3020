"""The Wilcoxon signed-rank test for paired data, as R's classic ``wilcox.test``.

Conventions (R 4.2's ``wilcox.test(post, pre, paired = TRUE)``, before R 4.6 changed the
treatment of ties):

* differences ``post - pre`` are first rounded to 9 decimals, so that scores averaged from
  items (e.g. 5/3 computed two ways) tie when they should; float noise would otherwise break
  ties and change ranks (scipy's documentation warns of the same);
* zero differences are dropped and the remaining ``n`` absolute differences ranked, ties
  sharing the average rank;
* ``V`` is the sum of the ranks of the positive differences;
* the p-value (two-sided) is exact when ``n < 50`` and there are neither ties nor zeros;
  otherwise it is the normal approximation with the tie correction of the variance and a
  continuity correction of 0.5 (Hollander & Wolfe, 1999, sec. 3.1);
* the matched-pairs rank-biserial correlation is ``r_rb = (R+ - R-) / (R+ + R-)
  = 4V / (n(n + 1)) - 1`` on the same ranks (Kerby, 2014), as
  ``effectsize::rank_biserial(post, pre, paired = TRUE)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

DECIMALS = 9
EXACT_BELOW = 50


@dataclass(frozen=True)
class SignedRankResult:
    v: float
    p: float
    r_rb: float
    n_nonzero: int
    method: str  # "exact", "normal" or "" when there is nothing to test
    note: str = ""


def signed_rank_null_counts(n: int) -> np.ndarray:
    """How many of the 2^n sign patterns give each V = 0 .. n(n+1)/2 (the exact null of V).

    The usual recursion: adding rank i to every subset shifts its sum by i.
    """
    top = n * (n + 1) // 2
    counts = np.zeros(top + 1, dtype=np.int64)
    counts[0] = 1
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[: top + 1 - rank]
    return counts


def exact_p(v: float, n: int) -> float:
    """Two-sided exact p of V for ``n`` untied non-zero differences, as R's ``psignrank`` route."""
    counts = signed_rank_null_counts(n)
    total = float(2**n)
    v = int(round(v))
    if v > n * (n + 1) / 4:
        one_sided = counts[v:].sum() / total
    else:
        one_sided = counts[: v + 1].sum() / total
    return min(1.0, 2 * one_sided)


def normal_p(v: float, abs_differences: np.ndarray) -> float:
    """Two-sided p of V from the normal approximation with tie and continuity corrections."""
    n = len(abs_differences)
    _, tie_sizes = np.unique(abs_differences, return_counts=True)
    variance = n * (n + 1) * (2 * n + 1) / 24 - np.sum(tie_sizes.astype(float) ** 3 - tie_sizes) / 48
    centred = v - n * (n + 1) / 4
    z = (centred - 0.5 * np.sign(centred)) / np.sqrt(variance)
    return float(2 * min(stats.norm.cdf(z), stats.norm.sf(z)))


def signed_rank_test(differences) -> SignedRankResult:
    """Wilcoxon signed-rank test and rank-biserial correlation for paired ``post - pre`` differences.

    >>> r = signed_rank_test([1.5, -0.5, 2.0, 3.0, 0.0, 2.5])
    >>> (r.v, round(r.p, 6), round(r.r_rb, 6), r.method)  # a zero difference: normal approximation
    (14.0, 0.105645, 0.866667, 'normal')
    """
    rounded = np.round(np.asarray(differences, dtype=float), DECIMALS)
    nonzero = rounded[rounded != 0]
    n = len(nonzero)
    if n == 0:
        note = "every difference is zero: no signed-rank test" if len(rounded) else ""
        return SignedRankResult(np.nan, np.nan, np.nan, 0, "", note)
    magnitudes = np.abs(nonzero)
    ranks = stats.rankdata(magnitudes)
    v = float(ranks[nonzero > 0].sum())
    ties = len(np.unique(magnitudes)) < n
    zeros = n < len(rounded)
    if n < EXACT_BELOW and not ties and not zeros:
        p, method = exact_p(v, n), "exact"
    else:
        p, method = normal_p(v, magnitudes), "normal"
    r_rb = 4 * v / (n * (n + 1)) - 1
    return SignedRankResult(v, p, r_rb, n, method)
