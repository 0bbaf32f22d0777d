"""`stock portfolio ls`: the positions of a portfolio valued on a day, in its base currency.

Quantities follow the stored splits (or the user's `split` corrections, which replace the
stored split of that day); cash dividends are the stored dividends × the quantity held
the day before the ex-date, unless the user recorded that dividend (a `dividend`
transaction within `DIVIDEND_WINDOW` days after the ex-date), never both.

Prices in minor units (GBp, ZAc, ILA) are turned into their major units first. Values
convert to the base currency at the FX close of the valuation day, costs at the FX close
of the day they were paid: the nearest earlier close when that day has none (said in the
notes), a clear error naming the pair when there is none at all.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field, replace

from sqlmodel import Session

from stock_cli import clock
from stock_cli.db.models import Instrument
from stock_cli.db.portfolio_models import Portfolio, PortfolioTransaction
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.portfolio.lots import (
    METHODS,
    Method,
    Split,
    Trade,
    build_position,
    quantities_on,
)
from stock_cli.portfolio.records import (
    base_currency_of,
    by_instrument,
    final_closes,
    get_portfolio,
    major_unit,
    money_currency,
    price_divisor,
    splits_of,
    stored_actions,
    tracks_cash,
    trades_of,
    transactions,
)

DIVIDEND_WINDOW = 60  # days after an ex-date in which a recorded dividend is that one


@dataclass(frozen=True)
class PositionValue:
    symbol: str
    currency: str | None  # the instrument's, in major units
    quantity: float
    average_cost: float | None  # per share, instrument currency
    last_price: float | None  # the last final close, major units
    last_date: dt.date | None
    cost_basis: float  # base currency, at the rates of the purchase days
    market_value: float | None  # base currency, at the rate of the valuation day
    unrealized_pnl: float | None
    unrealized_pct: float | None
    realized_pnl: float  # base currency
    dividends: float  # base currency
    weight: float | None


@dataclass(frozen=True)
class PortfolioValue:
    portfolio: str
    base_currency: str | None
    method: str
    as_of: dt.date
    positions: list[PositionValue]
    market_value: float
    cost_basis: float
    unrealized_pnl: float
    realized_pnl: float
    dividends: float
    cash: float | None  # only when deposits or withdrawals are recorded
    notes: list[str] = field(default_factory=list)


def value_portfolio(
    session: Session,
    *,
    portfolio: str,
    method: str = "fifo",
    as_of: dt.date | None = None,
    base_currency: str | None = None,
) -> PortfolioValue:
    if method not in METHODS:
        raise UsageError(f"the cost method must be one of {', '.join(METHODS)}")
    owner = get_portfolio(session, portfolio)
    day = as_of or clock.today()
    rows = transactions(session, portfolio_id=owner.id, until=day)  # type: ignore[arg-type]
    grouped = by_instrument(rows)
    base = base_currency_of(owner, base_currency, [i for i, _ in grouped])
    fx = Rates(session, base)
    notes: list[str] = []
    valued: list[PositionValue] = []
    for instrument, txs in grouped:
        found = _position(session, instrument, txs, method, day, fx, notes)
        if found is not None:
            valued.append(found)
    invested = sum(v.market_value or 0.0 for v in valued)
    positions = [
        replace(v, weight=v.market_value / invested if invested and v.market_value else None)
        for v in sorted(valued, key=lambda p: p.symbol)
    ]
    cash = sum(cash_delta(t, i, fx) for t, i in rows) if tracks_cash(rows) else None
    notes += fx.notes
    return PortfolioValue(
        portfolio=owner.name,
        base_currency=base,
        method=method,
        as_of=day,
        positions=positions,
        market_value=invested,
        cost_basis=sum(p.cost_basis for p in positions if p.quantity),
        unrealized_pnl=sum(p.unrealized_pnl or 0.0 for p in positions),
        realized_pnl=sum(p.realized_pnl for p in positions),
        dividends=sum(p.dividends for p in positions),
        cash=cash,
        notes=notes,
    )


class Rates:
    """FX closes from the stored bars of Yahoo's pairs (`EURUSD=X`): the value in `base`
    of one unit of a currency on a day, from that day's close or the nearest earlier one."""

    def __init__(self, session: Session, base: str | None) -> None:
        self.session, self.base = session, base
        self.series: dict[str, tuple[list[dt.date], list[float]]] = {}
        self.notes: list[str] = []
        self._noted: set[str] = set()

    def rate(self, currency: str | None, day: dt.date) -> float:
        if currency is None or self.base is None or currency == self.base:
            return 1.0
        pair = f"{currency}{self.base}=X"
        dates, closes = self._series(pair)
        inverse = False
        if not dates:
            dates, closes = self._series(f"{self.base}{currency}=X")
            inverse = bool(dates)
        where = bisect.bisect_right(dates, day) - 1
        if where < 0:
            raise NotFoundError(
                f"no stored {pair} rate on or before {day} to convert {currency} to {self.base}",
                hint=f"stock fetch {pair} --start {day}",
            )
        if dates[where] != day and pair not in self._noted:
            self._noted.add(pair)
            self.notes.append(f"{pair}: the nearest earlier close is used on days without one")
        return 1.0 / closes[where] if inverse else closes[where]

    def _series(self, pair: str) -> tuple[list[dt.date], list[float]]:
        if pair not in self.series:
            from stock_cli.market.instruments import get_instrument

            instrument = get_instrument(self.session, symbol=pair)
            rows = final_closes(self.session, instrument.id) if instrument and instrument.id else []
            self.series[pair] = ([d for d, _ in rows], [c for _, c in rows])
        return self.series[pair]


def _position(
    session: Session,
    instrument: Instrument,
    txs: list[PortfolioTransaction],
    method: Method,
    day: dt.date,
    fx: Rates,
    notes: list[str],
) -> PositionValue | None:
    currency, divisor = major_unit(instrument.currency)
    trades = trades_of(txs, instrument.currency)
    if not trades:
        return None
    splits = splits_of(session, instrument, txs, day)
    rate = (lambda d: fx.rate(currency, d)) if currency else None
    position = build_position(trades, splits, method=method, rate=rate)
    last = final_closes(session, instrument.id, until=day, last=1)  # type: ignore[arg-type]
    last_date, last_price = (last[0][0], last[0][1] / divisor) if last else (None, None)
    if not last and position.quantity:
        notes.append(f"{instrument.symbol}: no stored price; run stock fetch {instrument.symbol}")
    value = (
        position.quantity * last_price * fx.rate(currency, day) if last_price is not None else None
    )
    cost = position.base_cost_basis
    dividends = _dividends(session, instrument, txs, trades, splits, day, fx, currency, divisor)
    return PositionValue(
        symbol=instrument.symbol,
        currency=currency,
        quantity=position.quantity,
        average_cost=position.average_cost,
        last_price=last_price,
        last_date=last_date,
        cost_basis=cost,
        market_value=value,
        unrealized_pnl=None if value is None else value - cost,
        unrealized_pct=None if value is None or not cost else (value / cost - 1) * 100,
        realized_pnl=position.base_realized_pnl,
        dividends=dividends,
        weight=None,
    )


def _dividends(
    session: Session,
    instrument: Instrument,
    txs: list[PortfolioTransaction],
    trades: list[Trade],
    splits: list[Split],
    day: dt.date,
    fx: Rates,
    currency: str | None,
    divisor: float,
) -> float:
    """Stored dividends × the quantity held before each ex-date, in the base currency at
    the ex-date's rate; a recorded dividend replaces the stored one it follows."""
    recorded = sorted(t.date for t in txs if t.kind == "dividend")
    total = sum(
        (t.amount or 0.0) * fx.rate(money_currency(t, instrument), t.date)
        for t in txs
        if t.kind == "dividend"
    )
    stored = sorted(stored_actions(session, instrument, "dividend", day))
    held = quantities_on(trades, splits, [ex_date for ex_date, _ in stored], at_open=True)
    for (ex_date, per_share), quantity in zip(stored, held, strict=True):
        window = ex_date + dt.timedelta(days=DIVIDEND_WINDOW)
        if any(ex_date <= paid <= window for paid in recorded):
            continue  # the user recorded this one: never both
        if quantity > _HELD:
            total += quantity * float(per_share) / divisor * fx.rate(currency, ex_date)
    return total


_HELD = 1e-9  # less than this is what float arithmetic leaves of a position sold whole


def cash_delta(t: PortfolioTransaction, instrument: Instrument | None, fx: Rates) -> float:
    """What a transaction does to the portfolio's cash, in the base currency at the rate of
    its day: deposits, sales and dividends add, withdrawals and purchases take."""
    currency = money_currency(t, instrument) or fx.base
    quoted = instrument.currency if instrument else None
    trade = (t.quantity or 0.0) * (t.price or 0.0) / price_divisor(t.currency, quoted)
    change = {
        "deposit": t.amount or 0.0,
        "withdraw": -(t.amount or 0.0),
        "dividend": t.amount or 0.0,
        "buy": -(trade + t.fee),
        "sell": trade - t.fee,
    }.get(t.kind, 0.0)
    return change * fx.rate(currency, t.date) if change else 0.0


@dataclass(frozen=True)
class PortfolioSummary:
    """One line of a portfolio for the report: its totals, or why they cannot be had."""

    portfolio: str
    base_currency: str | None = None
    as_of: dt.date | None = None
    positions: int = 0
    market_value: float | None = None
    cost_basis: float | None = None
    unrealized_pnl: float | None = None
    realized_pnl: float | None = None
    dividends: float | None = None
    cash: float | None = None
    error: str | None = None


def summarize_portfolios(
    session: Session, *, as_of: dt.date | None = None
) -> list[PortfolioSummary]:
    """Every portfolio's totals on a day; one that cannot be valued (a missing FX rate)
    says why and does not keep the others from the report."""
    from sqlmodel import select

    summaries = []
    for name in session.exec(select(Portfolio.name).order_by(Portfolio.name)).all():
        try:
            value = value_portfolio(session, portfolio=name, as_of=as_of)
        except (NotFoundError, UsageError) as exc:
            summaries.append(PortfolioSummary(name, error=exc.message))
            continue
        summaries.append(
            PortfolioSummary(
                name,
                value.base_currency,
                value.as_of,
                sum(1 for p in value.positions if p.quantity),
                value.market_value,
                value.cost_basis,
                value.unrealized_pnl,
                value.realized_pnl,
                value.dividends,
                value.cash,
            )
        )
    return summaries
