"""Ordinal items through the public API: WLSMV in validate and invariance.

Reference values: tests/reference/ordinal.json, made by tests/reference/ordinal.R
(lavaan 0.6.14, semTools 0.5.6) on the Holzinger-Swineford items cut into 4 categories.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

import coscale
from coscale.errors import InputError

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "ordinal.json").read_text())["cases"]
HS4 = pd.read_csv(HERE / "data" / "holzinger1939_ordinal.csv")
HS_SCALES = str(HERE / "data" / "holzinger_scales.yaml")


@pytest.fixture(scope="module")
def validated():
    return coscale.validate(HS4, HS_SCALES)


def test_four_categories_choose_wlsmv(validated):
    assert validated.estimation["estimator"] == "WLSMV" and validated.cfa.estimator == "WLSMV"
    assert "ordinal" in validated.estimation["reason"]


def test_wlsmv_fit_equals_lavaan(validated):
    """cfa(HS.model, HS4, ordered = TRUE, estimator = "WLSMV"): fitMeasures (hs_ordinal)."""
    ref = REF["hs_ordinal"]["fit_measures"]
    for key in ("chisq", "df", "chisq_scaled", "cfi_scaled", "tli_scaled", "rmsea_scaled", "cfi_robust",
                "rmsea_robust", "srmr"):
        assert validated.cfa.fit[key] == pytest.approx(ref[key.replace("_", ".")], abs=1e-3), key


ONE = json.loads((HERE / "reference" / "ordinal_onefactor.json").read_text())["cases"]


def test_ordinal_alpha_and_omega_equal_R_beside_raw(validated):
    """Per scale: compRelSEM(cfa(<one factor>, ordered = TRUE, estimator = "WLSMV")) and
    psych::alpha(lavCor(items, ordered = TRUE)) (ordinal_onefactor.R); tolerance 1e-3 / 1e-6."""
    for s in validated.scales:
        assert s.reliability.omega_ordinal == pytest.approx(ONE[s.name]["omega_ordinal"], abs=1e-3)
        assert s.reliability.alpha_ordinal == pytest.approx(ONE[s.name]["alpha_ordinal"], abs=1e-6)
        assert s.reliability.omega is not None  # the raw (ML) omega stays beside them


def test_ordinal_verdicts_are_labelled(validated):
    labels = [v.criterion for v in validated.verdicts if v.topic == "reliability"]
    assert any(c.startswith("Ordinal alpha") for c in labels)
    assert any(c.startswith("Ordinal omega") for c in labels)
    fit = [v.criterion for v in validated.verdicts if v.topic == "fit"]
    assert fit[0].startswith("CFI (robust)")


def test_ordinal_invariance_ladder_equals_lavaan():
    """Wu & Estabrook ladder by school: lavTestLRT(configural, thresholds, loadings, intercepts) (hs_we_lrt)."""
    res = coscale.invariance(HS4, HS_SCALES, group="school", groups=["Pasteur", "Grant-White"])
    table = REF["hs_we_lrt"]["table"]
    got = {c["model"]: c for c in res.comparisons}
    for name, row in zip(("thresholds", "metric", "scalar"), table[1:]):
        assert got[name]["chisq_diff"] == pytest.approx(row["Chisq diff"], abs=1e-3)
        assert got[name]["df_diff"] == row["Df diff"]
    assert res.accepted["metric"] == "metric" and res.accepted["scalar"] == ""
    assert any("not searched for ordinal" in w for w in res.warnings)


def test_ordinal_latent_means_of_the_intercepts_model():
    """Factor means of group 2 in the Wu & Estabrook intercepts model: alpha.k.g2 (hs_we_intercepts)."""
    from coscale.stats import invariance as inv
    from coscale.stats.model import MeasurementModel

    model = MeasurementModel.from_syntax(REF["hs_ordinal"]["model"])
    run = inv.run_ordinal_ladder(model, HS4, "school", ["Pasteur", "Grant-White"], inv.CRITERIA["chen2007"])
    means = inv.ordinal_latent_means(run.model("scalar"))
    ref = {r["lhs"]: r for r in REF["hs_we_intercepts"]["estimates"] if r["op"] == "~1" and r["group"] == 2
           and r["lhs"] in ("visual", "textual", "speed")}
    assert len(means) == 3
    for row in means:
        assert row["group"] == "Grant-White"
        assert row["est"] == pytest.approx(ref[row["factor"]]["est"], abs=1e-3)
        assert row["se"] == pytest.approx(ref[row["factor"]]["se"], abs=1e-3)


def test_fiml_with_ordinal_is_refused():
    with pytest.raises(InputError, match="--missing fiml with ordinal"):
        coscale.validate(HS4, HS_SCALES, missing="fiml")
