"""Lagrange multiplier (score) tests: modification indices for fixed parameters.

For a parameter c fixed in the fitted model, the score test (Rao 1948;
Sorbom 1989 for SEM) is::

    MI_c  = N (dF/dc)^2 / (4 V_c),   V_c = I_cc - I_cf I_ff^-1 I_fc
    EPC_c = -(dF/dc) / (2 V_c)

with F the ML discrepancy of :mod:`coscale.stats.estimate` and I the expected
unit information. This is ``lavaan::modindices(fit)`` (expected information).
"""

from __future__ import annotations

import numpy as np

from coscale.stats.estimate import Engine, Fit
from coscale.stats.model import LAMBDA, THETA


def _candidates(fit: Fit, g: int):
    """Fixed-at-zero loadings and residual covariances of group g (lavaan's defaults)."""
    pt = fit.partable
    have_l = {(pt.row[i], pt.col[i]) for i in pt.rows(LAMBDA, g)}
    have_t = {(pt.row[i], pt.col[i]) for i in pt.rows(THETA, g)}
    out = []
    for j, f in enumerate(pt.factors):
        for i, v in enumerate(pt.observed):
            if (i, j) not in have_l:
                out.append((0, i, j, f, "=~", v))
    p = len(pt.observed)
    for i in range(p):
        for j in range(i + 1, p):
            if (j, i) not in have_t:
                out.append((1, j, i, pt.observed[i], "~~", pt.observed[j]))
    return out


def modification_indices(fit: Fit, top: int | None = None, minimum: float = 0.0) -> list[dict]:
    """Modification indices, expected parameter changes and standardized EPCs.

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
    n = eng.ntotal
    full_info = eng.information(fit.x)
    try:
        inv_ff = np.linalg.inv(full_info)
    except np.linalg.LinAlgError:
        return []
    rows = []
    for g, mm in enumerate(eng.moments):
        cands = _candidates(fit, g)
        if not cands:
            continue
        mats = fit.matrices[g]
        sigma, mu = fit.implied[g]
        inv = np.linalg.inv(sigma)
        d = mm.mean - mu
        k = len(cands)
        entries = (
            np.arange(k),
            np.array([c[0] for c in cands]),
            np.array([c[1] for c in cands]),
            np.array([c[2] for c in cands]),
        )
        dsig_c, dmu_c = eng.jacobian(mats, entries, k)
        dsig_f, dmu_f = eng.jacobian(mats, eng.free_entries(g), eng.q)
        w = eng.w[g]
        gmat = inv - inv @ (mm.cov + np.outer(d, d)) @ inv
        grad = w * (np.einsum("ij,kij->k", gmat, dsig_c) + dmu_c @ (-2.0 * inv @ d))
        a_c = np.einsum("ij,kjl->kil", inv, dsig_c)
        a_f = np.einsum("ij,kjl->kil", inv, dsig_f)
        i_cc = w * (0.5 * np.einsum("aij,aji->a", a_c, a_c) + np.einsum("ai,ij,aj->a", dmu_c, inv, dmu_c))
        i_cf = w * (0.5 * np.einsum("aij,bji->ab", a_c, a_f) + dmu_c @ inv @ dmu_f.T)
        v = i_cc - np.einsum("ab,bc,ac->a", i_cf, inv_ff, i_cf)
        sd_x = np.sqrt(np.diag(sigma))
        sd_f = np.sqrt(np.clip(np.diag(mats["psi"]), 0, None))
        theta = mats["theta"]
        for t, c in enumerate(cands):
            if v[t] <= 1e-12:
                continue
            mi = n * grad[t] ** 2 / (4.0 * v[t])
            epc = -grad[t] / (2.0 * v[t])
            if c[0] == 0:
                sepc = epc * sd_f[c[2]] / sd_x[c[1]]
            else:
                denom = theta[c[1], c[1]] * theta[c[2], c[2]]
                sepc = epc / np.sqrt(denom) if denom > 0 else np.nan
            if mi >= minimum:
                rows.append(
                    {
                        "lhs": c[3],
                        "op": c[4],
                        "rhs": c[5],
                        "group": pt.group_labels[g] if pt.n_groups > 1 else "",
                        "mi": float(mi),
                        "epc": float(epc),
                        "sepc_all": float(sepc),
                    }
                )
    rows.sort(key=lambda r: -r["mi"])
    return rows[:top] if top else rows
