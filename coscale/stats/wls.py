"""Ordinal CFA by lavaan's WLSMV: DWLS on thresholds and polychorics, robust SEs, scaled-shifted test.

``cfa(model, data, ordered = TRUE, estimator = "WLSMV")`` in lavaan 0.6.14 is

* **estimator = "DWLS"** on the sample statistics ``s = (thresholds,
  vech(R) without diagonal)`` of :mod:`coscale.stats.polychoric`::

      F(theta) = sum_k w_k (s_k - sigma_k(theta))^2,   w_k = 1 / NACOV_kk

  (lavaan's ``WLS.VD = 1 / diag(NACOV)``). lavaan scales the (D)WLS
  discrepancy by ``(N - 1) / N``: the standard test statistic is
  ``chisq = (N - 1) F``, ``fmin = (N - 1) F / (2N)``, and every fit index
  that needs a sample size uses ``N - 1`` (``N - G`` with G groups);
* **parameterization = "delta"**: the latent responses y* have unit
  variance, ``Sigma* = Lambda Psi Lambda' + Theta`` with the residual
  variances *fixed* at ``theta_ii = 1 - (Lambda Psi Lambda')_ii``, so only the
  off-diagonal ``sigma*_ij`` are modelled; every item keeps its K - 1
  thresholds free (in one group the model reproduces them exactly);
  intercepts and latent means are 0, scaling factors 1;
* **se = "robust.sem"**: with ``Delta = d sigma / d theta'``,
  ``W = diag(w)``, ``E = Delta' W Delta`` (lavaan's expected information)
  and ``Gamma = NACOV``::

      vcov = E^-1 (Delta' W Gamma W Delta) E^-1 / (N - 1)

* **test = "scaled.shifted"** (Asparouhov & Muthen 2010; lavaan
  ``lav_test_satorra_bentler``): with ``U = W - W Delta E^-1 Delta' W``,
  ``a = sqrt(df / tr((U Gamma)^2))`` and ``b = df - a tr(U Gamma)``::

      chisq.scaled = a * chisq + b,   df.scaled = df,
      chisq.scaling.factor = 1 / a,   shift parameter = b

  The baseline (independence) model keeps the thresholds and fixes all
  correlations at 0: ``baseline.chisq = (N - 1) sum_c w_c r_c^2`` and the same
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
  and ``c_0 = tr(Gamma_c) / (p(p-1)/2)`` (these two use N: they are ML
  statistics); ``rmsea.robust = sqrt(max(XX3/((N-1) df) - c/(N-1), 0))``, ``cfi.robust = 1 - max(XX3 - c df, 0) / max(XX3 - c df,
  XX3_0 - c_0 df_0, 0)``. SRMR is lavaan's ``srmr_bentler_nomean`` on the
  correlations (residual ``r_ij - sigma*_ij``, mean over the p(p+1)/2
  elements of the lower triangle with diagonal); WRMR ``sqrt(chisq / nel)``;
  GFI/AGFI/PGFI from the DWLS weights; Hoelter's CN; McDonald's MFI.

Multi-group invariance (:func:`fit_wlsmv_groups`, :func:`invariance_ladder`,
:func:`scaled_difference_test`): the Wu & Estabrook (2016) ladder configural
-> thresholds -> loadings -> intercepts with the identification of
``semTools::measEq.syntax(ID.cat = "Wu.Estabrook.2016", ID.fac = "std.lv",
parameterization = "delta")``; per group ``Sigma*_ij = d_i d_j (Lambda Psi
Lambda' + Theta)_ij`` and ``tau*_jk = d_j (tau_jk - nu_j - (Lambda alpha)_j)``
with scaling factors ``d`` (lavaan ``~*~``); groups combined as lavaan does
(``chisq = sum_g (N_g - 1) F_g``, information and Gamma weighted by
``N_g / N``, SEs divided by ``N - G``); nested steps compared by the
scaled-shifted difference test of Satorra (2000) (``lavTestLRT``,
``A.method = "delta"``).

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

from coscale.stats.fit import rmsea, rmsea_ci

from coscale.stats.estimate import Engine, admissibility_warnings, minimize_scoring, start_values
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
        scaling_factor, shift_parameter, trace_UGamma, trace_UGamma2), the
        same for the baseline model under ``baseline_*``, and ``catml``: the
        ingredients of the ``.robust`` indices (lavaan ``lav_fit_catml_dwls``).
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
    x, f, _, converged, iterations = minimize_scoring(evaluate, x0, max_iter=max_iter)
    if not converged:
        warnings.append(
            "The model did not converge: the estimates do not minimise the DWLS discrepancy. "
            "Check for items with almost no spread, factors with only two items, or too few respondents."
        )
    sig_vec, sigma_star, mats = dm.implied_stats(x)
    delta = dm.jacobian(x, mats)
    wd = delta * w[:, None]
    e_mat = delta.T @ wd
    e_inv, vcov = _sandwich(e_mat, wd.T @ gamma @ wd, n - 1, warnings)
    chisq = (n - 1) * f
    nstat = dm.nth + dm.pstar
    df = nstat - dm.q
    parts = [_GroupPart(n=n, s=s, sig_vec=sig_vec, w=w, gamma=gamma, delta=delta, nth=dm.nth,
                        r=stats_.correlation, sigma_star=sigma_star)]
    test = _tests(parts, chisq, df, e_inv)
    mats = dict(mats)
    theta = mats["theta"].copy()
    common = mats["lambda"] @ mats["psi"] @ mats["lambda"].T
    np.fill_diagonal(theta, 1.0 - np.diag(common))
    mats["theta"] = theta
    warnings += admissibility_warnings(pt, mats, latent_responses=True)
    tnames = stats_.threshold_names
    est_rows = _estimate_rows(pt, x, vcov, mats, sigma_star, dm, tnames)
    fm = _fit_measures(parts, chisq=chisq, df=df, npar=dm.q, fmin=0.5 * (n - 1) / n * f, test=test,
                       e_inv=e_inv, q_cor=dm.qs)
    return OrdinalFit(
        model=model, partable=pt, variables=list(pt.observed), factors=list(pt.factors), n=int(n), x=x,
        thresholds=x[dm.qs :].copy(), threshold_names=tnames, implied=sigma_star, matrices=mats, vcov=vcov,
        estimates=est_rows, fit_measures=fm, test=test, polychoric=stats_, converged=bool(converged),
        iterations=int(iterations), fmin=float(0.5 * (n - 1) / n * f), warnings=warnings,
    )


def _sandwich(e_mat: np.ndarray, meat: np.ndarray, n_eff: float, warnings: list):
    """Robust covariance E^-1 (Delta' W Gamma W Delta) E^-1 / n_eff (lavaan ``se = "robust.sem"``).

    Returns ``(E^-1, vcov)``, both ``None`` (with a warning) when E is singular.
    """
    try:
        e_inv = np.linalg.inv(e_mat) if np.linalg.cond(e_mat) < 1e12 else None
    except np.linalg.LinAlgError:
        e_inv = None
    if e_inv is None:
        warnings.append(
            "The information matrix is singular: the model may not be identified, so standard errors "
            "and the scaled test are not available."
        )
        return None, None
    return e_inv, e_inv @ meat @ e_inv / n_eff


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


@dataclass
class _GroupPart:
    """One group's ingredients of the tests and fit measures."""

    n: int
    s: np.ndarray  # sample statistics (thresholds, then correlations)
    sig_vec: np.ndarray  # model-implied statistics
    w: np.ndarray  # DWLS weights 1 / diag(NACOV)
    gamma: np.ndarray  # NACOV
    delta: np.ndarray  # d sig_vec / d x'  (all free parameters)
    nth: int
    r: np.ndarray  # sample polychoric matrix
    sigma_star: np.ndarray  # implied latent-response correlation matrix


def _tests(parts: list, chisq: float, df: int, e_inv) -> dict:
    """Standard and scaled-shifted tests (lavaan ``lav_test_satorra_bentler``, stacked groups).

    With ``f_g = N_g / N``: ``V = bdiag(f_g W_g)``, ``Gamma = bdiag(NACOV_g / f_g)``,
    ``Delta`` the stacked Jacobians and ``E = Delta' V Delta``; ``U = V - V Delta E^-1 Delta' V``.
    """
    out = {"standard": {"stat": float(chisq), "df": int(df),
                        "pvalue": float(_chi2_sf(chisq, df)) if df > 0 else float("nan")}}
    if e_inv is None:
        out["scaled_shifted"] = scaled_shifted(chisq, df, float("nan"), float("nan"))
        return out
    ntotal = sum(pp.n for pp in parts)
    fg = [pp.n / ntotal for pp in parts]
    v = np.concatenate([f * pp.w for f, pp in zip(fg, parts)])
    d = np.vstack([pp.delta for pp in parts])
    vd = d * v[:, None]
    u = np.diag(v) - vd @ e_inv @ vd.T
    ug = np.zeros_like(u)
    start = 0
    for f, pp in zip(fg, parts):
        k = len(pp.s)
        ug[:, start : start + k] = u[:, start : start + k] @ (pp.gamma / f)
        start += k
    out["scaled_shifted"] = scaled_shifted(chisq, df, float(np.trace(ug)), float(np.sum(ug * ug.T)))
    return out


# ----------------------------------------------------------- fit measures ----

# scipy.special rather than scipy.stats / scipy.optimize: the same functions
# (cdflib), and a command-line run saves about a second of imports.


def _chi2_sf(x, df) -> float:
    return float(special.chdtrc(df, x))


def _rmsea(x2, df, n, c_hat=1.0, groups=1):
    return rmsea(x2, df, n, groups, c_hat) if np.isfinite(x2) or df == 0 else float("nan")


def _rmsea_ci(x2, df, n, c_hat=1.0, groups=1, level=0.90):
    """lavaan's ``lav_fit_rmsea_ci`` (:func:`coscale.stats.fit.rmsea_ci`), 0 bounds for df < 1."""
    if not np.isfinite(x2):
        return float("nan"), float("nan")
    if not np.isfinite(df) or df < 1:
        return 0.0, 0.0
    return rmsea_ci(x2, df, n, groups, c_hat, level)


def _rmsea_p(x2, df, n, h0, c_hat=1.0, groups=1, close=True):
    if not np.isfinite(x2) or df <= 0:
        return float("nan")
    ncp = n * df / c_hat * h0**2 / groups
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


_NAN_CATML = {"XX3": float("nan"), "df3": float("nan"), "c_hat3": float("nan"), "XX3_scaled": float("nan"),
              "XX3_null": float("nan"), "df3_null": float("nan"), "c_hat3_null": float("nan")}


def catml_robust(parts: list, e_inv, q_cor: int) -> dict:
    """Ingredients of the ``.robust`` CFI/TLI/RMSEA for categorical data (lavaan ``lav_fit_catml_dwls``).

    Savalei (2021): ``XX3 = sum_g N_g F_ML(R_g, Sigma*_g)`` at the DWLS estimates
    (``F_ML = log|Sigma*| + tr(R Sigma*^-1) - log|R| - p``), ``df3 = G p(p-1)/2 - q_cor``
    (``q_cor`` the free parameters of the correlation structure),
    ``c3 = tr(M' V M Gamma_c) / df3`` with ``M = I - Delta_c E^-1 Delta_c' W_c``,
    ``V = bdiag(f_g V_g)``, ``V_g[(ij),(kl)] = s^ik s^jl + s^il s^jk`` (``S^-1 = Sigma*_g^-1``;
    the normal-theory ML weight of the correlations), ``W_c = bdiag(f_g W_g)`` and
    ``Gamma_c = bdiag(NACOV_g / f_g)`` on the correlations; baseline ``XX3_0 = -sum_g N_g log|R_g|``,
    ``c3_0 = tr(Gamma_c) / (G p(p-1)/2)``.
    """
    if e_inv is None:
        return dict(_NAN_CATML)
    ntotal = sum(pp.n for pp in parts)
    xx3 = 0.0
    xx3_null = 0.0
    vs, ws, gs, ds = [], [], [], []
    pstar_total = 0
    for pp in parts:
        r, sig = pp.r, pp.sigma_star
        p = r.shape[0]
        if np.linalg.eigvalsh(r).min() < np.sqrt(np.finfo(float).eps):
            return dict(_NAN_CATML)  # lavaan: non-positive-definite polychoric matrix -> NA
        try:
            chol = np.linalg.cholesky(sig)
        except np.linalg.LinAlgError:
            return dict(_NAN_CATML)
        ld_sig = 2.0 * np.log(np.diag(chol)).sum()
        ld_r = np.linalg.slogdet(r)[1]
        sinv = np.linalg.inv(sig)
        xx3 += pp.n * max(ld_sig + np.sum(r * sinv) - ld_r - p, 0.0)
        xx3_null += -pp.n * ld_r
        ri, ci = offdiag_index(p)
        pstar_total += len(ri)
        f = pp.n / ntotal
        vs.append(f * (sinv[np.ix_(ri, ri)] * sinv[np.ix_(ci, ci)] + sinv[np.ix_(ri, ci)] * sinv[np.ix_(ci, ri)]))
        ws.append(f * pp.w[pp.nth :])
        gs.append(pp.gamma[pp.nth :, pp.nth :] / f)
        ds.append(pp.delta[pp.nth :])
    df3 = pstar_total - q_cor
    v = _bdiag(vs)
    g = _bdiag(gs)
    wc = np.concatenate(ws)
    dc = np.vstack(ds)
    m = np.eye(len(wc)) - dc @ e_inv @ dc.T * wc[None, :]
    ks = float(np.sum((m.T @ v @ m) * g.T))
    c3 = ks / df3 if df3 > 0 else float("nan")
    c3_null = float(np.trace(g)) / pstar_total
    return {"XX3": float(xx3), "df3": int(df3), "c_hat3": float(c3), "XX3_scaled": float(xx3 / c3),
            "XX3_null": float(xx3_null), "df3_null": int(pstar_total), "c_hat3_null": float(c3_null)}


def _bdiag(blocks: list) -> np.ndarray:
    size = sum(b.shape[0] for b in blocks)
    out = np.zeros((size, size))
    k = 0
    for b in blocks:
        out[k : k + b.shape[0], k : k + b.shape[0]] = b
        k += b.shape[0]
    return out


def _fit_measures(parts: list, *, chisq, df, npar, fmin, test, e_inv, q_cor, robust: bool = True) -> dict:
    """lavaan's ``fitMeasures`` for a (multi-group) WLSMV fit (names with ``_`` for ``.``).

    lavaan uses ``N - G`` as the sample size of the (D)WLS fit indices
    (``lav_utils_get_ntotal``); multi-group RMSEA is multiplied by sqrt(G).
    ``robust=False`` gives NaN ``.robust`` indices (lavaan 0.6.14 cannot
    compute them when thresholds or intercepts are constrained).
    """
    groups = len(parts)
    ntotal = sum(pp.n for pp in parts)
    nl = ntotal - groups  # lavaan's N for (D)WLS
    ss = test["scaled_shifted"]
    out: dict = {"npar": int(npar), "ntotal": int(ntotal), "fmin": float(fmin), "chisq": float(chisq),
                 "df": int(df), "pvalue": test["standard"]["pvalue"], "chisq_scaled": ss["stat"],
                 "df_scaled": int(df), "pvalue_scaled": ss["pvalue"], "chisq_scaling_factor": ss["scaling_factor"],
                 "chisq_shift_parameters": ss["shift_parameter"]}
    # baseline: per group, thresholds saturated and correlations 0
    x2n = 0.0
    tr1 = tr2 = 0.0
    dfn = 0
    for pp in parts:
        rc, wc, gc = pp.s[pp.nth :], pp.w[pp.nth :], pp.gamma[pp.nth :, pp.nth :]
        x2n += (pp.n - 1) * float(np.sum(wc * rc * rc))
        ug = wc[:, None] * gc
        tr1 += float(np.trace(ug))
        tr2 += float(np.sum(ug * ug.T))
        dfn += len(rc)
    base_ss = scaled_shifted(x2n, dfn, tr1, tr2)
    test["baseline_standard"] = {"stat": x2n, "df": dfn, "pvalue": _chi2_sf(x2n, dfn)}
    test["baseline_scaled_shifted"] = base_ss
    out.update({"baseline_chisq": x2n, "baseline_df": dfn, "baseline_pvalue": _chi2_sf(x2n, dfn),
                "baseline_chisq_scaled": base_ss["stat"], "baseline_df_scaled": dfn,
                "baseline_pvalue_scaled": base_ss["pvalue"],
                "baseline_chisq_scaling_factor": base_ss["scaling_factor"],
                "baseline_chisq_shift_parameters": base_ss["shift_parameter"]})
    rob = catml_robust(parts, e_inv, q_cor) if robust else dict(_NAN_CATML)
    test["catml"] = rob
    inc: dict = {}
    _incremental("", chisq, df, x2n, dfn, inc)
    _incremental("_scaled", ss["stat"], df, base_ss["stat"], dfn, inc)
    _incremental("_robust", rob["XX3"], df, rob["XX3_null"], dfn, inc, c=rob["c_hat3"], cn=rob["c_hat3_null"])
    for k in ("cfi", "tli", "cfi_scaled", "tli_scaled", "cfi_robust", "tli_robust", "nnfi", "rfi", "nfi", "pnfi",
              "ifi", "rni", "nnfi_scaled", "rfi_scaled", "nfi_scaled", "pnfi_scaled", "ifi_scaled", "rni_scaled",
              "nnfi_robust", "rni_robust"):
        out[k] = inc[k]
    # RMSEA
    out["rmsea"] = _rmsea(chisq, df, nl, groups=groups)
    out["rmsea_ci_lower"], out["rmsea_ci_upper"] = _rmsea_ci(chisq, df, nl, groups=groups)
    out["rmsea_ci_level"] = 0.90
    out["rmsea_pvalue"] = _rmsea_p(chisq, df, nl, 0.05, groups=groups)
    out["rmsea_close_h0"] = 0.05
    out["rmsea_notclose_pvalue"] = _rmsea_p(chisq, df, nl, 0.08, groups=groups, close=False)
    out["rmsea_notclose_h0"] = 0.08
    x2s = ss["stat"]
    out["rmsea_scaled"] = _rmsea(x2s, df, nl, groups=groups)
    out["rmsea_ci_lower_scaled"], out["rmsea_ci_upper_scaled"] = _rmsea_ci(x2s, df, nl, groups=groups)
    out["rmsea_pvalue_scaled"] = _rmsea_p(x2s, df, nl, 0.05, groups=groups)
    out["rmsea_notclose_pvalue_scaled"] = _rmsea_p(x2s, df, nl, 0.08, groups=groups, close=False)
    c3, df3 = rob["c_hat3"], rob["df3"]
    if np.isfinite(c3):
        out["rmsea_robust"] = _rmsea(rob["XX3"], df3, nl, c_hat=c3, groups=groups)
        out["rmsea_ci_lower_robust"], out["rmsea_ci_upper_robust"] = _rmsea_ci(
            rob["XX3_scaled"], df3, nl, c_hat=c3, groups=groups)
        out["rmsea_pvalue_robust"] = _rmsea_p(rob["XX3_scaled"], df3, nl, 0.05, c_hat=c3, groups=groups)
        out["rmsea_notclose_pvalue_robust"] = _rmsea_p(rob["XX3_scaled"], df3, nl, 0.08, c_hat=c3,
                                                       groups=groups, close=False)
    else:
        for k in ("rmsea_robust", "rmsea_ci_lower_robust", "rmsea_ci_upper_robust", "rmsea_pvalue_robust",
                  "rmsea_notclose_pvalue_robust"):
            out[k] = float("nan")
    # residual-based indices on the correlation metric (thresholds are the 'mean' part), weighted N_g / N
    acc = {"rmr": 0.0, "rmr_nomean": 0.0, "crmr": 0.0, "crmr_nomean": 0.0}
    gfi = 0.0
    for pp in parts:
        p = pp.r.shape[0]
        pstar = p * (p - 1) // 2
        res_c = pp.s[pp.nth :] - pp.sig_vec[pp.nth :]
        res_t = pp.s[: pp.nth] - pp.sig_vec[: pp.nth]
        ss_c, ss_t = float(np.sum(res_c**2)), float(np.sum(res_t**2))
        e_nomean = p * (p + 1) / 2
        f = pp.n / ntotal
        acc["rmr"] += f * np.sqrt((ss_c + ss_t) / (e_nomean + pp.nth))
        acc["rmr_nomean"] += f * np.sqrt(ss_c / e_nomean)
        acc["crmr"] += f * (np.sqrt((ss_c + ss_t) / (pstar + pp.nth)) if pstar + pp.nth > 0 else np.nan)
        acc["crmr_nomean"] += f * (np.sqrt(ss_c / pstar) if pstar > 0 else np.nan)
        e = pp.s - pp.sig_vec
        gfi += f * (1 - np.sum(pp.w * e * e) / np.sum(pp.w * pp.s * pp.s))
    out["rmr"] = float(acc["rmr"])
    out["rmr_nomean"] = float(acc["rmr_nomean"])
    out["srmr"] = out["rmr_nomean"]
    out["srmr_bentler"] = out["rmr"]
    out["srmr_bentler_nomean"] = out["rmr_nomean"]
    out["crmr"] = float(acc["crmr"])
    out["crmr_nomean"] = float(acc["crmr_nomean"])
    nel = sum(len(pp.s) for pp in parts)
    out["cn_05"] = float(special.chdtri(df, 0.05) / (chisq / nl) + 1) if df > 0 else float("nan")
    out["cn_01"] = float(special.chdtri(df, 0.01) / (chisq / nl) + 1) if df > 0 else float("nan")
    out["gfi"] = float(gfi)
    out["agfi"] = float(1 - (nel / df) * (1 - gfi)) if df > 0 else 1.0
    out["pgfi"] = float((df / nel) * gfi) if nel > 0 else float("nan")
    out["mfi"] = float(np.exp(-0.5 * (chisq - df) / nl))
    nel1 = len(parts[0].s)  # lavaan: the first group's statistics only
    out["wrmr"] = float(np.sqrt(chisq / nel1)) if nel1 > 0 else float("nan")
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
    psi, theta = mats["psi"], mats["theta"]
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


# ------------------------------------------------- multi-group invariance ----

#: the Wu & Estabrook (2016) invariance ladder for ordinal items, in order
WE_STEPS = ("configural", "thresholds", "loadings", "intercepts")


@dataclass
class OrdinalGroupFit:
    """A multi-group WLSMV fit with Wu & Estabrook (2016) identification.

    Per-group lists are in :attr:`group_labels` order. ``matrices[g]`` holds
    lambda, psi, theta (residual variances implied by the scaling factors),
    nu, alpha and ``delta`` (the scaling factors, lavaan's ``~*~``).
    ``thresholds[g]`` are the model thresholds tau (lavaan's ``|`` rows).
    """

    model: MeasurementModel
    step: str
    group_equal: tuple
    group_labels: list
    variables: list
    factors: list
    nobs: list
    x: np.ndarray
    vcov: np.ndarray | None
    estimates: list
    fit_measures: dict
    test: dict
    polychoric: list
    implied: list
    matrices: list
    thresholds: list
    converged: bool
    iterations: int
    fmin: float
    partable: ParTable
    jacobians: list = field(default_factory=list)  # per group: d (thresholds, correlations) / d x'
    weights: list = field(default_factory=list)  # per group: DWLS weights 1 / diag(NACOV)
    warnings: list = field(default_factory=list)

    @property
    def chisq(self) -> float:
        return float(self.fit_measures["chisq"])

    @property
    def df(self) -> int:
        return int(self.fit_measures["df"])

    @property
    def ntotal(self) -> int:
        return int(sum(self.nobs))

    def estimate(self, lhs: str, op: str, rhs: str, group) -> dict:
        for row in self.estimates:
            if row["lhs"] == lhs and row["op"] == op and row["rhs"] == rhs and row["group"] == group:
                return row
        raise KeyError(f"{lhs} {op} {rhs} (group {group})")


def _we_flags(group_equal) -> tuple[bool, bool, bool]:
    ge = tuple(group_equal)
    unknown = [k for k in ge if k not in WE_STEPS[1:]]
    if unknown:
        raise ValueError(
            f"group_equal for ordinal items supports {', '.join(WE_STEPS[1:])} (not {', '.join(unknown)})"
        )
    th, lo, inter = "thresholds" in ge, "loadings" in ge, "intercepts" in ge
    if (lo and not th) or (inter and not (th and lo)):
        raise ValueError(
            "the ordinal invariance ladder (Wu & Estabrook 2016) constrains thresholds first, then loadings, "
            "then intercepts: group_equal must be () or start ('thresholds', 'loadings', 'intercepts')"
        )
    return th, lo, inter


class _WEModel:
    """Multi-group delta-parameterization model with Wu & Estabrook identification (std.lv).

    Per group: ``Sigma*_ij = d_i d_j (Lambda Psi Lambda' + Theta)_ij`` (i != j) and
    thresholds ``tau*_jk = d_j (tau_jk - nu_j - (Lambda alpha)_j)``; ``d`` are the
    scaling factors (lavaan ``~*~``). Free parameters (semTools ``measEq.syntax(ID.cat =
    "Wu.Estabrook.2016", ID.fac = "std.lv", parameterization = "delta")``):

    * configural: thresholds and loadings free per group; nu = 0, d = 1,
      alpha = 0, factor variances 1 in every group;
    * thresholds: thresholds equal; nu and d free in groups 2..G;
    * + loadings: loadings equal; factor variances free in groups 2..G;
    * + intercepts: nu equal (0 in every group); latent means free in groups 2..G.
    """

    def __init__(self, model: MeasurementModel, stats_list: list, labels: list, group_equal):
        th_eq, lo_eq, in_eq = _we_flags(group_equal)
        self.th_eq, self.lo_eq, self.in_eq = th_eq, lo_eq, in_eq
        G = len(stats_list)
        base = build_partable(model, n_groups=G, meanstructure=True, std_lv=True, group_labels=labels)
        free = np.full(len(base.lhs), -1, dtype=int)
        value = base.value.copy()
        label = list(base.label)
        keys: dict = {}

        def index(key):
            if key not in keys:
                keys[key] = len(keys)
            return keys[key]

        for i in range(len(base.lhs)):
            g, m, r, c = base.group[i], base.mat[i], base.row[i], base.col[i]
            name = base.name(i)
            if m == LAMBDA:
                free[i] = index(name if lo_eq else (name, g))
                if lo_eq:
                    label[i] = ".eq." + name
            elif m == THETA:
                if r == c:
                    value[i] = 0.0
                else:
                    free[i] = index((name, g))
            elif m == PSI:
                if r == c:
                    if g > 0 and lo_eq:
                        free[i] = index((name, g))
                    else:
                        value[i] = 1.0
                else:
                    free[i] = index((name, g))
            elif m == NU:
                if g > 0 and th_eq and not in_eq:
                    free[i] = index((name, g))
                else:
                    value[i] = 0.0
                    if in_eq:
                        label[i] = ".eq." + name
            elif m == ALPHA:
                if g > 0 and in_eq:
                    free[i] = index((name, g))
                else:
                    value[i] = 0.0
        self.pt = dataclasses.replace(base, free=free, value=value, label=label, group_equal=tuple(group_equal))
        self.qs = len(keys)
        self.structural_cor = len({free[i] for i in range(len(free))
                                   if free[i] >= 0 and base.mat[i] in (LAMBDA, PSI, THETA)})
        self.p = len(base.observed)
        self.G = G
        self.ri, self.ci = offdiag_index(self.p)
        self.pstar = len(self.ri)
        self.nth_per = [len(t) for t in stats_list[0].thresholds]
        self.nth = int(sum(self.nth_per))
        self.th_item = np.repeat(np.arange(self.p), self.nth_per)
        self.th_pos = np.concatenate([np.arange(k) for k in self.nth_per]).astype(int)
        # thresholds, then scaling factors, after the structural parameters
        self.th_index = []
        for g in range(G):
            self.th_index.append(np.array(
                [index(("th", j, t) if th_eq else ("th", j, t, g)) for j, t in zip(self.th_item, self.th_pos)],
                dtype=int))
        self.delta_index = []
        for g in range(G):
            if g > 0 and th_eq:
                self.delta_index.append(np.array([index(("delta", j, g)) for j in range(self.p)], dtype=int))
            else:
                self.delta_index.append(np.full(self.p, -1, dtype=int))
        self.q = len(keys)
        moms = [GroupMoments(lab, st.n, tuple(st.variables), np.zeros(self.p), st.correlation)
                for lab, st in zip(labels, stats_list)]
        self.eng = Engine(self.pt, moms)
        self.entries = [self.eng.free_entries(g) for g in range(G)]

    def scaling(self, x, g) -> np.ndarray:
        idx = self.delta_index[g]
        return np.where(idx >= 0, x[np.maximum(idx, 0)], 1.0)

    def group(self, x: np.ndarray, g: int, jacobian: bool = False):
        """Implied statistics of group g (and their Jacobian)."""
        xs = x[: self.qs]
        mats = self.eng.matrices(xs, g)
        lam, psi = mats["lambda"], mats["psi"]
        common = lam @ psi @ lam.T
        off = mats["theta"].copy()
        np.fill_diagonal(off, 0.0)
        sig = common + off
        d = self.scaling(x, g)
        sstar = sig * np.outer(d, d)
        np.fill_diagonal(sstar, 1.0)
        mu = mats["nu"] + lam @ mats["alpha"]
        tau = x[self.th_index[g]]
        it = self.th_item
        tstar = d[it] * (tau - mu[it])
        vec = np.concatenate([tstar, sstar[self.ri, self.ci]])
        extra = {"mats": mats, "d": d, "tau": tau, "mu": mu, "common": common, "sigma_star": sstar}
        if not jacobian:
            return vec, extra
        nth, ri, ci = self.nth, self.ri, self.ci
        D = np.zeros((nth + self.pstar, self.q))
        if self.qs:
            dsig, dmu = self.eng.jacobian(mats, self.entries[g], self.qs)
            D[nth:, : self.qs] = (dsig[:, ri, ci] * (d[ri] * d[ci])[None, :]).T
            D[:nth, : self.qs] = -(dmu[:, it] * d[it][None, :]).T
        np.add.at(D, (np.arange(nth), self.th_index[g]), d[it])
        didx = self.delta_index[g]
        if (didx >= 0).any():
            rows_c = nth + np.arange(self.pstar)
            np.add.at(D, (rows_c, didx[ri]), d[ci] * sig[ri, ci])
            np.add.at(D, (rows_c, didx[ci]), d[ri] * sig[ri, ci])
            np.add.at(D, (np.arange(nth), didx[it]), tau - mu[it])
        return vec, extra, D


def group_statistics(data, variables, group, group_order=None):
    """Per-group thresholds, polychorics and NACOV: ``(labels, [PolychoricResult], warnings)``.

    Rows with a missing item or group are deleted (listwise); groups in order of first appearance.
    Every item must use the same (at least 3) categories in every group.
    """
    if group not in data.columns:
        raise ValueError(f"grouping column {group!r} not in the data")
    frame = data[list(variables)].apply(lambda s: s.astype(float))
    labels_all = data[group]
    keep = ~frame.isna().any(axis=1) & labels_all.notna()
    warnings = []
    dropped = int((~keep).sum())
    if dropped:
        warnings.append(f"{dropped} rows with a missing item response or group were deleted (listwise).")
    lab = labels_all[keep].astype(str).to_numpy()
    order = list(group_order) if group_order is not None else list(dict.fromkeys(lab))
    stats_list = []
    for g in order:
        sel = frame[keep][lab == g]
        if len(sel) == 0:
            raise ValueError(f"group {g!r} has no complete rows")
        stats_list.append(polychoric(sel, list(variables), nacov=True))
    ref = stats_list[0]
    for g, st in zip(order, stats_list):
        for v, l0, l1 in zip(variables, ref.levels, st.levels):
            if len(l0) != len(l1) or np.any(l0 != l1):
                raise ValueError(
                    f"item {v} does not use the same categories in every group ({g!r}: {list(l1)}, "
                    f"{order[0]!r}: {list(l0)}): thresholds cannot be compared; collapse the sparse categories"
                )
        for v, lev in zip(variables, st.levels):
            if len(lev) < 3:
                raise ValueError(
                    f"item {v} has fewer than 3 categories: the Wu & Estabrook identification used here "
                    "needs at least 3 (binary items are not supported)"
                )
    return order, stats_list, warnings


def fit_wlsmv_groups(model: MeasurementModel, data, group: str, *, group_equal=(), group_order=None,
                     max_iter: int = 500, start: np.ndarray | None = None, statistics=None) -> OrdinalGroupFit:
    """Multi-group WLSMV fit of ordinal items, identified as Wu & Estabrook (2016).

    Parameters
    ----------
    model : MeasurementModel
    data : pandas.DataFrame
        Item responses and the grouping column (rows with a missing item or
        group are deleted, listwise).
    group : str
        Grouping column; groups in order of first appearance (as lavaan).
    group_equal : sequence of str
        ``()`` (configural), ``("thresholds",)``, ``("thresholds",
        "loadings")`` or ``("thresholds", "loadings", "intercepts")``.
    statistics : optional
        ``group_statistics(data, model.observed, group)`` computed before (the
        ladder reuses the per-group polychorics and NACOVs).

    Notes
    -----
    Equivalent R (semTools 0.5.6, lavaan 0.6.14)::

        syntax <- measEq.syntax(configural.model = model, data = data, ordered = items,
                                parameterization = "delta", ID.fac = "std.lv",
                                ID.cat = "Wu.Estabrook.2016", group = group,
                                group.equal = group_equal)
        cfa(as.character(syntax), data = data, group = group, ordered = items,
            estimator = "WLSMV", parameterization = "delta")

    Statistics per group are those of one-group WLSMV; the groups are
    combined as lavaan does: ``chisq = sum_g (N_g - 1) F_g`` (also the
    objective), expected information ``E = sum_g (N_g/N) Delta_g' W_g Delta_g``,
    ``vcov = E^-1 [sum_g (N_g/N) Delta_g' W_g Gamma_g W_g Delta_g] E^-1 / (N - G)``,
    and the scaled-shifted test from the stacked ``U Gamma`` (see :func:`_tests`).
    The ``.robust`` CFI/TLI/RMSEA are NaN once thresholds are constrained,
    as lavaan 0.6.14 reports them (NA).
    """
    variables = model.observed
    missing = [v for v in variables if v not in data.columns]
    if missing:
        raise ValueError(f"items not in the data: {', '.join(missing)}")
    if statistics is None:
        statistics = group_statistics(data, variables, group, group_order)
    labels, stats_list, warnings = statistics[0], statistics[1], list(statistics[2])
    for st in stats_list:
        warnings.extend(st.warnings)
    wm = _WEModel(model, stats_list, labels, group_equal)
    G = len(labels)
    nobs = [st.n for st in stats_list]
    ntotal = sum(nobs)
    svecs = [st.wls_obs for st in stats_list]
    gammas = [st.nacov for st in stats_list]
    ws = []
    for gm in gammas:
        dg = np.diag(gm)
        if np.any(dg <= 0) or not np.all(np.isfinite(dg)):
            raise ValueError("the asymptotic variances of the sample statistics are not all positive")
        ws.append(1.0 / dg)
    cw = [(n - 1) / ntotal for n in nobs]

    def evaluate(x, need="f"):
        f = 0.0
        grad = np.zeros(wm.q)
        info = np.zeros((wm.q, wm.q))
        for g in range(G):
            if need == "f":
                vec, _ = wm.group(x, g)
            else:
                vec, _, D = wm.group(x, g, jacobian=True)
            e = svecs[g] - vec
            f += cw[g] * float(np.sum(ws[g] * e * e))
            if need != "f":
                wd = D * ws[g][:, None]
                grad += -2.0 * cw[g] * (wd.T @ e)
                info += cw[g] * (D.T @ wd)
        if need == "f":
            return f
        return f, grad, info

    if start is None:
        x0 = np.zeros(wm.q)
        x0[: wm.qs] = start_values(wm.pt, wm.eng.moments)[: wm.qs]
        sums = np.zeros(wm.q)
        counts = np.zeros(wm.q)
        for g, st in enumerate(stats_list):
            np.add.at(sums, wm.th_index[g], st.threshold_vector)
            np.add.at(counts, wm.th_index[g], 1.0)
        th_cols = counts > 0
        x0[th_cols] = sums[th_cols] / counts[th_cols]
        for g in range(G):
            idx = wm.delta_index[g]
            x0[idx[idx >= 0]] = 1.0
    else:
        x0 = np.asarray(start, dtype=float).copy()
    x, f, _, converged, iterations = minimize_scoring(evaluate, x0, max_iter=max_iter)
    if not converged:
        warnings.append(
            "The model did not converge: the estimates do not minimise the DWLS discrepancy. "
            "Check for sparse categories in a group, factors with only two items, or too few respondents."
        )
    parts, extras = [], []
    e_mat = np.zeros((wm.q, wm.q))
    meat = np.zeros((wm.q, wm.q))
    for g in range(G):
        vec, extra, D = wm.group(x, g, jacobian=True)
        extras.append(extra)
        fg = nobs[g] / ntotal
        wd = D * ws[g][:, None]
        e_mat += fg * (D.T @ wd)
        meat += fg * (wd.T @ gammas[g] @ wd)
        parts.append(_GroupPart(n=nobs[g], s=svecs[g], sig_vec=vec, w=ws[g], gamma=gammas[g], delta=D,
                                nth=wm.nth, r=stats_list[g].correlation, sigma_star=extra["sigma_star"]))
    e_inv, vcov = _sandwich(e_mat, meat, ntotal - G, warnings)
    chisq = ntotal * f
    df = G * (wm.nth + wm.pstar) - wm.q
    test = _tests(parts, chisq, df, e_inv)
    fm = _fit_measures(parts, chisq=chisq, df=df, npar=wm.q, fmin=f / 2.0, test=test, e_inv=e_inv,
                       q_cor=wm.structural_cor, robust=not wm.th_eq)
    matrices = []
    for g, extra in enumerate(extras):
        mats = dict(extra["mats"])
        d = extra["d"]
        theta = mats["theta"].copy()
        np.fill_diagonal(theta, 1.0 / d**2 - np.diag(extra["common"]))
        mats["theta"] = theta
        mats["delta"] = d
        matrices.append(mats)
        label = f" in group {labels[g]}" if len(extras) > 1 else ""
        warnings += admissibility_warnings(wm.pt, mats, label, latent_responses=True)
    rows = _group_estimate_rows(wm, x, vcov, matrices, extras, stats_list, labels)
    step = WE_STEPS[len(tuple(group_equal))]
    return OrdinalGroupFit(
        model=model, step=step, group_equal=tuple(group_equal), group_labels=list(labels),
        variables=list(wm.pt.observed), factors=list(wm.pt.factors), nobs=nobs, x=x, vcov=vcov, estimates=rows,
        fit_measures=fm, test=test, polychoric=stats_list, implied=[e["sigma_star"] for e in extras],
        matrices=matrices, thresholds=[e["tau"] for e in extras], converged=bool(converged),
        iterations=int(iterations), fmin=float(f / 2.0), partable=wm.pt,
        jacobians=[pp.delta for pp in parts], weights=ws, warnings=warnings,
    )


def _group_estimate_rows(wm: _WEModel, x, vcov, matrices, extras, stats_list, labels) -> list[dict]:
    """Rows like ``parameterEstimates(fit, standardized = TRUE)`` of a multi-group ordinal fit."""
    pt = wm.pt
    se_all = np.full(len(x), np.nan)
    if vcov is not None:
        dv = np.diag(vcov).copy()
        dv[dv < 0] = np.nan
        se_all = np.sqrt(dv)
    vals = pt.value.copy()
    mask = pt.free >= 0
    vals[mask] = x[pt.free[mask]]
    rows: list[dict] = []

    def add(lhs, op, rhs, g, est, k, std_lv, std_all, label=""):
        free = k >= 0
        se = se_all[k] if free else 0.0
        z = est / se if free and np.isfinite(se) and se > 0 else np.nan
        pval = 2 * special.ndtr(-abs(z)) if np.isfinite(z) else np.nan
        rows.append({"lhs": lhs, "op": op, "rhs": rhs, "group": labels[g], "est": float(est),
                     "se": float(se), "z": float(z), "pvalue": float(pval), "std_lv": float(std_lv),
                     "std_all": float(std_all), "free": bool(free), "label": label})

    for g in range(wm.G):
        mats, extra = matrices[g], extras[g]
        d = extra["d"]
        psi, theta = mats["psi"], mats["theta"]
        sd_f = np.sqrt(np.clip(np.diag(psi), 0, None))
        rg = [i for i in range(len(pt.lhs)) if pt.group[i] == g]
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in rg:
                if pt.mat[i] == LAMBDA:
                    r_, c_ = pt.row[i], pt.col[i]
                    add(pt.lhs[i], "=~", pt.rhs[i], g, vals[i], pt.free[i], vals[i] * sd_f[c_],
                        vals[i] * sd_f[c_] * d[r_], pt.label[i])
            for k, (j, t) in enumerate(zip(wm.th_item, wm.th_pos)):
                tau = extra["tau"][k]
                add(pt.observed[j], "|", f"t{t + 1}", g, tau, wm.th_index[g][k], tau, tau * d[j],
                    ".eq.th" if wm.th_eq else "")
            for i in rg:
                if pt.mat[i] == THETA:
                    r_, c_ = pt.row[i], pt.col[i]
                    if r_ == c_:
                        est = theta[r_, r_]
                        add(pt.lhs[i], "~~", pt.rhs[i], g, est, -1, est, est * d[r_] ** 2)
                    else:
                        est = vals[i]
                        add(pt.lhs[i], "~~", pt.rhs[i], g, est, pt.free[i], est,
                            est / np.sqrt(abs(theta[r_, r_]) * abs(theta[c_, c_])))
            for i in rg:
                if pt.mat[i] == PSI:
                    r_, c_ = pt.row[i], pt.col[i]
                    std = vals[i] / (sd_f[r_] * sd_f[c_])
                    add(pt.lhs[i], "~~", pt.rhs[i], g, vals[i], pt.free[i], std, std)
            for j, v in enumerate(pt.observed):
                add(v, "~*~", v, g, d[j], wm.delta_index[g][j], d[j], 1.0)
            for i in rg:
                if pt.mat[i] == NU:
                    r_ = pt.row[i]
                    add(pt.lhs[i], "~1", "", g, vals[i], pt.free[i], vals[i], vals[i] * d[r_], pt.label[i])
            for i in rg:
                if pt.mat[i] == ALPHA:
                    r_ = pt.row[i]
                    std = vals[i] / sd_f[r_] if sd_f[r_] > 0 else np.nan
                    add(pt.lhs[i], "~1", "", g, vals[i], pt.free[i], std, std)
    return rows


def _orthogonal_complement(h: np.ndarray) -> np.ndarray:
    """Columns spanning the orthogonal complement of the column space of ``h`` (lavaan's QR recipe)."""
    q, _ = np.linalg.qr(h, mode="complete")
    rank = np.linalg.matrix_rank(h)
    return q[:, rank:]


def scaled_difference_test(fit1: OrdinalGroupFit, fit0: OrdinalGroupFit) -> dict:
    """Scaled-shifted chi-square difference test of nested WLSMV fits (Satorra 2000).

    ``fit1`` is the less restricted model, ``fit0`` the nested one (same data and groups).
    As ``lavaan::lavTestLRT(fit1, fit0)`` (``method = "satorra.2000"``,
    ``A.method = "delta"``, ``scaled.shifted = TRUE``): the restrictions are
    ``A``, the orthogonal complement of ``H = Delta1^+ Delta0`` (stacked
    Jacobians of both models), ``M = E1^-1 A' (A E1^-1 A')^+ A E1^-1`` with
    ``E1`` the expected information of ``fit1``;
    ``tr = sum_g f_g tr(W_g Gamma_g W_g Delta1_g M Delta1_g')``,
    ``tr2 = tr((V Delta1 M Delta1' V Gamma_f)^2)`` with ``V = bdiag(W_g)``,
    ``Gamma_f = bdiag(f_g Gamma_g)``; ``a = sqrt(m / tr2)``, ``b = m - a tr`` and
    ``T = a (chisq0 - chisq1) + b`` on ``m = df0 - df1`` degrees of freedom.
    """
    m = fit0.df - fit1.df
    d_chisq = fit0.chisq - fit1.chisq
    if m <= 0:
        return {"chisq_diff": float(d_chisq), "df_diff": int(m), "pvalue": float("nan"), "a": float("nan"),
                "b": float("nan"), "trace_UGamma": float("nan"), "trace_UGamma2": float("nan")}
    ntotal = fit1.ntotal
    fg = [n / ntotal for n in fit1.nobs]
    d1 = np.vstack(fit1.jacobians)
    d0 = np.vstack(fit0.jacobians)
    eps = np.finfo(float).eps
    h = np.linalg.pinv(d1, rcond=np.sqrt(eps)) @ d0
    a_mat = _orthogonal_complement(h).T
    p_mat = np.zeros((d1.shape[1], d1.shape[1]))
    for f, w, dg in zip(fg, fit1.weights, fit1.jacobians):
        p_mat += f * (dg.T @ (dg * w[:, None]))
    p_inv = np.linalg.inv(p_mat)
    apa = a_mat @ p_inv @ a_mat.T
    empty = (np.abs(apa.sum(axis=0)) < np.sqrt(eps)) & (np.abs(apa.sum(axis=1)) < np.sqrt(eps))
    if empty.any():
        a_mat = a_mat[~empty]
        apa = a_mat @ p_inv @ a_mat.T
    mm = p_inv @ a_mat.T @ np.linalg.pinv(apa, rcond=np.sqrt(eps)) @ a_mat @ p_inv
    gammas = [st.nacov for st in fit1.polychoric]
    tr = 0.0
    for f, w, dg, gm in zip(fg, fit1.weights, fit1.jacobians, gammas):
        wgw = (w[:, None] * gm) * w[None, :]
        tr += f * float(np.sum(wgw * (dg @ mm @ dg.T).T))
    v = np.concatenate(fit1.weights)
    vd = d1 * v[:, None]
    u = vd @ mm @ vd.T
    ug = np.zeros_like(u)
    start = 0
    for f, gm in zip(fg, gammas):
        k = gm.shape[0]
        ug[:, start : start + k] = u[:, start : start + k] @ (f * gm)
        start += k
    tr2 = float(np.sum(ug * ug.T))
    a = np.sqrt(m / tr2)
    b = m - a * tr
    stat = d_chisq * a + b
    return {"chisq_diff": float(stat), "df_diff": int(m), "pvalue": _chi2_sf(stat, m), "a": float(a),
            "b": float(b), "trace_UGamma": float(tr), "trace_UGamma2": tr2,
            "chisq_diff_unscaled": float(d_chisq)}


def invariance_ladder(model: MeasurementModel, data, group: str, *, group_order=None) -> dict:
    """Fit the whole Wu & Estabrook ladder and the scaled difference test of each step.

    Returns ``{"fits": {step: OrdinalGroupFit}, "tests": {step: scaled_difference_test(previous, step)}}``
    for the steps of :data:`WE_STEPS` (the per-group statistics are computed once).
    Equivalent R: the four ``measEq.syntax`` fits and ``lavTestLRT(configural, thresholds, loadings,
    intercepts)``.
    """
    fits: dict = {}
    tests: dict = {}
    prev = None
    statistics = group_statistics(data, model.observed, group, group_order)
    for k, step in enumerate(WE_STEPS):
        fit = fit_wlsmv_groups(model, data, group, group_equal=WE_STEPS[1 : k + 1], statistics=statistics)
        fits[step] = fit
        if prev is not None:
            tests[step] = scaled_difference_test(prev, fit)
        prev = fit
    return {"fits": fits, "tests": tests}


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
