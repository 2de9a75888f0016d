"""Robust ML with missing answers: lavaan's ``estimator = "MLR", missing = "ml"`` (Mplus's default MLR).

The estimates are the FIML estimates of :func:`coscale.stats.fiml.fit_fiml`;
the standard errors, the test statistic and the robust fit indices are
corrected for non-normal data. Below is what lavaan 0.6.14 computes (read
from its functions ``lav_model_nvcov_robust_sandwich``,
``lav_test_yuan_bentler``, ``lav_test_yuan_bentler_mplus_trace``,
``lav_model_h1_information_observed`` / ``_firstorder``,
``lav_mvnorm_missing_*``, ``lav_fit_cfi_lavobject``,
``lav_fit_rmsea_lavobject`` and ``lav_fit_fiml_corrected``; checked by
``tests/reference/robust_fiml.R``) and coscale reproduces.

Notation (per group g, f_g = N_g / N). The saturated (h1) model has the
parameters h = (mu, vech Sigma) (vech: the p (p + 1) / 2 distinct elements,
an off-diagonal covariance counted once). For a respondent i with missingness
pattern k, W_k = Sigma_oo^-1 embedded in zeros and a_i = W_k (y_i - mu)
(observed entries only), the casewise score of the FIML log-likelihood with
respect to h is (lavaan ``lav_mvnorm_missing_scores_mu_vech_sigma``)::

    d log L_i / d mu          = a_i
    d log L_i / d sigma_jl    = (a_i a_i' - W_k)_jl        (j != l; half of it for j = l)

Rows of one pattern share W_k and mu, so the scores of a run of rows are
one matrix product (:func:`casewise_scores`); the data are never looped over
by respondent. Within a pattern a score is affine in the row's deviations and
their products, so the mean outer product of the scores, wherever it is
evaluated, follows from each pattern's moments up to the fourth order, made
in one pass over the rows (:func:`first_order_information`). With Delta_g = d
h_g / d theta (the model's Jacobian):

* **Standard errors** (``se = "robust.huber.white"``; Huber 1967, White 1982)::

      H    = observed unit information of the FIML likelihood (the bread;
             :meth:`FimlEngine.observed_information`)
      B1_g = (1/N_g) sum_i s_i s_i'   at the model-implied mu, Sigma   ("structured")
      B0_g = Delta_g' B1_g Delta_g,   B0 = sum_g f_g B0_g             (lavInspect "information.first.order")
      vcov = H^-1 B0 H^-1 / N

* **Scaled test** (``test = "yuan.bentler.mplus"``; Yuan & Bentler 2000,
  the Mplus variant): with A1_g the observed information of the saturated
  FIML model and B1*_g the mean outer product of its casewise scores, both at
  the EM estimates (``h1.information = "unstructured"``)::

      tr(U Gamma) = sum_g [ tr(A1_g^-1 B1*_g) - f_g tr(B0_g H^-1) ]
      c           = tr(U Gamma) / df,     chisq.scaled = chisq / c

  and the same for the baseline (independence) model, whose FIML estimates
  are each item's mean and ML variance from its available answers, with its
  own observed information and casewise scores. (With complete data A1 is
  blockdiag(S^-1, 1/2 D'(S^-1 x S^-1) D) and B1* is Gamma weighted by it:
  the complete-data formula of :mod:`coscale.stats.robust`.)

* **Scaled indices** (``*.scaled``) as with complete data: CFI/TLI from the
  scaled statistics, ``rmsea.scaled`` from chisq on tr(U Gamma) df.

* **Robust indices** (``cfi.robust``, ``tli.robust``, ``rmsea.robust`` and
  its interval): lavaan 0.6.14 does NOT build them from c under
  ``missing = "ml"``. It uses the FIML-corrected statistic of Zhang & Savalei
  (``lav_fit_fiml_corrected``, version "V3" when a scaled test exists): the
  FIML estimates theta^ are put into the *complete-data* ML discrepancy
  against the EM moments (m~, S~) treated as complete data::

      XX3 = sum_g N_g [ log|Sigma_g(theta^)| - log|S~_g| + tr(S~_g Sigma_g^-1) - p
                        + (m~_g - mu_g)' Sigma_g^-1 (m~_g - mu_g) ]

  on df degrees of freedom, with the scaling factor c3 = k / df::

      Wm = blockdiag_g(f_g A1_g)                  (missing-data h1 information)
      Wc = blockdiag_g(f_g blockdiag(S~^-1, 1/2 D'(S~^-1 x S~^-1) D))  (complete-data)
      G  = blockdiag_g(A1_g^-1 B1*_g A1_g^-1 / f_g)
      U  = Wm - Wm Delta (Delta' Wm Delta)^-1 Delta' Wm
      k  = tr(U Wm^-1 Wc Wm^-1 U G)

  (note: (Delta' Wm Delta)^-1, lavaan's ``observed.information = "h1"``,
  not the Hessian). The baseline's XX3 and c3 come the same way from the
  FIML independence model. Then, with lavaan's formulas (as for complete data,
  :meth:`coscale.stats.robust.Robust.fit_measures`)::

      cfi.robust   = 1 - max(XX3 - c3 df, 0) / max(XX3 - c3 df, XX3_0 - c3_0 df0, 0)
      tli.robust   = 1 - (XX3 - c3 df) df0 / ((XX3_0 - c3_0 df0) df)
      rmsea.robust = sqrt(max(XX3 / (N df) - c3 / N, 0)) sqrt(G)
      interval     : noncentral chi-square of XX3 / c3 on df, bounds times c3

  All four are defined (not NA) in lavaan 0.6.14 for one or several groups
  with and without equality constraints; they are NA only when that
  computation fails (a singular matrix), and then so are coscale's. With
  df = 0, c3 = k / 0 = Inf and lavaan's formulas fall back on their
  unscaled branch: cfi.robust = tli.robust = 1, rmsea.robust = 0 with the
  interval [0, 0] (while chisq.scaling.factor and rmsea.scaled are NA).

* **Difference tests** of nested models: lavaan's ``lavTestLRT`` default for
  a ``yuan.bentler.mplus`` test, the Satorra-Bentler (2001) scaled difference
  with the models' scaling factors c (:func:`coscale.stats.robust.scaled_difference`).

Every trace is invariant to how h is parameterised, so coscale's h1
coordinates need only be consistent, not lavaan's; they are (mu, vech Sigma)
in the order of :func:`coscale.stats.robust.vech_indices`. coscale iterates
EM to the maximum, lavaan stops at ``em.h1.tol = 1e-5``; the h1 quantities
differ by about that much.

Sources: Yuan & Bentler (2000), Three likelihood-based methods for mean and
covariance structure analysis with nonnormal missing data, Sociological
Methodology 30; Savalei (2010) on robust corrections with missing data;
Zhang & Savalei (2023), New computations for RMSEA and CFI following FIML
and TS estimation with missing data, Psychological Methods 28; lavaan 0.6.14
source (formulas only).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from coscale.stats.estimate import Fit
from coscale.stats.fiml import (
    DegenerateData,
    FimlEngine,
    FimlEstimation,
    FimlFit,
    MissingPatterns,
    _code_counts,
    _kron_sum,
    _Stack,
    fiml_fit_measures,
    fit_fiml,
    independence,
    pattern_codes,
)
from coscale.stats.moments import group_values
from coscale.stats.robust import (
    Robust,
    _cfi,
    _pvalue,
    _rmsea,
    _tli,
    _weight_vech,
    rmsea_ci,
    scaled_difference,
    vech_indices,
)

_NAN = float("nan")

#: lavaan 0.6.14's options for ``cfa(..., estimator = "MLR", missing = "ml")`` (``lavInspect(fit, "options")``)
LAVAAN_OPTIONS = {
    "estimator": "ML",  # lavaan stores MLR as ML with robust se and test
    "missing": "ml",
    "information": "observed",
    "observed.information": "hessian",
    "h1.information": "structured",
    "se": "robust.huber.white",
    "test": "yuan.bentler.mplus",
    "meanstructure": True,
}


# ---------------------------------------------------------------------------
# Raw rows grouped by missingness pattern
# ---------------------------------------------------------------------------
#: values per block of rows in passes over the rows (bounds the memory of a pass)
_BLOCK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class PatternRows:
    """The rows of one group, sorted by missingness pattern (what casewise scores need).

    Attributes
    ----------
    patterns : MissingPatterns
        Their per-pattern summary (the same object :func:`coscale.stats.fiml.fit_fiml` fits).
    values : ndarray, shape (n, p)
        The rows, sorted by pattern; 0 where an answer is missing.
    pattern : ndarray of int, shape (n,)
        Pattern index (into ``patterns``) of each row, non-decreasing.
    """

    patterns: MissingPatterns
    values: np.ndarray
    pattern: np.ndarray

    @property
    def variables(self) -> tuple:
        return self.patterns.variables

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    @property
    def observed(self) -> np.ndarray:
        """(n, p) answered-mask of every row."""
        return self.patterns.observed[self.pattern]

    @functools.cached_property
    def score_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pattern k, ``(G_k, S_k)``: the sums of ``z z'`` and ``z`` over its rows.

        ``z = [d; vech(d d')]`` with ``d = y - m_k`` (``m_k`` the pattern's
        mean, 0 where unobserved): the pattern's moments up to the fourth
        order, enough for the sum of the casewise score cross-products at any
        (mu, Sigma) without another pass over the rows
        (:func:`first_order_information`). One pass, in blocks of rows.
        """
        p = len(self.variables)
        r, c = vech_indices(p)
        k = p + len(r)
        K = self.patterns.n_patterns
        gram, total = np.zeros((K, k, k)), np.zeros((K, k))
        step = max(1, _BLOCK_ELEMENTS // k)
        buf = np.empty((min(step, self.n), k))
        for start in range(0, self.n, step):
            stop = min(start + step, self.n)
            pat = self.pattern[start:stop]
            z = buf[: stop - start]
            d = z[:, :p]
            np.subtract(self.values[start:stop], self.patterns.mean[pat], out=d)  # 0 - 0 where unobserved
            np.multiply(d[:, r], d[:, c], out=z[:, p:])
            edges = np.concatenate(([0], np.flatnonzero(np.diff(pat)) + 1, [len(pat)]))
            for lo, hi in zip(edges[:-1], edges[1:]):
                block = z[lo:hi]
                gram[pat[lo]] += block.T @ block
                total[pat[lo]] += block.sum(axis=0)
        return gram, total

    def reorder(self, variables) -> "PatternRows":
        """The same rows in another variable order."""
        variables = tuple(variables)
        if variables == self.variables:
            return self
        idx = [self.variables.index(v) for v in variables]
        return PatternRows(self.patterns.reorder(variables), self.values[:, idx], self.pattern)

    def align(self, target: MissingPatterns) -> "PatternRows":
        """The same rows, with ``target`` as their patterns (variable and pattern order of ``target``).

        ``target`` is typically a fit's ``patterns[g]``. Raises ``ValueError``
        unless the rows reproduce it (same patterns, counts and means).
        """
        d = self.reorder(target.variables)
        index = {m.tobytes(): k for k, m in enumerate(target.observed)}
        mapping = np.array([index.get(m.tobytes(), -1) for m in d.patterns.observed], dtype=np.intp)
        where = f" in group {target.name}" if target.name else ""
        if np.any(mapping < 0) or d.patterns.n_patterns != target.n_patterns:
            raise ValueError(f"the rows{where} do not have the missingness patterns of the fit")
        pattern = mapping[d.pattern]
        order = np.argsort(pattern, kind="stable")
        pattern, values = pattern[order], d.values[order]
        counts = np.bincount(pattern, minlength=target.n_patterns)
        if not np.array_equal(counts, target.n):
            raise ValueError(f"the rows{where} are not the ones the fit was made from (pattern counts differ)")
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        mean = np.add.reduceat(values, starts, axis=0) / counts[:, None]
        scale = 1.0 + float(np.abs(target.mean).max())
        if not np.allclose(mean, target.mean, rtol=0, atol=1e-8 * scale):
            raise ValueError(f"the rows{where} are not the ones the fit was made from (pattern means differ)")
        return PatternRows(target, values, pattern)

    @classmethod
    def from_values(cls, values, variables, name: str = "") -> "PatternRows":
        """Group the rows of a data matrix (NaN = missing) by missingness pattern.

        Rows without any answer are dropped (and counted in
        ``patterns.n_dropped``), as lavaan does; the patterns are those of
        :meth:`MissingPatterns.from_values` on the same matrix, in the same order.
        """
        x = np.asarray(values, dtype=float)
        pats = MissingPatterns.from_values(x, variables, name)
        obs = ~np.isnan(x)
        keep = obs.any(axis=1)
        x, obs = x[keep], obs[keep]
        code = pattern_codes(obs)
        if code is None:  # beyond 63 variables: sort the rows as records
            _, inverse = np.unique(obs, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
        else:  # each row's pattern as an integer: the patterns' order is the codes' order
            inverse = np.searchsorted(_code_counts(code, obs.shape[1])[2], code)
        order = np.argsort(inverse, kind="stable")
        return cls(pats, np.where(obs, x, 0.0)[order], inverse[order].astype(np.intp))


def missing_rows(frame, variables, group=None, group_order=None) -> list[PatternRows]:
    """Per-group :class:`PatternRows` of the item columns: the rows behind :func:`coscale.stats.fiml.missing_patterns`.

    Same arguments and the same row selection (rows without a group label or
    without any answer left out; groups in ``group_order``, default order of
    first appearance), so ``[r.patterns for r in missing_rows(...)]`` equals
    ``missing_patterns(...)``.
    """
    variables = list(variables)
    return [PatternRows.from_values(v, variables, name) for name, v in group_values(frame, variables, group, group_order)]


# ---------------------------------------------------------------------------
# Saturated-model (h1) ingredients in (mu, vech Sigma) coordinates
# ---------------------------------------------------------------------------
def _h1_jacobian(p: int):
    """d Sigma / d h (q, p, p) and d mu / d h (q, p) for h = (mu, vech Sigma), q = p + p (p + 1) / 2."""
    r, c = vech_indices(p)
    k = len(r)
    dsig = np.zeros((p + k, p, p))
    a = np.arange(k)
    dsig[p + a, r, c] = 1.0
    dsig[p + a, c, r] = 1.0
    dmu = np.zeros((p + k, p))
    dmu[np.arange(p), np.arange(p)] = 1.0
    return dsig, dmu


def _to_h1(dsig: np.ndarray, dmu: np.ndarray) -> np.ndarray:
    """Delta = d (mu, vech Sigma) / d theta, shape (p + p*, q), from a model's Jacobians."""
    p = dmu.shape[1]
    r, c = vech_indices(p)
    return np.concatenate([dmu, dsig[:, r, c]], axis=1).T


def _inverses(pats: MissingPatterns, sigma: np.ndarray):
    inv = _Stack(pats).inverses(sigma)
    if inv is None:
        raise np.linalg.LinAlgError("a pattern's covariance matrix is not positive definite")
    return inv[1]


def linear_information(pats: MissingPatterns, mu, sigma, dsig: np.ndarray, dmu: np.ndarray) -> np.ndarray:
    """Observed unit information (-Hessian of log L / N_g) of a model linear in its parameters.

    For the saturated model (:func:`h1_information`) and the independence
    model, whose Sigma and mu are linear in the parameters, so no second
    derivatives of Sigma or mu enter. Per pattern, W = Sigma_k^-1, d = m_k -
    mu_k, V = W (S_k + d d') W; for parameters a, b with A = dSigma/da, m_a =
    dmu/da::

        I_ab = sum_k n_k [ 1/2 (-tr(A W B W) + tr(A W B V) + tr(A V B W))
                           + d'W A W m_b + d'W B W m_a + m_a' W m_b ] / N_g

    summed over patterns as Kronecker sums (as
    :meth:`coscale.stats.fiml.FimlEngine.observed_information`).
    """
    st = _Stack(pats)
    w = _inverses(pats, sigma)
    n = st.n
    p = w.shape[1]
    q = dsig.shape[0]
    d = st.residuals(mu)
    wd = np.einsum("kij,kj->ki", w, d)
    v = w @ pats.cov @ w + wd[:, :, None] * wd[:, None, :]
    flat = dsig.reshape(q, -1)
    h = -flat @ _kron_sum(n, w, w) @ flat.T
    t = flat @ _kron_sum(n, w, v) @ flat.T
    h += t + t.T
    r = ((wd.T * n) @ w.reshape(len(n), -1)).reshape(p * p, p)  # [(x, i), y] = sum n (Wd)_x W_iy
    cross = 2.0 * flat @ r @ dmu.T
    h += cross + cross.T
    h += 2.0 * dmu @ np.einsum("k,kij->ij", n, w) @ dmu.T
    return 0.25 * (h + h.T) / st.n.sum()


def h1_information(pats: MissingPatterns, mu, sigma) -> np.ndarray:
    """Observed unit information of the saturated FIML model at (mu, Sigma), in (mu, vech Sigma) coordinates.

    Equivalent R: ``lavaan:::lav_mvnorm_missing_information_observed_samplestats(Yp, Mu, Sigma)``
    (lavaan's A1 for ``h1.information = "unstructured"`` at the EM estimates).
    """
    dsig, dmu = _h1_jacobian(len(mu))
    return linear_information(pats, np.asarray(mu, float), np.asarray(sigma, float), dsig, dmu)


def casewise_scores(rows: PatternRows, mu, sigma, *, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Casewise scores of the FIML log-likelihood with respect to (mu, vech Sigma), shape (n, p + p*).

    Row i of pattern k: ``a_i = W_k (y_i - mu)`` on its observed entries (0
    elsewhere), then ``(a_i a_i' - W_k)`` on vech (off-diagonal once, the
    diagonal halved). The rows are handled as one batched product per block of
    rows (each row picks its pattern's W_k), never one by one. ``start`` /
    ``stop`` select a block of (pattern-sorted) rows.

    Equivalent R: ``lavaan:::lav_mvnorm_missing_scores_mu_vech_sigma(Y, Mp, Mu = mu, Sigma = sigma)``
    (for the rows in lavaan's order).
    """
    mu = np.asarray(mu, float)
    p = len(mu)
    r, c = vech_indices(p)
    w = _inverses(rows.patterns, np.asarray(sigma, float))
    return _scores(rows, mu, w, r, c, start, rows.n if stop is None else stop)


def _scores(rows: PatternRows, mu, w, r, c, start: int, stop: int) -> np.ndarray:
    """Casewise scores of rows ``start:stop``, shape (stop - start, p + p*).

    Rows are sorted by pattern, so each run of one pattern is one matrix
    product with its ``W_k`` and one broadcast subtraction of its vech; ``W_k``
    is 0 in the rows and columns the pattern does not observe, so the filler
    there drops out. No per-row gathers of matrices.
    """
    p = len(mu)
    pat = rows.pattern[start:stop]
    m = stop - start
    out = np.empty((m, p + len(r)))
    a, sv = out[:, :p], out[:, p:]
    np.subtract(rows.values[start:stop], mu, out=a)
    half = np.where(r == c, 0.5, 1.0)
    w_vech = w[:, r, c] * half  # (K, p*): vech of each W_k, diagonal halved
    edges = np.concatenate(([0], np.flatnonzero(np.diff(pat)) + 1, [m]))
    for lo, hi in zip(edges[:-1], edges[1:]):
        a[lo:hi] = a[lo:hi] @ w[pat[lo]]
    np.multiply(a[:, r], a[:, c] * half, out=sv)
    for lo, hi in zip(edges[:-1], edges[1:]):
        sv[lo:hi] -= w_vech[pat[lo]]
    return out


def first_order_information(rows: PatternRows, mu, sigma) -> np.ndarray:
    """(1/N_g) sum_i s_i s_i' of the casewise scores (:func:`casewise_scores`), from per-pattern moments.

    At the model-implied moments this is lavaan's structured B1 (the meat
    after Delta' . Delta); at the EM moments the unstructured B1 of the
    scaled test.

    Within pattern k (``W = W_k``, ``d_i = y_i - m_k``, ``e = W (m_k - mu)``)
    the score is affine in ``z_i = [d_i; vech(d_i d_i')]``::

        s_i = A z_i + c0,   A = [[W, 0], [h E, h T]],   c0 = [e; h (vech(e e') - vech W)]

    with ``T`` the map ``vech(d d') -> vech(W d d' W)``, ``E d = vech(W d e' +
    e d' W)`` and ``h`` halving the diagonal entries; so ``sum_i s_i s_i' = A G
    A' + A S c0' + c0 S' A' + n_k c0 c0'`` from the pattern's ``G = sum z z'``
    and ``S = sum z`` (:attr:`PatternRows.score_moments`, one pass over the
    rows for all calls). Equal to summing the casewise scores up to rounding.

    Equivalent R: ``lavaan:::lav_mvnorm_missing_information_firstorder(Y, Mp, Mu = mu, Sigma = sigma)``.
    """
    mu = np.asarray(mu, float)
    p = len(mu)
    r, c = vech_indices(p)
    w = _inverses(rows.patterns, np.asarray(sigma, float))  # (K, p, p), 0 outside each pattern
    gram, total = rows.score_moments
    n_k = rows.patterns.n.astype(float)
    K, k = len(n_k), p + len(r)
    half = np.where(r == c, 0.5, 1.0)
    e = np.einsum("kij,kj->ki", w, np.where(rows.patterns.observed, rows.patterns.mean - mu, 0.0))
    wr, wc = w[:, r, :], w[:, c, :]  # (K, p*, p): rows r and c of each W
    a = np.zeros((K, k, k))
    a[:, :p, :p] = w
    a[:, p:, :p] = half[:, None] * (wr * e[:, c, None] + e[:, r, None] * wc)  # h E
    t = wr[:, :, r] * wc[:, :, c] + wr[:, :, c] * wc[:, :, r]  # vech(d d') -> vech(W d d' W)
    t[:, :, r == c] *= 0.5  # a diagonal d_j^2 appears once, not twice
    a[:, p:, p:] = half[:, None] * t
    c0 = np.concatenate([e, half * (e[:, r] * e[:, c] - w[:, r, c])], axis=1)
    a_s = np.einsum("kij,kj->ki", a, total)
    out = np.einsum("kij,kjl,kml->im", a, gram, a, optimize=True)
    out += np.einsum("ki,kj->ij", a_s, c0) + np.einsum("ki,kj->ij", c0, a_s)
    out += np.einsum("k,ki,kj->ij", n_k, c0, c0)
    return out / rows.n


def _complete_h1_information(cov: np.ndarray) -> np.ndarray:
    """blockdiag(S^-1, 1/2 D'(S^-1 x S^-1) D): the complete-data h1 information at (m, S)."""
    s_inv = np.linalg.inv(cov)
    p = len(cov)
    k = p * (p + 1) // 2
    out = np.zeros((p + k, p + k))
    out[:p, :p] = s_inv
    out[p:, p:] = _weight_vech(s_inv)
    return out


def _ml_discrepancy(mean, cov, mu, sigma) -> float:
    """log|Sigma| - log|S| + tr(S Sigma^-1) - p + (m - mu)' Sigma^-1 (m - mu) (complete-data ML, F_ML)."""
    sign_s, ld_s = np.linalg.slogdet(sigma)
    sign, ld = np.linalg.slogdet(cov)
    if sign_s <= 0 or sign <= 0:
        return _NAN
    inv = np.linalg.inv(sigma)
    d = np.asarray(mean) - np.asarray(mu)
    return float(ld_s - ld + np.sum(cov * inv) - len(mean) + d @ inv @ d)


# ---------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------
@dataclass
class RobustFiml(Robust):
    """:class:`coscale.stats.robust.Robust` for MLR with missing = "ml".

    Every field of ``Robust`` means what it means there (``chisq``,
    ``baseline_chisq`` are the FIML statistics; ``information`` the observed
    information, ``meat`` lavaan's ``information.first.order``), so
    :func:`coscale.stats.robust.scaled_difference` works unchanged. The extra
    fields are lavaan's FIML-corrected statistics behind the robust indices.

    Extra attributes
    ----------------
    corrected_chisq, corrected_scaling_factor : float
        XX3 and c.hat3 of ``lav_fit_fiml_corrected`` (the model).
    corrected_baseline_chisq, corrected_baseline_scaling_factor : float
        The same for the baseline model.
    trace_h1, trace_h0 : float
        sum_g tr(A1_g^-1 B1*_g) and sum_g f_g tr(B0_g H^-1): lavaan's
        ``scaling.factor.h1`` is trace_h1 / (G (p + p*)), ``scaling.factor.h0``
        trace_h0 / npar.
    """

    corrected_chisq: float = _NAN
    corrected_scaling_factor: float = _NAN
    corrected_baseline_chisq: float = _NAN
    corrected_baseline_scaling_factor: float = _NAN
    trace_h1: float = _NAN
    trace_h0: float = _NAN

    def fit_measures(self, plain: dict) -> dict:
        """Scaled and robust fit measures, named as ``lavaan::fitMeasures`` (``.`` -> ``_``).

        The ``*_scaled`` ones as :meth:`Robust.fit_measures`; ``cfi_robust``,
        ``tli_robust``, ``rmsea_robust`` and its interval from the
        FIML-corrected statistics (see the module docstring), as lavaan 0.6.14
        does under ``missing = "ml"``.

        Equivalent R: ``lavaan::fitMeasures(fit)`` for ``cfa(..., estimator = "MLR", missing = "ml")``.
        """
        out = super().fit_measures(plain)
        df, df0 = int(plain["df"]), int(plain["baseline_df"])
        n, G = int(plain["ntotal"]), self.n_groups
        x3, c3 = self.corrected_chisq, self.corrected_scaling_factor
        x30, c30 = self.corrected_baseline_chisq, self.corrected_baseline_scaling_factor
        with np.errstate(invalid="ignore", divide="ignore"):
            if np.isnan(c3) or np.isnan(c30):  # lavaan: NA in, NA out
                out["cfi_robust"] = out["tli_robust"] = _NAN
            elif df > 0:
                out["cfi_robust"] = _cfi(x3, df, x30, df0, c3, c30)
                out["tli_robust"] = _tli(x3, df, x30, df0, c3, c30)
            else:  # df = 0: c3 = k / 0 = Inf, and lavaan's formulas fall back on the unscaled form
                out["cfi_robust"] = _cfi(x3, df, x30, df0)
                out["tli_robust"] = _tli(x3, df, x30, df0)
            out["rmsea_robust"] = _rmsea(x3, df, n, G, c3)
            xs3 = x3 / c3 if c3 != 0 else _NAN  # 0 when c3 = Inf, as lavaan's XX3.scaled
            out["rmsea_ci_lower_robust"], out["rmsea_ci_upper_robust"] = rmsea_ci(xs3, df, n, G, c_hat=c3)
        return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}


# ---------------------------------------------------------------------------
# The correction
# ---------------------------------------------------------------------------
def _check_rows(fit: FimlFit, data: list) -> list:
    """Each group's rows aligned with the fit's patterns (:meth:`PatternRows.align`)."""
    pt = fit.partable
    if len(data) != pt.n_groups or len(fit.patterns) != pt.n_groups:
        raise ValueError(f"data has {len(data)} groups, the fit {pt.n_groups}")
    rows = []
    for d, pp in zip(data, fit.patterns):
        d = d if isinstance(d, PatternRows) else PatternRows.from_values(d, pt.observed, pp.name)
        rows.append(d.align(pp))
    return rows


def _fimlc_trace(wm: list, mid: list, gam: list, delta: list) -> float:
    """tr(U M U G) with U = Wm - Wm Delta (Delta' Wm Delta)^-1 Delta' Wm, all block-diagonal by group but Delta.

    ``wm``, ``mid`` (= Wm^-1 Wc Wm^-1) and ``gam`` are the per-group blocks,
    ``delta`` the per-group row blocks of Delta; expanded so that only q x q
    and per-group matrices are formed.
    """
    p_blocks = [w @ dl for w, dl in zip(wm, delta)]  # (Wm Delta)_g
    e = sum(dl.T @ pb for dl, pb in zip(delta, p_blocks))
    e_inv = np.linalg.inv(e)
    e_inv = 0.5 * (e_inv + e_inv.T)
    t0 = sum(np.sum((w @ m @ w) * gm.T) for w, m, gm in zip(wm, mid, gam))
    t1 = sum(pb.T @ m @ w @ gm @ pb for pb, m, w, gm in zip(p_blocks, mid, wm, gam))  # P' M Wm G P
    pmp = sum(pb.T @ m @ pb for pb, m in zip(p_blocks, mid))
    pgp = sum(pb.T @ gm @ pb for pb, gm in zip(p_blocks, gam))
    return float(t0 - 2.0 * np.sum(e_inv * t1.T) + np.sum((e_inv @ pmp) * (e_inv @ pgp).T))


def robust_fiml(fit: FimlFit, data: list) -> RobustFiml:
    """Robust (MLR) standard errors, scaled test and robust indices of a FIML fit.

    Parameters
    ----------
    fit : FimlFit
        From :func:`coscale.stats.fiml.fit_fiml` (or ``FimlEstimation.fit``).
    data : list of PatternRows or ndarray
        Per group, in the fit's group order, the rows the fit was made from:
        :func:`missing_rows` (same arguments as
        :func:`coscale.stats.fiml.missing_patterns`), or a (rows, items) array
        with NaN for a missing answer and columns in ``fit.partable.observed``
        order. Rows that do not reproduce ``fit.patterns`` raise ``ValueError``.

    Returns
    -------
    RobustFiml
        A :class:`coscale.stats.robust.Robust` (``vcov``, ``chisq_scaled``,
        ``scaling_factor``, ``baseline_*``...) whose :meth:`~RobustFiml.fit_measures`
        gives lavaan's scaled and robust indices for MLR with missing data.

    Notes
    -----
    The formulas are in the module docstring: Huber-White sandwich with the
    observed information and the casewise FIML scores; the Yuan-Bentler
    (Mplus) trace from the saturated model's observed information and
    casewise scores at the EM estimates; the FIML-corrected statistics of
    Zhang & Savalei for cfi/tli/rmsea ``.robust``. A fit that failed (NaN
    chisq) or a singular matrix gives NaN statistics and ``vcov = None``.

    Equivalent R: ``lavaan::cfa(model, data, estimator = "MLR", missing = "ml")``;
    ``parameterEstimates(fit)$se``, ``fitMeasures(fit)``.
    """
    pt = fit.partable
    rows = _check_rows(fit, data)
    G = pt.n_groups
    n = fit.ntotal
    df = int(fit.df)
    p = len(pt.observed)
    b_df = int(G * p * (p - 1) // 2)
    b_chisq = float(fit.baseline[0]) if fit.baseline is not None else _NAN
    nan_result = dict(
        estimator="MLR", vcov=None, chisq=float(fit.chisq), df=df, chisq_scaled=fit.chisq if df == 0 else _NAN,
        pvalue_scaled=_NAN, scaling_factor=_NAN, trace_ugamma=_NAN, baseline_chisq=b_chisq, baseline_df=b_df,
        baseline_chisq_scaled=_NAN, baseline_scaling_factor=_NAN, baseline_trace_ugamma=_NAN, ntotal=int(n),
        n_groups=int(G), partable=pt,
    )
    if not np.isfinite(fit.chisq) or not fit.h1:
        return RobustFiml(**nan_result)
    try:
        return _robust_fiml(fit, rows, nan_result)
    except (np.linalg.LinAlgError, DegenerateData):
        return RobustFiml(**nan_result)


def _robust_fiml(fit: FimlFit, rows: list, base: dict) -> RobustFiml:
    pt = fit.partable
    G = pt.n_groups
    n = fit.ntotal
    df, b_chisq, b_df = base["df"], base["baseline_chisq"], base["baseline_df"]
    p = len(pt.observed)
    eng = FimlEngine(pt, [r.patterns for r in rows], h1=fit.h1)
    q = eng.q
    weights = np.array([r.n / n for r in rows])

    # the model: bread, meat, sandwich
    info = eng.observed_information(fit.x)
    cond = np.linalg.cond(info)
    if not np.isfinite(cond) or cond > 1e12:
        raise np.linalg.LinAlgError("singular observed information")
    h_inv = np.linalg.inv(info)
    h_inv = 0.5 * (h_inv + h_inv.T)
    deltas, b0s = [], []
    for g, rg in enumerate(rows):
        mats = eng.matrices(fit.x, g)
        sigma, mu = eng.implied(fit.x, g, mats)
        dsig, dmu = eng.jacobian(mats, eng.free_entries(g), q)
        delta = _to_h1(dsig, dmu)
        deltas.append(delta)
        b0s.append(delta.T @ first_order_information(rg, mu, sigma) @ delta)
    meat = sum(f * b for f, b in zip(weights, b0s))
    vcov = h_inv @ meat @ h_inv / n
    vcov = 0.5 * (vcov + vcov.T)

    # the saturated model at the EM estimates
    a1s, a1_invs, b1s = [], [], []
    for rg, (mean_h1, cov_h1, _) in zip(rows, fit.h1):
        a1 = h1_information(rg.patterns, mean_h1, cov_h1)
        a1_inv = np.linalg.inv(a1)
        a1s.append(a1)
        a1_invs.append(0.5 * (a1_inv + a1_inv.T))
        b1s.append(first_order_information(rg, mean_h1, cov_h1))
    trace_h1_g = [float(np.sum(ai * b.T)) for ai, b in zip(a1_invs, b1s)]
    trace_h0_g = [float(f * np.sum(b * h_inv.T)) for f, b in zip(weights, b0s)]
    trace = sum(trace_h1_g) - sum(trace_h0_g)
    if df > 0 and np.isfinite(trace) and trace > 0:
        c = trace / df
        xs = fit.chisq / c
    else:  # lavaan: df = 0 -> no scaling factor, the "scaled" statistic is the standard one
        c, xs = _NAN, (fit.chisq if df == 0 else _NAN)
        trace = _NAN if df == 0 else trace

    # the baseline (independence) model, FIML: item means and ML variances from the available answers
    r_idx, c_idx = vech_indices(p)
    diag_pos = p + np.flatnonzero(r_idx == c_idx)
    b_trace = 0.0
    b_deltas, b_moments = [], []
    for g, (rg, f) in enumerate(zip(rows, weights)):
        mean0, var0, _ = independence(rg.patterns)
        sigma0 = np.diag(var0)
        dsig0 = np.zeros((2 * p, p, p))
        dsig0[p + np.arange(p), np.arange(p), np.arange(p)] = 1.0
        dmu0 = np.zeros((2 * p, p))
        dmu0[np.arange(p), np.arange(p)] = 1.0
        e0 = linear_information(rg.patterns, mean0, sigma0, dsig0, dmu0)  # unit (N_g) information
        delta0 = np.zeros((p + len(r_idx), 2 * p))
        delta0[np.arange(p), np.arange(p)] = 1.0
        delta0[diag_pos, p + np.arange(p)] = 1.0
        b00 = delta0.T @ first_order_information(rg, mean0, sigma0) @ delta0
        # the total information is blockdiag_g(f_g e0_g): group g's h0 trace is f_g tr(B00 (f_g e0)^-1)
        b_trace += trace_h1_g[g] - float(np.sum(b00 * np.linalg.inv(e0).T))
        full = np.zeros((p + len(r_idx), 2 * p * G))
        full[:, 2 * p * g:2 * p * (g + 1)] = delta0
        b_deltas.append(full)
        b_moments.append((mean0, sigma0))
    if b_df > 0 and np.isfinite(b_trace) and b_trace > 0:
        c0 = b_trace / b_df
        x0s = b_chisq / c0
    else:
        c0, x0s = _NAN, _NAN

    # FIML-corrected statistics (lavaan lav_fit_fiml_corrected, "V3")
    x3 = x30 = 0.0
    wm, mid, gam = [], [], []
    for g, (f, (mean_h1, cov_h1, _)) in enumerate(zip(weights, fit.h1)):
        sigma, mu = fit.implied[g]
        x3 += rows[g].n * _ml_discrepancy(mean_h1, cov_h1, mu, sigma)
        mean0, sigma0 = b_moments[g]
        x30 += rows[g].n * _ml_discrepancy(mean_h1, cov_h1, mean0, sigma0)
        wc = _complete_h1_information(cov_h1)
        ai = a1_invs[g]
        wm.append(f * a1s[g])
        mid.append(ai @ wc @ ai / f)
        gam.append(ai @ b1s[g] @ ai / f)
    # df = 0: lavaan divides by 0 (c.hat3 = Inf; the JSON writes it as null)
    c3 = _fimlc_trace(wm, mid, gam, deltas) / df if df > 0 else float("inf")
    c30 = _fimlc_trace(wm, mid, gam, b_deltas) / b_df if b_df > 0 else _NAN

    out = dict(base)
    out.update(
        vcov=vcov, chisq_scaled=float(xs), pvalue_scaled=_pvalue(xs, df), scaling_factor=float(c),
        trace_ugamma=float(trace), baseline_chisq_scaled=float(x0s), baseline_scaling_factor=float(c0),
        baseline_trace_ugamma=float(b_trace), information=info, meat=meat,
        corrected_chisq=float(x3), corrected_scaling_factor=float(c3), corrected_baseline_chisq=float(x30),
        corrected_baseline_scaling_factor=float(c30), trace_h1=float(sum(trace_h1_g)),
        trace_h0=float(sum(trace_h0_g)),
    )
    return RobustFiml(**out)


# ---------------------------------------------------------------------------
# The estimator object
# ---------------------------------------------------------------------------
@dataclass
class RobustFimlEstimation(FimlEstimation):
    """MLR with FIML as an estimator object (the interface of ``coscale.stats.estimators.Estimation``).

    Fits every model by :func:`coscale.stats.fiml.fit_fiml` (EM for the
    saturated model once per run), then corrects it with :func:`robust_fiml`:
    ``fit.robust`` is the :class:`RobustFiml` and ``fit.vcov`` its robust
    covariance matrix, as ``Estimation.fit`` does for complete-data MLR.
    ``measures`` adds the scaled and robust indices to
    :func:`coscale.stats.fiml.fiml_fit_measures`; ``difference`` is the
    Satorra-Bentler (2001) scaled difference (lavaan ``lavTestLRT``).

    Attributes
    ----------
    patterns : list of MissingPatterns
    rows : list of PatternRows
        The raw rows per group (casewise scores need them); ``patterns`` are theirs.
    estimator : str
        ``"MLR"``.
    missing : str
        ``"fiml"``, as :class:`coscale.stats.fiml.FimlEstimation` (lavaan's ``missing = "ml"``).
    """

    estimator: str = "MLR"
    rows: list | None = None

    robust = True
    index_suffix = "_robust"

    def __post_init__(self):
        if self.estimator != "MLR":
            raise ValueError(f"RobustFimlEstimation is estimator 'MLR', not {self.estimator!r}")
        if self.rows is None:
            raise ValueError("RobustFimlEstimation needs the rows (missing_rows(...)) for the casewise scores")
        self._saturated()

    def fit(self, pt, start=None) -> FimlFit:
        """Fit by FIML and replace the SEs by the Huber-White ones (``fit.robust``, ``fit.vcov``)."""
        fit = fit_fiml(pt, self.patterns, start=start, h1=self.h1)
        if np.isfinite(fit.chisq):
            fit.robust = robust_fiml(fit, self.rows)
            fit.vcov = fit.robust.vcov
        return fit

    def measures(self, fit: FimlFit) -> dict:
        """:func:`coscale.stats.fiml.fiml_fit_measures` plus the scaled and robust measures."""
        out = fiml_fit_measures(fit)
        if getattr(fit, "robust", None) is not None:
            out.update(fit.robust.fit_measures(out))
        return out

    def difference(self, less: Fit, more: Fit) -> dict:
        """Scaled chi-square difference (Satorra & Bentler 2001), lavaan ``lavTestLRT``'s default for MLR."""
        if getattr(less, "robust", None) is not None and getattr(more, "robust", None) is not None:
            return scaled_difference(less.robust, more.robust, less, more)
        return super().difference(less, more)


def robust_fiml_estimation(frame, variables, group=None, group_order=None) -> RobustFimlEstimation:
    """A :class:`RobustFimlEstimation` on all rows of ``frame`` with at least one answer.

    Same arguments as :func:`coscale.stats.fiml.fiml_estimation`; equivalent R:
    ``cfa(..., estimator = "MLR", missing = "ml")``.
    """
    rows = missing_rows(frame, variables, group, group_order)
    return RobustFimlEstimation([r.patterns for r in rows], rows=rows)


__all__ = [
    "LAVAAN_OPTIONS",
    "PatternRows",
    "RobustFiml",
    "RobustFimlEstimation",
    "casewise_scores",
    "first_order_information",
    "h1_information",
    "linear_information",
    "missing_rows",
    "robust_fiml",
    "robust_fiml_estimation",
]
