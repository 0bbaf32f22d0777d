"""Schema operations behind `stock db …`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from stock_cli.config import get_settings
from stock_cli.db import migrate
from stock_cli.db.engine import current_revision, get_engine
from stock_cli.db.errors import translate_db_errors
from stock_cli.db.migrate import Revision


@dataclass(frozen=True)
class MigrationResult:
    database: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class SchemaStatus:
    database: str
    backend: str
    current: str | None
    head: str
    is_head: bool


def _current(engine_url: str | None = None) -> tuple[str, str | None]:
    engine = get_engine(engine_url, check_schema=False)
    with translate_db_errors(engine), engine.connect() as conn:
        return migrate.describe_url(engine), current_revision(conn)


def upgrade_database(*, revision: str = "head") -> MigrationResult:
    engine = get_engine(check_schema=False)
    database, before = _current()
    migrate.upgrade(engine, revision)
    return MigrationResult(database=database, before=before, after=_current()[1])


def downgrade_database(*, revision: str) -> MigrationResult:
    engine = get_engine(check_schema=False)
    database, before = _current()
    migrate.downgrade(engine, revision)
    return MigrationResult(database=database, before=before, after=_current()[1])


def print_upgrade_sql(*, revision: str, output: TextIO) -> None:
    """Offline mode: render the SQL for the configured database's dialect; connect to nothing."""
    url = get_settings().effective_database_url()
    migrate.upgrade_sql(url, revision, output=output)


def schema_status() -> SchemaStatus:
    engine = get_engine(check_schema=False)
    database, current = _current()
    head = migrate.head_revision()
    return SchemaStatus(
        database=database,
        backend=engine.dialect.name,
        current=current,
        head=head,
        is_head=current == head,
    )


def revision_history() -> list[Revision]:
    return migrate.history(_current()[1])
