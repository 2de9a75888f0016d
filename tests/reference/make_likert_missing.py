"""Simulate ``tests/data/likert_missing.csv``: 300 respondents, 5 Likert items (1-5), ~5 % MCAR.

One-factor data: a standard-normal latent trait drives five continuous
responses with loadings 0.8, 0.7, 0.7, 0.6, 0.5 (unique variance 1 - loading²),
which are cut at fixed thresholds into five ordered categories coded 1..5.
Item ``q5`` gets shifted thresholds so that it has a visible ceiling effect.
Then every cell is set to missing independently with probability 0.05 (MCAR).

Run from the repository root::

    .venv/bin/python tests/reference/make_likert_missing.py

The output is deterministic (``numpy.random.default_rng(20240611)``).
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240611
N_ROWS = 300
LOADINGS = np.array([0.8, 0.7, 0.7, 0.6, 0.5])
THRESHOLDS = np.array([-1.5, -0.5, 0.4, 1.3])
P_MISSING = 0.05


def main() -> None:
    rng = np.random.default_rng(SEED)
    eta = rng.standard_normal(N_ROWS)
    unique_sd = np.sqrt(1.0 - LOADINGS**2)
    latent = eta[:, None] * LOADINGS + rng.standard_normal((N_ROWS, LOADINGS.size)) * unique_sd
    items = np.empty_like(latent)
    for j in range(LOADINGS.size):
        cuts = THRESHOLDS - (0.8 if j == 4 else 0.0)  # q5: more answers at 5
        items[:, j] = 1 + np.searchsorted(cuts, latent[:, j])
    mask = rng.random(items.shape) < P_MISSING
    items[mask] = np.nan
    frame = pd.DataFrame(items, columns=[f"q{j + 1}" for j in range(LOADINGS.size)])
    out = Path("tests/data/likert_missing.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Integers where observed, empty field where missing (read.csv gives NA).
    frame.astype("Int64").to_csv(out, index=False)
    print(f"wrote {out}: {frame.shape[0]} rows x {frame.shape[1]} items, "
          f"{int(mask.sum())} missing cells ({mask.mean():.1%})")


if __name__ == "__main__":
    main()
