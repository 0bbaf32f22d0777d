"""Every table as plain rows: what backup, restore and `db copy` read, write and compare.

Rows are read in primary-key order and put in a canonical form that is the same on
SQLite and PostgreSQL (dates and UTC timestamps as ISO text, floats as Python floats), so
that a table's checksum says whether two databases hold the same data whatever their
backend. Writing goes through SQLAlchemy Core, except the bars, which go at bulk speed
through the driver (executemany on SQLite, binary COPY on PostgreSQL).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

CHUNK = 5000
BARS = "price_bar"


def all_tables() -> list[sa.Table]:
    """Every table of the schema, parents before children (the order to write them in)."""
    from sqlmodel import SQLModel

    import stock_cli.db.chat_models
    import stock_cli.db.job_models
    import stock_cli.db.models
    import stock_cli.db.portfolio_models  # noqa: F401  (registers the tables)

    return list(SQLModel.metadata.sorted_tables)


def _to_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _from_text(column: sa.Column[Any]) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, sa.TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, sa.DateTime):
        return lambda v: None if v is None else dt.datetime.fromisoformat(v)
    if isinstance(kind, sa.Date):
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if isinstance(kind, sa.Boolean):
        return lambda v: None if v is None else bool(v)
    if isinstance(kind, sa.Float):
        return lambda v: None if v is None else float(v)
    return lambda v: v


def read_rows(conn: sa.Connection, table: sa.Table) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in primary-key order, canonical, in chunks."""
    order = list(table.primary_key.columns) or list(table.columns)
    result = conn.execution_options(yield_per=CHUNK).execute(sa.select(table).order_by(*order))
    for chunk in result.partitions():
        yield [tuple(_to_text(v) for v in row) for row in chunk]


@dataclass(frozen=True)
class TableSum:
    rows: int
    sha256: str


class Checksum:
    """A running checksum of canonical rows (in primary-key order)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.rows = 0

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        # repr keeps every float exactly and tells None, 0 and "" apart
        self.digest.update("\n".join(map(repr, rows)).encode())
        self.digest.update(b"\n")
        self.rows += len(rows)

    def result(self) -> TableSum:
        return TableSum(self.rows, self.digest.hexdigest())


def table_sums(
    conn: sa.Connection,
    tables: Iterable[sa.Table] | None = None,
    *,
    on_table: Callable[[str, int], None] | None = None,
) -> dict[str, TableSum]:
    """Row count and checksum of each table."""
    sums = {}
    for table in tables if tables is not None else all_tables():
        sums[table.name] = summed(read_rows(conn, table))
        if on_table:
            on_table(table.name, sums[table.name].rows)
    return sums


Chunk = Sequence[tuple[Any, ...]]


def summed(chunks: Iterable[Chunk], each: Callable[[Chunk], Any] | None = None) -> TableSum:
    """The row count and checksum of canonical rows, handing each chunk to `each` (to
    write it somewhere) on the way: one pass over a table whatever is done with it."""
    checksum = Checksum()
    for chunk in chunks:
        checksum.add(chunk)
        if each is not None:
            each(chunk)
    return checksum.result()


def count_rows(conn: sa.Connection, tables: Iterable[sa.Table] | None = None) -> dict[str, int]:
    return {
        t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        for t in (tables if tables is not None else all_tables())
    }


def row_loader(table: sa.Table) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """Canonical row (as read, or as parsed from JSON) → Python values for writing."""
    converters = [_from_text(c) for c in table.columns]
    return lambda row: tuple(f(v) for f, v in zip(converters, row, strict=True))


def write_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert Python-valued rows (see `row_loader`) into `table` on `conn`."""
    if not rows:
        return
    if table.name == BARS:
        _write_bars(conn, rows)
        return
    names = [c.name for c in table.columns]
    conn.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])


def _write_bars(conn: sa.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    from stock_cli.market.store import BAR_COLUMNS, copy_bar_rows, sqlite_timestamp

    names = [c.name for c in _bars_table().columns]
    order = [names.index(n) for n in BAR_COLUMNS]
    ordered = ([row[i] for i in order] for row in rows)
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        copy_bar_rows(driver, ordered)
        return

    def stored(value: Any) -> Any:  # as the SQLite types store them: ISO text
        if isinstance(value, dt.datetime):
            return sqlite_timestamp(value)
        return value.isoformat() if isinstance(value, dt.date) else value

    marks = ", ".join("?" * len(order))
    sql = f"INSERT INTO {BARS} ({', '.join(BAR_COLUMNS)}) VALUES ({marks})"
    with contextlib.closing(driver.cursor()) as cursor:  # type: ignore[union-attr]
        cursor.executemany(sql, ([stored(v) for v in row] for row in ordered))


def _bars_table() -> sa.Table:
    return next(t for t in all_tables() if t.name == BARS)


def reset_sequences(conn: sa.Connection) -> None:
    """After rows were written with their ids: the next id continues after the largest
    (PostgreSQL sequences; SQLite's INTEGER PRIMARY KEY does so by itself)."""
    if conn.dialect.name != "postgresql":
        return
    for table in all_tables():
        if "id" not in table.columns or not table.c.id.primary_key:
            continue
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
            )
        )


def delete_all(conn: sa.Connection) -> None:
    """Empty every table (children first), inside the caller's transaction."""
    for table in reversed(all_tables()):
        conn.execute(table.delete())


@contextlib.contextmanager
def snapshot(conn: sa.Connection) -> Iterator[sa.Connection]:
    """One consistent view of the whole database for reading it all (PostgreSQL:
    a REPEATABLE READ transaction; SQLite: a read transaction holds its WAL snapshot)."""
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    with conn.begin():
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("SELECT count(*) FROM alembic_version")  # starts the snapshot
        yield conn
