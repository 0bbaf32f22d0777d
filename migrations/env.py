"""Alembic environment for stock-cli.

The URL comes from the Alembic config when `stock db …` set it, else from the stock-cli
settings. `stock` passes an open connection in `config.attributes["connection"]` so that
migrations run with the project's SQLite pragmas and in the caller's transaction.
SQLite uses batch mode (ALTER TABLE by copy); `--sql` renders offline SQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import stock_cli.db.all_models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from stock_cli.config import get_settings

    return get_settings().effective_database_url()


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render our UTCDateTime as the plain column type it stores (migrations stay portable)."""
    from stock_cli.db.types import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: object) -> None:
    url = str(kwargs.get("url") or "")
    connection = kwargs.get("connection")
    dialect = connection.dialect.name if isinstance(connection, Connection) else url.split(":")[0]
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=dialect.startswith("sqlite"),
        compare_type=True,
        render_item=_render_item,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from stock_cli.db.engine import create_db_engine

    engine = create_db_engine(_url())
    with engine.begin() as conn:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
