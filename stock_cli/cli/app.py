"""The root `stock` application and its global options.

Sub-command modules are imported here, so they must stay cheap: every heavy import
(SQLModel, Alembic, httpx, numpy, pydantic-settings) happens inside a command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from stock_cli import __version__
from stock_cli.cli import (
    analyze_cmd,
    bars_cmd,
    chat_cmd,
    config_cmd,
    db_cmd,
    fetch_cmd,
    import_cmd,
    jobs_cmd,
    llm_cmd,
    watch_cmd,
)
from stock_cli.cli.common import StockCommand, StockGroup
from stock_cli.options import options, set_cli_overrides

app = typer.Typer(
    name="stock",
    help=(
        "A local-first stock assistant: fetch daily prices into your own database, "
        "analyse them, and ask questions about them.\n\n"
        "Example: [bold]stock watch add AAPL 600519.SS[/bold]"
    ),
    cls=StockGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stock-cli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="Database URL (overrides STOCK_DATABASE_URL / DATABASE_URL).",
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr (-vv: debug).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Global options come before the command: stock --db sqlite:///x.db watch ls"""
    options.verbose = verbose
    options.quiet = quiet and not verbose
    set_cli_overrides(database_url=db)


app.command("fetch", cls=StockCommand)(fetch_cmd.fetch)
app.command("import", cls=StockCommand)(import_cmd.import_)
app.command("bars", cls=StockCommand)(bars_cmd.bars)
app.command("symbols", cls=StockCommand)(bars_cmd.symbols)
app.command("analyze", cls=StockCommand)(analyze_cmd.analyze)
app.command("screen", cls=StockCommand)(analyze_cmd.screen)
app.command("indicators", cls=StockCommand)(analyze_cmd.indicators)
app.command("chat", cls=StockCommand)(chat_cmd.chat)
app.add_typer(chat_cmd.app, name="conversations")
app.add_typer(llm_cmd.app, name="llm")
app.command("daemon", cls=StockCommand)(jobs_cmd.daemon)
app.command("serve-health", cls=StockCommand)(jobs_cmd.serve_health)
app.add_typer(jobs_cmd.schedule_app, name="schedule")
app.add_typer(jobs_cmd.alert_app, name="alert")
app.add_typer(watch_cmd.app, name="watch")
app.add_typer(db_cmd.app, name="db")
app.add_typer(config_cmd.app, name="config")
