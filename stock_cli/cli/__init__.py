"""The `stock` command line. Typer only: parse, call one service function, render."""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:] == ["--version"]:
        # The fast path scripts and package managers call: no need to build every command.
        from stock_cli import __version__

        sys.stdout.write(f"stock-cli {__version__}\n")
        return
    from stock_cli.cli.app import app

    app(prog_name="stock")
