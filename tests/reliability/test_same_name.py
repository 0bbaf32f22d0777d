"""Processes creating the same new watchlist, platform or schedule at once all succeed."""

from __future__ import annotations

import os

import pytest

from tests.conftest import StockRunner, db_rows
from tests.reliability.together import run_together

PROCESSES = 8


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
    assert run_together(commands, env) == []
    members = db_rows(
        migrated,
        "SELECT i.symbol FROM watchlist_member m JOIN watchlist w ON w.id = m.watchlist_id "
        "JOIN instrument i ON i.id = m.instrument_id WHERE w.name = 'fresh'",
    )
    assert sorted(m[0] for m in members) == sorted(["SHARED", *(f"S{i}" for i in range(PROCESSES))])
    assert db_rows(migrated, "SELECT count(*) FROM llm_platform") == [(1,)]
    assert db_rows(migrated, "SELECT count(*) FROM schedule WHERE name = 'same'") == [(1,)]
