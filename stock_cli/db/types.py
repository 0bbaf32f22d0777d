"""Column types shared by the tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no time zones and hands back naive values; this stores UTC and returns
    aware datetimes, so JSON output carries an offset on SQLite as on PostgreSQL.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Values of raw queries and aggregates (max(date), max(started_at)) come back typed on
# PostgreSQL but as text, or naive, on SQLite: these read them the same on both.


def as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def as_utc(value: Any) -> dt.datetime | None:
    """A UTC timestamp (naive values and SQLite text are UTC, as UTCDateTime stores them)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
