"""`stock portfolio perf`: the daily value of a portfolio from its stored bars, its
time-weighted and money-weighted returns, per position and in total, and its drawdown.

Cash flows: when the portfolio records deposits and withdrawals, those are its external
flows and its value includes its cash; otherwise the money of each trade is the flow
(a purchase puts money in, a sale or a dividend takes it out). The time-weighted return
takes each day's flow at its close (`returns.day_growth`); the drawdown is that of the
time-weighted index, so a deposit is not a gain nor a withdrawal a loss.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session

from stock_cli import clock
from stock_cli.db.models import Instrument
from stock_cli.db.portfolio_models import PortfolioTransaction
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.portfolio.lots import Split, Trade, quantities_on
from stock_cli.portfolio.records import (
    base_currency_of,
    by_instrument,
    final_closes,
    get_portfolio,
    major_unit,
    splits_of,
    tracks_cash,
    trades_of,
    transactions,
)
from stock_cli.portfolio.returns import day_growth, max_drawdown, xirr
from stock_cli.portfolio.valuation import Rates, cash_delta


@dataclass(frozen=True)
class DailyValue:
    date: dt.date
    value: float
    flow: float  # money put in (+) or taken out (-) that day, base currency
    index: float  # the time-weighted growth of 1 since the first day


@dataclass(frozen=True)
class PositionPerformance:
    symbol: str
    time_weighted_return: float | None
    money_weighted_return: float | None
    end_value: float


@dataclass(frozen=True)
class Performance:
    portfolio: str
    base_currency: str | None
    since: dt.date
    until: dt.date
    start_value: float
    end_value: float
    time_weighted_return: float | None
    money_weighted_return: float | None
    max_drawdown: float
    positions: list[PositionPerformance]
    series: list[DailyValue] = field(repr=False)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Holding:
    symbol: str
    currency: str | None
    closes: list[tuple[dt.date, float]]  # its final closes, major units
    trades: list[Trade]
    splits: list[Split]
    flows: list[tuple[dt.date, float]]  # its money: purchases in (+), sales, dividends out

    def values(self, days: list[dt.date], fx: Rates) -> dict[dt.date, float]:
        """Its value at each day's close (quantity after that day's trades and splits ×
        the last close so far), in one pass over the days and its closes."""
        values, close = {}, None
        closes = iter(self.closes)
        bar = next(closes, None)
        for day, quantity in zip(days, quantities_on(self.trades, self.splits, days), strict=True):
            while bar is not None and bar[0] <= day:
                close, bar = bar[1], next(closes, None)
            rate = fx.rate(self.currency, day) if quantity and close is not None else 0.0
            values[day] = quantity * (close or 0.0) * rate
        return values


def portfolio_performance(
    session: Session,
    *,
    portfolio: str,
    since: dt.date | None = None,
    as_of: dt.date | None = None,
    base_currency: str | None = None,
) -> Performance:
    owner = get_portfolio(session, portfolio)
    until = as_of or clock.today()
    rows = transactions(session, portfolio_id=owner.id, until=until)  # type: ignore[arg-type]
    if not rows:
        raise NotFoundError(f"portfolio {portfolio} has no transactions up to {until}")
    grouped = by_instrument(rows)
    fx = Rates(session, base_currency_of(owner, base_currency, [i for i, _ in grouped]))
    holdings = [h for i, txs in grouped if (h := _holding(session, i, txs, fx, until))]
    first = min(t.date for t, _ in rows)
    start = max(since or first, first)
    days = sorted({d for h in holdings for d, _ in h.closes if start <= d})
    if not days:
        raise UsageError(f"no stored bars of the holdings between {start} and {until}")
    # From the first trade nothing is carried in; from a later --since, what was held then
    carried = start > first
    held = {h.symbol: h.values(days, fx) for h in holdings}
    values = {d: sum(v[d] for v in held.values()) for d in days}
    if tracks_cash(rows):  # the cash is part of the value; deposits and withdrawals the flows
        cash, external = 0.0, []
        deltas = iter((t.date, cash_delta(t, i, fx), t.kind) for t, i in rows)
        delta = next(deltas, None)
        for d in days:
            while delta is not None and delta[0] <= d:
                cash += delta[1]
                if delta[2] in ("deposit", "withdraw"):
                    external.append((delta[0], delta[1]))
                delta = next(deltas, None)
            values[d] += cash
        flows = _on_days(days, external)
    else:
        flows = _on_days(days, [f for h in holdings for f in h.flows])
    series = _series(days, values, flows, carried=carried)
    return Performance(
        portfolio=owner.name,
        base_currency=fx.base,
        since=days[0],
        until=days[-1],
        start_value=values[days[0]],
        end_value=values[days[-1]],
        time_weighted_return=series[-1].index - 1,
        money_weighted_return=_xirr(days, values, flows, carried=carried),
        max_drawdown=max_drawdown([d.index for d in series]),
        positions=sorted(
            (_position_performance(h, days, held[h.symbol], carried=carried) for h in holdings),
            key=lambda p: p.symbol,
        ),
        series=series,
        notes=fx.notes,
    )


def _holding(
    session: Session,
    instrument: Instrument,
    txs: list[PortfolioTransaction],
    fx: Rates,
    until: dt.date,
) -> _Holding | None:
    currency, divisor = major_unit(instrument.currency)
    trades = trades_of(txs, instrument.currency)
    if not trades:
        return None
    closes = final_closes(session, instrument.id, until=until)  # type: ignore[arg-type]
    return _Holding(
        instrument.symbol,
        currency,
        [(d, c / divisor) for d, c in closes],
        trades,
        splits_of(session, instrument, txs, until),
        # what the position's money does is the opposite of what the cash does
        [
            (t.date, -cash_delta(t, instrument, fx))
            for t in txs
            if t.kind in ("buy", "sell", "dividend")
        ],
    )


def _on_days(days: list[dt.date], flows: list[tuple[dt.date, float]]) -> dict[dt.date, float]:
    """Flows on the trading days: one of a closed day counts on the next; one before the
    first day is part of what was carried in, not a flow of the period."""
    on: dict[dt.date, float] = defaultdict(float)
    for day, money in flows:
        if day >= days[0]:
            where = bisect.bisect_left(days, day)
            on[days[min(where, len(days) - 1)]] += money
    return dict(on)


def _series(
    days: list[dt.date],
    values: dict[dt.date, float],
    flows: dict[dt.date, float],
    *,
    carried: bool,
) -> list[DailyValue]:
    """`carried`: the first day's value (less its flow) was held before it, and its own
    return is not known; otherwise nothing was held before the first day."""
    series: list[DailyValue] = []
    index = 1.0
    before = values[days[0]] - flows.get(days[0], 0.0) if carried else 0.0
    for d in days:
        flow = flows.get(d, 0.0)
        factor = day_growth(before, values[d], flow)
        if factor is not None:
            index *= factor
        series.append(DailyValue(d, values[d], flow, index))
        before = values[d]
    return series


def _xirr(
    days: list[dt.date],
    values: dict[dt.date, float],
    flows: dict[dt.date, float],
    *,
    carried: bool,
) -> float | None:
    """Money put in negative, the value at the end positive; what was carried into the
    first day counts as put in on that day."""
    first_flow = flows.get(days[0], 0.0)
    held = values[days[0]] - first_flow if carried else 0.0
    cash = [(days[0], -held - first_flow)]
    cash += [(d, -flows[d]) for d in days[1:] if flows.get(d)]
    cash.append((days[-1], values[days[-1]]))
    try:
        return xirr(cash)
    except UsageError:
        return None


def _position_performance(
    holding: _Holding, days: list[dt.date], values: dict[dt.date, float], *, carried: bool
) -> PositionPerformance:
    flows = _on_days(days, [(d, m) for d, m in holding.flows if d <= days[-1]])
    own = [d for d in days if values[d] or flows.get(d)]
    if not own:
        return PositionPerformance(holding.symbol, None, None, 0.0)
    carried = carried and own[0] == days[0]
    series = _series(own, values, flows, carried=carried)
    return PositionPerformance(
        holding.symbol,
        series[-1].index - 1,
        _xirr(own, values, flows, carried=carried),
        values[days[-1]],
    )
