"""Single-group CFA (ML) against lavaan 0.6.14.

Reference values: ``tests/reference/cfa.json``, written by
``tests/reference/cfa.R`` from ``tests/data/holzinger1939.csv`` (lavaan's
HolzingerSwineford1939, N = 301). In the R calls below ``HS`` is that CSV
read with ``read.csv`` and the models are::

    HS.model     <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
    HS.crossload <- HS.model + "visual =~ x9"
    HS.rescov    <- HS.model + "x7 ~~ x8"
    HS.extra     <- HS.model + "x7 ~~ x8" + "visual =~ x9"

Every case in the JSON records its lavaan call (``"call"``); each test below
checks that the call is the one its docstring names, so the two cannot drift
apart.

Tolerances: fit measures 1e-3 absolute (chi-square 1e-5 relative; df and
npar exact); estimates, SEs, std.lv and std.all 1e-3; modification indices
1e-2 (EPC and standardized EPC 1e-3); implied covariances 1e-5; sample
moments 1e-10. coscale and lavaan both stop their optimisers near 1e-5 of the
solution, so agreement is typically 1e-5 or better.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coscale.stats.estimate import admissibility_warnings, fit_ml
from coscale.stats.fit import fit_measures
from coscale.stats.lagrange import modification_indices
from coscale.stats.model import MeasurementModel, build_partable
from coscale.stats.moments import listwise_moments
from coscale.stats.solution import parameter_table
from tests.reference_values import close as _close, estimate_mismatches

HERE = Path(__file__).parent
ROOT = HERE.parent
REF = json.loads((HERE / "reference" / "cfa.json").read_text())["cases"]
HS_CSV = HERE / "data" / "holzinger1939.csv"

TOL = 1e-3  # fit measures, estimates, SEs, standardized values, EPCs
CHISQ_REL = 1e-5
MI_TOL = 1e-2
IMPLIED_TOL = 1e-5
SAMPSTAT_TOL = 1e-10

#: case -> (lavaan call recorded in cfa.json, build_partable options)
CASES = {
    "hs3": ("cfa(HS.model, data = HS, estimator = 'ML')", {}),
    "hs3_stdlv": ("cfa(HS.model, data = HS, std.lv = TRUE)", {"std_lv": True}),
    "hs3_crossload": ("cfa(HS.crossload, data = HS)", {}),
    "hs3_rescov": ("cfa(HS.rescov, data = HS)", {}),
    "hs3_meanstructure": ("cfa(HS.model, data = HS, meanstructure = TRUE)", {"meanstructure": True}),
}
COMPARED = sorted(CASES)

#: coscale fit-measure name -> lavaan fitMeasures() name
FIT_NAMES = {
    "chisq": "chisq",
    "df": "df",
    "pvalue": "pvalue",
    "cfi": "cfi",
    "tli": "tli",
    "rmsea": "rmsea",
    "rmsea_ci_lower": "rmsea.ci.lower",
    "rmsea_ci_upper": "rmsea.ci.upper",
    "rmsea_pvalue": "rmsea.pvalue",
    "srmr": "srmr",
    "aic": "aic",
    "bic": "bic",
    "logl": "logl",
    "unrestricted_logl": "unrestricted.logl",
    "npar": "npar",
    "ntotal": "ntotal",
    "baseline_chisq": "baseline.chisq",
    "baseline_df": "baseline.df",
}
EXACT = {"df", "npar", "ntotal", "baseline_df"}


@functools.lru_cache(maxsize=None)
def hs() -> pd.DataFrame:
    return pd.read_csv(HS_CSV)


@functools.lru_cache(maxsize=None)
def fitted(name: str):
    """coscale's fit of a cfa.json case (cached: several tests read one fit)."""
    case = REF[name]
    options = CASES.get(name, (None, {}))[1]
    model = MeasurementModel.from_syntax(case["model"])
    fit = fit_ml(build_partable(model, **options), listwise_moments(hs(), model.observed))
    return model, fit


def _check_call(name: str) -> None:
    assert REF[name]["call"] == CASES[name][0], f"{name}: cfa.json was made by {REF[name]['call']!r}"


def _matrix(m) -> pd.DataFrame:
    return pd.DataFrame(np.array(m["values"], dtype=float), index=m["names"], columns=m["names"])


# ---------------------------------------------------------------------------
# Fit measures, estimates, modification indices
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", COMPARED)
def test_fit_measures_match_lavaan(name):
    """chisq, df, pvalue, CFI, TLI, RMSEA (+ 90% CI, p close), SRMR, AIC, BIC, logl, npar, baseline.

    R: ``fitMeasures(fit)`` for ``fit <-`` the case's call:
    hs3 ``cfa(HS.model, data = HS, estimator = 'ML')``; hs3_stdlv
    ``cfa(HS.model, data = HS, std.lv = TRUE)``; hs3_crossload
    ``cfa(HS.crossload, data = HS)``; hs3_rescov ``cfa(HS.rescov, data = HS)``;
    hs3_meanstructure ``cfa(HS.model, data = HS, meanstructure = TRUE)``.
    Tolerance 1e-3 absolute, chi-square 1e-5 relative, counts exact.
    """
    _check_call(name)
    _, fit = fitted(name)
    assert fit.converged
    ours = fit_measures(fit)
    ref = REF[name]["fit_measures"]
    bad = []
    for key, lav in FIT_NAMES.items():
        if key in EXACT:
            if ours[key] != int(ref[lav]):
                bad.append((key, ours[key], ref[lav]))
        elif key == "chisq":
            if ours[key] != pytest.approx(ref[lav], rel=CHISQ_REL):
                bad.append((key, ours[key], ref[lav]))
        elif not _close(ours[key], ref[lav], TOL):
            bad.append((key, ours[key], ref[lav]))
    assert not bad, f"{name} ({REF[name]['call']}): (measure, coscale, lavaan) {bad}"


@pytest.mark.parametrize("name", COMPARED)
def test_estimates_match_lavaan(name):
    """Every row: est, se, std.lv, std.all.

    R: ``parameterEstimates(fit, standardized = TRUE)`` for the case's call
    (hs3 ``cfa(HS.model, data = HS, estimator = 'ML')``, hs3_stdlv
    ``cfa(HS.model, data = HS, std.lv = TRUE)``, hs3_crossload
    ``cfa(HS.crossload, data = HS)``, hs3_rescov ``cfa(HS.rescov, data = HS)``,
    hs3_meanstructure ``cfa(HS.model, data = HS, meanstructure = TRUE)``).
    Rows matched by lhs/op/rhs; the two tables have the same rows.
    Tolerance 1e-3; fixed rows have se 0 in both.
    """
    _check_call(name)
    _, fit = fitted(name)
    ours = {(r["lhs"], r["op"], r["rhs"]): r for r in parameter_table(fit)}
    ref = {(r["lhs"], r["op"], r["rhs"]): r for r in REF[name]["estimates"]}
    assert set(ours) == set(ref)
    bad = estimate_mismatches(ours, ref, TOL)
    assert not bad, f"{name}: (row, column, coscale, lavaan) {bad}"


@pytest.mark.parametrize("name", COMPARED)
def test_modification_indices_match_lavaan(name):
    """The ten largest modification indices: mi, epc, sepc.all.

    R: ``modindices(fit, sort. = TRUE)[1:10, ]`` for the case's call (see
    the module docstring; hs3 ``cfa(HS.model, data = HS, estimator = 'ML')``).
    Rows matched by lhs/op/rhs (near-ties may swap places, e.g. visual=~x7
    and visual=~x8 in hs3_crossload); the same ten parameters must be on top
    (the 10th and 11th differ by > 0.1). mi 1e-2, epc and sepc.all 1e-3.
    """
    _check_call(name)
    _, fit = fitted(name)
    mi = modification_indices(fit)
    ours = {(r["lhs"], r["op"], r["rhs"]): r for r in mi}
    top = REF[name]["modindices_top10"]
    assert {(r["lhs"], r["op"], r["rhs"]) for r in mi[: len(top)]} == {(r["lhs"], r["op"], r["rhs"]) for r in top}
    bad = []
    for r in top:
        key = (r["lhs"], r["op"], r["rhs"])
        e = ours[key]
        for col, lav, tol in (("mi", "mi", MI_TOL), ("epc", "epc", TOL), ("sepc_all", "sepc.all", TOL)):
            if not _close(e[col], r[lav], tol):
                bad.append((key, col, e[col], r[lav]))
    assert not bad, f"{name}: (row, column, coscale, lavaan) {bad}"


# ---------------------------------------------------------------------------
# Heywood case
# ---------------------------------------------------------------------------
def test_admissibility_warnings_name_what_is_wrong():
    """The one admissibility check of ML and WLSMV fits: Heywood items, negative or non-PD factor (co)variances."""
    pt = build_partable(MeasurementModel.from_syntax("f =~ a + b + c\ng =~ d + e + h"))
    ok = {"theta": np.diag([0.5, 0.4, 0.3, 0.5, 0.4, 0.3]), "psi": np.array([[1.0, 0.5], [0.5, 1.0]])}
    assert admissibility_warnings(pt, ok) == []
    heywood = {**ok, "theta": np.diag([0.5, -0.1, 0.3, 0.5, 0.4, 0.3])}
    (ml,) = admissibility_warnings(pt, heywood, " in group citizen")
    assert ml.startswith("Heywood case in group citizen: negative residual variance for b.")
    (wlsmv,) = admissibility_warnings(pt, heywood, latent_responses=True)
    assert "latent response for b" in wlsmv
    (neg,) = admissibility_warnings(pt, {**ok, "psi": np.array([[-0.2, 0.0], [0.0, 1.0]])})
    assert neg == "Negative factor variance for f: the model is not admissible."
    (npd,) = admissibility_warnings(pt, {**ok, "psi": np.array([[1.0, 1.1], [1.1, 1.0]])})
    assert "not positive definite" in npd and "HTMT" in npd


def test_heywood_case_is_fitted_and_flagged():
    """x8 gets a negative residual variance; coscale fits it and warns, naming x8.

    R: ``cfa(HS.extra, data = HS)`` with ``HS.extra`` = HS.model +
    ``x7 ~~ x8`` + ``visual =~ x9``; lavaan warns "some estimated ov variances
    are negative". chisq from ``fitMeasures(fit)`` (1e-3); the x8 residual
    variance and the x7/x8 residual correlation from
    ``parameterEstimates(fit, standardized = TRUE)`` (1e-3). The
    modification indices are not compared: the model is nearly
    unidentified and they are ill-conditioned.
    """
    case = REF["hs3_extra"]
    assert case["call"] == "cfa(HS.extra, data = HS)"
    assert any("negative" in w for w in case["warnings"])
    _, fit = fitted("hs3_extra")
    assert fit_measures(fit)["chisq"] == pytest.approx(case["fit_measures"]["chisq"], abs=TOL)
    heywood = [w for w in fit.warnings if "Heywood" in w]
    assert heywood, fit.warnings
    assert "x8" in heywood[0]
    ours = {(r["lhs"], r["op"], r["rhs"]): r for r in parameter_table(fit)}
    ref = {(r["lhs"], r["op"], r["rhs"]): r for r in case["estimates"]}
    x8 = ("x8", "~~", "x8")
    assert ours[x8]["est"] < 0
    assert ours[x8]["est"] == pytest.approx(ref[x8]["est"], abs=TOL)
    # lavaan standardizes a residual covariance by sqrt(|theta_ii|) sqrt(|theta_jj|)
    x78 = ("x7", "~~", "x8")
    assert ours[x78]["std_all"] == pytest.approx(ref[x78]["std.all"], abs=TOL)


# ---------------------------------------------------------------------------
# Independent cross-check: semopy
# ---------------------------------------------------------------------------
def test_estimates_equal_semopy():
    """coscale's ML estimates equal semopy's for the HS three-factor model (1e-3).

    semopy 2.3.11: ``semopy.Model(HS.model).fit(HS[x1..x9], obj="MLW",
    solver="L-BFGS-B")`` (its default SLSQP stops early, see
    shared/notes/semopy-2.3.11.md). The same solution in R:
    ``cfa(HS.model, data = HS, estimator = 'ML')``.
    """
    import semopy

    model, fit = fitted("hs3")
    sem = semopy.Model(REF["hs3"]["model"])
    sem.fit(hs()[model.observed], obj="MLW", solver="L-BFGS-B")
    table = sem.inspect()
    theirs = {}
    for _, r in table.iterrows():
        if r["op"] == "~":  # semopy writes a loading as "item ~ factor"
            theirs[(r["rval"], "=~", r["lval"])] = float(r["Estimate"])
        elif r["op"] == "~~":
            theirs[("~~", frozenset((r["lval"], r["rval"])))] = float(r["Estimate"])
    ours = {}
    for r in parameter_table(fit):
        if r["op"] == "=~":
            ours[(r["lhs"], "=~", r["rhs"])] = r["est"]
        else:
            ours[("~~", frozenset((r["lhs"], r["rhs"])))] = r["est"]
    assert set(ours) == set(theirs)
    bad = [(k, ours[k], theirs[k]) for k in ours if abs(ours[k] - theirs[k]) > TOL]
    assert not bad, f"(parameter, coscale, semopy) {bad}"


# ---------------------------------------------------------------------------
# Moments and implied moments
# ---------------------------------------------------------------------------
def test_sample_moments_equal_lavaan_sampstat():
    """ML sample covariances (divisor N) and means, 1e-10.

    R: ``lavInspect(fit, "sampstat")`` for ``cfa(HS.model, data = HS,
    meanstructure = TRUE)`` (cov and mean) and
    ``cfa(HS.model, data = HS, estimator = 'ML')`` (cov).
    """
    for name in ("hs3", "hs3_meanstructure"):
        _check_call(name)
        ref = REF[name]["sampstat"]
        cov = _matrix(ref["cov"])
        mm = listwise_moments(hs(), list(cov.index))[0]
        assert mm.n == REF[name]["ntotal"]
        np.testing.assert_allclose(mm.cov, cov.to_numpy(), rtol=0, atol=SAMPSTAT_TOL)
        if "mean" in ref:
            mean = np.array([ref["mean"][v] for v in cov.index])
            np.testing.assert_allclose(mm.mean, mean, rtol=0, atol=SAMPSTAT_TOL)


def test_implied_moments_equal_lavaan():
    """Model-implied covariance matrix (and mean vector), 1e-5.

    R: ``lavInspect(fit, "implied")`` for ``cfa(HS.model, data = HS,
    estimator = 'ML')`` (cov) and ``cfa(HS.model, data = HS,
    meanstructure = TRUE)`` (cov and mean: saturated means, equal to the
    sample means).
    """
    for name in ("hs3", "hs3_meanstructure"):
        _check_call(name)
        model, fit = fitted(name)
        ref = REF[name]["implied"]
        cov = _matrix(ref["cov"]).loc[model.observed, model.observed]
        sigma, mu = fit.implied[0]
        np.testing.assert_allclose(sigma, cov.to_numpy(), rtol=0, atol=IMPLIED_TOL)
        if "mean" in ref:
            mean = np.array([ref["mean"][v] for v in model.observed])
            np.testing.assert_allclose(mu, mean, rtol=0, atol=IMPLIED_TOL)


# ---------------------------------------------------------------------------
# Degenerate data: warnings, not exceptions or crashes
# ---------------------------------------------------------------------------
# Run in a child process: with a singular sample covariance matrix fit_ml
# falls back on SciPy's L-BFGS-B, whose gradient callback then returns None
# at non-positive-definite points (Engine.evaluate(z, "g")[1]); SciPy 1.17's
# L-BFGS-B writes out of bounds on that, and the process aborts with
# "free(): invalid next size" / "double free or corruption" or segfaults,
# nondeterministically (about half of single fits; three fits in a row crash
# nearly always). A crash must fail this test, not kill the test run.
_DEGENERATE_SCRIPT = textwrap.dedent(
    """
    import gc, json, sys, traceback
    import pandas as pd
    from coscale.stats.estimate import fit_ml
    from coscale.stats.fit import fit_measures
    from coscale.stats.model import MeasurementModel, build_partable
    from coscale.stats.moments import listwise_moments

    case = sys.argv[1]
    hs = pd.read_csv(sys.argv[2])
    model = MeasurementModel.from_syntax(
        "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9")
    if case == "constant":
        hs["x3"] = 2.0                      # an item nobody varies on
    else:
        hs["x6"] = 2.0 * hs["x5"] + 1.0      # x6 a linear function of x5
    out = {"case": case}
    try:
        for _ in range(3):
            fit = fit_ml(build_partable(model), listwise_moments(hs, model.observed))
            fit_measures(fit)
            gc.collect()
        out["warnings"] = list(fit.warnings)
    except Exception as exc:
        out["exception"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        out["where"] = traceback.format_exc().strip().splitlines()[-3].strip()
    print(json.dumps(out), flush=True)
    """
)


def _fit_degenerate(case: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _DEGENERATE_SCRIPT, case, str(HS_CSV)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    if proc.returncode != 0:
        how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no message"
        pytest.fail(f"the process fitting the {case} data died ({how}; {last})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "exception" not in out, f"fit_ml raised on the {case} data: {out['exception']} ({out['where']})"
    return out


def _assert_singular_warning(warnings: list) -> None:
    hits = [w for w in warnings if "not positive definite" in w and "constant or a linear combination" in w]
    assert hits, warnings


def test_constant_item_gives_warning_not_exception():
    """An item with zero variance: fit_ml returns a Fit with a clear warning (no R reference).

    lavaan refuses such data (``cfa(HS.model, data = HS)`` with x3 constant
    stops: "sample covariance matrix is not positive-definite"); coscale
    promises a warning instead, naming the problem.
    """
    _assert_singular_warning(_fit_degenerate("constant")["warnings"])


def test_collinear_pair_gives_warning_not_crash():
    """Two perfectly collinear items: fit_ml returns a Fit with a clear warning (no R reference).

    lavaan refuses such data ("sample covariance matrix is not
    positive-definite"); coscale promises a warning instead. Fitted three
    times in one process, because the crash this guards against is
    nondeterministic.
    """
    _assert_singular_warning(_fit_degenerate("collinear")["warnings"])
