"""A progress bar on stderr, shown only to a person at a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from stock_cli.options import options


@contextmanager
def progress_bar(
    total: int, *, label: str, enabled: bool = True
) -> Iterator[Callable[[str], None]]:
    """Yields `advance(text)`; a no-op unless stderr is a terminal (and not -q / --json)."""
    if not (enabled and total > 1 and sys.stderr.isatty() and not options.quiet):
        yield lambda _text: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from stock_cli.output import stderr_console

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=stderr_console(),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total, last="")
        yield lambda text: progress.update(task, advance=1, last=text)
