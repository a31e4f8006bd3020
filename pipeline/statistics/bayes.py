"""The JZS Bayes factor for a paired (one-sample) t-test.

Rouder, Speckman, Sun, Morey & Iverson (2009, eq. 1), with a Cauchy prior of scale ``r`` on
the standardized effect d_z (``r = sqrt(2)/2 = 0.707``, "medium", the default of
``BayesFactor::ttestBF`` and JASP): with ``nu = n - 1``,

    BF10 = integral_0^inf (1 + n g r^2)^(-1/2) (1 + t^2 / ((1 + n g r^2) nu))^(-(nu+1)/2)
           (2 pi)^(-1/2) g^(-3/2) exp(-1 / (2g)) dg  /  (1 + t^2 / nu)^(-(nu+1)/2).

The integral is taken over ``u = log g`` in log space around its peak, so that large samples
(where BF10 exceeds the float range) still give an exact ``log_bf10``.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, optimize

MEDIUM_PRIOR_SCALE = np.sqrt(2) / 2


def jzs_log_bf10(t: float, n: int, r: float = MEDIUM_PRIOR_SCALE) -> float:
    """Natural log of the two-sided JZS BF10 for a paired t statistic ``t`` from ``n`` pairs (n >= 2).

    >>> round(float(np.exp(jzs_log_bf10(4.062127683382037, 10))), 4)  # sleep data; BayesFactor: 17.2589
    17.2589
    """
    nu = n - 1

    def log_integrand(u: float) -> float:  # in u = log g, including the Jacobian g
        g = np.exp(u)
        spread = 1 + n * g * r**2
        return (
            -0.5 * np.log(spread)
            - (nu + 1) / 2 * np.log1p(t**2 / (spread * nu))
            - 0.5 * np.log(2 * np.pi)
            - 0.5 * u
            - 1 / (2 * g)
        )

    with np.errstate(over="ignore", divide="ignore"):  # the tails underflow to 0, as they should
        return _log_bf10(log_integrand, nu, t)


def _log_bf10(log_integrand, nu: int, t: float) -> float:
    peak = optimize.minimize_scalar(lambda u: -log_integrand(u), bounds=(-30, 30), method="bounded", options={"xatol": 1e-10}).x
    top = log_integrand(peak)

    def scaled(u: float) -> float:
        return np.exp(log_integrand(u) - top)

    options = dict(epsabs=0, epsrel=1e-12, limit=500)
    area = integrate.quad(scaled, -np.inf, peak, **options)[0] + integrate.quad(scaled, peak, np.inf, **options)[0]
    log_null = -(nu + 1) / 2 * np.log1p(t**2 / nu)
    return float(top + np.log(area) - log_null)
