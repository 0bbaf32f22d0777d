"""Trade files read row by row: our columns, an Interactive Brokers activity statement and
a Schwab history, each row's expected transaction written out by hand from the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from stock_cli.errors import UsageError
from stock_cli.portfolio.trade_files import TradeRow, read_trade_file

FILES = Path(__file__).parent / "files"  # our own samples of each broker's export

IBKR = (FILES / "ibkr_activity_statement.csv").read_text()

SCHWAB = (FILES / "schwab_transactions.csv").read_text()


def read(tmp_path: Path, text: str, fmt: str = "auto") -> tuple[str, list[TradeRow], list[str]]:
    path = tmp_path / "trades.csv"
    path.write_text(text)
    found = read_trade_file(path, fmt=fmt)
    assert found.problems == []
    return found.format, found.rows, found.skipped


def test_an_ibkr_statement_gives_its_orders_dividends_and_cash(tmp_path: Path) -> None:
    fmt, rows, skipped = read(tmp_path, IBKR)
    assert fmt == "ibkr"
    day = dt.date
    assert rows == [
        TradeRow(5, "deposit", day(2023, 1, 2), amount=10000, currency="USD"),
        TradeRow(6, "withdraw", day(2023, 5, 2), amount=500, currency="USD"),
        TradeRow(9, "buy", day(2023, 1, 3), "AAPL", 10, 125.07, fee=1, currency="USD"),
        TradeRow(10, "buy", day(2023, 1, 4), "BRK-B", 2, 305.5, fee=1.05, currency="USD"),
        TradeRow(11, "sell", day(2023, 3, 1), "AAPL", 4, 145.31, fee=1.02, currency="USD"),
        TradeRow(17, "dividend", day(2023, 2, 16), "AAPL", amount=2.3, currency="USD"),
    ]
    assert skipped == [
        "line 15: a Forex trade is not tracked",
        "line 20: withholding tax is not tracked",
    ]


def test_a_schwab_history_gives_its_trades_dividends_and_transfers(tmp_path: Path) -> None:
    fmt, rows, skipped = read(tmp_path, SCHWAB)
    assert fmt == "schwab"
    day = dt.date
    assert rows == [
        TradeRow(3, "sell", day(2023, 6, 15), "MSFT", 5, 340.10, fee=0.12),
        TradeRow(4, "dividend", day(2023, 5, 11), "MSFT", amount=6.80),
        TradeRow(6, "buy", day(2023, 2, 1), "MSFT", 10, 247.81),
        TradeRow(7, "buy", day(2023, 2, 1), "BRK-B", 1, 309.02),
        TradeRow(8, "deposit", day(2023, 1, 3), amount=5000),
    ]
    assert skipped == ["line 5: a Bank Interest action is not tracked"]


def test_our_columns_in_any_order_and_case(tmp_path: Path) -> None:
    text = (
        "Kind,Date,Symbol,Quantity,Price,Fee,Amount,Currency\nbuy,2023-01-03,aapl,10,125.07,1,,\n"
    )
    fmt, rows, _ = read(tmp_path, text)
    assert fmt == "stock"
    assert rows == [TradeRow(2, "buy", dt.date(2023, 1, 3), "aapl", 10, 125.07, fee=1)]


def test_every_bad_cell_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "date,kind,symbol,quantity,price\n"
        "2023-01-03,buy,AAPL,10,125\n"
        "2023-13-01,buy,AAPL,10,125\n"
        "\n"
        "2023-01-04,buy,AAPL,ten,125\n"
        "2023-01-05,buy,AAPL,10,nan\n"
    )
    found = read_trade_file(path)
    assert [r.line for r in found.rows] == [2]
    assert found.problems == [
        "line 3: the date '2023-13-01' is not a date (YYYY-MM-DD)",
        "line 5: quantity 'ten' is not a number",
        "line 6: price 'nan' is not a number",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("a,b\n1,2\n", "cannot tell the format of the file"),
        ("date,kind,shares\n", "unknown column 'shares'"),
    ],
)
def test_a_file_of_no_known_format_is_a_clear_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        read_trade_file(path)


def test_a_missing_file_and_an_unknown_format_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no file"):
        read_trade_file(tmp_path / "none.csv")
    with pytest.raises(UsageError, match=r"cannot read .*: Is a directory"):
        read_trade_file(tmp_path)
    (tmp_path / "latin1.csv").write_bytes("date,kind\n2023-01-03,d\xe9p\xf4t\n".encode("latin-1"))
    with pytest.raises(UsageError, match="is not a readable CSV file"):
        read_trade_file(tmp_path / "latin1.csv")
    with pytest.raises(UsageError, match="unknown trade file format 'degiro'"):
        read_trade_file(tmp_path / "none.csv", fmt="degiro")


@pytest.mark.parametrize(("text", "fmt"), [(SCHWAB, "ibkr"), ("date,kind\n", "auto")])
def test_a_file_with_no_transactions_in_its_format_is_an_error(
    tmp_path: Path, text: str, fmt: str
) -> None:
    """Not "0 imported": a Schwab file read as IBKR has no section IBKR writes."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=r"holds no transactions in the (ibkr|stock) format"):
        read_trade_file(path, fmt=fmt)
