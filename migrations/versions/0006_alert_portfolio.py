"""An alert may watch a position of a portfolio (weight, pnl_pct in its expression).

0006_alert_portfolio, 2026-11-30.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_alert_portfolio"
down_revision = "0005_portfolio"


def upgrade() -> None:
    with op.batch_alter_table("alert_rule", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("portfolio", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_rule", schema=None) as batch_op:
        batch_op.drop_column("portfolio")
