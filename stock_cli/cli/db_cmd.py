"""`stock db …`: schema migrations (Alembic)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from stock_cli import output
from stock_cli.cli.common import JsonOption, flag, new_app
from stock_cli.cli.view import Col, announce, number, show
from stock_cli.errors import UsageError

app = new_app("The database: schema (upgrade, downgrade, current, history), backup, restore, copy.")

Revision = Annotated[str, typer.Argument(help="Target revision (an id, head, base, +1, -1).")]


@app.command("upgrade")
def upgrade(
    revision: Revision = "head",
    sql: Annotated[bool, flag("--sql", help="Print the SQL instead of running it.")] = False,
) -> None:
    """Upgrade the database schema (default: to the newest revision).

    Example: stock --db postgresql+psycopg://me@db/stock db upgrade
    """

    from stock_cli.db import service

    if sql:
        service.print_upgrade_sql(revision=revision, output=sys.stdout)
        return
    result = service.upgrade_database(revision=revision)
    output.message(f"{result.database}: schema {result.before or 'empty'} → {result.after}")


@app.command("downgrade")
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision (an id, base, -1).")],
) -> None:
    """Downgrade the schema to REVISION (`base` drops every table: data is lost).

    Example: stock db downgrade base
    """

    from stock_cli.db import service

    result = service.downgrade_database(revision=revision)
    output.message(
        f"{result.database}: schema {result.before or 'empty'} → {result.after or 'base'}"
    )


@app.command("current")
def current(json_output: JsonOption = False) -> None:
    """Print the database's schema revision and whether it is the newest.

    Example: stock db current --json
    """

    from stock_cli.db import service

    status = service.schema_status()
    if json_output:
        output.print_json(status)
        return
    state = "head" if status.is_head else f"behind head {status.head}"
    typer.echo(f"{status.current or 'base (empty)'} ({state})  {status.database}")


@app.command("history")
def history(json_output: JsonOption = False) -> None:
    """List the schema revisions, newest first.

    Example: stock db history
    """

    from stock_cli.db import service

    revisions = service.revision_history()
    columns = [
        Col("revision", "Revision", style="bold"),
        Col("down_revision", "Down"),
        Col("description", "Description"),
        Col(
            "marks",
            "",
            value=lambda r: " ".join(
                t for t, on in (("head", r.is_head), ("current", r.is_current)) if on
            ),
        ),
    ]
    show(revisions, columns, json_output=json_output, document={"revisions": revisions})


ReplaceOption = Annotated[
    bool, flag("--replace", help="Overwrite a target database that holds data.")
]
TABLE_COLUMNS = [
    Col("table", "Table"),
    number("rows", "Rows"),
    Col("same", "Checksums", value=lambda t: "equal" if t.same else "DIFFERENT"),
    Col("target_sha256", "SHA-256", value=lambda t: t.target_sha256[:16]),
]


@app.command("copy")
def copy(
    to: Annotated[str, typer.Option("--to", help="URL of the target database.")],
    replace: ReplaceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Copy every table into another database (SQLite ↔ PostgreSQL), all or nothing.

    The target is migrated to the same revision and filled in one transaction; counts and
    checksums of every table are compared before it commits.

    Example: stock db copy --to postgresql+psycopg://me@db/stock
    """
    from stock_cli.db.copy import copy_database

    with _table_progress("copying", json_output) as on_table:
        report = copy_database(target_url=to, replace=replace, on_table=on_table)
    title = f"{report.source} → {report.target}: {report.rows:,} rows in {report.seconds} s"
    show(report.tables, TABLE_COLUMNS, json_output=json_output, document=report, title=title)


FileArg = Annotated[Path, typer.Argument(help="Backup file.")]


@app.command("backup")
def backup(
    file: FileArg,
    verify: Annotated[
        bool, flag("--verify", help="Check FILE (manifest, checksums); change nothing.")
    ] = False,
    encrypt: Annotated[
        bool, flag("--encrypt", help="Encrypt with STOCK_BACKUP_PASSPHRASE.")
    ] = False,
    no_compress: Annotated[bool, flag("--no-compress", help="Do not gzip.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Back the database up into FILE while it stays in use (or check a backup).

    Example: stock db backup ~/backups/stock-$(date +%F).tar.gz --encrypt
    """
    from stock_cli.db.backup import backup_database, verify_backup

    passphrase = _passphrase()
    if verify:
        manifest = verify_backup(path=file, passphrase=passphrase)
        announce(
            manifest,
            f"{file}: ok — {manifest.kind} backup of revision {manifest.schema_revision}, "
            f"{manifest.rows:,} rows, made {manifest.created_at}",
            json_output=json_output,
        )
        return
    if encrypt and passphrase is None:
        raise UsageError("STOCK_BACKUP_PASSPHRASE is not set: it is the encryption passphrase")
    with _table_progress("backing up", json_output) as on_table:
        report = backup_database(
            path=file,
            compress=not no_compress,
            passphrase=passphrase if encrypt else None,
            on_table=on_table,
        )
    announce(
        report,
        f"{report.database} → {file}: {report.rows:,} rows, {report.bytes:,} bytes"
        + (", encrypted" if report.encrypted else ""),
        json_output=json_output,
    )


@app.command("restore")
def restore(
    file: FileArg,
    replace: ReplaceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Restore a backup into the configured database, all or nothing.

    Example: stock --db sqlite:///restored.db db restore stock-20261130.tar.gz
    """
    from stock_cli.db.backup import restore_database

    with _table_progress("restoring", json_output) as on_table:
        report = restore_database(
            path=file, passphrase=_passphrase(), replace=replace, on_table=on_table
        )
    title = f"{file} → {report.database}: {report.rows:,} rows"
    show(report.tables, TABLE_COLUMNS, json_output=json_output, document=report, title=title)


@contextmanager
def _table_progress(label: str, json_output: bool) -> Iterator[Callable[[str, int], None]]:
    """A progress bar that advances a table at a time (not in --json mode)."""
    from stock_cli.cli.progress import progress_bar
    from stock_cli.db.tables import all_tables

    with progress_bar(len(all_tables()), label=label, enabled=not json_output) as advance:
        yield lambda name, _rows: advance(name)


def _passphrase() -> str | None:
    from stock_cli.config import get_settings

    secret = get_settings().backup_passphrase
    return secret.get_secret_value() if secret else None
