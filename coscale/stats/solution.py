"""The parameter estimates of a fit as a table: estimates, SEs, z, p and standardized values."""

from __future__ import annotations

import numpy as np
from coscale.stats.probability import two_sided_p

from coscale.stats.estimate import Fit
from coscale.stats.model import ALPHA, LAMBDA, NU, PSI, THETA


def standardized(fit: Fit) -> tuple[np.ndarray, np.ndarray]:
    """``std.lv`` and ``std.all`` of every parameter-table row.

    std.lv scales by the factor SDs; std.all also by the model-implied SDs of
    the items (residual (co)variances by the residual variances' roots, so a
    residual covariance becomes a residual correlation), as
    ``lavaan::standardizedSolution`` / ``parameterEstimates(standardized = TRUE)``.
    """
    pt = fit.partable
    est = fit.estimates()
    std_lv = np.full(len(est), np.nan)
    std_all = np.full(len(est), np.nan)
    for i in range(len(est)):
        g = pt.group[i]
        mats = fit.matrices[g]
        sigma, _ = fit.implied[g]
        sd_f = np.sqrt(np.clip(np.diag(mats["psi"]), 0, None))
        sd_x = np.sqrt(np.clip(np.diag(sigma), 0, None))
        r, c, m = pt.row[i], pt.col[i], pt.mat[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            if m == LAMBDA:
                std_lv[i] = est[i] * sd_f[c]
                std_all[i] = est[i] * sd_f[c] / sd_x[r]
            elif m == PSI:
                std_lv[i] = est[i] / (sd_f[r] * sd_f[c])
                std_all[i] = std_lv[i]
            elif m == THETA:
                std_lv[i] = est[i]
                if r == c:
                    std_all[i] = est[i] / sd_x[r] ** 2
                else:
                    # lavaan divides by sqrt(|theta_rr|) sqrt(|theta_cc|), so a residual
                    # correlation stays defined next to a negative (Heywood) variance
                    th = mats["theta"]
                    std_all[i] = est[i] / np.sqrt(abs(th[r, r]) * abs(th[c, c]))
            elif m == NU:
                std_lv[i] = est[i]
                std_all[i] = est[i] / sd_x[r]
            elif m == ALPHA:
                std_lv[i] = est[i] / sd_f[r] if sd_f[r] > 0 else np.nan
                std_all[i] = std_lv[i]
    return std_lv, std_all


def parameter_table(fit: Fit) -> list[dict]:
    """Rows like ``lavaan::parameterEstimates(fit, standardized = TRUE)``.

    Each row: lhs, op, rhs, group (label), est, se, z, pvalue, std_lv,
    std_all, free (bool), label (equality label or "").
    """
    pt = fit.partable
    est = fit.estimates()
    se = fit.standard_errors()
    std_lv, std_all = standardized(fit)
    rows = []
    for i in range(len(est)):
        free = bool(pt.free[i] >= 0)
        z = est[i] / se[i] if free and se[i] > 0 else np.nan
        p = two_sided_p(z)
        rows.append(
            {
                "lhs": pt.lhs[i],
                "op": pt.op[i],
                "rhs": pt.rhs[i],
                "group": pt.group_labels[pt.group[i]] if pt.n_groups > 1 else "",
                "est": float(est[i]),
                "se": float(se[i]) if free else 0.0,
                "z": float(z),
                "pvalue": float(p),
                "std_lv": float(std_lv[i]),
                "std_all": float(std_all[i]),
                "free": free,
                "label": pt.label[i],
            }
        )
    return rows


def factor_correlations(fit: Fit, group: int = 0) -> np.ndarray:
    """Model-implied factor correlation matrix of one group."""
    psi = fit.matrices[group]["psi"]
    sd = np.sqrt(np.clip(np.diag(psi), 1e-300, None))
    return psi / np.outer(sd, sd)
