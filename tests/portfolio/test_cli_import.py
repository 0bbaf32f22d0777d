"""`stock portfolio import` on both databases: every row or none, bad rows by line, the
same file twice recorded once, and what it stores equal to what the commands record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StockRunner, assert_clear_error
from tests.portfolio.conftest import ls
from tests.portfolio.test_trade_files import IBKR, SCHWAB

pytestmark = pytest.mark.usefixtures("migrated")


def tx_ls(cli: StockRunner, portfolio: str = "default") -> list[dict[str, Any]]:
    result = cli.stock("portfolio", "tx", "ls", "--json", "--portfolio", portfolio)
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def imported(cli: StockRunner, path: Path, *args: str) -> dict[str, Any]:
    result = cli.stock("portfolio", "import", str(path), "--json", *args)
    assert result.exit_code == 0, result.stderr
    done: dict[str, Any] = json.loads(result.stdout)
    return done


def write(tmp_path: Path, text: str, name: str = "trades.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_ibkr_statement_is_stored_and_its_cash_adds_up(cli: StockRunner, tmp_path: Path) -> None:
    done = imported(cli, write(tmp_path, IBKR))
    assert done["format"] == "ibkr"
    assert done["kinds"] == {"buy": 2, "deposit": 1, "dividend": 1, "sell": 1, "withdraw": 1}
    assert len(done["skipped"]) == 2
    stored = [(t["date"], t["kind"], t["symbol"], t["quantity"]) for t in tx_ls(cli)]
    assert stored == [
        ("2023-01-02", "deposit", None, None),
        ("2023-01-03", "buy", "AAPL", 10),
        ("2023-01-04", "buy", "BRK-B", 2),
        ("2023-02-16", "dividend", "AAPL", None),
        ("2023-03-01", "sell", "AAPL", 4),
        ("2023-05-02", "withdraw", None, None),
    ]
    cash = 10000 - (1250.70 + 1) - (611 + 1.05) + 2.3 + (581.24 - 1.02) - 500
    assert ls(cli)["cash"] == pytest.approx(cash)


def test_a_schwab_history_is_stored(cli: StockRunner, tmp_path: Path) -> None:
    done = imported(cli, write(tmp_path, SCHWAB), "--format", "schwab", "--portfolio", "ira")
    assert done["portfolio"] == "ira"
    assert done["imported"] == 5
    positions = {p["symbol"]: p["quantity"] for p in ls(cli, "--portfolio", "ira")["positions"]}
    assert positions == {"MSFT": 5, "BRK-B": 1}


def test_tx_ls_csv_is_read_back_as_the_same_transactions(cli: StockRunner, tmp_path: Path) -> None:
    imported(cli, write(tmp_path, IBKR))
    exported = cli.stock("portfolio", "tx", "ls", "--csv")
    assert exported.exit_code == 0
    assert exported.stdout.splitlines()[0] == "date,kind,symbol,quantity,price,fee,amount,currency"
    imported(cli, write(tmp_path, exported.stdout, "again.csv"), "--portfolio", "copy")

    def plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in ("id", "portfolio")} for r in rows]

    assert plain(tx_ls(cli, "copy")) == plain(tx_ls(cli))


def test_the_same_file_imported_twice_is_recorded_once(cli: StockRunner, tmp_path: Path) -> None:
    path = write(tmp_path, IBKR)
    first = imported(cli, path)
    again = imported(cli, path)
    assert (again["imported"], again["already_recorded"]) == (0, first["imported"])
    assert len(tx_ls(cli)) == first["imported"]


def test_two_equal_fills_in_one_file_are_both_recorded(cli: StockRunner, tmp_path: Path) -> None:
    text = "date,kind,symbol,quantity,price\n2023-01-03,buy,AAPL,5,125\n2023-01-03,buy,AAPL,5,125\n"
    assert imported(cli, write(tmp_path, text))["imported"] == 2
    assert ls(cli)["positions"][0]["quantity"] == 10


def test_bad_rows_are_reported_by_line_and_nothing_is_stored(
    cli: StockRunner, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "date,kind,symbol,quantity,price,amount\n"
        "2023-01-02,deposit,,,,10000\n"
        "2023-01-03,buy,AAPL,10,125\n"
        "2023-01-04,buy,AAPL,,125\n"
        "2023-01-05,swap,AAPL,1,1\n"
        "2023-01-06,buy,,1,1\n"
        "01.07.2023,buy,AAPL,1,1\n"
        "2023-01-09,deposit,,,,-5\n",
    )
    result = cli.stock("portfolio", "import", str(path))
    assert_clear_error(
        result,
        "5 bad rows, nothing imported",
        "line 4: a buy needs a positive quantity and a price of 0 or more",
        "line 5: the kind must be one of buy, sell",
        "line 6: a buy needs symbol",
        "line 7: the date '01.07.2023' is not a date",
        "line 8: a deposit needs a positive amount",
        code=2,
    )
    assert cli.stock("portfolio", "tx", "ls").exit_code == 1  # no portfolio was even created
    as_json = cli.stock("portfolio", "import", str(path), "--json")
    error = json.loads(as_json.stderr)["error"]
    assert error["type"] == "bad_trade_file"
    assert [p.split(":")[0] for p in error["problems"]] == [f"line {n}" for n in (4, 5, 6, 7, 8)]


def test_a_sale_of_shares_not_held_names_its_line_and_stores_nothing(
    cli: StockRunner, tmp_path: Path
) -> None:
    cli.stock("portfolio", "buy", "AAPL", "3", "120", "--date", "2022-12-01")
    path = write(
        tmp_path,
        "date,kind,symbol,quantity,price\n"
        "2023-01-03,buy,AAPL,10,125\n"
        "2023-02-03,sell,AAPL,13,140\n"
        "2023-03-03,sell,AAPL,1,150\n",
    )
    result = cli.stock("portfolio", "import", str(path))
    assert_clear_error(
        result, "line 4: the sell of 1 on 2023-03-03 is more than the 0 held then", code=2
    )
    assert len(tx_ls(cli)) == 1  # only the purchase recorded before


def test_a_dry_run_checks_the_file_and_stores_nothing(cli: StockRunner, tmp_path: Path) -> None:
    done = imported(cli, write(tmp_path, IBKR), "--dry-run")
    assert done["dry_run"] is True
    assert done["imported"] == 6
    assert cli.stock("portfolio", "tx", "ls").exit_code == 1


def test_a_price_in_pounds_of_a_pence_quoted_stock(cli: StockRunner, vodafone: str) -> None:
    """72.00 GBP and 7200 GBp are the same purchase; 72 USD of a GBp stock is refused."""
    cli.stock("portfolio", "buy", "VOD.L", "100", "7200", "--date", "2023-01-03", "-P", "pence")
    cli.stock("portfolio", "buy", "VOD.L", "100", "72", "--currency", "GBP", "--date", "2023-01-03")
    pence, pounds = ls(cli, "-P", "pence")["positions"][0], ls(cli)["positions"][0]
    assert pounds["cost_basis"] == pytest.approx(7200) == pence["cost_basis"]
    assert pounds["average_cost"] == pytest.approx(72) == pence["average_cost"]
    refused = cli.stock("portfolio", "buy", "VOD.L", "1", "90", "--currency", "USD")
    assert_clear_error(refused, "a price in USD for an instrument quoted in GBp", code=2)


def test_export_transactions_in_each_format_reads_back(cli: StockRunner, tmp_path: Path) -> None:
    imported(cli, write(tmp_path, IBKR))
    stored = tx_ls(cli)
    as_csv = tmp_path / "tx.csv"
    done = cli.stock("export", "--transactions", "default", "-o", str(as_csv), "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["transactions"] == len(stored)
    imported(cli, as_csv, "--portfolio", "restored")
    assert [t["quantity"] for t in tx_ls(cli, "restored")] == [t["quantity"] for t in stored]
    lines = cli.stock("export", "--transactions", "default", "-f", "jsonl").stdout.splitlines()
    assert [json.loads(line)["kind"] for line in lines] == [t["kind"] for t in stored]
    pq = pytest.importorskip("pyarrow.parquet")
    parquet = cli.stock("export", "--transactions", "default", "-o", str(tmp_path / "t.parquet"))
    assert parquet.exit_code == 0, parquet.stderr
    table = pq.read_table(tmp_path / "t.parquet").to_pylist()
    assert [(str(r["date"]), r["amount"]) for r in table] == [
        (t["date"], t["amount"]) for t in stored
    ]
    missing = cli.stock("export", "--transactions", "nope")
    assert_clear_error(missing, "no portfolio nope")


def test_a_file_of_no_known_format_names_the_option(cli: StockRunner, tmp_path: Path) -> None:
    result = cli.stock("portfolio", "import", str(write(tmp_path, "a,b\n1,2\n")))
    assert_clear_error(result, "cannot tell the format of the file: give --format", code=2)


def test_a_row_dated_in_the_future_is_a_bad_row(cli: StockRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "date,kind,amount\n2023-01-02,deposit,100\n2099-01-09,deposit,5\n")
    result = cli.stock("portfolio", "import", str(path))
    assert_clear_error(result, "line 3: the date 2099-01-09 is in the future", code=2)
    assert cli.stock("portfolio", "tx", "ls").exit_code == 1
