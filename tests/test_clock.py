"""The clock seam (STOCK_NOW)."""

from __future__ import annotations

import datetime as dt

import pytest

from stock_cli import clock
from tests.conftest import StockRunner, assert_clear_error


def test_pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCK_NOW", "2024-07-05T21:00:00")  # naive means UTC
    assert clock.now() == dt.datetime(2024, 7, 5, 21, tzinfo=dt.UTC)
    assert clock.today() == dt.date(2024, 7, 5)
    monkeypatch.setenv("STOCK_NOW", "2024-07-05T23:30:00-04:00")
    assert clock.now() == dt.datetime(2024, 7, 6, 3, 30, tzinfo=dt.UTC)


def test_a_bad_pinned_clock_is_a_clear_error(
    cli: StockRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCK_NOW", "yesterday")
    assert_clear_error(cli.stock("schedule", "ls"), "STOCK_NOW='yesterday' is not a time")
