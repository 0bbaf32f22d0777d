"""`stock import`: CSV histories from disk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stock_cli import output
from stock_cli.cli.common import JsonOption


def import_(
    files: Annotated[list[Path], typer.Argument(help="CSV files (Yahoo or stockstats layout).")],
    symbol: Annotated[
        str | None, typer.Option("--symbol", "-s", help="Symbol (default: from the file name).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="yahoo, stockstats or auto.")] = "auto",
    json_output: JsonOption = False,
) -> None:
    """Import daily bars from CSV files, each file in one transaction.

    Example: stock import ~/data/AAPL.csv 0700.HK_daily.csv
    """
    from stock_cli.cli.progress import progress_bar
    from stock_cli.cli.render import fetch_summary, raise_for_failures
    from stock_cli.market.importer import import_files

    with progress_bar(len(files), label="importing", enabled=not json_output) as advance:

        def on_result(result):  # type: ignore[no-untyped-def]
            advance(f"{result.symbol} {result.status}")
            if json_output:
                output.print_ndjson(result)

        results = import_files(paths=files, symbol=symbol, fmt=fmt, on_result=on_result)
    if not json_output:
        fetch_summary(results, title="Import summary")
    raise_for_failures(sum(r.failed for r in results), len(results), noun="files")
