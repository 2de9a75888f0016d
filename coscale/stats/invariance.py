"""Measurement invariance: the ladder, decisions, partial invariance search, dMACS, latent means.

The ladder (Meredith 1993; Vandenberg & Lance 2000) fits, on one engine:

* configural - same pattern, all parameters free per group, latent means 0;
* metric     - loadings equal (``group.equal = "loadings"``);
* scalar     - intercepts equal too, latent means free beyond group 1;
* strict     - residual variances equal too.

Each step is compared with the last accepted model by the chi-square
difference test and the change in CFI, RMSEA and SRMR, and judged by a named
criterion set (:data:`CRITERIA`). When a step fails, the partial-invariance
search frees, one at a time, the equality constraint with the largest score
test (``lavaan::lavTestScore``), refits and re-judges, until the step holds,
no constraint is significant after a Holm correction, or freeing would leave a
factor with fewer than two invariant items (Byrne, Shavelson & Muthen 1989).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coscale.stats.estimate import Fit
from coscale.stats.fit import chisq_difference
from coscale.stats.probability import two_sided_p
from coscale.stats.lagrange import release_tests
from coscale.stats.model import MeasurementModel, ParTable, build_partable

LADDER = ("configural", "metric", "scalar", "strict")
STEP_EQUAL = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
STEP_KIND = {"metric": "loadings", "scalar": "intercepts", "strict": "residuals"}
KIND_NAME = {"loadings": "loading", "intercepts": "intercept", "residuals": "residual"}

#: fewest items of a factor that must stay invariant (Byrne, Shavelson & Muthen 1989)
MIN_INVARIANT_ITEMS = 2


@dataclass(frozen=True)
class Criteria:
    """A named rule that says whether a more constrained model still holds."""

    name: str
    citation: str

    def describe(self, step: str) -> str:
        if self.name == "chen2007":
            srmr = ".030" if step in ("metric", "thresholds") else ".010"
            return (
                f"fails when CFI drops by .010 or more together with RMSEA rising by .015 or more "
                f"or SRMR rising by {srmr} or more ({self.citation})"
            )
        if self.name == "cheung-rensvold2002":
            return f"fails when CFI drops by .010 or more ({self.citation})"
        return f"fails when the chi-square difference test gives p < .05 ({self.citation})"

    def holds(self, step: str, delta_cfi: float, delta_rmsea: float, delta_srmr: float, pvalue: float) -> bool:
        eps = 1e-12
        if self.name == "chen2007":
            srmr_cut = 0.030 if step in ("metric", "thresholds") else 0.010
            worse = delta_cfi <= -0.010 + eps and (delta_rmsea >= 0.015 - eps or delta_srmr >= srmr_cut - eps)
            return not worse
        if self.name == "cheung-rensvold2002":
            return not (delta_cfi <= -0.010 + eps)
        return not (np.isfinite(pvalue) and pvalue < 0.05)


CRITERIA = {
    "chen2007": Criteria("chen2007", "Chen 2007"),
    "cheung-rensvold2002": Criteria("cheung-rensvold2002", "Cheung & Rensvold 2002"),
    "chisq": Criteria("chisq", "chi-square difference test, alpha = .05"),
}


@dataclass
class LadderModel:
    """One fitted model of the ladder (``partial`` lists the freed parameters)."""

    name: str
    step: str
    fit: Fit
    measures: dict
    partial: tuple = ()


@dataclass
class Comparison:
    """A constrained model against the last accepted one."""

    model: str
    against: str
    step: str
    chisq_diff: float
    df_diff: int
    pvalue: float
    delta_cfi: float
    delta_rmsea: float
    delta_srmr: float
    holds: bool
    criterion: str


@dataclass
class Freed:
    """A constraint released by the partial-invariance search."""

    order: int
    step: str
    parameter: str  # lavaan name, e.g. "x3~1"
    item: str
    kind: str  # loading | intercept | residual
    factor: str
    x2: float
    df: int
    pvalue: float
    threshold: float  # Holm-adjusted alpha it was tested against
    groups: list


@dataclass
class LadderResult:
    models: list
    comparisons: list
    freed: list
    accepted: dict  # step -> model name accepted at that level ("" if it failed)
    warnings: list = field(default_factory=list)

    def model(self, name: str) -> LadderModel:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)


def carry_start(old: Fit, new_pt: ParTable) -> np.ndarray:
    """Starting values for a related model from a fitted one (same names and groups)."""
    old_pt = old.partable
    est = old.estimates()
    lookup = {(old_pt.name(i), int(old_pt.group[i])): est[i] for i in range(len(est))}
    x = np.zeros(new_pt.n_free)
    seen = np.zeros(new_pt.n_free, dtype=bool)
    for i in range(len(new_pt.lhs)):
        k = new_pt.free[i]
        if k < 0 or seen[k]:
            continue
        x[k] = lookup.get((new_pt.name(i), int(new_pt.group[i])), 0.0)
        seen[k] = True
    return x


def compare(constrained: LadderModel, less: LadderModel, step: str, criteria: Criteria, estimation=None) -> Comparison:
    """Chi-square difference test and changes in fit (lavaan ``lavTestLRT``; Chen 2007).

    With a robust estimator the difference test is Satorra & Bentler's (2001)
    scaled one and the changes are in the robust CFI and RMSEA
    (Brosseau-Liard & Savalei 2014).
    """
    a, b = constrained.measures, less.measures
    if estimation is not None:
        diff = estimation.difference(less.fit, constrained.fit)
        suffix = estimation.index_suffix
    else:
        diff = chisq_difference(less.fit, constrained.fit)
        suffix = ""
    dchi, ddf, p = diff["chisq_diff"], diff["df_diff"], diff["pvalue"]

    def delta(key):
        x, y = a.get(key + suffix), b.get(key + suffix)
        if x is None or y is None:  # e.g. robust CFI undefined: fall back on the plain index
            x, y = a[key], b[key]
        return x - y

    dcfi = delta("cfi")
    drmsea = delta("rmsea")
    dsrmr = a["srmr"] - b["srmr"]
    return Comparison(
        model=constrained.name,
        against=less.name,
        step=step,
        chisq_diff=float(dchi),
        df_diff=int(ddf),
        pvalue=p,
        delta_cfi=float(dcfi),
        delta_rmsea=float(drmsea),
        delta_srmr=float(dsrmr),
        holds=criteria.holds(step, dcfi, drmsea, dsrmr, p),
        criterion=criteria.describe(step),
    )


def _factors_of_item(model: MeasurementModel, item: str) -> list[str]:
    out = [f for f, items in model.indicators if item in items]
    out += [f for f, it in model.cross_loadings if it == item]
    return out


def _invariant_items(model: MeasurementModel, kind: str, freed: set, std_lv: bool) -> dict[str, int]:
    """Per factor, the number of items whose ``kind`` parameter is still equal across groups."""
    counts = {}
    for f, items in model.indicators:
        n = 0
        for k, it in enumerate(items):
            if kind == "loadings":
                name = f"{f}=~{it}"
                if (k == 0 and not std_lv) or name not in freed:
                    n += 1
            else:
                name = f"{it}~1" if kind == "intercepts" else f"{it}~~{it}"
                if name not in freed:
                    n += 1
        counts[f] = n
    return counts


def _item_of(test: dict) -> tuple[str, list[str]]:
    """Item and factors a released parameter belongs to."""
    if test["op"] == "=~":
        return test["rhs"], [test["lhs"]]
    return test["lhs"], []


class Ladder:
    """Fits the invariance ladder on one set of group moments."""

    def __init__(self, model: MeasurementModel, estimation, group_labels: list, *, std_lv: bool = False,
                 progress=None):
        self.model = model
        self.estimation = estimation
        self.moments = estimation.moments
        self.group_labels = list(group_labels)
        self.std_lv = std_lv
        self.progress = progress or (lambda description, done, total: None)
        self.fits = 0

    def fit(self, step: str, partial=(), start: Fit | None = None) -> LadderModel:
        """Fit a step of the ladder (with ``partial`` constraints released) and its fit measures."""
        fit = self.fit_only(step, partial, start)
        name = step if not partial else f"{step} (partial)"
        return LadderModel(name, step, fit, self.estimation.measures(fit), tuple(partial))

    def fit_only(self, step: str, partial=(), start: Fit | None = None) -> Fit:
        """The fit alone, without fit measures (for dMACS refits)."""
        pt = build_partable(
            self.model,
            len(self.moments),
            std_lv=self.std_lv,
            group_equal=STEP_EQUAL[step],
            group_partial=partial,
            group_labels=self.group_labels,
        )
        x0 = carry_start(start, pt) if start is not None else None
        fit = self.estimation.fit(pt, start=x0)
        if not fit.converged and x0 is not None:
            fit = self.estimation.fit(pt)
        self.fits += 1
        self.progress("Fitting the invariance ladder", self.fits, None)
        return fit

    def run(
        self,
        criteria: Criteria,
        *,
        search: bool = True,
        alpha: float = 0.05,
        steps=LADDER,
    ) -> LadderResult:
        """Fit the ladder; search for partial invariance where a step fails.

        Parameters
        ----------
        criteria : Criteria
        search : bool
            Free constraints one at a time when a step fails.
        alpha : float
            Family-wise level of the score tests (Holm 1979 over the
            constraints of the step).
        steps : sequence of str
            The ladder to climb (default all four).
        """
        models: list[LadderModel] = []
        comparisons: list[Comparison] = []
        freed: list[Freed] = []
        warnings: list[str] = []
        accepted_at: dict[str, str] = {}
        configural = self.fit("configural")
        models.append(configural)
        accepted_at["configural"] = "configural"
        accepted = configural
        partial: list[str] = []
        for step in steps[1:]:
            full = self.fit(step, partial, start=accepted.fit)
            models.append(full)
            cmp = compare(full, accepted, step, criteria, self.estimation)
            comparisons.append(cmp)
            if cmp.holds:
                accepted = full
                accepted_at[step] = full.name
                continue
            if not search:
                accepted_at[step] = ""
                break
            kind = STEP_KIND[step]
            current, current_cmp = full, cmp
            freed_set = set(partial)
            n_tests = None
            k = 0
            while True:
                tests = release_tests(current.fit, kinds=[kind])
                if n_tests is None:
                    n_tests = len(tests)
                if not tests:
                    break
                counts = _invariant_items(self.model, kind, freed_set, self.std_lv)
                eligible = []
                for t in tests:
                    item, load_factors = _item_of(t)
                    factors = load_factors or _factors_of_item(self.model, item)
                    if all(counts[f] - 1 >= MIN_INVARIANT_ITEMS for f in factors):
                        eligible.append(t)
                if not eligible:
                    warnings.append(
                        f"{step}: no further {KIND_NAME[kind]} could be freed without leaving a factor with "
                        f"fewer than {MIN_INVARIANT_ITEMS} invariant items."
                    )
                    break
                best = eligible[0]
                threshold = alpha / max(n_tests - k, 1)
                if not best["pvalue"] < threshold:
                    break
                k += 1
                partial.append(best["parameter"])
                freed_set.add(best["parameter"])
                item, load_factors = _item_of(best)
                freed.append(
                    Freed(
                        order=len(freed) + 1,
                        step=step,
                        parameter=best["parameter"],
                        item=item,
                        kind=KIND_NAME[kind],
                        factor=", ".join(load_factors or _factors_of_item(self.model, item)),
                        x2=best["x2"],
                        df=best["df"],
                        pvalue=best["pvalue"],
                        threshold=threshold,
                        groups=self.group_labels[1:],
                    )
                )
                current = self.fit(step, partial, start=current.fit)
                current_cmp = compare(current, accepted, step, criteria, self.estimation)
                if current_cmp.holds:
                    break
            if current is not full:
                models.append(current)
                comparisons.append(current_cmp)
            if current_cmp.holds:
                accepted = current
                accepted_at[step] = current.name
            else:
                accepted_at[step] = ""
                break
        return LadderResult(models, comparisons, freed, accepted_at, warnings)


def latent_means(model: LadderModel) -> list[dict]:
    """Latent mean differences of groups 2.. against group 1, with SE, p and effect sizes.

    ``est`` is alpha_g (group 1's mean is fixed at 0), so it is the
    difference group g minus group 1. ``std_lv`` is lavaan's standardization
    (alpha_g / sqrt(psi_g)); ``d`` divides by the pooled latent SD
    sqrt(((n_1 - 1) psi_1 + (n_g - 1) psi_g) / (n_1 + n_g - 2)) (Hancock 2001).

    Equivalent R: ``parameterEstimates(fit, standardized = TRUE)`` rows
    ``f ~1`` of group g in a scalar model.
    """
    fit = model.fit
    pt = fit.partable
    est = fit.estimates()
    se = fit.standard_errors()
    out = []
    n1 = fit.moments[0].n
    for i in range(len(pt.lhs)):
        if pt.mat[i] != "alpha" or pt.group[i] == 0 or pt.free[i] < 0:
            continue
        g, j = pt.group[i], pt.row[i]
        psi1 = fit.matrices[0]["psi"][j, j]
        psig = fit.matrices[g]["psi"][j, j]
        ng = fit.moments[g].n
        pooled = ((n1 - 1) * psi1 + (ng - 1) * psig) / (n1 + ng - 2)
        z = est[i] / se[i] if se[i] > 0 else np.nan
        out.append(
            {
                "factor": pt.lhs[i],
                "group": pt.group_labels[g],
                "reference": pt.group_labels[0],
                "est": float(est[i]),
                "se": float(se[i]),
                "z": float(z),
                "pvalue": two_sided_p(z),
                "ci_lower": float(est[i] - 1.959963984540054 * se[i]),
                "ci_upper": float(est[i] + 1.959963984540054 * se[i]),
                "std_lv": float(est[i] / np.sqrt(psig)) if psig > 0 else float("nan"),
                "d": float(est[i] / np.sqrt(pooled)) if pooled > 0 else float("nan"),
            }
        )
    return out


def dmacs_from_fit(fit: Fit, item: str, factor: str, focal: int) -> tuple[float, float]:
    """dMACS of one item between group 1 (reference) and group ``focal`` (Nye & Drasgow 2011).

    ::

        dMACS = sqrt( (dnu + dlambda kappa_F)^2 + dlambda^2 phi_F ) / SD_pooled

    the root mean squared difference of the groups' expected item scores over
    the focal group's latent distribution N(kappa_F, phi_F), divided by the
    pooled within-group SD of the item. Returns (dMACS, signed expected
    difference at the focal mean, dnu + dlambda kappa_F).
    """
    pt = fit.partable
    i = pt.observed.index(item)
    j = pt.factors.index(factor)
    ref, foc = fit.matrices[0], fit.matrices[focal]
    dnu = foc["nu"][i] - ref["nu"][i]
    dlam = foc["lambda"][i, j] - ref["lambda"][i, j]
    kappa = foc["alpha"][j]
    phi = foc["psi"][j, j]
    m0, m1 = fit.moments[0], fit.moments[focal]
    s0 = m0.cov[i, i] * m0.n / (m0.n - 1)
    s1 = m1.cov[i, i] * m1.n / (m1.n - 1)
    sd = np.sqrt(((m0.n - 1) * s0 + (m1.n - 1) * s1) / (m0.n + m1.n - 2))
    signed = dnu + dlam * kappa
    return float(np.sqrt(signed**2 + dlam**2 * max(phi, 0.0)) / sd), float(signed)


def dmacs(ladder: Ladder, anchor: LadderModel) -> list[dict]:
    """dMACS of every item, each from the anchor model with that item's loading and intercept freed.

    Items whose parameters the anchor already frees are read from the anchor
    itself; for the others the item's loading (unless it is the marker) and
    intercept are freed on top of the anchor's constraints, so every item is
    judged against the same invariant anchors.
    """
    out = []
    model = ladder.model
    freed = set(anchor.partial)
    total = sum(len(items) for _, items in model.indicators)
    for f, items in model.indicators:
        for k, item in enumerate(items):
            ladder.progress("dMACS per item", len({r["item"] for r in out}), total)
            extra = []
            if not (k == 0 and not ladder.std_lv):
                extra.append(f"{f}=~{item}")
            extra.append(f"{item}~1")
            missing = [e for e in extra if e not in freed]
            if missing:
                fitted = ladder.fit_only(anchor.step, tuple(anchor.partial) + tuple(missing), start=anchor.fit)
            else:
                fitted = anchor.fit
            for g in range(1, len(ladder.moments)):
                value, signed = dmacs_from_fit(fitted, item, f, g)
                out.append(
                    {
                        "item": item,
                        "factor": f,
                        "group": ladder.group_labels[g],
                        "reference": ladder.group_labels[0],
                        "dmacs": value,
                        "expected_difference": signed,
                        "flagged": any(e in freed for e in extra),
                    }
                )
    return out


# -- ordinal items: the Wu & Estabrook (2016) ladder ------------------------------

#: Wu & Estabrook steps and the names coscale reports them under
ORDINAL_STEPS = {"configural": "configural", "thresholds": "thresholds", "loadings": "metric", "intercepts": "scalar"}


def run_ordinal_ladder(model: MeasurementModel, data, group: str, group_order: list, criteria: Criteria) -> LadderResult:
    """The invariance ladder for ordinal items by WLSMV (Wu & Estabrook 2016).

    Steps: configural; thresholds equal; loadings equal too (reported as
    metric); intercepts equal too (scalar), each against the previous one by
    the scaled chi-square difference test (lavaan ``lavTestLRT``, Satorra
    2000) and the changes in the scaled CFI and RMSEA (the robust ones are
    undefined once thresholds are constrained, as in lavaan 0.6.14). No
    partial-invariance search for ordinal items yet.

    Equivalent R: ``semTools::measEq.syntax(ID.cat = "Wu.Estabrook.2016",
    ID.fac = "std.lv", group.equal = ...)`` fitted with ``cfa(..., ordered =
    TRUE, estimator = "WLSMV")``.
    """
    from coscale.stats.wls import invariance_ladder

    ladder = invariance_ladder(model, data, group, group_order=group_order)
    models, comparisons, accepted = [], [], {}
    previous = None
    for we_step, step in ORDINAL_STEPS.items():
        fit = ladder["fits"][we_step]
        current = LadderModel(step, step, fit, dict(fit.fit_measures), ())
        models.append(current)
        if previous is None:
            accepted[step] = step
        else:
            test = ladder["tests"][we_step]
            a, b = current.measures, previous.measures
            deltas = {k: a.get(f"{k}_scaled", a[k]) - b.get(f"{k}_scaled", b[k]) for k in ("cfi", "rmsea")}
            dsrmr = a["srmr"] - b["srmr"]
            holds = criteria.holds(step, deltas["cfi"], deltas["rmsea"], dsrmr, test["pvalue"])
            comparisons.append(
                Comparison(step, previous.name, step, float(test["chisq_diff"]), int(test["df_diff"]),
                           float(test["pvalue"]), float(deltas["cfi"]), float(deltas["rmsea"]), float(dsrmr),
                           bool(holds), criteria.describe(step))
            )
            accepted[step] = step if holds else ""
            if not holds:
                break
        previous = current
    warnings = ["Partial invariance is not searched for ordinal items in this version: a failed step ends the ladder."] \
        if "" in accepted.values() else []
    return LadderResult(models, comparisons, [], accepted, warnings)


def ordinal_latent_means(model: LadderModel) -> list[dict]:
    """Latent mean differences in an ordinal scalar model (factor means of groups 2.. against 0).

    With Wu & Estabrook identification and ``std.lv`` the reference group's
    factors have mean 0 and variance 1, so ``est`` is already in its SD
    units; ``d`` divides by the pooled latent SD as :func:`latent_means` does.
    """
    fit = model.fit
    rows = [r for r in fit.estimates if r["op"] == "~1" and r["lhs"] in fit.factors and r["free"]]
    n = dict(zip(fit.group_labels, fit.nobs))
    ref = fit.group_labels[0]
    out = []
    for r in rows:
        var = {row["group"]: row["est"] for row in fit.estimates
               if row["op"] == "~~" and row["lhs"] == r["lhs"] and row["rhs"] == r["lhs"]}
        v1, vg = var.get(ref, 1.0), var.get(r["group"], 1.0)
        n1, ng = n[ref], n[r["group"]]
        pooled = ((n1 - 1) * v1 + (ng - 1) * vg) / (n1 + ng - 2)
        se = r["se"]
        out.append({
            "factor": r["lhs"], "group": r["group"], "reference": ref, "est": float(r["est"]), "se": float(se),
            "z": float(r["z"]), "pvalue": float(r["pvalue"]),
            "ci_lower": float(r["est"] - 1.959963984540054 * se), "ci_upper": float(r["est"] + 1.959963984540054 * se),
            "std_lv": float(r["std_lv"]), "d": float(r["est"] / np.sqrt(pooled)) if pooled > 0 else float("nan"),
        })
    return out
