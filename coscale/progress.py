"""Progress of long runs (partial-invariance search, dMACS refits, bootstrap, many files).

The analyses call a ``progress(description, done, total)`` callback when they
have one; the command line passes a rich progress bar on stderr, and only when
stderr is a terminal, so pipelines and JSON on stdout never see it.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager


def silent(description: str, done: int, total: int | None) -> None:
    """The default: report nothing."""


@contextmanager
def terminal_progress(enabled: bool | None = None):
    """A ``progress`` callback drawing a rich bar on stderr (a no-op when stderr is not a terminal)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield silent
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    tasks: dict[str, int] = {}

    def report(description: str, done: int, total: int | None) -> None:
        count = f"{done}/{total}" if total else f"{done} done"
        if description not in tasks:
            tasks[description] = bar.add_task(description, total=total, count=count)
        bar.update(tasks[description], completed=done, total=total, count=count)

    with bar:
        yield report
