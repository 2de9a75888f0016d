"""Robust ML with missing answers (lavaan ``estimator = "MLR", missing = "ml"``) against lavaan 0.6.14.

Reference values: ``tests/reference/robust_fiml.json``, written by
``tests/reference/robust_fiml.R``. In the R calls below::

    HSM      <- read.csv("tests/data/holzinger1939_missing.csv")   # 301 rows, ~8% missing, 2 empty rows
    HS.model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
    EX       <- examples/coproduction_survey.csv, codes 9/-99 set to NA,
                ppo4 and pcc3 recoded 6 - x
    EX.model <- the four 5-item scales (motives_self =~ msc1..msc5, ...)
    HS.visual <- "visual =~ x1 + x2 + x3"                        # just identified, df = 0

Every case records its lavaan call (``"call"``) and the tests check it.
coscale fits the model by FIML (:class:`coscale.stats.robust_fiml.RobustFimlEstimation`,
i.e. :func:`coscale.stats.fiml.fit_fiml`) and corrects it with
:func:`coscale.stats.robust_fiml.robust_fiml` from the rows grouped by
missingness pattern.

Tolerances: fit measures (scaled and robust), robust SEs and the scaled
difference test 1e-3 absolute (df exact); the FIML-corrected statistics
behind the robust indices 1e-5 relative; information matrices 1e-4.
coscale's and lavaan's estimates differ by up to 2e-5 (lavaan's optimiser
stops there; lavaan's EM for the saturated model stops at em.h1.tol = 1e-5),
which bounds the agreement: evaluated at lavaan's own estimates, coscale's
scaling factors agree with lavaan's to 1e-7
(:func:`test_scaling_factor_is_lavaans_at_lavaans_estimates`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coscale.stats.estimate import fit_ml
from coscale.stats.fiml import FimlEngine, FimlEstimation, FimlFit, missing_patterns, saturated
from coscale.stats.model import MeasurementModel, build_partable
from coscale.stats.moments import listwise_moments
from coscale.stats.robust import ROBUST_FIT_NAMES, Robust, robust
import coscale.stats.robust_fiml as robust_fiml_module
from coscale.stats.robust_fiml import (
    LAVAAN_OPTIONS,
    PatternRows,
    RobustFiml,
    RobustFimlEstimation,
    casewise_scores,
    first_order_information,
    h1_information,
    missing_rows,
    robust_fiml,
    robust_fiml_estimation,
)
from tests.reference_values import num as _num

HERE = Path(__file__).parent
ROOT = HERE.parent
REF = json.loads((HERE / "reference" / "robust_fiml.json").read_text())["cases"]

TOL = 1e-3  # fit measures, SEs, scaled difference
SE_TOL = 1e-3
INFO_TOL = 1e-4
CORRECTED_RTOL = 1e-5

#: case -> (lavaan call recorded in robust_fiml.json, data set)
SINGLE = {
    "hs_missing_mlr": ("cfa(HS.model, data = HSM, estimator = 'MLR', missing = 'ml')", "HSM"),
    "example_mlr": ("cfa(EX.model, data = EX, estimator = 'MLR', missing = 'ml')", "EX"),
    "hs_visual_mlr": ("cfa(HS.visual, data = HSM, estimator = 'MLR', missing = 'ml')", "HSM"),
}
STEPS = {"configural": (), "scalar": ("loadings", "intercepts")}
MULTI_CALLS = {
    "configural": "cfa(HS.model, data = HSM, group = 'school', estimator = 'MLR', missing = 'ml')",
    "scalar": ("cfa(HS.model, data = HSM, group = 'school', estimator = 'MLR', missing = 'ml', "
               "group.equal = c(\"loadings\", \"intercepts\"))"),
}
ALL = [("single", n) for n in SINGLE] + [("multi", s) for s in STEPS]

#: plain (non-robust) measures checked alongside
PLAIN = ("chisq", "df", "baseline_chisq", "baseline_df", "cfi", "tli", "rmsea", "srmr")
EXACT = {"df", "baseline_df", "df_scaled", "baseline_df_scaled"}


# ---------------------------------------------------------------------------
# data and fits
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def data(name: str) -> pd.DataFrame:
    if name == "HSM":
        return pd.read_csv(HERE / "data" / "holzinger1939_missing.csv")
    d = pd.read_csv(ROOT / "examples" / "coproduction_survey.csv")
    items = [c for c in d.columns if c[:3] in ("msc", "mcc", "ppo", "pcc") and c[3:].isdigit()]
    d[items] = d[items].where(~d[items].isin([9, -99]))
    d["ppo4"] = 6 - d["ppo4"]
    d["pcc3"] = 6 - d["pcc3"]
    return d


def ref_case(kind: str, name: str) -> dict:
    return REF[name] if kind == "single" else REF["hs_missing_school_mlr"]["models"][name]


@functools.lru_cache(maxsize=None)
def estimation(kind: str) -> tuple:
    """(model, estimation) per data set: HSM / EX in one group, HSM by school."""
    if kind in SINGLE:
        ref = REF[kind]
        model = MeasurementModel.from_syntax(ref["model"])
        return model, robust_fiml_estimation(data(SINGLE[kind][1]), model.observed)
    ref = REF["hs_missing_school_mlr"]["models"]["configural"]
    model = MeasurementModel.from_syntax(ref["model"])
    hsm = data("HSM")
    return model, robust_fiml_estimation(hsm, model.observed, hsm["school"], list(ref["group_labels"]))


@functools.lru_cache(maxsize=None)
def fitted(kind: str, name: str):
    """(estimation, fit) of a case; the two school models share one estimation (EM once)."""
    if kind == "single":
        model, est = estimation(name)
        return est, est.fit(build_partable(model, meanstructure=True))
    model, est = estimation("school")
    labels = list(ref_case(kind, name)["group_labels"])
    pt = build_partable(model, len(labels), meanstructure=True, group_equal=STEPS[name], group_labels=labels)
    return est, est.fit(pt)


def _check_call(kind: str, name: str) -> None:
    call = SINGLE[name][0] if kind == "single" else MULTI_CALLS[name]
    assert ref_case(kind, name)["call"] == call, f"robust_fiml.json was made by {ref_case(kind, name)['call']!r}"


def _free_names(pt) -> list[str]:
    names = [""] * pt.n_free
    for i in range(len(pt.lhs)):
        if pt.free[i] >= 0:
            names[pt.free[i]] = pt.name(i)
    return names


# ---------------------------------------------------------------------------
# lavaan's settings
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind,name", ALL)
def test_lavaan_options_are_the_ones_implemented(kind, name):
    """MLR with missing = "ml": observed (Hessian) information, structured h1 for the meat,
    Huber-White SEs, the Mplus variant of the Yuan-Bentler test, a mean structure.

    R: ``lavInspect(fit, "options")`` for the case's call, e.g.
    ``cfa(HS.model, data = HSM, estimator = 'MLR', missing = 'ml')``.
    """
    _check_call(kind, name)
    opts = ref_case(kind, name)["options"]
    for key, value in LAVAAN_OPTIONS.items():
        theirs = opts[key]
        if isinstance(theirs, list):
            assert set(theirs) == {value}, (key, theirs)
        else:
            assert theirs == value, (key, theirs)
    est, fit = fitted(kind, name)
    assert est.estimator == "MLR" and est.missing == "fiml"  # coscale's name for lavaan's missing = "ml"
    assert isinstance(fit, FimlFit) and isinstance(fit.robust, RobustFiml) and isinstance(fit.robust, Robust)
    assert fit.information == "observed"
    assert fit.ntotal == ref_case(kind, name)["ntotal"]
    assert [r.n for r in est.rows] == [int(v) for v in ref_case(kind, name)["nobs"]]


# ---------------------------------------------------------------------------
# Fit measures, standard errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind,name", ALL)
def test_fit_measures_match_lavaan(kind, name):
    """chisq, chisq.scaled, the scaling factors, baseline (scaled), cfi/tli/rmsea (+ CI) scaled and
    robust, and the plain chisq, cfi, tli, rmsea, srmr.

    R: ``fitMeasures(fit)`` for ``cfa(HS.model, data = HSM, estimator = 'MLR',
    missing = 'ml')``, ``cfa(EX.model, data = EX, estimator = 'MLR', missing =
    'ml')`` and the school models ``cfa(HS.model, data = HSM, group = 'school',
    estimator = 'MLR', missing = 'ml')`` (configural) and with ``group.equal =
    c("loadings", "intercepts")`` (scalar); and the just-identified
    ``cfa(HS.visual, data = HSM, estimator = 'MLR', missing = 'ml')`` (df =
    0: no scaling factor, rmsea.scaled NA, cfi/tli robust 1, rmsea robust 0).
    lavaan 0.6.14 defines every robust index here (the FIML-corrected ones);
    a null in the JSON must be NaN in coscale. Tolerance 1e-3, df exact.
    """
    _check_call(kind, name)
    est, fit = fitted(kind, name)
    assert fit.converged
    ours = est.measures(fit)
    ref = ref_case(kind, name)["fit_measures"]
    bad = []
    for key in ROBUST_FIT_NAMES + PLAIN:
        theirs = _num(ref[key.replace("_", ".")])
        if key in EXACT:
            if ours[key] != int(theirs):
                bad.append((key, ours[key], theirs))
        elif np.isnan(theirs):
            if not np.isnan(ours[key]):
                bad.append((key, ours[key], theirs))
        elif not abs(ours[key] - theirs) <= TOL:
            bad.append((key, ours[key], theirs))
    assert not bad, f"{kind} {name}: (measure, coscale, lavaan) {bad}"


@pytest.mark.parametrize("kind,name", ALL)
def test_fiml_corrected_statistics_match_lavaan(kind, name):
    """XX3, c.hat3 and their baseline counterparts, from which the robust indices are built.

    R: ``lavaan:::lav_fit_fiml_corrected(fit, version = "V3")`` for the case's
    call (what ``fitMeasures`` uses for cfi.robust, tli.robust and
    rmsea.robust under missing = "ml"). Tolerance 1e-5 relative.
    """
    _check_call(kind, name)
    _, fit = fitted(kind, name)
    fc = ref_case(kind, name)["fiml_corrected"]
    rob = fit.robust
    ours = {"XX3": rob.corrected_chisq, "c.hat3": rob.corrected_scaling_factor,
            "XX3.null": rob.corrected_baseline_chisq, "c.hat3.null": rob.corrected_baseline_scaling_factor}
    for key, value in ours.items():
        if fc[key] is None:  # lavaan's c.hat3 = k / 0 = Inf when df = 0, written as null
            assert key == "c.hat3" and fit.df == 0 and value == np.inf
        elif key == "XX3" and fit.df == 0:
            assert abs(value) < 1e-6 and abs(fc[key]) < 1e-6
        else:
            assert value == pytest.approx(fc[key], rel=CORRECTED_RTOL), key
    assert fc["df3"] == fit.df
    assert fc["df3.null"] == rob.baseline_df
    assert fc["XX3.scaled"] == pytest.approx(rob.corrected_chisq / rob.corrected_scaling_factor,
                                             rel=CORRECTED_RTOL, abs=1e-9)


@pytest.mark.parametrize("kind,name", ALL)
def test_standard_errors_match_lavaan(kind, name):
    """Huber-White SEs of every parameter-table row, with fit.vcov the robust one.

    R: ``parameterEstimates(fit)$se`` for the case's call (rows matched by
    lhs, op, rhs and group). Tolerance 1e-3 (agreement is 6e-5 or better).
    """
    _check_call(kind, name)
    _, fit = fitted(kind, name)
    assert fit.vcov is fit.robust.vcov
    pt = fit.partable
    theirs = {(r["lhs"], r["op"], r["rhs"], int(r.get("group", 1))): r["se"] for r in ref_case(kind, name)["estimates"]}
    se = fit.standard_errors()
    ours = {(pt.lhs[i], pt.op[i], pt.rhs[i], int(pt.group[i]) + 1): se[i] for i in range(len(pt.lhs))}
    assert set(ours) == set(theirs)
    bad = [(k, ours[k], v) for k, v in theirs.items() if not abs(ours[k] - v) <= SE_TOL]
    assert not bad, f"{kind} {name}: (row, coscale se, lavaan se) {bad}"
    np.testing.assert_allclose(se, fit.robust.standard_errors(), rtol=0, atol=0)


def test_information_matrices_match_lavaan():
    """The bread (observed information) and the meat (mean outer product of the casewise scores).

    R: ``lavInspect(fit, "information")`` and ``lavInspect(fit,
    "information.first.order")`` for ``cfa(HS.model, data = HSM, estimator =
    'MLR', missing = 'ml')``; free parameters matched by name. Tolerance 1e-4.
    """
    _check_call("single", "hs_missing_mlr")
    _, fit = fitted("single", "hs_missing_mlr")
    ref = REF["hs_missing_mlr"]
    names = _free_names(fit.partable)
    idx = [names.index(n) for n in ref["information"]["names"]]
    np.testing.assert_allclose(fit.robust.information[np.ix_(idx, idx)], np.array(ref["information"]["values"]),
                               rtol=0, atol=INFO_TOL)
    idx = [names.index(n) for n in ref["information_firstorder"]["names"]]
    np.testing.assert_allclose(fit.robust.meat[np.ix_(idx, idx)], np.array(ref["information_firstorder"]["values"]),
                               rtol=0, atol=INFO_TOL)


@pytest.mark.parametrize("kind,name", ALL)
def test_h1_and_h0_parts_of_the_trace_match_lavaan(kind, name):
    """tr(U Gamma) = h1 part - h0 part, each as lavaan reports it.

    R: ``fitMeasures(fit, c("scaling.factor.h1", "scaling.factor.h0"))``
    (absent with df = 0, where lavaan computes no trace):
    sum_g tr(A1_g^-1 B1_g) / (G (p + p*)) (1e-6: only lavaan's EM tolerance
    separates them) and sum_g f_g tr(B0_g H^-1) / npar (1e-3; single group
    only, as lavaan divides by its count of parameters before equality
    constraints); ``fit@test[[2]]$trace.UGamma``.
    """
    _check_call(kind, name)
    _, fit = fitted(kind, name)
    case = ref_case(kind, name)
    fm = case["fit_measures"]
    rob = fit.robust
    base = case["baseline_test"]["yuan.bentler.mplus"]
    assert rob.baseline_trace_ugamma == pytest.approx(base["trace.UGamma"], abs=0.05)
    if fit.df == 0:  # lavaan stops before the trace: no scaling factor, no h1/h0 parts
        assert case["test"]["yuan.bentler.mplus"]["trace.UGamma"] is None and "scaling.factor.h1" not in fm
        assert np.isnan(rob.trace_ugamma) and np.isnan(rob.scaling_factor)
        assert rob.chisq_scaled == pytest.approx(fit.chisq)
        return
    p = len(fit.partable.observed)
    ndat = fit.partable.n_groups * (p + p * (p + 1) // 2)
    assert rob.trace_h1 / ndat == pytest.approx(fm["scaling.factor.h1"], abs=1e-6)
    if kind == "single":
        assert rob.trace_h0 / fit.npar == pytest.approx(fm["scaling.factor.h0"], abs=TOL)
    assert rob.trace_ugamma == pytest.approx(case["test"]["yuan.bentler.mplus"]["trace.UGamma"], abs=0.05)
    assert rob.trace_ugamma == pytest.approx(rob.trace_h1 - rob.trace_h0, abs=1e-9)


def test_scaled_difference_matches_lavaan():
    """Scaled chi-square difference configural -> scalar (Satorra & Bentler 2001).

    R: ``lavTestLRT(configural, scalar)`` (default method for MLR: satorra.bentler.2001)
    with the school models of :func:`test_fit_measures_match_lavaan`;
    ``lavaan:::lav_test_diff_SatorraBentler2001(configural, scalar)$scaling.factor``.
    Tolerance 1e-3.
    """
    case = REF["hs_missing_school_mlr"]
    assert case["lrt_call"].startswith("lavTestLRT(configural, scalar)")
    est, less = fitted("multi", "configural")
    _, more = fitted("multi", "scalar")
    diff = est.difference(less, more)
    row = {r["model"]: r for r in case["lrt"]}["scalar"]
    assert diff["df_diff"] == row["Df diff"]
    assert diff["chisq_diff"] == pytest.approx(row["Chisq diff"], abs=TOL)
    assert diff["pvalue"] == pytest.approx(row["Pr(>Chisq)"], abs=TOL)
    assert diff["scaling_factor"] == pytest.approx(row["scaling.factor"], abs=TOL)


@pytest.mark.parametrize("name", list(STEPS))
def test_scaling_factor_is_lavaans_at_lavaans_estimates(name):
    """The formulas are lavaan's: at lavaan's estimates, c agrees to 1e-7 and c.hat3 to 1e-5.

    What is left between coscale's and lavaan's scaling factors (about 1e-5)
    comes from the estimates (lavaan's optimiser stops about 2e-5 from the
    maximum), not from the computation. R: ``parameterEstimates(fit)$est``,
    ``fitMeasures(fit, "chisq.scaling.factor")`` and
    ``lav_fit_fiml_corrected(fit)$c.hat3`` of the school models.
    """
    est, fit = fitted("multi", name)
    case = ref_case("multi", name)
    pt = fit.partable
    theirs = {(r["lhs"], r["op"], r["rhs"], int(r["group"])): r["est"] for r in case["estimates"]}
    x = fit.x.copy()
    for i in range(len(pt.lhs)):
        if pt.free[i] >= 0:
            x[pt.free[i]] = theirs[(pt.lhs[i], pt.op[i], pt.rhs[i], int(pt.group[i]) + 1)]
    eng = FimlEngine(pt, est.patterns, h1=est.h1)
    at_lavaan = dataclasses.replace(fit, x=x, implied=[eng.implied(x, g) for g in range(pt.n_groups)])
    rob = robust_fiml(at_lavaan, est.rows)
    assert rob.scaling_factor == pytest.approx(case["fit_measures"]["chisq.scaling.factor"], abs=1e-7)
    assert rob.corrected_scaling_factor == pytest.approx(case["fiml_corrected"]["c.hat3"], abs=1e-5)


# ---------------------------------------------------------------------------
# Internal consistency (no R)
# ---------------------------------------------------------------------------
def test_casewise_scores_sum_to_the_fiml_gradient(monkeypatch):
    """Summed casewise scores, mapped by Delta, are the gradient of the FIML log-likelihood.

    Away from the solution: sum_i Delta' s_i = -(N / 2) dF/dtheta with F
    coscale's FIML discrepancy (:meth:`FimlEngine.evaluate`); and the
    first-order information, computed from per-pattern moments in blocks of
    rows, is the mean outer product of those scores (1e-10).
    """
    est, fit = fitted("single", "hs_missing_mlr")
    pt = fit.partable
    eng = FimlEngine(pt, est.patterns, h1=est.h1)
    x = fit.x + 0.01 * np.sin(np.arange(len(fit.x)) + 1.0)
    _, grad, _ = eng.evaluate(x, "g")
    mats = eng.matrices(x, 0)
    sigma, mu = eng.implied(x, 0, mats)
    dsig, dmu = eng.jacobian(mats, eng.free_entries(0), eng.q)
    r, c = np.triu_indices(len(mu))
    delta = np.concatenate([dmu, dsig[:, r, c]], axis=1).T
    rows = est.rows[0]
    sc = casewise_scores(rows, mu, sigma)
    assert sc.shape == (rows.n, len(mu) + len(r))
    np.testing.assert_allclose(sc.sum(axis=0) @ delta, -0.5 * fit.ntotal * grad, rtol=1e-9, atol=1e-9)
    monkeypatch.setattr(robust_fiml_module, "_BLOCK_ELEMENTS", 5000)  # several blocks of rows
    fresh = PatternRows(rows.patterns, rows.values, rows.pattern)  # its pattern moments not made yet
    np.testing.assert_allclose(first_order_information(fresh, mu, sigma), sc.T @ sc / rows.n,
                               rtol=1e-10, atol=1e-12)


def test_h1_information_is_the_derivative_of_the_h1_scores():
    """The saturated model's observed information is minus the Jacobian of its summed scores / N.

    Central differences of sum_i s_i(mu, vech Sigma) at a point that is not
    the EM solution (so every term of the observed information counts).
    """
    est, _ = fitted("single", "hs_missing_mlr")
    rows = est.rows[0]
    mean, cov, _ = est.h1[0]
    p = len(mean)
    mu0 = mean + 0.05
    sigma0 = cov * 1.1
    r, c = np.triu_indices(p)
    h0 = np.concatenate([mu0, sigma0[r, c]])

    def summed(h):
        s = np.zeros((p, p))
        s[r, c] = h[p:]
        s[c, r] = h[p:]
        return casewise_scores(rows, h[:p], s).sum(axis=0)

    step = 1e-5
    jac = np.empty((len(h0), len(h0)))
    for j in range(len(h0)):
        e = np.zeros(len(h0))
        e[j] = step
        jac[:, j] = (summed(h0 + e) - summed(h0 - e)) / (2 * step)
    np.testing.assert_allclose(h1_information(rows.patterns, mu0, sigma0), -jac / rows.n, rtol=0, atol=1e-6)


def test_complete_data_reduce_to_complete_data_mlr():
    """Without missing answers, the scaled test and SEs are those of complete-data MLR with means.

    coscale's :func:`coscale.stats.robust.robust` (checked against lavaan's
    ``cfa(HS.model, data = HS, estimator = 'MLR', meanstructure = TRUE)`` in
    test_robust.py): same scaling factor, baseline scaling factor and SEs.
    """
    hs = pd.read_csv(HERE / "data" / "holzinger1939.csv")
    model = MeasurementModel.from_syntax(REF["hs_missing_mlr"]["model"])
    pt = build_partable(model, meanstructure=True)
    est = robust_fiml_estimation(hs, model.observed)
    fit = est.fit(pt)
    values = hs[model.observed].to_numpy(dtype=float)
    ml = fit_ml(pt, listwise_moments(hs, model.observed))
    complete = robust(ml, [values], "MLR")
    assert fit.chisq == pytest.approx(ml.chisq, abs=1e-6)
    assert fit.robust.scaling_factor == pytest.approx(complete.scaling_factor, abs=1e-6)
    assert fit.robust.baseline_scaling_factor == pytest.approx(complete.baseline_scaling_factor, abs=1e-6)
    np.testing.assert_allclose(fit.robust.se, complete.se, rtol=0, atol=1e-6)
    # with complete data the FIML-corrected statistic is the ordinary one
    assert fit.robust.corrected_chisq == pytest.approx(fit.chisq, abs=1e-6)


# ---------------------------------------------------------------------------
# The estimation object and the data it is given
# ---------------------------------------------------------------------------
def test_estimation_object_interface():
    """RobustFimlEstimation serves validate and the invariance ladder like Estimation / FimlEstimation."""
    model, est = estimation("hs_missing_mlr")
    assert isinstance(est, RobustFimlEstimation) and isinstance(est, FimlEstimation)
    assert est.robust is True and est.index_suffix == "_robust"
    assert est.estimator == "MLR" and est.missing == "fiml"
    hsm = data("HSM")
    pats = missing_patterns(hsm, model.observed)
    assert [r.patterns.n_total for r in est.rows] == [pp.n_total for pp in pats]
    np.testing.assert_array_equal(est.patterns[0].observed, pats[0].observed)
    mean, cov, _ = saturated(pats[0])
    np.testing.assert_allclose(est.moments[0].mean, mean, atol=1e-8)
    np.testing.assert_allclose(est.moments[0].cov, cov, atol=1e-8)
    with pytest.raises(ValueError):
        RobustFimlEstimation(est.patterns)  # no rows
    with pytest.raises(ValueError):
        RobustFimlEstimation(est.patterns, estimator="ML", rows=est.rows)


def test_rows_are_grouped_by_pattern_and_checked_against_the_fit():
    """missing_rows keeps lavaan's rows (empty rows dropped), sorted by pattern; other rows are refused."""
    est, fit = fitted("single", "hs_missing_mlr")
    rows = est.rows[0]
    assert isinstance(rows, PatternRows)
    assert rows.patterns.n_dropped == 2 and rows.n == 299
    assert np.all(np.diff(rows.pattern) >= 0)
    np.testing.assert_array_equal(np.bincount(rows.pattern), rows.patterns.n)
    hsm = data("HSM")
    values = hsm[list(fit.partable.observed)].to_numpy(dtype=float)
    again = robust_fiml(fit, [values])  # a raw matrix works too
    np.testing.assert_allclose(again.vcov, fit.robust.vcov, rtol=0, atol=1e-14)
    reordered = missing_rows(hsm, list(reversed(fit.partable.observed)))
    assert robust_fiml(fit, reordered).scaling_factor == pytest.approx(fit.robust.scaling_factor, abs=1e-12)
    with pytest.raises(ValueError):
        robust_fiml(fit, [values[:-5]])


def test_failed_fit_gives_nan_statistics():
    """A fit whose chi-square is NaN (the model could not be estimated) gets NaN robust statistics."""
    est, fit = fitted("single", "hs_missing_mlr")
    failed = dataclasses.replace(fit, chisq=float("nan"), robust=None)
    rob = robust_fiml(failed, est.rows)
    assert rob.vcov is None and np.isnan(rob.scaling_factor) and np.isnan(rob.chisq_scaled)
    out = rob.fit_measures({"chisq": float("nan"), "df": fit.df, "baseline_chisq": fit.baseline[0],
                            "baseline_df": fit.baseline[1], "ntotal": fit.ntotal})
    assert np.isnan(out["cfi_robust"]) and np.isnan(out["rmsea_robust"]) and np.isnan(out["cfi_scaled"])
