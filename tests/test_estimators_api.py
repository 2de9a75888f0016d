"""Estimators through the public API: MLR/MLM in validate and invariance, and the automatic choice.

Reference values: tests/reference/robust.json, made by tests/reference/robust.R (lavaan 0.6.14).
"""

import json
from pathlib import Path

import pandas as pd
import pytest

import coscale
from coscale.errors import InputError

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "robust.json").read_text())["cases"]
HS = pd.read_csv(HERE / "data" / "holzinger1939.csv")
HS_SCALES = str(HERE / "data" / "holzinger_scales.yaml")
SCALED = ("chisq_scaled", "chisq_scaling_factor", "cfi_scaled", "tli_scaled", "rmsea_scaled",
          "cfi_robust", "tli_robust", "rmsea_robust")


@pytest.mark.parametrize("estimator", ["MLR", "MLM"])
def test_validate_robust_fit_and_ses(estimator):
    """cfa(HS.model, HS, estimator = "MLR"/"MLM"): fitMeasures and robust SEs (robust.R, hs3_mlr/hs3_mlm)."""
    ref = REF[f"hs3_{estimator.lower()}"]
    res = coscale.validate(HS, HS_SCALES, estimator=estimator, missing="listwise")
    assert res.cfa.estimator == estimator
    for key in SCALED + ("chisq", "df"):
        assert res.cfa.fit[key] == pytest.approx(ref["fit_measures"][key.replace("_", ".")], abs=1e-3), key
    for row in ref["estimates"]:
        if row["op"] not in ("=~", "~~"):
            continue
        got = [e for e in res.cfa.estimates if (e["lhs"], e["op"], e["rhs"]) == (row["lhs"], row["op"], row["rhs"])][0]
        assert got["se"] == pytest.approx(row["se"], abs=1e-3), (row["lhs"], row["op"], row["rhs"])


def test_validate_verdicts_read_robust_indices():
    """With MLR the fit verdicts judge the robust CFI/TLI/RMSEA (Brosseau-Liard & Savalei 2014)."""
    res = coscale.validate(HS, HS_SCALES, estimator="MLR", missing="listwise")
    cfi = [v for v in res.verdicts if v.topic == "fit" and v.criterion.startswith("CFI")][0]
    assert "robust" in cfi.criterion
    assert cfi.value == pytest.approx(REF["hs3_mlr"]["fit_measures"]["cfi.robust"], abs=1e-3)


def test_invariance_mlr_uses_scaled_differences():
    """lavTestLRT(configural, metric, scalar) on MLR fits: Satorra-Bentler (2001) scaled differences."""
    rows = {r["model"]: r for r in REF["hs_school_mlr"]["lrt"]}
    res = coscale.invariance(HS, HS_SCALES, group="school", groups=["Pasteur", "Grant-White"],
                             estimator="MLR", missing="listwise", criteria="chisq", partial=False)
    got = {c["model"]: c for c in res.comparisons}
    for name in ("metric", "scalar"):
        assert got[name]["chisq_diff"] == pytest.approx(rows[name]["Chisq diff"], abs=1e-3)
        assert got[name]["pvalue"] == pytest.approx(rows[name]["Pr(>Chisq)"], abs=1e-3)
    cfi = {m.name: m.fit["cfi_robust"] for m in res.models}
    assert got["metric"]["delta_cfi"] == pytest.approx(cfi["metric"] - cfi["configural"], abs=1e-12)
    assert "robust" in [v for v in res.verdicts if v.subject == "metric"][0].message


def test_auto_picks_mlr_for_non_normal_items_and_says_why():
    """HS: an item with |excess kurtosis| > 1, so robust ML (Rhemtulla et al. 2012)."""
    res = coscale.validate(HS, HS_SCALES)
    assert res.estimation["estimator"] == "MLR" and res.cfa.estimator == "MLR"
    assert "non-normality" in res.estimation["reason"] and "Rhemtulla" in res.estimation["reason"]


def test_auto_picks_ml_for_the_example_and_reports_missing_answers():
    res = coscale.validate(pd.read_csv(HERE.parent / "examples" / "coproduction_survey.csv"), "coproduction")
    assert res.estimation["estimator"] == "ML"
    assert res.estimation["missing_answers"] > 0
    assert "missing" in res.estimation["reason"]


def test_auto_with_four_categories_names_the_ordinal_rule():
    four = HS.copy()
    for c in [f"x{i}" for i in range(1, 10)]:
        four[c] = pd.qcut(four[c], 4, labels=False) + 1
    res = coscale.validate(four, HS_SCALES)
    assert "4 answer categories" in res.estimation["reason"]


def test_unknown_estimator_is_bad_input():
    with pytest.raises(InputError, match="--estimator ULS"):
        coscale.validate(HS, HS_SCALES, estimator="ULS")


FIML = json.loads((HERE / "reference" / "fiml.json").read_text())["cases"]
EXAMPLE = HERE.parent / "examples" / "coproduction_survey.csv"


def test_auto_uses_fiml_when_answers_are_missing():
    """The example has missing answers: auto fits by FIML, equal to cfa(..., missing = "ml") (fiml.R, example)."""
    ref = FIML["example"]["fit_measures"]
    res = coscale.validate(pd.read_csv(EXAMPLE), "coproduction")
    assert res.estimation["missing"] == "fiml" and res.cfa.missing == "fiml"
    assert "FIML" in res.estimation["reason"]
    assert res.cfa.n == FIML["example"]["ntotal"]
    for key in ("chisq", "df", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
        assert res.cfa.fit[key] == pytest.approx(ref[key], abs=1e-3), key


def test_fiml_invariance_finds_planted_item():
    """Under FIML (all 700 respondents) the search still frees the ppo3 intercept first."""
    res = coscale.invariance(pd.read_csv(EXAMPLE), "coproduction", group="role", missing="fiml")
    assert [g["n"] for g in res.groups] == [400, 300]
    assert res.partial[0]["lavaan_name"] == "ppo3~1"


def test_robust_estimator_with_fiml_is_refused():
    with pytest.raises(InputError, match="--estimator MLM with --missing fiml"):
        coscale.validate(pd.read_csv(EXAMPLE), "coproduction", estimator="MLM", missing="fiml")


RFIML = json.loads((HERE / "reference" / "robust_fiml.json").read_text())["cases"]


def test_auto_uses_mlr_with_fiml_for_skewed_items_with_missing_answers():
    """HS with missing values: cfa(HS.model, data, estimator = "MLR", missing = "ml") (robust_fiml.R)."""
    case = RFIML["hs_missing_mlr"]
    assert case["call"] == "cfa(HS.model, data = HSM, estimator = 'MLR', missing = 'ml')"
    ref = case["fit_measures"]
    data = pd.read_csv(HERE / "data" / "holzinger1939_missing.csv")
    res = coscale.validate(data, HS_SCALES)
    assert (res.cfa.estimator, res.cfa.missing) == ("MLR", "fiml")
    for key in ("chisq", "chisq_scaled", "cfi_robust", "tli_robust", "rmsea_robust", "srmr"):
        assert res.cfa.fit[key] == pytest.approx(ref[key.replace("_", ".")], abs=1e-3), key
