"""Tables of the daemon: job runs, schedules, alerts, fetch batches."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stock_cli.db.models import _ts, utcnow


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
    # the portfolio whose position of `symbol` gives `weight` and `pnl_pct` to the expression
    portfolio: str | None = Field(default=None, max_length=64)
    notify: str = Field(default="log", max_length=1000)  # log | webhook:URL | command:CMD
    repeat: bool = False
    include_provisional: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
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


class DaemonHeartbeat(SQLModel, table=True):
    """The last pass of each daemon's scheduler loop, so that any process (`serve-health`
    on another host, a dashboard) can tell whether a daemon is alive."""

    __tablename__ = "daemon_heartbeat"

    worker: str = Field(sa_column=sa.Column(sa.String(300), primary_key=True))
    host: str | None = Field(default=None, max_length=255)
    pid: int | None = None
    started_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
    beat_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
