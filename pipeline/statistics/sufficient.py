"""The paired, rank and reliability statistics from summaries that can be merged across shards.

An out-of-core run (:mod:`pipeline.engine_duckdb`) never holds the participants in memory: it
hands this module, per scale, the *joint histogram* of the (baseline, primary) score pairs and,
per wave, the complete-case item sums and cross-products. Scale scores are discrete (a mean of
whole-number items, a prorated sum, a difference of two such), so a histogram of a million pairs
has at most a few thousand cells, and histograms and sums of shards simply add.

From them this module gives the same numbers as the in-memory functions:

* :func:`paired_from_histogram` -> :func:`pipeline.statistics.paired.paired_statistics`'s
  columns: n, means and SDs (ddof 1) of both waves and of the differences from exact rational
  sums (``fractions.Fraction`` of each float score: no cancellation at any n), then the same t,
  df, p, CI, d_z and its noncentral-t interval, d_av and g_av. ``shapiro_p`` needs the ordered
  differences: the histogram holds them, and is expanded for the 3 to 5,000 pairs where the
  test is defined (beyond that it is NaN in memory too);
* :func:`signed_rank_from_histogram` -> :func:`pipeline.statistics.wilcoxon.signed_rank_test`:
  the differences rounded to 9 decimals as there, zeros dropped, tied magnitudes given their
  average rank (cell by cell: a cell of ``c`` ties after ``m`` smaller magnitudes has rank
  ``m + (c + 1) / 2``), V, the tie-corrected normal p with continuity correction, and the exact
  p when fewer than 50 differences are non-zero, untied and no zero (then every cell has count
  1 and the histogram is the data itself), and the rank-biserial r;
* :func:`alpha_from_sums` / :func:`omega_from_sums` -> Cronbach's alpha and McDonald's omega
  total from n, the item sums and the k x k cross-product matrix of complete cases
  (covariances ``(S_ij - s_i s_j / n) / (n - 1)``, exact in integers); omega's minres factor
  analysis is :func:`pipeline.statistics.reliability.one_factor_minres` on the correlations;
* :func:`reliable_change_from_histogram`: the reliable change and recovery percentages of
  :func:`pipeline.analyze.reliable_change`, each cell classified once and weighted by its count.

A float difference ``post - pre`` is formed per cell exactly as numpy forms it per participant
(one IEEE subtraction), so rounding and ties are those of the in-memory path.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import stats

from .paired import CONFIDENCE, PAIRED_COLUMNS, dz_confidence_interval, hedges_correction, shapiro_wilk_p, SHAPIRO_MAX_N
from .reliability import one_factor_minres
from .reliable_change import classify_change, is_case
from .wilcoxon import DECIMALS, EXACT_BELOW, SignedRankResult, exact_p


@dataclass(frozen=True)
class JointHistogram:
    """Counts of distinct (pre, post) score pairs: ``pre[i], post[i]`` seen ``count[i]`` times."""

    pre: np.ndarray
    post: np.ndarray
    count: np.ndarray

    @classmethod
    def of(cls, pre, post, count) -> JointHistogram:
        return cls(np.asarray(pre, dtype=float), np.asarray(post, dtype=float), np.asarray(count, dtype=np.int64))

    @classmethod
    def from_pairs(cls, pre, post) -> JointHistogram:
        """The histogram of aligned score arrays (for tests and small shards)."""
        pairs = np.column_stack([np.asarray(pre, dtype=float), np.asarray(post, dtype=float)])
        if not len(pairs):
            return cls.of([], [], [])
        cells, count = np.unique(pairs, axis=0, return_counts=True)
        return cls.of(cells[:, 0], cells[:, 1], count)

    def merge(self, other: JointHistogram) -> JointHistogram:
        """The histogram of both shards' pairs."""
        return merge_histograms([self, other])

    @property
    def n(self) -> int:
        return int(self.count.sum())

    def differences(self) -> tuple[np.ndarray, np.ndarray]:
        """``post - pre`` per cell (one float subtraction, as in memory) and the cell counts."""
        return self.post - self.pre, self.count


def merge_histograms(parts: list[JointHistogram]) -> JointHistogram:
    """One histogram from shards' histograms (cells with equal pairs add their counts)."""
    pre = np.concatenate([p.pre for p in parts])
    post = np.concatenate([p.post for p in parts])
    count = np.concatenate([p.count for p in parts])
    if not len(pre):
        return JointHistogram.of([], [], [])
    cells, inverse = np.unique(np.column_stack([pre, post]), axis=0, return_inverse=True)
    return JointHistogram.of(cells[:, 0], cells[:, 1], np.bincount(inverse.ravel(), weights=count, minlength=len(cells)).astype(np.int64))


def exact_moments(values: np.ndarray, counts: np.ndarray) -> tuple[int, Fraction, Fraction]:
    """n, the exact mean and the exact sum of squared deviations of values weighted by counts."""
    n = int(np.sum(counts))
    if n == 0:
        return 0, Fraction(0), Fraction(0)
    exact = [Fraction(float(v)) for v in values]
    weights = [int(c) for c in counts]
    mean = sum((c * v for v, c in zip(exact, weights)), Fraction(0)) / n
    squares = sum((c * (v - mean) ** 2 for v, c in zip(exact, weights)), Fraction(0))
    return n, mean, squares


def _mean_sd(values, counts) -> tuple[int, float, float]:
    n, mean, squares = exact_moments(values, counts)
    sd = float(np.sqrt(float(squares / (n - 1)))) if n > 1 else np.nan
    return n, float(mean), sd


def paired_from_histogram(histogram: JointHistogram) -> dict:
    """``paired_statistics(pre, post)`` from the joint histogram of the pairs (module docstring)."""
    row = dict.fromkeys(PAIRED_COLUMNS, np.nan)
    n = histogram.n
    row.update(n_pairs=n, notes=[])
    if n == 0:
        row["notes"].append("no participant has a score at both waves")
        return row
    diff, count = histogram.differences()
    _, mean_pre, sd_pre = _mean_sd(histogram.pre, count)
    _, mean_post, sd_post = _mean_sd(histogram.post, count)
    _, mean_diff, sd_diff = _mean_sd(diff, count)
    row.update(mean_pre=mean_pre, mean_post=mean_post, mean_diff=mean_diff)
    if n < 2:
        row["notes"].append("fewer than 2 pairs: no test")
        return row
    row.update(sd_pre=sd_pre, sd_post=sd_post, sd_diff=sd_diff, df=n - 1)
    average_sd = (sd_pre + sd_post) / 2
    if average_sd > 0:
        row["d_av"] = mean_diff / average_sd
        row["g_av"] = hedges_correction(n - 1) * row["d_av"]
    if n <= SHAPIRO_MAX_N:  # the test needs the ordered differences: the histogram is them
        row["shapiro_p"], shapiro_note = shapiro_wilk_p(np.repeat(diff, count))
    else:
        shapiro_note = f"Shapiro-Wilk needs 3 to {SHAPIRO_MAX_N:,} pairs"
    if not sd_diff / np.sqrt(n) >= 10 * np.finfo(float).eps * abs(mean_diff) or not sd_diff > 0:
        row["notes"].append("every participant changed by the same amount: no variance, no t-test")
        return row
    if shapiro_note:
        row["notes"].append(shapiro_note)
    se = sd_diff / np.sqrt(n)
    t = mean_diff / se
    margin = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * se
    d_low, d_high = dz_confidence_interval(t, n)
    row.update(
        t=t, p=2 * stats.t.sf(abs(t), n - 1), ci_low=mean_diff - margin, ci_high=mean_diff + margin,
        d_z=mean_diff / sd_diff, d_z_ci_low=d_low, d_z_ci_high=d_high,
    )  # fmt: skip
    return row


def signed_rank_from_histogram(differences, counts) -> SignedRankResult:
    """``signed_rank_test`` of the differences ``differences[i]`` seen ``counts[i]`` times."""
    differences = np.asarray(differences, dtype=float)
    counts = np.asarray(counts, dtype=np.int64)
    rounded = np.round(differences, DECIMALS)
    total = int(counts.sum())
    keep = (rounded != 0) & (counts > 0)
    values, weights = rounded[keep], counts[keep]
    n = int(weights.sum())
    if n == 0:
        note = "every difference is zero: no signed-rank test" if total else ""
        return SignedRankResult(np.nan, np.nan, np.nan, 0, "", note)
    magnitudes, where = np.unique(np.abs(values), return_inverse=True)
    tie_sizes = np.bincount(where.ravel(), weights=weights, minlength=len(magnitudes)).astype(np.int64)
    before = np.concatenate([[0], np.cumsum(tie_sizes)[:-1]])
    # Average rank of each magnitude cell, doubled to stay in integers: 2m + c + 1.
    doubled_rank = [2 * int(m) + int(c) + 1 for m, c in zip(before, tie_sizes)]
    positive = values > 0
    v_doubled = sum(int(w) * doubled_rank[i] for i, w in zip(where.ravel()[positive], weights[positive]))
    v = float(Fraction(v_doubled, 2))
    ties = bool((tie_sizes > 1).any())
    zeros = n < total
    if n < EXACT_BELOW and not ties and not zeros:
        p, method = exact_p(v, n), "exact"
    else:
        variance = n * (n + 1) * (2 * n + 1) / 24 - float(sum(int(t) ** 3 - int(t) for t in tie_sizes)) / 48
        centred = v - n * (n + 1) / 4
        z = (centred - 0.5 * np.sign(centred)) / np.sqrt(variance)
        p, method = float(2 * min(stats.norm.cdf(z), stats.norm.sf(z))), "normal"
    r_rb = 4 * v / (n * (n + 1)) - 1
    return SignedRankResult(v, p, r_rb, n, method)


@dataclass(frozen=True)
class ItemSums:
    """Complete cases of a scale's keyed items at one wave: n, the item sums and cross-products.

    Whole-number items give whole-number sums (exact Python ints); shards add (:meth:`merge`)."""

    n: int
    sums: tuple[int, ...]
    cross: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, items) -> ItemSums:
        """The sums of complete rows of an item matrix (rows with a NaN are left out, as alpha does)."""
        items = np.asarray(items, dtype=float)
        items = items[~np.isnan(items).any(axis=1)]
        whole = [[int(v) for v in row] for row in items]
        k = items.shape[1]
        sums = tuple(sum(row[i] for row in whole) for i in range(k))
        cross = tuple(tuple(sum(row[i] * row[j] for row in whole) for j in range(k)) for i in range(k))
        return cls(len(whole), sums, cross)

    def merge(self, other: ItemSums) -> ItemSums:
        k = len(self.sums)
        return ItemSums(
            self.n + other.n,
            tuple(a + b for a, b in zip(self.sums, other.sums)),
            tuple(tuple(self.cross[i][j] + other.cross[i][j] for j in range(k)) for i in range(k)),
        )

    def covariance(self) -> list[list[Fraction]]:
        """The exact item covariance matrix (ddof 1)."""
        n, s = self.n, self.sums
        return [[Fraction(self.cross[i][j] * n - s[i] * s[j], n * (n - 1)) for j in range(len(s))] for i in range(len(s))]


def alpha_from_sums(sums: ItemSums) -> float:
    """Cronbach's alpha as :func:`pipeline.statistics.reliability.cronbach_alpha` of the complete rows."""
    k = len(sums.sums)
    if k < 2 or sums.n < 2:
        return np.nan
    cov = sums.covariance()
    total = sum((sum(row, Fraction(0)) for row in cov), Fraction(0))
    if not total > 0:
        return np.nan
    trace = sum((cov[i][i] for i in range(k)), Fraction(0))
    return float(Fraction(k, k - 1) * (1 - trace / total))


def omega_from_sums(sums: ItemSums) -> float:
    """McDonald's omega total as :func:`pipeline.statistics.reliability.omega_total` of the complete rows."""
    k = len(sums.sums)
    if k < 3 or sums.n < 3:
        return np.nan
    cov = np.array([[float(c) for c in row] for row in sums.covariance()])
    variances = np.diag(cov)
    if not (variances > 0).all():
        return np.nan
    scale = np.sqrt(variances)
    correlations = cov / np.outer(scale, scale)
    np.fill_diagonal(correlations, 1.0)
    loadings = one_factor_minres(correlations)
    signs = np.where(loadings < 0, -1.0, 1.0)
    total = (correlations * np.outer(signs, signs)).sum()
    return float((total - np.sum(1 - loadings**2)) / total)


def reliable_change_from_histogram(histogram: JointHistogram, s_diff: float, higher_is: str, cutoff=None) -> dict:
    """Percentages improved / unchanged / deteriorated and, with a cutoff, cases at baseline and
    the recovered percentage, as :func:`pipeline.analyze.reliable_change` over the pairs."""
    diff, count = histogram.differences()
    category = classify_change(diff / s_diff, higher_is)
    n = histogram.n
    out = {f"rci_{name}_pct": 100 * int(count[category == name].sum()) / n for name in ("improved", "unchanged", "deteriorated")}
    if cutoff is not None:
        case_pre, case_post = is_case(histogram.pre, cutoff), is_case(histogram.post, cutoff)
        recovered = case_pre & ~case_post & (category == "improved")
        cases = int(count[case_pre].sum())
        out.update(n_cases_pre=cases, recovered_pct=100 * int(count[recovered].sum()) / cases if cases else np.nan)
    return out
