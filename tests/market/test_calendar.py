"""Exchange calendars: real closures from the `holidays` library, session closes in the
exchange's zone, staleness in trading days, and provisional bars."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from stock_cli.market import calendar
from stock_cli.market.calendar import exchange_of, is_provisional, is_stale, missing_sessions
from tests.conftest import StockRunner

NYSE = exchange_of("AAPL")
SHANGHAI = exchange_of("600519.SS")


@pytest.mark.parametrize(
    ("symbol", "day"),
    [
        ("AAPL", dt.date(2024, 7, 4)),  # Independence Day
        ("AAPL", dt.date(2025, 1, 9)),  # national day of mourning for President Carter
        ("AAPL", dt.date(2024, 3, 29)),  # Good Friday
        *[("600519.SS", dt.date(2024, 10, d)) for d in (1, 2, 3, 4, 7)],  # National Day
        *[("000001.SZ", dt.date(2025, 1, d)) for d in (28, 29, 30, 31)],  # Spring Festival
        ("600519.SS", dt.date(2025, 2, 4)),  # Spring Festival: the make-up day off
        ("0700.HK", dt.date(2024, 2, 12)),  # Lunar New Year
        ("0700.HK", dt.date(2024, 10, 11)),  # Chung Yeung
        ("VOD.L", dt.date(2024, 8, 26)),  # Summer bank holiday
        ("VOD.L", dt.date(2024, 12, 26)),  # Boxing Day
    ],
)
def test_real_closures_are_not_trading_days(symbol: str, day: dt.date) -> None:
    assert day.weekday() < 5
    assert not exchange_of(symbol).is_trading_day(day)


@pytest.mark.parametrize(
    ("symbol", "day"),
    [
        ("AAPL", dt.date(2024, 7, 5)),
        ("600519.SS", dt.date(2024, 10, 8)),
        ("600519.SS", dt.date(2025, 2, 5)),
        ("0700.HK", dt.date(2024, 10, 10)),
        ("VOD.L", dt.date(2024, 7, 4)),  # London trades on the 4th of July
        ("AAPL", dt.date(2024, 10, 1)),  # and New York during China's National Day
    ],
)
def test_ordinary_days_trade(symbol: str, day: dt.date) -> None:
    assert exchange_of(symbol).is_trading_day(day)


def test_weekends_and_the_markets_without_holidays() -> None:
    assert not NYSE.is_trading_day(dt.date(2024, 7, 6))
    assert exchange_of("BTC-USD").is_trading_day(dt.date(2024, 7, 6))  # crypto: every day
    assert exchange_of("EURUSD=X").is_trading_day(dt.date(2024, 12, 25))  # FX: weekdays


def test_missing_sessions_count_trading_days_only() -> None:
    # Shanghai, last bar the day before National Day, today the first day back: none missing.
    assert missing_sessions(SHANGHAI, dt.date(2024, 9, 30), dt.date(2024, 10, 8)) == 0
    # New York, Monday to Friday of 4 July week: only the 2nd and 3rd are missing.
    assert missing_sessions(NYSE, dt.date(2024, 7, 1), dt.date(2024, 7, 5)) == 2
    assert missing_sessions(NYSE, dt.date(2024, 7, 1), dt.date(2024, 7, 9)) == 4


def test_staleness_follows_the_exchange_calendar() -> None:
    # A weekday count called these stale; they are healthy stores.
    assert not is_stale("600519.SS", dt.date(2024, 9, 30), dt.date(2024, 10, 8))
    assert not is_stale("AAPL", dt.date(2024, 7, 1), dt.date(2024, 7, 5))
    assert not is_stale("600519.SS", dt.date(2025, 1, 27), dt.date(2025, 2, 5))
    # … and these are not.
    assert is_stale("AAPL", dt.date(2024, 7, 1), dt.date(2024, 7, 9))
    assert is_stale("600519.SS", dt.date(2024, 9, 25), dt.date(2024, 10, 8))


def test_session_close_is_in_the_exchanges_zone() -> None:
    # 16:00 New York is 20:00 UTC in summer, 21:00 in winter.
    assert NYSE.session_close(dt.date(2024, 7, 5)) == dt.datetime(2024, 7, 5, 20, tzinfo=dt.UTC)
    assert NYSE.session_close(dt.date(2024, 12, 5)) == dt.datetime(2024, 12, 5, 21, tzinfo=dt.UTC)
    assert SHANGHAI.session_close(dt.date(2024, 10, 8)) == dt.datetime(
        2024, 10, 8, 7, tzinfo=dt.UTC
    )


def test_provisional_until_the_close_and_the_providers_own_close_wins() -> None:
    day = dt.date(2024, 11, 29)  # the day after Thanksgiving: NYSE closes at 13:00
    noon = dt.datetime(2024, 11, 29, 17, tzinfo=dt.UTC)  # 12:00 New York
    two_pm = dt.datetime(2024, 11, 29, 19, tzinfo=dt.UTC)
    assert is_provisional(NYSE, day, noon)
    assert is_provisional(NYSE, day, two_pm)  # the calendar's regular close is 16:00
    early = dt.datetime(2024, 11, 29, 18, tzinfo=dt.UTC)  # Yahoo's trading period says 13:00
    assert not is_provisional(NYSE, day, two_pm, provider_close=early)
    assert is_provisional(NYSE, day, noon, provider_close=early)
    # A provider close of another day (after the close Yahoo already shows the next
    # session) does not apply to this bar.
    next_session = dt.datetime(2024, 12, 2, 21, tzinfo=dt.UTC)
    assert not is_provisional(
        NYSE, day, two_pm + dt.timedelta(hours=3), provider_close=next_session
    )


def test_fresh_stores_skip_the_holiday_library(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(mic: str) -> object:
        raise AssertionError("the holiday calendar was loaded for a fresh store")

    monkeypatch.setattr(calendar, "_holidays", refuse)
    assert missing_sessions(NYSE, dt.date(2024, 7, 1), dt.date(2024, 7, 3), more_than=2) == 1


def _write_history(path: Path, last: dt.date, days: int = 60) -> None:
    """A Yahoo-style CSV of our own: `days` weekday bars ending on `last`."""
    rows, day, price = [], last, 100.0
    while len(rows) < days:
        if day.weekday() < 5:
            rows.append(f"{day},{price},{price + 1},{price - 1},{price + 0.5},{price + 0.5},1000")
            price += 0.25
        day -= dt.timedelta(days=1)
    path.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n" + "\n".join(reversed(rows)))


def test_analyze_reports_staleness_in_trading_days(
    cli: StockRunner, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_history(tmp_path / "600519.SS.csv", dt.date(2024, 9, 30))
    assert cli.stock("import", str(tmp_path / "600519.SS.csv")).exit_code == 0
    monkeypatch.setenv("STOCK_NOW", "2024-10-08T03:00:00+00:00")  # the first day back
    fresh = cli.stock("analyze", "600519.SS", "--json")
    assert json.loads(fresh.stdout)["stale"] is False
    assert "stale" not in fresh.stderr
    monkeypatch.setenv("STOCK_NOW", "2024-10-11T03:00:00+00:00")  # three sessions missed
    late = cli.stock("analyze", "600519.SS", "--json")
    assert json.loads(late.stdout)["stale"] is True
    assert "data is stale" in late.stderr


def test_long_gaps_are_stale_without_the_holiday_library(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(mic: str) -> object:
        raise AssertionError("the holiday calendar was loaded for a long-stale store")

    monkeypatch.setattr(calendar, "_holidays", refuse)
    assert is_stale("AAPL", dt.date(2018, 1, 19), dt.date(2024, 7, 5))
    # The Spring Festival and National Day gaps are still counted exactly.
    monkeypatch.undo()
    assert not is_stale("600519.SS", dt.date(2025, 1, 27), dt.date(2025, 2, 5))


def test_symbols_report_staleness_in_trading_days(
    cli: StockRunner, migrated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_history(tmp_path / "AAPL.csv", dt.date(2024, 7, 1))
    assert cli.stock("import", str(tmp_path / "AAPL.csv")).exit_code == 0
    monkeypatch.setenv("STOCK_NOW", "2024-07-05T12:00:00+00:00")  # the 4th was a holiday
    assert [s["stale"] for s in json.loads(cli.stock("symbols", "--json").stdout)] == [False]
    monkeypatch.setenv("STOCK_NOW", "2024-07-10T12:00:00+00:00")
    assert [s["stale"] for s in json.loads(cli.stock("symbols", "--json").stdout)] == [True]
    assert "stale" in cli.stock("symbols").stdout
