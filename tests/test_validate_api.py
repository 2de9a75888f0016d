"""``coscale.validate`` on the example survey, against lavaan 0.6.14 / semTools 0.5.6 / psych 2.2.9.

Reference values: ``tests/reference/cfa.json`` (``tests/reference/cfa.R``),
cases ``example`` (the whole instrument: four 5-item scales, one factor each)
and ``example_onefactor_<scale>`` (one scale at a time). In the R calls below
``EX`` is ``examples/coproduction_survey.csv`` with codes 9/-99 set to NA and
ppo4, pcc3 recoded as 6 - x (what the bundled ``coproduction`` scale file
says), ``EX.model`` the four-factor model, and ``dd`` the rows of EX complete
on one scale's five items.

What is compared with what, like with like:

* the instrument CFA (listwise over all 20 items) with
  ``cfa(EX.model, data = EX, missing = 'listwise')``;
* omega (a one-factor CFA per scale, listwise within the scale) with
  ``semTools::compRelSEM`` of ``cfa(model, data = dd)``;
* AVE with ``semTools::AVE(fit)`` of the instrument CFA: semTools divides the
  explained variance summed over items by the summed observed item
  variances, which is what coscale reports (``average_variance_extracted``
  with item variances; see its docstring);
* CR (``composite_reliability``: Fornell-Larcker from standardized
  loadings) with the same formula applied to lavaan's ``std.all`` loadings
  of the instrument CFA. It is *not* ``compRelSEM`` (the reliability of the
  raw sum score, with observed total variance), so it is not compared to it;
* alpha: coscale reports psych's default (pairwise, all rows); the R
  reference is ``psych::alpha(dd)`` on the listwise rows of each scale, so
  ``cronbach_alpha`` is run on those same rows for the comparison.

Tolerances: fit measures, estimates, omega, CR, AVE 1e-3; alpha 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import coscale
from coscale.results import ValidationResult
from coscale.scales import load_scales
from coscale.stats import reliability as rel
from coscale.survey import prepare
from tests.reference_values import estimate_mismatches

HERE = Path(__file__).parent
ROOT = HERE.parent
REF = json.loads((HERE / "reference" / "cfa.json").read_text())["cases"]
EXAMPLE_CSV = ROOT / "examples" / "coproduction_survey.csv"
SCALES = ["motives_self", "motives_community", "professional_openness", "citizen_competence"]

TOL = 1e-3
ALPHA_TOL = 1e-6


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(EXAMPLE_CSV)


@pytest.fixture(scope="module")
def result(raw) -> ValidationResult:
    return coscale.validate(raw, "coproduction", estimator="ML", missing="listwise")


@pytest.fixture(scope="module")
def prepared(raw):
    return prepare(raw, load_scales("coproduction"), source="examples/coproduction_survey.csv")


def _onefactor(scale: str) -> dict:
    case = REF[f"example_onefactor_{scale}"]
    assert case["call"] == "cfa(model, data = dd)"
    return case


def _example() -> dict:
    case = REF["example"]
    assert case["call"] == "cfa(EX.model, data = EX, missing = 'listwise')"
    return case


# ---------------------------------------------------------------------------
# The instrument CFA
# ---------------------------------------------------------------------------
def test_cfa_fit_matches_lavaan(result):
    """chisq, df, CFI, TLI, RMSEA, SRMR, N (1e-3; df, N exact).

    R: ``fitMeasures(fit)`` for ``fit <- cfa(EX.model, data = EX, missing = 'listwise')``.
    """
    ref = _example()
    fm = result.cfa.fit
    assert result.cfa.n == ref["ntotal"]
    assert fm["df"] == ref["fit_measures"]["df"]
    bad = [
        (k, fm[k], ref["fit_measures"][k])
        for k in ("chisq", "cfi", "tli", "rmsea", "srmr")
        if abs(fm[k] - ref["fit_measures"][k]) > TOL
    ]
    assert not bad, f"(measure, coscale, lavaan) {bad}"
    assert result.cfa.converged


def test_cfa_estimates_match_lavaan(result):
    """Every loading, variance and covariance: est, se, std.all (1e-3).

    R: ``parameterEstimates(fit, standardized = TRUE)`` for
    ``cfa(EX.model, data = EX, missing = 'listwise')``; rows matched by lhs/op/rhs.
    """
    ref = {(r["lhs"], r["op"], r["rhs"]): r for r in _example()["estimates"]}
    ours = {(r["lhs"], r["op"], r["rhs"]): r for r in result.cfa.estimates}
    assert set(ours) == set(ref)
    assert len(result.cfa.loadings()) == 20
    bad = estimate_mismatches(ours, ref, TOL, (("est", "est"), ("se", "se"), ("std_all", "std.all")))
    assert not bad, f"(row, column, coscale, lavaan) {bad}"


# ---------------------------------------------------------------------------
# Reliability per scale
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("scale", SCALES)
def test_omega_matches_comprelsem(result, scale):
    """Omega from the one-factor CFA of the scale (listwise within the scale), 1e-3.

    R: ``semTools::compRelSEM(cfa(model, data = dd))`` (obs.var = TRUE,
    tau.eq = FALSE), dd = rows of EX complete on the scale's items.
    """
    ref = _onefactor(scale)
    assert result.scale(scale).reliability.omega == pytest.approx(ref["compRelSEM"], abs=TOL)


@pytest.mark.parametrize("scale", SCALES)
def test_one_factor_fit_matches_lavaan(result, scale):
    """Fit of the one-factor model behind omega: chisq, df, CFI, TLI, RMSEA, SRMR (1e-3).

    R: ``fitMeasures(cfa(model, data = dd))``.
    """
    ref = _onefactor(scale)["fit_measures"]
    ours = result.scale(scale).one_factor_fit
    assert ours["df"] == ref["df"]
    for k in ("chisq", "cfi", "tli", "rmsea", "srmr"):
        assert ours[k] == pytest.approx(ref[k], abs=TOL), k


@pytest.mark.parametrize("scale", SCALES)
def test_alpha_matches_psych_on_the_same_rows(result, prepared, raw, scale):
    """Cronbach's alpha, like with like (1e-6).

    R: ``psych::alpha(dd)$total$raw_alpha``, dd = rows complete on the
    scale's items (N as ``example_onefactor_<scale>$ntotal``). coscale's
    ``cronbach_alpha`` on the same rows of coscale's own prepared data must
    agree. ``validate`` itself reports psych's default on all rows
    (pairwise), i.e. ``cronbach_alpha`` of the prepared data, n = all rows; that
    is checked for consistency (cfa.json has no full-data alpha).
    """
    ref = _onefactor(scale)
    cols = ref["items"]
    assert result.scale(scale).items == cols
    dd = prepared.data[cols].dropna()
    assert len(dd) == ref["ntotal"]
    assert rel.cronbach_alpha(dd).alpha == pytest.approx(ref["raw_alpha"], abs=ALPHA_TOL)
    assert rel.cronbach_alpha(dd).std_alpha == pytest.approx(ref["std_alpha"], abs=ALPHA_TOL)
    full = rel.cronbach_alpha(prepared.data[cols])
    reported = result.scale(scale).reliability
    assert reported.n == full.n_obs == len(raw)
    assert reported.alpha == pytest.approx(full.alpha, abs=1e-12)
    assert reported.alpha_std == pytest.approx(full.std_alpha, abs=1e-12)


@pytest.mark.parametrize("scale", SCALES)
def test_ave_matches_semtools(result, scale):
    """AVE from the instrument CFA equals semTools' definition (1e-3).

    R: ``semTools::AVE(fit)[scale]`` for ``fit <- cfa(EX.model, data = EX,
    missing = 'listwise')``: explained variance summed over the items over
    the summed observed item variances (obs.var = TRUE).
    """
    ref = _example()["AVE"][scale]
    assert result.scale(scale).reliability.ave == pytest.approx(ref, abs=TOL)


@pytest.mark.parametrize("scale", SCALES)
def test_composite_reliability_from_lavaan_std_loadings(result, scale):
    """CR = (sum l)^2 / ((sum l)^2 + sum(1 - l^2)) with lavaan's standardized loadings (1e-3).

    R: ``l <- subset(parameterEstimates(fit, standardized = TRUE), op == "=~" & lhs == scale)$std.all``
    for ``cfa(EX.model, data = EX, missing = 'listwise')``; then the formula
    by hand (Fornell & Larcker 1981).
    """
    loadings = np.array([r["std.all"] for r in _example()["estimates"] if r["op"] == "=~" and r["lhs"] == scale])
    assert len(loadings) == 5
    expected = loadings.sum() ** 2 / (loadings.sum() ** 2 + np.sum(1.0 - loadings**2))
    assert result.scale(scale).reliability.composite_reliability == pytest.approx(expected, abs=TOL)


# ---------------------------------------------------------------------------
# Verdicts and the JSON form
# ---------------------------------------------------------------------------
def _verdicts(result, topic, subject):
    return {v.criterion.split(" ")[0]: v for v in result.verdicts if v.topic == topic and v.subject == subject}


def test_fit_verdicts_exist_and_agree_with_the_numbers(result):
    """One fit verdict each for CFI, TLI, RMSEA, SRMR, judged on the reported values."""
    fit = _verdicts(result, "fit", "instrument")
    assert set(fit) == {"CFI", "TLI", "RMSEA", "SRMR"}
    for name, v in fit.items():
        assert v.value == pytest.approx(result.cfa.fit[name.lower()], abs=1e-12)
        assert v.holds is not None and v.message
    assert fit["CFI"].holds == (fit["CFI"].value >= 0.95)
    assert fit["TLI"].holds == (fit["TLI"].value >= 0.95)
    assert fit["RMSEA"].holds == (fit["RMSEA"].value <= 0.06)
    assert fit["SRMR"].holds == (fit["SRMR"].value <= 0.08)


@pytest.mark.parametrize("scale", SCALES)
def test_reliability_verdicts_exist_per_scale(result, scale):
    """Alpha and omega verdicts (reliability), CR and AVE verdicts (convergent) for every scale."""
    relv = _verdicts(result, "reliability", scale)
    conv = _verdicts(result, "convergent", scale)
    assert set(relv) == {"Alpha", "Omega"}
    assert set(conv) == {"CR", "AVE"}
    r = result.scale(scale).reliability
    assert relv["Alpha"].value == pytest.approx(r.alpha, abs=1e-12)
    assert relv["Omega"].value == pytest.approx(r.omega, abs=1e-12)
    assert conv["CR"].value == pytest.approx(r.composite_reliability, abs=1e-12)
    assert conv["AVE"].value == pytest.approx(r.ave, abs=1e-12)
    for v in (*relv.values(), *conv.values()):
        assert v.holds is not None and v.message


def test_json_round_trip(result):
    """to_json -> json.loads -> ValidationResult.from_dict gives the same result back."""
    text = result.to_json()
    back = ValidationResult.from_dict(json.loads(text))
    assert back.to_json() == text
    assert back.to_dict() == result.to_dict()
    assert back.scale("motives_self").reliability.omega == result.scale("motives_self").reliability.omega
    assert back.cfa.fit["chisq"] == result.cfa.fit["chisq"]


def test_json_is_deterministic(raw, result):
    """Two runs on the same data give byte-identical JSON."""
    again = coscale.validate(raw.copy(), "coproduction", estimator="ML", missing="listwise")
    assert again.to_json() == result.to_json()


def test_model_lines_in_the_scale_file_reach_the_cfa(tmp_path):
    """A correlated residual written in the scale file (``model: [x7 ~~ x8]``) is in the CFA:
    chisq equals cfa(HS.model + 'x7 ~~ x8', HS) (cfa.R, case hs3_rescov)."""
    ref = json.loads((ROOT / "tests" / "reference" / "cfa.json").read_text())["cases"]["hs3_rescov"]
    path = tmp_path / "hs_rescov.yaml"
    path.write_text(
        (ROOT / "tests" / "data" / "holzinger_scales.yaml").read_text() + "model:\n  - x7 ~~ x8\n"
    )
    hs = pd.read_csv(ROOT / "tests" / "data" / "holzinger1939.csv")
    res = coscale.validate(hs, str(path), estimator="ML", missing="listwise")
    assert "x7 ~~ x8" in res.cfa.model
    assert res.cfa.fit["chisq"] == pytest.approx(ref["fit_measures"]["chisq"], abs=1e-3)
    assert res.cfa.fit["df"] == ref["fit_measures"]["df"]
