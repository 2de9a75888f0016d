#!/usr/bin/env python3
"""Benchmark: full-information ML (missing answers) for a 5-factor CFA, coscale vs lavaan.

    .venv/bin/python bench/fiml_bench.py                  # 2,800 x 25, 3 repeats
    .venv/bin/python bench/fiml_bench.py --repeats 5 --rows 10000 --missing 0.10

The data are simulated deterministically (numpy seed 20240612): five factors
of five items each, loadings 0.50-0.80 (unit item variances), factor
correlations 0.40, item means 3, continuous answers rounded to 3 decimals;
then every answer is deleted independently with probability ``--missing``
(default 0.05: missing completely at random, the simplest case of MAR), which
for 2,800 rows gives about 600 distinct missingness patterns. The CSV
(written once to the system temp directory) is read by both programs; the
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

Markdown goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(tempfile.gettempdir()) / "coscale-bench"
SEED = 20240612
N_FACTORS, PER_FACTOR = 5, 5


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def model_syntax() -> str:
    lines = []
    for f in range(N_FACTORS):
        items = " + ".join(f"y{f * PER_FACTOR + k + 1}" for k in range(PER_FACTOR))
        lines.append(f"f{f + 1} =~ {items}")
    return "\n".join(lines)


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


# --------------------------------------------------------------------- main --
def fmt(t: float | None) -> str:
    return "n/a" if t is None else f"{t:.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.1f}x"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2800)
    ap.add_argument("--missing", type=float, default=0.05, help="probability that an answer is missing")
    ap.add_argument("--repeats", type=int, default=3, help="coscale runs (fresh processes)")
    ap.add_argument("--lavaan-repeats", type=int, default=1, help="lavaan runs (0: skip lavaan)")
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
    if lv:
        r1, r2 = cs[0], lv[0]
        print("\nAgreement (coscale - lavaan):\n")
        print("| quantity | coscale | lavaan | abs difference |")
        print("|---|---|---|---|")
        print(f"| converged | {r1['converged']} | {r2['converged']} | |")
        print(f"| patterns | {r1['patterns']} | {r2['patterns']} | |")
        for k in ("logl", "unrestricted_logl", "chisq", "df", "baseline_chisq", "cfi", "tli", "rmsea", "srmr"):
            a, b = float(r1["result"][k]), float(r2["result"][k])
            print(f"| {k} | {a:.6f} | {b:.6f} | {abs(a - b):.2e} |")
        ours = {tuple(e[:3]): e[3:] for e in r1["estimates"]}
        de = ds = 0.0
        for e in r2["estimates"]:
            o = ours[tuple(e[:3])]
            de, ds = max(de, abs(o[0] - e[3])), max(ds, abs(o[1] - e[4]))
        print(f"| estimates ({len(r2['estimates'])} rows), max | | | {de:.2e} |")
        print(f"| standard errors, max | | | {ds:.2e} |")
    elif not have_r:
        print("\nlavaan not run: Rscript is not on PATH.")


if __name__ == "__main__":
    main()
