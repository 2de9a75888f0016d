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

import numpy as np
import pandas as pd

__all__ = ["answer_distributions", "MAX_CATEGORIES", "BASIS"]

#: more answer categories than this and an item is not treated as a Likert item
MAX_CATEGORIES = 11

#: what the counts are, in words (kept in the result)
BASIS = "answers as given (reverse keying undone); missing answers not counted"


def _number(x: float):
    """1.0 -> 1, 2.5 -> 2.5 (JSON-friendly, prints as the respondent saw it)."""
    f = float(x)
    return int(f) if f.is_integer() else f


def _categories(scale, raw: pd.DataFrame) -> list | None:
    """The answer categories of a scale: its response range, plus any other value answered.

    None when the answers are not Likert-like (more than :data:`MAX_CATEGORIES`
    distinct values, or a range that wide).
    """
    observed = {float(v) for v in _distinct(_finite(raw.to_numpy(dtype=float)))}
    values = set(observed)
    lo, hi = scale.response.min, scale.response.max
    if lo is not None and hi is not None and float(lo).is_integer() and float(hi).is_integer():
        if hi - lo + 1 > MAX_CATEGORIES:
            return None
        values |= {float(v) for v in range(int(lo), int(hi) + 1)}
    if not values or len(values) > MAX_CATEGORIES:
        return None
    return sorted(values)


def _distinct(x: np.ndarray) -> np.ndarray:
    """Distinct values; whole-number answers in a modest range are found without sorting."""
    if x.size == 0:
        return x
    lo, hi = x.min(), x.max()
    if hi - lo <= 10_000:
        shifted = x - lo
        whole = shifted.astype(np.int64)
        if np.array_equal(whole, shifted):
            return np.flatnonzero(np.bincount(whole)) + lo
    return np.unique(x)


def _finite(values: np.ndarray) -> np.ndarray:
    flat = values.ravel()
    return flat[np.isfinite(flat)]


def _counts(column: pd.Series, categories: list) -> tuple[list, int]:
    """Answers per category (vectorised: one searchsorted over the column) and missing answers."""
    x = column.to_numpy(dtype=float)
    answered = x[~np.isnan(x)]
    cats = np.asarray(categories, dtype=float)
    if cats.size and np.array_equal(cats, cats[0] + np.arange(cats.size)):  # 1, 2, ..., k: count directly
        shifted = answered - cats[0]
        idx = shifted.astype(np.int64)
        ok = (idx == shifted) & (idx >= 0) & (idx < cats.size)
        counts = np.bincount(idx[ok], minlength=cats.size)
    else:
        pos = np.searchsorted(cats, answered)
        inside = pos < cats.size
        hit = np.zeros(answered.size, dtype=bool)
        hit[inside] = cats[pos[inside]] == answered[inside]
        counts = np.bincount(pos[hit], minlength=cats.size)
    return [int(c) for c in counts], int(x.size - answered.size)


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
    return labels.astype(object).where(labels.notna(), None).map(lambda v: None if v is None else str(v))


def answer_distributions(prepared_data, instrument, group=None, groups=None) -> dict:
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
            order = list(dict.fromkeys(v for v in labels.tolist() if v is not None))
        else:
            order = [str(g) for g in groups]
    else:
        order = []

    scales_out = []
    for scale in instrument.scales:
        columns = [c for c in scale.columns if c in frame.columns]
        raw = frame[columns].astype(float).copy()
        reverse = set(scale.reverse_columns)
        lo, hi = scale.response.min, scale.response.max
        for c in columns:
            if c in reverse and lo is not None and hi is not None:
                raw[c] = lo + hi - raw[c]  # back to the answer as given
        categories = _categories(scale, raw)
        likert = categories is not None
        cats = categories or []
        response_labels = list(scale.response.labels or ())
        items = []
        for c in columns:
            col = raw[c]
            if likert:
                counts, missing = _counts(col, cats)
            else:
                counts, missing = [], int(col.isna().sum())
            entry = {
                "item": c,
                "reverse": c in reverse,
                "counts": counts,
                "n": int(col.notna().sum()),
                "missing": missing,
                "groups": {},
            }
            for g in order:
                part = col[labels == g]
                g_counts, g_missing = _counts(part, cats) if likert else ([], int(part.isna().sum()))
                entry["groups"][g] = {"counts": g_counts, "n": int(part.notna().sum()), "missing": g_missing}
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

