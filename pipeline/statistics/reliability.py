"""Internal consistency of a scale at one wave: Cronbach's alpha and McDonald's omega total.

Both take the reverse-keyed item responses of the participants who answered every item of the
scale at that wave (complete cases; ``n`` is reported beside them).

* ``alpha = k / (k - 1) x (1 - sum of item variances / variance of the total)``
  (Cronbach, 1951), psych's ``alpha(x)$total$raw_alpha``;
* ``omega total = (V_t - sum of uniquenesses) / V_t`` from a one-factor minimum-residual
  (minres) factor analysis of the item correlations, ``V_t`` the sum of the correlation matrix
  (McDonald, 1999), as psych's ``omega(x, nfactors = 1)$omega.tot`` (Revelle, 2025). As psych
  does, items loading negatively are flipped before ``V_t`` is taken.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

#: psych's ``fa`` keeps every uniqueness at or above .005 (a Heywood case is bounded, not an error).
MIN_UNIQUENESS = 0.005


def complete_cases(items: np.ndarray) -> np.ndarray:
    """The rows with every item answered."""
    items = np.asarray(items, dtype=float)
    return items[~np.isnan(items).any(axis=1)]


def cronbach_alpha(items: np.ndarray) -> float:
    """Cronbach's (1951) alpha of complete item rows; NaN with fewer than 2 items or 2 rows, or no total variance.

    >>> round(cronbach_alpha([[1, 2, 2], [2, 3, 3], [4, 4, 5], [3, 3, 3]]), 6)
    0.961832
    """
    items = np.asarray(items, dtype=float)
    rows, k = items.shape
    if k < 2 or rows < 2:
        return np.nan
    total_variance = items.sum(axis=1).var(ddof=1)
    if not total_variance > 0:
        return np.nan
    return float(k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / total_variance))


def _principal_axes(correlations: np.ndarray, communality: np.ndarray, tolerance: float, iterations: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Iterated principal axes from ``communality``: (loadings, last communalities, converged)."""
    reduced = np.array(correlations, dtype=float)
    for _ in range(iterations):
        np.fill_diagonal(reduced, communality)
        values, vectors = np.linalg.eigh(reduced)
        loadings = vectors[:, -1] * np.sqrt(max(values[-1], 0.0))
        updated = np.clip(loadings**2, 0, 1 - MIN_UNIQUENESS)
        if np.max(np.abs(updated - communality)) < tolerance:
            return loadings, updated, True
        communality = updated
    return loadings, communality, False


def _minres_criterion(uniqueness: np.ndarray, correlations: np.ndarray) -> float:
    """psych's ``fit.residuals`` for one factor: the off-diagonal residual sum of squares."""
    reduced = np.array(correlations, dtype=float)
    np.fill_diagonal(reduced, 1 - uniqueness)
    values, vectors = np.linalg.eigh(reduced)
    loadings = vectors[:, -1] * np.sqrt(max(values[-1], 0.0))
    residual = correlations - np.outer(loadings, loadings)
    np.fill_diagonal(residual, 0.0)
    return float(np.sum(residual**2))


def one_factor_minres(correlations: np.ndarray, tolerance: float = 1e-13, max_iterations: int = 2_000) -> np.ndarray:
    """Loadings of a one-factor minimum-residual solution (Harman & Jones, 1966).

    Iterated principal axes: put the communalities on the diagonal, take the first principal
    axis, repeat until the communalities stop changing. Its fixed point minimises the squared
    off-diagonal residuals, the criterion psych's ``fa(fm = "minres")`` optimises; the
    communalities are kept at most ``1 - MIN_UNIQUENESS`` as psych bounds them.

    With weakly correlated items the iteration can creep towards that bound for 10^5 steps or
    more. So after ``max_iterations`` the criterion itself is minimised over the uniquenesses
    by L-BFGS-B within psych's bounds [0.005, 1] (what psych does throughout), and the
    iteration then resumes from there to the same ``tolerance``: a bounded amount of work with
    the fixed point the long iteration would reach (the tests compare the two).
    """
    correlations = np.asarray(correlations, dtype=float)
    # Start from squared multiple correlations, as psych does (falls back to 1 if R is singular).
    try:
        communality = 1 - 1 / np.diag(np.linalg.inv(correlations))
    except np.linalg.LinAlgError:
        communality = np.ones(len(correlations))
    communality = np.clip(communality, 0, 1 - MIN_UNIQUENESS)
    loadings, communality, converged = _principal_axes(correlations, communality, tolerance, max_iterations)
    if not converged:
        bounds = [(MIN_UNIQUENESS, 1.0)] * len(correlations)
        fit = optimize.minimize(
            _minres_criterion, 1 - communality, args=(correlations,), method="L-BFGS-B", bounds=bounds,
            options=dict(maxiter=2_000, ftol=1e-15, gtol=1e-12),
        )  # fmt: skip
        start = np.clip(1 - fit.x, 0, 1 - MIN_UNIQUENESS)
        loadings, _, _ = _principal_axes(correlations, start, tolerance, max_iterations)
    return loadings if loadings.sum() >= 0 else -loadings


def omega_total(items: np.ndarray) -> float:
    """McDonald's omega total of complete item rows from one minres factor; NaN when undefined.

    Undefined with fewer than 3 items (one factor is then not identified), fewer than 3 rows, or
    an item without variance (its correlations do not exist).
    """
    items = np.asarray(items, dtype=float)
    rows, k = items.shape
    if k < 3 or rows < 3 or not (items.std(axis=0) > 0).all():
        return np.nan
    correlations = np.corrcoef(items, rowvar=False)
    loadings = one_factor_minres(correlations)
    signs = np.where(loadings < 0, -1.0, 1.0)
    flipped = correlations * np.outer(signs, signs)
    total = flipped.sum()
    uniqueness = np.sum(1 - loadings**2)
    return float((total - uniqueness) / total)
