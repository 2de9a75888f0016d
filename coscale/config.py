"""Team defaults from a config file: ``coscale.toml``, or ``[tool.coscale]`` in ``pyproject.toml``.

The file is looked for in the working directory and its parents (the first
found wins; ``coscale.toml`` before ``pyproject.toml`` in the same folder), or
given with ``--config``. Flags on the command line override it. Example::

    # coscale.toml
    scales = "scales/my_instrument.yaml"
    estimator = "MLR"
    missing = "fiml"
    fail_on = ["fit", "reliability"]

    [invariance]
    group = "role"
    criteria = "chen2007"

Top-level keys apply to every command; a ``[validate]`` or ``[invariance]``
table holds keys for one command only.
"""

from __future__ import annotations

import os
from pathlib import Path

from coscale.errors import InputError

#: keys a config file may set, and the type each must have
KEYS = {
    "scales": str,
    "id": str,
    "estimator": str,
    "missing": str,
    "ordinal": bool,
    "std_lv": bool,
    "coerce_out_of_range": bool,
    "fail_on": list,
    "format": str,
    "bootstrap": int,
    "seed": int,
    "group": str,
    "groups": list,
    "criteria": str,
    "alpha": float,
    "partial": bool,
}
COMMANDS = ("validate", "invariance")


def _toml(path: Path) -> dict:
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as err:
        raise InputError(f"{path}: cannot read the config file ({err.strerror or err})") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML ({str(err).splitlines()[0]})") from None


def find_config(start: str | os.PathLike | None = None) -> tuple[Path, dict] | None:
    """The nearest config file above ``start`` (default: the working directory) and its coscale table."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        own = folder / "coscale.toml"
        if own.is_file():
            return own, _toml(own)
        project = folder / "pyproject.toml"
        if project.is_file():
            table = _toml(project).get("tool", {}).get("coscale")
            if table is not None:
                return project, table
    return None


def load_config(command: str, path: str | os.PathLike | None = None, start=None) -> tuple[str, dict]:
    """Settings for ``command`` from a config file, checked.

    Parameters
    ----------
    command : {"validate", "invariance"}
    path : path, optional
        An explicit config file (``--config``); otherwise the nearest one.
    start : path, optional
        Where the search starts (default: the working directory).

    Returns
    -------
    (source, settings)
        The file used ("" when none) and its keys for this command, with a
        command's own table overriding the top level.
    """
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such config file")
        doc = _toml(path)
        table = doc.get("tool", {}).get("coscale", {}) if path.name == "pyproject.toml" else doc
        found = (path, table)
    else:
        found = find_config(start)
    if found is None:
        return "", {}
    source, table = found
    if not isinstance(table, dict):
        raise InputError(f"{source}: the coscale settings must be a table")
    settings = {k: v for k, v in table.items() if k not in COMMANDS}
    own = table.get(command, {})
    if not isinstance(own, dict):
        raise InputError(f"{source}: [{command}] must be a table")
    settings.update(own)
    for key, value in settings.items():
        kind = KEYS.get(key)
        if kind is None:
            raise InputError(f"{source}: unknown setting '{key}' (known: {', '.join(sorted(KEYS))})")
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise InputError(f"{source}: setting '{key}' must be a {kind.__name__}, not {type(value).__name__}")
    if "scales" in settings:  # a relative scale file is relative to the config file
        candidate = (Path(source).parent / settings["scales"])
        if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
            settings["scales"] = str(candidate)
    return str(source), settings
