"""Every command gets the error handling (exit codes, one-line errors) without asking."""

from __future__ import annotations

from typing import Any

import typer

from stock_cli.cli.app import create_app
from stock_cli.cli.common import StockCommand


def _leaves(command: Any, path: str = "stock") -> list[tuple[str, Any]]:
    if hasattr(command, "list_commands"):  # a group (Typer may bring its own Click)
        ctx = type(command).context_class(command)
        found = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found += _leaves(sub, f"{path} {name}")
        return found
    return [(path, command)]


def test_every_command_is_a_stock_command() -> None:
    leaves = _leaves(typer.main.get_command(create_app()))
    assert len(leaves) > 30
    assert [path for path, command in leaves if not isinstance(command, StockCommand)] == []
