"""`stock fetch`: download daily bars into the database."""

from __future__ import annotations

from typing import Annotated

import typer

from stock_cli import output
from stock_cli.cli.common import EndOption, JsonOption, ListOption, StartOption, flag
from stock_cli.db.calls import read
from stock_cli.market.providers import PROVIDERS


def fetch(
    symbols: Annotated[
        list[str] | None, typer.Argument(help="Symbols (default: the watchlist).")
    ] = None,
    list_name: ListOption = None,
    start: StartOption = None,
    end: EndOption = None,
    full: Annotated[
        bool, flag("--full", help="Re-download all history, not only what is new.")
    ] = False,
    provider: Annotated[
        str | None,
        typer.Option("--provider", help=f"Use only this provider: {PROVIDERS.choices()}."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Fetch daily prices (incrementally) for symbols or a watchlist.

    Example: stock fetch AAPL 600519.SS --start 2020-01-01
    """
    from stock_cli.cli.progress import progress_bar
    from stock_cli.cli.render import fetch_summary, raise_for_failures
    from stock_cli.market.fetch import fetch_symbols
    from stock_cli.market.watchlists import resolve_symbols

    canonical = read(resolve_symbols, symbols=symbols or [], list_name=list_name)
    with progress_bar(len(canonical), label="fetching", enabled=not json_output) as advance:

        def on_result(result):  # type: ignore[no-untyped-def]
            advance(f"{result.symbol} {result.status}")
            if json_output:
                output.print_ndjson(result)

        report = fetch_symbols(
            symbols=canonical,
            start=start.date() if start else None,
            end=end.date() if end else None,
            full=full,
            provider=provider,
            on_result=on_result,
        )
    if not json_output:
        fetch_summary(report.results)
    raise_for_failures(len(report.failed), len(report.results), noun="symbols")
