"""Terminal report of ``coscale invariance``: the ladder at a glance.

Reads an :class:`~coscale.results.InvarianceResult` and computes nothing.
Top to bottom: header (groups and their N, estimator, criteria); verdicts
(configural fit, then one line per step: holds, holds partially, fails);
warnings; the ladder (fit of every model, then each step's differences and
decision); the freed parameters in order; latent mean differences; dMACS.
Building blocks and formatting come from :mod:`coscale.report.terminal` and
:mod:`coscale.report.tables`.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from coscale.report.tables import fmt_bounded, fmt_ci, fmt_count, fmt_num, fmt_p, short_source
from coscale.report.terminal import (
    HEAD,
    NOTE,
    _data_table,
    _emit,
    _grid,
    _indent,
    _mark_text,
    _print,
    _sym,
    _warnings,
    estimation_note,
    fit_table,
    heading,
    verdict_lines,
)

LADDER_COLUMNS = ("χ²", "df", "CFI", "TLI", "RMSEA", "90% CI", "SRMR")


def render_invariance(result, console: Console) -> None:
    """Print the report of an :class:`~coscale.results.InvarianceResult` to ``console``."""
    _emit(console, lambda: _render(result, console))


def _render(result, console: Console) -> None:
    _header(result, console)
    _verdicts(result, console)
    _warnings(result, console)
    _ladder(result, console)
    _freed(result, console)
    _latent_means(result, console)
    _dmacs(result, console)


def _header(result, console: Console) -> None:
    title = Text(f"coscale {result.coscale_version}", style=HEAD)
    title.append(f" · {result.source} · instrument ")
    title.append(str(result.instrument), style=HEAD)
    console.print(title, overflow="fold")
    groups = ", ".join(
        f"{g['name']} (n = {fmt_count(g['n'])}{', reference' if i == 0 else ''})" for i, g in enumerate(result.groups)
    )
    settings = result.settings or {}
    console.print(f"Groups by {result.group_column}: {groups}", overflow="fold")
    console.print(
        f"Estimator {result.estimation.get('estimator', 'ML')} · missing {result.estimation.get('missing', 'listwise')}"
        f" · identification {'std.lv' if settings.get('std_lv') else 'marker items'}"
        f" · criteria {short_source(result.criteria.get('citation', ''))}",
        overflow="fold",
    )
    estimation_note(result, console)


def _verdicts(result, console: Console) -> None:
    heading(console, "Verdicts")
    fit = [v for v in result.verdicts if v.topic == "fit"]
    if fit:
        console.print(Text("Configural model fit", style=HEAD))
        _print(console, _indent(verdict_lines(fit)))
        console.print()
    console.print(Text("Measurement invariance", style=HEAD), Text(f"  {result.criteria.get('citation', '')}", style=NOTE))
    grid = _grid(pad=2)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for v in result.verdicts:
        if v.topic == "invariance":
            grid.add_row(_mark_text(v.holds), v.message)
    _print(console, _indent(grid))
    rules = result.criteria.get("rules", {})
    if rules:
        rule = rules.get("scalar") or next(iter(rules.values()))
        _note(console, f"A step {rule}.")


def _ladder(result, console: Console) -> None:
    heading(console, "The ladder", f"N = {fmt_count(sum(g['n'] for g in result.groups))}")
    rows = [(m.name, m.fit) for m in result.models]
    _print(console, _indent(fit_table(rows, columns=LADDER_COLUMNS, label="Model"), top=1))
    if not result.comparisons:
        return
    table = _data_table()
    table.add_column("Step", no_wrap=True)
    table.add_column(f"Δ{_sym('χ²', 'chi2')} (df)", justify="right", no_wrap=True)
    table.add_column("p", justify="right", no_wrap=True)
    for name in ("ΔCFI", "ΔRMSEA", "ΔSRMR"):
        table.add_column(name if _sym("Δ", "d") == "Δ" else "d" + name[1:], justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for c in result.comparisons:
        table.add_row(
            c["model"],
            f"{fmt_num(c['chisq_diff'], 2)} ({fmt_count(c['df_diff'])})",
            fmt_p(c["pvalue"]),
            _signed(c["delta_cfi"]),
            _signed(c["delta_rmsea"]),
            _signed(c["delta_srmr"]),
            _mark_text(c["holds"]),
        )
    _print(console, _indent(table, top=1))
    _note(console, "Each step is compared with the last model accepted below it.")


def _note(console: Console, text: str) -> None:
    _print(console, _indent(Text(text, style=NOTE)))


def _signed(x) -> str:
    if x is None:
        return "—"
    text = fmt_bounded(abs(x))
    return ("+" if x >= 0 else "−" if _sym("−", "-") == "−" else "-") + text


def _freed(result, console: Console) -> None:
    if not result.partial:
        return
    heading(console, "Partial invariance", "freed in this order (score tests, Holm-corrected)")
    table = _data_table()
    several = len(result.groups) > 2
    columns = [("#", True), ("Step", False), ("Item", False), ("Param.", False), ("Factor", False),
               (f"{_sym('χ²', 'chi2')} (df)", True), ("p", True), ("Holm α", True)]
    if several:
        columns.append(("Groups", False))
    for name, right in columns:
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for p in result.partial:
        cells = [
            str(p["order"]), p["step"], p["item"], p["parameter"], p["factor"],
            f"{fmt_num(p['statistic'], 2)} ({p['df']})", fmt_p(p["pvalue"]), fmt_p(p["threshold"], 4),
        ]
        table.add_row(*(cells + [p["group"]] if several else cells))
    _print(console, _indent(table, top=1))


def _latent_means(result, console: Console) -> None:
    if not result.latent_means:
        return
    ref = result.latent_means[0]["reference"]
    several = len(result.groups) > 2
    subtitle = f"reference {ref}" if several else f"{result.latent_means[0]['group']} minus {ref}"
    subtitle += f", {result.latent_means_model} model"
    heading(console, "Latent mean differences", subtitle)
    table = _data_table()
    columns = [("Factor", False)] + ([("Group", False)] if several else [])
    columns += [("Diff.", True), ("SE", True), ("95% CI", True), ("p", True), ("d", True)]
    for name, right in columns:
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for r in result.latent_means:
        table.add_row(
            r["factor"], *([r["group"]] if several else []),
            fmt_num(r["est"]), fmt_num(r["se"]), fmt_ci(r["ci_lower"], r["ci_upper"], bounded=False),
            fmt_p(r["pvalue"]), fmt_num(r["d"], 2),
        )
    _print(console, _indent(table, top=1))
    _note(console, "d: difference over the pooled latent SD (Hancock 2001).")


def _dmacs(result, console: Console) -> None:
    if not result.dmacs:
        return
    several = len(result.groups) > 2
    subtitle = ("" if several else f"{result.dmacs[0]['group']} vs {result.dmacs[0]['reference']}, ") + "Nye & Drasgow 2011"
    heading(console, "dMACS", subtitle)
    table = _data_table()
    columns = [("Item", False), ("Factor", False)] + ([("Group", False)] if several else [])
    columns += [("dMACS", True), ("Exp. diff.", True), ("", False)]
    for name, right in columns:
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for r in result.dmacs:
        table.add_row(
            r["item"], r["factor"], *([r["group"]] if several else []), fmt_num(r["dmacs"]),
            fmt_num(r["expected_difference"]), Text("freed", style=HEAD) if r["flagged"] else "",
        )
    _print(console, _indent(table, top=1))
    _note(console, "Exp. diff.: expected item-score difference at the focal group's latent mean; "
          "each item is freed in turn against the invariant anchors.")
