"""Bars as columns: how a big import is validated and stored without a Python object a bar.

`validate_columns` applies exactly the rules of `validate.validate_bars` (DESIGN.md,
Prices) to whole columns at once with numpy; only the rows it rejects are looked at one
by one, to word their reasons. The caller hands over dates that are strictly increasing
(checked by `increasing`), so duplicates cannot occur here.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stock_cli import clock
from stock_cli.market.providers.base import RawBar
from stock_cli.market.validate import EARLIEST, MAX_PRICE, MAX_VOLUME, Rejection, problem


@dataclass
class BarColumns:
    """Valid bars of one symbol, one per date, oldest first.

    Dates are kept as YYYY-MM-DD text: what SQLite stores and numpy parses, and cheap to
    send between processes (a date object costs ten times as much to pickle).
    """

    days: list[str]
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]
    adj_close: list[float | None]

    def __len__(self) -> int:
        return len(self.days)

    @property
    def first(self) -> dt.date | None:
        return dt.date.fromisoformat(self.days[0]) if self.days else None

    @property
    def last(self) -> dt.date | None:
        return dt.date.fromisoformat(self.days[-1]) if self.days else None

    def dates(self) -> list[dt.date]:
        return list(map(dt.date.fromisoformat, self.days))

    @classmethod
    def from_bars(cls, bars: Sequence[RawBar]) -> BarColumns:
        return cls(
            days=[b.date.isoformat() for b in bars],
            open=[b.open for b in bars],
            high=[b.high for b in bars],
            low=[b.low for b in bars],
            close=[b.close for b in bars],
            volume=[b.volume for b in bars],
            adj_close=[b.adj_close for b in bars],
        )


@dataclass
class ValidatedColumns:
    columns: BarColumns
    rejected: list[Rejection]
    warnings: list[Rejection]


def increasing(dates: list[dt.date]) -> bool:
    """Strictly increasing: sorted and without a repeated date."""
    return all(map(dt.date.__lt__, dates, itertools.islice(dates, 1, None)))


def in_range(dates: list[dt.date], *, today: dt.date | None = None) -> bool:
    latest = (today or clock.today()) + dt.timedelta(days=2)
    return not dates or (dates[0] >= EARLIEST and dates[-1] <= latest)


Numbers = Sequence[float] | np.ndarray[Any, np.dtype[np.float64]]


def validate_columns(
    days: list[str],
    prices: tuple[Numbers, Numbers, Numbers, Numbers],
    volume: Numbers,
    adj_close: Numbers,
    *,
    lines: Sequence[int] | None = None,
) -> ValidatedColumns:
    """Keep the rows whose prices and volume are valid (NaN stands for a missing number).

    `days` (YYYY-MM-DD) must be strictly increasing and in range (`increasing`,
    `in_range`); `lines` are the rows' line numbers in their file, for the reasons.
    """
    o, h, low, c = (np.asarray(p, dtype=np.float64) for p in prices)
    v = np.asarray(volume, dtype=np.float64)
    a = np.asarray(adj_close, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = (o > 0) & (o < MAX_PRICE) & (h > 0) & (h < MAX_PRICE)
        ok &= (low > 0) & (low < MAX_PRICE) & (c > 0) & (c < MAX_PRICE)
        ok &= (low <= o) & (o <= h) & (low <= c) & (c <= h)
        ok &= (v >= 0) & (v < MAX_VOLUME)  # NaN and ±inf fail every comparison above
        adj_ok = (a > 0) & (a < MAX_PRICE)
    rejected = [_rejection(int(i), days, prices, volume, lines) for i in np.flatnonzero(~ok)]
    warn = ok & ~adj_ok & ~np.isnan(a)
    warnings = [
        Rejection(_day(days[i]), f"invalid adjusted close {float(a[i])!r}: stored without it")
        for i in np.flatnonzero(warn)
    ]
    adj = [x if good else None for x, good in zip(a.tolist(), adj_ok.tolist(), strict=True)]
    if rejected:
        keep = ok.tolist()
        return ValidatedColumns(
            BarColumns(
                days=list(itertools.compress(days, keep)),
                open=o[ok].tolist(),
                high=h[ok].tolist(),
                low=low[ok].tolist(),
                close=c[ok].tolist(),
                volume=v[ok].tolist(),
                adj_close=list(itertools.compress(adj, keep)),
            ),
            rejected,
            warnings,
        )
    o_, h_, l_, c_, v_ = (_listed(x) for x in (*prices, volume))
    return ValidatedColumns(BarColumns(days, o_, h_, l_, c_, v_, adj), rejected, warnings)


def _rejection(
    i: int,
    days: list[str],
    prices: tuple[Numbers, ...],
    volume: Numbers,
    lines: Sequence[int] | None,
) -> Rejection:
    o, h, low, c = (float(p[i]) for p in prices)
    bar = RawBar(_day(days[i]), o, h, low, c, float(volume[i]))
    reason = problem(bar, dt.date.max) or "invalid bar"
    return Rejection(bar.date, f"line {lines[i]}: {reason}" if lines else reason)


def _listed(values: Numbers) -> list[float]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
