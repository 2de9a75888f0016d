"""coscale's Python API: the functions the command line calls.

>>> import coscale
>>> result = coscale.validate(frame, "coproduction")      # doctest: +SKIP
>>> result.cfa.fit["cfi"]                                  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coscale import __version__
from coscale.errors import InputError
from coscale.results import CFAResult, Reliability, ScaleResult, ValidationResult, Verdict
from coscale.scales import Instrument, load_scales
from coscale.stats import reliability as rel
from coscale.stats.estimate import Fit
from coscale.stats.fit import fit_measures
from coscale.stats.lagrange import modification_indices
from coscale.stats.model import MeasurementModel, build_partable
from coscale.stats.choice import choose
from coscale.stats.distributions import answer_distributions
from coscale.stats.estimators import estimation_for
from coscale.stats.solution import factor_correlations, parameter_table
from coscale.survey import prepare

#: Cut-offs used in verdicts, with their sources
CUTOFFS = {
    "cfi": (0.95, ">=", "Hu & Bentler 1999"),
    "tli": (0.95, ">=", "Hu & Bentler 1999"),
    "rmsea": (0.06, "<=", "Hu & Bentler 1999"),
    "srmr": (0.08, "<=", "Hu & Bentler 1999"),
    "alpha": (0.70, ">=", "Nunnally 1978"),
    "omega": (0.70, ">=", "Nunnally 1978; McDonald 1999"),
    "composite_reliability": (0.70, ">=", "Fornell & Larcker 1981"),
    "ave": (0.50, ">=", "Fornell & Larcker 1981"),
    "htmt": (0.85, "<", "Henseler, Ringle & Sarstedt 2015"),
}

FAIL_ON_TOPICS = ("fit", "reliability", "convergent", "discriminant", "validity", "any")


def _instrument(scales) -> Instrument:
    return scales if isinstance(scales, Instrument) else load_scales(scales)


def _fmt(x: float) -> str:
    return f"{x:.3f}".replace("0.", ".", 1) if abs(x) < 1 else f"{x:.3f}"


def _verdict(topic, subject, key, value, label=None) -> Verdict:
    cut, op, source = CUTOFFS[key]
    name = label or key.upper().replace("_", " ")
    criterion = f"{name} {op} {_fmt(cut)} ({source})"
    if value is None or not np.isfinite(value):
        return Verdict(topic, subject, criterion, None, None, f"{name} could not be computed.")
    holds = bool(value >= cut if op == ">=" else value <= cut if op == "<=" else value < cut)
    word = "meets" if holds else "does not meet"
    return Verdict(topic, subject, criterion, float(value), holds, f"{name} = {_fmt(value)} {word} {op} {_fmt(cut)}.")


def _finite(x) -> bool:
    return x is not None and np.isfinite(x)


def _fit_verdicts(subject: str, fit: dict, robust: bool) -> list[Verdict]:
    """Hu & Bentler (1999) verdicts on CFI, TLI, RMSEA and SRMR.

    Robust estimators (MLM, MLR, WLSMV) are judged on the robust indices
    (Brosseau-Liard & Savalei 2014; Savalei 2021 for WLSMV), or the scaled
    ones where the robust ones are undefined.
    """
    out = []
    for key in ("cfi", "tli", "rmsea", "srmr"):
        name = key
        if robust and key != "srmr":
            for suffix in ("_robust", "_scaled"):
                if _finite(fit.get(key + suffix)):
                    name = key + suffix
                    break
        label = key.upper() + {"_robust": " (robust)", "_scaled": " (scaled)"}.get(name[len(key):], "")
        out.append(_verdict("fit", subject, key, fit[name], label))
    return out


def model_syntax(model: MeasurementModel) -> list[str]:
    """lavaan syntax of a measurement model (to show and to re-run in R)."""
    lines = [f"{f} =~ {' + '.join(items)}" for f, items in model.indicators]
    lines += [f"{f} =~ {it}" for f, it in model.cross_loadings]
    lines += [f"{a} ~~ {b}" for a, b in model.residual_covariances]
    return lines


def cfa_result(fit: Fit, model: MeasurementModel, estimation=None, *, top_mi: int = 5) -> CFAResult:
    """Package a fit as a :class:`CFAResult` (fit measures, estimates, correlations, MIs)."""
    fm = estimation.measures(fit) if estimation is not None else fit_measures(fit)
    corr = factor_correlations(fit) if fit.partable.n_groups == 1 else None
    warnings = list(fit.warnings)
    return CFAResult(
        estimator=estimation.estimator if estimation is not None else "ML",
        missing=estimation.missing if estimation is not None else "listwise",
        n=fit.ntotal,
        model=model_syntax(model),
        converged=fit.converged,
        iterations=fit.iterations,
        fit=fm,
        estimates=parameter_table(fit),
        factor_correlations={"factors": list(fit.partable.factors), "matrix": corr.tolist()} if corr is not None else {},
        modification_indices=modification_indices(fit, top=top_mi) if top_mi else [],
        warnings=warnings,
    )


def _one_factor(frame: pd.DataFrame, scale, missing: str = "listwise", patterns=None) -> tuple[dict, float | None, list[str]]:
    """One-factor CFA of a scale for omega; returns fit measures, omega, warnings.

    Listwise on the scale's items, or FIML with ``missing = "fiml"``, where
    the denominator of omega is the EM-estimated total variance, as
    ``semTools::compRelSEM`` on a ``missing = "ml"`` fit. ``patterns``
    (missingness patterns, one per group, of the scale's items or more) are
    pooled down to the scale's items instead of reading ``frame`` again.
    """
    cols = scale.columns
    if len(cols) < 3:
        return {}, None, [f"{scale.name}: omega needs at least 3 items (a one-factor model of 2 items is not identified)."]
    model = MeasurementModel(((scale.name, tuple(cols)),))
    pooled = [pp.marginal(cols) for pp in patterns] if patterns is not None else None
    estimation = estimation_for("ML", missing, frame, cols, patterns=pooled)
    n = estimation.moments[0].n if estimation.moments else 0
    if n <= len(cols):
        return {}, None, [f"{scale.name}: too few answers ({n}) for a one-factor CFA."]
    fit = estimation.fit(build_partable(model))
    mats = fit.matrices[0]
    omega = rel.omega_from_cfa(mats["lambda"][:, 0], float(mats["psi"][0, 0]), mats["theta"], fit.moments[0].cov)
    fm = estimation.measures(fit)
    keep = ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr")
    return {k: fm[k] for k in keep}, float(omega), [f"{scale.name} (one-factor CFA): {w}" for w in fit.warnings]


def _ordinal_cfa(frame: pd.DataFrame, model: MeasurementModel, std_lv: bool) -> CFAResult:
    """The instrument CFA on ordinal items by WLSMV (listwise), as a :class:`CFAResult`.

    Equivalent R: ``lavaan::cfa(model, data, ordered = TRUE, estimator = "WLSMV")``.
    """
    from coscale.stats.wls import fit_wlsmv

    ofit = fit_wlsmv(model, frame[model.observed], std_lv=std_lv)
    psi = ofit.matrices["psi"]
    sd = np.sqrt(np.clip(np.diag(psi), 1e-300, None))
    return CFAResult(
        estimator="WLSMV",
        missing="listwise",
        n=int(ofit.n),
        model=model_syntax(model),
        converged=bool(ofit.converged),
        iterations=int(ofit.iterations),
        fit=dict(ofit.fit_measures),
        estimates=[{**row, "group": row.get("group", "")} for row in ofit.estimates],
        factor_correlations={"factors": list(ofit.factors), "matrix": (psi / np.outer(sd, sd)).tolist()},
        modification_indices=[],
        warnings=list(ofit.warnings),
    )


def _ordinal_reliability(frame: pd.DataFrame, scale) -> tuple[float | None, float | None, list[str]]:
    """Ordinal alpha (polychoric matrix) and categorical omega (one-factor WLSMV fit) of a scale.

    Equivalent R: ``psych::alpha(lavCor(items, ordered = TRUE))`` and
    ``semTools::compRelSEM(cfa(..., ordered = TRUE))`` (Green & Yang 2009).
    """
    from coscale.stats.polychoric import polychoric
    from coscale.stats.wls import fit_wlsmv, ordinal_alpha, ordinal_omega

    cols = scale.columns
    rows = frame[cols].dropna()
    if len(cols) < 3 or len(rows) <= len(cols):
        return None, None, [f"{scale.name}: too few items or answers for ordinal alpha and omega."]
    stats_ = polychoric(rows.to_numpy(), cols)
    fit = fit_wlsmv(MeasurementModel(((scale.name, tuple(cols)),)), stats_)
    omega = ordinal_omega(fit).get(scale.name)
    return float(ordinal_alpha(stats_.correlation)), (None if omega is None else float(omega)), [
        f"{scale.name} (ordinal one-factor CFA): {w}" for w in fit.warnings
    ]


def _common_settings(scales, instrument, estimator, missing, ordinal, std_lv, id_column, coerce) -> dict:
    """The options both commands share, as recorded in a result's ``settings``."""
    return {
        "scales": scales if isinstance(scales, str) else instrument.name,
        "estimator": estimator,
        "missing": missing,
        "ordinal": ordinal,
        "std_lv": std_lv,
        "id_column": id_column,
        "coerce_out_of_range": coerce,
    }


def _header(source: str, instrument, settings: dict, prepared, choice) -> dict:
    """The fields every result starts with (version, data, settings, screening, estimation)."""
    return {
        "coscale_version": __version__,
        "source": source,
        "instrument": instrument.name,
        "settings": settings,
        "screening": prepared.screening.to_dict(),
        "estimation": choice.to_dict(),
    }


def _summaries(frame: pd.DataFrame, instrument):
    """The one look at the answers that every later step of ``validate`` reads.

    Returns ``(patterns, counts)``: the items' missingness patterns (per
    pattern: count, means, ML covariances; :class:`~coscale.stats.fiml.MissingPatterns`),
    or None when no row has an answer, and their answer counts
    (:class:`~coscale.stats.distributions.ItemCounts`). Reliability, item
    statistics, HTMT, the estimator choice, the answer distributions and
    the ML / FIML fits all start from these, so the rows are read once.
    """
    from coscale.stats.distributions import ItemCounts, expected_answers
    from coscale.stats.fiml import MissingPatterns

    items = list(dict.fromkeys(instrument.columns))
    if list(frame.columns) == items and all(d == np.float64 for d in frame.dtypes):
        values = frame.to_numpy(dtype=np.float64)  # prepare's block: a view, not a copy
    else:
        values = frame[items].to_numpy(dtype=float, na_value=np.nan)
    expected = expected_answers(instrument, items)

    def patterns_of():
        try:
            return MissingPatterns.from_values(values, items)
        except ValueError:  # nobody answered anything
            return None

    if values.size < 1_000_000:
        return patterns_of(), ItemCounts.from_values(values, items, expected)
    # on large data the counting (numpy comparisons, no BLAS) runs beside the pattern scan
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        counting = pool.submit(ItemCounts.from_values, values, items, expected)
        patterns = patterns_of()
        return patterns, counting.result()


def _listwise_correlations(patterns, items) -> pd.DataFrame | None:
    """Covariances of the rows answering every one of ``items`` (None with fewer than 2 such rows)."""
    complete = patterns.marginal(items).complete() if patterns is not None else None
    if complete is None or complete.n < 2:
        return None
    return pd.DataFrame(complete.cov, index=list(items), columns=list(items))


def _refuse_constant_items(prepared, source: str) -> None:
    """An item nobody answered, or with one answer for everyone, carries no information: stop with one clear line."""
    n_rows = len(prepared.data)
    for column, n_missing in prepared.screening.missing_per_item.items():
        if n_missing >= n_rows:
            raise InputError(
                f"{source}, column {column}: no respondent answered this item (every cell is empty or a "
                "missing-value code); remove it from the scale file or check the data"
            )
    for column in prepared.screening.zero_variance_items:
        values = prepared.data[column].dropna().unique() if column in prepared.data else []
        shown = f" ({values[0]:g})" if len(values) else ""
        raise InputError(
            f"{source}, column {column}: every respondent gave the same answer{shown}, so the item has no "
            "variance; remove it from the scale file or check the data"
        )


def validate(
    data: pd.DataFrame,
    scales="coproduction",
    *,
    source: str = "<data frame>",
    id_column: str | None = None,
    coerce_out_of_range: bool = False,
    bootstrap: int = 0,
    seed: int = 20261128,
    estimator: str = "auto",
    missing: str = "auto",
    ordinal: bool = False,
    std_lv: bool = False,
    workers: int | None = 1,
    progress=None,
) -> ValidationResult:
    """Validate the scales of a survey: screening, items, reliability, CFA, validity.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent; item columns as named in the scale file.
    scales : str, path or Instrument
        A scale file, a bundled instrument name (``coscale scales list``) or a
        loaded :class:`~coscale.scales.Instrument`.
    source : str
        Name of the data in messages (the file name on the command line).
    id_column : str, optional
        Respondent id column, checked for duplicates.
    coerce_out_of_range : bool
        Treat answers outside the response range as missing instead of failing.
    bootstrap : int
        Replicates for percentile bootstrap CIs of alpha and omega (0: Feldt's CI for alpha, none for omega).
    seed : int
        Seed of the bootstrap.
    estimator : {"auto", "ML", "MLM", "MLR", "WLSMV"}
        ``auto`` chooses from the answers (:func:`coscale.stats.choice.choose`).
    missing : {"auto", "listwise", "fiml"}
        Missing-data handling of the CFA (``auto``: FIML when answers are missing).
    ordinal : bool
        Treat every item as ordinal (WLSMV), as a scale's ``response: {type: ordinal}`` does.
    std_lv : bool
        Identify factors by unit variances instead of marker items.
    workers : int or None
        Processes for the bootstrap (``None``: all cores). Results do not depend on it.
    progress : callable, optional
        ``progress(description, done, total)`` for long steps (:mod:`coscale.progress`).

    Returns
    -------
    ValidationResult

    Notes
    -----
    Equivalent R: ``psych::alpha``, ``lavaan::cfa(model, data, std.lv = ...)``,
    ``semTools::compRelSEM``, ``semTools::AVE``, ``semTools::htmt`` and
    ``lavaan::fitMeasures`` / ``modindices``.
    """
    instrument = _instrument(scales)
    prepared = prepare(data, instrument, source=source, id_column=id_column, coerce_out_of_range=coerce_out_of_range)
    frame = prepared.data
    _refuse_constant_items(prepared, source)
    patterns, counts = _summaries(frame, instrument)
    choice = choose(frame, instrument, estimator, missing, ordinal, counts=counts)
    warnings: list[str] = list(prepared.screening.warnings)
    verdicts: list[Verdict] = []

    # -- the whole instrument: one CFA, each scale a factor ----------------
    model = MeasurementModel.from_instrument(instrument)
    ordinal = choice.estimator == "WLSMV"
    cfa = None
    std_by_scale: dict[str, np.ndarray] = {}
    var_by_scale: dict[str, np.ndarray] = {}
    model_patterns = patterns.marginal(model.observed) if patterns is not None else None
    complete = model_patterns.complete() if model_patterns is not None else None
    complete_rows = complete.n if complete is not None else 0
    if ordinal:
        estimation = None
        usable = complete_rows
    else:
        usable = complete_rows if choice.missing == "listwise" else \
            (model_patterns.n_total if model_patterns is not None else 0)
        estimation = estimation_for(choice.estimator, choice.missing, frame, model.observed,
                                    patterns=[model_patterns]) if usable > len(model.observed) else None
        moments = estimation.moments if estimation is not None else []
        if estimation is not None and not moments:  # FIML: the saturated model could not be estimated
            warnings.append("The covariance matrix of the items could not be estimated from the answers given "
                            "(too few answers to some items or pairs of items), so no CFA was fitted.")
            usable = 0
    if usable <= len(model.observed):
        who = "answered every item" if choice.missing == "listwise" else "answered"
        warnings.append(
            f"Only {usable} respondents {who}: too few for a CFA of "
            f"{len(model.observed)} items, so no CFA was fitted."
        )
    elif ordinal:
        cfa = _ordinal_cfa(frame, model, std_lv)
        warnings += cfa.warnings
        for f, items in model.indicators:
            std_by_scale[f] = np.array(
                [e["std_all"] for e in cfa.estimates if e["op"] == "=~" and e["lhs"] == f and e["rhs"] in items]
            )
            var_by_scale[f] = np.ones(len(items))  # latent responses have unit variance
        verdicts += _fit_verdicts("instrument", cfa.fit, True)
    else:
        fit = estimation.fit(build_partable(model, std_lv=std_lv))
        cfa = cfa_result(fit, model, estimation)
        warnings += cfa.warnings
        variances = dict(zip(model.observed, np.diag(moments[0].cov)))
        for f, items in model.indicators:
            std_by_scale[f] = np.array(
                [e["std_all"] for e in cfa.estimates if e["op"] == "=~" and e["lhs"] == f and e["rhs"] in items]
            )
            var_by_scale[f] = np.array([variances[it] for it in items])
        verdicts += _fit_verdicts("instrument", cfa.fit, estimation.robust)

    # -- per scale: items and reliability ----------------------------------
    scale_results = []
    boot = {}
    if bootstrap:  # one call: the same resamples for every scale, spread over the cores
        from coscale.stats.bootstrap import bootstrap_reliability

        if progress:
            progress(f"Bootstrap ({bootstrap} replicates)", 0, 1)
        boot = bootstrap_reliability(frame, {s.name: list(s.columns) for s in instrument.scales}, bootstrap, seed,
                                     missing="fiml" if choice.missing == "fiml" else "listwise", workers=workers)
        if progress:
            progress(f"Bootstrap ({bootstrap} replicates)", 1, 1)
    for scale in instrument.scales:
        scale_patterns = patterns.marginal(scale.columns) if patterns is not None else None
        alpha = rel.cronbach_alpha_from_patterns(scale_patterns) if scale_patterns is not None \
            else rel.cronbach_alpha(frame[scale.columns])
        omega_ci = omega_ci_method = None
        if bootstrap:
            b = boot[scale.name]
            ci, ci_method = b.alpha_ci, f"percentile bootstrap ({bootstrap} replicates)"
            if b.omega_ci is not None:
                omega_ci, omega_ci_method = [float(b.omega_ci.lower), float(b.omega_ci.upper)], ci_method
        else:
            ci, ci_method = alpha.ci, "Feldt (1965)"
        stats_frame = rel.item_statistics_from_summary(scale_patterns, counts, scale.response.min, scale.response.max) \
            if scale_patterns is not None else rel.item_statistics(frame[scale.columns], scale.response.min, scale.response.max)
        item_rows = [
            {"item": name, **{k: (int(row[k]) if k == "n" else row[k]) for k in stats_frame.columns}}
            for name, row in stats_frame.iterrows()
        ]
        one_fit, omega, w = _one_factor(frame, scale, choice.missing, None if scale_patterns is None else [scale_patterns])
        if bootstrap:
            w = w + [f"{scale.name} (bootstrap): {note}" for note in boot[scale.name].notes]
        alpha_ord = omega_ord = None
        if ordinal:
            alpha_ord, omega_ord, w_ord = _ordinal_reliability(frame, scale)
            w = w + w_ord
        std = std_by_scale.get(scale.name)
        cr = rel.composite_reliability(std) if std is not None and len(std) else None
        # AVE as semTools::AVE: explained variance over summed observed item variances
        ave = rel.average_variance_extracted(std, var_by_scale[scale.name]) if std is not None and len(std) else None
        reliability = Reliability(
            n=int(alpha.n_obs),
            alpha=float(alpha.alpha),
            alpha_std=float(alpha.std_alpha),
            alpha_ci=[float(ci.lower), float(ci.upper)],
            alpha_ci_method=ci_method,
            omega=omega,
            composite_reliability=None if cr is None else float(cr),
            ave=None if ave is None else float(ave),
            alpha_ordinal=alpha_ord,
            omega_ordinal=omega_ord,
            omega_ci=omega_ci,
            omega_ci_method=omega_ci_method,
        )
        scale_results.append(
            ScaleResult(
                name=scale.name,
                label=scale.label or scale.name,
                items=list(scale.columns),
                reverse_keyed=list(scale.reverse_columns),
                item_statistics=item_rows,
                reliability=reliability,
                one_factor_fit=one_fit,
                warnings=w,
            )
        )
        warnings += w
        verdicts.append(_verdict("reliability", scale.name, "alpha", reliability.alpha, "Alpha"))
        verdicts.append(_verdict("reliability", scale.name, "omega", omega, "Omega"))
        if ordinal:
            verdicts.append(_verdict("reliability", scale.name, "alpha", alpha_ord, "Ordinal alpha"))
            verdicts.append(_verdict("reliability", scale.name, "omega", omega_ord, "Ordinal omega"))
        verdicts.append(_verdict("convergent", scale.name, "composite_reliability", reliability.composite_reliability, "CR"))
        verdicts.append(_verdict("convergent", scale.name, "ave", reliability.ave, "AVE"))

    # -- discriminant validity --------------------------------------------
    discriminant: dict = {}
    if len(instrument.scales) > 1:
        sets = {s.name: s.columns for s in instrument.scales}
        corr = _listwise_correlations(patterns, model.observed)
        h = rel.htmt(corr if corr is not None else frame[model.observed], sets)
        discriminant["htmt"] = {"factors": list(h.columns), "matrix": h.to_numpy().tolist(), "method": "HTMT2 (geometric mean; semTools::htmt default)"}
        names = list(h.columns)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                verdicts.append(_verdict("discriminant", f"{names[i]} / {names[j]}", "htmt", float(h.iloc[i, j]), "HTMT"))
        if cfa is not None:
            corr = pd.DataFrame(cfa.factor_correlations["matrix"], index=names, columns=names)
            aves = {s.name: s.reliability.ave for s in scale_results}
            fl = rel.fornell_larcker(corr, aves)
            discriminant["fornell_larcker"] = {"factors": names, "matrix": fl.to_numpy().tolist()}
            for i, a in enumerate(names):
                worst = max(abs(corr.iloc[i, j]) for j in range(len(names)) if j != i)
                root = np.sqrt(aves[a]) if aves[a] is not None else np.nan
                holds = bool(root > worst) if np.isfinite(root) else None
                if holds is None:
                    message = "sqrt(AVE) could not be computed."
                else:
                    word = "exceeds" if holds else "does not exceed"
                    message = f"sqrt(AVE) = {_fmt(root)} {word} the largest correlation {_fmt(worst)}."
                verdicts.append(
                    Verdict(
                        "discriminant",
                        a,
                        "sqrt(AVE) > largest factor correlation (Fornell & Larcker 1981)",
                        float(root) if np.isfinite(root) else None,
                        holds,
                        message,
                    )
                )

    settings = {
        **_common_settings(scales, instrument, estimator, missing, ordinal, std_lv, id_column, coerce_out_of_range),
        "bootstrap": bootstrap,
        "seed": seed if bootstrap else None,
    }
    return ValidationResult(
        **_header(source, instrument, settings, prepared, choice),
        scales=scale_results,
        cfa=cfa,
        discriminant=discriminant,
        verdicts=verdicts,
        warnings=warnings,
        distributions=answer_distributions(prepared.data, instrument, counts=counts),
    )


def _delta(x: float) -> str:
    """A change in a bounded index, APA style: "+.003", "−.045" (no leading zero, a true minus)."""
    text = f"{abs(x):.3f}".lstrip("0")
    return ("−" if x < 0 and text != ".000" else "+") + text


def _describe_freed(freed) -> str:
    return ", ".join(f"the {f.kind} of {f.item}" for f in freed)


def invariance(
    data: pd.DataFrame,
    scales="coproduction",
    *,
    group: str,
    groups: list[str] | None = None,
    criteria: str = "chen2007",
    source: str = "<data frame>",
    id_column: str | None = None,
    coerce_out_of_range: bool = False,
    std_lv: bool = False,
    partial: bool = True,
    alpha: float = 0.05,
    estimator: str = "auto",
    missing: str = "auto",
    ordinal: bool = False,
    dmacs: bool = True,
    progress=None,
):
    """Test measurement invariance across groups: the ladder, partial invariance, latent means.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, with the item columns and the group column.
    scales : str, path or Instrument
        Scale file, bundled instrument name or loaded instrument.
    group : str
        The column holding the group (e.g. ``role``).
    groups : list of str, optional
        Groups to compare, in order; the first is the reference group. By
        default every group, in order of first appearance (as lavaan).
    criteria : {"chen2007", "cheung-rensvold2002", "chisq"}
        How a step is judged (see :data:`coscale.stats.invariance.CRITERIA`).
    std_lv : bool
        Identify factors by unit variance in group 1 instead of marker items.
    partial : bool
        Search for partial invariance when a step fails.
    alpha : float
        Family-wise level of the score tests in that search (Holm).
    estimator, missing, ordinal
        As for :func:`validate`.
    dmacs : bool
        Compute dMACS for every item (one extra fit per item).
    progress : callable, optional
        ``progress(description, done, total)`` for the ladder and dMACS refits.

    Returns
    -------
    InvarianceResult

    Notes
    -----
    Equivalent R: ``lavaan::cfa(model, data, group = "role", group.equal =
    c("loadings", "intercepts", ...), group.partial = ...)``,
    ``lavaan::lavTestLRT``, ``lavaan::lavTestScore``; dMACS as
    ``dmacs::lavaan_dmacs``.
    """
    from coscale.results import InvarianceModel, InvarianceResult
    from coscale.stats import invariance as inv

    if criteria not in inv.CRITERIA:
        raise InputError(f"--criteria {criteria}: choose from {', '.join(inv.CRITERIA)}")
    instrument = _instrument(scales)
    prepared = prepare(
        data, instrument, source=source, id_column=id_column, group=group, groups=groups,
        coerce_out_of_range=coerce_out_of_range,
    )
    _refuse_constant_items(prepared, source)
    choice = choose(prepared.data, instrument, estimator, missing, ordinal)
    labels = prepared.group
    order = list(groups) if groups else list(dict.fromkeys(labels.tolist()))
    if len(order) < 2:
        raise InputError(f"{source}, column {group}: only one group ({', '.join(order) or 'none'}); invariance needs two or more")
    model = MeasurementModel.from_instrument(instrument)
    needed = len(model.observed) + 1
    answered = prepared.data[model.observed].notna()
    usable = answered.all(axis=1) if choice.missing == "listwise" else answered.any(axis=1)
    who = "answered every item" if choice.missing == "listwise" else "answered"
    for name in order:
        n = int((usable & (labels == name)).sum())
        if n < needed:
            raise InputError(
                f"{source}, column {group}: group \"{name}\" has {n} respondents who {who}; "
                f"at least {needed} are needed for {len(model.observed)} items"
            )
    rule = inv.CRITERIA[criteria]
    ordinal = choice.estimator == "WLSMV"
    if ordinal:
        frame = prepared.data[model.observed].assign(**{"__group__": labels.to_numpy()})
        run = inv.run_ordinal_ladder(model, frame, "__group__", order, rule)
        ladder = estimation = None
        sizes = run.models[0].fit.nobs
    else:
        estimation = estimation_for(choice.estimator, choice.missing, prepared.data, model.observed, labels, order)
        if len(estimation.moments) != len(order):  # the saturated model could not be estimated in some group
            raise InputError(
                f"{source}, column {group}: too few answers in some group to estimate its covariance matrix "
                f"({len(model.observed)} items)"
            )
        sizes = [mm.n for mm in estimation.moments]
        ladder = inv.Ladder(model, estimation, order, std_lv=std_lv, progress=progress)
        run = ladder.run(rule, search=partial, alpha=alpha)
    warnings = list(prepared.screening.warnings) + list(run.warnings)

    models = []
    for lm in run.models:
        warnings += [f"{lm.name} model: {w}" for w in lm.fit.warnings]
        models.append(
            InvarianceModel(
                name=lm.name,
                step=lm.step,
                partial=list(lm.partial),
                converged=lm.fit.converged,
                fit=lm.measures,
                estimates=list(lm.fit.estimates) if ordinal else parameter_table(lm.fit),
                warnings=list(lm.fit.warnings),
            )
        )
    comparisons = [
        {
            "model": c.model, "against": c.against, "step": c.step, "chisq_diff": c.chisq_diff,
            "df_diff": c.df_diff, "pvalue": c.pvalue, "delta_cfi": c.delta_cfi, "delta_rmsea": c.delta_rmsea,
            "delta_srmr": c.delta_srmr, "holds": c.holds, "criterion": c.criterion,
        }
        for c in run.comparisons
    ]
    freed = [
        {
            "order": f.order, "step": f.step, "item": f.item, "parameter": f.kind, "lavaan_name": f.parameter,
            "factor": f.factor, "group": ", ".join(f.groups), "statistic": f.x2, "df": f.df, "pvalue": f.pvalue,
            "threshold": f.threshold,
        }
        for f in run.freed
    ]

    # latent means and dMACS from the accepted scalar-level model
    lm_model = None
    if run.accepted.get("scalar"):
        lm_model = run.model(run.accepted["scalar"])
    if ordinal:
        latent = inv.ordinal_latent_means(lm_model) if lm_model else []
        dm = []
    else:
        latent = inv.latent_means(lm_model) if lm_model else []
        dm = inv.dmacs(ladder, lm_model) if (lm_model and dmacs) else []
    if not lm_model:
        warnings.append(
            "Scalar invariance does not hold, not even partially: latent means are not compared, because "
            "differences in item intercepts would be mistaken for differences between the groups."
        )

    verdicts = []
    verdicts += _fit_verdicts("configural", run.models[0].measures, ordinal or estimation.robust)
    steps = list(inv.ORDINAL_STEPS.values())[1:] if ordinal else inv.LADDER[1:]
    for step in steps:
        if step not in run.accepted:
            verdicts.append(Verdict("invariance", step, rule.describe(step), None, None,
                                    f"{step.capitalize()} invariance was not tested: a lower step failed."))
            continue
        last = [c for c in run.comparisons if c.step == step][-1]
        name = run.accepted[step]
        step_freed = [f for f in run.freed if f.step == step]
        r = " (scaled)" if ordinal else " (robust)" if estimation.robust else ""
        deltas = (f"ΔCFI{r} = {_delta(last.delta_cfi)}, ΔRMSEA{r} = {_delta(last.delta_rmsea)}, "
                  f"ΔSRMR = {_delta(last.delta_srmr)}, Δχ²({last.df_diff}) = {last.chisq_diff:.2f}")
        if name and not step_freed:
            message = f"{step.capitalize()} invariance holds ({deltas})."
        elif name:
            message = f"{step.capitalize()} invariance holds partially after freeing {_describe_freed(step_freed)} ({deltas})."
        else:
            tried = f" even after freeing {_describe_freed(step_freed)}" if step_freed else ""
            message = f"{step.capitalize()} invariance does not hold{tried} ({deltas})."
        verdicts.append(Verdict("invariance", step, rule.describe(step), last.delta_cfi, bool(name), message))

    settings = {
        **_common_settings(scales, instrument, estimator, missing, ordinal, std_lv, id_column, coerce_out_of_range),
        "group": group,
        "groups": order,
        "criteria": criteria,
        "partial_search": partial,
        "alpha": alpha,
        "correction": "holm",
        "min_invariant_items": inv.MIN_INVARIANT_ITEMS,
    }
    return InvarianceResult(
        **_header(source, instrument, settings, prepared, choice),
        group_column=group,
        groups=[{"name": name, "n": int(n)} for name, n in zip(order, sizes)],
        criteria={"name": rule.name, "citation": rule.citation,
                  "rules": {s: rule.describe(s) for s in steps}},
        models=models,
        comparisons=comparisons,
        partial=freed,
        accepted=run.accepted,
        latent_means=latent,
        latent_means_model=lm_model.name if lm_model else "",
        dmacs=dm,
        verdicts=verdicts,
        warnings=warnings,
        distributions=answer_distributions(prepared.data, instrument, group=labels, groups=order),
    )
