"""Signals: events that fired on recent bars (crosses, breakouts, RSI extremes)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import talib

from stock_cli.analysis.expr import parse_expression


@dataclass(frozen=True)
class Signal:
    date: dt.date
    name: str
    description: str


# name, expression, description; evaluated with the same engine as screens and alerts
SIGNALS: tuple[tuple[str, str, str], ...] = (
    ("golden_cross", "cross_above(sma_50, sma_200)", "SMA 50 crossed above SMA 200"),
    ("death_cross", "cross_below(sma_50, sma_200)", "SMA 50 crossed below SMA 200"),
    (
        "macd_bullish",
        "cross_above(macd_12_26_9, macd_signal_12_26_9)",
        "MACD crossed above its signal",
    ),
    (
        "macd_bearish",
        "cross_below(macd_12_26_9, macd_signal_12_26_9)",
        "MACD crossed below its signal",
    ),
    ("rsi_oversold", "cross_below(rsi_14, 30)", "RSI 14 fell below 30"),
    ("rsi_overbought", "cross_above(rsi_14, 70)", "RSI 14 rose above 70"),
    ("above_sma_200", "cross_above(close, sma_200)", "close crossed above SMA 200"),
    ("below_sma_200", "cross_below(close, sma_200)", "close crossed below SMA 200"),
    (
        "bollinger_breakout_up",
        "cross_above(close, bbands_upper_20_2)",
        "close broke above the upper Bollinger band",
    ),
    (
        "bollinger_breakout_down",
        "cross_below(close, bbands_lower_20_2)",
        "close broke below the lower Bollinger band",
    ),
)


def find_signals(
    dates: np.ndarray, columns: dict[str, np.ndarray], *, recent: int = 20
) -> list[Signal]:
    """Signals that fired on the last `recent` bars, newest first."""
    close = columns["close"]
    values: dict[str, np.ndarray] = {"close": close}
    values["sma_50"] = talib.SMA(close, timeperiod=50)
    values["sma_200"] = talib.SMA(close, timeperiod=200)
    macd, signal, _ = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    values["macd_12_26_9"], values["macd_signal_12_26_9"] = macd, signal
    values["rsi_14"] = talib.RSI(close, timeperiod=14)
    upper, _, lower = talib.BBANDS(close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    values["bbands_upper_20_2"], values["bbands_lower_20_2"] = upper, lower
    start = max(0, len(close) - recent)
    found: list[Signal] = []
    for name, text, description in SIGNALS:
        fired = parse_expression(text).evaluate(values)
        for index in np.nonzero(fired[start:])[0]:
            found.append(Signal(dates[start + index].astype(dt.date), name, description))
    return sorted(found, key=lambda s: (s.date, s.name), reverse=True)
