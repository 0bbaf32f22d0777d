"""Reading stored bars back: `load_bars` for one symbol, `list_instruments` for all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from stock_cli import clock
from stock_cli.db.models import Instrument, PriceBar, instrument_identity
from stock_cli.db.types import as_date, as_utc
from stock_cli.errors import ADJUST_FIELD, LAST_FIELD, NotFoundError, UsageError, reversed_range
from stock_cli.market.calendar import is_stale
from stock_cli.market.instruments import get_instrument

ADJUSTMENTS = ("none", "adjusted")


@dataclass(frozen=True)
class StoredBar:
    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: float
    adj_close: float | None
    provider: str
    provisional: bool = False  # its session had not closed when it was fetched


@dataclass(frozen=True)
class BarsResult:
    symbol: str
    adjust: str
    bars: list[StoredBar]


@dataclass(frozen=True)
class InstrumentSummary:
    symbol: str
    name: str | None
    exchange: str | None
    currency: str | None
    bars: int
    first_date: dt.date | None
    last_date: dt.date | None
    provider: str | None
    last_fetched_at: dt.datetime | None
    # More of its exchange's trading sessions are missing than a healthy store misses
    # (holidays are not missing); None without bars.
    stale: bool | None = None


def load_bars(
    session: Session,
    *,
    symbol: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    last: int | None = None,
    adjust: str = "none",
) -> BarsResult:
    """Stored bars of `symbol`, oldest first. `adjust="adjusted"` back-adjusts O/H/L/C by
    the bar's adjusted-close / close ratio (bars without an adjusted close keep raw prices)."""
    if adjust not in ADJUSTMENTS:
        raise UsageError(f"{{adjust}} must be one of {', '.join(ADJUSTMENTS)}", fields=ADJUST_FIELD)
    if last is not None and last < 1:
        raise UsageError("{last} must be at least 1", fields=LAST_FIELD)
    if start and end and start > end:
        raise reversed_range(start, end)
    instrument = get_instrument(session, symbol=symbol)
    if instrument is None:
        raise NotFoundError(
            f"no stored data for {symbol}", hint=f"run `stock fetch {symbol}` or `stock import`"
        )
    query = sa.select(
        col(PriceBar.date),
        col(PriceBar.open),
        col(PriceBar.high),
        col(PriceBar.low),
        col(PriceBar.close),
        col(PriceBar.volume),
        col(PriceBar.adj_close),
        col(PriceBar.provider),
        col(PriceBar.provisional),
    ).where(col(PriceBar.instrument_id) == instrument.id)
    if start:
        query = query.where(col(PriceBar.date) >= start)
    if end:
        query = query.where(col(PriceBar.date) <= end)
    if last:
        query = query.order_by(col(PriceBar.date).desc()).limit(last)
    else:
        query = query.order_by(col(PriceBar.date))
    bars = [
        StoredBar(*row[:8], provisional=bool(row[8]))  # type: ignore[misc]
        for row in session.execute(query).all()
    ]
    if not bars and start is None and end is None:
        raise NotFoundError(
            f"no stored bars for {symbol}", hint=f"run `stock fetch {symbol}` or `stock import`"
        )
    if last:
        bars.reverse()
    if adjust == "adjusted":
        bars = [_adjusted(b) for b in bars]
    return BarsResult(symbol=symbol, adjust=adjust, bars=bars)


def _adjusted(bar: StoredBar) -> StoredBar:
    if bar.adj_close is None or bar.close <= 0:
        return bar
    factor = bar.adj_close / bar.close
    return StoredBar(
        bar.date,
        bar.open * factor,
        bar.high * factor,
        bar.low * factor,
        bar.adj_close,
        bar.volume,
        bar.adj_close,
        bar.provider,
        bar.provisional,
    )


def list_instruments(session: Session) -> list[InstrumentSummary]:
    """Every instrument with its bar count, date range, latest provider and fetch time."""
    stats = (
        sa.select(
            col(PriceBar.instrument_id).label("iid"),
            sa.func.count().label("n"),
            sa.func.min(col(PriceBar.date)).label("first"),
            sa.func.max(col(PriceBar.date)).label("last"),
            sa.func.max(col(PriceBar.fetched_at)).label("fetched"),
        )
        .group_by(col(PriceBar.instrument_id))
        .subquery()
    )
    latest_provider = (
        sa.select(col(PriceBar.provider))
        .where(
            col(PriceBar.instrument_id) == col(Instrument.id), col(PriceBar.date) == stats.c.last
        )
        .correlate(Instrument, stats)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(
            *instrument_identity(),
            sa.func.coalesce(stats.c.n, 0),
            stats.c.first,
            stats.c.last,
            latest_provider,
            stats.c.fetched,
        )
        .outerjoin(stats, stats.c.iid == col(Instrument.id))
        .order_by(col(Instrument.symbol))
    ).all()
    today = clock.today()
    summaries = []
    for row in rows:
        last_date = as_date(row[6])
        summaries.append(
            InstrumentSummary(
                symbol=row[0],
                name=row[1],
                exchange=row[2],
                currency=row[3],
                bars=int(row[4]),
                first_date=as_date(row[5]),
                last_date=last_date,
                provider=row[7],
                last_fetched_at=as_utc(row[8]),
                stale=None if last_date is None else is_stale(row[0], last_date, today),
            )
        )
    return summaries
