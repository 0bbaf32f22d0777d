"""Returns of a portfolio or a position: money-weighted (XIRR), time-weighted (cash
flows neutralised) and the maximum drawdown of its value."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence

from stock_cli.errors import UsageError

YEAR_DAYS = 365.0  # the spreadsheet XIRR convention: actual days over 365


def xirr(flows: Sequence[tuple[dt.date, float]], *, tolerance: float = 1e-10) -> float:
    """The annual rate r at which the flows' present value is 0: sum(cf / (1+r)^(d/365)).

    Amounts are from the investor's side: money put in is negative, money taken out (and
    the value at the end) positive. Newton's method from 10 %, and bisection when it
    leaves the bracket, so any flows with one sign change converge.
    """
    if not any(cf < 0 for _, cf in flows) or not any(cf > 0 for _, cf in flows):
        raise UsageError("XIRR needs money both put in (negative) and taken out (positive)")
    start = min(day for day, _ in flows)
    years = [((day - start).days / YEAR_DAYS, cf) for day, cf in flows]

    def value(rate: float) -> float:
        return float(sum(cf / (1 + rate) ** t for t, cf in years))

    def slope(rate: float) -> float:
        return float(sum(-t * cf / (1 + rate) ** (t + 1) for t, cf in years))

    low, high = -0.999999, 1.0
    while value(low) * value(high) > 0 and high < 1e12:  # short spans annualise steeply
        high *= 2
    if value(low) * value(high) > 0:
        raise UsageError("XIRR has no solution for these flows")
    rate = 0.1
    for _ in range(200):
        f = value(rate)
        if abs(f) < tolerance:
            return rate
        if value(low) * f < 0:
            high = rate
        else:
            low = rate
        d = slope(rate)
        step = rate - f / d if d else math.nan
        rate = step if low < step < high else (low + high) / 2
        if high - low < tolerance:
            return rate
    return rate


def day_growth(before: float, after: float, flow: float) -> float | None:
    """One day's growth factor with the day's external flow taken at its close (trades
    are priced about there): (V_t - F_t) / V_{t-1}. From nothing held, a first purchase
    grows by its close against its cost: V_t / F_t. None when there is nothing to link."""
    if before > 0:
        return (after - flow) / before
    if flow > 0:
        return after / flow
    return None


def time_weighted_return(
    values: Sequence[tuple[dt.date, float]], flows: Mapping[dt.date, float] | None = None
) -> float:
    """The product of each day's growth (`day_growth`): deposits (positive) and withdrawals
    (negative) neither add to nor take from the return.

    `values` are the portfolio's values at each day's close, the flows of a day included.
    """
    flows = flows or {}
    growth = 1.0
    for (_, before), (day, after) in itertools.pairwise(sorted(values)):
        factor = day_growth(before, after, flows.get(day, 0.0))
        if factor is not None:
            growth *= factor
    return growth - 1


def max_drawdown(values: Sequence[float]) -> float:
    """The largest fall from a running peak, as a negative fraction (-0.25 for 25 %)."""
    peak, worst = -math.inf, 0.0
    for value in values:
        peak = max(peak, value)
        if peak > 0:
            worst = min(worst, value / peak - 1)
    return worst
