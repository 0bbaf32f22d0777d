"""The root `stock` application and its global options.

Sub-command modules are imported here, so they must stay cheap: every heavy import
(SQLModel, Alembic, httpx, numpy, pydantic-settings) happens inside a command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

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
    portfolio_cmd,
    serve_cmd,
    watch_cmd,
)
from stock_cli.cli.common import StockTyper, flag
from stock_cli.options import options, set_cli_overrides


def _typer() -> typer.Typer:
    return StockTyper(
        name="stock",
        help=(
            "A local-first stock assistant: fetch daily prices into your own database, "
            "analyse them, and ask questions about them.\n\n"
            "Example: [bold]stock watch add AAPL 600519.SS[/bold]"
        ),
        cls=TyperGroup,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def _version(value: bool) -> None:
    if value:
        from stock_cli.cli import version_line

        typer.echo(version_line())
        raise typer.Exit()


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
    quiet: Annotated[bool, flag("--quiet", "-q", help="Only errors on stderr.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Global options come before the command: stock --db sqlite:///x.db watch ls"""
    options.verbose = verbose
    options.quiet = quiet and not verbose
    set_cli_overrides(database_url=db)


def _command(name: str, function: Callable[..., Any]) -> Callable[[typer.Typer], Any]:
    return lambda app: app.command(name)(function)


def _group(name: str, group: typer.Typer) -> Callable[[typer.Typer], Any]:
    return lambda app: app.add_typer(group, name=name)


# Every top-level command, in --help order.
COMMANDS: dict[str, Callable[[typer.Typer], Any]] = {
    "fetch": _command("fetch", fetch_cmd.fetch),
    "import": _command("import", import_cmd.import_),
    "bars": _command("bars", bars_cmd.bars),
    "symbols": _command("symbols", bars_cmd.symbols),
    "export": _command("export", bars_cmd.export),
    "analyze": _command("analyze", analyze_cmd.analyze),
    "screen": _command("screen", analyze_cmd.screen),
    "indicators": _command("indicators", analyze_cmd.indicators),
    "chat": _command("chat", chat_cmd.chat),
    "conversations": _group("conversations", chat_cmd.app),
    "llm": _group("llm", llm_cmd.app),
    "daemon": _command("daemon", jobs_cmd.daemon),
    "serve-health": _command("serve-health", jobs_cmd.serve_health),
    "serve": _command("serve", serve_cmd.serve),
    "mcp": _command("mcp", serve_cmd.mcp),
    "schedule": _group("schedule", jobs_cmd.schedule_app),
    "alert": _group("alert", jobs_cmd.alert_app),
    "watch": _group("watch", watch_cmd.app),
    "portfolio": _group("portfolio", portfolio_cmd.app),
    "db": _group("db", db_cmd.app),
    "config": _group("config", config_cmd.app),
}


def create_app(only: str | None = None) -> typer.Typer:
    """The whole CLI, or — for a known command — a tree with just that command: Typer
    builds every command's parameters on each run, so a run builds only what it uses."""
    app = _typer()
    app.callback()(root)
    for name, register in COMMANDS.items():
        if only is None or name == only:
            register(app)
    return app


app = create_app()
