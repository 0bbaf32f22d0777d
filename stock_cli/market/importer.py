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

import csv
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from stock_cli.db.engine import session_scope
from stock_cli.errors import StockError, UsageError
from stock_cli.market.providers.base import Action, RawBar, number, optional_number
from stock_cli.market.store import BarSet, store_bar_sets
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


def parse_csv(text: str, *, symbol: str, fmt: str = "auto") -> ParsedFile:
    """Parse a CSV history; raises UsageError when the columns are not a known format."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader)
        rows = [row for row in reader if row and any(cell.strip() for cell in row)]
    except StopIteration:
        raise UsageError("the file is empty") from None
    except csv.Error as exc:
        raise UsageError(f"malformed CSV near line {reader.line_num}: {exc}") from None
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
    adj_col = index.get("adj close", index.get("adjclose"))
    parsed = ParsedFile(symbol=symbol, format=detected, bars=[])
    for line_no, row in enumerate(rows, start=2):
        day = _date(
            row[date_col] if date_col < len(row) else "", stockstats=detected == "stockstats"
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
    if "date" in names and rows:
        first = rows[0][names.index("date")].strip()
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
    *, paths: list[Path], symbol: str | None = None, fmt: str = "auto"
) -> list[ImportResult]:
    """Import each file in its own transaction; a bad file is reported, never half-stored."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if symbol and len(paths) > 1:
        raise UsageError(
            "{symbol} names one instrument: give one file with it",
            fields={"symbol": "a symbol"},
        )
    return [_import_one(path, symbol=symbol, fmt=fmt) for path in paths]


def _import_one(path: Path, *, symbol: str | None, fmt: str) -> ImportResult:
    name = str(path)
    try:
        canonical = normalise_symbol(symbol) if symbol else symbol_from_filename(path)
    except StockError as exc:
        return ImportResult(
            name, None, None, Status.FAILED, error={"type": exc.type, "message": exc.message}
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
        parsed = parse_csv(text, symbol=canonical, fmt=fmt)
    except (OSError, UnicodeDecodeError) as exc:
        message = f"cannot read {name}: {exc.strerror if isinstance(exc, OSError) else exc}"
        return ImportResult(
            name, canonical, None, Status.FAILED, error={"type": "io", "message": message}
        )
    except StockError as exc:
        return ImportResult(
            name, canonical, None, Status.FAILED, error={"type": exc.type, "message": exc.message}
        )
    checked = validate_bars(parsed.bars)
    for problem in [*parsed.rejected, *checked.rejected, *checked.warnings]:
        log.info("%s (%s): %s: %s", name, canonical, problem.date, problem.reason)
    rejected = len(parsed.rejected) + len(checked.rejected)
    if not checked.bars:
        message = f"no valid bars in {name}" + (f" ({rejected} rejected)" if rejected else "")
        return ImportResult(
            name,
            canonical,
            PROVIDER,
            Status.FAILED,
            rejected=rejected,
            error={"type": "no_data", "message": message},
        )
    try:
        with session_scope(write=True) as session:
            stats = store_bar_sets(
                session,
                bar_sets=[BarSet(canonical, PROVIDER, checked.bars, parsed.actions)],
            )[0]
    except StockError as exc:
        return ImportResult(
            name,
            canonical,
            PROVIDER,
            Status.FAILED,
            error={"type": exc.type, "message": exc.message},
        )
    return ImportResult(
        file=name,
        symbol=canonical,
        provider=PROVIDER,
        status=Status.OK,
        new=stats.new,
        updated=stats.updated,
        rejected=rejected,
        warnings=len(checked.warnings),
        first_date=stats.first_date,
        last_date=stats.last_date,
    )
