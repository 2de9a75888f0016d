"""Estimators: how a model is fitted, which statistics it reports, how models are compared.

An :class:`Estimation` holds the data summaries an estimator needs (sample
moments; fourth-order moments for robust ML) and offers the three things the
analyses ask of it: ``fit`` a parameter table, the fit ``measures`` of a fit,
and the ``difference`` test between nested fits. ``validate`` fits its CFA and
``invariance`` climbs its ladder through the same object, so every model of a
run is estimated the same way.

========  =========================================================  ====================
name      what it is                                                 lavaan
========  =========================================================  ====================
ML        normal-theory ML, expected-information SEs                 ``estimator = "ML"``
MLM       ML estimates, robust SEs, Satorra-Bentler scaled test      ``estimator = "MLM"``
MLR       ML estimates, Huber-White SEs, Yuan-Bentler scaled test    ``estimator = "MLR"``
========  =========================================================  ====================

With ``missing = "fiml"`` the same interface is served by
:class:`coscale.stats.fiml.FimlEstimation` (ML) and
:class:`coscale.stats.robust_fiml.RobustFimlEstimation` (MLR: lavaan's
``estimator = "MLR", missing = "ml"``). MLM needs complete data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.stats.estimate import Fit, fit_ml
from coscale.stats.fit import chisq_difference, fit_measures

ESTIMATORS = ("ML", "MLM", "MLR")

#: full names for reports and methods paragraphs
ESTIMATOR_NAMES = {
    "ML": "maximum likelihood",
    "MLM": "maximum likelihood with Satorra-Bentler scaled test statistic and robust standard errors",
    "MLR": "robust maximum likelihood (Huber-White standard errors, Yuan-Bentler scaled test statistic)",
}


@dataclass
class Estimation:
    """One estimator applied to one data set (one or more groups).

    Attributes
    ----------
    estimator : {"ML", "MLM", "MLR"}
    missing : str
        How missing answers were handled (``"listwise"``).
    moments : list of GroupMoments
    fourth : list of FourthMoments, optional
        Needed by MLM and MLR (:func:`coscale.stats.robust.listwise_fourth_moments`).
    """

    estimator: str
    missing: str
    moments: list
    fourth: list | None = None

    @property
    def robust(self) -> bool:
        return self.estimator in ("MLM", "MLR")

    @property
    def index_suffix(self) -> str:
        """Which CFI/TLI/RMSEA the decisions read: the robust ones for robust estimators."""
        return "_robust" if self.robust else ""

    def fit(self, pt, start=None) -> Fit:
        """Fit a parameter table; robust estimators replace the SEs (``fit.vcov``)."""
        fit = fit_ml(pt, self.moments, start=start)
        if self.robust and np.isfinite(fit.chisq):
            from coscale.stats.robust import robust

            fit.robust = robust(fit, self.fourth, self.estimator)
            fit.vcov = fit.robust.vcov
        return fit

    def measures(self, fit: Fit) -> dict:
        """Fit measures with lavaan's names; scaled and robust ones for MLM/MLR."""
        out = fit_measures(fit)
        if getattr(fit, "robust", None) is not None:
            out.update(fit.robust.fit_measures(out))
        return out

    def difference(self, less: Fit, more: Fit) -> dict:
        """Chi-square difference test of nested fits (``lavaan::lavTestLRT``).

        Satorra & Bentler (2001) scaled difference for MLM and MLR, the plain
        difference for ML.
        """
        if getattr(less, "robust", None) is not None and getattr(more, "robust", None) is not None:
            from coscale.stats.robust import scaled_difference

            return scaled_difference(less.robust, more.robust, less, more)
        return chisq_difference(less, more)


def ml_estimation(frame, variables, group=None, group_order=None, estimator: str = "ML") -> Estimation:
    """An :class:`Estimation` on the listwise-complete rows of ``frame``."""
    from coscale.stats.moments import listwise_moments

    moments = listwise_moments(frame, variables, group, group_order)
    fourth = None
    if estimator in ("MLM", "MLR"):
        from coscale.stats.robust import listwise_fourth_moments

        fourth = listwise_fourth_moments(frame, variables, group, group_order)
    return Estimation(estimator, "listwise", moments, fourth)


def estimation_for(estimator: str, missing: str, frame, variables, group=None, group_order=None, patterns=None):
    """The estimation object for an estimator and a missing-data method.

    ``missing = "fiml"`` fits every model by full-information ML
    (:mod:`coscale.stats.fiml`, lavaan ``missing = "ml"``); ``"listwise"``
    uses the complete rows. ``patterns`` (one
    :class:`~coscale.stats.fiml.MissingPatterns` per group, of ``variables``
    in this order), when already made, spare ML a pass over the rows: FIML
    fits from them, listwise ML from their complete pattern. The robust
    estimators need the rows themselves.
    """
    if patterns is not None and estimator == "ML":
        if missing == "fiml":
            from coscale.stats.fiml import FimlEstimation

            return FimlEstimation(list(patterns), estimator)
        complete = [pp.complete() for pp in patterns]
        if all(m is not None for m in complete):
            return Estimation(estimator, "listwise", complete)
    if missing == "fiml":
        if estimator == "MLR":
            from coscale.stats.robust_fiml import robust_fiml_estimation

            return robust_fiml_estimation(frame, variables, group, group_order)
        from coscale.stats.fiml import fiml_estimation

        return fiml_estimation(frame, variables, group, group_order, estimator=estimator)
    return ml_estimation(frame, variables, group, group_order, estimator=estimator)
