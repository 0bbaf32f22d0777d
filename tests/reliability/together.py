"""Helpers of the reliability tests: many `stock` processes at once, bars per symbol."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa


def run_together(commands: list[list[str]], env: dict[str, str]) -> list[str]:
    """Start every `stock` command at once; one line per command that failed or saw a lock."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "stock_cli", *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    failures = []
    for command, proc in zip(commands, procs, strict=True):
        _, stderr = proc.communicate(timeout=120)
        if proc.returncode != 0 or "locked" in stderr.lower():
            failures.append(f"{command[0]}: exit {proc.returncode}: {stderr.strip()[:300]}")
    return failures


def bars_per_symbol(conn: sa.Connection) -> dict[str, int]:
    rows = conn.execute(
        sa.text(
            "SELECT i.symbol, count(*) FROM price_bar b "
            "JOIN instrument i ON i.id = b.instrument_id GROUP BY i.symbol"
        )
    ).all()
    return dict(rows)  # type: ignore[arg-type]
