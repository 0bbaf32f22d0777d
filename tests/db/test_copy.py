"""`stock db copy`: every table, SQLite ↔ PostgreSQL, all or nothing."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from stock_cli.db.tables import all_tables
from tests.conftest import StockRunner, assert_clear_error, db_execute, db_rows, history_files


def populate(cli: StockRunner, url: str, tmp_path: Path, *, bars: int = 2) -> None:
    """Something in every kind of table: bars and actions, lists, schedules, alerts and
    their events, a platform with a stored key, a conversation."""
    os.environ["STOCK_DATABASE_URL"] = url
    files = [str(p) for p in history_files()[:bars]]
    assert cli.stock("import", *files).exit_code == 0
    dump = tmp_path / "SPLIT.csv"
    dump.write_text(
        "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits\n"
        "2024-01-02,10,11,9,10,100,0,0\n2024-01-03,10,11,9,10,100,0.5,0\n"
        "2024-01-04,5,6,4,5,200,0,2\n"
    )
    assert cli.stock("import", str(dump)).exit_code == 0
    assert cli.stock("watch", "add", "SPLIT", "--list", "core").exit_code == 0
    assert cli.stock("alert", "add", "SPLIT", "close > 1", "--name", "up").exit_code == 0
    assert cli.stock("alert", "check").exit_code == 0  # fires: an alert_event row
    key = ["--api-key", "sk-stored-secret-1234"]
    assert cli.stock("llm", "add", "x", "--kind", "openai", "--model", "m", *key).exit_code == 0
    now = dt.datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=dt.UTC)
    session = db_execute(
        url,
        "INSERT INTO chat_session (title, created_at, updated_at) VALUES ('q', :t, :t) "
        "RETURNING id",
        t=now,
    )
    db_execute(
        url,
        "INSERT INTO chat_message (session_id, role, content, is_error, interrupted, "
        "created_at) VALUES (:s, 'user', 'how is ünïcode €?', false, false, :t)",
        s=session,
        t=now,
    )


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order, read with plain SQL (the oracle: not the
    code that copies), timestamps compared as UTC instants."""
    out = {}
    for table in all_tables():
        keys = ", ".join(c.name for c in table.primary_key.columns)
        rows = db_rows(url, f"SELECT * FROM {table.name} ORDER BY {keys}")
        out[table.name] = [tuple(_plain(v) for v in row) for row in rows]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == " ":
        value = dt.datetime.fromisoformat(value)  # SQLite's naive UTC text
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
        return value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return value


@pytest.mark.postgres
def test_sqlite_to_postgres_to_sqlite_is_identical(
    cli: StockRunner, sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    populate(cli, sqlite_url, tmp_path)
    original = contents(sqlite_url)
    assert all(original[name] for name in ("price_bar", "corporate_action", "alert_event"))
    result = cli.stock("db", "copy", "--to", postgres_url, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert {t["table"] for t in report["tables"]} == set(original)
    assert all(t["source_sha256"] == t["target_sha256"] for t in report["tables"])
    assert contents(postgres_url) == original
    back = f"sqlite:///{tmp_path / 'back.db'}"
    os.environ["STOCK_DATABASE_URL"] = postgres_url
    again = cli.stock("db", "copy", "--to", back, "--json")
    assert again.exit_code == 0, again.stderr
    assert contents(back) == original
    assert [t["target_sha256"] for t in json.loads(again.stdout)["tables"]] == [
        t["target_sha256"] for t in report["tables"]
    ]
    # the copy goes on working: new ids continue after the copied ones
    os.environ["STOCK_DATABASE_URL"] = postgres_url
    assert cli.stock("alert", "add", "SPLIT", "close > 2", "--name", "more").exit_code == 0
    assert "sk-stored-secret" not in result.stdout + again.stdout


def test_a_target_with_data_is_refused_unless_replaced(
    cli: StockRunner, sqlite_url: str, tmp_path: Path
) -> None:
    populate(cli, sqlite_url, tmp_path, bars=1)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    assert cli.stock("db", "copy", "--to", target).exit_code == 0
    refused = cli.stock("db", "copy", "--to", target)
    assert_clear_error(refused, "already holds data", "--replace", code=2)
    assert cli.stock("db", "copy", "--to", target, "--replace").exit_code == 0
    assert contents(target) == contents(sqlite_url)
    assert_clear_error(cli.stock("db", "copy", "--to", sqlite_url), "is the source", code=2)


def _big_source(cli: StockRunner, url: str, tmp_path: Path, files: int = 40) -> None:
    os.environ["STOCK_DATABASE_URL"] = url
    folder = tmp_path / "csv"
    folder.mkdir()
    for f in range(files):
        day = dt.date(1990, 1, 1)
        lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
        for i in range(5000):
            lines.append(f"{day + dt.timedelta(days=i)},{10 + f},{11 + f},{9 + f},{10 + f},1,{i}")
        (folder / f"K{f:03d}.csv").write_text("\n".join(lines) + "\n")
    assert cli.stock("import", *map(str, sorted(folder.glob("*.csv")))).exit_code == 0


def _count(url: str, table: str) -> int:
    try:
        return int(db_rows(url, f"SELECT count(*) FROM {table}")[0][0])
    except sa.exc.DBAPIError:
        return -1  # not created yet


@pytest.mark.postgres
@pytest.mark.parametrize("delay", [0.2, 0.8, 1.6])
def test_a_copy_killed_half_way_leaves_nothing_half_done(
    cli: StockRunner, sqlite_url: str, postgres_url: str, tmp_path: Path, delay: float
) -> None:
    _big_source(cli, sqlite_url, tmp_path)
    env = {**os.environ, "STOCK_DATABASE_URL": sqlite_url}
    copy = subprocess.Popen(
        [sys.executable, "-m", "stock_cli", "db", "copy", "--to", postgres_url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while _count(postgres_url, "alembic_version") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(delay)
    copy.send_signal(signal.SIGKILL)
    copy.wait(timeout=30)
    bars = _count(postgres_url, "price_bar")
    assert bars in (0, 200_000), bars  # all or nothing, never a part
    os.environ["STOCK_DATABASE_URL"] = sqlite_url
    again = cli.stock("db", "copy", "--to", postgres_url)
    if bars == 0:
        assert again.exit_code == 0, again.stderr
    else:  # it had finished before the kill: a second copy refuses, clearly
        assert_clear_error(again, "already holds data", code=2)
    assert contents(postgres_url) == contents(sqlite_url)


def test_an_unreachable_target_is_one_clear_line(
    cli: StockRunner, sqlite_url: str, tmp_path: Path
) -> None:
    from tests.conftest import free_port

    os.environ["STOCK_DATABASE_URL"] = sqlite_url
    target = f"postgresql+psycopg://nobody:secret@127.0.0.1:{free_port()}/x"
    result = cli.stock("db", "copy", "--to", target)
    assert_clear_error(result, "connection failed")
    assert "secret" not in result.stderr
