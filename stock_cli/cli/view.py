"""One renderer for every result: JSON for scripts, CSV where rows are natural, a Rich
table on a terminal (tab-separated in a pipe), chosen by the command's flags.

A command declares its columns (`Col`: the attribute of each row, a header, alignment)
and hands over its rows; the JSON document is the rows themselves unless the command
wraps them (`document=`), so every command's JSON stays what it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stock_cli import output


@dataclass(frozen=True)
class Col:
    attr: str
    header: str
    justify: str = "left"
    style: str | None = None
    value: Callable[[Any], Any] | None = None  # when the cell is not the attribute itself

    def of(self, row: Any) -> Any:
        if self.value:
            return self.value(row)
        return row[self.attr] if isinstance(row, Mapping) else getattr(row, self.attr)


def number(attr: str, header: str, value: Callable[[Any], Any] | None = None) -> Col:
    return Col(attr, header, justify="right", value=value)


def identity_columns() -> list[Col]:
    """The columns that name an instrument: symbol, name, exchange, currency."""
    return [
        Col("symbol", "Symbol", style="bold"),
        Col("name", "Name"),
        Col("exchange", "Exchange"),
        Col("currency", "Currency"),
    ]


def show(
    rows: Sequence[Any],
    columns: Sequence[Col],
    *,
    json_output: bool = False,
    csv_output: bool = False,
    document: Any = None,
    title: str | None = None,
) -> None:
    if json_output:
        output.print_json(list(rows) if document is None else document)
        return
    cells = [[column.of(row) for column in columns] for row in rows]
    if csv_output:
        output.print_csv([column.attr for column in columns], cells)
        return
    headers = [output.Column(c.header, justify=c.justify, style=c.style) for c in columns]
    output.print_table(headers, cells, title=title)


def announce(
    document: Any, *messages: str, json_output: bool = False, warnings: Sequence[str] = ()
) -> None:
    """What a change did: its JSON document for scripts, or sentences for people on stderr
    (empty ones are left out, so a command can pass "" for a case that did not happen)."""
    if json_output:
        output.print_json(document)
        return
    for message in messages:
        if message:
            output.message(message)
    for warning in warnings:
        if warning:
            output.warn(warning)
