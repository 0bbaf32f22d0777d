"""`stock portfolio` on both databases: quantities through stored splits, dividends
credited once, a GBp holding valued in GBP and in USD with FX at the trade and the
valuation dates; every expected number worked by hand."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.conftest import StockRunner, assert_clear_error
from tests.portfolio.conftest import NOW, action, bars_file, ls


def test_a_2019_purchase_is_150_shares_after_two_stored_splits(
    cli: StockRunner, tesla: str
) -> None:
    assert cli.stock("portfolio", "buy", "TSLA", "10", "200", "--date", "2019-06-03").exit_code == 0
    doc = ls(cli)
    (position,) = doc["positions"]
    assert position["quantity"] == pytest.approx(150)
    assert position["average_cost"] == pytest.approx(200 / 15)
    assert (position["last_price"], position["last_date"]) == (261.77, "2023-06-30")
    assert position["market_value"] == pytest.approx(150 * 261.77)
    assert position["cost_basis"] == pytest.approx(2000)
    assert position["unrealized_pnl"] == pytest.approx(150 * 261.77 - 2000)
    assert position["weight"] == pytest.approx(1.0)
    assert doc["market_value"] == pytest.approx(150 * 261.77)
    # a sale in pre-split shares beyond what was held then is refused, and nothing stored
    result = cli.stock("portfolio", "sell", "TSLA", "11", "1500", "--date", "2020-08-28")
    assert_clear_error(result, "sell of 11 on 2020-08-28 is more than the 10 held", code=2)
    assert len(json.loads(cli.stock("portfolio", "tx", "ls", "--json").stdout)) == 1
    # the user's correction replaces the stored split of that day
    assert cli.stock("portfolio", "split", "TSLA", "1", "--date", "2022-08-25").exit_code == 0
    assert ls(cli)["positions"][0]["quantity"] == pytest.approx(50)


def test_dividends_are_credited_once(cli: StockRunner, tesla: str) -> None:
    cli.stock("portfolio", "buy", "TSLA", "10", "200", "--date", "2019-06-03")
    cli.stock("portfolio", "buy", "TSLA", "30", "250", "--date", "2023-02-10")  # on the ex-date
    action(tesla, "TSLA", "2023-02-10", "dividend", 0.5)
    assert ls(cli)["positions"][0]["dividends"] == pytest.approx(150 * 0.5)  # not the 30 more
    # the user records the payment of that dividend: it replaces the stored one
    cli.stock("portfolio", "dividend", "TSLA", "80", "--date", "2023-03-01")
    assert ls(cli)["positions"][0]["dividends"] == pytest.approx(80)
    assert ls(cli)["dividends"] == pytest.approx(80)


def test_fifo_and_average_realised_pnl_through_the_cli(cli: StockRunner, tesla: str) -> None:
    for args in (
        ("buy", "TSLA", "10", "100", "--date", "2023-01-02", "--fee", "10"),
        ("buy", "TSLA", "10", "120", "--date", "2023-02-01"),
        ("sell", "TSLA", "15", "130", "--date", "2023-03-01", "--fee", "5"),
    ):
        assert cli.stock("portfolio", *args).exit_code == 0
    fifo = ls(cli)["positions"][0]
    assert fifo["realized_pnl"] == pytest.approx(1945 - (1010 + 600))
    assert fifo["cost_basis"] == pytest.approx(5 * 120)
    average = ls(cli, "--method", "average")["positions"][0]
    assert average["realized_pnl"] == pytest.approx(1945 - 15 * 110.5)
    assert average["cost_basis"] == pytest.approx(5 * 110.5)
    listed = json.loads(cli.stock("portfolio", "tx", "ls", "--json").stdout)
    assert [t["kind"] for t in listed] == ["buy", "buy", "sell"]
    removed = cli.stock("portfolio", "tx", "rm", str(listed[-1]["id"]), "--json")
    assert json.loads(removed.stdout)["kind"] == "sell"
    assert ls(cli)["positions"][0]["quantity"] == pytest.approx(20)


def test_a_pence_quoted_holding_is_valued_in_pounds(cli: StockRunner, vodafone: str) -> None:
    cli.stock("portfolio", "buy", "VOD.L", "100", "7000", "--date", "2023-01-03", "--fee", "5")
    doc = ls(cli)
    (position,) = doc["positions"]
    assert doc["base_currency"] == "GBP"
    assert position["currency"] == "GBP"
    assert position["last_price"] == pytest.approx(72.50)
    assert position["market_value"] == pytest.approx(7250)  # not 725,000
    assert position["cost_basis"] == pytest.approx(7005)


def test_usd_values_use_the_fx_of_each_day(
    cli: StockRunner, vodafone: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.stock("portfolio", "buy", "VOD.L", "100", "7000", "--date", "2023-01-04")
    monkeypatch.setenv("STOCK_BASE_CURRENCY", "USD")
    missing = cli.stock("portfolio", "ls", "--json")
    assert_clear_error(missing, "no stored GBPUSD=X rate on or before", "to convert GBP to USD")
    fx = bars_file(
        tmp_path, "GBPUSD=X", [("2023-01-03", 1.20), ("2023-06-29", 1.26), ("2023-06-30", 1.27)]
    )
    assert cli.stock("import", str(fx), "--symbol", "GBPUSD=X").exit_code == 0
    doc = ls(cli)
    (position,) = doc["positions"]
    assert doc["base_currency"] == "USD"
    # cost at the trade date's rate (the 4th has no close: the 3rd's 1.20), value at the 30th's
    assert position["cost_basis"] == pytest.approx(7000 * 1.20)
    assert position["market_value"] == pytest.approx(7250 * 1.27)
    assert position["unrealized_pnl"] == pytest.approx(7250 * 1.27 - 7000 * 1.20)
    assert any("nearest earlier close" in note for note in doc["notes"])


def test_cash_follows_deposits_trades_and_withdrawals(cli: StockRunner, tesla: str) -> None:
    assert ls_empty(cli)
    cli.stock("portfolio", "deposit", "10000", "--date", "2023-01-02")
    cli.stock("portfolio", "buy", "TSLA", "10", "200", "--date", "2023-01-03", "--fee", "1")
    cli.stock("portfolio", "withdraw", "500", "--date", "2023-05-02")
    assert ls(cli)["cash"] == pytest.approx(10000 - 2001 - 500)


def ls_empty(cli: StockRunner) -> bool:
    result = cli.stock("portfolio", "ls", "--json")
    return result.exit_code == 1 and "no portfolio default" in result.stderr


PERF_BARS = [  # quarterly closes, so that XIRR annualises a year, not four days
    ("2022-06-30", 100.0),
    ("2022-09-30", 110.0),
    ("2022-12-30", 99.0),
    ("2023-03-31", 108.9),
    ("2023-06-30", 119.79),
]


def test_performance_worked_by_hand(
    cli: StockRunner, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCK_NOW", NOW)
    path = bars_file(tmp_path, "TSLA", PERF_BARS)
    assert cli.stock("import", str(path), "--symbol", "TSLA").exit_code == 0
    cli.stock("portfolio", "buy", "TSLA", "10", "100", "--date", "2022-06-30")
    cli.stock("portfolio", "buy", "TSLA", "10", "99", "--date", "2022-12-30")
    cli.stock("portfolio", "sell", "TSLA", "10", "119.79", "--date", "2023-06-30")
    result = cli.stock("portfolio", "perf", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    # bar by bar, each trade's money taken at the close: +10 %, −10 %, +10 %, +10 %
    assert doc["time_weighted_return"] == pytest.approx(1.1 * 0.9 * 1.1 * 1.1 - 1)
    assert doc["max_drawdown"] == pytest.approx(0.99 / 1.1 - 1)
    assert [d["value"] for d in doc["series"]] == pytest.approx([1000, 1100, 1980, 2178, 1197.9])
    assert [d["flow"] for d in doc["series"]] == pytest.approx([1000, 0, 990, 0, -1197.9])
    # XIRR: the rate at which the money in and out (and the value left) is worth 0 today
    rate = doc["money_weighted_return"]
    cash = [("2022-06-30", -1000.0), ("2022-12-30", -990.0), ("2023-06-30", 2 * 1197.9)]
    start = dt.date(2022, 6, 30)
    npv = sum(
        cf / (1 + rate) ** ((dt.date.fromisoformat(day) - start).days / 365) for day, cf in cash
    )
    assert npv == pytest.approx(0, abs=1e-6)
    (position,) = doc["positions"]
    assert position["time_weighted_return"] == pytest.approx(doc["time_weighted_return"])
    # from a later day on, what was held then is carried in
    since = json.loads(cli.stock("portfolio", "perf", "--since", "2022-12-30", "--json").stdout)
    assert since["time_weighted_return"] == pytest.approx(1.1 * 1.1 - 1)
    assert since["start_value"] == pytest.approx(1980)
    assert since["series"][0]["flow"] == pytest.approx(990)  # the earlier buy is carried in
    csv_out = cli.stock("portfolio", "perf", "--csv").stdout.splitlines()
    assert csv_out[0] == "date,value,flow,index"
    assert len(csv_out) == 6
    table = cli.stock("portfolio", "perf", "--chart")
    assert table.exit_code == 0, table.stderr
    assert "TSLA" in table.stdout


def test_time_weighted_return_with_deposits_worked_by_hand(
    cli: StockRunner, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With deposits recorded, cash is part of the value and only deposits and withdrawals
    are flows: each day's growth is (value − flow) / the day before's value."""
    monkeypatch.setenv("STOCK_NOW", NOW)
    path = bars_file(tmp_path, "TSLA", PERF_BARS)
    assert cli.stock("import", str(path), "--symbol", "TSLA").exit_code == 0
    for args in (
        ("deposit", "1000", "--date", "2022-06-30"),
        ("buy", "TSLA", "10", "100", "--date", "2022-06-30"),
        ("deposit", "700", "--date", "2022-09-30"),
        ("buy", "TSLA", "5", "99", "--date", "2022-12-30"),
        ("withdraw", "200", "--date", "2023-03-31"),
    ):
        assert cli.stock("portfolio", *args).exit_code == 0
    doc = json.loads(cli.stock("portfolio", "perf", "--json").stdout)
    # shares × close + cash: 10×100+0, 10×110+700, 15×99+205, 15×108.9+5, 15×119.79+5
    values = [1000, 1800, 1690, 1638.5, 1801.85]
    assert [d["value"] for d in doc["series"]] == pytest.approx(values)
    assert [d["flow"] for d in doc["series"]] == pytest.approx([1000, 700, 0, -200, 0])
    growth = (1800 - 700) / 1000 * (1690 / 1800) * ((1638.5 + 200) / 1690) * (1801.85 / 1638.5)
    assert doc["time_weighted_return"] == pytest.approx(growth - 1)
    assert ls(cli)["cash"] == pytest.approx(5)


def test_the_chat_tools_answer_what_the_commands_print(cli: StockRunner, tesla: str) -> None:
    from stock_cli.llm import tools

    cli.stock("portfolio", "buy", "TSLA", "10", "200", "--date", "2019-06-03")
    available = tools.available_tools(allow_fetch=False)
    text, is_error = tools.run_tool(available, "portfolio_positions", {})
    assert not is_error, text
    assert json.loads(text) == ls(cli)
    text, is_error = tools.run_tool(available, "portfolio_performance", {"since": "2023-06-28"})
    assert not is_error, text
    expected = json.loads(cli.stock("portfolio", "perf", "--since", "2023-06-28", "--json").stdout)
    expected.pop("series")
    assert json.loads(text) == expected
    text, is_error = tools.run_tool(available, "portfolio_positions", {"portfolio": "nope"})
    assert is_error
    assert json.loads(text) == {"error": "no portfolio nope"}


def test_removing_a_purchase_a_later_sale_needs_is_refused(cli: StockRunner, tesla: str) -> None:
    cli.stock("portfolio", "buy", "TSLA", "10", "100", "--date", "2023-01-02")
    cli.stock("portfolio", "sell", "TSLA", "5", "120", "--date", "2023-03-01")
    listed = json.loads(cli.stock("portfolio", "tx", "ls", "--json").stdout)
    result = cli.stock("portfolio", "tx", "rm", str(listed[0]["id"]))
    assert_clear_error(result, "sell of 5 on 2023-03-01 is more than the 0 held", code=2)
    assert len(json.loads(cli.stock("portfolio", "tx", "ls", "--json").stdout)) == 2
    assert cli.stock("portfolio", "tx", "rm", str(listed[1]["id"])).exit_code == 0
    assert cli.stock("portfolio", "tx", "rm", str(listed[0]["id"])).exit_code == 0


def test_a_trade_before_any_portfolio_says_how_one_starts(cli: StockRunner, migrated: str) -> None:
    result = cli.stock("portfolio", "ls")
    assert_clear_error(result, "no portfolio default", "created by its first transaction")


def test_a_portfolio_base_currency_overrides_the_setting(
    cli: StockRunner, vodafone: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.stock("portfolio", "buy", "VOD.L", "100", "7000", "--date", "2023-01-03")
    fx = bars_file(tmp_path, "GBPUSD=X", [("2023-01-03", 1.20), ("2023-06-30", 1.27)])
    assert cli.stock("import", str(fx), "--symbol", "GBPUSD=X").exit_code == 0
    monkeypatch.setenv("STOCK_BASE_CURRENCY", "EUR")  # no EUR rates: using it would fail
    shown = cli.stock("portfolio", "base-currency", "usd", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["base_currency"] == "USD"
    doc = ls(cli)
    assert doc["base_currency"] == "USD"
    assert doc["market_value"] == pytest.approx(7250 * 1.27)
    monkeypatch.delenv("STOCK_BASE_CURRENCY")
    cleared = cli.stock("portfolio", "base-currency", "--clear", "--json")
    assert json.loads(cleared.stdout) == {
        "portfolio": "default",
        "base_currency": None,
        "effective_base_currency": "GBP",
    }
    assert ls(cli)["market_value"] == pytest.approx(7250)
    for wrong in ("GBp", "EURO", "U5D"):
        refused = cli.stock("portfolio", "base-currency", wrong)
        assert_clear_error(refused, f"'{wrong}' is not a currency code", code=2)


def test_a_transaction_dated_in_the_future_is_refused(
    cli: StockRunner, migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It would count only from that day on: `ls` today would not show it."""
    monkeypatch.setenv("STOCK_NOW", NOW)
    later = cli.stock("portfolio", "buy", "AAPL", "10", "100", "--date", "2023-07-01")
    assert_clear_error(later, "the date 2023-07-01 is in the future", code=2)
    today = cli.stock("portfolio", "buy", "aapl", "10", "100", "--date", "2023-06-30", "--json")
    assert today.exit_code == 0, today.stderr
    assert json.loads(today.stdout)["symbol"] == "AAPL"  # the service makes it canonical
