"""Robust maximum likelihood for complete data: lavaan's ``estimator = "MLM"`` and ``"MLR"``.

The estimates are the normal-theory ML estimates of :func:`coscale.stats.estimate.fit_ml`;
only the standard errors and the test statistic are corrected for non-normal
data. Everything is computed from per-group sample moments and the asymptotic
covariance matrix Gamma of the sample moments, obtained once per group from the
raw rows (:func:`fourth_moments`); no computation loops over respondents.

Notation (per group g, weight f_g = N_g / N): Sigma, mu the implied moments,
P = Sigma^-1, Delta the Jacobian of (mu, vech Sigma) with respect to the free
parameters, W = blockdiag(P, 1/2 D'(P x P) D) the normal-theory weight, Gamma
the covariance of (y_i, vech((y_i - ybar)(y_i - ybar)')) with divisor N_g
(lavaan's ``NACOV``, ``lavInspect(fit, "gamma")``; the mean block is used only
with a mean structure).

MLM (lavaan 0.6.14: ``information = "expected"``, ``se = "robust.sem"``,
``test = "satorra.bentler"``; Satorra & Bentler 1994; Satorra 1992; Browne 1984)::

    E     = sum_g f_g Delta_g' W_g Delta_g          (expected unit information)
    vcov  = E^-1 [sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g] E^-1 / N
    c     = sum_g [tr(W_g Gamma_g) - f_g tr(E^-1 Delta_g' W_g Gamma_g W_g Delta_g)] / df

i.e. tr(U Gamma) / df with U = W - W Delta E^-1 Delta' W (lavaan's
``lav_test_satorra_bentler_trace_original``), W at the model-implied Sigma
(``h1.information = "structured"``).

MLR (lavaan 0.6.14: ``information = "observed"`` with
``observed.information = "hessian"``, ``se = "robust.huber.white"``,
``test = "yuan.bentler.mplus"``; Huber 1967; White 1982; Yuan & Bentler 2000;
Muthen & Asparouhov's Mplus variant)::

    H     = sum_g f_g (1/2) d2 F_g / d theta d theta'   (observed unit information)
    B0_g  = (1/N_g) sum_i s_i s_i'                      (casewise scores at the estimates)
    vcov  = H^-1 [sum_g f_g B0_g] H^-1 / N
    c     = sum_g [tr(A1_g Gamma_g) - f_g tr(B0_g H^-1)] / df

with A1_g the h1 information at the sample moments (``h1.information =
"unstructured"``: blockdiag(S^-1, 1/2 D'(S^-1 x S^-1) D)), so
tr(A1 Gamma) = p + tr(W_S Gamma_cov) with a mean structure. The casewise
score s_i is affine in (y_i - ybar, vech((y_i - ybar)(y_i - ybar)') - vech S),
so B0_g = b b' + H_g Gamma_g H_g' (b the mean score of the group, zero in one
group at the estimates) -- again from Gamma, not from the rows.

The observed information H is analytic: the second derivatives of F (with the
mean term) for Sigma = Lambda Psi Lambda' + Theta, mu = nu + Lambda alpha,
including the second derivatives of Sigma and mu in (Lambda, Psi, alpha).
lavaan differentiates its analytic gradient numerically (Richardson
extrapolation, h = 1e-6). The analytic matrix equals a central-difference
Jacobian of coscale's gradient to ~3e-9 and lavaan's
``lavInspect(fit, "information")`` to ~4e-6 (the distance between the two
programs' estimates).

Equality constraints across groups are coscale's shared parameter indices,
i.e. the reduced parameterisation K'(.)K of lavaan's augmented information
(``lav_model_information_augment_invert``); bread, meat, vcov and the traces
are the same.

Scaled and robust fit indices follow lavaan 0.6.14's ``lav_fit_cfi.R`` and
``lav_fit_rmsea.R`` (see :meth:`Robust.fit_measures`); the baseline model is
the independence model with the same estimator and mean structure, whose
scaling factor is computed by the same formulas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from coscale.stats.estimate import Engine, Fit, information_block
from coscale.stats.fit import rmsea as _rmsea_g
from coscale.stats.moments import split_groups
from coscale.stats.fit import rmsea_ci
from coscale.stats.probability import chi2_sf

ESTIMATORS = ("MLM", "MLR")

#: lavaan's option values behind each estimator (``lavInspect(fit, "options")``, 0.6.14)
LAVAAN_OPTIONS = {
    "MLM": {"information": "expected", "se": "robust.sem", "test": "satorra.bentler"},
    "MLR": {"information": "observed", "observed.information": "hessian",
            "se": "robust.huber.white", "test": "yuan.bentler.mplus"},
}

#: keys that :meth:`Robust.fit_measures` adds (lavaan's names with ``.`` -> ``_``)
ROBUST_FIT_NAMES = (
    "chisq_scaled",
    "df_scaled",
    "pvalue_scaled",
    "chisq_scaling_factor",
    "baseline_chisq_scaled",
    "baseline_df_scaled",
    "baseline_pvalue_scaled",
    "baseline_chisq_scaling_factor",
    "cfi_scaled",
    "tli_scaled",
    "rmsea_scaled",
    "rmsea_ci_lower_scaled",
    "rmsea_ci_upper_scaled",
    "cfi_robust",
    "tli_robust",
    "rmsea_robust",
    "rmsea_ci_lower_robust",
    "rmsea_ci_upper_robust",
)

_NAN = float("nan")


# ---------------------------------------------------------------------------
# Fourth-order moments
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FourthMoments:
    """Sample moments and Gamma of one group's complete rows.

    Attributes
    ----------
    n : int
    mean : ndarray, shape (p,)
    cov : ndarray, shape (p, p)
        Divisor N.
    gamma : ndarray, shape (p + p*, p + p*)
        Covariance (divisor N) of z_i = (y_i, vech((y_i - ybar)(y_i - ybar)')),
        p* = p (p + 1) / 2, vech in lavaan's order (x1~~x1, x1~~x2, ...,
        x2~~x2, ...). Equals ``lavInspect(fit, "gamma")`` of a lavaan fit with
        a mean structure; without one lavaan's Gamma is the lower-right block.
    """

    n: int
    mean: np.ndarray
    cov: np.ndarray
    gamma: np.ndarray

    @property
    def p(self) -> int:
        return len(self.mean)


def vech_indices(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each vech element, in lavaan's order (column-wise lower triangle)."""
    return np.triu_indices(p)


def fourth_moments(values: np.ndarray, *, chunk_elements: int = 4_000_000) -> FourthMoments:
    """Mean, ML covariance and Gamma of a complete-data matrix, in row chunks.

    Parameters
    ----------
    values : ndarray, shape (n, p)
        Complete rows (no NaN), columns in the model's order.
    chunk_elements : int
        Rows are processed in chunks of about this many products, so memory
        stays bounded for any n (10^5 rows of 20 items: well under a second).

    Notes
    -----
    Equivalent R: ``lavaan:::lav_samplestats_Gamma(Y, meanstructure = TRUE)``
    (divisor N, ``gamma.n.minus.one = FALSE``), as ``lavInspect(fit, "gamma")``.
    """
    y = np.asarray(values, dtype=float)
    if y.ndim != 2:
        raise ValueError("data must be a two-dimensional (rows x items) array")
    if np.isnan(y).any():
        raise ValueError("data contain missing values: pass the complete rows only")
    n, p = y.shape
    if n < 2:
        raise ValueError("need at least two rows")
    mean = y.mean(axis=0)
    r, c = vech_indices(p)
    k = p + len(r)
    step = max(1, chunk_elements // k)
    buf = np.empty((min(step, n), k))  # one buffer for every chunk: fresh pages are not free
    cov = np.zeros((p, p))
    for s in range(0, n, step):
        yc = np.subtract(y[s:s + step], mean, out=buf[: min(step, n - s), :p])
        cov += yc.T @ yc
    cov /= n
    vs = cov[r, c]
    gamma = np.zeros((k, k))
    for s in range(0, n, step):
        z = buf[: min(step, n - s)]
        yc = np.subtract(y[s:s + step], mean, out=z[:, :p])
        np.multiply(yc[:, r], yc[:, c], out=z[:, p:])
        z[:, p:] -= vs
        gamma += z.T @ z
    gamma /= n
    return FourthMoments(int(n), mean, cov, gamma)


def listwise_fourth_moments(frame, variables, group=None, group_order=None) -> list[FourthMoments]:
    """Per-group :func:`fourth_moments` of the rows :func:`coscale.stats.moments.listwise_moments` keeps.

    Same arguments and the same row selection (listwise deletion on
    ``variables``; groups in ``group_order``, default order of first
    appearance), so ``robust(fit, listwise_fourth_moments(...), estimator)``
    pairs each group's Gamma with ``fit.moments[g]``.
    """
    variables = list(variables)
    values = frame[variables].to_numpy(dtype=float)
    keep = ~np.isnan(values).any(axis=1)
    if group is None:
        return [fourth_moments(values[keep])]
    return [fourth_moments(values[keep & rows]) for _, rows in split_groups(group, len(values), group_order, among=keep)]


def _weight_vech(P: np.ndarray) -> np.ndarray:
    """1/2 D'(P x P) D in vech coordinates (lavaan's normal-theory weight of vech Sigma)."""
    r, c = vech_indices(len(P))
    f = np.where(r == c, 0.5, 1.0)
    out = 0.5 * (P[np.ix_(r, r)] * P[np.ix_(c, c)] + P[np.ix_(r, c)] * P[np.ix_(c, r)])
    return out * (2.0 * f[:, None] * f[None, :])


# ---------------------------------------------------------------------------
# Per-group ingredients of a model (the fitted model or the baseline)
# ---------------------------------------------------------------------------
@dataclass
class _Group:
    weight: float  # N_g / N
    fm: FourthMoments
    sigma: np.ndarray
    mu: np.ndarray
    dsig: np.ndarray  # (q, p, p)
    dmu: np.ndarray  # (q, p); zero without a mean structure
    second: np.ndarray  # (q, q): tr(R d2Sigma) + r' d2mu, R = P - P C P, r = -2 P d


def _hessian_group(grp: _Group) -> np.ndarray:
    """Hessian of F_g = log|Sigma| + tr(S Sigma^-1) - log|S| - p + d' Sigma^-1 d (d = ybar - mu).

    d2F/dk dl = - tr(P S_k P S_l) + tr(P S_k K S_l) + tr(P S_l K S_k)
                + 2 d'P S_k P mu_l + 2 d'P S_l P mu_k + 2 mu_k' P mu_l
                + tr((P - K) S_kl) - 2 d'P mu_kl,
    with K = P (S + d d') P and S_k, mu_k (S_kl, mu_kl) the first (second)
    derivatives of Sigma and mu; the last line is ``grp.second``.
    """
    P = np.linalg.inv(grp.sigma)
    d = grp.fm.mean - grp.mu
    K = P @ (grp.fm.cov + np.outer(d, d)) @ P
    q = grp.dsig.shape[0]
    flat = grp.dsig.reshape(q, -1)
    X = (P @ grp.dsig @ P).reshape(q, -1)
    Y = (P @ grp.dsig @ K).reshape(q, -1)
    h = -X @ flat.T
    t = Y @ flat.T
    h += t + t.T
    v = (P @ grp.dsig @ P) @ d  # (q, p): P S_k P d
    t = v @ grp.dmu.T
    h += 2.0 * (t + t.T) + 2.0 * grp.dmu @ P @ grp.dmu.T
    h += grp.second
    return 0.5 * (h + h.T)


def _model_groups(fit: Fit, fms: list) -> tuple[Engine, list]:
    """Ingredients of the fitted CFA, per group."""
    eng = Engine(fit.partable, fit.moments)
    groups = []
    for g in range(fit.partable.n_groups):
        mats = eng.matrices(fit.x, g)
        sigma, mu = eng.implied(fit.x, g, mats)
        entries = eng.free_entries(g)
        dsig, dmu = eng.jacobian(mats, entries, eng.q)
        fm = fms[g]
        P = np.linalg.inv(sigma)
        d = fm.mean - mu
        R = P - P @ (fm.cov + np.outer(d, d)) @ P
        second = _second_derivative_terms(mats, entries, eng.q, R, -2.0 * P @ d, fit.partable.meanstructure)
        groups.append(_Group(eng.w[g], fm, sigma, mu, dsig, dmu, second))
    return eng, groups


def _second_derivative_terms(mats, entries, q, R, r, meanstructure) -> np.ndarray:
    """sum over entry pairs of tr(R d2Sigma/dk dl) + r' d2mu/dk dl for a CFA.

    Sigma = Lambda Psi Lambda' + Theta and mu = nu + Lambda alpha are
    second-order only in (Lambda, Lambda), (Lambda, Psi) and (Lambda, alpha):

    * lambda_ij, lambda_kl:  tr(R d2Sigma) = 2 psi_jl R_ik
    * lambda_ij, psi_rs:     2 (S_rs Lambda' R)_ji, S_rs the symmetric unit matrix
    * lambda_ij, alpha_s:    r_i [j == s]
    """
    idx, mat, row, col = entries
    lam, psi = mats["lambda"], mats["psi"]
    out = np.zeros((q, q))
    L = mat == 0
    if not L.any():
        return out
    ka, ia, ja = idx[L], row[L], col[L]
    # lambda-lambda
    vals = 2.0 * psi[np.ix_(ja, ja)] * R[np.ix_(ia, ia)]
    np.add.at(out, (ka[:, None], ka[None, :]), vals)
    # lambda-psi
    S = mat == 2
    if S.any():
        kb, rb, sb = idx[S], row[S], col[S]
        LR = lam.T @ R  # (m, p)
        offdiag = (rb != sb).astype(float)
        vals = 2.0 * (
            (ja[:, None] == rb[None, :]) * LR[sb][:, ia].T
            + offdiag[None, :] * (ja[:, None] == sb[None, :]) * LR[rb][:, ia].T
        )
        np.add.at(out, (ka[:, None], kb[None, :]), vals)
        np.add.at(out, (kb[:, None], ka[None, :]), vals.T)
    # lambda-alpha
    A = mat == 4
    if meanstructure and A.any():
        kc, rc = idx[A], row[A]
        vals = r[ia][:, None] * (ja[:, None] == rc[None, :])
        np.add.at(out, (ka[:, None], kc[None, :]), vals)
        np.add.at(out, (kc[:, None], ka[None, :]), vals.T)
    return out


def _baseline_groups(fit: Fit, fms: list) -> list:
    """Ingredients of the independence model (free variances, and means with a mean structure).

    Its ML solution is Sigma = diag(S), mu = ybar in every group, one set of
    parameters per group (lavaan's baseline model: no equality constraints).
    """
    ms = fit.partable.meanstructure
    G = len(fms)
    p = fms[0].p
    per = 2 * p if ms else p
    q = G * per
    n = sum(fm.n for fm in fms)
    groups = []
    for g, fm in enumerate(fms):
        dsig = np.zeros((q, p, p))
        dmu = np.zeros((q, p))
        base = g * per
        dsig[base + np.arange(p), np.arange(p), np.arange(p)] = 1.0
        if ms:
            dmu[base + p + np.arange(p), np.arange(p)] = 1.0
        sigma = np.diag(np.diag(fm.cov))
        groups.append(_Group(fm.n / n, fm, sigma, fm.mean.copy(), dsig, dmu, np.zeros((q, q))))
    return groups


# ---------------------------------------------------------------------------
# Sandwich and trace
# ---------------------------------------------------------------------------
def _sandwich(groups: list, estimator: str, meanstructure: bool, ntotal: int):
    """(vcov or None, tr(U Gamma), bread, meat) for a list of group ingredients.

    The bread is the unit information (expected for MLM, observed for MLR),
    the meat sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g (MLM) or
    sum_g f_g B0_g (MLR); vcov = bread^-1 meat bread^-1 / N. A singular
    implied or sample covariance matrix gives (None, NaN, None, None).
    """
    try:
        return _sandwich_core(groups, estimator, meanstructure, ntotal)
    except np.linalg.LinAlgError:
        return None, _NAN, None, None


def _sandwich_core(groups: list, estimator: str, meanstructure: bool, ntotal: int):
    p = groups[0].fm.p
    r, c = vech_indices(p)
    cw = np.where(r == c, 1.0, 2.0)
    sel = np.r_[np.arange(p), p + np.arange(len(r))] if meanstructure else p + np.arange(len(r))
    q = groups[0].dsig.shape[0]
    info = np.zeros((q, q))
    meats, h1_traces = [], []
    for grp in groups:
        fm = grp.fm
        P = np.linalg.inv(grp.sigma)
        X = P @ grp.dsig @ P  # (q, p, p)
        gamma = fm.gamma[np.ix_(sel, sel)]
        if estimator == "MLM":
            # Delta' W in the coordinates of Gamma: (P mu_k, 1/2 c * vech(P S_k P))
            dw = np.concatenate([grp.dmu @ P, 0.5 * cw * X[:, r, c]], axis=1)[:, sel]
            info += grp.weight * information_block(P, grp.dsig, grp.dmu, grp.dsig, grp.dmu)
            meats.append(dw @ gamma @ dw.T)
            w_cov = _weight_vech(P)
            tr = np.sum(w_cov * fm.gamma[p:, p:])
            if meanstructure:
                tr += np.sum(P * fm.gamma[:p, :p])
            h1_traces.append(tr)
        else:
            d = fm.mean - grp.mu
            # casewise score s_ik = b_k + a_k' yc_i + 1/2 yc_i' X_k yc_i - 1/2 tr(X_k S),
            # with yc_i = y_i - ybar; b_k is the group's mean score
            b = (-0.5 * np.einsum("kii->k", P @ grp.dsig) + 0.5 * np.einsum("i,kij,j->k", d, X, d)
                 + grp.dmu @ P @ d + 0.5 * np.einsum("kij,ij->k", X, fm.cov))
            a = X @ d + grp.dmu @ P  # (q, p)
            coef = np.concatenate([a, 0.5 * cw * X[:, r, c]], axis=1)[:, sel]
            meats.append(np.outer(b, b) + coef @ gamma @ coef.T)
            info += grp.weight * 0.5 * _hessian_group(grp)
            s_inv = np.linalg.inv(fm.cov)
            tr = np.sum(_weight_vech(s_inv) * fm.gamma[p:, p:])
            if meanstructure:
                tr += np.sum(s_inv * fm.gamma[:p, :p])
            h1_traces.append(tr)
    meat = sum(grp.weight * m for grp, m in zip(groups, meats))
    try:
        cond = np.linalg.cond(info)
        if not np.isfinite(cond) or cond > 1e12:
            return None, _NAN, info, meat
        e_inv = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return None, _NAN, info, meat
    e_inv = 0.5 * (e_inv + e_inv.T)
    vcov = e_inv @ meat @ e_inv / ntotal
    trace = sum(h - grp.weight * np.sum(m * e_inv) for grp, m, h in zip(groups, meats, h1_traces))
    return 0.5 * (vcov + vcov.T), float(trace), info, meat


# ---------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------
@dataclass
class Robust:
    """Robust standard errors and scaled test statistics of an ML fit.

    Attributes
    ----------
    estimator : str
        ``"MLM"`` or ``"MLR"``.
    vcov : ndarray or None
        Robust covariance matrix of the free parameters (None if the
        information matrix is singular).
    chisq, df : float, int
        The normal-theory statistic (``fit.chisq``) and its df.
    chisq_scaled, pvalue_scaled : float
    scaling_factor : float
        lavaan's ``chisq.scaling.factor`` = tr(U Gamma) / df (NaN if df = 0).
    trace_ugamma : float
        tr(U Gamma), lavaan's ``trace.UGamma`` (the df of ``rmsea.scaled``).
    baseline_chisq, baseline_df, baseline_chisq_scaled, baseline_scaling_factor, baseline_trace_ugamma
        The same for the independence model.
    ntotal, n_groups : int
    partable : ParTable
    information : ndarray
        The bread: unit information, expected (MLM) or observed (MLR),
        as ``lavInspect(fit, "information")``.
    meat : ndarray
        sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g (MLM) or the first-order
        information sum_g f_g B0_g (MLR, ``lavInspect(fit,
        "information.first.order")``); vcov = bread^-1 meat bread^-1 / N.
    """

    estimator: str
    vcov: np.ndarray | None
    chisq: float
    df: int
    chisq_scaled: float
    pvalue_scaled: float
    scaling_factor: float
    trace_ugamma: float
    baseline_chisq: float
    baseline_df: int
    baseline_chisq_scaled: float
    baseline_scaling_factor: float
    baseline_trace_ugamma: float
    ntotal: int
    n_groups: int
    partable: object = None
    information: np.ndarray | None = None
    meat: np.ndarray | None = None

    @property
    def se(self) -> np.ndarray:
        """Robust standard errors of the free parameters (NaN where unavailable)."""
        if self.vcov is None:
            n = 0 if self.partable is None else self.partable.n_free
            return np.full(n, np.nan)
        d = np.diag(self.vcov).copy()
        d[d < 0] = np.nan
        return np.sqrt(d)

    def standard_errors(self) -> np.ndarray:
        """Robust SE of every parameter-table row (0 for fixed rows, as lavaan prints)."""
        pt = self.partable
        out = np.zeros(len(pt.lhs))
        mask = pt.free >= 0
        out[mask] = self.se[pt.free[mask]]
        return out

    @property
    def baseline_pvalue_scaled(self) -> float:
        return _pvalue(self.baseline_chisq_scaled, self.baseline_df)

    def fit_measures(self, plain: dict) -> dict:
        """Scaled and robust fit measures, named as ``lavaan::fitMeasures`` (``.`` -> ``_``).

        Parameters
        ----------
        plain : dict
            :func:`coscale.stats.fit.fit_measures` of the same fit (chisq, df,
            baseline_chisq, baseline_df and ntotal are read from it).

        Returns
        -------
        dict
            Keys :data:`ROBUST_FIT_NAMES`.

        Notes
        -----
        As lavaan 0.6.14 (``lav_fit_cfi.R``, ``lav_fit_rmsea.R``), with X2 the
        standard statistic, c and c0 the scaling factors of the model and the
        baseline, tr = tr(U Gamma), N the total sample size, G the groups:

        * ``*.scaled``: CFI and TLI from the scaled statistics (X2/c, X20/c0);
          RMSEA from X2 on tr df, sqrt(max(X2/(N tr) - 1/N, 0)) sqrt(G), and
          its 90% interval from the noncentral chi-square of X2 on tr df.
        * ``cfi.robust`` (Brosseau-Liard & Savalei 2014, eq. 15):
          1 - max(X2 - c df, 0) / max(X2 - c df, X20 - c0 df0, 0);
          ``tli.robust``: 1 - (X2 - c df) df0 / ((X20 - c0 df0) df).
        * ``rmsea.robust`` (Brosseau-Liard, Savalei & Li 2012):
          sqrt(max(X2/(N df) - c/N, 0)) sqrt(G); its interval (Savalei 2018)
          from the noncentral chi-square of X2/c on df, the noncentrality
          bounds multiplied by c: sqrt(c lambda / (N df)) sqrt(G).

        Equivalent R: ``lavaan::fitMeasures(fit)`` for ``estimator = "MLM"``
        or ``"MLR"``.
        """
        x2, df = float(plain["chisq"]), int(plain["df"])
        x20, df0 = float(plain["baseline_chisq"]), int(plain["baseline_df"])
        n = int(plain["ntotal"])
        G = self.n_groups
        c, c0 = self.scaling_factor, self.baseline_scaling_factor
        xs = x2 / c if np.isfinite(c) else (x2 if df == 0 else _NAN)  # lavaan: df = 0 -> standard
        x0s = x20 / c0 if np.isfinite(c0) else _NAN
        out = {
            "chisq_scaled": xs,
            "df_scaled": df,
            "pvalue_scaled": _pvalue(xs, df),
            "chisq_scaling_factor": c,
            "baseline_chisq_scaled": x0s,
            "baseline_df_scaled": df0,
            "baseline_pvalue_scaled": _pvalue(x0s, df0),
            "baseline_chisq_scaling_factor": c0,
            "cfi_scaled": _cfi(xs, df, x0s, df0),
            "tli_scaled": _tli(xs, df, x0s, df0),
        }
        tr = self.trace_ugamma if (np.isfinite(self.trace_ugamma) and self.trace_ugamma != 0) else _NAN
        out["rmsea_scaled"] = _rmsea(x2, tr, n, G)
        out["rmsea_ci_lower_scaled"], out["rmsea_ci_upper_scaled"] = rmsea_ci(x2, tr, n, G)
        out["cfi_robust"] = _cfi(x2, df, x20, df0, c, c0)
        out["tli_robust"] = _tli(x2, df, x20, df0, c, c0)
        out["rmsea_robust"] = _rmsea(x2, df, n, G, c)
        out["rmsea_ci_lower_robust"], out["rmsea_ci_upper_robust"] = rmsea_ci(xs, df, n, G, c_hat=c)
        return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}


# ---------------------------------------------------------------------------
# Fit-index formulas (lavaan 0.6.14)
# ---------------------------------------------------------------------------
def _rmsea(x2, df, n, G, c_hat=1.0) -> float:
    """lavaan's ``lav_fit_rmsea`` (see :func:`coscale.stats.fit.rmsea`)."""
    return _rmsea_g(x2, df, n, G, c_hat)


def _pvalue(x2: float, df: float) -> float:
    return chi2_sf(x2, df)


def _robust(c, c0) -> bool:
    return c is not None and c0 is not None and c != 1.0 and c0 != 1.0


def _cfi(x2, df, x20, df0, c=None, c0=None) -> float:
    """lavaan's ``lav_fit_cfi``; with c, c0 the robust CFI (Brosseau-Liard & Savalei 2014)."""
    if not all(np.isfinite(v) for v in (x2, df, x20, df0)):
        return _NAN
    if c is not None and not (np.isfinite(c) and np.isfinite(c0)):
        return _NAN
    if df > 0 and _robust(c, c0):
        t1 = max(x2 - c * df, 0.0)
        t2 = max(x2 - c * df, x20 - c0 * df0, 0.0)
    else:
        t1 = max(x2 - df, 0.0)
        t2 = max(x2 - df, x20 - df0, 0.0)
    if abs(t1) < 1.5e-8 and abs(t2) < 1.5e-8:
        return 1.0
    return float(1.0 - t1 / t2)


def _tli(x2, df, x20, df0, c=None, c0=None) -> float:
    """lavaan's ``lav_fit_tli`` (0.5-21 form, so that a robust version exists)."""
    if not all(np.isfinite(v) for v in (x2, df, x20, df0)):
        return _NAN
    if c is not None and not (np.isfinite(c) and np.isfinite(c0)):
        return _NAN
    if df > 0 and _robust(c, c0):
        t1 = (x2 - c * df) * df0
        t2 = (x20 - c0 * df0) * df
    else:
        t1 = (x2 - df) * df0
        t2 = (x20 - df0) * df
    if df > 0 and abs(t2) > 0:
        return float(1.0 - t1 / t2)
    return 1.0


# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------
def robust(fit: Fit, data: list, estimator: str) -> Robust:
    """Robust (MLM or MLR) standard errors and scaled test statistics of an ML fit.

    Parameters
    ----------
    fit : Fit
        From :func:`coscale.stats.estimate.fit_ml`. Fit it with lavaan's
        defaults for the estimator: ``meanstructure=False`` in one group for
        both MLM and MLR (lavaan 0.6.14 does not add a mean structure for MLR;
        ``meanstructure=True`` is supported and gives the same test and SEs of
        the covariance parameters for a saturated mean structure).
    data : list of ndarray or FourthMoments
        Per group, the complete rows that produced ``fit.moments[g]`` (columns
        in ``fit.partable.observed`` order), or their :func:`fourth_moments`
        (to reuse Gamma across nested models of the same data);
        :func:`listwise_fourth_moments` makes them with the row selection of
        :func:`coscale.stats.moments.listwise_moments`. Rows that do not
        reproduce ``fit.moments`` raise ``ValueError``.
    estimator : {"MLM", "MLR"}

    Returns
    -------
    Robust

    Notes
    -----
    MLM: sandwich with the expected information and Gamma (Satorra & Bentler
    1994; lavaan ``se = "robust.sem"``) and the Satorra-Bentler scaled
    statistic. MLR: sandwich with the observed (analytic Hessian) information
    and the casewise-score meat (Huber 1967; White 1982; lavaan
    ``se = "robust.huber.white"``) and the Yuan-Bentler statistic in its
    Mplus variant (Yuan & Bentler 2000; lavaan ``test = "yuan.bentler.mplus"``).
    The formulas are in the module docstring; the observed information is
    analytic (not a numerical derivative).

    Equivalent R: ``lavaan::cfa(model, data, estimator = "MLM")`` or
    ``estimator = "MLR"``; ``parameterEstimates(fit)$se``,
    ``fitMeasures(fit, c("chisq.scaled", "chisq.scaling.factor", ...))``.
    """
    estimator = estimator.upper()
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, not {estimator!r}")
    pt = fit.partable
    if len(data) != pt.n_groups:
        raise ValueError(f"data has {len(data)} groups, the fit {pt.n_groups}")
    fms = []
    for g, (d, mm) in enumerate(zip(data, fit.moments)):
        fm = d if isinstance(d, FourthMoments) else fourth_moments(d)
        if fm.n != mm.n or fm.p != len(pt.observed):
            raise ValueError(
                f"group {g + 1}: data have {fm.n} rows x {fm.p} items, the fit {mm.n} x {len(pt.observed)}")
        scale = np.sqrt(np.diag(mm.cov))
        if not (np.allclose(fm.mean, mm.mean, rtol=0, atol=1e-8 * (1 + np.abs(mm.mean).max()))
                and np.allclose(fm.cov, mm.cov, rtol=0, atol=1e-8 * (1 + np.outer(scale, scale).max()))):
            raise ValueError(f"group {g + 1}: the data are not the rows (or column order) the fit was made from")
        fms.append(fm)
    n = fit.ntotal
    if np.isfinite(fit.chisq):
        _, groups = _model_groups(fit, fms)
        vcov, trace, bread, meat = _sandwich(groups, estimator, pt.meanstructure, n)
    else:  # the model could not be estimated (fit_ml's _failed): nothing to correct
        vcov, trace, bread, meat = None, _NAN, None, None
    df = int(fit.df)
    if df > 0 and np.isfinite(trace) and trace > 0:
        c = trace / df
        xs = fit.chisq / c
    else:
        # lavaan: with df = 0 the "scaled" statistic is the standard one, with
        # no scaling factor and no trace (so no rmsea.scaled either)
        c, xs = _NAN, (fit.chisq if df == 0 else _NAN)
        trace = _NAN if df == 0 else trace
    # baseline (independence) model
    b_chisq, b_df = _baseline_chisq(fms)
    _, b_trace, _, _ = _sandwich(_baseline_groups(fit, fms), estimator, pt.meanstructure, n)
    if b_df > 0 and np.isfinite(b_trace) and b_trace > 0:
        c0 = b_trace / b_df
        x0s = b_chisq / c0
    else:
        c0, x0s = _NAN, _NAN
    return Robust(
        estimator=estimator,
        vcov=vcov,
        chisq=float(fit.chisq),
        df=df,
        chisq_scaled=float(xs),
        pvalue_scaled=_pvalue(xs, df),
        scaling_factor=float(c),
        trace_ugamma=float(trace),
        baseline_chisq=b_chisq,
        baseline_df=b_df,
        baseline_chisq_scaled=float(x0s),
        baseline_scaling_factor=float(c0),
        baseline_trace_ugamma=float(b_trace),
        ntotal=int(n),
        n_groups=int(pt.n_groups),
        partable=pt,
        information=bread,
        meat=meat,
    )


def _baseline_chisq(fms: list) -> tuple[float, int]:
    """Chi-square and df of the independence model: sum_g N_g (log|diag S_g| - log|S_g|)."""
    chisq = 0.0
    for fm in fms:
        sign, ld = np.linalg.slogdet(fm.cov)
        diag = np.diag(fm.cov)
        if sign <= 0 or np.any(diag <= 0):
            return _NAN, int(len(fms) * fm.p * (fm.p - 1) // 2)
        chisq += fm.n * (np.sum(np.log(diag)) - ld)
    p = fms[0].p
    return float(chisq), int(len(fms) * p * (p - 1) // 2)


def observed_information(fit: Fit) -> np.ndarray:
    """Observed unit information: sum_g (N_g/N) (1/2) d2F_g / d theta d theta' (analytic).

    Equivalent R: ``lavInspect(fit, "information")`` for a fit with
    ``information = "observed"`` (e.g. ``estimator = "MLR"``), which lavaan
    computes by differentiating its gradient numerically.
    """
    fms = [FourthMoments(mm.n, mm.mean, mm.cov, np.zeros((0, 0))) for mm in fit.moments]
    _, groups = _model_groups(fit, fms)
    return sum(grp.weight * 0.5 * _hessian_group(grp) for grp in groups)


def scaled_difference(robust_less: Robust, robust_more: Robust, fit_less: Fit, fit_more: Fit,
                      method: str = "satorra.bentler.2001") -> dict:
    """Scaled chi-square difference test of two nested robust fits (Satorra & Bentler 2001).

    With T1, r1, c1 the standard statistic, df and scaling factor of the less
    restricted model and T0, r0, c0 those of the more restricted one::

        c_d = (r0 c0 - r1 c1) / (r0 - r1),   T_d = (T0 - T1) / c_d  on r0 - r1 df

    (c1 = 1 when r1 = 0; c_d < 0 gives NaN, as lavaan warns).

    Parameters
    ----------
    robust_less, robust_more : Robust
        :func:`robust` of the less and the more restricted model.
    fit_less, fit_more : Fit
    method : str
        Only ``"satorra.bentler.2001"``: lavaan 0.6.14's ``lavTestLRT``
        default for both MLM (``satorra.bentler``) and MLR
        (``yuan.bentler.mplus``) fits.

    Returns
    -------
    dict
        chisq_diff, df_diff, pvalue, scaling_factor.

    Notes
    -----
    Equivalent R: ``lavaan::lavTestLRT(fit_less, fit_more)`` (the row of the
    more restricted model).
    """
    if method.lower().replace("_", ".") != "satorra.bentler.2001":
        raise ValueError("only method='satorra.bentler.2001' (lavaan's default for MLM and MLR) is implemented")
    if robust_less.estimator != robust_more.estimator:
        raise ValueError("both models must use the same estimator")
    t1, r1, c1 = fit_less.chisq, int(fit_less.df), robust_less.scaling_factor
    t0, r0, c0 = fit_more.chisq, int(fit_more.df), robust_more.scaling_factor
    if r1 > r0:
        raise ValueError("fit_less must be the less restricted model (fewer df)")
    if r1 == 0:
        c1 = 1.0
    m = r0 - r1
    if m == 0:
        return {"chisq_diff": float(t0 - t1), "df_diff": 0, "pvalue": _NAN, "scaling_factor": _NAN}
    cd = (r0 * c0 - r1 * c1) / m
    if not np.isfinite(cd) or cd < 0:
        cd = _NAN
    td = (t0 - t1) / cd
    return {
        "chisq_diff": float(td),
        "df_diff": int(m),
        "pvalue": _pvalue(td, m),
        "scaling_factor": float(cd),
    }
