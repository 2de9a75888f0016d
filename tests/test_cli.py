"""Command-line tests: commands, output formats, exit codes and error messages.

Everything runs in-process through typer's CliRunner (stdout and stderr are
captured separately). Bad inputs are built in ``tmp_path`` from the bundled
example survey. Exit codes: 0 done, 1 a --fail-on criterion not met, 2 bad
input, 3 could not estimate.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coscale import __version__
from coscale.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "coproduction_survey.csv"
SCALES = ["motives_self", "motives_community", "professional_openness", "citizen_competence"]
ITEMS = [f"{p}{i}" for p in ("msc", "mcc", "ppo", "pcc") for i in range(1, 6)]
ANSI = re.compile(r"\x1b\[")

# A fixed environment: no colour forced by the caller's shell, a known width.
BASE_ENV = {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "NO_COLOR": None, "COLUMNS": "100", "COSCALE_DEBUG": None}


def run(*args, input=None, env=None, charset="utf-8"):
    runner = CliRunner(charset=charset)
    return runner.invoke(app, [str(a) for a in args], input=input, env={**BASE_ENV, **(env or {})})


def words(text: str) -> str:
    """Text with every run of white space made one space (wrapping does not matter)."""
    return " ".join(text.split())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_bad_input(result, *fragments):
    """Exit 2, nothing on stdout, one line on stderr holding every fragment, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("coscale: error: "), line
    for fragment in fragments:
        assert str(fragment) in line, (fragment, line)
    return line


@pytest.fixture(scope="module")
def example_frame() -> pd.DataFrame:
    return pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def example_terminal():
    return run("validate", EXAMPLE)


@pytest.fixture(scope="module")
def example_json():
    return run("validate", EXAMPLE, "--format", "json")


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


# -- version, help, scales ----------------------------------------------------


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"coscale {__version__}"


def test_help_lists_commands():
    result = run("--help")
    assert result.exit_code == 0
    out = result.stdout
    for command in ("validate", "scales"):
        assert command in out
    assert "co-production" in out


def test_validate_help_lists_options():
    result = run("validate", "--help")
    assert result.exit_code == 0
    out = words(result.stdout)
    for option in ("--scales", "--format", "--output", "--fail-on", "--coerce-out-of-range", "--bootstrap", "--missing"):
        assert option in out


def test_scales_list():
    result = run("scales", "list")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "coproduction" in out
    assert "4 scales, 20 items" in out
    for name in SCALES:
        assert name in out
    assert "Perceived professional openness" in out


def test_scales_show_instrument():
    result = run("scales", "show", "coproduction")
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    for name in SCALES:
        assert name in out
    for item in ITEMS:
        assert item in out
    assert "ppo4 (reverse-keyed)" in out
    assert "pcc3 (reverse-keyed)" in out
    assert "NOT a published, validated instrument" in out  # the instrument's note
    assert "citizen: The professionals take our council's advice seriously." in out
    assert "professional: We take the council's advice seriously." in out
    assert "Response: 1-5 (Strongly disagree, Disagree, Neutral, Agree, Strongly agree)" in out


def test_scales_show_one_scale_one_role():
    result = run("scales", "show", "professional_openness", "--role", "citizen")
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert "professional_openness" in out and "Perceived professional openness" in out
    for i in range(1, 6):
        assert f"ppo{i}" in out
    assert "citizen: The professionals take our council's advice seriously." in out
    assert "citizen: The professionals have usually made up their minds before they consult us." in out
    assert "professional:" not in out  # only the citizen wording
    assert "msc1" not in out and "motives_self" not in out  # only this scale


def test_scales_show_keeps_square_brackets_and_default_wording(tmp_path):
    """Wordings are text, not rich markup; the default wording serves every role."""
    path = tmp_path / "brackets.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            instrument: brackets
            response: {min: 1, max: 5}
            scales:
              - name: trust
                label: Trust in [council]
                items:
                  - id: t1
                    column: q_t1
                    text:
                      citizen: I trust [name of council].
                  - id: t2
                    text: I trust them [a lot].
            """
        ),
        encoding="utf-8",
    )
    result = run("scales", "show", path)
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert "Trust in [council]" in out
    assert "t1 [column q_t1]" in out
    assert "citizen: I trust [name of council]." in out
    result = run("scales", "show", path, "--role", "professional")
    assert result.exit_code == 0, result.output
    assert "default: I trust them [a lot]." in words(result.stdout)


def test_scales_show_unknown_name():
    result = run("scales", "show", "no_such_scale")
    assert_bad_input(result, "no_such_scale")


# -- validate: the example --------------------------------------------------------


def test_validate_terminal_report(example_terminal):
    result = example_terminal
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.stdout
    assert "Traceback" not in result.output
    assert f"coscale {__version__}" in out
    assert "coproduction_survey.csv" in out
    # the verdicts come first, then warnings, screening, scales, CFA, discriminant validity
    sections = ["Verdicts", "Data screening", "Scale motives_self", "Confirmatory factor analysis", "heterotrait-monotrait"]
    positions = [out.index(s) for s in sections]
    assert positions == sorted(positions), positions
    for check in ("Model fit", "CFI", "TLI", "RMSEA", "SRMR", "Hu & Bentler 1999", "HTMT"):
        assert check in out[: out.index("Data screening")]
    for name in SCALES:
        assert name in out
    assert "ppo4 (R)" in out and "pcc3 (R)" in out
    assert re.search(r"(✓ ok|✗ FAIL)", out)


def test_validate_terminal_report_fits_80_columns():
    result = run("validate", EXAMPLE, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # only the paste-ready APA sentence is kept on one line, whatever the width
    too_long = [ln for ln in lines if len(ln) > 80 and not ln.lstrip().startswith("APA:")]
    assert too_long == []
    assert all(ln == ln.rstrip() for ln in lines), "trailing blanks"


def test_validate_json(example_json, example_frame):
    result = example_json
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stderr == ""
    doc = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert doc["kind"] == "validate"
    assert doc["coscale_version"] == __version__
    assert doc["instrument"] == "coproduction"
    assert doc["screening"]["rows_read"] == len(example_frame)
    assert isinstance(doc["cfa"]["fit"]["chisq"], float)
    assert doc["cfa"]["fit"]["df"] == 164
    assert [s["name"] for s in doc["scales"]] == SCALES
    for scale in doc["scales"]:
        assert 0 < scale["reliability"]["alpha"] < 1
        assert len(scale["item_statistics"]) == 5
    assert {v["topic"] for v in doc["verdicts"]} >= {"fit", "reliability", "convergent", "discriminant"}
    assert set(doc["discriminant"]) >= {"htmt", "fornell_larcker"}


def test_validate_output_file(tmp_path, example_json):
    target = tmp_path / "result.json"
    result = run("validate", EXAMPLE, "--format", "json", "--output", target)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(example_json.stdout)


def test_validate_output_file_terminal_format_is_plain_text(tmp_path):
    target = tmp_path / "report.txt"
    result = run("validate", EXAMPLE, "-o", target, env={"FORCE_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = target.read_text(encoding="utf-8")
    assert "Verdicts" in text
    assert not ANSI.search(text)


def test_validate_stdin(example_frame):
    result = run("validate", "-", "--format", "json", input=EXAMPLE.read_text(encoding="utf-8"))
    assert result.exit_code == 0, (result.output, result.exception)
    doc = json.loads(result.stdout)
    assert doc["source"] == "<stdin>"
    assert doc["screening"]["rows_read"] == len(example_frame)


def test_validate_empty_stdin():
    assert_bad_input(run("validate", "-", input=""), "stdin")


def test_input_file_unchanged(tmp_path):
    data = tmp_path / "survey.csv"
    shutil.copyfile(EXAMPLE, data)
    before = sha256(data)
    assert run("validate", data).exit_code == 0
    assert run("validate", data, "-f", "json", "-o", tmp_path / "out.json").exit_code == 0
    assert sha256(data) == before


def test_output_may_not_overwrite_the_data(tmp_path):
    data = tmp_path / "survey.csv"
    shutil.copyfile(EXAMPLE, data)
    before = sha256(data)
    assert_bad_input(run("validate", data, "-f", "json", "-o", data), "survey.csv", "data file")
    assert sha256(data) == before


def test_output_folder_missing(tmp_path):
    target = tmp_path / "no" / "such" / "folder" / "out.json"
    assert_bad_input(run("validate", EXAMPLE, "-f", "json", "-o", target), "out.json", "does not exist")
    assert_bad_input(run("validate", EXAMPLE, "-f", "json", "-o", tmp_path), str(tmp_path), "directory")


# -- colour ---------------------------------------------------------------------


def test_no_ansi_when_not_a_terminal(example_terminal):
    assert not ANSI.search(example_terminal.stdout)


def test_no_color_means_no_escape_codes():
    forced = run("validate", EXAMPLE, env={"FORCE_COLOR": "1"})
    assert forced.exit_code == 0
    assert ANSI.search(forced.stdout), "FORCE_COLOR should give a coloured report (else this test proves nothing)"
    plain = run("validate", EXAMPLE, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.exit_code == 0
    assert not ANSI.search(plain.stdout)
    assert "Verdicts" in plain.stdout


def test_ascii_fallback_for_a_non_unicode_stream():
    result = run("validate", EXAMPLE, charset="latin-1")
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.stdout
    assert "Verdicts" in out and ">= .95" in out
    assert all(ord(c) < 128 for c in out), sorted({c for c in out if ord(c) >= 128})


# -- bad input: exit 2, one line naming the file ------------------------------------


def test_no_such_file(tmp_path):
    missing = tmp_path / "nope.csv"
    assert_bad_input(run("validate", missing), "nope.csv", "no such file")


def test_directory(tmp_path):
    assert_bad_input(run("validate", tmp_path), str(tmp_path), "directory")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert_bad_input(run("validate", path), "empty.csv", "empty")


def test_unknown_extension(tmp_path):
    path = tmp_path / "survey.dat"
    shutil.copyfile(EXAMPLE, path)
    assert_bad_input(run("validate", path), "survey.dat", ".dat")


def test_missing_item_column(tmp_path, example_frame):
    path = write_csv(example_frame.drop(columns=["pcc5"]), tmp_path / "no_pcc5.csv")
    assert_bad_input(run("validate", path), "no_pcc5.csv", "pcc5")


def test_non_numeric_answer(tmp_path, example_frame):
    frame = example_frame.copy()
    frame.loc[4, "msc2"] = "agree"  # data row 5
    path = write_csv(frame, tmp_path / "text.csv")
    assert_bad_input(run("validate", path), "text.csv", "row 5", "column msc2", '"agree"')


def test_out_of_range_answer_and_coercion(tmp_path, example_frame):
    frame = example_frame.copy()
    frame.loc[6, "ppo3"] = "7"  # data row 7
    path = write_csv(frame, tmp_path / "range.csv")
    assert_bad_input(run("validate", path), "range.csv", "row 7", "column ppo3", "--coerce-out-of-range")
    result = run("validate", path, "--coerce-out-of-range", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["screening"]["out_of_range_coerced"] == {"ppo3": 1}


def test_item_nobody_answered(tmp_path, example_frame):
    """An item whose every cell is empty or a missing-value code stops both commands with its column named."""
    frame = example_frame.copy()
    frame["pcc2"] = ["" if i % 2 else "9" for i in range(len(frame))]  # 9: the scale file's missing code
    path = write_csv(frame, tmp_path / "unanswered.csv")
    for command in (("validate", path), ("invariance", path, "--group", "role")):
        assert_bad_input(run(*command), "unanswered.csv", "column pcc2", "no respondent answered")


def test_scale_file_unknown_key(tmp_path):
    path = tmp_path / "scales.yaml"
    path.write_text("scales:\n  - name: a\n    colour: red\n    items: [msc1, msc2]\n", encoding="utf-8")
    assert_bad_input(run("validate", EXAMPLE, "--scales", path), "scales.yaml", "colour")


def test_scale_file_malformed_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("scales:\n  - name: a\n    items: [msc1, msc2\n", encoding="utf-8")
    assert_bad_input(run("validate", EXAMPLE, "--scales", path), "broken.yaml", "YAML", "line")


def test_unknown_bundled_scale_name():
    assert_bad_input(run("validate", EXAMPLE, "--scales", "no_such_instrument"), "no_such_instrument", "coproduction")


def test_fail_on_unknown_topic():
    assert_bad_input(run("validate", EXAMPLE, "--fail-on", "nonsense"), "--fail-on nonsense", "fit")


def test_unknown_missing_method():
    assert_bad_input(run("validate", EXAMPLE, "--missing", "pairwise"), "--missing pairwise", "fiml")


def test_robust_estimator_with_fiml_is_bad_usage():
    assert_bad_input(run("validate", EXAMPLE, "--estimator", "MLM", "--missing", "fiml"), "MLM", "--missing listwise")


# -- --fail-on --------------------------------------------------------------------


@pytest.fixture(scope="module")
def shuffled_csv(tmp_path_factory, example_frame) -> Path:
    """Items dealt across the scales like cards: every scale mixes four constructs."""
    dealt = [f"{p}{i}" for i in range(1, 6) for p in ("msc", "mcc", "ppo", "pcc")]
    frame = example_frame.copy()
    frame[ITEMS] = example_frame[dealt].to_numpy()
    return write_csv(frame, tmp_path_factory.mktemp("shuffled") / "shuffled.csv")


@pytest.fixture(scope="module")
def mixed_scales(tmp_path_factory) -> Path:
    """A scale file whose second scale takes one item from each of three constructs."""
    path = tmp_path_factory.mktemp("mixed") / "mixed.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            instrument: mixed
            response: {min: 1, max: 5}
            missing_codes: [9, -99]
            scales:
              - name: self
                items: [msc1, msc2, msc3, msc4, msc5]
              - name: mixed
                items: [mcc1, ppo1, pcc1]
            """
        ),
        encoding="utf-8",
    )
    return path


def test_fail_on_fit(shuffled_csv):
    good = run("validate", EXAMPLE, "--fail-on", "fit")
    assert good.exit_code == 0, good.output
    bad = run("validate", shuffled_csv, "--fail-on", "fit")
    assert bad.exit_code == 1, bad.output
    assert "Verdicts" in bad.stdout  # the report is still written
    assert "✗ FAIL" in bad.stdout
    assert bad.stderr.strip() == "coscale: criteria not met: fit"


def test_fail_on_reliability(mixed_scales):
    good = run("validate", EXAMPLE, "--fail-on", "reliability")
    assert good.exit_code == 0, good.output
    bad = run("validate", EXAMPLE, "--scales", mixed_scales, "--fail-on", "reliability", "--format", "json")
    assert bad.exit_code == 1, bad.output
    assert "reliability" in bad.stderr
    doc = json.loads(bad.stdout)  # JSON still complete on stdout
    assert doc["scales"][1]["reliability"]["alpha"] < 0.70


def test_fail_on_without_failure_topic_exits_zero(shuffled_csv):
    """A bad fit only matters when asked for: without --fail-on the run succeeds."""
    assert run("validate", shuffled_csv, "--format", "json").exit_code == 0


def test_too_few_complete_rows_cannot_estimate(tmp_path, example_frame):
    """15 respondents for 20 items: no CFA; the report still renders, exit 3."""
    path = write_csv(example_frame.head(15), tmp_path / "tiny.csv")
    result = run("validate", path)
    assert result.exit_code == 3, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert "No CFA was fitted" in result.stdout
    assert "could not estimate" in result.stderr
