"""Percentile bootstrap confidence intervals for alpha and omega of several scales at once.

Pure computation (numpy / scipy / pandas): no printing, no I/O.

One bootstrap replicate resamples the respondents (rows) with replacement. A
replicate is represented by its vector of draw counts ``c`` (how often each
row was drawn), so every statistic of the resample is a weighted sum over the
original rows, computed for a block of replicates by one matrix product::

    n_r   = sum_i c_ri
    mean  = sum_i c_ri x_i / n_r
    S_r   = sum_i c_ri x_i x_i' / n_r - mean mean'

Raw rows never reach an optimiser: each replicate's one-factor CFA is fitted
to its moments only, starting from the full-sample estimates (warm start).

* alpha: raw alpha from pairwise-complete covariances, as ``psych::alpha``
  (and :func:`coscale.stats.reliability.cronbach_alpha`). The row draws are
  the ones :func:`coscale.stats.reliability.alpha_bootstrap_ci` makes for
  the same seed, so its interval is reproduced exactly.
* omega: ``(sum lambda)^2 psi / sum(S_r)`` from a one-factor ML CFA of the
  replicate's complete cases on the scale's items (marker identification),
  as ``semTools::compRelSEM(fit)`` with ``obs.var = TRUE``; with
  ``missing = "fiml"`` a FIML fit to the replicate's missingness patterns
  (counts, means and covariances per pattern, again weighted sums) whose
  denominator is the EM estimate of the total variance, as
  :func:`coscale.api._one_factor` computes the point estimate.

The fits of one scale are vectorised over a block of replicates (and over
missingness patterns): Fisher scoring, then Newton steps, with closed-form
derivatives of the one-factor model (:class:`_OneFactor`, checked against
:class:`coscale.stats.estimate.Engine` and
:class:`coscale.stats.fiml.FimlEngine` in ``tests/test_bootstrap.py``), and
the EM algorithm of :func:`coscale.stats.fiml.saturated` (:func:`_em`).

Determinism: the row draws come from ``numpy.random.default_rng(seed)`` in
fixed blocks of 100 replicates, all made in the calling process; the fits are
split into the same fixed tasks (one scale x one block) whatever the number
of worker processes, and each replicate starts from the full-sample estimates
(never from another replicate), so the result is byte-identical for any
``workers``.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from coscale.errors import InputError
from coscale.stats import reliability as rel
from coscale.stats.estimate import start_values
from coscale.stats.model import ALPHA, LAMBDA, NU, PSI, THETA, MeasurementModel, ParTable, build_partable
from coscale.stats.moments import GroupMoments

__all__ = ["BootstrapCI", "bootstrap_reliability", "bootstrap_indices"]

#: Replicates per block of row draws and per fitting task: the block of
#: :func:`coscale.stats.reliability.bootstrap_indices`. Fixed (not tuned to the
#: number of workers or to memory): the random stream and the split of the
#: work, hence the result for a given seed, must not depend on either.
BLOCK = rel.BOOT_BLOCK

#: Rows x items^2 cells of per-row cross-products held at once for alpha
#: (as ``coscale.stats.reliability._BOOT_CELLS``).
_CELLS = 4_000_000

MISSING = ("listwise", "fiml")


# ---------------------------------------------------------------------------
# Result type
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BootstrapCI:
    """Bootstrap confidence intervals for the alpha and omega of one scale.

    Attributes
    ----------
    scale : str
        Scale name.
    items : tuple of str
        The scale's item columns.
    alpha : float
        Full-sample raw alpha (pairwise covariances, ``psych::alpha``).
    alpha_ci : ConfidenceInterval
        Percentile interval of the alpha replicates
        (``method="bootstrap-percentile"``; ``n_valid`` = replicates with a
        finite alpha).
    omega : float or None
        Full-sample omega, equal to the one :func:`coscale.api.validate`
        reports (``None`` for fewer than 3 items or too few answers).
    omega_ci : ConfidenceInterval or None
        Percentile interval of the omega replicates; ``None`` when omega is
        not defined or no replicate gave one.
    n_boot : int
        Replicates drawn.
    n_valid_alpha, n_valid_omega : int
        Replicates with a finite alpha / with a converged one-factor fit and
        a finite omega; the percentiles are taken over these.
    level : float
        Coverage of both intervals.
    seed : int
        Seed of the row draws.
    missing : str
        How omega's CFA treated missing answers: ``"listwise"`` or ``"fiml"``.
    method : str
        One-line description of the procedure, for reports.
    alpha_replicates, omega_replicates : numpy.ndarray
        The replicate values, read-only, in replicate order (NaN where
        invalid; ``omega_replicates`` is all NaN when omega is not defined).
    omega_unavailable : str
        Why ``omega`` is ``None`` (the message ``coscale.api._one_factor``
        gives); empty otherwise.
    notes : tuple of str
        About the bootstrap itself, for the report's warnings: replicates
        whose alpha or omega could not be computed, cold starts after a
        full-sample fit that did not converge.
    """

    scale: str
    items: tuple
    alpha: float
    alpha_ci: rel.ConfidenceInterval
    omega: float | None
    omega_ci: rel.ConfidenceInterval | None
    n_boot: int
    n_valid_alpha: int
    n_valid_omega: int
    level: float
    seed: int
    missing: str
    method: str
    alpha_replicates: np.ndarray = field(repr=False)
    omega_replicates: np.ndarray = field(repr=False)
    omega_unavailable: str = ""
    notes: tuple = ()


# ---------------------------------------------------------------------------
# Row draws
# ---------------------------------------------------------------------------
#: the row draws of :func:`coscale.stats.reliability.alpha_bootstrap_ci` (one generator for both)
bootstrap_indices = rel.bootstrap_indices


def _counts(idx: np.ndarray) -> np.ndarray:
    """Draw counts per row, (b, n) float, from a block of indices (b, n)."""
    b, n = idx.shape
    return np.bincount((idx + (np.arange(b) * n)[:, None]).ravel(),
                       minlength=b * n).reshape(b, n).astype(float)


# ---------------------------------------------------------------------------
# Alpha replicates (pairwise covariances), as reliability._bootstrap_alphas
# ---------------------------------------------------------------------------
class _AlphaSums:
    """Per-row cross-products of one scale for pairwise-complete covariances.

    Every pairwise sum of a replicate is its count vector times a per-row
    product: answered-both indicators, x_i where j is answered, x_i x_j.
    The arithmetic is that of ``reliability._bootstrap_alphas`` step for
    step, so the replicates are bit-identical to it.
    """

    def __init__(self, values: np.ndarray):
        n, k = values.shape
        self.k = k
        present = ~np.isnan(values)
        self.z = np.where(present, values - np.nanmean(values, axis=0), 0.0)
        self.m = present.astype(float)
        rows = max(1, _CELLS // (k * k))
        self.chunks = [slice(a, min(a + rows, n)) for a in range(0, n, rows)]
        self.cached = [self._cross(sl) for sl in self.chunks] if len(self.chunks) == 1 else None

    def _cross(self, sl):
        k = self.k
        zs, ms = self.z[sl], self.m[sl]
        r = zs.shape[0]
        return ((ms[:, :, None] * ms[:, None, :]).reshape(r, k * k),
                (zs[:, :, None] * ms[:, None, :]).reshape(r, k * k),
                (zs[:, :, None] * zs[:, None, :]).reshape(r, k * k))

    def alphas(self, counts: np.ndarray) -> np.ndarray:
        k = self.k
        b = counts.shape[0]
        nij = np.zeros((b, k * k))
        si = np.zeros((b, k * k))
        sij = np.zeros((b, k * k))
        for c, sl in enumerate(self.chunks):
            mm, zm, zz = self.cached[c] if self.cached is not None else self._cross(sl)
            w = counts[:, sl]
            nij += w @ mm
            si += w @ zm
            sij += w @ zz
        return rel.alpha_from_pairwise_sums(nij, si, sij, k)


# ---------------------------------------------------------------------------
# Replicate moments for omega
# ---------------------------------------------------------------------------
class _CompleteSums:
    """Weighted moments of a scale's complete rows (listwise deletion per replicate)."""

    def __init__(self, values: np.ndarray):
        k = values.shape[1]
        self.k = k
        self.rows = np.flatnonzero(~np.isnan(values).any(axis=1))
        x = values[self.rows]
        # centre at the full-sample complete-case means (less cancellation)
        self.centre = x.mean(axis=0) if len(x) else np.zeros(k)
        z = x - self.centre
        self.z = z
        self.zz = (z[:, :, None] * z[:, None, :]).reshape(len(z), k * k)

    def moments(self, counts: np.ndarray):
        """(n, mean, cov) of each replicate's complete cases; cov divided by n (lavaan)."""
        k = self.k
        w = counts[:, self.rows]
        n = w.sum(axis=1)
        s1 = w @ self.z
        s2 = (w @ self.zz).reshape(-1, k, k)
        with np.errstate(divide="ignore", invalid="ignore"):
            m = s1 / n[:, None]
            cov = s2 / n[:, None, None] - m[:, :, None] * m[:, None, :]
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        return n, m + self.centre, cov


class _PatternSums:
    """Weighted missingness-pattern statistics of a scale (FIML per replicate).

    The rows with at least one answer are grouped by pattern once (as
    :meth:`coscale.stats.fiml.MissingPatterns.from_values` does); a replicate's
    pattern counts, means and ML covariances are weighted sums over each
    pattern's rows. Rows without any answer are left out, as lavaan does.
    """

    def __init__(self, values: np.ndarray):
        p = values.shape[1]
        self.p = p
        obs = ~np.isnan(values)
        used = np.flatnonzero(obs.any(axis=1))
        pats, inverse = np.unique(obs[used], axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        self.observed = pats.astype(bool)
        self.centre = np.array([values[obs[:, j], j].mean() if obs[:, j].any() else 0.0 for j in range(p)])
        z = np.where(obs[used], values[used] - self.centre, 0.0)
        self.groups = []
        for k in range(len(pats)):
            sel = inverse == k
            zk = z[sel]
            self.groups.append((used[sel], zk, (zk[:, :, None] * zk[:, None, :]).reshape(len(zk), p * p)))

    def moments(self, counts: np.ndarray):
        """Per replicate and pattern: counts (b, K), means (b, K, p) and covariances (b, K, p, p).

        Means and covariances are 0 in unobserved entries and for patterns the
        replicate did not draw.
        """
        p, b = self.p, counts.shape[0]
        K = len(self.groups)
        n = np.empty((b, K))
        mean = np.zeros((b, K, p))
        cov = np.zeros((b, K, p, p))
        for k, (rows, z, zz) in enumerate(self.groups):
            w = counts[:, rows]
            nk = w.sum(axis=1)
            drawn = nk > 0
            m = (w[drawn] @ z) / nk[drawn, None]
            c = (w[drawn] @ zz).reshape(-1, p, p) / nk[drawn, None, None] - m[:, :, None] * m[:, None, :]
            obs = self.observed[k]
            n[:, k] = nk
            mean[drawn, k] = np.where(obs, m + self.centre, 0.0)
            c = 0.5 * (c + np.swapaxes(c, 1, 2))
            cov[drawn, k] = np.where(obs[:, None] & obs[None, :], c, 0.0)
        return n, mean, cov


# ---------------------------------------------------------------------------
# Batched one-factor ML / FIML fit
# ---------------------------------------------------------------------------
class _Patterns:
    """Missingness patterns shared by the replicates of a scale: Sigma_k^-1 and log|Sigma_k| in bulk.

    As :class:`coscale.stats.fiml._Stack`: a pattern's inverse comes from the
    one inverse ``P = Sigma^-1`` by the Schur complement ``Sigma_oo^-1 = P_oo -
    P_om P_mm^-1 P_mo`` and ``log|Sigma_oo| = log|Sigma| + log|P_mm|`` (a rank-one
    update for the common pattern missing one item), batched over replicates
    and patterns; replicates whose Sigma is not positive definite (allowed
    when no pattern observes every item) invert each pattern directly.
    """

    def __init__(self, observed: np.ndarray):
        obs = np.asarray(observed, dtype=bool)
        K, p = obs.shape
        self.obs = obs
        self.p = p
        self.both = obs[:, :, None] & obs[:, None, :]
        self.miss_eye = np.zeros((K, p, p))
        kk, jj = np.nonzero(~obs)
        self.miss_eye[kk, jj, jj] = 1.0
        n_miss = p - obs.sum(axis=1)
        self.groups = []
        for m in np.unique(n_miss):
            ks = np.flatnonzero(n_miss == m)
            self.groups.append((int(m), ks, np.nonzero(~obs[ks])[1].reshape(len(ks), int(m))))

    def inverses(self, sigma: np.ndarray, drawn: np.ndarray):
        """Sigma_k^-1 embedded in zeros (B, K, p, p), log|Sigma_k| (B, K), and a flag (B,): all PD.

        Patterns a replicate did not draw (``drawn`` False) get zeros.
        """
        b = sigma.shape[0]
        K, p = self.obs.shape
        inv = np.zeros((b, K, p, p))
        logdet = np.zeros((b, K))
        pd_ = np.linalg.eigvalsh(sigma)[:, 0] > 0
        ok = pd_.copy()
        rows = np.flatnonzero(pd_)
        if rows.size:
            s = sigma[rows]
            pinv = np.linalg.inv(s)
            pinv = 0.5 * (pinv + np.swapaxes(pinv, 1, 2))
            ld = np.linalg.slogdet(s)[1]
            for m, ks, mi in self.groups:
                if m == 0:
                    w = np.broadcast_to(pinv[:, None], (rows.size, ks.size, p, p))
                    lk = np.broadcast_to(ld[:, None], (rows.size, ks.size))
                elif m == 1:
                    j = mi[:, 0]
                    pjj = pinv[:, j, j]  # (B, K_m)
                    pj = pinv[:, j, :]  # (B, K_m, p)
                    w = pinv[:, None] - pj[..., :, None] * pj[..., None, :] / pjj[..., None, None]
                    lk = ld[:, None] + np.log(pjj)
                else:
                    pmm = pinv[:, mi[:, :, None], mi[:, None, :]]  # (B, K_m, m, m)
                    pm = pinv[:, mi]  # (B, K_m, m, p)
                    w = pinv[:, None] - np.swapaxes(pm, -1, -2) @ np.linalg.solve(pmm, pm)
                    lk = ld[:, None] + np.linalg.slogdet(pmm)[1]
                inv[np.ix_(rows, ks)] = np.where(self.both[ks], w, 0.0)
                logdet[np.ix_(rows, ks)] = lk
        rest = np.flatnonzero(~pd_)
        if rest.size:  # direct inverses of the observed blocks (identity on the unobserved)
            emb = np.where(self.both, sigma[rest][:, None], 0.0) + self.miss_eye
            emb = np.where(drawn[rest][:, :, None, None], emb, np.eye(p))
            good = np.all(np.linalg.eigvalsh(emb)[..., 0] > 0, axis=1)
            emb = np.where(good[:, None, None, None], emb, np.eye(p))
            inv[rest] = np.linalg.inv(emb) - self.miss_eye
            logdet[rest] = np.linalg.slogdet(emb)[1]
            ok[rest] = good
        inv = np.where(drawn[:, :, None, None], inv, 0.0)
        logdet = np.where(drawn, logdet, 0.0)
        return inv, logdet, ok


def _sigma_information(w: np.ndarray, lam: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """``1/2 tr(W dSigma_a W dSigma_b)`` for (lambda, theta, psi) of a one-factor model.

    ``w`` has shape (..., p, p) (one inverse per replicate, or per replicate
    and pattern); ``lam`` (B, p) and ``psi`` (B,) broadcast against its
    leading axis. Closed form with ``u = W lambda``, ``c = lambda' W lambda``.
    """
    p = lam.shape[-1]
    extra = w.ndim - 3  # pattern axes between the replicate axis and the matrix
    shape = (lam.shape[0],) + (1,) * extra
    lam = lam.reshape(shape + (p,))
    psi = psi.reshape(shape)
    u = (w @ lam[..., :, None])[..., 0]
    c = (lam * u).sum(axis=-1)
    full = 2 * p + 1
    out = np.empty(w.shape[:-2] + (full, full))
    lt = psi[..., None, None] * w * u[..., None, :]
    out[..., :p, :p] = psi[..., None, None] ** 2 * (u[..., :, None] * u[..., None, :] + c[..., None, None] * w)
    out[..., :p, p:2 * p] = lt
    out[..., p:2 * p, :p] = np.swapaxes(lt, -1, -2)
    out[..., :p, 2 * p] = out[..., 2 * p, :p] = (psi * c)[..., None] * u
    out[..., p:2 * p, p:2 * p] = 0.5 * w**2
    out[..., p:2 * p, 2 * p] = out[..., 2 * p, p:2 * p] = 0.5 * u**2
    out[..., 2 * p, 2 * p] = 0.5 * c**2
    return out


class _OneFactor:
    """ML fit of one one-factor model to many replicates at once, complete data or FIML.

    The model is ``Sigma = psi lambda lambda' + diag(theta)``, with intercepts
    ``mu = nu`` when the parameter table has a mean structure (FIML). It is
    parameterised as the table of :func:`~coscale.stats.model.build_partable`
    (marker item or ``std_lv``; :func:`~coscale.stats.fiml.with_meanstructure`
    for FIML), so a parameter vector here is one of
    :func:`~coscale.stats.estimate.fit_ml` / :func:`~coscale.stats.fiml.fit_fiml`.

    A replicate's data are its missingness patterns (K of them, the same
    ``observed`` masks for every replicate): weights ``n_k / N``, means and
    ML covariances of the observed answers. Complete data are one pattern
    that observes everything. The discrepancy::

        F = sum_k (n_k / N) [log|Sigma_k| + tr(Sigma_k^-1 S_k) + d_k' Sigma_k^-1 d_k]

    (``d_k = m_k - mu_k``; 0 without a mean structure) is that of
    :class:`coscale.stats.estimate.Engine` (complete data) and of
    :class:`coscale.stats.fiml.FimlEngine` up to a constant, with the same
    gradient, expected information and exact Hessian, in closed form and
    vectorised over replicates and patterns. Each replicate follows its own
    iterations; a converged replicate is no longer touched. A replicate that
    does not converge is invalid, as lavaan's bootstrap drops the runs whose
    fit did not converge.
    """

    def __init__(self, pt: ParTable, observed: np.ndarray | None = None):
        p = len(pt.observed)
        if len(pt.factors) != 1 or pt.n_groups != 1:
            raise ValueError("_OneFactor needs a single-group one-factor table")
        self.p = p
        self.means = bool(pt.meanstructure)
        self.nfs = 2 * p + 1  # lambda_1..p, theta_1..p, psi: the parameters of Sigma
        full = self.nfs + (p if self.means else 0)  # then nu_1..p
        value = np.full(full, np.nan)
        where = np.full(full, -1)
        for i in range(len(pt.lhs)):
            mat, r, c = pt.mat[i], int(pt.row[i]), int(pt.col[i])
            if mat == LAMBDA:
                j = r
            elif mat == THETA and r == c:
                j = p + r
            elif mat == PSI:
                j = 2 * p
            elif mat == NU:
                j = self.nfs + r
            elif mat == ALPHA and pt.free[i] < 0 and pt.value[i] == 0.0:
                continue  # latent mean fixed at 0: mu = nu
            else:
                raise ValueError("_OneFactor handles loadings, residual variances, the factor variance "
                                 "and intercepts only")
            value[j] = pt.value[i]
            where[j] = pt.free[i]
        q = pt.n_free
        if sorted(where[where >= 0].tolist()) != list(range(q)):
            raise ValueError("every free parameter must appear exactly once")
        self.q = q
        self.fixed = np.where(where >= 0, 0.0, value)
        self.free_full = np.argsort(np.where(where >= 0, where, full + np.arange(full)))[:q]
        obs = np.ones((1, p), dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
        self.obs = obs
        self.patterns = _Patterns(obs)

    # -- parameters -----------------------------------------------------------
    def unpack(self, x: np.ndarray):
        """lambda (B, p), theta (B, p), psi (B,), nu (B, p) or None."""
        full = np.broadcast_to(self.fixed, (x.shape[0], self.fixed.size)).copy()
        full[:, self.free_full] = x
        p = self.p
        nu = full[:, self.nfs:] if self.means else None
        return full[:, :p], full[:, p:2 * p], full[:, 2 * p], nu

    def sigma(self, lam, theta, psi):
        sigma = psi[:, None, None] * lam[:, :, None] * lam[:, None, :]
        d = np.arange(self.p)
        sigma[:, d, d] += theta
        return sigma

    # -- pattern algebra --------------------------------------------------------
    def _parts(self, x, data):
        wk, mean, cov = data
        lam, theta, psi, nu = self.unpack(x)
        sigma = self.sigma(lam, theta, psi)
        inv, logdet, ok = self.patterns.inverses(sigma, wk > 0)
        if self.means:
            d = np.where(self.obs, mean - nu[:, None, :], 0.0)
        else:
            d = np.zeros_like(mean)
        wd = (inv @ d[..., None])[..., 0]
        return lam, psi, inv, logdet, ok, d, wd

    def evaluate(self, x, data, need="f"):
        """F per replicate; with ``need="gi"`` also the gradient and the expected information."""
        wk, mean, cov = data
        p = self.p
        lam, psi, inv, logdet, ok, d, wd = self._parts(x, data)
        quad = (inv * cov).sum(axis=(-2, -1)) + (d * wd).sum(axis=-1)
        f = np.where(ok, (wk * (logdet + quad)).sum(axis=1), np.inf)
        if need == "f":
            return f
        v = inv @ cov @ inv + wd[..., :, None] * wd[..., None, :]
        g = np.einsum("bk,bkij->bij", wk, inv - v)
        gl = (g @ lam[:, :, None])[:, :, 0]
        diag = np.arange(p)
        parts = [2.0 * psi[:, None] * gl, g[:, diag, diag], (lam * gl).sum(axis=1)[:, None]]
        info_k = _sigma_information(inv, lam, psi)
        if self.means:
            parts.append(-2.0 * np.einsum("bk,bki->bi", wk, wd))
            full = self.nfs + p
            info = np.zeros((x.shape[0], full, full))
            info[:, :self.nfs, :self.nfs] = np.einsum("bk,bkxy->bxy", wk, info_k)
            info[:, self.nfs:, self.nfs:] = np.einsum("bk,bkij->bij", wk, inv)
        else:
            info = np.einsum("bk,bkxy->bxy", wk, info_k)
        grad = np.concatenate(parts, axis=1)
        k = self.free_full
        return f, grad[:, k], info[:, k][:, :, k]

    def hessian(self, x, data):
        """Exact Hessian of F per replicate (Newton steps near the solution).

        Per pattern, with ``A = dSigma/da``, ``W = Sigma_k^-1``,
        ``V = W (S_k + d d') W`` and ``m_a = dmu/da`` (the terms of
        :meth:`coscale.stats.fiml.FimlEngine.observed_information`)::

            -tr(A W B W) + tr(A W B V) + tr(A V B W) + tr((W - V) d2Sigma/da db)
            + 2 d'W A W m_b + 2 d'W B W m_a + 2 m_a' W m_b

        weighted by ``n_k / N``; at ``S = Sigma`` (complete data) it is twice
        the expected information.
        """
        wk, mean, cov = data
        p, nfs = self.p, self.nfs
        b = x.shape[0]
        lam, psi, inv, logdet, ok, d, wd = self._parts(x, data)
        v = inv @ cov @ inv + wd[..., :, None] * wd[..., None, :]
        g = np.einsum("bk,bkij->bij", wk, inv - v)
        ds = np.zeros((b, nfs, p, p))
        pl = psi[:, None] * lam
        for j in range(p):  # d Sigma / d lambda_j = psi (e_j lambda' + lambda e_j')
            ds[:, j, j, :] += pl
            ds[:, j, :, j] += pl
        diag = np.arange(p)
        ds[:, p + diag, diag, diag] = 1.0
        ds[:, 2 * p] = lam[:, :, None] * lam[:, None, :]
        # sum_k n_k/N [-tr(A W B W) + tr(A W B V) + tr(A V B W)] = vec(A)' M vec(B) with
        # M[(i,j),(l,m)] = sum_k n_k/N [W_jl (V - W)_mi + V_jl W_mi]: one matrix product over patterns
        K = inv.shape[1]
        left = np.concatenate([wk[:, :, None, None] * inv, wk[:, :, None, None] * v], axis=1)
        right = np.concatenate([v - inv, inv], axis=1)
        m = np.swapaxes(left.reshape(b, 2 * K, p * p), 1, 2) @ right.reshape(b, 2 * K, p * p)
        m = m.reshape(b, p, p, p, p).transpose(0, 4, 1, 2, 3).reshape(b, p * p, p * p)  # (j,l,m,i) -> (i,j,l,m)
        flat = ds.reshape(b, nfs, p * p)
        hs = flat @ m @ np.swapaxes(flat, 1, 2)
        gl = (g @ lam[:, :, None])[:, :, 0]
        hs[:, :p, :p] += 2.0 * psi[:, None, None] * g
        hs[:, :p, 2 * p] += 2.0 * gl
        hs[:, 2 * p, :p] += 2.0 * gl
        if self.means:
            h = np.zeros((b, nfs + p, nfs + p))
            h[:, :nfs, :nfs] = hs
            # 2 sum_k n_k/N (W A W d)_j = 2 vec(A)' R[:, j], R[(i,l), j] = sum_k n_k/N W_ji (W d)_l
            r = np.swapaxes((wk[:, :, None, None] * inv).reshape(b, K, p * p), 1, 2) @ wd  # [(j,i), l]
            r = r.reshape(b, p, p, p).transpose(0, 2, 3, 1).reshape(b, p * p, p)  # -> [(i,l), j]
            cross = 2.0 * flat @ r
            h[:, :nfs, nfs:] = cross
            h[:, nfs:, :nfs] = np.swapaxes(cross, 1, 2)
            h[:, nfs:, nfs:] = 2.0 * np.einsum("bk,bkij->bij", wk, inv)
        else:
            h = hs
        h = 0.5 * (h + np.swapaxes(h, 1, 2))
        k = self.free_full
        return h[:, k][:, :, k]

    # -- optimiser --------------------------------------------------------------
    @staticmethod
    def _steps(info, grad):
        try:
            return -np.linalg.solve(2.0 * info, grad[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # some information matrix singular: one by one, as minimize_scoring
            out = np.empty_like(grad)
            for r in range(grad.shape[0]):
                try:
                    out[r] = -np.linalg.solve(2.0 * info[r], grad[r])
                except np.linalg.LinAlgError:
                    out[r] = -np.linalg.lstsq(2.0 * info[r], grad[r], rcond=None)[0]
            return out

    def _newton(self, x, data, grad, info, switch: float = 1e-3):
        """Replace the expected information by half the Hessian where the gradient is small and H is PD."""
        near = np.flatnonzero(np.max(np.abs(grad), axis=1) < switch)
        if near.size:
            h = self.hessian(x[near], _take(data, near))
            pd_ = np.linalg.eigvalsh(h)[:, 0] > 0
            info[near[pd_]] = 0.5 * h[pd_]
        return info

    def fit(self, x0, data, *, max_iter: int = 200, gtol: float = 1e-12):
        """Fisher scoring, Newton steps near the solution, step halving; returns x and a converged flag.

        The steps are those of :func:`coscale.stats.estimate.minimize_scoring`
        (expected information) until the largest gradient element is below
        1e-3, then Newton steps with the exact Hessian (quadratic
        convergence), as :func:`coscale.stats.fiml.fit_fiml` does. A replicate
        has converged when its largest gradient element is below ``gtol``, or
        below 1e-6 when no step can lower F any more (floating-point floor).
        It has failed when it is stuck with a larger gradient, or after
        ``max_iter`` iterations (typically an ML solution that runs off to
        infinity, e.g. an item that is almost constant in the replicate).
        """
        b = data[0].shape[0]
        x = np.array(x0, dtype=float, copy=True)
        f, grad, info = self.evaluate(x, data, "gi")
        converged = np.zeros(b, dtype=bool)
        live = np.isfinite(f)
        if live.any():
            idx = np.flatnonzero(live)
            info[idx] = self._newton(x[idx], _take(data, idx), grad[idx], info[idx])
        for _ in range(max_iter):
            a = np.flatnonzero(live & ~converged)
            if a.size == 0:
                break
            step = self._steps(info[a], grad[a])
            xa, fa, da = x[a], f[a], _take(data, a)
            t = np.ones(a.size)
            xn = xa + step
            fn = self.evaluate(xn, da, "f")
            while True:
                bad = ~(np.isfinite(fn) & (fn <= fa + 1e-14))
                if not bad.any():
                    break
                t[bad] *= 0.5
                stuck = bad & (t < 1e-10)
                xn[stuck], fn[stuck] = xa[stuck], fa[stuck]
                redo = np.flatnonzero(bad & ~stuck)
                if redo.size:
                    xn[redo] = xa[redo] + t[redo, None] * step[redo]
                    fn[redo] = self.evaluate(xn[redo], _take(da, redo), "f")
            change = fa - fn
            fa, ga, ia = self.evaluate(xn, da, "gi")
            ia = self._newton(xn, da, ga, ia)
            x[a], f[a], grad[a], info[a] = xn, fa, ga, ia
            gmax = np.max(np.abs(ga), axis=1)
            floor = ((change >= 0) & (change <= 1e-15 * np.maximum(1.0, np.abs(fa)))
                     & (np.max(np.abs(t[:, None] * step), axis=1) < 1e-10))
            converged[a[(gmax < gtol) | (floor & (gmax < 1e-6))]] = True
            live[a[floor & (gmax >= 1e-6)]] = False  # stuck away from a stationary point: give up
        return x, converged

    def omega(self, x, total_cov):
        """(sum lambda)^2 psi / sum(S), semTools::compRelSEM with obs.var = TRUE."""
        lam, _, psi, _ = self.unpack(x)
        return lam.sum(axis=1) ** 2 * psi / total_cov.sum(axis=(1, 2))


def _take(data, idx):
    return tuple(a[idx] for a in data)


def _em(obs, wk, mean, cov, mu0, sigma0, *, tol: float = 1e-12, max_iter: int = 10000):
    """EM estimates of the means and covariances (FIML h1), vectorised over replicates.

    The iteration of :func:`coscale.stats.fiml.saturated` (conditional means
    ``mu + Sigma W_k d_k``, conditional covariances ``Sigma - Sigma W_k Sigma``)
    on every replicate at once, started from the full-sample EM estimates.
    Returns mean (B, p), cov (B, p, p) and a converged flag (B,).
    """
    b, K, p = mean.shape
    patterns = _Patterns(obs)
    mu = np.tile(mu0, (b, 1))
    sigma = np.tile(sigma0, (b, 1, 1))
    converged = np.zeros(b, dtype=bool)
    ok = np.ones(b, dtype=bool)
    for _ in range(max_iter):
        a = np.flatnonzero(ok & ~converged)
        if a.size == 0:
            break
        w_a, s_a, m_a, c_a = wk[a], sigma[a], mu[a], cov[a]
        inv, _, good = patterns.inverses(s_a, w_a > 0)
        ok[a[~good]] = False
        d = np.where(obs, mean[a] - m_a[:, None, :], 0.0)
        wd = (inv @ d[..., None])[..., 0]
        yhat = m_a[:, None, :] + (s_a[:, None] @ wd[..., None])[..., 0]
        inner = np.einsum("bk,bkij->bij", w_a, inv @ c_a @ inv - inv)
        mu_new = np.einsum("bk,bki->bi", w_a, yhat)
        sig_new = (s_a + s_a @ inner @ s_a + np.einsum("bk,bki,bkj->bij", w_a, yhat, yhat)
                   - mu_new[:, :, None] * mu_new[:, None, :])
        sig_new = 0.5 * (sig_new + np.swapaxes(sig_new, 1, 2))
        delta = np.maximum(np.max(np.abs(mu_new - m_a), axis=1), np.max(np.abs(sig_new - s_a), axis=(1, 2)))
        scale = np.maximum(1.0, np.maximum(np.max(np.abs(mu_new), axis=1),
                                           np.max(np.diagonal(sig_new, axis1=1, axis2=2), axis=1)))
        mu[a], sigma[a] = mu_new, sig_new
        converged[a[(delta < tol * scale) & good]] = True
    return mu, sigma, converged & ok


def _singular(s: np.ndarray) -> np.ndarray:
    """fit_ml's test for a sample covariance matrix it refuses to fit, per replicate."""
    ev = np.linalg.eigvalsh(s)
    tr = np.trace(s, axis1=1, axis2=2)
    sign = np.linalg.slogdet(s)[0]
    return ~(sign > 0) | (ev[:, 0] <= 1e-10 * np.maximum(tr, 1e-300))


# ---------------------------------------------------------------------------
# Fitting tasks (module level, so worker processes can run them)
# ---------------------------------------------------------------------------
def _listwise_task(task) -> np.ndarray:
    """Omega of a block of replicates from their complete-case moments."""
    pt, start, n, mean, cov = task
    k = len(pt.observed)
    b = n.shape[0]
    out = np.full(b, np.nan)
    usable = (n > k) & np.all(np.isfinite(cov), axis=(1, 2))
    idx = np.flatnonzero(usable)
    if idx.size:
        idx = idx[~_singular(cov[idx])]
    if idx.size == 0:
        return out
    s = cov[idx]
    if start is None:  # cold starts: fit_ml's moment-based start values
        x0 = np.array([start_values(pt, [GroupMoments("", int(n[r]), tuple(pt.observed), mean[r], cov[r])])
                       for r in idx])
    else:
        x0 = np.broadcast_to(np.asarray(start, dtype=float), (idx.size, pt.n_free))
    model = _OneFactor(pt)
    x, conv = model.fit(x0, (np.ones((idx.size, 1)), mean[idx][:, None], s[:, None]))
    out[idx] = np.where(conv, model.omega(x, s), np.nan)
    return out


def _fiml_task(task) -> np.ndarray:
    """Omega of a block of replicates by FIML from their pattern statistics.

    The denominator is the EM estimate of the items' covariance matrix
    (lavaan ``sampstat.h1``), as for the full-sample omega.
    """
    pt, start, h1, observed, n, mean, cov = task
    p = len(pt.observed)
    b = n.shape[0]
    out = np.full(b, np.nan)
    total = n.sum(axis=1)
    o = observed.astype(float)
    per_item = n @ o  # answers per item
    pairs = np.einsum("bk,ki,kj->bij", n, o, o)  # answers per pair of items
    usable = (total > p) & np.all(per_item > 0, axis=1) & np.all(pairs > 0, axis=(1, 2))
    idx = np.flatnonzero(usable)
    if idx.size == 0:
        return out
    wk = n[idx] / total[idx, None]
    data = (wk, mean[idx], cov[idx])
    mu_h1, sigma_h1, ok = _em(observed, *data, h1[0], h1[1])
    ok &= ~_singular(sigma_h1)
    keep = np.flatnonzero(ok)
    if keep.size == 0:
        return out
    idx, data, sigma_h1 = idx[keep], _take(data, keep), sigma_h1[keep]
    if start is None:  # cold starts: fit_fiml's moment-based start values from the EM moments
        x0 = np.array([start_values(pt, [GroupMoments("", int(total[r]), tuple(pt.observed), mu_h1[j], sigma_h1[j])])
                       for j, r in zip(keep, idx)])
    else:
        x0 = np.broadcast_to(np.asarray(start, dtype=float), (idx.size, pt.n_free))
    model = _OneFactor(pt, observed)
    x, conv = model.fit(x0, data)
    out[idx] = np.where(conv, model.omega(x, sigma_h1), np.nan)
    return out


class _Runner:
    """Runs fitting tasks here (``workers=1``) or in a process pool, as they are made.

    Tasks are submitted while the calling process computes the next block's
    moments, so the draws and the fits overlap. Results are identical either
    way: a task's result depends on the task alone. Without a usable process
    pool (e.g. no semaphores in a sandbox) the tasks run here.
    """

    def __init__(self, fn, workers: int):
        self.fn = fn
        self.pool = None
        self.items: list = []  # (task, future or result)
        if workers > 1:
            try:
                self.pool = ProcessPoolExecutor(max_workers=workers, initializer=_one_blas_thread)
            except (OSError, NotImplementedError):
                self.pool = None

    def submit(self, task) -> None:
        if self.pool is not None:
            try:
                self.items.append((task, self.pool.submit(self.fn, task)))
                return
            except (OSError, RuntimeError, BrokenProcessPool):
                self.close()
        self.items.append((task, self.fn(task)))

    def results(self) -> list:
        out = []
        try:
            for task, item in self.items:
                if isinstance(item, Future):
                    try:
                        item = item.result()
                    except (OSError, BrokenProcessPool):
                        item = self.fn(task)
                out.append(item)
        finally:
            self.close()
        return out

    def close(self) -> None:
        """Shut the pool down (pending tasks are cancelled)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _one_blas_thread():
    """Limit BLAS to one thread in this process (threadpoolctl, when installed); a context manager.

    The matrices here are small, so BLAS threads only cost time (1.5-2x on a
    busy machine), and workers x BLAS threads would oversubscribe the cores.
    The command line sets ``OPENBLAS_NUM_THREADS=1`` anyway; this covers
    calls from Python. Returns the limiter (keep it to undo on exit) or a
    no-op context.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: the results are the same, only slower
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _cpu_count() -> int:
    if hasattr(os, "process_cpu_count"):  # Python >= 3.13
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


# ---------------------------------------------------------------------------
# Public function
# ---------------------------------------------------------------------------
def _percentile(values: np.ndarray, level: float, n_boot: int):
    valid = values[np.isfinite(values)]
    if valid.size == 0:
        return None, 0
    lo, hi = np.quantile(valid, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return rel.ConfidenceInterval(float(lo), float(hi), float(level), "bootstrap-percentile",
                                  n_boot=int(n_boot), n_valid=int(valid.size)), int(valid.size)


def _readonly(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass
class _Scale:
    name: str
    cols: list
    alpha_sums: _AlphaSums
    alpha: float
    pt: ParTable | None = None
    start: np.ndarray | None = None
    omega: float | None = None
    sums: object = None
    h1: tuple | None = None  # full-sample EM means and covariances (FIML)
    omega_unavailable: str = ""
    notes: list = field(default_factory=list)


def _prepare_omega(sc: _Scale, frame: pd.DataFrame, values: np.ndarray, missing: str, warm_start: bool) -> None:
    """Full-sample one-factor fit of a scale, as coscale.api._one_factor (omega and warm start)."""
    from coscale.stats.estimators import estimation_for

    k = len(sc.cols)
    if k < 3:
        sc.omega_unavailable = (f"{sc.name}: omega needs at least 3 items "
                                "(a one-factor model of 2 items is not identified).")
        return
    estimation = estimation_for("ML", missing, frame, sc.cols)
    n = estimation.moments[0].n if estimation.moments else 0
    if n <= k:
        sc.omega_unavailable = f"{sc.name}: too few answers ({n}) for a one-factor CFA."
        return
    model = MeasurementModel(((sc.name, tuple(sc.cols)),))
    pt = build_partable(model)
    fit = estimation.fit(pt)
    mats = fit.matrices[0]
    sc.omega = float(rel.omega_from_cfa(mats["lambda"][:, 0], float(mats["psi"][0, 0]), mats["theta"],
                                        fit.moments[0].cov))
    sc.pt = fit.partable  # FIML: with the mean structure fit_fiml adds
    if missing == "fiml":
        sc.h1 = (np.array(fit.moments[0].mean, dtype=float), np.array(fit.moments[0].cov, dtype=float))
    if warm_start and fit.converged:
        sc.start = np.array(fit.x, dtype=float)
    elif warm_start:
        sc.notes.append(f"{sc.name}: the full-sample one-factor CFA did not converge; "
                        "replicates start from moment-based values instead.")
    sc.sums = _PatternSums(values) if missing == "fiml" else _CompleteSums(values)


def bootstrap_reliability(frame: pd.DataFrame, scales: dict, n_boot: int, seed: int, level: float = 0.95,
                          workers: int | None = None, missing: str = "listwise", *,
                          warm_start: bool = True) -> dict:
    """Percentile bootstrap confidence intervals for alpha and omega of every scale.

    The respondents (rows of ``frame``, including those with missing
    answers) are resampled with replacement ``n_boot`` times; the same
    resamples serve every scale and both coefficients. In each replicate

    * alpha is raw Cronbach's alpha from pairwise-complete covariances
      (:func:`coscale.stats.reliability.cronbach_alpha`, ``psych::alpha``);
    * omega is ``(sum lambda)^2 psi / sum(S)`` from a one-factor ML CFA of
      the scale's items fitted to the replicate's complete cases (``S``
      their covariance matrix, divisor N), as ``semTools::compRelSEM`` with
      ``obs.var = TRUE`` and :func:`coscale.api.validate`'s omega. With
      ``missing="fiml"`` the CFA is fitted by FIML to all the replicate's
      answers and ``S`` is the EM estimate of the covariance matrix
      (lavaan ``missing = "ml"``).

    The interval is given by the ``(1 - level)/2`` and ``(1 + level)/2``
    quantiles of the valid replicates (R's ``quantile`` type 7). A replicate
    is valid for alpha when alpha is finite, for omega when its sample
    covariance matrix is positive definite, it has more complete rows than
    items, and the fit converged (with FIML: every item and every pair of
    items answered by someone in the replicate, converged and positive
    definite EM estimates, a converged fit); improper solutions (Heywood
    cases) count, as in lavaan's bootstrap.

    Nothing but moments reaches the optimiser: a replicate's moments are
    weighted sums over the original rows with the replicate's draw counts,
    computed for blocks of 100 replicates by matrix products, and every fit
    starts from the full-sample estimates (``warm_start``). The fits of a
    scale are vectorised over a block of replicates; blocks (x scales) are
    spread over ``workers`` processes.

    Parameters
    ----------
    frame : pandas.DataFrame
        Respondents in rows (NaN = missing); must hold every item column of
        ``scales``, reverse-keyed items already recoded (as
        :func:`coscale.survey.prepare` leaves them). Other columns are ignored.
    scales : dict of str to list of str
        Scale name -> its item columns, in output order.
    n_boot : int
        Number of bootstrap replicates.
    seed : int
        Seed of ``numpy.random.default_rng``. The row draws are made in
        fixed blocks of 100 replicates in the calling process and are those
        of :func:`coscale.stats.reliability.alpha_bootstrap_ci` for the same
        seed (so its alpha interval is reproduced exactly). The result is
        identical for any ``workers``.
    level : float, default 0.95
        Coverage of the intervals.
    workers : int, optional
        Worker processes for the omega fits (``concurrent.futures``); ``None``
        uses every core available to the process, 1 runs everything in this
        process. BLAS is held to one thread meanwhile (``threadpoolctl``, if
        installed): the matrices are small. With the ``spawn`` start method
        (macOS, Windows) a calling script needs the usual
        ``if __name__ == "__main__":`` guard.
    missing : {"listwise", "fiml"}, default "listwise"
        Missing-data treatment of omega's one-factor CFA, as in
        :func:`coscale.api.validate` (alpha always uses pairwise covariances,
        as ``psych::alpha``).
    warm_start : bool, default True
        Start every replicate's fit at the full-sample estimates (False:
        at the moment-based start values ``fit_ml`` / ``fit_fiml`` use;
        slower, same estimates, for checking).

    Returns
    -------
    dict of str to BootstrapCI
        One entry per scale, in the order of ``scales``.

    Raises
    ------
    InputError
        A scale with fewer than two items, a missing or non-numeric item
        column, fewer than two respondents, an item without variance, or
        alpha undefined in every replicate.
    ValueError
        ``n_boot`` < 1, ``level`` outside (0, 1), ``workers`` < 1 or an
        unknown ``missing``.

    Notes
    -----
    Source: Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the
    Bootstrap*, ch. 13 (percentile interval); for reliability coefficients
    Kelley, K., & Pornprasertmanit, S. (2016). Confidence intervals for
    population reliability coefficients. *Psychological Methods*, 21, 69-92.

    With missing answers and ``missing="listwise"``, the resample is drawn
    from all respondents and omega's CFA uses the resample's complete cases,
    so their number varies between replicates (the whole analysis,
    listwise deletion included, is bootstrapped); ``lavaan::bootstrapLavaan``
    instead resamples the complete cases the fit used, a fixed number. The
    two agree for complete data and are asymptotically equivalent otherwise.

    R equivalent: ``psych::alpha(x, n.iter = n_boot)$boot.ci`` for alpha;
    for omega ``semTools::compRelSEM`` applied to each resample, e.g.
    ``lavaan::bootstrapLavaan(fit, R = n_boot, FUN = function(f)
    semTools::compRelSEM(f))`` with ``fit <- cfa("f =~ x1 + ... + xk",
    data)``, then ``quantile(boot, c(.025, .975))``. R's random numbers
    differ, so the intervals agree in distribution, not digit for digit.
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    if int(n_boot) != n_boot or int(n_boot) < 1:
        raise ValueError("n_boot must be a positive integer")
    n_boot = int(n_boot)
    if missing not in MISSING:
        raise ValueError(f'missing must be one of {", ".join(MISSING)}')
    if workers is None:
        workers = _cpu_count()
    if int(workers) < 1:
        raise ValueError("workers must be at least 1")
    workers = int(workers)
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    if not scales:
        raise InputError("no scales to bootstrap")
    absent = sorted({str(c) for cols in scales.values() for c in cols if c not in frame.columns})
    if absent:
        raise InputError(f"item(s) not found: {', '.join(absent)}")
    n = int(frame.shape[0])
    if n < 2:
        raise InputError("the bootstrap needs at least two respondents")

    with _one_blas_thread():
        return _bootstrap(frame, scales, n_boot, seed, level, workers, missing, warm_start)


def _bootstrap(frame, scales, n_boot, seed, level, workers, missing, warm_start) -> dict:
    n = int(frame.shape[0])
    prepared: list[_Scale] = []
    for name, cols in scales.items():
        cols = list(cols)
        if len(cols) < 2:
            raise InputError(f"{name}: Cronbach's alpha needs at least two items")
        items = frame.loc[:, cols]
        alpha = rel.cronbach_alpha(items, level).alpha  # InputError for non-numeric or constant items
        values = items.to_numpy(dtype=float, na_value=np.nan)
        sc = _Scale(str(name), cols, _AlphaSums(values), float(alpha))
        _prepare_omega(sc, pd.DataFrame(values, columns=cols), values, missing, warm_start)
        prepared.append(sc)

    # -- row draws, block by block: alpha now, omega moments for the fits ---
    alphas = {sc.name: np.empty(n_boot) for sc in prepared}
    slots: list[tuple[int, int]] = []  # (scale index, first replicate) of each fitting task
    n_tasks = -(-n_boot // BLOCK) * sum(sc.pt is not None for sc in prepared)
    runner = _Runner(_fiml_task if missing == "fiml" else _listwise_task, min(workers, n_tasks))
    try:
        done = 0
        for idx in bootstrap_indices(n, n_boot, seed):
            counts = _counts(idx)
            b = counts.shape[0]
            for i, sc in enumerate(prepared):
                alphas[sc.name][done:done + b] = sc.alpha_sums.alphas(counts)
                if sc.pt is None:
                    continue
                if missing == "fiml":
                    task = (sc.pt, sc.start, sc.h1, sc.sums.observed) + sc.sums.moments(counts)
                else:
                    task = (sc.pt, sc.start) + sc.sums.moments(counts)
                runner.submit(task)
                slots.append((i, done))
            done += b
    except BaseException:
        runner.close()
        raise
    results = runner.results()
    omegas = {sc.name: np.full(n_boot, np.nan) for sc in prepared}
    for (i, first), om in zip(slots, results):
        omegas[prepared[i].name][first:first + len(om)] = om

    cart = "FIML" if missing == "fiml" else "ML on the complete cases"
    out = {}
    for sc in prepared:
        a_ci, a_valid = _percentile(alphas[sc.name], level, n_boot)
        if a_ci is None:
            raise InputError(f"{sc.name}: alpha is undefined in every bootstrap replicate")
        o_ci, o_valid = (None, 0) if sc.pt is None else _percentile(omegas[sc.name], level, n_boot)
        notes = list(sc.notes)
        if sc.pt is not None and o_valid < n_boot:
            notes.append(f"{sc.name}: omega could not be computed in {n_boot - o_valid} of {n_boot} "
                         "bootstrap replicates (singular covariance matrix, too few answers or no convergence); "
                         "the interval uses the others.")
        if a_valid < n_boot:
            notes.append(f"{sc.name}: alpha is undefined in {n_boot - a_valid} of {n_boot} bootstrap replicates; "
                         "the interval uses the others.")
        method = (f"percentile bootstrap ({n_boot} replicates, seed {seed}; Efron & Tibshirani 1993): "
                  "alpha from pairwise covariances (psych::alpha)")
        if sc.pt is not None:
            method += f", omega from a one-factor CFA by {cart} (semTools::compRelSEM)"
        out[sc.name] = BootstrapCI(
            scale=sc.name,
            items=tuple(sc.cols),
            alpha=sc.alpha,
            alpha_ci=a_ci,
            omega=sc.omega,
            omega_ci=o_ci,
            n_boot=n_boot,
            n_valid_alpha=a_valid,
            n_valid_omega=o_valid,
            level=float(level),
            seed=seed,
            missing=missing,
            method=method,
            alpha_replicates=_readonly(alphas[sc.name]),
            omega_replicates=_readonly(omegas[sc.name]),
            omega_unavailable=sc.omega_unavailable,
            notes=tuple(notes),
        )
    return out
