"""Schedules on an exchange's trading days (`--days trading`)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from stock_cli.db.job_models import Schedule
from stock_cli.errors import UsageError
from stock_cli.jobs.schedules import current_slot, next_occurrence, trading_days_spec
from tests.conftest import StockRunner, db_rows
from tests.replay import ReplayServer, Reply

NIGHTLY_NY = Schedule(
    name="n", job="fetch", at_time="16:30", timezone="America/New_York", days="trading:XNYS"
)
AFTER_SHANGHAI = Schedule(
    name="s", job="fetch", at_time="15:30", timezone="Asia/Shanghai", days="trading:XSHG"
)


def test_trading_days_skip_the_exchanges_holidays() -> None:
    july_3rd_evening = dt.datetime(2024, 7, 3, 22, tzinfo=dt.UTC)  # 18:00 New York
    # Not the 4th (Independence Day): Friday the 5th.
    assert next_occurrence(NIGHTLY_NY, july_3rd_evening) == dt.datetime(
        2024, 7, 5, 20, 30, tzinfo=dt.UTC
    )
    on_the_4th = dt.datetime(2024, 7, 4, 22, tzinfo=dt.UTC)
    assert current_slot(NIGHTLY_NY, on_the_4th) == "2024-07-03T20:30:00+00:00"
    mourning = dt.datetime(2025, 1, 9, 23, tzinfo=dt.UTC)
    assert current_slot(NIGHTLY_NY, mourning) == "2025-01-08T21:30:00+00:00"


def test_a_week_of_national_day_is_one_slot() -> None:
    during = dt.datetime(2024, 10, 5, 12, tzinfo=dt.UTC)
    assert current_slot(AFTER_SHANGHAI, during) == "2024-09-30T07:30:00+00:00"
    assert next_occurrence(AFTER_SHANGHAI, during) == dt.datetime(2024, 10, 8, 7, 30, tzinfo=dt.UTC)


def test_the_spec_names_an_exchange_or_takes_the_one_of_the_zone() -> None:
    assert trading_days_spec("trading", timezone="America/New_York") == "trading:XNYS"
    assert trading_days_spec("trading", timezone="Asia/Shanghai") == "trading:XSHG"
    assert trading_days_spec("trading:xhkg", timezone="UTC") == "trading:XHKG"
    assert trading_days_spec("mon-fri", timezone="UTC") is None
    with pytest.raises(UsageError, match="no exchange calendar for the time zone UTC"):
        trading_days_spec("trading", timezone="UTC")
    with pytest.raises(UsageError, match="no trading calendar for 'XXXX'"):
        trading_days_spec("trading:XXXX", timezone="UTC")


def test_schedule_add_days_trading(cli: StockRunner, migrated: str) -> None:
    result = cli.stock(
        "schedule", "add", "hk", "--job", "fetch", "--at", "16:30", "--tz", "Asia/Hong_Kong",
        "--days", "trading",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    listed = json.loads(cli.stock("schedule", "ls", "--json").stdout)
    assert listed[0]["when"] == "16:30 trading days (XHKG)"
    bad = cli.stock("schedule", "add", "x", "--job", "fetch", "--at", "10:00", "--days", "trading")
    assert bad.exit_code == 2
    assert "trading:XNYS" in bad.stderr


def test_a_markets_default_fetch_takes_only_that_markets_symbols(
    cli: StockRunner, migrated: str, replay: ReplayServer
) -> None:
    replay.add(r"/v8/finance/chart/.*", Reply(status=404, body=b"{}"))
    assert cli.stock("watch", "add", "600519.SS", "AAPL", "MSFT").exit_code == 0
    result = cli.stock("schedule", "run", "fetch-default-us")
    assert result.exit_code == 1  # every symbol failed: the run failed, alerts did not run
    attempted = db_rows(migrated, "SELECT symbol FROM fetch_result ORDER BY symbol")
    assert attempted == [("AAPL",), ("MSFT",)]
    runs = db_rows(migrated, "SELECT job, status FROM job_run ORDER BY id")
    assert runs == [("fetch-default-us", "failed")]
