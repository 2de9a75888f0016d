"""Lagrange multiplier (score) tests: modification indices and released equality constraints.

For parameters c that are fixed (or tied to others) in the fitted model, the
score test (Rao 1948; Sorbom 1989 for SEM; Satorra 1989) is::

    X2    = (N / 4) g_c' V^-1 g_c,      V = I_cc - I_cx I_xx^-1 I_xc
    EPC_c = -(1 / 2) V^-1 g_c           (one parameter at a time)

with g_c = dF/dc the gradient of the discrepancy F of the fit's estimator
(``chisq = N F``) and I the unit information (``2 I`` ~ the Hessian of F),
both evaluated at the constrained estimates x.

One generic mechanism serves every estimator whose engine gives F, its
gradient and information (:meth:`coscale.stats.estimate.Engine.evaluate`):

1. build the *augmented* parameter table in which the parameters under test
   are free: the fixed parameters added (modification indices), or each
   released group's copy of an equal parameter given its own index (the
   table ``build_partable(..., group_partial = partial + candidates)``
   would give);
2. put the constrained solution into it (every released copy takes the
   shared value, a new parameter 0);
3. evaluate its gradient and information ONCE, with the engine that fits
   this kind of data: :class:`~coscale.stats.estimate.Engine` for complete
   data (sample moments), :class:`~coscale.stats.fiml.FimlEngine` for FIML
   fits (the casewise likelihood of the missingness patterns);
4. map to (x, delta) coordinates (the augmented vector is T (x, delta):
   released copy = shared value + delta) and form the statistic per
   candidate from the blocks.

For complete data this is exactly the closed form on the sample moments
that coscale used before; for FIML it is lavaan's score test on the FIML
likelihood.

* A modification index is the test for one fixed parameter:
  ``lavaan::modindices(fit)``.
* Releasing a cross-group equality constraint is the test for a new
  parameter delta_g added to group g's copy of the shared parameter
  (theta_g = theta + delta_g); for two groups this equals
  ``lavaan::lavTestScore(fit)$uni``. With more groups coscale tests the
  release of a parameter in all groups at once (df = G - 1).

Information: ``lavTestScore`` and ``modindices`` have their own argument
``information = "expected"`` and use it whatever the fit's
``lavoptions$information`` is -- also under ``missing = "ml"``, where the fit
itself (standard errors) uses the observed information
(``tests/reference/score_fiml.R`` records both). The default here is
therefore the expected information; ``information = "observed"`` gives
lavaan's ``information = "observed"`` variant.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from coscale.stats.probability import chi2_sf

from coscale.stats.estimate import Engine, Fit
from coscale.stats.fiml import FimlEngine, FimlFit
from coscale.stats.model import LAMBDA, THETA, ParTable

INFORMATION = ("expected", "observed")


# ---------------------------------------------------------------------------
# The generic machinery
# ---------------------------------------------------------------------------
def score_engine(fit: Fit, pt: ParTable) -> Engine:
    """The engine that fits ``fit``'s kind of data, compiled for another parameter table ``pt``.

    :class:`~coscale.stats.fiml.FimlEngine` on the fit's missingness patterns
    (reusing its saturated EM estimates) for a :class:`~coscale.stats.fiml.FimlFit`,
    :class:`~coscale.stats.estimate.Engine` on the fit's sample moments
    otherwise.
    """
    if isinstance(fit, FimlFit):
        return FimlEngine(pt, fit.patterns, h1=fit.h1 or None)
    return Engine(pt, fit.moments)


def _gradient_information(fit: Fit, pt: ParTable, z: np.ndarray, information: str):
    """Gradient and unit information of ``fit``'s discrepancy for table ``pt`` at ``z`` (one evaluation).

    ``None, None`` when the model cannot be evaluated there.
    """
    if information not in INFORMATION:
        raise ValueError(f"information must be one of {INFORMATION}, not {information!r}")
    eng = score_engine(fit, pt)
    f, grad, info = eng.evaluate(z, "gi" if information == "expected" else "g")
    if grad is None or not np.isfinite(f):
        return None, None
    if information == "observed":
        if isinstance(eng, FimlEngine):
            info = eng.observed_information(z)
        else:
            from coscale.stats.robust import observed_information

            info = observed_information(dataclasses.replace(fit, partable=pt, x=z, moments=eng.moments))
    return grad, info


def _conditional(info: np.ndarray, tx: np.ndarray, td: np.ndarray):
    """I_dd, I_dx I_xx^+ I_xd and I_dx in (x, delta) coordinates, augmented = tx x + td delta."""
    i_dd = td.T @ info @ td
    i_dx = td.T @ info @ tx
    i_xx = tx.T @ info @ tx
    return i_dd, i_dx @ np.linalg.pinv(i_xx) @ i_dx.T


def _usable(fit: Fit) -> bool:
    return fit.x is not None and np.all(np.isfinite(fit.x)) and np.isfinite(fit.chisq)


# ---------------------------------------------------------------------------
# Modification indices
# ---------------------------------------------------------------------------
def _with_candidates(pt: ParTable, cands: list[tuple]) -> ParTable:
    """``pt`` with the candidate parameters ``(lhs, op, rhs, group, mat, row, col)`` added, free, at 0."""
    q = pt.n_free
    add = {k: [] for k in ("lhs", "op", "rhs", "group", "mat", "row", "col")}
    for cand in cands:
        for key, val in zip(add, cand):
            add[key].append(val)
    k = len(cands)
    return dataclasses.replace(
        pt,
        lhs=list(pt.lhs) + add["lhs"],
        op=list(pt.op) + add["op"],
        rhs=list(pt.rhs) + add["rhs"],
        group=np.concatenate([pt.group, np.array(add["group"], dtype=int)]),
        mat=list(pt.mat) + add["mat"],
        row=np.concatenate([pt.row, np.array(add["row"], dtype=int)]),
        col=np.concatenate([pt.col, np.array(add["col"], dtype=int)]),
        free=np.concatenate([pt.free, q + np.arange(k, dtype=int)]),
        value=np.concatenate([pt.value, np.zeros(k)]),
        label=list(pt.label) + [""] * k,
    )


def modification_indices(
    fit: Fit, top: int | None = None, minimum: float = 0.0, *, information: str = "expected"
) -> list[dict]:
    """Modification indices, expected parameter changes and standardized EPCs.

    Candidates are lavaan's defaults for a CFA: every loading and every
    residual covariance not in the model, in every group. Complete-data and
    FIML fits alike (the score test of the fit's own likelihood).

    Parameters
    ----------
    fit : Fit
        Complete-data ML fit or :class:`~coscale.stats.fiml.FimlFit`.
    top : int, optional
        Return only the ``top`` largest.
    minimum : float
        Drop indices below this value.
    information : {"expected", "observed"}
        lavaan's ``modindices(..., information = )``; ``"expected"`` is its
        default, also for FIML fits.

    Returns
    -------
    list of dict
        lhs, op, rhs, group, mi, epc, sepc_all; sorted by mi, largest first.

    Notes
    -----
    Equivalent R: ``lavaan::modindices(fit, sort. = TRUE)``.
    """
    pt = fit.partable
    cands, names = [], []
    for g in range(pt.n_groups):
        have_l = {(pt.row[i], pt.col[i]) for i in pt.rows(LAMBDA, g)}
        have_t = {(pt.row[i], pt.col[i]) for i in pt.rows(THETA, g)}
        for j, f in enumerate(pt.factors):
            for i, v in enumerate(pt.observed):
                if (i, j) not in have_l:
                    cands.append((f, "=~", v, g, LAMBDA, i, j))
                    names.append((f, "=~", v))
        p = len(pt.observed)
        for i in range(p):
            for j in range(i + 1, p):
                if (j, i) not in have_t:
                    cands.append((pt.observed[i], "~~", pt.observed[j], g, THETA, j, i))
                    names.append((pt.observed[i], "~~", pt.observed[j]))
    if not cands or not _usable(fit):
        return []
    aug = _with_candidates(pt, cands)
    q, c = pt.n_free, len(cands)
    grad, info = _gradient_information(fit, aug, np.concatenate([fit.x, np.zeros(c)]), information)
    if grad is None:
        return []
    # augmented = (x, c): T is the identity; only the diagonal of V is needed
    i_cx = info[q:, :q]
    v = np.diag(info[q:, q:]) - np.einsum("ij,ij->i", i_cx @ np.linalg.pinv(info[:q, :q]), i_cx)
    g_c = grad[q:]
    n = fit.ntotal
    rows = []
    for t, (cand, name) in enumerate(zip(cands, names)):
        vt = v[t]
        if vt <= 1e-12:
            continue
        g, code, r, col = cand[3], cand[4], cand[5], cand[6]
        mi = n * g_c[t] ** 2 / (4.0 * vt)
        epc = -g_c[t] / (2.0 * vt)
        mats = fit.matrices[g]
        sigma, _ = fit.implied[g]
        if code == LAMBDA:
            sepc = epc * np.sqrt(max(mats["psi"][col, col], 0.0)) / np.sqrt(sigma[r, r])
        else:
            th = mats["theta"]
            denom = th[r, r] * th[col, col]
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


# ---------------------------------------------------------------------------
# Released equality constraints
# ---------------------------------------------------------------------------
def released_partable(pt: ParTable, names) -> tuple[ParTable, list[tuple[str, int, int]]]:
    """The parameter table with the cross-group equalities of ``names`` released.

    Every copy of a released parameter beyond the first group gets a free
    index of its own (after the constrained model's ``pt.n_free``); all other
    rows keep their indices, so the augmented vector is the constrained one
    followed by the released copies. The result is, up to the order of the
    free indices, ``build_partable(..., group_partial = pt.group_partial +
    names)``.

    Returns
    -------
    ParTable
    list of (name, new index, shared index)
        One entry per released copy, in index order.
    """
    names = set(names)
    free = pt.free.copy()
    label = list(pt.label)
    q = pt.n_free
    copies = []
    for i in range(len(pt.lhs)):
        nm = pt.name(i)
        if nm not in names or not label[i] or pt.free[i] < 0:
            continue
        label[i] = ""
        if pt.group[i] == 0:
            continue
        free[i] = q + len(copies)
        copies.append((nm, int(free[i]), int(pt.free[i])))
    partial = tuple(sorted(set(pt.group_partial) | names))
    return dataclasses.replace(pt, free=free, label=label, group_partial=partial), copies


def release_tests(fit: Fit, kinds=None, *, information: str = "expected") -> list[dict]:
    """Score tests for releasing each cross-group equality constraint of a fit.

    One test per constrained parameter (e.g. the intercept of x3): the
    release of its equality in every group beyond the first, df = G - 1.
    Complete-data ML and FIML fits alike: the gradient and information are
    those of the fit's own likelihood, from one evaluation of the augmented
    model (all candidates released) at the constrained estimates.

    Parameters
    ----------
    fit : Fit
        A multi-group fit with ``group_equal`` constraints (complete-data ML
        or :class:`~coscale.stats.fiml.FimlFit`).
    kinds : sequence of str, optional
        Only constraints of these kinds (``"loadings"``, ``"intercepts"``,
        ``"residuals"``, ...); all by default.
    information : {"expected", "observed"}
        lavaan's ``lavTestScore(..., information = )``; ``"expected"`` is its
        default, also for FIML fits (whose standard errors use the observed
        information).

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
    by_name: dict[str, list[int]] = {}
    for i in range(len(pt.lhs)):
        if not pt.label[i] or pt.free[i] < 0 or pt.group[i] == 0:
            continue
        if kinds is not None and pt.kind(i) not in kinds:
            continue
        by_name.setdefault(pt.name(i), []).append(i)
    if not by_name or not _usable(fit):
        return []
    aug, copies = released_partable(pt, by_name)
    q, d = pt.n_free, len(copies)
    tx = np.zeros((q + d, q))
    tx[np.arange(q), np.arange(q)] = 1.0
    tx[[k for _, k, _ in copies], [s for _, _, s in copies]] = 1.0
    td = np.zeros((q + d, d))
    td[q + np.arange(d), np.arange(d)] = 1.0
    grad_aug, info = _gradient_information(fit, aug, tx @ fit.x, information)
    if grad_aug is None:
        return []
    grad_all = td.T @ grad_aug
    i_dd, cond = _conditional(info, tx, td)
    v_all = i_dd - cond
    owner = np.array([nm for nm, _, _ in copies])
    out = []
    n = fit.ntotal
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
                "pvalue": chi2_sf(x2, len(rows)),
                "epc": [float(e) for e in -0.5 * sol],
            }
        )
    out.sort(key=lambda r: -r["x2"])
    return out
