"""``coscale report RESULTS.json``: every format for both kinds of result, and the error paths.

Also ``--format markdown|latex|html`` of ``validate`` and ``invariance``
themselves. Exit codes: 0 done, 2 bad input (one line on stderr naming the file).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.test_cli import ANSI, EXAMPLE, ROOT, assert_bad_input, run, words


def _html_available() -> bool:
    try:
        from coscale.report.html import render_html  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """JSON written by validate and by invariance, as a user would save it."""
    folder = tmp_path_factory.mktemp("results")
    paths = {"validate": folder / "validate.json", "invariance": folder / "invariance.json"}
    r = run("validate", EXAMPLE, "--format", "json", "--output", paths["validate"])
    assert r.exit_code == 0, r.output
    r = run("invariance", EXAMPLE, "--group", "role", "--format", "json", "--output", paths["invariance"])
    assert r.exit_code == 0, r.output
    return paths


@pytest.mark.parametrize("kind", ["validate", "invariance"])
def test_report_terminal(saved, kind):
    r = run("report", saved[kind])
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    assert not ANSI.search(r.stdout)
    if kind == "validate":
        assert "Confirmatory factor analysis" in r.stdout and "Verdicts" in r.stdout
    else:
        assert "The ladder" in r.stdout
        assert "Scalar invariance holds partially after freeing the intercept of ppo3" in words(r.stdout)


@pytest.mark.parametrize("kind", ["validate", "invariance"])
def test_report_markdown_matches_the_library(saved, kind):
    from coscale.cli import read_result
    from coscale.report.paper import markdown_tables

    r = run("report", saved[kind], "--format", "markdown")
    assert r.exit_code == 0, r.output
    assert r.stdout == markdown_tables(read_result(str(saved[kind])))
    assert "**Table 1**" in r.stdout and "## Methods and results" in r.stdout and "## References" in r.stdout
    if kind == "invariance":
        assert "Scalar invariance held partially after freeing the intercept of item ppo3" in r.stdout


@pytest.mark.parametrize("kind", ["validate", "invariance"])
def test_report_latex_to_file(saved, kind, tmp_path):
    target = tmp_path / "tables.tex"
    r = run("report", saved[kind], "--format", "latex", "--output", target)
    assert r.exit_code == 0, r.output
    assert r.stdout == "" and r.stderr == ""
    tex = target.read_text(encoding="utf-8")
    assert tex.startswith("% coscale ") and "\\usepackage{booktabs}" in tex and "\\begin{tabular}" in tex
    assert tex.endswith("\n")


@pytest.mark.parametrize("kind", ["validate", "invariance"])
def test_report_html(saved, kind):
    r = run("report", saved[kind], "--format", "html")
    if not _html_available():
        assert_bad_input(r, "--format html is not available")
        return
    assert r.exit_code == 0, r.output
    assert "<html" in r.stdout.lower()
    assert "Hu, L., &amp; Bentler, P. M. (1999)" in r.stdout  # the methods paragraph's references are passed on


def test_report_reads_stdin(saved):
    r = run("report", "-", "--format", "markdown", input=saved["validate"].read_text())
    assert r.exit_code == 0, r.output
    assert "Item Descriptive Statistics" in r.stdout


@pytest.mark.parametrize("fmt,marker", [("markdown", "**Table 1**"), ("latex", "\\toprule")])
def test_validate_and_invariance_write_paper_formats(fmt, marker, tmp_path):
    r = run("validate", EXAMPLE, "--format", fmt)
    assert r.exit_code == 0, r.output
    assert marker in r.stdout and "Cronbach" in r.stdout


def test_invariance_markdown_to_file(tmp_path):
    target = tmp_path / "inv.md"
    r = run("invariance", EXAMPLE, "--group", "role", "--no-partial", "--format", "markdown", "--output", target)
    assert r.exit_code == 0, r.output
    text = target.read_text(encoding="utf-8")
    assert "| Scalar" in text and "Rejected" in text
    assert "Strict invariance was therefore not tested" in text


# -- errors: exit 2, one line on stderr naming the file ----------------------------------------


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.json"
    assert_bad_input(run("report", missing), str(missing), "no such file")


def test_invalid_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "validate",\n', encoding="utf-8")
    assert_bad_input(run("report", bad, "--format", "markdown"), str(bad), "not valid JSON", "line 2")


@pytest.mark.parametrize("content", ['{"kind": "something else", "schema_version": 1}', "[1, 2, 3]", '"text"', "{}"])
def test_not_a_coscale_result(tmp_path, content):
    other = tmp_path / "other.json"
    other.write_text(content, encoding="utf-8")
    assert_bad_input(run("report", other), str(other), "not a coscale result")


@pytest.mark.parametrize("version", [0, 2, None])
def test_other_schema_version(saved, tmp_path, version):
    doc = json.loads(saved["invariance"].read_text())
    doc["schema_version"] = version
    doc["coscale_version"] = "9.0.0"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc), encoding="utf-8")
    line = assert_bad_input(run("report", old, "--format", "latex"), str(old), f"schema version {version}", "9.0.0")
    assert "re-run the analysis" in line


def test_damaged_result(saved, tmp_path):
    doc = json.loads(saved["validate"].read_text())
    doc["scales"][0]["reliability"] = {"alpha": 0.8}  # fields missing
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(doc), encoding="utf-8")
    assert_bad_input(run("report", damaged), str(damaged), "incomplete or damaged coscale validate result")


def test_binary_file_and_directory(tmp_path):
    binary = tmp_path / "data.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    assert_bad_input(run("report", binary), str(binary))
    assert_bad_input(run("report", tmp_path), str(tmp_path), "directory")


def test_unknown_format(saved):
    r = run("report", saved["validate"], "--format", "json")
    assert r.exit_code == 2
    assert r.stdout == ""


def test_output_folder_missing(saved, tmp_path):
    target = tmp_path / "no" / "such" / "out.md"
    assert_bad_input(run("report", saved["validate"], "--format", "markdown", "--output", target), "does not exist")


def test_cli_import_stays_light():
    code = ("import sys, coscale.cli; heavy = [m for m in ('pandas', 'scipy', 'numpy') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
