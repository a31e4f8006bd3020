"""Intention-to-treat analysis over 2 to 12 waves: a random-intercept linear mixed model.

The model is R's ``lmerTest::lmer(score ~ wave + (1 | participant), REML = TRUE)`` with ``wave``
a factor whose levels are the columns of the input (column 0 the baseline): a fixed mean per wave
and a random intercept per participant, fitted by restricted maximum likelihood (REML) on every
available score. Unlike the paired t-test it uses participants scored at some waves only, under
the missing-at-random assumption.

``fit_wave_model`` reports what ``emmeans(fit, ~ wave)`` prints (the model's mean at each wave,
its standard error, Satterthwaite df and 95% t interval; Lenth's emmeans) and, through
``WaveModel.contrast``, what ``contrast(emm, method = list(...), adjust = "none")`` or
``lmerTest::contest(fit, L, joint = FALSE)`` print for a difference of two waves (estimate,
SE, df, t, two-sided p from t on the df). R prints these with
``emm_options(lmer.df = "satterthwaite", lmerTest.limit = Inf)``: emmeans otherwise uses
Kenward-Roger when pbkrtest is installed, and df = Inf (z) above 3,000 rows.

**Model and notation.** Participant ``i`` has scores ``y_i`` at the ``k_i`` waves in ``O_i``
(their missingness pattern), ``y_i = E_i beta + b_i 1 + e_i`` with ``E_i`` the rows of the
identity for ``O_i`` (cell-means coding: ``beta_j`` is the mean at wave ``j``),
``b_i ~ N(0, tau^2)``, ``e_i ~ N(0, sigma^2 I)``. So ``V_i = sigma^2 I + tau^2 J`` (compound
symmetry), whose eigenvalues are ``sigma^2`` on the within-participant contrasts
(``C = I - J/k``) and ``lambda_i = sigma^2 + k_i tau^2`` on the participant mean (``J/k``), and
``V_i^-1 = C / sigma^2 + (J/k) / lambda_i`` in closed form (Searle, Casella & McCulloch, 1992,
ch. 6). Every participant with the same pattern has the same ``V_i``, so ``X'V^-1X``,
``X'V^-1y``, the residual sum of squares and ``log|V|`` are sums over patterns of a few
sufficient statistics (count, mean within-participant deviations, mean participant mean, and
the two scatter sums about them), built in one vectorised pass over the participants.

**REML fit.** With ``gamma = tau^2 / sigma^2`` and ``a_i = 1 / (1 + k_i gamma)``, ``sigma^2`` is
profiled out and the criterion

    (n - p) log(rss / (n - p)) + sum_i log(1 + k_i gamma) + log|X' W X|,   W = C + a J/k,

(``n`` scores, ``p`` waves with a score) is minimised over ``gamma >= 0`` (lme4's ``theta >= 0``;
the boundary 0 is allowed): a grid over ``rho = gamma / (1 + gamma)`` brackets the minimum and
Brent's method finds the root of the criterion's closed-form slope, which gives ``gamma`` to
machine precision where minimising the flat criterion itself would stop near its square root.
Then ``sigma^2 = rss / (n - p)`` and ``tau^2 = gamma sigma^2``; ``Cov(beta) = (X'V^-1X)^-1``.
The fixed effects are solved in an orthonormal basis whose first vector is the overall level
(1/sqrt(p)): within-participant information lies entirely in the other coordinates, so a
contrast's variance never cancels the level's (which grows like ``1 / a`` when ``tau^2 >>
sigma^2``).

**Satterthwaite df** (Satterthwaite, 1946), as lmerTest computes them (Kuznetsova, Brockhoff &
Christensen, 2017): for a linear combination ``c' beta`` with variance ``v = c'Cov(beta)c``,
``df = 2 v^2 / (g' A g)``, with ``g`` the gradient of ``v`` in the variance parameters and
``A = 2 H^-1`` their asymptotic covariance, ``H`` the Hessian of the (unprofiled) REML deviance.
lmerTest takes both by numerical differentiation in ``(theta, sigma)``; here they are exact, in
``(sigma^2, tau^2)``: with ``P = V^-1 - V^-1X Cov(beta) X'V^-1`` and ``V_1 = I``, ``V_2 = J``,

    H_kl = -tr(P V_k P V_l) + 2 y'P V_k P V_l P y,    g_k = c'Cov(beta) X'V^-1 V_k V^-1 X Cov(beta) c,

each term a sum over patterns because ``V_i^-1``, ``V_k`` and their products share the two
eigenspaces. At an interior optimum the deviance's gradient is zero, so ``g'H^-1g`` (hence the
df) is the same in any parametrisation. At the boundary (``tau^2 = 0``) lmerTest's derivatives
in ``theta`` vanish by symmetry (the deviance and ``Cov(beta)`` depend on ``theta^2``), so its
df is that of ``sigma`` alone: ``n - p`` for every mean and contrast (checked in R:
``tests/r/mixed_waves_reference.R``); so here.

**Why hand-written.** statsmodels' ``MixedLM`` reports only Wald z tests and its fitter loops
over participants in Python (about 0.7 ms each, 70 s per variable at 100,000 participants);
this fit takes about 50 ms at 100,000 participants x 3 waves, its cost in the patterns (at most
``2^p - 1``) rather than the
participants.

**Robustness.** The scores are centred and divided by their range before the fit and the results
scaled back, so any unit (1e-150 or 1e150) fits alike. A model the data cannot estimate gives NaN
figures and a note: fewer than two waves with scores or not more scores than such waves ("mixed
model needs scores at both waves and at least 3 scores" with two waves); nobody scored at two or
more waves (lme4 refuses such a fit: as many participants as scores); no residual variance
("mixed model: no residual variance": every wave's scores constant; no within-participant
residual df, i.e. the repeated scores' within-participant contrasts, ``sum_i (k_i - 1)``, no more
than the wave contrasts they estimate, as with one pair at two waves, so that REML sends
``sigma^2`` to 0; or a residual variance below ``MIN_RESIDUAL_VARIANCE`` of the range squared:
every participant changed by the same amount up to rounding). With fewer than two participants
scored twice the no-variance note is left to the paired t-test's "fewer than 2 pairs". A wave
column without any score has NaN mean and contrasts and the model is fitted on the others.

With two waves the estimate and SE are those of the former closed-form two-wave fit (the tests
keep its printed figures); the p is now a t on the Satterthwaite df, where it was a Wald z.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize, stats

#: Residual variance, in units of the scores' range squared, below which there is none to speak
#: of (the gamma grid reaches 1e12, so a fit at its end has about 1e-12 of the total variance).
MIN_RESIDUAL_VARIANCE = 1e-10
#: Waves a study may have, and columns a model may have: one per wave, or one per group and wave
#: (the cells of ``score ~ wave * group``); missingness patterns are coded as bits of an integer.
MAX_WAVES = 12
MAX_COLUMNS = 2 * MAX_WAVES
CONFIDENCE = 0.95

TWO_WAVE_NOTE = "mixed model needs scores at both waves and at least 3 scores"
NO_VARIANCE_NOTE = "mixed model: no residual variance"
NO_REPEATS_NOTE = "mixed model needs participants scored at 2 or more waves"


@dataclass(frozen=True)
class WaveContrast:
    """``to_wave`` minus ``from_wave``: estimate, SE, Satterthwaite df, t and two-sided p."""

    estimate: float
    se: float
    df: float
    t: float
    p: float


@dataclass(frozen=True)
class WaveMean:
    """The model's mean at one wave (emmeans' ``emmean``), SE, df and 95% t interval on that df."""

    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class _Fit:
    """What ``WaveModel.contrast`` needs, in the scaled units and the orthonormal wave basis."""

    columns: np.ndarray  # input column -> position among the waves with scores, or -1
    basis: np.ndarray  # Q (p x p), first column the level 1/sqrt(p)
    coefficients: np.ndarray  # Q' beta / unit (beta in the input's units and origin)
    covariance: np.ndarray  # Q' Cov(beta) Q / unit^2
    covariance_slopes: np.ndarray  # (2, p, p): d Q'Cov(beta)Q / d (sigma^2, tau^2)
    variance_parameter_covariance: np.ndarray  # 2 H^-1 in (sigma^2, tau^2), or None at the boundary
    boundary_df: float  # n - p when tau^2 = 0 (lmerTest's df there), else NaN
    unit: float


@dataclass(frozen=True)
class WaveModel:
    n_participants: int  # participants with at least one score
    n_scores: int
    residual_variance: float  # sigma^2
    participant_variance: float  # tau^2
    means: tuple[WaveMean, ...]  # one per column of the input, in order
    note: str = ""
    _fit: _Fit | None = field(default=None, repr=False, compare=False)

    def contrast(self, from_wave: int, to_wave: int) -> WaveContrast:
        """Mean at column ``to_wave`` minus mean at column ``from_wave`` (NaN when not estimable)."""
        for wave in (from_wave, to_wave):
            if not 0 <= wave < len(self.means):
                raise IndexError(f"wave {wave} is not a column of the {len(self.means)} fitted")
        if from_wave == to_wave:
            raise ValueError("a contrast needs two different waves")
        weights = np.zeros(len(self.means))
        weights[to_wave], weights[from_wave] = 1.0, -1.0
        return self.linear_contrast(weights)

    def linear_contrast(self, weights) -> WaveContrast:
        """``sum(weights * column means)`` for weights that sum to 0, with Satterthwaite df: e.g.
        a difference of changes when the columns are the cells of two groups' waves (a participant's
        scores in their own group's columns, NaN in the other's, which fits ``score ~ wave * group +
        (1 | participant)``). NaN when a weighted column has no score."""
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (len(self.means),):
            raise ValueError(f"one weight per column: {len(self.means)}")
        if not abs(weights.sum()) <= 1e-12 * max(1.0, np.abs(weights).sum()) or not weights.any():
            raise ValueError("contrast weights must sum to 0 and not all be 0")
        fit = self._fit
        used = np.flatnonzero(weights)
        if fit is None or any(fit.columns[j] < 0 for j in used):
            return WaveContrast(*[np.nan] * 5)
        vector = sum(weights[j] * fit.basis[fit.columns[j]] for j in used)
        vector[0] = 0.0  # the level cancels exactly (the first column of Q is constant)
        estimate, se, df = _combination(fit, vector)
        t = estimate / se
        return WaveContrast(estimate, se, df, t, float(2 * stats.t.sf(abs(t), df)))


def _helmert(p: int) -> np.ndarray:
    """Orthonormal p x p matrix: column 0 is 1/sqrt(p), column j the j-th Helmert contrast."""
    q = np.zeros((p, p))
    q[:, 0] = 1 / np.sqrt(p)
    for j in range(1, p):
        q[:j, j] = 1 / np.sqrt(j * (j + 1))
        q[j, j] = -j / np.sqrt(j * (j + 1))
    return q


@dataclass
class _Patterns:
    """Sufficient statistics per missingness pattern g (scaled scores, waves with a score only).

    ``within_mean`` is the mean of ``C y_i`` (each participant's deviations from their own mean,
    zero at missing waves), ``level_mean`` the mean of the participant means ``ybar_i``;
    ``within_ss`` and ``level_ss`` are the sums of squares about those means.
    """

    observed: np.ndarray  # (G, p) 0/1
    counts: np.ndarray  # N_g
    sizes: np.ndarray  # k_g
    within_mean: np.ndarray  # (G, p)
    level_mean: np.ndarray  # (G,)
    within_ss: np.ndarray  # (G,)
    level_ss: np.ndarray  # (G,)


def _patterns(y: np.ndarray, observed: np.ndarray) -> _Patterns:
    p = y.shape[1]
    k = observed.sum(axis=1)
    # Deviations from each participant's first score, then from their mean: no cancellation when
    # the scores of a participant lie close together (tau^2 >> sigma^2).
    first = y[np.arange(len(y)), np.argmax(observed, axis=1)]
    deviations = np.where(observed, y - first[:, None], 0.0)
    mean_deviation = deviations.sum(axis=1) / k
    level = first + mean_deviation
    within = np.where(observed, deviations - mean_deviation[:, None], 0.0)
    codes = observed @ (1 << np.arange(p))
    unique, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    groups = len(unique)
    pattern_observed = ((unique[:, None] >> np.arange(p)) & 1).astype(float)
    within_mean = np.column_stack([np.bincount(inverse, within[:, j], groups) for j in range(p)]) / counts[:, None]
    level_mean = np.bincount(inverse, level, groups) / counts
    within_ss = np.bincount(inverse, np.sum((within - within_mean[inverse]) ** 2, axis=1), groups)
    level_ss = np.bincount(inverse, (level - level_mean[inverse]) ** 2, groups)
    return _Patterns(pattern_observed, counts.astype(float), pattern_observed.sum(axis=1), within_mean, level_mean, within_ss, level_ss)


class _Reml:
    """The REML fit's pieces as functions of gamma, in the orthonormal basis ``delta = Q' beta``."""

    def __init__(self, s: _Patterns, n_scores: int):
        self.s = s
        p = s.observed.shape[1]
        self.p, self.dof = p, n_scores - p
        self.q = _helmert(p)
        self.design = s.observed @ self.q  # each pattern's 1_O' Q, the rows of X'(J/k)X's factor
        n, o, k = s.counts, s.observed, s.sizes
        within = np.diag(n @ o) - (o * (n / k)[:, None]).T @ o  # sum N_g E'CE: annihilates 1
        self.within_information = self.q.T @ within @ self.q
        self.within_information[0, :] = self.within_information[:, 0] = 0.0
        self.within_vector = self.q.T @ (n @ s.within_mean)  # sum_i X_i' C y_i
        self.within_vector[0] = 0.0  # every participant's deviations sum to zero

    def between(self, weights: np.ndarray) -> np.ndarray:
        """sum_g N_g w_g (1_O 1_O' / k_g), in the delta basis."""
        return (self.design * (self.s.counts * weights / self.s.sizes)[:, None]).T @ self.design

    def solve(self, gamma: float):
        s = self.s
        a = 1 / (1 + s.sizes * gamma)
        information = self.within_information + self.between(a)
        scale = 1 / np.sqrt(np.diag(information))  # equilibrated: the level's entries are O(a)
        factor = linalg.cho_factor(information * scale[:, None] * scale[None, :])
        right = self.within_vector + self.design.T @ (s.counts * a * s.level_mean)
        delta = scale * linalg.cho_solve(factor, scale * right)
        log_det = 2 * np.sum(np.log(np.diag(factor[0]))) - 2 * np.sum(np.log(scale))
        # Residuals per pattern: within part (C_O beta needs no level) and the participant means.
        contrast_part = self.q[:, 1:] @ delta[1:]
        fitted_within = (contrast_part - (s.observed @ contrast_part / s.sizes)[:, None]) * s.observed
        within_residual = s.within_mean - fitted_within  # (G, p): mean of C r_i
        level_residual = s.level_mean - s.observed @ (self.q @ delta) / s.sizes  # mean of rbar_i
        within_rss = s.within_ss + s.counts * np.sum(within_residual**2, axis=1)  # sum_i r_i'C r_i
        level_rss = s.level_ss + s.counts * level_residual**2  # sum_i rbar_i^2
        rss = within_rss.sum() + np.sum(a * s.sizes * level_rss)
        return {
            "a": a, "factor": factor, "scale": scale, "delta": delta, "log_det": log_det, "rss": rss,
            "within_residual": within_residual, "level_residual": level_residual,
            "within_rss": within_rss, "level_rss": level_rss,
        }  # fmt: skip

    def criterion(self, gamma: float) -> float:
        """-2 x REML log-likelihood with sigma^2 profiled out, up to a constant."""
        f = self.solve(gamma)
        return float(
            self.dof * np.log(max(f["rss"], 1e-300) / self.dof)
            + np.sum(self.s.counts * np.log1p(self.s.sizes * gamma))
            + f["log_det"]
        )

    def slope(self, gamma: float) -> float:
        """d/d gamma of ``criterion``, in closed form.

        By the envelope theorem d rss/d gamma = r' (dW/d gamma) r at the GLS residuals, with
        dW/d gamma = -a^2 J per participant: -sum_i a_i^2 (k_i rbar_i)^2; the determinant term
        is tr((X'WX)^-1 d(X'WX)/d gamma) and d(X'WX)/d gamma = -sum_g N_g a_g^2 1_O 1_O'.
        """
        s = self.s
        f = self.solve(gamma)
        a = f["a"]
        rss_slope = -np.sum(a**2 * s.sizes**2 * f["level_rss"])
        information_slope = -self.between(a**2 * s.sizes)
        scaled = information_slope * f["scale"][:, None] * f["scale"][None, :]
        trace = np.trace(linalg.cho_solve(f["factor"], scaled))
        return float(self.dof * rss_slope / f["rss"] + np.sum(s.counts * s.sizes * a) + trace)

    def best_gamma(self) -> float:
        """REML estimate of gamma >= 0.

        A grid over the intraclass correlation rho = gamma/(1+gamma) brackets the minimum of the
        criterion; the root of its slope inside the bracket is then found by Brent's method. At
        the boundary (slope >= 0 at gamma = 0) the estimate is 0, as in lme4.
        """

        def criterion(rho: float) -> float:
            return self.criterion(rho / (1 - rho))

        def slope(rho: float) -> float:
            return self.slope(rho / (1 - rho))

        # Linear in rho up to 0.99, then geometric towards 1 so a participant variance up to 1e12
        # times the residual one (near-identical scores across waves) is still bracketed.
        grid = np.concatenate([np.linspace(0, 0.99, 100), 1 - np.logspace(-2.1, -12, 45)])
        values = [criterion(rho) for rho in grid]
        best = int(np.argmin(values))
        if best == 0 and slope(0.0) >= 0:
            return 0.0
        low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
        slope_low, slope_high = slope(low), slope(high)
        if not (slope_low <= 0 <= slope_high):  # no sign change (minimum on the grid's last point)
            refined = optimize.minimize_scalar(criterion, bounds=(low, high), method="bounded", options={"xatol": 1e-13})
            rho = refined.x if refined.fun <= values[best] else grid[best]
            return rho / (1 - rho)
        rho = optimize.brentq(slope, low, high, xtol=1e-16, rtol=4 * np.finfo(float).eps)
        return rho / (1 - rho)

    def satterthwaite(self, f: dict, sigma2: float, tau2: float):
        """Cov(beta), its slopes in (sigma^2, tau^2) and 2 H^-1 (see the module docstring).

        Every operator is ``F = f_w C + f_b J/k`` per participant (eigenvalues ``f_w`` within,
        ``f_b`` on the mean), so its trace, ``X'FX``, ``r'Fr`` and ``X'Fr`` are pattern sums.
        Returned in the delta basis and in the units of the fit.
        """
        s = self.s
        n, k = s.counts, s.sizes
        between_eigen = sigma2 + k * tau2  # lambda_g
        inv_w, inv_b = 1 / sigma2, 1 / between_eigen
        covariance = sigma2 * _inverse(f)  # (X'V^-1X)^-1; X'V^-1X = X'WX / sigma^2

        def information(fw, fb):  # X'FX
            return fw * self.within_information + self.between(fb)

        def trace(fw, fb):
            return fw * np.sum(n * (k - 1)) + np.sum(n * fb)

        def quadratic(fw, fb):  # r'Fr
            return fw * f["within_rss"].sum() + np.sum(fb * k * f["level_rss"])

        def vector(fw, fb):  # X'Fr
            within = self.q.T @ (n @ f["within_residual"])
            within[0] = 0.0
            return fw * within + self.design.T @ (n * fb * f["level_residual"])

        # V_k eigenvalues (within, on the mean): I -> (1, 1), J -> (0, k).
        parts = [(1.0, np.ones_like(k)), (0.0, k)]
        slopes = []  # X'V^-1 V_k V^-1 X and X'V^-1 V_k V^-1 r
        for aw, ab in parts:
            slopes.append((information(aw * inv_w**2, ab * inv_b**2), vector(aw * inv_w**2, ab * inv_b**2)))
        hessian = np.zeros((2, 2))
        for i, (aw_i, ab_i) in enumerate(parts):
            for j, (aw_j, ab_j) in enumerate(parts):
                fw2, fb2 = aw_i * aw_j * inv_w**2, ab_i * ab_j * inv_b**2  # V^-1 V_i V^-1 V_j
                fw3, fb3 = fw2 * inv_w, fb2 * inv_b  # ... V^-1
                g_i, g_j = slopes[i][0], slopes[j][0]
                trace_p = (
                    trace(fw2, fb2)
                    - 2 * np.trace(covariance @ information(fw3, fb3))
                    + np.trace(covariance @ g_i @ covariance @ g_j)
                )
                quadratic_p = quadratic(fw3, fb3) - slopes[i][1] @ covariance @ slopes[j][1]
                hessian[i, j] = -trace_p + 2 * quadratic_p
        hessian = (hessian + hessian.T) / 2
        covariance_slopes = np.array([covariance @ g @ covariance for g, _ in slopes])
        return covariance, covariance_slopes, 2 * _pseudo_inverse(hessian)


def _inverse(f: dict) -> np.ndarray:
    scale = f["scale"]
    return scale[:, None] * linalg.cho_solve(f["factor"], np.eye(len(scale))) * scale[None, :]


def _pseudo_inverse(h: np.ndarray) -> np.ndarray:
    """H^-1, on its positive eigenvalues only (lmerTest's Moore-Penrose inverse), equilibrated first."""
    d = 1 / np.sqrt(np.abs(np.diag(h)))
    values, vectors = np.linalg.eigh(h * d[:, None] * d[None, :])
    keep = values > 1e-8 * np.max(np.abs(values))
    inverse = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
    return inverse * d[:, None] * d[None, :]


def _combination(fit: _Fit, vector: np.ndarray) -> tuple[float, float, float]:
    """Estimate, SE and Satterthwaite df of ``vector' delta``, in the input's units."""
    variance = float(vector @ fit.covariance @ vector)
    estimate = float(vector @ fit.coefficients) * fit.unit
    if fit.variance_parameter_covariance is None:
        df = fit.boundary_df
    else:
        gradient = np.array([vector @ slope @ vector for slope in fit.covariance_slopes])
        df = float(2 * variance**2 / (gradient @ fit.variance_parameter_covariance @ gradient))
    return estimate, float(np.sqrt(variance) * fit.unit), df


def _empty(n_waves: int, n_participants: int, n_scores: int, note: str) -> WaveModel:
    means = tuple(WaveMean(*[np.nan] * 5) for _ in range(n_waves))
    return WaveModel(n_participants, n_scores, np.nan, np.nan, means, note)


def fit_wave_model(scores: np.ndarray) -> WaveModel:
    """scores: float array (participants x waves), NaN = not scored; column 0 is the baseline.

    REML fit of ``score ~ wave + (1 | participant)`` with Satterthwaite df (module docstring).

    >>> m = fit_wave_model(np.array([[1.0, 2.0, 2.5], [2.0, 2.5, 3.5], [3.0, 4.0, np.nan],
    ...                              [4.0, 5.5, 6.0], [2.5, np.nan, 3.0]]))
    >>> c = m.contrast(0, 2)
    >>> round(c.estimate, 6), round(c.se, 6), round(c.df, 4)
    (1.382741, 0.250641, 6.0714)
    >>> [round(w.estimate, 6) for w in m.means]
    [2.5, 3.39405, 3.882741]
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or not 2 <= scores.shape[1] <= MAX_COLUMNS:
        raise ValueError(f"scores must be a participants x waves array with 2 to {MAX_COLUMNS} columns")
    if np.isinf(scores).any():
        raise ValueError("scores must be finite or NaN (not scored)")
    n_waves = scores.shape[1]
    scores = scores[~np.isnan(scores).all(axis=1)]  # participants without any score play no part
    observed_all = ~np.isnan(scores)
    n_participants, n_scores = len(scores), int(observed_all.sum())
    active = observed_all.any(axis=0)
    p = int(active.sum())
    if p < 2 or n_scores < p + 1:
        note = TWO_WAVE_NOTE if n_waves == 2 else f"mixed model needs scores at 2 or more waves and at least {p + 1} scores"
        return _empty(n_waves, n_participants, n_scores, note)
    observed = observed_all[:, active]
    repeated = int((observed.sum(axis=1) >= 2).sum())  # participants scored at 2 or more waves
    if repeated == 0:  # as many participants as scores: tau^2 and sigma^2 inseparable (lme4 refuses)
        return _empty(n_waves, n_participants, n_scores, NO_REPEATS_NOTE)
    values = scores[:, active]
    if all(np.ptp(values[observed[:, j], j]) == 0 for j in range(p)):
        return _empty(n_waves, n_participants, n_scores, NO_VARIANCE_NOTE)  # the wave explains every score
    # Within-participant residual df: the repeated scores' within contrasts, less the wave
    # contrasts they estimate. At 0 they are fitted exactly and REML sends sigma^2 to 0 (one pair
    # with two waves; with more, e.g. one participant at waves 0-1 and one at 1-2).
    within_design = np.diag(observed.sum(axis=0)) - (observed / observed.sum(axis=1, keepdims=True)).T @ observed
    if int((observed.sum(axis=1) - 1).sum()) - np.linalg.matrix_rank(within_design) <= 0:
        return _empty(n_waves, n_participants, n_scores, NO_VARIANCE_NOTE if repeated >= 2 else "")
    present = values[observed]
    unit = float(np.ptp(present))  # the range: no squares, so no overflow for any finite scores
    centre = present.min() + unit / 2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a zero rss is handled below
        reml = _Reml(_patterns((values - centre) / unit, observed), n_scores)
        gamma = reml.best_gamma()
        f = reml.solve(gamma)
    sigma2 = f["rss"] / reml.dof  # in units of unit^2
    if not sigma2 > MIN_RESIDUAL_VARIANCE:
        # One participant scored twice cannot separate the two variances; the paired note says
        # "fewer than 2 pairs".
        return _empty(n_waves, n_participants, n_scores, NO_VARIANCE_NOTE if repeated >= 2 else "")
    tau2 = gamma * sigma2
    covariance, slopes, varpar_covariance = reml.satterthwaite(f, sigma2, tau2)
    columns = np.full(n_waves, -1)
    columns[active] = np.arange(p)
    fit = _Fit(
        columns=columns,
        basis=reml.q,
        coefficients=f["delta"] + centre / unit * np.eye(p)[0] * np.sqrt(p),  # back to the input's origin
        covariance=covariance,
        covariance_slopes=slopes,
        variance_parameter_covariance=None if gamma == 0 else varpar_covariance,
        boundary_df=float(reml.dof) if gamma == 0 else np.nan,
        unit=unit,
    )
    means = []
    for column in range(n_waves):
        if columns[column] < 0:
            means.append(WaveMean(*[np.nan] * 5))
            continue
        estimate, se, df = _combination(fit, reml.q[columns[column]])
        half = float(stats.t.isf((1 - CONFIDENCE) / 2, df)) * se
        means.append(WaveMean(estimate, se, df, estimate - half, estimate + half))
    empty_waves = [str(j) for j in range(n_waves) if not active[j]]
    note = ""
    if empty_waves:
        note = f"mixed model: no scores at wave {', '.join(empty_waves)}, so its mean and contrasts are NaN"
    return WaveModel(n_participants, n_scores, float(sigma2 * unit**2), float(tau2 * unit**2), tuple(means), note, fit)
