"""Full-information ML for missing answers (lavaan ``missing = "ml"``) against lavaan 0.6.14.

Reference values: ``tests/reference/fiml.json``, written by
``tests/reference/fiml.R`` (which also writes the amputed Holzinger-Swineford
data ``tests/data/holzinger1939_missing.csv``). In the R calls below::

    LK       <- read.csv("tests/data/likert_missing.csv")            # 300 rows, ~5% missing
    LK.model <- "trait =~ q1 + q2 + q3 + q4 + q5"
    HSM      <- read.csv("tests/data/holzinger1939_missing.csv")     # 301 rows, ~8% missing
    HS.model <- "visual =~ x1 + x2 + x3; textual =~ x4 + x5 + x6; speed =~ x7 + x8 + x9"
    EX       <- examples/coproduction_survey.csv, codes 9/-99 set to NA,
                ppo4 and pcc3 recoded 6 - x
    EX.model <- the four 5-item scales (motives_self =~ msc1..msc5, ...)

HSM is HS with: xj (j = 1..9) missing when ((id * 7919 + j * 104729) *
(id + 31 * j)) mod 1009 < 65; x6 also missing when x4 < 2 and id mod 3 = 0
(missing at random given x4); every item missing when id mod 97 = 0 (two
rows that lavaan, and coscale, drop). :func:`test_amputed_data_follows_the_rule`
re-derives the CSV from that rule.

Every case records its lavaan call (``"call"``) and the tests check it.
Groups are in lavaan's order (first appearance in the data).

Tolerances: fit measures, estimates, SEs and standardized estimates 1e-3
(counts exact); log-likelihoods 1e-3; saturated (h1, EM) moments 1e-5
against ``lavInspect(fit, "sampstat.h1")`` -- lavaan stops its EM when no
moment moves by more than 1e-5, so its h1 lies within about 1e-5 of the
maximum -- and 1e-8 against the maximum itself (``h1_tight``: lavaan's EM
routine run to 1e-13). In practice agreement is 1e-5 or better throughout.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coscale.stats.estimate import Fit, fit_ml
from coscale.stats.fiml import (
    FimlEngine,
    FimlFit,
    MissingPatterns,
    fiml_fit_measures,
    fit_fiml,
    independence,
    loglik,
    missing_patterns,
    saturated,
)
from coscale.stats.fit import fit_measures
from coscale.stats.model import MeasurementModel, build_partable
from coscale.stats.moments import listwise_moments
from coscale.stats.solution import parameter_table
from tests.reference_values import close as _close, estimate_mismatches

HERE = Path(__file__).parent
ROOT = HERE.parent
REF = json.loads((HERE / "reference" / "fiml.json").read_text())["cases"]
HS_CSV = HERE / "data" / "holzinger1939.csv"
HSM_CSV = HERE / "data" / "holzinger1939_missing.csv"
LK_CSV = HERE / "data" / "likert_missing.csv"
EXAMPLE_CSV = ROOT / "examples" / "coproduction_survey.csv"

TOL = 1e-3  # fit measures, estimates, SEs, standardized estimates, logl
H1_TOL = 1e-5  # vs lavaan's sampstat.h1 (EM stopped at em.h1.tol = 1e-5)
H1_TIGHT_TOL = 1e-8  # vs the saturated maximum (lavaan's EM run to 1e-13)

#: case -> (lavaan call recorded in fiml.json, data set, group column, group.equal)
CASES = {
    "likert": ("cfa(LK.model, data = LK, missing = 'ml')", "LK", None, ()),
    "hs_missing": ("cfa(HS.model, data = HSM, missing = 'ml')", "HSM", None, ()),
    "example": ("cfa(EX.model, data = EX, missing = 'ml')", "EX", None, ()),
    "hs_missing_configural": ("cfa(HS.model, data = HSM, group = 'school', missing = 'ml')", "HSM", "school", ()),
    "hs_missing_scalar": (
        "cfa(HS.model, data = HSM, group = 'school', group.equal = c('loadings', 'intercepts'), missing = 'ml')",
        "HSM",
        "school",
        ("loadings", "intercepts"),
    ),
}
COMPARED = list(CASES)

#: coscale fit-measure name -> lavaan fitMeasures() name
FIT_NAMES = {
    "npar": "npar",
    "ntotal": "ntotal",
    "chisq": "chisq",
    "df": "df",
    "pvalue": "pvalue",
    "baseline_chisq": "baseline.chisq",
    "baseline_df": "baseline.df",
    "baseline_pvalue": "baseline.pvalue",
    "cfi": "cfi",
    "tli": "tli",
    "nfi": "nfi",
    "rmsea": "rmsea",
    "rmsea_ci_lower": "rmsea.ci.lower",
    "rmsea_ci_upper": "rmsea.ci.upper",
    "rmsea_pvalue": "rmsea.pvalue",
    "srmr": "srmr",
    "logl": "logl",
    "unrestricted_logl": "unrestricted.logl",
    "aic": "aic",
    "bic": "bic",
    "bic2": "bic2",
}
EXACT = {"df", "npar", "ntotal", "baseline_df"}


# ---------------------------------------------------------------------------
# Data, as fiml.R prepares it
# ---------------------------------------------------------------------------
def amputate(hs: pd.DataFrame) -> pd.DataFrame:
    """The amputation rule of fiml.R, in pandas."""
    out = hs.copy()
    ids = hs["id"].to_numpy(dtype=np.int64)
    for j in range(1, 10):
        drop = ((ids * 7919 + j * 104729) * (ids + 31 * j)) % 1009 < 65
        out.loc[drop, f"x{j}"] = np.nan
    out.loc[(hs["x4"] < 2).to_numpy() & (ids % 3 == 0), "x6"] = np.nan
    out.loc[ids % 97 == 0, [f"x{j}" for j in range(1, 10)]] = np.nan
    return out


@functools.lru_cache(maxsize=None)
def data(name: str) -> pd.DataFrame:
    if name == "LK":
        return pd.read_csv(LK_CSV)
    if name == "HSM":
        return pd.read_csv(HSM_CSV)
    d = pd.read_csv(EXAMPLE_CSV)
    items = [c for c in d.columns if c[:3] in ("msc", "mcc", "ppo", "pcc") and c[3:].isdigit()]
    d[items] = d[items].where(~d[items].isin([9, -99]))
    d["ppo4"] = 6 - d["ppo4"]
    d["pcc3"] = 6 - d["pcc3"]
    return d


@functools.lru_cache(maxsize=None)
def patterns(name: str):
    case = REF[name]
    _, dname, group, _ = CASES[name]
    model = MeasurementModel.from_syntax(case["model"])
    d = data(dname)
    labels = case["group_labels"] or None
    return model, missing_patterns(d, model.observed, d[group] if group else None, labels)


@functools.lru_cache(maxsize=None)
def fitted(name: str):
    """coscale's fit of a fiml.json case (cached: several tests read one fit)."""
    _, _, _, equal = CASES[name]
    model, pats = patterns(name)
    labels = REF[name]["group_labels"] or None
    pt = build_partable(model, len(pats), meanstructure=True, group_equal=equal, group_labels=labels)
    return model, fit_fiml(pt, pats)


def _check_call(name: str) -> None:
    assert REF[name]["call"] == CASES[name][0], f"{name}: fiml.json was made by {REF[name]['call']!r}"


# ---------------------------------------------------------------------------
# The data and lavaan's settings
# ---------------------------------------------------------------------------
def test_amputed_data_follows_the_rule():
    """tests/data/holzinger1939_missing.csv is holzinger1939.csv with the rule of the module docstring.

    R: written by fiml.R (``write.csv(HSM, ...)``); same cells missing, same values elsewhere.
    """
    ours = amputate(pd.read_csv(HS_CSV))
    theirs = pd.read_csv(HSM_CSV)
    assert list(ours.columns) == list(theirs.columns)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, rtol=0, atol=1e-12)
    items = [f"x{j}" for j in range(1, 10)]
    share = theirs[items].isna().to_numpy().mean()
    assert 0.07 < share < 0.10  # "about 8 % missing"
    assert int(theirs[items].isna().all(axis=1).sum()) == 2


@pytest.mark.parametrize("name", COMPARED)
def test_lavaan_uses_observed_information_and_means(name):
    """What coscale reproduces: lavaan's defaults under missing = "ml".

    R: ``lavInspect(fit, "options")`` for the case's call: information =
    "observed" (observed.information = "hessian"), meanstructure = TRUE,
    se = "standard", em.h1.tol = 1e-5.
    """
    _check_call(name)
    opts = REF[name]["options"]
    assert opts["missing"] == "ml"
    assert opts["meanstructure"] is True
    assert opts["information"] == "observed"
    assert opts["observed.information"] == "hessian"
    assert opts["se"] == "standard"
    _, fit = fitted(name)
    assert isinstance(fit, Fit) and isinstance(fit, FimlFit)
    assert fit.information == "observed"


@pytest.mark.parametrize("name", COMPARED)
def test_patterns_and_sample_sizes_match_lavaan(name):
    """Rows used per group, rows dropped (no answer at all) and number of missingness patterns.

    R: ``lavInspect(fit, "nobs")``, ``lavInspect(fit, "empty.idx")``,
    ``nrow(lavInspect(fit, "patterns"))`` for the case's call.
    """
    _check_call(name)
    case = REF[name]
    _, pats = patterns(name)
    assert [pp.n_total for pp in pats] == [int(v) for v in case["nobs"]]
    assert [pp.n_dropped for pp in pats] == [int(v) for v in case["n_empty_rows"]]
    assert [pp.n_patterns for pp in pats] == [int(v) for v in case["n_patterns"]]
    _, fit = fitted(name)
    assert fit.ntotal == case["ntotal"]
    assert fit.n_dropped == sum(case["n_empty_rows"])
    if fit.n_dropped:
        assert any("answered none of the items" in w for w in fit.warnings)


# ---------------------------------------------------------------------------
# Fit measures, estimates, log-likelihoods, h1 moments
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", COMPARED)
def test_fit_measures_match_lavaan(name):
    """chisq, df, pvalue, baseline (FIML independence model), CFI, TLI, NFI, RMSEA (+ CI, p close),
    SRMR (from the EM moments), logl, unrestricted logl, AIC, BIC, BIC2, npar, ntotal.

    R: ``fitMeasures(fit)`` for the case's call: likert ``cfa(LK.model,
    data = LK, missing = 'ml')``; hs_missing ``cfa(HS.model, data = HSM,
    missing = 'ml')``; example ``cfa(EX.model, data = EX, missing = 'ml')``;
    hs_missing_configural ``cfa(HS.model, data = HSM, group = 'school',
    missing = 'ml')``; hs_missing_scalar the same with ``group.equal =
    c('loadings', 'intercepts')``. Tolerance 1e-3, counts exact.
    """
    _check_call(name)
    _, fit = fitted(name)
    assert fit.converged
    ours = fiml_fit_measures(fit)
    ref = REF[name]["fit_measures"]
    bad = []
    for key, lav in FIT_NAMES.items():
        if key in EXACT:
            if ours[key] != int(ref[lav]):
                bad.append((key, ours[key], ref[lav]))
        elif not _close(ours[key], ref[lav], TOL):
            bad.append((key, ours[key], ref[lav]))
    assert not bad, f"{name} ({REF[name]['call']}): (measure, coscale, lavaan) {bad}"
    assert fit.fmin == pytest.approx(REF[name]["fmin"], abs=1e-6)


@pytest.mark.parametrize("name", COMPARED)
def test_estimates_and_standard_errors_match_lavaan(name):
    """Every row of the parameter table: est, se (observed information), std.lv, std.all.

    R: ``parameterEstimates(fit, standardized = TRUE)`` for the case's call
    (see :func:`test_fit_measures_match_lavaan`). Rows matched by lhs, op, rhs
    and group; both tables have the same rows. Tolerance 1e-3.
    """
    _check_call(name)
    _, fit = fitted(name)
    labels = REF[name]["group_labels"]
    ours = {(r["lhs"], r["op"], r["rhs"], r["group"]): r for r in parameter_table(fit)}
    ref = {
        (r["lhs"], r["op"], r["rhs"], labels[r["group"] - 1] if labels else ""): r for r in REF[name]["estimates"]
    }
    assert set(ours) == set(ref)
    bad = estimate_mismatches(ours, ref, TOL)
    assert not bad, f"{name}: (row, column, coscale, lavaan) {bad}"


@pytest.mark.parametrize("name", COMPARED)
def test_loglikelihoods_match_lavaan(name):
    """Casewise log-likelihood of the model and of the saturated model; chisq = 2 (h1 - h0).

    R: ``fitMeasures(fit, c("logl", "unrestricted.logl", "chisq"))`` for the
    case's call. Tolerance 1e-3.
    """
    _check_call(name)
    _, fit = fitted(name)
    case = REF[name]
    assert fit.logl == pytest.approx(case["logl"], abs=TOL)
    assert fit.unrestricted_logl == pytest.approx(case["unrestricted_logl"], abs=TOL)
    assert fit.chisq == pytest.approx(2.0 * (fit.unrestricted_logl - fit.logl), abs=1e-8)


@pytest.mark.parametrize("name", COMPARED)
def test_h1_moments_match_lavaan(name):
    """Saturated (EM) means and ML covariances per group, which the fit carries as its moments.

    R: ``lavInspect(fit, "sampstat.h1")`` for the case's call (1e-5: lavaan's
    EM stops at em.h1.tol = 1e-5) and ``h1_tight``,
    ``lavaan:::lav_mvnorm_missing_h1_estimate_moments(Y, tol = 1e-13)`` per
    group (1e-8).
    """
    _check_call(name)
    model, fit = fitted(name)
    for ref_key, tol in (("h1", H1_TOL), ("h1_tight", H1_TIGHT_TOL)):
        for g, h in enumerate(REF[name][ref_key]):
            names = h["cov"]["names"]
            mm = fit.moments[g].reorder(names)
            np.testing.assert_allclose(mm.cov, np.array(h["cov"]["values"]), rtol=0, atol=tol)
            np.testing.assert_allclose(mm.mean, np.array([h["mean"][v] for v in names]), rtol=0, atol=tol)


def test_baseline_is_the_fiml_independence_model():
    """baseline.chisq = 2 (logl_h1 - logl of available-case means and ML variances), per group.

    R: fiml.R's ``checks$baseline`` recomputes this and equals
    ``fitMeasures(fit, "baseline.chisq")`` in every case; here coscale's
    :func:`independence` gives the same log-likelihood (1e-6).
    """
    for name in COMPARED:
        check = REF[name]["checks"]["baseline"]
        assert check["baseline_chisq_manual"] == pytest.approx(check["baseline_chisq_lavaan"], abs=1e-6)
        _, pats = patterns(name)
        assert sum(independence(pp)[2] for pp in pats) == pytest.approx(check["logl_baseline_manual"], abs=1e-6)
        _, fit = fitted(name)
        assert fit.baseline_logl == pytest.approx(check["logl_baseline_manual"], abs=1e-6)


def test_srmr_uses_the_em_moments():
    """lavaan's srmr under missing = "ml" compares the implied moments with the EM (h1) moments.

    R: fiml.R's ``checks$srmr`` recomputes srmr from ``sampstat.h1`` and
    ``implied`` and equals ``fitMeasures(fit, "srmr")``; coscale's
    (``fit_measures`` on the fit, whose moments are the EM moments) too (1e-6).
    """
    for name in COMPARED:
        check = REF[name]["checks"]["srmr"]
        assert check["srmr_manual"] == pytest.approx(check["srmr_lavaan"], abs=1e-10)
        _, fit = fitted(name)
        assert fiml_fit_measures(fit)["srmr"] == pytest.approx(check["srmr_lavaan"], abs=1e-6)


# ---------------------------------------------------------------------------
# Internal consistency
# ---------------------------------------------------------------------------
def test_pattern_statistics_equal_a_groupby():
    """Pattern counts, means and ML covariances equal a plain pandas group-by over the rows (1e-12)."""
    d = data("LK")
    cols = list(d.columns)
    pp = MissingPatterns.from_values(d.to_numpy(dtype=float), cols)
    key = d.isna().apply(lambda r: tuple(~r.to_numpy()), axis=1)
    groups = {k: g for k, g in d.groupby(key)}
    assert pp.n_patterns == len(groups)
    assert pp.n_total == len(d)
    for k in range(pp.n_patterns):
        g = groups[tuple(bool(v) for v in pp.observed[k])]
        obs = pp.indices(k)
        x = g.iloc[:, obs].to_numpy(dtype=float)
        assert pp.n[k] == len(g)
        np.testing.assert_allclose(pp.mean[k, obs], x.mean(axis=0), atol=1e-12)
        c = x - x.mean(axis=0)
        np.testing.assert_allclose(pp.cov[k][np.ix_(obs, obs)], c.T @ c / len(x), atol=1e-12)
        assert not pp.mean[k, ~pp.observed[k]].any() and not pp.cov[k][~pp.observed[k]].any()


def test_empty_rows_are_dropped_and_counted():
    """Rows without any answer change nothing but the count of dropped rows."""
    d = data("LK")
    model = MeasurementModel.from_syntax(REF["likert"]["model"])
    padded = pd.concat([d, pd.DataFrame(np.nan, index=range(3), columns=d.columns)], ignore_index=True)
    base = fitted("likert")[1]
    fit = fit_fiml(build_partable(model, meanstructure=True), missing_patterns(padded, model.observed))
    assert fit.n_dropped == 3 and fit.ntotal == base.ntotal
    assert fit.chisq == pytest.approx(base.chisq, abs=1e-8)
    np.testing.assert_allclose(fit.x, base.x, atol=1e-7)
    assert any("3 respondents answered none" in w for w in fit.warnings)


def test_complete_data_reduces_to_ml():
    """Without missing answers FIML is ML with a mean structure: same estimates, chisq, logl, baseline.

    R equivalent: ``cfa(HS.model, data = HS, meanstructure = TRUE)`` equals
    ``cfa(HS.model, data = HS, missing = 'ml')`` on complete data. (SEs
    differ: expected vs observed information.)
    """
    hs = pd.read_csv(HS_CSV)
    model = MeasurementModel.from_syntax(REF["hs_missing"]["model"])
    pt = build_partable(model, meanstructure=True)
    ml = fit_ml(pt, listwise_moments(hs, model.observed))
    fi = fit_fiml(pt, missing_patterns(hs, model.observed))
    assert fi.converged and fi.n_dropped == 0
    np.testing.assert_allclose(fi.x, ml.x, atol=1e-6)
    assert fi.chisq == pytest.approx(ml.chisq, abs=1e-6)
    assert fi.logl == pytest.approx(ml.logl, abs=1e-6)
    assert fi.unrestricted_logl == pytest.approx(ml.unrestricted_logl, abs=1e-6)
    a, b = fiml_fit_measures(fi), fit_measures(ml)
    for key in ("baseline_chisq", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
        assert a[key] == pytest.approx(b[key], abs=1e-6), key


def test_saturated_em_reaches_the_maximum():
    """The EM estimates are a stationary point: the casewise log-likelihood does not rise nearby.

    Also: EM on complete data returns the sample moments in one step.
    """
    _, pats = patterns("hs_missing")
    mean, cov, logl = saturated(pats[0])
    assert logl == pytest.approx(loglik(pats[0], mean, cov), abs=1e-10)
    rng = np.random.default_rng(1)
    for _ in range(5):
        e = rng.standard_normal(mean.shape) * 1e-3
        s = rng.standard_normal(cov.shape) * 1e-3
        assert loglik(pats[0], mean + e, cov + (s + s.T) / 2) < logl
    hs = pd.read_csv(HS_CSV)
    cols = [f"x{j}" for j in range(1, 10)]
    m, c, _ = saturated(missing_patterns(hs, cols)[0])
    ref = listwise_moments(hs, cols)[0]
    np.testing.assert_allclose(m, ref.mean, atol=1e-12)
    np.testing.assert_allclose(c, ref.cov, atol=1e-12)


@pytest.mark.parametrize("name", ["hs_missing", "hs_missing_scalar"])
def test_gradient_and_observed_information_are_exact(name):
    """Analytic gradient and observed information equal central differences of F and of the gradient.

    The scalar model has free latent means (the lambda-alpha second
    derivatives of mu); tolerance 1e-6 relative to the largest entry.
    """
    _, fit = fitted(name)
    _, pats = patterns(name)
    eng = FimlEngine(fit.partable, pats)
    q = eng.q
    x = fit.x + 0.01  # away from the optimum: a non-zero gradient
    f, grad, _ = eng.evaluate(x, "gi")
    h = 1e-6
    num_grad = np.array([(eng.evaluate(x + h * e) - eng.evaluate(x - h * e)) / (2 * h) for e in np.eye(q)])
    np.testing.assert_allclose(grad, num_grad, atol=1e-6 * np.abs(grad).max())
    h = 1e-5
    hess = np.column_stack([(eng.evaluate(x + h * e, "g")[1] - eng.evaluate(x - h * e, "g")[1]) / (2 * h)
                            for e in np.eye(q)])
    obs = eng.observed_information(x)
    np.testing.assert_allclose(obs, hess / 2, atol=1e-6 * np.abs(obs).max())


def test_mean_structure_is_added_as_lavaan_does():
    """lavaan sets meanstructure = TRUE with missing = "ml"; fit_fiml adds intercepts to a table without.

    The result equals the fit of ``build_partable(model, meanstructure=True)``:
    same rows, same free-parameter order, same estimates.
    """
    model, pats = patterns("likert")
    bare = build_partable(model)
    assert not bare.meanstructure
    fit = fit_fiml(bare, pats)
    assert fit.partable.meanstructure
    ref = fitted("likert")[1]
    assert [fit.partable.name(i) for i in range(len(fit.partable.lhs))] == [
        ref.partable.name(i) for i in range(len(ref.partable.lhs))
    ]
    np.testing.assert_array_equal(fit.partable.free, ref.partable.free)
    np.testing.assert_allclose(fit.x, ref.x, atol=1e-8)
    with pytest.raises(ValueError, match="mean structure"):
        FimlEngine(bare, pats)


@pytest.mark.parametrize("case", ["constant", "unanswered"])
def test_degenerate_items_give_a_warning_not_an_exception(case):
    """An item with one answer for everyone, or with no answer at all: a Fit with NaN statistics and
    a clear warning (as ``fit_ml`` does for a singular covariance matrix). No R reference: lavaan
    stops with an error for both."""
    d = data("HSM").copy()
    if case == "constant":
        d.loc[d["x3"].notna(), "x3"] = 2.0
    else:
        d["x3"] = np.nan
    model = MeasurementModel.from_syntax(REF["hs_missing"]["model"])
    fit = fit_fiml(build_partable(model, meanstructure=True), missing_patterns(d, model.observed))
    assert not fit.converged and np.isnan(fit.chisq)
    word = "same answer" if case == "constant" else "nobody answered x3"
    assert any(word in w.lower() for w in fit.warnings), fit.warnings
    fm = fiml_fit_measures(fit)
    assert np.isnan(fm["chisq"]) and np.isnan(fm["cfi"])


def test_pairs_never_answered_together_are_flagged():
    """Two items nobody answered together: the fit warns (lavaan warns about 0% coverage)."""
    d = data("LK").copy()
    both = d["q1"].notna() & d["q2"].notna()
    d.loc[both & (np.arange(len(d)) % 2 == 0), "q1"] = np.nan
    d.loc[both & (np.arange(len(d)) % 2 == 1), "q2"] = np.nan
    model = MeasurementModel.from_syntax(REF["likert"]["model"])
    fit = fit_fiml(build_partable(model, meanstructure=True), missing_patterns(d, model.observed))
    assert any("answered both q1 and q2" in w for w in fit.warnings), fit.warnings


def test_fiml_estimation_drives_the_invariance_ladder():
    """The estimator object plugs into the invariance ladder: its configural and scalar models are lavaan's.

    R: ``fitMeasures(fit)`` (chisq, df, cfi, rmsea, srmr; 1e-3) for
    ``cfa(HS.model, data = HSM, group = 'school', missing = 'ml')`` and the
    same with ``group.equal = c('loadings', 'intercepts')``. EM for the
    saturated model runs once for the whole ladder.
    """
    from coscale.stats.fiml import fiml_estimation
    from coscale.stats.invariance import Ladder

    model, _ = patterns("hs_missing_configural")
    labels = REF["hs_missing_configural"]["group_labels"]
    d = data("HSM")
    est = fiml_estimation(d, model.observed, d["school"], labels)
    assert est.missing == "fiml" and not est.robust and [m.n for m in est.moments] == REF["hs_missing_scalar"]["nobs"]
    ladder = Ladder(model, est, labels)
    for step, name in (("configural", "hs_missing_configural"), ("scalar", "hs_missing_scalar")):
        lm = ladder.fit(step)
        assert lm.fit.converged and lm.fit.h1 is est.h1
        ref = REF[name]["fit_measures"]
        for key in ("chisq", "df", "cfi", "rmsea", "srmr"):
            assert lm.measures[key] == pytest.approx(ref[key], abs=TOL), (step, key)
    diff = est.difference(ladder.fit("configural").fit, ladder.fit("scalar").fit)
    assert diff["df_diff"] == 12
    assert diff["chisq_diff"] == pytest.approx(
        REF["hs_missing_scalar"]["fit_measures"]["chisq"] - REF["hs_missing_configural"]["fit_measures"]["chisq"],
        abs=TOL,
    )


def test_start_values_from_a_nested_fit():
    """A start vector (as the invariance ladder passes) leads to the same solution."""
    _, fit = fitted("hs_missing_scalar")
    model, pats = patterns("hs_missing_scalar")
    labels = REF["hs_missing_scalar"]["group_labels"]
    pt = build_partable(model, 2, meanstructure=True, group_equal=("loadings", "intercepts"), group_labels=labels)
    again = fit_fiml(pt, pats, start=fit.x + 0.05)
    assert again.converged
    np.testing.assert_allclose(again.x, fit.x, atol=1e-5)
