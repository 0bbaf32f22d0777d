"""A portfolio's transactions: recorded (checked, and a sale never beyond the shares held
then), listed, deleted. `valuation` and `performance` compute from them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlmodel import Session

from stock_cli import clock
from stock_cli.db.models import Instrument
from stock_cli.db.portfolio_models import Portfolio, PortfolioTransaction
from stock_cli.errors import NotFoundError, UsageError
from stock_cli.portfolio.lots import Oversold
from stock_cli.portfolio.records import (
    MINOR_UNITS,
    base_currency_of,
    get_portfolio,
    normalise_currency,
    price_divisor,
    replay_trades,
    transactions,
)
from stock_cli.portfolio.trade_files import TradeRow

DEFAULT_PORTFOLIO = "default"
KINDS = ("buy", "sell", "dividend", "deposit", "withdraw", "split")


@dataclass(frozen=True)
class TransactionView:
    id: int
    portfolio: str
    date: dt.date
    kind: str
    symbol: str | None
    quantity: float | None
    price: float | None
    amount: float | None
    fee: float
    currency: str | None


def record_transaction(
    session: Session,
    *,
    portfolio: str,
    kind: str,
    day: dt.date | None = None,
    symbol: str | None = None,
    quantity: float | None = None,
    price: float | None = None,
    amount: float | None = None,
    fee: float = 0.0,
    currency: str | None = None,
) -> TransactionView:
    """One transaction (on `day`, default today), checked; the portfolio is created on its
    first one."""
    row = _checked(
        TradeRow(0, kind, day or clock.today(), symbol, quantity, price, amount, fee, currency)
    )
    owner = get_portfolio(session, portfolio, create=True)
    added = _new_transaction(owner, _instrument(session, row.symbol), row)
    session.add(added)
    session.flush()
    if kind in ("sell", "split"):
        _check_holdings(session, owner, added.instrument_id)
    return _view(added, owner.name, row.symbol)


def _instrument(session: Session, symbol: str | None) -> Instrument | None:
    if symbol is None:
        return None
    from stock_cli.market.instruments import get_or_create_instrument

    return get_or_create_instrument(session, symbol=symbol)


def _check_holdings(session: Session, owner: Portfolio, instrument_id: int | None) -> None:
    """Replays the instrument's trades with its splits: refuses (by raising, so the session
    rolls back) a history in which a sale exceeds the shares then held."""
    if instrument_id is not None and owner.id is not None:
        replay_trades(session, portfolio_id=owner.id, instrument_id=instrument_id)


def _checked(row: TradeRow) -> TradeRow:
    """The row with its symbol and currency in canonical form; raises UsageError saying
    what a transaction of its kind lacks."""
    from stock_cli.market.symbols import normalise_symbol

    kind, quantity, price, amount = row.kind, row.quantity, row.price, row.amount
    if kind not in KINDS:
        raise UsageError(f"the kind must be one of {', '.join(KINDS)}")
    needs_symbol = kind in ("buy", "sell", "dividend", "split")
    if needs_symbol != (row.symbol is not None):
        raise UsageError(f"a {kind} {'needs' if needs_symbol else 'takes no'} symbol")
    if kind in ("buy", "sell") and not (
        quantity and quantity > 0 and price is not None and price >= 0
    ):
        raise UsageError(f"a {kind} needs a positive quantity and a price of 0 or more")
    if kind == "split" and not (quantity and quantity > 0):
        raise UsageError("a split needs its ratio: new shares per old share, e.g. 4 for 4:1")
    if kind in ("dividend", "deposit", "withdraw") and not (amount and amount > 0):
        raise UsageError(f"a {kind} needs a positive amount")
    if row.fee < 0:
        raise UsageError("the fee cannot be negative")
    if row.day > clock.today():
        raise UsageError(f"the date {row.day} is in the future")
    symbol = normalise_symbol(row.symbol) if row.symbol else None
    return replace(row, symbol=symbol, currency=normalise_currency(row.currency))


def _new_transaction(
    owner: Portfolio, instrument: Instrument | None, row: TradeRow
) -> PortfolioTransaction:
    """The stored form of a checked row; raises UsageError for a price in a currency other
    than the instrument's."""
    if row.kind in ("buy", "sell") and instrument is not None:
        price_divisor(row.currency, instrument.currency)
    return PortfolioTransaction(
        portfolio_id=owner.id,  # type: ignore[arg-type]
        instrument_id=instrument.id if instrument else None,
        kind=row.kind,
        date=row.day,
        quantity=row.quantity,
        price=row.price,
        amount=row.amount,
        fee=row.fee,
        currency=row.currency,
    )


def list_transactions(session: Session, *, portfolio: str) -> list[TransactionView]:
    owner = get_portfolio(session, portfolio)
    rows = transactions(session, portfolio_id=owner.id, until=dt.date.max)  # type: ignore[arg-type]
    return [_view(t, owner.name, i.symbol if i else None) for t, i in rows]


def delete_transaction(session: Session, *, portfolio: str, transaction_id: int) -> TransactionView:
    """Deletes one transaction, unless the history without it sells shares not held (a
    purchase that a later sale needs)."""
    owner = get_portfolio(session, portfolio)
    row = session.get(PortfolioTransaction, transaction_id)
    if row is None or row.portfolio_id != owner.id:
        raise NotFoundError(f"no transaction {transaction_id} in portfolio {portfolio}")
    instrument = session.get(Instrument, row.instrument_id) if row.instrument_id else None
    view = _view(row, owner.name, instrument.symbol if instrument else None)
    session.delete(row)
    session.flush()
    if row.kind in ("buy", "split"):
        _check_holdings(session, owner, row.instrument_id)
    return view


def _view(row: PortfolioTransaction, portfolio: str, symbol: str | None) -> TransactionView:
    assert row.id is not None
    return TransactionView(
        row.id,
        portfolio,
        row.date,
        row.kind,
        symbol,
        row.quantity,
        row.price,
        row.amount,
        row.fee,
        row.currency,
    )


class BadTradeFile(UsageError):
    """Rows of a trade file that cannot be recorded, each with its line: nothing was."""

    type = "bad_trade_file"
    SHOWN = 20

    def __init__(self, path: Path, problems: list[str]) -> None:
        problems = sorted(problems, key=_line_number)
        lines = [f"  {p}" for p in problems[: self.SHOWN]]
        if len(problems) > self.SHOWN:
            lines.append(
                f"  … and {len(problems) - self.SHOWN} more (the JSON error lists them all)"
            )
        rows = "row" if len(problems) == 1 else "rows"
        super().__init__(
            f"{path}: {len(problems)} bad {rows}, nothing imported\n" + "\n".join(lines),
            hint="correct the rows (or remove them) and import the file again",
        )
        self.problems = problems

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "problems": self.problems}


@dataclass(frozen=True)
class ImportedTransactions:
    portfolio: str
    file: str
    format: str
    imported: int
    kinds: dict[str, int]  # imported, by kind
    already_recorded: int  # rows equal to a stored transaction: not imported twice
    skipped: list[str]  # broker rows this tool does not track, with their lines
    dry_run: bool


def import_transactions(
    session: Session, *, portfolio: str, path: Path, fmt: str = "auto", dry_run: bool = False
) -> ImportedTransactions:
    """Records every row of a trade file, or none: a bad row (a wrong cell, a sale of
    shares not held) is reported with its line and nothing is stored. A row equal to a
    transaction already recorded (the same file imported again) is not recorded twice."""
    from stock_cli.portfolio.trade_files import read_trade_file

    found = read_trade_file(path, fmt=fmt)
    problems = list(found.problems)
    rows: list[TradeRow] = []
    for row in found.rows:
        try:
            rows.append(_checked(row))
        except UsageError as exc:
            problems.append(f"line {row.line}: {exc.message}")
    if problems:
        raise BadTradeFile(path, problems)
    owner = get_portfolio(session, portfolio, create=True)
    stored = Counter(
        _key(t.kind, t.date, i.symbol if i else None, t.quantity, t.price, t.amount, t.fee)
        for t, i in transactions(session, portfolio_id=owner.id, until=dt.date.max)  # type: ignore[arg-type]
    )
    instruments: dict[str, Instrument | None] = {}
    added: list[tuple[TradeRow, PortfolioTransaction]] = []
    for row in rows:
        key = _key(row.kind, row.day, row.symbol, row.quantity, row.price, row.amount, row.fee)
        if stored[key]:
            stored[key] -= 1
            continue
        name = row.symbol or ""
        if name not in instruments:
            instruments[name] = _instrument(session, row.symbol)
        try:
            added.append((row, _new_transaction(owner, instruments[name], row)))
        except UsageError as exc:
            problems.append(f"line {row.line}: {exc.message}")
    if problems:
        raise BadTradeFile(path, problems)
    session.add_all(t for _, t in added)
    session.flush()
    problems = _oversold(session, owner, added)
    if problems:
        raise BadTradeFile(path, problems)
    kinds = Counter(t.kind for _, t in added)
    result = ImportedTransactions(
        owner.name,
        str(path),
        found.format,
        len(added),
        dict(sorted(kinds.items())),
        len(rows) - len(added),
        found.skipped,
        dry_run,
    )
    if dry_run:
        session.rollback()
    return result


def _oversold(
    session: Session, owner: Portfolio, added: list[tuple[TradeRow, PortfolioTransaction]]
) -> list[str]:
    """The sales of the file that sell shares not held then, each named by its line."""
    problems = []
    sold = {t.instrument_id for _, t in added if t.kind in ("sell", "split")}
    for instrument_id in sorted(i for i in sold if i is not None):
        try:
            _check_holdings(session, owner, instrument_id)
        except Oversold as exc:
            lines = [
                str(row.line)
                for row, t in added
                if t.instrument_id == instrument_id and t.kind == "sell" and t.date == exc.day
            ]
            where = f"line {', '.join(lines)}" if lines else "an earlier transaction"
            problems.append(f"{where}: {exc.message}")
    return problems


def _key(
    kind: str,
    day: dt.date,
    symbol: str | None,
    quantity: float | None,
    price: float | None,
    amount: float | None,
    fee: float,
) -> tuple[object, ...]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 9)

    return (kind, day, symbol, rounded(quantity), rounded(price), rounded(amount), rounded(fee))


def _line_number(problem: str) -> int:
    head = problem.removeprefix("line ").split(":", 1)[0].split(",", 1)[0]
    return int(head) if head.isdigit() else 0


@dataclass(frozen=True)
class PortfolioSettings:
    portfolio: str
    base_currency: str | None  # its own; None: STOCK_BASE_CURRENCY or the holdings' one
    effective_base_currency: str | None


def set_base_currency(
    session: Session, *, portfolio: str, currency: str | None, clear: bool = False
) -> PortfolioSettings:
    """Sets (or with `clear`, removes) a portfolio's own base currency; with neither, only
    says what it is. The portfolio is created when it does not exist yet."""
    owner = get_portfolio(session, portfolio, create=currency is not None)
    if currency is not None:
        code = currency.strip().upper()
        if len(code) != 3 or not code.isalpha() or currency.strip() in MINOR_UNITS:
            raise UsageError(
                f"{{currency}} {currency!r} is not a currency code such as USD, EUR or GBP",
                fields={"currency": "the base currency"},
            )
        owner.base_currency = code
        session.flush()
    elif clear:
        owner.base_currency = None
        session.flush()
    held = [i for t, i in transactions(session, portfolio_id=owner.id, until=dt.date.max) if i]  # type: ignore[arg-type]
    try:
        effective = base_currency_of(owner, None, held)
    except UsageError:
        effective = None  # holdings in several currencies and no base: `ls` says so
    return PortfolioSettings(owner.name, owner.base_currency, effective)


@dataclass(frozen=True)
class ExportedTransactions:
    portfolio: str
    format: str
    transactions: int
    file: str


def export_transactions(
    session: Session, *, portfolio: str, fmt: str, output: Path | None
) -> ExportedTransactions:
    """A portfolio's transactions in the columns `stock portfolio import` reads: CSV, JSON
    Lines or Parquet, to a file (written whole) or stdout."""
    import csv
    import json

    from stock_cli.market.export import FORMATS, opened_output
    from stock_cli.output import to_jsonable
    from stock_cli.portfolio.trade_files import STOCK_COLUMNS

    if fmt not in FORMATS:
        raise UsageError(f"{{fmt}} takes {', '.join(FORMATS)}", fields={"fmt": "the format"})
    rows = [
        {c: getattr(t, c) for c in STOCK_COLUMNS}
        for t in list_transactions(session, portfolio=portfolio)
    ]
    with opened_output(output, binary=fmt == "parquet") as out:
        if fmt == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(STOCK_COLUMNS)
            writer.writerows([["" if v is None else v for v in r.values()] for r in rows])
        elif fmt == "jsonl":
            out.writelines(json.dumps(to_jsonable(r)) + "\n" for r in rows)
        else:
            _write_parquet(out, rows)
    return ExportedTransactions(portfolio, fmt, len(rows), str(output) if output else "stdout")


def _write_parquet(out: Any, rows: list[dict[str, Any]]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("Parquet export needs pyarrow: pip install 'stock-cli[parquet]'") from None
    text, number = pa.string(), pa.float64()
    schema = pa.schema(
        [("date", pa.date32()), ("kind", text), ("symbol", text)]
        + [(n, number) for n in ("quantity", "price", "fee", "amount")]
        + [("currency", text)]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), out, compression="zstd")
