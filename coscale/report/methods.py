"""The methods-and-results paragraph of a coscale analysis, ready for a paper (APA 7).

::

    m = methods_paragraph(result)   # a ValidationResult or InvarianceResult (or its JSON dict)
    m.text                          # plain Unicode: χ², α, ω
    m.markdown, m.html, m.latex     # the same paragraphs with italic symbols
    m.references                    # APA 7 entries of every work cited, sorted

The paragraphs are written from the fields of a
:class:`~coscale.results.ValidationResult` or
:class:`~coscale.results.InvarianceResult` and nothing else: the estimator
and why it was chosen, how missing answers were handled, the fit with the
cut-offs that were and were not met, reliability and convergent validity,
discriminant validity, and for invariance every step of the ladder with the
parameters freed, latent mean differences and dMACS.

APA number rules (:mod:`coscale.report.tables`): no leading zero for values
bounded by 1 (*p*, *r*, α, ω, CFI, TLI, RMSEA, SRMR, loadings, HTMT), two
decimals for fit indices and reliabilities, three for changes in fit
(the cut-offs are .010 and .015), *p* exact to three decimals or "< .001",
the typographic minus. A value is given more decimals when two would
contradict its verdict (a CFI of .9496 that fails ``>= .95`` is not written
".95").

Internally the prose carries two private marks, :data:`_IT` and
:data:`_TI` around italic symbols and :data:`CHI2` for χ², which each
renderer turns into its own markup (``*p*``, ``<i>p</i>``,
``\\textit{p}``). :mod:`coscale.report.paper` builds its tables with the same
writer, so that works cited in table notes join the references.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from dataclasses import dataclass, field

from coscale.report.tables import (
    MISSING,
    as_float,
    fmt_bounded,
    fmt_count,
    fmt_num,
    fmt_p_eq,
    fmt_signed,
    fmt_vs_cutoff,
    unicode_minus,
)

__all__ = ["Methods", "methods_paragraph", "WORKS", "render", "COSCALE_YEAR", "COSCALE_URL"]

#: year and address in coscale's own reference entry (update on release)
COSCALE_YEAR = "2026"
COSCALE_URL = ""

# -- private marks: italic on / off, chi-square ------------------------------------
_IT = "\ue000"
_TI = "\ue001"
CHI2 = "\ue002"


def it(symbol: str) -> str:
    """An italic statistical symbol (*p*, *N*, *SE*)."""
    return f"{_IT}{symbol}{_TI}"


# -- rendering ----------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_])")
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"$<$",
    ">": r"$>$",
    "|": r"$|$",
    "−": r"$-$",
    "–": "--",
    "—": "---",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "≠": r"$\neq$",
    "α": r"$\alpha$",
    "β": r"$\beta$",
    "λ": r"$\lambda$",
    "ω": r"$\omega$",
    "χ": r"$\chi$",
    "Δ": r"$\Delta$",
    "κ": r"$\kappa$",
    "√": r"$\surd$",
    "²": r"$^2$",
    "×": r"$\times$",
    "±": r"$\pm$",
    "…": r"\ldots{}",
    "’": "'",
    "“": "``",
    "”": "''",
    "\u00a0": "~",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def render(text: str, fmt: str) -> str:
    """Turn marked-up prose into ``text``, ``markdown``, ``html`` or ``latex``."""
    if fmt == "text":
        return text.replace(_IT, "").replace(_TI, "").replace(CHI2, "χ²")
    if fmt == "markdown":
        out = _MD_SPECIAL.sub(r"\\\1", text)
        return out.replace(_IT, "*").replace(_TI, "*").replace(CHI2, "χ²")
    if fmt == "html":
        out = _html.escape(text, quote=False)
        return out.replace(_IT, "<i>").replace(_TI, "</i>").replace(CHI2, "χ<sup>2</sup>")
    if fmt == "latex":
        out = _latex_escape(text)
        out = re.sub(r"(https://doi\.org/\S+?)(\.?)(?=\s|$)", lambda m: r"\url{" + m.group(1).replace(r"\_", "_") + "}" + m.group(2), out)
        out = out.replace(_IT, r"\textit{").replace(_TI, "}").replace(CHI2, r"$\chi^2$")
        return out.replace("$$", "")  # adjacent math: "$\Delta$$\chi^2$" -> "$\Delta\chi^2$"
    raise ValueError(f"unknown format {fmt!r}")


# -- the works coscale cites ----------------------------------------------------------


@dataclass(frozen=True)
class Work:
    """A cited work: surnames as cited in the text, year, and its APA 7 reference entry."""

    authors: tuple
    year: str
    entry: str


def _article(authors, year, title, journal, volume, issue, pages, doi=""):
    issue_part = f"({issue})" if issue else ""
    tail = f" https://doi.org/{doi}" if doi else ""
    return f"{authors} ({year}). {title}. {it(f'{journal}, {volume}')}{issue_part}, {pages}.{tail}"


SEM = "Structural Equation Modeling: A Multidisciplinary Journal"
MBR = "Multivariate Behavioral Research"

WORKS: dict[str, Work] = {
    "arbuckle1996": Work(
        ("Arbuckle",), "1996",
        "Arbuckle, J. L. (1996). Full information estimation in the presence of incomplete data. In G. A. "
        "Marcoulides & R. E. Schumacker (Eds.), "
        + it("Advanced structural equation modeling: Issues and techniques")
        + " (pp. 243–277). Lawrence Erlbaum Associates.",
    ),
    "brosseau2012": Work(
        ("Brosseau-Liard", "Savalei", "Li"), "2012",
        _article("Brosseau-Liard, P. É., Savalei, V., & Li, L.", "2012",
                 "An investigation of the sample performance of two nonnormality corrections for RMSEA",
                 MBR, "47", "6", "904–930", "10.1080/00273171.2012.715252"),
    ),
    "brosseau2014": Work(
        ("Brosseau-Liard", "Savalei"), "2014",
        _article("Brosseau-Liard, P. É., & Savalei, V.", "2014", "Adjusting incremental fit indices for nonnormality",
                 MBR, "49", "5", "460–470", "10.1080/00273171.2014.933697"),
    ),
    "byrne1989": Work(
        ("Byrne", "Shavelson", "Muthén"), "1989",
        _article("Byrne, B. M., Shavelson, R. J., & Muthén, B.", "1989",
                 "Testing for the equivalence of factor covariance and mean structures: The issue of partial "
                 "measurement invariance", "Psychological Bulletin", "105", "3", "456–466",
                 "10.1037/0033-2909.105.3.456"),
    ),
    "chen2007": Work(
        ("Chen",), "2007",
        _article("Chen, F. F.", "2007", "Sensitivity of goodness of fit indexes to lack of measurement invariance",
                 SEM, "14", "3", "464–504", "10.1080/10705510701301834"),
    ),
    "cheung2002": Work(
        ("Cheung", "Rensvold"), "2002",
        _article("Cheung, G. W., & Rensvold, R. B.", "2002",
                 "Evaluating goodness-of-fit indexes for testing measurement invariance",
                 SEM, "9", "2", "233–255", "10.1207/S15328007SEM0902_5"),
    ),
    "cronbach1951": Work(
        ("Cronbach",), "1951",
        _article("Cronbach, L. J.", "1951", "Coefficient alpha and the internal structure of tests",
                 "Psychometrika", "16", "3", "297–334", "10.1007/BF02310555"),
    ),
    "enders2010": Work(("Enders",), "2010", "Enders, C. K. (2010). " + it("Applied missing data analysis") + ". Guilford Press."),
    "feldt1965": Work(
        ("Feldt",), "1965",
        _article("Feldt, L. S.", "1965",
                 "The approximate sampling distribution of Kuder-Richardson reliability coefficient twenty",
                 "Psychometrika", "30", "3", "357–370", "10.1007/BF02289499"),
    ),
    "fornell1981": Work(
        ("Fornell", "Larcker"), "1981",
        _article("Fornell, C., & Larcker, D. F.", "1981",
                 "Evaluating structural equation models with unobservable variables and measurement error",
                 "Journal of Marketing Research", "18", "1", "39–50", "10.1177/002224378101800104"),
    ),
    "green2009": Work(
        ("Green", "Yang"), "2009",
        _article("Green, S. B., & Yang, Y.", "2009",
                 "Reliability of summed item scores using structural equation modeling: An alternative to "
                 "coefficient alpha", "Psychometrika", "74", "1", "155–167", "10.1007/s11336-008-9099-3"),
    ),
    "henseler2015": Work(
        ("Henseler", "Ringle", "Sarstedt"), "2015",
        _article("Henseler, J., Ringle, C. M., & Sarstedt, M.", "2015",
                 "A new criterion for assessing discriminant validity in variance-based structural equation "
                 "modeling", "Journal of the Academy of Marketing Science", "43", "1", "115–135",
                 "10.1007/s11747-014-0403-8"),
    ),
    "holm1979": Work(
        ("Holm",), "1979",
        _article("Holm, S.", "1979", "A simple sequentially rejective multiple test procedure",
                 "Scandinavian Journal of Statistics", "6", "2", "65–70"),
    ),
    "hu1999": Work(
        ("Hu", "Bentler"), "1999",
        _article("Hu, L., & Bentler, P. M.", "1999",
                 "Cutoff criteria for fit indexes in covariance structure analysis: Conventional criteria versus "
                 "new alternatives", SEM, "6", "1", "1–55", "10.1080/10705519909540118"),
    ),
    "mcdonald1999": Work(
        ("McDonald",), "1999",
        "McDonald, R. P. (1999). " + it("Test theory: A unified treatment") + ". Lawrence Erlbaum Associates.",
    ),
    "meredith1993": Work(
        ("Meredith",), "1993",
        _article("Meredith, W.", "1993", "Measurement invariance, factor analysis and factorial invariance",
                 "Psychometrika", "58", "4", "525–543", "10.1007/BF02294825"),
    ),
    "muthen1984": Work(
        ("Muthén",), "1984",
        _article("Muthén, B.", "1984",
                 "A general structural equation model with dichotomous, ordered categorical, and continuous latent "
                 "variable indicators", "Psychometrika", "49", "1", "115–132", "10.1007/BF02294210"),
    ),
    "muthen1997": Work(
        ("Muthén", "du Toit", "Spisic"), "1997",
        "Muthén, B. O., du Toit, S. H. C., & Spisic, D. (1997). "
        + it("Robust inference using weighted least squares and quadratic estimating equations in latent variable "
             "modeling with categorical and continuous outcomes")
        + " [Unpublished manuscript].",
    ),
    "nunnally1978": Work(("Nunnally",), "1978", "Nunnally, J. C. (1978). " + it("Psychometric theory") + " (2nd ed.). McGraw-Hill."),
    "nye2011": Work(
        ("Nye", "Drasgow"), "2011",
        _article("Nye, C. D., & Drasgow, F.", "2011",
                 "Effect size indices for analyses of measurement equivalence: Understanding the practical "
                 "importance of differences between groups", "Journal of Applied Psychology", "96", "5",
                 "966–980", "10.1037/a0022955"),
    ),
    "rhemtulla2012": Work(
        ("Rhemtulla", "Brosseau-Liard", "Savalei"), "2012",
        _article("Rhemtulla, M., Brosseau-Liard, P. É., & Savalei, V.", "2012",
                 "When can categorical variables be treated as continuous? A comparison of robust continuous and "
                 "categorical SEM estimation methods under suboptimal conditions", "Psychological Methods", "17",
                 "3", "354–373", "10.1037/a0029315"),
    ),
    "roemer2021": Work(
        ("Roemer", "Schuberth", "Henseler"), "2021",
        _article("Roemer, E., Schuberth, F., & Henseler, J.", "2021",
                 "HTMT2–An improved criterion for assessing discriminant validity in structural equation modeling",
                 "Industrial Management & Data Systems", "121", "12", "2637–2650", "10.1108/IMDS-02-2021-0082"),
    ),
    "rosseel2012": Work(
        ("Rosseel",), "2012",
        _article("Rosseel, Y.", "2012", "lavaan: An R package for structural equation modeling",
                 "Journal of Statistical Software", "48", "2", "1–36", "10.18637/jss.v048.i02"),
    ),
    "satorra1994": Work(
        ("Satorra", "Bentler"), "1994",
        "Satorra, A., & Bentler, P. M. (1994). Corrections to test statistics and standard errors in covariance "
        "structure analysis. In A. von Eye & C. C. Clogg (Eds.), "
        + it("Latent variables analysis: Applications for developmental research")
        + " (pp. 399–419). Sage.",
    ),
    "satorra2001": Work(
        ("Satorra", "Bentler"), "2001",
        _article("Satorra, A., & Bentler, P. M.", "2001",
                 "A scaled difference chi-square test statistic for moment structure analysis",
                 "Psychometrika", "66", "4", "507–514", "10.1007/BF02296192"),
    ),
    "savalei2021": Work(
        ("Savalei",), "2021",
        _article("Savalei, V.", "2021", "Improving fit indices in structural equation modeling with categorical data",
                 MBR, "56", "3", "390–407", "10.1080/00273171.2020.1717922"),
    ),
    "wu2016": Work(
        ("Wu", "Estabrook"), "2016",
        _article("Wu, H., & Estabrook, R.", "2016",
                 "Identification of confirmatory factor analysis models of different levels of invariance for "
                 "ordered categorical outcomes", "Psychometrika", "81", "4", "1014–1045",
                 "10.1007/s11336-016-9506-0"),
    ),
    "yuan2000": Work(
        ("Yuan", "Bentler"), "2000",
        _article("Yuan, K.-H., & Bentler, P. M.", "2000",
                 "Three likelihood-based methods for mean and covariance structure analysis with nonnormal "
                 "missing data", "Sociological Methodology", "30", "1", "165–200", "10.1111/0081-1750.00078"),
    ),
    "zumbo2007": Work(
        ("Zumbo", "Gadermann", "Zeisser"), "2007",
        _article("Zumbo, B. D., Gadermann, A. M., & Zeisser, C.", "2007",
                 "Ordinal versions of coefficients alpha and theta for Likert rating scales",
                 "Journal of Modern Applied Statistical Methods", "6", "1", "21–29", "10.22237/jmasm/1177992180"),
    ),
}


def _coscale_work(version: str) -> Work:
    tail = f" {COSCALE_URL}" if COSCALE_URL else ""
    entry = (f"coscale contributors. ({COSCALE_YEAR}). "
             + it("coscale: Validation of psychometric scales for co-production research")
             + f" (Version {version}) [Computer software].{tail}")
    return Work(("coscale contributors",), COSCALE_YEAR, entry)


def _sort_key(entry: str) -> str:
    plain = render(entry, "text")
    decomposed = unicodedata.normalize("NFKD", plain)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


class Writer:
    """Collects the works cited while prose and tables are written, and formats citations."""

    def __init__(self, coscale_version: str = ""):
        self.works = dict(WORKS)
        self.works["coscale"] = _coscale_work(coscale_version or "unknown")
        self.cited: list[str] = []

    def _names(self, key: str, narrative: bool) -> str:
        authors = self.works[key].authors
        if len(authors) == 1:
            return authors[0]
        if len(authors) == 2:
            return f"{authors[0]} {'and' if narrative else '&'} {authors[1]}"
        return f"{authors[0]} et al."

    def _use(self, key: str) -> Work:
        if key not in self.works:
            raise KeyError(f"unknown work {key!r}")
        if key not in self.cited:
            self.cited.append(key)
        return self.works[key]

    def cite(self, *keys: str) -> str:
        """Citations for inside parentheses: ``Arbuckle, 1996; Enders, 2010`` (APA order, same authors merged)."""
        ordered = sorted(dict.fromkeys(keys), key=lambda k: (_sort_key(self.works[k].entry), self.works[k].year))
        parts: list[list[str]] = []  # [names, year, year, ...]
        for key in ordered:
            work = self._use(key)
            names = self._names(key, narrative=False)
            if parts and parts[-1][0] == names:
                parts[-1].append(work.year)
            else:
                parts.append([names, work.year])
        return "; ".join(f"{p[0]}, {', '.join(p[1:])}" for p in parts)

    def p(self, *keys: str) -> str:
        """A parenthetical citation: ``(Hu & Bentler, 1999)``."""
        return f"({self.cite(*keys)})"

    def n(self, key: str) -> str:
        """A narrative citation: ``Hu and Bentler (1999)``."""
        work = self._use(key)
        return f"{self._names(key, narrative=True)} ({work.year})"

    def references(self) -> list[str]:
        """APA 7 entries of every work cited so far, in reference-list order (marked up)."""
        return sorted((self.works[k].entry for k in self.cited), key=_sort_key)


# -- the result -------------------------------------------------------------------------


@dataclass
class Methods:
    """The methods-and-results paragraphs in four renderings, and the works they cite."""

    text: str
    markdown: str
    html: str
    latex: str
    references: list = field(default_factory=list)  # plain-text APA 7 entries, sorted
    references_markdown: list = field(default_factory=list)
    references_html: list = field(default_factory=list)
    references_latex: list = field(default_factory=list)
    cited: list = field(default_factory=list)  # keys of WORKS (and "coscale"), in order of first citation
    paragraphs: list = field(default_factory=list)  # marked-up source of each paragraph

    def html_fragment(self, with_references: bool = True) -> str:
        """The paragraphs as ``<p>`` elements, then (optionally) the references as ``<p class="reference">``."""
        out = self.html
        if with_references and self.references_html:
            refs = "\n".join(f'<p class="reference">{r}</p>' for r in self.references_html)
            out += f'\n<h3>References</h3>\n<div class="references">\n{refs}\n</div>'
        return out


def _build(paragraphs: list[str], writer: Writer) -> Methods:
    refs = writer.references()
    return Methods(
        text="\n\n".join(render(p, "text") for p in paragraphs),
        markdown="\n\n".join(render(p, "markdown") for p in paragraphs),
        html="\n".join(f"<p>{render(p, 'html')}</p>" for p in paragraphs),
        latex="\n\n".join(render(p, "latex") for p in paragraphs),
        references=[render(r, "text") for r in refs],
        references_markdown=[render(r, "markdown") for r in refs],
        references_html=[render(r, "html") for r in refs],
        references_latex=[render(r, "latex") for r in refs],
        cited=list(writer.cited),
        paragraphs=list(paragraphs),
    )


def methods_paragraph(result, writer: Writer | None = None) -> Methods:
    """The methods-and-results paragraphs of a validate or invariance result (or its JSON dict)."""
    result = _as_result(result)
    writer = writer or Writer(getattr(result, "coscale_version", ""))
    if getattr(result, "kind", "") == "invariance":
        paragraphs = _invariance_paragraphs(result, writer)
    else:
        paragraphs = _validation_paragraphs(result, writer)
    return _build(paragraphs, writer)


def _as_result(result):
    if isinstance(result, dict):
        from coscale.results import InvarianceResult, ValidationResult

        cls = InvarianceResult if result.get("kind") == "invariance" else ValidationResult
        return cls.from_dict(result)
    return result


# -- shared pieces ------------------------------------------------------------------------

ROBUST_ML = ("MLM", "MLR", "MLMV", "MLMVS")
ORDINAL = ("WLSMV", "WLSM", "DWLS", "ULSMV", "WLS")

#: Hu & Bentler (1999) defaults, used when a result carries no fit verdicts
DEFAULT_CUTOFFS = {"cfi": (">=", 0.95), "tli": (">=", 0.95), "rmsea": ("<=", 0.06), "srmr": ("<=", 0.08)}
FIT_LABEL = {"cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA", "srmr": "SRMR"}
_CRITERION = re.compile(r"^\s*(?P<name>[A-Za-z]+(?:\([A-Za-z]+\))?)(?:\s*\(robust\))?\s*(?P<op>>=|<=|<|>)\s*(?P<cut>-?\d*\.\d+|\d+)")


def parse_criterion(criterion: str) -> tuple[str, str, float] | None:
    """``"CFI (robust) >= .950 (Hu & Bentler 1999)"`` -> ``("cfi", ">=", 0.95)``."""
    m = _CRITERION.match(criterion or "")
    if not m:
        return None
    name = m.group("name").lower().replace("sqrt(ave)", "sqrt_ave")
    return name, m.group("op"), float(m.group("cut"))


def _join(items: list[str], word: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} {word} {items[1]}"
    return f"{', '.join(items[:-1])}, {word} {items[-1]}"


def _cap(text: str) -> str:
    """First letter upper case, unless it is a symbol (α, ω stay lower case)."""
    return text[:1].upper() + text[1:] if text and text[:1].isascii() else text


def _words(n) -> str:
    """APA: numbers below 10 in words (``five answer categories``), larger ones as numerals."""
    f = as_float(n)
    if f is None:
        return MISSING
    return _count_words(int(f)) if 0 <= f < 10 else _n(f)


def _count_words(n: int) -> str:
    words = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    return words[n] if 0 <= n < len(words) else str(n)


def _n(n) -> str:
    """A count in prose: thousands separated by commas (APA)."""
    f = as_float(n)
    return MISSING if f is None else f"{int(round(f)):,}"


def _pct(part, whole) -> str:
    a, b = as_float(part), as_float(whole)
    if a is None or not b:
        return MISSING
    return f"{100.0 * a / b:.1f}%"


def _num2(x) -> str:
    return unicode_minus(fmt_num(x, 2))


def estimator_family(estimator: str) -> str:
    """``ml``, ``robust`` (MLM/MLR), ``ordinal`` (WLSMV and kin) or ``other``."""
    est = (estimator or "").upper()
    if est == "ML":
        return "ml"
    if est in ROBUST_ML:
        return "robust"
    if est in ORDINAL:
        return "ordinal"
    return "other"


def fit_keys(estimator: str, fit: dict) -> dict:
    """Which fields of a fit dict to report: the scaled χ² and robust indices for robust estimators.

    Returns ``{"chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper",
    "srmr"}`` mapped to field names, plus ``"variant"``: ``"standard"``, ``"robust"`` or ``"scaled"``.
    """
    fit = fit or {}
    keys = {k: k for k in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper", "srmr")}
    keys["variant"] = "standard"
    if estimator_family(estimator) in ("robust", "ordinal") and as_float(fit.get("chisq_scaled")) is not None:
        keys.update(chisq="chisq_scaled", df="df_scaled" if fit.get("df_scaled") is not None else "df",
                    pvalue="pvalue_scaled")
        for suffix in ("_robust", "_scaled"):
            if as_float(fit.get("cfi" + suffix)) is not None and as_float(fit.get("rmsea" + suffix)) is not None:
                for k in ("cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper"):
                    if fit.get(k + suffix) is not None:
                        keys[k] = k + suffix
                keys["variant"] = suffix[1:]
                break
    return keys


def fit_cutoffs(verdicts, subject: str) -> dict:
    """``{"cfi": (">=", .95), ...}`` from the fit verdicts of ``subject`` (Hu & Bentler defaults otherwise)."""
    out = dict(DEFAULT_CUTOFFS)
    for v in verdicts or []:
        if v.topic == "fit" and v.subject == subject:
            parsed = parse_criterion(v.criterion)
            if parsed and parsed[0] in out:
                out[parsed[0]] = (parsed[1], parsed[2])
    return out


def fit_statistics(fit: dict, estimator: str, cutoffs: dict | None = None) -> str:
    """``χ²(24) = 87.13, p < .001, CFI = .93, TLI = .89, RMSEA = .09, 90% CI [.07, .11], SRMR = .07``."""
    fit = fit or {}
    keys = fit_keys(estimator, fit)
    cutoffs = cutoffs or DEFAULT_CUTOFFS

    def index(name: str) -> str:
        op, cut = cutoffs.get(name, (None, None))
        value = fit.get(keys[name])
        return fmt_vs_cutoff(value, cut, op) if op else fmt_bounded(value, 2)

    ci = f"[{fmt_bounded(fit.get(keys['rmsea_ci_lower']), 2)}, {fmt_bounded(fit.get(keys['rmsea_ci_upper']), 2)}]"
    return (
        f"{CHI2}({fmt_count(fit.get(keys['df']))}) = {fmt_num(fit.get(keys['chisq']), 2)}, "
        f"{it('p')} {fmt_p_eq(fit.get(keys['pvalue']))}, CFI = {index('cfi')}, TLI = {index('tli')}, "
        f"RMSEA = {index('rmsea')}, 90% CI {ci}, SRMR = {index('srmr')}"
    )


def _fit_misses(fit: dict, estimator: str, cutoffs: dict) -> tuple[list[str], list[str], list[str]]:
    """Clauses for the cut-offs not met, the names of those met, and of those not computed."""
    keys = fit_keys(estimator, fit)
    missed: dict[tuple, list[str]] = {}
    met, unknown = [], []
    for name in ("cfi", "tli", "rmsea", "srmr"):
        op, cut = cutoffs[name]
        value = as_float((fit or {}).get(keys[name]))
        label = FIT_LABEL[name]
        if value is None:
            unknown.append(label)
            continue
        holds = {">=": value >= cut, "<=": value <= cut, ">": value > cut, "<": value < cut}[op]
        if holds:
            met.append(label)
        else:
            missed.setdefault((op, cut), []).append(f"{label} ({fmt_vs_cutoff(value, cut, op)})")
    clauses = []
    for (op, cut), labels in missed.items():
        verb = "fell below" if op in (">=", ">") else "exceeded"
        clauses.append(f"{_join(labels)} {verb} {fmt_bounded(cut, 2)}")
    return clauses, met, unknown


def fit_sentence(w: Writer, subject_text: str, fit: dict, estimator: str, cutoffs: dict) -> str:
    """``The model fit well, χ²(...) ...`` or ``... did not fit well ...: CFI (.93) fell below .95 ...``."""
    stats = fit_statistics(fit, estimator, cutoffs)
    clauses, met, unknown = _fit_misses(fit, estimator, cutoffs)
    if not clauses and not unknown:
        return f"{_cap(subject_text)} fit the data well, {stats}; every cut-off was met."
    if not clauses:
        return (f"{_cap(subject_text)} met the cut-offs that could be computed, {stats}; "
                f"{_join(unknown)} could not be computed.")
    tail = ""
    if met:
        tail = f", while {_join(met)} met {'its cut-off' if len(met) == 1 else 'their cut-offs'}"
    if unknown:
        tail += f" ({_join(unknown)} could not be computed)"
    return f"{_cap(subject_text)} did not fit the data well, {stats}: {'; '.join(clauses)}{tail}."


def estimator_phrase(w: Writer, estimator: str) -> str:
    """How the model was estimated, with citations."""
    est = (estimator or "ML").upper()
    if est == "ML":
        return "maximum likelihood (ML)"
    if est == "MLR":
        return ("robust maximum likelihood with Huber–White standard errors and a Yuan–Bentler scaled test "
                f"statistic (MLR; {w.cite('yuan2000')})")
    if est == "MLM":
        return ("maximum likelihood with robust standard errors and a Satorra–Bentler scaled test statistic "
                f"(MLM; {w.cite('satorra1994')})")
    if estimator_family(est) == "ordinal":
        return ("diagonally weighted least squares on the polychoric correlations, with robust standard errors "
                f"and a mean- and variance-adjusted (scaled-shifted) {CHI2} test statistic "
                f"(WLSMV; {w.cite('muthen1984', 'muthen1997')}), treating the items as ordinal")
    return f"the {est} estimator"


def fit_variant_sentence(w: Writer, estimator: str, fit: dict, cutoffs: dict, model_word: str = "the model") -> str:
    """Which χ² and which indices are reported, and the cut-offs of Hu & Bentler (1999)."""
    keys = fit_keys(estimator, fit)
    family = estimator_family(estimator)
    crit = _cutoff_text(cutoffs)
    base = f"Fit was judged against the cut-offs of {w.n('hu1999')}: {crit}"
    if family == "robust" and keys["chisq"] == "chisq_scaled":
        which = ("the robust CFI, TLI, and RMSEA " + w.p("brosseau2012", "brosseau2014")
                 if keys["variant"] == "robust" else "the scaled CFI, TLI, and RMSEA")
        name = "Yuan–Bentler" if (estimator or "").upper() == "MLR" else "Satorra–Bentler"
        return f"{base}; we report the {name} scaled {CHI2} and {which}."
    if family == "ordinal" and keys["chisq"] == "chisq_scaled":
        which = ("the robust CFI, TLI, and RMSEA for categorical data " + w.p("savalei2021")
                 if keys["variant"] == "robust" else "the scaled CFI, TLI, and RMSEA")
        return f"{base}; we report the scaled-shifted {CHI2} and {which}."
    return f"{base}."


def _cutoff_text(cutoffs: dict) -> str:
    sign = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
    parts, done = [], set()
    for name in ("cfi", "tli", "rmsea", "srmr"):
        if name in done:
            continue
        op, cut = cutoffs[name]
        same = [n for n in ("cfi", "tli", "rmsea", "srmr") if n not in done and cutoffs[n] == (op, cut)]
        done.update(same)
        labels = [FIT_LABEL[n] for n in same]
        parts.append(f"{_join(labels)} {sign[op]} {fmt_bounded(cut, 2)}")
    return _join(parts)


def software_sentence(w: Writer, version: str) -> str:
    return (f"Analyses were run in coscale (Version {version or 'unknown'}; {w.cite('coscale')}), whose estimates "
            f"agree with those of the R package lavaan {w.p('rosseel2012')}.")


def _skew_kurt(est: dict) -> str:
    return (f"largest absolute skewness = {fmt_num(est.get('max_abs_skewness'), 2)}, "
            f"largest absolute excess kurtosis = {fmt_num(est.get('max_abs_kurtosis'), 2)}")


def _answers_phrase(categories) -> str:
    cats = as_float(categories)
    if cats is None:
        return "the answers"
    if cats > 10:
        return "the scores, which took many distinct values,"
    return f"the items, with {_words(cats)} answer categories,"


def choice_sentence(w: Writer, estimation: dict, settings: dict) -> str:
    """Why this estimator: from ``result.estimation`` (``coscale.stats.choice``) and the requested setting."""
    est = (estimation.get("estimator") or "ML").upper()
    missing = estimation.get("missing") or "listwise"
    reason = estimation.get("reason") or ""
    requested = str((settings or {}).get("estimator") or "auto")
    cats = as_float(estimation.get("categories"))
    skew = as_float(estimation.get("max_abs_skewness")) or 0.0
    kurt = as_float(estimation.get("max_abs_kurtosis")) or 0.0
    cut_skew, cut_kurt = _choice_cuts()
    nonnormal = skew > cut_skew or kurt > cut_kurt
    few = cats is not None and cats <= 4
    declared = "declares" in reason
    shape = _skew_kurt(estimation)

    if requested.lower() != "auto" and requested.upper() != est:
        if est == "ML" and missing == "fiml":
            return (f"{requested.upper()} was requested, but because this version of coscale combines full-information "
                    "ML only with normal-theory ML, ML with FIML was used; the standard errors and the "
                    f"{CHI2} test therefore assume multivariate normality.")
        return f"{requested.upper()} was requested; {est} was used. {_reason_apa(reason)}".strip()
    if requested.lower() != "auto":
        what = (f"{_words(cats)} answer categories; " if cats is not None and cats <= 10
                else "scores with many distinct values; " if cats is not None else "")
        return (f"{requested.upper()} was specified by the analyst rather than chosen from the data "
                f"({what}{shape}).")
    if few or declared:
        why = ("the scale file declares the items ordinal" if declared
               else f"the items had at most {_words(cats)} answer categories")
        if estimator_family(est) == "ordinal":
            return f"Because {why}, they were treated as ordinal {w.p('rhemtulla2012')}."
        text = (f"Because {why}, an ordinal estimator such as WLSMV would be preferable {w.p('rhemtulla2012')}; "
                "this version of coscale has none, so")
        if est == "ML" and missing == "fiml":
            return (f"{text} robust ML was chosen, and because answers were missing and this version combines "
                    "full-information ML only with normal-theory ML, ML with FIML was used; the standard errors and "
                    f"the {CHI2} test therefore assume multivariate normality.")
        return f"{text} robust ML (MLR) was used."
    if nonnormal:
        if est in ROBUST_ML:
            return (f"Robust ML was used because the answers were markedly non-normal ({shape}; cut-off 1; "
                    f"{w.cite('rhemtulla2012')}).")
        if est == "ML" and missing == "fiml":
            return (f"The answers were markedly non-normal ({shape}; cut-off 1), which calls for robust ML "
                    f"{w.p('rhemtulla2012')}; because answers were missing and this version of coscale combines "
                    "full-information ML only with normal-theory ML, ML with FIML was used instead, so the standard "
                    f"errors and the {CHI2} test assume multivariate normality.")
    if est == "ML":
        return f"Normal-theory ML was used because {_answers_phrase(cats)} showed no marked non-normality ({shape})."
    # a combination this writer does not know: fall back on coscale's own words
    return _reason_apa(reason)


def _choice_cuts() -> tuple[float, float]:
    try:
        from coscale.stats.choice import KURTOSIS_CUT, SKEW_CUT

        return float(SKEW_CUT), float(KURTOSIS_CUT)
    except Exception:  # pragma: no cover - numpy missing etc.
        return 1.0, 1.0


def _reason_apa(reason: str) -> str:
    """coscale's reason text with its citations in APA form (``Enders 2010`` -> ``Enders, 2010``)."""
    def fix(m):
        authors, year = m.group(1), m.group(2)
        names = [a.strip() for a in re.split(r",|&", authors) if a.strip()]
        if len(names) >= 3:
            authors = f"{names[0]} et al."
        return f"{authors}, {year}"

    text = re.sub(r"([A-Z][\w\-]+(?:(?:, | & )[A-Z][\w\-]+)*) (\d{4})", fix, reason)
    return text.replace("|", "")


def missing_sentence(w: Writer, estimation: dict, *, rows: int | None, complete: int | None, used: int | None,
                     n_items: int, group_text: str = "", requested_missing: str | None = None) -> str:
    """How missing answers were handled, with how many respondents each method kept."""
    n_missing = int(as_float(estimation.get("missing_answers")) or 0)
    missing = (estimation.get("missing") or "listwise").lower()
    est = (estimation.get("estimator") or "ML").upper()
    cells = (rows or 0) * n_items
    if n_missing == 0:
        return f"All {_n(used if used is not None else rows)} respondents answered every item."
    share = f" ({_pct(n_missing, cells)})" if cells else ""
    head = (f"Of all answers, {_n(n_missing)}{share} were missing, and {_n(complete)} of the {_n(rows)} "
            "respondents answered every item.")
    if missing == "fiml":
        left_out = (rows or 0) - (used or 0)
        robust = " with robust standard errors" if est in ROBUST_ML else ""
        text = (f"{head} Missing answers were handled by full-information maximum likelihood{robust} "
                f"(FIML; {w.cite('arbuckle1996', 'enders2010')}), which uses all available answers of all "
                f"{it('N')} = {_n(used)} respondents{group_text}, assuming that answers are missing at random")
        if left_out > 0:
            who = "respondent who answered" if left_out == 1 else "respondents who answered"
            text += f"; {_words(left_out)} {who} none of the items {'was' if left_out == 1 else 'were'} left out"
        return text + "."
    if missing == "pairwise":
        return f"{head} Polychoric correlations were estimated from all pairwise-complete answers."
    auto = str(estimation.get("reason") or "")
    why = ""
    if "not available" in auto:
        why = f", because this version of coscale does not combine {est} with FIML"
    elif str(requested_missing or "").lower() == "listwise":
        why = ", as specified by the analyst"
    return (f"{head} Respondents with a missing answer were excluded (listwise deletion{why}), leaving "
            f"{it('N')} = {_n(used)} ({_pct(used, rows)}){group_text}.")


def _ordinal_reliability(scales) -> bool:
    return any(as_float(getattr(s.reliability, "alpha_ordinal", None)) is not None
               or as_float(getattr(s.reliability, "omega_ordinal", None)) is not None for s in scales)


# -- validate -----------------------------------------------------------------------------


def _label(scale) -> str:
    return scale.label or scale.name


def _verdict_map(result) -> dict:
    """(topic, subject, criterion name) -> Verdict."""
    out = {}
    for v in result.verdicts or []:
        parsed = parse_criterion(v.criterion)
        name = parsed[0] if parsed else v.criterion
        out[(v.topic, v.subject, name)] = v
    return out


def _validation_paragraphs(result, w: Writer) -> list[str]:
    cfa = result.cfa
    est = result.estimation or {}
    settings = result.settings or {}
    screening = result.screening or {}
    estimator = (cfa.estimator if cfa is not None else est.get("estimator")) or "ML"
    scales = list(result.scales or [])
    n_items = sum(len(s.items) for s in scales)
    rows = as_float(screening.get("rows_read"))
    rows = int(rows) if rows is not None else None

    # -- methods ------------------------------------------------------------------
    m: list[str] = []
    labels = [_label(s) for s in scales]
    m.append(
        f"We examined the factor structure, reliability, and validity of the {_count_words(len(scales))} "
        f"scale{'s' if len(scales) != 1 else ''} of the {result.instrument} instrument "
        f"({_join(labels)}; {_words(n_items)} items in all) in the answers of {it('N')} = {_n(rows)} respondents."
    )
    reverse = [i for s in scales for i in (s.reverse_keyed or [])]
    if reverse:
        m.append(f"Reverse-keyed item{'s' if len(reverse) > 1 else ''} ({_join(reverse)}) "
                 f"{'were' if len(reverse) > 1 else 'was'} recoded before the analysis.")
    ident = ("by fixing its variance to 1" if settings.get("std_lv") else "by fixing the loading of its first item to 1")
    m.append(
        f"In a confirmatory factor analysis (CFA), the items of each scale loaded on one factor, the factors were "
        f"allowed to correlate, and each factor was identified {ident}; the model was estimated with "
        f"{estimator_phrase(w, estimator)}."
    )
    m.append(choice_sentence(w, est, settings))
    used = cfa.n if cfa is not None else None
    m.append(missing_sentence(w, est, rows=rows, complete=screening.get("rows_used"), used=used, n_items=n_items,
                              requested_missing=settings.get("missing")))
    cutoffs = fit_cutoffs(result.verdicts, "instrument")
    if cfa is not None:
        m.append(fit_variant_sentence(w, estimator, cfa.fit, cutoffs))
    m.append(_reliability_methods(w, result, scales))
    if len(scales) > 1:
        m.append(_discriminant_methods(w, result))
    m.append(software_sentence(w, result.coscale_version))

    # -- results ------------------------------------------------------------------
    r: list[str] = []
    if cfa is None:
        r.append("No CFA could be fitted: too few respondents answered the items (see the warnings of the "
                 "report), so fit, composite reliability, AVE and the Fornell–Larcker criterion are not available.")
    else:
        if not cfa.converged:
            r.append("The estimation of the CFA did not converge, so the following estimates are not trustworthy.")
        r.append(fit_sentence(w, "the model", cfa.fit, estimator, cutoffs))
        r.append(_loadings_sentence(cfa))
    r.append(_reliability_results(w, result, scales))
    if len(scales) > 1:
        r.append(_discriminant_results(w, result))
    return [" ".join(x for x in m if x), " ".join(x for x in r if x)]


def _loadings_sentence(cfa) -> str:
    rows = [e for e in cfa.estimates or [] if e.get("op") == "=~" and not e.get("group")]
    std = [as_float(e.get("std_all")) for e in rows if as_float(e.get("std_all")) is not None]
    if not std:
        return ""
    text = f"Standardized loadings ranged from {fmt_bounded(min(std), 2)} to {fmt_bounded(max(std), 2)}"
    ps = [as_float(e.get("pvalue")) for e in rows if e.get("free", True)]
    if ps and all(p is not None and p < 0.001 for p in ps):
        text += f" (every freely estimated loading {it('p')} < .001)"
    return text + "."


def _criteria_of(result, topic: str, name: str, default: tuple[str, float]) -> tuple[str, float]:
    for v in result.verdicts or []:
        parsed = parse_criterion(v.criterion)
        if v.topic == topic and parsed and parsed[0] == name:
            return parsed[1], parsed[2]
    return default


REL_MEASURES = (
    # key, verdict topic, verdict name, symbol, default cut
    ("alpha", "reliability", "alpha", "α", (">=", 0.70)),
    ("omega", "reliability", "omega", "ω", (">=", 0.70)),
    ("composite_reliability", "convergent", "cr", "CR", (">=", 0.70)),
    ("ave", "convergent", "ave", "AVE", (">=", 0.50)),
)


def _reliability_methods(w: Writer, result, scales) -> str:
    methods = {(s.reliability.alpha_ci_method or "") for s in scales}
    feldt = any("feldt" in mth.lower() for mth in methods)
    boot = [mth for mth in methods if "bootstrap" in mth.lower()]
    ci = (f"with 95% confidence intervals after {w.n('feldt1965')}" if feldt
          else f"with {boot[0]} 95% confidence intervals" if boot else "")
    n_missing = int(as_float((result.estimation or {}).get("missing_answers")) or 0)
    pairwise = " from pairwise-complete covariances" if n_missing else ""
    text = (f"Reliability was estimated with Cronbach's α {w.p('cronbach1951')}{pairwise}, {ci}, and with McDonald's "
            f"ω {w.p('mcdonald1999')} from a one-factor CFA of each scale")
    if _ordinal_reliability(scales):
        text += (f", together with ordinal α {w.p('zumbo2007')} and categorical ω {w.p('green2009')} "
                 "from the polychoric correlations")
    crit = {k: _criteria_of(result, topic, name, default) for k, topic, name, _, default in REL_MEASURES}
    text += (f"; composite reliability (CR) and average variance extracted (AVE) were computed from the standardized "
             f"loadings of the CFA {w.p('fornell1981')}. We required α and ω {_op(crit['alpha'])} "
             f"{w.p('nunnally1978')}, CR {_op(crit['composite_reliability'])} and AVE {_op(crit['ave'])} "
             f"{w.p('fornell1981')}.")
    return text


def _op(crit: tuple[str, float]) -> str:
    sign = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}[crit[0]]
    return f"{sign} {fmt_bounded(crit[1], 2)}"


def _reliability_results(w: Writer, result, scales) -> str:
    if not scales:
        return ""
    vm = _verdict_map(result)
    per_scale = []
    for s in scales:
        r = s.reliability
        lo, hi = (list(r.alpha_ci or []) + [None, None])[:2]
        parts = []
        for key, topic, name, symbol, default in REL_MEASURES:
            value = getattr(r, key, None)
            op, cut = _criteria_of(result, topic, name, default)
            shown = fmt_vs_cutoff(value, cut, op)
            parts.append(f"{symbol} = {shown}")
            if key == "alpha":
                parts.append(f"95% CI [{fmt_bounded(lo, 2)}, {fmt_bounded(hi, 2)}]")
        oa, oo = getattr(r, "alpha_ordinal", None), getattr(r, "omega_ordinal", None)
        if as_float(oa) is not None:
            parts.append(f"ordinal α = {fmt_bounded(oa, 2)}")
        if as_float(oo) is not None:
            parts.append(f"categorical ω = {fmt_bounded(oo, 2)}")
        per_scale.append(f"{_label(s)}, {', '.join(parts)}")
    text = "Per scale: " + "; ".join(per_scale) + "."

    all_met, clauses, not_computed = [], [], []
    for key, topic, name, symbol, default in REL_MEASURES:
        op, cut = _criteria_of(result, topic, name, default)
        failing, unknown = [], []
        for s in scales:
            value = as_float(getattr(s.reliability, key, None))
            v = vm.get((topic, s.name, name))
            holds = v.holds if v is not None else (None if value is None else _holds(value, op, cut))
            if holds is None:
                unknown.append(_label(s))
            elif holds is False:
                failing.append(f"{_label(s)} ({fmt_vs_cutoff(value, cut, op)})")
        if failing:
            verb = "fell below" if op in (">=", ">") else "exceeded"
            clauses.append(f"{symbol} {verb} {fmt_bounded(cut, 2)} for {_join(failing)}")
        elif not unknown:
            all_met.append(symbol)
        if unknown:
            not_computed.append(f"{symbol} for {_join(unknown)}")
    if not clauses and not not_computed:
        text += " Every scale met all four criteria."
    else:
        if all_met:
            text += f" Every scale met the criteria for {_join(all_met)}; " + "; ".join(clauses) + "."
        else:
            text += " Against these criteria, " + "; ".join(clauses) + "."
        if not_computed:
            text += f" Not computed: {'; '.join(not_computed)}."
    return text


def _holds(value: float, op: str, cut: float) -> bool:
    return {">=": value >= cut, "<=": value <= cut, ">": value > cut, "<": value < cut}[op]


def _is_htmt2(result) -> bool:
    method = ((result.discriminant or {}).get("htmt") or {}).get("method") or ""
    return "HTMT2" in method or "geometric" in method.lower()


def _discriminant_methods(w: Writer, result) -> str:
    op, cut = _criteria_of(result, "discriminant", "htmt", ("<", 0.85))
    if _is_htmt2(result):
        htmt = f"the heterotrait–monotrait ratio in its geometric-mean form (HTMT2; {w.cite('roemer2021')})"
    else:
        htmt = f"the heterotrait–monotrait ratio (HTMT; {w.cite('henseler2015')})"
    return (f"Discriminant validity was assessed with {htmt}, which should stay {_op((op, cut))} "
            f"{w.p('henseler2015')}, and with the Fornell–Larcker criterion: the square root of each factor's AVE "
            f"should exceed its correlations with the other factors {w.p('fornell1981')}.")


def _upper(matrix, k: int) -> list[float]:
    out = []
    for i in range(k):
        for j in range(i + 1, k):
            try:
                value = as_float(matrix[i][j])
            except (IndexError, TypeError):
                value = None
            if value is not None:
                out.append(value)
    return out


def _discriminant_results(w: Writer, result) -> str:
    disc = result.discriminant or {}
    htmt = disc.get("htmt") or {}
    names = htmt.get("factors") or []
    labels = {s.name: _label(s) for s in result.scales}
    op, cut = _criteria_of(result, "discriminant", "htmt", ("<", 0.85))
    name = "HTMT2" if _is_htmt2(result) else "HTMT"
    sentences = []
    values = _upper(htmt.get("matrix") or [], len(names))
    if values:
        failing = []
        for v in result.verdicts or []:
            parsed = parse_criterion(v.criterion)
            if v.topic == "discriminant" and " / " in v.subject and parsed and parsed[0] == "htmt" and v.holds is False:
                a, b = v.subject.split(" / ", 1)
                failing.append(f"{labels.get(a, a)} and {labels.get(b, b)} ({fmt_vs_cutoff(v.value, cut, op)})")
        span = f"{name} ranged from {fmt_bounded(min(values), 2)} to {fmt_bounded(max(values), 2)}"
        if failing:
            sentences.append(f"{span} and was not {_op((op, cut))} for {_join(failing)}, so these scales may not "
                             "measure distinct constructs.")
        else:
            sentences.append(f"{span}, all {_op((op, cut))}.")
    corr = (result.cfa.factor_correlations if result.cfa is not None else {}) or {}
    factors = corr.get("factors") or []
    rs = [abs(x) for x in _upper(corr.get("matrix") or [], len(factors))]
    fl = [v for v in result.verdicts or [] if v.topic == "discriminant" and " / " not in v.subject]
    if rs:
        text = f"Factor correlations ranged from {fmt_bounded(min(rs), 2)} to {fmt_bounded(max(rs), 2)}"
        bad = [v for v in fl if v.holds is False]
        unknown = [v for v in fl if v.holds is None]
        if fl and not bad and not unknown:
            text += ", and the square root of every factor's AVE exceeded its correlations with the other factors."
        elif bad:
            details = []
            for v in bad:
                i = factors.index(v.subject) if v.subject in factors else None
                worst = (max(abs(as_float(corr["matrix"][i][j]) or 0.0) for j in range(len(factors)) if j != i)
                         if i is not None else None)
                details.append(f"{labels.get(v.subject, v.subject)} (√AVE = {fmt_bounded(v.value, 2)}, largest "
                               f"correlation {fmt_bounded(worst, 2)})")
            text += f"; the Fornell–Larcker criterion was not met for {_join(details)}."
        else:
            text += "; the Fornell–Larcker criterion could not be checked for every factor because AVE was missing."
        sentences.append(text)
    return " ".join(sentences)


# -- invariance ---------------------------------------------------------------------------

STEP_TEXT = {
    "configural": "configural (the same pattern of loadings in every group)",
    "thresholds": "threshold (equal thresholds)",
    "metric": "metric (equal loadings)",
    "loadings": "metric (equal loadings)",
    "scalar": "scalar (equal loadings and intercepts)",
    "intercepts": "scalar (equal loadings and intercepts)",
    "strict": "strict (also equal residual variances)",
    "residuals": "strict (also equal residual variances)",
}
STEP_NAME = {"thresholds": "threshold", "loadings": "metric", "intercepts": "scalar", "residuals": "strict"}
PARAM_TEXT = {"loading": ("loading", "loadings"), "intercept": ("intercept", "intercepts"),
              "residual": ("residual variance", "residual variances"), "threshold": ("threshold", "thresholds")}


def _structure(result) -> tuple[list[str], list[str]]:
    """Factors and items of the instrument, read from the configural model's loadings."""
    models = result.models or []
    if not models:
        return [], []
    first_group = (result.groups or [{}])[0].get("name", "")
    factors, items = [], []
    for e in models[0].estimates or []:
        if e.get("op") != "=~" or (e.get("group") or "") not in ("", first_group):
            continue
        if e["lhs"] not in factors:
            factors.append(e["lhs"])
        if e["rhs"] not in items:
            items.append(e["rhs"])
    return factors, items


def _factor_labels(result) -> dict:
    out = {}
    for s in getattr(result, "scales", None) or []:
        name = s.get("name") if isinstance(s, dict) else getattr(s, "name", None)
        label = s.get("label") if isinstance(s, dict) else getattr(s, "label", None)
        if name:
            out[name] = label or name
    return out


def delta_text(c: dict) -> str:
    """``Δχ²(16) = 16.38, p = .427, ΔCFI = .000, ΔRMSEA = −.001, ΔSRMR = .003``."""
    return (f"Δ{CHI2}({fmt_count(c.get('df_diff'))}) = {fmt_num(c.get('chisq_diff'), 2)}, "
            f"{it('p')} {fmt_p_eq(c.get('pvalue'))}, ΔCFI = {fmt_signed(c.get('delta_cfi'))}, "
            f"ΔRMSEA = {fmt_signed(c.get('delta_rmsea'))}, ΔSRMR = {fmt_signed(c.get('delta_srmr'))}")


def _step_word(step: str) -> str:
    return STEP_NAME.get(step, step)


def _freed_text(freed: list[dict], several_groups: bool) -> str:
    parts = []
    for f in freed:
        singular = PARAM_TEXT.get(f.get("parameter", ""), (f.get("parameter", "parameter"),))[0]
        where = f" in group {f['group']}" if several_groups and f.get("group") else ""
        parts.append(f"the {singular} of item {f.get('item')}{where} (score test {CHI2}({fmt_count(f.get('df'))}) = "
                     f"{fmt_num(f.get('statistic'), 2)}, {it('p')} {fmt_p_eq(f.get('pvalue'))})")
    return _join(parts)


def _criteria_sentence(w: Writer, result) -> str:
    name = (result.criteria or {}).get("name", "")
    if name == "chen2007":
        return (f"Following {w.n('chen2007')}, a step was rejected when CFI dropped by .010 or more together with "
                "RMSEA rising by .015 or more or SRMR rising by .030 or more (metric step) or .010 or more (scalar "
                "and strict steps).")
    if name == "cheung-rensvold2002":
        return f"Following {w.n('cheung2002')}, a step was rejected when CFI dropped by .010 or more."
    if name == "chisq":
        alpha = (result.criteria or {}).get("alpha", 0.05)
        return (f"A step was rejected when the {CHI2} difference test was significant "
                f"({it('p')} < {fmt_bounded(alpha, 2)}).")
    rules = (result.criteria or {}).get("rules") or {}
    rule = next(iter(rules.values()), "")
    return f"A step {rule}." if rule else ""


def _invariance_paragraphs(result, w: Writer) -> list[str]:
    est = result.estimation or {}
    settings = result.settings or {}
    screening = result.screening or {}
    estimator = est.get("estimator") or "ML"
    groups = list(result.groups or [])
    several = len(groups) > 2
    factors, items = _structure(result)
    labels = _factor_labels(result)
    total = sum(int(as_float(g.get("n")) or 0) for g in groups)
    rows = as_float(screening.get("rows_read"))
    out_of_scope = sum(int(as_float(screening.get(k)) or 0) for k in ("rows_without_group", "rows_not_in_selected_groups"))
    rows_in = int(rows) - out_of_scope if rows is not None else None
    family = estimator_family(estimator)

    # -- methods ------------------------------------------------------------------
    m: list[str] = []
    group_list = _join([f"{g['name']} ({it('n')} = {_n(g.get('n'))}{'; reference group' if i == 0 else ''})"
                        for i, g in enumerate(groups)])
    m.append(
        f"Measurement invariance of the {result.instrument} instrument ({_count_words(len(factors))} "
        f"factor{'s' if len(factors) != 1 else ''}, {_words(len(items))} items) across the groups of {result.group_column} "
        f"was tested with multi-group confirmatory factor analysis in {it('N')} = {_n(total)} respondents: {group_list}."
    )
    if out_of_scope:
        m.append(f"{_n(out_of_scope)} respondents without a group or in groups not compared were left out.")
    ident = ("factor variances fixed to 1 in the reference group" if settings.get("std_lv")
             else "the loading of each factor's first item fixed to 1")
    m.append(f"Every model was estimated with {estimator_phrase(w, estimator)}, with {ident}.")
    m.append(choice_sentence(w, est, settings))
    m.append(missing_sentence(w, est, rows=rows_in, complete=screening.get("rows_used"), used=total,
                              n_items=len(items), requested_missing=settings.get("missing")))
    steps = ["configural"] + list(((result.criteria or {}).get("rules") or {}).keys())
    ladder = _join([STEP_TEXT.get(s, s) for s in steps])
    wu = f", identified as proposed by {w.n('wu2016')}" if family == "ordinal" else ""
    m.append(f"We fitted {ladder} models {w.p('meredith1993')}{wu}.")
    m.append(fit_variant_sentence(w, estimator, result.models[0].fit if result.models else {},
                                  fit_cutoffs(result.verdicts, "configural")))
    if family == "robust":
        test = f"the scaled {CHI2} difference test {w.p('satorra2001')}"
        indices = f"the robust CFI and RMSEA {w.p('brosseau2012', 'brosseau2014')} and in SRMR"
    elif family == "ordinal":
        test = f"the scaled-shifted {CHI2} difference test"
        indices = "CFI, RMSEA, and SRMR"
    else:
        test = f"the {CHI2} difference test"
        indices = "CFI, RMSEA, and SRMR"
    m.append(f"Each model was compared with the last model accepted below it by {test} and by the changes in "
             f"{indices}.")
    m.append(_criteria_sentence(w, result))
    if settings.get("partial_search", True):
        alpha = as_float(settings.get("alpha"))
        alpha = 0.05 if alpha is None else alpha
        keep = int(as_float(settings.get("min_invariant_items")) or 2)
        m.append(
            f"When a step failed, we searched for partial invariance: the equality constraint with the largest score "
            f"(Lagrange multiplier) test was freed if it was significant after a Holm correction "
            f"({w.cite('holm1979')}; familywise α = {fmt_bounded(alpha, 2)}), and the model was refitted and judged "
            f"again, never leaving a factor with fewer than {_count_words(keep)} invariant items "
            f"{w.p('byrne1989')}."
        )
    else:
        m.append("No search for partial invariance was made.")
    if result.latent_means:
        m.append(
            f"Latent means were compared in the accepted {_model_phrase(result.latent_means_model)}, as differences "
            f"from the reference group with their standard errors and an effect size {it('d')}, the difference "
            "divided by the pooled latent standard deviation."
        )
    else:
        m.append("Latent means are compared only when scalar invariance holds, at least partially.")
    if result.dmacs:
        m.append(f"The practical size of item-level non-invariance was described by dMACS {w.p('nye2011')}, each "
                 "item's loading and intercept freed in turn against the invariant items.")
    m.append(software_sentence(w, result.coscale_version))

    # -- results ------------------------------------------------------------------
    r: list[str] = []
    if result.models:
        configural = result.models[0]
        cut = fit_cutoffs(result.verdicts, "configural")
        if not configural.converged:
            r.append("The configural model did not converge, so the comparisons below are not trustworthy.")
        r.append(fit_sentence(w, "the configural model", configural.fit, estimator, cut))
        clauses, _, _ = _fit_misses(configural.fit, estimator, cut)
        if clauses:
            r.append("The invariance tests below therefore rest on a baseline model that fits poorly.")
    r += _ladder_results(result, several)
    r.append(_latent_mean_results(result, labels, several))
    r.append(_dmacs_results(result))
    return [" ".join(x for x in m if x), " ".join(x for x in r if x)]


def _ladder_results(result, several: bool) -> list[str]:
    out = []
    steps = list(((result.criteria or {}).get("rules") or {}).keys())
    accepted = result.accepted or {}
    failed_below = None
    untested = []
    for step in steps:
        if step not in accepted:
            untested.append(step)
            continue
        comps = [c for c in result.comparisons or [] if c.get("step") == step]
        if not comps:
            continue
        full, last = comps[0], comps[-1]
        freed = [f for f in result.partial or [] if f.get("step") == step]
        word = _step_word(step)
        if accepted.get(step):
            if not freed:
                on_partial = "(partial)" in str(last.get("against", ""))
                where = f" on top of the partial {_step_word(_step_of(last.get('against')))} model" if on_partial else ""
                out.append(f"{_cap(word)} invariance held{where}, {delta_text(last)}.")
            else:
                out.append(
                    f"Full {word} invariance did not hold, {delta_text(full)}. {_cap(word)} invariance held partially "
                    f"after freeing {_freed_text(freed, several)}: against the {last.get('against')} model, "
                    f"{delta_text(last)}."
                )
        else:
            failed_below = word
            if freed:
                out.append(f"{_cap(word)} invariance did not hold, {delta_text(full)}, not even after freeing "
                           f"{_freed_text(freed, several)} ({delta_text(last)}).")
            elif (result.settings or {}).get("partial_search", True):
                out.append(f"{_cap(word)} invariance did not hold, {delta_text(full)}, and no equality constraint could "
                           "be freed (none was significant after the Holm correction, or freeing it would have left "
                           "a factor with too few invariant items).")
            else:
                out.append(f"{_cap(word)} invariance did not hold, {delta_text(full)}.")
    scalar_key = next((s for s in steps if _step_word(s) == "scalar"), "scalar")
    no_means = ""
    if scalar_key in accepted and not accepted.get(scalar_key) and not result.latent_means:
        no_means = ("latent means were not compared, because differences in the item intercepts would be confounded "
                    "with differences in the latent means")
    elif failed_below == "metric" and not result.latent_means:
        no_means = ("neither latent means nor the relations of the factors can be compared across the groups, "
                    "because the items do not measure the factors in the same units")
    if untested:
        names = [_step_word(s) for s in untested]
        verb = "was" if len(names) == 1 else "were"
        text = f"{_cap(_join(names))} invariance {verb} therefore not tested"
        out.append(f"{text}, and {no_means}." if no_means else f"{text}.")
    elif no_means:
        out.append(f"Because {failed_below} invariance did not hold, {no_means}.")
    strict_key = next((s for s in steps if _step_word(s) == "strict"), None)
    if strict_key and strict_key in accepted and not accepted.get(strict_key) and result.latent_means:
        out.append("Strict invariance is not needed to compare latent means.")
    return out


def _model_phrase(model_name) -> str:
    """``"scalar (partial)"`` -> ``partial scalar model``."""
    name = str(model_name or "scalar")
    return f"partial {_step_of(name)} model" if "(partial)" in name else f"{name} model"


def _step_of(model_name) -> str:
    return str(model_name or "").replace("(partial)", "").strip()


def _latent_mean_results(result, labels: dict, several: bool) -> str:
    rows = result.latent_means or []
    if not rows:
        return ""
    where = f"the {_model_phrase(result.latent_means_model)}"
    sig, nonsig = [], []
    for r in rows:
        name = labels.get(r.get("factor"), r.get("factor"))
        est = as_float(r.get("est"))
        p = as_float(r.get("pvalue"))
        stats = (f"difference = {_num2(est)}, {it('SE')} = {_num2(r.get('se'))}, {it('p')} {fmt_p_eq(p)}, "
                 f"{it('d')} = {_num2(r.get('d'))}")
        if p is not None and p < 0.05 and est is not None:
            direction = "higher" if est > 0 else "lower"
            who = f"{r.get('group')} scored {direction} than {r.get('reference')} on {name}"
            sig.append(f"{who} ({stats})")
        else:
            pair = f" ({r.get('group')} vs. {r.get('reference')})" if several else ""
            nonsig.append(f"{name}{pair} ({stats})")
    text = f"In {where}, "
    if sig:
        text += "; ".join(sig)
        if nonsig:
            text += f"; the differences on {_join(nonsig)} were not significant"
    else:
        ref = rows[0].get("reference")
        text += f"no latent mean differed significantly from {ref}: {_join(nonsig)}"
    return text + "."


def _dmacs_results(result) -> str:
    rows = [r for r in result.dmacs or [] if as_float(r.get("dmacs")) is not None]
    if not rows:
        return ""
    flagged = [r for r in rows if r.get("flagged")]
    others = [r for r in rows if not r.get("flagged")]
    if not flagged:
        top = max(others, key=lambda r: r["dmacs"])
        return f"dMACS was at most {_num2(top['dmacs'])} (item {top['item']})."
    freed = _join([f"{_num2(r['dmacs'])} for the freed item {r['item']}" for r in flagged])
    text = f"dMACS was {freed}"
    if others:
        top = max(others, key=lambda r: r["dmacs"])
        text += f", and at most {_num2(top['dmacs'])} for the other items (largest: {top['item']})"
    return text + "."
