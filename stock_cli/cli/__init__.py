"""The `stock` command line. Typer only: parse, call one service function, render."""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:] == ["--version"]:
        # The fast path scripts and package managers call: no need to build every command.
        sys.stdout.write(version_line() + "\n")
        return
    from stock_cli.cli.app import COMMANDS, create_app

    command = _command_name(sys.argv[1:])
    create_app(only=command if command in COMMANDS else None)(prog_name="stock")


def version_line() -> str:
    from stock_cli import __version__
    from stock_cli.db.revision import HEAD_REVISION

    return f"stock-cli {__version__} (schema {HEAD_REVISION})"


def _command_name(args: list[str]) -> str | None:
    """The first word after the global options (`stock --db URL -v watch ls` → watch)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--db":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None
