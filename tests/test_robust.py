"""Robust ML for complete data (lavaan's MLM and MLR) against lavaan 0.6.14.

Reference values: ``tests/reference/robust.json``, written by
``tests/reference/robust.R``. In the R calls below::

    HS       <- read.csv("tests/data/holzinger1939.csv")      # N = 301
    HS.model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
    EX       <- examples/coproduction_survey.csv, codes 9/-99 set to NA,
                ppo4 and pcc3 recoded 6 - x
    EX.model <- the four 5-item scales (msc, mcc, ppo, pcc)
    HS.visual <- "visual =~ x1 + x2 + x3"                  # just identified, df = 0

Every case records its lavaan call (``"call"``) and the tests check it.
coscale fits the model by ML (:func:`coscale.stats.estimate.fit_ml`, with
lavaan's default mean structure: none in one group, for MLM and for MLR
alike) and corrects it with :func:`coscale.stats.robust.robust` from the
complete rows.

Tolerances: the scaled and robust fit measures 1e-3 absolute (df exact);
robust SEs 1e-4; scaled difference tests (statistic, scaling factor,
p value) 1e-3; Gamma 1e-10; information matrices 1e-4. coscale's and lavaan's
estimates agree to about 1e-5 (lavaan's optimiser stops there), which bounds
the agreement of everything evaluated at them.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coscale.stats.estimate import Engine, fit_ml
from coscale.stats.fit import fit_measures
from coscale.stats.model import MeasurementModel, build_partable
from coscale.stats.moments import complete_moments, listwise_moments
from coscale.stats.robust import (
    ROBUST_FIT_NAMES,
    fourth_moments,
    listwise_fourth_moments,
    observed_information,
    robust,
    scaled_difference,
)
from tests.reference_values import num as _num

HERE = Path(__file__).parent
ROOT = HERE.parent
REF = json.loads((HERE / "reference" / "robust.json").read_text())["cases"]

TOL = 1e-3  # fit measures, scaled difference tests
SE_TOL = 1e-4
INFO_TOL = 1e-4
GAMMA_TOL = 1e-10

#: case -> (lavaan call recorded in robust.json, estimator, data set, build_partable options)
SINGLE = {
    "hs3_mlm": ("cfa(HS.model, data = HS, estimator = 'MLM')", "MLM", "hs", {}),
    "hs3_mlr": ("cfa(HS.model, data = HS, estimator = 'MLR')", "MLR", "hs", {}),
    "hs3_mlm_meanstructure": (
        "cfa(HS.model, data = HS, estimator = 'MLM', meanstructure = TRUE)", "MLM", "hs", {"meanstructure": True}),
    "hs3_mlr_meanstructure": (
        "cfa(HS.model, data = HS, estimator = 'MLR', meanstructure = TRUE)", "MLR", "hs", {"meanstructure": True}),
    "hs_visual_mlm": ("cfa(HS.visual, data = HS, estimator = 'MLM')", "MLM", "hs", {}),
    "hs_visual_mlr": ("cfa(HS.visual, data = HS, estimator = 'MLR')", "MLR", "hs", {}),
    "example_mlm": ("cfa(EX.model, data = EX, estimator = 'MLM', missing = 'listwise')", "MLM", "example", {}),
    "example_mlr": ("cfa(EX.model, data = EX, estimator = 'MLR', missing = 'listwise')", "MLR", "example", {}),
}
STEPS = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts")}
R_EQUAL = {"configural": "", "metric": ', group.equal = "loadings"',
           "scalar": ', group.equal = c("loadings", "intercepts")'}
MULTI = {"hs_school_mlr": "MLR", "hs_school_mlm": "MLM"}

#: what lavaan 0.6.14 sets for each estimator (lavInspect(fit, "options")), one group
LAVAAN_OPTIONS = {
    "MLM": {"information": ["expected", "expected"], "h1.information": ["structured", "structured"],
            "se": "robust.sem", "test": "satorra.bentler", "meanstructure": False},
    "MLR": {"information": ["observed", "observed"], "h1.information": ["structured", "structured"],
            "observed.information": ["hessian", "hessian"], "se": "robust.huber.white",
            "test": "yuan.bentler.mplus", "meanstructure": False},
}


# ---------------------------------------------------------------------------
# data and fits
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def hs() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "holzinger1939.csv")


@functools.lru_cache(maxsize=None)
def example() -> pd.DataFrame:
    """The example survey prepared as robust.R does (``read_example``)."""
    d = pd.read_csv(ROOT / "examples" / "coproduction_survey.csv")
    items = [c for c in d.columns if c[:3] in ("msc", "mcc", "ppo", "pcc") and c[3:].isdigit()]
    for v in items:
        d[v] = d[v].where(~d[v].isin([9, -99]))
    d["ppo4"] = 6 - d["ppo4"]
    d["pcc3"] = 6 - d["pcc3"]
    return d


def _complete(frame: pd.DataFrame, columns) -> np.ndarray:
    x = frame[list(columns)].to_numpy(dtype=float)
    return x[~np.isnan(x).any(axis=1)]


@functools.lru_cache(maxsize=None)
def single(name: str):
    """(fit, robust) of a one-group case."""
    _, estimator, data, options = SINGLE[name]
    model = MeasurementModel.from_syntax(REF[name]["model"])
    frame = hs() if data == "hs" else example()
    fit = fit_ml(build_partable(model, **options), listwise_moments(frame, model.observed))
    return fit, robust(fit, [_complete(frame, model.observed)], estimator)


@functools.lru_cache(maxsize=None)
def multi(case: str, step: str):
    """(fit, robust) of one step of HS by school; Gamma computed once per group."""
    ref = REF[case]["models"][step]
    model = MeasurementModel.from_syntax(ref["model"])
    order = list(ref["group_labels"])
    fit = fit_ml(
        build_partable(model, len(order), group_equal=STEPS[step], group_labels=order),
        listwise_moments(hs(), model.observed, hs()["school"], order),
    )
    return fit, robust(fit, _school_gamma(tuple(model.observed), tuple(order)), MULTI[case])


@functools.lru_cache(maxsize=None)
def _school_gamma(observed, order):
    return [fourth_moments(_complete(hs()[hs()["school"] == g], observed)) for g in order]


def _compare_fit_measures(fit, rob, ref: dict, where: str) -> None:
    ours = rob.fit_measures(fit_measures(fit))
    assert set(ours) == set(ROBUST_FIT_NAMES)
    bad = []
    for key in ROBUST_FIT_NAMES:
        theirs = _num(ref[key.replace("_", ".")])
        if key in ("df_scaled", "baseline_df_scaled"):
            if ours[key] != int(theirs):
                bad.append((key, ours[key], theirs))
        elif np.isnan(theirs):
            if not np.isnan(ours[key]):
                bad.append((key, ours[key], theirs))
        elif not abs(ours[key] - theirs) <= TOL:
            bad.append((key, ours[key], theirs))
    assert not bad, f"{where}: (measure, coscale, lavaan) {bad}"


def _compare_se(fit, rob, ref_rows: list, where: str) -> None:
    pt = fit.partable
    multi_group = pt.n_groups > 1
    theirs = {(r["lhs"], r["op"], r["rhs"], int(r.get("group", 1))): r for r in ref_rows}
    se = rob.standard_errors()
    ours = {(pt.lhs[i], pt.op[i], pt.rhs[i], int(pt.group[i]) + 1 if multi_group else 1): se[i]
            for i in range(len(pt.lhs))}
    assert set(ours) == set(theirs), where
    bad = [(k, ours[k], r["se"]) for k, r in theirs.items() if not abs(ours[k] - r["se"]) <= SE_TOL]
    assert not bad, f"{where}: (row, coscale se, lavaan se) {bad}"


# ---------------------------------------------------------------------------
# one group
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SINGLE))
def test_lavaan_options_are_the_ones_implemented(name):
    """lavaan's information, h1 information, se and test for MLM and MLR are what robust() computes.

    R: ``lavInspect(fit, "options")`` for the case's call: MLM uses the
    expected information (``se = "robust.sem"``, ``test = "satorra.bentler"``),
    MLR the observed Hessian information (``se = "robust.huber.white"``,
    ``test = "yuan.bentler.mplus"``); neither adds a mean structure by
    default (hs3_mlm ``cfa(HS.model, data = HS, estimator = 'MLM')``, hs3_mlr
    ``cfa(HS.model, data = HS, estimator = 'MLR')``, and the example and
    ``meanstructure = TRUE`` variants).
    """
    call, estimator, _, options = SINGLE[name]
    assert REF[name]["call"] == call
    got = REF[name]["options"]
    for key, value in LAVAAN_OPTIONS[estimator].items():
        if key == "meanstructure":
            value = bool(options.get("meanstructure", False))
        assert got[key] == value, (name, key, got[key])


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_scaled_and_robust_fit_measures_match_lavaan(name):
    """chisq.scaled, its df, p and scaling factor; the baseline's; CFI/TLI/RMSEA (+ CI) scaled and robust.

    R: ``fitMeasures(fit)`` for the case's call: hs3_mlm
    ``cfa(HS.model, data = HS, estimator = 'MLM')``; hs3_mlr
    ``cfa(HS.model, data = HS, estimator = 'MLR')``; hs3_mlm_meanstructure /
    hs3_mlr_meanstructure the same with ``meanstructure = TRUE``;
    example_mlm / example_mlr ``cfa(EX.model, data = EX, estimator = 'MLM'
    / 'MLR', missing = 'listwise')``; hs_visual_mlm / hs_visual_mlr
    ``cfa(HS.visual, data = HS, estimator = 'MLM' / 'MLR')`` (df = 0: no
    scaling factor, no robust CFI/TLI or scaled RMSEA, robust RMSEA and its
    interval 0, as lavaan). Tolerance 1e-3 (df exact); NA must be NaN.
    """
    assert REF[name]["call"] == SINGLE[name][0]
    fit, rob = single(name)
    assert fit.converged
    assert fit.ntotal == REF[name]["ntotal"]
    _compare_fit_measures(fit, rob, REF[name]["fit_measures"], f"{name} ({REF[name]['call']})")


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_robust_standard_errors_match_lavaan(name):
    """Robust SE of every row (0 for fixed rows); MLM robust.sem, MLR robust.huber.white.

    R: ``parameterEstimates(fit)$se`` for the case's call (hs3_mlm
    ``cfa(HS.model, data = HS, estimator = 'MLM')``, hs3_mlr
    ``cfa(HS.model, data = HS, estimator = 'MLR')``, the
    ``meanstructure = TRUE`` variants, example_mlm / example_mlr
    ``cfa(EX.model, data = EX, estimator = 'MLM' / 'MLR', missing = 'listwise')``,
    hs_visual_mlm / hs_visual_mlr ``cfa(HS.visual, data = HS, estimator =
    'MLM' / 'MLR')``).
    Rows matched by lhs/op/rhs; tolerance 1e-4.
    """
    assert REF[name]["call"] == SINGLE[name][0]
    fit, rob = single(name)
    _compare_se(fit, rob, REF[name]["estimates"], name)


def test_known_holzinger_targets():
    """The published HS numbers: MLR scaled chi-square 87.132 (c = 0.979), CFI robust 0.930,
    RMSEA robust 0.0925; MLM scaled chi-square 80.872 (c = 1.055).

    R: ``fitMeasures(cfa(HS.model, data = HS, estimator = 'MLR'))`` and
    ``fitMeasures(cfa(HS.model, data = HS, estimator = 'MLM'))``.
    """
    fit, rob = single("hs3_mlr")
    fm = rob.fit_measures(fit_measures(fit))
    assert fm["chisq_scaled"] == pytest.approx(87.132, abs=5e-4)
    assert fm["chisq_scaling_factor"] == pytest.approx(0.979, abs=5e-4)
    assert fm["cfi_robust"] == pytest.approx(0.930, abs=5e-4)
    assert fm["rmsea_robust"] == pytest.approx(0.0925, abs=5e-5)
    fit, rob = single("hs3_mlm")
    fm = rob.fit_measures(fit_measures(fit))
    assert fm["chisq_scaled"] == pytest.approx(80.872, abs=5e-4)
    assert fm["chisq_scaling_factor"] == pytest.approx(1.055, abs=5e-4)


def test_gamma_equals_lavaan():
    """Gamma (NACOV, divisor N, lavaan's vech order) from the raw rows, 1e-10.

    R: ``lavInspect(fit, "gamma")`` for ``cfa(HS.model, data = HS,
    estimator = 'MLM')`` (no mean structure: the covariance block of
    coscale's Gamma). Chunking the rows does not change it.
    """
    ref = REF["hs3_mlm"]
    assert ref["call"] == "cfa(HS.model, data = HS, estimator = 'MLM')"
    observed = MeasurementModel.from_syntax(ref["model"]).observed
    x = _complete(hs(), observed)
    fm = fourth_moments(x)
    p = len(observed)
    r, c = np.triu_indices(p)
    assert ref["gamma"]["names"] == [f"{observed[i]}~~{observed[j]}" for i, j in zip(r, c)]
    np.testing.assert_allclose(fm.gamma[p:, p:], np.array(ref["gamma"]["values"]), rtol=0, atol=GAMMA_TOL)
    small = fourth_moments(x, chunk_elements=100)  # a few rows per chunk
    np.testing.assert_allclose(small.gamma, fm.gamma, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fm.gamma[:p, :p], fm.cov, rtol=0, atol=1e-12)


def _free_names(fit) -> list[str]:
    pt = fit.partable
    names = [""] * pt.n_free
    for i in range(len(pt.lhs)):
        if pt.free[i] >= 0:
            names[pt.free[i]] = pt.name(i)
    return names


def test_observed_information_equals_lavaan():
    """The analytic observed information (MLR's bread) equals lavaan's numerical Hessian, 1e-4.

    R: ``lavInspect(fit, "information")`` for ``cfa(HS.model, data = HS,
    estimator = 'MLR')`` (observed.information = "hessian": lavaan
    differentiates its gradient by Richardson extrapolation); the meat
    ``lavInspect(fit, "information.first.order")`` too (B0, outer product of
    the casewise scores).
    """
    ref = REF["hs3_mlr"]
    assert ref["call"] == "cfa(HS.model, data = HS, estimator = 'MLR')"
    fit, rob = single("hs3_mlr")
    names = _free_names(fit)
    idx = [names.index(n) for n in ref["information"]["names"]]
    ours = observed_information(fit)[np.ix_(idx, idx)]
    np.testing.assert_allclose(ours, np.array(ref["information"]["values"]), rtol=0, atol=INFO_TOL)
    np.testing.assert_allclose(rob.information[np.ix_(idx, idx)], ours, rtol=0, atol=1e-12)
    meat = rob.meat[np.ix_(idx, idx)]
    np.testing.assert_allclose(meat, np.array(ref["information_firstorder"]["values"]), rtol=0, atol=INFO_TOL)


@pytest.mark.parametrize("case", ["hs3", "hs_scalar", "hs_extra_stdlv", "hs_school_metric_stdlv"])
def test_observed_information_is_the_hessian_of_the_discrepancy(case):
    """Analytic observed information = 1/2 the numerical Jacobian of coscale's analytic gradient (no R).

    Central differences of ``Engine.evaluate(x, "g")`` with steps 1e-5
    (relative), agreement 1e-6 -- in one group without a mean structure;
    in the two-group scalar model (equal loadings and intercepts, free
    latent means), where the mean-structure and cross-group terms enter;
    with a cross-loading, a residual covariance, std.lv and a mean
    structure; and in the two-group metric model with std.lv (factor
    variances free in group 2).
    """
    if case == "hs3":
        fit, _ = single("hs3_mlr")
    elif case == "hs_scalar":
        fit, _ = multi("hs_school_mlr", "scalar")
    elif case == "hs_extra_stdlv":
        model = MeasurementModel.from_syntax(REF["hs3_mlr"]["model"] + "\nvisual =~ x9\nx7 ~~ x8")
        fit = fit_ml(build_partable(model, std_lv=True, meanstructure=True), listwise_moments(hs(), model.observed))
    else:
        model = MeasurementModel.from_syntax(REF["hs3_mlr"]["model"])
        order = list(REF["hs_school_mlr"]["models"]["metric"]["group_labels"])
        fit = fit_ml(build_partable(model, 2, group_equal=("loadings",), group_labels=order, std_lv=True),
                     listwise_moments(hs(), model.observed, hs()["school"], order))
    assert fit.converged
    eng = Engine(fit.partable, fit.moments)
    q = eng.q
    num = np.zeros((q, q))
    for k in range(q):
        h = 1e-5 * max(1.0, abs(fit.x[k]))
        e = np.zeros(q)
        e[k] = h
        num[:, k] = (eng.evaluate(fit.x + e, "g")[1] - eng.evaluate(fit.x - e, "g")[1]) / (2 * h)
    num = 0.25 * (num + num.T)  # information = Hessian of F / 2
    np.testing.assert_allclose(observed_information(fit), num, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------
# several groups: configural, metric, scalar
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(MULTI))
@pytest.mark.parametrize("step", list(STEPS))
def test_multigroup_fit_measures_and_se_match_lavaan(case, step):
    """Scaled/robust fit measures (1e-3) and robust SEs (1e-4) of HS by school.

    R: ``cfa(HS.model, data = HS, group = 'school', estimator = 'MLR')``
    (and ``estimator = 'MLM'``) with ``group.equal = "loadings"`` (metric)
    and ``group.equal = c("loadings", "intercepts")`` (scalar);
    ``fitMeasures(fit)`` and ``parameterEstimates(fit)$se``. Gamma per
    group, groups weighted N_g / N.
    """
    ref = REF[case]["models"][step]
    est = MULTI[case]
    assert ref["call"] == f"cfa(HS.model, data = HS, group = 'school', estimator = '{est}'{R_EQUAL[step]})"
    assert ref["options"]["meanstructure"] is True
    fit, rob = multi(case, step)
    assert fit.converged
    assert int(ref["fit_measures"]["df"]) == fit.df
    _compare_fit_measures(fit, rob, ref["fit_measures"], f"{case} {step}")
    _compare_se(fit, rob, ref["estimates"], f"{case} {step}")


@pytest.mark.parametrize("case", sorted(MULTI))
def test_scaled_difference_tests_match_lavtestlrt(case):
    """Satorra-Bentler (2001) scaled differences metric vs configural and scalar vs metric.

    R: ``lavTestLRT(configural, metric, scalar)`` for the MLR (and MLM)
    fits of HS by school: "Chisq diff", "Df diff", "Pr(>Chisq)"; lavaan's
    default method is "satorra.bentler.2001" for both estimators (its
    heading). The difference scaling factor from
    ``lavaan:::lav_test_diff_SatorraBentler2001(less, more)$scaling.factor``.
    Tolerance 1e-3.
    """
    ref = REF[case]
    assert ref["lrt_call"].startswith("lavTestLRT(configural, metric, scalar)")
    assert "satorra.bentler.2001" in ref["lrt_heading"]
    rows = {r["model"]: r for r in ref["lrt"]}
    bad = []
    for less, more in (("configural", "metric"), ("metric", "scalar")):
        f1, r1 = multi(case, less)
        f0, r0 = multi(case, more)
        out = scaled_difference(r1, r0, f1, f0)
        row = rows[more]
        assert out["df_diff"] == int(row["Df diff"])
        for key, lav in (("chisq_diff", "Chisq diff"), ("pvalue", "Pr(>Chisq)"), ("scaling_factor", "scaling.factor")):
            if not abs(out[key] - row[lav]) <= TOL:
                bad.append((more, key, out[key], row[lav]))
    assert not bad, f"{case}: (model, value, coscale, lavaan) {bad}"


def test_scaled_difference_checks_its_arguments():
    """The less restricted model comes first; only lavaan's default method is offered (no R)."""
    f1, r1 = multi("hs_school_mlr", "configural")
    f0, r0 = multi("hs_school_mlr", "metric")
    with pytest.raises(ValueError):
        scaled_difference(r0, r1, f0, f1)
    with pytest.raises(ValueError):
        scaled_difference(r1, r0, f1, f0, method="satorra.2000")
    _, m0 = multi("hs_school_mlm", "metric")
    with pytest.raises(ValueError):
        scaled_difference(r1, m0, f1, f0)


# ---------------------------------------------------------------------------
# data handling
# ---------------------------------------------------------------------------
def test_rows_that_did_not_make_the_fit_are_rejected():
    """robust() refuses data whose moments are not the fit's (other rows, or another column order)."""
    fit, _ = single("hs3_mlr")
    observed = fit.partable.observed
    x = _complete(hs(), observed)
    with pytest.raises(ValueError):
        robust(fit, [x[::-1, ::-1]], "MLR")
    with pytest.raises(ValueError):
        robust(fit, [x[:-1]], "MLR")
    with pytest.raises(ValueError):
        robust(fit, [x], "WLSMV")
    with pytest.raises(ValueError):
        fourth_moments(np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x))


def test_hundred_thousand_rows_are_fast():
    """10^5 respondents x 20 items: Gamma from chunked rows, MLM and MLR in a few seconds (no R).

    The data are generated from the four-factor model with t(5) errors.
    With errors independent of the factors and free residual variances the
    normal-theory chi-square stays valid (asymptotic robustness; Satorra &
    Bentler 1990), so both scaling factors are close to 1; robust SEs of
    the loadings are close to the ML ones.
    """
    rng = np.random.default_rng(20240601)
    n, m, k = 100_000, 4, 5
    phi = 0.3 + 0.7 * np.eye(m)
    eta = rng.standard_normal((n, m)) @ np.linalg.cholesky(phi).T
    lam = np.zeros((m * k, m))
    for j in range(m):
        lam[j * k:(j + 1) * k, j] = [1.0, 0.8, 0.9, 0.7, 0.6]
    y = eta @ lam.T + 0.6 * rng.standard_t(5, (n, m * k)) + 3.0
    syntax = "\n".join(f"f{j} =~ " + " + ".join(f"y{j * k + i}" for i in range(k)) for j in range(m))
    model = MeasurementModel.from_syntax(syntax)
    fit = fit_ml(build_partable(model), [complete_moments(y, model.observed)])
    assert fit.converged
    start = time.perf_counter()
    fm = fourth_moments(y)
    results = {est: robust(fit, [fm], est) for est in ("MLM", "MLR")}
    elapsed = time.perf_counter() - start
    assert elapsed < 20.0, f"robust MLM + MLR for 10^5 rows took {elapsed:.1f} s"
    for est, rob in results.items():
        assert 0.95 < rob.scaling_factor < 1.05, (est, rob.scaling_factor)
        loading = np.array([fit.partable.mat[i] == "lambda" and fit.partable.free[i] >= 0
                            for i in range(len(fit.partable.lhs))])
        ratio = rob.standard_errors()[loading] / fit.standard_errors()[loading]
        assert np.all((ratio > 0.9) & (ratio < 1.1)), (est, ratio)


def test_model_that_cannot_be_estimated_gives_nan_not_exception():
    """A constant item (singular sample covariance): robust() returns NaN statistics and SEs (no R).

    lavaan refuses such data; coscale's ``fit_ml`` returns a failed Fit with
    a warning, and the robust correction has nothing to correct.
    """
    frame = hs().copy()
    frame["x3"] = 2.0
    model = MeasurementModel.from_syntax("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6")
    fit = fit_ml(build_partable(model), listwise_moments(frame, model.observed))
    for est in ("MLM", "MLR"):
        rob = robust(fit, [_complete(frame, model.observed)], est)
        assert rob.vcov is None and np.all(np.isnan(rob.se))
        assert np.isnan(rob.chisq_scaled) and np.isnan(rob.scaling_factor)
        assert np.isnan(rob.baseline_scaling_factor)


def test_listwise_fourth_moments_pairs_with_listwise_moments():
    """listwise_fourth_moments keeps the rows listwise_moments keeps, group by group (no R).

    The example survey by role (missing codes give incomplete rows), in a
    given group order and in order of first appearance.
    """
    frame = example()
    observed = MeasurementModel.from_syntax(REF["example_mlr"]["model"]).observed
    for order in (["professional", "citizen"], None):
        moms = listwise_moments(frame, observed, frame["role"], order)
        fms = listwise_fourth_moments(frame, observed, frame["role"], order)
        assert [f.n for f in fms] == [m.n for m in moms]
        for f, m in zip(fms, moms):
            np.testing.assert_allclose(f.mean, m.mean, rtol=0, atol=1e-12)
            np.testing.assert_allclose(f.cov, m.cov, rtol=0, atol=1e-12)
    (one,) = listwise_fourth_moments(frame, observed)
    assert one.n == REF["example_mlr"]["ntotal"]
