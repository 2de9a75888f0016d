"""Fit indices of an ML fit, with lavaan's definitions (``lavaan::fitMeasures``).

Sources: chi-square and baseline model (Bentler & Bonett 1980); CFI (Bentler
1990); TLI (Tucker & Lewis 1973); RMSEA and its 90% interval (Steiger & Lind
1980; Browne & Cudeck 1993), multi-group RMSEA multiplied by sqrt(G) as lavaan
does (Steiger 1998); SRMR (Bentler 1995; lavaan's ``srmr``, which is
``srmr_bentler``: residuals scaled by the sample SDs, mean residuals included
when the model has a mean structure, groups weighted by N_g / N); AIC and BIC
from the log-likelihood (Akaike 1974; Schwarz 1978).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from coscale.stats.estimate import Fit

FIT_NAMES = (
    "npar",
    "ntotal",
    "chisq",
    "df",
    "pvalue",
    "baseline_chisq",
    "baseline_df",
    "baseline_pvalue",
    "cfi",
    "tli",
    "nfi",
    "rmsea",
    "rmsea_ci_lower",
    "rmsea_ci_upper",
    "rmsea_pvalue",
    "srmr",
    "logl",
    "unrestricted_logl",
    "aic",
    "bic",
    "bic2",
)


def baseline_chisq(fit: Fit) -> tuple[float, int]:
    """Chi-square and df of the independence model (uncorrelated items, free variances and means).

    Its ML solution is closed-form: Sigma = diag(S), mu = m, so
    chi-square = sum_g N_g (log|diag S_g| - log|S_g|).
    Equivalent R: ``fitMeasures(fit, c("baseline.chisq", "baseline.df"))``.
    """
    own = getattr(fit, "baseline", None)  # FIML fits carry their own (FIML) baseline
    if own is not None:
        return float(own[0]), int(own[1])
    chisq = 0.0
    for mm in fit.moments:
        sign, ld = np.linalg.slogdet(mm.cov)
        chisq += mm.n * (np.sum(np.log(np.diag(mm.cov))) - ld)
    p = len(fit.partable.observed)
    return float(chisq), int(len(fit.moments) * p * (p - 1) // 2)


def _rmsea_ci(chisq: float, df: int, n: int, groups: int, level: float = 0.90) -> tuple[float, float]:
    """Noncentral chi-square interval for RMSEA (Browne & Cudeck 1993), as lavaan."""
    if df <= 0 or not np.isfinite(chisq):
        return float("nan"), float("nan")
    upper_p = (1 + level) / 2  # 0.95
    lower_p = (1 - level) / 2  # 0.05

    def ncp_for(prob):
        # find lambda with P(X <= chisq | df, lambda) = prob; 0 if not reachable
        f = lambda lam: stats.ncx2.cdf(chisq, df, lam) - prob if lam > 0 else stats.chi2.cdf(chisq, df) - prob
        if f(0.0) < 0:
            return 0.0
        hi = max(chisq, 1.0)
        while f(hi) > 0:
            hi *= 2
        return optimize.brentq(f, 0.0, hi, xtol=1e-12)

    lam_lo = ncp_for(upper_p)
    lam_hi = ncp_for(lower_p)
    scale = np.sqrt(groups)
    return (
        float(np.sqrt(lam_lo / (n * df)) * scale),
        float(np.sqrt(lam_hi / (n * df)) * scale),
    )


def srmr(fit: Fit) -> float:
    """Standardized root mean square residual (lavaan ``srmr``, i.e. ``srmr_bentler``).

    Residuals s_ij - sigma_ij divided by sqrt(s_ii s_jj), over the lower
    triangle with diagonal, plus (m_i - mu_i) / sqrt(s_ii) when the model has
    a mean structure; the square root of their mean, averaged over groups
    weighted by N_g / N.
    """
    total = 0.0
    n = fit.ntotal
    for mm, (sigma, mu) in zip(fit.moments, fit.implied):
        sd = np.sqrt(np.diag(mm.cov))
        res = (mm.cov - sigma) / np.outer(sd, sd)
        idx = np.tril_indices(len(sd))
        sq = list(res[idx] ** 2)
        if fit.partable.meanstructure:
            sq += list(((mm.mean - mu) / sd) ** 2)
        total += mm.n / n * np.sqrt(np.mean(sq))
    return float(total)


def fit_measures(fit: Fit) -> dict:
    """All fit measures of an ML fit, named as in ``lavaan::fitMeasures`` (``_`` for ``.``).

    Parameters
    ----------
    fit : Fit

    Returns
    -------
    dict
        Keys in :data:`FIT_NAMES`.

    Notes
    -----
    Equivalent R: ``lavaan::fitMeasures(fit)``. Chi-square is N F (not
    (N - 1) F); RMSEA uses N, as lavaan 0.6 does for ``likelihood = "normal"``.
    """
    n = fit.ntotal
    groups = len(fit.moments)
    chisq, df = fit.chisq, fit.df
    bchisq, bdf = baseline_chisq(fit)
    out = {
        "npar": fit.npar,
        "ntotal": n,
        "chisq": chisq,
        "df": df,
        "pvalue": float(stats.chi2.sf(chisq, df)) if df > 0 else float("nan"),
        "baseline_chisq": bchisq,
        "baseline_df": bdf,
        "baseline_pvalue": float(stats.chi2.sf(bchisq, bdf)),
    }
    d_model = max(chisq - df, 0.0)
    d_base = max(bchisq - bdf, 0.0)
    denom = max(d_model, d_base)
    out["cfi"] = 1.0 - d_model / denom if denom > 0 else 1.0
    if df > 0 and bdf > 0:
        out["tli"] = float((bchisq / bdf - chisq / df) / (bchisq / bdf - 1.0))
    else:
        out["tli"] = 1.0
    out["nfi"] = float((bchisq - chisq) / bchisq) if bchisq > 0 else float("nan")
    if df > 0:
        out["rmsea"] = float(np.sqrt(max(chisq / (n * df) - 1.0 / n, 0.0)) * np.sqrt(groups))
        lo, hi = _rmsea_ci(chisq, df, n, groups)
        out["rmsea_ci_lower"], out["rmsea_ci_upper"] = lo, hi
        ncp0 = n * df * 0.05**2 / groups
        out["rmsea_pvalue"] = float(stats.ncx2.sf(chisq, df, ncp0))
    else:
        out["rmsea"] = 0.0
        out["rmsea_ci_lower"] = out["rmsea_ci_upper"] = out["rmsea_pvalue"] = float("nan")
    out["srmr"] = srmr(fit)
    out["logl"] = fit.logl
    out["unrestricted_logl"] = fit.unrestricted_logl
    out["aic"] = -2.0 * fit.logl + 2.0 * fit.npar
    out["bic"] = -2.0 * fit.logl + np.log(n) * fit.npar
    out["bic2"] = -2.0 * fit.logl + np.log((n + 2.0) / 24.0) * fit.npar
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}
