"""Alembic migrations on both backends: complete, reversible, and what the CLI says about them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import stock_cli.db.all_models  # noqa: F401
from stock_cli.db import migrate
from stock_cli.db.engine import HEAD_REVISION, dispose_engines, get_engine
from tests.conftest import StockRunner, db_rows, run_stock

TABLES = {
    "instrument",
    "price_bar",
    "corporate_action",
    "watchlist",
    "watchlist_member",
    "fetch_run",
    "fetch_result",
    "job_run",
}


def _diff(url: str) -> list[object]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    return list(diff)


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    names = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_head_constant_matches_alembic() -> None:
    assert migrate.head_revision() == HEAD_REVISION


def test_upgrade_empty_database_matches_models(cli: StockRunner, db_url: str) -> None:
    result = cli.stock("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert f"→ {HEAD_REVISION}" in result.stderr
    assert _tables(db_url) >= TABLES
    assert _diff(db_url) == []


def test_downgrade_to_base_and_up_again(cli: StockRunner, db_url: str) -> None:
    assert cli.stock("db", "upgrade").exit_code == 0
    result = cli.stock("db", "downgrade", "base")
    assert result.exit_code == 0, result.stderr
    assert _tables(db_url) & TABLES == set()
    assert cli.stock("db", "upgrade", HEAD_REVISION).exit_code == 0
    assert _diff(db_url) == []
    doc = json.loads(cli.stock("db", "current", "--json").stdout)
    assert doc["current"] == HEAD_REVISION and doc["is_head"] is True


def test_current_and_history(cli: StockRunner, migrated: str) -> None:
    result = cli.stock("db", "current")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{HEAD_REVISION} (head)")
    history = json.loads(cli.stock("db", "history", "--json").stdout)["revisions"]
    assert history[0]["revision"] == HEAD_REVISION
    assert history[0]["is_current"] is True


def test_upgrade_sql_prints_and_touches_nothing(cli: StockRunner, db_url: str) -> None:
    result = cli.stock("db", "upgrade", "--sql")
    assert result.exit_code == 0, result.stderr
    assert "CREATE TABLE instrument" in result.stdout
    assert "CREATE TABLE price_bar" in result.stdout
    assert _tables(db_url) & TABLES == set()
    assert "alembic_version" not in _tables(db_url)


def test_unknown_revision_is_clear(cli: StockRunner, db_url: str) -> None:
    result = cli.stock("db", "upgrade", "nonexistent")
    assert result.exit_code == 1
    assert "unknown revision 'nonexistent'" in result.stderr


def test_sqlite_is_created_and_upgraded_on_first_use(cli: StockRunner, sqlite_url: str) -> None:
    assert _tables(sqlite_url) == set()
    assert cli.stock("watch", "ls").exit_code == 0
    assert _tables(sqlite_url) >= TABLES
    assert _diff(sqlite_url) == []


def test_postgres_behind_head_refuses_data_commands(postgres_url: str) -> None:
    # A real process, as a user would meet it: exit 1, one line, no traceback.
    result = run_stock("watch", "ls", env={"STOCK_DATABASE_URL": postgres_url})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: database schema is at base (empty), head is {HEAD_REVISION}: "
        "run `stock db upgrade`"
    )
    assert "Traceback" not in result.stderr


def test_postgres_behind_head_json_error(cli: StockRunner, postgres_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("STOCK_DATABASE_URL", postgres_url)
    result = cli.stock("watch", "ls", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"]["type"] == "schema_out_of_date"


def test_database_ahead_of_code_is_refused(cli: StockRunner, migrated: str) -> None:
    engine = sa.create_engine(migrated)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'zz_future'"))
    engine.dispose()
    dispose_engines()
    result = cli.stock("watch", "ls")
    assert result.exit_code == 1
    assert "zz_future, which this version of stock-cli does not know" in result.stderr


def test_global_db_option_wins(cli: StockRunner, tmp_path, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert cli.stock("--db", other, "watch", "add", "AAPL").exit_code == 0
    assert "watchlist" in _tables(other)
    assert _tables(sqlite_url) == set()
    get_engine(other)  # the engine is cached per URL


@pytest.mark.postgres
def test_two_hosts_upgrading_at_once_both_succeed(postgres_url: str) -> None:
    env = {**os.environ, "STOCK_DATABASE_URL": postgres_url}
    upgrades = [
        subprocess.Popen(
            [sys.executable, "-m", "stock_cli", "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in upgrades]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    assert db_rows(postgres_url, "SELECT version_num FROM alembic_version") == [(HEAD_REVISION,)]
