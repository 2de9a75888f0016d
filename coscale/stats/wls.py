"""Ordinal CFA by lavaan's WLSMV: DWLS on thresholds and polychorics, robust SEs, scaled-shifted test.

``cfa(model, data, ordered = TRUE, estimator = "WLSMV")`` in lavaan 0.6.14 is

* **estimator = "DWLS"** on the sample statistics ``s = (thresholds,
  vech(R) without diagonal)`` of :mod:`coscale.stats.polychoric`::

      F(theta) = sum_k w_k (s_k - sigma_k(theta))^2,   w_k = 1 / NACOV_kk

  (lavaan's ``WLS.VD = 1 / diag(NACOV)``; ``fmin = F / 2`` and the
  standard test statistic is ``chisq = N F``);
* **parameterization = "delta"**: the latent responses y* have unit
  variance, ``Sigma* = Lambda Psi Lambda' + Theta`` with the residual
  variances *fixed* at ``theta_ii = 1 - (Lambda Psi Lambda')_ii``, so only the
  off-diagonal ``sigma*_ij`` are modelled; every item keeps its K - 1
  thresholds free (in one group the model reproduces them exactly);
  intercepts and latent means are 0, scaling factors 1;
* **se = "robust.sem"**: with ``Delta = d sigma / d theta'``,
  ``W = diag(w)``, ``E = Delta' W Delta`` (lavaan's expected information)
  and ``Gamma = NACOV``::

      vcov = E^-1 (Delta' W Gamma W Delta) E^-1 / N

* **test = "scaled.shifted"** (Asparouhov & Muthen 2010; lavaan
  ``lav_test_satorra_bentler``): with ``U = W - W Delta E^-1 Delta' W``,
  ``a = sqrt(df / tr((U Gamma)^2))`` and ``b = df - a tr(U Gamma)``::

      chisq.scaled = a * chisq + b,   df.scaled = df,
      chisq.scaling.factor = 1 / a,   shift parameter = b

  The baseline (independence) model keeps the thresholds and fixes all
  correlations at 0: ``baseline.chisq = N sum_c w_c r_c^2`` and the same
  scaled-shifted correction with ``U = W`` on the correlations only.
* Fit indices (lavaan ``fitMeasures``): CFI, TLI/NNFI, RFI, NFI, PNFI, IFI,
  RNI and RMSEA (with 90% CI and close/not-close p-values) from the standard
  and the scaled-shifted statistics; the ``.robust`` CFI/TLI/RNI/RMSEA of
  Savalei (2021) for categorical data (lavaan ``lav_fit_catml_dwls``): the
  ML discrepancy of the polychoric matrix at the DWLS estimates,
  ``XX3 = N (log|Sigma*| + tr(R Sigma*^-1) - log|R| - p)``, with the
  scaling ``c = tr(M' V M Gamma_c) / df`` (``M = I - Delta_c E^-1 Delta_c'
  W_c``, ``V = 0.5 D'(Sigma*^-1 x Sigma*^-1)D`` on the correlations, ``D``
  the duplication matrix without diagonal), baseline ``XX3_0 = -N log|R|``
  and ``c_0 = tr(Gamma_c) / (p(p-1)/2)``; ``rmsea.robust = sqrt(max(XX3/(N df)
  - c/N, 0))``, ``cfi.robust = 1 - max(XX3 - c df, 0) / max(XX3 - c df,
  XX3_0 - c_0 df_0, 0)``. SRMR is lavaan's ``srmr_bentler_nomean`` on the
  correlations (residual ``r_ij - sigma*_ij``, mean over the p(p+1)/2
  elements of the lower triangle with diagonal); WRMR ``sqrt(chisq / nel)``;
  GFI/AGFI/PGFI from the DWLS weights; Hoelter's CN; McDonald's MFI.

Reliability of ordinal scales (:func:`ordinal_alpha`, :func:`ordinal_omega`):
ordinal alpha is Cronbach's alpha of the polychoric correlation matrix
(Zumbo, Gadermann & Zeisser 2007; Gadermann, Guhn & Zumbo 2012;
``psych::alpha(R)``); ordinal omega is Green & Yang's (2009) categorical
omega, the reliability of the sum of the *observed* item scores implied by
the model, as ``semTools::compRelSEM(fit)`` computes it (``ord.scale = TRUE``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from coscale.stats.estimate import Engine, minimize_scoring, start_values
from coscale.stats.model import ALPHA, LAMBDA, NU, PSI, THETA, MeasurementModel, ParTable, build_partable
from coscale.stats.moments import GroupMoments
from coscale.stats.polychoric import PolychoricResult, bvn_cdf, offdiag_index, polychoric

# ----------------------------------------------------------------- result ----


@dataclass
class OrdinalFit:
    """A WLSMV fit of an ordinal CFA.

    Attributes
    ----------
    model : MeasurementModel
    partable : ParTable
        The structural parameters (loadings, factor (co)variances, residual
        covariances); residual variances are fixed (delta parameterization).
    variables, factors : list of str
    n : int
    x : ndarray
        Free parameters: the structural ones (``partable.free`` order), then
        the thresholds.
    thresholds : ndarray
        Model thresholds, in :attr:`threshold_names` order.
    implied : ndarray
        Model-implied latent-response correlation matrix Sigma* (unit diagonal).
    matrices : dict
        lambda, psi, theta (with the delta-parameterization residual variances).
    vcov : ndarray or None
        Robust (sandwich) covariance matrix of ``x``.
    estimates : list of dict
        Rows like ``parameterEstimates(fit, standardized = TRUE)``.
    fit_measures : dict
        lavaan's ``fitMeasures`` names with ``_`` for ``.``.
    test : dict
        ``standard`` and ``scaled_shifted`` test details (stat, df, pvalue,
        scaling_factor, shift_parameter, trace_UGamma, trace_UGamma2), and
        the same for the baseline model under ``baseline_*``.
    polychoric : PolychoricResult
    """

    model: MeasurementModel
    partable: ParTable
    variables: list
    factors: list
    n: int
    x: np.ndarray
    thresholds: np.ndarray
    threshold_names: list
    implied: np.ndarray
    matrices: dict
    vcov: np.ndarray | None
    estimates: list
    fit_measures: dict
    test: dict
    polychoric: PolychoricResult
    converged: bool
    iterations: int
    fmin: float
    warnings: list = field(default_factory=list)

    @property
    def correlation(self) -> np.ndarray:
        """The sample polychoric correlation matrix (model variable order)."""
        return self.polychoric.correlation

    def estimate(self, lhs: str, op: str, rhs: str) -> dict:
        for row in self.estimates:
            if row["lhs"] == lhs and row["op"] == op and row["rhs"] == rhs:
                return row
        raise KeyError(f"{lhs} {op} {rhs}")


# ------------------------------------------------------------------ model ----


def _delta_partable(model: MeasurementModel, std_lv: bool) -> ParTable:
    """build_partable with the residual variances fixed (their value is implied: delta parameterization)."""
    pt = build_partable(model, std_lv=std_lv)
    free = pt.free.copy()
    value = pt.value.copy()
    for i in range(len(pt.lhs)):
        if pt.mat[i] == THETA and pt.row[i] == pt.col[i]:
            free[i] = -1
            value[i] = 0.0
    # renumber the remaining free parameters 0..q-1 in table order
    new = np.full(len(free), -1, dtype=int)
    mapping: dict[int, int] = {}
    for i, k in enumerate(free):
        if k >= 0:
            if k not in mapping:
                mapping[k] = len(mapping)
            new[i] = mapping[k]
    return dataclasses.replace(pt, free=new, value=value)


class _DeltaModel:
    """Thresholds + off-diagonal Sigma* of a one-group CFA in the delta parameterization."""

    def __init__(self, pt: ParTable, stats_: PolychoricResult):
        self.pt = pt
        self.p = len(pt.observed)
        self.nth_per = [len(t) for t in stats_.thresholds]
        self.nth = int(sum(self.nth_per))
        self.ri, self.ci = offdiag_index(self.p)
        self.pstar = len(self.ri)
        mom = GroupMoments("", stats_.n, tuple(stats_.variables), np.zeros(self.p), stats_.correlation)
        self.eng = Engine(pt, [mom])
        self.qs = pt.n_free
        self.q = self.qs + self.nth
        self.entries = self.eng.free_entries(0)

    def sigma(self, xs: np.ndarray, mats: dict | None = None):
        mats = mats or self.eng.matrices(xs, 0)
        lam = mats["lambda"]
        common = lam @ mats["psi"] @ lam.T
        off = mats["theta"].copy()
        np.fill_diagonal(off, 0.0)
        sig = common + off
        np.fill_diagonal(sig, 1.0)
        return sig, common, mats

    def implied_stats(self, x: np.ndarray):
        sig, _, mats = self.sigma(x[: self.qs])
        return np.concatenate([x[self.qs :], sig[self.ri, self.ci]]), sig, mats

    def jacobian(self, x: np.ndarray, mats: dict | None = None) -> np.ndarray:
        """Delta = d (thresholds, sigma*_offdiag) / d x'."""
        xs = x[: self.qs]
        mats = mats or self.eng.matrices(xs, 0)
        delta = np.zeros((self.nth + self.pstar, self.q))
        delta[np.arange(self.nth), self.qs + np.arange(self.nth)] = 1.0
        if self.qs:
            dsig, _ = self.eng.jacobian(mats, self.entries, self.qs)
            delta[self.nth :, : self.qs] = dsig[:, self.ri, self.ci].T
        return delta


# ------------------------------------------------------------- estimation ----


def _prepare(model: MeasurementModel, data) -> tuple[PolychoricResult, list]:
    variables = model.observed
    warnings: list[str] = []
    if isinstance(data, PolychoricResult):
        stats_ = data
        if list(stats_.variables) != list(variables):
            stats_ = reorder_polychoric(stats_, variables)
        if stats_.nacov is None:
            raise ValueError("WLSMV needs the NACOV: compute the polychorics with nacov=True")
        return stats_, warnings
    missing = [v for v in variables if v not in data.columns]
    if missing:
        raise ValueError(f"items not in the data: {', '.join(missing)}")
    frame = data[variables].apply(lambda s: s.astype(float))
    keep = ~frame.isna().any(axis=1)
    dropped = int((~keep).sum())
    if dropped:
        warnings.append(f"{dropped} rows with missing item responses were deleted (listwise).")
    stats_ = polychoric(frame[keep], variables, nacov=True)
    return stats_, warnings


def reorder_polychoric(res: PolychoricResult, variables) -> PolychoricResult:
    """The same statistics in another item order (thresholds, R and NACOV permuted)."""
    variables = list(variables)
    idx = [res.variables.index(v) for v in variables]
    nth_per = [len(t) for t in res.thresholds]
    start = np.concatenate([[0], np.cumsum(nth_per)[:-1]]).astype(int)
    th_perm = np.concatenate([np.arange(start[i], start[i] + nth_per[i]) for i in idx]).astype(int)
    p = len(variables)
    old_pos = {}
    ri, ci = offdiag_index(len(res.variables))
    for k, (a, b) in enumerate(zip(ri, ci)):
        old_pos[(a, b)] = k
        old_pos[(b, a)] = k
    nri, nci = offdiag_index(p)
    nth = int(sum(nth_per))
    cor_perm = np.array([nth + old_pos[(idx[a], idx[b])] for a, b in zip(nri, nci)], dtype=int)
    perm = np.concatenate([th_perm, cor_perm]).astype(int)
    nacov = None if res.nacov is None else res.nacov[np.ix_(perm, perm)]
    return dataclasses.replace(
        res,
        variables=variables,
        levels=[res.levels[i] for i in idx],
        thresholds=[res.thresholds[i] for i in idx],
        correlation=res.correlation[np.ix_(idx, idx)],
        nacov=nacov,
        counts=[res.counts[i] for i in idx],
    )


def fit_wlsmv(model: MeasurementModel, data, *, std_lv: bool = False, max_iter: int = 500) -> OrdinalFit:
    """Fit a one-group CFA to ordinal items by WLSMV (lavaan's categorical default).

    Parameters
    ----------
    model : MeasurementModel
    data : pandas.DataFrame or PolychoricResult
        Item responses (rows with a missing item are deleted, listwise), or
        precomputed statistics from :func:`coscale.stats.polychoric.polychoric`
        (with ``nacov=True``).
    std_lv : bool
        Identify factors by unit variances instead of marker loadings.

    Returns
    -------
    OrdinalFit

    Notes
    -----
    Equivalent R: ``lavaan::cfa(model, data, ordered = TRUE, estimator =
    "WLSMV", std.lv = std_lv)`` (``parameterization = "delta"``).
    """
    stats_, warnings = _prepare(model, data)
    warnings = warnings + list(stats_.warnings)
    pt = _delta_partable(model, std_lv)
    dm = _DeltaModel(pt, stats_)
    n = stats_.n
    s = stats_.wls_obs
    gamma = stats_.nacov
    dg = np.diag(gamma).copy()
    if np.any(dg <= 0) or not np.all(np.isfinite(dg)):
        raise ValueError("the asymptotic variances of the sample statistics are not all positive")
    w = 1.0 / dg

    def evaluate(x, need="f"):
        sig_vec, _, mats = dm.implied_stats(x)
        e = s - sig_vec
        f = float(np.sum(w * e * e))
        if need == "f":
            return f
        delta = dm.jacobian(x, mats)
        wd = delta * w[:, None]
        grad = -2.0 * wd.T @ e
        info = delta.T @ wd
        return f, grad, info

    x0 = np.concatenate([start_values(pt, dm.eng.moments)[: dm.qs], stats_.threshold_vector])
    x, f, info, converged, iterations = minimize_scoring(evaluate, x0, max_iter=max_iter)
    if not converged:
        warnings.append(
            "The model did not converge: the estimates do not minimise the DWLS discrepancy. "
            "Check for items with almost no spread, factors with only two items, or too few respondents."
        )
    sig_vec, sigma_star, mats = dm.implied_stats(x)
    delta = dm.jacobian(x, mats)
    e = s - sig_vec
    wd = delta * w[:, None]
    e_mat = delta.T @ wd
    e_inv = None
    vcov = None
    try:
        if np.linalg.cond(e_mat) < 1e12:
            e_inv = np.linalg.inv(e_mat)
    except np.linalg.LinAlgError:
        e_inv = None
    if e_inv is None:
        warnings.append(
            "The information matrix is singular: the model may not be identified, so standard errors "
            "and the scaled test are not available."
        )
    else:
        meat = wd.T @ gamma @ wd
        vcov = e_inv @ meat @ e_inv / (n - 1)
    chisq = (n - 1) * f
    nstat = dm.nth + dm.pstar
    df = nstat - dm.q
    test = _tests(chisq, df, n, w, gamma, delta, e_inv, dm.nth)
    mats = dict(mats)
    theta = mats["theta"].copy()
    common = mats["lambda"] @ mats["psi"] @ mats["lambda"].T
    np.fill_diagonal(theta, 1.0 - np.diag(common))
    mats["theta"] = theta
    _admissibility(pt, mats, warnings)
    tnames = stats_.threshold_names
    est_rows = _estimate_rows(pt, x, vcov, mats, sigma_star, dm, tnames)
    fm = _fit_measures(
        chisq=chisq, df=df, n=n, npar=dm.q, fmin=0.5 * (n - 1) / n * f, test=test, s=s, sig_vec=sig_vec, w=w,
        gamma=gamma, delta=delta, e_inv=e_inv, nth=dm.nth, r=stats_.correlation, sigma_star=sigma_star,
        qs=dm.qs,
    )
    return OrdinalFit(
        model=model, partable=pt, variables=list(pt.observed), factors=list(pt.factors), n=int(n), x=x,
        thresholds=x[dm.qs :].copy(), threshold_names=tnames, implied=sigma_star, matrices=mats, vcov=vcov,
        estimates=est_rows, fit_measures=fm, test=test, polychoric=stats_, converged=bool(converged),
        iterations=int(iterations), fmin=float(0.5 * (n - 1) / n * f), warnings=warnings,
    )


def _admissibility(pt: ParTable, mats: dict, warnings: list) -> None:
    neg = [pt.observed[i] for i in range(len(pt.observed)) if mats["theta"][i, i] < 0]
    if neg:
        warnings.append(
            f"Heywood case: negative residual variance of the latent response for {', '.join(neg)} "
            "(standardized loading above 1). The item may be nearly redundant with another; "
            "consider dropping or merging items."
        )
    psi = mats["psi"]
    if np.any(np.diag(psi) < 0):
        bad = [pt.factors[i] for i in range(len(pt.factors)) if psi[i, i] < 0]
        warnings.append(f"Negative factor variance for {', '.join(bad)}: the model is not admissible.")
    elif len(psi) > 1 and np.linalg.eigvalsh(psi).min() <= 0:
        warnings.append(
            "The factor covariance matrix is not positive definite (a factor correlation at or beyond 1): "
            "two scales may measure the same construct."
        )


# ------------------------------------------------------------------ tests ----


def _ug_traces(u: np.ndarray, gamma: np.ndarray) -> tuple[float, float]:
    ug = u @ gamma
    return float(np.trace(ug)), float(np.sum(ug * ug.T))


def scaled_shifted(chisq: float, df: int, trace_ug: float, trace_ug2: float) -> dict:
    """Mean-and-variance adjusted ("scaled.shifted") statistic (Asparouhov & Muthen 2010; lavaan).

    ``a = sqrt(df / tr((U Gamma)^2))``, ``b = df - a tr(U Gamma)``, ``T = a chisq + b``.
    """
    if df <= 0 or not np.isfinite(trace_ug2) or trace_ug2 <= 0:
        return {"stat": float("nan"), "df": df, "pvalue": float("nan"), "scaling_factor": float("nan"),
                "shift_parameter": float("nan"), "trace_UGamma": trace_ug, "trace_UGamma2": trace_ug2}
    a = np.sqrt(df / trace_ug2)
    b = df - a * trace_ug
    stat = chisq * a + b
    return {
        "stat": float(stat), "df": df, "pvalue": float(_chi2_sf(stat, df)),
        "scaling_factor": float(1.0 / a), "shift_parameter": float(b),
        "trace_UGamma": float(trace_ug), "trace_UGamma2": float(trace_ug2),
    }


def _tests(chisq, df, n, w, gamma, delta, e_inv, nth) -> dict:
    out = {"standard": {"stat": float(chisq), "df": int(df),
                        "pvalue": float(_chi2_sf(chisq, df)) if df > 0 else float("nan")}}
    if e_inv is not None:
        wd = delta * w[:, None]
        u = np.diag(w) - wd @ e_inv @ wd.T
        tr1, tr2 = _ug_traces(u, gamma)
        out["scaled_shifted"] = scaled_shifted(chisq, df, tr1, tr2)
    else:
        out["scaled_shifted"] = scaled_shifted(chisq, df, float("nan"), float("nan"))
    return out


# ----------------------------------------------------------- fit measures ----

# scipy.special rather than scipy.stats / scipy.optimize: the same functions
# (cdflib), and a command-line run saves about a second of imports.


def _chi2_sf(x, df) -> float:
    return float(special.chdtrc(df, x))


def _root(f, lo: float, hi: float, tol: float = 1e-12) -> float:
    """Root of a monotone function bracketed by [lo, hi], by bisection."""
    flo = f(lo)
    for _ in range(200):
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


def _rmsea(x2, df, n, c_hat=1.0):
    if df <= 0 or not np.isfinite(x2):
        return 0.0 if df == 0 else float("nan")
    return float(np.sqrt(max(x2 / n / df - c_hat / n, 0.0)))


def _rmsea_ci(x2, df, n, c_hat=1.0, level=0.90):
    """lavaan's ``lav_fit_rmsea_ci`` (Browne & Cudeck 1993), optionally with a robust c-hat."""
    if not (np.isfinite(x2) and np.isfinite(df)) or df < 1:
        return (0.0, 0.0) if np.isfinite(x2) else (float("nan"), float("nan"))
    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2

    def cdf(lam):
        return float(special.chndtr(x2, df, lam)) if lam > 0 else float(special.chdtr(df, x2))

    if cdf(0.0) - upper_p < 0:
        lo = 0.0
    else:
        lam = _root(lambda l: cdf(l) - upper_p, 0.0, max(x2, 1e-8))
        lo = float(np.sqrt(c_hat * lam / (n * df)))
    top = max(n, 4 * x2)
    if cdf(top) - lower_p > 0 or cdf(0.0) - lower_p < 0:
        hi = 0.0
    else:
        lam = _root(lambda l: cdf(l) - lower_p, 0.0, top)
        hi = float(np.sqrt(c_hat * lam / (n * df)))
    return lo, hi


def _rmsea_p(x2, df, n, h0, c_hat=1.0, close=True):
    if not np.isfinite(x2) or df <= 0:
        return float("nan")
    ncp = n * df / c_hat * h0**2
    p = float(special.chndtr(x2, df, ncp))
    return float(1 - p if close else p)


def _incremental(prefix: str, x2, df, x2n, dfn, out: dict, c=None, cn=None) -> None:
    robust = c is not None
    if robust and df > 0 and c != 1 and cn != 1:
        t1, t2 = x2 - c * df, x2n - cn * dfn
    else:
        t1, t2 = x2 - df, x2n - dfn
    if any(not np.isfinite(v) for v in (x2, df, x2n, dfn)) or (robust and not (np.isfinite(c) and np.isfinite(cn))):
        keys = ["cfi", "tli", "nnfi", "rni"] + ([] if robust else ["rfi", "nfi", "pnfi", "ifi"])
        for k in keys:
            out[k + prefix] = float("nan")
        return
    a1, a2 = max(t1, 0.0), max(t1, t2, 0.0)
    out["cfi" + prefix] = 1.0 if (np.isclose(a1, 0) and np.isclose(a2, 0)) else float(1 - a1 / a2)
    tt1, tt2 = t1 * dfn, t2 * df
    tli = float(1 - tt1 / tt2) if (df > 0 and abs(tt2) > 0) else 1.0
    out["tli" + prefix] = tli
    out["nnfi" + prefix] = tli
    out["rni" + prefix] = float("nan") if np.isclose(t2, 0) else float(1 - t1 / t2)
    if robust:
        return
    # rfi
    if df > dfn:
        rfi = float("nan")
    elif df > 0 and dfn > 0:
        a, b = x2n / dfn - x2 / df, x2n / dfn
        rfi = 1.0 if (a < 0 or b < 0) else float(a / b)
    else:
        rfi = 1.0
    out["rfi" + prefix] = rfi
    if df > dfn or np.isclose(x2n, 0):
        nfi = float("nan")
    elif df > 0:
        nfi = float((x2n - x2) / x2n)
    else:
        nfi = 1.0
    out["nfi" + prefix] = nfi
    out["pnfi" + prefix] = float((df / dfn) * (x2n - x2) / x2n) if (dfn > 0 and x2n > 0) else float("nan")
    a, b = x2n - x2, x2n - df
    out["ifi" + prefix] = 1.0 if b < 0 else (float("nan") if np.isclose(b, 0) else float(a / b))


def catml_robust(*, r, sigma_star, n, w, gamma, delta, e_inv, nth, qs) -> dict:
    """Ingredients of the ``.robust`` CFI/TLI/RMSEA for categorical data (lavaan ``lav_fit_catml_dwls``).

    Savalei (2021): the normal-theory ML discrepancy of the polychoric matrix
    at the DWLS estimates and a DWLS-based scaling c-hat.
    """
    p = r.shape[0]
    pstar = p * (p - 1) // 2
    nan = {"XX3": np.nan, "df3": np.nan, "c_hat3": np.nan, "XX3_scaled": np.nan,
           "XX3_null": np.nan, "df3_null": np.nan, "c_hat3_null": np.nan}
    if e_inv is None:
        return nan
    if np.linalg.eigvalsh(r).min() < np.sqrt(np.finfo(float).eps):
        return nan  # lavaan: non-positive-definite polychoric matrix -> NA
    try:
        chol = np.linalg.cholesky(sigma_star)
    except np.linalg.LinAlgError:
        return nan
    ld_sig = 2.0 * np.log(np.diag(chol)).sum()
    ld_r = np.linalg.slogdet(r)[1]
    sinv = np.linalg.inv(sigma_star)
    xx3 = n * max(ld_sig + np.sum(r * sinv) - ld_r - p, 0.0)
    df3 = pstar - qs
    ri, ci = offdiag_index(p)
    v = sinv[np.ix_(ri, ri)] * sinv[np.ix_(ci, ci)] + sinv[np.ix_(ri, ci)] * sinv[np.ix_(ci, ri)]
    dc = delta[nth:]
    wc = w[nth:]
    m = np.eye(pstar) - dc @ e_inv @ dc.T * wc[None, :]
    gc = gamma[nth:, nth:]
    ks = float(np.sum((m.T @ v @ m) * gc.T))
    c3 = ks / df3 if df3 > 0 else np.nan
    xx3_null = -n * ld_r
    c3_null = float(np.trace(gc)) / pstar
    return {"XX3": float(xx3), "df3": int(df3), "c_hat3": float(c3), "XX3_scaled": float(xx3 / c3),
            "XX3_null": float(xx3_null), "df3_null": int(pstar), "c_hat3_null": float(c3_null)}


def _fit_measures(*, chisq, df, n, npar, fmin, test, s, sig_vec, w, gamma, delta, e_inv, nth, r, sigma_star, qs):
    p = r.shape[0]
    pstar = p * (p - 1) // 2
    ss = test["scaled_shifted"]
    nl = n - 1  # lavaan's N for (D)WLS: chi-square (N - 1) F, RMSEA etc. with N - 1
    out: dict = {"npar": int(npar), "ntotal": int(n), "fmin": float(fmin), "chisq": float(chisq), "df": int(df),
                 "pvalue": test["standard"]["pvalue"], "chisq_scaled": ss["stat"], "df_scaled": int(df),
                 "pvalue_scaled": ss["pvalue"], "chisq_scaling_factor": ss["scaling_factor"],
                 "chisq_shift_parameters": ss["shift_parameter"]}
    # baseline: thresholds saturated, correlations 0
    rc = s[nth:]
    wc = w[nth:]
    gc = gamma[nth:, nth:]
    x2n = float(nl * np.sum(wc * rc * rc))
    dfn = pstar
    ug = wc[:, None] * gc
    base_ss = scaled_shifted(x2n, dfn, float(np.trace(ug)), float(np.sum(ug * ug.T)))
    test["baseline_standard"] = {"stat": x2n, "df": dfn, "pvalue": float(_chi2_sf(x2n, dfn))}
    test["baseline_scaled_shifted"] = base_ss
    out.update({"baseline_chisq": x2n, "baseline_df": dfn, "baseline_pvalue": float(_chi2_sf(x2n, dfn)),
                "baseline_chisq_scaled": base_ss["stat"], "baseline_df_scaled": dfn,
                "baseline_pvalue_scaled": base_ss["pvalue"],
                "baseline_chisq_scaling_factor": base_ss["scaling_factor"],
                "baseline_chisq_shift_parameters": base_ss["shift_parameter"]})
    robust = catml_robust(r=r, sigma_star=sigma_star, n=n, w=w, gamma=gamma, delta=delta, e_inv=e_inv,
                          nth=nth, qs=qs)
    test["catml"] = robust
    inc: dict = {}
    _incremental("", chisq, df, x2n, dfn, inc)
    _incremental("_scaled", ss["stat"], df, base_ss["stat"], dfn, inc)
    _incremental("_robust", robust["XX3"], df, robust["XX3_null"], dfn, inc,
                 c=robust["c_hat3"], cn=robust["c_hat3_null"])
    for k in ("cfi", "tli", "cfi_scaled", "tli_scaled", "cfi_robust", "tli_robust", "nnfi", "rfi", "nfi", "pnfi",
              "ifi", "rni", "nnfi_scaled", "rfi_scaled", "nfi_scaled", "pnfi_scaled", "ifi_scaled", "rni_scaled",
              "nnfi_robust", "rni_robust"):
        out[k] = inc[k]
    # RMSEA
    out["rmsea"] = _rmsea(chisq, df, nl)
    out["rmsea_ci_lower"], out["rmsea_ci_upper"] = _rmsea_ci(chisq, df, nl)
    out["rmsea_ci_level"] = 0.90
    out["rmsea_pvalue"] = _rmsea_p(chisq, df, nl, 0.05)
    out["rmsea_close_h0"] = 0.05
    out["rmsea_notclose_pvalue"] = _rmsea_p(chisq, df, nl, 0.08, close=False)
    out["rmsea_notclose_h0"] = 0.08
    x2s = ss["stat"]
    out["rmsea_scaled"] = _rmsea(x2s, df, nl)
    out["rmsea_ci_lower_scaled"], out["rmsea_ci_upper_scaled"] = _rmsea_ci(x2s, df, nl)
    out["rmsea_pvalue_scaled"] = _rmsea_p(x2s, df, nl, 0.05)
    out["rmsea_notclose_pvalue_scaled"] = _rmsea_p(x2s, df, nl, 0.08, close=False)
    c3 = robust["c_hat3"]
    df3 = robust["df3"]
    out["rmsea_robust"] = _rmsea(robust["XX3"], df3, nl, c_hat=c3) if np.isfinite(c3) else float("nan")
    if np.isfinite(c3):
        out["rmsea_ci_lower_robust"], out["rmsea_ci_upper_robust"] = _rmsea_ci(robust["XX3_scaled"], df3, nl, c_hat=c3)
        out["rmsea_pvalue_robust"] = _rmsea_p(robust["XX3_scaled"], df3, nl, 0.05, c_hat=c3)
        out["rmsea_notclose_pvalue_robust"] = _rmsea_p(robust["XX3_scaled"], df3, nl, 0.08, c_hat=c3, close=False)
    else:
        for k in ("rmsea_ci_lower_robust", "rmsea_ci_upper_robust", "rmsea_pvalue_robust",
                  "rmsea_notclose_pvalue_robust"):
            out[k] = float("nan")
    # residual-based indices on the correlation metric (thresholds count as the 'mean' part)
    res_c = s[nth:] - sig_vec[nth:]
    res_t = s[:nth] - sig_vec[:nth]
    ss_c = float(np.sum(res_c**2))
    ss_t = float(np.sum(res_t**2))
    e_nomean = p * (p + 1) / 2
    out["rmr"] = float(np.sqrt((ss_c + ss_t) / (e_nomean + nth)))
    out["rmr_nomean"] = float(np.sqrt(ss_c / e_nomean))
    out["srmr"] = out["rmr_nomean"]
    out["srmr_bentler"] = out["rmr"]
    out["srmr_bentler_nomean"] = out["rmr_nomean"]
    out["crmr"] = float(np.sqrt((ss_c + ss_t) / (pstar + nth))) if pstar + nth > 0 else float("nan")
    out["crmr_nomean"] = float(np.sqrt(ss_c / pstar)) if pstar > 0 else float("nan")
    # other indices
    nel = len(s)
    out["cn_05"] = float(special.chdtri(df, 0.05) / (chisq / nl) + 1) if df > 0 else float("nan")
    out["cn_01"] = float(special.chdtri(df, 0.01) / (chisq / nl) + 1) if df > 0 else float("nan")
    e = s - sig_vec
    gfi = float(1 - np.sum(w * e * e) / np.sum(w * s * s))
    out["gfi"] = gfi
    out["agfi"] = float(1 - (nel / df) * (1 - gfi)) if df > 0 else 1.0
    out["pgfi"] = float((df / nel) * gfi) if nel > 0 else float("nan")
    out["mfi"] = float(np.exp(-0.5 * (chisq - df) / nl))
    out["wrmr"] = float(np.sqrt(chisq / nel)) if nel > 0 else float("nan")
    return out


# -------------------------------------------------------------- estimates ----


def _estimate_rows(pt: ParTable, x, vcov, mats, sigma_star, dm: _DeltaModel, tnames) -> list[dict]:
    """lavaan-like rows: =~, |, ~~ (residual and latent), ~*~, ~1 (parameterEstimates order)."""
    qs = dm.qs
    se_all = np.full(len(x), np.nan)
    if vcov is not None:
        d = np.diag(vcov).copy()
        d[d < 0] = np.nan
        se_all = np.sqrt(d)
    lam, psi, theta = mats["lambda"], mats["psi"], mats["theta"]
    sd_f = np.sqrt(np.clip(np.diag(psi), 0, None))
    sd_x = np.sqrt(np.clip(np.diag(sigma_star), 0, None))
    rows: list[dict] = []

    def add(lhs, op, rhs, est, se, free, std_lv, std_all, label=""):
        z = est / se if free and np.isfinite(se) and se > 0 else np.nan
        pval = 2 * special.ndtr(-abs(z)) if np.isfinite(z) else np.nan
        rows.append({"lhs": lhs, "op": op, "rhs": rhs, "group": "", "est": float(est),
                     "se": float(se) if free else 0.0, "z": float(z), "pvalue": float(pval),
                     "std_lv": float(std_lv), "std_all": float(std_all), "free": bool(free), "label": label})

    vals = pt.value.copy()
    mask = pt.free >= 0
    vals[mask] = x[pt.free[mask]]
    order = {m: [i for i in range(len(pt.lhs)) if pt.mat[i] == m] for m in (LAMBDA, THETA, PSI)}
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in order[LAMBDA]:
            r_, c_ = pt.row[i], pt.col[i]
            free = pt.free[i] >= 0
            se = se_all[pt.free[i]] if free else 0.0
            add(pt.lhs[i], "=~", pt.rhs[i], vals[i], se, free, vals[i] * sd_f[c_], vals[i] * sd_f[c_] / sd_x[r_])
        k = 0
        for v_i, v in enumerate(pt.observed):
            for t in range(dm.nth_per[v_i]):
                est = x[qs + k]
                add(v, "|", f"t{t + 1}", est, se_all[qs + k], True, est, est / sd_x[v_i])
                k += 1
        for i in order[THETA]:
            r_, c_ = pt.row[i], pt.col[i]
            if r_ == c_:
                est = theta[r_, r_]
                add(pt.lhs[i], "~~", pt.rhs[i], est, 0.0, False, est, est / sd_x[r_] ** 2)
            else:
                free = pt.free[i] >= 0
                est = vals[i]
                se = se_all[pt.free[i]] if free else 0.0
                std = est / np.sqrt(abs(theta[r_, r_]) * abs(theta[c_, c_]))
                add(pt.lhs[i], "~~", pt.rhs[i], est, se, free, est, std)
        for i in order[PSI]:
            r_, c_ = pt.row[i], pt.col[i]
            free = pt.free[i] >= 0
            se = se_all[pt.free[i]] if free else 0.0
            std = vals[i] / (sd_f[r_] * sd_f[c_])
            add(pt.lhs[i], "~~", pt.rhs[i], vals[i], se, free, std, std)
    for v in pt.observed:
        add(v, "~*~", v, 1.0, 0.0, False, 1.0, 1.0)
    for v in pt.observed:
        add(v, "~1", "", 0.0, 0.0, False, 0.0, 0.0)
    for f in pt.factors:
        add(f, "~1", "", 0.0, 0.0, False, 0.0, 0.0)
    return rows


# ------------------------------------------------------------ reliability ----


def ordinal_alpha(correlation) -> float:
    """Ordinal alpha: Cronbach's alpha of a polychoric correlation matrix.

    ``alpha = k / (k - 1) (1 - k / sum(R))`` (Zumbo, Gadermann & Zeisser
    2007; Gadermann, Guhn & Zumbo 2012). Equivalent R:
    ``psych::alpha(lavCor(data[items], ordered = TRUE))$total$raw_alpha``.
    """
    r = np.asarray(correlation, dtype=float)
    k = r.shape[0]
    if k < 2:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(r) / r.sum()))


def _sum_bvn(t1: np.ndarray, t2: np.ndarray, r: float) -> float:
    return float(bvn_cdf(t1[:, None], t2[None, :], r).sum())


def categorical_omega(thresholds: list, true_cov: np.ndarray, total_cor: np.ndarray) -> float:
    """Green & Yang's (2009) reliability of the sum of ordinal item scores.

    For items j, j' with thresholds tau_j. (probit scale)::

        omega = sum_jj' [sum_cc' Phi2(tau_jc, tau_j'c'; T_jj') - sum_c Phi(tau_jc) sum_c' Phi(tau_j'c')]
              / sum_jj' [sum_cc' Phi2(tau_jc, tau_j'c'; R_jj') - sum_c Phi(tau_jc) sum_c' Phi(tau_j'c')]

    with ``T = lambda lambda' psi`` the common (true-score) part of the
    latent-response covariances and ``R`` their total correlations (semTools
    ``omegaCat``; ``R_jj = 1``).
    """
    k = len(thresholds)
    num = den = 0.0
    sums = [float(special.ndtr(np.asarray(t, dtype=float)).sum()) for t in thresholds]
    for j in range(k):
        tj = np.asarray(thresholds[j], float)
        for jp in range(k):
            tjp = np.asarray(thresholds[jp], float)
            prod = sums[j] * sums[jp]
            num += _sum_bvn(tj, tjp, true_cov[j, jp]) - prod
            den += _sum_bvn(tj, tjp, total_cor[j, jp]) - prod
    return float(num / den)


def ordinal_omega(fit: OrdinalFit, *, ord_scale: bool = True) -> dict:
    """Omega of every factor of an ordinal fit, as ``semTools::compRelSEM(fit)``.

    ``ord_scale=True`` (semTools' default): Green & Yang's (2009) categorical
    omega, the reliability of the observed sum score. ``ord_scale=False``:
    omega of the latent responses, ``sum(lambda lambda' psi) / sum(R)``
    (``compRelSEM(fit, ord.scale = FALSE)``). The total is the sample
    polychoric matrix (semTools' ``obs.var = TRUE``); factors with a single
    item are skipped (``dropSingle``).
    """
    lam, psi = fit.matrices["lambda"], fit.matrices["psi"]
    r = fit.polychoric.correlation
    out = {}
    th_per = [len(t) for t in fit.polychoric.thresholds]
    start = np.concatenate([[0], np.cumsum(th_per)[:-1]]).astype(int)
    for f_i, f in enumerate(fit.factors):
        items = np.flatnonzero(lam[:, f_i] != 0)
        if len(items) < 2:
            continue
        lf = lam[items, f_i][:, None]
        common = lf @ lf.T * psi[f_i, f_i]
        total = r[np.ix_(items, items)]
        if ord_scale:
            ths = [fit.thresholds[start[i] : start[i] + th_per[i]] for i in items]
            out[f] = categorical_omega(ths, common, total)
        else:
            out[f] = float(common.sum() / total.sum())
    return out
