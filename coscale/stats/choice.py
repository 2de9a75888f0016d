"""Choosing the estimator and the missing-data method for the user (``--estimator auto``).

Rules, after Rhemtulla, Brosseau-Liard & Savalei (2012) and Finney & DiStefano
(2013):

* items declared ordinal, or answered in 4 or fewer categories: treat them as
  ordinal (WLSMV), since ML on so few categories biases loadings and fit;
* 5 or more categories with marked non-normality (some item with |skewness| > 1
  or |excess kurtosis| > 1): robust ML (MLR), whose SEs and scaled test
  statistic hold without normality;
* otherwise normal-theory ML.

Missing answers: full-information ML when an ML-family estimator is used and
some answers are missing (Enders 2010); listwise deletion when nothing is
missing. The reason is kept in words for the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: estimators and missing-data methods this version can fit
AVAILABLE_ESTIMATORS = ("ML", "MLM", "MLR", "WLSMV")
AVAILABLE_MISSING = ("listwise", "fiml")
#: estimators that can be combined with FIML
FIML_ESTIMATORS = ("ML", "MLR")
MISSING_ALIASES = {"ml": "fiml", "fiml": "fiml", "listwise": "listwise", "auto": "auto"}

SKEW_CUT = 1.0
KURTOSIS_CUT = 1.0


@dataclass(frozen=True)
class Choice:
    """The estimator and missing-data method used, and why."""

    estimator: str
    missing: str
    reason: str
    categories: int
    max_abs_skewness: float
    max_abs_kurtosis: float
    missing_answers: int

    def to_dict(self) -> dict:
        return {
            "estimator": self.estimator,
            "missing": self.missing,
            "reason": self.reason,
            "categories": self.categories,
            "max_abs_skewness": self.max_abs_skewness,
            "max_abs_kurtosis": self.max_abs_kurtosis,
            "missing_answers": self.missing_answers,
        }


def _shape(counts) -> tuple[int, float, float]:
    """Most answer categories of an item, largest |skewness| and |excess kurtosis| (psych type 3).

    From the items' answer counts (:class:`coscale.stats.distributions.ItemCounts`);
    items with fewer than 3 answers are not looked at.
    """
    n, _, sd, skew, kurt = counts.moments()
    seen = n >= 3
    if not seen.any():
        return 0, 0.0, 0.0
    cats = int(counts.n_distinct()[seen].max())
    varies = seen & (sd > 0)
    if not varies.any():
        return cats, 0.0, 0.0
    return cats, float(np.abs(skew[varies]).max()), float(np.abs(kurt[varies]).max())


def _answers(categories: int) -> str:
    return f"{categories} answer categories" if categories <= 10 else "Scores with many distinct values"


def choose(frame, instrument, estimator: str = "auto", missing: str = "auto", ordinal: bool = False,
           counts=None) -> Choice:
    """Pick the estimator and the missing-data method.

    Parameters
    ----------
    frame : pandas.DataFrame
        Prepared item data (after recoding).
    instrument : Instrument
        Its scales may declare ``response: {type: ordinal}``.
    estimator : {"auto", "ML", "MLM", "MLR", "WLSMV"}
    missing : {"auto", "listwise", "fiml"} (``"ml"`` is an alias of ``"fiml"``)
    ordinal : bool
        Treat every item as ordinal (``--ordinal``).
    counts : coscale.stats.distributions.ItemCounts, optional
        The items' answer counts, when already made (else counted from ``frame``).

    Returns
    -------
    Choice
    """
    from coscale.errors import InputError

    estimator = estimator.upper() if estimator.lower() != "auto" else "auto"
    if estimator != "auto" and estimator not in AVAILABLE_ESTIMATORS:
        raise InputError(f"--estimator {estimator}: choose from auto, {', '.join(AVAILABLE_ESTIMATORS)}")
    if missing.lower() not in MISSING_ALIASES:
        raise InputError(f"--missing {missing}: choose from auto, {', '.join(AVAILABLE_MISSING)}")
    missing = MISSING_ALIASES[missing.lower()]
    requested = estimator
    if missing == "fiml" and estimator not in ("auto",) + FIML_ESTIMATORS:
        raise InputError(
            f"--estimator {estimator} with --missing fiml: this version combines full-information ML only with "
            f"{', '.join(FIML_ESTIMATORS)}; use --missing listwise or --estimator ML"
        )
    items = list(dict.fromkeys(instrument.columns))
    if counts is None:
        from coscale.stats.distributions import ItemCounts, expected_answers

        counts = ItemCounts.from_values(frame[items].to_numpy(dtype=float), items, expected_answers(instrument, items))
    else:
        counts = counts.select(items)
    cats, skew, kurt = _shape(counts)
    n_missing = int(counts.missing.sum())
    declared = [s.name for s in instrument.scales if s.response.type == "ordinal"]

    if estimator != "auto":
        reason = f"{estimator} was requested."
        if ordinal and estimator != "WLSMV":
            raise InputError(f"--ordinal with --estimator {estimator}: ordinal items are estimated by WLSMV")
    elif declared or ordinal or cats <= 4:
        why = (f"the scale file declares {', '.join(declared)} ordinal" if declared
               else "the items were declared ordinal (--ordinal)" if ordinal
               else f"the items have at most {cats} answer categories")
        estimator = "WLSMV"
        reason = (f"{why[0].upper() + why[1:]}, so they are treated as ordinal: polychoric correlations and "
                  "WLSMV (diagonally weighted least squares with mean- and variance-adjusted test statistic; "
                  "Rhemtulla, Brosseau-Liard & Savalei 2012).")
    elif skew > SKEW_CUT or kurt > KURTOSIS_CUT:
        estimator = "MLR"
        reason = (f"{_answers(cats)} with marked non-normality (largest |skewness| {skew:.2f}, "
                  f"|excess kurtosis| {kurt:.2f}), so robust ML (MLR; Rhemtulla, Brosseau-Liard & Savalei 2012).")
    else:
        estimator = "ML"
        reason = (f"{_answers(cats)} and no marked non-normality (largest |skewness| {skew:.2f}, "
                  f"|excess kurtosis| {kurt:.2f}), so normal-theory ML.")

    if estimator == "WLSMV":
        if missing == "fiml":
            raise InputError("--missing fiml with ordinal items (WLSMV): use --missing listwise (lavaan's default for WLSMV)")
        missing = "listwise"
        if n_missing:
            reason += f" {n_missing} answers are missing; respondents with a missing answer are left out (listwise)."
        return Choice(estimator, missing, reason, cats, skew, kurt, n_missing)
    if missing == "auto":
        if not n_missing:
            missing = "listwise"
        elif estimator in FIML_ESTIMATORS:
            missing = "fiml"
            reason += (f" {n_missing} answers are missing, so full-information ML uses every answer given "
                       "(FIML; Enders 2010).")
        elif requested == "auto":
            reason += (f" {n_missing} answers are missing: full-information ML uses every answer given (FIML; "
                       f"Enders 2010), and this version combines it with ML only, so ML with FIML is used "
                       f"instead of {estimator}.")
            estimator, missing = "ML", "fiml"
        else:
            missing = "listwise"
            reason += (f" {n_missing} answers are missing; {estimator} with full-information ML is not available "
                       "in this version, so respondents with a missing answer are left out (listwise).")
    elif missing == "fiml":
        if estimator not in FIML_ESTIMATORS:
            estimator = "ML"
        reason += f" Full-information ML (FIML) uses every answer given ({n_missing} missing)."
    elif n_missing:
        reason += f" {n_missing} answers are missing; respondents with a missing answer are left out (listwise)."
    return Choice(estimator, missing, reason, cats, skew, kurt, n_missing)
