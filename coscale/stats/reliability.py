"""Reliability and convergent/discriminant validity statistics.

Pure computation (numpy / scipy / pandas): no printing, no I/O. Every public
function reproduces a named R function; the reference values live in
``tests/reference/reliability.json`` (made by ``tests/reference/reliability.R``)
and ``tests/test_reliability.py`` checks them.

* :func:`cronbach_alpha` -- ``psych::alpha(x)`` (``use = "pairwise"``)
* :func:`feldt_ci` -- ``psych::alpha.ci(alpha, n.obs, n.var)``
* :func:`alpha_bootstrap_ci` -- ``psych::alpha(x, n.iter = ...)$boot.ci``
* :func:`item_statistics` -- ``psych::describe(x)`` and ``psych::alpha(x)``
* :func:`omega_from_cfa` -- ``semTools::compRelSEM(fit)``
* :func:`composite_reliability` -- Fornell & Larcker (1981) CR, by hand
* :func:`average_variance_extracted` -- Fornell & Larcker (1981) AVE;
  ``semTools::AVE(fit)`` with ``item_variances``
* :func:`htmt` -- ``semTools::htmt(model, data)``
* :func:`fornell_larcker` -- Fornell & Larcker (1981) criterion table
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from coscale.errors import InputError
from coscale.stats.distributions import ItemCounts
from coscale.stats.probability import f_ppf

__all__ = [
    "AlphaResult",
    "ConfidenceInterval",
    "cronbach_alpha",
    "feldt_ci",
    "alpha_bootstrap_ci",
    "item_statistics",
    "omega_from_cfa",
    "composite_reliability",
    "average_variance_extracted",
    "htmt",
    "fornell_larcker",
]

# Bootstrap indices are drawn in blocks of this many replicates. It is fixed
# (not tuned to memory) because the random stream, hence the result for a
# given seed, depends on how the draws are split into calls.
BOOT_BLOCK = 100
# Rows x items^2 cells of per-row cross-products held at once in the bootstrap.
_BOOT_CELLS = 4_000_000


# ---------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ConfidenceInterval:
    """A confidence interval for a reliability coefficient.

    Attributes
    ----------
    lower, upper : float
        Interval bounds.
    level : float
        Coverage, e.g. 0.95.
    method : str
        ``"feldt"`` or ``"bootstrap-percentile"``.
    n_boot : int or None
        Bootstrap replicates requested (bootstrap only).
    n_valid : int or None
        Replicates with a finite statistic, i.e. those the percentiles are
        taken over (bootstrap only).
    """

    lower: float
    upper: float
    level: float
    method: str
    n_boot: int | None = None
    n_valid: int | None = None


@dataclass(frozen=True, eq=False)
class AlphaResult:
    """Cronbach's alpha of a set of items, as ``psych::alpha`` reports it.

    Attributes
    ----------
    alpha : float
        Raw alpha (``$total$raw_alpha``).
    std_alpha : float
        Standardized alpha from the correlation matrix (``$total$std.alpha``).
    n_obs : int
        Number of rows (respondents) in the data, including rows with
        missing answers; this is psych's ``nsub``, used for the Feldt CI.
    n_complete : int
        Rows without any missing answer.
    n_items : int
        Number of items.
    items : tuple of str
        Item names, in column order.
    item_n : numpy.ndarray
        Non-missing answers per item (``$item.stats$n``).
    alpha_if_deleted : numpy.ndarray
        Raw alpha with each item dropped (``$alpha.drop$raw_alpha``).
    std_alpha_if_deleted : numpy.ndarray
        Standardized alpha with each item dropped (``$alpha.drop$std.alpha``).
    item_rest : numpy.ndarray
        Corrected item-total (item-rest) correlation (``$item.stats$r.drop``).
    ci : ConfidenceInterval
        Feldt (1965) interval (``$feldt``), at the level asked for.
    """

    alpha: float
    std_alpha: float
    n_obs: int
    n_complete: int
    n_items: int
    items: tuple[str, ...]
    item_n: np.ndarray
    alpha_if_deleted: np.ndarray
    std_alpha_if_deleted: np.ndarray
    item_rest: np.ndarray
    ci: ConfidenceInterval

    def item_table(self) -> pd.DataFrame:
        """Per-item results as a DataFrame indexed by item name."""
        return pd.DataFrame(
            {
                "n": self.item_n,
                "item_rest": self.item_rest,
                "alpha_if_deleted": self.alpha_if_deleted,
                "std_alpha_if_deleted": self.std_alpha_if_deleted,
            },
            index=pd.Index(self.items, name="item"),
        )


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def _as_float_frame(data: pd.DataFrame, what: str = "data") -> pd.DataFrame:
    """Return ``data`` as a float DataFrame (NaN for missing); reject non-numeric columns."""
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    if data.ndim != 2:
        raise ValueError(f"{what} must be two-dimensional (respondents x items)")
    bad = [str(c) for c in data.columns if not (
        pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]))]
    if bad:
        raise InputError(f"{what}: non-numeric item column(s): {', '.join(bad)}")
    values = data.to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame(values, index=data.index, columns=data.columns)


def _float_values(data, what: str = "data") -> tuple[np.ndarray, list]:
    """``data`` as a (rows, items) float array (NaN for missing) and its column labels.

    The checks of :func:`_as_float_frame` without building a new DataFrame:
    a float64 frame gives its values without a copy where pandas allows
    (the array must not be written to).
    """
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    if data.ndim != 2:
        raise ValueError(f"{what} must be two-dimensional (respondents x items)")
    dtypes = list(data.dtypes)
    if all(isinstance(d, np.dtype) and d == np.float64 for d in dtypes):
        return data.to_numpy(dtype=np.float64), list(data.columns)
    bad = [str(c) for c in data.columns if not (
        pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]))]
    if bad:
        raise InputError(f"{what}: non-numeric item column(s): {', '.join(bad)}")
    return data.to_numpy(dtype=float, na_value=np.nan), list(data.columns)


class _Pairwise:
    """Pairwise-complete sums of a (rows, items) array, by masked matrix products.

    With ``z`` the answers centred at each item's mean over its answers (0
    where missing) and ``m`` the 0/1 answered mask: ``n = m'm`` (joint
    answers), ``s = z'm`` (``s[i, j]``: sum of item i over the rows that
    answer i and j) and ``q = z'z``. Then the pairwise-complete covariance
    (divisor ``n - 1``, R's ``cov(x, use = "pairwise")``, pandas'
    ``DataFrame.cov``) is ``(q - s * s' / n) / (n - 1)``: pairwise means
    enter through ``s``, and centring first keeps the subtraction free of
    cancellation. No loop over rows or item pairs. ``n`` and ``s`` differ
    from their complete-data values only through the rows with a missing
    answer, so only those rows enter their products::

        n = N - u 1' - 1 u' + w'w        s = t 1' - z_R' w

    (``w`` the 0/1 missing mask of those rows R, ``u`` missing answers per
    item, ``t`` the column sums of ``z``).
    """

    def __init__(self, x: np.ndarray):
        n_rows, k = x.shape
        missing = np.isnan(x)
        n_missing = np.count_nonzero(missing, axis=0)
        self.n_rows = n_rows
        self.count = n_rows - n_missing
        self.complete = not n_missing.any()
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.complete:
                self.mean = x.sum(axis=0) / n_rows
                z = x - self.mean
            else:
                self.mean = np.add.reduce(x, axis=0, where=~missing) / self.count
                z = x - self.mean
                np.copyto(z, 0.0, where=missing)
        self.q = z.T @ z
        if self.complete:
            self.n = np.full((k, k), float(n_rows))
            self.s = np.zeros((k, k))
            self.rows_with_missing = 0
        else:
            rows = np.flatnonzero(np.logical_or.reduce(missing, axis=1))
            self.rows_with_missing = len(rows)
            w = missing[rows].astype(np.float64)
            u = n_missing.astype(np.float64)
            self.n = n_rows - u[:, None] - u[None, :] + w.T @ w
            t = z.sum(axis=0)
            self.s = t[:, None] - z[rows].T @ w

    @classmethod
    def from_patterns(cls, patterns) -> "_Pairwise":
        """The same sums from the rows' missingness-pattern summaries (no pass over the rows).

        ``patterns`` is a :class:`coscale.stats.fiml.MissingPatterns`: per
        pattern k its count ``w_k``, 0/1 answered mask ``o_k``, mean and ML
        covariance ``C_k``. With ``d_k = (mean_k - item means) * o_k``::

            n = O' W O        s = D' W O        q = sum_k w_k (C_k + d_k d_k')

        Rows without any answer (``n_dropped``) count only as rows.
        """
        self = cls.__new__(cls)
        o = patterns.observed.astype(float)
        w = patterns.n.astype(float)
        self.n_rows = int(patterns.n_total + patterns.n_dropped)
        self.count = np.rint(w @ o).astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean = (w @ patterns.mean) / self.count
        d = np.where(patterns.observed, patterns.mean - self.mean, 0.0)
        dw = d * w[:, None]
        self.n = (o * w[:, None]).T @ o
        self.s = dw.T @ o
        self.q = np.einsum("k,kij->ij", w, patterns.cov) + dw.T @ d
        complete_rows = int(patterns.n[-1]) if patterns.observed[-1].all() else 0
        self.rows_with_missing = self.n_rows - complete_rows
        self.complete = self.rows_with_missing == 0
        return self

    def n_complete(self) -> int:
        """Rows that answer every item."""
        return int(self.n_rows - self.rows_with_missing)

    def variances(self) -> np.ndarray:
        """Per-item variance (divisor n - 1) over its answers, as pandas' ``std(ddof=1)**2``."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count >= 2, np.diag(self.q) / (self.count - 1.0), np.nan)

    def cov(self, idx=None) -> np.ndarray:
        """Pairwise-complete covariance matrix (of the items ``idx``)."""
        q, s, n = self.q, self.s, self.n
        if idx is not None:
            ix = np.ix_(idx, idx)
            q, s, n = q[ix], s[ix], n[ix]
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (q - s * s.T / n) / (n - 1.0)
        c[n < 2] = np.nan
        return c


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _cov2cor(c: np.ndarray) -> np.ndarray:
    """R's ``stats::cov2cor``."""
    d = 1.0 / np.sqrt(np.diag(c))
    r = c * d[:, None] * d[None, :]
    np.fill_diagonal(r, 1.0)
    return r


def _alpha_from_cov(c: np.ndarray) -> float:
    """Raw alpha of psych's ``alpha.1``: (1 - tr(C)/sum(C)) * k/(k-1)."""
    k = c.shape[0]
    return (1.0 - np.trace(c) / c.sum()) * (k / (k - 1.0))


def _std_alpha_from_cor(r: np.ndarray) -> float:
    """Standardized alpha of psych's ``alpha.1``: (1 - k/sum(R)) * k/(k-1)."""
    k = r.shape[0]
    return (1.0 - k / r.sum()) * (k / (k - 1.0))


def _alpha_parts(c: np.ndarray):
    """Alpha, std. alpha, alpha-if-deleted (raw, std.) and r.drop from a covariance matrix.

    A line-by-line port of the corresponding parts of ``psych::alpha``
    (psych 2.2.9).
    """
    k = c.shape[0]
    r = _cov2cor(c)
    alpha = _alpha_from_cov(c)
    std_alpha = _std_alpha_from_cor(r)
    drop_raw = np.empty(k)
    drop_std = np.empty(k)
    if k > 2:
        for i in range(k):
            keep = np.arange(k) != i
            drop_raw[i] = _alpha_from_cov(c[np.ix_(keep, keep)])
            drop_std[i] = _std_alpha_from_cor(r[np.ix_(keep, keep)])
    else:
        # psych's special case for two items (alpha of one item is undefined):
        # raw "alpha" = C[1,2] / C[other, other], standardized = R[1,2].
        drop_raw[0] = c[0, 1] / c[1, 1]
        drop_raw[1] = c[0, 1] / c[0, 0]
        drop_std[:] = r[0, 1]
    # r.drop: correlation of item i with the sum of the other items, all
    # from the (pairwise) covariance matrix C.
    total = c.sum()
    col = c.sum(axis=0)
    diag = np.diag(c)
    v_drop = total - 2.0 * col + diag  # sum(C[-i, -i])
    c_drop = col - diag  # sum(C[, i]) - C[i, i]
    r_drop = c_drop / np.sqrt(diag * v_drop)
    return alpha, std_alpha, drop_raw, drop_std, r_drop


# ---------------------------------------------------------------------------
# Cronbach's alpha
# ---------------------------------------------------------------------------
def feldt_ci(alpha: float, n_obs: int, n_items: int, level: float = 0.95) -> ConfidenceInterval:
    """Feldt (1965) confidence interval for coefficient alpha.

    ``(1 - alpha)/(1 - alpha_pop)`` follows an F distribution with
    ``n_obs - 1`` and ``(n_obs - 1)(n_items - 1)`` degrees of freedom, so::

        lower = 1 - (1 - alpha) * F(1 - p/2; df1, df2)
        upper = 1 - (1 - alpha) * F(p/2;     df1, df2)      p = 1 - level

    Parameters
    ----------
    alpha : float
        Sample coefficient alpha.
    n_obs : int
        Number of respondents (psych passes the number of rows of the data).
    n_items : int
        Number of items.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    ConfidenceInterval
        ``method="feldt"``.

    Notes
    -----
    Source: Feldt, L. S. (1965). The approximate sampling distribution of
    Kuder-Richardson reliability coefficient twenty. *Psychometrika*, 30,
    357-370; Feldt, Woodruff & Salih (1987), *Applied Psychological
    Measurement*, 11, 93-103.

    R equivalent: ``psych::alpha.ci(alpha, n.obs, n.var, p.val = 1 - level)``
    (and the "Feldt" lines printed by ``psych::alpha``).
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    if n_obs < 2 or n_items < 2:
        raise ValueError("the Feldt interval needs at least 2 respondents and 2 items")
    p = 1.0 - level
    df1 = n_obs - 1
    df2 = (n_obs - 1) * (n_items - 1)
    lower = 1.0 - (1.0 - alpha) * f_ppf(1.0 - p / 2.0, df1, df2)
    upper = 1.0 - (1.0 - alpha) * f_ppf(p / 2.0, df1, df2)
    return ConfidenceInterval(float(lower), float(upper), float(level), "feldt")


def cronbach_alpha(data: pd.DataFrame, level: float = 0.95) -> AlphaResult:
    """Cronbach's alpha with item-level diagnostics, exactly as ``psych::alpha``.

    The covariance matrix ``C`` is computed from pairwise-complete
    observations (divisor n - 1); ``R = cov2cor(C)``. Then

    * raw alpha = ``k/(k-1) * (1 - tr(C)/sum(C))``;
    * standardized alpha = ``k/(k-1) * (1 - k/sum(R))``;
    * alpha if item deleted: the same two formulas on ``C``/``R`` without
      the item's row and column (for two items psych reports
      ``C[1,2]/C[j,j]`` and ``R[1,2]``, which this function reproduces);
    * item-rest correlation (psych's ``r.drop``), from ``C`` alone::

          r.drop[i] = (sum(C[, i]) - C[i, i]) / sqrt(C[i, i] * sum(C[-i, -i]))

      i.e. the correlation of item i with the sum of the other items
      implied by the pairwise covariance matrix (not a correlation computed
      on per-person rest scores, which would differ when data are missing).

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents in rows, items in columns (numeric; NaN = missing).
        Reverse-keyed items must already be recoded (psych's ``keys`` /
        ``check.keys`` are not applied).
    level : float, default 0.95
        Coverage of the Feldt interval in ``result.ci``.

    Returns
    -------
    AlphaResult

    Raises
    ------
    InputError
        Fewer than two items, a non-numeric column, or an item without
        variance (psych would silently drop such an item; coscale refuses).

    Notes
    -----
    Source: Cronbach, L. J. (1951). Coefficient alpha and the internal
    structure of tests. *Psychometrika*, 16, 297-334. Item-rest correlation
    and the pairwise treatment of missing data follow Revelle's ``psych``
    package (version 2.2.9, function ``alpha``).

    R equivalent: ``psych::alpha(data)`` with its defaults
    (``use = "pairwise"``): ``$total$raw_alpha``, ``$total$std.alpha``,
    ``$alpha.drop$raw_alpha``, ``$alpha.drop$std.alpha``,
    ``$item.stats$r.drop``, ``$item.stats$n``, ``$feldt``.
    """
    x, columns = _float_values(data)
    if x.shape[1] < 2:
        raise InputError("Cronbach's alpha needs at least two items")
    return _alpha_result(_Pairwise(x), columns, level)


def cronbach_alpha_from_patterns(patterns, level: float = 0.95) -> AlphaResult:
    """:func:`cronbach_alpha` of the rows summarised by their missingness patterns.

    Parameters
    ----------
    patterns : coscale.stats.fiml.MissingPatterns
        The items' patterns (:meth:`~coscale.stats.fiml.MissingPatterns.from_values`,
        or :meth:`~coscale.stats.fiml.MissingPatterns.marginal` of a larger
        set); rows without any answer count in ``n_obs`` as psych counts them.
    level : float, default 0.95

    Returns
    -------
    AlphaResult
        The same numbers as :func:`cronbach_alpha` on the rows (up to
        rounding): pairwise-complete sums are sums over patterns.
    """
    if len(patterns.variables) < 2:
        raise InputError("Cronbach's alpha needs at least two items")
    return _alpha_result(_Pairwise.from_patterns(patterns), list(patterns.variables), level)


def _alpha_result(pw: _Pairwise, columns: list, level: float) -> AlphaResult:
    k = len(columns)
    item_n = pw.count.astype(float)
    with np.errstate(invalid="ignore"):
        sd = np.sqrt(pw.variances())
    bad = [str(c) for c, s in zip(columns, sd) if not np.isfinite(s) or s <= 0]
    if bad:
        raise InputError(f"item(s) without variance: {', '.join(bad)}")
    c = pw.cov()
    if not np.all(np.isfinite(c)):
        raise InputError("some item pairs have fewer than two joint answers; "
                         "their covariance is undefined")
    alpha, std_alpha, drop_raw, drop_std, r_drop = _alpha_parts(c)
    n_obs = int(pw.n_rows)
    return AlphaResult(
        alpha=float(alpha),
        std_alpha=float(std_alpha),
        n_obs=n_obs,
        n_complete=pw.n_complete(),
        n_items=int(k),
        items=tuple(str(c) for c in columns),
        item_n=_readonly(item_n),
        alpha_if_deleted=_readonly(drop_raw),
        std_alpha_if_deleted=_readonly(drop_std),
        item_rest=_readonly(r_drop),
        ci=feldt_ci(alpha, n_obs, k, level),
    )


def bootstrap_indices(n: int, n_boot: int, seed):
    """Yield the resampled row indices, one array of shape (block, n) per block of replicates.

    ``numpy.random.default_rng(seed).integers(0, n, size=(b, n))`` for
    consecutive blocks of ``b <= 100`` replicates (:func:`alpha_bootstrap_ci`
    and :func:`coscale.stats.bootstrap.bootstrap_reliability` draw with it).
    Replicate ``r`` is row ``r % 100`` of block ``r // 100``.

    Parameters
    ----------
    n : int
        Number of rows.
    n_boot : int
        Number of replicates.
    seed : int, numpy.random.SeedSequence or None
        Seed for ``numpy.random.default_rng``.
    """
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_boot:
        b = min(BOOT_BLOCK, n_boot - done)
        yield rng.integers(0, n, size=(b, n))
        done += b


def alpha_from_pairwise_sums(nij: np.ndarray, si: np.ndarray, sij: np.ndarray, k: int) -> np.ndarray:
    """Raw alpha of many (re)samples from their pairwise-complete sums.

    Each argument has shape (b, k*k): per sample and item pair, the number of
    rows where both items were answered, the sum of item i over those rows,
    and the sum of the cross-products. The covariance is the pairwise one
    (divisor n_ij - 1), as ``psych::alpha``; alpha is k/(k-1) (1 - tr C / sum C).
    """
    b = nij.shape[0]
    nij, si, sij = nij.reshape(b, k, k), si.reshape(b, k, k), sij.reshape(b, k, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = (sij - si * np.swapaxes(si, 1, 2) / nij) / (nij - 1.0)
        trace = np.trace(cov, axis1=1, axis2=2)
        total = cov.sum(axis=(1, 2))
        return (1.0 - trace / total) * (k / (k - 1.0))


def _bootstrap_alphas(values: np.ndarray, n_boot: int, seed) -> np.ndarray:
    """Raw alpha (pairwise covariances) for each bootstrap replicate.

    Resampling rows with replacement is the same as weighting each row by
    how often it was drawn, so all pairwise sums are matrix products of the
    (replicates x rows) count matrix with per-row cross-products. The
    products are accumulated over chunks of rows to bound memory.
    """
    n, k = values.shape
    present = ~np.isnan(values)
    # Centre at the observed item means first (less cancellation below).
    z = np.where(present, values - np.nanmean(values, axis=0), 0.0)
    m = present.astype(float)
    rows_per_chunk = max(1, _BOOT_CELLS // (k * k))
    chunks = [slice(a, min(a + rows_per_chunk, n)) for a in range(0, n, rows_per_chunk)]

    def cross(sl):
        zs, ms = z[sl], m[sl]
        r = zs.shape[0]
        return ((ms[:, :, None] * ms[:, None, :]).reshape(r, k * k),  # both answered
                (zs[:, :, None] * ms[:, None, :]).reshape(r, k * k),  # x_i where j answered
                (zs[:, :, None] * zs[:, None, :]).reshape(r, k * k))

    cached = [cross(sl) for sl in chunks] if len(chunks) == 1 else None
    out = np.empty(n_boot)
    done = 0
    for idx in bootstrap_indices(n, n_boot, seed):
        b = idx.shape[0]
        counts = np.bincount((idx + (np.arange(b) * n)[:, None]).ravel(),
                             minlength=b * n).reshape(b, n).astype(float)
        nij = np.zeros((b, k * k))
        si = np.zeros((b, k * k))  # sum of x_i over rows where i and j answered
        sij = np.zeros((b, k * k))
        for c, sl in enumerate(chunks):
            mm, zm, zz = cached[c] if cached is not None else cross(sl)
            w = counts[:, sl]
            nij += w @ mm
            si += w @ zm
            sij += w @ zz
        out[done:done + b] = alpha_from_pairwise_sums(nij, si, sij, k)
        done += b
    return out


def alpha_bootstrap_ci(data: pd.DataFrame, n_boot: int = 2000, seed=None,
                       level: float = 0.95) -> ConfidenceInterval:
    """Percentile bootstrap confidence interval for raw Cronbach's alpha.

    Respondents (rows, including those with missing answers) are resampled
    with replacement ``n_boot`` times; alpha is recomputed on each replicate
    from pairwise-complete covariances (as in :func:`cronbach_alpha`) and the
    interval is given by the ``(1 - level)/2`` and ``(1 + level)/2``
    quantiles of the replicates (linear interpolation, R's ``quantile``
    type 7). Replicates whose alpha is undefined (e.g. a constant item in the
    resample) are left out; ``n_valid`` reports how many were used.

    The computation is vectorised: a replicate is a vector of draw counts per
    row, and every pairwise sum is a product of the counts with per-row
    cross-products. The result is deterministic for a given ``seed``
    (``numpy.random.default_rng(seed)``; indices are drawn in fixed blocks of
    100 replicates).

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents in rows, items in columns (NaN = missing).
    n_boot : int, default 2000
        Number of bootstrap replicates.
    seed : int, numpy.random.SeedSequence or None
        Seed for ``numpy.random.default_rng``.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    ConfidenceInterval
        ``method="bootstrap-percentile"``.

    Notes
    -----
    Source: Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the
    Bootstrap*, ch. 13 (percentile interval); for alpha e.g. Kelley, K., &
    Pornprasertmanit, S. (2016). Confidence intervals for population
    reliability coefficients. *Psychological Methods*, 21, 69-92.

    R equivalent: ``psych::alpha(data, n.iter = n_boot)$boot.ci`` (same
    procedure, but R's random numbers differ, so only the distribution, not
    the individual replicates, agrees).
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    if int(n_boot) < 1:
        raise ValueError("n_boot must be a positive integer")
    frame = _as_float_frame(data)
    if frame.shape[1] < 2:
        raise InputError("Cronbach's alpha needs at least two items")
    if frame.shape[0] < 2:
        raise InputError("the bootstrap needs at least two respondents")
    alphas = _bootstrap_alphas(frame.to_numpy(dtype=float), int(n_boot), seed)
    valid = alphas[np.isfinite(alphas)]
    if valid.size == 0:
        raise InputError("alpha is undefined in every bootstrap replicate")
    lo, hi = np.quantile(valid, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return ConfidenceInterval(float(lo), float(hi), float(level), "bootstrap-percentile",
                              n_boot=int(n_boot), n_valid=int(valid.size))


# ---------------------------------------------------------------------------
# Item statistics
# ---------------------------------------------------------------------------
def item_statistics(data: pd.DataFrame, response_min: float | None = None,
                    response_max: float | None = None) -> pd.DataFrame:
    """Descriptive and classical item statistics, one row per item.

    Columns

    ``n``
        non-missing answers;
    ``mean``, ``sd``
        mean and standard deviation (divisor n - 1);
    ``skewness``
        ``sum((x - m)^3) / (n * sd^3)`` (psych type 3, i.e. Joanes & Gill's
        b1 with the n - 1 standard deviation);
    ``kurtosis``
        excess kurtosis ``sum((x - m)^4) / (n * sd^4) - 3`` (psych type 3, b2);
    ``floor``, ``ceiling``
        share of the item's non-missing answers equal to ``response_min`` /
        ``response_max`` (NaN when that bound is not given: the possible
        range of a scale cannot be read off the data);
    ``item_rest``
        corrected item-total correlation, psych's ``r.drop``
        (see :func:`cronbach_alpha`);
    ``alpha_if_deleted``
        raw alpha without the item (psych's ``alpha.drop$raw_alpha``).

    Everything is computed per item on its available answers (NaN-aware);
    ``item_rest`` and ``alpha_if_deleted`` use pairwise-complete covariances
    like ``psych::alpha``. Items without variance get NaN in those two
    columns and are left out of the others' computation (as
    ``psych::alpha`` drops them); with fewer than two usable items both
    columns are NaN.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents in rows, items in columns (NaN = missing).
    response_min, response_max : float, optional
        Lowest and highest possible answer of the response scale.

    Returns
    -------
    pandas.DataFrame
        Indexed by item name, columns as listed above.

    Notes
    -----
    Sources: Joanes, D. N., & Gill, C. A. (1998). Comparing measures of
    sample skewness and kurtosis. *The Statistician*, 47, 183-189 (type 3
    estimators); floor/ceiling effects as in Terwee, C. B., et al. (2007).
    Quality criteria were proposed for measurement properties of health
    status questionnaires. *Journal of Clinical Epidemiology*, 60, 34-42.

    R equivalent: ``psych::describe(data)`` (``n``, ``mean``, ``sd``,
    ``skew``, ``kurtosis``; default ``type = 3``) and ``psych::alpha(data)``
    (``$item.stats$r.drop``, ``$alpha.drop$raw_alpha``). Floor and ceiling:
    ``colMeans(data == response_min, na.rm = TRUE)``.
    """
    x, columns = _float_values(data)
    counts = ItemCounts.from_values(x, columns)
    return _item_table(_Pairwise(x), counts, columns, response_min, response_max)


def item_statistics_from_summary(patterns, counts, response_min: float | None = None,
                                 response_max: float | None = None) -> pd.DataFrame:
    """:func:`item_statistics` from summaries of the rows instead of the rows.

    Parameters
    ----------
    patterns : coscale.stats.fiml.MissingPatterns
        The items' missingness patterns (pairwise covariances for
        ``item_rest`` and ``alpha_if_deleted``).
    counts : coscale.stats.distributions.ItemCounts
        The items' answer counts (``n``, moments, floor and ceiling); may
        hold more items than ``patterns``.
    response_min, response_max : float, optional

    Returns
    -------
    pandas.DataFrame
        As :func:`item_statistics` on the same rows (up to rounding).
    """
    columns = list(patterns.variables)
    return _item_table(_Pairwise.from_patterns(patterns), counts.select(columns), columns, response_min, response_max)


def _item_table(pw: _Pairwise, counts, columns: list, response_min, response_max) -> pd.DataFrame:
    n, mean, sd, skew, kurt = counts.moments()
    item_rest = np.full(len(columns), np.nan)
    alpha_drop = np.full(len(columns), np.nan)
    usable = np.isfinite(sd) & (sd > 0)
    if usable.sum() >= 2:
        c = pw.cov(np.flatnonzero(usable))
        if np.all(np.isfinite(c)):
            _, _, drop_raw, _, r_drop = _alpha_parts(c)
            item_rest[usable] = r_drop
            alpha_drop[usable] = drop_raw

    out = pd.DataFrame(
        {
            "n": n.astype(int),
            "mean": mean,
            "sd": sd,
            "skewness": skew,
            "kurtosis": kurt,
            "floor": counts.share(response_min),
            "ceiling": counts.share(response_max),
            "item_rest": item_rest,
            "alpha_if_deleted": alpha_drop,
        },
        index=pd.Index(columns, name="item"),
    )
    return out


# ---------------------------------------------------------------------------
# Model-based reliability
# ---------------------------------------------------------------------------
def omega_from_cfa(loadings: Sequence[float], factor_variance: float = 1.0,
                   residual_cov=None, sample_cov=None, *, obs_var: bool = True) -> float:
    """McDonald's omega of a one-factor (congeneric) measurement model.

    ::

        omega = (sum(lambda))^2 * phi / denominator

    where ``lambda`` are the (unstandardized) loadings and ``phi`` the factor
    variance. The denominator is the variance of the unit-weighted total
    score:

    * ``obs_var=True`` (default, as ``semTools::compRelSEM``): the observed
      one, ``sum(S)``, with ``S`` the sample covariance matrix of the items
      (lavaan's ``sampstat``, divisor N). The residual covariances are then
      not used.
    * ``obs_var=False``: the model-implied one,
      ``(sum(lambda))^2 * phi + sum(Theta)``, which counts residual
      covariances (off-diagonal elements of ``Theta``) as error variance of
      the total.

    Parameters
    ----------
    loadings : sequence of float
        Loadings of the k items on the factor (lavaan ``lambda``).
    factor_variance : float, default 1.0
        Variance of the factor (lavaan ``cov.lv``; 1 with ``std.lv = TRUE``).
    residual_cov : array_like, optional
        Residual covariance matrix ``Theta`` (k x k), or a vector of residual
        variances when there are no residual covariances. Needed only with
        ``obs_var=False``.
    sample_cov : array_like, optional
        Sample covariance matrix of the items (k x k). Needed with
        ``obs_var=True``.
    obs_var : bool, default True
        Use the observed (True) or model-implied (False) total variance.

    Returns
    -------
    float

    Notes
    -----
    Sources: McDonald, R. P. (1999). *Test Theory: A Unified Treatment*,
    ch. 6; Raykov, T. (1997). Estimation of composite reliability for
    congeneric measures. *Applied Psychological Measurement*, 21, 173-184;
    Bentler, P. M. (2009). Alpha, dimension-free, and model-based internal
    consistency reliability. *Psychometrika*, 74, 137-143 (observed-variance
    denominator).

    R equivalent: ``semTools::compRelSEM(fit)`` (semTools 0.5.6), i.e.
    ``sum(Lf %*% PHI %*% t(Lf)) / sum(SIGMA)`` with ``SIGMA =
    lavInspect(fit, "sampstat")$cov`` (``obs.var = TRUE``) or
    ``lavInspect(fit, "fitted")$cov`` (``obs.var = FALSE``).
    """
    lam = np.asarray(loadings, dtype=float).ravel()
    k = lam.size
    if k < 1:
        raise ValueError("loadings must not be empty")
    common = lam.sum() ** 2 * float(factor_variance)
    if obs_var:
        if sample_cov is None:
            raise ValueError("obs_var=True needs sample_cov")
        s = np.asarray(sample_cov, dtype=float)
        if s.shape != (k, k):
            raise ValueError(f"sample_cov must be {k} x {k}, got {s.shape}")
        return float(common / s.sum())
    if residual_cov is None:
        raise ValueError("obs_var=False needs residual_cov")
    theta = np.asarray(residual_cov, dtype=float)
    if theta.ndim == 1:
        if theta.size != k:
            raise ValueError(f"residual variances must have length {k}")
    elif theta.shape != (k, k):
        raise ValueError(f"residual_cov must be {k} x {k}, got {theta.shape}")
    return float(common / (common + theta.sum()))


def composite_reliability(std_loadings: Sequence[float]) -> float:
    """Composite (construct) reliability from standardized loadings.

    ::

        CR = (sum(lambda))^2 / ((sum(lambda))^2 + sum(1 - lambda^2))

    with ``lambda`` the completely standardized loadings (lavaan
    ``std.all``) and ``1 - lambda^2`` the standardized residual variances
    (no residual covariances). This is omega of the composite of the
    z-scored items; it differs from :func:`omega_from_cfa` (the reliability
    of the raw sum score) unless the items have equal variances.

    Parameters
    ----------
    std_loadings : sequence of float
        Standardized loadings of the items on one factor.

    Returns
    -------
    float

    Notes
    -----
    Sources: Fornell, C., & Larcker, D. F. (1981). Evaluating structural
    equation models with unobservable variables and measurement error.
    *Journal of Marketing Research*, 18, 39-50 (eq. 10); Raykov (1997),
    *Applied Psychological Measurement*, 21, 173-184.

    R equivalent: by hand from ``lavaan::standardizedSolution(fit)``::

        l <- subset(standardizedSolution(fit), op == "=~")$est.std
        sum(l)^2 / (sum(l)^2 + sum(1 - l^2))

    or ``semTools::compRelSEM(fit_z, obs.var = FALSE)`` for the same model
    fitted to ``scale(data)``.
    """
    lam = np.asarray(std_loadings, dtype=float).ravel()
    if lam.size < 1:
        raise ValueError("std_loadings must not be empty")
    s2 = lam.sum() ** 2
    return float(s2 / (s2 + np.sum(1.0 - lam**2)))


def average_variance_extracted(std_loadings: Sequence[float],
                               item_variances: Sequence[float] | None = None) -> float:
    """Average variance extracted (AVE) from standardized loadings.

    Fornell & Larcker (1981)::

        AVE = mean(lambda^2)

    the unweighted mean of the items' explained-variance shares. With
    ``item_variances`` (the items' observed variances ``v``) the shares are
    weighted by item variance instead::

        AVE_w = sum(lambda^2 * v) / sum(v)

    which is what ``semTools::AVE(fit)`` computes: semTools defines AVE as
    ``sum(lambda_raw^2) * phi / sum(diag(S))`` -- explained variance summed
    over items divided by the summed observed item variances, all in raw
    units. Because ``lambda_raw^2 * phi = lambda^2 * Sigma_ii`` and ML
    one-factor models with free residual variances reproduce the observed
    variances (``Sigma_ii = S_ii``), ``AVE_w`` with ``v = diag(S)`` equals
    semTools' value. The unweighted Fornell-Larcker AVE agrees with it only
    when the item variances are equal (for the Holzinger-Swineford factors
    the two differ by about 0.003).

    Parameters
    ----------
    std_loadings : sequence of float
        Standardized loadings (lavaan ``std.all``) of the items on one factor.
    item_variances : sequence of float, optional
        Observed item variances to weight by (any common divisor). Omit for
        the Fornell-Larcker definition.

    Returns
    -------
    float

    Notes
    -----
    Source: Fornell, C., & Larcker, D. F. (1981). *Journal of Marketing
    Research*, 18, 39-50 (eq. 11, with standardized indicators).

    R equivalent: ``mean(l^2)`` with ``l`` from
    ``lavaan::standardizedSolution(fit)``; with ``item_variances =
    diag(lavInspect(fit, "sampstat")$cov)``: ``semTools::AVE(fit)``
    (semTools 0.5.6; factors without cross-loadings).
    """
    lam = np.asarray(std_loadings, dtype=float).ravel()
    if lam.size < 1:
        raise ValueError("std_loadings must not be empty")
    if item_variances is None:
        return float(np.mean(lam**2))
    v = np.asarray(item_variances, dtype=float).ravel()
    if v.shape != lam.shape:
        raise ValueError("item_variances must have one value per loading")
    return float(np.sum(lam**2 * v) / np.sum(v))


# ---------------------------------------------------------------------------
# Discriminant validity
# ---------------------------------------------------------------------------
def _correlation_input(corr_or_data: pd.DataFrame, items: list[str],
                       missing: str) -> np.ndarray:
    frame = corr_or_data
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("corr_or_data must be a pandas DataFrame")
    absent = [i for i in items if i not in frame.columns]
    if absent:
        raise InputError(f"item(s) not found: {', '.join(map(str, absent))}")
    is_matrix = (frame.shape[0] == frame.shape[1]
                 and list(map(str, frame.index)) == list(map(str, frame.columns)))
    if is_matrix:
        # A correlation or covariance matrix (semTools' sample.cov=): cov2cor.
        m = frame.loc[items, items].to_numpy(dtype=float)
        return _cov2cor(m)
    sub = frame if list(frame.columns) == items else frame.loc[:, items]
    x, _ = _float_values(sub)
    if missing == "listwise":
        complete = ~np.logical_or.reduce(np.isnan(x), axis=1)
        n = int(np.count_nonzero(complete))
        if n < 2:
            raise InputError("fewer than two complete rows for the correlations")
        # np.corrcoef of the complete rows, column by column (no row gathers)
        z = np.empty((n, x.shape[1]), order="F")
        for j in range(x.shape[1]):
            np.compress(complete, x[:, j], out=z[:, j])
        z -= z.mean(axis=0)
        c = z.T @ z / (n - 1.0)
        d = np.sqrt(np.diag(c))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = c / d[:, None] / d[None, :]
        return np.clip(r, -1.0, 1.0)
    if missing == "pairwise":
        # lavaan::lavCor(missing = "pairwise") == cov2cor(cov(use = "pairwise")).
        return _cov2cor(_Pairwise(x).cov())
    raise ValueError('missing must be "listwise" or "pairwise"')


def htmt(corr_or_data: pd.DataFrame, item_sets: Mapping[str, Sequence[str]], *,
         mean: Literal["geometric", "arithmetic"] = "geometric",
         absolute: bool = True,
         missing: Literal["listwise", "pairwise"] = "listwise") -> pd.DataFrame:
    """Heterotrait-monotrait ratio of correlations (HTMT) between constructs.

    For constructs i and j::

        HTMT_ij = M(|r| between items of i and j)
                  / sqrt(M(|r| among items of i) * M(|r| among items of j))

    where the within-construct means run over distinct item pairs (the
    diagonal is excluded) and ``M`` is the arithmetic mean (Henseler et al.,
    2015, HTMT) or the geometric mean (Roemer et al., 2021, HTMT2). The
    default follows ``semTools::htmt`` (semTools >= 0.5-6: ``htmt2 = TRUE``,
    geometric mean of absolute correlations).

    Parameters
    ----------
    corr_or_data : pandas.DataFrame
        Either raw data (respondents x items) or a square correlation /
        covariance matrix whose index equals its columns (converted with
        ``cov2cor``, like semTools' ``sample.cov=``).
    item_sets : mapping of str to list of str
        Construct name -> its items, in output order.
    mean : {"geometric", "arithmetic"}, default "geometric"
        ``"geometric"`` = HTMT2 (``htmt2 = TRUE``), ``"arithmetic"`` = the
        original HTMT (``htmt2 = FALSE``).
    absolute : bool, default True
        Use absolute correlations (``absolute = TRUE``). The geometric mean
        always uses absolute values (semTools ignores ``absolute = FALSE``
        with ``htmt2 = TRUE``); asking for it raises ``ValueError``.
    missing : {"listwise", "pairwise"}, default "listwise"
        Raw data only: how ``lavaan::lavCor`` treats missing values.
        Listwise deletion over all items in ``item_sets`` (semTools'
        default), or pairwise (``cov2cor`` of the pairwise-complete
        covariance matrix, which is what ``lavCor(missing = "pairwise")``
        returns for continuous data).

    Returns
    -------
    pandas.DataFrame
        Symmetric construct x construct matrix, 1 on the diagonal (NaN for
        constructs with a single item, whose within-mean is undefined).

    Notes
    -----
    Sources: Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new
    criterion for assessing discriminant validity in variance-based
    structural equation modeling. *Journal of the Academy of Marketing
    Science*, 43, 115-135; Roemer, E., Schuberth, F., & Henseler, J. (2021).
    HTMT2 -- an improved criterion for assessing discriminant validity in
    structural equation modeling. *Industrial Management & Data Systems*,
    121, 2637-2650.

    R equivalent: ``semTools::htmt(model, data, missing = "listwise",
    absolute = TRUE, htmt2 = TRUE)`` (semTools 0.5.6), with ``model`` the
    ``=~`` lines of ``item_sets``.
    """
    if mean not in ("geometric", "arithmetic"):
        raise ValueError('mean must be "geometric" or "arithmetic"')
    if mean == "geometric" and not absolute:
        raise ValueError("the geometric mean (HTMT2) needs absolute correlations")
    names = [str(f) for f in item_sets]
    sets = [list(item_sets[f]) for f in item_sets]
    if not sets or any(len(s) == 0 for s in sets):
        raise InputError("every construct needs at least one item")
    items: list[str] = []
    for s in sets:
        for i in s:
            if i not in items:
                items.append(i)
    r = _correlation_input(corr_or_data, items, missing)
    if absolute:
        r = np.abs(r)
    r = r.copy()
    np.fill_diagonal(r, np.nan)
    pos = {name: p for p, name in enumerate(items)}
    idx = [np.array([pos[i] for i in s]) for s in sets]

    def block_mean(a, b):
        block = r[np.ix_(a, b)].ravel()
        block = block[~np.isnan(block)]
        if block.size == 0:
            return np.nan
        if mean == "geometric":
            with np.errstate(divide="ignore"):
                return float(np.exp(np.mean(np.log(block))))
        return float(np.mean(block))

    nf = len(sets)
    within = np.array([block_mean(idx[i], idx[i]) for i in range(nf)])
    out = np.empty((nf, nf))
    for i in range(nf):
        for j in range(nf):
            out[i, j] = block_mean(idx[i], idx[j]) / np.sqrt(within[i] * within[j])
    return pd.DataFrame(out, index=names, columns=names)


def fornell_larcker(factor_corr: pd.DataFrame, ave: Mapping[str, float]) -> pd.DataFrame:
    """Fornell-Larcker criterion table.

    A factor x factor matrix with ``sqrt(AVE)`` on the diagonal and the
    factor correlations off the diagonal. Discriminant validity holds for a
    factor when its ``sqrt(AVE)`` exceeds its absolute correlations with all
    other factors (equivalently AVE > squared correlations).

    Parameters
    ----------
    factor_corr : pandas.DataFrame
        Factor correlation matrix (e.g. lavaan ``lavInspect(fit,
        "cor.lv")``), index equal to columns.
    ave : mapping of str to float
        AVE per factor (e.g. :func:`average_variance_extracted` or
        ``semTools::AVE(fit)``); must cover every factor in ``factor_corr``.

    Returns
    -------
    pandas.DataFrame
        Same index/columns as ``factor_corr``.

    Notes
    -----
    Source: Fornell, C., & Larcker, D. F. (1981). *Journal of Marketing
    Research*, 18, 39-50 (p. 46).

    R equivalent (no packaged function)::

        FL <- lavInspect(fit, "cor.lv"); diag(FL) <- sqrt(semTools::AVE(fit))
    """
    if not isinstance(factor_corr, pd.DataFrame):
        raise TypeError("factor_corr must be a pandas DataFrame")
    if list(factor_corr.index) != list(factor_corr.columns):
        raise ValueError("factor_corr must have the same index and columns")
    missing = [str(f) for f in factor_corr.columns if f not in ave]
    if missing:
        raise InputError(f"no AVE for factor(s): {', '.join(missing)}")
    out = factor_corr.astype(float).copy()
    values = out.to_numpy(copy=True)
    np.fill_diagonal(values, [np.sqrt(float(ave[f])) for f in out.columns])
    return pd.DataFrame(values, index=out.index, columns=out.columns)
