"""Distribution functions coscale needs, from ``scipy.special`` alone.

``scipy.stats`` costs about 0.9 s to import; the handful of functions the
analyses use are thin wrappers around ``scipy.special`` (0.3 s), so every
command starts faster. Values equal ``scipy.stats`` to machine precision.
"""

from __future__ import annotations

import math

from scipy import special

NAN = float("nan")


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for X ~ chi-square(df); NaN for df <= 0 or a non-finite x (R: ``pchisq(x, df, lower = FALSE)``)."""
    if df is None or not df > 0 or x is None or not math.isfinite(x):
        return NAN
    return float(special.chdtrc(df, x))


def chi2_cdf(x: float, df: float, ncp: float = 0.0) -> float:
    """P(X <= x) for a (noncentral, ``ncp`` > 0) chi-square (R: ``pchisq(x, df, ncp)``)."""
    return float(special.chndtr(x, df, ncp)) if ncp > 0 else float(special.chdtr(df, x))


def norm_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z (R: ``pnorm(z, lower = FALSE)``)."""
    return float(special.ndtr(-z))


def two_sided_p(z: float) -> float:
    """Two-sided p-value of a z statistic; NaN when z is not finite."""
    return 2.0 * norm_sf(abs(z)) if math.isfinite(z) else NAN


def f_ppf(q: float, dfn: float, dfd: float) -> float:
    """Quantile of the F distribution (R: ``qf(q, dfn, dfd)``)."""
    return float(special.fdtri(dfn, dfd, q))


def bisect(f, lo: float, hi: float, tol: float = 1e-12, max_iter: int = 200) -> float:
    """Root of a monotone function with a sign change on [lo, hi], by bisection."""
    flo = f(lo)
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        fm = f(mid)
        if fm == 0:
            return mid
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
        if hi - lo <= tol * max(1.0, abs(lo)):
            break
    return 0.5 * (lo + hi)
