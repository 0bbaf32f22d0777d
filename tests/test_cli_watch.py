"""`stock watch …` end to end through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.conftest import StockRunner, db_rows


def _symbols_in_db(url: str, list_name: str) -> list[str]:
    rows = db_rows(
        url,
        "SELECT i.symbol FROM watchlist_member m JOIN instrument i ON i.id = m.instrument_id "
        "JOIN watchlist w ON w.id = m.watchlist_id WHERE w.name = :n ORDER BY i.symbol",
        n=list_name,
    )
    return [r[0] for r in rows]


def test_add_normalises_and_stores(cli: StockRunner, migrated: str) -> None:
    result = cli.stock("watch", "add", "aapl", "sh600519", "600519.SH", "brk.b", "700.hk")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # messages go to stderr
    assert "Added AAPL, 600519.SS, BRK-B, 0700.HK to watchlist default" in result.stderr
    assert _symbols_in_db(migrated, "default") == ["0700.HK", "600519.SS", "AAPL", "BRK-B"]


def test_add_is_idempotent_and_reports_unchanged(cli: StockRunner, migrated: str) -> None:
    cli.stock("watch", "add", "AAPL")
    result = cli.stock("watch", "add", "AAPL", "MSFT", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "watchlist": "default",
        "added": ["MSFT"],
        "unchanged": ["AAPL"],
    }
    assert _symbols_in_db(migrated, "default") == ["AAPL", "MSFT"]


def test_ls_json_in_insertion_order(cli: StockRunner, migrated: str) -> None:
    cli.stock("watch", "add", "MSFT", "AAPL", "--list", "tech")
    result = cli.stock("watch", "ls", "--list", "tech", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["watchlist"] == "tech"
    assert [s["symbol"] for s in doc["symbols"]] == ["MSFT", "AAPL"]
    first = doc["symbols"][0]
    assert first["last_date"] is None and first["last_close"] is None
    assert first["added_at"].endswith("+00:00")


def test_ls_shows_newest_bar(cli: StockRunner, migrated: str) -> None:
    cli.stock("watch", "add", "AAPL")
    engine = sa.create_engine(migrated)
    with engine.begin() as conn:
        iid = conn.execute(sa.text("SELECT id FROM instrument WHERE symbol = 'AAPL'")).scalar()
        for day, close in (("2024-01-02", 185.5), ("2024-01-03", 184.25)):
            conn.execute(
                sa.text(
                    "INSERT INTO price_bar (instrument_id, date, open, high, low, close, volume, "
                    "provider, fetched_at) VALUES (:i, :d, 1, 200, 1, :c, 10, 'test', :f)"
                ),
                {"i": iid, "d": day, "c": close, "f": "2024-01-04 00:00:00"},
            )
    engine.dispose()
    doc = json.loads(cli.stock("watch", "ls", "--json").stdout)
    assert doc["symbols"][0]["last_date"] == "2024-01-03"
    assert doc["symbols"][0]["last_close"] == 184.25


def test_ls_plain_columns_in_a_pipe(cli: StockRunner, migrated: str) -> None:
    cli.stock("watch", "add", "AAPL", "0700.HK")
    result = cli.stock("watch", "ls")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == [
        "Symbol",
        "Name",
        "Exchange",
        "Currency",
        "Last bar",
        "Last close",
    ]
    assert [line.split("\t")[0] for line in lines[1:]] == ["AAPL", "0700.HK"]
    assert "\x1b[" not in result.stdout


def test_ls_rich_table_on_a_terminal(
    cli: StockRunner, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stock_cli import output

    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    cli.stock("watch", "add", "AAPL", "0700.HK")
    result = cli.stock("watch", "ls")
    assert "Watchlist default (2)" in result.stdout
    assert "┃ Symbol" in result.stdout and "│ 0700.HK" in result.stdout


def test_rm_and_lists(cli: StockRunner, migrated: str) -> None:
    cli.stock("watch", "add", "AAPL", "MSFT")
    cli.stock("watch", "add", "600519.SS", "--list", "china")
    result = cli.stock("watch", "rm", "msft", "TSLA")
    assert result.exit_code == 0
    assert "Removed MSFT" in result.stderr
    assert "not on default: TSLA" in result.stderr
    assert _symbols_in_db(migrated, "default") == ["AAPL"]
    lists = json.loads(cli.stock("watch", "lists", "--json").stdout)["watchlists"]
    assert [(w["name"], w["members"]) for w in lists] == [("china", 1), ("default", 1)]


def test_drop_list_keeps_instruments(cli: StockRunner, migrated: str) -> None:
    cli.stock("watch", "add", "AAPL", "--list", "tmp")
    assert cli.stock("watch", "drop", "tmp").exit_code == 0
    assert json.loads(cli.stock("watch", "lists", "--json").stdout)["watchlists"] == []
    engine = sa.create_engine(migrated)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT symbol FROM instrument")).scalars().all() == ["AAPL"]
    engine.dispose()


@pytest.mark.parametrize("bad", ["AAPL;DROP", "a b", "$$", "12345.SH", "ÄPFEL"])
def test_invalid_symbol_exit_2_and_nothing_stored(
    cli: StockRunner, migrated: str, bad: str
) -> None:
    result = cli.stock("watch", "add", "AAPL", bad)
    assert result.exit_code == 2
    assert "invalid symbol" in result.stderr
    assert "Traceback" not in result.stderr
    assert _symbols_in_db(migrated, "default") == []


def test_invalid_symbol_json_error_on_stderr(cli: StockRunner, migrated: str) -> None:
    result = cli.stock("watch", "add", "bad$", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "invalid_symbol"
    assert "bad$" in error["message"]


def test_unknown_list_is_exit_1(cli: StockRunner, migrated: str) -> None:
    result = cli.stock("watch", "ls", "--list", "nope")
    assert result.exit_code == 1
    assert "no watchlist named 'nope'" in result.stderr


def test_empty_default_list(cli: StockRunner, migrated: str) -> None:
    result = cli.stock("watch", "ls", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"watchlist": "default", "symbols": []}


def test_bad_list_name_is_usage_error(cli: StockRunner, migrated: str) -> None:
    result = cli.stock("watch", "add", "AAPL", "--list", "no spaces; please")
    assert result.exit_code == 2
    assert "invalid watchlist name" in result.stderr
