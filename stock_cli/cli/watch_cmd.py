"""`stock watch …`: watchlists."""

from __future__ import annotations

from typing import Annotated

import typer

from stock_cli.cli.common import JsonOption, new_app
from stock_cli.cli.view import Col, announce, identity_columns, number, show
from stock_cli.db.calls import read, write

WATCHLIST_COLUMNS = [
    *identity_columns(),
    Col("last_date", "Last bar"),
    number("last_close", "Last close"),
]

app = new_app(
    "Watchlists: the symbols you follow. Example: [bold]stock watch add AAPL sh600519[/bold]"
)

DEFAULT = "default"
SymbolsArg = Annotated[list[str], typer.Argument(help="Symbols, e.g. AAPL BRK.B sh600519 0700.HK")]
ListName = Annotated[str, typer.Option("--list", "-l", help="Watchlist name.")]


@app.command("add")
def add(
    symbols: SymbolsArg, list_name: ListName = DEFAULT, json_output: JsonOption = False
) -> None:
    """Add symbols to a watchlist (created if new).

    Example: stock watch add AAPL 600519.SH brk.b --list core
    """

    from stock_cli.documents import watch_added_document
    from stock_cli.jobs.schedules import watch_symbols
    from stock_cli.market.symbols import normalise_symbols

    result = write(watch_symbols, symbols=normalise_symbols(symbols), name=list_name)
    change, created = result.change, result.created_schedules
    on = change.watchlist
    announce(
        watch_added_document(result),
        f"Added {', '.join(change.changed)} to watchlist {on}." if change.changed else "",
        f"Already on {on}: {', '.join(change.unchanged)}." if change.unchanged else "",
        f"Created the default schedules {', '.join(created)} (see `stock schedule ls`)."
        if created
        else "",
        json_output=json_output,
    )


@app.command("rm")
def remove(
    symbols: SymbolsArg, list_name: ListName = DEFAULT, json_output: JsonOption = False
) -> None:
    """Remove symbols from a watchlist (their stored prices are kept).

    Example: stock watch rm AAPL --list core
    """

    from stock_cli.documents import watch_removed_document
    from stock_cli.market.symbols import normalise_symbols
    from stock_cli.market.watchlists import remove_from_watchlist

    canonical = normalise_symbols(symbols)
    change = write(remove_from_watchlist, symbols=canonical, name=list_name)
    on = change.watchlist
    announce(
        watch_removed_document(change),
        f"Removed {', '.join(change.changed)} from watchlist {on}." if change.changed else "",
        warnings=[f"not on {on}: {', '.join(change.unchanged)}" if change.unchanged else ""],
        json_output=json_output,
    )


@app.command("ls")
def ls(list_name: ListName = DEFAULT, json_output: JsonOption = False) -> None:
    """Show the symbols of a watchlist with their newest stored bar.

    Example: stock watch ls --list core --json | jq -r '.symbols[].symbol'
    """

    from stock_cli.documents import watchlist_document
    from stock_cli.market.watchlists import list_watchlist

    entries = read(list_watchlist, name=list_name)
    show(
        entries,
        WATCHLIST_COLUMNS,
        json_output=json_output,
        document=watchlist_document(list_name, entries),
        title=f"Watchlist {list_name} ({len(entries)})",
    )


@app.command("lists")
def lists(json_output: JsonOption = False) -> None:
    """Show every watchlist and how many symbols it holds.

    Example: stock watch lists --json
    """

    from stock_cli.documents import watchlists_document
    from stock_cli.market.watchlists import list_watchlists

    summaries = read(list_watchlists)
    show(
        summaries,
        [
            Col("name", "List", style="bold"),
            number("members", "Symbols"),
            Col("created_at", "Created"),
        ],
        json_output=json_output,
        document=watchlists_document(summaries),
    )


@app.command("drop")
def drop(
    name: Annotated[str, typer.Argument(help="Watchlist to delete.")],
    json_output: JsonOption = False,
) -> None:
    """Delete a whole watchlist (its instruments and prices are kept).

    Example: stock watch drop old-ideas
    """

    from stock_cli.documents import watchlist_dropped_document
    from stock_cli.market.watchlists import delete_watchlist

    members = write(delete_watchlist, name=name)
    announce(
        watchlist_dropped_document(name, members),
        f"Deleted watchlist {name} ({members} symbols).",
        json_output=json_output,
    )
