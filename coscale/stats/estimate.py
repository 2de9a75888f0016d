"""Maximum-likelihood estimation of (multi-group) CFA models from sample moments.

This is coscale's one estimation core: ``validate`` fits the one-group case
and ``invariance`` the multi-group case of the same code.

Why coscale's own numpy/SciPy code and not semopy's internals
-------------------------------------------------------------
semopy 2.3.11 fits single-group ML correctly, but it cannot hold a parameter
equal across groups (``semopy.multigroup`` fits each group on its own), its
mean-structure model drops factor covariances, its default optimiser stops
early, and importing it costs 2.5-3.3 s (see ``shared/notes/semopy-2.3.11.md``).
A CFA needs only Sigma = Lambda Psi Lambda' + Theta and mu = nu + Lambda alpha,
so the core is small: per-group sample moments in, Fisher scoring with the
analytic gradient and expected information out, the same information giving
the standard errors. semopy stays as an independent cross-check in the tests.

The discrepancy is lavaan's (Joreskog 1969; lavaan ``estimator = "ML"``,
``likelihood = "normal"``)::

    F = sum_g (N_g / N) [ log|Sigma_g| + tr(S_g Sigma_g^-1) - log|S_g| - p
                          + (m_g - mu_g)' Sigma_g^-1 (m_g - mu_g) ]

with S_g divided by N_g; lavaan's ``fmin`` is F / 2 and chi-square is N F.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coscale.stats.model import ALPHA, LAMBDA, NU, PSI, THETA, ParTable


@dataclass
class Fit:
    """A fitted model: estimates, test statistic, information and warnings.

    ``fmin`` is lavaan's (half the discrepancy F); ``chisq = N * F``.
    ``vcov`` is the covariance matrix of the free parameters from the
    expected information (``None`` when the information is singular).
    """

    partable: ParTable
    x: np.ndarray
    moments: list
    chisq: float
    df: int
    npar: int
    fmin: float
    logl: float
    unrestricted_logl: float
    converged: bool
    iterations: int
    vcov: np.ndarray | None
    implied: list  # per group: (Sigma, mu)
    matrices: list  # per group: dict of lambda, psi, theta, nu, alpha
    warnings: list = field(default_factory=list)
    robust: object = None  # coscale.stats.robust.Robust for MLM/MLR (its vcov is then ``vcov``)

    @property
    def ntotal(self) -> int:
        return int(sum(m.n for m in self.moments))

    @property
    def se(self) -> np.ndarray:
        if self.vcov is None:
            return np.full(self.x.shape, np.nan)
        d = np.diag(self.vcov).copy()
        d[d < 0] = np.nan
        return np.sqrt(d)

    def estimates(self) -> np.ndarray:
        """Value of every parameter-table row (free or fixed)."""
        pt = self.partable
        out = pt.value.copy()
        mask = pt.free >= 0
        out[mask] = self.x[pt.free[mask]]
        return out

    def standard_errors(self) -> np.ndarray:
        """SE of every row (0 for fixed rows, as lavaan prints)."""
        pt = self.partable
        se = self.se
        out = np.zeros(len(pt.lhs))
        mask = pt.free >= 0
        out[mask] = se[pt.free[mask]]
        return out


class Engine:
    """Compiled model: maps a free-parameter vector to implied moments and derivatives."""

    def __init__(self, pt: ParTable, moments: list):
        self.pt = pt
        self.moments = [m.reorder(pt.observed) if tuple(m.variables) != tuple(pt.observed) else m for m in moments]
        if len(self.moments) != pt.n_groups:
            raise ValueError("number of moment sets differs from the number of groups")
        self.p = len(pt.observed)
        self.m = len(pt.factors)
        self.q = pt.n_free
        self.ntotal = sum(mm.n for mm in self.moments)
        self.w = np.array([mm.n / self.ntotal for mm in self.moments])
        self.groups = []
        for g in range(pt.n_groups):
            rows = np.array(pt.rows(group=g), dtype=int)
            self.groups.append({mat: rows[[pt.mat[i] == mat for i in rows]] for mat in (LAMBDA, THETA, PSI, NU, ALPHA)})
        self.logdet_s = []
        for mm in self.moments:
            sign, ld = np.linalg.slogdet(mm.cov)
            self.logdet_s.append(ld if sign > 0 else np.nan)

    # -- model matrices ---------------------------------------------------
    def matrices(self, x: np.ndarray, g: int) -> dict:
        pt, p, m = self.pt, self.p, self.m
        vals = pt.value.copy()
        mask = pt.free >= 0
        vals[mask] = x[pt.free[mask]]
        rows = self.groups[g]
        lam = np.zeros((p, m))
        psi = np.zeros((m, m))
        theta = np.zeros((p, p))
        nu = np.zeros(p)
        alpha = np.zeros(m)
        r = rows[LAMBDA]
        lam[pt.row[r], pt.col[r]] = vals[r]
        r = rows[PSI]
        psi[pt.row[r], pt.col[r]] = vals[r]
        psi[pt.col[r], pt.row[r]] = vals[r]
        r = rows[THETA]
        theta[pt.row[r], pt.col[r]] = vals[r]
        theta[pt.col[r], pt.row[r]] = vals[r]
        r = rows[NU]
        nu[pt.row[r]] = vals[r]
        r = rows[ALPHA]
        alpha[pt.row[r]] = vals[r]
        return {"lambda": lam, "psi": psi, "theta": theta, "nu": nu, "alpha": alpha}

    def implied(self, x: np.ndarray, g: int, mats: dict | None = None):
        mats = mats or self.matrices(x, g)
        lam = mats["lambda"]
        sigma = lam @ mats["psi"] @ lam.T + mats["theta"]
        if self.pt.meanstructure:
            mu = mats["nu"] + lam @ mats["alpha"]
        else:
            mu = self.moments[g].mean
        return sigma, mu

    # -- derivatives --------------------------------------------------------
    def jacobian(self, mats: dict, entries, n: int):
        """Derivatives of Sigma (n, p, p) and mu (n, p) for parameter entries.

        ``entries`` is a tuple of arrays ``(index, mat, row, col)``; several
        entries may share an index (equality constraints).
        """
        idx, mat, row, col = entries
        p = self.p
        lam, psi, alpha = mats["lambda"], mats["psi"], mats["alpha"]
        e = np.zeros((n, p, p))
        dmu = np.zeros((n, p))
        sel = mat == 0  # lambda
        if sel.any():
            a = (lam @ psi)[:, col[sel]].T  # (k, p)
            np.add.at(e, (idx[sel], row[sel]), a)
            if self.pt.meanstructure:
                np.add.at(dmu, (idx[sel], row[sel]), alpha[col[sel]])
        sel = mat == 1  # theta
        if sel.any():
            half = np.where(row[sel] == col[sel], 0.5, 1.0)
            np.add.at(e, (idx[sel], row[sel], col[sel]), half)
        sel = mat == 2  # psi
        if sel.any():
            half = np.where(row[sel] == col[sel], 0.5, 1.0)
            outer = lam[:, row[sel]].T[:, :, None] * lam[:, col[sel]].T[:, None, :]
            np.add.at(e, idx[sel], outer * half[:, None, None])
        dsigma = e + e.transpose(0, 2, 1)
        if self.pt.meanstructure:
            sel = mat == 3  # nu
            if sel.any():
                np.add.at(dmu, (idx[sel], row[sel]), 1.0)
            sel = mat == 4  # alpha
            if sel.any():
                np.add.at(dmu, idx[sel], lam[:, row[sel]].T)
        return dsigma, dmu

    _MATCODE = {LAMBDA: 0, THETA: 1, PSI: 2, NU: 3, ALPHA: 4}

    def free_entries(self, g: int):
        pt = self.pt
        rows = np.array([i for i in pt.rows(group=g) if pt.free[i] >= 0], dtype=int)
        return (
            pt.free[rows],
            np.array([self._MATCODE[pt.mat[i]] for i in rows], dtype=int),
            pt.row[rows],
            pt.col[rows],
        )

    # -- objective, gradient, information ---------------------------------
    def evaluate(self, x: np.ndarray, need: str = "f"):
        """Return F, and with ``need`` in {"g", "gi"} the gradient and information."""
        f = 0.0
        grad = np.zeros(self.q)
        info = np.zeros((self.q, self.q))
        for g, mm in enumerate(self.moments):
            mats = self.matrices(x, g)
            sigma, mu = self.implied(x, g, mats)
            try:
                chol = np.linalg.cholesky(sigma)
            except np.linalg.LinAlgError:
                return (np.inf, None, None) if need != "f" else np.inf
            logdet = 2.0 * np.log(np.diag(chol)).sum()
            inv = np.linalg.inv(sigma)
            d = mm.mean - mu
            fg = logdet + np.sum(mm.cov * inv) - self.logdet_s[g] - self.p + d @ inv @ d
            f += self.w[g] * fg
            if need == "f":
                continue
            dsig, dmu = self.jacobian(mats, self.free_entries(g), self.q)
            gmat = inv - inv @ (mm.cov + np.outer(d, d)) @ inv
            gmu = -2.0 * inv @ d
            flat = dsig.reshape(self.q, -1)
            grad += self.w[g] * (flat @ gmat.ravel() + dmu @ gmu)
            if need == "gi":
                info += self.w[g] * information_block(inv, dsig, dmu, dsig, dmu)
        if need == "f":
            return f
        return f, grad, info

    def information(self, x: np.ndarray) -> np.ndarray:
        """Expected (unit) information, weighted N_g / N (lavaan ``information = "expected"``)."""
        return self.evaluate(x, "gi")[2]


def information_block(inv, dsig_a, dmu_a, dsig_b, dmu_b) -> np.ndarray:
    """Expected unit information between two sets of parameters in one group.

    I_ab = 1/2 tr(Sigma^-1 dSigma_a Sigma^-1 dSigma_b) + dmu_a' Sigma^-1 dmu_b,
    computed as matrix products (vec(dSigma_a)' vec(Sigma^-1 dSigma_b Sigma^-1)).
    """
    qb = dsig_b.shape[0]
    right = (inv @ dsig_b @ inv).reshape(qb, -1)
    return 0.5 * dsig_a.reshape(dsig_a.shape[0], -1) @ right.T + dmu_a @ inv @ dmu_b.T


def start_values(pt: ParTable, moments: list) -> np.ndarray:
    """Moment-based starting values.

    Loadings from the first principal axis of each factor's items, residual
    variances from what the factor leaves, factor covariances from the mean
    item covariance between factors, intercepts from the sample means.
    """
    x = np.full(pt.n_free, np.nan)
    observed = pt.observed
    for g, mm in enumerate(moments):
        mm = mm.reorder(observed) if tuple(mm.variables) != tuple(observed) else mm
        s = mm.cov
        lam_est: dict[tuple[int, int], float] = {}
        psi_diag = {}
        for j, f in enumerate(pt.factors):
            items = [pt.row[i] for i in pt.rows(LAMBDA, g) if pt.col[i] == j]
            main = items  # includes cross-loadings; fine for starts
            sub = s[np.ix_(main, main)]
            vals, vecs = np.linalg.eigh(sub)
            v = vecs[:, -1] * np.sqrt(max(vals[-1], 1e-6))
            if v.sum() < 0:
                v = -v
            v = v * 0.9
            marker = [i for i in pt.rows(LAMBDA, g) if pt.col[i] == j and pt.free[i] < 0]
            if marker and abs(v[0]) > 1e-8:
                scale = v[0]
                psi_diag[j] = scale**2
                for k, it in enumerate(main):
                    lam_est[(it, j)] = v[k] / scale
            else:
                psi_diag[j] = 1.0
                for k, it in enumerate(main):
                    lam_est[(it, j)] = v[k]
        cross = {(pt.row[i], pt.col[i]) for i in pt.rows(LAMBDA, g)} - set()
        for i in pt.rows(group=g):
            k = pt.free[i]
            if k < 0 or not np.isnan(x[k]):
                continue
            mat, r, c = pt.mat[i], pt.row[i], pt.col[i]
            if mat == LAMBDA:
                x[k] = lam_est.get((r, c), 0.0)
            elif mat == PSI:
                if r == c:
                    x[k] = psi_diag.get(r, 1.0) if not pt.std_lv else 1.0
                else:
                    ir = [pt.row[t] for t in pt.rows(LAMBDA, g) if pt.col[t] == r]
                    ic = [pt.row[t] for t in pt.rows(LAMBDA, g) if pt.col[t] == c]
                    cov = s[np.ix_(ir, ic)].mean()
                    lr = np.mean([lam_est.get((t, r), 1.0) for t in ir])
                    lc = np.mean([lam_est.get((t, c), 1.0) for t in ic])
                    val = cov / (lr * lc) if lr * lc != 0 else 0.0
                    vr = psi_diag.get(r, 1.0) if not pt.std_lv else 1.0
                    vc = psi_diag.get(c, 1.0) if not pt.std_lv else 1.0
                    bound = 0.8 * np.sqrt(vr * vc)
                    x[k] = float(np.clip(val, -bound, bound))
            elif mat == THETA:
                if r == c:
                    explained = sum(
                        lam_est.get((r, j), 0.0) ** 2 * (psi_diag.get(j, 1.0)) for j in range(len(pt.factors))
                    )
                    x[k] = max(s[r, r] - explained, 0.1 * s[r, r])
                else:
                    x[k] = 0.0
            elif mat == NU:
                x[k] = mm.mean[r]
            elif mat == ALPHA:
                x[k] = 0.0
        del cross
    x[np.isnan(x)] = 0.0
    return x


def fit_ml(pt: ParTable, moments: list, *, start: np.ndarray | None = None, max_iter: int = 500, tol: float = 1e-10) -> Fit:
    """Fit a (multi-group) CFA by normal-theory ML.

    Fisher scoring with step halving (Lee & Jennrich 1979): each step solves
    the expected information against the analytic gradient; a step that
    leaves an implied covariance matrix non-positive-definite or raises the
    discrepancy is halved. The expected information at the solution gives
    the standard errors (lavaan ``se = "standard"``, ``information =
    "expected"``).

    Parameters
    ----------
    pt : ParTable
        From :func:`coscale.stats.model.build_partable`.
    moments : list of GroupMoments
        One per group, in the order of the parameter table's groups.
    start : ndarray, optional
        Starting values (e.g. from a nested model); moment-based otherwise.

    Returns
    -------
    Fit

    Notes
    -----
    Equivalent R: ``lavaan::cfa(model, data, group = ..., estimator = "ML")``.
    """
    eng = Engine(pt, moments)
    warnings: list[str] = []
    singular = [
        (pt.group_labels[g] if pt.n_groups > 1 else "")
        for g, mm in enumerate(eng.moments)
        if not np.isfinite(eng.logdet_s[g]) or np.linalg.eigvalsh(mm.cov).min() <= 1e-10 * max(np.trace(mm.cov), 1e-300)
    ]
    if singular:
        where = f" in group {', '.join(singular)}" if pt.n_groups > 1 else ""
        warnings.append(
            f"The sample covariance matrix{where} is not positive definite (an item is constant or a linear "
            "combination of others), so the model cannot be estimated by ML: remove or merge that item."
        )
        x = start_values(pt, eng.moments) if start is None else np.array(start, dtype=float)
        return _failed(eng, pt, x, warnings)
    x = start_values(pt, eng.moments) if start is None else np.array(start, dtype=float)
    if not np.isfinite(eng.evaluate(x, "f")):
        x = start_values(pt, eng.moments)
    x, f, info, converged, it = minimize_scoring(eng.evaluate, x, max_iter=max_iter, tol=tol)
    if not converged:
        warnings.append(
            "The model did not converge: the estimates are not a maximum of the likelihood. "
            "Check for items with almost no variance, factors with only two items, or too few respondents."
        )
    return _finish(eng, pt, x, f, info, converged, it, warnings)


def minimize_scoring(evaluate, x, *, max_iter: int = 500, tol: float = 1e-10):
    """Minimise a discrepancy by Fisher scoring with step halving, then L-BFGS-B if needed.

    ``evaluate(x, need)`` returns F for ``need="f"`` (``inf`` outside the
    admissible region) and ``(F, gradient, information)`` for ``"g"``/``"gi"``,
    where ``2 * information`` approximates the Hessian of F (the expected
    information for ML). Every estimator of coscale plugs its discrepancy in
    here.

    Returns
    -------
    x, F, information, converged, iterations
    """
    f, grad, info = evaluate(x, "gi")
    converged = False
    it = 0
    if np.isfinite(f):
        for it in range(1, max_iter + 1):
            try:
                step = -np.linalg.solve(2.0 * info, grad)
            except np.linalg.LinAlgError:
                step = -np.linalg.lstsq(2.0 * info, grad, rcond=None)[0]
            t = 1.0
            while True:
                xn = x + t * step
                fn = evaluate(xn, "f")
                if np.isfinite(fn) and fn <= f + 1e-14:
                    break
                t *= 0.5
                if t < 1e-10:
                    xn, fn = x, f
                    break
            change = f - fn
            x = xn
            f, grad, info = evaluate(x, "gi")
            if np.max(np.abs(grad)) < 1e-9 or (
                0 <= change < tol * max(1.0, abs(f)) and np.max(np.abs(t * step)) < 1e-7
            ):
                converged = True
                break
    if not converged:
        # fall back on a quasi-Newton run from where scoring stopped
        from scipy.optimize import minimize

        def objective(z):
            fz, gz, _ = evaluate(z, "g")
            if not np.isfinite(fz) or gz is None:  # outside the admissible region
                return 1e20, np.zeros_like(z)
            return fz, gz

        res = minimize(objective, x, jac=True, method="L-BFGS-B",
                       options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
        if np.isfinite(res.fun) and (not np.isfinite(f) or res.fun <= f):
            x = res.x
            f, grad, info = evaluate(x, "gi")
        converged = bool(grad is not None and np.isfinite(f) and np.max(np.abs(grad)) < 1e-5)
    return x, f, info, converged, it


def _failed(eng: Engine, pt: ParTable, x, warnings) -> Fit:
    """A Fit that says the model could not be estimated (all statistics NaN)."""
    p = eng.p
    moments_per_group = p * (p + 1) // 2 + (p if pt.meanstructure else 0)
    mats = [eng.matrices(x, g) for g in range(pt.n_groups)]
    return Fit(
        partable=pt, x=np.asarray(x, dtype=float), moments=eng.moments, chisq=float("nan"),
        df=int(pt.n_groups * moments_per_group - pt.n_free), npar=int(pt.n_free), fmin=float("nan"),
        logl=float("nan"), unrestricted_logl=float("nan"), converged=False, iterations=0, vcov=None,
        implied=[eng.implied(x, g, mats[g]) for g in range(pt.n_groups)], matrices=mats, warnings=warnings,
    )


def admissibility_warnings(pt: ParTable, mats: dict, label: str = "", *, latent_responses: bool = False) -> list[str]:
    """Plain warnings for an inadmissible solution of one group.

    A negative residual variance (Heywood case), a negative factor variance,
    or a factor covariance matrix that is not positive definite. ``label``
    names the group (e.g. ``" in group citizen"``); ``latent_responses``
    words the residuals as those of ordinal items' latent responses (WLSMV).
    """
    out = []
    neg = [pt.observed[i] for i in range(len(pt.observed)) if mats["theta"][i, i] < 0]
    if neg:
        if latent_responses:
            out.append(
                f"Heywood case{label}: negative residual variance of the latent response for {', '.join(neg)} "
                "(standardized loading above 1). The item may be nearly redundant with another; "
                "consider dropping or merging items."
            )
        else:
            out.append(
                f"Heywood case{label}: negative residual variance for {', '.join(neg)}. "
                "The item may be nearly redundant with another or the factor may be over-extracted; "
                "consider dropping or merging items, or check for outliers."
            )
    psi = mats["psi"]
    if np.any(np.diag(psi) < 0):
        bad = [pt.factors[i] for i in range(len(pt.factors)) if psi[i, i] < 0]
        out.append(f"Negative factor variance{label} for {', '.join(bad)}: the model is not admissible.")
    elif len(psi) > 1 and np.linalg.eigvalsh(psi).min() <= 0:
        out.append(
            f"The factor covariance matrix{label} is not positive definite (a factor correlation at or "
            "beyond 1): two scales may measure the same construct; check discriminant validity (HTMT)."
        )
    return out


def _finish(eng: Engine, pt: ParTable, x, f, info, converged, iterations, warnings) -> Fit:
    n = eng.ntotal
    p = eng.p
    moments_per_group = p * (p + 1) // 2 + (p if pt.meanstructure else 0)
    df = pt.n_groups * moments_per_group - pt.n_free
    vcov = None
    try:
        cond = np.linalg.cond(info)
        if np.isfinite(cond) and cond < 1e12:
            vcov = np.linalg.inv(info) / n
        else:
            warnings.append(
                "The information matrix is singular: the model may not be identified, so standard errors "
                "are not available. Check that every factor has a marker or fixed variance and enough items."
            )
    except np.linalg.LinAlgError:
        warnings.append("The information matrix could not be inverted: standard errors are not available.")
    implied, mats = [], []
    logl = 0.0
    unres = 0.0
    for g, mm in enumerate(eng.moments):
        mg = eng.matrices(x, g)
        sigma, mu = eng.implied(x, g, mg)
        implied.append((sigma, mu))
        mats.append(mg)
        sign, ld = np.linalg.slogdet(sigma)
        inv = np.linalg.inv(sigma)
        d = mm.mean - mu
        logl += -0.5 * mm.n * (p * np.log(2 * np.pi) + ld + np.sum(mm.cov * inv) + d @ inv @ d)
        unres += -0.5 * mm.n * (p * np.log(2 * np.pi) + eng.logdet_s[g] + p)
        label = f" in group {pt.group_labels[g]}" if pt.n_groups > 1 else ""
        warnings += admissibility_warnings(pt, mg, label)
        if not np.isfinite(eng.logdet_s[g]) or np.linalg.eigvalsh(mm.cov).min() <= 1e-12:
            warnings.append(
                f"The sample covariance matrix{label} is not positive definite: an item is constant or a "
                "linear combination of others; remove it."
            )
    return Fit(
        partable=pt,
        x=x,
        moments=eng.moments,
        chisq=float(n * f),
        df=int(df),
        npar=int(pt.n_free),
        fmin=float(f / 2.0),
        logl=float(logl),
        unrestricted_logl=float(unres),
        converged=bool(converged),
        iterations=int(iterations),
        vcov=vcov,
        implied=implied,
        matrices=mats,
        warnings=warnings,
    )
