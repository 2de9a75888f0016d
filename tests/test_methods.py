"""The methods-and-results paragraph: snapshots for several analysis paths, and targeted checks.

Snapshots and the deterministic inputs come from ``tests/test_paper.py``;
regenerate with ``COSCALE_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_paper.py tests/test_methods.py``.
Paths not reachable from the bundled data with this version (MLM, WLSMV
with ordinal reliability, listwise MLR) are checked on results derived from a
real one by changing the estimation fields.
"""

from __future__ import annotations

import copy
import json
import re

import pytest

from coscale.report.methods import Writer, methods_paragraph, render
from coscale.report.tables import fmt_vs_cutoff
from tests.test_paper import CASES, assert_snapshot, case


@pytest.mark.parametrize("name", list(CASES))
def test_methods_snapshot(name):
    m = methods_paragraph(case(name))
    text = m.text + "\n\nReferences\n\n" + "\n".join(m.references) + "\n"
    assert_snapshot(f"{name}_methods.txt", text)


def test_methods_html_snapshot():
    assert_snapshot("invariance_partial_methods.html", methods_paragraph(case("invariance_partial")).html_fragment() + "\n")


# -- citations and references ---------------------------------------------------------------

_CITE = re.compile(
    r"(?P<name>coscale contributors|[A-Z][A-Za-zÀ-ÿ\-]+)"
    r"(?: et al\.| (?:&|and) (?:du Toit|[A-Z][A-Za-zÀ-ÿ\-]+))?"
    r"(?:, | \()(?P<year>\d{4})\b"
)


def _first_author_year(entry: str) -> tuple[str, str]:
    name = "coscale contributors" if entry.startswith("coscale contributors") else entry.split(",", 1)[0]
    year = re.search(r"\((\d{4})\)", entry).group(1)
    return name, year


def _citations(text: str) -> set[tuple[str, str]]:
    return {(m.group("name"), m.group("year")) for m in _CITE.finditer(text)}


@pytest.mark.parametrize("name", list(CASES))
def test_every_cited_work_is_in_the_references_and_back(name):
    m = methods_paragraph(case(name))
    refs = {_first_author_year(r) for r in m.references}
    cited = _citations(m.text)
    assert cited, m.text
    assert cited <= refs, cited - refs
    assert refs <= cited, refs - cited  # nothing listed that the text does not cite
    assert m.references == sorted(m.references, key=lambda r: r.replace("É", "E").casefold())
    assert len(m.references) == len(m.cited)


def test_references_are_complete_apa_entries():
    m = methods_paragraph(case("invariance_partial"))
    by_author = {r.split(" (")[0]: r for r in m.references}
    assert by_author["Chen, F. F."] == (
        "Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance. Structural "
        "Equation Modeling: A Multidisciplinary Journal, 14(3), 464–504. https://doi.org/10.1080/10705510701301834"
    )
    assert "Nye, C. D., & Drasgow, F. (2011)" in " ".join(m.references)
    md = methods_paragraph(case("invariance_partial")).references_markdown
    assert any("*Structural Equation Modeling: A Multidisciplinary Journal, 14*(3)" in r for r in md)


def test_writer_citation_forms():
    w = Writer("1.2.3")
    assert w.p("hu1999") == "(Hu & Bentler, 1999)"
    assert w.n("hu1999") == "Hu and Bentler (1999)"
    assert w.p("henseler2015", "arbuckle1996") == "(Arbuckle, 1996; Henseler et al., 2015)"
    assert w.cite("satorra2001", "satorra1994") == "Satorra & Bentler, 1994, 2001"
    assert w.cite("coscale") == "coscale contributors, 2026"
    assert "(Version 1.2.3) [Computer software]" in render(w.references()[1], "text")


# -- the paths ---------------------------------------------------------------------------------


def test_ml_fiml_validate():
    text = methods_paragraph(case("validate_ml_fiml")).text
    assert "estimated with maximum likelihood (ML)" in text
    assert "full-information maximum likelihood (FIML; Arbuckle, 1996; Enders, 2010)" in text
    assert "all available answers of all N = 700 respondents" in text
    assert "Of all answers, 171 (1.2%) were missing, and 547 of the 700 respondents answered every item." in text
    assert "Normal-theory ML was used because the items, with five answer categories" in text
    assert "χ²(164) = 363.80, p < .001, CFI = .96, TLI = .96, RMSEA = .04, 90% CI [.04, .05], SRMR = .04" in text
    assert "The model fit the data well" in text
    assert "AVE fell below .50 for Perceived citizen competence (.46)" in text
    assert "α = .84, 95% CI [.82, .85]" in text
    assert "(HTMT2; Roemer et al., 2021)" in text and "Fornell–Larcker" in text


def test_mlr_failed_fit_names_the_cutoffs_not_met():
    text = methods_paragraph(case("validate_mlr_hs")).text
    assert ("robust maximum likelihood with Huber–White standard errors and a Yuan–Bentler scaled test statistic "
            "(MLR; Yuan & Bentler, 2000)") in text
    assert "MLR was specified by the analyst" in text
    assert "the Yuan–Bentler scaled χ² and the robust CFI, TLI, and RMSEA" in text
    assert "χ²(24) = 87.13, p < .001, CFI = .93, TLI = .89, RMSEA = .09, 90% CI [.07, .11], SRMR = .07" in text
    assert "did not fit the data well" in text
    assert "CFI (.93) and TLI (.89) fell below .95; RMSEA (.09) exceeded .06, while SRMR met its cut-off" in text
    assert "All 301 respondents answered every item." in text
    # .696 fails ">= .70": never printed as ".70"
    assert "ω fell below .70 for visual (.63) and speed (.696)" in text


def test_no_leading_zero_for_bounded_values():
    for name in CASES:
        text = methods_paragraph(case(name)).text
        for label in ("CFI", "TLI", "RMSEA", "SRMR", "α", "ω", "CR", "AVE", "p", "ΔCFI", "ΔRMSEA", "ΔSRMR"):
            assert not re.search(rf"(?<![\w]){label} [=<] −?0\.", text), (name, label)
        assert not re.search(r"CI \[0\.", text), name
        assert re.search(r"CFI = \.\d\d\b", text), name  # two decimals in prose


def test_partial_invariance_sentence_names_the_freed_item():
    text = methods_paragraph(case("invariance_partial")).text
    assert ("Scalar invariance held partially after freeing the intercept of item ppo3 "
            "(score test χ²(1) = 208.21, p < .001)") in text
    assert "Full scalar invariance did not hold, Δχ²(16) = 256.46, p < .001, ΔCFI = −.045, ΔRMSEA = .020" in text
    assert "Metric invariance held, Δχ²(16) = 16.38, p = .427" in text
    assert "Strict invariance held on top of the partial scalar model" in text
    assert "Following Chen (2007)" in text and "(Holm, 1979; familywise α = .05)" in text
    assert "(Byrne et al., 1989)" in text
    assert ("professional scored higher than citizen on professional_openness "
            "(difference = 0.32, SE = 0.06, p < .001, d = 0.45)") in text
    assert "dMACS was 1.11 for the freed item ppo3, and at most 0.17 for the other items (largest: mcc3)" in text
    assert "citizen (n = 400; reference group) and professional (n = 300)" in text


def test_failed_scalar_without_search():
    text = methods_paragraph(case("invariance_failed_scalar")).text
    assert "No search for partial invariance was made." in text
    assert "Scalar invariance did not hold, Δχ²(16) = 256.46, p < .001" in text
    assert ("Strict invariance was therefore not tested, and latent means were not compared, because differences "
            "in the item intercepts would be confounded with differences in the latent means.") in text
    assert "dMACS" not in text and "Byrne" not in text


def _derived(name: str, **estimation):
    result = copy.deepcopy(case(name))
    result.estimation.update(estimation)
    if getattr(result, "cfa", None) is not None and "estimator" in estimation:
        result.cfa.estimator = estimation["estimator"]
    return result


def test_wlsmv_path_with_ordinal_reliability():
    result = _derived("validate_mlr_hs", estimator="WLSMV", categories=4,
                      reason="The items have at most 4 answer categories, so WLSMV.")
    result.settings["estimator"] = "auto"
    for s in result.scales:
        s.reliability.alpha_ordinal = 0.71
        s.reliability.omega_ordinal = 0.72
    m = methods_paragraph(result)
    text = m.text
    assert "polychoric correlations" in text and "scaled-shifted" in text
    assert "(WLSMV; Muthén, 1984; Muthén et al., 1997)" in text
    assert "they were treated as ordinal (Rhemtulla et al., 2012)" in text
    assert "ordinal α (Zumbo et al., 2007) and categorical ω (Green & Yang, 2009)" in text
    assert "ordinal α = .71, categorical ω = .72" in text
    refs = " ".join(m.references)
    assert "Muthén, B. O., du Toit, S. H. C., & Spisic, D. (1997)" in refs and "Zumbo, B. D." in refs
    assert _citations(text) <= {_first_author_year(r) for r in m.references}


def test_mlm_and_listwise_paths():
    result = _derived("validate_ml_fiml", estimator="MLM", missing="listwise",
                      reason="MLM was requested. 171 answers are missing; MLM with full-information ML is not "
                             "available in this version, so respondents with a missing answer are left out (listwise).")
    result.settings["estimator"] = "MLM"
    result.cfa.n = 547
    text = methods_paragraph(result).text
    assert "Satorra–Bentler scaled test statistic (MLM; Satorra & Bentler, 1994)" in text
    assert ("Respondents with a missing answer were excluded (listwise deletion, because this version of coscale "
            "does not combine MLM with FIML), leaving N = 547 (78.1%).") in text


def test_auto_robust_choice_falls_back_to_ml_with_fiml():
    result = _derived("validate_ml_fiml", max_abs_kurtosis=1.4)
    text = methods_paragraph(result).text
    assert "markedly non-normal" in text and "ML with FIML was used instead" in text
    assert "(Rhemtulla et al., 2012)" in text


def test_renderings():
    m = methods_paragraph(case("validate_mlr_hs"))
    assert "*p* < .001" in m.markdown and "χ²(24)" in m.markdown and "*N* = 301" in m.markdown
    assert "<i>p</i> &lt; .001" in m.html and "χ<sup>2</sup>(24)" in m.html and m.html.startswith("<p>")
    assert "\\textit{p} $<$ .001" in m.latex and "$\\chi^2$(24)" in m.latex and "$\\alpha$" in m.latex
    assert "χ" not in m.latex and "α" not in m.latex
    assert "\ue000" not in m.text + m.markdown + m.html + m.latex
    assert m.text.count("\n\n") == 1  # methods, then results
    assert any("\\url{https://doi.org/" in r for r in m.references_latex)


def test_accepts_json_dict_and_rejects_other_schema():
    from coscale.errors import InputError

    doc = json.loads(case("validate_ml_fiml").to_json())
    assert methods_paragraph(doc).text == methods_paragraph(case("validate_ml_fiml")).text
    doc["schema_version"] = 99
    with pytest.raises(InputError, match="schema version 99"):
        methods_paragraph(doc)


def test_value_at_a_cutoff_is_never_rounded_across_it():
    assert fmt_vs_cutoff(0.9496, 0.95, ">=") == ".9496"
    assert fmt_vs_cutoff(0.9504, 0.95, ">=") == ".95"
    assert fmt_vs_cutoff(0.0604, 0.06, "<=") == ".0604"
    assert fmt_vs_cutoff(0.8496, 0.85, "<") == ".8496"
    assert fmt_vs_cutoff(0.93, 0.95, ">=") == ".93"


def test_requested_estimator_replaced_by_ml_for_fiml():
    result = _derived("validate_ml_fiml", reason="MLR was requested. Full-information ML (FIML) uses every answer given (171 missing).")
    result.settings["estimator"] = "MLR"
    result.settings["missing"] = "fiml"
    text = methods_paragraph(result).text
    assert "MLR was requested, but because this version of coscale combines full-information ML only with" in text
    assert "MLR was specified by the analyst" not in text


def test_incomplete_results_still_give_a_paragraph():
    """No CFA (too few answers), metric invariance failing: the paragraph says so instead of failing."""
    from coscale.report.paper import latex_tables, markdown_tables

    result = copy.deepcopy(case("validate_ml_fiml"))
    result.cfa = None
    result.discriminant.pop("fornell_larcker", None)
    result.verdicts = [v for v in result.verdicts if v.topic != "fit"]
    text = methods_paragraph(result).text
    assert "No CFA could be fitted" in text
    assert "Fit of the Measurement Model" not in markdown_tables(result)
    assert "\\begin{table}" in latex_tables(result)

    inv = copy.deepcopy(case("invariance_failed_scalar"))
    inv.accepted = {"configural": "configural", "metric": ""}
    inv.comparisons = inv.comparisons[:1]
    inv.comparisons[0]["holds"] = False
    inv.models = inv.models[:2]
    text = methods_paragraph(inv).text
    assert "Metric invariance did not hold" in text
    assert "Scalar and strict invariance were therefore not tested, and neither latent means" in text
    assert "Rejected" in markdown_tables(inv)
