"""Thresholds, polychoric correlations and their asymptotic covariance matrix.

These are the sample statistics of lavaan's categorical estimators (WLSMV =
DWLS with robust standard errors and the scaled-and-shifted test): the
"three-stage" approach of Muthen (1984), as lavaan implements it
(``lav_samplestats_step1/step2``, ``muthen1984``):

1. **Thresholds**, item by item, from the marginal proportions:
   ``tau_t = qnorm(P(y <= t))`` for categories ``t = 1 .. K - 1`` (the ML
   estimate of the univariate probit model without covariates).
2. **Polychoric correlations**, pair by pair, by two-step ML (Olsson 1979):
   with both items' thresholds fixed at their step-1 values, maximise the
   multinomial log-likelihood of the pair's K1 x K2 table,
   ``sum_ab n_ab log pi_ab(rho)``, where ``pi_ab`` is the bivariate-normal
   probability of the rectangle ``(tau_a-1, tau_a] x (tau_b-1, tau_b]``.
   All pairs are solved at once (vectorised Newton steps with the analytic
   first and second derivatives: ``d Phi2 / d rho = phi2`` and
   ``d phi2 / d rho = phi2 * g``); the bivariate normal CDF is Genz's (2004)
   implementation of Drezner & Wesolowsky (1990), accurate to about 1e-15,
   the same algorithm as lavaan's ``pbivnorm``.
3. **NACOV** (lavaan's ``lavInspect(fit, "gamma")``), the asymptotic
   covariance matrix of sqrt(N) times (thresholds, polychorics), by the
   sandwich of the stacked estimating equations (Muthen 1984; Muthen &
   Satorra 1995)::

       WLS.W = B^-1  INNER  B^-T,     NACOV = N * WLS.W

   with ``INNER = sum_n s_n s_n'`` the cross-product of the stacked casewise
   scores ``s_n = (d log f(y_ni) / d tau  for all items,
   d log f(y_ni, y_nj) / d rho_ij  for all pairs)`` and the block-triangular
   bread ``B = [[A11, 0], [A21, A22]]``: ``A11`` the per-item block-diagonal
   part of ``INNER``'s threshold block, ``A22`` the diagonal of its
   correlation block, and ``A21[rho_ij, tau_i.]`` = sum over cases of
   ``d log f(y_ni, y_nj)/d rho_ij * d log f(y_ni, y_nj)/d tau_i.`` (the
   outer-product form of the cross-derivative of the pair likelihood).

The statistics vector is ordered as lavaan's ``WLS.obs``: all thresholds
(item by item), then the polychorics ``vech(R)`` without the diagonal, taken
column-wise (``r21, r31, ..., rp1, r32, ...``).

Data must be complete (listwise deletion happens before); categories are the
sorted distinct values each item takes, as R's ``ordered()`` levels.

Empty cells: as lavaan's defaults (``zero.add = c(0.5, 0)``,
``zero.keep.margins = TRUE``): only 2 x 2 tables are corrected (0.5 added to
an empty cell, margins kept); cell probabilities are bounded below by
``eps^(2/3)``. Estimates are bounded to ``[-0.999, 0.999]`` as in lavaan's
``nlminb`` call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

_EPS23 = np.finfo(float).eps ** (2.0 / 3.0)
_TWO_PI = 2.0 * np.pi
RHO_BOUND = 0.999

# Gauss-Legendre half-rules of Genz's BVN code (6, 12 and 20 points)
_GL = {
    6: (
        np.array([0.1713244923791705, 0.3607615730481384, 0.4679139345726904]),
        np.array([0.9324695142031522, 0.6612093864662647, 0.2386191860831970]),
    ),
    12: (
        np.array([0.04717533638651177, 0.1069393259953183, 0.1600783285433464,
                  0.2031674267230659, 0.2334925365383547, 0.2491470458134029]),
        np.array([0.9815606342467191, 0.9041172563704750, 0.7699026741943050,
                  0.5873179542866171, 0.3678314989981802, 0.1252334085114692]),
    ),
    20: (
        np.array([0.01761400713915212, 0.04060142980038694, 0.06267204833410906,
                  0.08327674157670475, 0.1019301198172404, 0.1181945319615184,
                  0.1316886384491766, 0.1420961093183821, 0.1491729864726037,
                  0.1527533871307259]),
        np.array([0.9931285991850949, 0.9639719272779138, 0.9122344282513259,
                  0.8391169718222188, 0.7463319064601508, 0.6360536807265150,
                  0.5108670019508271, 0.3737060887154196, 0.2277858511416451,
                  0.07652652113349733]),
    ),
}


def _phid(x):
    return special.ndtr(x)


def _bvnu(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """P(X > h, Y > k) for standard bivariate normal with correlation r (finite h, k).

    Genz's ``bvnu`` (Drezner & Wesolowsky 1990 with Genz's refinements),
    vectorised; |r| <= 1 allowed.
    """
    out = np.empty(h.shape)
    ar = np.abs(r)
    for npts, sel in ((6, ar < 0.3), (12, (ar >= 0.3) & (ar < 0.75)), (20, ar >= 0.75)):
        if not sel.any():
            continue
        w, x = _GL[npts]
        w = np.concatenate([w, w])
        x = np.concatenate([1.0 - x, 1.0 + x])
        hh, kk, rr = h[sel], k[sel], r[sel]
        hk = hh * kk
        res = np.empty(hh.shape)
        small = np.abs(rr) < 0.925
        if small.any():
            hs_ = (hh[small] ** 2 + kk[small] ** 2) / 2.0
            asr = np.arcsin(rr[small]) / 2.0
            sn = np.sin(asr[:, None] * x[None, :])
            bvn = np.exp((sn * hk[small][:, None] - hs_[:, None]) / (1.0 - sn**2)) @ w
            res[small] = bvn * asr / _TWO_PI + _phid(-hh[small]) * _phid(-kk[small])
        big = ~small
        if big.any():
            h2, k2, r2, hk2 = hh[big], kk[big].copy(), rr[big], hk[big].copy()
            neg = r2 < 0
            k2[neg] = -k2[neg]
            hk2[neg] = -hk2[neg]
            bvn = np.zeros(h2.shape)
            lt1 = np.abs(r2) < 1
            if lt1.any():
                hl, kl, hkl, rl = h2[lt1], k2[lt1], hk2[lt1], r2[lt1]
                as_ = 1.0 - rl**2
                a = np.sqrt(as_)
                bs = (hl - kl) ** 2
                asr = -(bs / as_ + hkl) / 2.0
                c = (4.0 - hkl) / 8.0
                d = (12.0 - hkl) / 80.0
                b0 = np.where(asr > -100, a * np.exp(np.maximum(asr, -700.0))
                              * (1.0 - c * (bs - as_) * (1.0 - d * bs) / 3.0 + c * d * as_**2), 0.0)
                b = np.sqrt(bs)
                sp = np.sqrt(_TWO_PI) * _phid(-b / a)
                b0 = np.where(hkl > -100,
                              b0 - np.exp(-np.maximum(hkl, -100.0) / 2.0) * sp * b * (1.0 - c * bs * (1.0 - d * bs) / 3.0),
                              b0)
                a2 = a / 2.0
                xs = (a2[:, None] * x[None, :]) ** 2
                asr2 = -(bs[:, None] / xs + hkl[:, None]) / 2.0
                ok = asr2 > -100
                sp2 = 1.0 + c[:, None] * xs * (1.0 + 5.0 * d[:, None] * xs)
                rs = np.sqrt(1.0 - xs)
                ep = np.exp(-(hkl[:, None] / 2.0) * xs / (1.0 + rs) ** 2) / rs
                term = np.where(ok, np.exp(np.maximum(asr2, -700.0)) * (sp2 - ep), 0.0) @ w
                bvn[lt1] = (a2 * term - b0) / _TWO_PI
            pos = r2 > 0
            res_big = np.empty(h2.shape)
            res_big[pos] = bvn[pos] + _phid(-np.maximum(h2[pos], k2[pos]))
            npos = ~pos
            if npos.any():
                hn, kn, bn = h2[npos], k2[npos], bvn[npos]
                ge = hn >= kn
                lval = np.where(hn < 0, _phid(kn) - _phid(hn), _phid(-hn) - _phid(-kn))
                res_big[npos] = np.where(ge, -bn, lval - bn)
            res[big] = res_big
        out[sel] = res
    return np.clip(out, 0.0, 1.0)


def bvn_cdf(h, k, r) -> np.ndarray:
    """Standard bivariate normal CDF ``P(X <= h, Y <= k)`` with correlation ``r``.

    Vectorised (broadcasts its arguments); ``h`` and ``k`` may be +-inf.
    Same values as R's ``pbivnorm::pbivnorm`` / ``mnormt::pmnorm`` (Genz's
    algorithm), to about 1e-15.
    """
    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(r, float))
    out = np.zeros(h.shape)
    fin = np.isfinite(h) & np.isfinite(k)
    if fin.any():
        out[fin] = _bvnu(-h[fin], -k[fin], r[fin])
    # infinite limits
    hinf, kinf = np.isposinf(h), np.isposinf(k)
    sel = hinf & np.isfinite(k)
    out[sel] = _phid(k[sel])
    sel = kinf & np.isfinite(h)
    out[sel] = _phid(h[sel])
    out[hinf & kinf] = 1.0
    out[np.isneginf(h) | np.isneginf(k)] = 0.0
    return out


def bvn_pdf(h, k, r) -> np.ndarray:
    """Standard bivariate normal density (0 where ``h`` or ``k`` is infinite)."""
    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(r, float))
    out = np.zeros(h.shape)
    fin = np.isfinite(h) & np.isfinite(k)
    hf, kf, rf = h[fin], k[fin], r[fin]
    om = 1.0 - rf * rf
    out[fin] = np.exp(-(hf * hf - 2.0 * rf * hf * kf + kf * kf) / (2.0 * om)) / (_TWO_PI * np.sqrt(om))
    return out


def _dlogpdf_drho(h, k, r):
    """d log phi2(h, k; r) / d r (finite h, k; any value where infinite, callers mask)."""
    om = 1.0 - r * r
    with np.errstate(invalid="ignore"):
        q = h * h - 2.0 * r * h * k + k * k
        return r / om + h * k / om - r * q / (om * om)


# ---------------------------------------------------------------- results ----
@dataclass(frozen=True, eq=False)
class PolychoricResult:
    """Thresholds, polychoric correlations and (optionally) their NACOV.

    Attributes
    ----------
    variables : list of str
    n : int
        Number of (complete) rows.
    levels : list of ndarray
        Per item, the observed category values in order (R's ``ordered()`` levels).
    thresholds : list of ndarray
        Per item, its ``K - 1`` thresholds.
    correlation : ndarray, shape (p, p)
        Polychoric correlation matrix (unit diagonal).
    nacov : ndarray or None
        lavaan's ``NACOV`` / ``lavInspect(fit, "gamma")``: asymptotic
        covariance of sqrt(N) (thresholds, vech(R) without diagonal), in
        :attr:`statistic_names` order. ``None`` unless requested.
    counts : list of ndarray
        Per item, the category frequencies.
    zero_cell_pairs : list of (str, str)
        Pairs whose bivariate table has an empty cell.
    warnings : list of str
    """

    variables: list
    n: int
    levels: list
    thresholds: list
    correlation: np.ndarray
    nacov: np.ndarray | None
    counts: list
    zero_cell_pairs: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def threshold_names(self) -> list[str]:
        """lavaan's threshold names, ``x1|t1``, ``x1|t2``, ..."""
        return [f"{v}|t{t + 1}" for v, th in zip(self.variables, self.thresholds) for t in range(len(th))]

    @property
    def correlation_names(self) -> list[str]:
        """``x1~~x2``, ``x1~~x3``, ...: vech(R) without diagonal, column-wise (lavaan's order and names)."""
        i, j = offdiag_index(len(self.variables))
        return [f"{self.variables[b]}~~{self.variables[a]}" for a, b in zip(i, j)]

    @property
    def statistic_names(self) -> list[str]:
        return self.threshold_names + self.correlation_names

    @property
    def threshold_vector(self) -> np.ndarray:
        return np.concatenate([np.asarray(t, float) for t in self.thresholds]) if self.thresholds else np.zeros(0)

    @property
    def wls_obs(self) -> np.ndarray:
        """The sample statistics vector (lavaan's ``WLS.obs``): thresholds, then polychorics."""
        i, j = offdiag_index(len(self.variables))
        return np.concatenate([self.threshold_vector, self.correlation[i, j]])


def offdiag_index(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of vech without the diagonal, column-wise (lavaan's order)."""
    rows, cols = [], []
    for j in range(p - 1):
        for i in range(j + 1, p):
            rows.append(i)
            cols.append(j)
    return np.array(rows, dtype=int), np.array(cols, dtype=int)


# ------------------------------------------------------------------- data ----
def ordinal_codes(values) -> tuple[np.ndarray, list, list]:
    """Recode each column to categories 0..K-1 (sorted distinct observed values).

    Parameters
    ----------
    values : array-like, shape (n, p)
        Complete ordinal data (numeric codes).

    Returns
    -------
    codes : ndarray of int, shape (n, p)
    levels : list of ndarray (per item, its category values)
    counts : list of ndarray (per item, the category frequencies)
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise ValueError("ordinal data must be a 2-D array (rows x items)")
    if np.isnan(x).any():
        raise ValueError("ordinal data contain missing values: delete incomplete rows first (listwise)")
    codes = np.empty(x.shape, dtype=np.int64)
    levels, counts = [], []
    for j in range(x.shape[1]):
        lev, inv, cnt = np.unique(x[:, j], return_inverse=True, return_counts=True)
        codes[:, j] = inv.ravel()
        levels.append(lev)
        counts.append(cnt)
    return codes, levels, counts


def thresholds_from_counts(counts) -> np.ndarray:
    """``qnorm`` of the cumulative proportions below each category boundary (lavaan ``lav_uvord_th``)."""
    c = np.asarray(counts, dtype=float)
    return special.ndtri(np.cumsum(c)[:-1] / c.sum())


# ------------------------------------------------------- bivariate tables ----
class _Pairs:
    """All item pairs of a data set, padded to a common K x K table for vectorised work."""

    def __init__(self, codes: np.ndarray, thresholds: list):
        n, p = codes.shape
        self.n, self.p = n, p
        self.k = np.array([len(t) + 1 for t in thresholds], dtype=int)
        self.kmax = int(self.k.max()) if p else 1
        km = self.kmax
        # extended thresholds per item: -inf, tau_1..tau_{K-1}, +inf, padded with +inf
        ext = np.full((p, km + 1), np.inf)
        ext[:, 0] = -np.inf
        for j, t in enumerate(thresholds):
            ext[j, 1 : len(t) + 1] = t
        self.ext = ext
        self.i, self.j = offdiag_index(p)  # pair (i, j) with i > j, lavaan's order
        # all two-way tables at once: one bincount over (pair, row category, column category).
        # Table of pair (i, j): rows = categories of item j (the first variable, "y1"),
        # columns = categories of item i ("y2"), as lavaan's lav_bvord_freq(y1 = j, y2 = i)
        npairs = len(self.i)
        cell = (np.arange(npairs) * km * km)[None, :] + codes[:, self.j] * km + codes[:, self.i]
        self.freq = np.bincount(cell.ravel(), minlength=npairs * km * km).reshape(npairs, km, km).astype(float)
        self.valid = (np.arange(km)[None, :, None] < self.k[self.j][:, None, None]) & (
            np.arange(km)[None, None, :] < self.k[self.i][:, None, None]
        )

    def grid(self, rho: np.ndarray):
        """Phi2 and phi2 at all threshold crossings of every pair: (npairs, km+1, km+1)."""
        h = self.ext[self.j][:, :, None]
        k = self.ext[self.i][:, None, :]
        r = rho[:, None, None]
        return bvn_cdf(h, k, r), bvn_pdf(h, k, r)

    @staticmethod
    def corner(x: np.ndarray) -> np.ndarray:
        """Rectangle sums x[a+1,b+1] - x[a,b+1] - x[a+1,b] + x[a,b] -> (npairs, km, km)."""
        return x[:, 1:, 1:] - x[:, :-1, 1:] - x[:, 1:, :-1] + x[:, :-1, :-1]

    def cell_probs(self, rho: np.ndarray, derivatives: bool = True):
        cdf, pdf = self.grid(rho)
        pi = self.corner(cdf)
        pi = np.where(self.valid, np.maximum(pi, _EPS23), 1.0)
        if not derivatives:
            return pi, None, None
        h = self.ext[self.j][:, :, None]
        k = self.ext[self.i][:, None, :]
        r = rho[:, None, None]
        fin = np.isfinite(h) & np.isfinite(k)
        with np.errstate(invalid="ignore"):
            g = np.where(fin, pdf * _dlogpdf_drho(h, k, r), 0.0)
        d1 = np.where(self.valid, self.corner(pdf), 0.0)
        d2 = np.where(self.valid, self.corner(g), 0.0)
        return pi, d1, d2


# ------------------------------------------------------------- polychoric ----
def _special_2x2(freq: np.ndarray, th1: np.ndarray, th2: np.ndarray):
    """lavaan's handling of 2 x 2 tables: returns (rho or None, corrected freq, warning or None)."""
    f = freq.astype(float).copy()
    zero = np.flatnonzero(f.ravel(order="F") == 0)  # R's column-major which()
    if len(zero) == 2:
        return (1.0 if f[0, 0] > 0 else -1.0), f, "two empty cells in 2x2 table"
    if len(zero) == 1:
        idx = zero[0]
        if idx in (0, 3):  # main diagonal
            f[0, 0] += 0.5
            f[1, 1] += 0.5
            f[1, 0] -= 0.5
            f[0, 1] -= 0.5
        else:
            f[0, 0] -= 0.5
            f[1, 1] -= 0.5
            f[1, 0] += 0.5
            f[0, 1] += 0.5
    if f[0, 0] * f[1, 1] == f[0, 1] * f[1, 0]:
        return 0.0, f, None
    if th1[0] == 0 and th2[0] == 0:
        return -np.cos(2.0 * np.pi * f[0, 0] / f.sum()), f, None
    return None, f, None


def _pearson_start(codes: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    x = codes.astype(float)
    sd = x.std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(x, rowvar=False) if x.shape[1] > 1 else np.eye(1)
    out = r[i, j]
    out = np.where(np.isfinite(out) & (np.abs(out) < 1) & (sd[i] > 0) & (sd[j] > 0), out, 0.0)
    return out


def _loglik(pairs: _Pairs, freq: np.ndarray, rho: np.ndarray) -> np.ndarray:
    pi, _, _ = pairs.cell_probs(rho, derivatives=False)
    return np.sum(np.where(pairs.valid, freq * np.log(pi), 0.0), axis=(1, 2))


_GRID = np.linspace(-0.96, 0.96, 13)


def _fit_rho(pairs: _Pairs, freq: np.ndarray, start: np.ndarray, active: np.ndarray,
             max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Maximise every active pair's log-likelihood in rho, all pairs at once.

    A coarse grid (step 0.16) and the Pearson start give the best starting
    point and a bracket around it; then Newton steps with the analytic
    second derivative, kept inside the bracket (bisection otherwise), the
    bracket shrinking with the sign of the gradient. The grid keeps the
    search off the flat regions near +-1 where cell probabilities underflow.
    """
    npairs = len(start)
    rho = np.clip(start.astype(float), -RHO_BOUND, RHO_BOUND)
    best = _loglik(pairs, freq, rho)
    lo = np.full(npairs, -RHO_BOUND)
    hi = np.full(npairs, RHO_BOUND)
    step = _GRID[1] - _GRID[0]
    for g in _GRID:
        ll = _loglik(pairs, freq, np.full(npairs, g))
        better = ll > best
        rho = np.where(better, g, rho)
        best = np.where(better, ll, best)
    lo = np.maximum(rho - step, -RHO_BOUND)
    hi = np.minimum(rho + step, RHO_BOUND)
    conv = ~active.copy()
    for _ in range(max_iter):
        todo = ~conv
        if not todo.any():
            break
        pi, d1, d2 = pairs.cell_probs(rho)
        grad = np.sum(freq * d1 / pi, axis=(1, 2))
        hess = np.sum(freq * (d2 / pi - (d1 / pi) ** 2), axis=(1, 2))
        lo = np.where(todo & (grad > 0), np.maximum(lo, rho), lo)
        hi = np.where(todo & (grad < 0), np.minimum(hi, rho), hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = np.where(hess < 0, rho - grad / hess, np.nan)
        inside = (newton > lo) & (newton < hi)
        new = np.where(inside, newton, 0.5 * (lo + hi))
        new = np.where(grad == 0, rho, new)
        done = todo & ((np.abs(new - rho) < 1e-12) | (hi - lo < 1e-12))
        rho = np.where(todo, new, rho)
        conv = conv | done
    return rho, conv


def polychoric(values, variables=None, *, nacov: bool = True) -> PolychoricResult:
    """Thresholds and polychoric correlations of ordinal items (lavaan's two-step ML).

    Parameters
    ----------
    values : array-like or pandas.DataFrame, shape (n, p)
        Complete ordinal data (any numeric category codes, e.g. 1..5).
    variables : sequence of str, optional
        Item names (default: the DataFrame's columns, or ``v1..vp``).
    nacov : bool
        Also compute the asymptotic covariance matrix (needed by WLSMV).

    Returns
    -------
    PolychoricResult

    Notes
    -----
    Equivalent R: ``lavaan::lavCor(data, ordered = TRUE)`` (polychorics),
    ``lavCor(data, ordered = TRUE, output = "th")`` (thresholds) and
    ``lavInspect(cfa(..., ordered = TRUE, estimator = "WLSMV"), "gamma")``
    (NACOV).
    """
    if variables is None:
        variables = list(values.columns) if hasattr(values, "columns") else None
    arr = values.to_numpy(dtype=float) if hasattr(values, "to_numpy") else np.asarray(values, dtype=float)
    if variables is None:
        variables = [f"v{j + 1}" for j in range(arr.shape[1])]
    variables = list(variables)
    codes, levels, counts = ordinal_codes(arr)
    n, p = codes.shape
    warnings: list[str] = []
    for v, c in zip(variables, counts):
        if len(c) < 2:
            raise ValueError(f"item {v} has only one observed category: it carries no information; remove it")
    thresholds = [thresholds_from_counts(c) for c in counts]
    pairs = _Pairs(codes, thresholds)
    npairs = len(pairs.i)
    freq = pairs.freq.copy()
    fixed = np.full(npairs, np.nan)
    zero_pairs = []
    for m in range(npairs):
        f = freq[m][pairs.valid[m]]
        if (f == 0).any():
            zero_pairs.append((variables[pairs.j[m]], variables[pairs.i[m]]))
        if pairs.k[pairs.i[m]] == 2 and pairs.k[pairs.j[m]] == 2:
            rho, fc, w = _special_2x2(freq[m, :2, :2], thresholds[pairs.j[m]], thresholds[pairs.i[m]])
            freq[m, :2, :2] = fc
            if w:
                warnings.append(f"{w} ({variables[pairs.j[m]]} x {variables[pairs.i[m]]})")
            if rho is not None:
                fixed[m] = rho
    active = np.isnan(fixed)
    start = _pearson_start(codes, pairs.i, pairs.j)
    rho, conv = _fit_rho(pairs, freq, start, active)
    rho = np.where(active, rho, fixed)
    for m in np.flatnonzero(active & ~conv):
        warnings.append(
            f"estimation of the polychoric correlation did not converge for {variables[pairs.j[m]]} "
            f"and {variables[pairs.i[m]]}"
        )
    corr = np.eye(p)
    corr[pairs.i, pairs.j] = rho
    corr[pairs.j, pairs.i] = rho
    for m in np.flatnonzero(np.abs(rho) > 0.99):
        warnings.append(
            f"correlation between variables {variables[pairs.i[m]]} and {variables[pairs.j[m]]} is (nearly) 1.0"
        )
    gamma = _nacov(codes, pairs, thresholds, rho) if nacov else None
    return PolychoricResult(
        variables=variables,
        n=int(n),
        levels=levels,
        thresholds=thresholds,
        correlation=corr,
        nacov=gamma,
        counts=counts,
        zero_cell_pairs=zero_pairs,
        warnings=warnings,
    )


# ------------------------------------------------------------------ NACOV ----
def _univariate_scores(th: np.ndarray) -> np.ndarray:
    """Score of log P(y = a) with respect to each threshold, per category a: (K, K-1)."""
    k = len(th) + 1
    ext = np.concatenate([[-np.inf], th, [np.inf]])
    prob = np.diff(special.ndtr(ext))
    dens = np.exp(-0.5 * th**2) / np.sqrt(_TWO_PI)
    s = np.zeros((k, k - 1))
    for a in range(k):
        if a < k - 1:
            s[a, a] += dens[a] / prob[a]  # upper bound of category a is tau_{a+1} (index a)
        if a > 0:
            s[a, a - 1] -= dens[a - 1] / prob[a]
    return s


def _bivariate_threshold_derivs(pairs: _Pairs, rho: np.ndarray):
    """d pi_ab / d tau of the first (rows) and second (columns) item of each pair.

    Returns two arrays (npairs, km, km, km-1): derivative of cell (a, b) with
    respect to threshold t of the row item / column item.
    """
    km = pairs.kmax
    e1 = pairs.ext[pairs.j]  # (P, km+1) row item
    e2 = pairs.ext[pairs.i]  # column item
    r = rho[:, None, None]
    s = np.sqrt(1.0 - rho * rho)[:, None, None]

    def partial(ea, eb):
        # dF(x, y)/dx at x = ea[t] (t = 1..km-1 interior), y = eb[c] for all c: phi(x) Phi((y - r x)/s)
        x = ea[:, 1:km, None]  # (P, km-1, 1)
        y = eb[:, None, :]  # (P, 1, km+1)
        with np.errstate(invalid="ignore"):
            z = (y - r * x) / s
        val = np.exp(-0.5 * x**2) / np.sqrt(_TWO_PI) * special.ndtr(z)
        return np.where(np.isfinite(x), np.nan_to_num(val, nan=0.0), 0.0)  # (P, km-1, km+1)

    g1 = partial(e1, e2)  # derivative wrt row-item threshold t, at column boundary c
    g2 = partial(e2, e1)
    P = len(rho)
    d1 = np.zeros((P, km, km, km - 1))
    d2 = np.zeros((P, km, km, km - 1))
    for t in range(km - 1):
        # row threshold t+1 is the upper bound of row category t and the lower bound of row category t+1
        col = g1[:, t, 1:] - g1[:, t, :-1]  # (P, km) over column categories b
        d1[:, t, :, t] += col
        if t + 1 < km:
            d1[:, t + 1, :, t] -= col
        row = g2[:, t, 1:] - g2[:, t, :-1]  # over row categories a
        d2[:, :, t, t] += row
        if t + 1 < km:
            d2[:, :, t + 1, t] -= row
    valid = pairs.valid[..., None]
    return np.where(valid, d1, 0.0), np.where(valid, d2, 0.0)


def _nacov(codes: np.ndarray, pairs: _Pairs, thresholds: list, rho: np.ndarray) -> np.ndarray:
    n, p = codes.shape
    km = pairs.kmax
    nth_i = pairs.k - 1
    th_start = np.concatenate([[0], np.cumsum(nth_i)[:-1]]).astype(int)
    nth = int(nth_i.sum())
    npairs = len(rho)
    # univariate score tables, as one (sum K) x nth map from the one-hot coding
    uni = np.zeros((p * km, nth))
    for j, th in enumerate(thresholds):
        s = _univariate_scores(th)
        uni[j * km : j * km + len(th) + 1, th_start[j] : th_start[j] + len(th)] = s
    # bivariate scores per cell (at the data's original frequencies: scores use the raw cases)
    pi, d1, _ = pairs.cell_probs(rho)
    sc_rho_cell = np.where(pairs.valid, d1 / pi, 0.0)  # (P, km, km)
    dth_row, dth_col = _bivariate_threshold_derivs(pairs, rho)
    freq = pairs.freq  # raw counts
    w = freq * sc_rho_cell  # n_ab * score_rho(a, b)
    a21 = np.zeros((npairs, nth))
    a21_row = np.einsum("pab,pabt->pt", w, dth_row / pi[..., None])
    a21_col = np.einsum("pab,pabt->pt", w, dth_col / pi[..., None])
    for m in range(npairs):
        jr, ic = pairs.j[m], pairs.i[m]
        a21[m, th_start[jr] : th_start[jr] + nth_i[jr]] = a21_row[m, : nth_i[jr]]
        a21[m, th_start[ic] : th_start[ic] + nth_i[ic]] = a21_col[m, : nth_i[ic]]
    a22 = np.sum(freq * sc_rho_cell**2, axis=(1, 2))
    # INNER = SC'SC, accumulated over row chunks; SC = [onehot @ uni, gathered rho scores]
    table = sc_rho_cell.reshape(-1)
    base = (np.arange(npairs) * km * km)[None, :]
    inner = np.zeros((nth + npairs, nth + npairs))
    chunk = max(1, int(4_000_000 // max(nth + npairs, 1)))
    for start in range(0, n, chunk):
        c = codes[start : start + chunk]
        sc = np.empty((len(c), nth + npairs))
        sth = np.zeros((len(c), nth))
        for j in range(p):
            sth += uni[j * km + c[:, j]]
        sc[:, :nth] = sth
        sc[:, nth:] = table[base + c[:, pairs.j] * km + c[:, pairs.i]]
        inner += sc.T @ sc
    # A11: per-item blocks of the threshold part of INNER
    a11_inv = np.zeros((nth, nth))
    for j in range(p):
        sl = slice(th_start[j], th_start[j] + nth_i[j])
        blk = inner[sl, sl]
        try:
            a11_inv[sl, sl] = np.linalg.inv(blk)
        except np.linalg.LinAlgError:
            a11_inv[sl, sl] = np.linalg.pinv(blk)
    a22_inv = np.where(a22 != 0, 1.0 / np.where(a22 != 0, a22, 1.0), 0.0)
    b_inv = np.zeros((nth + npairs, nth + npairs))
    b_inv[:nth, :nth] = a11_inv
    b_inv[nth:, :nth] = -(a22_inv[:, None] * a21) @ a11_inv
    b_inv[nth:, nth:] = np.diag(a22_inv)
    wls_w = b_inv @ inner @ b_inv.T
    gamma = wls_w * n
    return 0.5 * (gamma + gamma.T)
