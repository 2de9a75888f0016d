"""FIML CFA with semopy, used directly: the contender for bench/fiml_bench.py.

    python bench/semopy/fiml.py CSV "MODEL SYNTAX"

Reads the CSV (empty cells = missing) with pandas and fits
``semopy.ModelMeans(desc).fit(df)``: semopy's full-information maximum
likelihood with a mean structure, the analysis lavaan does with ``cfa(...,
missing = "ml")``. (``semopy.Model(desc).fit(df, obj="FIML")`` exists too, but
has no means and does not centre the data, so it is not that analysis.)

semopy groups the rows by missingness pattern, but its gradient loops in
Python over every pattern and, inside, over every free parameter (on 2,800 x
25 items with 5% missing: about 600 patterns x 85 parameters of small matrix
products, ~1.7 s per gradient), and SLSQP needs hundreds of gradients: an
earlier measurement on data of that shape took 1,727 s, reported success,
and was wrong (logL -94,156 vs lavaan's -82,991.2). The caller therefore runs
this script under a timeout and kills its process group; everything worth
keeping is printed as it happens, one JSON object per line, flushed, and the
caller merges the lines:

* ``{"progress": true, "objective_evals": n, "gradient_evals": k,
  "logl_last": l, "elapsed": s}`` about every 10 s during the fit (``logl_last``:
  the log-likelihood at the latest objective evaluation);
* ``{"fit": s, "success": ..., "message": ..., "iterations": ..., "patterns": ...,
  "logl": ..., "chisq": ..., "df": ...}`` once the fit returns (``fit`` =
  seconds inside ``fit()``, data already read);
* ``{"inspect": s, "estimates": [[lhs, op, rhs, est, se], ...]}`` after
  ``model.inspect()`` (estimates and standard errors, renamed to lavaan's
  ``lhs op rhs``: ``f1 =~ y1``, ``y1 ~1``, ``y1 ~~ y1``);
* or ``{"error": "<exception type>: <first line of its message>"}`` if semopy
  raises.

``logl`` is the log-likelihood as lavaan defines it, recovered from semopy's objective
(sum over rows of (x - mu)' S^-1 (x - mu) + log|S|):
logL = -(objective + K log 2 pi) / 2, K = number of observed cells.
``chisq`` and ``df`` are what ``semopy.stats.calc_chi2`` / ``calc_dof`` return;
for FIML semopy defines chi-square as objective / N and does not count the
means in df, so neither is lavaan's likelihood-ratio test. ``calc_stats`` is
not called: it fits a FIML baseline model, another slow FIML fit.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def error_line(exc: BaseException) -> str:
    """'<exception type>: <first line of its message>'."""
    lines = str(exc).strip().splitlines()
    return type(exc).__name__ + (f": {lines[0]}" if lines else "")


def run(csv: str, desc: str) -> None:
    import semopy
    from semopy.stats import calc_chi2, calc_dof

    df = pd.read_csv(csv)
    model = semopy.ModelMeans(desc)
    factors = set(model.vars["latent"])

    # Count objective and gradient evaluations, so a killed run still says how far it got.
    fun, grad = model.objectives["FIML"]
    cells = int(df[model.vars["observed"]].notna().to_numpy().sum())
    state = {"objective_evals": 0, "gradient_evals": 0, "logl_last": None}

    def logl(objective: float) -> float:
        return -0.5 * (float(objective) + cells * np.log(2 * np.pi))

    t0 = time.perf_counter()
    last_report = [t0]

    def report() -> None:
        now = time.perf_counter()
        if now - last_report[0] >= 10.0:
            last_report[0] = now
            emit(progress=True, elapsed=now - t0, **state)

    def counted_fun(x):
        value = fun(x)
        state["objective_evals"] += 1
        if np.isfinite(value):
            state["logl_last"] = logl(value)
        report()
        return value

    def counted_grad(x):
        value = grad(x)
        state["gradient_evals"] += 1
        report()
        return value

    model.objectives["FIML"] = (counted_fun, counted_grad)
    res = model.fit(df)
    t1 = time.perf_counter()
    stat, _ = calc_chi2(model)
    emit(fit=t1 - t0, success=bool(res.success), message=str(res.message), iterations=res.n_it,
         patterns=len(model.fiml_data), logl=logl(res.fun), chisq=float(stat), df=int(calc_dof(model)), **state)

    t2 = time.perf_counter()
    table = model.inspect()
    t3 = time.perf_counter()
    table = table.rename(columns={"Std. Err": "se"})
    rows = []
    for r in table.itertuples(index=False):
        lhs, op, rhs = r.lval, r.op, r.rval
        if op == "~" and rhs == "1":
            op, rhs = "~1", ""
        elif op == "~" and rhs in factors:  # item ~ factor: a loading
            lhs, op, rhs = rhs, "=~", lhs
        se = None if r.se == "-" else float(r.se)
        rows.append([lhs, op, rhs, float(r.Estimate), se])
    emit(inspect=t3 - t2, estimates=rows)


def main() -> int:
    try:
        run(sys.argv[1], sys.argv[2])
    except Exception as exc:  # report semopy's failure, do not hide it
        emit(error=error_line(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
