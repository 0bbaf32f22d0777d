"""Summary statistics of one price series (numpy; checked against plain loops in tests).

Changes over calendar periods use the last close on or before the period's start date
(1m = one calendar month back, YTD = the last close of the previous year). Volatility,
Sharpe ratio and average volume use the last year of daily data (252 returns).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

TRADING_DAYS = 252


@dataclass(frozen=True)
class Summary:
    last_date: dt.date
    last_close: float
    change_1d: float | None
    change_5d: float | None
    change_1m: float | None
    change_3m: float | None
    change_6m: float | None
    change_ytd: float | None
    change_1y: float | None
    high_52w: float
    low_52w: float
    from_high_52w: float  # % below the 52-week high (≤ 0)
    from_low_52w: float  # % above the 52-week low (≥ 0)
    volatility: float | None  # annualised, from daily log returns
    max_drawdown: float  # % (≤ 0) over the loaded history
    drawdown_peak: dt.date
    drawdown_trough: dt.date
    sharpe: float | None
    risk_free_rate: float
    average_volume: float | None  # last 50 bars
    from_sma_50: float | None  # % distance of the close from its 50-bar SMA
    from_sma_200: float | None


def _pct(now: float, then: float) -> float | None:
    if not math.isfinite(then) or then == 0:
        return None
    return (now / then - 1.0) * 100.0


def _months_back(day: dt.date, months: int) -> dt.date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _close_on_or_before(dates: np.ndarray, close: np.ndarray, day: dt.date) -> float | None:
    index = int(np.searchsorted(dates, np.datetime64(day, "D"), side="right")) - 1
    if index < 0:
        return None
    return float(close[index])


def _volatility_and_sharpe(
    close: np.ndarray, risk_free_rate: float
) -> tuple[float | None, float | None]:
    """Annualised volatility (%) and Sharpe ratio of the last year's log returns."""
    returns = np.diff(np.log(close[-(TRADING_DAYS + 1) :]))
    if len(returns) < 2:
        return None, None
    deviation = float(np.std(returns, ddof=1))
    volatility = deviation * math.sqrt(TRADING_DAYS) * 100.0
    if deviation <= 0:
        return volatility, None
    excess = float(np.mean(returns)) * TRADING_DAYS - risk_free_rate
    return volatility, excess / (deviation * math.sqrt(TRADING_DAYS))


def summarize(
    dates: np.ndarray,
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    volume: np.ndarray,
    *,
    risk_free_rate: float = 0.0,
) -> Summary:
    """Statistics of a series (oldest first, at least one bar)."""
    last = dates[-1].astype(dt.date)
    price = float(close[-1])

    def change_since(day: dt.date) -> float | None:
        then = _close_on_or_before(dates, close, day)
        # a period longer than the history has no change
        return None if then is None or day < dates[0].astype(dt.date) else _pct(price, then)

    year_ago = np.datetime64(_months_back(last, 12), "D")
    window = dates > year_ago
    high_52w = float(np.max(high[window]))
    low_52w = float(np.min(low[window]))

    volatility, sharpe = _volatility_and_sharpe(close, risk_free_rate)
    running_peak = np.maximum.accumulate(close)
    drawdowns = close / running_peak - 1.0
    trough = int(np.argmin(drawdowns))
    peak = int(np.argmax(close[: trough + 1]))

    def from_sma(n: int) -> float | None:
        return _pct(price, float(np.mean(close[-n:]))) if len(close) >= n else None

    return Summary(
        last_date=last,
        last_close=price,
        change_1d=_pct(price, float(close[-2])) if len(close) >= 2 else None,
        change_5d=_pct(price, float(close[-6])) if len(close) >= 6 else None,
        change_1m=change_since(_months_back(last, 1)),
        change_3m=change_since(_months_back(last, 3)),
        change_6m=change_since(_months_back(last, 6)),
        change_ytd=change_since(dt.date(last.year - 1, 12, 31)),
        change_1y=change_since(_months_back(last, 12)),
        high_52w=high_52w,
        low_52w=low_52w,
        from_high_52w=(price / high_52w - 1.0) * 100.0,
        from_low_52w=(price / low_52w - 1.0) * 100.0,
        volatility=volatility,
        max_drawdown=float(drawdowns[trough]) * 100.0,
        drawdown_peak=dates[peak].astype(dt.date),
        drawdown_trough=dates[trough].astype(dt.date),
        sharpe=sharpe,
        risk_free_rate=risk_free_rate,
        average_volume=float(np.mean(volume[-50:])) if len(volume) else None,
        from_sma_50=from_sma(50),
        from_sma_200=from_sma(200),
    )
