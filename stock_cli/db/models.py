"""SQLModel tables. Alembic migrations in `migrations/versions` create exactly these.

Changing a table here means adding a migration (`alembic revision --autogenerate`);
`tests/db/test_migrations.py` fails when the two drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, col

from stock_cli import clock
from stock_cli.db.types import UTCDateTime


def utcnow() -> dt.datetime:
    return clock.now()


def _ts(nullable: bool = False) -> sa.Column[dt.datetime]:
    return sa.Column(UTCDateTime(), nullable=nullable)


class Instrument(SQLModel, table=True):
    """A tradable symbol in its canonical (Yahoo-style) form, with what providers told us."""

    __tablename__ = "instrument"

    id: int | None = Field(default=None, primary_key=True)
    symbol: str = Field(max_length=32, unique=True, index=True)
    name: str | None = Field(default=None, max_length=200)
    exchange: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class PriceBar(SQLModel, table=True):
    """One daily bar: raw OHLCV as the provider gave it, plus its adjusted close.

    Deliberately no foreign key to `instrument`: PostgreSQL runs a referential-integrity
    trigger for every row, which cuts COPY throughput to a quarter (measured in
    benchmarks/bench_ingest.py). Bars are written only by `store_bar_sets`, which creates
    the instrument in the same transaction; whoever deletes an instrument deletes its bars.
    """

    __tablename__ = "price_bar"
    # The provisional bars are few (at most one per symbol): a partial index finds them
    # without scanning the history.
    __table_args__ = (
        sa.Index(
            "ix_price_bar_provisional",
            "instrument_id",
            sqlite_where=sa.text("provisional"),
            postgresql_where=sa.text("provisional"),
        ),
    )

    instrument_id: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True))
    date: dt.date = Field(sa_column=sa.Column(sa.Date, primary_key=True))
    open: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    high: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    low: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    close: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    volume: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    adj_close: float | None = Field(default=None, sa_column=sa.Column(sa.Float, nullable=True))
    provider: str = Field(max_length=32)
    fetched_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    # The bar of a session that had not closed when it was fetched: replaced by the next
    # fetch after the close, and left out of analysis and alerts unless asked for.
    provisional: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()),
    )


class CorporateAction(SQLModel, table=True):
    """A split (value = new shares per old share, e.g. 4.0 for 4:1) or a cash dividend."""

    __tablename__ = "corporate_action"
    __table_args__ = (sa.UniqueConstraint("instrument_id", "date", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    instrument_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), nullable=False
        )
    )
    date: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    kind: str = Field(max_length=16)
    value: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    numerator: float | None = Field(default=None, sa_column=sa.Column(sa.Float, nullable=True))
    denominator: float | None = Field(default=None, sa_column=sa.Column(sa.Float, nullable=True))
    provider: str = Field(max_length=32)
    fetched_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class Watchlist(SQLModel, table=True):
    __tablename__ = "watchlist"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class WatchlistMember(SQLModel, table=True):
    __tablename__ = "watchlist_member"

    watchlist_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("watchlist.id", ondelete="CASCADE"), primary_key=True
        )
    )
    instrument_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("instrument.id", ondelete="CASCADE"), primary_key=True
        )
    )
    added_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class FetchRun(SQLModel, table=True):
    """One `stock fetch` (or scheduled fetch): status is running, ok, partial or failed."""

    __tablename__ = "fetch_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    finished_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    status: str = Field(default="running", max_length=16, index=True)
    symbols: int = 0
    failed: int = 0
    host: str | None = Field(default=None, max_length=255)
    pid: int | None = None
    error: str | None = None


class FetchResult(SQLModel, table=True):
    """What one fetch run did for one symbol."""

    __tablename__ = "fetch_result"

    id: int | None = Field(default=None, primary_key=True)
    fetch_run_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("fetch_run.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    symbol: str = Field(max_length=32)
    provider: str | None = Field(default=None, max_length=32)
    status: str = Field(max_length=16)
    new: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0
    first_date: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    last_date: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    error_type: str | None = Field(default=None, max_length=32)
    error_message: str | None = None
    # The stored history was downloaded again and replaced: why (split, dividend,
    # overlap_changed), or None.
    rebased: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    rebase_reason: str | None = Field(default=None, max_length=16)


class MetricCounter(SQLModel, table=True):
    """A cumulative total for /metrics that pruning never touches (counters never go down).

    `labels` is the label set in a canonical form (`job=fetch,status=ok`); increments are
    one atomic upsert, so concurrent daemons add up correctly.
    """

    __tablename__ = "metric_counter"

    name: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    labels: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    value: float = Field(default=0.0, sa_column=sa.Column(sa.Float, nullable=False))


def instrument_identity() -> tuple[Any, ...]:
    """The columns that name an instrument in listings: symbol, name, exchange, currency."""
    return (
        col(Instrument.symbol),
        col(Instrument.name),
        col(Instrument.exchange),
        col(Instrument.currency),
    )
