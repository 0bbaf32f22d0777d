"""Bar validation before storage (DESIGN.md, Prices).

A bar is stored only when its prices are finite and positive, low ≤ open/close ≤ high
and volume is finite and ≥ 0. A bad adjusted close alone (missing, ≤ 0, not finite)
does not reject the bar: it is stored without one and counted as a warning.
Duplicate dates keep the last occurrence; the earlier ones are rejected.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

from stock_cli import clock
from stock_cli.market.providers.base import RawBar

MAX_PRICE = 1e12
MAX_VOLUME = 1e16
EARLIEST = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class Rejection:
    date: dt.date | None
    reason: str


@dataclass
class ValidatedBars:
    bars: list[RawBar]  # sorted by date, one per date
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)


def validate_bars(bars: list[RawBar], *, today: dt.date | None = None) -> ValidatedBars:
    latest = (today or clock.today()) + dt.timedelta(days=2)
    by_date: dict[dt.date, RawBar] = {}
    rejected: list[Rejection] = []
    warnings: list[Rejection] = []
    for bar in bars:
        reason = problem(bar, latest)
        if reason:
            rejected.append(Rejection(bar.date, reason))
            continue
        adj = bar.adj_close
        if adj is not None and not (math.isfinite(adj) and 0 < adj < MAX_PRICE):
            warnings.append(
                Rejection(bar.date, f"invalid adjusted close {adj!r}: stored without it")
            )
            bar = replace(bar, adj_close=None)
        if bar.date in by_date:
            rejected.append(Rejection(bar.date, "duplicate date (the later row is kept)"))
        by_date[bar.date] = bar
    return ValidatedBars(
        bars=[by_date[d] for d in sorted(by_date)], rejected=rejected, warnings=warnings
    )


def problem(bar: RawBar, latest: dt.date) -> str | None:
    """Why `bar` cannot be stored, or None when it can."""
    if not isinstance(bar.date, dt.date) or not EARLIEST <= bar.date <= latest:
        return f"date {bar.date} out of range"
    prices = (bar.open, bar.high, bar.low, bar.close)
    if not all(isinstance(p, float | int) and math.isfinite(p) for p in prices):
        return "price is missing or not a finite number"
    if not all(0 < p < MAX_PRICE for p in prices):
        return "price is not positive"
    if not (bar.low <= bar.open <= bar.high and bar.low <= bar.close <= bar.high):
        return f"inconsistent OHLC (o={bar.open} h={bar.high} l={bar.low} c={bar.close})"
    if not (isinstance(bar.volume, float | int) and math.isfinite(bar.volume)):
        return "volume is missing or not a finite number"
    if not 0 <= bar.volume < MAX_VOLUME:
        return "volume is negative"
    return None
