"""Tests for coscale.scales: scale files, bundled instruments, error messages."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from coscale.errors import InputError, ScaleError
from coscale.scales import (
    Instrument,
    ModelLine,
    bundled_dir,
    bundled_names,
    load_scales,
    parse_instrument,
)

LIKERT5 = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]


def write(tmp_path, text: str, name: str = "myscales.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_text(tmp_path, text: str, name: str = "myscales.yaml") -> Instrument:
    return load_scales(write(tmp_path, text, name))


def error_of(tmp_path, text: str, name: str = "bad_scales.yaml") -> str:
    with pytest.raises(ScaleError) as info:
        load_text(tmp_path, text, name)
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert name in msg, msg
    return msg


# ---------------------------------------------------------------------------
# Bundled instruments
# ---------------------------------------------------------------------------


def test_bundled_dir_holds_the_yaml_files():
    assert bundled_dir().is_dir()
    assert (bundled_dir() / "coproduction.yaml").is_file()
    assert "coproduction" in bundled_names()
    assert bundled_names() == sorted(bundled_names())


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_instrument_loads(name):
    inst = load_scales(name)
    assert inst.scales
    assert inst.path.endswith(f"{name}.yaml")
    for sc in inst.scales:
        assert sc.label and sc.description and sc.source, sc.name
        assert len(sc.items) >= 2


def test_coproduction_instrument_content():
    inst = load_scales("coproduction")
    assert inst.name == "coproduction"
    assert [s.name for s in inst.scales] == [
        "motives_self",
        "motives_community",
        "professional_openness",
        "citizen_competence",
    ]
    assert inst.scale("motives_self").columns == [f"msc{i}" for i in range(1, 6)]
    assert inst.scale("motives_community").columns == [f"mcc{i}" for i in range(1, 6)]
    assert inst.scale("professional_openness").columns == [f"ppo{i}" for i in range(1, 6)]
    assert inst.scale("citizen_competence").columns == [f"pcc{i}" for i in range(1, 6)]
    assert len(inst.columns) == 20
    reverse = [c for s in inst.scales for c in s.reverse_columns]
    assert reverse == ["ppo4", "pcc3"]
    for sc in inst.scales:
        assert sc.response.min == 1 and sc.response.max == 5
        assert list(sc.response.labels) == LIKERT5
        assert sc.response.type == "interval"
        assert set(sc.missing_codes) == {9, -99}
        for it in sc.items:
            assert set(it.text) == {"citizen", "professional"}, it.id
            assert all(w.strip() for w in it.text.values()), it.id
            assert it.text["citizen"] != it.text["professional"], it.id
    assert "not a published" in inst.note.lower()
    assert inst.model == ()


def test_scale_descriptions_stay_short():
    # `coscale scales list` prints them in a table.
    for sc in load_scales("coproduction").scales:
        assert len(sc.description) <= 100, sc.name
        assert len(sc.label) <= 50, sc.name


def test_load_by_name_and_by_path_agree():
    by_name = load_scales("coproduction")
    by_path = load_scales(bundled_dir() / "coproduction.yaml")
    by_str = load_scales(str(bundled_dir() / "coproduction.yaml"))
    assert by_name == by_path == by_str


def test_existing_path_wins_over_bundled_name(monkeypatch, tmp_path):
    write(
        tmp_path,
        """
        scales:
          - {name: local, items: [a, b]}
        """,
        name="coproduction",
    )
    monkeypatch.chdir(tmp_path)
    inst = load_scales("coproduction")
    assert [s.name for s in inst.scales] == ["local"]


def test_unknown_spec_lists_bundled_names(tmp_path):
    with pytest.raises(ScaleError) as info:
        load_scales(tmp_path / "nothere.yaml")
    msg = str(info.value)
    assert "nothere.yaml" in msg and "coproduction" in msg
    assert "\n" not in msg


def test_bundled_scale_name_is_not_an_instrument_but_gets_a_hint():
    with pytest.raises(ScaleError) as info:
        load_scales("professional_openness")
    msg = str(info.value)
    assert "professional_openness" in msg
    assert "'coproduction'" in msg


def test_scale_error_is_an_input_error():
    assert issubclass(ScaleError, InputError)


def test_module_import_stays_light():
    code = (
        "import sys, coscale.scales; "
        "bad = [m for m in ('pandas', 'numpy', 'scipy', 'yaml') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


# ---------------------------------------------------------------------------
# Format features
# ---------------------------------------------------------------------------


def test_shorthand_list_of_columns(tmp_path):
    inst = load_text(
        tmp_path,
        """
        scales:
          - name: visual
            items: [x1, x2, x3]
        """,
    )
    sc = inst.scale("visual")
    assert sc.columns == ["x1", "x2", "x3"]
    assert [it.id for it in sc.items] == ["x1", "x2", "x3"]
    assert not any(it.reverse for it in sc.items)
    assert sc.response.min is None and sc.missing_codes == ()
    assert inst.name == "myscales"  # file stem when `instrument:` is absent
    assert inst.path.endswith("myscales.yaml")


def test_column_override_and_plain_text(tmp_path):
    inst = load_text(
        tmp_path,
        """
        instrument: demo
        note: trial
        scales:
          - name: trust
            response: {min: 1, max: 5}
            items:
              - {id: t1, column: Q12_1, text: I trust the staff.}
              - {id: t2, column: Q12_2, reverse: true}
              - t3
        """,
    )
    sc = inst.scale("trust")
    assert inst.name == "demo" and inst.note == "trial"
    assert sc.columns == ["Q12_1", "Q12_2", "t3"]
    assert [it.id for it in sc.items] == ["t1", "t2", "t3"]
    assert sc.items[0].text == {"default": "I trust the staff."}
    assert sc.reverse_columns == ["Q12_2"]


def test_top_level_response_and_missing_codes_are_inherited(tmp_path):
    inst = load_text(
        tmp_path,
        """
        response: {min: 1, max: 4, labels: [a, b, c, d], type: ordinal}
        missing_codes: [9, -99]
        scales:
          - name: inherits
            items: [a1, a2]
          - name: own
            response: {min: 0, max: 10}
            missing_codes: [99]
            items: [b1, b2]
          - name: drops_codes
            missing_codes: []
            items: [c1, c2]
        """,
    )
    inh = inst.scale("inherits")
    assert (inh.response.min, inh.response.max) == (1, 4)
    assert inh.response.labels == ("a", "b", "c", "d")
    assert inh.response.type == "ordinal"
    assert inh.missing_codes == (9, -99)
    own = inst.scale("own")
    assert (own.response.min, own.response.max) == (0, 10)
    assert own.response.labels == () and own.response.type == "interval"
    assert own.missing_codes == (99,)
    assert inst.scale("drops_codes").missing_codes == ()
    assert inst.scale("drops_codes").response.max == 4


def test_model_lines_resolve_item_ids_to_columns(tmp_path):
    inst = load_text(
        tmp_path,
        """
        scales:
          - name: openness
            items:
              - {id: ppo1, column: Q1}
              - {id: ppo2, column: Q2}
              - ppo3
          - name: competence
            items: [pcc1, pcc2, pcc3]
        model:
          - ppo1 ~~ ppo2          # by item id
          - Q1 ~~ ppo3            # by column
          - openness =~ pcc2 + pcc3
        """,
    )
    assert inst.model == (
        ModelLine("Q1", "~~", "Q2"),
        ModelLine("Q1", "~~", "ppo3"),
        ModelLine("openness", "=~", "pcc2"),
        ModelLine("openness", "=~", "pcc3"),
    )


def test_model_as_text_block(tmp_path):
    inst = load_text(
        tmp_path,
        """
        scales:
          - {name: f1, items: [a, b, c]}
          - {name: f2, items: [d, e, f]}
        model: |
          a ~~ b
          f2 =~ c
        """,
    )
    assert inst.model == (ModelLine("a", "~~", "b"), ModelLine("f2", "=~", "c"))


def test_parse_instrument_directly():
    inst = parse_instrument(
        {"scales": [{"name": "s", "items": ["a", "b"]}]}, "memory.yaml"
    )
    assert inst.scale("s").columns == ["a", "b"]
    with pytest.raises(ScaleError, match=r"^memory\.yaml: .*'scales'"):
        parse_instrument({"scales": "oops"}, "memory.yaml")
    with pytest.raises(ScaleError, match=r"^memory\.yaml: "):
        parse_instrument(["not", "a", "mapping"], "memory.yaml")


def test_null_values_count_as_not_given(tmp_path):
    inst = load_text(
        tmp_path,
        """
        missing_codes: [9]
        scales:
          - name: s
            label:
            missing_codes:
            items: [a, b]
        """,
    )
    assert inst.scale("s").label == ""
    assert inst.scale("s").missing_codes == (9,)


# ---------------------------------------------------------------------------
# Error paths: each message names the file and the offending scale / item / key
# ---------------------------------------------------------------------------

ERROR_CASES = {
    "unknown_top_key": (
        """
        scale:
          - {name: s, items: [a, b]}
        """,
        ["'scale'", "unknown key"],
    ),
    "unknown_scale_key": (
        """
        scales:
          - {name: trust, items: [a, b], lable: Trust}
        """,
        ["'trust'", "'lable'"],
    ),
    "unknown_item_key": (
        """
        scales:
          - name: trust
            items:
              - {id: t1, reversed: true}
              - t2
        """,
        ["'trust'", "'t1'", "'reversed'"],
    ),
    "unknown_response_key": (
        """
        scales:
          - {name: trust, response: {min: 1, maximum: 5}, items: [a, b]}
        """,
        ["'trust'", "'maximum'"],
    ),
    "scales_not_a_list": (
        """
        scales:
          trust: [a, b]
        """,
        ["'scales' must be a list"],
    ),
    "items_not_a_list": (
        """
        scales:
          - {name: trust, items: a b c}
        """,
        ["'trust'", "'items' must be a list"],
    ),
    "reverse_not_bool": (
        """
        scales:
          - name: trust
            response: {min: 1, max: 5}
            items:
              - {id: t1, reverse: "yes"}
              - t2
        """,
        ["'trust'", "'t1'", "reverse"],
    ),
    "min_not_number": (
        """
        scales:
          - {name: trust, response: {min: one, max: 5}, items: [a, b]}
        """,
        ["'trust'", "min", "'one'"],
    ),
    "label_is_yes_no": (
        """
        scales:
          - {name: agree, response: {min: 0, max: 1, labels: [No, Yes]}, items: [a, b]}
        """,
        ["'agree'", "label 1", "quote"],
    ),
    "text_wrong_type": (
        """
        scales:
          - name: trust
            items:
              - {id: t1, text: {citizen: [a, b]}}
              - t2
        """,
        ["'trust'", "'t1'", "'citizen'"],
    ),
    "bad_response_type": (
        """
        scales:
          - {name: trust, response: {min: 1, max: 5, type: nominal}, items: [a, b]}
        """,
        ["'trust'", "'nominal'"],
    ),
    "duplicate_scale": (
        """
        scales:
          - {name: trust, items: [a, b]}
          - {name: trust, items: [c, d]}
        """,
        ["'trust'", "twice"],
    ),
    "duplicate_item_id": (
        """
        scales:
          - {name: trust, items: [a, b, a]}
        """,
        ["'trust'", "'a'", "twice"],
    ),
    "item_in_two_scales": (
        """
        scales:
          - {name: trust, items: [a, b]}
          - {name: openness, items: [c, a]}
        """,
        ["'openness'", "'trust'", "'a'"],
    ),
    "column_in_two_scales": (
        """
        scales:
          - {name: trust, items: [a, b]}
          - name: openness
            items:
              - c
              - {id: d, column: b}
        """,
        ["'openness'", "'trust'", "'d'", "'b'"],
    ),
    "same_column_twice_in_scale": (
        """
        scales:
          - name: trust
            items:
              - a
              - {id: a2, column: a}
        """,
        ["'trust'", "'a2'"],
    ),
    "item_named_like_scale": (
        """
        scales:
          - {name: trust, items: [a, b]}
          - {name: other, items: [trust, c]}
        """,
        ["'other'", "'trust'"],
    ),
    "min_not_below_max": (
        """
        scales:
          - {name: trust, response: {min: 5, max: 5}, items: [a, b]}
        """,
        ["'trust'", "min (5)", "max (5)"],
    ),
    "only_min": (
        """
        scales:
          - {name: trust, response: {min: 1}, items: [a, b]}
        """,
        ["'trust'", "both min and max"],
    ),
    "missing_code_in_range": (
        """
        scales:
          - {name: trust, response: {min: 0, max: 10}, missing_codes: [99, 9], items: [a, b]}
        """,
        ["'trust'", "missing code 9", "0..10"],
    ),
    "inherited_missing_code_in_range": (
        """
        missing_codes: [9]
        scales:
          - {name: trust, response: {min: 0, max: 10}, items: [a, b]}
        """,
        ["'trust'", "missing code 9", "top level"],
    ),
    "one_item": (
        """
        scales:
          - {name: trust, items: [a]}
        """,
        ["'trust'", "at least 2"],
    ),
    "no_items": (
        """
        scales:
          - {name: trust}
        """,
        ["'trust'", "no 'items'"],
    ),
    "reverse_without_range": (
        """
        scales:
          - name: trust
            items:
              - a
              - {id: b, reverse: true}
        """,
        ["'trust'", "'b'", "reverse", "min and max"],
    ),
    "labels_wrong_count": (
        """
        scales:
          - {name: trust, response: {min: 1, max: 5, labels: [a, b, c, d]}, items: [x, y]}
        """,
        ["'trust'", "4 labels", "1..5", "5"],
    ),
    "labels_wrong_count_top_level": (
        """
        response: {min: 1, max: 3, labels: [a, b]}
        scales:
          - {name: trust, items: [x, y]}
        """,
        ["top level", "2 labels"],
    ),
    "scale_name_starts_with_digit": (
        """
        scales:
          - {name: 1trust, items: [a, b]}
        """,
        ["'1trust'", "name"],
    ),
    "item_id_with_space": (
        """
        scales:
          - {name: trust, items: [a, b c]}
        """,
        ["'trust'", "item 2", "'b c'"],
    ),
    "item_id_is_number": (
        """
        scales:
          - name: trust
            items:
              - {id: 12}
              - b
        """,
        ["'trust'", "item 1", "12"],
    ),
    "model_line_unparsable": (
        """
        scales:
          - {name: trust, items: [a, b]}
        model:
          - a ~ b
        """,
        ["'a ~ b'", "does not parse"],
    ),
    "model_line_with_modifier": (
        """
        scales:
          - {name: trust, items: [a, b]}
        model:
          - a ~~ 0.5*b
        """,
        ["'a ~~ 0.5*b'", "does not parse"],
    ),
    "model_unknown_item": (
        """
        scales:
          - {name: trust, items: [a, b]}
        model:
          - a ~~ zz
        """,
        ["'a ~~ zz'", "'zz'", "not a known item"],
    ),
    "model_unknown_scale": (
        """
        scales:
          - {name: trust, items: [a, b]}
          - {name: other, items: [c, d]}
        model:
          - truts =~ c
        """,
        ["'truts =~ c'", "'truts'", "scale name"],
    ),
    "model_scale_in_covariance": (
        """
        scales:
          - {name: trust, items: [a, b]}
          - {name: other, items: [c, d]}
        model:
          - trust ~~ other
        """,
        ["'trust ~~ other'", "'trust'", "a scale"],
    ),
    "model_cross_loading_on_own_scale": (
        """
        scales:
          - {name: trust, items: [a, b]}
        model:
          - trust =~ a
        """,
        ["'trust =~ a'", "already belongs"],
    ),
    "model_line_not_text": (
        """
        scales:
          - {name: trust, items: [a, b]}
        model:
          - {a: b}
        """,
        ["model line"],
    ),
    "model_line_repeated": (
        """
        scales:
          - {name: trust, items: [a, b]}
        model:
          - a ~~ b
          - b ~~ a
        """,
        ["'b ~~ a'", "repeats"],
    ),
    "top_level_is_a_list": (
        """
        - {name: trust, items: [a, b]}
        """,
        ["'scales:'"],
    ),
    "no_scales_key": (
        """
        instrument: x
        """,
        ["no 'scales:'"],
    ),
    "duplicate_yaml_key": (
        """
        scales:
          - name: trust
            items: [a, b]
            items: [c, d]
        """,
        ["duplicate key 'items'", "line 5"],
    ),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_error_messages(tmp_path, case):
    text, fragments = ERROR_CASES[case]
    msg = error_of(tmp_path, text)
    assert msg.startswith(str(tmp_path / "bad_scales.yaml") + ": "), msg
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"


def test_malformed_yaml_gives_one_line_error(tmp_path):
    msg = error_of(
        tmp_path,
        """
        scales:
          - name: trust
            items: [a, b
          - name: other
        """,
    )
    assert "not valid YAML" in msg
    assert "line" in msg


def test_tab_indentation_gets_a_hint(tmp_path):
    msg = error_of(tmp_path, "scales:\n\t- {name: trust, items: [a, b]}\n")
    assert "tabs" in msg


def test_empty_file(tmp_path):
    msg = error_of(tmp_path, "# only a comment\n")
    assert "empty" in msg


def test_directory_is_rejected(tmp_path):
    with pytest.raises(ScaleError, match="folder"):
        load_scales(tmp_path)


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("scales: [{name: caf\u00e9, items: [a, b]}]".encode("latin-1"))
    with pytest.raises(ScaleError) as info:
        load_scales(path)
    assert "latin1.yaml" in str(info.value) and "UTF-8" in str(info.value)


def test_ambiguous_model_token(tmp_path):
    # 'b' is the id of one item and the data column of another.
    msg = error_of(
        tmp_path,
        """
        scales:
          - name: trust
            items:
              - {id: a, column: b}
              - {id: b, column: c}
              - d
        model:
          - b ~~ d
        """,
    )
    assert "'b ~~ d'" in msg and "ambiguous" in msg


def test_bad_column_name(tmp_path):
    msg = error_of(
        tmp_path,
        """
        scales:
          - name: trust
            items:
              - {id: t1, column: "Q 12"}
              - t2
        """,
    )
    assert "'t1'" in msg and "'column'" in msg and "'Q 12'" in msg
