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
)
scales_app = typer.Typer(no_args_is_help=True, help="List and show the bundled scale definitions.")
app.add_typer(scales_app, name="scales")


class OutputFormat(str, Enum):
    terminal = "terminal"
    json = "json"


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


def _console(stream=None):
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    return Console(file=stream or sys.stdout, no_color=no_color, highlight=False, soft_wrap=False)


def _write(text: str, output: Optional[str]) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


@app.command()
def validate(
    data: str = typer.Argument(..., help="Survey file: CSV, TSV, XLSX, SAV or Parquet; '-' reads CSV from stdin."),
    scales: str = typer.Option("coproduction", "--scales", "-s", help="Scale file (YAML) or bundled instrument name."),
    id_column: Optional[str] = typer.Option(None, "--id", help="Respondent id column (checked for duplicates)."),
    coerce_out_of_range: bool = typer.Option(
        False, "--coerce-out-of-range", help="Treat answers outside the response range as missing instead of failing."
    ),
    bootstrap: int = typer.Option(0, "--bootstrap", min=0, help="Bootstrap replicates for the CI of alpha (0: Feldt)."),
    seed: int = typer.Option(20261128, "--seed", help="Seed for the bootstrap."),
    missing: str = typer.Option("listwise", "--missing", help="Missing data in the CFA: listwise."),
    std_lv: bool = typer.Option(False, "--std-lv", help="Identify factors by unit variance instead of marker items."),
    fmt: OutputFormat = typer.Option(OutputFormat.terminal, "--format", "-f", help="Output format."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the output to this file."),
    fail_on: List[str] = typer.Option(
        [], "--fail-on", help="Exit 1 when this criterion is not met: fit, reliability, convergent, discriminant, validity, any."
    ),
):
    """Screen the data, then item statistics, reliability, CFA and validity of every scale."""

    def body():
        from coscale.api import FAIL_ON_TOPICS, validate as run_validate
        from coscale.survey import read_table

        for topic in fail_on:
            if topic not in FAIL_ON_TOPICS:
                raise CoscaleError(f"--fail-on {topic}: choose from {', '.join(FAIL_ON_TOPICS)}")
        frame = read_table(data)
        source = "<stdin>" if data == "-" else data
        result = run_validate(
            frame,
            scales,
            source=source,
            id_column=id_column,
            coerce_out_of_range=coerce_out_of_range,
            bootstrap=bootstrap,
            seed=seed,
            missing=missing,
            std_lv=std_lv,
        )
        if fmt == OutputFormat.json:
            _write(result.to_json() + "\n", output)
        else:
            from coscale.report.terminal import render_validation

            if output:
                with open(output, "w", encoding="utf-8") as fh:
                    render_validation(result, _console(fh))
            else:
                render_validation(result, _console())
        return _exit_code(result, fail_on)

    code = _run(body)
    raise typer.Exit(code or 0)


FAIL_ON_INVARIANCE = ("configural", "metric", "scalar", "strict", "invariance", "fit", "any")


@app.command()
def invariance(
    data: str = typer.Argument(..., help="Survey file: CSV, TSV, XLSX, SAV or Parquet; '-' reads CSV from stdin."),
    group: str = typer.Option(..., "--group", "-g", help="Column holding the groups (e.g. role)."),
    groups: Optional[str] = typer.Option(
        None, "--groups", help="Groups to compare, comma-separated; the first is the reference (default: all, in order of appearance)."
    ),
    scales: str = typer.Option("coproduction", "--scales", "-s", help="Scale file (YAML) or bundled instrument name."),
    criteria: str = typer.Option(
        "chen2007", "--criteria", help="Decision rule per step: chen2007, cheung-rensvold2002 or chisq."
    ),
    std_lv: bool = typer.Option(False, "--std-lv", help="Identify factors by unit variance instead of marker items."),
    no_partial: bool = typer.Option(False, "--no-partial", help="Do not search for partial invariance when a step fails."),
    alpha: float = typer.Option(0.05, "--alpha", min=0.0, max=1.0, help="Family-wise level of the score tests (Holm)."),
    id_column: Optional[str] = typer.Option(None, "--id", help="Respondent id column (checked for duplicates)."),
    coerce_out_of_range: bool = typer.Option(
        False, "--coerce-out-of-range", help="Treat answers outside the response range as missing instead of failing."
    ),
    missing: str = typer.Option("listwise", "--missing", help="Missing data: listwise."),
    fmt: OutputFormat = typer.Option(OutputFormat.terminal, "--format", "-f", help="Output format."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the output to this file."),
    fail_on: List[str] = typer.Option(
        [], "--fail-on", help="Exit 1 when this level does not hold (fully or partially): metric, scalar, strict, invariance, fit, any."
    ),
):
    """Test measurement invariance across groups: configural, metric, scalar, strict, partial, latent means."""

    def body():
        from coscale.api import invariance as run_invariance
        from coscale.survey import read_table

        for topic in fail_on:
            if topic not in FAIL_ON_INVARIANCE:
                raise CoscaleError(f"--fail-on {topic}: choose from {', '.join(FAIL_ON_INVARIANCE)}")
        frame = read_table(data)
        source = "<stdin>" if data == "-" else data
        chosen = [g.strip() for g in groups.split(",") if g.strip()] if groups else None
        result = run_invariance(
            frame,
            scales,
            group=group,
            groups=chosen,
            criteria=criteria,
            source=source,
            id_column=id_column,
            coerce_out_of_range=coerce_out_of_range,
            std_lv=std_lv,
            partial=not no_partial,
            alpha=alpha,
            missing=missing,
        )
        if fmt == OutputFormat.json:
            _write(result.to_json() + "\n", output)
        else:
            from coscale.report.terminal import render_invariance

            if output:
                with open(output, "w", encoding="utf-8") as fh:
                    render_invariance(result, _console(fh))
            else:
                render_invariance(result, _console())
        return _exit_code(result, fail_on)

    code = _run(body)
    raise typer.Exit(code or 0)


def _exit_code(result, fail_on) -> int:
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
        console = _console()
        if inst.note and not chosen:
            console.print(inst.note.strip(), style="italic")
            console.print()
        for s in inst.scales:
            if chosen and s.name != chosen:
                continue
            console.print(f"[bold]{s.name}[/bold]  {s.label}")
            if s.description:
                console.print(f"  {s.description}")
            if s.source:
                console.print(f"  Source: {s.source}")
            r = s.response
            if r.min is not None:
                labels = f" ({', '.join(r.labels)})" if r.labels else ""
                console.print(f"  Response: {r.min}-{r.max}{labels}")
            if s.missing_codes:
                console.print(f"  Missing codes: {', '.join(str(c) for c in s.missing_codes)}")
            for it in s.items:
                rev = " (reverse-keyed)" if it.reverse else ""
                col = f" [column {it.column}]" if it.column != it.id else ""
                console.print(f"  [bold]{it.id}[/bold]{col}{rev}")
                texts = it.text.items() if not role else [(role, it.text.get(role, ""))]
                if role and role not in it.text:
                    raise InputError(f"{inst.path or inst.name}: item {it.id} has no wording for role '{role}'")
                for who, text in texts:
                    console.print(f"      {who}: {text}")
            console.print()

    _run(body)


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
