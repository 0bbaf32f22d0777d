"""Portfolio services: record and list transactions, value the positions.

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

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stock_cli.db.models import Instrument
from stock_cli.db.portfolio_models import Portfolio, PortfolioTransaction
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.names import check_name

DEFAULT_PORTFOLIO = "default"
KINDS = ("buy", "sell", "dividend", "deposit", "withdraw", "split")
# minor currency units as providers quote them → (major unit, minor units per major)
MINOR_UNITS = {
    "GBp": ("GBP", 100.0),
    "GBX": ("GBP", 100.0),
    "ZAc": ("ZAR", 100.0),
    "ZAC": ("ZAR", 100.0),
    "ILA": ("ILS", 100.0),
}
DIVIDEND_WINDOW = 60


def major_unit(currency: str | None) -> tuple[str | None, float]:
    """(the major currency, the divisor that turns a quoted price into it)."""
    if currency in MINOR_UNITS:
        return MINOR_UNITS[currency]
    return (currency.upper() if currency else None), 1.0


@dataclass(frozen=True)
class TransactionView:
    id: int
    portfolio: str
    date: dt.date
    kind: str
    symbol: str | None
    quantity: float | None
    price: float | None
    amount: float | None
    fee: float
    currency: str | None


def record_transaction(
    session: Session,
    *,
    portfolio: str,
    kind: str,
    day: dt.date,
    symbol: str | None = None,
    quantity: float | None = None,
    price: float | None = None,
    amount: float | None = None,
    fee: float = 0.0,
    currency: str | None = None,
) -> TransactionView:
    """One transaction, checked; the portfolio is created on its first one."""
    _check_transaction(kind, symbol, quantity, price, amount, fee)
    owner = _portfolio(session, portfolio, create=True)
    instrument_id = None
    if symbol is not None:
        from stock_cli.market.instruments import get_or_create_instrument

        instrument_id = get_or_create_instrument(session, symbol=symbol).id
    row = PortfolioTransaction(
        portfolio_id=owner.id,  # type: ignore[arg-type]
        instrument_id=instrument_id,
        kind=kind,
        date=day,
        quantity=quantity,
        price=price,
        amount=amount,
        fee=fee,
        currency=currency.upper() if currency else None,
    )
    session.add(row)
    session.flush()
    if kind in ("sell", "split"):
        _check_holdings(session, owner, instrument_id)  # a sell beyond the shares held
    return _view(row, owner.name, symbol)


def _check_holdings(session: Session, owner: Portfolio, instrument_id: int | None) -> None:
    """Replays the instrument's trades with its splits: refuses (by raising, so the session
    rolls back) a history in which a sale exceeds the shares then held."""
    from stock_cli.portfolio.valuation import replay_trades

    replay_trades(session, portfolio_id=owner.id, instrument_id=instrument_id)  # type: ignore[arg-type]


def _check_transaction(
    kind: str,
    symbol: str | None,
    quantity: float | None,
    price: float | None,
    amount: float | None,
    fee: float,
) -> None:
    if kind not in KINDS:
        raise UsageError(f"the kind must be one of {', '.join(KINDS)}")
    needs_symbol = kind in ("buy", "sell", "dividend", "split")
    if needs_symbol != (symbol is not None):
        raise UsageError(f"a {kind} {'needs' if needs_symbol else 'takes no'} symbol")
    if kind in ("buy", "sell") and not (
        quantity and quantity > 0 and price is not None and price >= 0
    ):
        raise UsageError(f"a {kind} needs a positive quantity and a price of 0 or more")
    if kind == "split" and not (quantity and quantity > 0):
        raise UsageError("a split needs its ratio: new shares per old share, e.g. 4 for 4:1")
    if kind in ("dividend", "deposit", "withdraw") and not (amount and amount > 0):
        raise UsageError(f"a {kind} needs a positive amount")
    if fee < 0:
        raise UsageError("the fee cannot be negative")


def list_transactions(session: Session, *, portfolio: str) -> list[TransactionView]:
    owner = _portfolio(session, portfolio)
    rows = session.execute(
        sa.select(PortfolioTransaction, col(Instrument.symbol))
        .outerjoin(Instrument, col(Instrument.id) == col(PortfolioTransaction.instrument_id))
        .where(col(PortfolioTransaction.portfolio_id) == owner.id)
        .order_by(col(PortfolioTransaction.date), col(PortfolioTransaction.id))
    ).all()
    return [_view(row, owner.name, symbol) for row, symbol in rows]


def delete_transaction(session: Session, *, portfolio: str, transaction_id: int) -> TransactionView:
    owner = _portfolio(session, portfolio)
    row = session.get(PortfolioTransaction, transaction_id)
    if row is None or row.portfolio_id != owner.id:
        raise NotFoundError(f"no transaction {transaction_id} in portfolio {portfolio}")
    symbol = session.get(Instrument, row.instrument_id).symbol if row.instrument_id else None  # type: ignore[union-attr]
    view = _view(row, owner.name, symbol)
    session.delete(row)
    return view


def _view(row: PortfolioTransaction, portfolio: str, symbol: str | None) -> TransactionView:
    assert row.id is not None
    return TransactionView(
        row.id,
        portfolio,
        row.date,
        row.kind,
        symbol,
        row.quantity,
        row.price,
        row.amount,
        row.fee,
        row.currency,
    )


def _portfolio(session: Session, name: str, *, create: bool = False) -> Portfolio:
    check_name(name, what="portfolio")
    found = session.exec(select(Portfolio).where(Portfolio.name == name)).first()
    if found is None:
        if not create:
            raise NotFoundError(f"no portfolio {name}")
        found = Portfolio(name=name)
        session.add(found)
        session.flush()
    return found
