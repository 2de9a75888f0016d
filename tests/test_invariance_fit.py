"""Multi-group CFA fits (the estimation engine of invariance testing) against lavaan 0.6.14.

This checks the fits only -- equality constraints, identification, fit
measures, estimates, SEs and latent means -- not the invariance workflow
(step decisions, partial-invariance search) built on top of them.

Reference values: ``tests/reference/invariance.json``, written by
``tests/reference/invariance.R``. In the R calls below::

    HS    <- read.csv("tests/data/holzinger1939.csv")       # N = 301
    model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
    HS4   <- HS; HS4$school_age <- paste0(HS$school, ifelse(HS$ageyr >= 13, '_13plus', '_12orless'))
    EX    <- examples/coproduction_survey.csv, codes 9/-99 set to NA,
             ppo4 and pcc3 recoded 6 - x; model = the four 5-item scales

Groups are in lavaan's order (first appearance in the data), which is the
``group_labels`` list of each case; coscale is given the same order.
Each case records its lavaan call (``"call"``) and the tests check it.

Tolerances: fit measures 1e-3 absolute (df and npar exact); estimates,
SEs and latent means 1e-3.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coscale.scales import load_scales
from coscale.stats.estimate import fit_ml
from coscale.stats.fit import fit_measures
from coscale.stats.model import MeasurementModel, build_partable
from coscale.stats.moments import listwise_moments
from coscale.stats.solution import parameter_table
from coscale.survey import prepare

HERE = Path(__file__).parent
ROOT = HERE.parent
REF = json.loads((HERE / "reference" / "invariance.json").read_text())["cases"]
EXAMPLE_CSV = ROOT / "examples" / "coproduction_survey.csv"

TOL = 1e-3

STEPS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
R_EQUAL = {
    "configural": "",
    "metric": ', group.equal = "loadings"',
    "scalar": ', group.equal = c("loadings", "intercepts")',
    "strict": ', group.equal = c("loadings", "intercepts", "residuals")',
}

#: coscale fit-measure name -> lavaan fitMeasures() name
FIT_NAMES = {
    "chisq": "chisq",
    "df": "df",
    "cfi": "cfi",
    "tli": "tli",
    "rmsea": "rmsea",
    "rmsea_ci_lower": "rmsea.ci.lower",
    "rmsea_ci_upper": "rmsea.ci.upper",
    "srmr": "srmr",
    "aic": "aic",
    "bic": "bic",
    "npar": "npar",
}
EXACT = {"df", "npar"}


# ---------------------------------------------------------------------------
# data and fits
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def hs() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "holzinger1939.csv")


@functools.lru_cache(maxsize=None)
def example_prepared():
    """The example survey prepared by coscale itself (missing codes, reverse keying), by role."""
    raw = pd.read_csv(EXAMPLE_CSV)
    return prepare(
        raw,
        load_scales("coproduction"),
        source="examples/coproduction_survey.csv",
        group="role",
        groups=["citizen", "professional"],
    )


def _data(case: str):
    """(frame, group labels per row) of a case."""
    if case in ("hs_school", "hs_school_stdlv", "hs_school_partial_scalar"):
        return hs(), hs()["school"]
    if case == "hs_school_age4":
        # REF["hs_school_age4"]["group_construction"]:
        # paste0(HS$school, ifelse(HS$ageyr >= 13, '_13plus', '_12orless'))
        frame = hs()
        return frame, frame["school"] + np.where(frame["ageyr"] >= 13, "_13plus", "_12orless")
    prep = example_prepared()
    return prep.data, prep.group


@functools.lru_cache(maxsize=None)
def fitted(case: str, step: str, std_lv: bool = False, partial: tuple = ()):
    ref = REF[case]
    model = MeasurementModel.from_syntax(ref["model"])
    order = list(ref["group_labels"])
    frame, labels = _data(case)
    moments = listwise_moments(frame, model.observed, labels, order)
    pt = build_partable(
        model,
        len(order),
        group_equal=STEPS[step],
        group_partial=list(partial),
        group_labels=order,
        std_lv=std_lv,
    )
    return fit_ml(pt, moments)


def _entry(case: str, step: str | None):
    ref = REF[case]
    return ref if step is None else ref["models"][step]


def _compare_fit_measures(fit, entry, where: str) -> None:
    assert fit.converged, where
    ours = fit_measures(fit)
    ref = entry["fit_measures"]
    bad = []
    for key, lav in FIT_NAMES.items():
        if lav not in ref:
            continue
        if key in EXACT:
            ok = ours[key] == int(ref[lav])
        else:
            ok = abs(ours[key] - ref[lav]) <= TOL
        if not ok:
            bad.append((key, ours[key], ref[lav]))
    assert not bad, f"{where} ({entry['call']}): (measure, coscale, lavaan) {bad}"


def _compare_estimates(fit, entry, order, where: str) -> None:
    ours = {(r["lhs"], r["op"], r["rhs"], r["group"]): r for r in parameter_table(fit)}
    ref = {(r["lhs"], r["op"], r["rhs"], order[r["group"] - 1]): r for r in entry["estimates"]}
    assert set(ours) == set(ref), where
    bad = []
    for key, r in ref.items():
        for col in ("est", "se"):
            if abs(ours[key][col] - r[col]) > TOL:
                bad.append((key, col, ours[key][col], r[col]))
    assert not bad, f"{where} ({entry['call']}): (row, column, coscale, lavaan) {bad}"


def _compare_latent_means(fit, rows, order, where: str) -> None:
    """Latent means of group 2 (est, se); lavaan's rows have 1-based group numbers."""
    ours = {(r["lhs"], r["group"]): r for r in parameter_table(fit) if r["op"] == "~1"}
    assert rows, where
    bad = []
    for r in rows:
        e = ours[(r["lhs"], order[r["group"] - 1])]
        assert e["free"], (where, r["lhs"])
        for col in ("est", "se"):
            if abs(e[col] - r[col]) > TOL:
                bad.append((r["lhs"], col, e[col], r[col]))
    assert not bad, f"{where}: latent means (factor, column, coscale, lavaan) {bad}"


# ---------------------------------------------------------------------------
# Holzinger-Swineford by school
# ---------------------------------------------------------------------------
def test_hs_groups_and_sizes():
    """Group order and sizes: Pasteur 156, Grant-White 145.

    R: ``lavInspect(fit, "group.label")`` and ``lavInspect(fit, "nobs")``
    for ``cfa(model, data = HS, group = 'school')``.
    """
    ref = REF["hs_school"]
    assert ref["group_labels"] == ["Pasteur", "Grant-White"]
    fit = fitted("hs_school", "configural")
    assert [m.name for m in fit.moments] == ref["group_labels"]
    assert [m.n for m in fit.moments] == ref["group_sizes"]


@pytest.mark.parametrize("step", list(STEPS))
def test_hs_ladder_fit_measures(step):
    """chisq, df, CFI, TLI, RMSEA (+ 90% CI), SRMR, AIC, BIC, npar (1e-3).

    R: ``fitMeasures(fit)`` for ``cfa(model, data = HS, group = 'school')``
    with ``group.equal`` none (configural), ``"loadings"`` (metric),
    ``c("loadings", "intercepts")`` (scalar), ``c("loadings", "intercepts",
    "residuals")`` (strict).
    """
    entry = _entry("hs_school", step)
    assert entry["call"] == f"cfa(model, data = HS, group = 'school'{R_EQUAL[step]})"
    _compare_fit_measures(fitted("hs_school", step), entry, f"HS {step}")


@pytest.mark.parametrize("step", list(STEPS))
def test_hs_ladder_estimates(step):
    """Every parameter of both groups: est and se (1e-3), incl. group 2's latent means.

    R: ``parameterEstimates(fit)`` for ``cfa(model, data = HS, group =
    'school', group.equal = ...)`` as in :func:`test_hs_ladder_fit_measures`.
    Rows matched by lhs/op/rhs/group; the tables have the same rows.
    """
    entry = _entry("hs_school", step)
    assert entry["call"] == f"cfa(model, data = HS, group = 'school'{R_EQUAL[step]})"
    _compare_estimates(fitted("hs_school", step), entry, REF["hs_school"]["group_labels"], f"HS {step}")


@pytest.mark.parametrize("step", ["scalar", "strict"])
def test_hs_latent_means(step):
    """Latent means of Grant-White (Pasteur fixed at 0): est and se (1e-3).

    R: ``subset(parameterEstimates(fit), op == "~1" & lhs %in% lavNames(fit, "lv") & group == 2)``
    for ``cfa(model, data = HS, group = 'school', group.equal = c("loadings",
    "intercepts"))`` (scalar) and ``... "residuals")`` (strict).
    """
    ref = REF["hs_school"]
    _compare_latent_means(
        fitted("hs_school", step), ref[f"latent_means_{step}_group2"], ref["group_labels"], f"HS {step}"
    )


@pytest.mark.parametrize("step", list(STEPS))
def test_hs_stdlv_ladder_fit_measures(step):
    """The ladder identified by unit factor variances (std.lv): fit measures (1e-3).

    R: ``fitMeasures(fit)`` for ``cfa(model, data = HS, group = 'school',
    group.equal = ..., std.lv = TRUE)``. Configural and metric models are
    equivalent to the marker-identified ones; the fit must be the same.
    """
    entry = _entry("hs_school_stdlv", step)
    assert entry["call"] == f"cfa(model, data = HS, group = 'school'{R_EQUAL[step]}, std.lv = TRUE)"
    _compare_fit_measures(fitted("hs_school_stdlv", step, True), entry, f"HS std.lv {step}")


@pytest.mark.parametrize("step", ["scalar", "strict"])
def test_hs_stdlv_latent_means(step):
    """Latent means of Grant-White under std.lv (in SDs of Pasteur's factors): est, se (1e-3).

    R: group-2 ``~1`` rows of ``parameterEstimates(fit)`` for
    ``cfa(model, data = HS, group = 'school', group.equal = c("loadings",
    "intercepts"[, "residuals"]), std.lv = TRUE)``.
    """
    ref = REF["hs_school_stdlv"]
    _compare_latent_means(
        fitted("hs_school_stdlv", step, True),
        ref[f"latent_means_{step}_group2"],
        ref["group_labels"],
        f"HS std.lv {step}",
    )


PARTIAL = ("x3~1", "x7~1")


def test_hs_partial_scalar():
    """Partial scalar model (intercepts of x3 and x7 free): fit, every estimate and SE, latent means (1e-3).

    R: ``cfa(model, data = HS, group = 'school', group.equal = c('loadings',
    'intercepts'), group.partial = c('x3~1', 'x7~1'))``; ``fitMeasures``,
    ``parameterEstimates`` and the group-2 latent means.
    """
    ref = REF["hs_school_partial_scalar"]
    assert ref["call"] == (
        "cfa(model, data = HS, group = 'school', group.equal = c('loadings', 'intercepts'), "
        "group.partial = c('x3~1', 'x7~1'))"
    )
    fit = fitted("hs_school_partial_scalar", "scalar", False, PARTIAL)
    order = ref["group_labels"]
    _compare_fit_measures(fit, ref, "HS partial scalar")
    _compare_estimates(fit, ref, order, "HS partial scalar")
    _compare_latent_means(fit, ref["latent_means_group2"], order, "HS partial scalar")
    # the freed intercepts differ between the groups; the others are shared
    rows = {(r["lhs"], r["group"]): r["est"] for r in parameter_table(fit) if r["op"] == "~1"}
    for item in ("x3", "x7"):
        assert abs(rows[(item, order[0])] - rows[(item, order[1])]) > 0.1
    assert rows[("x1", order[0])] == rows[("x1", order[1])]


@pytest.mark.parametrize("step", ["configural", "metric", "scalar"])
def test_hs_four_groups_fit_measures(step):
    """Four groups (school x age >= 13): fit measures (1e-3), group order and sizes.

    R: ``fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea",
    "srmr", ..., "aic", "bic", "logl", "npar"))`` for ``cfa(model, data = HS4,
    group = 'school_age'[, group.equal = ...])`` with
    ``HS4$school_age <- paste0(HS$school, ifelse(HS$ageyr >= 13, '_13plus', '_12orless'))``.
    """
    ref = REF["hs_school_age4"]
    assert "ifelse(HS$ageyr >= 13, '_13plus', '_12orless')" in ref["group_construction"]
    entry = ref["models"][step]
    assert entry["call"] == f"cfa(model, data = HS4, group = 'school_age'{R_EQUAL[step]})"
    fit = fitted("hs_school_age4", step)
    assert [m.name for m in fit.moments] == ref["group_labels"]
    assert [m.n for m in fit.moments] == ref["group_sizes"]
    _compare_fit_measures(fit, entry, f"HS four groups {step}")


# ---------------------------------------------------------------------------
# The example survey by role
# ---------------------------------------------------------------------------
def test_example_groups_prepared_like_r():
    """coscale.survey.prepare + listwise deletion give lavaan's groups and group sizes.

    R: ``lavInspect(fit, "nobs")`` for ``cfa(model, data = EX, group = 'role')``
    (EX: 9/-99 as NA, ppo4 and pcc3 as 6 - x; lavaan deletes listwise).
    """
    ref = REF["example_role"]
    prep = example_prepared()
    model = MeasurementModel.from_syntax(ref["model"])
    assert list(prep.data.columns) == model.observed
    moments = listwise_moments(prep.data, model.observed, prep.group, ref["group_labels"])
    assert [m.name for m in moments] == ref["group_labels"] == ["citizen", "professional"]
    assert [m.n for m in moments] == ref["group_sizes"]


@pytest.mark.parametrize("step", list(STEPS))
def test_example_ladder_fit_measures(step):
    """The survey's four scales by role: fit measures of each step (1e-3).

    R: ``fitMeasures(fit)`` for ``cfa(model, data = EX, group = 'role'[,
    group.equal = ...])``.
    """
    entry = _entry("example_role", step)
    assert entry["call"] == f"cfa(model, data = EX, group = 'role'{R_EQUAL[step]})"
    _compare_fit_measures(fitted("example_role", step), entry, f"example {step}")


def test_example_scalar_latent_means():
    """Latent means of the professionals in the scalar model: est, se (1e-3).

    R: group-2 ``~1`` rows of ``parameterEstimates(fit)`` for
    ``cfa(model, data = EX, group = 'role', group.equal = c("loadings", "intercepts"))``.
    """
    ref = REF["example_role"]
    _compare_latent_means(
        fitted("example_role", "scalar"), ref["latent_means_scalar_group2"], ref["group_labels"], "example scalar"
    )


def test_example_partial_ppo3():
    """Partial scalar with the planted non-invariant intercept (ppo3) free: fit measures, latent means (1e-3).

    R: ``cfa(model, data = EX, group = 'role', group.equal = c('loadings',
    'intercepts'), group.partial = 'ppo3~1')``: ``fitMeasures`` and the
    group-2 latent means.
    """
    ref = REF["example_role_partial_ppo3"]
    assert ref["call"] == (
        "cfa(model, data = EX, group = 'role', group.equal = c('loadings', 'intercepts'), "
        "group.partial = 'ppo3~1')"
    )
    fit = fitted("example_role_partial_ppo3", "scalar", False, ("ppo3~1",))
    _compare_fit_measures(fit, ref, "example partial ppo3")
    _compare_latent_means(fit, ref["latent_means_group2"], ref["group_labels"], "example partial ppo3")
