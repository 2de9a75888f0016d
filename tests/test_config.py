"""Config files: coscale.toml and [tool.coscale] in pyproject.toml (no R reference: file handling)."""

import pytest

from coscale.config import find_config, load_config
from coscale.errors import InputError


def test_coscale_toml_with_command_table(tmp_path):
    (tmp_path / "coscale.toml").write_text(
        'estimator = "MLR"\nfail_on = ["fit"]\n[invariance]\ngroup = "role"\nestimator = "ML"\n'
    )
    source, v = load_config("validate", start=tmp_path)
    assert source.endswith("coscale.toml") and v == {"estimator": "MLR", "fail_on": ["fit"]}
    _, i = load_config("invariance", start=tmp_path)
    assert i == {"estimator": "ML", "fail_on": ["fit"], "group": "role"}


def test_pyproject_tool_table_found_from_a_subfolder(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.coscale]\nmissing = "fiml"\n')
    sub = tmp_path / "data" / "wave1"
    sub.mkdir(parents=True)
    source, v = load_config("validate", start=sub)
    assert source.endswith("pyproject.toml") and v == {"missing": "fiml"}


def test_pyproject_without_coscale_table_is_skipped(tmp_path):
    inner = tmp_path / "project"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "coscale.toml").write_text('criteria = "chisq"\n')
    source, table = find_config(inner)
    assert source == tmp_path / "coscale.toml" and table == {"criteria": "chisq"}


def test_relative_scale_file_is_relative_to_the_config(tmp_path):
    (tmp_path / "s.yaml").write_text("scales:\n  - name: a\n    items: [x1, x2, x3]\n")
    (tmp_path / "coscale.toml").write_text('scales = "s.yaml"\n')
    sub = tmp_path / "runs"
    sub.mkdir()
    _, v = load_config("validate", start=sub)
    assert v["scales"] == str(tmp_path / "s.yaml")


@pytest.mark.parametrize(
    "text,message",
    [
        ('estimatr = "ML"\n', "unknown setting 'estimatr'"),
        ("std_lv = 1\n", "setting 'std_lv' must be a bool"),
        ("estimator = \n", "not valid TOML"),
        ('validate = "x"\n', "[validate] must be a table"),
    ],
)
def test_bad_config_is_one_line(tmp_path, text, message):
    (tmp_path / "coscale.toml").write_text(text)
    with pytest.raises(InputError) as err:
        load_config("validate", start=tmp_path)
    assert message in str(err.value) and "coscale.toml" in str(err.value)
    assert "\n" not in str(err.value)


def test_explicit_missing_config(tmp_path):
    with pytest.raises(InputError, match="no such config file"):
        load_config("validate", path=tmp_path / "nope.toml")
