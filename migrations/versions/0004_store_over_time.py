"""Provisional bars, re-base results, cumulative metric counters, daemon heartbeats.

0004_store_over_time, 2026-11-30.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_store_over_time"
down_revision = "0003_jobs"

# The counters /metrics exported until now were counted from tables that `prune` deletes
# from. Seed the cumulative totals from what those tables hold today, so that the first
# scrape after the upgrade continues from the last value instead of starting again at 0.
_SEED = (
    "INSERT INTO metric_counter (name, labels, value) "
    "SELECT 'stock_job_runs_total', 'job=' || job || ',status=' || status, count(*) "
    "FROM job_run WHERE status <> 'running' GROUP BY job, status",
    "INSERT INTO metric_counter (name, labels, value) "
    "SELECT 'stock_fetch_rows_total', 'provider=' || coalesce(provider, ''), "
    "sum(new + updated) FROM fetch_result GROUP BY coalesce(provider, '')",
    "INSERT INTO metric_counter (name, labels, value) "
    "SELECT 'stock_fetch_errors_total', 'provider=' || coalesce(provider, '') || ',type=' "
    "|| coalesce(error_type, ''), count(*) FROM fetch_result WHERE status = 'failed' "
    "GROUP BY coalesce(provider, ''), coalesce(error_type, '')",
    "INSERT INTO metric_counter (name, labels, value) "
    "SELECT 'stock_alerts_fired_total', 'symbol=' || symbol, count(*) FROM alert_event "
    "GROUP BY symbol",
)


def upgrade() -> None:
    # Plain ADD COLUMN / CREATE INDEX: no table copy on SQLite, and `--sql` renders offline.
    op.add_column(
        "price_bar",
        sa.Column("provisional", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "ix_price_bar_provisional",
        "price_bar",
        ["instrument_id"],
        unique=False,
        sqlite_where=sa.text("provisional"),
        postgresql_where=sa.text("provisional"),
    )
    op.add_column(
        "fetch_result",
        sa.Column("rebased", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "fetch_result",
        sa.Column("rebase_reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    )
    op.add_column(
        "alert_rule",
        sa.Column("include_provisional", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "metric_counter",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("labels", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "labels"),
    )
    op.create_table(
        "daemon_heartbeat",
        sa.Column("worker", sa.String(length=300), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker"),
    )
    for statement in _SEED:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("daemon_heartbeat")
    op.drop_table("metric_counter")
    with op.batch_alter_table("alert_rule", schema=None) as batch_op:
        batch_op.drop_column("include_provisional")
    with op.batch_alter_table("fetch_result", schema=None) as batch_op:
        batch_op.drop_column("rebase_reason")
        batch_op.drop_column("rebased")
    op.drop_index("ix_price_bar_provisional", table_name="price_bar")
    with op.batch_alter_table("price_bar", schema=None) as batch_op:
        batch_op.drop_column("provisional")
