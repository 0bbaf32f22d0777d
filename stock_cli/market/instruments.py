"""Instrument rows: looked up and created by canonical symbol."""

from __future__ import annotations

from sqlmodel import Session, select

from stock_cli.db.models import Instrument
from stock_cli.market.symbols import market_of


def get_instrument(session: Session, *, symbol: str) -> Instrument | None:
    return session.exec(select(Instrument).where(Instrument.symbol == symbol)).first()


def get_or_create_instrument(session: Session, *, symbol: str) -> Instrument:
    """The instrument for a canonical symbol, created (with its market's time zone) if new."""
    instrument = get_instrument(session, symbol=symbol)
    if instrument is None:
        instrument = Instrument(symbol=symbol, timezone=market_of(symbol).timezone)
        session.add(instrument)
        session.flush()
    return instrument
