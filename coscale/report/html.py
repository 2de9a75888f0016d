"""HTML report of ``coscale validate`` and ``coscale invariance``: one self-contained file.

:func:`render_html` reads a :class:`~coscale.results.ValidationResult` or an
:class:`~coscale.results.InvarianceResult` (or their JSON form) and returns
one HTML document that opens offline and prints on A4:

- inline CSS and inline SVG figures (:mod:`coscale.report.figures`); no
  script, no font, image or style sheet from anywhere else, and a
  Content-Security-Policy that forbids loading any;
- every figure has a text alternative (``<title>``/``<desc>`` in the SVG,
  ``role="img"``, and a caption that states what is drawn); every table is a
  real ``<table>`` with ``<caption>`` and ``<th scope>``;
- colour-blind-safe colours, and never colour alone: verdicts carry ✓/✗ and a
  word, failing values are marked in the figures too;
- a print style sheet: A4, each section on a new page, no figure or table cut.

It computes no statistics: numbers come from the result, formatted by
:mod:`coscale.report.tables`. The answer distributions for the stacked bar
charts are read from the result's ``distributions`` field
(:func:`coscale.stats.distributions.answer_distributions`); a result without
it gets a note instead of the chart.

Validate, top to bottom: verdicts (plain words, criteria named, estimator and
why), methods paragraph (when given), data screening, answers per item,
item statistics, reliability, the measurement model (path diagram,
loadings), model fit, factor correlations and discriminant validity.
Invariance: verdicts, methods, screening, answers per group, the ladder
(chart and tables), partial invariance, dMACS, latent mean differences.
"""

from __future__ import annotations

import html
import re

from coscale.report import figures as fig
from coscale.report.tables import (
    MISSING,
    as_float,
    fmt_bounded,
    fmt_ci,
    fmt_count,
    fmt_cutoff,
    fmt_num,
    fmt_p,
    fmt_pct,
    mark,
    short_source,
    split_criterion,
)

__all__ = ["render_html", "VALIDATE_SECTIONS", "INVARIANCE_SECTIONS"]

#: section id -> heading, in page order (the methods section only when a paragraph is given)
VALIDATE_SECTIONS = {
    "verdicts": "Verdicts",
    "methods": "Methods and results, ready to paste",
    "screening": "Data screening",
    "answers": "Answers per item",
    "items": "Item statistics",
    "reliability": "Reliability",
    "model": "Measurement model",
    "fit": "Model fit",
    "discriminant": "Factor correlations and discriminant validity",
}
INVARIANCE_SECTIONS = {
    "verdicts": "Verdicts",
    "methods": "Methods and results, ready to paste",
    "screening": "Data screening",
    "answers": "Answers per group",
    "ladder": "The invariance ladder",
    "partial": "Partial invariance",
    "dmacs": "dMACS per item",
    "latent-means": "Latent mean differences",
}

TOPIC_TITLES = {
    "fit": "Model fit",
    "reliability": "Reliability",
    "convergent": "Convergent validity",
    "discriminant": "Discriminant validity",
    "invariance": "Measurement invariance",
}

CSS = """
:root { color-scheme: light; --ink: #1d1d1d; --muted: #5f5f5f; --rule: #1d1d1d; --faint: #e4e4e4;
  --ok: #00704f; --fail: #b34700; --na: #7a5c00; --bg-ok: #e9f5f0; --bg-fail: #fbeee6; --bg-na: #f8f3e1; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin: 0 auto; max-width: 920px; padding: 1.5rem 1.25rem 4rem; color: var(--ink); background: #fff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif;
  line-height: 1.5; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; line-height: 1.25; }
h2 { font-size: 1.3rem; margin: 2.6rem 0 .8rem; padding-bottom: .2rem; border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; }
p { margin: .5rem 0; }
.meta { color: var(--muted); margin: 0; }
.meta strong { color: var(--ink); font-weight: 600; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
pre { background: #f6f6f6; padding: .6rem .8rem; overflow-x: auto; border-radius: 4px; }
nav.toc { margin: 1rem 0 0; padding: .6rem .9rem; background: #f6f6f6; border-radius: 6px; }
nav.toc h2 { font-size: .95rem; border: 0; margin: 0 0 .2rem; padding: 0; }
nav.toc ol { margin: 0; padding-left: 1.4rem; columns: 2; column-gap: 2rem; }
nav.toc a { color: #0b5394; }
section.major > h2 .num { color: var(--muted); font-weight: 400; margin-right: .4rem; }
ul.verdicts { list-style: none; padding: 0; margin: .6rem 0; }
ul.verdicts > li { margin: .45rem 0; padding: .5rem .75rem; border-left: 5px solid; border-radius: 3px; }
ul.verdicts > li.ok { border-color: var(--ok); background: var(--bg-ok); }
ul.verdicts > li.fail { border-color: var(--fail); background: var(--bg-fail); }
ul.verdicts > li.na { border-color: var(--na); background: var(--bg-na); }
ul.verdicts .head { font-weight: 650; }
ul.verdicts .crit { display: block; color: var(--muted); font-size: .88rem; }
ul.verdicts ul { margin: .2rem 0 .1rem; padding-left: 1.1rem; list-style: none; }
ul.verdicts ul li { margin: .1rem 0; }
.mark { font-weight: 700; white-space: nowrap; }
.ok .mark, span.ok, td.ok { color: var(--ok); }
.fail .mark, span.fail, td.fail { color: var(--fail); }
.na .mark, span.na, td.na { color: var(--na); }
td.fail, span.fail { font-weight: 650; }
.warnings { border: 1px solid #d9b36c; background: #fffaf0; border-radius: 6px; padding: .5rem .9rem; margin: 1rem 0; }
.warnings h3 { margin: .2rem 0 .3rem; font-size: 1rem; }
.warnings ul { margin: .2rem 0; padding-left: 1.2rem; }
.warnings li.problem { font-weight: 600; }
.note, .caption-note { color: var(--muted); font-size: .9rem; }
p.apa { background: #f6f6f6; padding: .5rem .8rem; border-radius: 4px; }
.methods { border: 1px solid var(--faint); border-radius: 6px; padding: .4rem 1rem .8rem; }
.methods .references { font-size: .92rem; }
.table-wrap { overflow-x: auto; margin: 1rem 0 1.4rem; }
table { border-collapse: collapse; font-size: .92rem; margin: 0; }
caption { caption-side: top; text-align: left; padding: 0 0 .4rem; font-weight: 400; }
caption .label, figcaption .label { font-weight: 700; }
thead th { border-top: 2px solid var(--rule); border-bottom: 1px solid var(--rule); font-weight: 600;
  vertical-align: bottom; }
th, td { padding: .22rem .6rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:last-child > * { border-bottom: 2px solid var(--rule); }
tbody th[scope=row] { font-weight: 500; }
tbody tr.group th { font-weight: 700; padding-top: .5rem; border-bottom: 1px solid var(--faint); }
table.kv th[scope=row] { white-space: nowrap; padding-right: 1.2rem; }
table.kv { width: 100%; }
.table-wrap .note { margin: .3rem 0 0; }
figure { margin: 1.2rem 0 1.6rem; }
figure svg.fig { display: block; max-width: 100%; height: auto; }
figcaption { font-size: .9rem; margin-top: .45rem; color: var(--ink); }
.omitted { color: var(--na); background: var(--bg-na); padding: .4rem .7rem; border-radius: 4px; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; border-top: 1px solid var(--faint); padding-top: .6rem; }
@page { size: A4; margin: 16mm 14mm 18mm; }
@media print {
  html { font-size: 10pt; }
  body { max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav.toc { display: none; }
  section.major { break-before: page; }
  section.major.first { break-before: auto; }
  h2, h3 { break-after: avoid; }
  figure, table, .table-wrap, ul.verdicts > li, .warnings, p.apa, pre, .keep { break-inside: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  .table-wrap { overflow: visible; }
  figure svg.fig { max-height: 240mm; }
  a { color: inherit; text-decoration: none; }
}
"""

#: more answer categories than this are not drawn as a Likert chart (as coscale.stats.distributions)
MAX_SHOWN = 11

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"


# -- small helpers ----------------------------------------------------------------------


class Markup(str):
    """Text that is already HTML (not escaped again)."""


def _h(value) -> str:
    if isinstance(value, Markup):
        return str(value)
    return html.escape("" if value is None else str(value), quote=True)


def _get(obj, name, default=None):
    """A field of a dataclass or a key of a dict, tolerant of both and of absence."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _pretty(text: str) -> str:
    """Verdict messages with typographic operators: ``>=`` -> ``≥``, ``sqrt(AVE)`` -> ``√AVE``."""
    text = str(text or "")
    for a, b in ((">=", "≥"), ("<=", "≤"), ("!=", "≠")):
        text = text.replace(a, b)
    text = re.sub(r"sqrt\((\w+)\)", "√\\1", text)
    return re.sub(r"(?<![\w.])-(?=\d|\.\d)", "−", text)


def _mark(holds, word: bool = True) -> Markup:
    symbol, text = mark(holds)
    cls = "ok" if holds is True else "fail" if holds is False else "na"
    return Markup(f'<span class="mark {cls}">{symbol}{" " + text if word else ""}</span>')


def _cls(holds) -> str:
    return "ok" if holds is True else "fail" if holds is False else "na"


def _signed(x, digits: int = 3) -> str:
    f = as_float(x)
    if f is None:
        return MISSING
    text = fmt_bounded(abs(f), digits)
    if text.strip("0.") == "":
        return text
    return ("+" if f >= 0 else "−") + text


def _p_eq(p) -> str:
    text = fmt_p(p)
    return text if text.startswith(("<", ">")) or text == MISSING else f"= {text}"


def _int(x) -> int:
    f = as_float(x)
    return int(round(f)) if f is not None else 0


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


_RULE_RE = re.compile(r"^(?P<name>.*?)\s*(?P<op>≥|≤|<|>|=)\s*(?P<cut>-?(?:\d+\.?\d*|\.\d+))\s*$")


def _rule(criterion: str) -> dict:
    """A verdict criterion as parts: name, op (ASCII), cut, rule text, source."""
    rule, source = split_criterion(criterion or "")
    m = _RULE_RE.match(rule)
    out = {"rule": rule, "source": short_source(source), "name": rule, "op": None, "cut": None}
    if m:
        op = {"≥": ">=", "≤": "<="}.get(m.group("op"), m.group("op"))
        name = m.group("name")
        out.update(name=name, op=op, cut=as_float(m.group("cut")))
    return out


def _display(name: str) -> str:
    """"Alpha" -> "alpha"; acronyms stay."""
    return name.lower() if name[:1].isupper() and name[1:].islower() else name


class _Doc:
    """Counters and unique ids for one page."""

    def __init__(self):
        self.figures = 0
        self.tables = 0
        self.ids = 0
        self.svgs = 0

    def uid(self, stem: str) -> str:
        self.ids += 1
        return f"{re.sub(r'[^a-z0-9]+', '-', stem.lower())}-{self.ids}"

    def figure(self, svg: str, caption: str, *, fid: str = "") -> str:
        self.figures += 1
        self.svgs += 1
        idattr = f' id="{_h(fid)}"' if fid else ""
        return (
            f'<figure{idattr} class="keep">{svg}<figcaption><span class="label">Figure {self.figures}.</span> '
            f"{_h(caption)}</figcaption></figure>"
        )

    def table(
        self,
        caption: str,
        head: list,
        rows: list,
        *,
        num: set | None = None,
        note: str | Markup = "",
        cls: str = "",
        row_header: bool = True,
        show_head: bool = True,
    ) -> str:
        """A table: ``head`` is a list of column headers, ``rows`` lists of cells.

        A row may be ``("group", text)`` for a spanning group header row.
        Columns in ``num`` (indices) are right-aligned numbers. The first cell
        of a row is its header (``th scope="row"``) when ``row_header``.
        """
        self.tables += 1
        num = num or set()
        parts = [f'<div class="table-wrap"><table{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>']
        parts.append(f'<caption><span class="label">Table {self.tables}.</span> {_h(caption)}</caption>')
        if show_head:
            cells = "".join(
                f'<th scope="col"{" class=num" if i in num else ""}>{_h(h)}</th>' for i, h in enumerate(head)
            )
            parts.append(f"<thead><tr>{cells}</tr></thead>")
        parts.append("<tbody>")
        for row in rows:
            if isinstance(row, tuple) and len(row) == 2 and row[0] == "group":
                parts.append(f'<tr class="group"><th scope="colgroup" colspan="{len(head)}">{_h(row[1])}</th></tr>')
                continue
            cells = []
            for i, cell in enumerate(row):
                extra = ""
                if isinstance(cell, tuple):  # (content, css class)
                    cell, extra = cell
                classes = " ".join(c for c in (("num" if i in num else ""), extra) if c)
                c_attr = f' class="{classes}"' if classes else ""
                if i == 0 and row_header:
                    cells.append(f'<th scope="row"{c_attr}>{_h(cell)}</th>')
                else:
                    text = cell if isinstance(cell, Markup) else fig.minus(cell if cell is not None else "")
                    cells.append(f"<td{c_attr}>{_h(text)}</td>")
            parts.append(f"<tr>{''.join(cells)}</tr>")
        parts.append("</tbody></table>")
        if note:
            parts.append(f'<p class="note"><em>Note.</em> {_h(note)}</p>')
        parts.append("</div>")
        return "".join(parts)


def _section(sid: str, title: str, body: str, number: int, first: bool = False) -> str:
    cls = "major first" if first else "major"
    return (
        f'<section id="{sid}" class="{cls}" aria-labelledby="{sid}-h">'
        f'<h2 id="{sid}-h"><span class="num">{number}</span>{_h(title)}</h2>{body}</section>'
    )


def _omitted(text: str) -> str:
    return f'<p class="omitted" role="note">{_h(text)}</p>'


# -- methods paragraph -----------------------------------------------------------------------

_EXTERNAL_LINK = re.compile(r"<a\b[^>]*?\bhref\s*=\s*([\"'])\s*(?:https?:)?//[^\"']*\1[^>]*>(.*?)</a\s*>", re.I | re.S)
_EXTERNAL_ATTR = re.compile(r"\s(?:src|href|srcset|action|poster|data)\s*=\s*([\"'])\s*(?:https?:)?//[^\"']*\1", re.I)
_SCRIPT = re.compile(r"<script\b.*?</script\s*>|<script\b[^>]*/?>", re.I | re.S)
_EXTERNAL_URL_CSS = re.compile(r"url\(\s*([\"']?)\s*(?:https?:)?//[^)]*\)", re.I)
_HREF_OF = re.compile(r"\bhref\s*=\s*([\"'])(.*?)\1", re.I | re.S)


def _offline(markup: str) -> str:
    """Keep a supplied HTML fragment self-contained: links to the web become plain text, no script."""

    def unlink(m: re.Match) -> str:
        href = _HREF_OF.search(m.group(0))
        url = href.group(2).strip() if href else ""
        inner = m.group(2)
        return inner if (not url or url in inner) else f"{inner} ({html.escape(url)})"

    markup = _SCRIPT.sub("", markup or "")
    markup = _EXTERNAL_LINK.sub(unlink, markup)
    markup = _EXTERNAL_ATTR.sub("", markup)
    markup = _EXTERNAL_URL_CSS.sub("none", markup)
    return re.sub(r"\son\w+\s*=\s*([\"']).*?\1", "", markup, flags=re.S)


def _methods(methods_html: str) -> str:
    return (
        '<p class="note">Written from the numbers in this report; check it and adapt it to your study before use.</p>'
        f'<div class="methods">{_offline(methods_html)}</div>'
    )


# -- verdicts -----------------------------------------------------------------------------------


def _criteria_text(verdicts: list) -> str:
    """"CR ≥ .70, AVE ≥ .50 (Fornell & Larcker 1981)": rules grouped by source, in order."""
    groups: list[list] = []
    seen = set()
    for v in verdicts:
        if v.criterion in seen:
            continue
        seen.add(v.criterion)
        r = _rule(v.criterion)
        rule = _pretty(r["rule"])
        if r["name"] and r["op"] is not None:
            rule = f"{_display(r['name'])} {rule[len(r['name']):].strip()}"
        if groups and groups[-1][-1] == r["source"]:
            if rule not in groups[-1][:-1]:
                groups[-1].insert(-1, rule)
        else:
            groups.append([rule, r["source"]])
    return "; ".join(", ".join(g[:-1]) + (f" ({g[-1]})" if g[-1] else "") for g in groups)


def _value_list(verdicts: list) -> str:
    out = []
    for v in verdicts:
        r = _rule(v.criterion)
        out.append(f"{_display(r['name'])} = {fmt_bounded(v.value)}")
    return ", ".join(out)


def _topic_item(title: str, verdicts: list, *, subject_note: str = "", values: bool = False) -> str:
    """One line of the summary: a mark, the topic in plain words, the failures, the criteria."""
    holds = [v.holds for v in verdicts]
    n = len(verdicts)
    n_fail = holds.count(False)
    n_na = holds.count(None)
    if n_fail:
        state, head = False, f"{title}: not met — {n_fail} of {_plural(n, 'check')} fail."
    elif n_na == n:
        state, head = None, f"{title}: could not be judged."
    elif n_na:
        state, head = None, f"{title}: met where it could be judged ({n - n_na} of {_plural(n, 'check')})."
    else:
        state, head = True, f"{title}: met — all {_plural(n, 'check')} pass."
    details = []
    if values:
        details.append(_value_list(verdicts) + (f" ({subject_note})" if subject_note else "") + ".")
    elif subject_note:
        details.append(subject_note + ".")
    problems: dict = {}  # (holds, message) -> subjects, so that one message lists every subject it concerns
    for v in verdicts:
        if v.holds is not True:
            problems.setdefault((v.holds, _pretty(v.message)), []).append(v.subject)
    items = "".join(
        f"<li>{_mark(holds, word=False)} "
        f"{_h(', '.join(s for s in subjects if s not in ('instrument', 'configural')))}"
        f"{': ' if any(s not in ('instrument', 'configural') for s in subjects) else ''}{_h(message)}</li>"
        for (holds, message), subjects in problems.items()
    )
    sym, _ = mark(state)
    return (
        f'<li class="{_cls(state)}"><span class="mark">{sym}</span> <span class="head">{_h(head)}</span> '
        f"{_h(' '.join(details))}{f'<ul>{items}</ul>' if items else ''}"
        f'<span class="crit">Criteria: {_h(_criteria_text(verdicts))}.</span></li>'
    )


def _estimation_paragraph(result, n_text: str) -> str:
    est = result.estimation or {}
    estimator = est.get("estimator") or _get(getattr(result, "cfa", None), "estimator") or "ML"
    missing = est.get("missing") or _get(getattr(result, "cfa", None), "missing") or "listwise"
    missing_text = {"fiml": "full-information ML (FIML) for missing answers",
                    "listwise": "listwise deletion of incomplete answers"}.get(missing, f"missing answers: {missing}")
    reason = est.get("reason") or ""
    return (
        f'<p class="estimation"><strong>Estimation.</strong> {_h(estimator)}, {_h(missing_text)}{_h(n_text)}. '
        f"{_h(reason)}</p>"
    )


def _warnings_block(result) -> str:
    screening = list((result.screening or {}).get("warnings") or [])
    others = [w for w in (result.warnings or []) if w not in screening]
    if not others and not screening:
        return ""
    items = "".join(f'<li class="problem">{_h(w)}</li>' for w in others)
    items += "".join(f"<li>{_h(w)}</li>" for w in screening)
    n = len(others) + len(screening)
    lead = " (bold: estimation problems)" if others else ""
    return f'<div class="warnings" role="note"><h3>Warnings ({n}){lead}</h3><ul>{items}</ul></div>'


def _per_scale_table(doc: _Doc, result) -> str:
    scale_names = [s.name for s in result.scales]
    verdicts = [v for v in result.verdicts or [] if v.subject in scale_names]
    columns: list = []
    for v in verdicts:
        key = (v.topic, v.criterion)
        if key not in columns:
            columns.append(key)
    if not columns:
        return ""
    head = ["Scale"]
    for _, criterion in columns:
        r = _rule(criterion)
        name = _display(r["name"])
        rule = _pretty(r["rule"])
        if "√AVE" in rule or "sqrt" in criterion:
            head.append("Fornell–Larcker √AVE > r")
        else:
            head.append(f"{name} {rule[len(r['name']):].strip()}")
    head.append("All")
    rows = []
    for s in result.scales:
        row: list = [s.name]
        states = []
        for topic, criterion in columns:
            found = [v for v in verdicts if v.subject == s.name and v.topic == topic and v.criterion == criterion]
            if not found:
                row.append(MISSING)
                continue
            v = found[0]
            states.append(v.holds)
            symbol, _ = mark(v.holds)
            row.append((f"{fmt_bounded(v.value)} {symbol}", _cls(v.holds)))
        overall = False if False in states else None if None in states else True
        row.append((mark(overall)[1], _cls(overall)))
        rows.append(row)
    sources = []
    for topic in dict.fromkeys(t for t, _ in columns):
        vs = [v for v in verdicts if v.topic == topic]
        sources.append(f"{TOPIC_TITLES.get(topic, topic.capitalize())}: {_criteria_text(vs)}")
    note = "✓ meets, ✗ does not meet the criterion. " + "; ".join(sources) + "."
    return doc.table("Verdicts per scale", head, rows, num=set(range(1, len(head))), note=note)


def _validate_verdicts(doc: _Doc, result) -> str:
    verdicts = list(result.verdicts or [])
    cfa = result.cfa
    items = []
    fit = [v for v in verdicts if v.topic == "fit"]
    if fit:
        k = len(result.scales)
        note = f"CFA of {'the scale' if k == 1 else f'all {k} scales'}, N = {fmt_count(cfa.n)}" if cfa else ""
        items.append(_topic_item("Model fit", fit, subject_note=note, values=True))
    else:
        items.append(
            '<li class="na"><span class="mark">?</span> <span class="head">Model fit: not judged — no CFA was '
            'fitted.</span> See the warnings below.</li>'
        )
    for topic in ("reliability", "convergent", "discriminant"):
        vs = [v for v in verdicts if v.topic == topic]
        if not vs:
            continue
        scales = sorted({v.subject for v in vs if " / " not in v.subject})
        pairs = sorted({v.subject for v in vs if " / " in v.subject})
        bits = []
        if scales:
            bits.append(_plural(len(scales), "scale"))
        if pairs:
            bits.append(_plural(len(pairs), "pair") + " of scales")
        items.append(_topic_item(TOPIC_TITLES[topic], vs, subject_note=" and ".join(bits)))
    for topic in sorted({v.topic for v in verdicts} - set(TOPIC_TITLES)):
        items.append(_topic_item(topic.capitalize(), [v for v in verdicts if v.topic == topic]))
    n_text = f"; N = {fmt_count(cfa.n)} in the CFA" if cfa is not None else ""
    out = [f'<ul class="verdicts">{"".join(items)}</ul>', _estimation_paragraph(result, n_text)]
    out.append(_per_scale_table(doc, result))
    out.append(_warnings_block(result))
    return "".join(out)


def _invariance_verdicts(doc: _Doc, result) -> str:
    verdicts = list(result.verdicts or [])
    items = []
    fit = [v for v in verdicts if v.topic == "fit"]
    if fit:
        items.append(_topic_item("Configural model fit", fit, values=True,
                                 subject_note=f"N = {fmt_count(sum(_int(g.get('n')) for g in result.groups))}"))
    for v in verdicts:
        if v.topic != "invariance":
            continue
        state = v.holds
        word = {True: "holds", False: "does not hold", None: "not tested"}[state]
        partial = bool(state) and "partial" in (v.message or "")
        head = f"{str(v.subject).capitalize()} invariance: {'holds partially' if partial else word}."
        sym, _ = mark(state)
        items.append(
            f'<li class="{_cls(state)}"><span class="mark">{sym}</span> <span class="head">{_h(head)}</span> '
            f"{_h(_pretty(v.message))}</li>"
        )
    for topic in sorted({v.topic for v in verdicts} - {"fit", "invariance"}):
        items.append(_topic_item(topic.capitalize(), [v for v in verdicts if v.topic == topic]))
    groups = ", ".join(
        f"{g.get('name')} (n = {fmt_count(g.get('n'))}{', reference' if i == 0 else ''})"
        for i, g in enumerate(result.groups or [])
    )
    criteria = result.criteria or {}
    rules = criteria.get("rules") or {}
    rule_lines = "".join(
        f"<li><strong>{_h(step)}</strong>: a step {_h(_pretty(text))}</li>" for step, text in rules.items()
    )
    out = [
        f'<p><strong>Groups</strong> by <code>{_h(result.group_column)}</code>: {_h(groups)}.</p>',
        f'<ul class="verdicts">{"".join(items)}</ul>',
    ]
    if rule_lines:
        out.append(f'<p class="note">Criteria ({_h(short_source(criteria.get("citation", "")))}); each step is '
                   f"compared with the last model accepted below it:</p><ul class=\"note\">{rule_lines}</ul>")
    out.append(_estimation_paragraph(result, ""))
    out.append(_warnings_block(result))
    return "".join(out)


# -- screening ------------------------------------------------------------------------------------


def _counts_text(mapping: dict) -> str:
    return ", ".join(f"{k} {fmt_count(v)}" for k, v in mapping.items())


def _screening(doc: _Doc, result, n_items: int, *, invariance: bool = False) -> str:
    s = result.screening or {}
    rows = []
    used = "answered all " + _plural(n_items, "item")
    rows.append(["Rows", f"{fmt_count(s.get('rows_read'))} read; {fmt_count(s.get('rows_used'))} {used}"])
    if s.get("rows_without_group"):
        rows.append(["Without a group", f"{fmt_count(s['rows_without_group'])} rows left out"])
    if s.get("rows_not_in_selected_groups"):
        rows.append(["Other groups", f"{fmt_count(s['rows_not_in_selected_groups'])} rows in groups not selected, left out"])
    if invariance:
        groups = ", ".join(f"{g.get('name')} {fmt_count(g.get('n'))}" for g in result.groups or [])
        rows.append([f"Groups ({result.group_column})", f"n used per group: {groups}"])
    missing = {k: v for k, v in (s.get("missing_per_item") or {}).items() if v}
    if missing:
        total = sum(_int(v) for v in missing.values())
        rows.append(["Missing answers", f"{_plural(total, 'answer')} in {_plural(len(missing), 'item')}: "
                     f"{_counts_text(missing)}"])
    else:
        rows.append(["Missing answers", "none"])
    codes = s.get("missing_codes_found") or {}
    rows.append(["Missing-value codes",
                 f"{_plural(sum(_int(v) for v in codes.values()), 'answer')} treated as missing: {_counts_text(codes)}"
                 if codes else "none found"])
    coerced = s.get("out_of_range_coerced") or {}
    if coerced:
        rows.append(["Out of range", f"{_plural(sum(_int(v) for v in coerced.values()), 'answer')} treated as "
                     f"missing: {_counts_text(coerced)}"])
    straight = s.get("straightliners") or {}
    if straight:
        tokens = ", ".join(
            f"{k} {fmt_count(v.get('count') if isinstance(v, dict) else v)}" for k, v in straight.items()
        )
        rows.append(["Straight-lining", f"respondents with one answer to every item of a scale: {tokens}"])
    else:
        rows.append(["Straight-lining", "none"])
    dups = s.get("duplicate_ids") or []
    if not (result.settings or {}).get("id_column"):
        rows.append(["Duplicate ids", "not checked (no id column given)"])
    elif dups:
        shown = ", ".join(str(d) for d in dups[:10]) + (", …" if len(dups) > 10 else "")
        rows.append(["Duplicate ids", (f"{len(dups)}: {shown}", "fail")])
    else:
        rows.append(["Duplicate ids", "none"])
    zero = s.get("zero_variance_items") or []
    rows.append(["Zero variance", (", ".join(zero), "fail") if zero else "none"])
    return doc.table("Data screening", ["Check", "Finding"], rows, cls="kv")


# -- answers (stacked bars) -----------------------------------------------------------------------


def _distributions(result):
    d = getattr(result, "distributions", None)
    return d if isinstance(d, dict) and d.get("scales") else None


def _answers(doc: _Doc, result, groups: list | None) -> str:
    dist = _distributions(result)
    if dist is None:
        return _omitted(
            "The answer distributions are not stored in this result, so the stacked bar chart of the answers is "
            "omitted. Re-run the analysis with a version of coscale that stores them."
        )
    out = []
    if groups:
        out.append(f"<p>Each item has one bar per group ({_h(', '.join(groups))}), one above the other.</p>")
    likert = [s for s in dist["scales"] if s.get("likert") and s.get("categories")]
    extent = max([fig.likert_extent(s, groups) for s in likert] + [0.0])
    for scale in dist["scales"]:
        label = scale.get("label") or scale.get("name")
        if not scale.get("likert") or not scale.get("categories"):
            name = scale.get("name")
            shown = f"{label} ({name})" if label != name else str(name)
            out.append(_omitted(f"{shown}: the answers take more than {MAX_SHOWN} different values, so they are "
                                "not drawn as answer categories."))
            continue
        svg = fig.likert_chart(scale, doc.uid(f"likert-{scale.get('name')}"), groups=groups, extent=extent)
        cats = scale["categories"]
        names = scale.get("labels") or [str(c) for c in cats]
        k = len(cats)
        low, high = names[: k // 2], names[(k + 1) // 2:]
        middle = f"; the middle category ({names[k // 2]}) is split across zero" if k % 2 else ""
        reverse = any(it.get("reverse") for it in scale.get("items") or [])
        caption = (
            f"Answers to the items of {label}{'' if label == scale.get('name') else ' (' + str(scale.get('name')) + ')'}, percent of the answers given to each item"
            f"{' in each group' if groups else ''}. Left of zero: {', '.join(low)}; right of zero: {', '.join(high)}"
            f"{middle}. Numbers in the bars are percentages; Σ: the sum of each side. The axis is the same in every chart of this report."
            + (" (R): reverse-keyed item, shown as answered (before recoding)." if reverse else "")
        )
        out.append(doc.figure(svg, caption))
    return "".join(out)


# -- item statistics and reliability ---------------------------------------------------------------


def _item_tables(doc: _Doc, result) -> str:
    out = []
    head = ["Item", "n", "M", "SD", "Skew", "Kurtosis", "Floor %", "Ceiling %", "Item-rest r", "α if deleted"]
    for s in result.scales:
        rows = []
        reverse = set(s.reverse_keyed or [])
        for r in s.item_statistics or []:
            item = str(r.get("item", ""))
            rows.append([
                f"{item} (R)" if item in reverse else item,
                fmt_count(r.get("n")), fmt_num(r.get("mean"), 2), fmt_num(r.get("sd"), 2),
                fmt_num(r.get("skewness"), 2), fmt_num(r.get("kurtosis"), 2),
                fmt_pct(r.get("floor")), fmt_pct(r.get("ceiling")),
                fmt_bounded(r.get("item_rest")), fmt_bounded(r.get("alpha_if_deleted")),
            ])
        note = ("Skew and kurtosis: psych type 3 (excess kurtosis). Floor and ceiling: percent of answers in the "
                "lowest and highest category. Item-rest r: correlation of the item with the sum of the other items.")
        if reverse:
            note += " (R): reverse-keyed, recoded (min + max − answer) before every statistic."
        caption = f"Item statistics of {s.label or s.name}" + (f" ({s.name})" if s.label and s.label != s.name else "")
        out.append(doc.table(caption, head, rows, num=set(range(1, len(head))), note=note))
    return "".join(out)


_REL_KEYS = (
    ("alpha", "α", "reliability"),
    ("alpha_ordinal", "ordinal α", "reliability"),
    ("omega", "ω", "reliability"),
    ("omega_ordinal", "ordinal ω", "reliability"),
    ("composite_reliability", "CR", "convergent"),
    ("ave", "AVE", "convergent"),
)


def _cutoffs(result) -> dict:
    """Cut-off per reliability key, read from the verdicts' criteria (alpha -> .70, AVE -> .50, ...)."""
    names = {"alpha": "alpha", "omega": "omega", "cr": "composite_reliability", "ave": "ave",
             "ordinal alpha": "alpha_ordinal", "ordinal omega": "omega_ordinal"}
    out = {}
    for v in result.verdicts or []:
        r = _rule(v.criterion)
        key = names.get(str(r["name"]).lower())
        if key and r["cut"] is not None and key not in out:
            out[key] = r["cut"]
    return out


def _reliability(doc: _Doc, result) -> str:
    cuts = _cutoffs(result)
    present = [k for k, _, _ in _REL_KEYS if any(_get(s.reliability, k) is not None for s in result.scales)]
    scales = []
    for s in result.scales:
        rel = s.reliability
        measures = []
        for key in present:
            value = _get(rel, key)
            ci = None
            if key == "alpha" and _get(rel, "alpha_ci"):
                ci = tuple((list(rel.alpha_ci) + [None, None])[:2])
            elif _get(rel, f"{key}_ci"):
                ci = tuple((list(_get(rel, f"{key}_ci")) + [None, None])[:2])
            measures.append({"key": key, "value": value, "ci": ci, "cut": cuts.get(key)})
        scales.append({"name": s.name, "measures": measures})
    refs: dict[float, list] = {}
    labels = {"alpha": "α", "omega": "ω", "composite_reliability": "CR", "ave": "AVE",
              "alpha_ordinal": "ord. α", "omega_ordinal": "ord. ω"}
    for key in present:
        if cuts.get(key) is not None:
            refs.setdefault(cuts[key], []).append(labels[key])
    ref_list = [(x, f"{', '.join(names)} ≥ {fmt_cutoff(x)}") for x, names in sorted(refs.items())]
    if not ref_list:
        ref_list = [(0.7, ".70"), (0.5, ".50")]
    out = []
    if scales and present:
        svg = fig.reliability_forest(scales, doc.uid("reliability"), ref_list)
        legend = ", ".join(
            f"{m[2]} {'hollow ' if len(m) > 3 else ''}{m[0]}" for m in (fig.RELIABILITY_MARKS[k] for k in present))
        out.append(doc.figure(svg, (
            f"Reliability and convergent validity per scale. Markers: {legend}; alpha with its 95% confidence "
            f"interval. Dashed lines: the cut-offs ({'; '.join(t for _, t in ref_list)}). Values below their "
            "cut-off are marked ✗ in the right-hand column.")))
    head = ["Scale", "n", "α", "95% CI", "std. α"]
    extra = [(k, lab) for k, lab, _ in _REL_KEYS if k not in ("alpha",) and k in present]
    head += [lab for _, lab in extra]
    rows = []
    methods = set()
    for s in result.scales:
        rel = s.reliability
        lo, hi = (list(rel.alpha_ci or []) + [None, None])[:2]
        methods.add(str(_get(rel, "alpha_ci_method") or ""))
        row = [s.name, fmt_count(rel.n), fmt_bounded(rel.alpha), fmt_ci(lo, hi), fmt_bounded(rel.alpha_std)]
        for key, _ in extra:
            v = _get(rel, key)
            cut = cuts.get(key)
            fail = as_float(v) is not None and cut is not None and float(v) < cut
            row.append((fmt_bounded(v) + (" ✗" if fail else ""), "fail" if fail else ""))
        rows.append(row)
    note = (f"CI of alpha: {', '.join(m for m in methods if m) or 'as computed'}. ω from a one-factor CFA of each "
            "scale; CR (composite reliability) and AVE (average variance extracted) from the standardized loadings "
            "of the CFA of all scales. ✗: below the cut-off.")
    out.append(doc.table("Reliability and convergent validity", head, rows, num=set(range(1, len(head))), note=note))
    return "".join(out)


# -- the CFA ------------------------------------------------------------------------------------------


def _suffix_from_name(name: str) -> str:
    low = name.lower()
    return "_robust" if "robust" in low else "_scaled" if "scaled" in low else ""


def _model_section(doc: _Doc, result) -> str:
    cfa = result.cfa
    if cfa is None:
        reason = next((w for w in result.warnings or [] if "CFA" in w), "too few answers for a CFA")
        return _omitted(f"No CFA was fitted, so there is no measurement model to draw: {reason}")
    settings = result.settings or {}
    scaling = "unit factor variances" if settings.get("std_lv") else "marker items (first loading fixed to 1)"
    status = (f"converged in {fmt_count(cfa.iterations)} iterations" if cfa.converged
              else "did NOT converge: the estimates below are not trustworthy")
    out = [f"<p>{_h(cfa.estimator)}, missing answers {_h(cfa.missing)}, N = {_h(fmt_count(cfa.n))}; "
           f'<span class="{"" if cfa.converged else "fail"}">{_h(status)}</span>. Factors scaled by {_h(scaling)}.</p>']
    estimates = [e for e in cfa.estimates or [] if not e.get("group")]
    loadings = [(e.get("lhs"), e.get("rhs"), e.get("std_all")) for e in estimates if e.get("op") == "=~"]
    factors = list((cfa.factor_correlations or {}).get("factors") or dict.fromkeys(f for f, _, _ in loadings))
    observed = {it for _, it, _ in loadings}
    corr = {}
    fc = cfa.factor_correlations or {}
    if fc.get("factors") and fc.get("matrix"):
        names = fc["factors"]
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                try:
                    corr[(names[i], names[j])] = fc["matrix"][i][j]
                except (IndexError, TypeError):
                    pass
    else:
        for e in estimates:
            if e.get("op") == "~~" and e.get("lhs") in factors and e.get("rhs") in factors and e["lhs"] != e["rhs"]:
                corr[(e["lhs"], e["rhs"])] = e.get("std_all")
    covs = [(e["lhs"], e["rhs"], e.get("std_all")) for e in estimates
            if e.get("op") == "~~" and e.get("lhs") in observed and e.get("rhs") in observed and e["lhs"] != e["rhs"]]
    reverse = {it for s in result.scales for it in (s.reverse_keyed or [])}
    if loadings:
        svg = fig.path_diagram(loadings, factors, corr, doc.uid("path"), reverse=reverse, covariances=covs)
        heywood = [f"{i}" for _, i, v in loadings if as_float(v) is not None and abs(float(v)) > 1]
        out.append(doc.figure(svg, (
            "The measurement model with standardized estimates (std.all). Ellipses: factors (scales); rectangles: "
            "items; arrows: loadings (thicker = larger; dashed = negative or cross-loading); curved double-headed "
            "arrows: factor correlations"
            + ("; left of the items: residual correlations" if covs else "")
            + "." + (" (R): reverse-keyed item." if reverse & {i for _, i, _ in loadings} else "")
            + (f" Standardized loadings above 1 (Heywood cases): {', '.join(heywood)}." if heywood else ""))))
    rows = []
    previous = None
    seen = set()
    for e in estimates:
        if e.get("op") != "=~":
            continue
        if e.get("lhs") != previous:
            previous = e.get("lhs")
            rows.append(("group", f"{previous} (cross-loadings)" if previous in seen else previous))
            seen.add(previous)
        item = e.get("rhs", "")
        free = e.get("free", True)
        rows.append([
            f"{item} (R)" if item in reverse else item, fmt_num(e.get("est")),
            fmt_num(e.get("se")) if free else "fixed", fmt_num(e.get("z"), 2) if free else "",
            fmt_p(e.get("pvalue")) if free else "", fmt_bounded(e.get("std_all")),
        ])
    if rows:
        out.append(doc.table("Factor loadings", ["Item", "Estimate", "SE", "z", "p", "Std."], rows,
                             num={1, 2, 3, 4, 5},
                             note="Estimate: unstandardized loading; Std.: standardized loading (std.all)."))
    mis = list(cfa.modification_indices or [])[:5]
    if mis:
        rows = [[f"{m.get('lhs', '')} {m.get('op', '')} {m.get('rhs', '')}", fmt_num(m.get("mi"), 2),
                 fmt_num(m.get("epc")), fmt_bounded(m.get("sepc_all"))] for m in mis]
        out.append(doc.table("Largest modification indices", ["Parameter", "MI", "EPC", "Std. EPC"], rows,
                             num={1, 2, 3},
                             note="MI: expected drop in χ² when the parameter is freed; EPC: expected parameter "
                                  "change. Free parameters only on theoretical grounds."))
    if cfa.model:
        out.append("<h3>Model in lavaan syntax</h3><pre>" + _h("\n".join(cfa.model)) + "</pre>")
    return "".join(out)


def _fit_rows(fit: dict) -> list:
    """Rows of the fit table: standard, and scaled/robust where the estimator gives them."""
    rows = [("Standard", "")]
    if any(k.endswith("_scaled") for k in fit):
        rows.append(("Scaled", "_scaled"))
    if any(k.endswith("_robust") for k in fit):
        rows.append(("Robust", "_robust"))
    out = []
    for label, sfx in rows:
        chi_sfx = "_scaled" if sfx else ""

        def g(key, s=sfx):
            v = fit.get(f"{key}{s}")
            return v if v is not None or not s else None

        out.append([
            label, fmt_num(fit.get(f"chisq{chi_sfx}"), 2), fmt_count(fit.get(f"df{chi_sfx}")),
            fmt_p(fit.get(f"pvalue{chi_sfx}")), fmt_bounded(g("cfi")), fmt_bounded(g("tli")), fmt_bounded(g("rmsea")),
            fmt_ci(g("rmsea_ci_lower"), g("rmsea_ci_upper")), fmt_bounded(fit.get("srmr")),
            fmt_num(fit.get("aic"), 1) if not sfx else "", fmt_num(fit.get("bic"), 1) if not sfx else "",
        ])
    return out


def _apa_fit(fit: dict, sfx: str) -> str:
    chi = "_scaled" if sfx else ""
    word = {"_robust": "robust ", "_scaled": "scaled "}.get(sfx, "")
    chi_word = "scaled " if chi else ""
    return (
        f"{chi_word}χ²({fmt_count(fit.get('df' + chi))}) = {fmt_num(fit.get('chisq' + chi), 2)}, "
        f"p {_p_eq(fit.get('pvalue' + chi))}, {word}CFI = {fmt_bounded(fit.get('cfi' + sfx))}, "
        f"{word}TLI = {fmt_bounded(fit.get('tli' + sfx))}, {word}RMSEA = {fmt_bounded(fit.get('rmsea' + sfx))}, "
        f"90% CI {fmt_ci(fit.get('rmsea_ci_lower' + sfx), fit.get('rmsea_ci_upper' + sfx))}, "
        f"SRMR = {fmt_bounded(fit.get('srmr'))}"
    )


def _fit_section(doc: _Doc, result) -> str:
    cfa = result.cfa
    if cfa is None:
        return _omitted("No CFA was fitted, so there are no fit indices (see the warnings in the Verdicts section).")
    fit = cfa.fit or {}
    verdicts = [v for v in result.verdicts or [] if v.topic == "fit"]
    indices = []
    sfx_used = ""
    for v in verdicts:
        r = _rule(v.criterion)
        name = r["name"]
        sfx = _suffix_from_name(name)
        sfx_used = sfx_used or sfx
        base = name.split(" ")[0].lower()
        ci = None
        if base == "rmsea":
            ci = (fit.get(f"rmsea_ci_lower{sfx}"), fit.get(f"rmsea_ci_upper{sfx}"))
        indices.append({"name": name, "value": v.value, "op": r["op"] or ">=", "cut": r["cut"], "ci": ci,
                        "holds": v.holds, "source": r["source"]})
    out = []
    if indices:
        sources = sorted({d["source"] for d in indices if d["source"]})
        svg = fig.fit_chart(indices, doc.uid("fit"))
        out.append(doc.figure(svg, (
            "Fit indices against their cut-offs" + (f" ({'; '.join(sources)})" if sources else "")
            + ": the dot is the value (RMSEA with its 90% CI), the vertical bar the cut-off, the shaded side "
            "acceptable; ✗ marks an index that misses its cut-off."
            + (" Robust indices, as used in the verdicts." if sfx_used == "_robust" else ""))))
    head = ["", "χ²", "df", "p", "CFI", "TLI", "RMSEA", "90% CI", "SRMR", "AIC", "BIC"]
    out.append(doc.table(f"Fit of the {cfa.estimator} model (N = {fmt_count(cfa.n)})", head, _fit_rows(fit),
                         num=set(range(1, len(head))),
                         note="Fit measures as lavaan's fitMeasures (RMSEA with N; SRMR after Bentler)."
                              + (" Scaled: mean(-and-variance)-adjusted test statistic; robust: CFI, TLI and RMSEA "
                                 "corrected for non-normality (Brosseau-Liard & Savalei 2014)."
                                 if len(_fit_rows(fit)) > 1 else "")))
    out.append(f'<p class="apa"><strong>APA:</strong> {_h(_apa_fit(fit, sfx_used))}.</p>')
    return "".join(out)


def _discriminant(doc: _Doc, result) -> str:
    disc = result.discriminant or {}
    cfa = result.cfa
    if len(result.scales) < 2:
        return _omitted("Discriminant validity needs two or more scales; this instrument has one.")
    panels = []
    fc = (cfa.factor_correlations or {}) if cfa is not None else {}
    if fc.get("factors") and fc.get("matrix") and len(fc["factors"]) > 1:
        panels.append({"title": "Factor correlations (CFA)", "names": fc["factors"], "matrix": fc["matrix"]})
    htmt = disc.get("htmt") or {}
    verdicts = [v for v in result.verdicts or [] if v.topic == "discriminant"]
    htmt_cut = next((_rule(v.criterion)["cut"] for v in verdicts if " / " in v.subject), None)
    if htmt.get("factors") and htmt.get("matrix"):
        names = htmt["factors"]
        failing = {v.subject for v in verdicts if " / " in v.subject and v.holds is False}
        flag = set()
        for i in range(len(names)):
            for j in range(len(names)):
                if f"{names[i]} / {names[j]}" in failing:
                    flag.add((max(i, j), min(i, j)))
        note = f"cut-off < {fmt_cutoff(htmt_cut)}" if htmt_cut is not None else ""
        panels.append({"title": "HTMT", "names": names, "matrix": htmt["matrix"], "flag": flag, "note": note})
    out = []
    if panels:
        svg = fig.heatmap(panels, doc.uid("heatmap"))
        htmt_rule = next((_criteria_text([v]) for v in verdicts if " / " in v.subject), "")
        out.append(doc.figure(svg, (
            " and ".join(p["title"] for p in panels) + ", lower triangles; colour from red (−1) through white (0) "
            "to blue (+1), values printed in the cells. Columns are numbered as the rows."
            + (f" HTMT criterion: {htmt_rule}; cells outlined with ✗ exceed it." if htmt_rule else "")
            + (f" {htmt.get('method')}." if htmt.get("method") else ""))))
    elif cfa is None:
        out.append(_omitted("No CFA was fitted, so there are no factor correlations."))
    fl = disc.get("fornell_larcker") or {}
    if fl.get("factors") and fl.get("matrix"):
        names = fl["factors"]
        k = len(names)
        holds = {v.subject: v.holds for v in verdicts if " / " not in v.subject}
        rows = []
        for i, name in enumerate(names):
            row: list = [f"{i + 1}. {name}"]
            for j in range(k):
                if j < i:
                    row.append(fmt_bounded(fl["matrix"][i][j]))
                elif j == i:
                    h = holds.get(name)
                    row.append((f"{fmt_bounded(fl['matrix'][i][j])} {mark(h)[0]}", _cls(h)))
                else:
                    row.append("")
            rows.append(row)
        out.append(doc.table(
            "Fornell–Larcker criterion", [""] + [str(j + 1) for j in range(k)], rows, num=set(range(1, k + 1)),
            note="Diagonal: √AVE; below it: factor correlations. The criterion holds (✓) when a scale's √AVE "
                 "exceeds every correlation of its factor (Fornell & Larcker 1981)."))
    return "".join(out)


# -- invariance ---------------------------------------------------------------------------------


_BAND_RE = re.compile(r"\b(CFI|RMSEA|SRMR)\s+(drops?|falls?|decreases?|ris(?:es|ing)|increases?)\s+by\s+"
                      r"(\d*\.\d+|\d+)", re.I)


def _bands(criteria: dict) -> dict:
    """Tolerated change per (step, index) parsed from the criteria's rule texts."""
    out = {}
    for step, text in (criteria.get("rules") or {}).items():
        for m in _BAND_RE.finditer(text or ""):
            direction = -1 if m.group(2).lower().startswith(("drop", "fall", "decrease")) else 1
            out[(step, m.group(1).upper())] = (direction, float(m.group(3)))
    return out


def _index_suffix(result, index: str) -> str:
    """Which variant of an index the decisions read: the one whose differences match the comparisons."""
    fits = {m.name: m.fit or {} for m in result.models}
    for sfx in ("_robust", "_scaled", ""):
        checked = ok = 0
        for c in result.comparisons or []:
            a = as_float(fits.get(c.get("against"), {}).get(f"{index}{sfx}"))
            b = as_float(fits.get(c.get("model"), {}).get(f"{index}{sfx}"))
            d = as_float(c.get(f"delta_{index}"))
            if None in (a, b, d):
                continue
            checked += 1
            ok += abs((b - a) - d) < 1e-6
        if checked and ok == checked:
            return sfx
    return ""


def _ladder(doc: _Doc, result) -> str:
    out = []
    suffix = {ix: _index_suffix(result, ix) for ix in ("cfi", "rmsea", "srmr")}
    status = {}
    for c in result.comparisons or []:
        status[c.get("model")] = "holds" if c.get("holds") else "fails"
    models = []
    for m in result.models:
        fit = m.fit or {}
        values = {ix.upper(): fit.get(f"{ix}{suffix[ix]}") for ix in ("cfi", "rmsea", "srmr")}
        models.append({"name": m.name, "values": values, "status": status.get(m.name, "base")})
    criteria = result.criteria or {}
    bands = _bands(criteria)
    if models:
        svg = fig.ladder_chart(models, list(result.comparisons or []), bands, doc.uid("ladder"))
        robust = " Robust CFI and RMSEA, as used in the decisions." if suffix["cfi"] == "_robust" else ""
        band_text = ("Shaded boxes: how far each index may move from the model the step is compared with "
                     f"(dashed line) before the criterion ({short_source(criteria.get('citation', ''))}) counts it "
                     "against the step; the decision combines the indices as the criterion says.") if bands else (
            f"Decisions by the {short_source(criteria.get('citation', '')) or 'chosen criterion'}, without "
            "fit-index bands.")
        out.append(doc.figure(svg, (
            "CFI, RMSEA and SRMR of each model of the invariance ladder, left to right. " + band_text
            + " Blue dots: the step holds; ✗: it fails." + robust)))
    # fit table
    s = suffix["cfi"]
    chi = "_scaled" if s else ""
    head = ["Model", "Freed", "χ²", "df", "CFI", "TLI", "RMSEA", "90% CI", "SRMR"]
    rows = []
    for m in result.models:
        fit = m.fit or {}
        rows.append([
            m.name, ", ".join(m.partial or []) or "—", fmt_num(fit.get(f"chisq{chi}"), 2),
            fmt_count(fit.get(f"df{chi}")), fmt_bounded(fit.get(f"cfi{s}")), fmt_bounded(fit.get(f"tli{s}")),
            fmt_bounded(fit.get(f"rmsea{suffix['rmsea']}")),
            fmt_ci(fit.get(f"rmsea_ci_lower{suffix['rmsea']}"), fit.get(f"rmsea_ci_upper{suffix['rmsea']}")),
            fmt_bounded(fit.get("srmr")),
        ])
    note = ("Freed: constraints released in a partial model (lavaan names)."
            + (" Scaled χ² and robust CFI, TLI and RMSEA." if s else ""))
    n_total = sum(_int(g.get("n")) for g in result.groups or [])
    out.append(doc.table(f"Fit of the models of the ladder (N = {fmt_count(n_total)})", head, rows,
                         num={2, 3, 4, 5, 6, 7, 8}, note=note))
    comps = result.comparisons or []
    if comps:
        rows = []
        for c in comps:
            rows.append([
                c.get("model"), c.get("against"), f"{fmt_num(c.get('chisq_diff'), 2)} ({fmt_count(c.get('df_diff'))})",
                fmt_p(c.get("pvalue")), _signed(c.get("delta_cfi")), _signed(c.get("delta_rmsea")),
                _signed(c.get("delta_srmr")), (f"{mark(c.get('holds'))[0]} {'holds' if c.get('holds') else 'fails'}",
                                               _cls(c.get("holds"))),
            ])
        accepted = result.accepted or {}
        acc = "; ".join(f"{step}: {name or 'none (failed)'}" for step, name in accepted.items())
        out.append(doc.table(
            "Steps of the ladder: differences and decisions",
            ["Model", "Compared with", "Δχ² (df)", "p", "ΔCFI", "ΔRMSEA", "ΔSRMR", "Decision"], rows,
            num={2, 3, 4, 5, 6},
            note=f"Each step is compared with the last model accepted below it. Accepted per step: {acc}."
                 + (" Robust ΔCFI and ΔRMSEA; scaled Δχ² (Satorra & Bentler 2001)." if s else "")))
    return "".join(out)


def _partial(doc: _Doc, result) -> str:
    if not result.partial:
        settings = result.settings or {}
        if settings.get("partial_search") is False:
            return _omitted("The partial-invariance search was switched off (--no-partial).")
        failed = [step for step, name in (result.accepted or {}).items() if name == ""]
        if failed:
            return _omitted(f"No parameter could be freed for the failing step(s) {', '.join(failed)}: no score "
                            "test was significant after the Holm correction, or freeing would leave a factor with "
                            "fewer than two invariant items.")
        return "<p>No parameters were freed: every step that was tested held with all its constraints.</p>"
    several = len(result.groups or []) > 2
    head = ["#", "Step", "Item", "Parameter", "Factor", "χ² (df)", "p", "Holm α"] + (["Groups"] if several else [])
    rows = []
    for p in result.partial:
        row = [fmt_count(p.get("order")), p.get("step"), p.get("item"), p.get("parameter"), p.get("factor"),
               f"{fmt_num(p.get('statistic'), 2)} ({fmt_count(p.get('df'))})", fmt_p(p.get("pvalue")),
               fmt_p(p.get("threshold"), 4)]
        rows.append(row + ([p.get("group")] if several else []))
    return doc.table(
        "Parameters freed, in order", head, rows, num={0, 5, 6, 7},
        note="Each step that failed was refitted after releasing the equality constraint with the largest score "
             "test (lavaan::lavTestScore), one at a time, while it was significant at the Holm-corrected level.")


def _dmacs(doc: _Doc, result) -> str:
    rows_in = list(result.dmacs or [])
    if not rows_in:
        why = ("scalar invariance does not hold, not even partially" if not (result.accepted or {}).get("scalar")
               else "it was not computed in this run")
        return _omitted(f"No dMACS: {why}.")
    several = len(result.groups or []) > 2
    first = rows_in[0]
    svg = fig.dmacs_chart(rows_in, doc.uid("dmacs"), several)
    flagged = [r.get("item") for r in rows_in if r.get("flagged")]
    out = [doc.figure(svg, (
        f"dMACS per item{'' if several else ' (' + str(first.get('group')) + ' vs ' + str(first.get('reference')) + ')'}"
        ": the effect size of the difference in how the groups answer an item at the same level of the factor "
        "(Nye & Drasgow 2011). Dashed lines at .2 (small) and .4 (medium) (Nye, Bradburn, Olenick, Bialko & Drasgow "
        "2019)." + (f" Highlighted (freed in the partial model): {', '.join(map(str, flagged))}." if flagged else ""))
    )]
    head = ["Item", "Factor"] + (["Group"] if several else []) + ["dMACS", "Exp. diff.", ""]
    rows = []
    for r in rows_in:
        rows.append([r.get("item"), r.get("factor")] + ([r.get("group")] if several else [])
                    + [fmt_num(r.get("dmacs")), fmt_num(r.get("expected_difference")),
                       ("freed", "fail") if r.get("flagged") else ""])
    out.append(doc.table("dMACS per item", head, rows, num={len(head) - 3, len(head) - 2},
                         note="Exp. diff.: expected difference in the item score at the focal group's latent mean; "
                              "each item is freed in turn against the invariant anchors."))
    return "".join(out)


def _latent_means(doc: _Doc, result) -> str:
    rows_in = list(result.latent_means or [])
    if not rows_in:
        return _omitted("Latent means were not compared: scalar invariance does not hold, not even partially, and "
                        "differences in item intercepts would be mistaken for differences between the groups.")
    several = len(result.groups or []) > 2
    ref = rows_in[0].get("reference")
    svg = fig.latent_means_forest(rows_in, doc.uid("latent"), several)
    out = [doc.figure(svg, (
        f"Latent mean differences from the {ref} group with 95% confidence intervals, {result.latent_means_model} "
        "model (the reference group's latent means fixed to 0). Filled circles: the interval excludes zero. "
        "d: difference over the pooled latent SD (Hancock 2001)."))]
    head = ["Factor"] + (["Group"] if several else []) + ["Difference", "SE", "95% CI", "p", "d"]
    rows = []
    for r in rows_in:
        rows.append([r.get("factor")] + ([r.get("group")] if several else []) + [
            fmt_num(r.get("est")), fmt_num(r.get("se")), fmt_ci(r.get("ci_lower"), r.get("ci_upper"), bounded=False),
            fmt_p(r.get("pvalue")), fmt_num(r.get("d"), 2)])
    subtitle = "" if several else f" ({rows_in[0].get('group')} minus {ref})"
    out.append(doc.table(f"Latent mean differences{subtitle}", head, rows, num=set(range(len(head) - 5, len(head)))))
    return "".join(out)


# -- the page ---------------------------------------------------------------------------------------


def _page(title: str, header: str, sections: list[tuple[str, str, str]], footer: str) -> str:
    toc = "".join(f'<li><a href="#{sid}">{_h(name)}</a></li>' for sid, name, _ in sections)
    body = "".join(_section(sid, name, content, i + 1, first=i == 0) for i, (sid, name, content) in enumerate(sections))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="coscale">'
        f"<title>{_h(title)}</title><style>{CSS}</style></head>"
        f"<body><header>{header}"
        f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav></header>'
        f"<main>{body}</main><footer>{footer}</footer></body></html>\n"
    )


def _footer(result) -> str:
    return (f"Made by coscale {_h(result.coscale_version)} from {_h(result.source)} (instrument "
            f"{_h(result.instrument)}, result schema {_h(getattr(result, 'schema_version', ''))}). Numbers are "
            "rounded for reading; the JSON output (<code>--format json</code>) keeps them whole.")


def _n_items(result) -> int:
    if hasattr(result, "scales") and result.scales:
        return len({it for s in result.scales for it in s.items})
    dist = _distributions(result)
    if dist:
        return len({it["item"] for s in dist["scales"] for it in s["items"]})
    return len((result.screening or {}).get("missing_per_item") or {})


def _render_validation(result, methods_html: str | None) -> str:
    doc = _Doc()
    cfa = result.cfa
    screening = result.screening or {}
    n_cfa = fmt_count(cfa.n) if cfa is not None else "— (no CFA fitted)"
    estimator = cfa.estimator if cfa is not None else (result.estimation or {}).get("estimator", "ML")
    header = (
        "<h1>Scale validation report</h1>"
        f'<p class="meta"><strong>{_h(result.source)}</strong> · instrument <strong>{_h(result.instrument)}</strong>'
        f" · {_plural(len(result.scales), 'scale')}, {_plural(_n_items(result), 'item')}"
        f" · N read {_h(fmt_count(screening.get('rows_read')))}, in the CFA {_h(n_cfa)} · estimator {_h(estimator)}"
        f" · coscale {_h(result.coscale_version)}</p>"
    )
    S = VALIDATE_SECTIONS
    sections = [("verdicts", S["verdicts"], _validate_verdicts(doc, result))]
    if methods_html:
        sections.append(("methods", S["methods"], _methods(methods_html)))
    sections += [
        ("screening", S["screening"], _screening(doc, result, _n_items(result))),
        ("answers", S["answers"], _answers(doc, result, None)),
        ("items", S["items"], _item_tables(doc, result)),
        ("reliability", S["reliability"], _reliability(doc, result)),
        ("model", S["model"], _model_section(doc, result)),
        ("fit", S["fit"], _fit_section(doc, result)),
        ("discriminant", S["discriminant"], _discriminant(doc, result)),
    ]
    return _page(f"coscale: scale validation of {result.source}", header, sections, _footer(result))


def _render_invariance(result, methods_html: str | None) -> str:
    doc = _Doc()
    groups = [str(g.get("name")) for g in result.groups or []]
    n_total = sum(_int(g.get("n")) for g in result.groups or [])
    header = (
        "<h1>Measurement invariance report</h1>"
        f'<p class="meta"><strong>{_h(result.source)}</strong> · instrument <strong>{_h(result.instrument)}</strong>'
        f" · groups by {_h(result.group_column)}: "
        + _h(", ".join(f"{g.get('name')} ({fmt_count(g.get('n'))})" for g in result.groups or []))
        + f" · N {_h(fmt_count(n_total))} · estimator {_h((result.estimation or {}).get('estimator', 'ML'))}"
        f" · criteria {_h(short_source((result.criteria or {}).get('citation', '')))}"
        f" · coscale {_h(result.coscale_version)}</p>"
    )
    dist = _distributions(result)
    bar_groups = [g for g in groups if not dist or g in (dist.get("groups") or groups)] if groups else None
    S = INVARIANCE_SECTIONS
    sections = [("verdicts", S["verdicts"], _invariance_verdicts(doc, result))]
    if methods_html:
        sections.append(("methods", S["methods"], _methods(methods_html)))
    sections += [
        ("screening", S["screening"], _screening(doc, result, _n_items(result), invariance=True)),
        ("answers", S["answers"], _answers(doc, result, bar_groups)),
        ("ladder", S["ladder"], _ladder(doc, result)),
        ("partial", S["partial"], _partial(doc, result)),
        ("dmacs", S["dmacs"], _dmacs(doc, result)),
        ("latent-means", S["latent-means"], _latent_means(doc, result)),
    ]
    return _page(f"coscale: measurement invariance in {result.source}", header, sections, _footer(result))


def _from_document(doc: dict):
    from coscale.results import InvarianceResult, ValidationResult

    kind = doc.get("kind")
    cls = InvarianceResult if kind == "invariance" else ValidationResult
    result = cls.from_dict(doc)
    if getattr(result, "distributions", None) is None and doc.get("distributions") is not None:
        result.distributions = doc["distributions"]
    return result


def render_html(result, methods_html: str | None = None) -> str:
    """The HTML report of a validate or invariance result, as one self-contained page.

    Parameters
    ----------
    result : ValidationResult, InvarianceResult or dict
        A result object, or its JSON form (``result.to_dict()``).
    methods_html : str, optional
        A ready-to-paste "Methods and results" paragraph with its references
        (HTML); shown in a section near the top. Links to the web in it are
        turned into plain text, so the page stays self-contained.

    Returns
    -------
    str
        A complete HTML document (UTF-8 text).
    """
    if isinstance(result, dict):
        result = _from_document(result)
    if getattr(result, "kind", "") == "invariance":
        return _render_invariance(result, methods_html)
    return _render_validation(result, methods_html)
