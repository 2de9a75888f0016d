"""SVG figures of coscale's HTML report, drawn by hand: no plotting library, no script.

Every function takes plain numbers and names read from a result (dicts and
lists as in the JSON output), computes no statistics, and returns one
``<svg>`` element as text, ready to be placed inline in an HTML page:

- sized by a ``viewBox`` (it scales to the page; text stays ~12 px at full width);
- accessible: ``role="img"``, ``aria-label`` (the title) and
  ``aria-describedby`` pointing at a ``<desc>`` that lists the numbers shown;
- self-contained: no external reference of any kind (markers and clip paths
  use ids prefixed with the figure's ``uid``, which must be unique on the page);
- colour-blind safe: ColorBrewer RdBu for answer categories and correlations,
  the Okabe-Ito palette for everything categorical, and never colour alone
  (marks, shapes and words carry the same information).

Numbers are formatted by :mod:`coscale.report.tables` (APA style).
"""

from __future__ import annotations

import html
import math
import re

from coscale.report.tables import MISSING, as_float, fmt_bounded, fmt_ci, fmt_cutoff, fmt_num

__all__ = [
    "OKABE_ITO",
    "likert_palette",
    "diverging_colour",
    "likert_chart",
    "reliability_forest",
    "path_diagram",
    "fit_chart",
    "heatmap",
    "ladder_chart",
    "dmacs_chart",
    "latent_means_forest",
]

#: Okabe & Ito (2008), colour-blind safe categorical palette
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
INK = "#222222"
MUTED = "#666666"
GRID = "#e3e3e3"
TRACK = "#f2f2f2"
NEUTRAL = "#d4d4d4"  # the middle answer category: grey, visible on white
OK_FILL = OKABE_ITO["green"]
FAIL_INK = "#B34700"  # darker vermillion, readable as text on white
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'DejaVu Sans', sans-serif"

# ColorBrewer RdBu (Brewer 2002), colour-blind safe, by number of classes
_RDBU = {
    2: ["#ef8a62", "#67a9cf"],
    3: ["#ef8a62", None, "#67a9cf"],
    4: ["#ca0020", "#f4a582", "#92c5de", "#0571b0"],
    5: ["#ca0020", "#f4a582", None, "#92c5de", "#0571b0"],
    6: ["#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac"],
    7: ["#b2182b", "#ef8a62", "#fddbc7", None, "#d1e5f0", "#67a9cf", "#2166ac"],
    8: ["#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac"],
    9: ["#b2182b", "#d6604d", "#f4a582", "#fddbc7", None, "#d1e5f0", "#92c5de", "#4393c3", "#2166ac"],
    10: ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"],
    11: ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", None, "#d1e5f0", "#92c5de", "#4393c3", "#2166ac",
         "#053061"],
}
# continuous RdBu for values in [-1, 1]
_RDBU_RAMP = ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7",
              "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"]


def likert_palette(k: int) -> list[str]:
    """``k`` colours for answer categories, negative (red) to positive (blue); a middle category is grey."""
    if k <= 1:
        return [NEUTRAL] * k
    colours = _RDBU.get(k)
    if colours is None:  # more than 11: interpolate the ramp
        colours = [diverging_colour(-1 + 2 * i / (k - 1)) for i in range(k)]
    return [c or NEUTRAL for c in colours]


def _hex(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def diverging_colour(value: float, limit: float = 1.0) -> str:
    """RdBu colour of ``value`` in ``[-limit, limit]`` (negative red, zero white, positive blue)."""
    f = as_float(value)
    if f is None:
        return "#ffffff"
    t = max(-1.0, min(1.0, f / limit))
    pos = (t + 1) / 2 * (len(_RDBU_RAMP) - 1)
    i = min(int(pos), len(_RDBU_RAMP) - 2)
    frac = pos - i
    a, b = _hex(_RDBU_RAMP[i]), _hex(_RDBU_RAMP[i + 1])
    rgb = [round(a[j] + (b[j] - a[j]) * frac) for j in range(3)]
    return "#" + "".join(f"{v:02x}" for v in rgb)


def _luminance(colour: str) -> float:
    def chan(v):
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (chan(v) for v in _hex(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_on(fill: str) -> str:
    """Black or white text, whichever contrasts more with ``fill``."""
    lum = _luminance(fill)
    return "#ffffff" if (1.05 / (lum + 0.05)) > ((lum + 0.05) / 0.05) else "#000000"


# -- SVG building --------------------------------------------------------------------


def _e(text) -> str:
    return html.escape(str(text), quote=True)


_HYPHEN_MINUS = re.compile(r"(?<![\w.])-(?=\d|\.\d)")


def minus(text: str) -> str:
    """A typographic minus sign (U+2212) in negative numbers: ``-0.19`` -> ``−0.19``."""
    return _HYPHEN_MINUS.sub("−", str(text))


def text_width(text: str, size: float = 12) -> float:
    """Rough width of ``text`` in a sans-serif font (generous, so that labels never collide)."""
    w = 0.0
    for ch in str(text):
        if ch in "il.,:;|!'ʼ()[] ":
            w += 0.36
        elif ch.isupper() or ch in "mwMW%—=+−<>≥≤":
            w += 0.84
        elif ch.isdigit():
            w += 0.64
        else:
            w += 0.62
    return w * size


def _n(x: float) -> str:
    """A coordinate: at most one decimal."""
    return f"{x:.1f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


class _Svg:
    """An SVG under construction: a list of element strings and the page-unique id prefix."""

    def __init__(self, uid: str, title: str, desc: str):
        self.uid = uid
        self.title = title
        self.desc = desc
        self.defs: list[str] = []
        self.parts: list[str] = []

    def add(self, element: str) -> None:
        self.parts.append(element)

    def rect(self, x, y, w, h, fill, *, stroke=None, sw=1.0, rx=0, tip=None, extra="") -> None:
        s = f' stroke="{stroke}" stroke-width="{_n(sw)}"' if stroke else ""
        r = f' rx="{_n(rx)}"' if rx else ""
        body = f"<title>{_e(tip)}</title>" if tip else ""
        tag = f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" height="{_n(max(h, 0))}" fill="{fill}"{s}{r}{extra}'
        self.add(f"{tag}>{body}</rect>" if body else f"{tag}/>")

    def line(self, x1, y1, x2, y2, stroke=INK, sw=1.0, dash=None, extra="") -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
            f'stroke-width="{_n(sw)}"{d}{extra}/>'
        )

    def text(self, x, y, text, *, size=None, anchor="start", weight=None, fill=None, italic=False, extra="") -> None:
        attrs = f'x="{_n(x)}" y="{_n(y)}" dy=".35em"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if size:
            attrs += f' font-size="{_n(size)}"'
        if weight:
            attrs += f' font-weight="{weight}"'
        if italic:
            attrs += ' font-style="italic"'
        if fill:
            attrs += f' fill="{fill}"'
        self.add(f"<text {attrs}{extra}>{_e(minus(text))}</text>")

    def label_box(self, x, y, text, *, size=11, anchor="middle", fill=INK, weight=None) -> None:
        """Text on a white background (labels on lines)."""
        w = text_width(text, size) + 4
        left = x - w / 2 if anchor == "middle" else x - w if anchor == "end" else x
        self.rect(left, y - size * 0.62, w, size * 1.24, "#ffffff", extra=' opacity="0.92"')
        self.text(x, y, text, size=size, anchor=anchor, fill=fill, weight=weight)

    def arrow_marker(self, name: str = "arrow", colour: str = INK, size: float = 8) -> str:
        mid = f"{self.uid}-{name}"
        self.defs.append(
            f'<marker id="{mid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="{_n(size)}" '
            f'markerHeight="{_n(size)}" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
        return mid

    def render(self, width: float, height: float) -> str:
        width, height = math.ceil(width), math.ceil(height)
        defs = f"<defs>{''.join(self.defs)}</defs>" if self.defs else ""
        return (
            f'<svg class="fig" role="img" aria-label="{_e(self.title)}" aria-describedby="{self.uid}-desc" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'font-size="12" font-family="{_e(FONT)}" fill="{INK}" preserveAspectRatio="xMinYMin meet">'
            f"<title>{_e(self.title)}</title><desc id=\"{self.uid}-desc\">{_e(self.desc)}</desc>"
            f"{defs}{''.join(self.parts)}</svg>"
        )


def _nice_step(span: float, target: int = 5, mantissas=(1, 2, 2.5, 5, 10)) -> float:
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in mantissas:
        if raw <= m * mag + 1e-12:
            return m * mag
    return 10 * mag


def _ticks(lo: float, hi: float, target: int = 5, mantissas=(1, 2, 2.5, 5, 10)) -> list[float]:
    step = _nice_step(hi - lo, target, mantissas)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _decimals(v: float) -> int:
    return next((d for d in range(4) if abs(v * 10**d - round(v * 10**d)) < 1e-6), 3)


def _tick_text(v: float, bounded: bool = True, digits: int | None = None) -> str:
    """A tick label: ``0`` for zero, else APA style with ``digits`` decimals (as few as needed by default)."""
    if abs(v) < 1e-12:
        return "0"
    if digits is None:
        digits = _decimals(v)
    if digits == 0:
        return minus(str(int(round(v))))
    return fmt_bounded(v, digits) if bounded else fmt_num(v, digits)


def _tick_format(ticks: list[float], bounded: bool = True):
    """One number of decimals for every tick of an axis."""
    digits = max([_decimals(t) for t in ticks] + [1])
    return lambda t: _tick_text(t, bounded, digits)


class _Scale:
    """A linear map from data to pixels."""

    def __init__(self, lo, hi, x0, x1):
        self.lo, self.hi, self.x0, self.x1 = lo, hi, x0, x1

    def __call__(self, v: float) -> float:
        if self.hi == self.lo:
            return (self.x0 + self.x1) / 2
        v = max(self.lo, min(self.hi, v))
        return self.x0 + (v - self.lo) / (self.hi - self.lo) * (self.x1 - self.x0)


def _axis(svg: _Svg, scale: _Scale, y: float, ticks: list[float], fmt, *, grid_top=None, size=10, label=None) -> None:
    """A horizontal axis at ``y`` with tick labels below; optional grid lines up to ``grid_top``."""
    svg.line(scale.x0, y, scale.x1, y, stroke=MUTED, sw=0.8)
    for t in ticks:
        x = scale(t)
        if grid_top is not None:
            svg.line(x, grid_top, x, y, stroke=GRID, sw=0.8)
        svg.line(x, y, x, y + 4, stroke=MUTED, sw=0.8)
        svg.text(x, y + 11, fmt(t), size=size, anchor="middle", fill=MUTED)
    if label:
        svg.text((scale.x0 + scale.x1) / 2, y + 26, label, size=size + 1, anchor="middle", fill=MUTED)


def _marker(svg: _Svg, shape: str, x: float, y: float, colour: str, r: float = 5, *, hollow=False, tip=None) -> None:
    fill = "#ffffff" if hollow else colour
    stroke = f' stroke="{colour}" stroke-width="1.6"' if hollow else ' stroke="#ffffff" stroke-width="0.8"'
    body = f"<title>{_e(tip)}</title>" if tip else ""
    if shape == "diamond":
        pts = f"{_n(x)},{_n(y - r * 1.25)} {_n(x + r * 1.25)},{_n(y)} {_n(x)},{_n(y + r * 1.25)} {_n(x - r * 1.25)},{_n(y)}"
        svg.add(f'<polygon points="{pts}" fill="{fill}"{stroke}>{body}</polygon>')
    elif shape == "square":
        svg.add(f'<rect x="{_n(x - r)}" y="{_n(y - r)}" width="{_n(2 * r)}" height="{_n(2 * r)}" fill="{fill}"{stroke}>{body}</rect>')
    elif shape == "triangle":
        pts = f"{_n(x)},{_n(y - r * 1.2)} {_n(x + r * 1.15)},{_n(y + r * 0.9)} {_n(x - r * 1.15)},{_n(y + r * 0.9)}"
        svg.add(f'<polygon points="{pts}" fill="{fill}"{stroke}>{body}</polygon>')
    elif shape == "cross":
        d = r * 0.95
        svg.add(
            f'<path d="M{_n(x - d)},{_n(y - d)} L{_n(x + d)},{_n(y + d)} M{_n(x - d)},{_n(y + d)} L{_n(x + d)},{_n(y - d)}" '
            f'stroke="{colour}" stroke-width="2.6" fill="none">{body}</path>'
        )
    else:
        svg.add(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" fill="{fill}"{stroke}>{body}</circle>')


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


# -- 1. diverging stacked bars of Likert answers ---------------------------------------


def _category_text(value) -> str:
    f = as_float(value)
    if f is None:
        return MISSING if value is None else str(value)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def _count_list(counts, k: int) -> list[int]:
    """Counts as k non-negative integers (missing or unreadable entries count 0)."""
    out = [max(0, int(round(as_float(c) or 0))) for c in list(counts or [])[:k]]
    return out + [0] * (k - len(out))


def likert_extent(scale: dict, groups: list[str] | None = None) -> float:
    """The widest side of any bar of a scale (share of answers left or right of zero)."""
    cats = list(scale.get("categories") or [])
    k = len(cats)
    half, middle = k // 2, (k // 2 if k % 2 else None)
    extent = 0.0
    for it in scale.get("items") or []:
        parts = [(it.get("groups") or {}).get(g) or {} for g in groups] if groups else [it]
        for part in parts:
            counts = _count_list(part.get("counts"), k)
            total = sum(counts)
            if not total:
                continue
            s = [c / total for c in counts]
            mid = s[middle] / 2 if middle is not None else 0.0
            extent = max(extent, sum(s[:half]) + mid, sum(s[k - half:]) + mid)
    return extent


def likert_chart(scale: dict, uid: str, groups: list[str] | None = None, width: float = 680,
                 extent: float | None = None) -> str:
    """Diverging stacked bars of the answers to every item of one scale.

    ``scale`` is one entry of a result's ``distributions["scales"]``.
    Categories below the middle one extend left of zero, those above it to
    the right, and a middle (neutral) category is split across zero. With
    ``groups`` each item gets one bar per group, side by side.
    """
    cats = list(scale.get("categories") or [])
    k = len(cats)
    names = list(scale.get("labels") or []) or [_category_text(c) for c in cats]
    colours = likert_palette(k)
    half = k // 2
    middle = half if k % 2 else None
    negative = list(range(half))
    positive = list(range(k - half, k))

    rows = []  # (item label or "", group label, counts)
    for it in scale.get("items") or []:
        label = str(it.get("item", "")) + (" (R)" if it.get("reverse") else "")
        if groups:
            for i, g in enumerate(groups):
                part = (it.get("groups") or {}).get(g) or {}
                rows.append((label if i == 0 else "", str(g), _count_list(part.get("counts"), k), label))
        else:
            rows.append((label, "", _count_list(it.get("counts"), k), label))

    def shares(counts):
        total = sum(counts)
        return [c / total if total else 0.0 for c in counts], total

    if extent is None:
        extent = likert_extent(scale, groups)
    extent = min(1.0, max(0.3, math.ceil(extent * 10 - 1e-9) / 10))

    item_w = max([text_width(r[0]) for r in rows] + [30]) + 10
    group_w = (max(text_width(r[1], 11) for r in rows) + 12) if groups else 0
    total_w = 40
    x0 = item_w + group_w + total_w
    x1 = width - total_w
    sc = _Scale(-extent, extent, x0, x1)

    # legend, wrapped
    legend = []
    lx, ly = 0.0, 8.0
    for name in names:
        w = 14 + 5 + text_width(name, 11) + 16
        if lx + w > width and lx > 0:
            lx, ly = 0.0, ly + 18
        legend.append((lx, ly, name))
        lx += w
    top = ly + 22

    bar_h = 14 if groups else 18
    gap_in, gap_item = 2, 9 if groups else 6
    y = top + 6
    positions = []
    for i, row in enumerate(rows):
        if i and row[0]:
            y += gap_item
        positions.append(y)
        y += bar_h + gap_in
    bottom = y + 2

    desc_rows = []
    title = f"Answers to the items of {scale.get('label') or scale.get('name')}"
    svg = _Svg(uid, title, "")
    for (lx, ly, name), colour in zip(legend, colours):
        svg.rect(lx, ly - 6, 14, 12, colour, stroke="#ffffff" if colour != NEUTRAL else "#bbbbbb", sw=0.6)
        svg.text(lx + 19, ly, name, size=11)
    ticks = _ticks(0, extent, 4, (1, 2, 5, 10))
    ticks = sorted({-t for t in ticks} | set(ticks))
    for t in ticks:
        svg.line(sc(t), top, sc(t), bottom, stroke=GRID, sw=0.8)
    svg.text(x0 - 4, top - 5, "Σ left", size=9, anchor="end", fill=MUTED)
    svg.text(x1 + 4, top - 5, "Σ right", size=9, anchor="start", fill=MUTED)
    for (label, group, counts, item), y in zip(rows, positions):
        s, total = shares(counts)
        cy = y + bar_h / 2
        if label:
            svg.text(0, cy if not groups else y + bar_h / 2, label, size=12, weight="bold" if groups else None)
        if groups:
            svg.text(item_w + group_w - 6, cy, group, size=11, anchor="end", fill=MUTED)
        mid = s[middle] / 2 if middle is not None else 0.0
        segments = []  # (start, share, index)
        if middle is not None:
            segments.append((-mid, s[middle], middle))
        left = -mid
        for i in reversed(negative):
            left -= s[i]
            segments.append((left, s[i], i))
        right = mid
        for i in positive:
            segments.append((right, s[i], i))
            right += s[i]
        for start, share, i in segments:
            if share <= 0:
                continue
            xa, xb = sc(start), sc(start + share)
            who = f"{item}, {group}" if group else item
            tip = f"{who}: {names[i]} {_pct(share)} ({counts[i]} of {total})"
            svg.rect(xa, y, xb - xa, bar_h, colours[i], stroke="#ffffff", sw=0.6, tip=tip)
            if xb - xa >= 19:
                svg.text((xa + xb) / 2, cy, f"{100 * share:.0f}", size=10, anchor="middle", fill=text_on(colours[i]))
        neg_total = sum(s[i] for i in negative)
        pos_total = sum(s[i] for i in positive)
        svg.text(x0 - 4, cy, _pct(neg_total), size=10, anchor="end", fill=MUTED)
        svg.text(x1 + 4, cy, _pct(pos_total), size=10, anchor="start", fill=MUTED)
        who = f"{item}, {group}" if group else item
        parts = ", ".join(f"{names[i]} {_pct(s[i])}" for i in range(k))
        desc_rows.append(f"{who}: {parts} (n = {total})")
    svg.line(sc(0), top, sc(0), bottom, stroke=INK, sw=1.2)
    _axis(svg, sc, bottom, ticks, lambda t: f"{abs(t) * 100:.0f}%", size=10)
    svg.desc = (
        f"Diverging stacked bars, percent of answers per category; categories below the middle extend left of "
        f"zero, above it to the right{', the middle category is split across zero' if middle is not None else ''}. "
        + "; ".join(desc_rows)
        + "."
    )
    return svg.render(width, bottom + 18)


# -- 2. forest plots -------------------------------------------------------------------


def _forest(
    uid: str,
    title: str,
    desc: str,
    rows: list[dict],
    *,
    lo: float,
    hi: float,
    refs: list[tuple[float, str]] = (),
    bounded: bool = True,
    width: float = 680,
    axis_label: str | None = None,
    value_head: str = "",
) -> str:
    """Rows of points (with optional CIs) on one axis.

    Each row: ``label`` (bold group label or ""), ``sub`` (the measure),
    ``value``, ``ci`` (lo, hi) or None, ``shape``, ``colour``, ``text``
    (the formatted numbers on the right), ``fail`` (bool: shown in dark
    vermillion with a ✗), ``gap`` (bool: space above, a new group).
    """
    label_w = max([text_width(r.get("label", ""), 12) * 1.1 for r in rows] + [0]) + 12
    sub_w = max([text_width(r.get("sub", ""), 11) for r in rows] + [0]) + 12
    text_w = max([text_width(r.get("text", ""), 11) * (1.12 if r.get("fail") else 1.0) for r in rows]
                 + [text_width(value_head, 11)]) + 18
    x0 = label_w + sub_w + 8
    x1 = width - text_w
    sc = _Scale(lo, hi, x0, x1)
    # reference-line labels: a second row when two would overlap
    ref_rows = []
    if refs:
        span = (x1 - x0) / ((hi - lo) or 1)
        last_end = [-1e9, -1e9]
        for x, name in sorted(refs):
            px = x0 + (x - lo) * span
            w = text_width(name, 10)
            row = 0 if px - w / 2 > last_end[0] + 6 else 1
            last_end[row] = px + w / 2
            ref_rows.append((x, name, row))
    two_rows = any(r == 1 for _, _, r in ref_rows)
    top = (42 if two_rows else 28) if refs else 14
    row_h = 20
    y = top + 6
    ys = []
    for r in rows:
        if r.get("gap") and ys:
            y += 8
        ys.append(y + row_h / 2)
        y += row_h
    bottom = y + 4

    svg = _Svg(uid, title, desc)
    ticks = _ticks(lo, hi, 6)
    for t in ticks:
        svg.line(sc(t), top, sc(t), bottom, stroke=GRID, sw=0.8)
    for x, name, row in ref_rows:
        svg.line(sc(x), top - 4 - 14 * row, sc(x), bottom, stroke=MUTED, sw=1.2, dash="5 3")
        svg.text(sc(x), top - 12 - 14 * row, name, size=10, anchor="middle", fill=MUTED)
    if value_head:
        svg.text(x1 + 10, top - 12 if refs else top - 6, value_head, size=10, fill=MUTED)
    for r, cy in zip(rows, ys):
        if r.get("label"):
            svg.text(0, cy, r["label"], size=12, weight="bold")
        if r.get("sub"):
            svg.text(label_w, cy, r["sub"], size=11, fill=MUTED)
        v = as_float(r.get("value"))
        colour = r.get("colour", INK)
        ci = r.get("ci")
        if ci and as_float(ci[0]) is not None and as_float(ci[1]) is not None:
            a, b = sc(float(ci[0])), sc(float(ci[1]))
            svg.line(a, cy, b, cy, stroke=colour, sw=1.8)
            svg.line(a, cy - 4, a, cy + 4, stroke=colour, sw=1.8)
            svg.line(b, cy - 4, b, cy + 4, stroke=colour, sw=1.8)
        if v is not None:
            _marker(svg, r.get("shape", "circle"), sc(v), cy, colour, hollow=bool(r.get("hollow")),
                    tip=f"{r.get('tip', '')}".strip() or None)
        text = r.get("text", "")
        if text:
            svg.text(x1 + 10, cy, text, size=11, fill=FAIL_INK if r.get("fail") else INK,
                     weight="bold" if r.get("fail") else None)
    _axis(svg, sc, bottom, ticks, _tick_format(ticks, bounded), label=axis_label)
    return svg.render(width, bottom + (34 if axis_label else 20))


#: marker shape and colour per reliability coefficient
RELIABILITY_MARKS = {  # key: (shape, colour, name[, "hollow"])
    "alpha": ("circle", OKABE_ITO["blue"], "alpha"),
    "omega": ("diamond", OKABE_ITO["orange"], "omega"),
    "alpha_ordinal": ("circle", OKABE_ITO["blue"], "ordinal alpha", "hollow"),
    "omega_ordinal": ("diamond", OKABE_ITO["orange"], "ordinal omega", "hollow"),
    "composite_reliability": ("square", OKABE_ITO["green"], "CR"),
    "ave": ("triangle", OKABE_ITO["vermillion"], "AVE"),
}


def reliability_forest(scales: list[dict], uid: str, refs: list[tuple[float, str]], width: float = 680) -> str:
    """Reliability per scale: alpha with its CI, omega, CR and AVE as points, cut-offs as dashed lines.

    ``scales``: ``[{"name", "measures": [{"key", "value", "ci": (lo, hi) or None,
    "cut": float or None, "op": ">="}]}]``; ``refs``: reference lines ``(x, label)``.
    """
    rows = []
    values = [x for x, _ in refs]
    desc_parts = []
    for s in scales:
        first = True
        texts = []
        for m in s["measures"]:
            shape, colour, name, *fill = RELIABILITY_MARKS.get(m["key"], ("circle", INK, m["key"]))
            v = as_float(m.get("value"))
            ci = m.get("ci")
            cut = as_float(m.get("cut"))
            fail = v is not None and cut is not None and v < cut
            text = fmt_bounded(v)
            if ci and as_float(ci[0]) is not None:
                text += f" {fmt_ci(ci[0], ci[1])}"
                values += [as_float(ci[0]), as_float(ci[1])]
            if fail:
                text += f" ✗ < {fmt_cutoff(cut)}"
            if v is not None:
                values.append(v)
            rows.append({
                "label": s["name"] if first else "", "sub": name, "value": v, "ci": ci, "shape": shape,
                "hollow": bool(fill),
                "colour": colour, "text": text, "fail": fail, "gap": first, "tip": f"{s['name']}: {name} = {text}",
            })
            texts.append(f"{name} {text}")
            first = False
        desc_parts.append(f"{s['name']}: " + ", ".join(texts))
    finite = [v for v in values if v is not None]
    lo = min(finite + [0.5]) - 0.05
    lo = max(0.0, math.floor(lo * 10) / 10) if lo >= 0 else math.floor(lo * 10) / 10
    hi = max(1.0, math.ceil(max(finite + [1.0]) * 20) / 20)
    desc = ("Points: reliability coefficients per scale; alpha with its 95% confidence interval. Dashed lines: "
            + ", ".join(f"{name} at {fmt_cutoff(x)}" for x, name in refs) + ". " + "; ".join(desc_parts) + ".")
    return _forest(uid, "Reliability and convergent validity per scale", desc, rows, lo=lo, hi=hi,
                   refs=refs, width=width, value_head="value [95% CI]")


def latent_means_forest(rows_in: list[dict], uid: str, several_groups: bool, width: float = 680) -> str:
    """Latent mean differences (focal minus reference group) with 95% CIs, a zero line."""
    rows = []
    ext = 0.0
    desc = []
    previous = None
    ordered = sorted(rows_in, key=lambda r: [str(g.get("group")) for g in rows_in].index(str(r.get("group")))) \
        if several_groups else rows_in
    for r in ordered:
        est, lo, hi = as_float(r.get("est")), as_float(r.get("ci_lower")), as_float(r.get("ci_upper"))
        for v in (est, lo, hi):
            if v is not None:
                ext = max(ext, abs(v))
        label = f"{r.get('factor')}" + (f" · {r.get('group')}" if several_groups else "")
        excludes_zero = lo is not None and hi is not None and (lo > 0 or hi < 0)
        text = f"{fmt_num(est, 2)} {fmt_ci(lo, hi, digits=2, bounded=False)}, d = {fmt_num(r.get('d'), 2)}"
        new_group = several_groups and r.get("group") != previous
        previous = r.get("group")
        rows.append({
            "label": (str(r.get("group")) if new_group else "") if several_groups else label,
            "sub": str(r.get("factor")) if several_groups else "", "gap": new_group,
            "value": est, "ci": (lo, hi), "shape": "circle" if excludes_zero else "diamond",
            "colour": OKABE_ITO["blue"] if excludes_zero else MUTED, "text": text,
            "tip": f"{label}: difference {text}",
        })
        desc.append(f"{label}: {text}" + (" (CI excludes zero)" if excludes_zero else " (CI includes zero)"))
    step = _nice_step(2 * max(ext, 0.1) * 1.1, 6)
    lim = math.ceil(max(ext, 0.1) * 1.08 / step) * step
    ref = rows_in[0].get("reference", "reference") if rows_in else "reference"
    title = "Latent mean differences with 95% confidence intervals"
    text = (f"Difference of each group's latent mean from the {ref} group, with 95% CI; filled circles: "
            "CI excludes zero. " + "; ".join(desc) + ".")
    return _forest(uid, title, text, rows, lo=-lim, hi=lim, refs=[(0.0, "no difference")], bounded=False,
                   width=width, axis_label=f"difference from {ref} (latent units)", value_head="diff. [95% CI], d")


# -- 3. path diagram -------------------------------------------------------------------


def _ellipse_point(cx, cy, rx, ry, tx, ty) -> tuple[float, float]:
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    t = 1 / math.sqrt((dx / rx) ** 2 + (dy / ry) ** 2)
    return cx + t * dx, cy + t * dy


def path_diagram(
    loadings: list[tuple[str, str, float]],
    factors: list[str],
    correlations: dict,
    uid: str,
    *,
    reverse: set | None = None,
    covariances: list[tuple[str, str, float]] = (),
    title: str = "Path diagram of the measurement model",
) -> str:
    """The measurement model: factors as ellipses, items as rectangles, standardized loadings on the arrows.

    ``loadings``: ``(factor, item, standardized loading)``; an item listed
    under a second factor is a cross-loading (dashed). ``correlations``:
    ``{(factor_a, factor_b): r}`` drawn as curved double-headed arrows right
    of the factors. ``covariances``: residual covariances ``(item, item, r)``
    drawn as curved double-headed arrows left of the items.
    """
    reverse = reverse or set()
    primary: dict[str, str] = {}
    by_factor: dict[str, list[str]] = {f: [] for f in factors}
    for f, item, _ in loadings:
        if item not in primary:
            primary[item] = f
            by_factor.setdefault(f, []).append(item)
    order = [f for f in by_factor if by_factor[f]]
    item_labels = {it: it + (" (R)" if it in reverse else "") for it in primary}
    iw = max([text_width(t, 12) for t in item_labels.values()] + [36]) + 16
    ih = 20
    spacing = 26
    block_gap = 16
    left = 14 + (40 + 12 * min(len(covariances), 4) if covariances else 0)
    fsize = 12 if max((text_width(f, 12) for f in order), default=0) <= 170 else 11
    rx = max([text_width(f, fsize) * 1.12 / 2 + 18 for f in order] + [40])
    ry = 21
    fx = left + iw + 190 + rx
    k = len(order)
    max_d = max(k - 1, 1)
    bulge = lambda d: 44 + 62 * (d - 1)  # noqa: E731
    width = fx + rx + (bulge(max_d) * 0.78 + 34 if k > 1 else 20) + 10

    item_y: dict[str, float] = {}
    factor_y: dict[str, float] = {}
    y = 18
    for f in order:
        start = y
        for it in by_factor[f]:
            item_y[it] = y + ih / 2
            y += spacing
        factor_y[f] = (start + y - spacing + ih) / 2
        y += block_gap
    height = max(y - block_gap + 14, max(factor_y.values(), default=0) + ry + 14)

    lines = []
    svg = _Svg(uid, title, "")
    arrow = svg.arrow_marker("arrow", INK, 8)
    arrow_muted = svg.arrow_marker("arrowm", MUTED, 8)
    corr_arrow = svg.arrow_marker("corr", OKABE_ITO["blue"], 7)

    # loadings
    for f, item, lam in loadings:
        if f not in factor_y or item not in item_y:
            continue
        v = as_float(lam)
        cross = primary.get(item) != f
        tx, ty = left + iw, item_y[item]
        sx, sy = _ellipse_point(fx, factor_y[f], rx, ry, tx, ty)
        sw = 0.9 + 2.2 * min(abs(v), 1.2) if v is not None else 1.0
        dash = "6 4" if (cross or (v is not None and v < 0)) else None
        colour = MUTED if cross else INK
        svg.line(sx, sy, tx + 1, ty, stroke=colour, sw=sw, dash=dash,
                 extra=f' marker-end="url(#{arrow_muted if cross else arrow})"')
        frac = 0.55 if cross else 0.26
        lx, ly = tx + (sx - tx) * frac + 6, ty + (sy - ty) * frac
        svg.label_box(lx, ly, fmt_bounded(v), size=11, fill=FAIL_INK if (v is not None and abs(v) > 1) else INK)
        lines.append(f"{f} → {item} {fmt_bounded(v)}" + (" (cross-loading)" if cross else ""))

    # items
    for it, cy in item_y.items():
        svg.rect(left, cy - ih / 2, iw, ih, "#ffffff", stroke=INK, sw=1.2, tip=item_labels[it])
        svg.text(left + iw / 2, cy, item_labels[it], size=12, anchor="middle")

    # residual covariances, left of the items
    for n, (a, b, r) in enumerate(covariances):
        if a not in item_y or b not in item_y:
            continue
        ya, yb = item_y[a], item_y[b]
        bx = left - 12 - 12 * (n % 4) - 10
        svg.add(
            f'<path d="M{_n(left)},{_n(ya)} C{_n(bx)},{_n(ya)} {_n(bx)},{_n(yb)} {_n(left)},{_n(yb)}" fill="none" '
            f'stroke="{MUTED}" stroke-width="1.2" marker-start="url(#{arrow_muted})" marker-end="url(#{arrow_muted})"/>'
        )
        svg.label_box(left + (bx - left) * 0.75, (ya + yb) / 2, fmt_bounded(r), size=10, fill=MUTED)
        lines.append(f"residual covariance {a} ↔ {b} {fmt_bounded(r)}")

    # factor correlations, right of the factors
    index = {f: i for i, f in enumerate(order)}
    pairs = []
    for (a, b), r in correlations.items():
        if a in index and b in index and a != b:
            i, j = sorted((index[a], index[b]))
            pairs.append((j - i, i, j, r))
    for d, i, j, r in sorted(pairs):
        fa, fb = order[i], order[j]
        angle = math.radians(min(14 + 13 * d, 70))
        ax, ay = fx + rx * math.cos(angle), factor_y[fa] + ry * math.sin(angle)
        bx_, by_ = fx + rx * math.cos(angle), factor_y[fb] - ry * math.sin(angle)
        b = bulge(d)
        svg.add(
            f'<path d="M{_n(ax)},{_n(ay)} C{_n(ax + b)},{_n(ay)} {_n(bx_ + b)},{_n(by_)} {_n(bx_)},{_n(by_)}" '
            f'fill="none" stroke="{OKABE_ITO["blue"]}" stroke-width="1.3" '
            f'marker-start="url(#{corr_arrow})" marker-end="url(#{corr_arrow})"/>'
        )
        svg.label_box((ax + bx_) / 2 + 0.75 * b, (ay + by_) / 2, fmt_bounded(r), size=11, fill=OKABE_ITO["blue"])
        lines.append(f"{fa} ↔ {fb} r = {fmt_bounded(r)}")

    # factors on top
    for f in order:
        svg.add(f'<ellipse cx="{_n(fx)}" cy="{_n(factor_y[f])}" rx="{_n(rx)}" ry="{_n(ry)}" fill="#f4f8fc" '
                f'stroke="{INK}" stroke-width="1.4"><title>{_e(f)}</title></ellipse>')
        svg.text(fx, factor_y[f], f, size=fsize, anchor="middle", weight="bold")

    svg.desc = (
        "Factors (ellipses) point to their items (rectangles); numbers on the arrows are standardized loadings, "
        "numbers on the curved double-headed arrows are factor correlations. " + "; ".join(lines) + "."
    )
    return svg.render(width, height)


# -- 4. fit indices against their cut-offs -----------------------------------------------


def fit_chart(indices: list[dict], uid: str, width: float = 680) -> str:
    """One small scale per fit index: the value (RMSEA with its 90% CI), the cut-off and the acceptable side.

    ``indices``: ``[{"name": "CFI", "value", "op": ">=", "cut": .95, "ci": (lo, hi) or None,
    "holds": bool or None}]``.
    """
    label_w = max([text_width(d["name"], 12) for d in indices] + [40]) + 14
    text_w = 150
    x0, x1 = label_w, width - text_w
    row_h = 50
    svg = _Svg(uid, "Fit indices against their cut-offs", "")
    desc = []
    y = 10
    for d in indices:
        v, cut = as_float(d.get("value")), as_float(d.get("cut"))
        higher = d.get("op", ">=") in (">=", ">")
        ci = d.get("ci") or (None, None)
        known = [x for x in (v, cut, as_float(ci[0]), as_float(ci[1])) if x is not None]
        if higher:
            lo = min(known + [1.0]) - 0.03
            lo = min(math.floor(lo * 20) / 20, (cut or 0.9) - 0.10)
            hi = max(1.0, math.ceil(max(known + [1.0]) * 100) / 100)
        else:
            lo = 0.0
            hi = max((cut or 0.05) * 2, max(known + [0.0]) + 0.02)
            hi = math.ceil(hi * 50) / 50
        sc = _Scale(lo, hi, x0, x1)
        cy = y + 14
        svg.text(0, cy, d["name"], size=12, weight="bold")
        svg.rect(x0, cy - 7, x1 - x0, 14, TRACK)
        if cut is not None:
            a, b = (sc(cut), x1) if higher else (x0, sc(cut))
            svg.rect(a, cy - 7, b - a, 14, OK_FILL, extra=' fill-opacity="0.22"',
                     tip=f"acceptable: {d['name']} {'≥' if higher else '≤'} {fmt_cutoff(cut)}")
            svg.line(sc(cut), cy - 11, sc(cut), cy + 11, stroke=INK, sw=2)
        ticks = _ticks(lo, hi, 5, (1, 2, 5, 10))
        tick_fmt = _tick_format(ticks)
        for t in ticks:
            svg.line(sc(t), cy + 7, sc(t), cy + 11, stroke=MUTED, sw=0.8)
            svg.text(sc(t), cy + 19, tick_fmt(t), size=9, anchor="middle", fill=MUTED)
        if as_float(ci[0]) is not None and as_float(ci[1]) is not None:
            a, b = sc(float(ci[0])), sc(float(ci[1]))
            svg.line(a, cy, b, cy, stroke=INK, sw=1.6)
            svg.line(a, cy - 4, a, cy + 4, stroke=INK, sw=1.6)
            svg.line(b, cy - 4, b, cy + 4, stroke=INK, sw=1.6)
        holds = d.get("holds")
        if v is not None:
            colour = FAIL_INK if holds is False else INK
            _marker(svg, "cross" if holds is False else "circle", sc(v), cy, colour, r=5.5)
        rule = f"{'≥' if higher else '≤'} {fmt_cutoff(cut)}" if cut is not None else ""
        verdict = "✓ meets" if holds is True else "✗ fails" if holds is False else "? n/a"
        svg.text(x1 + 10, cy - 6, f"{fmt_bounded(v)}", size=12, weight="bold",
                 fill=FAIL_INK if holds is False else INK)
        svg.text(x1 + 10, cy + 8, f"{verdict} {rule}", size=10, fill=FAIL_INK if holds is False else MUTED)
        ci_text = f", 90% CI {fmt_ci(ci[0], ci[1])}" if as_float(ci[0]) is not None else ""
        desc.append(f"{d['name']} = {fmt_bounded(v)}{ci_text}, cut-off {rule}: {verdict.split(' ', 1)[1]}")
        y += row_h
    svg.desc = ("Each row: the fit index (dot; RMSEA with its 90% confidence interval), its cut-off (vertical bar) "
                "and the acceptable side (shaded). " + "; ".join(desc) + ".")
    return svg.render(width, y + 2)


# -- 5. heatmaps -------------------------------------------------------------------------


def heatmap(panels: list[dict], uid: str, width: float = 680) -> str:
    """Lower-triangle matrices side by side, cells coloured by a diverging scale with the values printed.

    ``panels``: ``[{"title", "names", "matrix", "flag": set of (i, j) to outline, "note"}]``.
    """
    cell_w, cell_h = 50, 30
    panel_specs = []
    for p in panels:
        names = p["names"]
        k = len(names)
        name_w = max(text_width(f"{i + 1}. {n}", 11) for i, n in enumerate(names)) + 8
        w = name_w + cell_w * max(k - 1, 1)
        panel_specs.append((p, name_w, w))
    gap = 36
    svg = _Svg(uid, " and ".join(p["title"] for p in panels), "")
    desc = []
    x = 0.0
    max_h = 0.0
    for p, name_w, w in panel_specs:
        names, matrix = p["names"], p.get("matrix") or []
        k = len(names)
        flag = p.get("flag") or set()
        svg.text(x, 10, p["title"], size=12, weight="bold")
        top = 26
        for j in range(k - 1):
            svg.text(x + name_w + cell_w * (j + 0.5), top + 8, str(j + 1), size=11, anchor="middle", fill=MUTED)
        top += 18
        cells = []
        for i, name in enumerate(names):
            cy = top + cell_h * i + cell_h / 2
            svg.text(x, cy, f"{i + 1}. {name}", size=11)
            for j in range(min(i, k - 1)):
                try:
                    v = as_float(matrix[i][j])
                except (IndexError, TypeError):
                    v = None
                cx = x + name_w + cell_w * j
                fill = diverging_colour(v) if v is not None else "#ffffff"
                flagged = (i, j) in flag or (j, i) in flag
                svg.rect(cx + 1, cy - cell_h / 2 + 1, cell_w - 2, cell_h - 2, fill,
                         stroke=INK if flagged else "#ffffff", sw=2.5 if flagged else 0.5,
                         tip=f"{names[i]} – {names[j]}: {fmt_bounded(v)}")
                svg.text(cx + cell_w / 2, cy, fmt_bounded(v) + (" ✗" if flagged else ""), size=11, anchor="middle",
                         fill=text_on(fill), weight="bold" if flagged else None)
                cells.append(f"{names[i]} with {names[j]} {fmt_bounded(v)}" + (" (above the cut-off)" if flagged else ""))
        bottom = top + cell_h * k
        if p.get("note"):
            svg.text(x, bottom + 10, p["note"], size=10, fill=MUTED)
            bottom += 16
        max_h = max(max_h, bottom)
        desc.append(f"{p['title']}: " + ("; ".join(cells) if cells else "no pairs"))
        x += w + gap
    # colour key
    key_y = max_h + 14
    key_w = 22
    steps = [-1 + 0.2 * i for i in range(11)]
    svg.text(0, key_y + 7, "colour key", size=10, fill=MUTED)
    kx = 70
    for i, s in enumerate(steps):
        svg.rect(kx + key_w * i, key_y, key_w, 14, diverging_colour(s), stroke="#ffffff", sw=0.5)
    for s, text in ((-1, "−1"), (-0.5, "−.5"), (0, "0"), (0.5, "+.5"), (1, "+1")):
        svg.text(kx + key_w * ((s + 1) / 0.2 + 0.5), key_y + 24, text, size=9, anchor="middle", fill=MUTED)
    svg.desc = ("Lower-triangle matrices; cell colour from red (negative) through white (zero) to blue (positive), "
                "values printed in the cells; outlined cells with ✗ fail their criterion. " + ". ".join(desc) + ".")
    return svg.render(max(x - gap, kx + key_w * 11 + 10), key_y + 32)


# -- 6. invariance ladder -----------------------------------------------------------------


def ladder_chart(
    models: list[dict],
    comparisons: list[dict],
    bands: dict,
    uid: str,
    *,
    indices: tuple = ("CFI", "RMSEA", "SRMR"),
    width: float = 680,
) -> str:
    """CFI, RMSEA and SRMR of each model of the ladder, with the criterion band of each step.

    ``models``: ``[{"name", "values": {"CFI": .97, ...}, "status": "base" | "holds" | "fails"}]`` in
    ladder order. ``comparisons``: ``[{"model", "against", "step", "holds"}]``. ``bands``:
    ``{(step, "CFI"): (direction, tolerance)}`` with direction -1 (may drop by less than the
    tolerance) or +1 (may rise by less); a missing entry draws no band for that index.
    """
    names = [m["name"] for m in models]
    n = len(models)
    label_w = 64
    x0, x1 = label_w + 10, width - 16
    slot = (x1 - x0) / max(n, 1)
    xs = {name: x0 + slot * (i + 0.5) for i, name in enumerate(names)}
    panel_h, panel_gap = 92, 16
    top = 24
    svg = _Svg(uid, "Fit of the invariance models, with the criterion of each step", "")
    desc = []
    by_name = {m["name"]: m for m in models}
    # legend
    lx = 0.0
    for shape, colour, text in (("circle", INK, "baseline (configural)"), ("circle", OKABE_ITO["blue"], "step holds"),
                                ("cross", FAIL_INK, "step fails")):
        _marker(svg, shape, lx + 6, 8, colour, r=4.5)
        svg.text(lx + 15, 8, text, size=10)
        lx += 30 + text_width(text, 10)
    if bands:
        svg.rect(lx, 2, 18, 12, OK_FILL, extra=' fill-opacity="0.22"')
        svg.text(lx + 23, 8, "tolerated change from the model it is compared with", size=10)

    y = top
    for index in indices:
        key = index
        vals = [as_float(m["values"].get(key)) for m in models]
        known = [v for v in vals if v is not None]
        for c in comparisons:
            band = bands.get((c.get("step"), key))
            base = as_float(by_name.get(c.get("against"), {}).get("values", {}).get(key))
            if band and base is not None:
                known.append(base + band[0] * band[1])
        if not known:
            continue
        lo, hi = min(known), max(known)
        pad = max((hi - lo) * 0.12, 0.004)
        lo, hi = lo - pad, hi + pad
        ys = _Scale(lo, hi, y + panel_h, y)  # inverted: high values at the top
        svg.text(0, y + panel_h / 2, index, size=12, weight="bold")
        svg.rect(x0, y, x1 - x0, panel_h, "#ffffff", stroke=GRID, sw=1)
        ticks = _ticks(lo, hi, 4, (1, 2, 5, 10))
        tick_fmt = _tick_format(ticks)
        for t in ticks:
            svg.line(x0, ys(t), x1, ys(t), stroke=GRID, sw=0.7)
            svg.text(x0 - 4, ys(t), tick_fmt(t), size=9, anchor="end", fill=MUTED)
        for c in comparisons:
            band = bands.get((c.get("step"), key))
            a = by_name.get(c.get("against"))
            if not band or a is None or c.get("model") not in xs:
                continue
            base = as_float(a["values"].get(key))
            if base is None:
                continue
            edge = base + band[0] * band[1]
            xa, xm = xs[c["against"]], xs[c["model"]]
            top_v, bot_v = max(base, edge), min(base, edge)
            svg.rect(xm - slot * 0.3, ys(top_v), slot * 0.6, ys(bot_v) - ys(top_v), OK_FILL,
                     extra=' fill-opacity="0.22"',
                     tip=f"{c['model']}: {index} may {'drop' if band[0] < 0 else 'rise'} by less than "
                         f"{fmt_cutoff(band[1])} from {c['against']} ({fmt_bounded(base)})")
            svg.line(xa, ys(base), xm + slot * 0.3, ys(base), stroke=MUTED, sw=0.8, dash="3 3")
        points = []
        for m, v in zip(models, vals):
            if v is None:
                continue
            points.append((xs[m["name"]], ys(v)))
        for m, v in zip(models, vals):
            if v is None:
                continue
            status = m.get("status")
            colour = INK if status == "base" else FAIL_INK if status == "fails" else OKABE_ITO["blue"]
            _marker(svg, "cross" if status == "fails" else "circle", xs[m["name"]], ys(v), colour, r=5,
                    tip=f"{m['name']}: {index} = {fmt_bounded(v)}")
            svg.text(xs[m["name"]] + 8, ys(v) - 9, fmt_bounded(v), size=10, fill=colour)
        y += panel_h + panel_gap
        desc.append(f"{index}: " + ", ".join(f"{m['name']} {fmt_bounded(v)}" for m, v in zip(models, vals)))
    # model names
    for m in models:
        words = m["name"].split(" ", 1)
        svg.text(xs[m["name"]], y - panel_gap + 12, words[0], size=11, anchor="middle", weight="bold")
        if len(words) > 1:
            svg.text(xs[m["name"]], y - panel_gap + 26, words[1], size=10, anchor="middle", fill=MUTED)
    steps = []
    for c in comparisons:
        steps.append(f"{c['model']} against {c['against']}: {'holds' if c.get('holds') else 'fails'}")
    svg.desc = ("Fit of each model of the invariance ladder, left to right; shaded boxes show how far an index may "
                "change from the model it is compared with before the criterion counts it against the step. "
                + "; ".join(desc) + ". Decisions: " + "; ".join(steps) + ".")
    return svg.render(width, y - panel_gap + 34)


# -- 7. dMACS -----------------------------------------------------------------------------


def dmacs_chart(rows_in: list[dict], uid: str, several_groups: bool, refs=((0.2, "small .2"), (0.4, "medium .4")),
                width: float = 680) -> str:
    """dMACS of every item as horizontal bars, grouped by factor; freed (flagged) items highlighted."""
    label_w = max([text_width(str(r.get("item")) + (f" · {r.get('group')}" if several_groups else ""), 12)
                   for r in rows_in] + [40]) + 14
    values = [as_float(r.get("dmacs")) for r in rows_in]
    hi = max([v for v in values if v is not None] + [0.5])
    step = _nice_step(hi, 5, (1, 2, 5, 10))
    hi = max(0.6, math.ceil(hi * 1.05 / step) * step)
    ticks = _ticks(0, hi, 6, (1, 2, 5, 10))
    x0, x1 = label_w, width - 90
    sc = _Scale(0.0, hi, x0, x1)
    top = 26
    bar_h, gap = 14, 4
    y = top
    placed = []
    factor = None
    for r in rows_in:
        if r.get("factor") != factor:
            factor = r.get("factor")
            y += 6 if placed else 0
            placed.append(("factor", factor, y + 9))
            y += 20
        placed.append(("bar", r, y))
        y += bar_h + gap
    bottom = y + 2
    svg = _Svg(uid, "dMACS per item (effect size of non-invariance)", "")
    for t in ticks:
        svg.line(sc(t), top, sc(t), bottom, stroke=GRID, sw=0.8)
    for x, name in refs:
        svg.line(sc(x), top - 6, sc(x), bottom, stroke=MUTED, sw=1.2, dash="5 3")
        svg.text(sc(x), top - 14, name, size=10, anchor="middle", fill=MUTED)
    desc = []
    for kind, r, yy in placed:
        if kind == "factor":
            svg.text(0, yy, str(r), size=11, weight="bold", fill=MUTED)
            continue
        v = as_float(r.get("dmacs"))
        flagged = bool(r.get("flagged"))
        label = str(r.get("item")) + (f" · {r.get('group')}" if several_groups else "")
        colour = OKABE_ITO["vermillion"] if flagged else OKABE_ITO["sky"]
        svg.text(10, yy + bar_h / 2, label, size=12, weight="bold" if flagged else None)
        if v is not None:
            svg.rect(x0, yy, sc(v) - x0, bar_h, colour, stroke=FAIL_INK if flagged else "none", sw=1,
                     tip=f"{label}: dMACS {fmt_num(v)}" + (" (freed)" if flagged else ""))
        text = fmt_num(v) + ("  freed" if flagged else "")
        svg.text(min(sc(v or 0), x1) + 5 if v is not None else x0 + 5, yy + bar_h / 2, text, size=10,
                 fill=FAIL_INK if flagged else INK, weight="bold" if flagged else None)
        desc.append(f"{label} {fmt_num(v)}" + (" (freed in the partial model)" if flagged else ""))
    _axis(svg, sc, bottom, ticks, _tick_format(ticks, bounded=False), label="dMACS")
    svg.desc = ("Horizontal bars: dMACS of each item between the groups; dashed lines at .2 (small) and .4 "
                "(medium); highlighted bars: parameters freed in the partial-invariance model. " + "; ".join(desc) + ".")
    return svg.render(width, bottom + 36)

