"""Paper tables (Markdown, LaTeX) for several analysis paths, compared with stored snapshots.

The snapshots live in ``tests/snapshots/``. After an intended change of the
output, regenerate them and review the diff before committing::

    COSCALE_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_paper.py tests/test_methods.py

The inputs are deterministic: each case runs the analysis on a bundled data
file through the Python API (as the command line does), takes the result
through its JSON form (as ``coscale report`` reads it), and pins the file name
and the coscale version, so that a version bump or another checkout folder
does not change the snapshots. Each analysis runs once per test session
(:func:`case`), shared with ``tests/test_methods.py``.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
EXAMPLE = ROOT / "examples" / "coproduction_survey.csv"
HS = ROOT / "tests" / "data" / "holzinger1939.csv"
HS_SCALES = ROOT / "tests" / "data" / "holzinger_scales.yaml"
UPDATE = os.environ.get("COSCALE_UPDATE_SNAPSHOTS") == "1"
PINNED_VERSION = "0.0.0"

#: case name -> (what it covers)
CASES = {
    "validate_ml_fiml": "validate, example survey, auto: ML with FIML (171 missing answers), good fit",
    "validate_mlr_hs": "validate, Holzinger-Swineford, --estimator MLR, no missing answers, failed fit and reliability",
    "invariance_partial": "invariance by role, ML/FIML, scalar holds partially after freeing ppo3's intercept",
    "invariance_failed_scalar": "invariance by role, --no-partial: scalar fails, strict not tested, no latent means",
}


@functools.lru_cache(maxsize=None)
def case(name: str):
    """The result of one case, after a round trip through its JSON form."""
    import pandas as pd

    import coscale
    from coscale.results import InvarianceResult, ValidationResult

    if name == "validate_ml_fiml":
        result = coscale.validate(pd.read_csv(EXAMPLE), "coproduction", source="examples/coproduction_survey.csv")
    elif name == "validate_mlr_hs":
        result = coscale.validate(pd.read_csv(HS), str(HS_SCALES), source="tests/data/holzinger1939.csv",
                                  estimator="MLR")
    elif name == "invariance_partial":
        result = coscale.invariance(pd.read_csv(EXAMPLE), "coproduction", group="role",
                                    source="examples/coproduction_survey.csv")
    elif name == "invariance_failed_scalar":
        result = coscale.invariance(pd.read_csv(EXAMPLE), "coproduction", group="role", partial=False,
                                    source="examples/coproduction_survey.csv")
    else:  # pragma: no cover
        raise KeyError(name)
    doc = json.loads(result.to_json())
    doc["coscale_version"] = PINNED_VERSION
    doc["settings"]["scales"] = Path(str(doc["settings"]["scales"])).name
    cls = InvarianceResult if doc["kind"] == "invariance" else ValidationResult
    return cls.from_dict(doc)


def assert_snapshot(name: str, text: str) -> None:
    """``text`` equals ``tests/snapshots/<name>`` exactly (``COSCALE_UPDATE_SNAPSHOTS=1`` rewrites it)."""
    path = SNAPSHOTS / name
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path}; create it with COSCALE_UPDATE_SNAPSHOTS=1 pytest {Path(__file__).name}")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            f"snapshots/{name}", "now", n=1))
        lines = diff.splitlines()
        shown = "\n".join(lines[:80]) + ("\n..." if len(lines) > 80 else "")
        pytest.fail(f"{name} differs from its snapshot (COSCALE_UPDATE_SNAPSHOTS=1 to accept):\n{shown}")


@pytest.fixture(scope="module", params=list(CASES))
def named(request):
    return request.param, case(request.param)


def test_markdown_snapshot(named):
    from coscale.report.paper import markdown_tables

    name, result = named
    assert_snapshot(f"{name}.md", markdown_tables(result))


def test_latex_snapshot(named):
    from coscale.report.paper import latex_tables

    name, result = named
    assert_snapshot(f"{name}.tex", latex_tables(result))


def test_output_is_deterministic():
    """The same result renders to the same text, and a JSON dict renders as its result object does."""
    from coscale.report.paper import latex_tables, markdown_tables

    result = case("invariance_partial")
    assert markdown_tables(result) == markdown_tables(result)
    assert latex_tables(result) == latex_tables(json.loads(result.to_json()))


# -- targeted checks ---------------------------------------------------------------------


def _table_rows(markdown: str, title: str) -> list[list[str]]:
    """The body rows of the Markdown table whose title is ``title``, as lists of cell texts."""
    block = markdown.split(f"*{title}*", 1)[1].split("*Note.*", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("|")]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows[2:]]


def test_validate_tables_apa_numbers():
    from coscale.report.paper import markdown_tables

    md = markdown_tables(case("validate_ml_fiml"))
    fit = _table_rows(md, "Fit of the Measurement Model")[0]
    assert fit[:4] == ["4-factor CFA", "363.80", "164", "< .001"]
    assert fit[4] == ".963" and fit[6] == ".042" and fit[7] == "[.036, .047]"
    for cell in fit[4:]:
        assert not re.search(r"(?<![\d.])0\.", cell), cell  # no leading zero for bounded values
    reliability = _table_rows(md, "Reliability and Convergent Validity")
    assert reliability[3][0] == "Perceived citizen competence" and reliability[3][-1] == ".46"
    loadings = _table_rows(md, "Factor Loadings of the Confirmatory Factor Analysis")
    assert loadings[0][0] == "*Self-centred co-production motives*"
    assert loadings[1][:3] == ["msc1", "1.00", "—"]  # the marker: fixed, no SE
    assert "ppo4 (R)" in md  # reverse-keyed items marked
    items = _table_rows(md, "Item Descriptive Statistics")
    assert any(r[0] == "ppo1" and r[4].startswith(("−", "0")) for r in items)  # skewness keeps its zero and minus
    assert "(Hu & Bentler, 1999)" in md and "## References" in md


def test_robust_fit_table_reports_scaled_and_robust_values():
    from coscale.report.paper import markdown_tables

    md = markdown_tables(case("validate_mlr_hs"))
    fit = _table_rows(md, "Fit of the Measurement Model")[0]
    assert fit[1] == "87.13"  # the Yuan-Bentler scaled chi-square, not the ML one (85.31)
    assert fit[4] == ".930" and fit[6] == ".092"  # robust CFI and RMSEA
    assert "Yuan–Bentler scaled statistic" in md
    reliability = _table_rows(md, "Reliability and Convergent Validity")
    assert reliability[2][0] == "speed" and reliability[2][4] == ".696"  # not ".70": it fails >= .70


def test_invariance_tables():
    from coscale.report.paper import markdown_tables

    md = markdown_tables(case("invariance_partial"))
    ladder = _table_rows(md, "Fit and Comparison of the Measurement Invariance Models")
    assert [r[0] for r in ladder] == ["Configural", "Metric", "Scalar", "Scalar (partial)", "Strict (partial)"]
    assert [r[-1] for r in ladder] == ["Baseline", "Accepted", "Rejected", "Accepted", "Accepted"]
    assert ladder[2][8] == "< .001" and ladder[2][9] == "−.045"
    freed = _table_rows(md, "Parameters Freed for Partial Invariance")
    assert freed == [["1", "scalar", "ppo3", "intercept", "professional\\_openness", "208.21", "1", "< .001", ".0025"]]
    means = _table_rows(md, "Latent Mean Differences")
    assert means[2][0] == "professional\\_openness" and means[2][-1] == "0.45"
    assert "Partial = with the parameters listed in Table 2 freed." in md

    failed = markdown_tables(case("invariance_failed_scalar"))
    ladder = _table_rows(failed, "Fit and Comparison of the Measurement Invariance Models")
    assert [r[-1] for r in ladder] == ["Baseline", "Accepted", "Rejected"]
    assert "Latent Mean Differences" not in failed and "Parameters Freed" not in failed


def test_latex_is_ascii_and_uses_siunitx():
    from coscale.report.paper import latex_tables

    for name in CASES:
        tex = latex_tables(case(name))
        assert tex.startswith("% coscale 0.0.0"), name
        assert "\\usepackage{booktabs}" in tex.splitlines()[1] and "siunitx" in tex.splitlines()[1]
        odd = {ch for ch in tex if ord(ch) > 127} - set("éÉ")
        assert not odd, (name, odd)  # Greek letters, minus signs and dashes are LaTeX commands
        assert "S[table-format=" in tex and "print-zero-integer=false" in tex
        assert "\\toprule" in tex and "\\bottomrule" in tex
        assert "$$" not in tex
        assert tex.count("\\begin{table}") == tex.count("\\end{table}")
    assert "$\\Delta\\chi^2$" in latex_tables(case("invariance_partial"))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
@pytest.mark.parametrize("name", list(CASES))
def test_latex_compiles(name, tmp_path):
    """The fragment compiles in a minimal document with booktabs, siunitx and url (when TeX is installed)."""
    from coscale.report.paper import latex_tables

    (tmp_path / "tables.tex").write_text(latex_tables(case(name)), encoding="utf-8")
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage[margin=2.5cm]{geometry}\n\\usepackage{booktabs}\n"
        "\\usepackage{siunitx}\n\\usepackage{url}\n\\begin{document}\n\\input{tables.tex}\n\\end{document}\n",
        encoding="utf-8",
    )
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert "siunitx error" not in log.lower()
