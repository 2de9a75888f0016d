"""Test set-up: one BLAS thread, as the command line uses (small matrices gain nothing from
threads, and two busy threads on a loaded machine slow fits down many times)."""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """Also cap BLAS threads already loaded (threadpoolctl, when installed): small matrices only
    get slower with threads, badly so on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
