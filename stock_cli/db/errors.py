"""Driver errors as one-line DatabaseErrors: shared by the engine and the migrations."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stock_cli.config import mask_url
from stock_cli.errors import DatabaseError


@contextlib.contextmanager
def translate_db_errors(engine: Engine | None = None) -> Iterator[None]:
    """Turn driver errors into one-line DatabaseErrors (the password masked)."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(describe_db_error(exc, engine)) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"database error: {exc}") from exc
    except Exception as exc:
        # The bulk write path talks to the driver directly (sqlite3 / psycopg).
        if isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg"):
            raise DatabaseError(describe_db_error(exc, engine)) from exc
        raise


def describe_db_error(exc: Exception, engine: Engine | None) -> str:
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    detail = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    where = mask_url(engine.url.render_as_string(hide_password=False)) if engine else "the database"
    lowered = detail.lower()
    if "database is locked" in lowered:
        return f"{where} is locked by another process (waited the busy timeout): {detail}"
    if "readonly" in lowered or "read-only" in lowered:
        return f"{where} is read-only: {detail}"
    if "disk" in lowered and "full" in lowered:
        return f"the disk holding {where} is full: {detail}"
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sqlite3.OperationalError):
        return f"cannot use {where}: {detail}"
    return f"database error on {where}: {detail}"
