"""Tables for papers (APA 7), in Markdown and LaTeX, followed by the methods paragraph.

::

    markdown_tables(result)   # a ValidationResult or InvarianceResult (or its JSON dict)
    latex_tables(result)

``validate``: item statistics, reliability and convergent validity, loadings
(unstandardized, SE, standardized), model fit, and factor correlations with
HTMT and the square root of AVE. ``invariance``: the ladder with its changes
in fit and decisions, the parameters freed for partial invariance, latent
mean differences and dMACS. Each table has an APA note with its
abbreviations and criteria; after the tables come the methods-and-results
paragraphs of :mod:`coscale.report.methods` and the references of every work
cited in them or in the notes.

Numbers follow :mod:`coscale.report.tables`: no leading zero for values
bounded by 1, *p* as ``< .001``, the typographic minus. The LaTeX aligns
numbers on the decimal point with ``siunitx`` ``S`` columns (version 3) and
draws rules with ``booktabs``; DOIs use ``\\url`` from the ``url`` package.
The LaTeX is a fragment for ``\\input``, not a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coscale.report.methods import (
    CHI2,
    Writer,
    _build,
    _factor_labels,
    _invariance_paragraphs,
    _label,
    _model_phrase,
    _step_word,
    _validation_paragraphs,
    _as_result,
    estimator_family,
    fit_cutoffs,
    fit_keys,
    it,
    render,
)
from coscale.report.tables import (
    MISSING,
    as_float,
    fmt_bounded,
    fmt_count,
    fmt_num,
    fmt_p,
    fmt_signed,
    fmt_vs_cutoff,
    unicode_minus,
)

__all__ = ["markdown_tables", "latex_tables", "build_tables", "Table", "Column"]

LATEX_PREAMBLE = (
    "% Needs in the preamble: \\usepackage{booktabs}, \\usepackage{siunitx} (version 3, TeX Live 2021 or later)\n"
    "% and \\usepackage{url}. Numbers are aligned on the decimal point by siunitx S columns; values bounded\n"
    "% by 1 (p, r, alpha, omega, CFI, RMSEA, loadings) are printed without a leading zero (APA 7).\n"
)


@dataclass
class Column:
    """A table column: its header (marked up as in :mod:`coscale.report.methods`) and kind."""

    header: str
    kind: str = "num"  # num | text
    bounded: bool = False  # a number column whose values have no leading zero


@dataclass
class Section:
    """A row that heads a group of rows (a scale, a factor)."""

    label: str


@dataclass
class Table:
    title: str
    label: str
    columns: list
    rows: list = field(default_factory=list)  # lists of cells, or Section
    note: str = ""
    wide: bool = False


# -- cell formatting -------------------------------------------------------------------


def _b2(x) -> str:
    return unicode_minus(fmt_bounded(x, 2))


def _b3(x) -> str:
    return unicode_minus(fmt_bounded(x, 3))


def _n2(x) -> str:
    return unicode_minus(fmt_num(x, 2))


def _p(x) -> str:
    return fmt_p(x)


def _ci(lo, hi, bounded=True, digits=2) -> str:
    f = fmt_bounded if bounded else fmt_num
    if as_float(lo) is None and as_float(hi) is None:
        return MISSING
    return unicode_minus(f"[{f(lo, digits)}, {f(hi, digits)}]")


# -- building the tables ---------------------------------------------------------------


def build_tables(result, writer: Writer) -> list[Table]:
    """The tables of a result; citations in the notes are recorded in ``writer``."""
    if getattr(result, "kind", "") == "invariance":
        return _invariance_tables(result, writer)
    return _validation_tables(result, writer)


def _estimation_note(result, estimator: str, fit: dict, w: Writer) -> str:
    keys = fit_keys(estimator, fit)
    family = estimator_family(estimator)
    if family == "robust" and keys["chisq"] == "chisq_scaled":
        name = "Yuan–Bentler" if estimator.upper() == "MLR" else "Satorra–Bentler"
        which = "robust" if keys["variant"] == "robust" else "scaled"
        return (f"Estimator {estimator.upper()}: {CHI2} is the {name} scaled statistic; CFI, TLI, and RMSEA are the "
                f"{which} versions {w.p('brosseau2012', 'brosseau2014') if which == 'robust' else ''}".rstrip() + ".")
    if family == "ordinal" and keys["chisq"] == "chisq_scaled":
        return (f"Estimator {estimator.upper()}: {CHI2} is the scaled-shifted statistic; CFI, TLI, and RMSEA are the "
                f"{keys['variant']} versions.")
    return f"Estimator {estimator.upper()}."


def _cutoff_note(cutoffs: dict, w: Writer) -> str:
    sign = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
    parts = [f"{k.upper()} {sign[op]} {fmt_bounded(cut, 2)}" for k, (op, cut) in cutoffs.items()]
    return f"Cut-offs {w.p('hu1999')}: {', '.join(parts)}."


def _validation_tables(result, w: Writer) -> list[Table]:
    tables: list[Table] = []
    cfa = result.cfa
    scales = list(result.scales or [])
    estimator = (cfa.estimator if cfa is not None else (result.estimation or {}).get("estimator")) or "ML"
    rows_read = fmt_count((result.screening or {}).get("rows_read"))
    reverse = {i for s in scales for i in (s.reverse_keyed or [])}

    # 1. item statistics
    t = Table(
        "Item Descriptive Statistics",
        "items",
        [Column("Item", "text"), Column(it("n")), Column(it("M")), Column(it("SD")), Column("Skewness"),
         Column("Kurtosis"), Column("Item–rest " + it("r"), bounded=True), Column("α if deleted", bounded=True)],
    )
    for s in scales:
        t.rows.append(Section(_label(s)))
        for row in s.item_statistics or []:
            item = str(row.get("item", ""))
            t.rows.append([
                f"{item} (R)" if item in reverse else item,
                fmt_count(row.get("n")), _n2(row.get("mean")), _n2(row.get("sd")), _n2(row.get("skewness")),
                _n2(row.get("kurtosis")), _b2(row.get("item_rest")), _b2(row.get("alpha_if_deleted")),
            ])
    note = (f"{it('N')} = {rows_read}. {it('n')} = respondents who answered the item; item–rest {it('r')} = "
            "corrected item–total correlation; α if deleted = Cronbach's α of the scale without the item; "
            "kurtosis is excess kurtosis.")
    if reverse:
        note += " (R) = reverse-keyed, recoded before the analysis."
    t.note = note
    tables.append(t)

    # 2. reliability and convergent validity
    ordinal = any(as_float(getattr(s.reliability, "alpha_ordinal", None)) is not None for s in scales)
    cols = [Column("Scale", "text"), Column(it("k")), Column("α", bounded=True), Column("95% CI", "text"),
            Column("ω", bounded=True), Column("CR", bounded=True), Column("AVE", bounded=True)]
    if ordinal:
        cols += [Column("Ordinal α", bounded=True), Column("Categorical ω", bounded=True)]
    t = Table("Reliability and Convergent Validity", "reliability", cols)
    for s in scales:
        r = s.reliability
        lo, hi = (list(r.alpha_ci or []) + [None, None])[:2]
        row = [_label(s), str(len(s.items)), _rel(result, "alpha", r.alpha), _ci(lo, hi), _rel(result, "omega", r.omega),
               _rel(result, "composite_reliability", r.composite_reliability), _rel(result, "ave", r.ave)]
        if ordinal:
            row += [_b2(getattr(r, "alpha_ordinal", None)), _b2(getattr(r, "omega_ordinal", None))]
        t.rows.append(row)
    ci_methods = {s.reliability.alpha_ci_method or "" for s in scales}
    ci_text = (f"95% CI after {w.n('feldt1965')}" if any("feldt" in m.lower() for m in ci_methods)
               else f"95% CI by {next(iter(ci_methods))}" if ci_methods else "95% CI")
    t.note = (f"{it('k')} = number of items; α = Cronbach's alpha {w.p('cronbach1951')}, {ci_text}; ω = McDonald's "
              f"omega {w.p('mcdonald1999')} from a one-factor CFA of the scale; CR = composite reliability; AVE = "
              f"average variance extracted {w.p('fornell1981')}"
              + (f"; ordinal α {w.p('zumbo2007')} and categorical ω {w.p('green2009')} from polychoric correlations"
                 if ordinal else "")
              + f". Criteria: α and ω ≥ .70 {w.p('nunnally1978')}; CR ≥ .70 and AVE ≥ .50 {w.p('fornell1981')}.")
    tables.append(t)

    if cfa is None:
        return tables

    # 3. loadings
    t = Table("Factor Loadings of the Confirmatory Factor Analysis", "loadings",
              [Column("Item", "text"), Column(it("b")), Column(it("SE")), Column("β", bounded=True)])
    previous = None
    for e in cfa.estimates or []:
        if e.get("op") != "=~" or e.get("group"):
            continue
        if e.get("lhs") != previous:
            label = next((_label(s) for s in scales if s.name == e.get("lhs")), e.get("lhs"))
            t.rows.append(Section(label))
            previous = e.get("lhs")
        item = e.get("rhs", "")
        free = e.get("free", True)
        t.rows.append([f"{item} (R)" if item in reverse else item, _n2(e.get("est")),
                       _n2(e.get("se")) if free else MISSING, _b2(e.get("std_all"))])
    ident = ("Factor variances were fixed to 1." if (result.settings or {}).get("std_lv")
             else "The first loading of each factor was fixed to 1 (no SE).")
    se = " (Huber–White)" if estimator.upper() == "MLR" else " (robust)" if estimator_family(estimator) != "ml" else ""
    t.note = (f"{it('N')} = {fmt_count(cfa.n)}. {it('b')} = unstandardized loading; {it('SE')} = standard error{se}; "
              f"β = standardized loading. {ident}")
    tables.append(t)

    # 4. fit
    fit = cfa.fit or {}
    keys = fit_keys(estimator, fit)
    t = Table("Fit of the Measurement Model", "fit",
              [Column("Model", "text"), Column(CHI2), Column(it("df")), Column(it("p"), bounded=True),
               Column("CFI", bounded=True), Column("TLI", bounded=True), Column("RMSEA", bounded=True),
               Column("90% CI", "text"), Column("SRMR", bounded=True)])
    t.rows.append([
        f"{len(scales)}-factor CFA", fmt_num(fit.get(keys["chisq"]), 2), fmt_count(fit.get(keys["df"])),
        _p(fit.get(keys["pvalue"])), _b3(fit.get(keys["cfi"])), _b3(fit.get(keys["tli"])), _b3(fit.get(keys["rmsea"])),
        _ci(fit.get(keys["rmsea_ci_lower"]), fit.get(keys["rmsea_ci_upper"]), digits=3), _b3(fit.get(keys["srmr"])),
    ])
    t.note = (f"{it('N')} = {fmt_count(cfa.n)}. {_estimation_note(result, estimator, fit, w)} CI = confidence interval "
              f"of RMSEA. {_cutoff_note(fit_cutoffs(result.verdicts, 'instrument'), w)}")
    tables.append(t)

    # 5. discriminant validity
    corr = cfa.factor_correlations or {}
    factors = corr.get("factors") or []
    disc = result.discriminant or {}
    htmt = disc.get("htmt") or {}
    fl = disc.get("fornell_larcker") or {}
    if len(factors) > 1:
        hnames = htmt.get("factors") or []
        flnames = fl.get("factors") or []
        labels = {s.name: _label(s) for s in scales}
        k = len(factors)
        t = Table("Factor Correlations, HTMT, and Square Root of AVE", "discriminant",
                  [Column("Factor", "text")] + [Column(str(j + 1), bounded=True) for j in range(k)])
        for i, a in enumerate(factors):
            row = [f"{i + 1}. {labels.get(a, a)}"]
            for j, b in enumerate(factors):
                if j < i:
                    row.append(_b2(_cell(corr.get("matrix"), i, j)))
                elif j == i:
                    idx = flnames.index(a) if a in flnames else None
                    row.append(_b2(_cell(fl.get("matrix"), idx, idx)) if idx is not None else MISSING)
                else:
                    if a in hnames and b in hnames:
                        row.append(_b2(_cell(htmt.get("matrix"), hnames.index(a), hnames.index(b))))
                    else:
                        row.append(MISSING)
            t.rows.append(row)
        htmt_name = "HTMT2" if "HTMT2" in (htmt.get("method") or "") else "HTMT"
        htmt_cite = w.p("roemer2021") if htmt_name == "HTMT2" else w.p("henseler2015")
        t.note = (f"Below the diagonal: latent factor correlations; on the diagonal: square root of AVE; above the "
                  f"diagonal: heterotrait–monotrait ratios ({htmt_name}; {htmt_cite[1:-1]}). Criteria: {htmt_name} < .85 "
                  f"{w.p('henseler2015')}; the square root of AVE exceeds the factor's correlations "
                  f"{w.p('fornell1981')}.")
        tables.append(t)
    return tables


def _rel(result, key: str, value) -> str:
    """A reliability, with more decimals only when two would contradict its verdict (.696, not .70)."""
    from coscale.report.methods import REL_MEASURES, _criteria_of

    for k, topic, name, _, default in REL_MEASURES:
        if k == key:
            op, cut = _criteria_of(result, topic, name, default)
            return unicode_minus(fmt_vs_cutoff(value, cut, op))
    return _b2(value)


def _cell(matrix, i, j):
    try:
        return matrix[i][j]
    except (IndexError, TypeError):
        return None


def _invariance_tables(result, w: Writer) -> list[Table]:
    tables: list[Table] = []
    est = result.estimation or {}
    estimator = est.get("estimator") or "ML"
    groups = list(result.groups or [])
    several = len(groups) > 2
    labels = _factor_labels(result)
    total = sum(int(as_float(g.get("n")) or 0) for g in groups)
    group_text = ", ".join(f"{g['name']} {it('n')} = {fmt_count(g.get('n'))}" for g in groups)
    family = estimator_family(estimator)

    # 1. the ladder
    t = Table(
        "Fit and Comparison of the Measurement Invariance Models",
        "ladder",
        [Column("Model", "text"), Column(CHI2), Column(it("df")), Column("CFI", bounded=True),
         Column("RMSEA", bounded=True), Column("SRMR", bounded=True), Column("Δ" + CHI2), Column("Δ" + it("df")),
         Column(it("p"), bounded=True), Column("ΔCFI", bounded=True), Column("ΔRMSEA", bounded=True),
         Column("ΔSRMR", bounded=True), Column("Decision", "text")],
        wide=True,
    )
    comparisons = {c.get("model"): c for c in result.comparisons or []}
    accepted_names = {v for v in (result.accepted or {}).values() if v}
    against = []
    for m in result.models or []:
        fit = m.fit or {}
        keys = fit_keys(estimator, fit)
        c = comparisons.get(m.name)
        name = _model_label(m.name)
        row = [name, fmt_num(fit.get(keys["chisq"]), 2), fmt_count(fit.get(keys["df"])), _b3(fit.get(keys["cfi"])),
               _b3(fit.get(keys["rmsea"])), _b3(fit.get(keys["srmr"]))]
        if c is None:
            row += [MISSING] * 6 + ["Baseline" if m.step == "configural" else MISSING]
        else:
            row += [fmt_num(c.get("chisq_diff"), 2), fmt_count(c.get("df_diff")), _p(c.get("pvalue")),
                    fmt_signed(c.get("delta_cfi")), fmt_signed(c.get("delta_rmsea")), fmt_signed(c.get("delta_srmr")),
                    "Accepted" if m.name in accepted_names else "Rejected"]
            against.append(f"{name} vs. {_model_label(c.get('against')).lower()}")
        t.rows.append(row)
    criteria = (result.criteria or {})
    crit_name = criteria.get("name", "")
    if crit_name == "chen2007":
        rule = (f"A step was rejected when ΔCFI ≤ −.010 together with ΔRMSEA ≥ .015 or ΔSRMR ≥ .030 (metric) or "
                f"≥ .010 (scalar, strict) {w.p('chen2007')}.")
    elif crit_name == "cheung-rensvold2002":
        rule = f"A step was rejected when ΔCFI ≤ −.010 {w.p('cheung2002')}."
    elif crit_name == "chisq":
        rule = f"A step was rejected when the Δ{CHI2} test gave {it('p')} < .05."
    else:
        rule = ""
    test = (f"scaled Δ{CHI2} {w.p('satorra2001')}" if family == "robust"
            else f"scaled-shifted Δ{CHI2}" if family == "ordinal" else f"Δ{CHI2}")
    partial_text = ""
    if result.partial:
        partial_text = " Partial = with the parameters listed in Table {freed} freed."
    t.note = (f"{it('N')} = {fmt_count(total)} ({group_text}; reference group {groups[0]['name'] if groups else MISSING}). "
              f"{_estimation_note(result, estimator, (result.models[0].fit if result.models else {}), w)} "
              f"Each model is compared with the last model accepted below it ({'; '.join(against)}) by the {test} "
              f"and the changes in fit. {rule}{partial_text}")
    tables.append(t)

    # 2. freed parameters
    if result.partial:
        cols = [Column("Order", "text"), Column("Step", "text"), Column("Item", "text"), Column("Parameter", "text"),
                Column("Factor", "text")]
        if several:
            cols.append(Column("Group", "text"))
        cols += [Column(CHI2), Column(it("df")), Column(it("p"), bounded=True), Column("Holm α", bounded=True)]
        t = Table("Parameters Freed for Partial Invariance", "freed", cols)
        for f in result.partial:
            row = [str(f.get("order")), _step_word(f.get("step", "")), f.get("item", ""), f.get("parameter", ""),
                   labels.get(f.get("factor"), f.get("factor", ""))]
            if several:
                row.append(f.get("group", ""))
            row += [fmt_num(f.get("statistic"), 2), fmt_count(f.get("df")), _p(f.get("pvalue")),
                    fmt_p(f.get("threshold"), 4)]
            t.rows.append(row)
        alpha = as_float((result.settings or {}).get("alpha"))
        t.note = (f"Freed one at a time, in this order, by the score test of the equality constraint ({CHI2}), when "
                  f"significant at the Holm-adjusted level ({w.cite('holm1979')}; familywise α = "
                  f"{fmt_bounded(0.05 if alpha is None else alpha, 2)}); at least two items per factor were kept "
                  f"invariant {w.p('byrne1989')}.")
        tables.append(t)
        tables[0].note = tables[0].note.replace("{freed}", str(len(tables)))

    # 3. latent means
    if result.latent_means:
        cols = [Column("Factor", "text")]
        if several:
            cols.append(Column("Group", "text"))
        cols += [Column("Difference"), Column(it("SE")), Column("95% CI", "text"), Column(it("z")),
                 Column(it("p"), bounded=True), Column(it("d"))]
        t = Table("Latent Mean Differences", "means", cols)
        for r in result.latent_means:
            row = [labels.get(r.get("factor"), r.get("factor", ""))]
            if several:
                row.append(r.get("group", ""))
            row += [_n2(r.get("est")), _n2(r.get("se")), _ci(r.get("ci_lower"), r.get("ci_upper"), bounded=False),
                    _n2(r.get("z")), _p(r.get("pvalue")), _n2(r.get("d"))]
            t.rows.append(row)
        first = result.latent_means[0]
        who = (f"{first.get('group')} minus {first.get('reference')}" if not several
               else f"each group minus {first.get('reference')}")
        t.note = (f"Differences of latent means ({who}) in the {_model_phrase(result.latent_means_model)}. "
                  f"{it('d')} = difference divided by the pooled latent standard deviation.")
        tables.append(t)

    # 4. dMACS
    if result.dmacs:
        cols = [Column("Item", "text")]
        if several:
            cols.append(Column("Group", "text"))
        cols += [Column("dMACS"), Column("Expected difference"), Column("Freed", "text")]
        t = Table("Effect Sizes of Item Non-Invariance (dMACS)", "dmacs", cols)
        previous = None
        for r in result.dmacs:
            if r.get("factor") != previous:
                t.rows.append(Section(labels.get(r.get("factor"), r.get("factor", ""))))
                previous = r.get("factor")
            row = [r.get("item", "")]
            if several:
                row.append(r.get("group", ""))
            row += [_n2(r.get("dmacs")), _n2(r.get("expected_difference")), "yes" if r.get("flagged") else ""]
            t.rows.append(row)
        t.note = (f"dMACS {w.p('nye2011')}: root mean squared difference between the groups' expected item scores "
                  "over the focal group's latent distribution, divided by the pooled item SD; each item's loading and "
                  "intercept freed against the invariant items. Expected difference = signed difference at the focal "
                  "group's latent mean.")
        tables.append(t)
    return tables


def _model_label(name) -> str:
    name = str(name or "")
    return name[:1].upper() + name[1:]


# -- Markdown ----------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return render(text, "markdown").replace("|", "\\|")


def _markdown_table(t: Table, number: int) -> str:
    header = [_md_cell(c.header) for c in t.columns]
    body: list[list[str]] = []
    for row in t.rows:
        if isinstance(row, Section):
            body.append([f"*{_md_cell(row.label)}*"] + [""] * (len(t.columns) - 1))
        else:
            body.append([_md_cell(str(x)) for x in row])
    widths = [max([len(header[j])] + [len(r[j]) for r in body] + [3]) for j in range(len(t.columns))]

    def line(cells):
        out = []
        for j, (cell, col) in enumerate(zip(cells, t.columns)):
            out.append(cell.rjust(widths[j]) if col.kind == "num" else cell.ljust(widths[j]))
        return "| " + " | ".join(out) + " |"

    rule = "| " + " | ".join(("-" * (widths[j] - 1) + ":") if c.kind == "num" else ("-" * widths[j])
                             for j, c in enumerate(t.columns)) + " |"
    lines = [f"**Table {number}**", "", f"*{_md_cell(t.title)}*", "", line(header), rule]
    lines += [line(r) for r in body]
    if t.note:
        lines += ["", f"*Note.* {render(t.note, 'markdown')}"]
    return "\n".join(lines)


def markdown_tables(result) -> str:
    """The paper tables of a result in Markdown, then the methods paragraphs and the references."""
    result = _as_result(result)
    w = Writer(getattr(result, "coscale_version", ""))
    tables = build_tables(result, w)
    methods = _methods(result, w)
    source = str(result.source).replace("--", "- -").replace("\n", " ")
    parts = [f"<!-- coscale {result.coscale_version}: {result.kind} of {source} -->"]
    parts += [_markdown_table(t, i + 1) for i, t in enumerate(tables)]
    parts.append("## Methods and results\n\n" + methods.markdown)
    parts.append("## References\n\n" + "\n\n".join(methods.references_markdown))
    return "\n\n".join(parts) + "\n"


def _methods(result, w: Writer):
    if getattr(result, "kind", "") == "invariance":
        paragraphs = _invariance_paragraphs(result, w)
    else:
        paragraphs = _validation_paragraphs(result, w)
    return _build(paragraphs, w)


# -- LaTeX -------------------------------------------------------------------------------

_NUMBER = re.compile(r"^(?P<cmp>[<>])?\s*(?P<sign>-)?(?P<int>\d*)(?:\.(?P<dec>\d+))?$")


def _s_value(cell: str) -> tuple[str, tuple | None]:
    """An S-column cell: the number as siunitx reads it, and its (comparator, sign, int, dec) shape."""
    text = cell.replace("−", "-").strip()
    m = _NUMBER.match(text)
    if not text or text == MISSING or not m or not (m.group("int") or m.group("dec")):
        return ("{" + render(cell, "latex") + "}" if cell else ""), None
    shape = (m.group("cmp") or "", m.group("sign") or "", len(m.group("int") or ""), len(m.group("dec") or ""))
    return text.replace(" ", ""), shape


def _s_format(shapes: list[tuple]) -> str:
    cmp_ = "<" if any(s[0] for s in shapes) else ""
    sign = "-" if any(s[1] for s in shapes) else ""
    ints = max([s[2] for s in shapes] + [1])
    decs = max([s[3] for s in shapes] + [0])
    return f"{cmp_}{sign}{ints}.{decs}" if decs else f"{cmp_}{sign}{ints}"


def _latex_table(t: Table) -> str:
    body_rows = []
    shapes: dict[int, list] = {j: [] for j in range(len(t.columns))}
    for row in t.rows:
        if isinstance(row, Section):
            body_rows.append(f"\\multicolumn{{{len(t.columns)}}}{{@{{}}l}}{{\\textit{{{render(row.label, 'latex')}}}}} \\\\")
            continue
        cells = []
        for j, (cell, col) in enumerate(zip(row, t.columns)):
            if col.kind == "num":
                value, shape = _s_value(str(cell))
                if shape:
                    shapes[j].append(shape)
                cells.append(value)
            else:
                cells.append(render(str(cell), "latex"))
        body_rows.append(" & ".join(cells) + " \\\\")
    specs = []
    for j, col in enumerate(t.columns):
        if col.kind == "num":
            opts = [f"table-format={_s_format(shapes[j])}"]
            if col.bounded:
                opts.append("print-zero-integer=false")
            specs.append(f"S[{', '.join(opts)}]")
        else:
            specs.append("l" if j == 0 or not all(_is_bracket(r, j) for r in t.rows) else "c")
    header = " & ".join("{" + render(c.header, "latex") + "}" if c.kind == "num" else render(c.header, "latex")
                        for c in t.columns)
    lines = [
        "\\begin{table}[htbp]",
        "\\centering",
        f"\\caption{{{render(t.title, 'latex')}}}",
        f"\\label{{tab:coscale-{t.label}}}",
        "\\small",
    ]
    if t.wide:
        lines.append("\\setlength{\\tabcolsep}{3pt}")
    lines += [
        f"\\begin{{tabular}}{{@{{}}{' '.join(specs)}@{{}}}}",
        "\\toprule",
        header + " \\\\",
        "\\midrule",
        *body_rows,
        "\\bottomrule",
        "\\end{tabular}",
    ]
    if t.note:
        lines += ["", "\\smallskip", "\\begin{minipage}{\\linewidth}\\footnotesize",
                  f"\\textit{{Note.}} {render(t.note, 'latex')}", "\\end{minipage}"]
    lines.append("\\end{table}")
    return "\n".join(lines)


def _is_bracket(row, j) -> bool:
    if isinstance(row, Section):
        return True
    cell = str(row[j])
    return cell.startswith("[") or cell == MISSING


def latex_tables(result) -> str:
    """The paper tables of a result in LaTeX (booktabs, siunitx), then the methods paragraphs and references."""
    result = _as_result(result)
    w = Writer(getattr(result, "coscale_version", ""))
    tables = build_tables(result, w)
    methods = _methods(result, w)
    source = str(result.source).replace("\n", " ")
    head = f"% coscale {result.coscale_version}: {result.kind} of {source}\n" + LATEX_PREAMBLE
    parts = [head.rstrip("\n")]
    parts += [_latex_table(t) for t in tables]
    parts.append("% Methods and results\n" + methods.latex)
    refs = "\n".join(f"{{\\noindent\\hangindent=2em\\hangafter=1 {r}\\par}}" for r in methods.references_latex)
    parts.append("% References (APA 7)\n" + refs)
    return "\n\n".join(parts) + "\n"
