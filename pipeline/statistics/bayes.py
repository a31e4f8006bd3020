"""The JZS Bayes factor for a paired (one-sample) t-test.

Rouder, Speckman, Sun, Morey & Iverson (2009, eq. 1), with a Cauchy prior of scale ``r`` on
the standardized effect d_z (``r = sqrt(2)/2 = 0.707``, "medium", the default of
``BayesFactor::ttestBF`` and JASP): with ``nu = n - 1``,

    BF10 = integral_0^inf (1 + n g r^2)^(-1/2) (1 + t^2 / ((1 + n g r^2) nu))^(-(nu+1)/2)
           (2 pi)^(-1/2) g^(-3/2) exp(-1 / (2g)) dg  /  (1 + t^2 / nu)^(-(nu+1)/2).

The integral is taken over ``u = log g`` in log space around its peak, so that large samples
(where BF10 exceeds the float range) still give an exact ``log_bf10``. Every term is written
through logarithms (``logaddexp``), so no power of t or of g is ever formed: any finite t and
any n >= 2 give a finite ``log_bf10``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate, optimize, special

MEDIUM_PRIOR_SCALE = np.sqrt(2) / 2
#: Steps of the search for the right end of the peak's bracket (each moves it 2 further in u).
MAX_EXPANSIONS = 200


def jzs_log_bf10(t: float, n: int, r: float = MEDIUM_PRIOR_SCALE) -> float:
    """Natural log of the two-sided JZS BF10 for a paired t statistic ``t`` from ``n`` pairs (n >= 2).

    >>> round(float(np.exp(jzs_log_bf10(4.062127683382037, 10))), 4)  # sleep data; BayesFactor: 17.2589
    17.2589
    """
    nu = n - 1
    log_t2 = 2 * np.log(abs(t)) if t != 0 else -np.inf  # log t^2, so t^2 never overflows
    log_nr2 = np.log(n * r**2)

    def log_integrand(u: float) -> float:  # in u = log g, including the Jacobian g
        log_spread = np.logaddexp(0.0, log_nr2 + u)  # log(1 + n g r^2)
        with np.errstate(over="ignore"):  # exp(-u) -> inf far in the left tail: the integrand is 0 there
            prior_tail = 0.5 * np.exp(-u)
        return (
            -0.5 * log_spread
            - (nu + 1) / 2 * np.logaddexp(0.0, log_t2 - np.log(nu) - log_spread)
            - 0.5 * np.log(2 * np.pi)
            - 0.5 * u
            - prior_tail
        )

    def slope_and_curvature(u: float) -> tuple[float, float]:
        """First and second derivatives of ``log_integrand`` in u (closed form)."""
        a = special.expit(log_nr2 + u)  # n g r^2 / (1 + n g r^2)
        b = special.expit(log_t2 - np.log(nu) - np.logaddexp(0.0, log_nr2 + u))  # q / (1 + q), q = t^2 / (spread nu)
        half_e = 0.5 * np.exp(-u)
        slope = -0.5 * a + (nu + 1) / 2 * a * b - 0.5 + half_e
        curvature = -0.5 * a * (1 - a) + (nu + 1) / 2 * (a * (1 - a) * b - a * a * b * (1 - b)) - half_e
        return slope, curvature

    log_null = -(nu + 1) / 2 * np.logaddexp(0.0, log_t2 - np.log(nu))
    return _log_bf10(log_integrand, slope_and_curvature, log_null)


def _log_bf10(log_integrand, slope_and_curvature, log_null: float) -> float:
    """log(integral of exp(log_integrand)) - log_null, the integral split around the integrand's peak.

    The peak is the root of the closed-form slope: at u = -1 the slope is at least e/2 - 1 > 0
    (its terms are bounded), and it tends to -1 as u grows, so a bracket [-1, u_high] exists
    and the right end is found in at most ``MAX_EXPANSIONS`` steps. The integrand may be a
    narrow peak or (n = 2, huge t) a plateau dozens of units wide, so the break points are
    where its log falls 2, 10 and 40 below the top on each side (each bracketed by doubling
    steps from the peak, at most ``MAX_EXPANSIONS`` times); ``quad`` then integrates the
    scaled integrand between them, and beyond them to +-inf, to 1e-12 relative.
    """

    def slope(u: float) -> float:
        return slope_and_curvature(u)[0]

    high = 1.0
    for _ in range(MAX_EXPANSIONS):
        if slope(high) < 0:
            break
        high += 2.0 if high < 8 else high  # doubling once past the small values
    peak = optimize.brentq(slope, -1.0, high, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500)
    top = log_integrand(peak)
    # The curvature's width sets the first step only; it is clipped so a plateau cannot hide.
    first_step = float(np.clip(1 / np.sqrt(max(-slope_and_curvature(peak)[1], 1e-300)), 1e-8, 1.0))

    def fall(level: float, direction: float) -> float:
        def below(u: float) -> float:  # clipped: far in the left tail the log integrand is -inf
            return max(log_integrand(u) - (top - level), -1e3)

        inner, step = peak, first_step
        for _ in range(MAX_EXPANSIONS):
            outer = peak + direction * step
            if below(outer) < 0:
                break
            inner, step = outer, 2 * step
        return optimize.brentq(below, min(inner, outer), max(inner, outer), xtol=1e-12, rtol=1e-12, maxiter=500)

    levels = (40.0, 10.0, 2.0)
    edges = [fall(level, -1.0) for level in levels] + [peak] + [fall(level, 1.0) for level in reversed(levels)]

    def scaled(u: float) -> float:
        return float(np.exp(log_integrand(u) - top))

    options = dict(epsabs=0, epsrel=1e-12, limit=500)
    with warnings.catch_warnings():  # a roundoff notice at 1e-12 relative is not worth a warning
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        pieces = [integrate.quad(scaled, -np.inf, edges[0], **options)[0], integrate.quad(scaled, edges[-1], np.inf, **options)[0]]
        pieces += [integrate.quad(scaled, a, b, **options)[0] for a, b in zip(edges, edges[1:])]
    return float(top + np.log(sum(pieces)) - log_null)
