"""The invariance workflow (ladder, decisions, partial search, latent means, dMACS) against lavaan.

Reference values: tests/reference/invariance.json, made by tests/reference/invariance.R
(lavaan 0.6.14) on the Holzinger-Swineford (1939) data by school.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import coscale
from coscale.stats.invariance import CRITERIA, dmacs_from_fit

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "invariance.json").read_text())["cases"]
HS = pd.read_csv(HERE / "data" / "holzinger1939.csv")
HS_SCALES = str(HERE / "data" / "holzinger_scales.yaml")
ORDER = ["Pasteur", "Grant-White"]


@pytest.fixture(scope="module")
def chen():
    return coscale.invariance(HS, HS_SCALES, group="school", groups=ORDER, criteria="chen2007", estimator="ML", missing="listwise")


@pytest.fixture(scope="module")
def cheung():
    return coscale.invariance(HS, HS_SCALES, group="school", groups=ORDER, criteria="cheung-rensvold2002", estimator="ML", missing="listwise")


def test_ladder_chisq_matches_lavaan(chen):
    """chisq/df and fit of each model: fitMeasures(cfa(HS.model, HS, group = "school", group.equal = ...)).

    (strict is fitted on top of the partial scalar model here, so it is compared in
    tests/test_invariance_fit.py instead.)
    """
    for name in ("configural", "metric", "scalar"):
        ref = REF["hs_school"]["models"][name]["fit_measures"]
        fit = chen.model(name).fit
        assert fit["chisq"] == pytest.approx(ref["chisq"], abs=1e-3)
        assert fit["df"] == ref["df"]
        for key in ("cfi", "tli", "rmsea", "srmr", "aic", "bic"):
            assert fit[key] == pytest.approx(ref[key], abs=1e-3), key


def test_comparisons_match_lavTestLRT(chen):
    """Chisq diff, Df diff and Pr(>Chisq): lavTestLRT(configural, metric, scalar, strict)."""
    table = {row["model"]: row for row in REF["hs_school"]["lrt"]["table"]}
    got = {c["model"]: c for c in chen.comparisons}
    for name in ("metric", "scalar"):
        assert got[name]["chisq_diff"] == pytest.approx(table[name]["Chisq diff"], abs=1e-3)
        assert got[name]["df_diff"] == table[name]["Df diff"]
        assert got[name]["pvalue"] == pytest.approx(table[name]["Pr(>Chisq)"], rel=1e-4)


def test_chen_decisions(chen):
    """Chen (2007): metric holds (dCFI -.003); full scalar fails (dCFI -.039, dRMSEA +.015)."""
    got = {c["model"]: c for c in chen.comparisons}
    assert got["metric"]["holds"] is True
    assert got["scalar"]["holds"] is False
    assert got["scalar"]["delta_cfi"] == pytest.approx(0.8825 - 0.9209, abs=5e-4)
    # the search frees the intercept of x3 first (largest lavTestScore statistic)
    assert chen.partial[0]["item"] == "x3"
    assert chen.partial[0]["parameter"] == "intercept"
    assert chen.accepted["scalar"] == "scalar (partial)"


def test_first_freed_statistic_equals_lavTestScore(chen):
    """X2 of x3~1 in lavTestScore(scalar)$uni (two groups: one constraint per parameter)."""
    uni = REF["hs_school"]["score_scalar"]["uni"]
    ref = max(uni, key=lambda r: r["X2"])
    assert (ref["param_lhs"], ref["param_op"]) == ("x3", "~1")
    assert chen.partial[0]["statistic"] == pytest.approx(ref["X2"], abs=1e-3)
    assert chen.partial[0]["df"] == 1


def test_cheung_rensvold_frees_x3_then_x7_and_matches_lavaan_partial(cheung):
    """Partial scalar with x3~1 and x7~1 free: cfa(..., group.partial = c("x3~1", "x7~1"))."""
    assert [p["lavaan_name"] for p in cheung.partial] == ["x3~1", "x7~1"]
    ref = REF["hs_school_partial_scalar"]
    fit = cheung.model("scalar (partial)").fit
    assert fit["chisq"] == pytest.approx(ref["fit_measures"]["chisq"], abs=1e-3)
    assert fit["df"] == ref["fit_measures"]["df"]
    assert cheung.latent_means_model == "scalar (partial)"
    lm = {r["factor"]: r for r in cheung.latent_means}
    for row in ref["latent_means_group2"]:
        got = lm[row["lhs"]]
        assert got["group"] == "Grant-White" and got["reference"] == "Pasteur"
        assert got["est"] == pytest.approx(row["est"], abs=1e-3)
        assert got["se"] == pytest.approx(row["se"], abs=1e-3)
        assert got["pvalue"] == pytest.approx(row["pvalue"], abs=1e-3)
        assert got["std_lv"] == pytest.approx(row["std.lv"], abs=1e-3)


def test_holm_thresholds_increase(cheung):
    """Holm: the k-th freed constraint is tested at alpha / (m - k + 1), m = 9 intercepts."""
    assert cheung.partial[0]["threshold"] == pytest.approx(0.05 / 9)
    assert cheung.partial[1]["threshold"] == pytest.approx(0.05 / 8)


def test_full_scalar_latent_means_match_lavaan():
    """Latent means of group 2 in the full scalar model (criteria chisq, no search):
    parameterEstimates(cfa(..., group.equal = c("loadings", "intercepts"))), rows f ~1, group 2."""
    res = coscale.invariance(HS, HS_SCALES, group="school", groups=ORDER, criteria="chen2007", partial=False, estimator="ML", missing="listwise")
    # without the search the scalar step fails and no latent means are reported ...
    assert res.accepted["scalar"] == ""
    assert res.latent_means == []
    assert any("latent means are not compared" in w for w in res.warnings)
    # ... but the scalar model's own estimates are there and equal lavaan's
    est = {(e["lhs"], e["group"]): e for e in res.model("scalar").estimates if e["op"] == "~1" and e["rhs"] == ""}
    for row in REF["hs_school"]["latent_means_scalar_group2"]:
        got = est[(row["lhs"], "Grant-White")]
        assert got["est"] == pytest.approx(row["est"], abs=1e-3)
        assert got["se"] == pytest.approx(row["se"], abs=1e-3)


def test_std_lv_ladder_matches_lavaan():
    """std.lv = TRUE ladder: fitMeasures and latent means (cfa(..., std.lv = TRUE))."""
    res = coscale.invariance(HS, HS_SCALES, group="school", groups=ORDER, criteria="chisq", std_lv=True, partial=False, estimator="ML", missing="listwise")
    for name in ("configural", "metric", "scalar"):
        ref = REF["hs_school_stdlv"]["models"][name]["fit_measures"]
        assert res.model(name).fit["chisq"] == pytest.approx(ref["chisq"], abs=1e-3)
        assert res.model(name).fit["df"] == ref["df"]
    est = {(e["lhs"], e["group"]): e for e in res.model("scalar").estimates if e["op"] == "~1" and e["rhs"] == ""}
    for row in REF["hs_school_stdlv"]["latent_means_scalar_group2"]:
        assert est[(row["lhs"], "Grant-White")]["est"] == pytest.approx(row["est"], abs=1e-3)
        assert est[(row["lhs"], "Grant-White")]["se"] == pytest.approx(row["se"], abs=1e-3)


def test_four_groups_ladder_matches_lavaan():
    """Four groups (school x age): configural/metric/scalar chisq, df; HS4 in invariance.R."""
    ref = REF["hs_school_age4"]
    df = HS.copy()
    df["school_age"] = df["school"] + np.where(df["ageyr"] >= 13, "_13plus", "_12orless")
    res = coscale.invariance(df, HS_SCALES, group="school_age", groups=ref["group_labels"], criteria="chisq", partial=False, estimator="ML", missing="listwise")
    assert [g["n"] for g in res.groups] == ref["group_sizes"]
    for name in ("configural", "metric", "scalar"):
        fm = ref["models"][name]["fit_measures"]
        if name not in [m.name for m in res.models]:
            continue
        got = res.model(name).fit
        for key in ("chisq", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
            assert got[key] == pytest.approx(fm[key], abs=1e-3), (name, key)
        assert got["df"] == fm["df"]


def test_release_test_with_four_groups_has_g_minus_1_df():
    """With G groups a parameter's release is tested in all groups beyond the first: df = G - 1."""
    df = HS.copy()
    df["school_age"] = df["school"] + np.where(df["ageyr"] >= 13, "_13plus", "_12orless")
    res = coscale.invariance(df, HS_SCALES, group="school_age", criteria="cheung-rensvold2002", estimator="ML", missing="listwise")
    assert res.partial, "the scalar step fails for these four groups, so something is freed"
    assert all(p["df"] == 3 for p in res.partial)


def test_dmacs_formula_by_hand():
    """dMACS (Nye & Drasgow 2011) from group-specific parameters, checked against the formula."""
    from coscale.stats.estimate import fit_ml
    from coscale.stats.model import MeasurementModel, build_partable
    from coscale.stats.moments import listwise_moments

    model = MeasurementModel.from_syntax("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9")
    moments = listwise_moments(HS, model.observed, HS["school"], ORDER)
    pt = build_partable(model, 2, group_equal=("loadings", "intercepts"), group_partial=["x3~1", "visual=~x3"])
    fit = fit_ml(pt, moments)
    value, signed = dmacs_from_fit(fit, "x3", "visual", 1)
    est = fit.estimates()
    get = lambda lhs, op, rhs, g: est[[i for i in range(len(est)) if (pt.lhs[i], pt.op[i], pt.rhs[i], pt.group[i]) == (lhs, op, rhs, g)][0]]
    dnu = get("x3", "~1", "", 1) - get("x3", "~1", "", 0)
    dlam = get("visual", "=~", "x3", 1) - get("visual", "=~", "x3", 0)
    kappa, phi = get("visual", "~1", "", 1), get("visual", "~~", "visual", 1)
    x3_0 = HS.loc[HS.school == "Pasteur", "x3"].var()
    x3_1 = HS.loc[HS.school == "Grant-White", "x3"].var()
    n0, n1 = (HS.school == "Pasteur").sum(), (HS.school == "Grant-White").sum()
    sd = np.sqrt(((n0 - 1) * x3_0 + (n1 - 1) * x3_1) / (n0 + n1 - 2))
    assert signed == pytest.approx(dnu + dlam * kappa, abs=1e-12)
    assert value == pytest.approx(np.sqrt((dnu + dlam * kappa) ** 2 + dlam**2 * phi) / sd, abs=1e-12)
    assert value > 0.3  # x3 is the item lavTestScore flags


def test_dmacs_flags_freed_item(chen):
    """Every item gets a dMACS; the freed x3 is flagged and has the largest value."""
    rows = {r["item"]: r for r in chen.dmacs}
    assert set(rows) == {f"x{i}" for i in range(1, 10)}
    assert rows["x3"]["flagged"] is True
    assert max(rows.values(), key=lambda r: r["dmacs"])["item"] == "x3"


@pytest.mark.parametrize(
    "name,step,dcfi,drmsea,dsrmr,p,expected",
    [
        ("chen2007", "metric", -0.011, 0.016, 0.0, 0.5, False),
        ("chen2007", "metric", -0.011, 0.010, 0.020, 0.5, True),  # SRMR cut .030 for metric
        ("chen2007", "scalar", -0.011, 0.010, 0.011, 0.5, False),  # SRMR cut .010 for scalar
        ("chen2007", "scalar", -0.009, 0.050, 0.050, 0.0, True),  # CFI must drop too
        ("cheung-rensvold2002", "scalar", -0.0101, 0.0, 0.0, 0.5, False),
        ("cheung-rensvold2002", "scalar", -0.0099, 0.1, 0.1, 0.0, True),
        ("chisq", "metric", 0.0, 0.0, 0.0, 0.049, False),
        ("chisq", "metric", -0.5, 0.5, 0.5, 0.051, True),
    ],
)
def test_criteria(name, step, dcfi, drmsea, dsrmr, p, expected):
    """The decision rules as published (Chen 2007, Table 6; Cheung & Rensvold 2002)."""
    assert CRITERIA[name].holds(step, dcfi, drmsea, dsrmr, p) is expected


def test_json_round_trip_and_schema(chen):
    """The JSON has the documented fields and reads back; a wrong kind is refused."""
    from coscale.errors import InputError
    from coscale.results import InvarianceResult

    doc = json.loads(chen.to_json())
    assert [g["name"] for g in doc["groups"]] == ORDER
    assert {m["name"] for m in doc["models"]} >= {"configural", "metric", "scalar", "scalar (partial)"}
    for key in ("model", "against", "chisq_diff", "df_diff", "pvalue", "delta_cfi", "delta_rmsea", "delta_srmr", "holds"):
        assert key in doc["comparisons"][0]
    for key in ("item", "parameter", "group", "statistic"):
        assert key in doc["partial"][0]
    for key in ("factor", "group", "est", "se", "pvalue", "d"):
        assert key in doc["latent_means"][0]
    back = InvarianceResult.from_dict(doc)
    assert back.to_json() == chen.to_json()
    doc["kind"] = "validate"
    with pytest.raises(InputError, match="not a coscale invariance result"):
        InvarianceResult.from_dict(doc)


def test_verdict_mentions_freed_item(chen):
    scalar = [v for v in chen.verdicts if v.topic == "invariance" and v.subject == "scalar"][0]
    assert scalar.holds is True
    assert "partially" in scalar.message and "intercept of x3" in scalar.message
