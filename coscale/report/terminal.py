"""Terminal report of ``coscale validate``, rendered with rich.

The report reads a :class:`~coscale.results.ValidationResult` and computes no
statistics: everything shown is a field of the result (or a count or a
lookup of those fields). Top to bottom:

1. header: version, data file, instrument, N, estimator;
2. verdicts, first: model fit, then reliability / convergent / discriminant
   validity per scale, then the remaining discriminant checks (HTMT);
3. warnings;
4. data screening;
5. per scale: item statistics and reliability;
6. the CFA: fit, loadings, factor correlations, modification indices;
7. discriminant validity: HTMT and Fornell-Larcker.

Colour and bold come from rich styles only, so the console decides: no
styling when the output is not a terminal or ``NO_COLOR`` is set. Every
verdict carries a word (``ok``/``FAIL``) next to its mark, so the report
reads the same without colour. Written to a stream that cannot encode
Unicode (e.g. a latin-1 file), the symbols fall back to ASCII.

Numbers follow :mod:`coscale.report.tables` (APA-like; missing values "—").
Building blocks (:func:`verdict_lines`, :func:`fit_table`, :func:`matrix_table`,
:func:`heading`) are meant to be reused by ``render_invariance``.
"""

from __future__ import annotations

import contextvars
import re

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from coscale.report.tables import (
    MISSING,
    fmt_bounded,
    fmt_ci,
    fmt_count,
    fmt_num,
    fmt_p,
    fmt_pct,
    mark,
    short_source,
    split_criterion,
)

__all__ = ["render_validation", "heading", "verdict_lines", "fit_table", "matrix_table"]

# -- styles -------------------------------------------------------------------
OK = "green"
FAIL = "bold red"
NA = "yellow"
HEAD = "bold"
NOTE = "dim"
WARN = "yellow"
INDENT = 2

TOPIC_TITLES = {
    "fit": "Model fit",
    "reliability": "Reliability",
    "convergent": "Convergent validity",
    "discriminant": "Discriminant validity",
    "invariance": "Measurement invariance",
}
TOPIC_ORDER = list(TOPIC_TITLES)

# Streams that cannot encode Unicode (a cp1252 or latin-1 file) get ASCII.
# Glyphs whose ASCII form is longer (≥, √, χ²) are chosen before rendering,
# so that columns stay aligned; the rest are replaced one for one afterwards.
_UNICODE: contextvars.ContextVar[bool] = contextvars.ContextVar("coscale_report_unicode", default=True)
_ASCII_1TO1 = str.maketrans({"✓": "+", "✗": "x", "—": "-", "–": "-", "·": "|", "…": "~", "•": "*"})
_ASCII_SIMPLE_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


def _unicode_ok(console: Console) -> bool:
    return (console.encoding or "").lower().replace("_", "-").startswith("utf")


def _sym(unicode_text: str, ascii_text: str) -> str:
    return unicode_text if _UNICODE.get() else ascii_text


def _criterion(criterion: str) -> tuple[str, str]:
    return split_criterion(criterion, unicode=_UNICODE.get())


# -- entry point ----------------------------------------------------------------


def render_validation(result, console: Console) -> None:
    """Print the report of a :class:`~coscale.results.ValidationResult` to ``console``."""
    _emit(console, lambda: _render_validation(result, console))


_TRAILING = re.compile(r"[ ]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def _emit(console: Console, render) -> None:
    """Run ``render`` on ``console``, then write its output without trailing blanks.

    Tables pad their cells with spaces; stripping them keeps pasted text and
    files clean. A stream that cannot encode ✓, ≥, — gets ASCII instead.
    """
    unicode = _unicode_ok(console)
    token = _UNICODE.set(unicode)
    try:
        if console.legacy_windows:  # styles go through the Win32 API: no capturing
            render()
            return
        with console.capture() as captured:
            render()
    finally:
        _UNICODE.reset(token)
    text = _TRAILING.sub(r"\1", captured.get())
    if not unicode:
        encoding = console.encoding or "ascii"
        text = text.translate(_ASCII_1TO1).encode(encoding, "replace").decode(encoding, "replace")
    console.file.write(text)
    console.file.flush()


def _render_validation(result, console: Console) -> None:
    _header(result, console)
    _verdicts(result, console)
    _warnings(result, console)
    _screening(result, console)
    for scale in result.scales:
        _scale(result, scale, console)
    _cfa(result, console)
    _discriminant(result, console)


# render_invariance(result, console) belongs here (another engineer adds it);
# it can reuse heading(), verdict_lines(), fit_table() and matrix_table().


# -- small building blocks ------------------------------------------------------


def heading(console: Console, title: str, subtitle: str = "") -> None:
    """A section heading: a blank line and a rule with the title on the left."""
    console.print()
    label = Text(title, style=HEAD)
    if subtitle:
        label.append(f"  {subtitle}", style=NOTE)
    console.rule(label, align="left", style=NOTE)


def _indent(renderable, level: int = 1, top: int = 0):
    if isinstance(renderable, Table):
        _keep_numbers_whole(renderable)
    return Padding(renderable, (top, 0, 0, INDENT * level), expand=False)


def _print(console: Console, renderable, **kw) -> None:
    """Print without cropping: on a screen too narrow for a table, lines run over
    (and the terminal wraps them) rather than losing columns."""
    need = Measurement.get(console, console.options.update_width(10_000), renderable).minimum
    if need <= console.width:
        console.print(renderable, crop=False, **kw)
        return
    width = console.width
    console.width = need  # rich would shrink the columns; widen the page for this table
    try:
        console.print(renderable, crop=False, **kw)
    finally:
        console.width = width


def _keep_numbers_whole(table: Table) -> None:
    """Give number columns their full width as minimum: never ".8…" on a narrow screen."""
    for column in table.columns:
        if column.justify != "right":
            continue
        texts = [c.plain if isinstance(c, Text) else str(c) for c in column.cells]
        header = column.header.plain if isinstance(column.header, Text) else str(column.header)
        texts += header.splitlines()
        column.min_width = max((cell_len(t) for t in texts), default=0)


def _subheading(console: Console, title: str, note: str = "", *, first: bool = False) -> None:
    text = Text(title, style=HEAD)
    if note:
        text.append(f"  {note}", style=NOTE)
    if not first:
        console.print()
    console.print(text, overflow="fold")


def _mark_text(holds, word: bool = True) -> Text:
    symbol, wording = mark(holds)
    style = OK if holds is True else FAIL if holds is False else NA
    return Text(f"{symbol} {wording}" if word else symbol, style=style)


def _grid(*, pad: int = 2) -> Table:
    """A borderless layout table (label/value lists)."""
    return Table.grid(padding=(0, pad))


def _data_table(**kw) -> Table:
    """A table of numbers: a rule under the header, no outer frame."""
    # SIMPLE_HEAD separates columns by one space; with one space of left
    # padding columns stand two apart.
    return Table(
        box=box.SIMPLE_HEAD if _UNICODE.get() else _ASCII_SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0, 0, 1),
        header_style=HEAD,
        **kw,
    )


def _flow(tokens: list[str], width: int, sep: str = ", ") -> str:
    """Join tokens with ``sep``, breaking lines only between tokens."""
    lines: list[str] = []
    line = ""
    for i, tok in enumerate(tokens):
        piece = tok + (sep.rstrip() if i < len(tokens) - 1 else "")
        candidate = f"{line} {piece}" if line else piece
        if line and len(candidate) > width:
            lines.append(line)
            line = piece
        else:
            line = candidate
    if line:
        lines.append(line)
    return "\n".join(lines)


def _kv_table(rows: list[tuple[str, object]], console: Console, label_width: int | None = None) -> Table:
    grid = _grid()
    width = label_width or max((len(k) for k, _ in rows), default=0)
    grid.add_column(style=HEAD, no_wrap=True, min_width=width)
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def _value_width(console: Console, label_width: int) -> int:
    return max(20, console.width - INDENT - label_width - 2)


def _rule_parts(rule: str) -> tuple[str, str]:
    """"CFI ≥ .95" -> ("CFI", "≥ .95"); a rule without an operator -> (rule, "")."""
    m = re.match(r"^(.*?)\s*((?:≥|≤|≠|>=|<=|!=|<|>|=).*)$", rule)
    if not m or not m.group(1):
        return rule, ""
    return m.group(1), m.group(2)


def _display_name(name: str) -> str:
    """"Alpha" -> "alpha", "Omega" -> "omega"; acronyms (CFI, AVE) stay."""
    return name.lower() if name[:1].isupper() and name[1:].islower() else name


def _is_scale(result, subject: str) -> bool:
    return any(s.name == subject for s in result.scales)


def _item_label(scale, item: str) -> str:
    return f"{item} (R)" if item in (scale.reverse_keyed or []) else item


def _reverse_items(result) -> set:
    out: set = set()
    for s in result.scales:
        out.update(s.reverse_keyed or [])
    return out


# -- 1. header ------------------------------------------------------------------


def _header(result, console: Console) -> None:
    screening = result.screening or {}
    cfa = result.cfa
    settings = result.settings or {}
    title = Text(f"coscale {result.coscale_version}", style=HEAD)
    title.append(" · ")
    title.append(str(result.source))
    title.append(" · instrument ")
    title.append(str(result.instrument), style=HEAD)
    console.print(title, overflow="fold")
    n_cfa = fmt_count(cfa.n) if cfa is not None else "— (no CFA fitted)"
    estimator = cfa.estimator if cfa is not None else settings.get("estimator", "ML")
    missing = cfa.missing if cfa is not None else settings.get("missing", "listwise")
    console.print(
        f"N read {fmt_count(screening.get('rows_read'))} · N used in the CFA {n_cfa}"
        f" · estimator {estimator} · missing {missing}",
        overflow="fold",
    )
    estimation_note(result, console)


def estimation_note(result, console: Console) -> None:
    """Why this estimator and missing-data method were used (``result.estimation``)."""
    reason = (getattr(result, "estimation", None) or {}).get("reason")
    if reason:
        console.print(Text(reason, style=NOTE), overflow="fold")


# -- 2. verdicts ----------------------------------------------------------------


def verdict_lines(verdicts: list, with_label: bool = True) -> Table:
    """One line per verdict: mark and word, check, value, criterion, source.

    With ``with_label`` the check is the criterion's name (``CFI``) and the
    rule and source follow the value; without it the check is the verdict's
    subject (the caller prints the shared criterion above the lines).
    """
    grid = _grid(pad=2)
    grid.add_column(no_wrap=True)  # mark
    grid.add_column(no_wrap=True)  # check
    grid.add_column(justify="right", no_wrap=True)  # value
    if with_label:
        grid.add_column(no_wrap=True)  # rule
        grid.add_column(style=NOTE, overflow="fold")  # source
    for v in verdicts:
        rule, source = _criterion(v.criterion)
        name, rest = _rule_parts(rule)
        name = _display_name(name)
        value = fmt_bounded(v.value)
        if with_label:
            grid.add_row(_mark_text(v.holds), name, value, rest, f"({short_source(source)})" if source else "")
        else:
            grid.add_row(_mark_text(v.holds), v.subject, value)
    return grid


def _per_scale_table(result, verdicts: list) -> tuple[Table, Table] | None:
    """Scales in rows, one column per per-scale criterion (alpha, omega, CR, AVE, F–L)."""
    columns: list[tuple[str, str]] = []  # (topic, criterion)
    for topic in TOPIC_ORDER + sorted({v.topic for v in verdicts} - set(TOPIC_ORDER)):
        for v in verdicts:
            key = (v.topic, v.criterion)
            if v.topic == topic and key not in columns:
                columns.append(key)
    if not columns:
        return None
    table = _data_table()
    table.add_column("Scale", no_wrap=True, overflow="ellipsis")
    notes: dict[str, list[list[str]]] = {}  # topic -> [[rule, rule, source], ...]
    for topic, criterion in columns:
        rule, source = _criterion(criterion)
        name, rest = _rule_parts(rule)
        name = _display_name(name)
        if name in ("√AVE", "sqrt(AVE)"):
            header, name = "F–L\n" + _sym("√AVE > r", "sqrt(AVE)>r"), "F–L " + name
        else:
            header = f"{name}\n{rest}" if rest else name
        table.add_column(header, justify="right", no_wrap=True)
        groups = notes.setdefault(TOPIC_TITLES.get(topic, topic.capitalize()), [])
        text = f"{name} {rest}".strip()
        source = short_source(source)
        if groups and groups[-1][-1] == source:
            groups[-1].insert(-1, text)  # same source: "CR ≥ .70, AVE ≥ .50 (Fornell & Larcker 1981)"
        else:
            groups.append([text, source])
    table.add_column("", no_wrap=True)
    for scale in result.scales:
        row: list = [scale.name]
        holds_all = []
        for topic, criterion in columns:
            found = [
                v for v in verdicts if v.subject == scale.name and v.topic == topic and v.criterion == criterion
            ]
            if not found:
                row.append(Text(MISSING, style=NOTE))
                continue
            v = found[0]
            holds_all.append(v.holds)
            cell = Text(fmt_bounded(v.value))
            cell.append(" ")
            cell.append_text(_mark_text(v.holds, word=False))
            if v.holds is False:
                cell.stylize(FAIL)
            row.append(cell)
        overall = False if False in holds_all else None if None in holds_all else True
        row.append(Text(mark(overall)[1], style=OK if overall else FAIL if overall is False else NA))
        table.add_row(*row)
    legend = _grid(pad=1)
    legend.add_column(style=NOTE, no_wrap=True)
    legend.add_column(style=NOTE, overflow="fold")
    for topic, groups in notes.items():
        parts = [", ".join(g[:-1]) + (f" ({g[-1]})" if g[-1] else "") for g in groups]
        legend.add_row(f"{topic}:", "; ".join(parts))
    return table, legend


def _verdicts(result, console: Console) -> None:
    heading(console, "Verdicts")
    verdicts = list(result.verdicts or [])
    if not verdicts:
        _print(console, _indent(Text("No verdicts: nothing could be estimated (see Warnings).", style=NA)))
        return
    per_scale = [v for v in verdicts if _is_scale(result, v.subject)]
    others = [v for v in verdicts if not _is_scale(result, v.subject)]

    # model fit (and any other whole-instrument verdicts) first
    topics = [t for t in TOPIC_ORDER if any(v.topic == t for v in others)]
    topics += sorted({v.topic for v in others} - set(TOPIC_ORDER))
    if "fit" in topics:
        _topic_lines(result, console, "fit", [v for v in others if v.topic == "fit"])
    else:
        _subheading(console, "Model fit", first=True)
        line = _mark_text(None)
        line.append("  no CFA was fitted (see Warnings)", style=NA)
        _print(console, _indent(line))

    # reliability, convergent validity and Fornell–Larcker per scale
    built = _per_scale_table(result, per_scale)
    if built is not None:
        table, legend = built
        _subheading(console, "Per scale", "reliability, convergent and discriminant validity")
        _print(console, _indent(table))
        _print(console, _indent(legend))

    for topic in topics:
        if topic == "fit":
            continue
        _topic_lines(result, console, topic, [v for v in others if v.topic == topic])


def _topic_lines(result, console: Console, topic: str, verdicts: list) -> None:
    title = TOPIC_TITLES.get(topic, topic.capitalize())
    subjects = {v.subject for v in verdicts}
    if len(subjects) == 1:
        subject = next(iter(subjects))
        note = ""
        if topic == "fit" and subject == "instrument" and result.cfa is not None:
            k = len(result.scales)
            which = "the scale" if k == 1 else "both scales" if k == 2 else f"all {k} scales"
            note = f"CFA of {which}, N = {fmt_count(result.cfa.n)}"
        elif subject != "instrument":
            note = subject
        _subheading(console, title, note, first=topic == "fit")
        _print(console, _indent(verdict_lines(verdicts)))
        return
    # several subjects (e.g. HTMT per pair of scales): one block per criterion
    criteria: list[str] = []
    for v in verdicts:
        if v.criterion not in criteria:
            criteria.append(v.criterion)
    for criterion in criteria:
        rule, source = _criterion(criterion)
        note = f"{rule} ({short_source(source)})" if source else rule
        _subheading(console, title, note)
        _print(console, _indent(verdict_lines([v for v in verdicts if v.criterion == criterion], with_label=False)))


# -- 3. warnings ----------------------------------------------------------------


def _warnings(result, console: Console) -> None:
    screening_warnings = list((result.screening or {}).get("warnings") or [])
    others = [w for w in (result.warnings or []) if w not in screening_warnings]
    if not others and not screening_warnings:
        return
    grid = _grid(pad=1)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for w in others:
        grid.add_row(Text("!", style=FAIL), Text(w, style=HEAD))
    for w in screening_warnings:
        grid.add_row(Text("•", style=WARN), w)
    n = len(others) + len(screening_warnings)
    title = f"Warnings ({n})" if not others else f"Warnings ({n}; ! = estimation problem)"
    console.print()
    panel = Panel(grid, title=Text(title, style=HEAD), title_align="left", border_style=WARN, box=box.ROUNDED, expand=False)
    console.print(panel)


# -- 4. screening ---------------------------------------------------------------


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _listing(intro: str, tokens: list[str], width: int) -> str:
    """``intro: a, b, c`` on one line when it fits, else the tokens flowed under the intro."""
    one_line = f"{intro}: {', '.join(tokens)}"
    if len(one_line) <= width:
        return one_line
    return f"{intro}:\n" + _flow(tokens, width)


def _counts(intro: str, mapping: dict, width: int) -> str:
    return _listing(intro, [f"{k} {fmt_count(v)}" for k, v in mapping.items()], width)


def _screening(result, console: Console) -> None:
    s = result.screening or {}
    heading(console, "Data screening")
    label_width = len("Straight-lining")
    width = _value_width(console, label_width)
    rows: list[tuple[str, object]] = []
    n_items = sum(len(sc.items) for sc in result.scales)
    rows.append(
        (
            "Rows",
            f"{fmt_count(s.get('rows_read'))} read; {fmt_count(s.get('rows_used'))} answered all "
            f"{n_items} items" + (" (used in the CFA)" if result.cfa is not None else ""),
        )
    )
    left_out = (
        ("rows_without_group", "without a group (left out)"),
        ("rows_not_in_selected_groups", "in groups not selected (left out)"),
    )
    for key, what in left_out:
        if s.get(key):
            rows.append(("", f"{fmt_count(s[key])} {what}"))
    missing = {k: v for k, v in (s.get("missing_per_item") or {}).items() if v}
    if missing:
        total = sum(int(v) for v in missing.values())
        intro = f"{_plural(total, 'answer', 'answers')} in {_plural(len(missing), 'item', 'items')}"
        rows.append(("Missing", _counts(intro, missing, width)))
    else:
        rows.append(("Missing", "none"))
    codes = s.get("missing_codes_found") or {}
    if codes:
        total = sum(int(v) for v in codes.values())
        rows.append(("Missing codes", _counts(f"{_plural(total, 'answer', 'answers')} treated as missing", codes, width)))
    else:
        rows.append(("Missing codes", "none found"))
    coerced = s.get("out_of_range_coerced") or {}
    if coerced:
        total = sum(int(v) for v in coerced.values())
        rows.append(("Out of range", _counts(f"{_plural(total, 'answer', 'answers')} treated as missing", coerced, width)))
    straight = s.get("straightliners") or {}
    if straight:
        tokens = [
            f"{scale} {fmt_count(info.get('count') if isinstance(info, dict) else info)}"
            for scale, info in straight.items()
        ]
        rows.append(("Straight-lining", _listing("respondents with one answer to every item", tokens, width)))
    else:
        rows.append(("Straight-lining", "none"))
    dups = s.get("duplicate_ids") or []
    if not (result.settings or {}).get("id_column"):
        rows.append(("Duplicate ids", Text("not checked (no --id column given)", style=NOTE)))
    elif dups:
        shown = ", ".join(str(d) for d in dups[:10]) + (", …" if len(dups) > 10 else "")
        rows.append(("Duplicate ids", Text(f"{len(dups)}: {shown}", style=FAIL)))
    else:
        rows.append(("Duplicate ids", "none"))
    zero = s.get("zero_variance_items") or []
    rows.append(("Zero variance", Text(", ".join(zero), style=FAIL) if zero else "none"))
    _print(console, _indent(_kv_table(rows, console, label_width)))


# -- 5. per scale ---------------------------------------------------------------


def _scale(result, scale, console: Console) -> None:
    heading(console, f"Scale {scale.name}", scale.label if scale.label and scale.label != scale.name else "")
    table = _data_table()
    for header, justify in (
        ("item", "left"),
        ("n", "right"),
        ("mean", "right"),
        ("sd", "right"),
        ("skew", "right"),
        ("kurt", "right"),
        ("floor\n%", "right"),
        ("ceil.\n%", "right"),
        ("item-\nrest r", "right"),
        ("alpha if\ndeleted", "right"),
    ):
        table.add_column(header, justify=justify, no_wrap=True)
    for row in scale.item_statistics or []:
        item = str(row.get("item", ""))
        table.add_row(
            _item_label(scale, item),
            fmt_count(row.get("n")),
            fmt_num(row.get("mean")),
            fmt_num(row.get("sd")),
            fmt_num(row.get("skewness")),
            fmt_num(row.get("kurtosis")),
            fmt_pct(row.get("floor")),
            fmt_pct(row.get("ceiling")),
            fmt_bounded(row.get("item_rest")),
            fmt_bounded(row.get("alpha_if_deleted")),
        )
    _print(console, _indent(table))
    if scale.reverse_keyed:
        _print(console, _indent(Text("(R) reverse-keyed: recoded (min + max - answer) before every statistic.", style=NOTE)))

    r = scale.reliability
    lo, hi = (list(r.alpha_ci) + [None, None])[:2] if r.alpha_ci else (None, None)
    rows = [
        (
            "Reliability",
            f"alpha {fmt_bounded(r.alpha)}, 95% CI {fmt_ci(lo, hi)}, {r.alpha_ci_method}; n = {fmt_count(r.n)}",
        ),
        (
            "",
            f"std. alpha {fmt_bounded(r.alpha_std)}; omega {fmt_bounded(r.omega)}"
            + (f", 95% CI {fmt_ci(*r.omega_ci)}" if getattr(r, "omega_ci", None) else "")
            + f"; CR {fmt_bounded(r.composite_reliability)}; AVE {fmt_bounded(r.ave)}",
        ),
    ]
    if getattr(r, "alpha_ordinal", None) is not None or getattr(r, "omega_ordinal", None) is not None:
        rows.append(("", f"ordinal alpha {fmt_bounded(r.alpha_ordinal)}; ordinal omega {fmt_bounded(r.omega_ordinal)}"
                         " (polychoric; Green & Yang 2009)"))
    f1 = scale.one_factor_fit or {}
    if f1:
        rows.append(
            (
                "One-factor CFA",
                f"{_sym('χ²', 'chi2')}({fmt_count(f1.get('df'))}) = {fmt_num(f1.get('chisq'))}, p {_p_eq(f1.get('pvalue'))}; "
                f"CFI {fmt_bounded(f1.get('cfi'))}; RMSEA {fmt_bounded(f1.get('rmsea'))}; SRMR {fmt_bounded(f1.get('srmr'))}",
            )
        )
    _print(console, _indent(_kv_table(rows, console), top=1))


def _p_eq(p) -> str:
    text = fmt_p(p)
    return text if text.startswith(("<", ">")) or text == MISSING else f"= {text}"


# -- 6. CFA ---------------------------------------------------------------------


FIT_COLUMNS = ("χ²", "df", "p", "CFI", "TLI", "RMSEA", "90% CI", "SRMR", "AIC", "BIC")


def _fit_cells(fit: dict) -> dict:
    return {
        "χ²": fmt_num(fit.get("chisq")),
        "df": fmt_count(fit.get("df")),
        "p": fmt_p(fit.get("pvalue")),
        "CFI": fmt_bounded(fit.get("cfi")),
        "TLI": fmt_bounded(fit.get("tli")),
        "RMSEA": fmt_bounded(fit.get("rmsea")),
        "90% CI": fmt_ci(fit.get("rmsea_ci_lower"), fit.get("rmsea_ci_upper")),
        "SRMR": fmt_bounded(fit.get("srmr")),
        "AIC": fmt_num(fit.get("aic"), 1),
        "BIC": fmt_num(fit.get("bic"), 1),
    }


def fit_table(fits, columns=FIT_COLUMNS, label: str | None = None) -> Table:
    """χ², df, p, CFI, TLI, RMSEA with its 90% CI, SRMR, AIC and BIC, one row per fit.

    ``fits`` is one fit-measure dict or a list of ``(row label, dict)``
    pairs (e.g. invariance models); ``label`` heads the label column.
    """
    rows = [("", fits)] if isinstance(fits, dict) else list(fits)
    table = _data_table()
    if label is not None:
        table.add_column(label, no_wrap=True)
    for c in columns:
        table.add_column(_sym(c, "chi2") if c == "χ²" else c, justify="right", no_wrap=True)
    for name, fit in rows:
        cells = _fit_cells(fit or {})
        table.add_row(*([name] if label is not None else []), *(cells[c] for c in columns))
    return table


def apa_fit(fit: dict) -> str:
    """The fit in one sentence, ready to paste: χ²(df) = …, p = …, CFI = …"""
    return (
        f"{_sym('χ²', 'chi2')}({fmt_count(fit.get('df'))}) = {fmt_num(fit.get('chisq'))}, p {_p_eq(fit.get('pvalue'))}, "
        f"CFI = {fmt_bounded(fit.get('cfi'))}, TLI = {fmt_bounded(fit.get('tli'))}, "
        f"RMSEA = {fmt_bounded(fit.get('rmsea'))}, 90% CI {fmt_ci(fit.get('rmsea_ci_lower'), fit.get('rmsea_ci_upper'))}, "
        f"SRMR = {fmt_bounded(fit.get('srmr'))}"
    )


def matrix_table(
    names: list[str],
    matrix: list,
    *,
    diagonal: bool = False,
    fmt=fmt_bounded,
    cell_style=None,
) -> Table:
    """A lower-triangle matrix, APA style: rows "1. name", columns "1", "2", …

    With ``diagonal`` the diagonal is shown (e.g. √AVE); without it columns
    run to k - 1. ``cell_style(i, j)`` may return a rich style for a cell.
    """
    k = len(names)
    table = _data_table()
    table.add_column("", no_wrap=True, overflow="ellipsis")
    ncols = k if diagonal else k - 1
    for j in range(ncols):
        table.add_column(str(j + 1), justify="right", no_wrap=True)
    for i, name in enumerate(names):
        cells: list = [f"{i + 1}. {name}"]
        for j in range(ncols):
            if j < i or (diagonal and j == i):
                try:
                    value = matrix[i][j]
                except (IndexError, TypeError):
                    value = None
                style = cell_style(i, j) if cell_style else None
                cells.append(Text(fmt(value), style=style or ""))
            else:
                cells.append("")
        table.add_row(*cells)
    return table


def _cfa(result, console: Console) -> None:
    cfa = result.cfa
    heading(console, "Confirmatory factor analysis")
    if cfa is None:
        _print(console, _indent(Text("No CFA was fitted (see Warnings).", style=NA)))
        return
    settings = result.settings or {}
    if settings.get("std_lv"):
        scaling = "unit factor variances (--std-lv)"
    else:
        scaling = "marker items (first loading fixed to 1)"
    status = Text(f"{cfa.estimator}, missing data {cfa.missing}, N = {fmt_count(cfa.n)}; ")
    if cfa.converged:
        status.append(f"converged in {fmt_count(cfa.iterations)} iterations.")
    else:
        status.append("did NOT converge: the estimates below are not trustworthy.", style=FAIL)
    status.append(f"\nFactors scaled by {scaling}.")
    _print(console, _indent(status))

    fit = cfa.fit or {}
    _subheading(console, "Fit")
    table = fit_table(fit)
    if console.measure(table).maximum > console.width - INDENT:  # narrow: two rows of columns
        half = FIT_COLUMNS.index("RMSEA")
        _print(console, _indent(fit_table(fit, FIT_COLUMNS[:half])))
        _print(console, _indent(fit_table(fit, FIT_COLUMNS[half:]), top=1))
    else:
        _print(console, _indent(table))
    # one line even when longer than the screen, so that it pastes whole
    console.print(" " * INDENT + "APA: " + apa_fit(fit), style=NOTE, soft_wrap=True)

    _subheading(console, "Loadings", "est = unstandardized (SE), std = standardized (std.all)")
    reverse = _reverse_items(result)
    table = _data_table()
    table.add_column("factor", no_wrap=True, overflow="ellipsis")
    table.add_column("item", no_wrap=True)
    for c in ("est", "SE", "std"):
        table.add_column(c, justify="right", no_wrap=True)
    loadings = [e for e in (cfa.estimates or []) if e.get("op") == "=~" and not e.get("group")]
    previous = None
    for e in loadings:
        factor = e.get("lhs", "")
        if previous is not None and factor != previous:
            table.add_section()
        item = e.get("rhs", "")
        table.add_row(
            factor if factor != previous else "",
            f"{item} (R)" if item in reverse else item,
            fmt_num(e.get("est")),
            fmt_num(e.get("se")) if e.get("free", True) else Text("fixed", style=NOTE),
            fmt_bounded(e.get("std_all")),
        )
        previous = factor
    _print(console, _indent(table))

    corr = cfa.factor_correlations or {}
    if corr.get("factors") and len(corr["factors"]) > 1:
        _subheading(console, "Factor correlations")
        _print(console, _indent(matrix_table(corr["factors"], corr.get("matrix") or [])))

    _subheading(console, "Modification indices", "largest 5; EPC = expected parameter change")
    mis = list(cfa.modification_indices or [])[:5]
    if not mis:
        _print(console, _indent(Text("none", style=NOTE)))
    else:
        table = _data_table()
        table.add_column("parameter", no_wrap=True)
        for c in ("MI", "EPC", "std. EPC"):
            table.add_column(c, justify="right", no_wrap=True)
        for m in mis:
            table.add_row(
                f"{m.get('lhs', '')} {m.get('op', '')} {m.get('rhs', '')}",
                fmt_num(m.get("mi")),
                fmt_num(m.get("epc")),
                fmt_bounded(m.get("sepc_all")),
            )
        _print(console, _indent(table))

    if cfa.model:
        _subheading(console, "Model", "lavaan syntax")
        _print(console, _indent(Text("\n".join(cfa.model), style=NOTE)), overflow="fold")


# -- 7. discriminant validity ---------------------------------------------------


def _discriminant(result, console: Console) -> None:
    disc = result.discriminant or {}
    if not disc:
        return
    heading(console, "Discriminant validity")
    verdicts = [v for v in (result.verdicts or []) if v.topic == "discriminant"]

    htmt = disc.get("htmt") or {}
    if htmt.get("factors"):
        names = htmt["factors"]
        pair_holds = {v.subject: v.holds for v in verdicts}
        rule = next((_criterion(v.criterion) for v in verdicts if " / " in v.subject), None)
        note = "heterotrait-monotrait ratio"
        if rule:
            note += f", {rule[0]} ({short_source(rule[1])})"
        _subheading(console, "HTMT", note, first=True)

        def htmt_style(i, j):
            holds = pair_holds.get(f"{names[j]} / {names[i]}", pair_holds.get(f"{names[i]} / {names[j]}"))
            return FAIL if holds is False else None

        _print(console, _indent(matrix_table(names, htmt.get("matrix") or [], cell_style=htmt_style)))
        if htmt.get("method"):
            _print(console, _indent(Text(f"Method: {htmt['method']}.", style=NOTE)))

    fl = disc.get("fornell_larcker") or {}
    if fl.get("factors"):
        names = fl["factors"]
        scale_holds = {v.subject: v.holds for v in verdicts if _is_scale(result, v.subject)}

        def fl_style(i, j):
            if i != j:
                return None
            holds = scale_holds.get(names[i])
            return HEAD if holds else FAIL if holds is False else None

        note = _sym("diagonal √AVE", "diagonal sqrt(AVE)") + ", below it factor correlations"
        _subheading(console, "Fornell–Larcker", note)
        _print(console, _indent(matrix_table(names, fl.get("matrix") or [], diagonal=True, cell_style=fl_style)))
        criterion = f"Criterion: each {_sym('√AVE', 'sqrt(AVE)')} exceeds every correlation of its factor"
        _print(console, _indent(Text(f"{criterion} (Fornell & Larcker 1981).", style=NOTE)))
