"""Scale definitions: load YAML files, check them, find bundled instruments.

A scale file holds one instrument: an optional name and a list of scales, each
with items, a response range, missing-value codes and item wordings per
respondent role. See README "Scale files" for the format.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import pathlib
import re
from dataclasses import dataclass, field

from coscale.errors import ScaleError


@dataclass(frozen=True)
class Item:
    """One questionnaire item.

    ``column`` is the data column (defaults to ``id``); ``reverse`` items are
    recoded ``min + max - x`` before anything is computed; ``text`` maps a
    respondent role (``citizen``, ``professional``, or ``default``) to wording.
    """

    id: str
    column: str
    reverse: bool = False
    text: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    """Response format of a scale: range, labels and measurement level."""

    min: float | None = None
    max: float | None = None
    labels: tuple = ()
    type: str = "interval"  # or "ordinal"


@dataclass(frozen=True)
class Scale:
    """One construct measured by several items."""

    name: str
    items: tuple
    label: str = ""
    description: str = ""
    source: str = ""
    response: Response = Response()
    missing_codes: tuple = ()

    @property
    def columns(self) -> list[str]:
        return [it.column for it in self.items]

    @property
    def reverse_columns(self) -> list[str]:
        """Data columns of the reverse-keyed items, in item order."""
        return [it.column for it in self.items if it.reverse]


@dataclass(frozen=True)
class ModelLine:
    """An extra model line from the scale file, lavaan syntax.

    ``op`` is ``"~~"`` (residual covariance between two items) or ``"=~"``
    (a cross-loading of item ``rhs`` on factor/scale ``lhs``).
    """

    lhs: str
    op: str
    rhs: str


@dataclass(frozen=True)
class Instrument:
    """A set of scales read from one file (or bundled)."""

    scales: tuple
    name: str = ""
    note: str = ""
    path: str = ""
    model: tuple = ()  # tuple[ModelLine]

    @property
    def columns(self) -> list[str]:
        out: list[str] = []
        for s in self.scales:
            for c in s.columns:
                if c not in out:
                    out.append(c)
        return out

    def scale(self, name: str) -> Scale:
        for s in self.scales:
            if s.name == name:
                return s
        raise KeyError(name)


# ---------------------------------------------------------------------------
# Loading and checking scale files
# ---------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_NAME_RULE = "letters, digits, '_' or '.', not starting with a digit"

_TOP_KEYS = ("instrument", "note", "response", "missing_codes", "scales", "model")
_SCALE_KEYS = (
    "name", "label", "description", "source", "response", "missing_codes", "items",
)
_ITEM_KEYS = ("id", "column", "reverse", "text")
_RESPONSE_KEYS = ("min", "max", "labels", "type")
_RESPONSE_TYPES = ("interval", "ordinal")
_MODEL_OPS = ("=~", "~~")


class _Fail:
    """Builds one-line ``ScaleError`` messages prefixed with the file name."""

    def __init__(self, source: str):
        self.source = source

    def __call__(self, message: str) -> ScaleError:
        text = f"{self.source}: {message}"
        return ScaleError(" ".join(text.splitlines()))


def _is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _is_integral(value) -> bool:
    return _is_number(value) and float(value).is_integer()


def _fmt_num(value) -> str:
    return str(int(value)) if _is_integral(value) else repr(value)


def _describe(value) -> str:
    """Short description of a YAML value for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value; quote it if you meant text)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _clean(mapping: dict) -> dict:
    """Drop keys whose value is null: an empty key counts as not given."""
    return {k: v for k, v in mapping.items() if v is not None}


def _check_keys(mapping: dict, allowed, where: str, fail: _Fail) -> None:
    for key in mapping:
        if key not in allowed:
            raise fail(
                f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})"
            )


def _text(value, where: str, fail: _Fail) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if _is_number(value):
        return str(value)
    raise fail(f"{where} must be text, got {_describe(value)}")


def _name(value, where: str, fail: _Fail) -> str:
    if isinstance(value, str) and _NAME_RE.match(value):
        return value
    raise fail(
        f"{where} must be a name ({_NAME_RULE}), got {_describe(value)}"
    )


def _parse_response(raw, where: str, fail: _Fail) -> Response:
    if not isinstance(raw, dict):
        raise fail(
            f"{where}: 'response' must be a mapping like {{min: 1, max: 5}}, "
            f"got {_describe(raw)}"
        )
    raw = _clean(raw)
    _check_keys(raw, _RESPONSE_KEYS, f"{where} response", fail)
    lo, hi = raw.get("min"), raw.get("max")
    for key, val in (("min", lo), ("max", hi)):
        if val is not None and not _is_number(val):
            raise fail(
                f"{where}: response {key} must be a finite number, got {_describe(val)}"
            )
    if (lo is None) != (hi is None):
        raise fail(f"{where}: response needs both min and max (or neither)")
    if lo is not None and lo >= hi:
        raise fail(
            f"{where}: response min ({_fmt_num(lo)}) must be smaller than "
            f"max ({_fmt_num(hi)})"
        )
    rtype = raw.get("type", "interval")
    if rtype not in _RESPONSE_TYPES:
        raise fail(
            f"{where}: response type must be one of {', '.join(_RESPONSE_TYPES)}, "
            f"got {_describe(rtype)}"
        )
    labels = raw.get("labels", [])
    if not isinstance(labels, list):
        raise fail(f"{where}: response labels must be a list, got {_describe(labels)}")
    out_labels = []
    for i, lab in enumerate(labels, 1):
        if isinstance(lab, bool) or not isinstance(lab, (str, int, float)):
            raise fail(
                f"{where}: response label {i} must be text, got {_describe(lab)}"
            )
        out_labels.append(str(lab))
    if out_labels:
        if lo is None:
            raise fail(f"{where}: response labels need a min and max")
        if _is_integral(lo) and _is_integral(hi):
            lo, hi = int(lo), int(hi)
            want = hi - lo + 1
            if len(out_labels) != want:
                raise fail(
                    f"{where}: response has {len(out_labels)} labels but "
                    f"{lo}..{hi} needs {want}"
                )
    return Response(min=lo, max=hi, labels=tuple(out_labels), type=rtype)


def _parse_missing(raw, where: str, fail: _Fail) -> tuple:
    if not isinstance(raw, list):
        raw = [raw]
    out = []
    for code in raw:
        if _is_number(code) or (isinstance(code, str) and code.strip()):
            if code not in out:
                out.append(code)
        else:
            raise fail(
                f"{where}: missing code must be a number or text, got {_describe(code)}"
            )
    return tuple(out)


def _parse_text(raw, where: str, fail: _Fail) -> dict:
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {"default": raw.strip()} if raw.strip() else {}
    if not isinstance(raw, dict):
        raise fail(
            f"{where}: text must be a string or a mapping role: wording, "
            f"got {_describe(raw)}"
        )
    out = {}
    for role, wording in raw.items():
        role = _name(role, f"{where}: text role", fail)
        if not isinstance(wording, str) or not wording.strip():
            raise fail(
                f"{where}: text for role {role!r} must be text, got {_describe(wording)}"
            )
        out[role] = wording.strip()
    return out


def _parse_item(raw, where: str, fail: _Fail) -> Item:
    if not isinstance(raw, dict):
        item_id = _name(raw, where, fail)
        return Item(id=item_id, column=item_id)
    raw = _clean(raw)
    if "id" not in raw:
        raise fail(f"{where} has no 'id'")
    item_id = _name(raw["id"], f"{where}: 'id'", fail)
    where = f"{where} ({item_id!r})"
    _check_keys(raw, _ITEM_KEYS, where, fail)
    column = _name(raw.get("column", item_id), f"{where}: 'column'", fail)
    reverse = raw.get("reverse", False)
    if not isinstance(reverse, bool):
        raise fail(f"{where}: reverse must be true or false, got {_describe(reverse)}")
    text = _parse_text(raw.get("text"), where, fail)
    return Item(id=item_id, column=column, reverse=reverse, text=text)


def _parse_scale(raw, index: int, defaults: dict, fail: _Fail) -> Scale:
    where = f"scale {index}"
    if isinstance(raw, dict):
        raw = _clean(raw)
    if not isinstance(raw, dict):
        raise fail(
            f"{where} must be a mapping with 'name' and 'items', got {_describe(raw)}"
        )
    if "name" not in raw:
        raise fail(f"{where} has no 'name'")
    name = _name(raw["name"], f"{where}: 'name'", fail)
    where = f"scale {name!r}"
    _check_keys(raw, _SCALE_KEYS, where, fail)

    if "response" in raw:
        response = _parse_response(raw["response"], where, fail)
    else:
        response = defaults["response"]
    if "missing_codes" in raw:
        missing = _parse_missing(raw["missing_codes"], where, fail)
        inherited = ""
    else:
        missing = defaults["missing_codes"]
        inherited = " (missing codes come from the top level)"
    if response.min is not None:
        for code in missing:
            if _is_number(code) and response.min <= code <= response.max:
                raise fail(
                    f"{where}: missing code {_fmt_num(code)} lies inside the response "
                    f"range {_fmt_num(response.min)}..{_fmt_num(response.max)}"
                    f"{inherited}"
                )

    raw_items = raw.get("items")
    if raw_items is None:
        raise fail(f"{where} has no 'items'")
    if not isinstance(raw_items, list):
        raise fail(f"{where}: 'items' must be a list, got {_describe(raw_items)}")
    items = []
    ids: set = set()
    for j, raw_item in enumerate(raw_items, 1):
        item = _parse_item(raw_item, f"{where}, item {j}", fail)
        if item.id in ids:
            raise fail(f"{where}: item id {item.id!r} appears twice")
        ids.add(item.id)
        if item.reverse and response.min is None:
            raise fail(
                f"{where}: item {item.id!r} is reverse-keyed, which needs a "
                f"response min and max (none given for this scale or at the top level)"
            )
        items.append(item)
    if len(items) < 2:
        raise fail(f"{where} has {len(items)} item(s); a scale needs at least 2")

    return Scale(
        name=name,
        items=tuple(items),
        label=_text(raw.get("label"), f"{where}: label", fail),
        description=_text(raw.get("description"), f"{where}: description", fail),
        source=_text(raw.get("source"), f"{where}: source", fail),
        response=response,
        missing_codes=missing,
    )


def _check_item_ownership(scales: list, fail: _Fail) -> None:
    """One item (id or data column) belongs to one scale only."""
    owner_by_column: dict = {}
    owner_by_id: dict = {}
    for sc in scales:
        for it in sc.items:
            prev = owner_by_column.get(it.column)
            if prev is not None:
                what = (
                    f"item {it.id!r}"
                    if it.id == it.column
                    else f"item {it.id!r} (column {it.column!r})"
                )
                if prev == sc.name:
                    raise fail(
                        f"scale {sc.name!r}: {what} uses a data column that "
                        f"another item of this scale already uses"
                    )
                raise fail(
                    f"scale {sc.name!r}: {what} is already used by scale {prev!r}; "
                    f"an item belongs to one scale only"
                )
            owner_by_column[it.column] = sc.name
            prev = owner_by_id.get(it.id)
            if prev is not None and prev != sc.name:
                raise fail(
                    f"scale {sc.name!r}: item id {it.id!r} is already used by "
                    f"scale {prev!r}; item ids must be unique in a file"
                )
            owner_by_id[it.id] = sc.name
    names = {sc.name for sc in scales}
    for sc in scales:
        for it in sc.items:
            for label in {it.id, it.column}:
                if label in names:
                    raise fail(
                        f"scale {sc.name!r}: item {label!r} has the same name as a "
                        f"scale; rename one of them (both become model variables)"
                    )


def _split_model_lines(raw, fail: _Fail) -> list:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise fail(f"'model' must be a list of lines, got {_describe(raw)}")
    lines = []
    for entry in raw:
        if not isinstance(entry, str):
            raise fail(
                f"model line must be text like 'a ~~ b', got {_describe(entry)}"
            )
        for part in re.split(r"[\n;]", entry):
            part = part.split("#", 1)[0].strip()
            if part:
                lines.append(part)
    return lines


def _parse_model(raw, scales: list, fail: _Fail) -> tuple:
    by_scale = {sc.name: sc for sc in scales}
    by_id: dict = {}
    by_column: dict = {}
    for sc in scales:
        for it in sc.items:
            by_id[it.id] = (it, sc)
            by_column[it.column] = (it, sc)

    def item(token: str, line: str):
        hit_id = by_id.get(token)
        hit_col = by_column.get(token)
        if hit_id and hit_col and hit_id[0] is not hit_col[0]:
            raise fail(
                f"model line {line!r}: {token!r} is ambiguous (the id of item "
                f"{hit_id[0].id!r} and the column of item {hit_col[0].id!r})"
            )
        hit = hit_id or hit_col
        if hit is None:
            kind = "a scale, not an item" if token in by_scale else "not a known item"
            raise fail(f"model line {line!r}: {token!r} is {kind}")
        return hit

    out: list = []
    seen: set = set()
    for line in _split_model_lines(raw, fail):
        op = next((o for o in _MODEL_OPS if o in line), None)
        if op is None or line.count(op) != 1 or (
            op == "~~" and "=~" in line
        ):
            raise fail(
                f"model line {line!r} does not parse: use 'item ~~ item' "
                f"(residual covariance) or 'scale =~ item' (cross-loading)"
            )
        lhs, rhs = (side.strip() for side in line.split(op))
        rhs_tokens = [t.strip() for t in rhs.split("+")]
        for token in [lhs, *rhs_tokens]:
            if not _NAME_RE.match(token):
                raise fail(
                    f"model line {line!r} does not parse: {token!r} is not a name "
                    f"(only plain names; no labels, starting values or fixed values)"
                )
        for token in rhs_tokens:
            if op == "=~":
                if lhs not in by_scale:
                    kind = "an item" if (lhs in by_id or lhs in by_column) else "unknown"
                    raise fail(
                        f"model line {line!r}: left of '=~' must be a scale name, "
                        f"{lhs!r} is {kind}"
                    )
                it, owner = item(token, line)
                if owner.name == lhs:
                    raise fail(
                        f"model line {line!r}: item {it.id!r} already belongs to "
                        f"scale {lhs!r}"
                    )
                key = (lhs, op, it.column)
                ml = ModelLine(lhs=lhs, op=op, rhs=it.column)
            else:
                a, _ = item(lhs, line)
                b, _ = item(token, line)
                if a is b:
                    raise fail(
                        f"model line {line!r}: an item cannot covary with itself "
                        f"(its variance is estimated anyway)"
                    )
                key = (op, frozenset((a.column, b.column)))
                ml = ModelLine(lhs=a.column, op=op, rhs=b.column)
            if key in seen:
                raise fail(f"model line {line!r} repeats an earlier model line")
            seen.add(key)
            out.append(ml)
    return tuple(out)


def parse_instrument(mapping, source: str) -> Instrument:
    """Check a parsed scale file and build an :class:`Instrument`.

    Parameters
    ----------
    mapping : dict
        The content of a scale file as loaded by YAML: a mapping with a
        ``scales`` list and the optional keys ``instrument``, ``note``,
        ``response``, ``missing_codes`` (defaults that scales inherit unless
        they set their own) and ``model`` (extra lavaan-style lines).
    source : str
        Name of the file the mapping came from; it prefixes every error
        message and becomes :attr:`Instrument.path`.

    Returns
    -------
    Instrument
        The checked instrument. Model lines refer to data columns (item ids
        are resolved to their columns).

    Raises
    ------
    ScaleError
        With a one-line message ``"<source>: <problem>"`` naming the scale,
        item or key at fault.

    Notes
    -----
    A key whose value is empty (YAML ``null``) counts as not given; to drop
    inherited missing codes in one scale, write ``missing_codes: []``.
    """
    source = str(source)
    fail = _Fail(source)
    if not isinstance(mapping, dict):
        raise fail(
            f"expected a mapping with a 'scales:' list at the top, got {_describe(mapping)}"
        )
    mapping = _clean(mapping)
    _check_keys(mapping, _TOP_KEYS, "top level", fail)

    defaults = {"response": Response(), "missing_codes": ()}
    if "response" in mapping:
        defaults["response"] = _parse_response(mapping["response"], "top level", fail)
    if "missing_codes" in mapping:
        defaults["missing_codes"] = _parse_missing(
            mapping["missing_codes"], "top level", fail
        )

    raw_scales = mapping.get("scales")
    if raw_scales is None:
        raise fail("no 'scales:' list")
    if not isinstance(raw_scales, list):
        raise fail(f"'scales' must be a list, got {_describe(raw_scales)}")
    if not raw_scales:
        raise fail("'scales' is empty")
    scales: list = []
    for i, raw in enumerate(raw_scales, 1):
        sc = _parse_scale(raw, i, defaults, fail)
        if any(s.name == sc.name for s in scales):
            raise fail(f"scale {sc.name!r} is defined twice")
        scales.append(sc)
    _check_item_ownership(scales, fail)

    model = _parse_model(mapping.get("model", []), scales, fail)
    stem = pathlib.Path(source).stem if source else ""
    return Instrument(
        scales=tuple(scales),
        name=_text(mapping.get("instrument", stem), "'instrument'", fail),
        note=_text(mapping.get("note"), "'note'", fail),
        path=source,
        model=model,
    )


@functools.lru_cache(maxsize=None)
def bundled_dir() -> pathlib.Path:
    """Folder holding the bundled scale files.

    Returns
    -------
    pathlib.Path
        Location of the package ``coscale.bundled_scales`` (the top-level
        ``scales/`` folder of the source tree), in editable and normal installs.
    """
    spec = importlib.util.find_spec("coscale.bundled_scales")
    if spec is not None and spec.submodule_search_locations:
        return pathlib.Path(list(spec.submodule_search_locations)[0])
    return pathlib.Path(__file__).resolve().parent.parent / "scales"  # pragma: no cover


def bundled_names() -> list[str]:
    """Names of the bundled instruments.

    Returns
    -------
    list of str
        Sorted file stems of the ``*.yaml`` files in :func:`bundled_dir`;
        each can be passed to :func:`load_scales`.
    """
    return sorted(p.stem for p in bundled_dir().glob("*.yaml"))


def _yaml_loader():
    """A safe YAML loader that rejects duplicate keys in a mapping."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable key; SafeLoader reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=True)

    _Loader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping
    )
    return yaml, _Loader


def _read_yaml(path: pathlib.Path, source: str):
    fail = _Fail(source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise fail("not a UTF-8 text file") from None
    except OSError as exc:
        raise fail(f"cannot read the file ({exc.strerror or exc})") from None
    yaml, loader = _yaml_loader()
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        if "'\\t'" in problem:
            problem += " (indent with spaces, not tabs)"
        raise fail(f"not valid YAML{where}: {problem}") from None
    if data is None:
        raise fail("the file is empty")
    return data


def _not_found_message(spec: str, names: list[str]) -> str:
    listing = ", ".join(names) if names else "none"
    tried = pathlib.Path(spec).expanduser().absolute()
    msg = (
        f"{spec}: no such scale file (looked for {tried}) and no bundled "
        f"instrument of that name (bundled: {listing})"
    )
    # A common slip: passing a bundled *scale* name instead of the instrument.
    for name in names:
        try:
            inst = load_scales(name)
        except ScaleError:  # pragma: no cover - bundled files are tested
            continue
        if any(s.name == spec for s in inst.scales):
            msg += (
                f"; {spec!r} is a scale of the bundled instrument {name!r}: "
                f"load {name!r} and select that scale"
            )
            break
    return msg


def load_scales(spec: str | os.PathLike) -> Instrument:
    """Load and check a scale file or a bundled instrument.

    Parameters
    ----------
    spec : str or os.PathLike
        Path to a YAML scale file, or the name of a bundled instrument
        (see :func:`bundled_names`, e.g. ``"coproduction"``). An existing
        path wins over a bundled name.

    Returns
    -------
    Instrument
        The checked instrument; :attr:`Instrument.path` is the file read.

    Raises
    ------
    ScaleError
        If the file cannot be found or read, is not valid YAML, or breaks a
        rule of the scale format. The message is one line starting with the
        file name.

    Examples
    --------
    >>> inst = load_scales("coproduction")
    >>> [s.name for s in inst.scales][:2]
    ['motives_self', 'motives_community']
    """
    text = os.fspath(spec)
    if not str(text).strip():
        raise ScaleError("no scale file given (empty name)")
    path = pathlib.Path(text).expanduser()
    if path.is_dir():
        raise ScaleError(f"{text}: is a folder, expected a YAML scale file")
    if not path.exists():
        names = bundled_names()
        if text in names:
            path = bundled_dir() / f"{text}.yaml"
        else:
            raise ScaleError(_not_found_message(str(text), names))
    source = str(path)
    return parse_instrument(_read_yaml(path, source), source)
