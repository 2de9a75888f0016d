"""Sample moments per group: the only summary of the data that ML estimation needs.

Covariances are divided by N (not N - 1), as lavaan does for normal-theory
maximum likelihood (``lavInspect(fit, "sampstat")``). Raw rows never reach the
optimiser: every fit in coscale starts from these moments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GroupMoments:
    """Means and ML covariance matrix (divisor N) of one group.

    Attributes
    ----------
    name : str
        Group label (``""`` for a single-group analysis).
    n : int
        Number of complete rows used.
    variables : tuple of str
        Variable order of ``mean`` and ``cov``; always the model's order.
    mean : ndarray, shape (p,)
    cov : ndarray, shape (p, p)
    """

    name: str
    n: int
    variables: tuple
    mean: np.ndarray
    cov: np.ndarray

    def reorder(self, variables) -> "GroupMoments":
        """The same moments in another variable order."""
        idx = [self.variables.index(v) for v in variables]
        return GroupMoments(
            self.name, self.n, tuple(variables), self.mean[idx], self.cov[np.ix_(idx, idx)]
        )


def complete_moments(values: np.ndarray, variables, name: str = "") -> GroupMoments:
    """Moments of a complete-data matrix (rows with any NaN must be removed first).

    Parameters
    ----------
    values : ndarray, shape (n, p)
    variables : sequence of str
    name : str

    Notes
    -----
    Equivalent R: ``lavaan::lavInspect(fit, "sampstat")`` (cov divided by N).
    """
    x = np.asarray(values, dtype=float)
    n = x.shape[0]
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / n
    return GroupMoments(name, int(n), tuple(variables), mean, cov)


def split_groups(group, n: int, group_order=None, among=None) -> list[tuple[str, np.ndarray]]:
    """Row masks of each group, in ``group_order`` (default: order of first appearance, as lavaan).

    Parameters
    ----------
    group : pandas.Series or array-like
        Group label per row; labels are compared as text, rows without a
        label belong to no group.
    n : int
        Number of rows.
    group_order : sequence of str, optional
    among : ndarray of bool, optional
        Rows whose labels count for the order of first appearance (e.g. the
        complete rows under listwise deletion).

    Returns
    -------
    list of (name, mask)
    """
    import pandas as pd

    series = group if isinstance(group, pd.Series) else pd.Series(np.asarray(group, dtype=object))
    codes, uniques = pd.factorize(series)  # the text of each distinct label, not of every row
    names = [str(u) for u in pd.Series(uniques, dtype=object).astype(str)]
    if group_order is None:
        seen = codes if among is None else codes[among]
        group_order = [names[c] for c in dict.fromkeys(seen[seen >= 0].tolist())]
    out = []
    for g in group_order:
        hit = [i for i, name in enumerate(names) if name == str(g)]
        out.append((str(g), np.isin(codes, hit) if hit else np.zeros(n, dtype=bool)))
    return out


def group_values(frame, variables, group=None, group_order=None) -> list[tuple[str, np.ndarray]]:
    """``[(name, values)]``: each group's rows of ``variables`` as a float array (NaN = missing).

    One group named ``""`` without ``group``; otherwise the groups of
    :func:`split_groups` (rows without a group label left out).
    """
    values = frame[list(variables)].to_numpy(dtype=float)
    if group is None:
        return [("", values)]
    return [(name, values[rows]) for name, rows in split_groups(group, len(values), group_order)]


def listwise_moments(frame, variables, group=None, group_order=None) -> list[GroupMoments]:
    """Per-group moments after listwise deletion on ``variables``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Item data (may contain NaN).
    variables : sequence of str
        Columns, in the model's order.
    group : pandas.Series, optional
        Group label per row (aligned with ``frame``); ``None`` for one group.
    group_order : sequence of str, optional
        Order of the groups (default: order of first appearance, as lavaan).
    """
    variables = list(variables)
    values = frame[variables].to_numpy(dtype=float)
    keep = ~np.logical_or.reduce(np.isnan(values), axis=1)
    if group is None:
        return [complete_moments(values if keep.all() else values[keep], variables)]
    return [
        complete_moments(values[keep & rows], variables, name=name)
        for name, rows in split_groups(group, len(values), group_order, among=keep)
    ]
