"""The HTML report: one self-contained page per result, every section and figure, every path.

Fast checks without a browser (the page in Chromium: tests/test_browser.py).
"""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import coscale
from coscale.errors import CoscaleError
from coscale.report.html import render_html
from coscale.report.tables import fmt_bounded
from coscale.scales import load_scales
from coscale.stats.distributions import answer_distributions
from coscale.survey import prepare

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "coproduction_survey.csv"
HOLZINGER = ROOT / "tests" / "data" / "holzinger1939.csv"
HOLZINGER_SCALES = ROOT / "tests" / "data" / "holzinger_scales.yaml"

VALIDATE_HEADINGS = [
    "Verdicts",
    "Data screening",
    "Answers per item",
    "Item statistics",
    "Reliability",
    "Measurement model",
    "Model fit",
    "Factor correlations and discriminant validity",
]
INVARIANCE_HEADINGS = [
    "Verdicts",
    "Data screening",
    "Answers per group",
    "The invariance ladder",
    "Partial invariance",
    "dMACS per item",
    "Latent mean differences",
]


# -- building results with their answer distributions ----------------------------------------


def with_distributions(result, frame, scales="coproduction", group=None):
    """The result with ``distributions`` set, as api.validate/api.invariance are to store it."""
    instrument = load_scales(scales)
    groups = [g["name"] for g in result.groups] if group else None
    prepared = prepare(frame, instrument, source="test", group=group, groups=groups)
    result.distributions = answer_distributions(prepared.data, instrument, group=prepared.group, groups=groups)
    return result


@pytest.fixture(scope="module")
def survey():
    return pd.read_csv(EXAMPLE)


@pytest.fixture(scope="module")
def validation(survey):
    return with_distributions(coscale.validate(survey, "coproduction", source="coproduction_survey.csv"), survey)


@pytest.fixture(scope="module")
def invariance_result(survey):
    result = coscale.invariance(survey, "coproduction", group="role", source="coproduction_survey.csv")
    return with_distributions(result, survey, group="role")


@pytest.fixture(scope="module")
def validate_html(validation):
    return render_html(validation)


@pytest.fixture(scope="module")
def invariance_html(invariance_result):
    return render_html(invariance_result)


# -- parsing the page ------------------------------------------------------------------------


class Page(HTMLParser):
    """Collects what the checks need: tags, URLs in attributes and CSS, headings, SVGs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.urls: list[str] = []  # values of src/href/... attributes
        self.css: list[str] = []  # <style> contents and style attributes
        self.h2: list[str] = []
        self.svgs: list[dict] = []  # {"attrs", "title", "desc"}
        self.figures = 0
        self.captions = 0
        self.tables = 0
        self.th_scopes: list[str | None] = []
        self.ids: list[str] = []
        self._stack: list[str] = []
        self._text: list[str] | None = None
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag not in ("meta", "br", "hr", "img", "input", "link", "source"):
            self._stack.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "poster", "data", "xlink:href") and value:
                self.urls.append(value)
            if name == "style" and value:
                self.css.append(value)
            if name == "id" and value:
                self.ids.append(value)
        if tag == "style":
            self._in_style = True
        if tag == "h2":
            self._text = []
        if tag == "svg":
            self.svgs.append({"attrs": a, "title": None, "desc": None})
        if tag in ("title", "desc") and "svg" in self._stack[:-1]:
            self._text = []
        if tag == "figure":
            self.figures += 1
        if tag == "caption":
            self.captions += 1
        if tag == "table":
            self.tables += 1
        if tag == "th":
            self.th_scopes.append(a.get("scope"))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        if tag == "h2" and self._text is not None:
            self.h2.append(re.sub(r"^\d+\s*", "", "".join(self._text).strip()))
            self._text = None
        if tag in ("title", "desc") and self._text is not None and self.svgs:
            self.svgs[-1][tag] = "".join(self._text).strip()
            self._text = None
        while self._stack:
            if self._stack.pop() == tag:
                break

    def handle_data(self, data):
        if self._in_style:
            self.css.append(data)
        if self._text is not None:
            self._text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def assert_self_contained(html: str, page: Page) -> None:
    assert "<script" not in html.lower()
    for url in page.urls:
        assert not re.match(r"\s*(https?:)?//", url, re.I), f"external URL in an attribute: {url}"
        assert url.startswith(("#", "data:")), f"unexpected reference: {url}"
    for css in page.css:
        for target in re.findall(r"url\(\s*['\"]?([^)'\"]*)", css):
            assert target.startswith(("#", "data:")), f"external url() in CSS: {target}"
        assert "@import" not in css
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*https?:""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*https?:", html, re.I)


def assert_figures_accessible(page: Page) -> None:
    assert page.figures == len(page.svgs), "one <svg> per <figure>"
    for svg in page.svgs:
        assert svg["attrs"].get("role") == "img"
        assert svg["title"] or svg["attrs"].get("aria-label")
        assert svg["attrs"].get("aria-label"), "every figure has an aria-label"
        assert svg["desc"], "every figure describes its numbers in <desc>"
    assert len(set(page.ids)) == len(page.ids), "ids are unique on the page"


def assert_tables_accessible(page: Page) -> None:
    assert page.tables == page.captions, "every table has a caption"
    assert page.th_scopes and all(s in ("col", "row", "colgroup") for s in page.th_scopes)


# -- validate --------------------------------------------------------------------------------


def test_validate_page_is_self_contained(validate_html):
    page = parse(validate_html)
    assert validate_html.startswith("<!DOCTYPE html>")
    assert page.tags[0] == "html"
    assert_self_contained(validate_html, page)
    assert 'http-equiv="Content-Security-Policy"' in validate_html
    assert "@media print" in validate_html and "size: A4" in validate_html


def test_validate_sections_in_order(validate_html):
    page = parse(validate_html)
    headings = [h for h in page.h2 if h != "Contents"]
    assert headings == VALIDATE_HEADINGS


def test_validate_figures(validation, validate_html):
    page = parse(validate_html)
    assert_figures_accessible(page)
    n_scales = len(validation.scales)
    # a stacked bar chart per scale, reliability forest, path diagram, fit chart, heatmap
    assert len(page.svgs) == n_scales + 4
    labels = [s["attrs"]["aria-label"] for s in page.svgs]
    assert sum(label.startswith("Answers to the items") for label in labels) == n_scales
    for want in ("Reliability", "Path diagram", "Fit indices", "Factor correlations (CFA) and HTMT"):
        assert any(want in label for label in labels), want
    assert_tables_accessible(page)


def test_validate_numbers_are_apa(validation, validate_html):
    fit = validation.cfa.fit
    cfi = fmt_bounded(fit["cfi"])
    assert cfi.startswith(".")
    assert f"CFI = {cfi}" in validate_html
    assert f"RMSEA = {fmt_bounded(fit['rmsea'])}" in validate_html
    assert f"CFI = 0{cfi}" not in validate_html
    assert "p &lt; .001" in validate_html
    alpha = validation.scales[0].reliability.alpha
    assert fmt_bounded(alpha) in validate_html
    # the verdicts name their criteria and the estimator's reason is given
    assert "Hu &amp; Bentler 1999" in validate_html
    assert "CFI ≥ .95" in validate_html
    assert validation.estimation["reason"].split(",")[0] in validate_html


def test_validate_failed_verdict_is_marked_in_words(validation, validate_html):
    failing = [v for v in validation.verdicts if v.holds is False]
    assert failing, "the example has a failing AVE"
    assert "not met" in validate_html
    assert "FAIL" in validate_html
    assert failing[0].subject in validate_html


def test_stacked_bars_read_the_distributions(validation, validate_html):
    item = validation.distributions["scales"][0]["items"][0]
    counts = item["counts"]
    shares = [f"{100 * c / sum(counts):.0f}%" for c in counts]
    labels = validation.distributions["scales"][0]["labels"]
    described = ", ".join(f"{lab} {s}" for lab, s in zip(labels, shares))
    assert f"{item['item']}: {described} (n = {sum(counts)})" in validate_html
    assert "Strongly disagree" in validate_html


def test_reverse_keyed_items_are_marked(validate_html):
    assert "ppo4 (R)" in validate_html


def test_without_distributions_the_chart_is_omitted_with_a_note(validation):
    bare = dataclasses.replace(validation)
    bare.distributions = None  # as a result from before the field, or without it
    html = render_html(bare)
    page = parse(html)
    assert "stacked bar chart of the answers is omitted" in html
    assert not any(s["attrs"]["aria-label"].startswith("Answers") for s in page.svgs)
    assert_figures_accessible(page)


def test_renders_without_a_cfa(validation):
    no_cfa = dataclasses.replace(validation, cfa=None, verdicts=[v for v in validation.verdicts if v.topic != "fit"])
    no_cfa.distributions = validation.distributions
    html = render_html(no_cfa)
    page = parse(html)
    assert_self_contained(html, page)
    assert_figures_accessible(page)
    assert [h for h in page.h2 if h != "Contents"] == VALIDATE_HEADINGS
    assert "no CFA was fitted" in html
    assert not any("Path diagram" in s["attrs"]["aria-label"] for s in page.svgs)


def test_too_few_rows(survey):
    """A run on a handful of rows fits no CFA (or reports an error before any result)."""
    try:
        result = coscale.validate(survey.head(12), "coproduction")
    except CoscaleError:
        pytest.skip("validate refuses this little data before producing a result")
    html = render_html(result)
    page = parse(html)
    assert_figures_accessible(page)
    assert [h for h in page.h2 if h != "Contents"] == VALIDATE_HEADINGS
    if result.cfa is None:
        assert "no CFA was fitted" in html


def test_from_json_document(validation):
    doc = json.loads(validation.to_json())
    doc["distributions"] = validation.distributions
    html = render_html(doc)
    page = parse(html)
    assert_figures_accessible(page)
    assert len(page.svgs) == len(validation.scales) + 4


def test_robust_estimator(survey):
    result = coscale.validate(survey, "coproduction", estimator="MLR", missing="listwise")
    html = render_html(result)
    page = parse(html)
    assert_figures_accessible(page)
    assert "CFI (robust)" in html
    assert f"robust CFI = {fmt_bounded(result.cfa.fit['cfi_robust'])}" in html
    assert ">Robust<" in html  # the robust row of the fit table


def test_ordinal_estimator(survey):
    result = coscale.validate(survey, "coproduction", estimator="WLSMV", missing="listwise")
    html = render_html(result)
    assert_figures_accessible(parse(html))
    assert "WLSMV" in html


def test_fiml_is_named(validation, validate_html):
    if validation.cfa.missing != "fiml":
        pytest.skip("the example is no longer fitted by FIML")
    assert "full-information ML (FIML)" in validate_html


def test_non_likert_items_get_a_note():
    frame = pd.read_csv(HOLZINGER)
    result = coscale.validate(frame, str(HOLZINGER_SCALES))
    result = with_distributions(result, frame, str(HOLZINGER_SCALES))
    html = render_html(result)
    page = parse(html)
    assert "not drawn as answer categories" in html
    assert_figures_accessible(page)


def test_methods_paragraph_goes_near_the_top_and_offline(validation):
    methods = (
        '<p>We used <a href="https://lavaan.org">lavaan</a>.<script>alert(1)</script></p>'
        '<p class="reference">Chen, F. F. (2007). <a href="https://doi.org/10.1080/10705510701301834">'
        "https://doi.org/10.1080/10705510701301834</a></p>"
    )
    html = render_html(validation, methods_html=methods)
    page = parse(html)
    assert_self_contained(html, page)
    headings = [h for h in page.h2 if h != "Contents"]
    assert headings[1] == "Methods and results, ready to paste"
    assert "lavaan (https://lavaan.org)" in html  # the link kept as plain text
    assert "https://doi.org/10.1080/10705510701301834" in html
    assert "alert(1)" not in html


def test_methods_module_paragraph(validation):
    methods = pytest.importorskip("coscale.report.methods")
    fragment = methods.methods_paragraph(validation).html_fragment()
    html = render_html(validation, methods_html=fragment)
    assert_self_contained(html, parse(html))
    assert "Methods and results, ready to paste" in html


# -- invariance ------------------------------------------------------------------------------


def test_invariance_page(invariance_result, invariance_html):
    page = parse(invariance_html)
    assert_self_contained(invariance_html, page)
    assert [h for h in page.h2 if h != "Contents"] == INVARIANCE_HEADINGS
    assert_figures_accessible(page)
    assert_tables_accessible(page)
    labels = [s["attrs"]["aria-label"] for s in page.svgs]
    n_scales = len(invariance_result.distributions["scales"])
    # stacked bars per scale (groups side by side), ladder, dMACS, latent means
    assert len(labels) == n_scales + 3
    assert any("invariance models" in label for label in labels)
    assert any("dMACS" in label for label in labels)
    assert any("Latent mean differences" in label for label in labels)


def test_invariance_content(invariance_result, invariance_html):
    html = invariance_html
    for g in invariance_result.groups:
        assert g["name"] in html
    assert "citizen, professional" in html or "citizen (n = 400" in html
    for v in invariance_result.verdicts:
        if v.topic == "invariance":
            assert v.subject.capitalize() + " invariance" in html
    for p in invariance_result.partial:
        assert p["item"] in html and p["lavaan_name"] in html
    flagged = [r["item"] for r in invariance_result.dmacs if r["flagged"]]
    assert all(f"{item}" in html for item in flagged)
    assert "holds partially" in html
    # the ladder's bands come from the criterion's rules
    assert "Chen 2007" in html
    # signed differences with a true minus sign
    assert re.search(r"−\.0\d\d", html)


def test_invariance_without_partial_or_latent_means(survey):
    result = coscale.invariance(survey, "coproduction", group="role", partial=False, dmacs=False)
    assert not result.latent_means
    html = render_html(result)
    page = parse(html)
    assert_self_contained(html, page)
    assert [h for h in page.h2 if h != "Contents"] == INVARIANCE_HEADINGS
    assert_figures_accessible(page)
    assert "switched off" in html
    assert "Latent means were not compared" in html
    assert "No dMACS" in html


def test_invariance_from_json(invariance_result):
    doc = json.loads(invariance_result.to_json())
    doc["distributions"] = invariance_result.distributions
    html = render_html(doc)
    assert_figures_accessible(parse(html))


# -- answer_distributions --------------------------------------------------------------------


def test_answer_distributions_counts_answers_as_given(survey):
    instrument = load_scales("coproduction")
    prepared = prepare(survey, instrument, source="test")
    dist = answer_distributions(prepared.data, instrument)
    json.dumps(dist)
    assert dist["groups"] == [] and dist["group_column"] is None
    assert [s["name"] for s in dist["scales"]] == [s.name for s in instrument.scales]
    scale = next(s for s in dist["scales"] if s["name"] == "professional_openness")
    assert scale["likert"] and scale["categories"] == [1, 2, 3, 4, 5]
    assert scale["labels"] == list(instrument.scale("professional_openness").response.labels)
    for item in scale["items"]:
        raw = pd.to_numeric(survey[item["item"]], errors="coerce")
        raw = raw.where(raw.between(1, 5))
        assert item["counts"] == [int((raw == c).sum()) for c in range(1, 6)], item["item"]
        assert item["n"] == sum(item["counts"])
        assert item["n"] + item["missing"] == len(survey)
    assert next(i for i in scale["items"] if i["item"] == "ppo4")["reverse"] is True


def test_answer_distributions_per_group(survey):
    instrument = load_scales("coproduction")
    prepared = prepare(survey, instrument, source="test", group="role")
    dist = answer_distributions(prepared, instrument)
    assert dist["groups"] == ["citizen", "professional"] or set(dist["groups"]) == {"citizen", "professional"}
    item = dist["scales"][0]["items"][0]
    per_group = [item["groups"][g]["counts"] for g in dist["groups"]]
    assert [sum(c) for c in zip(*per_group)] == item["counts"]
    ordered = answer_distributions(prepared.data, instrument, group=prepared.group, groups=["professional", "citizen"])
    assert ordered["groups"] == ["professional", "citizen"]


def test_answer_distributions_not_likert():
    frame = pd.read_csv(HOLZINGER)
    instrument = load_scales(str(HOLZINGER_SCALES))
    prepared = prepare(frame, instrument, source="test")
    dist = answer_distributions(prepared.data, instrument)
    assert not any(s["likert"] for s in dist["scales"])
    assert all(it["counts"] == [] and it["n"] > 0 for s in dist["scales"] for it in s["items"])
