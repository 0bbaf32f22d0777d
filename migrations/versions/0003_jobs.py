"""schedules, alerts, job slots, fetch batches (0003_jobs, 2026-11-30)."""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003_jobs"
down_revision = "0002_chat"


def upgrade() -> None:
    op.create_table(
        "alert_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("expression", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("notify", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("repeat", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_bar_date", sa.Date(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_rule_name"), ["name"], unique=True)

    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("job", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("at_time", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("days", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("watchlist", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("after", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("options", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedule_name"), ["name"], unique=True)

    op.create_table(
        "alert_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("rule_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("bar_date", sa.Date(), nullable=False),
        sa.Column("values", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("delivery_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rule.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alert_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_event_delivery_status"), ["delivery_status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alert_event_rule_id"), ["rule_id"], unique=False)

    op.create_table(
        "fetch_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_run_id", sa.Integer(), nullable=False),
        sa.Column("symbols", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_run_id"], ["job_run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fetch_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fetch_batch_job_run_id"), ["job_run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fetch_batch_status"), ["status"], unique=False)

    # Plain ADD COLUMN and CREATE UNIQUE INDEX: both work on SQLite without a table copy,
    # so `stock db upgrade --sql` can render them offline.
    op.add_column(
        "job_run", sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
    )
    op.add_column(
        "job_run", sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
    )
    op.add_column("job_run", sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
    op.create_index("uq_job_run_job_slot", "job_run", ["job", "slot"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_job_run_job_slot", table_name="job_run")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_column("attempt")
        batch_op.drop_column("slot")
        batch_op.drop_column("kind")

    with op.batch_alter_table("fetch_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fetch_batch_status"))
        batch_op.drop_index(batch_op.f("ix_fetch_batch_job_run_id"))

    op.drop_table("fetch_batch")
    with op.batch_alter_table("alert_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_event_rule_id"))
        batch_op.drop_index(batch_op.f("ix_alert_event_delivery_status"))

    op.drop_table("alert_event")
    with op.batch_alter_table("schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_name"))

    op.drop_table("schedule")
    with op.batch_alter_table("alert_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_rule_name"))

    op.drop_table("alert_rule")
