"""Summary statistics against straightforward loops on the real histories."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from stock_cli.analysis.summary import summarize
from tests.conftest import history_files

BAR_FILES = history_files("*_yahoo.csv")


def _load(path: Path) -> tuple[list[dt.date], list[float], list[float], list[float], list[float]]:
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    return (
        [dt.date.fromisoformat(r["Date"]) for r in rows],
        [float(r["Close"]) for r in rows],
        [float(r["High"]) for r in rows],
        [float(r["Low"]) for r in rows],
        [float(r["Volume"]) for r in rows],
    )


def _close_before(dates: list[dt.date], close: list[float], day: dt.date) -> float | None:
    found = None
    for d, c in zip(dates, close, strict=True):
        if d <= day:
            found = c
    return found


def _minus_months(day: dt.date, months: int) -> dt.date:
    year, month = day.year, day.month - months
    while month < 1:
        month += 12
        year -= 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            pass
    raise AssertionError


@pytest.mark.parametrize("path", BAR_FILES, ids=[p.name for p in BAR_FILES])
def test_summary_against_loops(path: Path) -> None:
    dates, close, high, low, volume = _load(path)
    got = summarize(
        np.array(dates, dtype="datetime64[D]"),
        np.array(close),
        np.array(high),
        np.array(low),
        np.array(volume),
        risk_free_rate=0.02,
    )
    last = dates[-1]
    assert got.last_date == last
    assert got.last_close == close[-1]
    assert math.isclose(got.change_1d or 0, (close[-1] / close[-2] - 1) * 100, rel_tol=1e-12)
    assert math.isclose(got.change_5d or 0, (close[-1] / close[-6] - 1) * 100, rel_tol=1e-12)
    for months, value in (
        (1, got.change_1m),
        (3, got.change_3m),
        (6, got.change_6m),
        (12, got.change_1y),
    ):
        then = _close_before(dates, close, _minus_months(last, months))
        assert then is not None
        assert value is not None
        assert math.isclose(value, (close[-1] / then - 1) * 100, rel_tol=1e-12)
    ytd = _close_before(dates, close, dt.date(last.year - 1, 12, 31))
    assert ytd is not None
    assert got.change_ytd is not None
    assert math.isclose(got.change_ytd, (close[-1] / ytd - 1) * 100, rel_tol=1e-12)

    year_ago = _minus_months(last, 12)
    window = [i for i, d in enumerate(dates) if d > year_ago]
    assert got.high_52w == max(high[i] for i in window)
    assert got.low_52w == min(low[i] for i in window)

    returns = [math.log(close[i] / close[i - 1]) for i in range(len(close) - 252, len(close))]
    mean = sum(returns) / len(returns)
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    assert got.volatility is not None
    assert math.isclose(got.volatility, std * math.sqrt(252) * 100, rel_tol=1e-9)
    assert got.sharpe is not None
    assert math.isclose(got.sharpe, (mean * 252 - 0.02) / (std * math.sqrt(252)), rel_tol=1e-9)

    peak_value, peak_at, worst, worst_peak, worst_at = close[0], 0, 0.0, 0, 0
    for i, c in enumerate(close):
        if c > peak_value:
            peak_value, peak_at = c, i
        drawdown = c / peak_value - 1
        if drawdown < worst:
            worst, worst_peak, worst_at = drawdown, peak_at, i
    assert math.isclose(got.max_drawdown, worst * 100, rel_tol=1e-12)
    assert got.drawdown_trough == dates[worst_at]
    assert got.drawdown_peak == dates[worst_peak]
    assert got.average_volume is not None
    assert math.isclose(got.average_volume, sum(volume[-50:]) / 50, rel_tol=1e-12)
    assert got.from_sma_200 is not None
    assert math.isclose(
        got.from_sma_200, (close[-1] / (sum(close[-200:]) / 200) - 1) * 100, rel_tol=1e-9
    )


def test_short_history_has_nones() -> None:
    dates = np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[D]")
    got = summarize(
        dates,
        np.array([10.0, 11.0]),
        np.array([10.5, 11.5]),
        np.array([9.5, 10.5]),
        np.array([100.0, 200.0]),
    )
    assert got.change_1d is not None
    assert math.isclose(got.change_1d, 10.0)
    assert got.change_5d is None
    assert got.change_1y is None
    assert got.from_sma_50 is None
    assert got.sharpe is None
