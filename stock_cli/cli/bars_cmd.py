"""`stock bars`, `stock symbols` and `stock export`: what is stored, and getting it out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stock_cli import output
from stock_cli.cli.common import EndOption, JsonOption, ListOption, StartOption, flag
from stock_cli.cli.view import Col, announce, identity_columns, number, show
from stock_cli.db.calls import read

SYMBOL_COLUMNS = [
    *identity_columns(),
    number("bars", "Bars"),
    Col("first_date", "First"),
    Col("last_date", "Last"),
    Col("provider", "Provider"),
    Col("last_fetched_at", "Fetched"),
    Col("stale", "Stale", value=lambda s: "stale" if s.stale else ""),
]
CsvOption = Annotated[bool, flag("--csv", help="Print CSV rows on stdout.")]


def bars(
    symbol: Annotated[str, typer.Argument(help="Symbol, e.g. AAPL or 600519.SS.")],
    start: StartOption = None,
    end: EndOption = None,
    last: Annotated[int | None, typer.Option("--last", "-n", help="Only the last N bars.")] = None,
    adjust: Annotated[str, typer.Option("--adjust", help="none (raw) or adjusted.")] = "none",
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Print stored daily bars (raw prices, with the adjusted close as its own column).

    Example: stock bars AAPL --last 20 --csv > aapl.csv
    """
    from stock_cli.documents import bars_document
    from stock_cli.market.bars import load_bars
    from stock_cli.market.symbols import normalise_symbol

    result = read(
        load_bars,
        symbol=normalise_symbol(symbol),
        start=start.date() if start else None,
        end=end.date() if end else None,
        last=last,
        adjust=adjust,
    )
    names = ["date", "open", "high", "low", "close", "adj_close", "volume", "provider"]
    rows = [
        (b.date, b.open, b.high, b.low, b.close, b.adj_close, output.whole(b.volume), b.provider)
        for b in result.bars
    ]
    if json_output:
        output.print_json(bars_document(result))
    elif csv_output:
        flags = [b.provisional for b in result.bars]
        output.print_csv(
            [*names, "provisional"], [(*r, f) for r, f in zip(rows, flags, strict=True)]
        )
    else:
        columns = [
            output.Column(
                n.replace("_", " ").title(),
                justify="left" if n in ("date", "provider") else "right",
            )
            for n in names
        ]
        marked = [
            (f"{r[0]} *" if b.provisional else r[0], *r[1:])
            for r, b in zip(rows, result.bars, strict=True)
        ]
        title = f"{result.symbol} ({len(rows)} bars, {result.adjust})"
        if any(b.provisional for b in result.bars):
            title += " — * provisional: the session had not closed when it was fetched"
        output.print_table(columns, marked, title=title)


def symbols(json_output: JsonOption = False) -> None:
    """List stored instruments with their bar count, date range, provider and last fetch.

    Example: stock symbols --json | jq '.[] | select(.bars > 0) | .symbol'
    """
    from stock_cli.market.bars import list_instruments

    summaries = read(list_instruments)
    show(summaries, SYMBOL_COLUMNS, json_output=json_output)


def export(
    symbols: Annotated[
        list[str] | None, typer.Argument(help="Symbols (default: every stored symbol).")
    ] = None,
    list_name: ListOption = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, jsonl or parquet (default: from the file name)."),
    ] = None,
    output_path: Annotated[
        str, typer.Option("--output", "-o", help="File to write, or - for stdout.")
    ] = "-",
    per_symbol: Annotated[
        Path | None, typer.Option("--per-symbol", help="Write one file a symbol in this folder.")
    ] = None,
    start: StartOption = None,
    end: EndOption = None,
    adjust: Annotated[str, typer.Option("--adjust", help="none (raw) or adjusted.")] = "none",
    transactions: Annotated[
        str | None,
        typer.Option(
            "--transactions",
            help="Export this portfolio's transactions instead (as CSV, what `stock portfolio "
            "import` reads).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Export stored bars: CSV (what `stock import` reads), JSON Lines or Parquet; or a
    portfolio's transactions.

    Example: stock export --list core -o core.parquet --start 2024-01-01
    Example: stock export --transactions default -o trades.csv
    """
    from stock_cli.cli.progress import progress_bar
    from stock_cli.errors import UsageError
    from stock_cli.market.export import export_bars
    from stock_cli.market.watchlists import resolve_symbols

    chosen = (
        read(resolve_symbols, symbols=symbols or [], list_name=list_name)
        if symbols or list_name
        else None
    )
    target = None if output_path == "-" else Path(output_path)
    kind = fmt or (target.suffix.lstrip(".") if target and target.suffix else "csv")
    if transactions is not None:
        _export_transactions(transactions, kind, target, json_output)
        return
    if json_output and target is None and per_symbol is None:
        raise UsageError("--json needs --output FILE or --per-symbol: stdout carries the bars")
    with progress_bar(len(chosen or []), label="exporting", enabled=target is not None) as advance:
        report = read(
            export_bars,
            symbols=chosen,  # canonical: resolve_symbols normalised them
            fmt=kind,
            output=target,
            per_symbol=per_symbol,
            start=start.date() if start else None,
            end=end.date() if end else None,
            adjust=adjust,
            on_symbol=advance,
        )
    destination = ", ".join(report.files[:3]) + (" …" if len(report.files) > 3 else "")
    message = f"Exported {report.bars:,} bars of {report.symbols} symbols to {destination}."
    announce(report, message, json_output=json_output)


def _export_transactions(portfolio: str, fmt: str, target: Path | None, json_output: bool) -> None:
    from stock_cli.errors import UsageError
    from stock_cli.portfolio.service import export_transactions

    if json_output and target is None:
        raise UsageError("--json needs --output FILE: stdout carries the transactions")
    done = read(export_transactions, portfolio=portfolio, fmt=fmt, output=target)
    message = f"Exported {done.transactions} transactions of {done.portfolio} to {done.file}."
    announce(done, message, json_output=json_output)
