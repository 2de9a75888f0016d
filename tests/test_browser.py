"""The HTML reports in a real browser: headless Chromium (Debian's package) driven by Playwright.

Both reports of the bundled example are opened from a file with every network
request blocked and counted: the page must make none, log no error, show every
section and figure, and print to A4 on more than one page. Screenshots are
written to the temporary directory (``coscale_validate_report.png`` and
``coscale_invariance_report.png``) for a person to look at.

Runs wherever Chromium is installed (CI installs it, see ``.ci/run``); skipped,
with the reason, only when no Chromium can be found. Playwright downloads no
browser here: it starts the system's Chromium through ``executable_path``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest

import coscale
from coscale.report.html import INVARIANCE_SECTIONS, render_html
from coscale.scales import load_scales
from coscale.stats.distributions import answer_distributions
from coscale.survey import prepare

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "coproduction_survey.csv"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

VALIDATE_IDS = ["verdicts", "screening", "answers", "items", "reliability", "model", "fit", "discriminant"]
INVARIANCE_IDS = [k for k in INVARIANCE_SECTIONS if k != "methods"]


def _chromium() -> str | None:
    for candidate in (os.environ.get("COSCALE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not found (/usr/bin/chromium or chromium on PATH); install it with "
           "`apt-get install -y chromium` (CI does, in .ci/run)",
)


def _with_distributions(result, frame, group=None):
    instrument = load_scales("coproduction")
    groups = [g["name"] for g in result.groups] if group else None
    prepared = prepare(frame, instrument, source="test", group=group, groups=groups)
    result.distributions = answer_distributions(prepared.data, instrument, group=prepared.group, groups=groups)
    return result


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Both reports of the bundled example, written to files; the methods paragraph included."""
    from coscale.report.methods import methods_paragraph

    frame = pd.read_csv(EXAMPLE)
    out = tmp_path_factory.mktemp("reports")
    validation = _with_distributions(coscale.validate(frame, "coproduction", source=EXAMPLE.name), frame)
    invariance = _with_distributions(
        coscale.invariance(frame, "coproduction", group="role", source=EXAMPLE.name), frame, group="role")
    files = {}
    for name, result in (("validate", validation), ("invariance", invariance)):
        path = out / f"{name}.html"
        path.write_text(render_html(result, methods_html=methods_paragraph(result).html_fragment()),
                        encoding="utf-8")
        files[name] = (path, result)
    return files


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Visit:
    """One page opened from its file with the network blocked; what it asked for and what it said."""

    def __init__(self, browser, path: Path, width: int = 1000):
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": width, "height": 1200}, offline=True,
                                           java_script_enabled=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.route("**/*", self._route)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url, wait_until="load")

    def _itself(self, url: str) -> bool:
        return unquote(url) == unquote(self.url) or url.startswith("data:")

    def _route(self, route):
        url = route.request.url
        if self._itself(url):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def external(self) -> list[str]:
        return [u for u in self.requests + self.blocked if not self._itself(u)]

    def close(self):
        self.context.close()


@pytest.mark.parametrize("kind", ["validate", "invariance"])
def test_report_in_chromium(browser, reports, kind):
    path, result = reports[kind]
    visit = Visit(browser, path)
    page = visit.page
    try:
        assert visit.external() == [], f"the page asked the network for {visit.external()}"
        assert visit.blocked == []
        assert visit.errors == []

        # every section is there and visible, in order
        ids = VALIDATE_IDS if kind == "validate" else INVARIANCE_IDS
        ids = ids[:1] + ["methods"] + ids[1:]
        found = page.eval_on_selector_all("main > section", "els => els.map(e => e.id)")
        assert found == ids
        for sid in ids:
            heading = page.locator(f"section#{sid} > h2")
            assert heading.is_visible(), sid
            box = page.locator(f"section#{sid}").bounding_box()
            assert box and box["width"] > 0 and box["height"] > 0, sid

        # every figure: an SVG with a size, a text alternative and a caption
        figures = page.locator("figure")
        n_scales = len(result.distributions["scales"])
        expected = n_scales + (4 if kind == "validate" else 3)
        assert figures.count() == expected
        for i in range(figures.count()):
            svg = figures.nth(i).locator("svg")
            assert svg.count() == 1
            box = svg.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 50, f"figure {i + 1}"
            assert svg.get_attribute("role") == "img"
            assert svg.get_attribute("aria-label")
            assert figures.nth(i).locator("figcaption").inner_text().startswith(f"Figure {i + 1}.")
            # nothing drawn outside the figure's own box (labels cut off at the edge)
            overflow = svg.evaluate(
                """svg => { const b = svg.viewBox.baseVal; let worst = 0;
                   for (const t of svg.querySelectorAll('text')) { const r = t.getBBox();
                     worst = Math.max(worst, b.x - r.x, r.x + r.width - (b.x + b.width),
                                      b.y - r.y, r.y + r.height - (b.y + b.height)); }
                   return worst; }""")
            assert overflow < 2, f"figure {i + 1}: text runs {overflow:.0f} px outside the drawing"
        # no page-wide horizontal scrolling on a laptop screen
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

        shot = Path(tempfile.gettempdir()) / f"coscale_{kind}_report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000

        # print: A4, several pages, every figure fits the page width
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4", print_background=True)
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
        assert pages > 1, "the report prints on more than one A4 page"
        (Path(tempfile.gettempdir()) / f"coscale_{kind}_report.pdf").write_bytes(pdf)
        assert visit.external() == []
        assert visit.errors == []
    finally:
        visit.close()


def test_narrow_screen(browser, reports):
    """On a phone-width screen the figures shrink to the page instead of overflowing it."""
    path, _ = reports["validate"]
    visit = Visit(browser, path, width=420)
    try:
        widths = visit.page.eval_on_selector_all("figure svg", "els => els.map(e => e.getBoundingClientRect().right)")
        assert widths and max(widths) <= 420 + 1
        assert visit.errors == []
    finally:
        visit.close()
