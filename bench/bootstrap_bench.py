#!/usr/bin/env python3
"""Benchmark: bootstrap CIs of alpha and omega for every scale of the bundled instrument.

    .venv/bin/python bench/bootstrap_bench.py                     # 5,000 rows, 1,000 replicates
    .venv/bin/python bench/bootstrap_bench.py --rows 20000 --boot 2000 --fiml
    .venv/bin/python bench/bootstrap_bench.py --naive 0           # skip the one-by-one baseline

The survey is ``examples/coproduction_survey.csv`` (700 respondents, 4 scales
of 5 items, some answers missing) resampled with replacement to ``--rows``
respondents (numpy seed 20261128), prepared as ``coscale validate`` prepares
it (missing codes, reverse-keyed items). Timed, in this process, after
imports and data preparation:

* ``bootstrap_reliability(frame, scales, n_boot, seed, workers=w)`` for
  ``w = 1`` and ``w =`` every core: alpha and omega (listwise one-factor ML
  CFA) for all four scales; with ``--fiml`` also ``missing="fiml"``;
* the baseline it replaces, extrapolated from ``--naive`` replicates of one
  scale: resample rows, ``cronbach_alpha``, ``listwise_moments`` and a cold
  ``fit_ml`` per replicate (what a plain loop does).

The replicate values must be byte-identical for every number of workers; the
script checks it and says so. One BLAS thread, as the command line uses.
Markdown goes to stdout, progress to stderr.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coscale.scales import load_scales  # noqa: E402
from coscale.stats import reliability as rel  # noqa: E402
from coscale.stats.bootstrap import _cpu_count, bootstrap_reliability  # noqa: E402
from coscale.stats.estimate import fit_ml  # noqa: E402
from coscale.stats.model import MeasurementModel, build_partable  # noqa: E402
from coscale.stats.moments import listwise_moments  # noqa: E402
from coscale.survey import prepare  # noqa: E402
from common import log  # noqa: E402  (bench/common.py)

SEED = 20261128


def survey(rows: int):
    """The example survey resampled to ``rows`` respondents, prepared; and the instrument."""
    raw = pd.read_csv(ROOT / "examples" / "coproduction_survey.csv")
    rng = np.random.default_rng(SEED)
    big = raw.iloc[rng.integers(0, len(raw), rows)].reset_index(drop=True)
    big["respondent_id"] = [f"R{i:06d}" for i in range(rows)]
    instrument = load_scales("coproduction")
    return prepare(big, instrument, source="bench").data, instrument


def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def naive_per_replicate(frame, columns, reps: int) -> float:
    """Seconds per replicate of the plain loop (one scale): resample rows, alpha, cold ML fit."""
    items = frame[columns]
    pt = build_partable(MeasurementModel((("f", tuple(columns)),)))
    rng = np.random.default_rng(1)
    t = time.perf_counter()
    for _ in range(reps):
        sample = items.iloc[rng.integers(0, len(items), len(items))]
        rel.cronbach_alpha(sample)
        fit = fit_ml(pt, listwise_moments(sample, columns))
        mats = fit.matrices[0]
        rel.omega_from_cfa(mats["lambda"][:, 0], mats["psi"][0, 0], mats["theta"], fit.moments[0].cov)
    return (time.perf_counter() - t) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3, help="best of this many runs per row")
    ap.add_argument("--workers", type=int, default=None, help="the 'all cores' count (default: every core)")
    ap.add_argument("--naive", type=int, default=30, help="replicates of the one-by-one baseline (0: skip)")
    ap.add_argument("--fiml", action="store_true", help="also time missing='fiml' (one repeat)")
    args = ap.parse_args()

    frame, instrument = survey(args.rows)
    scales = {s.name: list(s.columns) for s in instrument.scales}
    cores = args.workers or _cpu_count()
    n_items = sum(len(c) for c in scales.values())
    print(f"## coscale bootstrap: {args.rows:,} respondents, {len(scales)} scales ({n_items} items), "
          f"{args.boot:,} replicates, {cores} core(s) available\n")
    if hasattr(os, "getloadavg"):
        print("Load average before the runs (other processes compete for the cores): "
              + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + "\n")
    print("| run | workers | best of | seconds |")
    print("|---|---:|---:|---:|")

    reps = {}
    configs = [("listwise", 1), ("listwise", cores)] if cores > 1 else [("listwise", 1)]
    if args.fiml:
        configs += [("fiml", 1), ("fiml", cores)] if cores > 1 else [("fiml", 1)]
    for missing, w in configs:
        repeats = 1 if missing == "fiml" else args.repeats
        log(f"bootstrap_reliability missing={missing} workers={w} ...")
        sec, res = timed(lambda: bootstrap_reliability(frame, scales, args.boot, SEED, workers=w,
                                                       missing=missing), repeats)
        reps[(missing, w)] = res
        print(f"| alpha + omega, {len(scales)} scales, {missing} | {w} | {repeats} | {sec:.2f} |")
    one = next(iter(scales))
    log(f"bootstrap_reliability, one scale ({one}) ...")
    sec, _ = timed(lambda: bootstrap_reliability(frame, {one: scales[one]}, args.boot, SEED, workers=1),
                   args.repeats)
    print(f"| alpha + omega, 1 scale ({one}), listwise | 1 | {args.repeats} | {sec:.2f} |")
    if args.naive:
        log(f"plain loop, {args.naive} replicates ...")
        per = naive_per_replicate(frame, scales[one], args.naive)
        print(f"| plain loop (resample rows, cronbach_alpha, cold fit_ml), 1 scale, "
              f"extrapolated to {args.boot:,} | 1 | - | {per * args.boot:.2f} |")

    print("\n| scale | alpha | 95% CI | omega | 95% CI | valid (alpha/omega) |")
    print("|---|---:|---|---:|---|---|")
    for name, r in reps[("listwise", 1)].items():
        print(f"| {name} | {r.alpha:.3f} | [{r.alpha_ci.lower:.3f}, {r.alpha_ci.upper:.3f}] | "
              f"{r.omega:.3f} | [{r.omega_ci.lower:.3f}, {r.omega_ci.upper:.3f}] | "
              f"{r.n_valid_alpha}/{r.n_valid_omega} |")

    for missing in ("listwise", "fiml"):
        runs = [v for (m, _), v in reps.items() if m == missing]
        if len(runs) > 1:
            same = all(
                a.alpha_replicates.tobytes() == b.alpha_replicates.tobytes()
                and a.omega_replicates.tobytes() == b.omega_replicates.tobytes()
                for a, b in zip(runs[0].values(), runs[1].values()))
            print(f"\n{missing}: replicates byte-identical for workers=1 and workers={cores}: "
                  f"{'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
