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


def test_service_errors_do_not_name_command_line_flags() -> None:
    """Services speak the domain: flags are the CLI's words (it adds them itself)."""
    import ast
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "stock_cli"
    flag = re.compile(r"(^|\s)--[a-z]")
    offenders = []
    for path in package.rglob("*.py"):
        if "cli" in path.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "").endswith("Error")):
                continue
            message = node.args[0] if node.args else None
            for text in ast.walk(message) if message is not None else []:
                is_text = isinstance(text, ast.Constant) and isinstance(text.value, str)
                if is_text and flag.search(text.value):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
