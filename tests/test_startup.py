"""Start-up cost: help and version must not import heavy stacks (benchmarks/bench_startup.py)."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pytest

# pydantic itself is not listed: Typer ≥ 0.2x converts option values with pydantic
# TypeAdapters, so any command that parses an option imports it (SQLModel needs it anyway).
FORBIDDEN = (
    "numpy",
    "talib",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "psycopg",
    "pydantic_settings",
    "httpx",
    "dotenv",
    "platformdirs",
    "holidays",  # the exchange calendars: only when a staleness or schedule needs them
    # the servers' optional stacks: only `stock serve` and `stock mcp` import them
    "fastapi",
    "starlette",
    "uvicorn",
    "mcp",
    "mcp_types",
    "anyio",
)

PROBE = """
import sys
from stock_cli.cli import main
sys.argv = ["stock", *{args!r}]
try:
    main()
except SystemExit:
    pass
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({forbidden!r}))
sys.stderr.write("LOADED=" + ",".join(loaded) + "\\n")
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["watch", "--help"],
        ["db", "--help"],
        ["config", "--help"],
        ["watch", "add", "--help"],
        ["serve", "--help"],
        ["mcp", "--help"],
    ],
)
def test_light_commands_do_not_import_heavy_modules(args: list[str]) -> None:
    code = PROBE.format(args=args, forbidden=FORBIDDEN)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    marker = [line for line in result.stderr.splitlines() if line.startswith("LOADED=")]
    assert marker, result.stderr
    assert marker[0] == "LOADED=", f"{args} imported {marker[0][7:]}"
    assert result.stdout  # it printed its help or version


def test_data_command_does_not_import_network_or_numbers() -> None:
    code = PROBE.format(
        args=["watch", "ls", "--json"], forbidden=("numpy", "talib", "httpx", "holidays")
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "LOADED=\n" in result.stderr + "\n", result.stderr


def test_main_builds_only_the_command_it_runs(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from stock_cli import cli
    from stock_cli.cli import app as app_module

    built: list[str | None] = []
    real = app_module.create_app

    def spy(only: str | None = None):  # type: ignore[no-untyped-def]
        built.append(only)
        return real(only)

    monkeypatch.setattr(app_module, "create_app", spy)
    for argv, expected in (
        (["stock", "--db", "sqlite:///x.db", "-v", "watch", "--help"], "watch"),
        (["stock", "--help"], None),
        (["stock", "nosuch"], None),
    ):
        monkeypatch.setattr(sys, "argv", argv)
        with contextlib.suppress(SystemExit):
            cli.main()
        assert built[-1] == expected
    assert "Commands" in capsys.readouterr().out
