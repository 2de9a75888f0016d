"""Number and text formatting shared by coscale's report renderers.

Pure functions, no I/O and no styling: the terminal, HTML and Markdown
renderers all format numbers the same, APA-like way:

- three decimals for statistics (:func:`fmt_num`);
- no leading zero for values that cannot exceed 1 in absolute value:
  correlations, loadings in the standardized metric, alpha, omega, CFI,
  RMSEA, p (:func:`fmt_bounded`, :func:`fmt_p`);
- a missing value (``None``, NaN, infinity) prints as :data:`MISSING`.

>>> fmt_bounded(0.9312)
'.931'
>>> fmt_p(0.00002), fmt_p(0.0431)
('< .001', '.043')
>>> fmt_ci(0.80465, 0.8455)
'[.805, .846]'
>>> fmt_num(None)
'—'
"""

from __future__ import annotations

import math
import re

#: what a value that could not be computed prints as
MISSING = "—"

__all__ = [
    "MISSING",
    "as_float",
    "fmt_bounded",
    "fmt_ci",
    "fmt_count",
    "fmt_cutoff",
    "fmt_num",
    "fmt_p",
    "fmt_p_eq",
    "fmt_pct",
    "fmt_signed",
    "fmt_vs_cutoff",
    "unicode_minus",
    "mark",
    "split_criterion",
    "short_source",
]


def as_float(x) -> float | None:
    """``x`` as a finite float, or None (None, NaN, infinity, text)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _fixed(f: float, digits: int) -> str:
    text = f"{f:.{digits}f}"
    if text.startswith("-") and float(text) == 0.0:  # no "-0.000"
        text = text[1:]
    return text


def fmt_num(x, digits: int = 3) -> str:
    """A statistic with ``digits`` decimals and a leading zero: ``0.982``, ``-1.250``, ``139.762``."""
    f = as_float(x)
    return MISSING if f is None else _fixed(f, digits)


def fmt_bounded(x, digits: int = 3) -> str:
    """A value bounded by 1 in absolute value, without the leading zero: ``.931``, ``-.120``.

    Values that reach or pass 1 after rounding keep their integer part
    (``1.000``; a TLI of ``1.009``; a Heywood loading of ``1.042``).
    """
    f = as_float(x)
    if f is None:
        return MISSING
    text = _fixed(f, digits)
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def fmt_p(p, digits: int = 3) -> str:
    """A p-value, APA style: ``< .001``, ``.043``, ``> .999``."""
    f = as_float(p)
    if f is None:
        return MISSING
    smallest = 10.0**-digits
    if f < smallest:
        return f"< {fmt_bounded(smallest, digits)}"
    if round(f, digits) >= 1.0:
        return f"> {fmt_bounded(1 - smallest, digits)}"
    return fmt_bounded(f, digits)


def fmt_p_eq(p, digits: int = 3) -> str:
    """A p-value after its symbol: ``= .043``, ``< .001``, ``> .999`` (``—`` when missing)."""
    text = fmt_p(p, digits)
    return text if text.startswith(("<", ">")) or text == MISSING else f"= {text}"


def unicode_minus(text: str) -> str:
    """Leading hyphen-minus signs of numbers become the typographic minus ``−`` (APA).

    >>> unicode_minus("-.045, [-0.30, -0.08]")
    '−.045, [−0.30, −0.08]'
    """
    return re.sub(r"(?<![\w.])-(?=[\d.])", "−", text)


def fmt_signed(x, digits: int = 3, bounded: bool = True, plus: bool = False) -> str:
    """A change, APA style: ``−.045``, ``.020`` (``+.020`` with ``plus``); zero after rounding has no sign.

    >>> fmt_signed(-0.04535), fmt_signed(0.0201, plus=True), fmt_signed(-0.00007)
    ('−.045', '+.020', '.000')
    """
    f = as_float(x)
    if f is None:
        return MISSING
    text = (fmt_bounded if bounded else fmt_num)(f, digits)
    if plus and not text.startswith("-") and float(text) != 0.0:
        text = "+" + text
    return unicode_minus(text)


def fmt_vs_cutoff(x, cutoff, op: str = ">=", digits: int = 2, bounded: bool = True, max_digits: int = 4) -> str:
    """A value judged against a cut-off, rounded so that it cannot contradict the verdict.

    Two decimals unless the rounded value would pass where the value fails (or
    the reverse): a CFI of .9496 against ``>= .95`` is written ``.9496``, not
    ``.95``; ``op`` is one of ``>=``, ``<=``, ``>``, ``<``.

    >>> fmt_vs_cutoff(0.9629, 0.95), fmt_vs_cutoff(0.9496, 0.95), fmt_vs_cutoff(0.0604, 0.06, "<=")
    ('.96', '.9496', '.0604')
    """
    f, c = as_float(x), as_float(cutoff)
    fmt = fmt_bounded if bounded else fmt_num
    if f is None or c is None or op not in _COMPARE:
        return fmt(x, digits)
    truth = _COMPARE[op](f, c)
    for d in range(digits, max_digits + 1):
        if _COMPARE[op](round(f, d), c) == truth:
            return fmt(f, d)
    return fmt(f, max_digits)


_COMPARE = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}


def fmt_ci(lower, upper, digits: int = 3, bounded: bool = True) -> str:
    """A confidence interval ``[.805, .846]`` (``bounded=False``: ``[0.805, 1.846]``)."""
    if as_float(lower) is None and as_float(upper) is None:
        return MISSING
    f = fmt_bounded if bounded else fmt_num
    return f"[{f(lower, digits)}, {f(upper, digits)}]"


def fmt_count(n) -> str:
    """A count: ``700``; ``687.0`` -> ``687``; missing -> ``—``."""
    f = as_float(n)
    if f is None:
        return MISSING
    return str(int(round(f)))


def fmt_pct(share, digits: int = 1) -> str:
    """A proportion as a percentage without the sign: ``0.0349`` -> ``3.5``."""
    f = as_float(share)
    return MISSING if f is None else _fixed(100.0 * f, digits)


def fmt_cutoff(x) -> str:
    """A cut-off as papers write it: at least two decimals, no trailing zeros beyond (``.95``, ``.06``, ``.875``)."""
    f = as_float(x)
    if f is None:
        return MISSING
    text = fmt_bounded(f, 6)
    if "." in text:
        head, tail = text.split(".", 1)
        tail = tail.rstrip("0").ljust(2, "0")
        text = f"{head}.{tail}"
    return text


_OPS = {">=": "≥", "<=": "≤", "!=": "≠"}
_CRITERION_RE = re.compile(r"^(?P<rule>.*?)\s*\((?P<source>[^()]*)\)\s*$")
_NUMBER_RE = re.compile(r"(?<![\w.])-?(?:\d+\.\d+|\.\d+)(?![\w.])")


def split_criterion(criterion: str, unicode: bool = True) -> tuple[str, str]:
    """Split a verdict criterion into its rule and its source.

    >>> split_criterion("CFI >= .950 (Hu & Bentler 1999)")
    ('CFI ≥ .95', 'Hu & Bentler 1999')
    >>> split_criterion("sqrt(AVE) > largest factor correlation (Fornell & Larcker 1981)")
    ('√AVE > largest factor correlation', 'Fornell & Larcker 1981')

    Cut-offs lose trailing zeros (``.950`` -> ``.95``); with ``unicode`` the
    operators become ``≥``/``≤`` and ``sqrt(x)`` becomes ``√x``. A criterion
    without a source in brackets comes back whole, with an empty source.
    """
    text = (criterion or "").strip()
    m = _CRITERION_RE.match(text)
    rule, source = (m.group("rule"), m.group("source").strip()) if m else (text, "")
    rule = _NUMBER_RE.sub(lambda mm: fmt_cutoff(float(mm.group(0))), rule)
    if unicode:
        for ascii_op, sign in _OPS.items():
            rule = rule.replace(ascii_op, sign)
        rule = re.sub(r"sqrt\((\w+)\)", "√\\1", rule)
    return rule, source


def short_source(source: str) -> str:
    """Shorten a citation with three or more authors, APA 7 style.

    >>> short_source("Henseler, Ringle & Sarstedt 2015")
    'Henseler et al. 2015'
    >>> short_source("Hu & Bentler 1999")
    'Hu & Bentler 1999'

    Several citations separated by ``;`` are shortened one by one.
    """
    parts = []
    for cite in (source or "").split(";"):
        cite = cite.strip()
        m = re.match(r"^(?P<authors>.+?)\s+(?P<year>\d{4}[a-z]?)$", cite)
        if m and "," in m.group("authors") and "&" in m.group("authors"):
            first = m.group("authors").split(",")[0].strip()
            cite = f"{first} et al. {m.group('year')}"
        if cite:
            parts.append(cite)
    return "; ".join(parts)


def mark(holds: bool | None) -> tuple[str, str]:
    """The symbol and the word for a verdict: ``("✓", "ok")``, ``("✗", "FAIL")`` or ``("?", "n/a")``."""
    if holds is True:
        return "✓", "ok"
    if holds is False:
        return "✗", "FAIL"
    return "?", "n/a"
