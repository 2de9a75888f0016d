"""A large survey (200,000 respondents) through read_table and prepare.

The numbers coscale computes from it must be those of a plain pandas
computation on the same file: the prepared answers exactly, and the
statistics the analyses start from (item means, pairwise-complete and
listwise covariances, missingness patterns, screening counts) to within
rounding (1e-12, relative). The data are generated here (numpy, fixed seed):
15 items in 3 scales of 5, answers 1-5, about 1% missing, one reverse-keyed
item per scale, plus id and group columns, as bench/large_files.py makes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coscale.scales import Instrument, Item, Response, Scale
from coscale.stats import fiml, moments, reliability
from coscale.survey import prepare, read_table

N = 200_000
ITEMS = {"s1": ["a1", "a2", "a3", "a4", "a5"], "s2": ["b1", "b2", "b3", "b4", "b5"], "s3": ["c1", "c2", "c3", "c4", "c5"]}
COLUMNS = [c for cols in ITEMS.values() for c in cols]
REVERSE = ("a5", "b5", "c5")
RTOL = 1e-12


def instrument() -> Instrument:
    scales = tuple(
        Scale(
            name=name,
            items=tuple(Item(id=c, column=c, reverse=c in REVERSE) for c in cols),
            response=Response(min=1, max=5),
            missing_codes=(9,),
        )
        for name, cols in ITEMS.items()
    )
    return Instrument(scales=scales, path="large.yaml")


def simulate(n: int, seed: int = 20261128) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    phi = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]])
    eta = rng.standard_normal((n, 3)) @ np.linalg.cholesky(phi).T
    data = {"id": np.arange(1, n + 1), "group": np.array(["A", "B", "C", "D"])[rng.integers(0, 4, n)]}
    for f, cols in enumerate(ITEMS.values()):
        for j, col in enumerate(cols):
            lam = 0.6 + 0.05 * j
            y = lam * eta[:, f] + np.sqrt(1 - lam**2) * rng.standard_normal(n)
            answer = (np.searchsorted([-1.6, -0.6, 0.5, 1.5], y) + 1).astype(float)
            answer[rng.random(n) < 0.01] = np.nan
            data[col] = answer
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    frame = simulate(N)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for col in COLUMNS:  # answers as integers in the CSV ("3", not "3.0")
        i = table.column_names.index(col)
        table = table.set_column(i, col, table.column(col).cast(pa.int8()))
    folder = tmp_path_factory.mktemp("large")
    csv_path, pq_path = folder / "survey.csv", folder / "survey.parquet"
    with open(csv_path, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"))
    pq.write_table(table, pq_path)
    return {"csv": str(csv_path), "parquet": str(pq_path)}


@pytest.fixture(scope="module")
def reference(files):
    """The prepared answers by plain pandas: read, reverse-key (1 + 5 - x)."""
    ref = pd.read_csv(files["csv"])
    items = ref[COLUMNS].astype(float)
    for col in REVERSE:
        items[col] = 6.0 - items[col]
    items.index = pd.RangeIndex(1, len(ref) + 1, name="row")
    return ref, items


@pytest.fixture(scope="module")
def prepared(files):
    df = read_table(files["csv"])
    return df, prepare(df, instrument(), source="survey.csv", id_column="id", group="group")


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=RTOL, atol=1e-14)


def test_the_file_is_read_with_the_types_pandas_gives(files, reference, prepared):
    df, _ = prepared
    ref, _ = reference
    assert df.shape == (N, 17)
    assert df["id"].dtype == np.int64
    assert all(df[c].dtype == np.float64 for c in COLUMNS)
    pd.testing.assert_frame_equal(df[["id"] + COLUMNS], ref[["id"] + COLUMNS])
    assert df["group"].tolist() == ref["group"].tolist()


def test_prepared_answers_equal_the_pandas_reference_exactly(reference, prepared):
    _, items = reference
    _, p = prepared
    pd.testing.assert_frame_equal(p.data, items)
    assert p.group.tolist() == reference[0]["group"].tolist()
    assert p.ids.tolist() == [str(i) for i in range(1, N + 1)]
    assert p.groups == ["A", "B", "C", "D"]


def test_screening_counts(reference, prepared):
    _, items = reference
    _, p = prepared
    s = p.screening
    assert s.rows_read == N and s.rows_used == int(items.notna().all(axis=1).sum())
    assert s.missing_per_item == {c: int(items[c].isna().sum()) for c in COLUMNS}
    assert s.duplicate_ids == [] and s.zero_variance_items == []
    ref_raw = reference[0][COLUMNS]
    for scale, cols in ITEMS.items():
        block = ref_raw[cols]
        same = block.notna().all(axis=1) & block.max(axis=1).eq(block.min(axis=1))
        assert s.straightliners[scale]["count"] == int(same.sum())
        assert s.straightliners[scale]["rows"] == [int(r) + 1 for r in np.flatnonzero(same.to_numpy())[:20]]


def test_means_and_pairwise_covariances_match_pandas(reference, prepared):
    _, items = reference
    _, p = prepared
    for scale, cols in ITEMS.items():
        table = reliability.item_statistics(p.data[cols], 1, 5)
        close(table["mean"], items[cols].mean())
        close(table["sd"], items[cols].std())
        close(table["n"], items[cols].notna().sum())
    pairwise = reliability._Pairwise(p.data.to_numpy())
    close(pairwise.cov(), items.cov())  # pandas: pairwise-complete, divisor n - 1
    close(pairwise.mean, items.mean())
    alpha = reliability.cronbach_alpha(p.data[ITEMS["s2"]])
    c = items[ITEMS["s2"]].cov().to_numpy()
    close(alpha.alpha, (1 - np.trace(c) / c.sum()) * 5 / 4)


def test_listwise_moments_match_pandas(reference, prepared):
    _, items = reference
    _, p = prepared
    complete = items.dropna()
    (m,) = moments.listwise_moments(p.data, COLUMNS)
    assert m.n == len(complete)
    close(m.mean, complete.mean())
    close(m.cov, complete.cov(ddof=0))
    by_group = moments.listwise_moments(p.data, COLUMNS, p.group, p.groups)
    labels = reference[0]["group"].to_numpy()
    for g in by_group:
        rows = complete[labels[complete.index - 1] == g.name]
        assert g.n == len(rows)
        close(g.cov, rows.cov(ddof=0))


def test_missingness_patterns_match_pandas(reference, prepared):
    _, items = reference
    _, p = prepared
    (pats,) = fiml.missing_patterns(p.data, COLUMNS)
    mask = items.notna()
    groups = items.groupby([mask[c] for c in COLUMNS])
    assert pats.n_patterns == groups.ngroups and pats.n_total == N
    counts = groups.size()
    for k in range(pats.n_patterns):
        key = tuple(bool(b) for b in pats.observed[k])
        assert pats.n[k] == counts.loc[key]
    largest = int(np.argmax(pats.n))
    key = tuple(bool(b) for b in pats.observed[largest])
    close(pats.mean[largest], groups.get_group(key).mean())


def test_parquet_with_only_the_needed_columns_gives_the_same_data(files, prepared):
    _, p = prepared
    needed = ["id", "group"] + COLUMNS
    df = read_table(files["parquet"], columns=needed)
    assert list(df.columns) == needed
    q = prepare(df, instrument(), source="survey.parquet", id_column="id", group="group")
    pd.testing.assert_frame_equal(q.data, p.data)
    assert q.screening == p.screening
    csv_subset = read_table(files["csv"], columns=COLUMNS)
    assert list(csv_subset.columns) == COLUMNS
    pd.testing.assert_frame_equal(prepare(csv_subset, instrument(), source="s").data, p.data)
