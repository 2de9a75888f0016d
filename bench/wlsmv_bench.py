#!/usr/bin/env python3
"""Benchmark: polychoric correlations + WLSMV fit of 25 ordinal items, coscale vs lavaan (and semopy).

    .venv/bin/python bench/wlsmv_bench.py                 # 2,800 x 25, 5 repeats
    .venv/bin/python bench/wlsmv_bench.py --repeats 3 --rows 10000

The data are simulated deterministically (numpy seed 20240611): five factors
of five items each, standardized loadings 0.55-0.80, factor correlations 0.30,
one cross-loading the model omits (y6 on f1, 0.30, so the fit is not perfect),
latent responses cut into 5 categories at item-specific thresholds (skewed
towards agreement). The CSV (written once to the system temp directory) is
read by each program; the model is the true five-factor CFA, fitted by
``cfa(model, data, ordered = TRUE, estimator = "WLSMV")`` in lavaan and by
:func:`coscale.stats.wls.fit_wlsmv` in coscale.

Timed (median of ``--repeats``, after one warm-up, inside one process, data
already read): the polychoric step alone (thresholds, polychorics and their
NACOV: coscale ``polychoric(..., nacov=True)``; lavaan ``lavCor(data,
ordered = TRUE)`` which, without the NACOV, does less) and the whole fit
(polychorics + NACOV + DWLS + robust SEs + scaled test + fit measures; lavaan
``cfa()`` followed by ``fitMeasures()``). A second table gives the wall time
of a fresh process doing the whole job (start-up, imports and CSV reading
included). lavaan is run only when ``Rscript`` is on PATH. The last table
checks that both programs found the same solution.

semopy has no WLSMV. When it can be imported (``--no-semopy`` skips it), the
closest it offers is run, one fresh process per job (``bench/semopy/ordinal.py``,
same CSV), each killed with its process group after ``--semopy-timeout``
seconds (default 120):

* ``ordinal``: the model syntax plus ``DEFINE(ordinal) y1 ... y25``, which
  makes semopy compute polychoric correlations with
  ``semopy.polycorr.hetcor``, then ``fit(obj="DWLS")``. Under numpy 2 and
  SciPy 1.17 ``hetcor`` fails at once (``np.ma.corrcoef`` lost ``bias``,
  ``scipy.stats.mvn.mvnun`` is gone); patched, it is slow (one bivariate
  normal integral per cell and item pair, in Python), hence the timeout.
* ``continuous``: ``fit(df, obj="DWLS")`` with the 1-5 codes as continuous,
  what semopy can do with these data; a different analysis, shown for its
  cost.

Each is reported with its time, or "did not finish within N s", or "failed:
<first line of the error>", and its chi-square next to coscale's and lavaan's
for context only: semopy's DWLS weights come from the raw data's
cross-products, not from the polychorics' asymptotic covariance, and it has no
thresholds and no scaled test, so the numbers are not comparable.

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
SEED = 20240611
N_FACTORS, PER_FACTOR, N_CATS = 5, 5, 5


def model_syntax() -> str:
    return factor_model(N_FACTORS, PER_FACTOR)


def simulate(rows: int) -> Path:
    """Deterministic ordinal data (written once per size)."""
    import numpy as np

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"wlsmv_{rows}x{N_FACTORS * PER_FACTOR}_seed{SEED}_v2.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(SEED)
    p = N_FACTORS * PER_FACTOR
    phi = np.full((N_FACTORS, N_FACTORS), 0.30)
    np.fill_diagonal(phi, 1.0)
    lam = np.zeros((p, N_FACTORS))
    loads = np.linspace(0.55, 0.80, PER_FACTOR)
    for f in range(N_FACTORS):
        lam[f * PER_FACTOR : (f + 1) * PER_FACTOR, f] = loads
    lam[PER_FACTOR, 0] = 0.30  # y6 also measures f1: omitted by the fitted model
    eta = rng.multivariate_normal(np.zeros(N_FACTORS), phi, size=rows)
    resid = np.sqrt(1.0 - np.einsum("ij,jk,ik->i", lam, phi, lam))
    ystar = eta @ lam.T + rng.standard_normal((rows, p)) * resid
    base = np.array([-1.8, -1.0, -0.2, 0.8])  # skewed towards agreement
    shift = np.linspace(-0.3, 0.3, p)
    data = np.empty((rows, p), dtype=int)
    for j in range(p):
        data[:, j] = 1 + np.searchsorted(base + shift[j], ystar[:, j])
    header = ",".join(f"y{j + 1}" for j in range(p))
    tmp = path.with_suffix(".tmp")
    np.savetxt(tmp, data, fmt="%d", delimiter=",", header=header, comments="")
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------ coscale --
def coscale_inprocess(csv: Path, repeats: int) -> dict:
    import pandas as pd

    from coscale.stats.model import MeasurementModel
    from coscale.stats.polychoric import polychoric
    from coscale.stats.wls import fit_wlsmv

    frame = pd.read_csv(csv)
    model = MeasurementModel.from_syntax(model_syntax())
    out = {"polychoric": [], "fit": []}
    fit = None
    for r in range(repeats + 1):
        t0 = time.perf_counter()
        polychoric(frame[model.observed], nacov=True)
        t1 = time.perf_counter()
        fit = fit_wlsmv(model, frame)
        t2 = time.perf_counter()
        if r:  # first round is the warm-up
            out["polychoric"].append(t1 - t0)
            out["fit"].append(t2 - t1)
    fm = fit.fit_measures
    load = [row["est"] for row in fit.estimates if row["op"] == "=~"]
    out["result"] = {"chisq": fm["chisq"], "chisq.scaled": fm["chisq_scaled"], "cfi.robust": fm["cfi_robust"],
                     "rmsea.robust": fm["rmsea_robust"], "loadings": load,
                     "se": [row["se"] for row in fit.estimates if row["op"] == "=~"]}
    return out


def coscale_process(csv: Path) -> float:
    code = (
        "import sys, pandas as pd\n"
        "sys.path.insert(0, %r)\n"
        "from coscale.stats.model import MeasurementModel\n"
        "from coscale.stats.wls import fit_wlsmv\n"
        "fit = fit_wlsmv(MeasurementModel.from_syntax(%r), pd.read_csv(%r))\n"
        "print(fit.fit_measures['chisq_scaled'])\n"
    ) % (str(ROOT), model_syntax(), str(csv))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t0


# ------------------------------------------------------------------- lavaan --
R_SCRIPT = r"""
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
model <- args[2]
reps <- as.integer(args[3])
tp <- tf <- numeric(0)
for (r in 0:reps) {
  t0 <- proc.time()[["elapsed"]]
  R <- lavCor(d, ordered = TRUE)
  t1 <- proc.time()[["elapsed"]]
  fit <- cfa(model, data = d, ordered = TRUE, estimator = "WLSMV")
  fm <- fitMeasures(fit)
  t2 <- proc.time()[["elapsed"]]
  if (r > 0) { tp <- c(tp, t1 - t0); tf <- c(tf, t2 - t1) }
}
pe <- parameterEstimates(fit)
pe <- pe[pe$op == "=~", ]
cat(toJSON(list(polychoric = tp, fit = tf,
  result = list(chisq = unname(fm["chisq"]), chisq.scaled = unname(fm["chisq.scaled"]),
                cfi.robust = unname(fm["cfi.robust"]), rmsea.robust = unname(fm["rmsea.robust"]),
                loadings = pe$est, se = pe$se)), digits = NA, auto_unbox = TRUE))
"""

R_ONCE = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
fit <- cfa(args[2], data = read.csv(args[1]), ordered = TRUE, estimator = "WLSMV")
cat(fitMeasures(fit, "chisq.scaled"), "\n")
"""


def lavaan_inprocess(csv: Path, repeats: int) -> dict:
    script = CACHE / "wlsmv_bench.R"
    script.write_text(R_SCRIPT)
    res = subprocess.run(["Rscript", str(script), str(csv), model_syntax(), str(repeats)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for key in ("polychoric", "fit"):  # auto_unbox turns a single repeat into a number
        if not isinstance(out[key], list):
            out[key] = [out[key]]
    return out


def lavaan_process(csv: Path) -> float:
    script = CACHE / "wlsmv_once.R"
    script.write_text(R_ONCE)
    t0 = time.perf_counter()
    subprocess.run(["Rscript", str(script), str(csv), model_syntax()], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t0


# ------------------------------------------------------------------- semopy --
#: bench/semopy/ordinal.py jobs and how the table names them
SEMOPY_JOBS = {
    "ordinal": "ordinal: `DEFINE(ordinal) y1 ... y25` + `fit(df, obj=\"DWLS\")` (semopy's `hetcor` polychorics, "
               "then DWLS)",
    "continuous": "continuous: `fit(df, obj=\"DWLS\")` on the 1-5 codes (Pearson covariances; not an ordinal "
                  "analysis)",
}


def semopy_job(job: str, csv: Path, timeout: float) -> dict:
    """One bench/semopy/ordinal.py job in a fresh process."""
    return run_limited([sys.executable, str(HERE / "semopy" / "ordinal.py"), job, str(csv), model_syntax()], timeout)


# --------------------------------------------------------------------- main --
def fmt(t: float | None) -> str:
    return _fmt(t, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2800)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--semopy-timeout", type=float, default=120.0, metavar="S",
                    help="kill a semopy run after S seconds (default 120)")
    ap.add_argument("--no-semopy", action="store_true", help="skip semopy even if it can be imported")
    args = ap.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    csv = simulate(args.rows)
    log(f"data: {csv}")
    log("coscale (in process) ...")
    cs = coscale_inprocess(csv, args.repeats)
    log("coscale (fresh process) ...")
    cs_proc = statistics.median(coscale_process(csv) for _ in range(max(1, min(3, args.repeats))))
    lv = lv_proc = None
    have_r = shutil.which("Rscript") is not None
    if have_r:
        try:
            log("lavaan (in process) ...")
            lv = lavaan_inprocess(csv, args.repeats)
            log("lavaan (fresh process) ...")
            lv_proc = statistics.median(lavaan_process(csv) for _ in range(max(1, min(3, args.repeats))))
        except (subprocess.CalledProcessError, json.JSONDecodeError, OSError) as exc:  # pragma: no cover
            log(f"lavaan failed: {exc}")
            lv = lv_proc = None
    sp = {}
    if not args.no_semopy and semopy_available():
        for job in SEMOPY_JOBS:
            log(f"semopy ({job}, killed after {args.semopy_timeout:g} s) ...")
            sp[job] = semopy_job(job, csv, args.semopy_timeout)
            log(f"semopy {job}: {sp[job]['status']} after {sp[job]['process']:.1f} s")
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    p = N_FACTORS * PER_FACTOR
    print(f"## WLSMV: {args.rows:,} rows x {p} ordinal items ({N_CATS} categories), {N_FACTORS}-factor CFA\n")
    print(f"Median of {args.repeats} runs after a warm-up; one BLAS thread. "
          f"Ratio = lavaan time / coscale time.\n")
    print("| step | coscale | lavaan 0.6.14 | ratio |")
    print("|---|---|---|---|")
    rows = [
        ("thresholds + polychorics (coscale with NACOV; lavaan `lavCor`)", med(cs["polychoric"]),
         med(lv["polychoric"]) if lv else None),
        ("whole WLSMV fit + fit measures (in process)", med(cs["fit"]), med(lv["fit"]) if lv else None),
        ("fresh process: start-up, read CSV, fit", cs_proc, lv_proc),
    ]
    for name, a, b in rows:
        print(f"| {name} | {fmt(a)} | {fmt(b)} | {ratio(b, a)} |")
    if sp:
        print(f"\nsemopy {importlib.metadata.version('semopy')}, used directly (bench/semopy/ordinal.py): it has no "
              "WLSMV. One fresh process per job, one run, killed (whole process group) after "
              f"{args.semopy_timeout:g} s; *correlations* = `model.load(df)`, *fit* = load + `fit(obj=\"DWLS\")`, "
              "both timed inside the process, data already read.\n")
        print("| semopy job | correlations | fit | whole process | chi-square (df) |")
        print("|---|---|---|---|---|")
        for job, what in SEMOPY_JOBS.items():
            r = sp[job]
            if "fit" in r:
                cells = [fmt(r["correlations"]), fmt(r["fit"]), fmt(r["process"]), f"{r['chisq']:.3f} ({r['df']})"]
            elif r["status"] == "timeout":
                cells = [f"did not finish within {args.semopy_timeout:g} s", "", f"killed after {r['process']:.2f} s",
                         ""]
            else:
                cells = [r["status"], "", fmt(r["process"]), ""]
            print(f"| {what} | " + " | ".join(cells) + " |")
        ref = [f"coscale {cs['result']['chisq']:.3f} (DWLS) / {cs['result']['chisq.scaled']:.3f} (WLSMV scaled)"]
        if lv:
            ref.append(f"lavaan {lv['result']['chisq']:.3f} / {lv['result']['chisq.scaled']:.3f}")
        print(f"\nChi-square on the same data and model: {', '.join(ref)}. No semopy number is comparable with "
              "these: semopy's DWLS weights are the variances of the raw data's cross-products, not the asymptotic "
              "variances of the polychorics, it has no thresholds and no scaled test, and the continuous job "
              "does not treat the items as ordinal. No ratio for the same reason.")
    if lv:
        r1, r2 = cs["result"], lv["result"]
        print("\nAgreement (coscale - lavaan):\n")
        print("| quantity | coscale | lavaan | max abs difference |")
        print("|---|---|---|---|")
        for k in ("chisq", "chisq.scaled", "cfi.robust", "rmsea.robust"):
            print(f"| {k} | {r1[k]:.6f} | {r2[k]:.6f} | {abs(r1[k] - r2[k]):.2e} |")
        dl = max(abs(a - b) for a, b in zip(r1["loadings"], r2["loadings"]))
        ds = max(abs(a - b) for a, b in zip(r1["se"], r2["se"]))
        print(f"| loadings ({len(r1['loadings'])}) | | | {dl:.2e} |")
        print(f"| loading SEs | | | {ds:.2e} |")
    elif not have_r:
        print("\nlavaan not run: Rscript is not on PATH.")


if __name__ == "__main__":
    main()
