"""Alembic, driven from code so that it works from an installed wheel.

The migration scripts live in `migrations/` at the top of the checkout and inside the
wheel as `stock_cli/migrations`; `migrations_dir()` finds whichever is there.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TextIO

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from stock_cli.config import mask_url
from stock_cli.db.errors import translate_db_errors
from stock_cli.errors import NotFoundError, StockError

MIGRATION_LOCK = 0x53544B_4D4947  # "STK" "MIG": one advisory lock key for schema changes


def migrations_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise StockError("the Alembic migrations are missing from this installation")


def alembic_config(url: str, *, output: TextIO | None = None) -> Config:
    cfg = Config(stdout=output or io.StringIO())
    cfg.set_main_option("script_location", str(migrations_dir()))
    # `%` is ConfigParser interpolation syntax; escape it in URLs with encoded characters.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if output is not None:
        cfg.output_buffer = output
    return cfg


@cache
def known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(rev.revision for rev in script.walk_revisions())


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


def _run(engine: Engine, fn: Any, *args: Any, **kwargs: Any) -> None:
    """Run an Alembic command on one of our engines (its SQLite pragmas included)."""
    url = engine.url.render_as_string(hide_password=False)
    cfg = alembic_config(url)
    with (
        translate_db_errors(engine),
        engine.execution_options(sqlite_immediate=True).begin() as conn,
    ):
        if conn.dialect.name == "postgresql":
            # two hosts upgrading at once: the second waits here, then finds the schema
            # at head and does nothing (SQLite's BEGIN IMMEDIATE serialises them already)
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        cfg.attributes["connection"] = conn
        fn(cfg, *args, **kwargs)


def _check_revision(revision: str) -> None:
    special = {"head", "heads", "base"}
    if revision in special or "+" in revision or "-" in revision or ":" in revision:
        return
    if revision not in known_revisions():
        raise NotFoundError(
            f"unknown revision {revision!r}; `stock db history` lists them",
        )


def upgrade(engine: Engine, revision: str = "head") -> None:
    _check_revision(revision)
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _check_revision(revision)
    _run(engine, command.downgrade, revision)


def upgrade_sql(url: str, revision: str = "head", *, output: TextIO) -> None:
    """Print the SQL of an upgrade for `url`'s dialect without connecting to it."""
    _check_revision(revision)
    command.upgrade(alembic_config(url, output=output), revision, sql=True)


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    description: str
    is_head: bool
    is_current: bool


def history(current: str | None) -> list[Revision]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = set(script.get_heads())
    revisions = []
    for rev in script.walk_revisions():
        down = rev.down_revision
        revisions.append(
            Revision(
                revision=rev.revision,
                down_revision=down if isinstance(down, str) or down is None else ",".join(down),
                description=rev.doc or "",
                is_head=rev.revision in heads,
                is_current=rev.revision == current,
            )
        )
    return revisions


def describe_url(engine: Engine) -> str:
    return mask_url(engine.url.render_as_string(hide_password=False))
