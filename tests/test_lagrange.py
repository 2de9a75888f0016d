"""Score tests (coscale.stats.lagrange) for FIML and complete-data fits against lavaan 0.6.14.

Reference values: ``tests/reference/score_fiml.json``, written by
``tests/reference/score_fiml.R``. In the R calls below::

    HSM      <- read.csv("tests/data/holzinger1939_missing.csv")   # written by fiml.R
    HS       <- read.csv("tests/data/holzinger1939.csv")
    HS.model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"

Cases: ``hsm_scalar`` (``group = "school", group.equal = c("loadings",
"intercepts"), missing = "ml"``), ``hsm_metric`` (``group.equal =
"loadings"``), ``hs_scalar`` (complete data) -- each with
``lavTestScore(fit)$uni`` and ``lavTestScore(fit, information =
"observed")$uni``, the ``.pX.`` labels mapped to parameters by
``parTable(fit)`` -- and ``hsm_single`` (one group, ``missing = "ml"``) with
``modindices(fit, sort. = TRUE)[1:10, ]`` (and its ``information =
"observed"`` variant).

lavTestScore and modindices default to ``information = "expected"`` even
under ``missing = "ml"``, whose fits use the observed information
(``lavoptions$information``); coscale follows (see
:func:`test_lavaan_score_tests_use_the_expected_information`).

Tolerances: X2 and modification indices 1e-3 against lavaan (the FIML
estimates agree to about 1e-6); EPCs and sepc.all 1e-3. The generic score
test against the closed form coscale used before on complete data
(:func:`_closed_form_scores`, kept here as the reference): 1e-8.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coscale.stats.estimate import Engine, fit_ml, information_block
from coscale.stats.fiml import FimlEngine, fiml_estimation, fit_fiml, missing_patterns
from coscale.stats.invariance import CRITERIA, Ladder
from coscale.stats.lagrange import modification_indices, release_tests, released_partable
from coscale.stats.model import LAMBDA, THETA, MeasurementModel, build_partable
from coscale.stats.moments import listwise_moments
from tests.reference_values import estimate_mismatches

HERE = Path(__file__).parent
REF_ALL = json.loads((HERE / "reference" / "score_fiml.json").read_text())
REF = REF_ALL["cases"]
HS_CSV = HERE / "data" / "holzinger1939.csv"
HSM_CSV = HERE / "data" / "holzinger1939_missing.csv"
MODEL = MeasurementModel.from_syntax(REF_ALL["meta"]["model"])
SCHOOLS = ["Pasteur", "Grant-White"]
TOL = 1e-3
EXACT_TOL = 1e-8

#: case -> (lavaan call, data, group.equal)
CASES = {
    "hsm_scalar": (
        "cfa(HS.model, data = HSM, group = 'school', group.equal = c('loadings', 'intercepts'), missing = 'ml')",
        "HSM",
        ("loadings", "intercepts"),
    ),
    "hsm_metric": (
        "cfa(HS.model, data = HSM, group = 'school', group.equal = 'loadings', missing = 'ml')",
        "HSM",
        ("loadings",),
    ),
    "hs_scalar": (
        "cfa(HS.model, data = HS, group = 'school', group.equal = c('loadings', 'intercepts'))",
        "HS",
        ("loadings", "intercepts"),
    ),
}


@functools.lru_cache(maxsize=None)
def data(name: str) -> pd.DataFrame:
    return pd.read_csv(HSM_CSV if name == "HSM" else HS_CSV)


@functools.lru_cache(maxsize=None)
def fitted(case: str):
    call, dname, equal = CASES[case]
    assert REF[case]["call"] == call, f"score_fiml.json's {case} was made by {REF[case]['call']!r}"
    assert list(REF[case]["group_labels"]) == SCHOOLS
    d = data(dname)
    pt = build_partable(MODEL, 2, group_equal=equal, group_labels=SCHOOLS)
    if dname == "HSM":
        return fit_fiml(pt, missing_patterns(d, MODEL.observed, d["school"], SCHOOLS))
    return fit_ml(pt, listwise_moments(d, MODEL.observed, d["school"], SCHOOLS))


def _name(row: dict) -> str:
    """coscale's parameter name of a lavTestScore row (the parameter of its lhs label)."""
    if row["param_op"] == "~1":
        return f"{row['param_lhs']}~1"
    return f"{row['param_lhs']}{row['param_op']}{row['param_rhs']}"


def _compare_uni(ours: list[dict], uni: list[dict]) -> list:
    got = {r["parameter"]: r for r in ours}
    assert set(got) == {_name(r) for r in uni}, "a different set of constraints"
    bad = []
    for r in uni:
        assert (r["param_group"], r["rhs_param_group"], r["df"]) == (1, 2, 1)
        e = got[_name(r)]
        if abs(e["x2"] - r["X2"]) > TOL or abs(e["pvalue"] - r["p.value"]) > TOL or e["df"] != 1:
            bad.append((_name(r), e["x2"], r["X2"]))
    return bad


# ---------------------------------------------------------------------------
# Which information lavaan uses
# ---------------------------------------------------------------------------
def test_lavaan_score_tests_use_the_expected_information():
    """Under missing = "ml" the fit's information is "observed", but lavTestScore(fit) uses "expected".

    R: ``lavInspect(fit, "options")$information`` is "observed"; the X2 of
    ``lavTestScore(fit)`` differ from those of ``lavTestScore(fit,
    information = "observed")`` (x3~1: 17.49 vs 19.91), and coscale's default
    reproduces the former.
    """
    case = REF["hsm_scalar"]
    assert case["options"] == {"missing": "ml", "information": "observed"}
    expected = {_name(r): r["X2"] for r in case["score"]["uni"]}
    observed = {_name(r): r["X2"] for r in case["score_observed"]["uni"]}
    assert abs(expected["x3~1"] - observed["x3~1"]) > 1.0
    ours = {r["parameter"]: r["x2"] for r in release_tests(fitted("hsm_scalar"))}
    assert ours["x3~1"] == pytest.approx(expected["x3~1"], abs=TOL)


# ---------------------------------------------------------------------------
# Released equality constraints
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["hsm_scalar", "hsm_metric", "hs_scalar"])
def test_release_tests_match_lavTestScore(case):
    """Every constraint: X2 and p of ``lavTestScore(fit)$uni`` (1e-3), FIML and complete data."""
    bad = _compare_uni(release_tests(fitted(case)), REF[case]["score"]["uni"])
    assert not bad, f"{case}: (parameter, coscale, lavaan) {bad}"


@pytest.mark.parametrize("case", ["hsm_scalar", "hsm_metric", "hs_scalar"])
def test_release_tests_observed_information_match_lavTestScore(case):
    """Every constraint: X2 of ``lavTestScore(fit, information = "observed")$uni`` (1e-3)."""
    ours = release_tests(fitted(case), information="observed")
    bad = _compare_uni(ours, REF[case]["score_observed"]["uni"])
    assert not bad, f"{case}: (parameter, coscale, lavaan) {bad}"


def test_release_tests_kinds_and_order():
    """``kinds`` filters the constraints; rows come sorted by X2 (x3~1 first, as in lavaan)."""
    fit = fitted("hsm_scalar")
    tests = release_tests(fit, kinds=["intercepts"])
    assert {t["kind"] for t in tests} == {"intercepts"} and len(tests) == 9
    assert [t["x2"] for t in tests] == sorted((t["x2"] for t in tests), reverse=True)
    uni = REF["hsm_scalar"]["score"]["uni"]
    assert tests[0]["parameter"] == _name(max(uni, key=lambda r: r["X2"])) == "x3~1"
    assert len(release_tests(fit, kinds=["loadings"])) == 6


def test_release_tests_evaluate_the_augmented_model_once(monkeypatch):
    """One evaluation of the augmented model per call, whatever the number of candidates."""
    fit = fitted("hsm_scalar")
    calls = []
    original = FimlEngine.evaluate

    def counting(self, x, need="f"):
        calls.append((self.q, need))
        return original(self, x, need)

    monkeypatch.setattr(FimlEngine, "evaluate", counting)
    tests = release_tests(fit)
    assert len(tests) == 15
    assert calls == [(fit.partable.n_free + 15, "gi")]


def test_released_partable_is_build_partable_with_the_partial_list():
    """The augmented table frees the same rows as ``build_partable(..., group_partial = ...)``."""
    pt = build_partable(MODEL, 2, group_equal=("loadings", "intercepts"), group_labels=SCHOOLS,
                        group_partial=("x7~1",))
    aug, copies = released_partable(pt, ["x3~1", "visual=~x2"])
    ref = build_partable(MODEL, 2, group_equal=("loadings", "intercepts"), group_labels=SCHOOLS,
                         group_partial=("x7~1", "x3~1", "visual=~x2"))
    assert aug.n_free == ref.n_free == pt.n_free + 2
    assert aug.group_partial == ref.group_partial
    assert aug.label == ref.label

    def tied(t):  # pairs of rows sharing a free index
        return {(i, j) for i in range(len(t.lhs)) for j in range(i) if t.free[i] >= 0 and t.free[i] == t.free[j]}

    assert tied(aug) == tied(ref)
    assert [(nm, k) for nm, k, _ in copies] == [("visual=~x2", pt.n_free), ("x3~1", pt.n_free + 1)]


# ---------------------------------------------------------------------------
# The ladder's partial-invariance search under FIML
# ---------------------------------------------------------------------------
def test_fiml_ladder_frees_lavaans_largest_intercept_first():
    """Ladder under ``fiml_estimation``: metric holds, scalar fails (Chen 2007), and the search frees
    the intercept with lavaan's largest ``lavTestScore`` statistic in the FIML scalar model (x3~1),
    with the same X2 (1e-3)."""
    d = data("HSM")
    est = fiml_estimation(d, MODEL.observed, d["school"], SCHOOLS)
    res = Ladder(MODEL, est, SCHOOLS).run(CRITERIA["chen2007"])
    holds = {c.model: c.holds for c in res.comparisons}
    assert holds["metric"] is True and holds["scalar"] is False
    uni = REF["hsm_scalar"]["score"]["uni"]
    best = max((r for r in uni if r["param_op"] == "~1"), key=lambda r: r["X2"])
    first = res.freed[0]
    assert (first.step, first.parameter, first.kind) == ("scalar", _name(best), "intercept")
    assert first.x2 == pytest.approx(best["X2"], abs=TOL)
    assert first.pvalue == pytest.approx(best["p.value"], abs=TOL)


# ---------------------------------------------------------------------------
# Modification indices under FIML
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("information", ["expected", "observed"])
def test_fiml_modification_indices_match_lavaan(information):
    """The ten largest: mi (1e-3), epc and sepc.all (1e-3), the same ten parameters on top.

    R: ``modindices(fit, sort. = TRUE)[1:10, ]`` (and ``information =
    "observed"``) for ``cfa(HS.model, data = HSM, missing = 'ml')``.
    """
    case = REF["hsm_single"]
    assert case["call"] == "cfa(HS.model, data = HSM, missing = 'ml')"
    d = data("HSM")
    fit = fit_fiml(build_partable(MODEL, 1, meanstructure=True), missing_patterns(d, MODEL.observed))
    assert fit.chisq == pytest.approx(case["chisq"], abs=TOL)
    top = case["modindices_top10" if information == "expected" else "modindices_observed_top10"]
    mi = modification_indices(fit, information=information)
    key = lambda r: (r["lhs"], r["op"], r["rhs"])  # noqa: E731
    assert {key(r) for r in mi[: len(top)]} == {key(r) for r in top}
    ours = {key(r): r for r in mi}
    bad = estimate_mismatches(ours, {key(r): r for r in top}, TOL, (("mi", "mi"), ("epc", "epc"), ("sepc_all", "sepc.all")))
    assert not bad, f"(row, column, coscale, lavaan) {bad}"


# ---------------------------------------------------------------------------
# Complete data: the generic test equals the closed form used before
# ---------------------------------------------------------------------------
def _closed_form_scores(fit, cands):
    """Gradient and V for candidate entries ``(group, matcode, row, col)`` from the sample moments.

    The closed form of coscale's earlier ``lagrange._score_blocks`` (complete
    data only): per group, the ML gradient and expected information of the
    candidate entries against the free parameters.
    """
    eng = Engine(fit.partable, fit.moments)
    c = len(cands)
    grad = np.zeros(c)
    i_cc = np.zeros((c, c))
    i_cf = np.zeros((c, eng.q))
    for g, mm in enumerate(eng.moments):
        sel = [k for k, cand in enumerate(cands) if cand[0] == g]
        if not sel:
            continue
        sigma, mu = fit.implied[g]
        inv = np.linalg.inv(sigma)
        d = mm.mean - mu
        entries = tuple(np.array([cands[k][t] if t else i for i, k in enumerate(sel)]) for t in range(4))
        dsig_c, dmu_c = eng.jacobian(fit.matrices[g], entries, len(sel))
        dsig_f, dmu_f = eng.jacobian(fit.matrices[g], eng.free_entries(g), eng.q)
        gmat = inv - inv @ (mm.cov + np.outer(d, d)) @ inv
        grad[sel] = eng.w[g] * (dsig_c.reshape(len(sel), -1) @ gmat.ravel() + dmu_c @ (-2.0 * inv @ d))
        i_cc[np.ix_(sel, sel)] = eng.w[g] * information_block(inv, dsig_c, dmu_c, dsig_c, dmu_c)
        i_cf[sel] = eng.w[g] * information_block(inv, dsig_c, dmu_c, dsig_f, dmu_f)
    return grad, i_cc - i_cf @ np.linalg.pinv(eng.information(fit.x)) @ i_cf.T


CODE = {"lambda": 0, "theta": 1, "psi": 2, "nu": 3, "alpha": 4}


def _closed_form_release(fit) -> dict:
    pt = fit.partable
    rows = [i for i in range(len(pt.lhs)) if pt.label[i] and pt.free[i] >= 0 and pt.group[i] > 0]
    cands = [(int(pt.group[i]), CODE[pt.mat[i]], int(pt.row[i]), int(pt.col[i])) for i in rows]
    grad, v = _closed_form_scores(fit, cands)
    owner = np.array([pt.name(i) for i in rows])
    out = {}
    for name in dict.fromkeys(owner):
        sel = np.flatnonzero(owner == name)
        sol = np.linalg.solve(v[np.ix_(sel, sel)], grad[sel])
        out[name] = (fit.ntotal / 4.0 * grad[sel] @ sol, -0.5 * sol)
    return out


def _closed_form_mi(fit) -> dict:
    pt = fit.partable
    cands, keys = [], []
    for g in range(pt.n_groups):
        have_l = {(pt.row[i], pt.col[i]) for i in pt.rows(LAMBDA, g)}
        have_t = {(pt.row[i], pt.col[i]) for i in pt.rows(THETA, g)}
        p = len(pt.observed)
        for j, f in enumerate(pt.factors):
            for i, v in enumerate(pt.observed):
                if (i, j) not in have_l:
                    cands.append((g, 0, i, j))
                    keys.append((f, "=~", v, g))
        for i in range(p):
            for j in range(i + 1, p):
                if (j, i) not in have_t:
                    cands.append((g, 1, j, i))
                    keys.append((pt.observed[i], "~~", pt.observed[j], g))
    grad, v = _closed_form_scores(fit, cands)
    vd = np.diag(v)
    return {k: (fit.ntotal * grad[t] ** 2 / (4 * vd[t]), -grad[t] / (2 * vd[t])) for t, k in enumerate(keys)}


@functools.lru_cache(maxsize=None)
def complete_fits():
    """HS by school (metric, scalar, strict with x3~1 free) and by school x age (4 groups, scalar)."""
    hs = data("HS")
    mom2 = listwise_moments(hs, MODEL.observed, hs["school"], SCHOOLS)
    fits = [
        fit_ml(build_partable(MODEL, 2, group_equal=eq, group_partial=partial, group_labels=SCHOOLS), mom2)
        for eq, partial in (
            (("loadings",), ()),
            (("loadings", "intercepts"), ()),
            (("loadings", "intercepts", "residuals"), ("x3~1",)),
        )
    ]
    groups = hs["school"] + np.where(hs["ageyr"] >= 13, "_13plus", "_12orless")
    order = list(dict.fromkeys(groups))
    mom4 = listwise_moments(hs, MODEL.observed, groups, order)
    fits.append(fit_ml(build_partable(MODEL, 4, group_equal=("loadings", "intercepts"), group_labels=order), mom4))
    return fits


@pytest.mark.parametrize("k", range(4))
def test_complete_data_release_tests_equal_the_closed_form(k):
    """Generic (augmented model) vs closed form on the sample moments: X2 and EPCs to 1e-8."""
    fit = complete_fits()[k]
    ref = _closed_form_release(fit)
    got = {r["parameter"]: r for r in release_tests(fit)}
    assert set(got) == set(ref)
    for name, (x2, epc) in ref.items():
        assert got[name]["x2"] == pytest.approx(x2, abs=EXACT_TOL), name
        assert got[name]["df"] == fit.partable.n_groups - 1
        np.testing.assert_allclose(got[name]["epc"], epc, atol=EXACT_TOL, rtol=0)


@pytest.mark.parametrize("k", range(4))
def test_complete_data_modification_indices_equal_the_closed_form(k):
    """Generic vs closed form: every modification index and EPC to 1e-8."""
    fit = complete_fits()[k]
    labels = fit.partable.group_labels
    ref = _closed_form_mi(fit)
    got = {(r["lhs"], r["op"], r["rhs"], labels.index(r["group"])): r for r in modification_indices(fit)}
    assert set(got) == set(ref)
    for key, (mi, epc) in ref.items():
        assert got[key]["mi"] == pytest.approx(mi, abs=EXACT_TOL), key
        assert got[key]["epc"] == pytest.approx(epc, abs=EXACT_TOL), key


def test_information_must_be_expected_or_observed():
    with pytest.raises(ValueError, match="information"):
        release_tests(complete_fits()[1], information="first.order")
