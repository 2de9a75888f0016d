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
