"""`stock portfolio ls`: the positions of a portfolio valued on a day, in its base currency."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlmodel import Session, col

from stock_cli import clock
from stock_cli.db.models import CorporateAction, Instrument, PriceBar
from stock_cli.db.portfolio_models import PortfolioTransaction
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.portfolio.lots import METHODS, Method, Position, Split, Trade, build_position
from stock_cli.portfolio.service import DIVIDEND_WINDOW, _portfolio, major_unit


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
    owner = _portfolio(session, portfolio)
    day = as_of or clock.today()
    rows = transactions(session, portfolio_id=owner.id, until=day)  # type: ignore[arg-type]
    by_instrument: dict[int, list[PortfolioTransaction]] = defaultdict(list)
    instruments: dict[int, Instrument] = {}
    for row, instrument in rows:
        if instrument is not None and instrument.id is not None:
            by_instrument[instrument.id].append(row)
            instruments[instrument.id] = instrument
    base = _base_currency(owner.base_currency or base_currency, instruments.values())
    fx = Rates(session, base)
    notes: list[str] = []
    valued: list[PositionValue] = []
    for instrument_id, txs in by_instrument.items():
        found = _position(session, instruments[instrument_id], txs, method, day, fx, notes)
        if found is not None:
            valued.append(found)
    invested = sum(v.market_value or 0.0 for v in valued)
    positions = [
        replace(v, weight=v.market_value / invested if invested and v.market_value else None)
        for v in sorted(valued, key=lambda p: p.symbol)
    ]
    cash = _cash(rows, fx, base)
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


def transactions(
    session: Session, *, portfolio_id: int, until: dt.date
) -> list[tuple[PortfolioTransaction, Instrument | None]]:
    """A portfolio's transactions up to a day, oldest first, with their instruments."""
    rows = session.execute(
        sa.select(PortfolioTransaction, Instrument)
        .outerjoin(Instrument, col(Instrument.id) == col(PortfolioTransaction.instrument_id))
        .where(col(PortfolioTransaction.portfolio_id) == portfolio_id)
        .where(col(PortfolioTransaction.date) <= until)
        .order_by(col(PortfolioTransaction.date), col(PortfolioTransaction.id))
    ).all()
    return [(t, i) for t, i in rows]


def _actions(
    session: Session, instrument: Instrument, kind: str, day: dt.date
) -> list[tuple[dt.date, float]]:
    """The stored corporate actions of a kind (split, dividend) up to a day."""
    rows = session.execute(
        sa.select(col(CorporateAction.date), col(CorporateAction.value)).where(
            col(CorporateAction.instrument_id) == instrument.id,
            col(CorporateAction.kind) == kind,
            col(CorporateAction.date) <= day,
        )
    ).all()
    return [(d, float(v)) for d, v in rows]


def _base_currency(chosen: str | None, instruments: object) -> str | None:
    if chosen:
        return chosen.upper()
    currencies = {major_unit(i.currency)[0] for i in instruments}  # type: ignore[attr-defined]
    currencies.discard(None)
    if len(currencies) > 1:
        raise UsageError(
            f"the holdings are in {', '.join(sorted(currencies))}: set STOCK_BASE_CURRENCY "  # type: ignore[arg-type]
            "(or the portfolio's base currency) to value them together"
        )
    return next(iter(currencies), None)


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
            rows = self.session.execute(
                sa.select(col(PriceBar.date), col(PriceBar.close))
                .join(Instrument, col(Instrument.id) == col(PriceBar.instrument_id))
                .where(col(Instrument.symbol) == pair, ~col(PriceBar.provisional))
                .order_by(col(PriceBar.date))
            ).all()
            self.series[pair] = ([r[0] for r in rows], [float(r[1]) for r in rows])
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
    trades = _trades(txs, divisor)
    if not trades:
        return None
    splits = _splits(session, instrument, txs, day)
    rate = (lambda d: fx.rate(currency, d)) if currency else None
    position = build_position(trades, splits, method=method, rate=rate)
    last = session.execute(
        sa.select(col(PriceBar.date), col(PriceBar.close))
        .where(col(PriceBar.instrument_id) == instrument.id, ~col(PriceBar.provisional))
        .where(col(PriceBar.date) <= day)
        .order_by(col(PriceBar.date).desc())
        .limit(1)
    ).first()
    last_date, last_price = (last[0], float(last[1]) / divisor) if last else (None, None)
    if last is None and position.quantity:
        notes.append(f"{instrument.symbol}: no stored price; run stock fetch {instrument.symbol}")
    value = (
        position.quantity * last_price * fx.rate(currency, day) if last_price is not None else None
    )
    cost = position.base_cost_basis
    dividends = _dividends(
        session, instrument, txs, trades, splits, method, day, fx, currency, divisor
    )
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


def replay_trades(session: Session, *, portfolio_id: int, instrument_id: int) -> Position:
    """The position of one instrument after all its recorded trades (raises on an oversell)."""
    instrument = session.get(Instrument, instrument_id)
    assert instrument is not None
    txs = list(
        session.execute(
            sa.select(PortfolioTransaction)
            .where(col(PortfolioTransaction.portfolio_id) == portfolio_id)
            .where(col(PortfolioTransaction.instrument_id) == instrument_id)
        ).scalars()
    )
    _, divisor = major_unit(instrument.currency)
    trades = _trades(txs, divisor)
    last = max((t.date for t in txs), default=clock.today())
    return build_position(trades, _splits(session, instrument, txs, last))


def _trades(txs: list[PortfolioTransaction], divisor: float) -> list[Trade]:
    """The buys and sells, their prices in the major unit."""
    return [
        Trade(t.date, t.kind, t.quantity or 0.0, (t.price or 0.0) / divisor, t.fee)  # type: ignore[arg-type]
        for t in txs
        if t.kind in ("buy", "sell")
    ]


def _splits(
    session: Session, instrument: Instrument, txs: list[PortfolioTransaction], day: dt.date
) -> list[Split]:
    """The stored splits, each replaced by the user's correction of the same day."""
    by_day = dict(_actions(session, instrument, "split", day))
    by_day.update({t.date: float(t.quantity or 1.0) for t in txs if t.kind == "split"})
    return [Split(d, r) for d, r in sorted(by_day.items()) if r != 1.0]


def _dividends(
    session: Session,
    instrument: Instrument,
    txs: list[PortfolioTransaction],
    trades: list[Trade],
    splits: list[Split],
    method: Method,
    day: dt.date,
    fx: Rates,
    currency: str | None,
    divisor: float,
) -> float:
    """Stored dividends × the quantity held before each ex-date, in the base currency at
    the ex-date's rate; a recorded dividend replaces the stored one it follows."""
    recorded = sorted(t.date for t in txs if t.kind == "dividend")
    total = sum((t.amount or 0.0) * fx.rate(currency, t.date) for t in txs if t.kind == "dividend")
    for ex_date, per_share in _actions(session, instrument, "dividend", day):
        window = ex_date + dt.timedelta(days=DIVIDEND_WINDOW)
        if any(ex_date <= paid <= window for paid in recorded):
            continue  # the user recorded this one: never both
        held = _held_before(trades, splits, method, ex_date)
        if held > 0:
            total += held * float(per_share) / divisor * fx.rate(currency, ex_date)
    return total


def _held_before(trades: list[Trade], splits: list[Split], method: Method, day: dt.date) -> float:
    """Shares held at the close before `day` (a purchase on the ex-date gets no dividend),
    counted in the shares of `day` (a split on the ex-date applies)."""
    position: Position = build_position(
        [t for t in trades if t.day < day], [s for s in splits if s.day <= day], method=method
    )
    return position.quantity


def _cash(
    rows: list[tuple[PortfolioTransaction, Instrument | None]], fx: Rates, base: str | None
) -> float | None:
    """Deposits less withdrawals, trades and plus dividends, in the base currency; None when
    no deposit or withdrawal is recorded (the trades' cash then lives elsewhere)."""
    if not any(t.kind in ("deposit", "withdraw") for t, _ in rows):
        return None
    cash = 0.0
    for t, instrument in rows:
        currency, divisor = major_unit(instrument.currency if instrument else (t.currency or base))
        rate = fx.rate(currency, t.date)
        if t.kind == "deposit":
            cash += (t.amount or 0.0) * rate
        elif t.kind == "withdraw":
            cash -= (t.amount or 0.0) * rate
        elif t.kind == "buy":
            cash -= ((t.quantity or 0.0) * (t.price or 0.0) / divisor + t.fee) * rate
        elif t.kind == "sell":
            cash += ((t.quantity or 0.0) * (t.price or 0.0) / divisor - t.fee) * rate
        elif t.kind == "dividend":
            cash += (t.amount or 0.0) * rate
    return cash
