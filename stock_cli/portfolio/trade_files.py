"""Trade files: the rows of a CSV of transactions, read into `TradeRow`s, every bad row
worded with its line number. `service.import_transactions` stores them.

Formats (`--format`, `auto` tells them apart by their header):

- `stock`: our own columns, in any order, names in any case:
  `date` (YYYY-MM-DD), `kind` (buy, sell, dividend, deposit, withdraw, split), `symbol`,
  `quantity`, `price`, `fee`, `amount`, `currency`. What `stock portfolio tx ls --csv`
  and `stock export` write.
- `ibkr`: an Interactive Brokers activity statement exported as CSV (its sections
  `Trades`, `Dividends` and `Deposits & Withdrawals`; a negative quantity is a sale).
- `schwab`: a Charles Schwab transaction history (`Date,Action,Symbol,…,Amount`).

A broker row this tool does not track (interest, withholding tax, a forex conversion, a
stock split: splits come from the stored actions) is skipped and said, never guessed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from stock_cli.errors import UsageError

FORMATS = ("auto", "stock", "ibkr", "schwab")
STOCK_COLUMNS = ("date", "kind", "symbol", "quantity", "price", "fee", "amount", "currency")


@dataclass(frozen=True)
class TradeRow:
    line: int  # in the file, 1 the first
    kind: str
    day: dt.date
    symbol: str | None = None
    quantity: float | None = None
    price: float | None = None
    amount: float | None = None
    fee: float = 0.0
    currency: str | None = None


@dataclass
class TradeFile:
    format: str
    rows: list[TradeRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line 4: …": nothing is stored
    skipped: list[str] = field(default_factory=list)  # "line 9: …": left out on purpose


class RowProblem(ValueError):
    """What is wrong with one row (the reader adds its line number)."""


def read_trade_file(path: Path, *, fmt: str = "auto") -> TradeFile:
    if fmt not in FORMATS:
        raise UsageError(f"unknown trade file format {fmt!r}: use {', '.join(FORMATS)}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            lines = list(enumerate(csv.reader(handle), start=1))
    except FileNotFoundError:
        raise UsageError(f"no file {path}") from None
    except OSError as exc:  # a folder, no permission
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not a readable CSV file: {exc}") from None
    lines = [(n, row) for n, row in lines if any(cell.strip() for cell in row)]
    if not lines:
        raise UsageError(f"{path} is empty")
    chosen = _detect(lines) if fmt == "auto" else fmt
    found = TradeFile(chosen)
    for line, read in READERS[chosen](lines):
        try:
            row = read()
        except RowProblem as exc:
            found.problems.append(f"line {line}: {exc}")
            continue
        if isinstance(row, TradeRow):
            found.rows.append(replace(row, line=line))
        elif row:
            found.skipped.append(f"line {line}: {row}")
    if not (found.rows or found.problems or found.skipped):  # e.g. the wrong --format
        raise UsageError(f"{path} holds no transactions in the {chosen} format")
    return found


Lines = list[tuple[int, list[str]]]
# each row of a file: its line and how to read it (a TradeRow, or why it is skipped)
RowReaders = Iterator[tuple[int, Callable[[], "TradeRow | str"]]]


def _detect(lines: Lines) -> str:
    first = [cell.strip().lower() for cell in lines[0][1]]
    if (first and first[0] == "statement") or any(row[:1] == ["Trades"] for _, row in lines):
        return "ibkr"
    for _, row in lines[:5]:
        names = {cell.strip().lower() for cell in row}
        if {"date", "action", "amount"} <= names:
            return "schwab"
        if {"date", "kind"} <= names:
            return "stock"
    raise UsageError(
        "cannot tell the format of the file: give {fmt} "
        f"({', '.join(FORMATS[1:])}); our own columns are {', '.join(STOCK_COLUMNS)}",
        fields={"fmt": "its format"},
    )


# ---- our own columns


def _stock_rows(lines: Lines) -> RowReaders:
    (_, header), body = lines[0], lines[1:]
    names = [cell.strip().lower() for cell in header]
    missing = [n for n in ("date", "kind") if n not in names]
    if missing:
        raise UsageError(f"line 1: the header lacks {', '.join(missing)}")
    unknown = [n for n in names if n not in STOCK_COLUMNS]
    if unknown:
        raise UsageError(
            f"line 1: unknown column {unknown[0]!r}; the columns are {', '.join(STOCK_COLUMNS)}"
        )
    for line, cells in body:
        values = {n: (cells[i].strip() if i < len(cells) else "") for i, n in enumerate(names)}
        yield line, partial(_stock_row, values)


def _stock_row(values: dict[str, str]) -> TradeRow:
    return TradeRow(
        0,
        values["kind"].lower(),
        _date(values["date"]),
        symbol=values.get("symbol") or None,
        quantity=_number(values.get("quantity"), "quantity"),
        price=_number(values.get("price"), "price"),
        amount=_number(values.get("amount"), "amount"),
        fee=_number(values.get("fee"), "fee") or 0.0,
        currency=values.get("currency") or None,
    )


# ---- Interactive Brokers activity statement


def _ibkr_rows(lines: Lines) -> RowReaders:
    headers: dict[str, list[str]] = {}
    for line, cells in lines:
        if len(cells) < 2:
            continue
        section, role = cells[0].strip(), cells[1].strip()
        if role == "Header":
            headers[section] = [c.strip() for c in cells[2:]]
            continue
        reader = _IBKR_SECTIONS.get(section)
        if role != "Data" or reader is None:
            continue
        values = dict(zip(headers.get(section, []), (c.strip() for c in cells[2:]), strict=False))
        if values.get("Currency", "").startswith("Total"):
            continue  # the section's totals
        yield line, partial(reader, values)


def _ibkr_trade(values: dict[str, str]) -> TradeRow | str:
    if values.get("DataDiscriminator", "Order") not in ("Order", "Trade"):
        return ""  # the fills and closed lots repeat the order: not a transaction
    category = values.get("Asset Category", "")
    if category not in ("Stocks", "ETFs"):
        return f"a {category or 'non-stock'} trade is not tracked"
    quantity = _number(values.get("Quantity"), "Quantity")
    if not quantity:
        raise RowProblem("the trade has no quantity")
    return TradeRow(
        0,
        "buy" if quantity > 0 else "sell",
        _date(values.get("Date/Time", "")),
        symbol=_broker_symbol(values.get("Symbol", "")),
        quantity=abs(quantity),
        price=_number(values.get("T. Price"), "T. Price"),
        fee=abs(_number(values.get("Comm/Fee"), "Comm/Fee") or 0.0),
        currency=values.get("Currency") or None,
    )


def _ibkr_dividend(values: dict[str, str]) -> TradeRow | str:
    amount = _number(values.get("Amount"), "Amount")
    description = values.get("Description", "")
    if not amount or amount < 0:
        return "a reversed dividend: record the correction by hand"
    symbol = re.split(r"[ (]", description, maxsplit=1)[0]
    if not symbol:
        raise RowProblem("the dividend's description names no symbol")
    return TradeRow(
        0,
        "dividend",
        _date(values.get("Date", "")),
        symbol=_broker_symbol(symbol),
        amount=amount,
        currency=values.get("Currency") or None,
    )


def _ibkr_cash(values: dict[str, str]) -> TradeRow | str:
    amount = _number(values.get("Amount"), "Amount")
    if not amount:
        return "a zero amount"
    return TradeRow(
        0,
        "deposit" if amount > 0 else "withdraw",
        _date(values.get("Settle Date", values.get("Date", ""))),
        amount=abs(amount),
        currency=values.get("Currency") or None,
    )


_IBKR_SECTIONS: dict[str, Callable[[dict[str, str]], TradeRow | str]] = {
    "Trades": _ibkr_trade,
    "Dividends": _ibkr_dividend,
    "Deposits & Withdrawals": _ibkr_cash,
    "Withholding Tax": lambda _: "withholding tax is not tracked",
}


# ---- Charles Schwab transaction history

_SCHWAB_DIVIDENDS = {
    "cash dividend",
    "qualified dividend",
    "non-qualified div",
    "special dividend",
    "pr yr cash div",
    "reinvest dividend",
}
_SCHWAB_CASH = {"moneylink transfer", "wire funds", "wire received", "journal", "funds received"}


def _schwab_rows(lines: Lines) -> RowReaders:
    start = next(
        (i for i, (_, row) in enumerate(lines) if {"Date", "Action"} <= {c.strip() for c in row}),
        None,
    )
    if start is None:
        raise UsageError("no Schwab header (Date, Action, Symbol, …, Amount) in the file")
    names = [c.strip() for c in lines[start][1]]
    for line, cells in lines[start + 1 :]:
        values = dict(zip(names, (c.strip() for c in cells), strict=False))
        if values.get("Date", "").lower().startswith("transactions total"):
            continue
        yield line, partial(_schwab_row, values)


def _schwab_row(values: dict[str, str]) -> TradeRow | str:
    action = values.get("Action", "").strip()
    day = _date(values.get("Date", "").split(" as of ")[0])
    symbol = _broker_symbol(values.get("Symbol", "")) or None
    amount = _number(values.get("Amount"), "Amount")
    if action.lower() in ("buy", "sell", "reinvest shares"):
        return TradeRow(
            0,
            "sell" if action.lower() == "sell" else "buy",
            day,
            symbol=symbol,
            quantity=_number(values.get("Quantity"), "Quantity"),
            price=_number(values.get("Price"), "Price"),
            fee=abs(_number(values.get("Fees & Comm"), "Fees & Comm") or 0.0),
        )
    if action.lower() in _SCHWAB_DIVIDENDS:
        return TradeRow(0, "dividend", day, symbol=symbol, amount=amount)
    if action.lower() in _SCHWAB_CASH:
        if not amount:
            return "a zero amount"
        return TradeRow(0, "deposit" if amount > 0 else "withdraw", day, amount=abs(amount))
    return f"a {action or 'blank'} action is not tracked"


READERS: dict[str, Callable[[Lines], RowReaders]] = {
    "stock": _stock_rows,
    "ibkr": _ibkr_rows,
    "schwab": _schwab_rows,
}


# ---- cells

_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d")


def _date(text: str) -> dt.date:
    text = text.strip()
    head = re.split(r"[,; T]", text, maxsplit=1)[0] if text else ""
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise RowProblem(f"the date {text!r} is not a date (YYYY-MM-DD)" if text else "no date")


def _number(text: str | None, name: str) -> float | None:
    """A number as brokers write it: `$1,250.70`, `-$2.30`, `(2.30)`, `1.5`; blank is None."""
    if text is None or not text.strip() or text.strip() in ("--", "-"):
        return None
    cleaned = text.strip().replace(",", "").replace("$", "").replace("€", "").replace("£", "")
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    try:
        value = float(cleaned.strip("()"))
    except ValueError:
        raise RowProblem(f"{name} {text.strip()!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise RowProblem(f"{name} {text.strip()!r} is not a number")
    return -value if negative else value


def _broker_symbol(text: str) -> str:
    """Brokers write class shares `BRK B` or `BRK/B`; Yahoo's symbol is BRK-B."""
    return re.sub(r"[ /]+", "-", text.strip().upper())
