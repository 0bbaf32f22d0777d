"""SQLModel tables. Alembic migrations in `migrations/versions` create exactly these.

Changing a table here means adding a migration (`alembic revision --autogenerate`);
`tests/db/test_migrations.py` fails when the two drift apart.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stock_cli.db.types import UTCDateTime


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


class JobRun(SQLModel, table=True):
    """One run of a scheduled job (the daemon records every one).

    `slot` names the scheduled occurrence (e.g. `2024-05-03T16:30:00+00:00`); the unique
    (job, slot) pair is how several daemons agree that exactly one of them runs it.
    """

    __tablename__ = "job_run"
    __table_args__ = (sa.Index("uq_job_run_job_slot", "job", "slot", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64, index=True)
    kind: str | None = Field(default=None, max_length=16)
    slot: str | None = Field(default=None, max_length=64)
    attempt: int = 1
    scheduled_for: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    started_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    finished_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    status: str = Field(default="running", max_length=16)
    error: str | None = None
    host: str | None = Field(default=None, max_length=255)
    pid: int | None = None
    rows: int = 0
    alerts: int = 0


class LLMPlatform(SQLModel, table=True):
    """A configured LLM endpoint. The key is best given as an environment variable name;
    a literal key is stored only when asked for and is never printed."""

    __tablename__ = "llm_platform"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(max_length=16)  # "openai" | "anthropic"
    model: str = Field(max_length=200)
    base_url: str | None = Field(default=None, max_length=500)
    api_key_env: str | None = Field(default=None, max_length=200)
    api_key: str | None = Field(default=None, max_length=500)
    options: str = Field(default="{}")  # JSON object of request options
    is_default: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class ChatSession(SQLModel, table=True):
    __tablename__ = "chat_session"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(default="", max_length=200)
    platform: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class ChatMessage(SQLModel, table=True):
    """One message of a conversation: user, assistant (text and tool calls) or tool result."""

    __tablename__ = "chat_message"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("chat_session.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    role: str = Field(max_length=16)
    content: str = ""
    tool_calls: str | None = None  # JSON list of {id, name, arguments}
    tool_call_id: str | None = Field(default=None, max_length=200)
    tool_name: str | None = Field(default=None, max_length=200)
    is_error: bool = False
    platform: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=200)
    input_tokens: int | None = None
    output_tokens: int | None = None
    duration_ms: int | None = None
    finish_reason: str | None = Field(default=None, max_length=64)
    interrupted: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class Schedule(SQLModel, table=True):
    """A job the daemon runs: daily `at_time` on `days` in `timezone`, or `every_seconds`."""

    __tablename__ = "schedule"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    job: str = Field(max_length=16)  # fetch | alerts | report | prune
    at_time: str | None = Field(default=None, max_length=5)  # HH:MM
    timezone: str = Field(default="UTC", max_length=64)
    days: str = Field(default="mon,tue,wed,thu,fri,sat,sun", max_length=64)
    every_seconds: int | None = None
    watchlist: str | None = Field(default=None, max_length=64)
    after: str | None = Field(default=None, max_length=64)
    options: str = Field(default="{}")  # JSON: report target, retention …
    enabled: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class AlertRule(SQLModel, table=True):
    """An expression watched on a symbol's latest bar; fires when it becomes true."""

    __tablename__ = "alert_rule"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    symbol: str = Field(max_length=32)
    expression: str
    notify: str = Field(default="log", max_length=1000)  # log | webhook:URL | command:CMD
    repeat: bool = False
    active: bool = False  # the condition held at the last evaluation
    last_bar_date: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    enabled: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class AlertEvent(SQLModel, table=True):
    """A fired alert and the state of its delivery (pending ones are retried each run)."""

    __tablename__ = "alert_event"

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("alert_rule.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    rule_name: str = Field(max_length=64)
    symbol: str = Field(max_length=32)
    bar_date: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    values: str = Field(default="{}")
    message: str = ""
    delivery_status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    last_error: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    delivered_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class FetchBatch(SQLModel, table=True):
    """A slice of a large fetch job; daemons claim them with FOR UPDATE SKIP LOCKED."""

    __tablename__ = "fetch_batch"

    id: int | None = Field(default=None, primary_key=True)
    job_run_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("job_run.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    symbols: str  # JSON list
    status: str = Field(default="pending", max_length=16, index=True)
    claimed_by: str | None = Field(default=None, max_length=300)
    rows: int = 0
    failed: int = 0
    error: str | None = None
    finished_at: dt.datetime | None = Field(default=None, sa_column=_ts(nullable=True))
