"""Tests of coscale.stats.bootstrap: bootstrap CIs of alpha and omega for several scales.

The replicates are checked against a slow reference (a plain loop that
resamples the rows, then calls ``cronbach_alpha`` and fits a cold-started
one-factor CFA by ``fit_ml`` / ``fit_fiml``), against
``reliability.alpha_bootstrap_ci`` (same draws, same alpha replicates), and
for determinism across worker counts; three replicates also against R
(psych, lavaan, semTools: ``R_REF`` below). Data: the example survey (700 x 4
scales of 5 items, some answers missing; prepared as ``coscale validate``
prepares it), ``tests/data/likert_missing.csv`` and Holzinger-Swineford.
Small ``n_boot`` keeps the file fast.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coscale.api import _one_factor
from coscale.errors import InputError
from coscale.scales import load_scales
from coscale.stats import reliability as rel
from coscale.stats.bootstrap import (
    BLOCK, BootstrapCI, _em, _OneFactor, bootstrap_indices, bootstrap_reliability,
)
from coscale.stats.estimate import Engine, fit_ml
from coscale.stats.fiml import FimlEngine, fit_fiml, missing_patterns, saturated, with_meanstructure
from coscale.stats.model import MeasurementModel, build_partable
from coscale.stats.moments import complete_moments, listwise_moments
from coscale.survey import prepare

HERE = Path(__file__).parent
ROOT = HERE.parent
SEED = 20261128
N_BOOT = 200


@pytest.fixture(scope="module")
def survey():
    instrument = load_scales("coproduction")
    raw = pd.read_csv(ROOT / "examples" / "coproduction_survey.csv")
    frame = prepare(raw, instrument, source="example").data
    return frame, instrument


@pytest.fixture(scope="module")
def scales(survey):
    return {s.name: list(s.columns) for s in survey[1].scales}


@pytest.fixture(scope="module")
def boot(survey, scales):
    return bootstrap_reliability(survey[0], scales, N_BOOT, SEED, workers=1)


def _replicate_rows(n: int, n_boot: int, seed, r: int) -> np.ndarray:
    """Row indices of replicate r (block r // BLOCK, row r % BLOCK of the draws)."""
    for b, idx in enumerate(bootstrap_indices(n, n_boot, seed)):
        if b == r // BLOCK:
            return idx[r % BLOCK]
    raise IndexError(r)


def _cold_omega(sample: pd.DataFrame, cols) -> float:
    """Omega of a resample the slow way: listwise moments, cold-started fit_ml, compRelSEM."""
    pt = build_partable(MeasurementModel((("f", tuple(cols)),)))
    fit = fit_ml(pt, listwise_moments(sample, cols))
    assert fit.converged
    m = fit.matrices[0]
    return rel.omega_from_cfa(m["lambda"][:, 0], m["psi"][0, 0], m["theta"], fit.moments[0].cov)


# ---------------------------------------------------------------------------
# Result, determinism
# ---------------------------------------------------------------------------
def test_result_shape(boot, scales):
    assert list(boot) == list(scales)
    for name, r in boot.items():
        assert isinstance(r, BootstrapCI)
        assert r.items == tuple(scales[name])
        assert r.n_boot == N_BOOT and r.level == 0.95 and r.missing == "listwise"
        assert r.alpha_replicates.shape == r.omega_replicates.shape == (N_BOOT,)
        assert not r.alpha_replicates.flags.writeable
        assert r.n_valid_alpha == r.alpha_ci.n_valid == N_BOOT
        assert r.n_valid_omega == r.omega_ci.n_valid == N_BOOT
        assert r.alpha_ci.method == r.omega_ci.method == "bootstrap-percentile"
        assert "percentile bootstrap (200 replicates" in r.method and "compRelSEM" in r.method
        assert r.notes == ()


def test_identical_for_any_number_of_workers(survey, scales, boot):
    two = bootstrap_reliability(survey[0], scales, N_BOOT, SEED, workers=2)
    for name in scales:
        a, b = boot[name], two[name]
        assert a.alpha_replicates.tobytes() == b.alpha_replicates.tobytes()
        assert a.omega_replicates.tobytes() == b.omega_replicates.tobytes()
        assert a.alpha_ci == b.alpha_ci and a.omega_ci == b.omega_ci


def test_seed_decides(survey, scales, boot):
    name = next(iter(scales))
    again = bootstrap_reliability(survey[0], {name: scales[name]}, N_BOOT, SEED, workers=1)[name]
    other = bootstrap_reliability(survey[0], {name: scales[name]}, N_BOOT, SEED + 1, workers=1)[name]
    # a scale's replicates do not depend on which other scales are bootstrapped with it
    assert again.omega_replicates.tobytes() == boot[name].omega_replicates.tobytes()
    assert again.alpha_replicates.tobytes() == boot[name].alpha_replicates.tobytes()
    assert not np.allclose(other.omega_replicates, again.omega_replicates)


def test_ci_brackets_point_estimates(survey, boot):
    frame, instrument = survey
    for scale in instrument.scales:
        r = boot[scale.name]
        assert r.alpha == rel.cronbach_alpha(frame[scale.columns]).alpha
        assert r.omega == _one_factor(frame, scale, "listwise")[1]
        assert r.alpha_ci.lower < r.alpha < r.alpha_ci.upper
        assert r.omega_ci.lower < r.omega < r.omega_ci.upper
        assert 0.9 < np.nanmean(r.omega_replicates) / r.omega < 1.1


# ---------------------------------------------------------------------------
# Replicates against the slow reference
# ---------------------------------------------------------------------------
def test_alpha_replicates_are_alpha_bootstrap_ci(survey, scales, boot):
    frame = survey[0]
    for name, cols in scales.items():
        old = rel._bootstrap_alphas(frame[cols].to_numpy(dtype=float), N_BOOT, SEED)
        assert boot[name].alpha_replicates.tobytes() == old.tobytes()
        assert boot[name].alpha_ci == rel.alpha_bootstrap_ci(frame[cols], n_boot=N_BOOT, seed=SEED)


@pytest.mark.parametrize("r", [0, 1, 99, 100, 157, 199])
def test_replicates_equal_plain_loop(survey, scales, boot, r):
    frame = survey[0]
    rows = _replicate_rows(len(frame), N_BOOT, SEED, r)
    sample = frame.iloc[rows]
    for name, cols in scales.items():
        assert abs(boot[name].alpha_replicates[r] - rel.cronbach_alpha(sample[cols]).alpha) < 1e-8
        assert abs(boot[name].omega_replicates[r] - _cold_omega(sample, cols)) < 1e-8


def test_warm_starts_equal_cold_starts(survey, scales, boot):
    cold = bootstrap_reliability(survey[0], scales, N_BOOT, SEED, workers=1, warm_start=False)
    for name in scales:
        assert np.max(np.abs(cold[name].omega_replicates - boot[name].omega_replicates)) < 1e-6
        assert cold[name].alpha_replicates.tobytes() == boot[name].alpha_replicates.tobytes()


def test_complete_data_and_level():
    hs = pd.read_csv(HERE / "data" / "holzinger1939.csv")
    sets = {"visual": ["x1", "x2", "x3"], "speed": ["x7", "x8", "x9"], "mixed": ["x7", "x8", "x9", "x1"]}
    res = bootstrap_reliability(hs, sets, 150, 7, level=0.9, workers=1)
    for name, cols in sets.items():
        r = res[name]
        assert r.alpha_ci.level == r.omega_ci.level == 0.9
        lo, hi = np.quantile(r.omega_replicates, [0.05, 0.95])
        assert r.omega_ci.lower == pytest.approx(lo, abs=1e-14) and r.omega_ci.upper == pytest.approx(hi, abs=1e-14)
        for k in (3, 120):
            sample = hs.iloc[_replicate_rows(len(hs), 150, 7, k)]
            assert abs(r.omega_replicates[k] - _cold_omega(sample, cols)) < 1e-8


@pytest.fixture(scope="module")
def boot_fiml(survey, scales):
    return bootstrap_reliability(survey[0], scales, 60, SEED, workers=1, missing="fiml")


def test_fiml_replicates_equal_plain_loop(survey, boot_fiml):
    frame, instrument = survey
    for scale in instrument.scales:
        cols = list(scale.columns)
        res = boot_fiml[scale.name]
        assert res.missing == "fiml" and "FIML" in res.method
        assert res.omega == _one_factor(frame, scale, "fiml")[1]
        assert res.alpha_replicates.tobytes() == rel._bootstrap_alphas(frame[cols].to_numpy(), 60, SEED).tobytes()
        assert res.n_valid_omega == 60
        assert res.omega_ci.lower < res.omega < res.omega_ci.upper
        pt = build_partable(MeasurementModel((("f", tuple(cols)),)))
        for r in (0, 31, 59):
            sample = frame.iloc[_replicate_rows(len(frame), 60, SEED, r)]
            fit = fit_fiml(pt, missing_patterns(sample, cols))  # cold start, EM from the independence model
            m = fit.matrices[0]
            ref = rel.omega_from_cfa(m["lambda"][:, 0], m["psi"][0, 0], m["theta"], fit.moments[0].cov)
            assert abs(res.omega_replicates[r] - ref) < 1e-8


def test_fiml_workers_and_cold_starts(survey, scales, boot_fiml):
    two = bootstrap_reliability(survey[0], scales, 60, SEED, workers=2, missing="fiml")
    cold = bootstrap_reliability(survey[0], scales, 60, SEED, workers=1, missing="fiml", warm_start=False)
    for name in scales:
        assert two[name].omega_replicates.tobytes() == boot_fiml[name].omega_replicates.tobytes()
        assert np.max(np.abs(cold[name].omega_replicates - boot_fiml[name].omega_replicates)) < 1e-6


# Three replicates (seed 11, n_boot 200) of the example survey, each written to CSV and analysed in R
# (psych 2.2.9, lavaan 0.6.14, semTools 0.5.6); per scale with items ``it`` and model ``m``:
#   psych::alpha(d[, it])$total$raw_alpha
#   semTools::compRelSEM(lavaan::cfa(m, data = d[, it]))                   # listwise
#   semTools::compRelSEM(lavaan::cfa(m, data = d[, it], missing = "ml"))   # FIML
# The first 16 hex digits of sha256 of each replicate's int64 row indices guard against a change
# of numpy's random stream (which would draw other rows).
R_ROWS = {0: "5a8c2beab1636925", 77: "448734052f857bee", 199: "ecbec11f4d8186ef"}
R_REF = {
    (0, "motives_self"): (0.841696909270, 0.842628586728, 0.841015991488),
    (0, "motives_community"): (0.836861036700, 0.837172436653, 0.839722926480),
    (0, "professional_openness"): (0.842356466475, 0.837455729128, 0.841316723873),
    (0, "citizen_competence"): (0.800910769517, 0.805750829677, 0.806064279922),
    (77, "motives_self"): (0.845722788968, 0.846675528145, 0.846300063462),
    (77, "motives_community"): (0.866041346739, 0.867469611244, 0.866868050514),
    (77, "professional_openness"): (0.853161611295, 0.846491757324, 0.850346293763),
    (77, "citizen_competence"): (0.821927636849, 0.827655591910, 0.823802699914),
    (199, "motives_self"): (0.830294864740, 0.828369179990, 0.833221283054),
    (199, "motives_community"): (0.836727032783, 0.835644346881, 0.839355611460),
    (199, "professional_openness"): (0.839453235374, 0.827001554319, 0.830689515679),
    (199, "citizen_competence"): (0.777218697933, 0.786371049820, 0.781040283297),
}


def test_replicates_agree_with_r(survey, scales):
    frame = survey[0]
    for r, digest in R_ROWS.items():
        rows = _replicate_rows(len(frame), 200, 11, r).astype(np.int64)
        if hashlib.sha256(rows.tobytes()).hexdigest()[:16] != digest:
            pytest.skip("numpy's random stream draws other rows: regenerate R_REF")
    lw = bootstrap_reliability(frame, scales, 200, 11, workers=1)
    fi = bootstrap_reliability(frame, scales, 200, 11, workers=1, missing="fiml")
    for (r, name), (alpha, omega, omega_fiml) in R_REF.items():
        assert lw[name].alpha_replicates[r] == pytest.approx(alpha, abs=1e-10)
        assert fi[name].alpha_replicates[r] == pytest.approx(alpha, abs=1e-10)
        assert lw[name].omega_replicates[r] == pytest.approx(omega, abs=1e-6)  # lavaan's optimiser tolerance
        assert fi[name].omega_replicates[r] == pytest.approx(omega_fiml, abs=1e-6)


# ---------------------------------------------------------------------------
# Degenerate replicates, small scales, errors
# ---------------------------------------------------------------------------
def test_singular_replicates_are_left_out():
    rng = np.random.default_rng(3)
    f = rng.normal(size=30)
    data = pd.DataFrame({f"y{j}": f + rng.normal(size=30) for j in range(3)})
    data["y3"] = 1.0
    data.loc[4, "y3"] = 2.0  # a replicate without row 4 has a constant y3
    r = bootstrap_reliability(data, {"s": ["y0", "y1", "y2", "y3"]}, 100, 1, workers=1)["s"]
    lacks = np.array([4 not in _replicate_rows(30, 100, 1, k) for k in range(100)])
    assert lacks.any()
    assert np.all(np.isnan(r.omega_replicates[lacks]))
    valid = np.isfinite(r.omega_replicates)
    assert r.n_valid_omega == r.omega_ci.n_valid == int(valid.sum()) <= int((~lacks).sum())
    # the others failed to converge: so does a cold-started fit_ml (the ML solution runs off to infinity)
    pt = build_partable(MeasurementModel((("f", ("y0", "y1", "y2", "y3")),)))
    for k in np.flatnonzero(~lacks & ~valid)[:2]:
        rows = _replicate_rows(30, 100, 1, k)
        assert not fit_ml(pt, [complete_moments(data.to_numpy()[rows], list(data.columns))]).converged
    assert r.n_valid_alpha == 100
    assert any("omega could not be computed in" in note for note in r.notes)
    fiml = bootstrap_reliability(data, {"s": ["y0", "y1", "y2", "y3"]}, 100, 1, workers=1, missing="fiml")["s"]
    assert np.all(np.isnan(fiml.omega_replicates[lacks]))
    assert fiml.n_valid_omega == int(np.isfinite(fiml.omega_replicates).sum()) <= int((~lacks).sum())


def test_two_items_have_no_omega():
    lik = pd.read_csv(HERE / "data" / "likert_missing.csv")
    res = bootstrap_reliability(lik, {"pair": ["q1", "q2"], "all": ["q1", "q2", "q3", "q4", "q5"]}, 50, 2,
                                workers=1)
    assert res["pair"].omega is None and res["pair"].omega_ci is None and res["pair"].n_valid_omega == 0
    assert np.all(np.isnan(res["pair"].omega_replicates))
    assert "at least 3 items" in res["pair"].omega_unavailable and res["pair"].notes == ()
    assert res["all"].omega_unavailable == ""
    assert res["pair"].alpha_ci.n_valid == 50
    assert res["all"].omega_ci is not None


def test_errors(survey, scales):
    frame = survey[0]
    one = {"s": scales[next(iter(scales))]}
    with pytest.raises(ValueError):
        bootstrap_reliability(frame, one, 0, 1)
    with pytest.raises(ValueError):
        bootstrap_reliability(frame, one, 10, 1, level=1.0)
    with pytest.raises(ValueError):
        bootstrap_reliability(frame, one, 10, 1, missing="pairwise")
    with pytest.raises(ValueError):
        bootstrap_reliability(frame, one, 10, 1, workers=0)
    with pytest.raises(InputError, match="not found"):
        bootstrap_reliability(frame, {"s": ["msc1", "nope"]}, 10, 1)
    with pytest.raises(InputError, match="two items"):
        bootstrap_reliability(frame, {"s": ["msc1"]}, 10, 1)
    with pytest.raises(InputError, match="two respondents"):
        bootstrap_reliability(frame.iloc[:1], one, 10, 1)


# ---------------------------------------------------------------------------
# The batched one-factor fitter
# ---------------------------------------------------------------------------
def _numeric_hessian(model, x, data):
    e = 1e-5
    grad = lambda z: model.evaluate(z[None], data, "gi")[1][0]  # noqa: E731
    return np.array([(grad(x + e * d) - grad(x - e * d)) / (2 * e) for d in np.eye(x.size)])


@pytest.mark.parametrize("std_lv", [False, True])
def test_batched_fitter_matches_engine_and_fit_ml(std_lv):
    hs = pd.read_csv(HERE / "data" / "holzinger1939.csv")
    cols = ["x7", "x8", "x9", "x1"]  # misfitting: slow Fisher scoring, Newton steps matter
    pt = build_partable(MeasurementModel((("f", tuple(cols)),)), std_lv=std_lv)
    model = _OneFactor(pt)
    values = hs[cols].to_numpy()
    rng = np.random.default_rng(5)
    moments = [complete_moments(values[rng.integers(0, len(values), len(values))], cols) for _ in range(6)]
    s = np.stack([mm.cov for mm in moments])
    data = (np.ones((6, 1)), np.stack([mm.mean for mm in moments])[:, None], s[:, None])
    full = fit_ml(pt, [complete_moments(values, cols)])
    # discrepancy (up to log|S| + p), gradient and information equal Engine's
    x = full.x * 1.05
    f, g, info = model.evaluate(np.tile(x, (6, 1)), data, "gi")
    for k, mm in enumerate(moments):
        fe, ge, ie = Engine(pt, [mm]).evaluate(x, "gi")
        assert abs(f[k] - np.linalg.slogdet(mm.cov)[1] - len(cols) - fe) < 1e-12
        assert np.max(np.abs(g[k] - ge)) < 1e-12 and np.max(np.abs(info[k] - ie)) < 1e-12
    # exact Hessian against central differences of the gradient
    one = tuple(a[:1] for a in data)
    assert np.max(np.abs(model.hessian(x[None], one)[0] - _numeric_hessian(model, x, one))) < 1e-7
    # solutions: stationary (Engine's gradient) and equal to fit_ml's
    xs, conv = model.fit(np.tile(full.x, (6, 1)), data)
    assert conv.all()
    om = model.omega(xs, s)
    for k, mm in enumerate(moments):
        assert np.max(np.abs(Engine(pt, [mm]).evaluate(xs[k], "gi")[1])) < 1e-10
        ref = fit_ml(pt, [mm])
        m = ref.matrices[0]
        assert abs(om[k] - rel.omega_from_cfa(m["lambda"][:, 0], m["psi"][0, 0], m["theta"], mm.cov)) < 1e-6


def test_batched_fiml_fitter_and_em_match_fiml_module():
    lik = pd.read_csv(HERE / "data" / "likert_missing.csv")
    cols = list(lik.columns)
    pats = missing_patterns(lik, cols)[0]
    pt = with_meanstructure(build_partable(MeasurementModel((("f", tuple(cols)),))))
    model = _OneFactor(pt, pats.observed)
    data = ((pats.n / pats.n.sum())[None], pats.mean[None], pats.cov[None])
    eng = FimlEngine(pt, [pats])
    ref = fit_fiml(pt, [pats])
    x = ref.x * 1.03
    f, g, info = model.evaluate(x[None], data, "gi")
    fe, ge, ie = eng.evaluate(x, "gi")
    assert np.max(np.abs(g[0] - ge)) < 1e-12 and np.max(np.abs(info[0] - ie)) < 1e-12
    assert abs((f[0] - model.evaluate(ref.x[None], data)[0]) - (fe - eng.evaluate(ref.x))) < 1e-12
    h = model.hessian(x[None], data)[0]
    assert np.max(np.abs(0.5 * h - eng.observed_information(x))) < 1e-12
    assert np.max(np.abs(h - _numeric_hessian(model, x, data))) < 1e-7
    xs, conv = model.fit(ref.x[None] * 0.9, data)
    assert conv[0] and np.max(np.abs(xs[0] - ref.x)) < 1e-6
    mu, sigma, ok = _em(pats.observed, *data, ref.moments[0].mean + 0.1, ref.moments[0].cov * 1.1)
    h1 = saturated(pats)
    assert ok[0] and np.max(np.abs(mu[0] - h1[0])) < 1e-8 and np.max(np.abs(sigma[0] - h1[1])) < 1e-8
