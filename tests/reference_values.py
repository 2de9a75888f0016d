"""Reading lavaan/semTools/psych reference values (tests/reference/*.json) in the tests."""

from __future__ import annotations

import numpy as np


def num(x) -> float:
    """A JSON reference value as float (R's NA is written as null)."""
    return float("nan") if x is None else float(x)


def close(ours: float, theirs, tol: float) -> bool:
    """``ours`` within ``tol`` of the reference value; NaN only matches NA."""
    theirs = num(theirs)
    if np.isnan(theirs):
        return bool(np.isnan(ours))
    return abs(ours - theirs) <= tol


#: coscale's parameter-table columns and lavaan's parameterEstimates() names
ESTIMATE_COLUMNS = (("est", "est"), ("se", "se"), ("std_lv", "std.lv"), ("std_all", "std.all"))


def estimate_mismatches(ours: dict, ref: dict, tol: float, columns=ESTIMATE_COLUMNS) -> list:
    """``(row, column, coscale, lavaan)`` for every value of ``ref`` that ``ours`` misses by more than ``tol``.

    ``ours`` and ``ref`` map the same row keys (lhs, op, rhs[, group]) to
    coscale's and lavaan's rows; the caller asserts that the keys agree.
    """
    bad = []
    for key, r in ref.items():
        e = ours[key]
        for col, lav in columns:
            if not close(e[col], r[lav], tol):
                bad.append((key, col, e[col], r[lav]))
    return bad
