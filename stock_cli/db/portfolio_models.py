"""Tables of the portfolios: named portfolios and their transactions."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stock_cli.db.models import _ts, utcnow


class Portfolio(SQLModel, table=True):
    __tablename__ = "portfolio"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    base_currency: str | None = Field(default=None, max_length=8)  # None: STOCK_BASE_CURRENCY
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())


class PortfolioTransaction(SQLModel, table=True):
    """One event of a portfolio, as the user recorded it.

    buy / sell: `quantity` at `price` (the instrument's quote units, as the broker shows
    them) plus `fee`; dividend: a cash `amount` for an instrument; deposit / withdraw: a
    cash `amount`; split: `quantity` new shares per old one, correcting the stored actions.
    """

    __tablename__ = "portfolio_transaction"
    __table_args__ = (sa.Index("ix_portfolio_transaction_portfolio_date", "portfolio_id", "date"),)

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("portfolio.id", ondelete="CASCADE"), nullable=False
        )
    )
    instrument_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("instrument.id", ondelete="RESTRICT"), nullable=True
        ),
    )
    kind: str = Field(max_length=16)
    date: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    quantity: float | None = Field(default=None, sa_column=sa.Column(sa.Float, nullable=True))
    price: float | None = Field(default=None, sa_column=sa.Column(sa.Float, nullable=True))
    amount: float | None = Field(default=None, sa_column=sa.Column(sa.Float, nullable=True))
    fee: float = Field(default=0.0, sa_column=sa.Column(sa.Float, nullable=False))
    currency: str | None = Field(default=None, max_length=8)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_ts())
