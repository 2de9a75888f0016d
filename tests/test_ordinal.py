"""Ordinal items: thresholds, polychorics, NACOV, WLSMV and ordinal reliability against lavaan 0.6.14.

Reference values: ``tests/reference/ordinal.json``, written by
``tests/reference/ordinal.R``. Cases (every one records its R call)::

    hs_ordinal             cfa(HS.model, data = HSord, ordered = TRUE, estimator = 'WLSMV')
    hs_ordinal_stdlv       ... std.lv = TRUE
    example_ordinal        cfa(EX.model, data = EXc, ordered = TRUE, estimator = 'WLSMV')
    example_ordinal_extra  EX.model + "motives_self =~ mcc3" + "msc1 ~~ mcc1"
    binary                 lavCor(BIN, ordered = TRUE)   (2 x 2 tables with empty cells)
    hs_we_<step>, example_we_<step>
                           the Wu & Estabrook (2016) invariance ladder (configural,
                           thresholds, loadings, intercepts) by school / by role, as
                           semTools::measEq.syntax(ID.cat = "Wu.Estabrook.2016",
                           ID.fac = "std.lv", parameterization = "delta") sets it up
    hs_we_lrt, example_we_lrt
                           lavTestLRT of the ladder (satorra.2000 scaled-shifted differences)

``HSord`` is ``tests/data/holzinger1939_ordinal.csv`` (x1..x9 cut into 4
categories at fixed points, written by the R script); ``EXc`` is the example
survey after coscale's preparation (codes 9/-99 missing, ppo4 and pcc3
reverse-keyed as 6 - x) and listwise deletion on the 20 items. Each case
also holds ``lavCor(data, ordered = TRUE)`` (polychorics and thresholds),
``lavInspect(fit, "gamma")`` (NACOV), ``semTools::compRelSEM(fit)``
(categorical omega) and ``psych::alpha`` of the polychoric matrix.

Tolerances: fit measures, estimates, SEs and standardized values 1e-3
absolute (chi-squares 1e-5 relative; df and npar exact); polychorics 1e-5;
thresholds 1e-6; NACOV 1e-5; reliabilities 1e-4. Both programs stop near
1e-8 of the solution, so agreement is typically 1e-6 or better.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coscale.stats.model import MeasurementModel
from coscale.stats.polychoric import (
    bvn_cdf,
    offdiag_index,
    ordinal_codes,
    polychoric,
    thresholds_from_counts,
)
from coscale.stats.wls import (
    WE_STEPS,
    categorical_omega,
    fit_wlsmv,
    fit_wlsmv_groups,
    group_statistics,
    invariance_ladder,
    ordinal_alpha,
    ordinal_omega,
    reorder_polychoric,
    scaled_shifted,
)
from tests.reference_values import num as _num

HERE = Path(__file__).parent
ROOT = HERE.parent
REF_ALL = json.loads((HERE / "reference" / "ordinal.json").read_text())
REF = REF_ALL["cases"]
HS_ORD_CSV = HERE / "data" / "holzinger1939_ordinal.csv"
EXAMPLE_CSV = ROOT / "examples" / "coproduction_survey.csv"

TOL = 1e-3
CHISQ_REL = 1e-5
POLY_TOL = 1e-5
TH_TOL = 1e-6
GAMMA_TOL = 1e-5
REL_TOL = 1e-4

#: case -> (lavaan call recorded in ordinal.json, fit_wlsmv options)
CASES = {
    "hs_ordinal": ("cfa(HS.model, data = HSord, ordered = TRUE, estimator = 'WLSMV')", {}),
    "hs_ordinal_stdlv": ("cfa(HS.model, data = HSord, ordered = TRUE, estimator = 'WLSMV', std.lv = TRUE)",
                         {"std_lv": True}),
    "example_ordinal": ("cfa(EX.model, data = EXc, ordered = TRUE, estimator = 'WLSMV')", {}),
    "example_ordinal_extra": ("cfa(EX.extra, data = EXc, ordered = TRUE, estimator = 'WLSMV')", {}),
}
FITTED = sorted(CASES)
EXACT = {"df", "npar", "ntotal", "baseline_df", "df_scaled", "baseline_df_scaled"}
CHISQ = {"chisq", "chisq_scaled", "baseline_chisq", "baseline_chisq_scaled"}
#: lavaan reports these as NA for categorical data; coscale does not compute them
NOT_COMPUTED = {"srmr_mplus", "srmr_mplus_nomean"}


@functools.lru_cache(maxsize=None)
def hs_ordinal() -> pd.DataFrame:
    return pd.read_csv(HS_ORD_CSV)


@functools.lru_cache(maxsize=None)
def example_items() -> pd.DataFrame:
    """The example survey as the R script prepares it (before listwise deletion)."""
    d = pd.read_csv(EXAMPLE_CSV)
    items = [f"{s}{k}" for s in ("msc", "mcc", "ppo", "pcc") for k in range(1, 6)]
    x = d[items].astype(float)
    x = x.where(~x.isin([9, -99]))
    x["ppo4"] = 6 - x["ppo4"]
    x["pcc3"] = 6 - x["pcc3"]
    return x


def data_of(case: str) -> pd.DataFrame:
    if case.startswith("hs"):
        return hs_ordinal()
    if case == "binary":
        return pd.DataFrame(REF["binary"]["rows"])
    return example_items()


@functools.lru_cache(maxsize=None)
def fitted(case: str):
    model = MeasurementModel.from_syntax(REF[case]["model"])
    return fit_wlsmv(model, data_of(case), **CASES[case][1])


@functools.lru_cache(maxsize=None)
def poly(case: str):
    items = REF[case]["polychoric"]["names"]
    return polychoric(data_of(case)[items].dropna(), nacov=True)


# ----------------------------------------------------------------- calls ----
@pytest.mark.parametrize("case", FITTED)
def test_reference_call(case):
    assert REF[case]["call"] == CASES[case][0]
    assert REF[case]["options"]["estimator"] == "DWLS"
    assert REF[case]["options"]["parameterization"] == "delta"
    assert REF[case]["options"]["test"] == "scaled.shifted"
    assert REF[case]["options"]["se"] == "robust.sem"


def test_ordinal_data_file_matches_the_cut_points():
    """tests/data/holzinger1939_ordinal.csv is the R cut of the continuous HS items."""
    hs = pd.read_csv(HERE / "data" / "holzinger1939.csv")
    breaks = {"x1": (4, 5, 6), "x2": (5.25, 6, 6.75), "x3": (1.25, 2, 3), "x4": (2, 3, 4), "x5": (3, 4.25, 5.25),
              "x6": (1.3, 2, 3), "x7": (3.3, 4, 5), "x8": (4.7, 5.5, 6.2), "x9": (4.5, 5.25, 6)}
    ordinal = hs_ordinal()
    for v, b in breaks.items():
        # R's cut(..., labels = FALSE): intervals closed on the right
        expected = 1 + np.searchsorted(np.array(b, float), hs[v].to_numpy(), side="left")
        np.testing.assert_array_equal(ordinal[v].to_numpy(), expected)


# ------------------------------------------------------ bivariate normal ----
def test_bvn_cdf_matches_pbivnorm():
    b = REF_ALL["bvn"]
    got = bvn_cdf(b["h"], b["k"], b["rho"])
    np.testing.assert_allclose(got, b["p"], rtol=0, atol=1e-13)


def test_bvn_cdf_limits_and_symmetry():
    assert bvn_cdf(np.inf, 0.3, 0.5) == pytest.approx(0.6179114221889527)
    assert bvn_cdf(-np.inf, 0.3, 0.5) == 0.0
    assert bvn_cdf(np.inf, np.inf, -0.2) == 1.0
    assert bvn_cdf(0.0, 0.0, 0.0) == pytest.approx(0.25, abs=1e-15)
    # P(X<=0, Y<=0) = 1/4 + asin(r) / (2 pi)
    for r in (-0.95, -0.5, 0.3, 0.93, 0.999):
        assert bvn_cdf(0.0, 0.0, r) == pytest.approx(0.25 + math.asin(r) / (2 * math.pi), abs=1e-14)
    h, k, r = 0.7, -1.2, 0.62
    assert bvn_cdf(h, k, r) == pytest.approx(bvn_cdf(k, h, r), abs=1e-15)


# ------------------------------------------------ thresholds, polychorics ----
POLY_CASES = ["hs_ordinal", "example_ordinal", "binary"]


@pytest.mark.parametrize("case", POLY_CASES)
def test_thresholds(case):
    ref = REF[case]
    assert ref["thresholds_call"] == "lavCor(data, ordered = TRUE, output = 'th')"
    res = poly(case)
    assert res.threshold_names == list(ref["thresholds"])
    np.testing.assert_allclose(res.threshold_vector, list(ref["thresholds"].values()), atol=TH_TOL, rtol=0)


@pytest.mark.parametrize("case", POLY_CASES)
def test_polychoric_correlations(case):
    ref = REF[case]
    assert ref["polychoric_call"] == "lavCor(data, ordered = TRUE)"
    res = poly(case)
    assert res.variables == ref["polychoric"]["names"]
    np.testing.assert_allclose(res.correlation, np.array(ref["polychoric"]["values"]), atol=POLY_TOL, rtol=0)
    assert res.n == len(data_of(case)[res.variables].dropna())


def test_binary_tables_with_empty_cells():
    """2 x 2 tables with an empty cell get lavaan's 0.5 correction (margins kept), others none."""
    res = poly("binary")
    assert ("b1", "b3") in res.zero_cell_pairs and ("b2", "c4") in res.zero_cell_pairs
    assert not res.warnings
    r = np.array(REF["binary"]["polychoric"]["values"])
    assert res.correlation[0, 2] == pytest.approx(r[0, 2], abs=POLY_TOL)  # corrected 2 x 2
    assert res.correlation[1, 3] == pytest.approx(r[1, 3], abs=POLY_TOL)  # 2 x 3, uncorrected


def test_nacov_full_matrix():
    """lavInspect(fit, 'gamma') of the HS case: all 63 x 63 entries."""
    g = REF["hs_ordinal"]["gamma"]
    res = poly("hs_ordinal")
    assert res.statistic_names == g["names"]
    np.testing.assert_allclose(res.nacov, np.array(g["values"]), atol=GAMMA_TOL, rtol=0)


def test_nacov_binary_and_three_category_items():
    """Items with different numbers of categories, 2 x 2 tables with a corrected empty cell."""
    g = REF["binary"]["gamma"]
    res = poly("binary")
    assert res.statistic_names == g["names"]
    np.testing.assert_allclose(res.nacov, np.array(g["values"]), atol=GAMMA_TOL, rtol=0)


def test_nacov_example_rows_and_diagonal():
    g = REF["example_ordinal"]["gamma"]
    res = poly("example_ordinal")
    assert res.statistic_names == g["names"]
    np.testing.assert_allclose(np.diag(res.nacov), g["diag"], atol=GAMMA_TOL, rtol=0)
    rows = np.array(g["rows_index"]) - 1
    np.testing.assert_allclose(res.nacov[rows], np.array(g["rows"]), atol=GAMMA_TOL, rtol=0)


def test_ordinal_codes_use_observed_levels():
    x = np.array([[1, 10], [4, 20], [2, 10], [4, 30], [1, 30]], float)
    codes, levels, counts = ordinal_codes(x)
    np.testing.assert_array_equal(codes[:, 0], [0, 2, 1, 2, 0])
    np.testing.assert_array_equal(levels[0], [1, 2, 4])
    np.testing.assert_array_equal(counts[1], [2, 1, 2])
    th = thresholds_from_counts(counts[0])
    assert th[0] == pytest.approx(-0.2533471031357997)  # qnorm(2/5)
    with pytest.raises(ValueError, match="missing"):
        ordinal_codes(np.array([[1.0, np.nan]]))


def test_constant_item_is_an_error():
    with pytest.raises(ValueError, match="one observed category"):
        polychoric(pd.DataFrame({"a": [1, 2, 3, 1], "b": [2, 2, 2, 2]}))


def test_offdiag_order_is_lavaan_vech():
    i, j = offdiag_index(4)
    assert list(zip(i, j)) == [(1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2)]


# ----------------------------------------------------------------- WLSMV ----
@pytest.mark.parametrize("case", FITTED)
def test_converges_without_warnings(case):
    fit = fitted(case)
    assert fit.converged
    assert not [w for w in fit.warnings if "listwise" not in w]
    assert fit.n == REF[case]["ntotal"]
    assert not REF[case]["warnings"]


@pytest.mark.parametrize("case", FITTED)
def test_fit_measures(case):
    fm_ref = REF[case]["fit_measures"]
    fm = fitted(case).fit_measures
    for name, value in fm_ref.items():
        key = name.replace(".", "_")
        if key in NOT_COMPUTED:
            assert value is None
            continue
        assert key in fm, key
        got, want = fm[key], _num(value)
        if key in EXACT:
            assert got == want, key
        elif key in CHISQ:
            assert got == pytest.approx(want, rel=CHISQ_REL), key
        elif math.isnan(want):
            assert math.isnan(got), key
        else:
            assert got == pytest.approx(want, abs=TOL), key


@pytest.mark.parametrize("case", FITTED)
def test_scaled_shifted_test(case):
    ref = REF[case]["test"]["scaled.shifted"]
    t = fitted(case).test["scaled_shifted"]
    assert t["scaling_factor"] == pytest.approx(ref["scaling.factor"], rel=1e-5)
    assert t["shift_parameter"] == pytest.approx(ref["shift.parameter"], rel=1e-5)
    assert t["trace_UGamma"] == pytest.approx(ref["trace.UGamma"], rel=1e-5)
    assert t["trace_UGamma2"] == pytest.approx(ref["trace.UGamma2"], rel=1e-5)
    base = REF[case]["baseline_test"]["scaled.shifted"]
    b = fitted(case).test["baseline_scaled_shifted"]
    assert b["trace_UGamma"] == pytest.approx(base["trace.UGamma"], rel=1e-6)
    assert b["trace_UGamma2"] == pytest.approx(base["trace.UGamma2"], rel=1e-5)
    assert b["shift_parameter"] == pytest.approx(base["shift.parameter"], rel=1e-5)
    assert fitted(case).fit_measures["chisq_shift_parameters"] == pytest.approx(ref["shift.parameter"], rel=1e-5)


@pytest.mark.parametrize("case", FITTED)
def test_robust_cfi_rmsea_ingredients(case):
    """lav_fit_catml_dwls: the ML discrepancy at the DWLS estimates and its scaling."""
    ref = REF[case]["catml_dwls"]
    got = fitted(case).test["catml"]
    for key in ("XX3", "c.hat3", "XX3.scaled", "XX3.null", "c.hat3.null"):
        assert got[key.replace(".", "_")] == pytest.approx(ref[key], rel=1e-5), key
    assert got["df3"] == ref["df3"]
    assert got["df3_null"] == ref["df3.null"]


@pytest.mark.parametrize("case", FITTED)
def test_estimates(case):
    ref_rows = REF[case]["estimates"]
    fit = fitted(case)
    got = {(r["lhs"], r["op"], r["rhs"]): r for r in fit.estimates}
    assert len(got) == len(ref_rows)
    for ref in ref_rows:
        key = (ref["lhs"], ref["op"], ref["rhs"])
        assert key in got, key
        row = got[key]
        assert row["est"] == pytest.approx(ref["est"], abs=TOL), key
        assert row["se"] == pytest.approx(_num(ref["se"]), abs=TOL), key
        assert row["std_all"] == pytest.approx(_num(ref["std.all"]), abs=TOL), key
        assert row["std_lv"] == pytest.approx(_num(ref["std.lv"]), abs=TOL), key
        if ref["z"] is not None:
            assert row["z"] == pytest.approx(ref["z"], rel=1e-3), key


@pytest.mark.parametrize("case", FITTED)
def test_implied_correlations_and_thresholds(case):
    fit = fitted(case)
    imp = REF[case]["implied"]
    assert fit.variables == imp["cor"]["names"]
    np.testing.assert_allclose(fit.implied, np.array(imp["cor"]["values"]), atol=1e-5, rtol=0)
    np.testing.assert_allclose(fit.thresholds, list(imp["th"].values()), atol=1e-6, rtol=0)
    assert fit.threshold_names == list(imp["th"])


def test_fit_from_precomputed_statistics_in_another_order():
    """A PolychoricResult in any item order gives the same fit as the raw data."""
    model = MeasurementModel.from_syntax(REF["hs_ordinal"]["model"])
    data = hs_ordinal()
    shuffled = ["x9", "x3", "x1", "x7", "x5", "x2", "x8", "x4", "x6"]
    stats_ = polychoric(data[shuffled], nacov=True)
    back = reorder_polychoric(stats_, model.observed)
    np.testing.assert_allclose(back.nacov, poly("hs_ordinal").nacov, atol=1e-10)
    fit = fit_wlsmv(model, stats_)
    ref = fitted("hs_ordinal")
    assert fit.fit_measures["chisq_scaled"] == pytest.approx(ref.fit_measures["chisq_scaled"], rel=1e-8)
    np.testing.assert_allclose(fit.x, ref.x, atol=1e-7)


def test_scaled_shifted_formula():
    out = scaled_shifted(50.0, 20, trace_ug=15.0, trace_ug2=12.0)
    a = math.sqrt(20 / 12.0)
    assert out["stat"] == pytest.approx(a * 50 + 20 - a * 15)
    assert out["scaling_factor"] == pytest.approx(1 / a)
    assert out["shift_parameter"] == pytest.approx(20 - a * 15)


def test_listwise_deletion_is_reported():
    fit = fitted("example_ordinal")
    dropped = len(example_items()) - fit.n
    assert dropped > 0
    assert any(f"{dropped} rows" in w for w in fit.warnings)


# ----------------------------------------------------------- reliability ----
@pytest.mark.parametrize("case", FITTED)
def test_categorical_omega(case):
    ref = REF[case]
    assert ref["compRelSEM_call"].startswith("semTools::compRelSEM(fit)")
    got = ordinal_omega(fitted(case))
    assert set(got) == set(ref["compRelSEM"])
    for f, v in ref["compRelSEM"].items():
        assert got[f] == pytest.approx(v, abs=REL_TOL), f
    latent = ordinal_omega(fitted(case), ord_scale=False)
    for f, v in ref["compRelSEM_latent"].items():
        assert latent[f] == pytest.approx(v, abs=REL_TOL), f


@pytest.mark.parametrize("case", FITTED)
def test_ordinal_alpha(case):
    ref = REF[case]
    fit = fitted(case)
    r = fit.polychoric.correlation
    for f, items in ref["scales"].items():
        idx = [fit.variables.index(v) for v in items]
        assert ordinal_alpha(r[np.ix_(idx, idx)]) == pytest.approx(ref["ordinal_alpha"][f], abs=REL_TOL), f


def test_categorical_omega_of_perfect_reliability_is_one():
    """With T = R (no error), the categorical omega is 1 for any thresholds."""
    th = [np.array([-1.0, 0.0, 1.2]), np.array([-0.5, 0.4]), np.array([0.1])]
    r = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]])
    assert categorical_omega(th, r, r) == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------ multi-group invariance ----
LADDERS = {"hs_we": "school", "example_we": "role"}
GROUP_EQUAL = {step: WE_STEPS[1 : k + 1] for k, step in enumerate(WE_STEPS)}
GROUP_CASES = [f"{prefix}_{step}" for prefix in LADDERS for step in WE_STEPS]


def group_data(prefix: str) -> pd.DataFrame:
    if prefix == "hs_we":
        return hs_ordinal()
    frame = example_items().copy()
    frame["role"] = pd.read_csv(EXAMPLE_CSV)["role"]
    return frame


@functools.lru_cache(maxsize=None)
def ladder(prefix: str):
    model = MeasurementModel.from_syntax(REF[f"{prefix}_configural"]["model"])
    return invariance_ladder(model, group_data(prefix), LADDERS[prefix])


def group_fit(case: str):
    prefix, step = case.rsplit("_", 1)
    return ladder(prefix)["fits"][step]


@pytest.mark.parametrize("case", GROUP_CASES)
def test_group_reference_call(case):
    prefix, step = case.rsplit("_", 1)
    call = REF[case]["call"]
    assert "ID.cat = 'Wu.Estabrook.2016'" in call and "ID.fac = 'std.lv'" in call
    assert "parameterization = 'delta'" in call and "estimator = 'WLSMV'" in call
    ge = GROUP_EQUAL[step]
    quoted = [f'"{k}"' for k in ge] or ['""']
    deparsed = quoted[0] if len(quoted) == 1 else "c(" + ", ".join(quoted) + ")"  # R's deparse()
    assert f"group.equal = {deparsed})" in call
    assert REF[case]["group"] == LADDERS[prefix]


@pytest.mark.parametrize("case", GROUP_CASES)
def test_group_fit_measures(case):
    fit = group_fit(case)
    assert fit.converged
    assert fit.group_labels == REF[case]["group_labels"]
    assert fit.nobs == REF[case]["nobs"]
    fm = fit.fit_measures
    for name, value in REF[case]["fit_measures"].items():
        key = name.replace(".", "_")
        if key in NOT_COMPUTED:
            continue
        got, want = fm[key], _num(value)
        if key in EXACT:
            assert got == want, key
        elif key in CHISQ:
            assert got == pytest.approx(want, rel=CHISQ_REL), key
        elif math.isnan(want):
            assert math.isnan(got), key  # e.g. .robust indices once thresholds are constrained
        else:
            assert got == pytest.approx(want, abs=TOL), key


@pytest.mark.parametrize("case", GROUP_CASES)
def test_group_estimates(case):
    fit = group_fit(case)
    labels = REF[case]["group_labels"]
    got = {(r["lhs"], r["op"], r["rhs"], r["group"]): r for r in fit.estimates}
    ref_rows = REF[case]["estimates"]
    assert len(got) == len(ref_rows)
    for ref in ref_rows:
        key = (ref["lhs"], ref["op"], ref["rhs"], labels[ref["group"] - 1])
        row = got[key]
        assert row["est"] == pytest.approx(ref["est"], abs=TOL), key
        assert row["se"] == pytest.approx(_num(ref["se"]), abs=TOL), key
        assert row["std_all"] == pytest.approx(_num(ref["std.all"]), abs=TOL), key
        assert row["std_lv"] == pytest.approx(_num(ref["std.lv"]), abs=TOL), key
        assert row["free"] == (ref["se"] is not None and ref["se"] > 0), key


@pytest.mark.parametrize("prefix", sorted(LADDERS))
def test_group_sample_statistics(prefix):
    """Per-group polychorics, thresholds and NACOV diagonals (lavInspect sampstat / gamma)."""
    ref = REF[f"{prefix}_configural"]
    fit = group_fit(f"{prefix}_configural")
    for label, st in zip(fit.group_labels, fit.polychoric):
        np.testing.assert_allclose(st.correlation, np.array(ref["sampstat"][label]["cor"]["values"]),
                                   atol=POLY_TOL, rtol=0)
        np.testing.assert_allclose(st.threshold_vector, list(ref["sampstat"][label]["th"].values()),
                                   atol=TH_TOL, rtol=0)
        np.testing.assert_allclose(np.diag(st.nacov), ref["gamma_diag"][label], atol=GAMMA_TOL, rtol=0)


@pytest.mark.parametrize("prefix", sorted(LADDERS))
def test_scaled_difference_tests(prefix):
    rows = REF[f"{prefix}_lrt"]["table"]
    assert REF[f"{prefix}_lrt"]["call"].startswith("lavTestLRT(configural, thresholds, loadings, intercepts)")
    tests = ladder(prefix)["tests"]
    for row, step in zip(rows[1:], WE_STEPS[1:]):
        t = tests[step]
        assert t["df_diff"] == row["Df diff"], step
        assert t["chisq_diff"] == pytest.approx(row["Chisq diff"], abs=TOL), step
        assert t["pvalue"] == pytest.approx(row["Pr(>Chisq)"], abs=TOL), step


def test_planted_intercept_is_found():
    """The example's planted non-invariant intercept (ppo3) makes the intercept step fail."""
    tests = ladder("example_we")["tests"]
    assert tests["thresholds"]["pvalue"] > 0.05 and tests["loadings"]["pvalue"] > 0.05
    assert tests["intercepts"]["pvalue"] < 1e-10


def test_group_statistics_reject_unequal_categories():
    frame = pd.DataFrame({"a": [1, 2, 3, 1, 2, 3, 1, 2], "b": [1, 2, 3, 2, 1, 2, 1, 2],
                          "c": [1, 2, 3, 3, 2, 1, 3, 2], "g": ["x"] * 4 + ["y"] * 4})
    with pytest.raises(ValueError, match="same categories"):
        group_statistics(frame, ["a", "b", "c"], "g")


def test_group_equal_must_follow_the_ladder():
    model = MeasurementModel.from_syntax(REF["hs_we_configural"]["model"])
    with pytest.raises(ValueError, match="thresholds first"):
        fit_wlsmv_groups(model, hs_ordinal(), "school", group_equal=("loadings",))
    with pytest.raises(ValueError, match="supports"):
        fit_wlsmv_groups(model, hs_ordinal(), "school", group_equal=("residuals",))
