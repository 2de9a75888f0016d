"""The bundled example survey: its planted non-invariant item is found.

examples/population.yaml plants one non-invariant intercept (ppo3: professionals answer
1.2 scale points higher at the same latent level); lavaan's lavTestScore on the scalar
model ranks ppo3~1 first (tests/reference/invariance.json, case example_role).
"""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import coscale

ROOT = Path(__file__).parent.parent
SURVEY = ROOT / "examples" / "coproduction_survey.csv"
REF = json.loads((ROOT / "tests" / "reference" / "invariance.json").read_text())["cases"]


@pytest.fixture(scope="module")
def result():
    return coscale.invariance(pd.read_csv(SURVEY), "coproduction", group="role", source=str(SURVEY), estimator="ML", missing="listwise")


def _shifts(node):
    """Every ``intercept_shifts`` mapping in the population file."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "intercept_shifts":
                yield value
            else:
                yield from _shifts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _shifts(value)


def test_population_plants_exactly_one_shift_on_ppo3():
    """The simulator's population values: one non-invariant intercept, ppo3, shifted upwards."""
    population = yaml.safe_load((ROOT / "examples" / "population.yaml").read_text())
    shifts = [s for s in _shifts(population) if s]
    assert shifts == [{"ppo3": 1.2}]


def test_search_finds_planted_item_first_and_only(result):
    """Chen (2007) rejects full scalar invariance; the search frees the ppo3 intercept and stops."""
    assert result.accepted["metric"] == "metric"
    assert result.accepted["scalar"] == "scalar (partial)"
    assert [p["lavaan_name"] for p in result.partial] == ["ppo3~1"]
    assert result.partial[0]["item"] == "ppo3" and result.partial[0]["parameter"] == "intercept"
    assert result.partial[0]["group"] == "professional"


def test_planted_statistic_equals_lavTestScore(result):
    """X2 of ppo3~1: lavTestScore(scalar)$uni in invariance.R, case example_role."""
    uni = REF["example_role"]["score_scalar"]["uni"]
    top = max(uni, key=lambda r: r["X2"])
    assert (top["param_lhs"], top["param_op"]) == ("ppo3", "~1")
    assert result.partial[0]["statistic"] == pytest.approx(top["X2"], abs=1e-3)


def test_ladder_fit_equals_lavaan(result):
    """chisq, df, CFI, RMSEA, SRMR per model: fitMeasures in invariance.R, case example_role.

    (coscale's strict model is fitted on top of the partial scalar model, lavaan's on the
    full scalar model, so strict is not compared.)
    """
    for name in ("configural", "metric", "scalar"):
        ref = REF["example_role"]["models"][name]["fit_measures"]
        got = result.model(name).fit
        for key in ("chisq", "cfi", "rmsea", "srmr"):
            assert got[key] == pytest.approx(ref[key], abs=1e-3), (name, key)
        assert got["df"] == ref["df"]


def test_partial_latent_means_equal_lavaan(result):
    """Latent means with ppo3~1 free: cfa(..., group.partial = "ppo3~1"), case example_role_partial_ppo3."""
    ref = {r["lhs"]: r for r in REF["example_role_partial_ppo3"]["latent_means_group2"]}
    assert result.latent_means_model == "scalar (partial)"
    for row in result.latent_means:
        assert row["group"] == "professional" and row["reference"] == "citizen"
        assert row["est"] == pytest.approx(ref[row["factor"]]["est"], abs=1e-3)
        assert row["se"] == pytest.approx(ref[row["factor"]]["se"], abs=1e-3)


def test_ppo3_has_largest_dmacs(result):
    top = max(result.dmacs, key=lambda r: r["dmacs"])
    assert top["item"] == "ppo3" and top["flagged"]
