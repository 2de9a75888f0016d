"""The pipeline contract: batches as JSON Lines, config files, determinism (no R reference: CLI behaviour)."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from tests.test_cli import EXAMPLE, run


def _copies(tmp_path, n=2):
    paths = []
    for i in range(n):
        p = tmp_path / f"wave{i + 1}.csv"
        shutil.copy(EXAMPLE, p)
        paths.append(p)
    return paths


def test_several_files_give_json_lines(tmp_path):
    a, b = _copies(tmp_path)
    result = run("validate", a, b, "--format", "json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    docs = [json.loads(line) for line in lines]
    assert [d["source"] for d in docs] == [str(a), str(b)]
    assert docs[0]["cfa"]["fit"]["chisq"] == docs[1]["cfa"]["fit"]["chisq"]


def test_a_bad_file_does_not_stop_the_batch(tmp_path):
    good = _copies(tmp_path, 1)[0]
    bad = tmp_path / "bad.csv"
    pd.read_csv(EXAMPLE).drop(columns=["ppo2"]).to_csv(bad, index=False)
    result = run("validate", bad, good, "--format", "json")
    assert result.exit_code == 2
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    assert first["source"] == str(bad) and "ppo2" in first["error"] and first["exit_code"] == 2
    assert second["kind"] == "validate"
    assert len(result.stderr.strip().splitlines()) == 1 and "bad.csv" in result.stderr


def test_quoted_glob_is_expanded(tmp_path):
    _copies(tmp_path, 3)
    result = run("validate", str(tmp_path / "wave*.csv"), "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3


def test_glob_without_match_is_bad_input(tmp_path):
    result = run("validate", str(tmp_path / "nothing*.csv"))
    assert result.exit_code == 2 and "no file matches" in result.stderr


def test_several_files_with_a_document_format_is_refused(tmp_path):
    a, b = _copies(tmp_path)
    result = run("validate", a, b, "--format", "markdown")
    assert result.exit_code == 2 and "one data file at a time" in result.stderr


def test_config_file_sets_defaults_and_flags_override(tmp_path, monkeypatch):
    (tmp_path / "coscale.toml").write_text('estimator = "MLR"\nmissing = "listwise"\n[invariance]\ngroup = "role"\n')
    monkeypatch.chdir(tmp_path)
    result = run("validate", EXAMPLE, "--format", "json")
    doc = json.loads(result.stdout)
    assert (doc["estimation"]["estimator"], doc["estimation"]["missing"]) == ("MLR", "listwise")
    result = run("validate", EXAMPLE, "--format", "json", "--estimator", "ML")
    assert json.loads(result.stdout)["estimation"]["estimator"] == "ML"
    result = run("invariance", EXAMPLE, "--format", "json", "--no-partial")  # group from the config
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["group_column"] == "role"


def test_bad_config_is_bad_input(tmp_path, monkeypatch):
    (tmp_path / "coscale.toml").write_text('estimatr = "ML"\n')
    monkeypatch.chdir(tmp_path)
    result = run("validate", EXAMPLE)
    assert result.exit_code == 2 and "unknown setting 'estimatr'" in result.stderr


def test_json_is_byte_identical_across_runs():
    first = run("validate", EXAMPLE, "--format", "json", "--bootstrap", "50", "--seed", "7")
    second = run("validate", EXAMPLE, "--format", "json", "--bootstrap", "50", "--seed", "7")
    assert first.exit_code == 0 and first.stdout == second.stdout


import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["scales", "list"], ["scales", "show", "coproduction"]])
def test_light_commands_import_no_heavy_library(argv):
    """--help, --version and scales list|show load no pandas, SciPy, numpy, semopy, pingouin or matplotlib."""
    code = (
        "import sys\n"
        f"sys.argv = ['coscale'] + {argv!r}\n"
        "from coscale.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'scipy', 'numpy', 'semopy', 'pingouin', 'matplotlib', 'pydantic') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY=" in proc.stderr
    assert proc.stderr.split("HEAVY=")[-1].strip() == ""


def test_progress_is_reported_to_a_callback_and_silent_off_a_terminal():
    """The API reports long steps to a callback; the CLI's bar stays off when stderr is no terminal."""
    import coscale
    from coscale.progress import silent, terminal_progress

    calls = []
    coscale.invariance(pd.read_csv(EXAMPLE), "coproduction", group="role", estimator="ML", missing="listwise",
                       progress=lambda d, done, total: calls.append((d, done, total)))
    assert any(d == "Fitting the invariance ladder" for d, _, _ in calls)
    dmacs = [c for c in calls if c[0] == "dMACS per item"]
    assert dmacs and dmacs[-1][2] == 20
    with terminal_progress(enabled=False) as progress:
        assert progress is silent
    result = run("invariance", EXAMPLE, "--group", "role", "--format", "json", "--no-partial")
    assert result.stderr == ""
