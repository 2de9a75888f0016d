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

import math

import numpy as np

from coscale.stats.estimate import Fit
from coscale.stats.probability import NAN, bisect, chi2_cdf, chi2_sf

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


def rmsea(x2: float, df: float, n: int, groups: int = 1, c_hat: float = 1.0) -> float:
    """lavaan's ``lav_fit_rmsea``: sqrt(max(X2 / (N df) - c / N, 0)) sqrt(G).

    ``c_hat`` is 1 for the ordinary RMSEA and the scaling factor for the
    robust one (Brosseau-Liard, Savalei & Li 2012; Savalei 2018). 0 when
    df = 0, as lavaan.
    """
    if not (math.isfinite(x2) and math.isfinite(df)):
        return NAN
    if df <= 0:
        return 0.0
    if not math.isfinite(c_hat):
        return NAN
    return float(math.sqrt(max(x2 / n / df - c_hat / n, 0.0)) * math.sqrt(groups))


def rmsea_ci(x2: float, df: float, n: int, groups: int = 1, c_hat: float = 1.0, level: float = 0.90):
    """RMSEA interval as lavaan's ``lav_fit_rmsea_ci`` (Browne & Cudeck 1993).

    The noncentrality bounds lambda solve P(chi2_df(lambda) <= X2) = 0.95 and
    0.05 (0 when out of reach; the upper search stops at max(N, 4 X2)); the
    bounds are sqrt(c lambda / (N df)) sqrt(G). For the robust interval X2 is
    the scaled statistic and c the scaling factor (Savalei 2018); for the
    scaled interval df is tr(U Gamma), not an integer.
    """
    if not (math.isfinite(x2) and math.isfinite(df) and math.isfinite(n)):
        return NAN, NAN
    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2
    lo_f = lambda lam: chi2_cdf(x2, df, lam) - upper_p  # noqa: E731
    hi_f = lambda lam: chi2_cdf(x2, df, lam) - lower_p  # noqa: E731
    scale = math.sqrt(groups) if groups > 1 else 1.0
    if df < 1 or lo_f(0.0) < 0.0:
        lower = 0.0
    else:
        lower = float(math.sqrt(c_hat * bisect(lo_f, 0.0, max(x2, 1e-8)) / (n * df)) * scale)
    top = max(n, x2 * 4)
    if df < 1 or hi_f(top) > 0 or hi_f(0.0) < 0:
        upper = 0.0
    else:
        upper = float(math.sqrt(c_hat * bisect(hi_f, 0.0, top) / (n * df)) * scale)
    return lower, upper


def chisq_difference(less, more) -> dict:
    """Plain chi-square difference test of nested fits (``lavaan::lavTestLRT`` for ML).

    ``less`` is the less restricted fit; both need ``chisq`` and ``df``.
    """
    dchi = more.chisq - less.chisq
    ddf = more.df - less.df
    return {"chisq_diff": float(dchi), "df_diff": int(ddf), "pvalue": chi2_sf(dchi, ddf)}


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
        "pvalue": chi2_sf(chisq, df),
        "baseline_chisq": bchisq,
        "baseline_df": bdf,
        "baseline_pvalue": chi2_sf(bchisq, bdf),
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
    out["rmsea"] = rmsea(chisq, df, n, groups)
    if df > 0:
        out["rmsea_ci_lower"], out["rmsea_ci_upper"] = rmsea_ci(chisq, df, n, groups)
        out["rmsea_pvalue"] = 1.0 - chi2_cdf(chisq, df, n * df * 0.05**2 / groups)
    else:
        out["rmsea_ci_lower"] = out["rmsea_ci_upper"] = out["rmsea_pvalue"] = NAN
    out["srmr"] = srmr(fit)
    out["logl"] = fit.logl
    out["unrestricted_logl"] = fit.unrestricted_logl
    out["aic"] = -2.0 * fit.logl + 2.0 * fit.npar
    out["bic"] = -2.0 * fit.logl + np.log(n) * fit.npar
    out["bic2"] = -2.0 * fit.logl + np.log((n + 2.0) / 24.0) * fit.npar
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}
