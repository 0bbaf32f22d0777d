"""Loading price series from the database as numpy arrays, adjusted or raw.

Reads go through the driver (sqlite3 / psycopg), asking only for the columns and the
number of trailing bars a computation needs. Adjusted open/high/low are the raw values
times the bar's adjusted-close / close ratio (back-adjustment), so that ATR, Stochastic
and the like see one consistent series; a bar without an adjusted close keeps its raw
prices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from stock_cli.db.types import as_date
from stock_cli.errors import ADJUST_FIELD, NotFoundError, UsageError, reversed_range

ADJUSTMENTS = ("adjusted", "none")
_ADJUSTED_SQL = {
    "open": "open * COALESCE(adj_close, close) / close",
    "high": "high * COALESCE(adj_close, close) / close",
    "low": "low * COALESCE(adj_close, close) / close",
    "close": "COALESCE(adj_close, close)",
    "volume": "volume",
}


@dataclass
class PriceSeries:
    symbol: str
    adjust: str
    dates: np.ndarray  # datetime64[D]
    columns: dict[str, np.ndarray]  # float64, oldest first
    # The date of a provisional bar (session not closed) left out of this series.
    skipped_provisional: dt.date | None = None

    def __len__(self) -> int:
        return len(self.dates)

    @property
    def last_date(self) -> dt.date | None:
        return self.dates[-1].astype(dt.date) if len(self.dates) else None


def instrument_ids(session: Session, symbols: Sequence[str]) -> dict[str, int]:
    rows = session.execute(
        sa.text("SELECT symbol, id FROM instrument WHERE symbol IN :symbols").bindparams(
            sa.bindparam("symbols", expanding=True)
        ),
        {"symbols": list(symbols)},
    ).all()
    return {row[0]: row[1] for row in rows}


def load_series(
    session: Session,
    *,
    symbols: Sequence[str],
    adjust: str = "adjusted",
    columns: Iterable[str] = ("open", "high", "low", "close", "volume"),
    start: dt.date | None = None,
    end: dt.date | None = None,
    bars: int | None = None,
    missing_ok: bool = False,
    include_provisional: bool = False,
) -> dict[str, PriceSeries]:
    """Series per symbol (symbols without bars are missing from the result or raise).

    Provisional bars (of a session that had not closed when fetched) are left out unless
    `include_provisional`; each series says which one it skipped.
    """
    if adjust not in ADJUSTMENTS:
        raise UsageError(f"{{adjust}} must be one of {', '.join(ADJUSTMENTS)}", fields=ADJUST_FIELD)
    if start and end and start > end:
        raise reversed_range(start, end)
    wanted = [c for c in ("open", "high", "low", "close", "volume") if c in set(columns)]
    expressions = [_ADJUSTED_SQL[c] if adjust == "adjusted" else c for c in wanted]
    ids = _stored_ids(session, symbols, missing_ok=missing_ok)
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    window, params = _date_window(postgres, start, end)
    skipped = {} if include_provisional else _provisional_dates(conn, ids, window, params)
    final_only = [] if include_provisional else ["NOT provisional"]
    sql = _series_sql(postgres, expressions, [*window, *final_only], bars)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    result: dict[str, PriceSeries] = {}
    try:
        for symbol in (s for s in symbols if s in ids):
            cursor.execute(sql, (ids[symbol], *params))
            rows = cursor.fetchall()
            if bars:
                rows.reverse()
            if not rows:
                if missing_ok:
                    continue
                raise NotFoundError(
                    f"no stored bars for {symbol}"
                    + (" in that date range" if start or end else ""),
                    hint=f"run `stock fetch {symbol}` or `stock import`",
                )
            table = np.array(rows, dtype=np.float64)
            result[symbol] = PriceSeries(
                symbol=symbol,
                adjust=adjust,
                dates=table[:, 0].astype(np.int64).astype("datetime64[D]"),
                columns={
                    name: np.ascontiguousarray(table[:, i + 1]) for i, name in enumerate(wanted)
                },
                skipped_provisional=skipped.get(ids[symbol]),
            )
    finally:
        cursor.close()
    return result


def _stored_ids(session: Session, symbols: Sequence[str], *, missing_ok: bool) -> dict[str, int]:
    ids = instrument_ids(session, symbols)
    unknown = [s for s in symbols if s not in ids]
    if unknown and not missing_ok:
        raise NotFoundError(
            f"no stored bars for {', '.join(unknown)}",
            hint=f"run `stock fetch {' '.join(unknown)}` or `stock import`",
        )
    return ids


def _date_window(
    postgres: bool, start: dt.date | None, end: dt.date | None
) -> tuple[list[str], list[object]]:
    """The SQL conditions of a date range, and their parameters."""
    mark = "%s" if postgres else "?"
    conditions: list[str] = []
    params: list[object] = []
    for bound, operator in ((start, ">="), (end, "<=")):
        if bound:
            conditions.append(f"date {operator} {mark}")
            params.append(bound if postgres else bound.isoformat())
    return conditions, params


def _series_sql(
    postgres: bool, expressions: list[str], conditions: list[str], bars: int | None
) -> str:
    mark = "%s" if postgres else "?"
    # Dates come back as days since 1970-01-01: numbers convert to numpy in one call,
    # where date objects (PostgreSQL) or strings (SQLite) cost far more than the query.
    day = (
        "(date - DATE '1970-01-01')" if postgres else "CAST(julianday(date) - 2440587.5 AS INTEGER)"
    )
    where = " AND ".join([f"instrument_id = {mark}", *conditions])
    return (
        f"SELECT {day}, {', '.join(expressions) or 'close'} FROM price_bar WHERE {where} "
        f"ORDER BY date {'DESC' if bars else 'ASC'}" + (f" LIMIT {int(bars)}" if bars else "")
    )


def _provisional_dates(
    conn: sa.Connection, ids: dict[str, int], where: list[str], params: list[object]
) -> dict[int, dt.date]:
    """Provisional bars of these instruments in the date range (found through the partial
    index on provisional bars: no history is scanned)."""
    if not ids:
        return {}
    postgres = conn.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    wanted = sorted(ids.values())
    conditions = [f"instrument_id IN ({', '.join([mark] * len(wanted))})", "provisional", *where]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(
            f"SELECT instrument_id, max(date) FROM price_bar WHERE {' AND '.join(conditions)} "
            "GROUP BY instrument_id",
            (*wanted, *params),
        )
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return {row[0]: day for row in rows if (day := as_date(row[1])) is not None}
