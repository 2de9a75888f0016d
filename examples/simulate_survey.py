#!/usr/bin/env python
"""Simulate the bundled example co-production survey.

Reads the population values from ``examples/population.yaml`` and writes
``examples/coproduction_survey.csv``: citizens and professionals answering the
20 items of the bundled co-production instrument on a 1..5 scale.

The simulation is deterministic (fixed seed in population.yaml) and uses numpy
only for the random draws; the output is byte-for-byte reproducible with

    python examples/simulate_survey.py

Model (see population.yaml for the exact values): a 4-factor model per group
with a little misspecification that the analysis model omits (a few
cross-loadings and correlated residuals), continuous latent responses cut at
fixed thresholds into answers 1..5, reverse-keyed items written as raw answers
(6 - x), one planted non-invariant intercept (ppo3), true latent mean
differences between the roles, then ~1% of answers blanked at random, a few
answers replaced by missing codes and three straight-lining respondents.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent


def load_population(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def simulate(pop: dict) -> tuple[list[str], list[list[object]], dict]:
    rng = np.random.default_rng(int(pop["seed"]))

    factors = list(pop["factors"])
    items: list[str] = []
    item_factor: list[int] = []
    loading: list[float] = []
    intercept: list[float] = []
    reverse: list[bool] = []
    for f_idx, fname in enumerate(factors):
        for iname, spec in pop["factors"][fname]["items"].items():
            items.append(iname)
            item_factor.append(f_idx)
            loading.append(float(spec["loading"]))
            intercept.append(float(spec["intercept"]))
            reverse.append(bool(spec.get("reverse", False)))
    n_items = len(items)
    item_factor_a = np.array(item_factor)
    lam = np.array(loading)
    nu = np.array(intercept)
    sd_y = float(pop["latent_response_sd"])
    thresholds = np.array(pop["thresholds"], dtype=float)
    lo = int(pop["response_scale"]["min"])
    hi = int(pop["response_scale"]["max"])
    if len(thresholds) != hi - lo:
        raise ValueError("need (max - min) thresholds")

    R = np.array(pop["factor_correlations"], dtype=float)
    if R.shape != (len(factors), len(factors)):
        raise ValueError("factor_correlations must be k x k")

    # Loading matrix: each item's main loading, plus the population cross-loadings
    # that the analysis model omits.  Residual variances are set so that every
    # latent response has variance latent_response_sd^2 in the reference group.
    miss = pop.get("misspecification") or {}
    L = np.zeros((n_items, len(factors)))
    L[np.arange(n_items), item_factor_a] = lam
    for cl in miss.get("cross_loadings") or []:
        L[items.index(cl["item"]), factors.index(cl["factor"])] = float(cl["loading"])
    common = np.einsum("if,fg,ig->i", L, R, L)
    if np.any(common >= 1.0):
        bad = [items[i] for i in np.flatnonzero(common >= 1.0)]
        raise ValueError(f"explained variance >= 1 for {', '.join(bad)}")
    theta_sd = sd_y * np.sqrt(1.0 - common)
    resid_corr = np.eye(n_items)
    for rc in miss.get("residual_correlations") or []:
        a, b = (items.index(i) for i in rc["items"])
        resid_corr[a, b] = resid_corr[b, a] = float(rc["r"])
    theta_chol = np.linalg.cholesky(np.outer(theta_sd, theta_sd) * resid_corr)

    org_names = list(pop["organisations"])
    org_p = np.array([pop["organisations"][o] for o in org_names], dtype=float)
    org_p = org_p / org_p.sum()

    rows_meta: list[tuple[str, str, str]] = []
    answers: list[np.ndarray] = []
    for gname, g in pop["groups"].items():
        n = int(g["n"])
        mu = np.array([g["latent_means"][f] for f in factors], dtype=float)
        sds = np.array([g["latent_sd"][f] for f in factors], dtype=float)
        phi = np.outer(sds, sds) * R
        chol = np.linalg.cholesky(phi)
        eta = mu + rng.standard_normal((n, len(factors))) @ chol.T
        shift = np.array([float(g.get("intercept_shifts", {}).get(i, 0.0)) for i in items])
        eps = rng.standard_normal((n, n_items)) @ theta_chol.T
        ystar = nu + shift + sd_y * eta @ L.T + eps
        x = lo + (ystar[:, :, None] > thresholds[None, None, :]).sum(axis=2)
        raw = np.where(np.array(reverse), (lo + hi) - x, x)
        orgs = rng.choice(len(org_names), size=n, p=org_p)
        for k in range(n):
            rid = f"{g['id_prefix']}{k + 1:04d}"
            rows_meta.append((rid, gname, org_names[orgs[k]]))
        answers.append(raw.astype(float))

    data = np.vstack(answers)  # float, NaN = empty cell
    n_total = data.shape[0]
    cont = pop["contamination"]

    # straight-liners: all raw answers on one scale set to one value
    sl = cont["straightliners"]
    sl_cols = [items.index(i) for i in pop["factors"][sl["scale"]]["items"]]
    sl_rows = np.sort(rng.choice(n_total, size=int(sl["n"]), replace=False))
    data[np.ix_(sl_rows, sl_cols)] = float(sl["raw_value"])
    protected = np.zeros(data.shape, dtype=bool)
    protected[np.ix_(sl_rows, sl_cols)] = True

    # missing completely at random (empty cells)
    blank = (rng.random(data.shape) < float(cont["missing_rate"])) & ~protected
    data[blank] = np.nan

    # a handful of answers replaced by missing codes
    codes = [int(c) for c in pop["missing_codes"]]
    free = np.flatnonzero(~blank.ravel() & ~protected.ravel())
    picked = np.sort(rng.choice(free, size=int(cont["n_missing_codes"]), replace=False))
    code_vals = rng.choice(codes, size=len(picked))
    data.ravel()[picked] = code_vals

    header = ["respondent_id", "role", "organisation", *items]
    rows: list[list[object]] = []
    for (rid, role, org), vals in zip(rows_meta, data):
        rows.append([rid, role, org, *("" if np.isnan(v) else int(v) for v in vals)])

    info = {
        "n": n_total,
        "blank_cells": int(blank.sum()),
        "missing_code_cells": [
            (rows_meta[p // n_items][0], items[p % n_items], int(c))
            for p, c in zip(picked, code_vals)
        ],
        "straightliners": [rows_meta[r][0] for r in sl_rows],
    }
    return header, rows, info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=Path, default=HERE / "population.yaml")
    ap.add_argument("--out", type=Path, default=HERE / "coproduction_survey.csv")
    args = ap.parse_args()

    header, rows, info = simulate(load_population(args.population))
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {args.out} ({info['n']} respondents, {len(header) - 3} items)")
    print(f"  empty cells: {info['blank_cells']}")
    print("  missing codes: " + ", ".join(f"{r}:{i}={c}" for r, i, c in info["missing_code_cells"]))
    print("  straight-liners: " + ", ".join(info["straightliners"]))


if __name__ == "__main__":
    main()
