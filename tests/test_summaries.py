"""The summaries ``validate`` reads instead of the rows: missingness patterns and answer counts.

``validate`` looks at the answers once (:func:`coscale.api._summaries`): per
missingness pattern the count, means and ML covariances
(:class:`coscale.stats.fiml.MissingPatterns`), and per item the distinct answers
and their counts (:class:`coscale.stats.distributions.ItemCounts`). Alpha, item
statistics, HTMT, the estimator choice, the answer distributions and the
ML / FIML moments come from these. Each test here checks a summary-based
result against the same quantity computed directly from the rows (the
row-based functions are themselves checked against psych, semTools and
lavaan in test_reliability.py, test_fiml.py and test_cfa.py); tolerances are
rounding-level (1e-10 relative or tighter).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coscale.stats import reliability as rel
from coscale.stats.choice import choose
from coscale.stats.distributions import ItemCounts, answer_distributions, expected_answers
from coscale.stats.fiml import MissingPatterns
from coscale.stats.moments import listwise_moments
from coscale.scales import parse_instrument


def _likert(n: int, p: int, share_missing: float, seed: int, *, offset: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n, 1))
    x = np.clip(np.rint(3 + common + rng.normal(size=(n, p))), 1, 5) + (offset - 1.0)
    x[rng.random((n, p)) < share_missing] = np.nan
    return np.asfortranarray(x)


def _groupby(x: np.ndarray):
    """Per pattern (as a tuple of answered flags): the rows, by pandas."""
    frame = pd.DataFrame(x)
    key = frame.notna().apply(lambda r: tuple(r.to_numpy()), axis=1)
    return {k: g.to_numpy() for k, g in frame.groupby(key) if any(k)}


@pytest.mark.parametrize(
    "n, p, share, offset",
    [
        (3000, 6, 0.10, 1.0),  # 16-bit pattern codes
        (2000, 20, 0.03, 1.0),  # 64-bit pattern codes
        (400, 70, 0.002, 1.0),  # beyond 63 items: rows sorted by pattern
        (3000, 5, 0.0, 1.0),  # nothing missing: one pattern
        (3000, 4, 0.6, 1.0),  # most rows incomplete
        (3000, 6, 0.05, 1e6),  # answers far from 0 (shifted sums must not cancel)
    ],
)
def test_patterns_equal_a_groupby(n, p, share, offset):
    """Counts, means and ML covariances per pattern equal a pandas group-by (1e-9 relative)."""
    x = _likert(n, p, share, seed=n + p, offset=offset)
    x[7] = np.nan  # one row without any answer: dropped and counted
    pp = MissingPatterns.from_values(x, [f"v{j}" for j in range(p)])
    groups = _groupby(x)
    empty = int(np.isnan(x).all(axis=1).sum())
    assert pp.n_patterns == len(groups) and pp.n_dropped == empty >= 1 and pp.n_total == n - empty
    keys = [tuple(bool(v) for v in row) for row in pp.observed]
    assert keys == sorted(keys)  # numpy.unique's order: the complete pattern last
    for k, key in enumerate(keys):
        rows = groups[key]
        obs = pp.indices(k)
        y = rows[:, obs]
        assert pp.n[k] == len(rows)
        np.testing.assert_allclose(pp.mean[k, obs], y.mean(axis=0), rtol=1e-12)
        c = y - y.mean(axis=0)
        scale = max(1.0, float(np.abs(c.T @ c / len(y)).max()))
        np.testing.assert_allclose(pp.cov[k][np.ix_(obs, obs)], c.T @ c / len(y), rtol=0, atol=1e-9 * scale)
        assert not pp.mean[k, ~pp.observed[k]].any() and not pp.cov[k][~pp.observed[k]].any()


def test_patterns_leave_the_input_alone():
    x = _likert(500, 5, 0.1, seed=3)
    before = x.copy()
    MissingPatterns.from_values(x, list("abcde"))
    np.testing.assert_array_equal(x, before)


def test_no_answers_at_all_is_refused():
    with pytest.raises(ValueError, match="no respondent answered any item"):
        MissingPatterns.from_values(np.full((4, 3), np.nan), list("abc"))


def test_complete_pattern_is_listwise_deletion():
    """``MissingPatterns.complete()`` equals ``listwise_moments`` on the rows (1e-12); None without complete rows."""
    x = _likert(2000, 6, 0.05, seed=11)
    cols = [f"i{j}" for j in range(6)]
    frame = pd.DataFrame(x, columns=cols)
    got = MissingPatterns.from_values(x, cols).complete()
    want = listwise_moments(frame, cols)[0]
    assert got.n == want.n
    np.testing.assert_allclose(got.mean, want.mean, rtol=1e-12)
    np.testing.assert_allclose(got.cov, want.cov, rtol=0, atol=1e-12)
    x[:, 0] = np.where(np.arange(2000) % 2 == 0, np.nan, x[:, 0])
    x[:, 1] = np.where(np.arange(2000) % 2 == 1, np.nan, x[:, 1])
    assert MissingPatterns.from_values(x, cols).complete() is None


@pytest.mark.parametrize("share", [0.0, 0.08])
def test_alpha_from_patterns_equals_alpha_from_rows(share):
    """Every field of ``cronbach_alpha_from_patterns`` equals ``cronbach_alpha`` on the rows (1e-10)."""
    x = _likert(1500, 5, share, seed=5)
    x[3] = np.nan
    cols = list("abcde")
    want = rel.cronbach_alpha(pd.DataFrame(x, columns=cols))
    got = rel.cronbach_alpha_from_patterns(MissingPatterns.from_values(x, cols))
    assert (got.n_obs, got.n_complete, got.n_items, got.items) == (want.n_obs, want.n_complete, want.n_items, want.items)
    for field in ("alpha", "std_alpha"):
        assert getattr(got, field) == pytest.approx(getattr(want, field), rel=1e-10)
    for field in ("item_n", "alpha_if_deleted", "std_alpha_if_deleted", "item_rest"):
        np.testing.assert_allclose(getattr(got, field), getattr(want, field), rtol=1e-10)
    assert (got.ci.lower, got.ci.upper) == pytest.approx((want.ci.lower, want.ci.upper), rel=1e-10)


def test_alpha_of_a_scale_from_the_instruments_patterns():
    """Patterns pooled down to a scale's items (``marginal``) give that scale's alpha (1e-10)."""
    x = _likert(1500, 8, 0.06, seed=8)
    cols = [f"q{j}" for j in range(8)]
    pp = MissingPatterns.from_values(x, cols)
    scale = ["q5", "q1", "q2"]
    want = rel.cronbach_alpha(pd.DataFrame(x, columns=cols)[scale])
    got = rel.cronbach_alpha_from_patterns(pp.marginal(scale))
    assert got.alpha == pytest.approx(want.alpha, rel=1e-10)
    assert got.n_complete == want.n_complete and got.n_obs == want.n_obs


@pytest.mark.parametrize("share", [0.0, 0.08])
def test_item_statistics_from_summaries_equal_item_statistics(share):
    """``item_statistics_from_summary`` equals ``item_statistics`` on the rows, column by column (1e-9)."""
    x = _likert(1500, 5, share, seed=9)
    x[:, 4] = 6.0 - x[:, 4]
    cols = list("abcde")
    want = rel.item_statistics(pd.DataFrame(x, columns=cols), 1, 5)
    counts = ItemCounts.from_values(x, cols, [np.arange(1.0, 6.0)] * 5)
    got = rel.item_statistics_from_summary(MissingPatterns.from_values(x, cols), counts, 1, 5)
    assert list(got.columns) == list(want.columns) and list(got.index) == cols
    np.testing.assert_array_equal(got["n"].to_numpy(), want["n"].to_numpy())
    for c in want.columns.drop("n"):
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-9, err_msg=c)


def test_item_moments_from_counts_are_psych_type_3():
    """Skewness and kurtosis from counts equal the row formulas of psych::describe (type 3), 1e-10."""
    x = _likert(999, 3, 0.05, seed=13)
    counts = ItemCounts.from_values(x, list("abc"))
    n, mean, sd, skew, kurt = counts.moments()
    for j in range(3):
        v = x[:, j][~np.isnan(x[:, j])]
        m, s = v.mean(), v.std(ddof=1)
        assert n[j] == v.size and mean[j] == pytest.approx(m, rel=1e-12) and sd[j] == pytest.approx(s, rel=1e-12)
        assert skew[j] == pytest.approx(np.sum((v - m) ** 3) / (v.size * s**3), rel=1e-10)
        assert kurt[j] == pytest.approx(np.sum((v - m) ** 4) / (v.size * s**4) - 3.0, rel=1e-10)


def test_counts_look_beyond_the_expected_answers():
    """Answers outside the expected categories (a half point, a 7) are counted, not lost."""
    x = np.array([[1.0, 2.0], [2.0, 2.5], [7.0, np.nan], [1.0, 2.0]])
    counts = ItemCounts.from_values(x, ["a", "b"], [np.arange(1.0, 6.0)] * 2)
    assert counts.values[0].tolist() == [1.0, 2.0, 7.0] and counts.counts[0].tolist() == [2, 1, 1]
    assert counts.values[1].tolist() == [2.0, 2.5] and counts.counts[1].tolist() == [2, 1]
    assert counts.missing.tolist() == [0, 1]
    assert counts.share(2.0).tolist() == [0.25, pytest.approx(2 / 3)]


def test_continuous_answers_are_counted_by_value():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 2))
    counts = ItemCounts.from_values(x, ["a", "b"])
    assert counts.n_distinct().tolist() == [300, 300]
    np.testing.assert_allclose(counts.moments()[1], x.mean(axis=0), rtol=1e-12)


INSTRUMENT = parse_instrument(
    {
        "response": {"min": 1, "max": 5},
        "scales": [
            {"name": "s1", "items": ["a", "b", {"id": "c", "reverse": True}]},
            {"name": "s2", "items": ["d", "e", "f"]},
        ],
    },
    "test",
)


def test_distributions_and_choice_from_counts_equal_those_from_the_rows():
    """Answer distributions and the estimator choice are the same from counts made once as from the rows."""
    x = _likert(800, 6, 0.04, seed=21)
    frame = pd.DataFrame(x, columns=list("abcdef"))
    items = list("abcdef")
    counts = ItemCounts.from_values(x, items, expected_answers(INSTRUMENT, items))
    assert answer_distributions(frame, INSTRUMENT, counts=counts) == answer_distributions(frame, INSTRUMENT)
    assert choose(frame, INSTRUMENT, counts=counts) == choose(frame, INSTRUMENT)
    # the counts as given: reverse keying undone for c
    dist = answer_distributions(frame, INSTRUMENT, counts=counts)
    c_entry = dist["scales"][0]["items"][2]
    given = 6.0 - x[:, 2]
    assert c_entry["counts"] == [int(np.sum(given == v)) for v in range(1, 6)]
    assert c_entry["missing"] == int(np.isnan(x[:, 2]).sum())
