"""Tests for coscale.survey: reading data files and preparing item responses."""

from __future__ import annotations

import hashlib
import io
import json
import sys

import numpy as np
import pandas as pd
import pytest

from coscale import survey
from coscale.errors import InputError, ScaleError
from coscale.scales import Instrument, Item, Response, Scale
from coscale.survey import Prepared, Screening, prepare, read_table


# --------------------------------------------------------------------------
# helpers


def make_instrument(*scales, path="scales.yaml"):
    return Instrument(scales=tuple(scales), path=path)


def make_scale(name, columns, *, reverse=(), lo=1, hi=5, missing=(-9,)):
    items = tuple(Item(id=c, column=c, reverse=c in reverse) for c in columns)
    return Scale(name=name, items=items, response=Response(min=lo, max=hi), missing_codes=tuple(missing))


def one_line_error(exc_type, fn, *args, **kwargs) -> str:
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg
    assert msg.strip() == msg and msg
    return msg


def write(path, text: str, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return str(path)


def sha(path) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


PPO = make_scale("professional_openness", ["ppo1", "ppo2", "ppo3"], reverse=("ppo3",))
INSTRUMENT = make_instrument(PPO)

SURVEY = (
    "resp_id,role,ppo1,ppo2,ppo3\n"
    "1,citizen,1,2,5\n"
    "2,professional,4,4,4\n"
    "3,citizen,-9,3,2\n"
    "4,,2,2,1\n"
    "5,professional,5,5,5\n"
    "2,citizen,3,1,4\n"
)


# --------------------------------------------------------------------------
# read_table: delimited text


@pytest.mark.parametrize(
    "filename,delimiter",
    [("s.csv", ","), ("s.csv", ";"), ("s.csv", "\t"), ("s.tsv", "\t"), ("s.txt", "|"), ("s.tab", "\t"), ("s.txt", ";")],
)
def test_delimiter_is_sniffed(tmp_path, filename, delimiter):
    text = SURVEY.replace(",", delimiter)
    df = read_table(write(tmp_path / filename, text))
    assert list(df.columns) == ["resp_id", "role", "ppo1", "ppo2", "ppo3"]
    assert len(df) == 6
    assert df["ppo1"].tolist() == [1, 4, -9, 2, 5, 3]
    assert df["ppo1"].dtype == np.int64
    assert df["role"].tolist()[:2] == ["citizen", "professional"]
    assert pd.isna(df["role"].iloc[3])
    assert isinstance(df.index, pd.RangeIndex) and df.index[0] == 0
    assert df.attrs["source"] == str(tmp_path / filename)
    assert df.attrs["value_labels"] == {}


def test_sniffing_copes_with_quoted_delimiters_and_bom(tmp_path):
    text = '\ufeffname;comment;q1\n"Smith, J";"yes; no";1\n"Doe, A";"a, b; c";2\n'
    df = read_table(write(tmp_path / "q.csv", text))
    assert list(df.columns) == ["name", "comment", "q1"]
    assert df["comment"].tolist() == ["yes; no", "a, b; c"]
    assert df["q1"].tolist() == [1, 2]


def test_single_column_file(tmp_path):
    df = read_table(write(tmp_path / "one.csv", "q1\n1\n2\n\n3\n"))
    assert list(df.columns) == ["q1"]
    assert df["q1"].tolist() == [1, 2, 3]


def test_sniffing_a_file_larger_than_the_sample(tmp_path):
    rows = "".join(f"{i};{i % 5 + 1};{(i * 7) % 5 + 1};x{i}\n" for i in range(20000))
    df = read_table(write(tmp_path / "big.csv", "id;q1;q2;note\n" + rows))
    assert df.shape == (20000, 4)
    assert df["q2"].iloc[-1] == (19999 * 7) % 5 + 1


def test_types_missing_values_and_identifiers(tmp_path):
    text = (
        "id,num,dec,txt,na,spaces,big\n"
        "007,1,1.5,a,NA,  ,12345678901234567890\n"
        "010,2,,b,,3,1\n"
        "011,3,2.25,c,null, 4 ,2\n"
    )
    df = read_table(write(tmp_path / "t.csv", text))
    # leading zeros: an identifier, kept as text
    assert df["id"].tolist() == ["007", "010", "011"]
    assert df["num"].dtype == np.int64
    assert df["dec"].dtype == np.float64 and np.isnan(df["dec"].iloc[1])
    assert df["dec"].iloc[2] == 2.25
    assert df["txt"].tolist() == ["a", "b", "c"]
    assert df["na"].isna().all()
    # white space only is missing; numbers with spaces around them are numbers
    assert df["spaces"].dtype == np.float64
    assert np.isnan(df["spaces"].iloc[0]) and df["spaces"].iloc[2] == 4
    # more digits than a float holds: kept as text, not rounded
    assert df["big"].iloc[0] == "12345678901234567890"


def test_decimal_values_are_parsed_exactly(tmp_path):
    values = ["0.1", "2.675", "1e-3", "3.14159265358979", "-0.5"]
    df = read_table(write(tmp_path / "d.csv", "x\n" + "\n".join(values) + "\n"))
    assert df["x"].tolist() == [float(v) for v in values]


ENGINE_SAMPLES = {
    "plain": "a,b,c\n1,2,3\n4,,6\n",
    "quoted": 'a,b\n"x, y",1\n"multi\nline",2\n"",3\n',
    "na": "a,b\nNA,NULL\nnan,N/A\n#N/A,None\n",
    "spaces": "a,b\n 1 , x \n2,  \n",
    "dates_and_bools": "a,b\n2020-01-01,true\n2021-02-03,False\n",
    "blank_lines": "a,b\n1,2\n\n3,4\n\n",
    "crlf": "a,b\r\n1,2\r\n3,4\r\n",
    "unnamed": ",a,b\n1,2,3\n",
    "unicode": "naam,waarde\nZoë,1\nÅse,2\n",
}


@pytest.mark.parametrize("sample", sorted(ENGINE_SAMPLES))
def test_pyarrow_and_c_engines_give_identical_tables(tmp_path, sample, monkeypatch):
    path = write(tmp_path / "e.csv", ENGINE_SAMPLES[sample])
    a = survey._parse_csv(path, ",", "pyarrow")
    c = survey._parse_csv(path, ",", "c")
    pd.testing.assert_frame_equal(a, c)
    with_arrow = read_table(path)
    monkeypatch.setattr(survey, "_HAVE_PYARROW", False)
    without_arrow = read_table(path)
    pd.testing.assert_frame_equal(with_arrow, without_arrow)


def test_plain_csv_is_read_by_the_pyarrow_engine(tmp_path, monkeypatch):
    engines = []
    real = survey._parse_csv
    real_fast = survey._read_arrow

    def spy(src, delimiter, engine):
        engines.append(engine)
        return real(src, delimiter, engine)

    def spy_fast(*args):
        engines.append("arrow")
        return real_fast(*args)

    monkeypatch.setattr(survey, "_parse_csv", spy)
    monkeypatch.setattr(survey, "_read_arrow", spy_fast)
    read_table(write(tmp_path / "p.csv", SURVEY))
    assert engines == ["arrow"]  # the one-pass typed read; no text frame
    engines.clear()
    with pytest.raises(InputError):
        read_table(write(tmp_path / "r.csv", "a,b\n1,2,3\n"))
    assert engines == ["arrow", "pyarrow"]  # the ragged-row check reports before the C engine runs
    engines.clear()
    monkeypatch.setattr(survey, "_FAST_CSV", False)
    read_table(write(tmp_path / "p.csv", SURVEY))
    assert engines == ["pyarrow"]


# Columns the one-pass pyarrow reader (_read_arrow) must type exactly as the
# careful path (every column as text, then _infer_text_columns) does.
FAST_SAMPLES = {
    "likert": "a,b\n1,2\n3,4\n5,1\n",
    "likert_missing": "a,b\n1,\n,2\nNA,3\n4,null\n",
    "leading_zeros": "id,q\n007,1\n010,2\n0,3\n",
    "zero_alone": "a,b\n0,1\n10,2\n5,3\n",
    "minus_zero": "a\n-0\n1\n",
    "minus_leading_zero": "a\n-05\n1\n",
    "hex": "a\n0x10\n5\n",
    "hex_big": "a\n0xFFFFFFFF\n5\n",
    "plus_sign": "a\n+5\n3\n",
    "spaces": "a\n 5\n3 \n",
    "long_digits": "a\n1234567890123456\n1\n",
    "fifteen_digits": "a\n123456789012345\n-123456789012345\n",
    "overflow": "a\n99999999999999999999\n1\n",
    "exponent": "a\n1e2\n100\n",
    "decimals": "a\n0.5\n.5\n5.\n-2.25\n",
    "negative": "a\n-3\n-10\n2\n",
    "blank_only": "a,b\n ,1\n  ,2\n",
    "quoted_numbers": 'a,b\n"1",x\n"2",""\n',
    "all_missing": "a,b\nNA,1\n,2\n",
    "header_only": "a,b\n",
    "inf_nan_text": "a,b\ninf,1\nNAN,2\n",
    "unicode_digits": "a\n\u0663\n1\n",
    "semicolon": "a;b\n1;2,5\n3;4\n",
    "one_digit_answers": "a,b,c\n0,9,1\n5,,2\n1,3,NA\n",
    "one_char_text": "a\n5\nx\n",
    "one_char_sign": "a\n-\n5\n",
    "one_char_point": "a\n.\n5\n",
    "one_digit_quoted_empty": 'a,b\n"",1\n5,2\n',
    "one_and_two_digits": "a\n5\n10\n",
}


@pytest.mark.parametrize("sample", sorted(FAST_SAMPLES))
def test_fast_reader_types_columns_as_the_careful_path(tmp_path, sample, monkeypatch):
    path = write(tmp_path / "f.csv", FAST_SAMPLES[sample])
    fast = read_table(path)
    monkeypatch.setattr(survey, "_FAST_CSV", False)
    careful = read_table(path)
    pd.testing.assert_frame_equal(fast, careful)
    monkeypatch.setattr(survey, "_HAVE_PYARROW", False)
    pd.testing.assert_frame_equal(fast, read_table(path))


def test_fast_reader_on_a_file_of_several_blocks(tmp_path, monkeypatch):
    # more than pyarrow's 1 MB blocks, with the surprises late in the file
    rng = np.random.default_rng(3)
    n = 120_000
    cols = {
        "id": np.arange(1, n + 1).astype(str).astype(object),
        "q1": rng.integers(1, 6, n).astype(str).astype(object),
        "q2": rng.integers(1, 6, n).astype(str).astype(object),
        "q3": rng.integers(0, 11, n).astype(str).astype(object),
        "code": rng.integers(1, 6, n).astype(str).astype(object),
        "note": np.where(rng.random(n) < 0.5, "x", "y").astype(object),
    }
    cols["q2"][rng.random(n) < 0.02] = ""
    cols["q3"][n - 5] = "7.5"  # a decimal at the end: float64, not int64
    cols["code"][n - 3] = "05"  # a leading zero at the end: text
    text = ",".join(cols) + "\n" + "\n".join(",".join(r) for r in zip(*cols.values())) + "\n"
    path = write(tmp_path / "big.csv", text)
    fast = read_table(path)
    assert fast["q1"].dtype == np.int64 and fast["q2"].dtype == np.float64
    assert fast["q3"].dtype == np.float64 and fast["q3"].iloc[n - 5] == 7.5
    assert fast["code"].iloc[n - 3] == "05"
    monkeypatch.setattr(survey, "_PARALLEL_CELLS", 0)  # columns converted side by side
    pd.testing.assert_frame_equal(fast, read_table(path))
    monkeypatch.setattr(survey, "_FAST_CSV", False)
    pd.testing.assert_frame_equal(fast, read_table(path))


def test_compact_reading_gives_the_same_prepared_data(tmp_path):
    """``compact=True`` reads one-digit answers as int8 / float32 (same values); prepare gives identical data."""
    rng = np.random.default_rng(5)
    n = 50_000
    cols = {f"q{j}": rng.integers(1, 6, n).astype(str).astype(object) for j in range(1, 5)}
    cols["q2"][rng.random(n) < 0.03] = ""
    cols["q4"][rng.random(n) < 0.01] = "9"  # the missing-value code
    text = ",".join(cols) + "\n" + "\n".join(",".join(r) for r in zip(*cols.values())) + "\n"
    path = write(tmp_path / "answers.csv", text)
    wide, compact = read_table(path), read_table(path, compact=True)
    assert [str(d) for d in wide.dtypes] == ["int64", "float64", "int64", "int64"]
    assert [str(d) for d in compact.dtypes] == ["float32"] * 4
    pd.testing.assert_frame_equal(compact.astype(float), wide.astype(float))
    inst = make_instrument(make_scale("s", ["q1", "q2", "q3", "q4"], reverse=("q3",), missing=(9,)))
    a, b = prepare(wide, inst, source="answers.csv"), prepare(compact, inst, source="answers.csv")
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.screening == b.screening


def _binary_chunks(*chunks):
    import pyarrow as pa

    return pa.chunked_array([pa.array(c, pa.binary()) if isinstance(c, list) else c for c in chunks], pa.binary())


def _expected_column(col):
    """What the careful path makes of the texts of an Arrow column."""
    texts = [np.nan if v is None else v.decode() for v in col.to_pylist()]
    return survey._infer_text_column(pd.Series(texts, dtype=object)).to_numpy()


def test_one_digit_columns_are_read_from_the_arrow_buffers():
    import pyarrow as pa

    sliced = pa.array([b"9", b"1", None, b"3", b"0", b"4"], pa.binary()).slice(1, 4)  # offset into the buffers
    cases = {
        "complete": (_binary_chunks([b"1", b"5"], [], [b"3"]), np.int64),
        "missing": (_binary_chunks([b"1", None], [None, None], sliced), np.float64),
        "valid empty value": (_binary_chunks([b"", b"2"], [None]), np.float64),
    }
    for name, (col, dtype) in cases.items():
        got = survey._single_digits(col)
        assert got is not None, name
        assert got.dtype == dtype, name
        np.testing.assert_array_equal(got, _expected_column(col), err_msg=name)


def test_one_digit_reader_leaves_other_columns_to_the_general_rules():
    import pyarrow as pa

    # a null whose slot holds a byte: offsets 0,1,2,3 over "152", the middle slot null
    validity = pa.py_buffer(np.packbits(np.array([1, 0, 1], dtype=bool), bitorder="little").tobytes())
    offsets = pa.py_buffer(np.array([0, 1, 2, 3], dtype=np.int32).tobytes())
    null_with_byte = pa.Array.from_buffers(pa.binary(), 3, [validity, offsets, pa.py_buffer(b"152")], null_count=1)
    cases = {
        "two digits": _binary_chunks([b"5", b"10"]),
        "not a digit": _binary_chunks([b"5"], [b"x"]),
        "space": _binary_chunks([b" ", b"5"]),
        "empty in a complete column": _binary_chunks([b"5", b""]),
        "all missing": _binary_chunks([None, None]),
        "no rows": _binary_chunks([]),
        "null holding a byte": pa.chunked_array([null_with_byte]),
    }
    for name, col in cases.items():
        assert survey._single_digits(col) is None, name
        got, expected = survey._arrow_column(col), _expected_column(col)
        if expected.dtype == object:  # text
            assert list(got) == list(expected), name
        else:
            assert got.dtype == expected.dtype, name
            np.testing.assert_array_equal(got, expected, err_msg=name)


def test_not_utf8_after_the_sample_with_the_fast_reader(tmp_path, monkeypatch):
    path = str(tmp_path / "latin.csv")
    body = "".join(f"x{i},1\n" for i in range(30000))
    with open(path, "wb") as fh:
        fh.write(b"naam,q1\n" + body.encode() + "José,1\n".encode("latin-1"))
    fast = one_line_error(InputError, read_table, path)
    assert fast.startswith(f"{path}: the file is not UTF-8 text")
    monkeypatch.setattr(survey, "_HAVE_PYARROW", False)
    assert one_line_error(InputError, read_table, path) == fast


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_columns_reads_only_the_columns_asked_for(tmp_path, ext, monkeypatch):
    frame = pd.DataFrame({"id": ["007", "008", "009"], "role": ["a", "b", None], "q1": [1, 2, 3], "q2": [4.5, None, 1.0]})
    path = str(tmp_path / f"c.{ext}")
    if ext == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    full = read_table(path)
    part = read_table(path, columns=["q2", "id"])
    assert list(part.columns) == ["id", "q2"]  # file order
    pd.testing.assert_frame_equal(part, full[["id", "q2"]])
    # a column the file lacks: everything is read, for prepare() to explain
    pd.testing.assert_frame_equal(read_table(path, columns=["q1", "Q2"]), full)
    if ext == "csv":
        for flag in ("_FAST_CSV", "_HAVE_PYARROW"):
            monkeypatch.setattr(survey, flag, False)
            pd.testing.assert_frame_equal(read_table(path, columns=["q2", "id"]), part)


def test_prepare_gives_the_same_data_from_a_column_subset(tmp_path):
    path, df = survey_file(tmp_path)
    columns = ["resp_id", "role"] + INSTRUMENT.columns
    subset = read_table(path, columns=columns)
    a = prepare(df, INSTRUMENT, source="s.csv", id_column="resp_id", group="role")
    b = prepare(subset, INSTRUMENT, source="s.csv", id_column="resp_id", group="role")
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.screening == b.screening


def _prepared_tuple(p: Prepared):
    return p.data, p.group, p.ids, p.screening.to_dict(), p.groups


def _assert_same_prepared(a, b):
    pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
    assert a[0].to_numpy().tobytes() == b[0].to_numpy().tobytes()
    for x, y in zip(a[1:3], b[1:3]):
        if x is None:
            assert y is None
        else:
            pd.testing.assert_series_equal(x, y)
    assert a[3:] == b[3:]


def test_prepare_in_slices_and_threads_gives_the_same_result(monkeypatch):
    rng = np.random.default_rng(7)
    n = 300
    cols = {c: rng.integers(1, 6, n).astype(float) for c in ["a1", "a2", "a3", "b1", "b2", "b3", "b4", "c1"]}
    for c in cols:
        cols[c][rng.random(n) < 0.05] = np.nan
    straight = rng.random(n) < 0.2
    for c in ["a1", "a2", "a3"]:
        cols[c][straight] = 4.0
    cols["b2"][rng.random(n) < 0.05] = 99  # a missing-value code
    cols["b3"][rng.random(n) < 0.03] = 7  # outside the range
    cols["b4"] = np.where(np.isnan(cols["b4"]), np.nan, cols["b4"].astype(object))  # text-like object column
    df = pd.DataFrame(cols)
    df["id"] = rng.integers(0, n, n).astype(str)
    df["g"] = np.where(rng.random(n) < 0.1, None, np.where(rng.random(n) < 0.5, "x", "y"))
    instrument = make_instrument(
        make_scale("a", ["a1", "a2", "a3"], reverse=("a3",), missing=(99,)),
        make_scale("b", ["b1", "b2", "b3", "b4"], reverse=("b1", "b4"), missing=(99,)),
        make_scale("c", ["c1"], missing=(99,)),
    )
    original = df.copy()
    runs = [
        dict(coerce_out_of_range=True, id_column="id"),
        dict(coerce_out_of_range=True, id_column="id", group="g"),
        dict(coerce_out_of_range=True, group="g", groups=["y"]),
    ]
    expected = [_prepared_tuple(prepare(df, instrument, source="f", **kw)) for kw in runs]
    assert expected[0][3]["straightliners"]["a"]["count"] > 20
    with pytest.raises(InputError) as info:
        prepare(df, instrument, source="f")
    range_error = str(info.value)
    bad = df.assign(c1=df["c1"].astype(object), a2=df["a2"].astype(object))
    bad.loc[250, "c1"], bad.loc[260, "a2"] = "x", "y"
    with pytest.raises(InputError) as info:
        prepare(bad, instrument, source="f")
    bad_error = str(info.value)

    monkeypatch.setattr(survey, "_SLICE_ROWS", 16)
    monkeypatch.setattr(survey, "_PARALLEL_CELLS", 0)
    for kw, exp in zip(runs, expected):
        _assert_same_prepared(_prepared_tuple(prepare(df, instrument, source="f", **kw)), exp)
    assert one_line_error(InputError, prepare, df, instrument, source="f") == range_error
    assert one_line_error(InputError, prepare, bad, instrument, source="f") == bad_error
    pd.testing.assert_frame_equal(df, original)  # the input is left alone


def test_dates_and_booleans_stay_text(tmp_path):
    df = read_table(write(tmp_path / "e.csv", ENGINE_SAMPLES["dates_and_bools"]))
    assert df["a"].tolist() == ["2020-01-01", "2021-02-03"]
    assert df["b"].tolist() == ["true", "False"]


def test_whitespace_only_line_is_skipped(tmp_path):
    df = read_table(write(tmp_path / "w.csv", "a,b\n1,2\n   \n3,4\n"))
    assert df["a"].tolist() == [1, 3]


@pytest.mark.parametrize("use_arrow", [True, False])
@pytest.mark.parametrize(
    "text,row,fields",
    [("a,b,c\n1,2,3\n4,5\n6,7,8\n", 2, 2), ("a,b\n1,2\n\n3,4\n5,6,7\n", 3, 3)],
)
def test_ragged_rows_are_an_error(tmp_path, monkeypatch, use_arrow, text, row, fields):
    monkeypatch.setattr(survey, "_HAVE_PYARROW", use_arrow)
    path = write(tmp_path / "r.csv", text)
    msg = one_line_error(InputError, read_table, path)
    assert msg.startswith(f"{path}, row {row}: {fields} fields but the header has")


def test_stdin(monkeypatch):
    class FakeStdin:
        buffer = io.BytesIO(SURVEY.replace(",", ";").encode())

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    df = read_table("-")
    assert df.shape == (6, 5)
    assert df["ppo3"].tolist() == [5, 4, 2, 1, 5, 4]
    assert df.attrs["source"] == "-"


def test_empty_stdin(monkeypatch):
    class FakeStdin:
        buffer = io.BytesIO(b"")

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    msg = one_line_error(InputError, read_table, "-")
    assert msg.startswith("stdin:")


# --------------------------------------------------------------------------
# read_table: errors


def test_no_such_file(tmp_path):
    path = str(tmp_path / "nope.csv")
    assert one_line_error(InputError, read_table, path) == f"{path}: no such file"


def test_directory(tmp_path):
    d = tmp_path / "data.csv"
    d.mkdir()
    msg = one_line_error(InputError, read_table, str(d))
    assert msg.startswith(str(d)) and "directory" in msg


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path / "empty.csv", content)
    assert one_line_error(InputError, read_table, path) == f"{path}: the file is empty"


@pytest.mark.parametrize("name,hint", [("data.json", ".json"), ("data.xls", "save it as .xlsx"), ("data", "no extension")])
def test_unknown_extension(tmp_path, name, hint):
    path = write(tmp_path / name, "a,b\n1,2\n")
    msg = one_line_error(InputError, read_table, path)
    assert msg.startswith(f"{path}: unsupported file type") and hint in msg and ".csv" in msg


def test_duplicate_column_names_csv(tmp_path):
    path = write(tmp_path / "dup.csv", "id,ppo1,ppo2,ppo1\n1,2,3,4\n")
    msg = one_line_error(InputError, read_table, path)
    assert msg == (
        f"{path}: column name ppo1 appears more than once in the header (columns 2 and 4); "
        "rename one of them"
    )


def test_not_utf8(tmp_path):
    path = str(tmp_path / "latin.csv")
    with open(path, "wb") as fh:
        fh.write("naam,q1\nJosé,1\n".encode("latin-1"))
    msg = one_line_error(InputError, read_table, path)
    assert msg.startswith(f"{path}: line 2 is not UTF-8") and "UTF-8" in msg


def test_not_utf8_after_the_sample(tmp_path, monkeypatch):
    monkeypatch.setattr(survey, "_HAVE_PYARROW", False)
    path = str(tmp_path / "latin.csv")
    body = "".join(f"{i},1\n" for i in range(30000))
    with open(path, "wb") as fh:
        fh.write(b"naam,q1\n" + body.encode() + "José,1\n".encode("latin-1"))
    msg = one_line_error(InputError, read_table, path)
    assert msg.startswith(f"{path}: the file is not UTF-8 text")


def test_header_only_is_an_error_in_prepare(tmp_path):
    path = write(tmp_path / "h.csv", "ppo1,ppo2,ppo3\n")
    df = read_table(path)
    assert len(df) == 0
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source=path)
    assert msg == f"{path}: no data rows (only a header)"


# --------------------------------------------------------------------------
# read_table: Excel


def _write_xlsx(path, rows, title="answers", extra_sheet=None):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    if extra_sheet:
        ws2 = wb.create_sheet(extra_sheet[0])
        for r in extra_sheet[1]:
            ws2.append(r)
    wb.save(path)
    return str(path)


def test_xlsx(tmp_path):
    rows = [
        ["resp_id", "ppo1", "ppo2", "ppo3", 2020],
        ["007", 1, "2", 5, None],
        [None, None, None, None, None],
        ["009", 4.0, 4, " 3 ", 1.5],
        [None, None, None, None, None],
    ]
    path = _write_xlsx(tmp_path / "s.xlsx", rows)
    df = read_table(path)
    assert list(df.columns) == ["resp_id", "ppo1", "ppo2", "ppo3", "2020"]
    # the empty row inside the data is kept (row n = spreadsheet row n + 1),
    # the trailing one is dropped
    assert len(df) == 3
    assert df["resp_id"].tolist()[0] == "007" and df["resp_id"].tolist()[2] == "009"
    assert df["ppo1"].dtype == np.float64
    assert df["ppo2"].tolist()[0] == 2.0 and df["ppo3"].tolist()[2] == 3.0
    assert df["2020"].tolist()[2] == 1.5
    assert df.attrs["value_labels"] == {}


def test_xlsx_sheets(tmp_path):
    path = _write_xlsx(tmp_path / "s.xlsx", [["a"], [1]], extra_sheet=("second", [["b"], [2], [3]]))
    assert list(read_table(path).columns) == ["a"]
    assert read_table(path, sheet="second")["b"].tolist() == [2, 3]
    assert read_table(path, sheet="2")["b"].tolist() == [2, 3]
    assert read_table(path, sheet=2)["b"].tolist() == [2, 3]
    msg = one_line_error(InputError, read_table, path, sheet="third")
    assert msg == f"{path}: no sheet third (sheets: answers, second)"


def test_sheet_for_a_csv_file_is_an_error(tmp_path):
    path = write(tmp_path / "s.csv", SURVEY)
    assert one_line_error(InputError, read_table, path, sheet="x") == f"{path}: a sheet can only be chosen in .xlsx files"


def test_xlsx_duplicate_header(tmp_path):
    path = _write_xlsx(tmp_path / "s.xlsx", [["id", "q", "q"], [1, 2, 3]])
    msg = one_line_error(InputError, read_table, path)
    assert msg.startswith(f"{path}: column name q appears more than once")


def test_xlsx_empty_sheet(tmp_path):
    path = _write_xlsx(tmp_path / "s.xlsx", [])
    assert one_line_error(InputError, read_table, path) == f"{path}: sheet answers is empty"


def test_xlsx_booleans_and_error_cells_are_not_numbers(tmp_path):
    path = _write_xlsx(tmp_path / "s.xlsx", [["ppo1", "ppo2", "ppo3"], [1, 2, 3], [2, True, 3]])
    df = read_table(path)
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source=path)
    assert msg == f"{path}, row 2, column ppo2: value True is not a number"


@pytest.mark.parametrize("ext", [".xlsx", ".sav", ".parquet"])
def test_corrupt_binary_files(tmp_path, ext):
    path = str(tmp_path / f"broken{ext}")
    with open(path, "wb") as fh:
        fh.write(b"this is not a real file\x00\x01\x02" * 10)
    msg = one_line_error(InputError, read_table, path)
    assert msg.startswith(f"{path}: not a readable")


# --------------------------------------------------------------------------
# read_table: SPSS and Parquet


def test_sav_user_missing_and_value_labels(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame(
        {
            "resp_id": [1.0, 2.0, 3.0, 4.0],
            "ppo1": [1.0, 5.0, 99.0, 3.0],
            "ppo2": [2.0, -9.0, 3.0, 3.0],
            "name": ["a", "b", "c", "d"],
        }
    )
    path = str(tmp_path / "s.sav")
    pyreadstat.write_sav(
        df,
        path,
        missing_ranges={"ppo1": [99]},
        variable_value_labels={"ppo1": {1.0: "disagree", 5.0: "agree"}},
    )
    out = read_table(path)
    assert np.isnan(out["ppo1"].iloc[2])  # user-missing 99 -> NaN
    assert out["ppo1"].tolist()[:2] == [1.0, 5.0]  # numeric codes, not labels
    assert out["ppo2"].iloc[1] == -9.0  # not defined as missing in the file
    assert out["name"].tolist() == ["a", "b", "c", "d"]
    assert out.attrs["value_labels"] == {"ppo1": {1: "disagree", 5: "agree"}}
    assert out.attrs["source"] == path


def test_parquet(tmp_path):
    path = str(tmp_path / "s.parquet")
    pd.DataFrame({"resp_id": ["a", "b"], "ppo1": [1, 2], "ppo2": [2.0, None], "ppo3": pd.array([3, None], dtype="Int64")}).to_parquet(path)
    df = read_table(path)
    assert list(df.columns) == ["resp_id", "ppo1", "ppo2", "ppo3"]
    prepared = prepare(df, INSTRUMENT, source=path)
    assert prepared.data["ppo1"].tolist() == [1.0, 2.0]
    assert np.isnan(prepared.data["ppo3"].iloc[1])
    assert prepared.data["ppo3"].iloc[0] == 3.0  # reverse: 1 + 5 - 3


def test_parquet_duplicate_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = str(tmp_path / "d.parquet")
    pq.write_table(pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["q", "q"]), path)
    msg = one_line_error(InputError, read_table, path)
    assert msg.startswith(f"{path}: column name q appears more than once")


def test_parquet_infinite_value(tmp_path):
    path = str(tmp_path / "inf.parquet")
    pd.DataFrame({"ppo1": [1.0, np.inf], "ppo2": [1.0, 2.0], "ppo3": [1.0, 2.0]}).to_parquet(path)
    msg = one_line_error(InputError, prepare, read_table(path), INSTRUMENT, source=path)
    assert msg == f"{path}, row 2, column ppo1: value inf is not a finite number"


# --------------------------------------------------------------------------
# prepare: columns and values


def survey_file(tmp_path, text=SURVEY, name="survey.csv"):
    path = write(tmp_path / name, text)
    return path, read_table(path)


def test_prepare_basic(tmp_path):
    path, df = survey_file(tmp_path)
    before = sha(path)
    p = prepare(df, INSTRUMENT, source="survey.csv")
    assert isinstance(p, Prepared) and isinstance(p.screening, Screening)
    assert sha(path) == before  # the input file is never written
    assert list(p.data.columns) == ["ppo1", "ppo2", "ppo3"]
    assert list(p.data.index) == [1, 2, 3, 4, 5, 6]
    assert (p.data.dtypes == np.float64).all()
    # ppo3 is reverse keyed: 1 + 5 - x
    assert p.data["ppo3"].tolist() == [1.0, 2.0, 4.0, 5.0, 1.0, 2.0]
    assert p.data["ppo1"].tolist()[:2] == [1.0, 4.0]
    assert np.isnan(p.data.loc[3, "ppo1"])  # -9 is a missing code
    assert p.group is None and p.ids is None and p.groups is None
    assert p.source == "survey.csv"
    s = p.screening
    assert s.rows_read == 6 and s.rows_used == 5
    assert s.missing_codes_found == {"ppo1": 1}
    assert s.missing_per_item == {"ppo1": 1, "ppo2": 0, "ppo3": 0}
    assert df["ppo1"].tolist() == [1, 4, -9, 2, 5, 3]  # the caller's frame is untouched


def test_missing_item_column_with_close_match(tmp_path):
    path, df = survey_file(tmp_path, SURVEY.replace("ppo2", "PPO_2"))
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source="survey.csv")
    assert msg.startswith("survey.csv: column ppo2 (scale professional_openness) not found; close matches: PPO_2, ")


def test_several_missing_item_columns(tmp_path):
    _, df = survey_file(tmp_path, "x,y\n1,2\n")
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source="survey.csv")
    assert msg == (
        "survey.csv: column ppo1 (scale professional_openness) not found; "
        "the file has columns: x, y; 2 more item columns are missing: ppo2, ppo3"
    )


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({"id_column": "respid"}, 'survey.csv: id column respid not found; close matches: resp_id'),
        ({"group": "Role"}, "survey.csv: group column Role not found; close matches: role"),
    ],
)
def test_missing_id_or_group_column(tmp_path, kwargs, expected):
    _, df = survey_file(tmp_path)
    assert one_line_error(InputError, prepare, df, INSTRUMENT, source="survey.csv", **kwargs) == expected


def test_text_answers(tmp_path):
    text = "ppo1,ppo2,ppo3\n1,2,3\n\"3\", ,4\n2,agree,5\n1,disagree,1\n"
    _, df = survey_file(tmp_path, text)
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source="survey.csv")
    assert msg.startswith('survey.csv, row 3, column ppo2: value "agree" is not a number')


def test_first_offending_row_wins_across_columns(tmp_path):
    text = "ppo1,ppo2,ppo3\n1,2,3\n1,2,x\n1,y,3\n"
    _, df = survey_file(tmp_path, text)
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source="survey.csv")
    assert msg.startswith('survey.csv, row 2, column ppo3: value "x"')


def test_numeric_strings_and_blanks_are_fine(tmp_path):
    df = pd.DataFrame({"ppo1": ["1", " 2 ", "", "  "], "ppo2": ["3", "4.0", None, "5"], "ppo3": [1, 2, 3, 4]})
    p = prepare(df, INSTRUMENT, source="frame")
    assert p.data["ppo1"].tolist()[:2] == [1.0, 2.0]
    assert p.data["ppo1"].isna().tolist() == [False, False, True, True]
    assert p.data["ppo2"].tolist()[1] == 4.0
    assert p.screening.missing_per_item == {"ppo1": 2, "ppo2": 1, "ppo3": 0}


def test_value_with_newline_gives_one_line_message(tmp_path):
    _, df = survey_file(tmp_path, 'ppo1,ppo2,ppo3\n1,"two\nlines",3\n')
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source="survey.csv")
    assert msg.startswith('survey.csv, row 1, column ppo2: value "two\\nlines" is not a number')


def test_out_of_range(tmp_path):
    text = "ppo1,ppo2,ppo3\n1,2,3\n1,2,3\n" + "1,7,3\n" * 14 + "1,2,0\n1,2,3\n1,6,3\n"
    path, df = survey_file(tmp_path, text)
    before = sha(path)
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source="survey.csv")
    assert msg == (
        "survey.csv, row 3, column ppo2: value 7 is outside the response range 1-5; "
        "16 such values in all (use --coerce-out-of-range to treat it as missing)"
    )
    p = prepare(df, INSTRUMENT, source="survey.csv", coerce_out_of_range=True)
    assert p.screening.out_of_range_coerced == {"ppo2": 15, "ppo3": 1}
    assert p.data["ppo2"].isna().sum() == 15
    assert np.isnan(p.data.loc[17, "ppo3"])
    assert p.screening.missing_per_item["ppo2"] == 15
    assert "16 answers outside the response range were treated as missing (ppo2 15, ppo3 1)" in p.screening.warnings
    assert sha(path) == before


def test_out_of_range_single_value_message(tmp_path):
    _, df = survey_file(tmp_path, "ppo1,ppo2,ppo3\n1,2,3\n1,2,3\n1,2,3\n2,2,5.5\n")
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source="survey.csv")
    assert msg == (
        "survey.csv, row 4, column ppo3: value 5.5 is outside the response range 1-5 "
        "(use --coerce-out-of-range to treat it as missing)"
    )


def test_non_integer_answers_inside_range_are_kept(tmp_path):
    _, df = survey_file(tmp_path, "ppo1,ppo2,ppo3\n1.5,2,3\n")
    p = prepare(df, INSTRUMENT, source="s.csv")
    assert p.data["ppo1"].tolist() == [1.5]


def test_missing_codes_numeric_and_text():
    scale = make_scale("s", ["a", "b", "c"], missing=(-9, 99, "refused", "-8"))
    df = pd.DataFrame({"a": [1, -9, 99, 2], "b": ["refused", "2", "-8", " refused "], "c": [3, 3, 3, 3]})
    p = prepare(df, make_instrument(scale), source="f.csv")
    assert p.screening.missing_codes_found == {"a": 2, "b": 3}
    assert p.data["a"].isna().tolist() == [False, True, True, False]
    assert p.data["b"].isna().tolist() == [True, False, True, True]
    assert "5 answers used a missing-value code and were treated as missing (a 2, b 3)" in p.screening.warnings


def test_missing_code_is_applied_before_the_range_check(tmp_path):
    _, df = survey_file(tmp_path, "ppo1,ppo2,ppo3\n-9,-9,-9\n1,2,3\n")
    p = prepare(df, INSTRUMENT, source="s.csv")
    assert p.data.loc[1].isna().all()
    assert p.screening.rows_used == 1


def test_reverse_keying_numbers():
    scale = make_scale("s", ["a", "b", "c"], reverse=("b", "c"), lo=0, hi=10)
    other = make_scale("t", ["d"], reverse=("d",), lo=-3, hi=3)
    df = pd.DataFrame({"a": [0, 10], "b": [0, 7.5], "c": [None, 10], "d": [-3, 1]})
    p = prepare(df, make_instrument(scale, other), source="f")
    assert p.data["a"].tolist() == [0.0, 10.0]
    assert p.data["b"].tolist() == [10.0, 2.5]
    assert np.isnan(p.data["c"].iloc[0]) and p.data["c"].iloc[1] == 0.0
    assert p.data["d"].tolist() == [3.0, -1.0]


def test_reverse_keying_without_range_is_a_scale_error():
    scale = Scale(name="s", items=(Item(id="a", column="a", reverse=True),), response=Response())
    msg = one_line_error(ScaleError, prepare, pd.DataFrame({"a": [1]}), make_instrument(scale), source="f")
    assert msg == "scales.yaml: scale s, item a is reverse-keyed but the response range (min and max) is not set"


def test_conflicting_use_of_one_column_is_a_scale_error():
    s1 = make_scale("s1", ["a", "b", "c"])
    s2 = make_scale("s2", ["a", "d", "e"], reverse=("a",))
    df = pd.DataFrame({c: [1] for c in "abcde"})
    msg = one_line_error(ScaleError, prepare, df, make_instrument(s1, s2), source="f")
    assert msg.startswith("scales.yaml: column a is used by scales s1 and s2")


def test_shared_column_with_same_settings_is_fine():
    s1 = make_scale("s1", ["a", "b", "c"])
    s2 = make_scale("s2", ["a", "d", "e"])
    df = pd.DataFrame({c: [1, 2] for c in "abcde"})
    p = prepare(df, make_instrument(s1, s2), source="f")
    assert list(p.data.columns) == ["a", "b", "c", "d", "e"]


def test_open_ended_range():
    scale = Scale(name="s", items=(Item(id="a", column="a"),), response=Response(min=0))
    df = pd.DataFrame({"a": [0, 1000, -1]})
    msg = one_line_error(InputError, prepare, df, make_instrument(scale), source="f")
    assert msg.startswith("f, row 3, column a: value -1 is outside the response range 0 or more")


# --------------------------------------------------------------------------
# prepare: screening


def test_straightlining_uses_raw_answers():
    scale = make_scale("professional_openness", ["a", "b", "c"], reverse=("c",))
    df = pd.DataFrame(
        {
            "a": [1, 1, 3, 5, 2, 4, 4],
            "b": [1, 1, 3, 5, 2, 4, None],
            "c": [1, 5, 3, 5, 2, 4, 4],  # row 2 is 1,1,1 only after reverse keying
        }
    )
    p = prepare(df, make_instrument(scale), source="f")
    assert p.screening.straightliners == {"professional_openness": {"count": 5, "rows": [1, 3, 4, 5, 6]}}
    assert ("straight-lining: respondents who gave the same answer to every item of a scale "
            "(professional_openness 5)") in p.screening.warnings


def test_straightlining_lists_first_20_rows_and_ignores_short_scales():
    long = make_scale("long", ["a", "b", "c"])
    short = make_scale("short", ["d", "e"])
    df = pd.DataFrame({c: [3] * 30 + [1] for c in "abcde"})
    df.loc[30, "b"] = 2
    p = prepare(df, make_instrument(long, short), source="f")
    assert p.screening.straightliners["long"]["count"] == 30
    assert p.screening.straightliners["long"]["rows"] == list(range(1, 21))
    assert "short" not in p.screening.straightliners


def test_one_respondent_wording():
    scale = make_scale("s", ["a", "b", "c"])
    df = pd.DataFrame({"a": [1, 2], "b": [1, 3], "c": [1, 4]})
    p = prepare(df, make_instrument(scale), source="f")
    assert "straight-lining: respondents who gave the same answer to every item of a scale (s 1)" in p.screening.warnings


def test_zero_variance_items():
    scale = make_scale("s", ["a", "b", "c", "d"])
    df = pd.DataFrame({"a": [3, 3, 3, None], "b": [1, 2, 3, 4], "c": [-9, -9, -9, -9], "d": [1, 2, 1, 2]})
    p = prepare(df, make_instrument(scale), source="f")
    assert p.screening.zero_variance_items == ["a"]
    assert p.screening.missing_per_item["c"] == 4
    assert "nobody answered c" in p.screening.warnings
    assert "everybody who answered a gave the same answer, so it carries no information" in p.screening.warnings


def test_duplicate_ids(tmp_path):
    _, df = survey_file(tmp_path)
    p = prepare(df, INSTRUMENT, source="survey.csv", id_column="resp_id")
    assert p.screening.duplicate_ids == ["2"]
    assert p.ids.tolist() == ["1", "2", "3", "4", "5", "2"]
    assert list(p.ids.index) == list(p.data.index)
    assert "1 id appears more than once in column resp_id: 2" in p.screening.warnings


def test_ids_keep_leading_zeros_and_floats_lose_dot_zero():
    df = pd.DataFrame({"id": ["007", "007", None], "x": [1.0, 2.0, np.nan], "a": [1, 2, 3], "b": [1, 2, 3], "c": [1, 2, 3]})
    scale = make_scale("s", ["a", "b", "c"])
    p = prepare(df, make_instrument(scale), source="f", id_column="id")
    assert p.ids.tolist() == ["007", "007", None]
    assert p.screening.duplicate_ids == ["007"]
    p = prepare(df, make_instrument(scale), source="f", id_column="x")
    assert p.ids.tolist() == ["1", "2", None]
    assert p.screening.duplicate_ids == []


def test_groups_and_rows_without_group(tmp_path):
    _, df = survey_file(tmp_path)
    p = prepare(df, INSTRUMENT, source="survey.csv", group="role")
    assert p.screening.rows_without_group == 1
    assert list(p.data.index) == [1, 2, 3, 5, 6]  # row 4 has no group; numbers kept
    assert p.group.tolist() == ["citizen", "professional", "citizen", "professional", "citizen"]
    assert list(p.group.index) == list(p.data.index)
    assert p.groups == ["citizen", "professional"]
    assert p.screening.rows_read == 6 and p.screening.rows_used == 4
    assert "1 row has no value in the group column role and was left out" in p.screening.warnings


def test_groups_selection_and_order(tmp_path):
    text = SURVEY + "7,manager,1,2,3\n"
    _, df = survey_file(tmp_path, text)
    p = prepare(df, INSTRUMENT, source="survey.csv", group="role", groups=["professional", "citizen"])
    assert p.groups == ["professional", "citizen"]
    assert list(p.data.index) == [1, 2, 3, 5, 6]
    assert p.screening.rows_not_in_selected_groups == 1
    p = prepare(df, INSTRUMENT, source="survey.csv", group="role", groups=["manager"])
    assert list(p.data.index) == [7] and p.groups == ["manager"]


def test_requested_group_without_rows(tmp_path):
    _, df = survey_file(tmp_path)
    msg = one_line_error(
        InputError, prepare, df, INSTRUMENT, source="survey.csv", group="role", groups=["citizen", "manager"]
    )
    assert msg == 'survey.csv, column role: group "manager" has no rows (groups found: citizen, professional)'


def test_groups_without_group_column(tmp_path):
    _, df = survey_file(tmp_path)
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source="survey.csv", groups=["citizen"])
    assert msg.startswith("survey.csv: groups were selected")


def test_numeric_groups_compare_as_text():
    scale = make_scale("s", ["a", "b", "c"])
    df = pd.DataFrame({"g": [10.0, 2.0, np.nan, 1.0, 2.0], "a": [1, 2, 3, 4, 5], "b": [1] * 5, "c": [2] * 5})
    p = prepare(df, make_instrument(scale), source="f", group="g")
    assert p.groups == ["1", "2", "10"]
    assert p.group.tolist() == ["10", "2", "1", "2"]
    p = prepare(df, make_instrument(scale), source="f", group="g", groups=["2", "10"])
    assert p.group.tolist() == ["10", "2", "2"] and p.groups == ["2", "10"]


def test_bad_value_in_an_unselected_group_is_ignored(tmp_path):
    _, df = survey_file(tmp_path, "role,ppo1,ppo2,ppo3\ncitizen,1,2,3\nother,9,x,3\n")
    p = prepare(df, INSTRUMENT, source="s.csv", group="role", groups=["citizen"])
    assert list(p.data.index) == [1]


def test_no_row_has_a_group(tmp_path):
    _, df = survey_file(tmp_path, "role,ppo1,ppo2,ppo3\n,1,2,3\n  ,1,2,3\n")
    msg = one_line_error(InputError, prepare, df, INSTRUMENT, source="s.csv", group="role")
    assert msg == "s.csv, column role: no row has a group value"


def test_screening_is_json_friendly(tmp_path):
    _, df = survey_file(tmp_path, SURVEY + "8,citizen,9,2,3\n" + "9,citizen,3,3,3\n")
    p = prepare(df, INSTRUMENT, source="survey.csv", id_column="resp_id", group="role", coerce_out_of_range=True)
    d = p.screening.to_dict()
    assert json.loads(json.dumps(d)) == d

    def plain(x):
        if isinstance(x, dict):
            return all(type(k) is str and plain(v) for k, v in x.items())
        if isinstance(x, list):
            return all(plain(v) for v in x)
        return type(x) in (int, float, str, bool)

    assert plain(d)
    assert set(d) >= {
        "rows_read", "rows_used", "rows_without_group", "missing_per_item", "missing_codes_found",
        "out_of_range_coerced", "zero_variance_items", "straightliners", "duplicate_ids", "warnings",
    }
    assert d["straightliners"] == {"professional_openness": {"count": 3, "rows": [2, 5, 8]}}
    assert all("\n" not in w for w in d["warnings"])


def test_input_files_are_unchanged(tmp_path):
    import pyreadstat

    csv_path, df = survey_file(tmp_path)
    sav_path = str(tmp_path / "s.sav")
    pyreadstat.write_sav(df.drop(columns=["role"]).astype(float), sav_path, missing_ranges={"ppo1": [-9]})
    xlsx_path = _write_xlsx(tmp_path / "s.xlsx", [list(df.columns)] + df.astype(object).where(df.notna(), None).values.tolist())
    for path in (csv_path, sav_path, xlsx_path):
        before = sha(path)
        table = read_table(path)
        prepare(table, INSTRUMENT, source=path, id_column="resp_id", coerce_out_of_range=True)
        assert sha(path) == before
