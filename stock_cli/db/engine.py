"""One engine factory for SQLite and PostgreSQL, sessions, and the schema check.

SQLite: WAL, foreign keys, a busy timeout, and `BEGIN IMMEDIATE` for write sessions so
that concurrent writers queue on the busy timeout instead of failing on a lock upgrade.
PostgreSQL: psycopg 3 with pre-ping and a connect timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from stock_cli.config import Settings, get_settings, mask_url
from stock_cli.db.errors import translate_db_errors

# The newest migration, a constant: the schema check at start-up is one SELECT, without
# importing Alembic (tests assert it equals Alembic's head).
from stock_cli.db.revision import HEAD_REVISION as HEAD_REVISION
from stock_cli.errors import DatabaseError, SchemaOutOfDateError

log = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
_checked: set[str] = set()


def is_sqlite(url: str | sa.URL) -> bool:
    return str(url).startswith("sqlite")


def sqlite_path(url: str) -> Path | None:
    parsed = sa.make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    database = parsed.database
    if parsed.query.get("uri") == "true" and database.startswith("file:"):
        if parsed.query.get("mode") == "ro":
            return None  # opened read-only: never create it
        database = database.removeprefix("file:")
    return Path(database)


def create_db_engine(url: str, *, settings: Settings | None = None) -> Engine:
    """Build an engine for `url` with the connection settings this project relies on."""
    settings = settings or get_settings()
    if is_sqlite(url):
        return _sqlite_engine(url, busy_timeout=settings.db_busy_timeout)
    try:
        return sa.create_engine(
            url,
            pool_pre_ping=True,
            hide_parameters=True,  # parameters can be secrets (stored API keys): never logged
            connect_args={
                "connect_timeout": settings.db_connect_timeout,
                "application_name": "stock-cli",
            },
        )
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise DatabaseError(f"invalid database URL {mask_url(url)}: {exc}") from exc


def _sqlite_engine(url: str, *, busy_timeout: float) -> Engine:
    # hide_parameters: statement parameters can be secrets (stored API keys), never logged
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            with contextlib.suppress(Exception):  # a read-only file cannot switch modes
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # no transaction: VACUUM and friends refuse to run inside one
        immediate = options.get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def prepare_sqlite_file(path: Path, *, private_dir: bool) -> None:
    """Create the database file with mode 0600 (and its folder 0700) before SQLite does."""
    if private_dir:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
    if not path.parent.is_dir():
        raise DatabaseError(
            f"cannot create the database {path}: folder {path.parent} does not exist"
        )
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def get_engine(url: str | None = None, *, check_schema: bool = True) -> Engine:
    """The engine for `url` (default: the configured database), schema checked once."""
    settings = get_settings()
    url = url or settings.effective_database_url()
    engine = _engines.get(url)
    if engine is None:
        path = sqlite_path(url)
        if path is not None:
            prepare_sqlite_file(path, private_dir=settings.uses_default_database())
        engine = create_db_engine(url, settings=settings)
        _engines[url] = engine
    if check_schema and url not in _checked:
        ensure_schema(engine)
        _checked.add(url)
    return engine


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _checked.clear()


def current_revision(conn: sa.Connection) -> str | None:
    # A catalog lookup rather than sa.inspect(): no reflection machinery at start-up.
    if conn.dialect.name == "postgresql":
        exists = conn.execute(sa.text("SELECT to_regclass('alembic_version')")).scalar()
    else:
        exists = conn.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
        ).scalar()
    if not exists:
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Upgrade an embedded SQLite database on first use; refuse a PostgreSQL one that is behind."""
    with translate_db_errors(engine):
        with engine.connect() as conn:
            current = current_revision(conn)
        if current == HEAD_REVISION:
            return
        if current is not None and not _is_known_revision(current):
            raise DatabaseError(
                f"database schema is at {current}, which this version of stock-cli does not "
                f"know (head is {HEAD_REVISION}): upgrade stock-cli"
            )
        if not is_sqlite(engine.url):
            raise SchemaOutOfDateError(current, HEAD_REVISION)
        # Imported here, not above: Alembic costs start-up time and only an out-of-date
        # SQLite database needs it (migrate does not import this module: no cycle).
        from stock_cli.db.migrate import upgrade

        log.info("upgrading %s from %s to %s", engine.url, current or "empty", HEAD_REVISION)
        upgrade(engine, "head")


def _is_known_revision(revision: str) -> bool:
    from stock_cli.db.migrate import known_revisions

    return revision in known_revisions()


@contextlib.contextmanager
def session_scope(*, write: bool = False, url: str | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    `write=True` takes SQLite's write lock up front (BEGIN IMMEDIATE).
    """
    engine = get_engine(url)
    bind = engine.execution_options(sqlite_immediate=True) if write else engine
    with translate_db_errors(engine), Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
