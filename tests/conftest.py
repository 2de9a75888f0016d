"""Test set-up: one BLAS thread, as the command line uses (small matrices gain nothing from
threads, and two busy threads on a loaded machine slow fits down many times)."""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
