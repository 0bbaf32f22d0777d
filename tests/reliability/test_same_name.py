"""Processes creating the same new watchlist, platform or schedule at once all succeed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.conftest import StockRunner

PROCESSES = 8


def _all_at_once(commands: list[list[str]], env: dict[str, str]) -> list[str]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "stock_cli", *c],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    failures = []
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append(stderr.strip())
    return failures


@pytest.mark.slow
def test_creating_the_same_names_at_once(cli: StockRunner, migrated: str) -> None:
    env = {**os.environ, "STOCK_DATABASE_URL": migrated}
    commands = []
    for i in range(PROCESSES):
        commands += [
            ["watch", "add", f"S{i}", "SHARED", "--list", "fresh"],
            ["llm", "add", "same", "--kind", "openai", "--model", f"m{i}", "--api-key-env", "K"],
            ["schedule", "add", "same", "--job", "alerts", "--every", f"{i + 1}m"],
        ]
    assert _all_at_once(commands, env) == []
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        members = conn.execute(
            sa.text(
                "SELECT i.symbol FROM watchlist_member m JOIN watchlist w ON w.id = m.watchlist_id "
                "JOIN instrument i ON i.id = m.instrument_id WHERE w.name = 'fresh'"
            )
        ).scalars()
        assert sorted(members) == sorted(["SHARED", *(f"S{i}" for i in range(PROCESSES))])
        assert conn.execute(sa.text("SELECT count(*) FROM llm_platform")).scalar() == 1
        same = conn.execute(sa.text("SELECT count(*) FROM schedule WHERE name = 'same'"))
        assert same.scalar() == 1
    engine.dispose()
