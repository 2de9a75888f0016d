"""Measurement models and their parameter tables.

A :class:`MeasurementModel` says which items measure which factor, plus any
correlated residuals and cross-loadings. :func:`build_partable` turns it into a
:class:`ParTable` for one or more groups, the way ``lavaan::lavaanify`` does:
one row per model parameter and group, a free-parameter index shared by rows
that are held equal across groups (``group.equal``), and lavaan's
identification defaults (marker variable, or ``std.lv``).

Matrices follow LISREL/lavaan notation for a CFA with mean structure::

    Sigma_g = Lambda_g Psi_g Lambda_g' + Theta_g
    mu_g    = nu_g + Lambda_g alpha_g
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

#: group.equal keywords understood by coscale, as in lavaan
EQUALITY_KINDS = (
    "loadings",
    "intercepts",
    "residuals",
    "residual.covariances",
    "lv.variances",
    "lv.covariances",
    "means",
)


@dataclass(frozen=True)
class MeasurementModel:
    """Factors, their indicators (first one is the marker) and extra paths.

    Attributes
    ----------
    indicators : tuple of (factor, tuple of items)
    residual_covariances : tuple of (item, item)
    cross_loadings : tuple of (factor, item)
    """

    indicators: tuple
    residual_covariances: tuple = ()
    cross_loadings: tuple = ()

    @property
    def factors(self) -> list[str]:
        return [f for f, _ in self.indicators]

    @property
    def observed(self) -> list[str]:
        out: list[str] = []
        for _, items in self.indicators:
            for it in items:
                if it not in out:
                    out.append(it)
        for _, it in self.cross_loadings:
            if it not in out:
                out.append(it)
        return out

    @classmethod
    def from_syntax(cls, syntax: str) -> "MeasurementModel":
        """Parse the subset of lavaan model syntax that a CFA needs.

        Lines ``f =~ x1 + x2``, ``x1 ~~ x2`` (residual covariance) and
        comments (``#``). A second ``=~`` line naming an item that already
        loads elsewhere adds a cross-loading.
        """
        indicators: dict[str, list[str]] = {}
        seen_items: set[str] = set()
        cross: list[tuple[str, str]] = []
        rescov: list[tuple[str, str]] = []
        for raw in re.split(r"[\n;]", syntax):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if "=~" in line:
                lhs, rhs = (s.strip() for s in line.split("=~", 1))
                items = [s.strip() for s in rhs.split("+") if s.strip()]
                for it in items:
                    if it in seen_items and it not in indicators.get(lhs, []):
                        cross.append((lhs, it))
                    else:
                        indicators.setdefault(lhs, []).append(it)
                        seen_items.add(it)
            elif "~~" in line:
                lhs, rhs = (s.strip() for s in line.split("~~", 1))
                rescov.append((lhs, rhs))
            else:
                raise ValueError(f"cannot read model line {line!r}")
        return cls(
            tuple((f, tuple(v)) for f, v in indicators.items()),
            tuple(rescov),
            tuple(cross),
        )

    @classmethod
    def from_instrument(cls, instrument, scales=None) -> "MeasurementModel":
        """One factor per scale, its items as indicators, plus the file's model lines."""
        chosen = [s for s in instrument.scales if scales is None or s.name in scales]
        names = {s.name for s in chosen}
        columns = {c for s in chosen for c in s.columns}
        rescov = tuple(
            (m.lhs, m.rhs)
            for m in instrument.model
            if m.op == "~~" and m.lhs in columns and m.rhs in columns
        )
        cross = tuple(
            (m.lhs, m.rhs)
            for m in instrument.model
            if m.op == "=~" and m.lhs in names and m.rhs in columns
        )
        return cls(tuple((s.name, tuple(s.columns)) for s in chosen), rescov, cross)


# Matrix codes in the parameter table
LAMBDA, THETA, PSI, NU, ALPHA = "lambda", "theta", "psi", "nu", "alpha"


@dataclass
class ParTable:
    """Parameter table: one row per parameter and group (lavaan's ``parTable``).

    Array attributes all have one entry per row. ``free`` is the index into the
    free-parameter vector (``-1`` for fixed rows); rows held equal across
    groups share an index. ``label`` is the equality label (``""`` if none).
    """

    lhs: list
    op: list
    rhs: list
    group: np.ndarray
    mat: list
    row: np.ndarray
    col: np.ndarray
    free: np.ndarray
    value: np.ndarray  # fixed value, or start value for free rows
    label: list
    observed: list
    factors: list
    n_groups: int
    meanstructure: bool
    std_lv: bool
    group_equal: tuple = ()
    group_partial: tuple = ()
    group_labels: list = field(default_factory=list)

    @property
    def n_free(self) -> int:
        return int(self.free.max()) + 1 if (self.free >= 0).any() else 0

    def rows(self, mat=None, group=None):
        """Indices of rows of a matrix (and group)."""
        return [
            i
            for i in range(len(self.lhs))
            if (mat is None or self.mat[i] == mat) and (group is None or self.group[i] == group)
        ]

    def name(self, i: int) -> str:
        """lavaan-style name of row ``i`` (``visual=~x2``, ``x1~~x1``, ``x3~1``)."""
        if self.op[i] == "~1":
            return f"{self.lhs[i]}~1"
        return f"{self.lhs[i]}{self.op[i]}{self.rhs[i]}"

    def kind(self, i: int) -> str:
        """group.equal keyword that governs row ``i``."""
        m = self.mat[i]
        if m == LAMBDA:
            return "loadings"
        if m == NU:
            return "intercepts"
        if m == ALPHA:
            return "means"
        if m == THETA:
            return "residuals" if self.row[i] == self.col[i] else "residual.covariances"
        return "lv.variances" if self.row[i] == self.col[i] else "lv.covariances"


def _parse_partial(entries) -> set[str]:
    out = set()
    for e in entries:
        out.add(re.sub(r"\s+", "", e))
    return out


def build_partable(
    model: MeasurementModel,
    n_groups: int = 1,
    *,
    meanstructure: bool = False,
    std_lv: bool = False,
    group_equal=(),
    group_partial=(),
    group_labels=None,
) -> ParTable:
    """Parameter table of a (multi-group) CFA, with lavaan's defaults.

    Parameters
    ----------
    model : MeasurementModel
    n_groups : int
    meanstructure : bool
        Add intercepts (free) and latent means (fixed at 0, or free beyond
        group 1 when intercepts are held equal). Always on for several groups.
    std_lv : bool
        Identify factors by fixing their variances to 1 (all loadings free)
        instead of fixing the first loading to 1. With equal loadings the
        factor variances of groups 2.. are freed, as lavaan does.
    group_equal : sequence of str
        Parameter kinds held equal across groups (see :data:`EQUALITY_KINDS`).
    group_partial : sequence of str
        Parameters exempt from ``group_equal``, lavaan style: ``"x3~1"``,
        ``"visual=~x2"``, ``"x1~~x1"``.

    Notes
    -----
    Equivalent R: ``lavaan::cfa(model, group = ..., group.equal = ...,
    group.partial = ..., std.lv = ...)``; the table mirrors ``parTable(fit)``.
    """
    group_equal = tuple(group_equal)
    for kind in group_equal:
        if kind not in EQUALITY_KINDS:
            raise ValueError(f"unknown group.equal kind {kind!r}")
    partial = _parse_partial(group_partial)
    if n_groups > 1:
        meanstructure = True
    observed = model.observed
    factors = model.factors
    obs_idx = {v: i for i, v in enumerate(observed)}
    fac_idx = {f: i for i, f in enumerate(factors)}
    eq_loadings = "loadings" in group_equal
    eq_intercepts = "intercepts" in group_equal

    rows: list[dict] = []

    def add(lhs, op, rhs, g, mat, r, c, free, value):
        rows.append(dict(lhs=lhs, op=op, rhs=rhs, group=g, mat=mat, row=r, col=c, free=free, value=value))

    for g in range(n_groups):
        # loadings
        for f, items in model.indicators:
            for k, it in enumerate(items):
                fixed = (k == 0) and not std_lv
                add(f, "=~", it, g, LAMBDA, obs_idx[it], fac_idx[f], not fixed, 1.0 if fixed else np.nan)
        for f, it in model.cross_loadings:
            add(f, "=~", it, g, LAMBDA, obs_idx[it], fac_idx[f], True, np.nan)
        # residual variances and covariances
        for v in observed:
            add(v, "~~", v, g, THETA, obs_idx[v], obs_idx[v], True, np.nan)
        for a, b in model.residual_covariances:
            i, j = sorted((obs_idx[a], obs_idx[b]))
            add(observed[i], "~~", observed[j], g, THETA, j, i, True, np.nan)
        # factor variances and covariances
        for i, f in enumerate(factors):
            var_free = not std_lv or (eq_loadings and g > 0)
            add(f, "~~", f, g, PSI, i, i, var_free, np.nan if var_free else 1.0)
        for i in range(len(factors)):
            for j in range(i + 1, len(factors)):
                add(factors[i], "~~", factors[j], g, PSI, j, i, True, np.nan)
        if meanstructure:
            for v in observed:
                add(v, "~1", "", g, NU, obs_idx[v], 0, True, np.nan)
            for i, f in enumerate(factors):
                mean_free = eq_intercepts and g > 0
                add(f, "~1", "", g, ALPHA, i, 0, mean_free, np.nan if mean_free else 0.0)

    pt = ParTable(
        lhs=[r["lhs"] for r in rows],
        op=[r["op"] for r in rows],
        rhs=[r["rhs"] for r in rows],
        group=np.array([r["group"] for r in rows], dtype=int),
        mat=[r["mat"] for r in rows],
        row=np.array([r["row"] for r in rows], dtype=int),
        col=np.array([r["col"] for r in rows], dtype=int),
        free=np.full(len(rows), -1, dtype=int),
        value=np.array([r["value"] for r in rows], dtype=float),
        label=[""] * len(rows),
        observed=list(observed),
        factors=list(factors),
        n_groups=n_groups,
        meanstructure=meanstructure,
        std_lv=std_lv,
        group_equal=group_equal,
        group_partial=tuple(sorted(partial)),
        group_labels=list(group_labels) if group_labels else [str(g + 1) for g in range(n_groups)],
    )
    # free indices, shared for rows held equal across groups
    first_index: dict[str, int] = {}
    first_fixed: dict[str, float] = {}
    counter = 0
    for i, r in enumerate(rows):
        name = pt.name(i)
        if not r["free"]:
            if r["group"] == 0:
                first_fixed[name] = r["value"]
            continue
        equal = pt.kind(i) in group_equal and name not in partial and n_groups > 1
        if equal and name in first_fixed:
            # held equal to a parameter fixed in group 1 (e.g. latent means): fixed too
            pt.value[i] = first_fixed[name]
            pt.label[i] = ".eq." + name
            continue
        if equal:
            pt.label[i] = ".eq." + name
            if name in first_index:
                pt.free[i] = first_index[name]
                continue
            first_index[name] = counter
        pt.free[i] = counter
        counter += 1
    return pt
