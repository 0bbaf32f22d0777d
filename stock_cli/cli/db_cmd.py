"""`stock db …`: schema migrations (Alembic)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from stock_cli import output
from stock_cli.cli.common import JsonOption, new_app
from stock_cli.cli.view import Col, show

app = new_app("Database schema: upgrade, downgrade, current revision, history.")

Revision = Annotated[str, typer.Argument(help="Target revision (an id, head, base, +1, -1).")]


@app.command("upgrade")
def upgrade(
    revision: Revision = "head",
    sql: Annotated[
        bool, typer.Option("--sql", help="Print the SQL instead of running it.")
    ] = False,
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
