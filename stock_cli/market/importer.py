"""`import_files`: local CSV histories into the database (the offline path).

Formats:
- yahoo: `Date,Open,High,Low,Close,Adj Close,Volume` in any column order (also the
  yfinance DataFrame dumps, with `Datetime`, time-zone-aware dates, `Dividends` and
  `Stock Splits` columns, newest first);
- stockstats: `date` as YYYYMMDD integers and lower-case column names.
The symbol comes from --symbol or the file name (`AAPL_2004-…csv`, `0700.HK.csv`,
yfinance's `4063-T-1d-….csv` → 4063.T).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import io
import itertools
import logging
import math
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from stock_cli.db.engine import session_scope
from stock_cli.errors import StockError, UsageError
from stock_cli.market.columns import BarColumns, in_range, increasing, validate_columns
from stock_cli.market.providers.base import Action, RawBar, number, optional_number
from stock_cli.market.store import store_columns
from stock_cli.market.symbols import _EXCHANGE_SUFFIXES, normalise_symbol
from stock_cli.market.validate import Rejection, validate_bars
from stock_cli.results import LoadResult, Status

log = logging.getLogger(__name__)

FORMATS = ("auto", "yahoo", "stockstats")
PROVIDER = "csv"
_YF_STEM = re.compile(r"^(?P<base>.+?)-(?P<suffix>[A-Z]{1,3})-\d+[a-z]+(?:-.*)?$")
_YF_PLAIN = re.compile(r"^(?P<base>[A-Za-z0-9^.=]+?)-\d+[a-z]+(?:-.*)?$")


@dataclass
class ParsedFile:
    symbol: str
    format: str
    bars: list[RawBar]
    actions: list[Action] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    lines: dict[dt.date, int] = field(default_factory=dict)  # first line of each date


@dataclass
class _FromFile:
    file: str


@dataclass
class ImportResult(LoadResult, _FromFile):
    """What importing one file did (its fields: the file, then LoadResult's)."""


def symbol_from_filename(path: Path) -> str:
    """`AAPL_2004-08-19_…_yahoo.csv` → AAPL; `4063-T-1d-bad-stock-split.csv` → 4063.T."""
    stem = path.name.removesuffix(".csv").removesuffix(".CSV").removesuffix(".txt")
    candidate = stem.split("_", 1)[0]
    if "_" not in stem:
        if match := _YF_STEM.match(stem):
            if match["suffix"] in _EXCHANGE_SUFFIXES:
                candidate = f"{match['base']}.{match['suffix']}"
        elif match := _YF_PLAIN.match(stem):
            candidate = match["base"]
    return normalise_symbol(candidate)


@dataclass(frozen=True)
class _Layout:
    """Where a file keeps each field."""

    format: str
    index: dict[str, int]
    date: int
    adj: int | None

    @property
    def has_actions(self) -> bool:
        return "dividends" in self.index or "stock splits" in self.index


@dataclass
class History:
    """A file's valid bars as columns, its corporate actions, and what was left out."""

    symbol: str
    format: str
    columns: BarColumns
    actions: list[Action]
    rejected: list[Rejection]
    warnings: list[Rejection]


def parse_csv(text: str, *, symbol: str, fmt: str = "auto") -> ParsedFile:
    """Parse a CSV history row by row; raises UsageError when the columns are not a known
    format. The reference for `read_history`'s columnar path (tests compare the two)."""
    header, rows = _read_rows(io.StringIO(text.lstrip("\ufeff"), newline=""))
    numbered = list(enumerate(rows, start=2))
    return _parse_rows(_layout(header, rows, fmt), _non_blank(numbered), symbol)


def read_histories(path: Path, *, symbol: str | None, fmt: str = "auto") -> list[History]:
    """The validated histories of a CSV file: one, or one a symbol when the file has a
    Symbol column (what `stock export` writes). `symbol` (else the file name) names the
    instrument of a file without that column."""
    fast = _read_with_arrow(path, symbol=symbol, fmt=fmt)
    if fast is not None:
        return [fast]
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header, rows = _read_rows(handle)
    layout = _layout(header, rows, fmt)
    column = layout.index.get("symbol")
    if column is None:
        name = symbol or symbol_from_filename(path)
        return [_history(layout, rows, range(2, len(rows) + 2), name)]
    groups: dict[str, tuple[list[list[str]], list[int]]] = {}
    for line, row in enumerate(rows, start=2):
        if len(row) > column and row[column].strip():
            group = groups.setdefault(row[column].strip(), ([], []))
            group[0].append(row)
            group[1].append(line)
    if symbol and len(groups) > 1:
        raise UsageError(
            f"the file holds {len(groups)} symbols: {{symbol}} names only one",
            fields={"symbol": "a symbol"},
        )
    return [
        _history(layout, group_rows, lines, symbol or normalise_symbol(cell))
        for cell, (group_rows, lines) in groups.items()
    ]


def read_history(path: Path, *, symbol: str, fmt: str = "auto") -> History:
    """The validated history of a one-symbol CSV file (see `read_histories`)."""
    return read_histories(path, symbol=symbol, fmt=fmt)[0]


def _history(layout: _Layout, rows: list[list[str]], lines: Sequence[int], symbol: str) -> History:
    """A well-formed file (one row a date, oldest or newest first, every cell a number) is
    read as columns; any other row by row, wording a reason for every row it leaves out."""
    fast = _read_columns(layout, rows, symbol, lines)
    if fast is not None:
        return fast
    numbered = [(line, row) for line, row in zip(lines, rows, strict=True)]
    parsed = _parse_rows(layout, _non_blank(numbered), symbol)
    checked = validate_bars(parsed.bars)
    at = parsed.lines
    return History(
        symbol,
        parsed.format,
        BarColumns.from_bars(checked.bars),
        parsed.actions,
        [
            *parsed.rejected,
            *(
                Rejection(r.date, f"line {at[r.date]}: {r.reason}" if r.date else r.reason)
                for r in checked.rejected
            ),
        ],
        checked.warnings,
    )


def _read_rows(handle: Iterable[str]) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(handle)
    try:
        header = next(reader)
        rows = list(reader)
    except StopIteration:
        raise UsageError("the file is empty") from None
    except csv.Error as exc:
        raise UsageError(f"malformed CSV near line {reader.line_num}: {exc}") from None
    return header, rows


def _non_blank(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """The (line number, row) pairs with something in the row."""
    return [(line, row) for line, row in rows if row and any(cell.strip() for cell in row)]


def _layout(header: list[str], rows: list[list[str]], fmt: str) -> _Layout:
    names = [h.strip().lower().replace("_", " ") for h in header]
    detected = _detect(names, rows) if fmt == "auto" else fmt
    if detected not in ("yahoo", "stockstats"):
        raise UsageError(f"unknown CSV format {fmt!r}: use yahoo, stockstats or auto")
    index = {name: i for i, name in enumerate(names)}
    date_col = next((index[n] for n in ("date", "datetime", "timestamp") if n in index), None)
    missing = [n for n in ("open", "high", "low", "close", "volume") if n not in index]
    if date_col is None or missing:
        raise UsageError(
            f"not a {detected} CSV: missing column(s) {', '.join(missing or ['date'])} "
            f"(header: {','.join(header)[:120]})"
        )
    return _Layout(detected, index, date_col, index.get("adj close", index.get("adjclose")))


def _read_columns(
    layout: _Layout, rows: list[list[str]], symbol: str, lines: Sequence[int]
) -> History | None:
    """The columnar path: None when the file needs the row by row one."""
    width = len(layout.index)
    if layout.format != "yahoo" or layout.has_actions or not rows:
        return None
    if not all(rows) or set(map(len, rows)) != {width}:
        return None  # blank lines or ragged rows
    columns = list(zip(*rows, strict=True))
    if set(map(len, columns[layout.date])) != {10}:
        return None  # not plain YYYY-MM-DD dates
    try:
        dates = list(map(dt.date.fromisoformat, columns[layout.date]))
        o, h, low, c, v = (list(map(float, columns[layout.index[n]])) for n in _OHLCV)
    except ValueError:
        return None
    adj = _numbers(columns[layout.adj]) if layout.adj is not None else [math.nan] * len(dates)
    # the text is the store's key on SQLite when it is canonical (fromisoformat also reads
    # week dates such as 2024-W01-1)
    text = columns[layout.date]
    days = list(text) if "W" not in "".join(text) else [d.isoformat() for d in dates]
    if not increasing(dates):
        dates.reverse()  # yfinance dumps are newest first
        if not increasing(dates):
            return None
        for column in (o, h, low, c, v, adj, days):
            column.reverse()
        lines = lines[::-1]
    if not in_range(dates):
        return None
    checked = validate_columns(days, (o, h, low, c), v, adj, lines=lines)
    return History(symbol, "yahoo", checked.columns, [], checked.rejected, checked.warnings)


_OHLCV = ("open", "high", "low", "close", "volume")


def _read_with_arrow(path: Path, *, symbol: str | None, fmt: str) -> History | None:
    """A plain Yahoo file read by Arrow's CSV parser (C++, ten times the csv module and
    float()), when pyarrow is installed (the parquet extra); None when the file or the
    installation needs the Python readers. Same rules, same results (tests compare)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as arrow_csv
    except ImportError:
        return None
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
        first = next(csv.reader(handle), None)
    if not header or not first:
        return None
    layout = _layout(header, [first], fmt)
    repeated = len(layout.index) != len(header)  # two columns of one name
    if layout.format != "yahoo" or layout.has_actions or "symbol" in layout.index or repeated:
        return None
    numeric = [
        *(layout.index[n] for n in _OHLCV),
        *([layout.adj] if layout.adj is not None else []),
    ]
    try:
        table = arrow_csv.read_csv(
            path,
            read_options=arrow_csv.ReadOptions(
                use_threads=False,
                column_names=[f"c{i}" for i in range(len(header))],
                skip_rows=1,
            ),
            parse_options=arrow_csv.ParseOptions(ignore_empty_lines=False),
            convert_options=arrow_csv.ConvertOptions(
                column_types={
                    **{f"c{i}": pa.string() for i in range(len(header))},
                    **{f"c{i}": pa.float64() for i in numeric},
                },
                null_values=[""],
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None  # a cell that is not a number, a short row…: the Python readers say which
    return _arrow_history(table, layout, symbol or symbol_from_filename(path))


def _arrow_history(table: Any, layout: _Layout, symbol: str) -> History | None:
    import numpy as np

    days: list[str] = table.column(f"c{layout.date}").to_pylist()
    if not days or set(map(len, days)) != {10}:
        return None
    try:
        stamps = np.array(days, dtype="datetime64[D]")
    except ValueError:
        return None
    if not (np.datetime_as_string(stamps) == np.array(days)).all():
        return None  # not written YYYY-MM-DD
    columns = [table.column(f"c{layout.index[n]}").to_numpy(zero_copy_only=False) for n in _OHLCV]
    if layout.adj is not None:
        adj = table.column(f"c{layout.adj}").to_numpy(zero_copy_only=False)
    else:
        adj = np.full(len(days), np.nan)
    lines: Sequence[int] = range(2, len(days) + 2)
    steps = np.diff(stamps.astype(np.int64))
    if not (steps > 0).all():
        if not (steps < 0).all():
            return None  # unsorted or a date twice: the Python readers decide
        days, lines = days[::-1], lines[::-1]
        columns, adj = [c[::-1] for c in columns], adj[::-1]
    if not in_range([dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])]):
        return None
    o, h, low, c, v = (np.asarray(x, dtype=np.float64) for x in columns)
    checked = validate_columns(
        days, (o, h, low, c), v, np.asarray(adj, dtype=np.float64), lines=lines
    )
    return History(symbol, "yahoo", checked.columns, [], checked.rejected, checked.warnings)


def _numbers(cells: Sequence[str]) -> list[float]:
    """Floats, NaN for a cell that is not a number (an empty adjusted close)."""
    try:
        return list(map(float, cells))
    except ValueError:
        return [number(cell) for cell in cells]


def _parse_rows(layout: _Layout, rows: list[tuple[int, list[str]]], symbol: str) -> ParsedFile:
    index, date_col, adj_col = layout.index, layout.date, layout.adj
    parsed = ParsedFile(symbol=symbol, format=layout.format, bars=[])
    for line_no, row in rows:
        day = _date(
            row[date_col] if date_col < len(row) else "", stockstats=layout.format == "stockstats"
        )
        if day is None:
            parsed.rejected.append(
                Rejection(None, f"line {line_no}: bad date {row[date_col : date_col + 1]}")
            )
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = index[name]
            return row[i] if i < len(row) else ""

        adj = optional_number(row[adj_col]) if adj_col is not None and adj_col < len(row) else None
        parsed.lines.setdefault(day, line_no)
        parsed.bars.append(
            RawBar(
                date=day,
                open=number(cell("open")),
                high=number(cell("high")),
                low=number(cell("low")),
                close=number(cell("close")),
                volume=number(cell("volume")),
                adj_close=adj,
            )
        )
        amount = optional_number(cell("dividends")) if "dividends" in index else None
        if amount is not None and amount > 0:
            parsed.actions.append(Action(date=day, kind="dividend", value=amount))
        ratio = optional_number(cell("stock splits")) if "stock splits" in index else None
        if ratio is not None and ratio > 0 and ratio != 1.0:
            parsed.actions.append(
                Action(date=day, kind="split", value=ratio, numerator=ratio, denominator=1.0)
            )
    return parsed


def _detect(names: list[str], rows: list[list[str]]) -> str:
    if "date" in names:
        column = names.index("date")
        filled = (row for row in rows if any(cell.strip() for cell in row))
        first = next((row[column].strip() for row in filled if len(row) > column), "")
        if re.fullmatch(r"\d{8}(\.0*)?", first):
            return "stockstats"
    return "yahoo"


def _date(text: str, *, stockstats: bool) -> dt.date | None:
    text = text.strip()
    try:
        if re.fullmatch(r"\d{8}(\.0*)?", text):  # 20040817, or 19991110.0 from a float column
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        if stockstats and not text:
            return None
        # "2023-04-14", "2023-04-14 00:00:00+09:00", "2018-01-05T00:00:00.000Z": the
        # calendar date is the exchange's date, so keep it as written.
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def import_files(
    *,
    paths: list[Path],
    symbol: str | None = None,
    fmt: str = "auto",
    on_result: Callable[[ImportResult], None] | None = None,
) -> list[ImportResult]:
    """Import each file in its own transaction; a bad file is reported, never half-stored."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if symbol and len(paths) > 1:
        raise UsageError(
            "{symbol} names one instrument: give one file with it",
            fields={"symbol": "a symbol"},
        )
    results = []
    for batch in _imported(paths, symbol=symbol, fmt=fmt):
        for result in batch:
            results.append(result)
            if on_result:
                on_result(result)
    return results


WRITERS = 3  # PostgreSQL connections storing files at once (measured: 2 → 0.80×, 3 → 1.02×)


def _imported(paths: list[Path], *, symbol: str | None, fmt: str) -> Iterator[list[ImportResult]]:
    """Each file's results, in order. PostgreSQL does most of an import's work in the
    server, one core a connection: WRITERS connections store as many files at once. SQLite
    has one writer: a second process parses ahead instead (`_read_ahead`)."""
    from stock_cli.db.engine import get_engine

    if len(paths) < 2 or get_engine().dialect.name != "postgresql":
        reads = _read_ahead(paths, symbol=symbol, fmt=fmt)
        yield from (_store_file(path, read) for path, read in zip(paths, reads, strict=True))
        return
    from concurrent.futures import ThreadPoolExecutor

    def one(path: Path) -> list[ImportResult]:
        return _store_file(path, _read_file(path, symbol, fmt))

    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="import") as pool:
        yield from _in_order(pool, one, paths, ahead=WRITERS * 2)


@dataclass
class _Read:
    """What reading one file gave: its histories, or why it failed. Crosses processes."""

    canonical: str | None
    histories: list[History]
    error: tuple[str, str] | None = None  # (type, message)


def _read_file(path: Path, symbol: str | None, fmt: str) -> _Read:
    canonical: str | None = None
    try:
        given = normalise_symbol(symbol) if symbol else None
        canonical = given or symbol_from_filename(path)
        return _Read(canonical, read_histories(path, symbol=given, fmt=fmt))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        return _Read(canonical, [], ("io", f"cannot read {path}: {reason}"))
    except StockError as exc:
        return _Read(canonical, [], (exc.type, exc.message))


READ_AHEAD = 3  # files parsed ahead of the one being stored
PARALLEL_BYTES = 8 << 20  # below this much CSV, a second process costs more than it saves


def _read_ahead(paths: list[Path], *, symbol: str | None, fmt: str) -> Iterator[_Read]:
    """Each file read, in order. For a big import a second process parses the next files
    while this one stores the current one: parsing and writing take about as long each,
    so the import runs at the speed of the slower of the two instead of their sum."""
    if len(paths) < 2 or (os.cpu_count() or 1) < 2 or _size(paths) < PARALLEL_BYTES:
        yield from (_read_file(path, symbol, fmt) for path in paths)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: the child must not inherit this process's database connections
    context = multiprocessing.get_context("spawn")
    done = 0
    try:
        with ProcessPoolExecutor(
            max_workers=1,
            mp_context=context,
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            read = functools.partial(_read_file, symbol=symbol, fmt=fmt)
            for result in _in_order(pool, read, paths, ahead=READ_AHEAD):
                done += 1
                yield result
    except BrokenProcessPool:
        # The reader could not start (a calling script without a __main__ guard, no
        # semaphores in a sandbox…): read the rest here, only slower.
        log.info("reading the remaining files in this process", exc_info=True)
        yield from (_read_file(path, symbol, fmt) for path in paths[done:])


T = TypeVar("T")
R = TypeVar("R")


def _in_order(pool: Executor, work: Callable[[T], R], items: list[T], *, ahead: int) -> Iterator[R]:
    """`work` of each item, run by `pool` at most `ahead` items in advance, in order."""
    queued: deque[Future[R]] = deque()
    waiting = iter(items)
    for item in itertools.islice(waiting, ahead):
        queued.append(pool.submit(work, item))
    while queued:
        done = queued.popleft().result()
        following = next(waiting, None)
        if following is not None:
            queued.append(pool.submit(work, following))
        yield done


def _exit_with_parent(parent: int) -> None:
    """In the reader process: leave when the importing process is gone. A worker of a
    process pool outlives a parent killed with SIGKILL, waiting for work for ever."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


SHOWN_REJECTIONS = 5  # a file's first rejected rows are shown; -v lists them all


def _report_problems(name: str, history: History) -> None:
    for i, problem in enumerate(history.rejected):
        level = logging.WARNING if i < SHOWN_REJECTIONS else logging.INFO
        log.log(level, "%s: %s", name, problem.reason)
    if len(history.rejected) > SHOWN_REJECTIONS:
        more = len(history.rejected) - SHOWN_REJECTIONS
        log.warning("%s: %d more rejected rows (-v lists them)", name, more)
    for warning in history.warnings:
        log.info("%s: %s: %s", name, warning.date, warning.reason)


def _store_file(path: Path, read: _Read) -> list[ImportResult]:
    """One file in one transaction: a result for each symbol in it."""
    name, canonical, histories = str(path), read.canonical, read.histories
    if read.error:
        return [_failed(name, canonical, None, *read.error)]
    if not histories:
        return [_failed(name, canonical, PROVIDER, "no_data", f"no bars in {name}")]
    results: dict[str, ImportResult] = {}
    for history in histories:
        _report_problems(name, history)
        if not history.columns:
            rejected = len(history.rejected)
            message = f"no valid bars in {name}" + (f" ({rejected} rejected)" if rejected else "")
            results[history.symbol] = _failed(name, history.symbol, PROVIDER, "no_data", message)
            results[history.symbol].rejected = rejected
    try:
        with session_scope(write=True) as session:
            for history in histories:
                if history.symbol in results:
                    continue
                stats = store_columns(
                    session,
                    symbol=history.symbol,
                    provider=PROVIDER,
                    columns=history.columns,
                    actions=history.actions,
                )
                results[history.symbol] = ImportResult(
                    file=name,
                    symbol=history.symbol,
                    provider=PROVIDER,
                    status=Status.OK,
                    new=stats.new,
                    updated=stats.updated,
                    rejected=len(history.rejected),
                    warnings=len(history.warnings),
                    first_date=stats.first_date,
                    last_date=stats.last_date,
                )
    except StockError as exc:
        return [_failed(name, h.symbol, PROVIDER, exc.type, exc.message) for h in histories]
    return [results[h.symbol] for h in histories]


def _failed(
    name: str, symbol: str | None, provider: str | None, kind: str, message: str
) -> ImportResult:
    return ImportResult(
        name, symbol, provider, Status.FAILED, error={"type": kind, "message": message}
    )
