"""Read survey data files and prepare item responses for analysis.

Two steps:

``read_table(path)``
    reads a data file into a :class:`pandas.DataFrame` (CSV/TSV/TXT/TAB with a
    sniffed delimiter, Excel ``.xlsx``, SPSS ``.sav``/``.zsav``, Parquet, or
    CSV from standard input when ``path`` is ``"-"``).

``prepare(df, instrument, source=...)``
    checks the columns an instrument needs, turns answers into numbers, applies
    missing-value codes and the response range, reverse-keys items and screens
    the answers (missing values, straight-lining, zero variance, duplicate ids).

Every problem with the input raises :class:`coscale.errors.InputError` with a
single-line message that names the file and, where it applies, the row and the
column, for example::

    survey.csv, row 17, column ppo2: value 7 is outside the response range 1-5
    (use --coerce-out-of-range to treat it as missing)

(printed on one line).

Row numbers
-----------
"row" is the 1-based number of the *data* row: the header is not counted, so
data row 1 is the first line after the header. In delimited text files blank
lines are skipped and not counted (a quoted value spanning several lines is one
row). In Excel files row ``n`` is spreadsheet row ``n + 1`` (empty rows inside
the data are kept as rows with every answer missing; empty rows at the end are
dropped). The same numbers are used as the index of :attr:`Prepared.data` and
in :class:`Screening`.

Missing values
--------------
Empty cells, cells holding only white space and the usual "not available"
spellings (``NA``, ``N/A``, ``NaN``, ``NULL``, ``None``, ``#N/A``, ...) are
missing. In SPSS files the user-missing values defined in the file are missing.
A scale's ``missing_codes`` are applied by :func:`prepare`.

The input file is only ever opened for reading. Numbers are never changed
silently: a value that is not a number, or outside the response range, is an
error unless the caller asked for out-of-range values to be treated as missing.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import json
import math
import os
import re
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from coscale.errors import InputError, ScaleError

__all__ = ["read_table", "prepare", "Prepared", "Screening"]

_DELIMITED = (".csv", ".txt", ".tsv", ".tab")
_EXCEL = (".xlsx",)
_SPSS = (".sav", ".zsav")
_PARQUET = (".parquet",)
_SUPPORTED = ".csv, .tsv, .txt, .tab, .xlsx, .sav, .zsav or .parquet"
_DELIMITERS = (",", ";", "\t", "|")

# The spellings pandas reads as missing by default (used for Excel text cells
# so that Excel and CSV files agree).
_NA_STRINGS = frozenset(
    {
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
        "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None",
        "n/a", "nan", "null",
    }
)
_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(r"[+-]?\d+")
# "007", "-01", "00": identifiers, not numbers; such columns stay text.
_LEADING_ZERO_RE = re.compile(r"[+-]?0\d")
_MAX_ROWS_LISTED = 20

try:  # pyarrow is a dependency, but keep working without it
    import pyarrow  # noqa: F401

    _HAVE_PYARROW = True
except ImportError:  # pragma: no cover
    _HAVE_PYARROW = False
# Read delimited text with pyarrow in one typed pass (_read_arrow); False
# forces the careful path (every column as text, then _infer_text_columns).
_FAST_CSV = True
try:  # the spellings pandas' CSV readers take as missing
    from pandas._libs.parsers import STR_NA_VALUES as _PANDAS_NA_VALUES
except ImportError:  # pragma: no cover
    _PANDAS_NA_VALUES = _NA_STRINGS


# --------------------------------------------------------------------------
# messages


def _one_line(text: str) -> str:
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _err(msg: str) -> InputError:
    return InputError(_one_line(msg))


def _name(col) -> str:
    """A column name for a message: bare when simple, JSON-quoted otherwise."""
    s = str(col)
    if s and re.fullmatch(r"[\w.\-]+", s):
        return s
    return json.dumps(s, ensure_ascii=False)


def _show_value(v) -> str:
    """A data value for a message, on one line."""
    if isinstance(v, str):
        shown = v if len(v) <= 40 else v[:37] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return _fmt_num(float(v))
    return _one_line(repr(v))[:60]


def _fmt_num(x: float) -> str:
    if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


def _where(source: str, row: int | None = None, column=None) -> str:
    parts = [source]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {_name(column)}")
    return ", ".join(parts)


# --------------------------------------------------------------------------
# threads

# From this many values (rows times columns) on, work is spread over threads.
_PARALLEL_CELLS = 1_000_000


def _parallel_map(fn, items, cells: int) -> list:
    """``[fn(x) for x in items]``, on several threads when there is much to do.

    For work on ``cells`` values done by numpy and pyarrow, which release
    the GIL: on large data the items are worked on side by side (one thread
    per core, at most 8).
    """
    items = list(items)
    workers = min(len(items), os.cpu_count() or 1, 8)
    if cells < _PARALLEL_CELLS or workers < 2:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


# --------------------------------------------------------------------------
# reading


def read_table(path: str, *, sheet=None, columns=None, compact: bool = False) -> pd.DataFrame:
    """Read a survey data file into a DataFrame.

    Parameters
    ----------
    path : str
        File to read; the format follows the extension: ``.csv``, ``.txt``,
        ``.tsv``, ``.tab`` (delimited text, UTF-8; the delimiter is sniffed
        among ``,`` ``;`` tab and ``|``), ``.xlsx`` (Excel), ``.sav``/``.zsav``
        (SPSS) or ``.parquet``. ``"-"`` reads delimited text from standard
        input.
    sheet : str or int, optional
        Excel only: the sheet to read, by name, or by 1-based position when
        no sheet has that name. Default: the first sheet.
    columns : iterable of str, optional
        The columns the caller needs (e.g. an instrument's item columns and
        the id and group columns). Where reading a subset is cheap (Parquet,
        and delimited text read with pyarrow) only these columns are read,
        in file order; the result is the same as reading every column and
        then keeping these. When one of them is not in the file, every
        column is read, so that :func:`prepare` can name the file's columns
        and suggest close matches. Other formats read every column (the
        extra columns do no harm).
    compact : bool, default False
        For a caller that only hands the table to :func:`prepare` (the
        command line): delimited-text columns of one-digit answers come as
        ``float32`` (NaN where missing) views of one block, not ``int64`` /
        ``float64`` arrays: the same values in half the memory and one
        allocation, so a large file costs fewer fresh pages and less copying.

    Returns
    -------
    pandas.DataFrame
        One row per data row, with a default ``RangeIndex`` (data row ``n`` is
        at position ``n - 1``) and string column names. In delimited text and
        Excel files a column whose values are all numbers becomes numeric
        (``int64`` when complete and integral, else ``float64``); a column
        holding text, or numbers written with leading zeros such as ``007``,
        stays text. ``df.attrs["source"]`` is ``path`` and
        ``df.attrs["value_labels"]`` maps column to ``{code: label}`` (SPSS
        value labels; empty for other formats). SPSS columns keep their
        numeric codes, and user-missing values defined in the file are NaN.

    Raises
    ------
    InputError
        The file does not exist, is a directory, is empty, has an unsupported
        extension, cannot be parsed, or has duplicate column names.
    """
    path = os.fspath(path)
    is_excel = path != "-" and os.path.splitext(path)[1].lower() in _EXCEL
    if sheet is not None and not is_excel:
        raise _err(f"{'stdin' if path == '-' else path}: a sheet can only be chosen in .xlsx files")
    if path == "-":
        name = "stdin"
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise _err("stdin: cannot read binary data from standard input")
        try:
            data = stream.read()
        except Exception as exc:  # noqa: BLE001
            raise _err(f"stdin: cannot read standard input: {_first_line(exc)}")
        if isinstance(data, str):
            data = data.encode("utf-8")
        df = _read_delimited(data, name, ".csv", columns, compact)
        labels: dict = {}
    else:
        name = path
        if not os.path.exists(path):
            raise _err(f"{name}: no such file")
        if os.path.isdir(path):
            raise _err(f"{name}: is a directory, not a data file")
        ext = os.path.splitext(path)[1].lower()
        if ext not in _DELIMITED + _EXCEL + _SPSS + _PARQUET:
            hint = ""
            if ext == ".xls":
                hint = "; save it as .xlsx"
            elif ext in (".gz", ".zip", ".bz2", ".xz"):
                hint = "; decompress it first"
            shown = f'"{ext}"' if ext else "(no extension)"
            raise _err(
                f"{name}: unsupported file type {shown} (use {_SUPPORTED}){hint}"
            )
        try:
            size = os.path.getsize(path)
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise _err(f"{name}: cannot open: {exc.strerror or _first_line(exc)}")
        if size == 0:
            raise _err(f"{name}: the file is empty")
        labels = {}
        if ext in _DELIMITED:
            df = _read_delimited(path, name, ext, columns, compact)
        elif ext in _EXCEL:
            df = _read_excel(path, name, sheet)
        elif ext in _SPSS:
            df, labels = _read_spss(path, name)
        else:
            df = _read_parquet(path, name, columns)
    df.attrs["source"] = path
    df.attrs["value_labels"] = labels
    return df


def _check_duplicates(names, name: str) -> None:
    seen: dict[str, int] = {}
    for i, col in enumerate(names, start=1):
        if col is None:
            continue
        col = str(col)
        if col in seen:
            raise _err(
                f"{name}: column name {_name(col)} appears more than once in the "
                f"header (columns {seen[col]} and {i}); rename one of them"
            )
        seen[col] = i


# ---- delimited text


def _decode_sample(raw: bytes, name: str, complete: bool) -> str:
    """Decode the first bytes of a file as UTF-8 (a cut character at the end is fine)."""
    tries = [0] if complete else [0, 1, 2, 3]
    first_exc = None
    for cut in tries:
        chunk = raw[: len(raw) - cut] if cut else raw
        try:
            return chunk.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if first_exc is None:
                first_exc = exc
    assert first_exc is not None
    line = raw[: first_exc.start].count(b"\n") + 1
    raise _err(
        f"{name}: line {line} is not UTF-8 text (byte 0x{raw[first_exc.start]:02x}); "
        "save the file as UTF-8 (in Excel: 'CSV UTF-8')"
    )


def _records(text: str, delimiter: str, limit: int | None = None):
    """Non-blank records of ``text`` (a blank record is an empty or all-white line)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    try:
        for rec in reader:
            if _blank_record(rec):
                continue
            out.append(rec)
            if limit is not None and len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def _blank_record(rec: list) -> bool:
    return not rec or (len(rec) == 1 and not rec[0].strip())


def _sniff(text: str, ext: str) -> str:
    """Choose the delimiter of a delimited text sample."""
    header_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    if ext in (".tsv", ".tab") and "\t" in header_line:
        return "\t"

    def consistent(d: str) -> int:
        recs = _records(text, d, limit=50)
        if not recs:
            return 0
        n = len(recs[0])
        if n > 1 and all(len(r) == n for r in recs):
            return n
        return 0

    try:
        guess = csv.Sniffer().sniff(text, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        guess = None
    if guess in _DELIMITERS and consistent(guess):
        return guess
    scores = {d: consistent(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: scores[d])
    if scores[best]:
        return best
    # No delimiter gives the same number of fields on every line: take the one
    # that splits the header most (the ragged-row check will then explain).
    header_counts = {d: len(next(iter(_records(header_line, d)), [])) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: header_counts[d])
    return best if header_counts[best] > 1 else ","


def _read_delimited(src, name: str, ext: str, columns=None, compact: bool = False) -> pd.DataFrame:
    """Read delimited text from a path or from bytes (stdin).

    With pyarrow, :func:`_read_arrow` reads the file in one typed pass; when
    it cannot vouch for giving the same table (see there), or fails, the file
    is read the careful way: every column as text (pyarrow engine, else the C
    engine after the ragged-row check), then :func:`_infer_text_columns`.
    """
    if isinstance(src, (bytes, bytearray)):
        head = bytes(src[: 1 << 16])
        complete = len(src) <= len(head)
    else:
        try:
            with open(src, "rb") as fh:
                head = fh.read((1 << 16) + 1)
        except OSError as exc:
            raise _err(f"{name}: cannot open: {exc.strerror or _first_line(exc)}")
        complete = len(head) <= (1 << 16)
        head = head[: 1 << 16]
    text = _decode_sample(head, name, complete)
    if not text.strip():
        raise _err(f"{name}: the file is empty" if name != "stdin" else "stdin: no data on standard input")
    if not complete:
        # sniff on whole lines only (Sniffer fails on a cut last line)
        cut = text.rfind("\n")
        if cut > 0:
            text = text[: cut + 1]
    sniff_text = text
    if len(sniff_text) > 16384:
        cut = sniff_text.rfind("\n", 0, 16384)
        if cut > 0:
            sniff_text = sniff_text[: cut + 1]
    delimiter = _sniff(sniff_text, ext)
    header = next(iter(_records(text, delimiter, limit=1)), [])
    _check_duplicates(header, name)

    names = [f"Unnamed: {i}" if h == "" else h for i, h in enumerate(header)]
    wanted = _wanted_columns(names, columns)

    if _HAVE_PYARROW and _FAST_CSV:
        try:
            fast = _read_arrow(src, delimiter, header, names, wanted, compact)
        except Exception:  # noqa: BLE001 - the careful path reads it or explains
            fast = None
        if fast is not None:
            return fast

    df = None
    if _HAVE_PYARROW:
        try:
            df = _parse_csv(src, delimiter, "pyarrow")
        except Exception:  # noqa: BLE001 - fall back to the C engine
            df = None
    if df is None:
        _check_ragged(src, name, delimiter)
        try:
            df = _parse_csv(src, delimiter, "c")
        except UnicodeDecodeError as exc:
            raise _err(
                f"{name}: the file is not UTF-8 text ({_first_line(exc)}); "
                "save it as UTF-8 (in Excel: 'CSV UTF-8')"
            )
        except Exception as exc:  # noqa: BLE001
            raise _err(f"{name}: cannot read as delimited text: {_first_line(exc)}")
    df.columns = [str(c) for c in df.columns]
    if wanted is not None:
        df = df[wanted]
    return _infer_text_columns(df)


def _wanted_columns(names: list, columns) -> list | None:
    """The file's columns to read (file order), or None for all of them."""
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [columns]
    asked = {str(c) for c in columns if c is not None}
    if not asked or not asked <= set(names):
        return None  # read all: prepare() lists them and suggests close matches
    return [n for n in names if n in asked]


# ---- delimited text: the fast path


def _read_arrow(src, delimiter: str, header: list, names: list, wanted, compact: bool = False) -> pd.DataFrame | None:
    """Read delimited text with pyarrow in one pass; None when unsure.

    Parses exactly as pandas' pyarrow engine does in :func:`_parse_csv`
    (same delimiter, quoting, empty lines and missing-value spellings, every
    column as text), but straight into Arrow: no pandas text frame is built.
    Each column then becomes what :func:`_infer_text_columns` would make of
    it (:func:`_arrow_column`, the columns side by side on large files): a
    column of one-digit answers is read from the bytes directly, a column of
    plain integers in canonical form is recognised by vectorised checks, any
    other column by the rules of :func:`_numeric_from_uniques` applied to its
    distinct values. The columns are read as bytes and checked for UTF-8 by
    :func:`_arrow_column`, so that digits, which need no check, cost none.
    Returns None (the caller takes the careful path) when pyarrow's header
    differs from the one the csv module read.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text_type = pa.binary()  # 32-bit offsets: half the memory of large_binary; text columns are cast at the end
    include = wanted if wanted is not None else names
    read_options = pacsv.ReadOptions(encoding="utf8", use_threads=True)
    parse_options = pacsv.ParseOptions(delimiter=delimiter, quote_char='"', ignore_empty_lines=True)
    convert_options = pacsv.ConvertOptions(
        column_types={h: text_type for h in header},
        null_values=list(_PANDAS_NA_VALUES),
        strings_can_be_null=True,
        include_columns=[header[names.index(n)] for n in include],
    )
    source = pa.BufferReader(bytes(src)) if isinstance(src, (bytes, bytearray)) else src
    table = pacsv.read_csv(source, read_options=read_options, parse_options=parse_options,
                           convert_options=convert_options)
    if table.column_names != [header[names.index(n)] for n in include]:
        return None
    if any(t != text_type for t in table.schema.types):
        return None
    n = table.num_rows
    cols = table.columns
    del table
    if compact:  # one block for all one-digit columns: one large allocation (huge pages), not one per column
        block = np.empty((len(cols), n), dtype=np.float32)
        converted = _parallel_map(lambda pair: _arrow_column(*pair), list(zip(cols, block)), n * len(cols))
    else:
        converted = _parallel_map(_arrow_column, cols, n * len(cols))
    del cols
    # Give the memory of the text back to the system now rather than later:
    # the caller's next large arrays (such as prepare's item block) then reuse
    # it instead of fresh pages, which cost several times more on some
    # virtual machines.
    pa.default_memory_pool().release_unused()
    out = dict(zip(include, converted))
    return pd.DataFrame(out, index=pd.RangeIndex(n), columns=list(include), copy=False)


def _arrow_column(col, out: np.ndarray | None = None):
    """One Arrow column of raw bytes as :func:`_infer_text_column` would make its text.

    Raises ``pyarrow.ArrowInvalid`` when the bytes are not UTF-8 text (a
    column of digits is). ``out``: a float32 array for a column of one-digit
    answers (``compact`` in :func:`read_table`).
    """
    import pyarrow as pa

    numeric = _single_digits(col, out)
    if numeric is not None:
        return numeric
    col = col.cast(pa.string())  # checks the UTF-8, keeps the buffers
    numeric = _canonical_integers(col)
    if numeric is None:
        import pyarrow.compute as pc

        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        encoded = pc.dictionary_encode(arr)
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
        numeric = _numeric_from_uniques(codes, encoded.dictionary.to_pylist())
    if numeric is not None:
        return numeric
    return _arrow_text(col)


def _single_digits(col, out: np.ndarray | None = None):
    """A column of one-digit answers (``0``-``9``, some missing) as numbers, else None.

    The usual Likert column, read straight from the Arrow buffers with a few
    passes over bytes and 32-bit offsets per chunk: several times cheaper
    than pyarrow's integer parser followed by the checks of
    :func:`_canonical_integers`. One digit is a plain integer, so the column
    is int64 when complete, else float64 with NaN where missing (a null or
    an empty value). None (the general rules decide) for anything else: a
    value of two or more bytes, a byte that is not a digit, an empty value
    in a column without nulls, an empty or all-missing column. Given
    ``out`` (float32, ``compact`` in :func:`read_table`), the values are
    written there, NaN where missing, whether or not the column is complete.
    """
    n = len(col)
    if col.null_count == n:
        return None
    complete = col.null_count == 0
    if out is None:
        out = np.empty(n, dtype=np.int64 if complete else np.float64)
    pos = 0
    for chunk in col.chunks:
        m = len(chunk)
        validity, offsets, data = chunk.buffers()
        off = np.frombuffer(offsets, dtype=np.int32, count=m + 1, offset=4 * chunk.offset)
        lengths = np.diff(off)
        if m and lengths.max() > 1:
            return None
        # the chunk's value bytes as digit values (a byte below "0" wraps round to > 9)
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
        digits = raw[off[0]:off[-1]] - np.uint8(48)
        if digits.size and digits.max() > 9:
            return None
        missing = lengths == 0
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=chunk.offset + m, bitorder="little")
            missing |= bits[chunk.offset:] == 0
        n_missing = int(np.count_nonzero(missing))
        if n_missing + digits.size != m:
            return None  # a null holding a byte: the bytes are not one per answer
        target = out[pos:pos + m]
        pos += m
        if not n_missing:
            np.copyto(target, digits)
        elif complete:
            return None
        else:  # the digits belong to the answered slots, in order
            target[~missing] = digits
            target[missing] = np.nan
    return out


def _canonical_integers(col):
    """A column of plain integers as int64 (float64 when some are missing), else None.

    Plain means ``-?[1-9][0-9]*`` or ``0`` with at most 15 digits: exactly the
    values :func:`_numeric_from_uniques` turns into integers without any
    question (no sign ``+``, no leading zeros, no white space, no decimal
    point or exponent). pyarrow's integer parser (checked with pyarrow 26)
    accepts only digits with an optional ``-`` and hexadecimal with a ``0x``
    prefix, so a column that parses and has no value starting with ``0``
    (other than ``0`` itself), ``-0`` or ``+`` holds only such values. None
    when that is not so: the general rules then decide.
    ``tests/test_survey.py::FAST_SAMPLES`` pins each of these cases.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.null_count == len(col):
        return None
    try:
        ints = pc.cast(col, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    lo_hi = pc.min_max(ints).as_py()
    lo, hi = lo_hi["min"], lo_hi["max"]
    if max(abs(lo), abs(hi)) >= 10**15:
        return None  # long digit strings are identifiers, kept as text
    zero = pc.starts_with(col, "0")
    if pc.any(zero).as_py():
        if pc.any(pc.and_(zero, pc.greater(pc.binary_length(col), 1))).as_py():
            return None
    if lo <= 0 and pc.any(pc.starts_with(col, "-0")).as_py():
        return None  # "-0", "-07", "-0x1" parse to values <= 0
    if pc.any(pc.starts_with(col, "+")).as_py():
        return None  # rejected by pyarrow 26; checked should another version take "+07"
    return ints.to_numpy()  # int64, or float64 with NaN where missing


def _arrow_text(col):
    """An Arrow text column as the text column pandas' pyarrow engine gives."""
    import pyarrow as pa

    dtype = _text_dtype()
    if isinstance(dtype, pd.StringDtype) and hasattr(dtype, "__from_arrow__"):
        return dtype.__from_arrow__(col.cast(pa.large_string()))
    values = col.to_numpy() if hasattr(col, "to_numpy") else np.asarray(col.to_pylist(), dtype=object)
    values = np.asarray(values, dtype=object)
    values[pd.isna(values)] = np.nan
    return values


_TEXT_DTYPE = None


def _text_dtype():
    """The dtype pandas gives a text column read with ``dtype=str``."""
    global _TEXT_DTYPE
    if _TEXT_DTYPE is None:
        _TEXT_DTYPE = pd.read_csv(io.StringIO("a\nx\n"), dtype=str)["a"].dtype
    return _TEXT_DTYPE


def _parse_csv(src, delimiter: str, engine: str) -> pd.DataFrame:
    """Parse delimited text with every column as text (missing values as NaN)."""
    handle = io.BytesIO(src) if isinstance(src, (bytes, bytearray)) else src
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        df = pd.read_csv(
            handle,
            sep=delimiter,
            engine=engine,
            dtype=str,
            # index_col=False stops the C engine from turning a surplus first
            # field into the index; the pyarrow engine rejects such rows anyway
            # and crashes on index_col=False (pandas 3.1).
            index_col=False if engine == "c" else None,
            encoding="utf-8-sig" if engine == "c" else "utf-8",
        )
    return df.reset_index(drop=True)


def _check_ragged(src, name: str, delimiter: str) -> None:
    """Raise for the first data row whose number of fields differs from the header."""
    if isinstance(src, (bytes, bytearray)):
        fh = io.TextIOWrapper(io.BytesIO(src), encoding="utf-8-sig", newline="")
    else:
        fh = open(src, encoding="utf-8-sig", newline="")  # noqa: SIM115
    try:
        with fh:
            reader = csv.reader(fh, delimiter=delimiter)
            n = None
            row = 0
            for rec in reader:
                if _blank_record(rec):
                    continue
                if n is None:
                    n = len(rec)
                    continue
                row += 1
                if len(rec) != n:
                    raise _err(
                        f"{_where(name, row)}: {_plural(len(rec), 'field', 'fields')} but the header has {n} "
                        f"(delimiter {_show_value(delimiter)}); check quoting and delimiters"
                    )
    except (UnicodeDecodeError, csv.Error):
        return  # the parser reports these


def _infer_text_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Make columns numeric where every non-missing value is a plain number."""
    out = {}
    for col in df.columns:
        out[col] = _infer_text_column(df[col])
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)), columns=list(df.columns), copy=False)


def _infer_text_column(s: pd.Series) -> pd.Series:
    # Work on the distinct values only: survey answers repeat a lot.
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    values = _numeric_from_uniques(codes, uniques)
    if values is None:
        return s
    return pd.Series(values, name=s.name)


def _numeric_from_uniques(codes: np.ndarray, uniques):
    """The numbers of a text column given as codes into its distinct values, or None.

    ``codes[i]`` is the position of row ``i``'s value in ``uniques`` (-1:
    missing). A column whose non-blank values all are plain numbers becomes
    int64 when complete and integral, else float64 (blank = missing); a
    column with text, with numbers written with leading zeros (``007``:
    identifiers), with more than 15 digits in an integer, or with nothing but
    white space stays text (None is returned).
    """
    codes = np.asarray(codes)
    if len(uniques) == 0:
        return np.full(len(codes), np.nan)
    # A text column usually shows itself among the first values: decide
    # without building the whole series then (ids such as "R0001").
    for v in uniques[:64] if isinstance(uniques, list) else ():
        t = v.strip()
        if t and not _NUMBER_RE.fullmatch(t):
            return None
    stripped = pd.Series(np.asarray(uniques, dtype=object)).str.strip()
    blank = (stripped == "").to_numpy()
    vals = stripped[~blank]
    if len(vals) == 0:
        return None  # only white space: leave as text, prepare() treats it as missing
    if not vals.str.fullmatch(_NUMBER_RE.pattern).all():
        return None
    if vals.str.match(_LEADING_ZERO_RE.pattern).any():
        return None
    is_int = bool(vals.str.fullmatch(_INT_RE.pattern).all())
    if is_int and (vals.str.lstrip("+-").str.len() > 15).any():
        return None  # long digit strings are identifiers; float would lose digits
    if is_int and not blank.any() and (codes >= 0).all():
        ints = vals.to_numpy(dtype=object).astype(np.int64)
        return ints[codes]
    floats = np.full(len(uniques) + 1, np.nan)  # last slot: missing (code -1)
    floats[: len(uniques)][~blank] = vals.to_numpy(dtype=object).astype(np.float64)
    return floats[codes]


# ---- Excel


def _read_excel(path: str, name: str, sheet) -> pd.DataFrame:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover
        raise _err(f"{name}: reading .xlsx files needs the openpyxl package")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        raise _err(f"{name}: not a readable .xlsx file: {_first_line(exc)}")
    try:
        names = list(wb.sheetnames)
        if sheet is None:
            if not names:
                raise _err(f"{name}: the workbook has no sheets")
            sheet_name = names[0]
        elif str(sheet) in names:
            sheet_name = str(sheet)
        elif re.fullmatch(r"\d+", str(sheet).strip()) and 1 <= int(sheet) <= len(names):
            sheet_name = names[int(sheet) - 1]
        else:
            raise _err(
                f"{name}: no sheet {_name(sheet)} (sheets: "
                + ", ".join(_name(n) for n in names)
                + ")"
            )
        ws = wb[sheet_name]
        try:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
        except Exception as exc:  # noqa: BLE001
            raise _err(f"{name}: cannot read sheet {_name(sheet_name)}: {_first_line(exc)}")
    finally:
        wb.close()

    def empty(r):
        return all(v is None or (isinstance(v, str) and not v.strip()) for v in r)

    while rows and empty(rows[-1]):
        rows.pop()
    if not rows:
        raise _err(f"{name}: sheet {_name(sheet_name)} is empty")
    width = max(len(r) for r in rows)
    header_names = []
    for i in range(width):
        v = rows[0][i] if i < len(rows[0]) else None
        if v is None or (isinstance(v, str) and not v.strip()):
            header_names.append(None)
        elif isinstance(v, float) and v.is_integer():
            header_names.append(str(int(v)))
        else:
            header_names.append(str(v))
    # trailing columns with neither a header nor data are dropped
    while header_names and header_names[-1] is None and all(
        len(r) < len(header_names) or r[len(header_names) - 1] is None for r in rows[1:]
    ):
        header_names.pop()
    _check_duplicates(header_names, name)
    columns = [n if n is not None else f"Unnamed: {i}" for i, n in enumerate(header_names)]
    _check_duplicates(columns, name)
    body = rows[1:]
    data = {}
    for j, col in enumerate(columns):
        cells = [r[j] if j < len(r) else None for r in body]
        data[col] = _infer_cells(cells)
    return pd.DataFrame(data, index=pd.RangeIndex(len(body)), columns=columns)


def _infer_cells(cells: list) -> pd.Series:
    """Excel cells to a column: numeric when every non-missing cell is a number."""
    clean = []
    for v in cells:
        if isinstance(v, str) and v.strip() in _NA_STRINGS:
            v = None
        clean.append(v)
    present = [v for v in clean if v is not None]
    numeric = True
    all_int = True
    for v in present:
        if isinstance(v, bool):
            numeric = False
            break
        if isinstance(v, int):
            continue
        if isinstance(v, float):
            if not v.is_integer():
                all_int = False
            continue
        if isinstance(v, str):
            t = v.strip()
            if _NUMBER_RE.fullmatch(t) and not _LEADING_ZERO_RE.match(t):
                if not _INT_RE.fullmatch(t):
                    all_int = False
                elif len(t.lstrip("+-")) > 15:
                    numeric = False
                    break
                continue
        numeric = False
        break
    if not numeric:
        return pd.Series(np.array([np.nan if v is None else v for v in clean], dtype=object))
    if all_int and len(present) == len(clean) and all(
        not isinstance(v, float) or abs(v) < 2**53 for v in present
    ):
        ints = [int(v.strip()) if isinstance(v, str) else int(v) for v in clean]
        return pd.Series(np.array(ints, dtype=np.int64))
    return pd.Series(np.array([np.nan if v is None else float(v) for v in clean], dtype=np.float64))


# ---- SPSS and Parquet


def _read_spss(path: str, name: str):
    try:
        import pyreadstat
    except ImportError:  # pragma: no cover
        raise _err(f"{name}: reading .sav files needs the pyreadstat package")
    try:
        # user_missing=False (the default): user-missing values become NaN;
        # apply_value_formats=False: keep numeric codes, not labels.
        df, meta = pyreadstat.read_sav(path, apply_value_formats=False, user_missing=False)
    except Exception as exc:  # noqa: BLE001
        raise _err(f"{name}: not a readable SPSS file: {_first_line(exc)}")
    _check_duplicates(list(df.columns), name)
    df.columns = [str(c) for c in df.columns]
    labels = {}
    for col, mapping in (getattr(meta, "variable_value_labels", None) or {}).items():
        out = {}
        for code, label in mapping.items():
            if isinstance(code, (float, np.floating)) and float(code).is_integer():
                code = int(code)
            elif isinstance(code, np.integer):
                code = int(code)
            elif isinstance(code, np.floating):
                code = float(code)
            out[code] = str(label)
        labels[str(col)] = out
    return df.reset_index(drop=True), labels


def _read_parquet(path: str, name: str, columns=None) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover
        raise _err(f"{name}: reading .parquet files needs the pyarrow package")
    try:
        schema_names = pq.read_schema(path).names
    except Exception as exc:  # noqa: BLE001
        raise _err(f"{name}: not a readable Parquet file: {_first_line(exc)}")
    _check_duplicates(schema_names, name)
    # column-wise: only the columns asked for (Parquet stores each column apart)
    wanted = _wanted_columns([str(c) for c in schema_names], columns)
    if wanted is not None:
        wanted = [c for c in schema_names if str(c) in set(wanted)]
    try:
        df = pd.read_parquet(path, engine="pyarrow", columns=wanted)
    except Exception as exc:  # noqa: BLE001
        raise _err(f"{name}: not a readable Parquet file: {_first_line(exc)}")
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    return df


# --------------------------------------------------------------------------
# preparing


@dataclass
class Screening:
    """What was found while preparing the data (JSON-friendly).

    Attributes
    ----------
    rows_read : int
        Data rows in the table.
    rows_used : int
        Rows kept (with a group value, in the selected groups) that answered
        every item of the instrument (listwise complete).
    rows_without_group : int
        Rows left out because the group column was empty.
    rows_not_in_selected_groups : int
        Rows left out because their group was not among the requested groups.
    missing_per_item : dict
        ``{column: n}``, missing answers per item among the rows kept, after
        missing codes and coercion (every item column is listed).
    missing_codes_found : dict
        ``{column: n}``, answers equal to a missing-value code (columns with
        none are left out).
    out_of_range_coerced : dict
        ``{column: n}``, answers outside the response range treated as
        missing (only with ``coerce_out_of_range``; columns with none left out).
    zero_variance_items : list
        Item columns whose answers all have the same value.
    straightliners : dict
        ``{scale: {"count": n, "rows": [row numbers, first 20]}}`` for scales
        of at least 3 items where ``n > 0`` respondents answered every item
        with the same raw value (before reverse keying).
    duplicate_ids : list
        Id values (as text) that appear on more than one kept row.
    warnings : list
        One plain-language sentence per problem found.
    """

    rows_read: int = 0
    rows_used: int = 0
    rows_without_group: int = 0
    rows_not_in_selected_groups: int = 0
    missing_per_item: dict = field(default_factory=dict)
    missing_codes_found: dict = field(default_factory=dict)
    out_of_range_coerced: dict = field(default_factory=dict)
    zero_variance_items: list = field(default_factory=list)
    straightliners: dict = field(default_factory=dict)
    duplicate_ids: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the screening as plain ``dict``/``list``/``int``/``str`` values."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class Prepared:
    """Item responses ready for analysis.

    Attributes
    ----------
    data : pandas.DataFrame
        Item columns only (instrument order), ``float64``, after missing codes,
        range handling and reverse keying; rows in file order, indexed by
        1-based data row number. Rows without a group value, or outside the
        selected groups, are not included.
    group : pandas.Series or None
        Group label (``str``) of each row of ``data`` (same index), or None.
    groups : list of str or None
        The groups in analysis order: as requested, else sorted (numbers in
        numeric order first, then text). None without a group column.
    ids : pandas.Series or None
        Respondent id (``str``, None when empty) of each row of ``data``.
    screening : Screening
        Counts and warnings.
    source : str
        File name used in messages.
    """

    data: pd.DataFrame
    group: pd.Series | None
    ids: pd.Series | None
    screening: Screening
    source: str
    groups: list | None = None


def prepare(
    df: pd.DataFrame,
    instrument,
    *,
    source: str,
    id_column: str | None = None,
    group: str | None = None,
    groups: list[str] | None = None,
    coerce_out_of_range: bool = False,
) -> Prepared:
    """Check, convert, recode and screen the item responses of an instrument.

    Parameters
    ----------
    df : pandas.DataFrame
        Data as returned by :func:`read_table` (row ``n`` at position ``n - 1``).
    instrument : coscale.scales.Instrument
        The scales whose item columns are used.
    source : str
        File name for messages.
    id_column : str, optional
        Column with respondent ids (checked for duplicates).
    group : str, optional
        Column with group labels; rows where it is empty are left out.
    groups : list of str, optional
        Groups to keep, in this order (compared as text with the group
        labels). Needs ``group``.
    coerce_out_of_range : bool, default False
        Treat answers outside a scale's response range as missing (counted)
        instead of raising.

    Returns
    -------
    Prepared

    Raises
    ------
    InputError
        A column is missing, an answer is not a number or is outside the
        response range, a requested group has no rows, or no rows are left.
    ScaleError
        The instrument cannot be applied (e.g. a reverse-keyed item without a
        response range, or one column used with conflicting settings).

    Notes
    -----
    Order of operations per item: text to number (empty or white space is
    missing), missing-value codes to NaN, range check (error, or NaN with
    ``coerce_out_of_range``), then reverse keying ``min + max - x``.
    Straight-lining is judged on the answers before reverse keying.
    """
    n_rows = len(df)
    columns = [str(c) for c in df.columns]
    dups = pd.Index(columns)[pd.Index(columns).duplicated()]
    if len(dups):
        raise _err(f"{source}: column name {_name(dups[0])} appears more than once")
    if groups is not None and group is None:
        raise _err(f"{source}: groups were selected but no group column was given")

    specs = _column_specs(instrument)
    item_cols = list(specs)
    if not item_cols:
        raise ScaleError(_one_line(f"{instrument.path or 'scale file'}: the instrument has no items"))
    _check_columns_exist(columns, item_cols, id_column, group, source, specs)

    if n_rows == 0:
        raise _err(f"{source}: no data rows (only a header)")
    keep = np.ones(n_rows, dtype=bool)

    rows_without_group = 0
    rows_not_selected = 0
    group_codes = group_names = None
    order = None
    if group is not None:
        group_codes, group_names = _label_codes(df[group])
        has_group = group_codes >= 0
        rows_without_group = int((~has_group).sum())
        keep &= has_group
        present = list(group_names)  # in order of first appearance
        if groups is not None:
            wanted = []
            for g in groups:
                g = str(g).strip()
                if g not in wanted:
                    wanted.append(g)
            for g in wanted:
                if g not in present:
                    raise _err(
                        f"{_where(source, column=group)}: group {json.dumps(g, ensure_ascii=False)} "
                        f"has no rows (groups found: {', '.join(_sorted_labels(present)) or 'none'})"
                    )
            chosen = np.isin(np.arange(len(group_names)), [present.index(g) for g in wanted])
            selected = np.append(chosen, False)[group_codes]  # code -1: no group
            rows_not_selected = int((keep & ~selected).sum())
            keep &= selected
            order = wanted
        else:
            order = _sorted_labels(present)
        if not keep.any():
            raise _err(f"{_where(source, column=group)}: no row has a group value")

    all_kept = bool(keep.all())
    index = pd.RangeIndex(1, n_rows + 1, name="row") if all_kept else pd.Index(np.flatnonzero(keep) + 1, name="row")
    kept_rows = index  # position -> data row number
    n_kept = len(kept_rows)

    # --- convert, missing codes, range: one float64 block, a row per item
    # (block[j] is item j's column), shared by Prepared.data without a copy.
    # Each item is done in one go while its column is in the cache.
    k = len(item_cols)
    block = np.empty((k, n_kept), dtype=np.float64)
    answers = [df[col] for col in item_cols]

    def one_item(j: int) -> _ItemResult:
        return _prepare_item(answers[j], specs[item_cols[j]], block[j], keep, kept_rows, all_kept,
                             coerce_out_of_range)

    results = _parallel_map(one_item, range(k), n_kept * k)
    first_bad = None  # (row, column, message)
    for col, res in zip(item_cols, results):
        if res.bad is not None and (first_bad is None or res.bad[0] < first_bad[0]):
            first_bad = (res.bad[0], col, res.bad[1])
    if first_bad is not None:
        row, col, msg = first_bad
        raise _err(f"{_where(source, row, col)}: {msg}")
    outside = [(res.out_of_range, j) for j, res in enumerate(results) if res.out_of_range is not None]
    if outside:
        (row, value, _), j = min(outside, key=lambda p: (p[0][0], p[1]))  # first row, then first item
        col, spec = item_cols[j], specs[item_cols[j]]
        total = sum(n for (_, _, n), _ in outside)
        more = f"; {total} such values in all" if total > 1 else ""
        raise _err(
            f"{_where(source, row, col)}: value {_fmt_num(value)} is outside the response "
            f"range {_range_text(spec['min'], spec['max'])}{more} "
            "(use --coerce-out-of-range to treat it as missing)"
        )

    # --- screening, on the answers as given, then reverse keying: in slices
    # of rows that stay in the cache
    screening = Screening(
        rows_read=int(n_rows),
        rows_without_group=rows_without_group,
        rows_not_in_selected_groups=rows_not_selected,
        missing_per_item={c: res.missing for c, res in zip(item_cols, results)},
        missing_codes_found={c: res.codes for c, res in zip(item_cols, results) if res.codes},
        out_of_range_coerced={c: res.coerced for c, res in zip(item_cols, results) if res.coerced},
        zero_variance_items=[c for c, res in zip(item_cols, results)
                             if res.missing < n_kept and res.lowest == res.highest],
    )
    position = {c: j for j, c in enumerate(item_cols)}
    scale_rows = [(scale.name, [position[c] for c in dict.fromkeys(scale.columns)]) for scale in instrument.scales]
    reverse = [(j, specs[c]["min"] + specs[c]["max"]) for j, c in enumerate(item_cols) if specs[c]["reverse"]]
    starts = range(0, n_kept, _SLICE_ROWS)

    def one_slice(start: int):
        return _screen_slice(block[:, start:start + _SLICE_ROWS], scale_rows, reverse)

    slices = _parallel_map(one_slice, starts, n_kept * k)
    screening.rows_used = int(n_kept - sum(incomplete for incomplete, _ in slices))
    for i, (name, _) in enumerate(scale_rows):
        found = [(start, same[i]) for start, (_, same) in zip(starts, slices) if same[i] is not None]
        if found:
            positions = np.concatenate([start + pos for start, (_, pos) in found])
            listed = kept_rows[positions[:_MAX_ROWS_LISTED]]
            screening.straightliners[name] = {"count": sum(n for _, (n, _) in found),
                                              "rows": [int(r) for r in listed]}
    data = pd.DataFrame(block.T, index=index, columns=item_cols, copy=False)

    ids = None
    if id_column is not None:
        id_codes, id_names = _label_codes(df[id_column])
        if not all_kept:
            id_codes = id_codes[keep]
        ids = pd.Series(np.asarray(list(id_names) + [None], dtype=object)[id_codes], index=index, dtype=object,
                        name=id_column)
        counts = np.bincount(id_codes[id_codes >= 0], minlength=len(id_names))
        dup = np.flatnonzero(counts > 1)
        if len(dup):  # in order of first appearance among the kept rows
            first_seen = pd.unique(id_codes[np.isin(id_codes, dup)])
            screening.duplicate_ids = [str(id_names[c]) for c in first_seen]

    group_series = None
    if group_codes is not None:
        kept_codes = group_codes if all_kept else group_codes[keep]
        group_series = pd.Series(np.asarray(group_names, dtype=object)[kept_codes], index=index, dtype=object, name=group)

    screening.warnings = _warnings(screening, group, id_column, n_rows, n_kept)
    return Prepared(
        data=data,
        group=group_series,
        ids=ids,
        screening=screening,
        source=source,
        groups=order,
    )


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        sep = " to " if lo < 0 or hi < 0 else "-"
        return f"{_fmt_num(lo)}{sep}{_fmt_num(hi)}"
    if lo is not None:
        return f"{_fmt_num(lo)} or more"
    return f"{_fmt_num(hi)} or less"


def _column_specs(instrument) -> dict:
    """Per item column: range, missing codes and reverse flag (checked for conflicts)."""
    where = instrument.path or "scale file"
    specs: dict[str, dict] = {}
    for scale in instrument.scales:
        lo = scale.response.min if scale.response is not None else None
        hi = scale.response.max if scale.response is not None else None
        lo = None if lo is None else float(lo)
        hi = None if hi is None else float(hi)
        num_codes, text_codes = [], []
        for code in scale.missing_codes or ():
            if isinstance(code, bool):
                text_codes.append(str(code))
            elif isinstance(code, (int, float, np.integer, np.floating)):
                num_codes.append(float(code))
            else:
                t = str(code).strip()
                if _NUMBER_RE.fullmatch(t):
                    num_codes.append(float(t))
                else:
                    text_codes.append(t)
        for item in scale.items:
            if item.reverse and (lo is None or hi is None):
                raise ScaleError(
                    _one_line(
                        f"{where}: scale {scale.name}, item {item.id} is reverse-keyed but "
                        "the response range (min and max) is not set"
                    )
                )
            spec = {
                "min": lo,
                "max": hi,
                "num_codes": sorted(set(num_codes)),
                "text_codes": sorted(set(text_codes)),
                "reverse": bool(item.reverse),
                "scale": scale.name,
            }
            col = item.column
            if col in specs:
                prev = specs[col]
                if any(prev[k] != spec[k] for k in ("min", "max", "num_codes", "text_codes", "reverse")):
                    raise ScaleError(
                        _one_line(
                            f"{where}: column {_name(col)} is used by scales {prev['scale']} and "
                            f"{scale.name} with different response ranges, missing codes or "
                            "reverse keying"
                        )
                    )
                continue
            specs[col] = spec
    return specs


def _check_columns_exist(columns, item_cols, id_column, group, source, specs) -> None:
    present = set(columns)

    def norm(name) -> str:
        return re.sub(r"[\W_]+", "", str(name).casefold())

    folded: dict[str, list] = {}
    for c in columns:
        folded.setdefault(c.casefold(), []).append(c)

    def suggest(col) -> str:
        # same name up to case, spaces and punctuation first, then similar names
        close = [c for c in columns if norm(c) == norm(col)]
        for f in difflib.get_close_matches(str(col).casefold(), list(folded), n=3, cutoff=0.6):
            close += [c for c in folded[f] if c not in close]
        if close:
            return "; close matches: " + ", ".join(_name(c) for c in close[:3])
        shown = ", ".join(_name(c) for c in columns[:10])
        more = f" (and {len(columns) - 10} more)" if len(columns) > 10 else ""
        return f"; the file has columns: {shown}{more}"

    for label, col in (("id column", id_column), ("group column", group)):
        if col is not None and col not in present:
            raise _err(f"{source}: {label} {_name(col)} not found{suggest(col)}")
    missing = [c for c in item_cols if c not in present]
    if missing:
        first = missing[0]
        spec = specs[first]
        also = ""
        if len(missing) > 1:
            also = f"; {len(missing) - 1} more item columns are missing: " + ", ".join(
                _name(c) for c in missing[1:6]
            ) + (", ..." if len(missing) > 6 else "")
        raise _err(
            f"{source}: column {_name(first)} (scale {spec['scale']}) not found{suggest(first)}{also}"
        )


@dataclass
class _ItemResult:
    """What :func:`_prepare_item` found in one item column."""

    bad: tuple | None = None  # (row, message): the first answer that is not a number
    out_of_range: tuple | None = None  # (row, value, count): the first answer outside the range, how many
    codes: int = 0  # answers equal to a missing-value code
    coerced: int = 0  # answers outside the range, made missing
    missing: int = 0  # missing answers in the end
    lowest: float = math.nan  # smallest and largest answer in the end (NaN: none)
    highest: float = math.nan


def _prepare_item(col: pd.Series, spec: dict, out: np.ndarray, keep, kept_rows, all_kept: bool,
                  coerce_out_of_range: bool) -> _ItemResult:
    """Convert one item column into ``out``, apply its missing codes and range, count.

    Everything about one item in one go, while its column is in the cache.
    The smallest and largest answer tell when a missing code or a bound
    cannot be hit: the column then needs no pass for it.
    """
    n_text_codes, bad, lowest, highest = _to_float(col, keep, kept_rows, spec["text_codes"], out=out,
                                                   all_kept=all_kept)
    if bad is not None:
        return _ItemResult(bad=bad)
    res = _ItemResult(codes=n_text_codes)
    codes = [c for c in spec["num_codes"] if lowest <= c <= highest]
    if codes:
        hit = np.isin(out, np.array(codes, dtype=float))
        n_hit = int(np.count_nonzero(hit))
        if n_hit:
            out[hit] = np.nan
            res.codes += n_hit
            lowest, highest = _answer_range(out)
        del hit
    lo, hi = spec["min"], spec["max"]
    outside = None
    with np.errstate(invalid="ignore"):
        if lo is not None and lowest < lo:
            outside = out < lo
        if hi is not None and highest > hi:
            outside = out > hi if outside is None else (outside | (out > hi))
    if outside is not None and outside.any():
        n_outside = int(np.count_nonzero(outside))
        if not coerce_out_of_range:
            pos = int(np.argmax(outside))
            res.out_of_range = (int(kept_rows[pos]), float(out[pos]), n_outside)
            return res
        res.coerced = n_outside
        out[outside] = np.nan
        lowest, highest = _answer_range(out)
    del outside
    res.missing = int(np.count_nonzero(np.isnan(out)))
    res.lowest, res.highest = lowest, highest
    return res


# Rows per slice in the screening: the slice of the item block and the
# per-row work arrays stay in the cache.
_SLICE_ROWS = 1 << 16


def _screen_slice(part: np.ndarray, scale_rows: list, reverse: list):
    """Screen a slice of the item block (items x rows, answers as given), then reverse-key it.

    ``scale_rows`` holds ``(scale name, item rows of the block)``, ``reverse``
    ``(item row, min + max)``. Returns ``(incomplete, same)``: the number of
    rows with a missing answer, and per scale ``(count, positions)`` of the
    rows that gave the same answer to every item (straight-lining; None for
    scales of fewer than 3 items, or when there are none).
    """
    n = part.shape[1]
    high = np.empty(n)
    low = np.empty(n)
    gaps = np.zeros(n, dtype=bool)  # rows with a missing answer (every item belongs to a scale)
    same = []
    for _, rows in scale_rows:
        found = None
        if len(rows) == 1:
            gaps |= np.isnan(part[rows[0]])
        elif rows:
            # max == min over the items; NaN (an unanswered item) propagates
            # and never compares equal, so only complete rows can count
            np.maximum(part[rows[0]], part[rows[1]], out=high)
            np.minimum(part[rows[0]], part[rows[1]], out=low)
            for r in rows[2:]:
                np.maximum(high, part[r], out=high)
                np.minimum(low, part[r], out=low)
            gaps |= np.isnan(high)
            if len(rows) >= 3:
                equal = high == low
                count = int(np.count_nonzero(equal))
                if count:
                    found = (count, np.flatnonzero(equal)[:_MAX_ROWS_LISTED])
        same.append(found)
    # reverse keying (in place: the answers as given are not needed any more)
    for j, total in reverse:
        np.subtract(total, part[j], out=part[j])
    return int(np.count_nonzero(gaps)), same


def _answer_range(values: np.ndarray):
    """Smallest and largest non-missing value of ``values`` (NaN for none)."""
    if values.size == 0:
        return math.nan, math.nan
    return float(np.fmin.reduce(values)), float(np.fmax.reduce(values))


# Kinds (pandas.api.types.infer_dtype) of object columns whose distinct values
# can be worked on instead of every row: no bool among numbers, where
# pandas.factorize would take True for 1.
_FACTORIZE_SAFE = frozenset({"string", "empty", "integer", "floating", "mixed-integer-float"})


def _distinct(s: pd.Series):
    """``(codes, uniques)`` of a column (code -1: missing), or None when unsafe.

    Unsafe: object columns mixing booleans with numbers (or other objects),
    which the per-row loops handle instead.
    """
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        s = s.astype(object)
        dtype = s.dtype
    if dtype == object and pd.api.types.infer_dtype(s, skipna=True) not in _FACTORIZE_SAFE:
        return None
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), uniques


def _to_float(col: pd.Series, keep: np.ndarray, kept_rows, text_codes, *, out: np.ndarray, all_kept: bool):
    """Convert the kept rows of one column to float, into ``out``.

    Returns ``(n_text_codes, bad, lowest, highest)`` where ``bad`` is
    ``(row, message)`` for the first value that is not a number, else None,
    and ``lowest``/``highest`` are the smallest and largest number (NaN for
    none; the caller needs them, and here they come cheap: from the check
    for infinite values, or from the distinct values). Numeric columns are
    converted as arrays; text and object columns through their distinct
    values (the rules of :func:`_value_to_float`, row by row only for object
    columns mixing booleans with other values).
    """
    s = col if all_kept else col[keep]
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        nn = s.notna().to_numpy()
        if nn.any():
            pos = int(np.argmax(nn))
            return 0, (int(kept_rows[pos]), f"value {_show_value(s.iloc[pos])} is not a number"), math.nan, math.nan
        out[:] = np.nan
        return 0, None, math.nan, math.nan
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        if isinstance(dtype, np.dtype):
            np.copyto(out, s.to_numpy(), casting="unsafe")  # ints and floats: exact or nearest
        else:  # nullable and Arrow dtypes
            out[:] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        lo, hi = _answer_range(out)
        if (dtype.kind == "f" or not isinstance(dtype, np.dtype)) and (math.isinf(lo) or math.isinf(hi)):
            pos = int(np.argmax(np.isinf(out)))
            return 0, (int(kept_rows[pos]), f"value {_fmt_num(out[pos])} is not a finite number"), lo, hi
        return 0, None, lo, hi

    codes_set = set(text_codes)
    distinct = _distinct(s)
    if distinct is not None:
        codes, uniques = distinct
        k = len(uniques)
        values = np.full(k + 1, np.nan)  # last slot: missing (code -1)
        status = np.zeros(k + 1, dtype=np.int8)  # 1: a missing-value code, 2: not a number
        messages = {}
        for i, v in enumerate(uniques):
            kind, x = _value_to_float(v, codes_set)
            if kind == "number":
                values[i] = x
            elif kind == "code":
                status[i] = 1
            elif kind == "bad":
                status[i] = 2
                messages[i] = x
        row_status = status[codes]
        if messages:
            pos = int(np.argmax(row_status == 2))
            return 0, (int(kept_rows[pos]), messages[int(codes[pos])]), math.nan, math.nan
        np.take(values, codes, out=out)
        lo, hi = _answer_range(values)  # every distinct value occurs
        return int(np.count_nonzero(row_status == 1)), None, lo, hi

    obj = s.astype(object).to_numpy()
    out[:] = np.nan
    n_codes = 0
    for pos, v in enumerate(obj):
        kind, x = _value_to_float(v, codes_set)
        if kind == "number":
            out[pos] = x
        elif kind == "code":
            n_codes += 1
        elif kind == "bad":
            return 0, (int(kept_rows[pos]), x), math.nan, math.nan
    lo, hi = _answer_range(out)
    return n_codes, None, lo, hi


def _value_to_float(v, codes: set):
    """One answer: ``("number", x)``, ``("missing", None)``, ``("code", None)`` or ``("bad", message)``."""
    if v is None or v is pd.NA or v is pd.NaT:
        return "missing", None
    if isinstance(v, (bool, np.bool_)):
        return "bad", f"value {_show_value(v)} is not a number"
    if isinstance(v, (int, np.integer)):
        return "number", float(v)
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "missing", None
        if math.isinf(v):
            return "bad", f"value {_fmt_num(v)} is not a finite number"
        return "number", float(v)
    if isinstance(v, str):
        t = v.strip()
        if not t:
            return "missing", None
        if t in codes:
            return "code", None
        if _NUMBER_RE.fullmatch(t):
            return "number", float(t)
        return "bad", (
            f"value {_show_value(v)} is not a number (recode text answers as numbers, or list this "
            "text under the scale's missing_codes)"
        )
    return "bad", f"value {_show_value(v)} is not a number"


def _label(v):
    """A group or id value as text: integral floats without '.0', blanks as missing (None)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return None
        return _fmt_num(float(v))
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    t = str(v).strip()
    return t or None


def _label_codes(col: pd.Series):
    """Group or id values as text (see :func:`_label`), coded.

    Returns ``(codes, names)``: ``names`` holds the distinct texts in order of
    first appearance, ``codes[i]`` the position of row ``i``'s text in it
    (-1: missing). Works on the distinct values of the column, with
    vectorised conversions for integer, float and text columns.
    """
    distinct = _distinct(col)
    if distinct is None:
        labels = [_label(v) for v in col.astype(object).to_numpy()]
        codes, names = pd.factorize(np.asarray(labels, dtype=object), use_na_sentinel=True)
        return np.asarray(codes, dtype=np.intp), [str(x) for x in names]
    codes, uniques = distinct
    arr = np.asarray(uniques)
    distinct_labels = False
    if arr.dtype.kind in "iu":
        labels = arr.astype(str).astype(object)
        distinct_labels = True
    elif arr.dtype.kind == "f":
        labels = np.empty(len(arr), dtype=object)
        whole = np.isfinite(arr) & (arr == np.round(arr)) & (np.abs(arr) < 1e15)
        labels[whole] = arr[whole].astype(np.int64).astype(str)
        for i in np.flatnonzero(~whole):
            labels[i] = _label(float(arr[i]))
    else:
        labels = np.asarray([_label(v) for v in uniques.tolist()], dtype=object) if len(uniques) else np.empty(0, object)
    if distinct_labels:
        return codes, labels.tolist()
    lcodes, names = pd.factorize(labels, use_na_sentinel=True)
    lcodes = np.append(np.asarray(lcodes, dtype=np.intp), -1)
    return lcodes[codes], [str(x) for x in names]


def _labels(col: pd.Series) -> pd.Series:
    """Group or id values as text: integral floats without '.0', blanks as missing."""
    codes, names = _label_codes(col)
    out = pd.Series(np.asarray(list(names) + [None], dtype=object)[codes], index=col.index, dtype=object)
    out.name = col.name
    return out


def _sorted_labels(labels) -> list:
    def key(v):
        try:
            x = float(v)
            if math.isfinite(x):
                return (0, x, v)
        except ValueError:
            pass
        return (1, 0.0, v)

    return sorted((str(v) for v in labels), key=key)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _warnings(s: Screening, group, id_column, n_rows: int, n_kept: int) -> list:
    out = []
    if s.rows_without_group:
        out.append(
            f"{_plural(s.rows_without_group, 'row has', 'rows have')} no value in the group "
            f"column {_name(group)} and {'was' if s.rows_without_group == 1 else 'were'} left out"
        )
    if s.rows_not_in_selected_groups:
        out.append(
            f"{_plural(s.rows_not_in_selected_groups, 'row belongs', 'rows belong')} to groups "
            "that were not selected and " + ("was" if s.rows_not_in_selected_groups == 1 else "were") + " left out"
        )
    def per_item(counts: dict) -> str:
        return ", ".join(f"{_name(col)} {n}" for col, n in counts.items())

    if s.missing_codes_found:
        n = sum(s.missing_codes_found.values())
        out.append(f"{_plural(n, 'answer', 'answers')} used a missing-value code and "
                   + ("was" if n == 1 else "were") + f" treated as missing ({per_item(s.missing_codes_found)})")
    if s.out_of_range_coerced:
        n = sum(s.out_of_range_coerced.values())
        out.append(f"{_plural(n, 'answer', 'answers')} outside the response range "
                   + ("was" if n == 1 else "were") + f" treated as missing ({per_item(s.out_of_range_coerced)})")
    for col, n in s.missing_per_item.items():
        if n == n_kept:
            out.append(f"nobody answered {_name(col)}")
    for col in s.zero_variance_items:
        out.append(f"everybody who answered {_name(col)} gave the same answer, so it carries no information")
    if s.straightliners:
        counts = ", ".join(f"{scale} {info['count']}" for scale, info in s.straightliners.items())
        out.append(f"straight-lining: respondents who gave the same answer to every item of a scale ({counts})")
    if s.duplicate_ids:
        shown = ", ".join(s.duplicate_ids[:5]) + (", ..." if len(s.duplicate_ids) > 5 else "")
        out.append(
            f"{_plural(len(s.duplicate_ids), 'id appears', 'ids appear')} more than once in "
            f"column {_name(id_column)}: {shown}"
        )
    if s.rows_used == 0:
        out.append("no respondent answered every item")
    return [_one_line(w) for w in out]
