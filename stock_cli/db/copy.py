"""`copy_database`: every table of one database into another, SQLite ↔ PostgreSQL.

The target is migrated to the same revision, then filled in ONE transaction: a copy that
is interrupted (Ctrl-C, kill -9, the target going away) leaves the target migrated and
empty, and the next copy starts it over. Before committing, every table of the target is
read back and its row count and checksum compared with the source's; a difference rolls
the whole copy back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from stock_cli.config import mask_url
from stock_cli.db.engine import HEAD_REVISION, current_revision, get_engine
from stock_cli.db.errors import translate_db_errors
from stock_cli.db.migrate import upgrade
from stock_cli.db.tables import (
    Chunk,
    TableSum,
    all_tables,
    count_rows,
    delete_all,
    read_rows,
    reset_sequences,
    row_loader,
    snapshot,
    summed,
    table_sums,
    write_rows,
)
from stock_cli.errors import StockError, UsageError
from stock_cli.results import Status

# Rows the migrations themselves write (the metric counters start at zero): a target
# holding only these is empty.
SEEDED = frozenset({"metric_counter"})


@dataclass
class TableReport:
    table: str
    rows: int
    source_sha256: str
    target_sha256: str

    @property
    def same(self) -> bool:
        return self.source_sha256 == self.target_sha256


@dataclass
class CopyReport:
    source: str
    target: str
    revision: str
    status: Status
    seconds: float
    tables: list[TableReport] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


OnTable = Callable[[str, int], None]


def copy_database(
    *,
    source_url: str | None = None,
    target_url: str,
    replace: bool = False,
    on_table: OnTable | None = None,
) -> CopyReport:
    """Copy the configured (or `source_url`) database into `target_url`."""
    started = time.perf_counter()
    source = get_engine(source_url)  # at head, or a clear error
    if str(source.url) == str(sa.make_url(target_url)):
        raise UsageError("the target is the source database")
    target = prepare_target(target_url)
    with translate_db_errors(source), source.connect() as read, snapshot(read) as view:
        sums = load_tables(
            target, lambda table: read_rows(view, table), replace=replace, on_table=on_table
        )
    return CopyReport(
        source=mask_url(source.url.render_as_string(hide_password=False)),
        target=mask_url(target_url),
        revision=HEAD_REVISION,
        status=Status.OK,
        seconds=round(time.perf_counter() - started, 3),
        tables=sums,
    )


def prepare_target(url: str) -> sa.Engine:
    """The target engine, its schema migrated to this code's head."""
    engine = get_engine(url, check_schema=False)
    with translate_db_errors(engine), engine.connect() as conn:
        revision = current_revision(conn)
    if revision is not None and revision != HEAD_REVISION:
        from stock_cli.db.migrate import known_revisions

        if revision not in known_revisions():
            raise StockError(
                f"the target database is at revision {revision}, newer than this stock-cli "
                f"knows (head is {HEAD_REVISION}): upgrade stock-cli"
            )
    upgrade(engine, "head")
    return engine


def load_tables(
    target: sa.Engine,
    chunks: Callable[[sa.Table], Iterable[Sequence[Any]]],
    *,
    replace: bool,
    on_table: OnTable | None = None,
    expected: dict[str, TableSum] | None = None,
) -> list[TableReport]:
    """Fill every table of `target` from `chunks(table)` (canonical rows in primary-key
    order) in one transaction, and compare what the target then holds with what was read
    (or with `expected`, a backup's manifest)."""
    writer = target.execution_options(sqlite_immediate=True)  # SQLite's write lock up front
    with translate_db_errors(target), writer.connect() as conn, conn.begin():
        held = {k: v for k, v in count_rows(conn).items() if v and k not in SEEDED}
        if held and not replace:
            listed = ", ".join(f"{k} ({v} rows)" for k, v in sorted(held.items()))
            raise UsageError(
                f"the target database already holds data: {listed}; use an empty database "
                "or {replace}",
                fields={"replace": "ask to replace its data"},
            )
        delete_all(conn)
        read: dict[str, TableSum] = {}
        for table in all_tables():
            load = row_loader(table)

            def write(chunk: Chunk, table: sa.Table = table, load: Any = load) -> None:
                write_rows(conn, table, [load(row) for row in chunk])

            read[table.name] = summed(chunks(table), write)
            if on_table:
                on_table(table.name, read[table.name].rows)
        reset_sequences(conn)
        written = table_sums(conn)
        reference = expected or read
        reports = [
            TableReport(name, written[name].rows, reference[name].sha256, written[name].sha256)
            for name in written
        ]
        different = [
            r.table
            for r in reports
            if not r.same or written[r.table].rows != reference[r.table].rows
        ]
        if different:
            raise StockError(
                f"the copied tables differ from their source: {', '.join(different)} "
                "(nothing was written)"
            )
    return reports
