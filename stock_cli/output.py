"""Rendering. stdout carries data only; messages, progress and logs go to stderr.

On a terminal: Rich tables and colour (NO_COLOR honoured by Rich). `--json`: one JSON
document (snake_case keys, ISO dates, numbers as numbers, null never NaN). `--csv`: rows.
Rich is imported inside the functions so that `stock --version` never pays for it.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stock_cli.options import options

if TYPE_CHECKING:
    from rich.console import Console


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


_PLAIN = frozenset({str, int, bool, type(None)})
_FIELDS: dict[type, tuple[str, ...]] = {}


def to_jsonable(value: Any) -> Any:
    """Plain JSON types: dates as ISO strings, NaN/inf as None, dataclasses as dicts."""
    # The exact common types first: the API and `--json` walk thousands of bars a call.
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {k if type(k) is str else str(k): to_jsonable(v) for k, v in value.items()}
    if kind is list:
        return [to_jsonable(v) for v in value]
    names = _FIELDS.get(kind)
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    return _converted(value)


def _converted(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value))
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump())
    if hasattr(value, "item"):  # numpy scalars
        return to_jsonable(value.item())
    return str(value)


def whole(value: float | None) -> float | int | None:
    """A volume as a whole number when it is one (share counts have no fraction)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def dumps(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, allow_nan=False, indent=indent)


def print_json(value: Any) -> None:
    """One JSON document on stdout (indented on a terminal, compact in a pipe)."""
    indent = 2 if stdout_is_terminal() else None
    sys.stdout.write(dumps(value, indent=indent) + "\n")
    sys.stdout.flush()


def print_ndjson(value: Any) -> None:
    sys.stdout.write(dumps(value) + "\n")
    sys.stdout.flush()


def print_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else _csv_cell(v) for v in row])


def _csv_cell(value: Any) -> Any:
    plain = to_jsonable(value)
    return "" if plain is None else plain


def stdout_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, stderr=True)


@dataclasses.dataclass(frozen=True)
class Column:
    header: str
    justify: str = "left"  # "right" for numbers
    style: str | None = None


def print_table(
    columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> None:
    """A Rich table on a terminal (wide CJK characters stay aligned); tab-separated in a pipe.

    Pipes get plain `header\tvalue…` lines so that grep/awk/cut work, and Rich is not
    imported at all (it is a large share of a short command's start-up).
    """
    if not stdout_is_terminal():
        _print_tsv(columns, rows)
        return
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column.header, justify=column.justify, style=column.style)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(format_cell(v) for v in row))
    stdout_console().print(table)


def print_heading(text: str) -> None:
    """A heading line above tables on a terminal, never wrapped into the table's width
    (a long table title wraps and leaves its last words dangling). Pipes get none."""
    if stdout_is_terminal():
        stdout_console().print(text, style="bold", markup=False, highlight=False, soft_wrap=True)


def _print_tsv(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> None:
    lines = ["\t".join(c.header for c in columns)]
    for row in rows:
        cells = ("" if v is None else _plain_cell(v) for v in row)
        lines.append("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in cells))
    sys.stdout.write("\n".join(lines) + "\n")


def _plain_cell(value: Any) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    plain = to_jsonable(value)
    return "" if plain is None else printable(str(plain))


def printable(text: str) -> str:
    """Control characters (terminal escape sequences…) shown as visible escapes."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def format_cell(value: Any) -> str:
    from rich.markup import escape

    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return escape(printable(str(value)))


def _plain_stderr() -> bool:
    # Rich is only worth its import when a person will see the colours.
    return bool(os.environ.get("NO_COLOR")) or not sys.stderr.isatty()


def message(text: str) -> None:
    """A status line for people, on stderr; silenced by -q."""
    if options.quiet:
        return
    if _plain_stderr():
        sys.stderr.write(text + "\n")
        return
    stderr_console().print(text, markup=False, highlight=False)


def warn(text: str) -> None:
    """A warning on stderr (shown even with -q)."""
    if _plain_stderr():
        sys.stderr.write(f"warning: {text}\n")
        return
    stderr_console().print(f"warning: {text}", style="yellow", markup=False, highlight=False)


def print_error(error: dict[str, Any], *, json_mode: bool) -> None:
    """An error on stderr: a JSON object in --json mode, one readable line otherwise."""
    if json_mode:
        sys.stderr.write(dumps({"error": error}) + "\n")
        return
    text = f"error: {error['message']}"
    if error.get("hint"):
        text += f"\nhint: {error['hint']}"
    if _plain_stderr():
        sys.stderr.write(text + "\n")
        return
    stderr_console().print(text, style="red", markup=False, highlight=False)
