"""Inserting rows that another process may insert at the same moment.

On PostgreSQL two writers can both find a name missing and both insert it: the loser's
unique violation aborts its whole transaction. With ON CONFLICT DO NOTHING the loser
waits for the winner to commit, inserts nothing and then reads the winner's row (READ
COMMITTED takes a fresh snapshot for every statement). On SQLite, BEGIN IMMEDIATE
already serialises writers; the statement is the same.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel


def dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    """INSERT for the connection's dialect, which knows ON CONFLICT."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def insert_if_absent(session: Session, row: SQLModel, *, key: tuple[str, ...]) -> bool:
    """Insert `row` unless a row with the same `key` columns exists; True if inserted."""
    table: sa.Table = type(row).__table__  # type: ignore[attr-defined]
    values = {
        column.name: getattr(row, column.name)
        for column in table.columns
        if getattr(row, column.name, None) is not None
    }
    conn = session.connection()
    statement = (
        dialect_insert(conn, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(*(table.c[k] for k in key))  # rowcount is -1 here on PostgreSQL
    )
    return conn.execute(statement).first() is not None
