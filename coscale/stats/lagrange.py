"""Lagrange multiplier (score) tests: modification indices and released equality constraints.

For parameters c that are fixed (or tied to others) in the fitted model, the
score test (Rao 1948; Sorbom 1989 for SEM; Satorra 1989) is::

    X2    = (N / 4) g_c' V^-1 g_c,      V = I_cc - I_cf I_ff^-1 I_fc
    EPC_c = -(1 / 2) V^-1 g_c           (one parameter at a time)

with g_c = dF/dc the gradient of the ML discrepancy of
:mod:`coscale.stats.estimate` and I the expected unit information.

* A modification index is the test for one fixed parameter:
  ``lavaan::modindices(fit)``.
* Releasing a cross-group equality constraint is the test for a new
  parameter delta_g added to group g's copy of the shared parameter
  (theta_g = theta + delta_g); for two groups this equals
  ``lavaan::lavTestScore(fit)$uni``. With more groups coscale tests the
  release of a parameter in all groups at once (df = G - 1).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from coscale.stats.estimate import Engine, Fit, information_block
from coscale.stats.model import LAMBDA, THETA


def _score_blocks(fit: Fit, eng: Engine, cands: list[tuple]):
    """Gradient g (c,) and V (c, c) for candidate entries ``(group, matcode, row, col)``."""
    c = len(cands)
    grad = np.zeros(c)
    i_cc = np.zeros((c, c))
    i_cf = np.zeros((c, eng.q))
    for g, mm in enumerate(eng.moments):
        sel = [k for k, cand in enumerate(cands) if cand[0] == g]
        if not sel:
            continue
        mats = fit.matrices[g]
        sigma, mu = fit.implied[g]
        inv = np.linalg.inv(sigma)
        d = mm.mean - mu
        entries = (
            np.arange(len(sel)),
            np.array([cands[k][1] for k in sel]),
            np.array([cands[k][2] for k in sel]),
            np.array([cands[k][3] for k in sel]),
        )
        dsig_c, dmu_c = eng.jacobian(mats, entries, len(sel))
        dsig_f, dmu_f = eng.jacobian(mats, eng.free_entries(g), eng.q)
        w = eng.w[g]
        gmat = inv - inv @ (mm.cov + np.outer(d, d)) @ inv
        grad[sel] = w * (dsig_c.reshape(len(sel), -1) @ gmat.ravel() + dmu_c @ (-2.0 * inv @ d))
        i_cc[np.ix_(sel, sel)] = w * information_block(inv, dsig_c, dmu_c, dsig_c, dmu_c)
        i_cf[sel] = w * information_block(inv, dsig_c, dmu_c, dsig_f, dmu_f)
    inv_ff = np.linalg.pinv(eng.information(fit.x))
    v = i_cc - i_cf @ inv_ff @ i_cf.T
    return grad, v


def modification_indices(fit: Fit, top: int | None = None, minimum: float = 0.0) -> list[dict]:
    """Modification indices, expected parameter changes and standardized EPCs.

    Candidates are lavaan's defaults for a CFA: every loading and every
    residual covariance not in the model, in every group.

    Parameters
    ----------
    fit : Fit
    top : int, optional
        Return only the ``top`` largest.
    minimum : float
        Drop indices below this value.

    Returns
    -------
    list of dict
        lhs, op, rhs, group, mi, epc, sepc_all; sorted by mi, largest first.

    Notes
    -----
    Equivalent R: ``lavaan::modindices(fit, sort. = TRUE)``.
    """
    pt = fit.partable
    eng = Engine(pt, fit.moments)
    cands, names = [], []
    for g in range(pt.n_groups):
        have_l = {(pt.row[i], pt.col[i]) for i in pt.rows(LAMBDA, g)}
        have_t = {(pt.row[i], pt.col[i]) for i in pt.rows(THETA, g)}
        for j, f in enumerate(pt.factors):
            for i, v in enumerate(pt.observed):
                if (i, j) not in have_l:
                    cands.append((g, 0, i, j))
                    names.append((f, "=~", v))
        p = len(pt.observed)
        for i in range(p):
            for j in range(i + 1, p):
                if (j, i) not in have_t:
                    cands.append((g, 1, j, i))
                    names.append((pt.observed[i], "~~", pt.observed[j]))
    if not cands:
        return []
    grad, v = _score_blocks(fit, eng, cands)
    n = eng.ntotal
    rows = []
    for t, (cand, name) in enumerate(zip(cands, names)):
        vt = v[t, t]
        if vt <= 1e-12:
            continue
        g, code, r, c = cand
        mi = n * grad[t] ** 2 / (4.0 * vt)
        epc = -grad[t] / (2.0 * vt)
        mats = fit.matrices[g]
        sigma, _ = fit.implied[g]
        if code == 0:
            sepc = epc * np.sqrt(max(mats["psi"][c, c], 0.0)) / np.sqrt(sigma[r, r])
        else:
            th = mats["theta"]
            denom = th[r, r] * th[c, c]
            sepc = epc / np.sqrt(denom) if denom > 0 else np.nan
        if mi >= minimum:
            rows.append(
                {
                    "lhs": name[0],
                    "op": name[1],
                    "rhs": name[2],
                    "group": pt.group_labels[g] if pt.n_groups > 1 else "",
                    "mi": float(mi),
                    "epc": float(epc),
                    "sepc_all": float(sepc),
                }
            )
    rows.sort(key=lambda r: -r["mi"])
    return rows[:top] if top else rows


def release_tests(fit: Fit, kinds=None) -> list[dict]:
    """Score tests for releasing each cross-group equality constraint of a fit.

    One test per constrained parameter (e.g. the intercept of x3): the
    release of its equality in every group beyond the first, df = G - 1.

    Parameters
    ----------
    fit : Fit
        A multi-group fit with ``group_equal`` constraints.
    kinds : sequence of str, optional
        Only constraints of these kinds (``"loadings"``, ``"intercepts"``,
        ``"residuals"``, ...); all by default.

    Returns
    -------
    list of dict
        parameter (lavaan name, e.g. ``"x3~1"``), kind, lhs, op, rhs, x2, df,
        pvalue, epc (per released group, group 2.. order); sorted by x2.

    Notes
    -----
    Equivalent R (two groups): ``lavaan::lavTestScore(fit)$uni``, one row
    per ``.pX. == .pY.`` constraint.
    """
    pt = fit.partable
    eng = Engine(pt, fit.moments)
    code = {"lambda": 0, "theta": 1, "psi": 2, "nu": 3, "alpha": 4}
    by_name: dict[str, list[int]] = {}
    for i in range(len(pt.lhs)):
        if not pt.label[i] or pt.free[i] < 0 or pt.group[i] == 0:
            continue
        if kinds is not None and pt.kind(i) not in kinds:
            continue
        by_name.setdefault(pt.name(i), []).append(i)
    if not by_name:
        return []
    cands, owner = [], []
    for name, rows in by_name.items():
        for i in rows:
            cands.append((int(pt.group[i]), code[pt.mat[i]], int(pt.row[i]), int(pt.col[i])))
            owner.append(name)
    grad_all, v_all = _score_blocks(fit, eng, cands)
    owner = np.array(owner)
    out = []
    n = eng.ntotal
    for name, rows in by_name.items():
        sel = np.flatnonzero(owner == name)
        grad, v = grad_all[sel], v_all[np.ix_(sel, sel)]
        try:
            sol = np.linalg.solve(v, grad)
        except np.linalg.LinAlgError:
            continue
        x2 = float(n / 4.0 * grad @ sol)
        i0 = rows[0]
        out.append(
            {
                "parameter": name,
                "kind": pt.kind(i0),
                "lhs": pt.lhs[i0],
                "op": pt.op[i0],
                "rhs": pt.rhs[i0],
                "x2": x2,
                "df": len(rows),
                "pvalue": float(stats.chi2.sf(x2, len(rows))),
                "epc": [float(e) for e in -0.5 * sol],
            }
        )
    out.sort(key=lambda r: -r["x2"])
    return out
