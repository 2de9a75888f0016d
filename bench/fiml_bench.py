#!/usr/bin/env python3
"""Benchmark: full-information ML (missing answers) for a 5-factor CFA, coscale vs lavaan and semopy.

    .venv/bin/python bench/fiml_bench.py                  # 2,800 x 25, 3 repeats
    .venv/bin/python bench/fiml_bench.py --repeats 5 --rows 10000 --missing 0.10
    .venv/bin/python bench/fiml_bench.py --semopy-timeout 1800   # let semopy finish (~30 min)

The data are simulated deterministically (numpy seed 20240612): five factors
of five items each, loadings 0.50-0.80 (unit item variances), factor
correlations 0.40, item means 3, continuous answers rounded to 3 decimals;
then every answer is deleted independently with probability ``--missing``
(default 0.05: missing completely at random, the simplest case of MAR), which
for 2,800 rows gives about 600 distinct missingness patterns. The CSV
(written once to the system temp directory) is read by each program; the
model is the true five-factor CFA, fitted by ``cfa(model, data, missing =
"ml")`` in lavaan and by :func:`coscale.stats.fiml.fit_fiml` in coscale.

Each repeat is a fresh process (``Rscript`` / ``python``), which reports the
time of the fit itself (data already read: for coscale the pattern
summaries, the EM saturated model, the fit, the observed-information SEs and
fit measures; for lavaan ``cfa()`` followed by ``fitMeasures()``), while the
wall time of the whole process (start-up, imports, reading the CSV
included) is taken from outside. Medians over ``--repeats``; one BLAS
thread. lavaan is run only when ``Rscript`` is on PATH (``--lavaan-repeats``,
default 1: it takes about half a minute). The last table checks that both
programs found the same solution.

semopy, when it can be imported (``--no-semopy`` skips it), is asked for the
same analysis through its own API: ``semopy.ModelMeans(desc).fit(df)``
(FIML with a mean structure; ``Model(desc).fit(df, obj="FIML")`` has no
means) followed by ``inspect()`` for the standard errors, in one fresh
process (``bench/semopy/fiml.py``, same CSV). It is not expected to finish:
its gradient loops in Python over the ~600 missingness patterns and every
parameter. An earlier measurement on data of the same shape (2,800 x 25, 5%
missing at random, 597 patterns) took 1,727 s, reported success and was wrong
(logL -94,156 vs lavaan's -82,991.2); with ``--rows 100`` it finishes in
90-110 s, reports success, and its logL is 15.7 below lavaan's. The
process is therefore killed, with its whole process group, after
``--semopy-timeout`` seconds (default 120); the table then says "did not
finish within N s" and how many objective and gradient evaluations it had
done, or "failed: <first line of the error>". When it finishes in time, its
logL (recomputed from its objective, lavaan's definition) and the largest
differences of its estimates and standard errors from lavaan's join the
agreement table, so a wrong answer shows.

Markdown goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import factor_model, fmt as _fmt, log, ratio, run_limited, semopy_available  # noqa: E402  (bench/common.py)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(tempfile.gettempdir()) / "coscale-bench"
SEED = 20240612
N_FACTORS, PER_FACTOR = 5, 5


def model_syntax() -> str:
    return factor_model(N_FACTORS, PER_FACTOR)


def simulate(rows: int, missing: float) -> tuple[Path, int]:
    """Deterministic continuous data with MCAR holes (written once per size); path and pattern count."""
    import numpy as np

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"fiml_{rows}x{N_FACTORS * PER_FACTOR}_miss{missing:g}_seed{SEED}.csv"
    rng = np.random.default_rng(SEED)
    p = N_FACTORS * PER_FACTOR
    phi = np.full((N_FACTORS, N_FACTORS), 0.40)
    np.fill_diagonal(phi, 1.0)
    lam = np.zeros((p, N_FACTORS))
    loads = np.linspace(0.50, 0.80, PER_FACTOR)
    for f in range(N_FACTORS):
        lam[f * PER_FACTOR : (f + 1) * PER_FACTOR, f] = loads
    eta = rng.multivariate_normal(np.zeros(N_FACTORS), phi, size=rows)
    resid = np.sqrt(1.0 - np.sum(lam**2, axis=1))
    data = np.round(3.0 + eta @ lam.T + rng.standard_normal((rows, p)) * resid, 3)
    holes = rng.random(data.shape) < missing
    patterns = len(np.unique(holes[~holes.all(axis=1)], axis=0))
    if not path.exists():
        text = [",".join(f"y{j + 1}" for j in range(p))]
        for row, hole in zip(data, holes):
            text.append(",".join("" if h else f"{v:.3f}" for v, h in zip(row, hole)))
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(text) + "\n")
        os.replace(tmp, path)
    return path, patterns


# ------------------------------------------------------------------ coscale --
PY_ONCE = r"""
import json, sys, time
import pandas as pd
sys.path.insert(0, sys.argv[3])
from coscale.stats.fiml import fiml_fit_measures, fit_fiml, missing_patterns
from coscale.stats.model import MeasurementModel, build_partable
from coscale.stats.solution import parameter_table
frame = pd.read_csv(sys.argv[1])
model = MeasurementModel.from_syntax(sys.argv[2])
t0 = time.perf_counter()
patterns = missing_patterns(frame, model.observed)
fit = fit_fiml(build_partable(model, meanstructure=True), patterns)
fm = fiml_fit_measures(fit)
t1 = time.perf_counter()
rows = [[r["lhs"], r["op"], r["rhs"], r["est"], r["se"]] for r in parameter_table(fit)]
print(json.dumps({"fit": t1 - t0, "converged": fit.converged, "patterns": patterns[0].n_patterns,
                  "result": {k: fm[k] for k in ("logl", "unrestricted_logl", "chisq", "df", "cfi", "tli",
                                                 "rmsea", "srmr", "baseline_chisq")},
                  "estimates": rows}))
"""


def coscale_once(csv: Path) -> dict:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", PY_ONCE, str(csv), model_syntax(), str(ROOT)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["process"] = time.perf_counter() - t0
    return out


# ------------------------------------------------------------------- lavaan --
R_ONCE = r"""
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
t0 <- proc.time()[["elapsed"]]
fit <- cfa(args[2], data = d, missing = "ml")
fm <- fitMeasures(fit)
t1 <- proc.time()[["elapsed"]]
pe <- parameterEstimates(fit)
cat(toJSON(list(fit = t1 - t0, converged = lavInspect(fit, "converged"),
  patterns = nrow(lavInspect(fit, "patterns")),
  result = list(logl = unname(fm["logl"]), unrestricted_logl = unname(fm["unrestricted.logl"]),
                chisq = unname(fm["chisq"]), df = unname(fm["df"]), cfi = unname(fm["cfi"]),
                tli = unname(fm["tli"]), rmsea = unname(fm["rmsea"]), srmr = unname(fm["srmr"]),
                baseline_chisq = unname(fm["baseline.chisq"])),
  estimates = unname(lapply(seq_len(nrow(pe)), function(i) list(pe$lhs[i], pe$op[i], pe$rhs[i],
                                                                 pe$est[i], pe$se[i])))),
  digits = NA, auto_unbox = TRUE))
"""


def lavaan_once(csv: Path) -> dict:
    script = CACHE / "fiml_once.R"
    script.write_text(R_ONCE)
    t0 = time.perf_counter()
    res = subprocess.run(["Rscript", str(script), str(csv), model_syntax()],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["process"] = time.perf_counter() - t0
    return out


# ------------------------------------------------------------------- semopy --
def semopy_once(csv: Path, timeout: float) -> dict:
    """``ModelMeans(desc).fit(df)`` + ``inspect()`` in a fresh process (bench/semopy/fiml.py)."""
    return run_limited([sys.executable, str(HERE / "semopy" / "fiml.py"), str(csv), model_syntax()], timeout)


def semopy_cells(sp: dict, timeout: float, cs: list[dict]) -> list[tuple[str, str, str]]:
    """Rows (step, semopy, ratio semopy / coscale) for the semopy table."""
    med = lambda key: statistics.median(x[key] for x in cs) if cs else None  # noqa: E731
    if "fit" in sp and "inspect" in sp:
        fit = f"{sp['fit'] + sp['inspect']:.2f} s (fit {sp['fit']:.2f} s, {sp['iterations']} iterations; " \
              f"inspect {sp['inspect']:.2f} s)"
        fit_ratio = ratio(sp["fit"] + sp["inspect"], med("fit"))
    elif "fit" in sp:
        fit = f"fit {sp['fit']:.2f} s ({sp['iterations']} iterations); inspect() " + (
            f"did not finish within {timeout:g} s" if sp["status"] == "timeout" else sp["status"])
        fit_ratio = "n/a"
    elif sp["status"] == "timeout":
        fit = f"did not finish within {timeout:g} s"
        if sp.get("gradient_evals"):
            fit += (f" (killed after {sp['objective_evals']} objective and {sp['gradient_evals']} gradient "
                    f"evaluations; logL at the last objective evaluation {sp['logl_last']:,.1f})")
        fit_ratio = f"> {ratio(sp['elapsed'], med('fit'))}" if "elapsed" in sp else "n/a"  # fit time so far
    else:
        fit, fit_ratio = sp["status"], "n/a"
    if sp["status"] == "timeout":
        proc, proc_ratio = f"killed after {sp['process']:.2f} s", f"> {ratio(sp['process'], med('process'))}"
    else:
        proc, proc_ratio = fmt(sp["process"]), ratio(sp["process"], med("process"))
    return [
        ("fit + SEs (data read; `ModelMeans(desc).fit(df)` + `inspect()`)", fit, fit_ratio),
        ("whole process: start-up, import semopy, read CSV, fit", proc, proc_ratio),
    ]


def semopy_agreement(sp: dict, lv: dict) -> dict[str, tuple[str, str]]:
    """Agreement-table cells (semopy, |semopy - lavaan|) by quantity, for a semopy fit that returned."""
    cells = {"converged": (str(sp["success"]), ""), "patterns": (str(sp["patterns"]), ""),
             "logl": (f"{sp['logl']:.6f}", f"{abs(sp['logl'] - float(lv['result']['logl'])):.2e}"),
             "chisq": (f"{sp['chisq']:.6f}", "other definition"), "df": (str(sp["df"]), "other definition")}
    if "estimates" in sp:
        theirs = {}
        for lhs, op, rhs, est, se in sp["estimates"]:
            theirs[(lhs, op, rhs)] = (est, se)
            if op == "~~":
                theirs[(rhs, op, lhs)] = (est, se)
        common = [(e, theirs[tuple(e[:3])]) for e in lv["estimates"] if tuple(e[:3]) in theirs]
        de = max((abs(o[0] - e[3]) for e, o in common), default=float("nan"))
        ds = max((abs(o[1] - e[4]) for e, o in common if o[1] is not None and e[4]), default=0.0)
        cells["estimates"] = (f"{len(common)} rows in common", f"{de:.2e}")
        cells["se"] = ("", f"{ds:.2e}")
    return cells


# --------------------------------------------------------------------- main --
def fmt(t: float | None) -> str:
    return _fmt(t, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2800)
    ap.add_argument("--missing", type=float, default=0.05, help="probability that an answer is missing")
    ap.add_argument("--repeats", type=int, default=3, help="coscale runs (fresh processes)")
    ap.add_argument("--lavaan-repeats", type=int, default=1, help="lavaan runs (0: skip lavaan)")
    ap.add_argument("--semopy-timeout", type=float, default=120.0, metavar="S",
                    help="kill the semopy run after S seconds (default 120)")
    ap.add_argument("--no-semopy", action="store_true", help="skip semopy even if it can be imported")
    args = ap.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    csv, n_patterns = simulate(args.rows, args.missing)
    log(f"data: {csv} ({n_patterns} missingness patterns)")
    cs = []
    for r in range(args.repeats):
        log(f"coscale run {r + 1}/{args.repeats} ...")
        cs.append(coscale_once(csv))
    lv = []
    have_r = shutil.which("Rscript") is not None
    if have_r:
        for r in range(args.lavaan_repeats):
            log(f"lavaan run {r + 1}/{args.lavaan_repeats} ...")
            try:
                lv.append(lavaan_once(csv))
            except (subprocess.CalledProcessError, json.JSONDecodeError, OSError) as exc:  # pragma: no cover
                log(f"lavaan failed: {exc}")
                break
    sp = None
    if not args.no_semopy and semopy_available():
        log(f"semopy run (ModelMeans, killed after {args.semopy_timeout:g} s) ...")
        sp = semopy_once(csv, args.semopy_timeout)
        log(f"semopy: {sp['status']} after {sp['process']:.1f} s")
    med = lambda runs, key: statistics.median(x[key] for x in runs) if runs else None  # noqa: E731
    p = N_FACTORS * PER_FACTOR
    print(f"## FIML: {args.rows:,} rows x {p} items, {args.missing:.0%} missing (MCAR), "
          f"{n_patterns} patterns, {N_FACTORS}-factor CFA\n")
    print(f"Fresh process per run; median of {args.repeats} coscale and {len(lv)} lavaan run(s); "
          "one BLAS thread. Ratio = lavaan time / coscale time.\n")
    print("| step | coscale | lavaan 0.6.14 | ratio |")
    print("|---|---|---|---|")
    rows = [
        ("fit + SEs + fit measures (data read; coscale: patterns, EM h1, fit, observed-information SEs; "
         "lavaan: `cfa(missing = \"ml\")` + `fitMeasures`)", med(cs, "fit"), med(lv, "fit")),
        ("whole process: start-up, read CSV, fit", med(cs, "process"), med(lv, "process")),
    ]
    for name, a, b in rows:
        print(f"| {name} | {fmt(a)} | {fmt(b)} | {ratio(b, a)} |")
    if sp is not None:
        print(f"\nsemopy {importlib.metadata.version('semopy')}, used directly (bench/semopy/fiml.py): one fresh "
              f"process, killed (whole process group) after {args.semopy_timeout:g} s. Ratio = semopy time / "
              "coscale time (median above).\n")
        print("| step | semopy | ratio |")
        print("|---|---|---|")
        for name, cell, rat in semopy_cells(sp, args.semopy_timeout, cs):
            print(f"| {name} | {cell} | {rat} |")
    s_cells = semopy_agreement(sp, lv[0]) if sp is not None and "logl" in sp and lv else {}
    if lv:
        r1, r2 = cs[0], lv[0]

        def extra(key: str) -> str:  # the semopy columns, present when semopy returned a solution
            return " {} | {} |".format(*s_cells.get(key, ("", ""))) if s_cells else ""

        print("\nAgreement (coscale - lavaan" + (", semopy - lavaan" if s_cells else "") + "):\n")
        print("| quantity | coscale | lavaan | abs difference |" + (" semopy | abs difference |" if s_cells else ""))
        print("|---|---|---|---|" + ("---|---|" if s_cells else ""))
        print(f"| converged | {r1['converged']} | {r2['converged']} | |" + extra("converged"))
        print(f"| patterns | {r1['patterns']} | {r2['patterns']} | |" + extra("patterns"))
        for k in ("logl", "unrestricted_logl", "chisq", "df", "baseline_chisq", "cfi", "tli", "rmsea", "srmr"):
            a, b = float(r1["result"][k]), float(r2["result"][k])
            print(f"| {k} | {a:.6f} | {b:.6f} | {abs(a - b):.2e} |" + extra(k))
        ours = {tuple(e[:3]): e[3:] for e in r1["estimates"]}
        de = ds = 0.0
        for e in r2["estimates"]:
            o = ours[tuple(e[:3])]
            de, ds = max(de, abs(o[0] - e[3])), max(ds, abs(o[1] - e[4]))
        print(f"| estimates ({len(r2['estimates'])} rows), max | | | {de:.2e} |" + extra("estimates"))
        print(f"| standard errors, max | | | {ds:.2e} |" + extra("se"))
        if s_cells:
            print("\nsemopy's logL is recomputed from its objective (lavaan's definition); a logL difference d "
                  "moves the likelihood-ratio chi-square by 2d. Its own chisq and df (`calc_chi2`, `calc_dof`) "
                  "are objective / N and a df without the means, so they are not compared.")
        elif sp is not None:
            print("\nsemopy is not in this table: it returned no solution (see its table above).")
    elif not have_r:
        print("\nlavaan not run: Rscript is not on PATH.")


if __name__ == "__main__":
    main()
