"""How often each answer category was chosen, per item (and per group).

The HTML report draws a diverging stacked bar chart of every Likert item from
these counts; the result objects carry them in their ``distributions`` field,
so that renderers never read raw data.

Counts are of the answers *as given*: reverse keying is undone (``min + max -
x``) so that a category's label ("Agree") means what the respondent ticked.
Missing answers (empty cells, missing-value codes, coerced out-of-range
values) are not counted in any category; they are counted in ``missing``.

>>> import pandas as pd
>>> from coscale.scales import parse_instrument
>>> inst = parse_instrument({"response": {"min": 1, "max": 3, "labels": ["No", "Maybe", "Yes"]},
...                          "scales": [{"name": "s", "items": ["a", "b", "c"]}]}, "doc")
>>> frame = pd.DataFrame({"a": [1, 2, 2, None], "b": [3, 3, 1, 2], "c": [1, 1, 1, 2]})
>>> d = answer_distributions(frame, inst)
>>> d["scales"][0]["categories"], d["scales"][0]["labels"]
([1, 2, 3], ['No', 'Maybe', 'Yes'])
>>> d["scales"][0]["items"][0]["counts"], d["scales"][0]["items"][0]["missing"]
([1, 2, 0], 1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["answer_distributions", "ItemCounts", "expected_answers", "MAX_CATEGORIES", "BASIS"]

#: more answer categories than this and an item is not treated as a Likert item
MAX_CATEGORIES = 11

#: what the counts are, in words (kept in the result)
BASIS = "answers as given (reverse keying undone); missing answers not counted"


def _number(x: float):
    """1.0 -> 1, 2.5 -> 2.5 (JSON-friendly, prints as the respondent saw it)."""
    f = float(x)
    return int(f) if f.is_integer() else f


@dataclass(frozen=True)
class ItemCounts:
    """Each item's distinct answers and how often each was given: one look at every answer.

    Everything the item-level summaries need follows from these counts
    without going back to the rows: the answer categories of the
    distributions, floor and ceiling shares, the number of categories the
    estimator choice counts, and exact moments (mean, SD, skewness,
    kurtosis), since a sum over rows is a sum over distinct values weighted
    by their counts.

    Attributes
    ----------
    variables : tuple of str
    values : tuple of ndarray
        Per item, its distinct non-missing answers in increasing order.
    counts : tuple of ndarray of int
        Per item, how many respondents gave each of ``values``.
    missing : ndarray of int
        Per item, the missing answers (NaN).
    """

    variables: tuple
    values: tuple
    counts: tuple
    missing: np.ndarray

    @classmethod
    def from_values(cls, x: np.ndarray, variables, expected=None, answered=None) -> "ItemCounts":
        """Count the answers of a (rows, items) float array (NaN = missing).

        Parameters
        ----------
        x : ndarray, shape (n, p)
        variables : sequence of str
        expected : sequence, optional
            Per item, the answers to look for first (e.g. the response range
            1, ..., 5): when counting them accounts for every answer, no other
            value can occur and the item is done in one comparison per value.
        answered : ndarray of int, optional
            Per item, the number of non-missing answers, if known (saves a pass).
        """
        n, p = x.shape
        values, counts, missing = [], [], np.empty(p, dtype=np.int64)
        for j in range(p):
            col = x[:, j]
            k = int(answered[j]) if answered is not None else int(np.count_nonzero(col == col))
            missing[j] = n - k
            cand = np.asarray(expected[j] if expected is not None and expected[j] is not None else (), dtype=float)
            if 0 < cand.size <= MAX_CATEGORIES:
                c = np.array([np.count_nonzero(col == v) for v in cand], dtype=np.int64)
                if c.sum() == k:
                    hit = c > 0
                    values.append(cand[hit])
                    counts.append(c[hit])
                    continue
            v, c = _tally(col[~np.isnan(col)])
            values.append(v)
            counts.append(c)
        return cls(tuple(variables), tuple(values), tuple(counts), missing)

    def index(self, item) -> int:
        return self.variables.index(item)

    def n_distinct(self) -> np.ndarray:
        """Distinct answers per item."""
        return np.array([len(v) for v in self.values], dtype=np.int64)

    def share(self, bound) -> np.ndarray:
        """Per item, the share of its answers equal to ``bound`` (NaN without a bound or answers)."""
        out = np.full(len(self.variables), np.nan)
        if bound is None:
            return out
        for j, (v, c) in enumerate(zip(self.values, self.counts)):
            total = c.sum()
            if total:
                out[j] = c[v == bound].sum() / total
        return out

    def moments(self) -> tuple[np.ndarray, ...]:
        """Per item ``(n, mean, sd, skewness, excess kurtosis)``, psych's ``describe`` (type 3).

        ``sd`` has divisor n - 1; skewness is ``sum((x - m)^3) / (n sd^3)`` and
        kurtosis ``sum((x - m)^4) / (n sd^4) - 3`` (Joanes & Gill 1998, b1 and
        b2 with the n - 1 SD). NaN where an item has fewer than 2 answers.
        """
        p = len(self.variables)
        n, mean, sd, skew, kurt = (np.full(p, np.nan) for _ in range(5))
        for j, (v, c) in enumerate(zip(self.values, self.counts)):
            w = c.astype(float)
            n[j] = total = w.sum()
            if total == 0:
                continue
            mean[j] = m = float(w @ v) / total
            d = v - m
            d2 = d * d
            s2, s3, s4 = float(w @ d2), float(w @ (d2 * d)), float(w @ (d2 * d2))
            if total >= 2:
                sd[j] = s = np.sqrt(s2 / (total - 1.0))
                with np.errstate(divide="ignore", invalid="ignore"):
                    skew[j] = s3 / (total * s**3)
                    kurt[j] = s4 / (total * s**4) - 3.0
        return n, mean, sd, skew, kurt

    def select(self, items) -> "ItemCounts":
        """The counts of some of the items."""
        idx = [self.index(i) for i in items]
        return ItemCounts(tuple(items), tuple(self.values[i] for i in idx), tuple(self.counts[i] for i in idx),
                          self.missing[idx])


def _tally(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of ``x`` (no NaN) and their counts; whole numbers in a modest range without sorting."""
    if x.size == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    lo, hi = x.min(), x.max()
    if hi - lo <= 10_000:
        shifted = x - lo
        whole = shifted.astype(np.int64)
        if np.array_equal(whole, shifted):
            every = np.bincount(whole)
            present = np.flatnonzero(every)
            return present + lo, every[present].astype(np.int64)
    v, c = np.unique(x, return_counts=True)
    return v, c.astype(np.int64)


def _categories(scale, raw: dict) -> list | None:
    """The answer categories of a scale: its response range, plus any other value answered.

    None when the answers are not Likert-like (more than :data:`MAX_CATEGORIES`
    distinct values, or a range that wide). ``raw[item]`` are an item's
    distinct answers as given.
    """
    observed = {float(v) for item in raw for v in raw[item]}
    values = set(observed)
    lo, hi = scale.response.min, scale.response.max
    if lo is not None and hi is not None and float(lo).is_integer() and float(hi).is_integer():
        if hi - lo + 1 > MAX_CATEGORIES:
            return None
        values |= {float(v) for v in range(int(lo), int(hi) + 1)}
    if not values or len(values) > MAX_CATEGORIES:
        return None
    return sorted(values)


def _category_counts(values: np.ndarray, counts: np.ndarray, categories: list) -> list:
    """Answers per category, from an item's distinct answers and their counts."""
    cats = np.asarray(categories, dtype=float)
    out = np.zeros(cats.size, dtype=np.int64)
    pos = np.searchsorted(cats, values)
    inside = pos < cats.size
    hit = np.zeros(values.size, dtype=bool)
    hit[inside] = cats[pos[inside]] == values[inside]
    np.add.at(out, pos[hit], counts[hit])
    return [int(c) for c in out]


def expected_answers(instrument, items) -> list:
    """Per item, the answers its scale's response range allows (None when not a small whole-number range)."""
    ranges = {}
    for scale in instrument.scales:
        lo, hi = scale.response.min, scale.response.max
        ok = (lo is not None and hi is not None and float(lo).is_integer() and float(hi).is_integer()
              and 0 <= hi - lo < MAX_CATEGORIES)
        for c in scale.columns:
            ranges.setdefault(c, np.arange(int(lo), int(hi) + 1, dtype=float) if ok else None)
    return [ranges.get(c) for c in items]


def _group_labels(frame: pd.DataFrame, group) -> pd.Series | None:
    if group is None:
        return None
    if isinstance(group, str):
        if group not in frame.columns:
            raise KeyError(f"group column {group!r} is not in the data")
        labels = frame[group]
    else:
        labels = pd.Series(group)
        if len(labels) == len(frame) and not labels.index.equals(frame.index):
            if isinstance(group, pd.Series) and set(labels.index) >= set(frame.index):
                labels = labels.reindex(frame.index)
            else:
                labels = pd.Series(labels.to_numpy(), index=frame.index)
        else:
            labels = labels.reindex(frame.index)
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)  # the text of each distinct label, not of every row
    names = np.array([str(u) for u in uniques] + [None], dtype=object)  # code -1 (no label): None
    return pd.Series(names[codes], index=labels.index, dtype=object)


def _counts_of(frame: pd.DataFrame, items: list, instrument) -> ItemCounts:
    values = frame[items].to_numpy(dtype=float, na_value=np.nan)
    return ItemCounts.from_values(values, items, expected_answers(instrument, items))


def answer_distributions(prepared_data, instrument, group=None, groups=None, counts: ItemCounts | None = None) -> dict:
    """Count the answers to every item in each answer category, overall and per group.

    Parameters
    ----------
    prepared_data : pandas.DataFrame or coscale.survey.Prepared
        The item answers after :func:`coscale.survey.prepare` (``Prepared.data``:
        missing codes removed, reverse-keyed items recoded). A ``Prepared``
        object may be passed whole; its ``group`` and ``groups`` are then used
        when ``group``/``groups`` are not given.
    instrument : coscale.scales.Instrument
        The scales, for item order, reverse keying, response range and labels.
    group : pandas.Series or str, optional
        Each row's group (``Prepared.group``, aligned on the index), or the
        name of a column of ``prepared_data``.
    groups : list of str, optional
        The groups to report and their order (the first is the reference).
        By default every group, in order of first appearance.
    counts : ItemCounts, optional
        The counts of the whole sample's (recoded) answers, when already made.

    Returns
    -------
    dict
        JSON-ready::

            {"basis": "...", "group_column": "role" | None, "groups": ["citizen", ...],
             "scales": [{"name", "label", "likert": bool, "categories": [1, 2, 3, 4, 5],
                         "labels": ["Strongly disagree", ...] or [],
                         "items": [{"item", "reverse": bool, "counts": [...], "n": int,
                                    "missing": int,
                                    "groups": {"citizen": {"counts": [...], "n": int,
                                                           "missing": int}, ...}}]}]}

        ``counts[i]`` is the number of answers equal to ``categories[i]``.
        ``labels`` are the scale's response labels when there is one per
        category, else empty (a report then shows the category values). A
        scale answered in more than :data:`MAX_CATEGORIES` distinct values is
        not Likert-like: ``likert`` is False and ``categories``/``counts``
        are empty (only ``n`` and ``missing`` are given). ``groups`` per item
        is empty without a group.
    """
    frame = prepared_data
    if not isinstance(frame, pd.DataFrame) and hasattr(frame, "data"):
        prepared = frame
        frame = prepared.data
        if group is None and getattr(prepared, "group", None) is not None:
            group = prepared.group
            if groups is None:
                groups = getattr(prepared, "groups", None)
    labels = _group_labels(frame, group)
    group_column = None
    if labels is not None:
        group_column = group if isinstance(group, str) else getattr(group, "name", None)
        if groups is None:
            order = [v for v in pd.unique(labels.to_numpy(dtype=object)) if v is not None]
        else:
            order = [str(g) for g in groups]
    else:
        order = []

    items_all = [c for c in dict.fromkeys(instrument.columns) if c in frame.columns]
    if counts is None or not set(items_all) <= set(counts.variables):
        counts = _counts_of(frame, items_all, instrument)
    by_group = {}
    if order:
        hit = labels.to_numpy(dtype=object)
        for g in order:
            by_group[g] = _counts_of(frame.loc[hit == g], items_all, instrument)

    scales_out = []
    for scale in instrument.scales:
        columns = [c for c in scale.columns if c in frame.columns]
        reverse = set(scale.reverse_columns)
        lo, hi = scale.response.min, scale.response.max
        flip = lo is not None and hi is not None

        def raw(values, c):  # back to the answers as given
            return lo + hi - values if c in reverse and flip else values

        categories = _categories(scale, {c: raw(counts.values[counts.index(c)], c) for c in columns})
        likert = categories is not None
        cats = categories or []
        response_labels = list(scale.response.labels or ())
        items = []

        def entry_of(tally: ItemCounts, c) -> dict:
            j = tally.index(c)
            values, n_of = raw(tally.values[j], c), tally.counts[j]
            return {"counts": _category_counts(values, n_of, cats) if likert else [],
                    "n": int(n_of.sum()), "missing": int(tally.missing[j])}

        for c in columns:
            entry = {"item": c, "reverse": c in reverse, **entry_of(counts, c), "groups": {}}
            for g in order:
                entry["groups"][g] = entry_of(by_group[g], c)
            items.append(entry)
        scales_out.append(
            {
                "name": scale.name,
                "label": scale.label or scale.name,
                "likert": likert,
                "categories": [_number(v) for v in cats],
                "labels": response_labels if likert and len(response_labels) == len(cats) else [],
                "items": items,
            }
        )
    return {
        "basis": BASIS,
        "group_column": group_column,
        "groups": order,
        "scales": scales_out,
    }

