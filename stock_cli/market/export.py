"""`export_bars`: stored bars out to CSV, JSON Lines or Parquet, one file or one a symbol.

The CSV has the columns `stock import` reads (`Symbol,Date,Open,High,Low,Close,Adj Close,
Volume`), every float written exactly (shortest round-trip text), so export → import gives
back the same bars. Only final bars are exported: a bar whose session was still open when
it was fetched is left out. Rows come from the driver without ORM objects: SQLite returns
them ready for `csv.writer`, PostgreSQL formats the CSV itself (COPY … TO STDOUT).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session

from stock_cli.errors import ADJUST_FIELD, NotFoundError, UsageError, reversed_range

FORMATS = ("csv", "jsonl", "parquet")
HEADER = ("Symbol", "Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")
_FIELDS = ("symbol", "date", "open", "high", "low", "close", "adj_close", "volume")
_SUFFIX = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}


@dataclass
class ExportReport:
    format: str
    symbols: int
    bars: int
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Query:
    start: dt.date | None
    end: dt.date | None
    adjust: str

    def sql(self, *, postgres: bool) -> tuple[str, list[Any]]:
        mark = "%s" if postgres else "?"
        if self.adjust == "adjusted":  # as `stock bars --adjust adjusted` computes them
            factor = "(adj_close / close)"
            keep = "adj_close IS NULL OR close <= 0"
            prices = ", ".join(
                f"CASE WHEN {keep} THEN {p} ELSE {p} * {factor} END"
                for p in ("open", "high", "low")
            )
            prices += f", CASE WHEN {keep} THEN close ELSE adj_close END"
        else:
            prices = "open, high, low, close"
        # A whole volume reads 100.0 from SQLite and 100 from PostgreSQL: both exact, and
        # turning 100.0 into 100 in SQL costs more than the whole export may
        sql = (
            f"SELECT {mark}, date, {prices}, adj_close, volume FROM price_bar "
            f"WHERE instrument_id = {mark} AND NOT provisional"
        )
        params: list[Any] = []
        if self.start:
            sql += f" AND date >= {mark}"
            params.append(self.start if postgres else self.start.isoformat())
        if self.end:
            sql += f" AND date <= {mark}"
            params.append(self.end if postgres else self.end.isoformat())
        return sql + " ORDER BY date", params


def export_bars(
    session: Session,
    *,
    symbols: Sequence[str] | None = None,
    fmt: str = "csv",
    output: Path | None = None,
    per_symbol: Path | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    adjust: str = "none",
    on_symbol: Callable[[str], None] | None = None,
) -> ExportReport:
    """Write the bars of `symbols` (canonical; None: every stored symbol) to `output`
    (None: stdout) or to one file a symbol in the folder `per_symbol`."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if adjust not in ("none", "adjusted"):
        raise UsageError("{adjust} must be none or adjusted", fields=ADJUST_FIELD)
    if start and end and start > end:
        raise reversed_range(start, end)
    if output is not None and per_symbol is not None:
        raise UsageError(
            "give {output} or {per_symbol}, not both",
            fields={"output": "one file", "per_symbol": "a folder for one file a symbol"},
        )
    instruments = _instruments(session, symbols)
    query = _Query(start, end, adjust)
    conn = session.connection()
    report = ExportReport(format=fmt, symbols=len(instruments), bars=0)
    if per_symbol is not None:
        from stock_cli.files import made_folder

        made_folder(per_symbol)
        for symbol, instrument_id in instruments:
            path = per_symbol / f"{symbol}{_SUFFIX[fmt]}"
            report.bars += _write(conn, fmt, [(symbol, instrument_id)], query, path, on_symbol)
            report.files.append(str(path))
    else:
        report.bars = _write(conn, fmt, instruments, query, output, on_symbol)
        report.files.append(str(output) if output else "-")
    return report


def _instruments(session: Session, symbols: Sequence[str] | None) -> list[tuple[str, int]]:
    rows = session.execute(sa.text("SELECT symbol, id FROM instrument ORDER BY symbol")).all()
    stored = {r[0]: int(r[1]) for r in rows}
    if symbols is None:
        return list(stored.items())
    missing = [s for s in symbols if s not in stored]
    if missing:
        raise NotFoundError(f"no stored data for {', '.join(missing)}")
    return [(s, stored[s]) for s in dict.fromkeys(symbols)]


def _write(
    conn: sa.Connection,
    fmt: str,
    instruments: list[tuple[str, int]],
    query: _Query,
    path: Path | None,
    on_symbol: Callable[[str], None] | None,
) -> int:
    postgres = conn.dialect.name == "postgresql"
    driver = conn.connection.driver_connection
    with opened_output(path, binary=fmt == "parquet" or (fmt == "csv" and postgres)) as out:
        writer = _WRITERS[fmt](out, postgres)
        count = 0
        for symbol, instrument_id in instruments:
            sql, params = query.sql(postgres=postgres)
            count += writer.write(driver, sql, [symbol, instrument_id, *params])
            if on_symbol:
                on_symbol(symbol)
        writer.close()
    return count


@contextlib.contextmanager
def opened_output(path: Path | None, *, binary: bool) -> Iterator[Any]:
    """Where an export writes: stdout, or a file written whole (never half a file)."""
    if path is None:
        yield sys.stdout.buffer if binary else sys.stdout
        (sys.stdout.buffer if binary else sys.stdout).flush()
        return
    from stock_cli.files import written_whole

    with written_whole(path, binary=binary) as out:
        yield out


class _CsvWriter:
    def __init__(self, out: IO[Any], postgres: bool) -> None:
        self.out, self.postgres = out, postgres
        header = ",".join(HEADER) + "\n"
        if postgres:
            out.write(header.encode())
        else:
            out.write(header)
            self.csv = csv.writer(out, lineterminator="\n")

    def write(self, driver: Any, sql: str, params: list[Any]) -> int:
        if not self.postgres:
            rows = driver.execute(sql, params).fetchall()
            self.csv.writerows(rows)
            return len(rows)
        from psycopg import ClientCursor

        with ClientCursor(driver) as cursor:  # COPY takes no parameters: bound client-side
            statement = cursor.mogrify(sql, params)
            with cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv)") as copy:
                for block in copy:
                    self.out.write(block)
            return int(cursor.rowcount)

    def close(self) -> None:
        return None


class _JsonLinesWriter:
    def __init__(self, out: IO[str], postgres: bool) -> None:
        self.out = out

    def write(self, driver: Any, sql: str, params: list[Any]) -> int:
        with contextlib.closing(driver.cursor()) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        for row in rows:
            record = dict(zip(_FIELDS, row, strict=True))
            record["date"] = str(record["date"])
            self.out.write(json.dumps(record) + "\n")
        return len(rows)

    def close(self) -> None:
        return None


class _ParquetWriter:
    def __init__(self, out: IO[bytes], postgres: bool) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError(
                "Parquet export needs pyarrow: pip install 'stock-cli[parquet]'"
            ) from None
        self.pa = pa
        self.schema = pa.schema(
            [("symbol", pa.string()), ("date", pa.date32())]
            + [(n, pa.float64()) for n in ("open", "high", "low", "close", "adj_close", "volume")]
        )
        self.writer = pq.ParquetWriter(out, self.schema, compression="zstd")

    def write(self, driver: Any, sql: str, params: list[Any]) -> int:
        with contextlib.closing(driver.cursor()) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            return 0
        columns = list(zip(*rows, strict=True))
        dates = [d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in columns[1]]
        arrays = [self.pa.array(columns[0], self.pa.string()), self.pa.array(dates)]
        arrays += [self.pa.array([_float(v) for v in c], self.pa.float64()) for c in columns[2:]]
        self.writer.write_table(self.pa.Table.from_arrays(arrays, schema=self.schema))
        return len(rows)

    def close(self) -> None:
        self.writer.close()


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


_WRITERS: dict[str, Callable[[Any, bool], Any]] = {
    "csv": _CsvWriter,
    "jsonl": _JsonLinesWriter,
    "parquet": _ParquetWriter,
}
