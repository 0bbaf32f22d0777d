"""Instrument rows: looked up and created by canonical symbol."""

from __future__ import annotations

from sqlmodel import Session, select

from stock_cli.db.models import Instrument


def get_instrument(session: Session, *, symbol: str) -> Instrument | None:
    return session.exec(select(Instrument).where(Instrument.symbol == symbol)).first()


def get_or_create_instrument(session: Session, *, symbol: str) -> Instrument:
    """The instrument for a canonical symbol, created (with its market's time zone) if new.

    Creation goes through the bulk path's `ensure_instruments`, which tolerates another
    process creating the same symbol at the same moment.
    """
    instrument = get_instrument(session, symbol=symbol)
    if instrument is None:
        from stock_cli.market.store import ensure_instruments

        ensure_instruments(session.connection(), infos={symbol: None})
        instrument = get_instrument(session, symbol=symbol)
        assert instrument is not None
    return instrument
