"""Full-information maximum likelihood (FIML) for data with skipped answers.

Every respondent contributes the likelihood of the answers they gave
(Arbuckle 1996; Enders 2010, ch. 3-4); this is lavaan's ``missing = "ml"``.
Respondents with the same missingness pattern share the observed-variable
submatrices of the model's Sigma and mu, so the data are summarised ONCE per
pattern (count, mean and ML covariance of the observed part) and every
likelihood, gradient and information below is a loop-free numpy expression
over patterns::

    -2 log L = sum_k n_k [ p_k log(2 pi) + log|Sigma_k|
                           + tr(Sigma_k^-1 S_k) + (m_k - mu_k)' Sigma_k^-1 (m_k - mu_k) ]

with Sigma_k, mu_k the rows/columns of the implied moments that pattern k
observes, m_k, S_k its mean and ML covariance (divisor n_k). Every
pattern's Sigma_k^-1 is kept in the full p x p frame, embedded in zeros, so
the patterns of a group are one (K, p, p) stack for numpy's batched
products; they come from the one inverse of Sigma by Schur complements (see
:class:`_Stack`). Gradients sum the per-pattern derivatives with respect to
Sigma and mu into one p x p matrix and one p-vector before the model's
Jacobian is applied; information matrices sum Kronecker products over
patterns as a single matrix product (:func:`_kron_sum`).

What lavaan 0.6.14 does under ``missing = "ml"`` (checked by
``tests/reference/fiml.R``) and coscale reproduces:

* the mean structure is always on; the model df is that of complete data with
  means, ``G p (p + 3) / 2 - npar``;
* rows with no answer at all are dropped (and counted); ``ntotal`` excludes them;
* the discrepancy is ``fmin = (log L_h1 - log L) / N`` and ``chisq = 2 (log L_h1 -
  log L)``, where h1 is the saturated model (free means and covariances per
  group) estimated by EM (``lavInspect(fit, "sampstat.h1")``);
* standard errors come from the *observed* information, the Hessian of the
  FIML discrepancy (``lavInspect(fit, "options")$information == "observed"``,
  ``observed.information = "hessian"``; lavaan differentiates its analytic
  gradient numerically, coscale differentiates analytically);
* the baseline (independence) model is fitted by FIML too: with a diagonal
  Sigma the likelihood factorises by item, so each item's mean and ML
  variance come from its available answers, and ``baseline.chisq = 2 (log L_h1 -
  log L_baseline)``;
* SRMR compares the implied moments with the EM (h1) moments, which
  :class:`FimlFit` carries as its ``moments``.

Sources: Arbuckle (1996), Full information estimation in the presence of
incomplete data; Enders (2010), Applied Missing Data Analysis; Little & Rubin
(2002) for the EM algorithm of the saturated model; lavaan documentation
(``lavOptions``: ``missing``, ``information``, ``em.h1.tol``).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from coscale.stats.estimate import Engine, Fit, _failed, _finish, minimize_scoring, start_values
from coscale.stats.fit import chisq_difference, fit_measures
from coscale.stats.probability import chi2_sf
from coscale.stats.model import ALPHA, NU, ParTable
from coscale.stats.moments import GroupMoments, group_values

LOG2PI = float(np.log(2.0 * np.pi))


class DegenerateData(ValueError):
    """The answers cannot carry a normal likelihood: an item without answers or variance, or a
    singular saturated covariance matrix. :func:`fit_fiml` turns it into a warning."""


# ---------------------------------------------------------------------------
# Missingness patterns
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MissingPatterns:
    """The rows of one group, summarised by missingness pattern.

    Attributes
    ----------
    name : str
        Group label (``""`` for a single-group analysis).
    variables : tuple of str
        Variable order of every array below.
    observed : ndarray of bool, shape (K, p)
        ``observed[k, j]``: pattern ``k`` answers variable ``j``.
    n : ndarray of int, shape (K,)
        Respondents with pattern ``k``.
    mean : ndarray, shape (K, p)
        Mean of the observed answers of pattern ``k``; 0 where unobserved.
    cov : ndarray, shape (K, p, p)
        ML covariance matrix (divisor ``n[k]``) of the observed answers of
        pattern ``k``; 0 in unobserved rows and columns.
    n_dropped : int
        Rows with no answer on any variable (left out, as lavaan does).

    Notes
    -----
    Patterns are in the order of :func:`numpy.unique` on the boolean mask
    (the complete pattern, if any, last). ``mean`` and ``cov`` are the
    sufficient statistics of the normal likelihood of a pattern.
    """

    name: str
    variables: tuple
    observed: np.ndarray
    n: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    n_dropped: int = 0

    @property
    def n_patterns(self) -> int:
        return int(self.n.shape[0])

    @property
    def n_total(self) -> int:
        """Respondents used (rows with at least one answer)."""
        return int(self.n.sum())

    def indices(self, k: int) -> np.ndarray:
        """Indices of the variables pattern ``k`` observes."""
        return np.flatnonzero(self.observed[k])

    def coverage(self) -> np.ndarray:
        """Proportion of respondents answering each pair of variables (lavaan ``"coverage"``)."""
        o = self.observed.astype(float)
        return (o.T * self.n) @ o / self.n_total

    def available(self) -> np.ndarray:
        """Number of answers per variable."""
        return (self.observed.T.astype(float) @ self.n).astype(int)

    def complete(self) -> GroupMoments | None:
        """Moments of the rows that answer every variable (listwise deletion); None without such rows.

        The complete pattern is the last one (the largest pattern code).
        Equal to :func:`coscale.stats.moments.listwise_moments` on the same rows.
        """
        if not self.n_patterns or not self.observed[-1].all():
            return None
        return GroupMoments(self.name, int(self.n[-1]), self.variables, self.mean[-1].copy(), self.cov[-1].copy())

    def reorder(self, variables) -> "MissingPatterns":
        """The same patterns in another variable order."""
        variables = tuple(variables)
        if variables == self.variables:
            return self
        idx = [self.variables.index(v) for v in variables]
        return MissingPatterns(
            self.name, variables, self.observed[:, idx], self.n, self.mean[:, idx],
            self.cov[:, idx][:, :, idx], self.n_dropped,
        )

    def marginal(self, variables) -> "MissingPatterns":
        """The patterns of some of the variables, pooled from these (no pass over the rows).

        Rows are regrouped by what they answer among ``variables``; the mean
        and ML covariance of each new pattern pool those of the patterns
        merged into it (count-weighted means; within- plus between-pattern
        scatter). Equal to :meth:`from_values` on the same rows up to
        rounding. Rows that answer none of ``variables`` are dropped and
        counted in ``n_dropped``.
        """
        variables = tuple(variables)
        if variables == self.variables:
            return self
        idx = [self.variables.index(v) for v in variables]
        obs = self.observed[:, idx]
        answered = obs.any(axis=1)
        if not answered.any():
            raise ValueError(f"no respondent{' in group ' + self.name if self.name else ''} answered any item")
        dropped = self.n_dropped + int(self.n[~answered].sum())
        n = self.n[answered].astype(float)
        mean = self.mean[answered][:, idx]
        cov = self.cov[answered][:, idx][:, :, idx]
        pats, inverse = np.unique(obs[answered], axis=0, return_inverse=True)  # K patterns, not rows
        inverse = inverse.reshape(-1)
        k, q = len(pats), len(idx)
        total = np.bincount(inverse, weights=n, minlength=k)
        pooled = np.zeros((k, q))
        np.add.at(pooled, inverse, n[:, None] * mean)
        pooled /= total[:, None]
        d = mean - pooled[inverse]  # 0 where unobserved
        scatter = np.zeros((k, q, q))
        np.add.at(scatter, inverse, n[:, None, None] * (cov + d[:, :, None] * d[:, None, :]))
        scatter /= total[:, None, None]
        return MissingPatterns(self.name, variables, pats.astype(bool), np.rint(total).astype(int), pooled,
                               scatter, dropped)

    @classmethod
    def from_values(cls, values, variables, name: str = "") -> "MissingPatterns":
        """Group the rows of a data matrix (NaN = missing) by missingness pattern.

        Parameters
        ----------
        values : array_like, shape (n, p)
            Answers, ``NaN`` where an answer is missing. Not modified; a
            column-ordered (Fortran) float64 array is read without a copy.
        variables : sequence of str
            Column names, in the order of ``values``.
        name : str
            Group label.

        Returns
        -------
        MissingPatterns

        Notes
        -----
        One pass over the rows (:func:`_scan`, a cache-sized chunk at a time)
        makes ``z``, the answers minus a per-item shift (0 where missing);
        the complete pattern's sums and cross-products are those of all rows
        (``1'z`` and BLAS products ``z'z``) minus those of the incomplete rows,
        which are the only rows kept and sorted by pattern. Each pattern's
        mean and ML covariance then follow from its count, sums and
        cross-products; the shift (the item means of the first rows) keeps
        that subtraction free of cancellation. No loop over rows, no copy of
        the data.
        """
        x = np.asarray(values, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(variables):
            raise ValueError("values must be a (rows, variables) matrix matching the variable names")
        n, p = x.shape
        if not 0 < p <= 63:  # too many variables to pack a row's pattern into an integer
            return cls._from_values_sorted(x, ~np.isnan(x), variables, name)
        head = x[: min(n, 1000)]
        seen = ~np.isnan(head)
        with np.errstate(invalid="ignore", divide="ignore"):  # an item unanswered there: shift 0
            shift = np.nan_to_num(np.add.reduce(head, axis=0, where=seen) / seen.sum(axis=0))
        code, total, incomplete = _scan(x, shift)
        pats, counts, _ = _code_counts(code, p)
        answered = pats.any(axis=1)
        n_dropped = int(counts[~answered].sum())
        if n_dropped == n:
            raise ValueError(f"no respondent{' in group ' + name if name else ''} answered any item")
        has_complete = bool(pats[-1].all())
        sums = np.zeros((len(counts), p))
        cross = np.zeros((len(counts), p, p))
        part, _ = incomplete  # sorted by pattern
        if len(part):
            n_part = counts[:-1] if has_complete else counts
            starts = np.concatenate(([0], np.cumsum(n_part)[:-1]))
            sums[: len(n_part)] = np.add.reduceat(part, starts, axis=0)
            for k, (s, c) in enumerate(zip(starts, n_part)):  # loop over patterns, not rows
                block = part[s:s + c]
                cross[k] = block.T @ block
        if has_complete:  # the complete pattern: every row minus the incomplete ones
            sums[-1] = total[0] - sums[:-1].sum(axis=0)
            cross[-1] = total[1] - cross[:-1].sum(axis=0)
        pats, counts, sums, cross = pats[answered], counts[answered], sums[answered], cross[answered]
        dev = sums / counts[:, None]  # mean minus shift; 0 where unobserved
        cov = cross / counts[:, None, None] - dev[:, :, None] * dev[:, None, :]
        diagonal = np.einsum("kjj->kj", cov)  # a view: rounding must not make a variance negative
        np.maximum(diagonal, 0.0, out=diagonal)
        mean = np.where(pats, dev + shift, 0.0)
        return cls(str(name), tuple(variables), pats, counts.astype(int), mean, cov, n_dropped)

    @classmethod
    def _from_values_sorted(cls, x, obs, variables, name) -> "MissingPatterns":
        """:meth:`from_values` for more variables than fit in a pattern code: rows sorted by pattern."""
        p = x.shape[1]
        keep = np.logical_or.reduce(obs, axis=1)
        n_dropped = int(keep.size - np.count_nonzero(keep))
        if n_dropped:
            x, obs = x[keep], obs[keep]
        if x.shape[0] == 0:
            raise ValueError(f"no respondent{' in group ' + name if name else ''} answered any item")
        pats, counts, order = pattern_groups(obs)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        xz = np.where(obs, x, 0.0)[order]
        mean = np.add.reduceat(xz, starts, axis=0) / counts[:, None]
        cov = np.empty((len(counts), p, p))
        for k, (s, c) in enumerate(zip(starts, counts)):  # loop over patterns, not rows
            block = xz[s:s + c]
            block -= mean[k]  # centred; still 0 where unobserved
            cov[k] = block.T @ block / c
        return cls(str(name), tuple(variables), pats.astype(bool), counts.astype(int), mean, cov, n_dropped)


#: rows per chunk of :func:`_scan` (a chunk of 15 items is ~4 MB: it stays in cache between passes)
_SCAN_ROWS = 1 << 15


def _scan(x: np.ndarray, shift: np.ndarray):
    """Two passes over the rows, a chunk at a time: pattern codes; then sums of all rows and the incomplete rows.

    Returns ``(code, (sum, cross), (part, part_code))``: each row's pattern
    code (:func:`pattern_codes`), the column sums and cross-product matrix of
    ``z = x - shift`` with 0 where missing over all rows, and the ``z`` rows
    that miss some answer, sorted by pattern (stable), with their codes.
    Working a chunk at a time keeps ``z`` in cache and never copies the
    data; the incomplete rows go straight to their sorted places in one
    array. The chunks are done one after the other on purpose: BLAS products
    called from several threads at once may be split differently between
    BLAS's own threads, and the last bits of the sums would then depend on
    timing.
    """
    n, p = x.shape
    full = (1 << p) - 1
    rows = min(n, _SCAN_ROWS)
    code = np.empty(n, dtype=np.uint16 if p <= 16 else np.int64)
    gaps = np.empty((rows, p), dtype=bool, order="F")
    for a in range(0, n, rows):
        c = code[a:a + rows]
        pattern_codes(np.isnan(x[a:a + rows], out=gaps[: len(c)]), out=c)
        c ^= c.dtype.type(full)  # the code of the answered mask: every bit flipped
    incomplete = np.flatnonzero(code != full)
    order = np.argsort(code[incomplete], kind="stable")
    slot = np.empty(len(incomplete), dtype=np.intp)
    slot[order] = np.arange(len(incomplete))
    part, part_code = np.empty((len(incomplete), p)), code[incomplete][order]
    # >= 4 MB in one allocation, so numpy asks for huge pages (fresh small pages are slow on some VMs)
    buf = np.empty(max(rows * p, 1 << 19))[: rows * p].reshape((rows, p), order="F")
    col_sum, cross = np.zeros(p), np.zeros((p, p))
    for a in range(0, n, rows):
        chunk = x[a:a + rows]
        z = buf[: len(chunk)]
        np.subtract(chunk, shift, out=z)
        np.copyto(z, 0.0, where=np.isnan(chunk, out=gaps[: len(chunk)]))
        col_sum += z.sum(axis=0)
        cross += z.T @ z
        lo, hi = np.searchsorted(incomplete, (a, a + len(chunk)))
        if hi > lo:
            part[slot[lo:hi]] = z[incomplete[lo:hi] - a]
    return code, (col_sum, cross), (part, part_code)


def pattern_codes(obs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray | None:
    """Each row's missingness pattern packed into an integer, or None beyond 63 variables.

    The first variable is the most significant bit, so the order of the codes
    is that of ``numpy.unique(obs, axis=0)`` (rows compared left to right,
    False < True). ``uint16`` codes for up to 16 variables, else ``int64``
    (``out``, if given, must be of that type).
    """
    n, p = obs.shape
    if not 0 < p <= 63:
        return None
    code = np.zeros(n, dtype=np.uint16 if p <= 16 else np.int64) if out is None else out
    code[:] = 0
    bit = np.empty(n, dtype=code.dtype)
    for j in range(p):
        np.left_shift(obs[:, j], code.dtype.type(p - 1 - j), out=bit, dtype=code.dtype, casting="unsafe")
        code |= bit
    return code


def _code_counts(code: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The patterns present among ``code`` (K, p), in code order, their counts, and their codes."""
    if code.dtype == np.uint16:  # a bincount over the 2^p codes: linear in the rows
        every = np.bincount(code, minlength=1 << p)
        present = np.flatnonzero(every)
        counts = every[present]
    else:
        present, counts = np.unique(code, return_counts=True)
    shifts = np.arange(p - 1, -1, -1, dtype=np.int64)
    patterns = ((present.astype(np.int64)[:, None] >> shifts) & 1).astype(bool)
    return patterns, counts.astype(np.int64), present


def pattern_groups(obs: np.ndarray):
    """The distinct rows of a boolean (rows, p) mask, their counts, and the rows ordered by them.

    Returns ``(patterns, counts, order)``: ``patterns`` (K, p) in the order of
    ``numpy.unique(obs, axis=0)`` (rows compared left to right, False < True),
    ``counts`` (K,) and ``order``, a stable ordering of the rows by pattern.
    Up to 63 variables each row's pattern is packed into an integer
    (:func:`pattern_codes`): counting is then a ``bincount`` (up to 16
    variables) or an integer sort. ``numpy.unique(..., axis=0)``, used beyond
    that, sorts the rows as records, which takes seconds for a million rows.
    """
    code = pattern_codes(obs)
    if code is not None:
        patterns, counts, _ = _code_counts(code, obs.shape[1])
        return patterns, counts.astype(int), np.argsort(code, kind="stable")
    patterns, inverse, counts = np.unique(obs, axis=0, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.reshape(-1), kind="stable")
    return patterns.astype(bool), counts.astype(int), order


def missing_patterns(frame, variables, group=None, group_order=None) -> list[MissingPatterns]:
    """Per-group missingness patterns of the item columns (the FIML analogue of ``listwise_moments``).

    Parameters
    ----------
    frame : pandas.DataFrame
        Item data (NaN = missing).
    variables : sequence of str
        Columns, in the model's order.
    group : pandas.Series, optional
        Group label per row (aligned with ``frame``); ``None`` for one group.
        Rows without a group label are left out.
    group_order : sequence of str, optional
        Order of the groups (default: order of first appearance, as lavaan).

    Returns
    -------
    list of MissingPatterns
        One per group; rows with no answer are dropped and counted in
        ``n_dropped``.

    Notes
    -----
    Equivalent R: ``lavaan::cfa(..., missing = "ml")`` uses the same rows;
    ``lavInspect(fit, "patterns")`` lists the patterns.
    """
    variables = list(variables)
    return [MissingPatterns.from_values(v, variables, name) for name, v in group_values(frame, variables, group, group_order)]


# ---------------------------------------------------------------------------
# Pattern algebra shared by the saturated, baseline and structured models
# ---------------------------------------------------------------------------
class _Stack:
    """Per-group constants for the stacked p x p pattern algebra.

    :meth:`inverses` gives every pattern's Sigma_oo^-1 (embedded in zeros)
    and log-determinant. A pattern missing m <= p / 2 variables gets them
    from the full inverse P = Sigma^-1 by the Schur complement (Sigma_oo^-1
    = P_oo - P_om P_mm^-1 P_mo, log|Sigma_oo| = log|Sigma| + log|P_mm|; as
    lavaan's ``lav_matrix_symmetric_inverse_update``): p^2 m operations
    instead of (p - m)^3, batched over the patterns missing the same number
    of variables. Patterns missing more are inverted directly, batched, as
    p x p matrices whose unobserved rows and columns are those of the
    identity.
    """

    def __init__(self, pats: MissingPatterns):
        self.pats = pats
        obs = pats.observed
        k, p = obs.shape
        self.n = pats.n.astype(float)
        self.obs = obs
        self.both = obs[:, :, None] & obs[:, None, :]  # (K, p, p)
        self.p_obs = obs.sum(axis=1).astype(float)
        self.const = float(self.n @ self.p_obs) * LOG2PI
        n_miss = p - obs.sum(axis=1)
        self.complete = np.flatnonzero(n_miss == 0)
        self.schur = []  # (pattern indices, missing indices (K_m, m))
        for m in np.unique(n_miss):
            if 0 < m <= p // 2:
                ks = np.flatnonzero(n_miss == m)
                self.schur.append((ks, np.nonzero(~obs[ks])[1].reshape(len(ks), m)))
        self.direct = np.flatnonzero(n_miss > p // 2)
        eye_miss = np.zeros((len(self.direct), p, p))
        kk, jj = np.nonzero(~obs[self.direct])
        eye_miss[kk, jj, jj] = 1.0
        self.eye_miss = eye_miss

    def _direct(self, sigma: np.ndarray, ks: np.ndarray, eye_miss: np.ndarray):
        st = np.where(self.both[ks], sigma, 0.0) + eye_miss
        chol = np.linalg.cholesky(st)  # raises LinAlgError if not PD
        logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        return logdet, np.linalg.inv(st) - eye_miss

    def inverses(self, sigma: np.ndarray):
        """(log|Sigma_k| (K,), Sigma_k^-1 embedded in zeros (K, p, p)); ``None`` if one is not PD."""
        k, p = self.obs.shape
        logdet = np.empty(k)
        w = np.empty((k, p, p))
        try:
            chol = np.linalg.cholesky(sigma)
        except np.linalg.LinAlgError:
            chol = None
        try:
            if chol is None:  # Sigma itself not PD: only valid if no pattern observes everything
                if len(self.complete):
                    return None
                eye = np.zeros((k, p, p))
                kk, jj = np.nonzero(~self.obs)
                eye[kk, jj, jj] = 1.0
                return self._direct(sigma, np.arange(k), eye)
            ld_full = 2.0 * np.log(np.diag(chol)).sum()
            pinv = np.linalg.inv(sigma)
            pinv = (pinv + pinv.T) / 2.0
            logdet[self.complete] = ld_full
            w[self.complete] = pinv
            for ks, mi in self.schur:
                pmm = pinv[mi[:, :, None], mi[:, None, :]]  # (K_m, m, m)
                c = np.linalg.cholesky(pmm)
                pm = pinv[mi]  # (K_m, m, p)
                sol = np.linalg.solve(pmm, pm)
                wk = pinv - pm.transpose(0, 2, 1) @ sol
                w[ks] = np.where(self.both[ks], wk, 0.0)
                logdet[ks] = ld_full + 2.0 * np.log(np.diagonal(c, axis1=1, axis2=2)).sum(axis=1)
            if len(self.direct):
                logdet[self.direct], w[self.direct] = self._direct(sigma, self.direct, self.eye_miss)
        except np.linalg.LinAlgError:
            return None
        return logdet, w

    def residuals(self, mu: np.ndarray) -> np.ndarray:
        """m_k - mu restricted to observed variables (0 elsewhere), (K, p)."""
        return np.where(self.obs, self.pats.mean - mu, 0.0)

    def minus2loglik(self, mu, sigma, inv=None) -> float:
        if inv is None:
            inv = self.inverses(sigma)
        if inv is None:
            return np.inf
        logdet, w = inv
        d = self.residuals(mu)
        quad = np.einsum("kij,kij->k", w, self.pats.cov) + np.einsum("ki,kij,kj->k", d, w, d)
        return float(self.const + self.n @ (logdet + quad))


def loglik(patterns: MissingPatterns, mean: np.ndarray, cov: np.ndarray) -> float:
    """Casewise (FIML) normal log-likelihood of a group at given means and covariances.

    Parameters
    ----------
    patterns : MissingPatterns
    mean : ndarray, shape (p,)
    cov : ndarray, shape (p, p)

    Returns
    -------
    float
        ``-inf`` if a pattern's covariance submatrix is not positive definite.

    Notes
    -----
    Equivalent R: ``lavaan:::lav_mvnorm_missing_loglik_samplestats``.
    """
    return -0.5 * _Stack(patterns).minus2loglik(np.asarray(mean, float), np.asarray(cov, float))


def independence(patterns: MissingPatterns):
    """Baseline (independence) model under FIML: uncorrelated items, free means and variances.

    With a diagonal Sigma the casewise likelihood is a product over items, so
    the ML estimates are each item's mean and ML variance (divisor n_j) over
    its available answers.

    Returns
    -------
    mean : ndarray, shape (p,)
    var : ndarray, shape (p,)
    logl : float

    Notes
    -----
    lavaan fits its baseline model (``lav_partable_independence``) with the
    fit's own ``missing = "ml"``; ``tests/reference/fiml.R`` checks that
    ``fitMeasures(fit, "baseline.chisq")`` equals 2 (logl_h1 - logl) of this model.
    """
    obs = patterns.observed.astype(float)
    n = patterns.n.astype(float)
    nj = obs.T @ n
    if np.any(nj == 0):
        empty = [v for v, c in zip(patterns.variables, nj) if c == 0]
        where = f" in group {patterns.name}" if patterns.name else ""
        raise DegenerateData(f"Nobody{where} answered {', '.join(empty)}: remove the item or the group.")
    mean = (patterns.mean * n[:, None]).sum(axis=0) / nj
    within = np.einsum("k,kjj->j", n, patterns.cov)
    between = ((patterns.mean - mean) ** 2 * obs).T @ n
    var = (within + between) / nj
    flat = var <= 1e-12 * max(float(np.max(np.abs(mean))), 1.0) ** 2
    if np.any(flat):
        where = f" in group {patterns.name}" if patterns.name else ""
        names = [v for v, c in zip(patterns.variables, flat) if c]
        raise DegenerateData(
            f"Every respondent{where} who answered {', '.join(names)} gave the same answer, so the item has "
            "no variance: remove it."
        )
    logl = -0.5 * float(np.sum(nj * (LOG2PI + np.log(var) + 1.0)))
    return mean, var, logl


def saturated(patterns: MissingPatterns, *, tol: float = 1e-10, max_iter: int = 10000):
    """Saturated (h1) model by EM: ML means and covariances from incomplete data.

    EM for the multivariate normal (Dempster, Laird & Rubin 1977; Little &
    Rubin 2002, sec. 11.2), vectorised over patterns. The E-step fills in,
    per pattern, the conditional means ``mu + Sigma W_k (m_k - mu)`` and
    covariances ``Sigma - Sigma W_k Sigma`` (``W_k`` = Sigma_oo^-1 embedded in
    zeros) and accumulates the expected complete-data sums; the M-step divides
    by N. Starts, like lavaan, from the available-case means and variances
    (the independence model).

    Parameters
    ----------
    patterns : MissingPatterns
    tol : float
        Stop when no mean or covariance changes by more than ``tol`` between
        iterations (relative to the largest mean or variance when that
        exceeds 1). lavaan's rule, there with ``em.h1.tol = 1e-5``: coscale
        iterates to the maximum, lavaan's iterates lie within about 1e-5 of it.
    max_iter : int

    Returns
    -------
    mean : ndarray, shape (p,)
    cov : ndarray, shape (p, p)
        ML covariance matrix (divisor N).
    logl : float
        Casewise log-likelihood at the estimates (lavaan ``unrestricted.logl``).

    Notes
    -----
    Equivalent R: ``lavInspect(fit, "sampstat.h1")`` for
    ``cfa(..., missing = "ml")`` (``lavaan:::lav_mvnorm_missing_h1_estimate_moments``).
    """
    st = _Stack(patterns)
    n_total = st.n.sum()
    mu, var, _ = independence(patterns)
    sigma = np.diag(var)
    s_obs = patterns.cov
    converged = False
    for _ in range(max_iter):
        inv = st.inverses(sigma)
        if inv is None:
            where = f" in group {patterns.name}" if patterns.name else ""
            raise DegenerateData(
                f"The covariance matrix of the items{where} is singular (an item is a linear combination "
                "of others, or two items are never answered together): remove or merge that item."
            )
        w = inv[1]
        # with R_k = Sigma W_k (identity on observed rows, regression weights on the others):
        # yhat_k = mu + R_k d_k, and the sum over patterns of n_k (Sigma - R_k Sigma + R_k S_k R_k')
        # is Sigma (N Sigma^-1 - sum n_k W_k + sum n_k W_k S_k W_k) Sigma
        wd = np.einsum("kij,kj->ki", w, st.residuals(mu))
        yhat = mu + wd @ sigma
        inner = np.einsum("k,kij->ij", st.n, (w @ s_obs) @ w - w)
        t1 = st.n @ yhat
        t2 = n_total * sigma + sigma @ inner @ sigma + (yhat.T * st.n) @ yhat
        mu_new = t1 / n_total
        sigma_new = t2 / n_total - np.outer(mu_new, mu_new)
        sigma_new = (sigma_new + sigma_new.T) / 2.0
        delta = max(np.max(np.abs(mu_new - mu)), np.max(np.abs(sigma_new - sigma)))
        mu, sigma = mu_new, sigma_new
        if delta < tol * max(1.0, float(np.max(np.abs(mu))), float(np.max(np.diag(sigma)))):
            converged = True
            break
    if not converged:
        raise DegenerateData(
            f"The EM estimates of the item means and covariances did not converge in {max_iter} iterations "
            "(too little overlap between the answered items)."
        )
    return mu, sigma, -0.5 * st.minus2loglik(mu, sigma)


# ---------------------------------------------------------------------------
# The structured model
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _kron_index(p: int):
    """Index arrays of :func:`_kron_sum` for p variables (cached)."""
    iu = np.triu_indices(p)
    pos = np.zeros((p, p), dtype=np.intp)
    pos[iu] = np.arange(len(iu[0]))
    pos = np.maximum(pos, pos.T)  # position of (i, j) in vech, either order
    r = np.arange(p * p)
    x, i = r // p, r % p  # row (x, i)
    j, y = r // p, r % p  # column (j, y)
    return iu, pos[i[:, None], j[None, :]], pos[y[None, :], x[:, None]]


def _kron_sum(n, a, b) -> np.ndarray:
    """sum_k n_k a_k (x) b_k arranged for trace forms, shape (p*p, p*p).

    ``a`` and ``b`` are stacks (K, p, p) of symmetric matrices. Returned as
    ``M[(x, i), (j, y)] = sum_k n_k a_k[i, j] b_k[y, x]``, so that
    ``vec(A) @ M @ vec(B) = sum_k n_k tr(A a_k B b_k)`` for the row-major
    ``vec``. A sum of Kronecker products is one matrix product over the
    pattern axis, here of the half-vectorised matrices:
    (p(p+1)/2, K) @ (K, p(p+1)/2), then spread out by index.
    """
    p = a.shape[1]
    iu, rows, cols = _kron_index(p)
    av = a[:, iu[0], iu[1]]
    bv = b[:, iu[0], iu[1]]
    mv = (av.T * n) @ bv
    return mv[rows, cols]


def _second_order(mats: dict, entries, gmat: np.ndarray, gmu: np.ndarray, q: int) -> np.ndarray:
    """sum_ij G_ij d2Sigma_ij/da db + sum_i g_i d2mu_i/da db for every parameter pair, (q, q).

    ``gmat`` (p, p, symmetric) and ``gmu`` (p,) are the derivatives of the
    discrepancy with respect to Sigma and mu. For Sigma = Lambda Psi Lambda'
    + Theta and mu = nu + Lambda alpha only three kinds of pairs have second
    derivatives (a = lambda_ij, b = lambda_kl / psi_kl / alpha_k)::

        lambda_ij, lambda_kl : 2 G_ik psi_jl
        lambda_ij, psi_kl    : 2 [delta_jk (Lambda' G)_li + delta_jl (Lambda' G)_ki]  (halved when k = l)
        lambda_ij, alpha_k   : delta_jk g_i

    Entries sharing a free index (equality constraints) are summed.
    """
    idx, mat, row, col = entries
    lam, psi = mats["lambda"], mats["psi"]
    out = np.zeros((q, q))
    la = mat == 0
    if not la.any():
        return out
    ia, ra, ca = idx[la], row[la], col[la]
    np.add.at(out, (ia[:, None], ia[None, :]), 2.0 * gmat[np.ix_(ra, ra)] * psi[np.ix_(ca, ca)])
    lg = lam.T @ gmat  # (m, p)
    ps = mat == 2
    if ps.any():
        ib, rb, cb = idx[ps], row[ps], col[ps]
        half = np.where(rb == cb, 0.5, 1.0)
        val = 2.0 * half * (
            (ca[:, None] == rb[None, :]) * lg[cb][:, ra].T + (ca[:, None] == cb[None, :]) * lg[rb][:, ra].T
        )
        np.add.at(out, (ia[:, None], ib[None, :]), val)
        np.add.at(out, (ib[:, None], ia[None, :]), val.T)
    al = mat == 4
    if al.any():
        ib, rb = idx[al], row[al]
        val = (ca[:, None] == rb[None, :]) * gmu[ra][:, None]
        np.add.at(out, (ia[:, None], ib[None, :]), val)
        np.add.at(out, (ib[:, None], ia[None, :]), val.T)
    return out


class FimlEngine(Engine):
    """The compiled model of :class:`coscale.stats.estimate.Engine` with the FIML discrepancy.

    Model matrices, implied moments and their Jacobians come from
    :class:`~coscale.stats.estimate.Engine`; the moments it holds are the
    saturated (EM) estimates, which serve for start values and SRMR.

    Parameters
    ----------
    pt : ParTable
        Must have a mean structure (``build_partable(..., meanstructure=True)``
        or several groups), as lavaan imposes with ``missing = "ml"``.
    patterns_per_group : list of MissingPatterns
        One per group, in the order of the parameter table's groups.

    Notes
    -----
    ``evaluate(x, need)`` returns::

        F = (-2 log L(x) + 2 log L_h1) / N       (chi-square / N; lavaan's fmin is F / 2)

    its analytic gradient, and for ``need="gi"`` the expected information of
    the casewise likelihood divided by N (one half of the expected Hessian of
    F), which is what :func:`~coscale.stats.estimate.minimize_scoring`
    expects (Fisher scoring). :meth:`observed_information` is one half of the
    exact Hessian of F, used for standard errors.
    """

    def __init__(self, pt: ParTable, patterns_per_group: list, *, h1: list | None = None):
        if not pt.meanstructure:
            raise ValueError(
                "FIML needs a mean structure: build the parameter table with meanstructure=True "
                "(lavaan sets meanstructure = TRUE when missing = 'ml')"
            )
        if len(patterns_per_group) != pt.n_groups:
            raise ValueError("number of pattern sets differs from the number of groups")
        self.patterns = [pp.reorder(pt.observed) for pp in patterns_per_group]
        self.h1 = h1 if h1 is not None else [saturated(pp) for pp in self.patterns]
        moments = [
            GroupMoments(pp.name, pp.n_total, tuple(pt.observed), mean, cov)
            for pp, (mean, cov, _) in zip(self.patterns, self.h1)
        ]
        super().__init__(pt, moments)
        self.stacks = [_Stack(pp) for pp in self.patterns]
        self.logl_h1 = float(sum(h[2] for h in self.h1))
        self._entries = [self.free_entries(g) for g in range(pt.n_groups)]

    # -- likelihood ---------------------------------------------------------
    def loglik(self, x: np.ndarray) -> float:
        """Casewise log-likelihood of the model at ``x`` (lavaan ``logl``)."""
        total = 0.0
        for g, st in enumerate(self.stacks):
            sigma, mu = self.implied(x, g)
            total += st.minus2loglik(mu, sigma)
        return -0.5 * total

    def evaluate(self, x: np.ndarray, need: str = "f"):
        """F, and with ``need`` in {"g", "gi"} the gradient and (for "gi") the expected information."""
        q = self.q
        m2ll = 0.0
        grad = np.zeros(q)
        info = np.zeros((q, q))
        for g, st in enumerate(self.stacks):
            mats = self.matrices(x, g)
            sigma, mu = self.implied(x, g, mats)
            inv = st.inverses(sigma)
            if inv is None:
                return (np.inf, None, None) if need != "f" else np.inf
            m2ll += st.minus2loglik(mu, sigma, inv)
            if need == "f":
                continue
            w = inv[1]
            d = st.residuals(mu)
            wd = np.einsum("kij,kj->ki", w, d)
            v = w @ st.pats.cov @ w + wd[:, :, None] * wd[:, None, :]
            gmat = np.einsum("k,kij->ij", st.n, w - v)
            gmu = -2.0 * (st.n @ wd)
            dsig, dmu = self.jacobian(mats, self._entries[g], q)
            flat = dsig.reshape(q, -1)
            grad += flat @ gmat.ravel() + dmu @ gmu
            if need == "gi":
                wsum = np.einsum("k,kij->ij", st.n, w)
                info += 0.5 * flat @ _kron_sum(st.n, w, w) @ flat.T + dmu @ wsum @ dmu.T
        f = (m2ll + 2.0 * self.logl_h1) / self.ntotal
        if need == "f":
            return f
        return f, grad / self.ntotal, info / self.ntotal

    def expected_information(self, x: np.ndarray) -> np.ndarray:
        """Expected unit information of the casewise likelihood (lavaan ``information = "expected"``,
        ``h1.information = "structured"``)."""
        return self.evaluate(x, "gi")[2]

    information = expected_information

    def observed_information(self, x: np.ndarray) -> np.ndarray:
        """Observed unit information: one half of the Hessian of F (lavaan ``information = "observed"``).

        Exact, term by term (A = dSigma/dtheta_a, m_a = dmu/dtheta_a, per
        pattern with W = Sigma_k^-1, d = m_k - mu_k, V = W (S_k + d d') W)::

            d2f/da db = -tr(A W B W) + tr(A W B V) + tr(A V B W)
                        + 2 d'W A W m_b + 2 d'W B W m_a + 2 m_a' W m_b
                        + tr((W - V) d2Sigma/da db) - 2 d'W d2mu/da db

        The trace forms are summed over patterns as Kronecker sums
        (:func:`_kron_sum`); the last line contracts the second derivatives
        of Sigma and mu with the pattern-summed gradient (:func:`_second_order`).
        lavaan instead differentiates its analytic gradient numerically
        (Richardson, h = 1e-6); the two agree to about 1e-8.
        """
        q = self.q
        h = np.zeros((q, q))
        for g, st in enumerate(self.stacks):
            mats = self.matrices(x, g)
            sigma, mu = self.implied(x, g, mats)
            inv = st.inverses(sigma)
            if inv is None:
                return np.full((q, q), np.nan)
            w = inv[1]
            n = st.n
            d = st.residuals(mu)
            wd = np.einsum("kij,kj->ki", w, d)
            v = w @ st.pats.cov @ w + wd[:, :, None] * wd[:, None, :]
            dsig, dmu = self.jacobian(mats, self._entries[g], q)
            flat = dsig.reshape(q, -1)
            # Sigma-Sigma: -tr(AWBW) + tr(AWBV) + tr(AVBW)
            awbv = flat @ _kron_sum(n, w, v) @ flat.T
            h += -flat @ _kron_sum(n, w, w) @ flat.T + awbv + awbv.T
            # Sigma-mu: 2 d'W A W m_b (+ transpose)
            p = self.p
            r = ((wd.T * n) @ w.reshape(len(n), -1)).reshape(p, p, p)  # [x, i, y] = sum n (Wd)_x W_iy
            cross = 2.0 * flat @ r.reshape(p * p, p) @ dmu.T
            h += cross + cross.T
            # mu-mu
            h += 2.0 * dmu @ np.einsum("k,kij->ij", n, w) @ dmu.T
            # second derivatives of Sigma and mu, contracted with the gradient
            gmat = np.einsum("k,kij->ij", n, w - v)
            gmu = -2.0 * (n @ wd)
            h += _second_order(mats, self._entries[g], gmat, gmu, q)
        h = (h + h.T) / 2.0
        return 0.5 * h / self.ntotal


# ---------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------
@dataclass
class FimlFit(Fit):
    """A :class:`~coscale.stats.estimate.Fit` estimated by FIML.

    ``moments`` are the saturated (EM) means and covariances per group,
    ``logl`` and ``unrestricted_logl`` the casewise log-likelihoods of the
    model and of the saturated model, ``chisq = 2 (unrestricted_logl -
    logl)``, ``fmin = chisq / (2 N)`` and ``vcov`` the inverse observed
    information / N.

    Extra attributes
    ----------------
    patterns : list of MissingPatterns
    h1 : list of (mean, cov, logl)
        Saturated estimates per group (pass to :func:`fit_fiml` to reuse).
    baseline : (float, int)
        Chi-square and df of the FIML independence model.
    baseline_logl : float
    n_dropped : int
        Rows without any answer, left out.
    information : str
        ``"observed"`` (the information behind ``vcov``).
    """

    patterns: list = dataclasses.field(default_factory=list)
    h1: list = dataclasses.field(default_factory=list)
    baseline: tuple | None = None
    baseline_logl: float = float("nan")
    n_dropped: int = 0
    information: str = "observed"


def with_meanstructure(pt: ParTable) -> ParTable:
    """The parameter table with item intercepts (free) and latent means (fixed at 0) added.

    What lavaan does with ``missing = "ml"`` (``meanstructure = TRUE``). A
    table that has them already is returned as it is. For one group the result
    equals ``build_partable(model, meanstructure=True)`` (same rows, same
    free-parameter order).
    """
    if pt.meanstructure:
        return pt
    keys = ("lhs", "op", "rhs", "group", "mat", "row", "col", "free", "value", "label")
    new = {k: list(getattr(pt, k)) for k in keys}
    counter = pt.n_free
    for g in range(pt.n_groups):
        for i, v in enumerate(pt.observed):
            for k, val in zip(new, (v, "~1", "", g, NU, i, 0, counter, np.nan, "")):
                new[k].append(val)
            counter += 1
        for i, f in enumerate(pt.factors):
            for k, val in zip(new, (f, "~1", "", g, ALPHA, i, 0, -1, 0.0, "")):
                new[k].append(val)
    return dataclasses.replace(
        pt,
        lhs=new["lhs"], op=new["op"], rhs=new["rhs"], group=np.array(new["group"], dtype=int), mat=new["mat"],
        row=np.array(new["row"], dtype=int), col=np.array(new["col"], dtype=int),
        free=np.array(new["free"], dtype=int), value=np.array(new["value"], dtype=float), label=new["label"],
        meanstructure=True,
    )


def fit_fiml(
    pt: ParTable,
    patterns_per_group: list,
    *,
    start: np.ndarray | None = None,
    h1: list | None = None,
    max_iter: int = 500,
    tol: float = 1e-10,
) -> FimlFit:
    """Fit a (multi-group) CFA by full-information ML (lavaan ``missing = "ml"``).

    Fisher scoring with the expected information of the casewise likelihood,
    Newton steps (observed information) near the solution, both through
    :func:`~coscale.stats.estimate.minimize_scoring`, the optimiser of every
    coscale estimator; moment-based start values from the EM moments;
    standard errors from the exact observed information, lavaan's default
    for ``missing = "ml"``.

    Parameters
    ----------
    pt : ParTable
        From :func:`~coscale.stats.model.build_partable`; a table without a
        mean structure gets one (:func:`with_meanstructure`), as lavaan does.
    patterns_per_group : list of MissingPatterns
        From :func:`missing_patterns`, one per group in the table's order.
    start : ndarray, optional
        Starting values (e.g. from a nested model), for the table with means.
    h1 : list of (mean, cov, logl), optional
        Saturated estimates per group from an earlier fit on the same data
        (``fit.h1``), so a series of models runs EM once.
    max_iter, tol
        Passed to the optimiser.

    Returns
    -------
    FimlFit
        A :class:`~coscale.stats.estimate.Fit` (parameter tables and the
        invariance code accept it); its fit measures are
        :func:`fiml_fit_measures` (the FIML baseline model). Data that cannot
        be fitted (an item without answers or variance, a singular covariance
        matrix) give a fit with NaN statistics and a warning, as
        :func:`~coscale.stats.estimate.fit_ml` does.

    Notes
    -----
    Equivalent R: ``lavaan::cfa(model, data, group = ..., group.equal = ...,
    missing = "ml")``.
    """
    pt = with_meanstructure(pt)
    warnings: list[str] = []
    pats = [pp.reorder(pt.observed) for pp in patterns_per_group]
    dropped = sum(pp.n_dropped for pp in pats)
    if dropped:
        warnings.append(
            f"{dropped} respondent{'s' if dropped != 1 else ''} answered none of the items and "
            f"{'were' if dropped != 1 else 'was'} left out."
        )
    for pp in pats:
        cov = pp.coverage()
        answered = np.diag(cov) > 0
        i, j = np.nonzero(np.triu((cov == 0) & np.outer(answered, answered), 1))
        if len(i):
            pairs = ", ".join(f"{pt.observed[a]} and {pt.observed[b]}" for a, b in zip(i, j))
            where = f" in group {pp.name}" if pp.name else ""
            warnings.append(
                f"Nobody{where} answered both {pairs}: their covariance rests on the model alone "
                "(lavaan: 'due to missing values, some pairwise combinations have 0% coverage')."
            )
    try:
        eng = FimlEngine(pt, pats, h1=h1)
    except DegenerateData as exc:
        return _degenerate(pt, pats, warnings + [str(exc)], dropped)
    x = start_values(pt, eng.moments) if start is None else np.array(start, dtype=float)
    if not np.isfinite(eng.evaluate(x, "f")):
        x = start_values(pt, eng.moments)
    x, f, info, converged, it = minimize_scoring(_newton_near_solution(eng), x, max_iter=max_iter, tol=tol)
    if not converged:
        warnings.append(
            "The model did not converge: the estimates are not a maximum of the likelihood. "
            "Check for items with almost no variance, factors with only two items, or too few respondents."
        )
    observed = eng.observed_information(x) if np.isfinite(f) else info
    base = _finish(eng, pt, x, f, observed, converged, it, warnings)
    p = eng.p
    base_logl = float(sum(independence(pp)[2] for pp in eng.patterns))
    fields = {fl.name: getattr(base, fl.name) for fl in dataclasses.fields(Fit)}
    fields.update(logl=float(eng.loglik(x)), unrestricted_logl=eng.logl_h1)
    return FimlFit(
        **fields,
        patterns=eng.patterns,
        h1=eng.h1,
        baseline=(float(2.0 * (eng.logl_h1 - base_logl)), int(pt.n_groups * p * (p - 1) // 2)),
        baseline_logl=base_logl,
        n_dropped=int(dropped),
    )


def _degenerate(pt: ParTable, pats: list, warnings: list, dropped: int) -> FimlFit:
    """A FimlFit saying the data cannot be fitted (NaN statistics), as ``fit_ml`` does for a singular S."""
    moments = []
    for pp in pats:
        n = pp.n.astype(float)
        nj = np.maximum(pp.observed.T.astype(float) @ n, 1.0)
        mean = (pp.mean * n[:, None]).sum(axis=0) / nj
        var = (np.einsum("k,kjj->j", n, pp.cov) + ((pp.mean - mean) ** 2 * pp.observed).T @ n) / nj
        moments.append(GroupMoments(pp.name, pp.n_total, tuple(pt.observed), mean, np.diag(var)))
    eng = Engine(pt, moments)
    try:
        x = start_values(pt, moments)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        x = np.zeros(pt.n_free)
    fit = _failed(eng, pt, np.nan_to_num(x), warnings)
    fields = {fl.name: getattr(fit, fl.name) for fl in dataclasses.fields(Fit)}
    p = len(pt.observed)
    return FimlFit(**fields, patterns=pats, baseline=(float("nan"), int(pt.n_groups * p * (p - 1) // 2)),
                   n_dropped=int(dropped))


def _newton_near_solution(eng: FimlEngine, switch: float = 1e-3):
    """``eng.evaluate`` that hands the optimiser the observed information near the solution.

    Fisher scoring (expected information) is robust far from the solution
    but converges only linearly, slowly for misfitting models (rate ~0.8 for
    the Holzinger-Swineford three-factor model). Once the largest gradient
    element is below ``switch`` and the observed information is positive
    definite, the steps become Newton steps (quadratic convergence); the
    optimiser's step halving still guards every step.
    """

    def evaluate(x, need="f"):
        out = eng.evaluate(x, need)
        if need != "gi" or not np.isfinite(out[0]) or np.max(np.abs(out[1])) > switch:
            return out
        obs = eng.observed_information(x)
        try:
            np.linalg.cholesky(obs)
        except np.linalg.LinAlgError:
            return out
        return out[0], out[1], obs

    return evaluate


def fiml_fit_measures(fit: FimlFit) -> dict:
    """All fit measures of a FIML fit, named as :func:`coscale.stats.fit.fit_measures` names them.

    :func:`~coscale.stats.fit.fit_measures` is right for a FIML fit except for
    the baseline model (it uses the closed form of complete data); this
    replaces baseline_chisq / baseline_df / baseline_pvalue and the indices
    built on them (CFI, TLI, NFI) with the FIML independence model's.
    chisq, pvalue, RMSEA and its interval (N, not N - 1), SRMR (on the EM
    moments), logl, unrestricted_logl, AIC, BIC and BIC2 come out of
    ``fit_measures`` unchanged, from the FIML log-likelihoods in the fit.

    Notes
    -----
    Equivalent R: ``lavaan::fitMeasures(fit)`` for ``cfa(..., missing = "ml")``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):  # a fit that failed has NaN moments
        out = fit_measures(fit)
    if getattr(fit, "baseline", None) is None:
        return out
    bchisq, bdf = fit.baseline
    chisq, df = fit.chisq, fit.df
    out["baseline_chisq"] = float(bchisq)
    out["baseline_df"] = int(bdf)
    out["baseline_pvalue"] = chi2_sf(bchisq, bdf)
    d_model = max(chisq - df, 0.0)
    d_base = max(bchisq - bdf, 0.0)
    denom = max(d_model, d_base)
    out["cfi"] = float(1.0 - d_model / denom) if denom > 0 else 1.0
    if df > 0 and bdf > 0:
        out["tli"] = float((bchisq / bdf - chisq / df) / (bchisq / bdf - 1.0))
    else:
        out["tli"] = 1.0
    out["nfi"] = float((bchisq - chisq) / bchisq) if bchisq > 0 else float("nan")
    if not np.isfinite(chisq):
        for key in ("cfi", "tli", "nfi"):
            out[key] = float("nan")
    return out


# ---------------------------------------------------------------------------
# The estimator object of coscale.stats.estimators
# ---------------------------------------------------------------------------
@dataclass
class FimlEstimation:
    """FIML as an estimator object: the interface of ``coscale.stats.estimators.Estimation``.

    ``validate`` and the invariance ladder ask their estimation for ``fit``,
    ``measures`` and ``difference``; this one fits by :func:`fit_fiml`
    (running EM for the saturated model once for all models of a run) and
    reports :func:`fiml_fit_measures`. ``moments`` are the EM moments.

    Attributes
    ----------
    patterns : list of MissingPatterns
    estimator : str
        ``"ML"`` (robust FIML, lavaan's MLR with missing = "ml", is not
        available).
    missing : str
        ``"fiml"`` (lavaan's ``missing = "ml"``).
    """

    patterns: list
    estimator: str = "ML"
    missing: str = "fiml"
    h1: list | None = None
    moments: list = dataclasses.field(default_factory=list)
    fourth: list | None = None

    def __post_init__(self):
        if self.estimator != "ML":
            raise ValueError(f"estimator {self.estimator!r} with missing = 'ml': only ML is available")
        self._saturated()

    def _saturated(self) -> None:
        """EM estimates of the saturated model, once for every fit of a run (lavaan's h1)."""
        if self.h1 is None:
            try:
                self.h1 = [saturated(pp) for pp in self.patterns]
            except DegenerateData:
                self.h1 = None  # each fit reports the problem as a warning
        if self.h1 is not None and not self.moments:
            self.moments = [
                GroupMoments(pp.name, pp.n_total, pp.variables, mean, cov)
                for pp, (mean, cov, _) in zip(self.patterns, self.h1)
            ]

    robust = False
    index_suffix = ""

    def fit(self, pt: ParTable, start=None) -> FimlFit:
        """Fit a parameter table by FIML (a mean structure is added when missing)."""
        return fit_fiml(pt, self.patterns, start=start, h1=self.h1)

    def measures(self, fit: FimlFit) -> dict:
        """Fit measures with lavaan's names (:func:`fiml_fit_measures`)."""
        return fiml_fit_measures(fit)

    def difference(self, less: Fit, more: Fit) -> dict:
        """Chi-square difference test of nested FIML fits (``lavaan::lavTestLRT``)."""
        return chisq_difference(less, more)


def fiml_estimation(frame, variables, group=None, group_order=None, estimator: str = "ML") -> FimlEstimation:
    """A :class:`FimlEstimation` on all rows of ``frame`` with at least one answer.

    The FIML counterpart of ``coscale.stats.estimators.ml_estimation`` (same
    arguments).
    """
    return FimlEstimation(missing_patterns(frame, variables, group, group_order), estimator)
