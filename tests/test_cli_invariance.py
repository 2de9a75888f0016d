"""Command-line tests of ``coscale invariance``: output, exit codes, errors.

Exit codes: 0 done, 1 a --fail-on level does not hold, 2 bad input, 3 could not estimate.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.test_cli import ANSI, EXAMPLE, assert_bad_input, run, words


@pytest.fixture(scope="module")
def terminal_80():
    return run("invariance", EXAMPLE, "--group", "role", env={"COLUMNS": "80"})


def test_terminal_report_shows_ladder_and_freed_item(terminal_80):
    out = terminal_80.stdout
    assert terminal_80.exit_code == 0, terminal_80.output
    for section in ("Verdicts", "The ladder", "Partial invariance", "Latent mean differences", "dMACS"):
        assert section in out
    assert "Scalar invariance holds partially after freeing the intercept of ppo3" in words(out)
    assert "citizen (n = 400, reference)" in out  # FIML: every respondent
    assert not ANSI.search(out)


def test_terminal_report_fits_80_columns(terminal_80):
    long = [line for line in terminal_80.stdout.splitlines() if len(line) > 80]
    assert long == []


def test_json_document(tmp_path):
    target = tmp_path / "inv.json"
    result = run("invariance", EXAMPLE, "--group", "role", "--format", "json", "--output", target)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    doc = json.loads(target.read_text())
    assert doc["kind"] == "invariance"
    assert [g["name"] for g in doc["groups"]] == ["citizen", "professional"]
    assert doc["partial"][0]["item"] == "ppo3"
    assert doc["settings"]["criteria"] == "chen2007"


def test_groups_order_sets_the_reference():
    result = run("invariance", EXAMPLE, "--group", "role", "--groups", "professional,citizen", "--format", "json")
    doc = json.loads(result.stdout)
    assert [g["name"] for g in doc["groups"]] == ["professional", "citizen"]
    assert all(r["reference"] == "professional" for r in doc["latent_means"])


@pytest.mark.parametrize("args,code", [(("--fail-on", "scalar"), 0), (("--fail-on", "scalar", "--no-partial"), 1)])
def test_fail_on_scalar(args, code):
    """Partial scalar invariance counts as holding; without the search scalar fails (exit 1)."""
    result = run("invariance", EXAMPLE, "--group", "role", "--format", "json", *args)
    assert result.exit_code == code, result.output
    if code == 1:
        assert "criteria not met: scalar" in result.stderr


def test_missing_group_column():
    assert_bad_input(run("invariance", EXAMPLE, "--group", "team"), EXAMPLE.name, "team")


def test_unknown_group_value():
    assert_bad_input(run("invariance", EXAMPLE, "--group", "role", "--groups", "citizen,manager"), "role", "manager")


def test_only_one_group(tmp_path):
    data = pd.read_csv(EXAMPLE)
    path = tmp_path / "one.csv"
    data[data.role == "citizen"].to_csv(path, index=False)
    assert_bad_input(run("invariance", path, "--group", "role"), "one.csv", "only one group")


def test_group_too_small(tmp_path):
    data = pd.read_csv(EXAMPLE)
    path = tmp_path / "small.csv"
    pd.concat([data[data.role == "citizen"], data[data.role == "professional"].head(10)]).to_csv(path, index=False)
    assert_bad_input(run("invariance", path, "--group", "role"), "small.csv", "professional", "at least 21")


def test_unknown_criteria():
    assert_bad_input(run("invariance", EXAMPLE, "--group", "role", "--criteria", "strictest"), "--criteria strictest")


def test_unknown_fail_on():
    assert_bad_input(run("invariance", EXAMPLE, "--group", "role", "--fail-on", "reliability"), "--fail-on reliability")
