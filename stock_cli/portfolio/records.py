"""What the portfolio computations read from the store: a portfolio's transactions by
instrument, its base currency, the stored splits (with the user's corrections) and
dividends, the final closes of an instrument, the trades in major currency units, and the
symbols the fetch job keeps current for the portfolios."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, col, select

from stock_cli import clock
from stock_cli.db.models import CorporateAction, Instrument, PriceBar
from stock_cli.db.portfolio_models import Portfolio, PortfolioTransaction
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.names import check_name
from stock_cli.portfolio.lots import Position, Split, Trade, build_position

# minor currency units as providers quote them → (major unit, minor units per major)
MINOR_UNITS = {
    "GBp": ("GBP", 100.0),
    "GBX": ("GBP", 100.0),
    "ZAc": ("ZAR", 100.0),
    "ZAC": ("ZAR", 100.0),
    "ILA": ("ILS", 100.0),
}


def major_unit(currency: str | None) -> tuple[str | None, float]:
    """(the major currency, the divisor that turns a quoted price into it)."""
    if currency in MINOR_UNITS:
        return MINOR_UNITS[currency]
    return (currency.upper() if currency else None), 1.0


def normalise_currency(code: str | None) -> str | None:
    """ISO codes in capitals; a minor unit as providers write it (GBp is pence, GBP pounds)."""
    if not code or not code.strip():
        return None
    code = code.strip()
    return code if code in MINOR_UNITS else code.upper()


def price_divisor(quoted_in: str | None, instrument_currency: str | None) -> float:
    """What a recorded price is divided by to be in the instrument's major unit. A price
    recorded as the exchange quotes it (the default) is divided like the quotes; one
    recorded in the major unit (GBP for a stock quoted in GBp) is not."""
    major, divisor = major_unit(instrument_currency)
    if quoted_in is None or quoted_in == instrument_currency or instrument_currency is None:
        return divisor
    if major_unit(quoted_in)[0] == major:
        return major_unit(quoted_in)[1]
    raise UsageError(
        f"a price in {quoted_in} for an instrument quoted in {instrument_currency}: record "
        f"the price in {instrument_currency} (or {major})"
    )


def money_currency(t: PortfolioTransaction, instrument: Instrument | None) -> str | None:
    """The currency of a transaction's money, in major units: a cash amount's own currency
    when recorded, else the instrument's."""
    if t.kind in ("dividend", "deposit", "withdraw") and t.currency:
        return major_unit(t.currency)[0]
    if instrument is not None and instrument.currency:
        return major_unit(instrument.currency)[0]
    return major_unit(t.currency)[0]


def get_portfolio(session: Session, name: str, *, create: bool = False) -> Portfolio:
    check_name(name, what="portfolio")
    found = session.exec(select(Portfolio).where(Portfolio.name == name)).first()
    if found is None:
        if not create:
            raise NotFoundError(
                f"no portfolio {name}", hint="it is created by its first transaction (a buy)"
            )
        found = Portfolio(name=name)
        session.add(found)
        session.flush()
    return found


def base_currency_of(
    portfolio: Portfolio, chosen: str | None, instruments: list[Instrument]
) -> str | None:
    """The portfolio's own base currency, else the one asked for, else
    STOCK_BASE_CURRENCY, else the currency the holdings share (in major units)."""
    from stock_cli.config import get_settings

    chosen = portfolio.base_currency or chosen or get_settings().base_currency
    if chosen:
        return chosen.upper()
    currencies = {c for c in (major_unit(i.currency)[0] for i in instruments) if c}
    if len(currencies) > 1:
        raise UsageError(
            f"the holdings are in {', '.join(sorted(currencies))}: set STOCK_BASE_CURRENCY "
            "(or the portfolio's base currency) to value them together"
        )
    return next(iter(currencies), None)


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


def stored_actions(
    session: Session, instrument: Instrument, kind: str, day: dt.date
) -> list[tuple[dt.date, float]]:
    """The stored corporate actions of a kind (split, dividend) up to a day."""
    rows = (
        session.connection()
        .execute(  # Core rows: no ORM work a row
            sa.select(col(CorporateAction.date), col(CorporateAction.value)).where(
                col(CorporateAction.instrument_id) == instrument.id,
                col(CorporateAction.kind) == kind,
                col(CorporateAction.date) <= day,
            )
        )
        .all()
    )
    return [(d, float(v)) for d, v in rows]


def final_closes(
    session: Session, instrument_id: int, *, until: dt.date | None = None, last: int | None = None
) -> list[tuple[dt.date, float]]:
    """An instrument's closes of final bars (never a provisional one), oldest first; only
    the `last` ones up to `until` when asked."""
    query = sa.select(col(PriceBar.date), col(PriceBar.close)).where(
        col(PriceBar.instrument_id) == instrument_id, ~col(PriceBar.provisional)
    )
    if until is not None:
        query = query.where(col(PriceBar.date) <= until)
    if last is not None:
        newest = session.execute(query.order_by(col(PriceBar.date).desc()).limit(last)).all()
        return [(d, float(c)) for d, c in reversed(newest)]
    rows = session.execute(query.order_by(col(PriceBar.date))).all()
    return [(d, float(c)) for d, c in rows]


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
    trades = trades_of(txs, instrument.currency)
    last = max((t.date for t in txs), default=clock.today())
    return build_position(trades, splits_of(session, instrument, txs, last))


def trades_of(txs: list[PortfolioTransaction], instrument_currency: str | None) -> list[Trade]:
    """The buys and sells, their prices in the instrument's major unit."""
    return [
        Trade(
            t.date,
            t.kind,  # type: ignore[arg-type]
            t.quantity or 0.0,
            (t.price or 0.0) / price_divisor(t.currency, instrument_currency),
            t.fee,
        )
        for t in txs
        if t.kind in ("buy", "sell")
    ]


def splits_of(
    session: Session, instrument: Instrument, txs: list[PortfolioTransaction], day: dt.date
) -> list[Split]:
    """The stored splits, each replaced by the user's correction of the same day."""
    by_day = dict(stored_actions(session, instrument, "split", day))
    by_day.update({t.date: float(t.quantity or 1.0) for t in txs if t.kind == "split"})
    return [Split(d, r) for d, r in sorted(by_day.items()) if r != 1.0]


def tracks_cash(rows: list[tuple[PortfolioTransaction, Instrument | None]]) -> bool:
    """Cash is the portfolio's only when it records deposits or withdrawals; otherwise the
    money of its trades lives elsewhere."""
    return any(t.kind in ("deposit", "withdraw") for t, _ in rows)


def by_instrument(
    rows: list[tuple[PortfolioTransaction, Instrument | None]],
) -> list[tuple[Instrument, list[PortfolioTransaction]]]:
    """The transactions of each instrument, in the order of their first one."""
    grouped: dict[int, tuple[Instrument, list[PortfolioTransaction]]] = {}
    for t, instrument in rows:
        if instrument is not None and instrument.id is not None:
            grouped.setdefault(instrument.id, (instrument, []))[1].append(t)
    return list(grouped.values())


def symbols_to_keep_current(session: Session) -> list[str]:
    """What the fetch job keeps current for the portfolios besides the watchlist: every
    instrument they ever held, and the FX pairs (`GBPUSD=X`) that convert each one's
    currency, and each recorded cash currency, to the portfolio's base currency (the stored
    inverse pair when there is one). A holding not fetched yet has no currency: its pair is
    added once its first fetch has told it."""
    held: set[str] = set()
    pairs: set[tuple[str, str]] = set()  # (currency, base)
    for owner in session.exec(select(Portfolio)).all():
        rows = transactions(session, portfolio_id=owner.id, until=dt.date.max)  # type: ignore[arg-type]
        instruments = {i.symbol: i for _, i in rows if i is not None}
        held |= set(instruments)
        try:
            base = base_currency_of(owner, None, list(instruments.values()))
        except UsageError:
            continue  # several currencies and no base: `ls` says so
        currencies = {money_currency(t, i) for t, i in rows}
        pairs |= {(c, base) for c in currencies if c and base and c != base}
    inverse = {f"{base}{c}=X": f"{c}{base}=X" for c, base in pairs}
    named = [*inverse, *inverse.values()]
    stored = set(
        session.exec(select(Instrument.symbol).where(col(Instrument.symbol).in_(named))).all()
    )
    # what `Rates` reads: the direct pair, else a stored inverse one
    fx = {
        pair if pair in stored and direct not in stored else direct
        for pair, direct in inverse.items()
    }
    return sorted(held) + sorted(fx - held)
