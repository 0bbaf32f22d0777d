"""A portfolio's transactions: recorded (checked, and a sale never beyond the shares held
then), listed, deleted. `valuation` and `performance` compute from them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from stock_cli import clock
from stock_cli.db.models import Instrument
from stock_cli.db.portfolio_models import Portfolio, PortfolioTransaction
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.portfolio.records import get_portfolio, replay_trades, transactions

DEFAULT_PORTFOLIO = "default"
KINDS = ("buy", "sell", "dividend", "deposit", "withdraw", "split")


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
    day: dt.date | None = None,
    symbol: str | None = None,
    quantity: float | None = None,
    price: float | None = None,
    amount: float | None = None,
    fee: float = 0.0,
    currency: str | None = None,
) -> TransactionView:
    """One transaction (on `day`, default today), checked; the portfolio is created on its
    first one."""
    _check_transaction(kind, symbol, quantity, price, amount, fee)
    owner = get_portfolio(session, portfolio, create=True)
    instrument_id = None
    if symbol is not None:
        from stock_cli.market.instruments import get_or_create_instrument

        instrument_id = get_or_create_instrument(session, symbol=symbol).id
    row = PortfolioTransaction(
        portfolio_id=owner.id,  # type: ignore[arg-type]
        instrument_id=instrument_id,
        kind=kind,
        date=day or clock.today(),
        quantity=quantity,
        price=price,
        amount=amount,
        fee=fee,
        currency=currency.upper() if currency else None,
    )
    session.add(row)
    session.flush()
    if kind in ("sell", "split"):
        _check_holdings(session, owner, instrument_id)
    return _view(row, owner.name, symbol)


def _check_holdings(session: Session, owner: Portfolio, instrument_id: int | None) -> None:
    """Replays the instrument's trades with its splits: refuses (by raising, so the session
    rolls back) a history in which a sale exceeds the shares then held."""
    if instrument_id is not None and owner.id is not None:
        replay_trades(session, portfolio_id=owner.id, instrument_id=instrument_id)


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
    owner = get_portfolio(session, portfolio)
    rows = transactions(session, portfolio_id=owner.id, until=dt.date.max)  # type: ignore[arg-type]
    return [_view(t, owner.name, i.symbol if i else None) for t, i in rows]


def delete_transaction(session: Session, *, portfolio: str, transaction_id: int) -> TransactionView:
    """Deletes one transaction, unless the history without it sells shares not held (a
    purchase that a later sale needs)."""
    owner = get_portfolio(session, portfolio)
    row = session.get(PortfolioTransaction, transaction_id)
    if row is None or row.portfolio_id != owner.id:
        raise NotFoundError(f"no transaction {transaction_id} in portfolio {portfolio}")
    instrument = session.get(Instrument, row.instrument_id) if row.instrument_id else None
    view = _view(row, owner.name, instrument.symbol if instrument else None)
    session.delete(row)
    session.flush()
    if row.kind in ("buy", "split"):
        _check_holdings(session, owner, row.instrument_id)
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
