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

import sqlalchemy as sa
from sqlmodel import Session, col

from stock_cli import clock
from stock_cli.db.models import Instrument, PriceBar
from stock_cli.db.portfolio_models import PortfolioTransaction
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.portfolio.returns import day_growth, max_drawdown, xirr
from stock_cli.portfolio.service import _portfolio, major_unit
from stock_cli.portfolio.valuation import Rates, _base_currency, _splits, _trades, transactions


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
    days: list[dt.date]  # its final bars' dates
    closes: list[float]  # in major units
    events: list[tuple[dt.date, int, float]]  # (day, 0 split ratio | 1 share change)
    flows: dict[dt.date, float]  # its trades' money (+ in), base currency

    def quantity_on(self, day: dt.date) -> float:
        quantity = 0.0
        for when, kind, value in self.events:
            if when > day:
                break
            quantity = quantity * value if kind == 0 else quantity + value
        return quantity

    def close_on(self, day: dt.date) -> float | None:
        where = bisect.bisect_right(self.days, day) - 1
        return self.closes[where] if where >= 0 else None


def portfolio_performance(
    session: Session,
    *,
    portfolio: str,
    since: dt.date | None = None,
    as_of: dt.date | None = None,
    base_currency: str | None = None,
) -> Performance:
    owner = _portfolio(session, portfolio)
    until = as_of or clock.today()
    rows = transactions(session, portfolio_id=owner.id, until=until)  # type: ignore[arg-type]
    if not rows:
        raise NotFoundError(f"portfolio {portfolio} has no transactions up to {until}")
    instruments = {i.id: i for _, i in rows if i is not None}
    base = _base_currency(owner.base_currency or base_currency, instruments.values())
    fx = Rates(session, base)
    holdings = _holdings(session, rows, fx, until)
    tracks_cash = any(t.kind in ("deposit", "withdraw") for t, _ in rows)
    first = min(t.date for t, _ in rows)
    days = sorted({d for h in holdings for d in h.days if first <= d <= until})
    start = max(since or first, first)
    days = [d for d in days if d >= start]
    if not days:
        raise UsageError(f"no stored bars of the holdings between {start} and {until}")
    values, flows = _totals(holdings, rows, fx, days, tracks_cash)
    # From the first trade nothing is carried in; from a later --since, what was held then
    carried = start > first
    series = _series(days, values, flows, carried=carried)
    positions = [_position_performance(h, days, fx, carried=carried) for h in holdings]
    return Performance(
        portfolio=owner.name,
        base_currency=base,
        since=days[0],
        until=days[-1],
        start_value=values[days[0]],
        end_value=values[days[-1]],
        time_weighted_return=series[-1].index - 1 if series else None,
        money_weighted_return=_xirr(days, values, flows, carried=carried),
        max_drawdown=max_drawdown([d.index for d in series]),
        positions=sorted(positions, key=lambda p: p.symbol),
        series=series,
        notes=fx.notes,
    )


def _holdings(
    session: Session,
    rows: list[tuple[PortfolioTransaction, Instrument | None]],
    fx: Rates,
    until: dt.date,
) -> list[_Holding]:
    by_instrument: dict[int, list[PortfolioTransaction]] = defaultdict(list)
    instruments: dict[int, Instrument] = {}
    for t, instrument in rows:
        if instrument is not None and instrument.id is not None:
            by_instrument[instrument.id].append(t)
            instruments[instrument.id] = instrument
    holdings = []
    for instrument_id, txs in by_instrument.items():
        instrument = instruments[instrument_id]
        currency, divisor = major_unit(instrument.currency)
        trades = _trades(txs, divisor)
        if not trades:
            continue
        bars = session.execute(
            sa.select(col(PriceBar.date), col(PriceBar.close))
            .where(col(PriceBar.instrument_id) == instrument_id, ~col(PriceBar.provisional))
            .where(col(PriceBar.date) <= until)
            .order_by(col(PriceBar.date))
        ).all()
        events = [(s.day, 0, s.ratio) for s in _splits(session, instrument, txs, until)]
        events += [(t.day, 1, t.quantity if t.side == "buy" else -t.quantity) for t in trades]
        flows: dict[dt.date, float] = defaultdict(float)
        for trade in trades:
            money = (
                trade.quantity * trade.price + trade.fee
                if trade.side == "buy"
                else -(trade.quantity * trade.price - trade.fee)
            )
            flows[trade.day] += money * fx.rate(currency, trade.day)
        for t in txs:
            if t.kind == "dividend":
                flows[t.date] -= (t.amount or 0.0) * fx.rate(currency, t.date)
        holdings.append(
            _Holding(
                instrument.symbol,
                currency,
                [b[0] for b in bars],
                [float(b[1]) / divisor for b in bars],
                sorted(events, key=lambda e: (e[0], e[1])),
                dict(flows),
            )
        )
    return holdings


def _totals(
    holdings: list[_Holding],
    rows: list[tuple[PortfolioTransaction, Instrument | None]],
    fx: Rates,
    days: list[dt.date],
    tracks_cash: bool,
) -> tuple[dict[dt.date, float], dict[dt.date, float]]:
    """Each day's value and external flow (a flow on a non-trading day counts on the next)."""
    values = {d: sum(_value(h, d, fx) for h in holdings) for d in days}
    flows: dict[dt.date, float] = defaultdict(float)
    if tracks_cash:
        from stock_cli.portfolio.valuation import _cash

        for d in days:
            values[d] += _cash([(t, i) for t, i in rows if t.date <= d], fx, fx.base) or 0.0
        for t, _ in rows:
            if t.kind in ("deposit", "withdraw"):
                sign = 1.0 if t.kind == "deposit" else -1.0
                flows[_on_or_after(days, t.date)] += (
                    sign * (t.amount or 0.0) * fx.rate(fx.base, t.date)
                )
    else:
        for h in holdings:
            for day, money in h.flows.items():
                flows[_on_or_after(days, day)] += money
    return values, dict(flows)


def _value(holding: _Holding, day: dt.date, fx: Rates) -> float:
    close = holding.close_on(day)
    quantity = holding.quantity_on(day)
    if close is None or not quantity:
        return 0.0
    return quantity * close * fx.rate(holding.currency, day)


def _on_or_after(days: list[dt.date], day: dt.date) -> dt.date:
    where = bisect.bisect_left(days, day)
    return days[min(where, len(days) - 1)] if where < len(days) else days[-1]


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
        if factor is not None and (series or not carried):
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
    holding: _Holding, days: list[dt.date], fx: Rates, *, carried: bool
) -> PositionPerformance:
    values = {d: _value(holding, d, fx) for d in days}
    flows: dict[dt.date, float] = defaultdict(float)
    for day, money in holding.flows.items():
        if day <= days[-1]:
            flows[_on_or_after(days, day)] += money
    own = [d for d in days if values[d] or flows.get(d)]
    if not own:
        return PositionPerformance(holding.symbol, None, None, 0.0)
    carried = carried and own[0] == days[0]
    series = _series(own, values, dict(flows), carried=carried)
    return PositionPerformance(
        holding.symbol,
        series[-1].index - 1,
        _xirr(own, values, dict(flows), carried=carried),
        values[days[-1]],
    )
