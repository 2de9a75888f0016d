"""Result objects of coscale's analyses, and their JSON form.

Computation returns these dataclasses; the terminal, HTML and JSON renderers
all read them. ``to_dict`` gives plain JSON-ready Python (NaN and infinity
become ``null``); ``from_dict`` reads a document back and refuses one written
by an incompatible coscale (see :data:`SCHEMA_VERSION`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass

#: bumped whenever a JSON field changes meaning or disappears
SCHEMA_VERSION = 1


def _clean(value):
    """Make a value JSON-ready: numpy scalars to Python, NaN/inf to None."""
    if is_dataclass(value) and not isinstance(value, type):
        return _clean(asdict(value))
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _clean(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f.is_integer() and "int" in type(value).__name__:
        return int(f)
    return f if math.isfinite(f) else None


@dataclass
class Verdict:
    """A plain-language judgement against a named criterion.

    ``holds`` is ``None`` when the value could not be computed.
    """

    topic: str  # fit | reliability | convergent | discriminant | invariance
    subject: str  # a scale name, "instrument", or a model name
    criterion: str  # e.g. "CFI >= .95 (Hu & Bentler 1999)"
    value: float | None
    holds: bool | None
    message: str


@dataclass
class Reliability:
    """Reliability of one scale (alpha from psych's pairwise rule; omega etc. from a one-factor CFA)."""

    n: int
    alpha: float
    alpha_std: float
    alpha_ci: list
    alpha_ci_method: str
    omega: float | None
    composite_reliability: float | None
    ave: float | None
    omega_ci: list | None = None  # percentile bootstrap (--bootstrap)
    omega_ci_method: str | None = None
    alpha_ordinal: float | None = None  # from the polychoric matrix (ordinal items only)
    omega_ordinal: float | None = None  # Green & Yang (2009) categorical omega (ordinal items only)


@dataclass
class ScaleResult:
    """Item statistics and reliability of one scale."""

    name: str
    label: str
    items: list
    reverse_keyed: list
    item_statistics: list  # of dicts: item, n, mean, sd, skewness, kurtosis, floor, ceiling, item_rest, alpha_if_deleted
    reliability: Reliability
    one_factor_fit: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)


@dataclass
class CFAResult:
    """A fitted confirmatory factor model (one or several groups)."""

    estimator: str
    missing: str
    n: int
    model: list  # lavaan-syntax lines
    converged: bool
    iterations: int
    fit: dict
    estimates: list  # rows of parameterEstimates
    factor_correlations: dict  # {"factors": [...], "matrix": [[...]]}
    modification_indices: list
    warnings: list = field(default_factory=list)

    def loadings(self, group: str = "") -> list[dict]:
        return [e for e in self.estimates if e["op"] == "=~" and e.get("group", "") == group]


@dataclass
class ValidationResult:
    """Everything ``coscale validate`` found out about one survey."""

    coscale_version: str
    source: str
    instrument: str
    settings: dict
    screening: dict
    estimation: dict  # estimator, missing, reason (coscale.stats.choice.Choice)
    scales: list  # of ScaleResult
    cfa: CFAResult | None
    discriminant: dict  # {"htmt": {...}, "fornell_larcker": {...}}
    verdicts: list  # of Verdict
    warnings: list = field(default_factory=list)
    distributions: dict = field(default_factory=dict)  # answers per item and category (for the charts)
    kind: str = "validate"
    schema_version: int = SCHEMA_VERSION

    def scale(self, name: str) -> ScaleResult:
        for s in self.scales:
            if s.name == name:
                return s
        raise KeyError(name)

    def failed(self, topic: str) -> bool:
        """True when a verdict of this topic does not hold (``--fail-on``)."""
        return any(v.holds is False for v in self.verdicts if v.topic == topic)

    def to_dict(self) -> dict:
        return _clean(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, doc: dict) -> "ValidationResult":
        check_schema(doc, "validate")
        kw = {f.name: doc.get(f.name) for f in fields(cls) if f.name in doc}
        kw["scales"] = [
            ScaleResult(**{**s, "reliability": Reliability(**s["reliability"])}) for s in doc.get("scales", [])
        ]
        kw["cfa"] = CFAResult(**doc["cfa"]) if doc.get("cfa") else None
        kw["verdicts"] = [Verdict(**v) for v in doc.get("verdicts", [])]
        return cls(**kw)


def check_schema(doc: dict, kind: str) -> None:
    """Refuse a JSON document of another kind or schema version."""
    from coscale.errors import InputError

    if not isinstance(doc, dict) or doc.get("kind") != kind:
        raise InputError(f"not a coscale {kind} result (no \"kind\": \"{kind}\" field)")
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            f"this result has schema version {version} (coscale {doc.get('coscale_version', '?')}); "
            f"this coscale reads version {SCHEMA_VERSION}: re-run the analysis with this version"
        )


@dataclass
class InvarianceModel:
    """One model of the invariance ladder."""

    name: str  # configural | metric | scalar | strict, or "<step> (partial)"
    step: str
    partial: list  # lavaan names of the freed constraints, e.g. ["x3~1"]
    converged: bool
    fit: dict
    estimates: list
    warnings: list = field(default_factory=list)


@dataclass
class InvarianceResult:
    """Everything ``coscale invariance`` found out about one survey."""

    coscale_version: str
    source: str
    instrument: str
    settings: dict
    screening: dict
    estimation: dict
    group_column: str
    groups: list  # of {"name", "n"}
    criteria: dict  # {"name", "citation", "rules": {step: text}}
    models: list  # of InvarianceModel
    comparisons: list  # of dicts: model, against, step, chisq_diff, df_diff, pvalue, delta_*, holds, criterion
    partial: list  # of dicts: order, step, item, parameter, lavaan_name, factor, group, statistic, df, pvalue, threshold
    accepted: dict  # step -> accepted model name, "" when the step failed, absent when not reached
    latent_means: list  # of dicts
    latent_means_model: str
    dmacs: list
    verdicts: list
    warnings: list = field(default_factory=list)
    distributions: dict = field(default_factory=dict)  # answers per item, category and group
    kind: str = "invariance"
    schema_version: int = SCHEMA_VERSION

    def holds(self, step: str) -> bool:
        """True when ``step`` invariance holds, fully or partially."""
        return bool(self.accepted.get(step))

    def failed(self, topic: str) -> bool:
        if topic in ("metric", "scalar", "strict", "configural"):
            return not self.holds(topic)
        if topic == "invariance":
            return not all(self.holds(s) for s in ("metric", "scalar"))
        return any(v.holds is False for v in self.verdicts if v.topic == topic)

    def model(self, name: str) -> InvarianceModel:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict:
        return _clean(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, doc: dict) -> "InvarianceResult":
        check_schema(doc, "invariance")
        kw = {f.name: doc.get(f.name) for f in fields(cls) if f.name in doc}
        kw["models"] = [InvarianceModel(**m) for m in doc.get("models", [])]
        kw["verdicts"] = [Verdict(**v) for v in doc.get("verdicts", [])]
        return cls(**kw)
