"""Tests of coscale.stats.reliability against R (psych 2.2.9, lavaan 0.6.14, semTools 0.5.6).

Reference values: ``tests/reference/reliability.json``, written by
``tests/reference/reliability.R`` from ``tests/data/holzinger1939.csv``
(lavaan's HolzingerSwineford1939) and ``tests/data/likert_missing.csv``
(``tests/reference/make_likert_missing.py``; 300 x 5 Likert items, ~5 % MCAR).
In the R calls below ``hs`` and ``lik`` are those two CSV files read with
``read.csv``. The omega / CR / AVE tests use lavaan's estimates stored in the
JSON, so they test coscale's formulas on lavaan's inputs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coscale.errors import InputError
from coscale.stats import reliability as rel

HERE = Path(__file__).parent
REF = json.loads((HERE / "reference" / "reliability.json").read_text())

TOL = 1e-6


@pytest.fixture(scope="module")
def hs() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "holzinger1939.csv")


@pytest.fixture(scope="module")
def lik() -> pd.DataFrame:
    return pd.read_csv(HERE / "data" / "likert_missing.csv")


def _alpha_data(key, hs, lik):
    ref = REF["alpha"][key]
    frame = lik if key == "likert" else hs
    return frame[ref["items"]], ref


def _matrix(m) -> pd.DataFrame:
    return pd.DataFrame(np.array(m["values"], dtype=float), index=m["names"], columns=m["names"])


def _item_sets(model: str) -> dict[str, list[str]]:
    """The ``=~`` lines of a lavaan model string as {factor: [items]}."""
    sets = {}
    for line in model.splitlines():
        if "=~" in line:
            lhs, rhs = line.split("=~")
            sets[lhs.strip()] = [t.strip() for t in re.split(r"\+", rhs)]
    return sets


ALPHA_KEYS = sorted(REF["alpha"])
CFA_KEYS = sorted(REF["cfa"])
HTMT_KEYS = sorted(REF["htmt"])


# ---------------------------------------------------------------------------
# Cronbach's alpha
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", ALPHA_KEYS)
def test_alpha_total_matches_psych(key, hs, lik):
    """raw and standardized alpha, n.

    R: ``psych::alpha(x)$total$raw_alpha`` and ``$total$std.alpha``
    (``use = "pairwise"``), tolerance 1e-6; n = ``nrow(x)`` (psych's nsub)
    and ``$item.stats$n`` exactly.
    """
    data, ref = _alpha_data(key, hs, lik)
    res = rel.cronbach_alpha(data)
    assert res.alpha == pytest.approx(ref["raw_alpha"], abs=TOL)
    assert res.std_alpha == pytest.approx(ref["std_alpha"], abs=TOL)
    assert res.n_obs == ref["n_rows"]
    assert res.n_items == len(ref["items"])
    assert res.items == tuple(ref["items"])
    np.testing.assert_array_equal(res.item_n, ref["item_n"])
    assert res.n_complete == int(data.notna().all(axis=1).sum())


@pytest.mark.parametrize("key", ALPHA_KEYS)
def test_alpha_if_item_deleted_matches_psych(key, hs, lik):
    """alpha if item deleted.

    R: ``psych::alpha(x)$alpha.drop$raw_alpha`` and ``$alpha.drop$std.alpha``,
    tolerance 1e-6 (includes psych's two-item convention ``hs_x1_x2``).
    """
    data, ref = _alpha_data(key, hs, lik)
    res = rel.cronbach_alpha(data)
    np.testing.assert_allclose(res.alpha_if_deleted, ref["alpha_drop_raw"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.std_alpha_if_deleted, ref["alpha_drop_std"], rtol=0, atol=TOL)


@pytest.mark.parametrize("key", ALPHA_KEYS)
def test_item_rest_matches_psych_r_drop(key, hs, lik):
    """item-rest correlation.

    R: ``psych::alpha(x)$item.stats$r.drop``, tolerance 1e-6.
    """
    data, ref = _alpha_data(key, hs, lik)
    res = rel.cronbach_alpha(data)
    np.testing.assert_allclose(res.item_rest, ref["r_drop"], rtol=0, atol=TOL)


def test_item_rest_equals_rest_score_correlation_for_complete_data(hs):
    """With complete data psych's r.drop is the Pearson correlation of an item with
    the sum of the other items (no R call; identity check, tolerance 1e-12)."""
    data = hs[[f"x{i}" for i in range(1, 10)]]
    res = rel.cronbach_alpha(data)
    for j, item in enumerate(data.columns):
        rest = data.drop(columns=item).sum(axis=1)
        assert res.item_rest[j] == pytest.approx(np.corrcoef(data[item], rest)[0, 1], abs=1e-12)


@pytest.mark.parametrize("key", ALPHA_KEYS)
def test_feldt_ci_matches_psych_alpha(key, hs, lik):
    """Feldt 95 % CI.

    R: ``psych::alpha(x)$feldt$lower.ci`` / ``$upper.ci`` (the "Feldt" line of
    the printout), which is ``psych::alpha.ci(raw_alpha, nrow(x), ncol(x))``;
    tolerance 1e-6.
    """
    data, ref = _alpha_data(key, hs, lik)
    res = rel.cronbach_alpha(data)
    assert res.ci.method == "feldt"
    assert res.ci.level == 0.95
    assert res.ci.lower == pytest.approx(ref["feldt_lower"], abs=TOL)
    assert res.ci.upper == pytest.approx(ref["feldt_upper"], abs=TOL)
    assert ref["alpha_ci_lower"] == pytest.approx(ref["feldt_lower"], abs=1e-12)


@pytest.mark.parametrize("case", REF["alpha_ci"], ids=lambda c: f"a{c['alpha']}-n{c['n_obs']}")
def test_feldt_ci_matches_alpha_ci(case):
    """Feldt CI on its own.

    R: ``psych::alpha.ci(alpha, n.obs, n.var, p.val)`` with (0.8, 100, 5, 0.05)
    and (0.65, 40, 12, 0.10); tolerance 1e-6.
    """
    ci = rel.feldt_ci(case["alpha"], case["n_obs"], case["n_var"], level=1 - case["p_val"])
    assert ci.lower == pytest.approx(case["lower"], abs=TOL)
    assert ci.upper == pytest.approx(case["upper"], abs=TOL)


def test_cronbach_alpha_cross_check_pingouin(hs):
    """Cross-check with pingouin (complete data, no R call).

    ``pingouin.cronbach_alpha(x)``: alpha to 1e-10; its CI (Feldt, rounded by
    pingouin to 3 decimals) to 5e-4.
    """
    pingouin = pytest.importorskip("pingouin")
    data = hs[[f"x{i}" for i in range(1, 10)]]
    alpha_pg, ci_pg = pingouin.cronbach_alpha(data)
    res = rel.cronbach_alpha(data)
    assert res.alpha == pytest.approx(alpha_pg, abs=1e-10)
    assert res.ci.lower == pytest.approx(ci_pg[0], abs=5e-4)
    assert res.ci.upper == pytest.approx(ci_pg[1], abs=5e-4)


def test_alpha_result_item_table(hs):
    """AlphaResult.item_table collects the per-item arrays (no R call)."""
    res = rel.cronbach_alpha(hs[["x1", "x2", "x3"]])
    table = res.item_table()
    assert list(table.index) == ["x1", "x2", "x3"]
    np.testing.assert_array_equal(table["item_rest"], res.item_rest)
    with pytest.raises(ValueError):
        res.item_rest[0] = 0.0  # read-only


def test_cronbach_alpha_rejects_bad_input(hs):
    """Errors (no R call): one item, a constant item, a text column."""
    with pytest.raises(InputError):
        rel.cronbach_alpha(hs[["x1"]])
    constant = hs[["x1", "x2"]].assign(c=1.0)
    with pytest.raises(InputError, match="c"):
        rel.cronbach_alpha(constant)
    with pytest.raises(InputError, match="school"):
        rel.cronbach_alpha(hs[["x1", "x2", "school"]])


# ---------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------
def _naive_bootstrap(data: pd.DataFrame, n_boot: int, seed) -> np.ndarray:
    """Loop version: resample rows, pandas pairwise covariance, alpha."""
    values = data.to_numpy(dtype=float)
    k = values.shape[1]
    out = []
    for block in rel.bootstrap_indices(values.shape[0], n_boot, seed):
        for idx in block:
            c = pd.DataFrame(values[idx]).cov().to_numpy()
            out.append((1 - np.trace(c) / c.sum()) * k / (k - 1))
    return np.array(out)


@pytest.mark.parametrize("which", ["hs", "lik"])
def test_bootstrap_vectorised_equals_loop(which, hs, lik):
    """The vectorised bootstrap equals a plain loop over resampled data sets
    (pairwise covariances, incl. missing data); no R call, tolerance 1e-10."""
    data = hs[[f"x{i}" for i in range(1, 10)]] if which == "hs" else lik
    fast = rel._bootstrap_alphas(data.to_numpy(dtype=float), 250, 7)
    slow = _naive_bootstrap(data, 250, 7)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-10)


@pytest.mark.parametrize("key,which", [("hs_x1_x9", "hs"), ("likert", "lik")])
def test_bootstrap_ci_close_to_psych(key, which, hs, lik):
    """Percentile bootstrap 95 % CI, 2000 replicates.

    R: ``set.seed(1939); psych::alpha(x, n.iter = 2000)$boot.ci`` (2.5 % and
    97.5 %). R and numpy draw different samples, so only Monte-Carlo agreement
    is expected: tolerance 0.01.
    """
    data = hs[[f"x{i}" for i in range(1, 10)]] if which == "hs" else lik
    ref = REF["bootstrap"][key]
    ci = rel.alpha_bootstrap_ci(data, n_boot=2000, seed=1939)
    assert ci.method == "bootstrap-percentile"
    assert ci.n_boot == 2000 and ci.n_valid == 2000
    assert ci.lower == pytest.approx(ref["lower"], abs=0.01)
    assert ci.upper == pytest.approx(ref["upper"], abs=0.01)
    assert ci.lower < rel.cronbach_alpha(data).alpha < ci.upper


def test_bootstrap_ci_deterministic_given_seed(lik):
    """Same seed -> identical interval; other seed or level -> different (no R call)."""
    a = rel.alpha_bootstrap_ci(lik, n_boot=500, seed=11)
    b = rel.alpha_bootstrap_ci(lik, n_boot=500, seed=11)
    c = rel.alpha_bootstrap_ci(lik, n_boot=500, seed=12)
    d = rel.alpha_bootstrap_ci(lik, n_boot=500, seed=11, level=0.80)
    assert a == b
    assert (a.lower, a.upper) != (c.lower, c.upper)
    assert a.lower < d.lower < d.upper < a.upper


def test_bootstrap_quantiles_are_r_type7(lik):
    """Percentiles use linear interpolation (R ``quantile`` type 7); no R call."""
    alphas = rel._bootstrap_alphas(lik.to_numpy(dtype=float), 300, 3)
    ci = rel.alpha_bootstrap_ci(lik, n_boot=300, seed=3)
    lo, hi = np.quantile(alphas, [0.025, 0.975], method="linear")
    assert (ci.lower, ci.upper) == (lo, hi)


# ---------------------------------------------------------------------------
# Item statistics
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", ALPHA_KEYS)
def test_item_statistics_match_psych(key, hs, lik):
    """n, mean, sd, skewness, kurtosis, item_rest, alpha_if_deleted.

    R: ``psych::describe(x)`` columns n, mean, sd, skew, kurtosis (type 3) and
    ``psych::alpha(x)`` ``$item.stats$r.drop``, ``$alpha.drop$raw_alpha``;
    tolerance 1e-6 (n exact).
    """
    data, ref = _alpha_data(key, hs, lik)
    table = rel.item_statistics(data)
    assert list(table.columns) == ["n", "mean", "sd", "skewness", "kurtosis", "floor",
                                   "ceiling", "item_rest", "alpha_if_deleted"]
    assert list(table.index) == ref["items"]
    np.testing.assert_array_equal(table["n"], ref["describe_n"])
    for col, rkey in [("mean", "describe_mean"), ("sd", "describe_sd"),
                      ("skewness", "describe_skew"), ("kurtosis", "describe_kurtosis"),
                      ("item_rest", "r_drop"), ("alpha_if_deleted", "alpha_drop_raw")]:
        np.testing.assert_allclose(table[col], ref[rkey], rtol=0, atol=TOL, err_msg=col)


def test_item_statistics_floor_ceiling(lik):
    """Floor/ceiling shares among non-missing answers.

    R: ``colMeans(lik == 1, na.rm = TRUE)`` / ``colMeans(lik == 5, na.rm = TRUE)``
    (computed here with pandas; exact). Without bounds both are NaN.
    """
    table = rel.item_statistics(lik, response_min=1, response_max=5)
    expected_floor = (lik == 1).sum() / lik.notna().sum()
    expected_ceiling = (lik == 5).sum() / lik.notna().sum()
    np.testing.assert_allclose(table["floor"], expected_floor, rtol=0, atol=1e-15)
    np.testing.assert_allclose(table["ceiling"], expected_ceiling, rtol=0, atol=1e-15)
    assert table.loc["q5", "ceiling"] > 0.25  # the simulated ceiling item
    bare = rel.item_statistics(lik)
    assert bare["floor"].isna().all() and bare["ceiling"].isna().all()


def test_item_statistics_constant_item(hs):
    """A constant item gets NaN item_rest/alpha_if_deleted; the others are those of
    ``psych::alpha(hs[, c('x1','x2','x3')])`` (psych drops the constant item),
    tolerance 1e-6."""
    data = hs[["x1", "x2", "x3"]].assign(const=3.0)
    table = rel.item_statistics(data)
    ref = REF["alpha"]["hs_x1_x3"]
    assert np.isnan(table.loc["const", "item_rest"])
    assert table.loc["const", "sd"] == 0.0
    np.testing.assert_allclose(table["item_rest"].iloc[:3], ref["r_drop"], rtol=0, atol=TOL)


# ---------------------------------------------------------------------------
# Omega, composite reliability, AVE (on lavaan's estimates)
# ---------------------------------------------------------------------------
def _cfa(key):
    ref = REF["cfa"][key]
    theta = _matrix(ref["theta"]).loc[ref["items"], ref["items"]].to_numpy()
    sample_cov = _matrix(ref["sample_cov"]).loc[ref["items"], ref["items"]].to_numpy()
    return ref, theta, sample_cov


@pytest.mark.parametrize("key", CFA_KEYS)
def test_omega_matches_compRelSEM(key):
    """Omega with the observed total variance as denominator.

    R: ``semTools::compRelSEM(lavaan::cfa(model, data))`` (default
    ``obs.var = TRUE``); inputs ``lavInspect(fit, "est")$lambda``,
    ``lavInspect(fit, "cov.lv")``, ``$theta`` and ``lavInspect(fit,
    "sampstat")$cov``. Likert fit with ``missing = "listwise"``. Tolerance 1e-6.
    """
    ref, theta, s = _cfa(key)
    omega = rel.omega_from_cfa(ref["lambda"], ref["psi"], theta, s)
    assert omega == pytest.approx(ref["omega"], abs=TOL)


@pytest.mark.parametrize("key", CFA_KEYS)
def test_omega_model_implied_matches_compRelSEM(key):
    """Omega with the model-implied total variance (counts residual covariances).

    R: ``semTools::compRelSEM(fit, obs.var = FALSE)``; tolerance 1e-6.
    ``visual_textual_cr`` (``f =~ x1 + ... + x6; x4 ~~ x5``) checks that an
    off-diagonal Theta element enters the denominator.
    """
    ref, theta, s = _cfa(key)
    omega = rel.omega_from_cfa(ref["lambda"], ref["psi"], theta, s, obs_var=False)
    assert omega == pytest.approx(ref["omega_model"], abs=TOL)
    if key != "visual_textual_cr":  # diagonal Theta: a vector works too
        vec = rel.omega_from_cfa(ref["lambda"], ref["psi"], np.diag(theta), obs_var=False)
        assert vec == pytest.approx(omega, abs=1e-14)


def test_omega_arguments():
    """omega_from_cfa needs sample_cov (obs_var=True) or residual_cov (False); no R call."""
    with pytest.raises(ValueError):
        rel.omega_from_cfa([1, 1], 1.0, np.eye(2))
    with pytest.raises(ValueError):
        rel.omega_from_cfa([1, 1], 1.0, None, np.eye(2), obs_var=False)
    with pytest.raises(ValueError):
        rel.omega_from_cfa([1, 1], 1.0, None, np.eye(3))
    # Parallel items with unit loadings and unit residuals: 4/(4+2)
    assert rel.omega_from_cfa([1, 1], 1.0, [1, 1], obs_var=False) == pytest.approx(2 / 3)


@pytest.mark.parametrize("key", CFA_KEYS)
def test_composite_reliability(key):
    """CR from standardized loadings.

    R: ``l <- subset(standardizedSolution(fit), op == "=~")$est.std;
    sum(l)^2 / (sum(l)^2 + sum(1 - l^2))`` (tolerance 1e-12 on the same
    loadings) and, for models without residual covariances,
    ``semTools::compRelSEM(cfa(model, data = scale(na.omit(x))), obs.var = FALSE)``
    (tolerance 1e-6; separate fit, so optimizer noise ~1e-8).
    """
    ref = REF["cfa"][key]
    cr = rel.composite_reliability(ref["std_loadings"])
    assert cr == pytest.approx(ref["cr_by_hand"], abs=1e-12)
    if key != "visual_textual_cr":
        assert cr == pytest.approx(ref["cr_compRelSEM_z"], abs=TOL)


@pytest.mark.parametrize("key", CFA_KEYS)
def test_ave_fornell_larcker_vs_semtools(key):
    """AVE.

    * unweighted (Fornell & Larcker): ``mean(l^2)`` of the std.all loadings,
      tolerance 1e-12;
    * weighted by observed item variances: ``semTools::AVE(fit)`` (=
      ``sum(lambda^2) * psi / sum(diag(lavInspect(fit, "sampstat")$cov))``),
      tolerance 1e-6;
    * the unweighted value differs from ``semTools::AVE(fit)`` by less than
      5e-3 on these data (not 1e-3: the HS factors differ by 0.0032-0.0036
      because the item variances differ).
    """
    ref, _, s = _cfa(key)
    ave = rel.average_variance_extracted(ref["std_loadings"])
    assert ave == pytest.approx(ref["ave_by_hand_mean_std_sq"], abs=1e-12)
    assert abs(ave - ref["ave"]) < 5e-3
    weighted = rel.average_variance_extracted(ref["std_loadings"], np.diag(s))
    assert weighted == pytest.approx(ref["ave"], abs=TOL)
    assert ref["ave_model"] == pytest.approx(ref["ave"], abs=TOL)


def test_ave_three_factor_model_matches_semtools(hs):
    """Per-factor AVE of the three-factor HS model.

    R: ``semTools::AVE(lavaan::cfa(hs_model, data = hs))`` against
    ``average_variance_extracted(std.all loadings, item variances)``; the
    item variances are taken from the data (divisor irrelevant). Tolerance 1e-6.
    """
    tf = REF["three_factor"]
    sets = _item_sets(tf["model"])
    for factor, items in sets.items():
        ave = rel.average_variance_extracted(tf["std_loadings"][factor], hs[items].var(ddof=0))
        assert ave == pytest.approx(tf["ave"][factor], abs=TOL), factor


# ---------------------------------------------------------------------------
# HTMT and Fornell-Larcker
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("key", HTMT_KEYS)
def test_htmt_matches_semtools(key, hs, lik):
    """HTMT matrix.

    R: ``semTools::htmt(model, data = x, ...)`` with the arguments in the key:
    default (``htmt2 = TRUE``, geometric mean of |r|, listwise ``lavCor``),
    ``htmt2 = FALSE`` (arithmetic mean, Henseler et al. 2015), ``absolute =
    FALSE``, ``missing = "pairwise"``. Tolerance 1e-6.
    """
    ref = REF["htmt"][key]
    args = ref["args"] or {}
    data = lik if key.startswith("likert") else hs
    out = rel.htmt(
        data,
        _item_sets(ref["model"]),
        mean="arithmetic" if args.get("htmt2") is False else "geometric",
        absolute=args.get("absolute", True),
        missing=args.get("missing", "listwise"),
    )
    expected = _matrix(ref["htmt"])
    assert list(out.index) == list(expected.index) == list(out.columns)
    np.testing.assert_allclose(out.to_numpy(), expected.to_numpy(), rtol=0, atol=TOL)


def test_htmt_from_correlation_or_covariance_matrix(hs):
    """HTMT from a matrix instead of raw data.

    R: ``semTools::htmt(hs_model, sample.cov = cor(hs[, paste0("x", 1:9)]))``;
    a covariance matrix gives the same (cov2cor). Tolerance 1e-6.
    """
    tf = REF["three_factor"]
    x = hs[[f"x{i}" for i in range(1, 10)]]
    expected = _matrix(tf["htmt_from_cor"]).to_numpy()
    for matrix in (x.corr(), x.cov()):
        out = rel.htmt(matrix, _item_sets(tf["model"]))
        np.testing.assert_allclose(out.to_numpy(), expected, rtol=0, atol=TOL)


def test_htmt_arguments(hs):
    """Geometric HTMT needs absolute correlations; unknown items are an InputError."""
    with pytest.raises(ValueError):
        rel.htmt(hs, {"a": ["x1", "x2"], "b": ["x3", "x4"]}, absolute=False)
    with pytest.raises(InputError, match="nope"):
        rel.htmt(hs, {"a": ["x1", "nope"], "b": ["x3", "x4"]})


def test_fornell_larcker_table():
    """Fornell-Larcker table of the three-factor HS model.

    R: ``FL <- lavInspect(fit, "cor.lv"); diag(FL) <- sqrt(semTools::AVE(fit))``
    with ``fit <- lavaan::cfa(hs_model, data = hs)``; exact (1e-15).
    """
    tf = REF["three_factor"]
    corr = _matrix(tf["cor_lv"])
    table = rel.fornell_larcker(corr, tf["ave"])
    assert list(table.index) == tf["factors"] == list(table.columns)
    for i, a in enumerate(tf["factors"]):
        for j, b in enumerate(tf["factors"]):
            expected = np.sqrt(tf["ave"][a]) if i == j else corr.loc[a, b]
            assert table.loc[a, b] == pytest.approx(expected, abs=1e-15)
    with pytest.raises(InputError):
        rel.fornell_larcker(corr, {"visual": 0.5})
