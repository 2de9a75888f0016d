"""The ``coscale`` command line: flags -> API call -> renderer -> exit code.

Exit codes: 0 done; 1 done, but a criterion named with ``--fail-on`` was not
met; 2 bad input or usage; 3 the model could not be estimated.
Heavy libraries (pandas, SciPy) are imported inside the commands that need
them, so ``coscale --help`` and ``coscale scales`` start fast.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import List, Optional

import typer

from coscale import __version__
from coscale.errors import CoscaleError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Validate psychometric scales for research on the co-production of public services.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help text: typer's rich help formatter costs ~0.13 s of imports
)
scales_app = typer.Typer(no_args_is_help=True, help="List and show the bundled scale definitions.", rich_markup_mode=None)
app.add_typer(scales_app, name="scales")


class OutputFormat(str, Enum):
    terminal = "terminal"
    json = "json"
    markdown = "markdown"
    latex = "latex"
    html = "html"


class ReportFormat(str, Enum):
    terminal = "terminal"
    html = "html"
    markdown = "markdown"
    latex = "latex"


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"coscale: error: {message}\n")
    raise typer.Exit(code)


def _run(func):
    """Run a command body; coscale's own errors become one line on stderr."""
    try:
        return func()
    except CoscaleError as err:
        _fail(str(err).replace("\n", " "), err.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except typer.Exit:
        raise
    except Exception as err:  # a bug: say so in one line, traceback only on request
        if os.environ.get("COSCALE_DEBUG"):
            raise
        _fail(f"internal error ({type(err).__name__}: {err}); set COSCALE_DEBUG=1 for a traceback and please report it", 3)


def _version(value: bool):
    if value:
        typer.echo(f"coscale {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
):
    """coscale: scale validation for co-production research."""


def _console(stream=None, *, plain: bool = False):
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    # NO_COLOR: no escape codes at all (rich's no_color alone still writes bold/dim);
    # plain (a report written with --output): never escape codes, whatever FORCE_COLOR says
    return Console(
        file=stream or sys.stdout,
        no_color=no_color,
        color_system=None if no_color or plain else "auto",
        force_terminal=False if plain else None,
        highlight=False,
        soft_wrap=False,
    )


def _check_output(output: Optional[str], data: str) -> None:
    """Refuse an --output path that cannot be written, or that is the data file, before any work."""
    if not output:
        return
    if os.path.isdir(output):
        raise CoscaleError(f"{output}: is a directory; --output needs a file name")
    parent = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(parent):
        raise CoscaleError(f"{output}: cannot write the output: folder {parent} does not exist")
    if data != "-" and os.path.exists(output) and os.path.exists(data) and os.path.samefile(output, data):
        raise CoscaleError(f"{output}: --output is the data file itself; choose another name")


def _write(text: str, output: Optional[str]) -> None:
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as err:
            raise CoscaleError(f"{output}: cannot write the output: {err.strerror or err}") from None
    else:
        sys.stdout.write(text)


#: built-in defaults; a config file (coscale.toml or [tool.coscale]) overrides them, flags override both
DEFAULTS = {
    "scales": "coproduction", "id": None, "coerce_out_of_range": False, "bootstrap": 0, "seed": 20261128,
    "estimator": "auto", "missing": "auto", "ordinal": False, "std_lv": False, "format": "terminal",
    "fail_on": [], "group": None, "groups": None, "criteria": "chen2007", "partial": True, "alpha": 0.05,
}
FAIL_ON_INVARIANCE = ("configural", "metric", "scalar", "strict", "invariance", "fit", "any")

DATA_HELP = "Survey file(s): CSV, TSV, XLSX, SAV or Parquet; '-' reads CSV from stdin. Several files (or a glob) give one result each."
CONFIG_OPTION = typer.Option(None, "--config", help="Config file (default: the nearest coscale.toml or [tool.coscale] in pyproject.toml).")


def _resolve(command: str, config: Optional[str], **flags) -> dict:
    """Settings: built-in defaults, then the config file, then the flags given."""
    from coscale.config import load_config

    _, from_file = load_config(command, config)
    out = dict(DEFAULTS)
    out.update(from_file)
    out.update({k: v for k, v in flags.items() if v is not None})
    fmt = out["format"]
    if fmt not in {f.value for f in OutputFormat}:
        raise CoscaleError(f"format {fmt}: choose from {', '.join(f.value for f in OutputFormat)}")
    return out


def _expand(data: List[str]) -> List[str]:
    """File arguments, with glob patterns that the shell did not expand (e.g. quoted) expanded here."""
    import glob

    files: list[str] = []
    for item in data:
        if item != "-" and not os.path.exists(item) and any(ch in item for ch in "*?["):
            matches = sorted(glob.glob(item))
            if not matches:
                raise CoscaleError(f"{item}: no file matches this pattern")
            files.extend(matches)
        else:
            files.append(item)
    return files


def _batch(files: List[str], settings: dict, analyse, render) -> int:
    """Analyse every file; one result each. With several files JSON becomes JSON Lines.

    A file with bad input does not stop the batch: its error goes to stderr
    (and, in JSON Lines, a line ``{"source", "error", "exit_code"}``); the exit
    code is the worst of the files'.
    """
    import json

    fmt, output = settings["format"], settings.get("output")
    several = len(files) > 1
    if several and output and fmt != "json":
        raise CoscaleError("--output with several data files needs --format json (one JSON document per line)")
    if several and fmt in ("markdown", "latex", "html"):
        raise CoscaleError(f"--format {fmt} takes one data file at a time")
    for f in files:
        _check_output(output, f)
    worst = 0
    lines: list[str] = []
    from coscale.progress import terminal_progress

    results = []
    with terminal_progress() as progress:  # a bar on stderr, only when it is a terminal
        for number, f in enumerate(files):
            if several:
                progress("Files", number, len(files))
            try:
                result = analyse(f, progress)
            except CoscaleError as err:
                if not several:
                    raise
                message = str(err).replace("\n", " ")
                sys.stderr.write(f"coscale: error: {message}\n")
                if fmt == "json":
                    line = json.dumps({"source": f, "error": message, "exit_code": err.exit_code})
                    lines.append(line) if output else sys.stdout.write(line + "\n")
                worst = max(worst, err.exit_code)
                continue
            if several and fmt == "json":
                line = result.to_json(indent=None)
                lines.append(line) if output else sys.stdout.write(line + "\n")
            else:
                results.append(result)
            worst = max(worst, _exit_code(result, settings["fail_on"]))
    for result in results:  # reports after the bar has gone
        _show(result, fmt, output, render)
    if lines:
        _write("\n".join(lines) + "\n", output)
    return worst


def _read(path: str, scales: str, *extra):
    """Read a data file; Parquet and CSV read only the instrument's columns (and id/group).

    The table only goes to the analysis (``prepare``), so it is read compact
    (one-digit answers as int8 / float32: see :func:`coscale.survey.read_table`).
    """
    from coscale.scales import load_scales
    from coscale.survey import read_table

    try:
        columns = list(load_scales(scales).columns) + [c for c in extra if c]
    except CoscaleError:
        columns = None  # the analysis reports the scale-file problem itself
    return read_table(path, columns=columns, compact=True)


@app.command()
def validate(
    data: List[str] = typer.Argument(..., help=DATA_HELP),
    scales: Optional[str] = typer.Option(None, "--scales", "-s", help="Scale file (YAML) or bundled instrument name [default: coproduction]."),
    id_column: Optional[str] = typer.Option(None, "--id", help="Respondent id column (checked for duplicates)."),
    coerce_out_of_range: Optional[bool] = typer.Option(
        None, "--coerce-out-of-range/--no-coerce-out-of-range",
        help="Treat answers outside the response range as missing instead of failing.", show_default=False,
    ),
    bootstrap: Optional[int] = typer.Option(None, "--bootstrap", min=0, help="Bootstrap replicates for the CIs of alpha and omega [default: 0, Feldt's CI]."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed for the bootstrap [default: 20261128]."),
    estimator: Optional[str] = typer.Option(None, "--estimator", "-e", help="auto, ML, MLM, MLR or WLSMV (auto chooses from the answers and says why) [default: auto]."),
    missing: Optional[str] = typer.Option(None, "--missing", help="Missing answers: auto (FIML when any are missing), fiml or listwise [default: auto]."),
    ordinal: Optional[bool] = typer.Option(None, "--ordinal/--no-ordinal", help="Treat the items as ordinal (polychoric correlations, WLSMV).", show_default=False),
    std_lv: Optional[bool] = typer.Option(None, "--std-lv/--no-std-lv", help="Identify factors by unit variance instead of marker items.", show_default=False),
    fmt: Optional[OutputFormat] = typer.Option(
        None, "--format", "-f",
        help="Output format: terminal, json, markdown or latex (tables and methods paragraph for a paper), html [default: terminal].",
    ),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the output to this file."),
    fail_on: Optional[List[str]] = typer.Option(
        None, "--fail-on", help="Exit 1 when this criterion is not met: fit, reliability, convergent, discriminant, validity, any."
    ),
    config: Optional[str] = CONFIG_OPTION,
):
    """Screen the data, then item statistics, reliability, CFA and validity of every scale."""

    def body():
        from coscale.api import FAIL_ON_TOPICS, validate as run_validate
        from coscale.report.terminal import render_validation

        s = _resolve("validate", config, scales=scales, id=id_column, coerce_out_of_range=coerce_out_of_range,
                     bootstrap=bootstrap, seed=seed, estimator=estimator, missing=missing, ordinal=ordinal,
                     std_lv=std_lv, format=getattr(fmt, "value", fmt), fail_on=fail_on or None)
        s["output"] = output
        for topic in s["fail_on"]:
            if topic not in FAIL_ON_TOPICS:
                raise CoscaleError(f"--fail-on {topic}: choose from {', '.join(FAIL_ON_TOPICS)}")

        def analyse(path, progress):
            return run_validate(
                _read(path, s["scales"], s["id"]), s["scales"], source="<stdin>" if path == "-" else path, id_column=s["id"],
                coerce_out_of_range=s["coerce_out_of_range"], bootstrap=s["bootstrap"], seed=s["seed"],
                estimator=s["estimator"], missing=s["missing"], ordinal=s["ordinal"], std_lv=s["std_lv"],
                workers=None, progress=progress,
            )

        return _batch(_expand(data), s, analyse, render_validation)

    code = _run(body)
    raise typer.Exit(code or 0)


@app.command()
def invariance(
    data: List[str] = typer.Argument(..., help=DATA_HELP),
    group: Optional[str] = typer.Option(None, "--group", "-g", help="Column holding the groups (e.g. role); required here or in the config file."),
    groups: Optional[str] = typer.Option(
        None, "--groups", help="Groups to compare, comma-separated; the first is the reference (default: all, in order of appearance)."
    ),
    scales: Optional[str] = typer.Option(None, "--scales", "-s", help="Scale file (YAML) or bundled instrument name [default: coproduction]."),
    criteria: Optional[str] = typer.Option(
        None, "--criteria", help="Decision rule per step: chen2007, cheung-rensvold2002 or chisq [default: chen2007]."
    ),
    std_lv: Optional[bool] = typer.Option(None, "--std-lv/--no-std-lv", help="Identify factors by unit variance instead of marker items.", show_default=False),
    partial: Optional[bool] = typer.Option(None, "--partial/--no-partial", help="Search for partial invariance when a step fails [default: yes].", show_default=False),
    alpha: Optional[float] = typer.Option(None, "--alpha", min=0.0, max=1.0, help="Family-wise level of the score tests (Holm) [default: 0.05]."),
    id_column: Optional[str] = typer.Option(None, "--id", help="Respondent id column (checked for duplicates)."),
    coerce_out_of_range: Optional[bool] = typer.Option(
        None, "--coerce-out-of-range/--no-coerce-out-of-range",
        help="Treat answers outside the response range as missing instead of failing.", show_default=False,
    ),
    estimator: Optional[str] = typer.Option(None, "--estimator", "-e", help="auto, ML, MLM, MLR or WLSMV (auto chooses from the answers and says why) [default: auto]."),
    missing: Optional[str] = typer.Option(None, "--missing", help="Missing answers: auto (FIML when any are missing), fiml or listwise [default: auto]."),
    ordinal: Optional[bool] = typer.Option(None, "--ordinal/--no-ordinal", help="Treat the items as ordinal (polychoric correlations, WLSMV).", show_default=False),
    fmt: Optional[OutputFormat] = typer.Option(
        None, "--format", "-f",
        help="Output format: terminal, json, markdown or latex (tables and methods paragraph for a paper), html [default: terminal].",
    ),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the output to this file."),
    fail_on: Optional[List[str]] = typer.Option(
        None, "--fail-on", help="Exit 1 when this level does not hold (fully or partially): metric, scalar, strict, invariance, fit, any."
    ),
    config: Optional[str] = CONFIG_OPTION,
):
    """Test measurement invariance across groups: configural, metric, scalar, strict, partial, latent means."""

    def body():
        from coscale.api import invariance as run_invariance
        from coscale.report.terminal_invariance import render_invariance

        chosen = [g.strip() for g in groups.split(",") if g.strip()] if groups else None
        s = _resolve("invariance", config, scales=scales, group=group, groups=chosen, criteria=criteria,
                     std_lv=std_lv, partial=partial, alpha=alpha, id=id_column,
                     coerce_out_of_range=coerce_out_of_range, estimator=estimator, missing=missing,
                     ordinal=ordinal, format=getattr(fmt, "value", fmt), fail_on=fail_on or None)
        s["output"] = output
        if not s["group"]:
            raise CoscaleError("--group is required (the column holding the groups), on the command line or in the config file")
        for topic in s["fail_on"]:
            if topic not in FAIL_ON_INVARIANCE:
                raise CoscaleError(f"--fail-on {topic}: choose from {', '.join(FAIL_ON_INVARIANCE)}")

        def analyse(path, progress):
            return run_invariance(
                _read(path, s["scales"], s["id"], s["group"]), s["scales"], group=s["group"], groups=s["groups"], criteria=s["criteria"],
                source="<stdin>" if path == "-" else path, id_column=s["id"],
                coerce_out_of_range=s["coerce_out_of_range"], std_lv=s["std_lv"], partial=s["partial"],
                alpha=s["alpha"], estimator=s["estimator"], missing=s["missing"], ordinal=s["ordinal"],
                progress=progress,
            )

        return _batch(_expand(data), s, analyse, render_invariance)

    code = _run(body)
    raise typer.Exit(code or 0)


def _not_estimated(result) -> list[str]:
    """Models that could not be estimated (no solution, or no convergence)."""
    if getattr(result, "kind", "") == "invariance":
        return [m.name for m in result.models if not m.converged]
    if result.cfa is None:
        return ["the instrument CFA (too few complete answers)"]
    return [] if result.cfa.converged else ["the instrument CFA (no convergence)"]


def _show(result, fmt, output: Optional[str], render) -> None:
    """Write the result as JSON, a paper document (Markdown, LaTeX, HTML) or a terminal report.

    ``fmt`` is an :class:`OutputFormat` or :class:`ReportFormat` (or its
    value). A report for a file is rendered in full first, then written, so a
    failure never leaves half a file, and it never carries colour codes.
    """
    fmt = getattr(fmt, "value", fmt)
    if fmt == "json":
        _write(result.to_json() + "\n", output)
    elif fmt in ("markdown", "latex", "html"):
        _write(_document(result, fmt), output)
    elif output:
        import io

        buffer = io.StringIO()
        render(result, _console(buffer, plain=True))
        _write(buffer.getvalue(), output)
    else:
        render(result, _console())


def _document(result, fmt: str) -> str:
    """The Markdown, LaTeX or HTML document of a result, ending in a newline."""
    if fmt == "markdown":
        from coscale.report.paper import markdown_tables

        text = markdown_tables(result)
    elif fmt == "latex":
        from coscale.report.paper import latex_tables

        text = latex_tables(result)
    else:
        from coscale.report.methods import methods_paragraph

        try:  # written by another module; the CLI must work without it
            from coscale.report.html import render_html
        except ImportError as err:
            raise CoscaleError(f"--format html is not available in this installation ({err}); "
                               "use --format markdown or latex") from None
        text = render_html(result, methods_html=methods_paragraph(result).html_fragment())
        if not isinstance(text, str):
            raise CoscaleError("--format html: the HTML renderer returned no document; please report it")
    return text if text.endswith("\n") else text + "\n"


def _renderer(kind: str):
    if kind == "invariance":
        from coscale.report.terminal_invariance import render_invariance

        return render_invariance
    from coscale.report.terminal import render_validation

    return render_validation


def read_result(path: str):
    """Read a JSON document written by ``validate`` or ``invariance`` (``-``: stdin) as a result object.

    Every problem is an :class:`~coscale.errors.InputError` whose one-line
    message names the file: missing, unreadable, not JSON, not a coscale
    result, or written by a coscale with another schema version.
    """
    import json

    from coscale.errors import InputError

    name = "<stdin>" if path == "-" else path
    if path == "-":
        text = sys.stdin.read()
    else:
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory, not a results file")
        try:
            with open(path, encoding="utf-8-sig") as fh:  # tolerate a byte-order mark
                text = fh.read()
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a text file (expected the JSON written by coscale --format json)") from None
        except OSError as err:
            raise InputError(f"{path}: cannot read the file: {err.strerror or err}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{name}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
            "expected the output of coscale validate or invariance --format json"
        ) from None
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if kind not in ("validate", "invariance"):
        raise InputError(
            f"{name}: not a coscale result (no \"kind\": \"validate\" or \"invariance\" field); "
            "expected the output of coscale validate or invariance --format json"
        )
    from coscale.results import InvarianceResult, ValidationResult

    cls = InvarianceResult if kind == "invariance" else ValidationResult
    try:
        return cls.from_dict(doc)
    except InputError as err:
        raise InputError(f"{name}: {err}") from None
    except (TypeError, KeyError, AttributeError, ValueError) as err:
        raise InputError(f"{name}: an incomplete or damaged coscale {kind} result ({type(err).__name__}: {err})") from None


@app.command()
def report(
    results: str = typer.Argument(..., help="JSON written by 'coscale validate' or 'coscale invariance' --format json; '-' reads stdin."),
    fmt: ReportFormat = typer.Option(
        ReportFormat.terminal, "--format", "-f", help="terminal, html, markdown or latex (tables and methods paragraph)."
    ),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the report to this file."),
):
    """Render a saved result (JSON) as a terminal report, HTML, or Markdown/LaTeX tables for a paper."""

    def body():
        _check_output(output, results)
        result = read_result(results)
        _show(result, fmt, output, _renderer(result.kind))
        return 0

    code = _run(body)
    raise typer.Exit(code or 0)


def _exit_code(result, fail_on) -> int:
    broken = _not_estimated(result)
    if broken:
        sys.stderr.write(f"coscale: could not estimate {', '.join(broken)}: see the warnings in the report\n")
        return 3
    topics = set(fail_on)
    if "validity" in topics:
        topics |= {"convergent", "discriminant"}
    if "any" in topics:
        if getattr(result, "kind", "") == "invariance":
            topics |= {"fit", "metric", "scalar", "strict"}
        else:
            topics |= {"fit", "reliability", "convergent", "discriminant"}
    failed = sorted(t for t in topics if t not in ("validity", "any") and result.failed(t))
    if failed:
        sys.stderr.write(f"coscale: criteria not met: {', '.join(failed)}\n")
        return 1
    return 0


@scales_app.command("list")
def scales_list(
    scales: Optional[str] = typer.Option(None, "--scales", "-s", help="A scale file instead of the bundled instruments."),
):
    """List the bundled instruments (or the scales of a file) with their scales."""

    def body():
        from coscale.scales import bundled_names, load_scales

        names = [scales] if scales else bundled_names()
        for name in names:
            inst = load_scales(name)
            typer.echo(f"{inst.name}  ({len(inst.scales)} scales, {len(inst.columns)} items)")
            for s in inst.scales:
                label = f"  {s.label}" if s.label else ""
                typer.echo(f"  {s.name:<24} {len(s.items)} items{label}")

    _run(body)


@scales_app.command("show")
def scales_show(
    name: str = typer.Argument(..., help="An instrument name, a scale name, or a YAML file."),
    role: Optional[str] = typer.Option(None, "--role", help="Show only this respondent role's wording."),
):
    """Show the scales of an instrument (or one scale): items, keying and wording per role."""

    def body():
        from coscale.errors import InputError
        from coscale.scales import bundled_names, load_scales

        chosen = None
        try:
            inst = load_scales(name)
        except CoscaleError:
            inst = None
            for bundle in bundled_names():
                candidate = load_scales(bundle)
                if any(s.name == name for s in candidate.scales):
                    inst, chosen = candidate, name
                    break
            if inst is None:
                raise
        from rich.padding import Padding
        from rich.text import Text

        console = _console()
        shown = [s for s in inst.scales if not chosen or s.name == chosen]
        if role:
            roles = sorted({r for s in shown for it in s.items for r in it.text})
            if role not in roles and "default" not in roles:
                raise InputError(
                    f"{inst.path or inst.name}: no item has wording for role '{role}' "
                    f"(roles: {', '.join(roles) or 'none'})"
                )

        def line(text: str, indent: int, style: str = "") -> None:
            # Text, not markup: "[name of council]" in a wording is shown as written;
            # long lines wrap under their own indentation.
            console.print(Padding(Text(text, style=style), (0, 0, 0, indent), expand=False))

        if inst.note and not chosen:
            line(inst.note.strip(), 0, "italic")
            console.print()
        for s in shown:
            title = Text(s.name, style="bold")
            if s.label:
                title.append(f"  {s.label}")
            console.print(title)
            if s.description:
                line(s.description, 2)
            if s.source:
                line(f"Source: {s.source}", 2)
            r = s.response
            if r.min is not None:
                labels = f" ({', '.join(r.labels)})" if r.labels else ""
                line(f"Response: {r.min}-{r.max}{labels}", 2)
            if s.missing_codes:
                line(f"Missing codes: {', '.join(str(c) for c in s.missing_codes)}", 2)
            for it in s.items:
                head = Text(it.id, style="bold")
                if it.column != it.id:
                    head.append(f" [column {it.column}]")
                if it.reverse:
                    head.append(" (reverse-keyed)")
                console.print(Padding(head, (0, 0, 0, 2), expand=False))
                if not role:
                    texts = list(it.text.items())
                elif role in it.text:
                    texts = [(role, it.text[role])]
                elif "default" in it.text:
                    texts = [("default", it.text["default"])]
                else:
                    texts = [(role, "(no wording for this role)")]
                for who, text in texts:
                    line(f"{who}: {text}", 6)
            console.print()

    _run(body)


def main() -> None:  # console-script entry point
    # coscale's matrices are small: BLAS threads only cost time (set before numpy loads)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
