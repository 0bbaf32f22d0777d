"""The `stock` command line. Typer only: parse, call one service function, render."""

from __future__ import annotations


def main() -> None:
    """Console-script entry point."""
    from stock_cli.cli.app import app

    app(prog_name="stock")
