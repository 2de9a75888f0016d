"""Ordinal CFA with semopy, used directly: the contender for bench/wlsmv_bench.py.

    python bench/semopy/ordinal.py ordinal    CSV "MODEL SYNTAX"
    python bench/semopy/ordinal.py continuous CSV "MODEL SYNTAX"

semopy has no WLSMV (no thresholds in the model, no robust standard errors, no
scaled or scaled-shifted test). The closest it offers is its own route for
ordinal items, the ``ordinal`` job: the syntax line ``DEFINE(ordinal) y1 ...``
makes ``Model.load`` replace the covariance matrix by ``semopy.polycorr.hetcor``
(polychoric correlations, one bivariate integral per cell and pair, computed
in Python), then ``Model.fit(obj="DWLS")``. Even when it runs this is not
lavaan's DWLS: semopy's weights are the variances of the raw data's cross
products, not the asymptotic variances of the polychorics. Under numpy 2 and
SciPy 1.17 ``hetcor`` fails at once on arrays (``np.ma.corrcoef`` no longer
takes ``bias``; ``scipy.stats.mvn.mvnun`` is gone), and called on a DataFrame
it raises a KeyError, so this job is expected to report that failure.

The ``continuous`` job is what semopy can do with these data today:
``Model(desc)`` with the 1-5 codes taken as continuous (Pearson covariances)
and the same DWLS objective. It is a different analysis; it is timed to show
the cost of semopy's DWLS machinery and its chi-square is printed only for
context.

Each job reads the CSV with pandas, then times ``model.load(df)`` (the
correlations: polychorics or Pearson covariances, plus starting values) and
``model.fit(obj="DWLS")``, and computes ``semopy.stats.calc_chi2`` and
``calc_dof`` (N times the DWLS minimum, and its df). It prints one JSON object
per line, flushed: ``{"correlations": s, "fit": s, "success": ..., "message":
..., "chisq": ..., "df": ...}`` (``fit`` = load + fit, seconds), or
``{"error": "<exception type>: <first line of its message>"}``. The caller runs
it under a timeout and merges the lines.
"""

from __future__ import annotations

import json
import sys
import time


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def error_line(exc: BaseException) -> str:
    """'<exception type>: <first line of its message>'."""
    lines = str(exc).strip().splitlines()
    return type(exc).__name__ + (f": {lines[0]}" if lines else "")


def main() -> int:
    job, csv, desc = sys.argv[1], sys.argv[2], sys.argv[3]
    if job not in ("ordinal", "continuous"):
        raise SystemExit(f"unknown job {job!r}: ordinal or continuous")
    import pandas as pd
    import semopy
    from semopy.stats import calc_chi2, calc_dof

    df = pd.read_csv(csv)
    if job == "ordinal":
        desc = desc + "\nDEFINE(ordinal) " + " ".join(df.columns)
    model = semopy.Model(desc)
    try:
        t0 = time.perf_counter()
        model.load(df)
        t1 = time.perf_counter()
        res = model.fit(obj="DWLS")
        t2 = time.perf_counter()
    except Exception as exc:  # report semopy's failure, do not hide it
        emit(error=error_line(exc))
        return 1
    stat, _ = calc_chi2(model)
    emit(correlations=t1 - t0, fit=t2 - t0, success=bool(res.success), message=str(res.message),
         chisq=float(stat), df=int(calc_dof(model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
